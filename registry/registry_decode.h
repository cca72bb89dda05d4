/* SPDX-License-Identifier: MIT */
/* Private to registry/: an agent's hash and the server registry's hash,
 * read from a reply alone (no connection), so that registry.c, servers.c
 * and the fuzzer (tests/fuzz/fuzz_redis.c) run the same code on whatever a
 * server sends. A reply of an unexpected shape gives what can be read from
 * it and no more. */
#ifndef AGORA_REGISTRY_DECODE_H
#define AGORA_REGISTRY_DECODE_H

#include <stddef.h>

#include "agora/registry.h"
#include "redis_cmd.h"

/* An HGETALL of "agora:{s}:agent:<role>" into *out (overwritten, not
 * freed first; free with agora_agent_info_fini). Unknown fields are
 * ignored; a field given twice keeps its last value. */
void reg_agent_from_hash(agora_agent_info *out, const agora_reply *rep);

/* An HGETALL of "agora:servers" into a new array *out of *n servers (free
 * with agora_server_infos_free); a line that is not our JSON leaves its
 * server with zeros, not live. */
void reg_servers_from_hash(const agora_reply *rep, agora_server_info **out,
                           size_t *n);

#endif
