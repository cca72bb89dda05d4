/* SPDX-License-Identifier: MIT */
/* Private to env/: what the Environment's replies say, read from a reply
 * alone (no connection, no agora_env), so that env.c and the fuzzer
 * (tests/fuzz/fuzz_redis.c) run the same code on whatever a server sends.
 * A reply of an unexpected shape gives what can be read from it and no
 * more; a body that is not a message is logged and skipped. */
#ifndef AGORA_ENV_DECODE_H
#define AGORA_ENV_DECODE_H

#include <stddef.h>

#include "agora/msg.h"
#include "redis_cmd.h"

/* The strings of an array reply (LRANGE, notified.lua), appended to out;
 * items that are not strings are skipped. */
void env_decode_strings(const agora_reply *rep, agora_strv *out);

/* store.lua's reply, the ids given to msgs[0..n-1] in order: set only when
 * the reply has exactly n items. */
void env_decode_ids(const agora_reply *rep, agora_msg *const *msgs, size_t n);

/* drain.lua's reply to a drain of n roles: k + 1 lists for the first k
 * roles it reached (flag and id pairs), then id and body pairs. Appends
 * role i's messages to outs[i] for i < k and sets *done to k. A reply of
 * fewer than 2 or more than n + 1 lists is AGORA_EREDIS with a note in
 * err, and *done is 0. session names the session in log lines. */
agora_err env_decode_drain(const agora_reply *rep, size_t n, agora_msgs *outs,
                           size_t *done, const char *session, char *err,
                           size_t errlen);

/* bodies.lua's reply to a read of n id lists: one list of bodies each.
 * Appends list i's messages to outs[i]. */
void env_decode_bodies(const agora_reply *rep, size_t n, agora_msgs *outs,
                       const char *session);

#endif
