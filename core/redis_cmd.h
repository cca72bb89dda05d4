/* SPDX-License-Identifier: MIT */
/* Private: commands on an agora_redis for env/ and registry/. Replies are
 * hiredis replies seen through an opaque type, so no hiredis header leaks
 * beyond core/redis.c; a reader with no connection (agora_reply_reader)
 * makes the same replies from bytes, for tests and fuzzing. Error replies
 * become error codes: a script error starting "AGORA_<NAME> " maps to
 * AGORA_<NAME>, anything else to AGORA_EREDIS; the text is kept for
 * agora_redis_errstr(). */
#ifndef AGORA_CORE_REDIS_CMD_H
#define AGORA_CORE_REDIS_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agora/redis.h"

typedef struct agora_reply agora_reply;

typedef enum agora_reply_type {
	AGORA_REPLY_STRING,
	AGORA_REPLY_ARRAY,
	AGORA_REPLY_INTEGER,
	AGORA_REPLY_NIL,
	AGORA_REPLY_STATUS,
	AGORA_REPLY_ERROR,
} agora_reply_type;

/* A Lua script; its SHA is learnt per connection on first use. */
typedef struct agora_script {
	const char *name;
	const char *src;
} agora_script;

/* One command; *out (may be NULL if not wanted) is the caller's to free. */
agora_err agora__redis_cmd(agora_redis *r, agora_reply **out, int argc,
                           const char *const *argv, const size_t *lens);
/* Convenience: C-string arguments ending with NULL. */
agora_err agora__redis_cmdv(agora_redis *r, agora_reply **out, ...);
/* Pipelining: append n commands, then get n replies. */
agora_err agora__redis_append(agora_redis *r, int argc, const char *const *argv,
                              const size_t *lens);
agora_err agora__redis_get(agora_redis *r, agora_reply **out);
/* Read the next reply whether or not one is pending: for a connection in
 * pub/sub mode, where messages arrive unasked. */
agora_err agora__redis_read(agora_redis *r, agora_reply **out);
/* The same with a time limit, for a connection in pub/sub mode: wait at
 * most wait_ms for the next reply (AGORA_ETIMEDOUT, the connection intact,
 * when none came), sending first what was appended. A broken connection
 * (AGORA_EREDIS) is re-dialled by the next agora__redis_cmd. */
agora_err agora__redis_read_wait(agora_redis *r, agora_reply **out,
                                 int64_t wait_ms);
/* EVALSHA, loading the script when the server does not know it. argv[0..]
 * are KEYS then ARGV; nkeys says how many are keys. */
agora_err agora__redis_eval(agora_redis *r, const agora_script *s,
                            agora_reply **out, int nkeys, int argc,
                            const char *const *argv, const size_t *lens);
/* Redis Cluster (core/redis_cluster.c). A handle opened on a cluster node
 * routes each command to the master of its key's slot (EVALSHA: its first
 * key) and follows MOVED and ASK; these are for what must see every node
 * (listing keys) or know how events travel. */
/* (Asks the server the first time.) */
bool agora__redis_is_cluster(agora_redis *r);
/* The hash slot of a key, as Redis Cluster computes it: CRC16 (XMODEM) of
 * its hash tag (what is between the first '{' and the next '}', if not
 * empty) or of the whole key, modulo 16384. */
unsigned agora__redis_slot(const char *key, size_t len);
/* The nodes that hold data: 1 without a cluster, else the masters that
 * own slots (the slot map read again first if it is older than a
 * second). */
int agora__redis_masters(agora_redis *r);
/* Node i's connection (0 <= i < agora__redis_masters): r itself without a
 * cluster, else one r owns (do not close it). NULL, with r's errstr set,
 * when it cannot be dialled. */
agora_redis *agora__redis_master(agora_redis *r, int i);
/* Record a detail for agora_redis_errstr (for checks done above us). */
void agora__redis_set_err(agora_redis *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

agora_reply_type agora__reply_type(const agora_reply *rep);
const char *agora__reply_str(const agora_reply *rep, size_t *len);
long long agora__reply_int(const agora_reply *rep);
size_t agora__reply_len(const agora_reply *rep);
const agora_reply *agora__reply_at(const agora_reply *rep, size_t i);
void agora__reply_free(agora_reply *rep);

/* A reader of RESP bytes with no connection behind it, for tests and
 * fuzzing: what a server could send, parsed as a connection parses it.
 * Not thread-safe; one reader per thread. */
typedef struct agora_reply_reader agora_reply_reader;

/* NULL only if hiredis could not allocate. */
agora_reply_reader *agora__reply_reader_new(void);
void agora__reply_reader_free(agora_reply_reader *rd);
/* Append bytes (copied). */
agora_err agora__reply_reader_feed(agora_reply_reader *rd, const char *buf,
                                   size_t len);
/* The next whole reply, as agora__redis_get returns it: AGORA_OK with *out
 * the reply (the caller's to free) or NULL when more bytes are needed; an
 * error reply's code, with its text in agora__reply_reader_errstr; or
 * AGORA_EREDIS for bytes that are not RESP (the reader is then spent). */
agora_err agora__reply_reader_get(agora_reply_reader *rd, agora_reply **out);
const char *agora__reply_reader_errstr(const agora_reply_reader *rd);

#endif
