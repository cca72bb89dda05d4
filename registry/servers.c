/* SPDX-License-Identifier: MIT */
/* The server registry: one hash, "agora:servers", shared by every session
 * of a Redis, field = a server's address, value = a JSON line of its load
 * and the wall time of its last heartbeat. A server that stops beating for
 * AGORA_SERVER_STALE_MS is not live; `auto` placement picks the live one
 * with the fewest agents. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/registry.h"
#include "registry_decode.h"

#define SERVERS_KEY "agora:servers"

agora_err
agora_servers_beat(agora_redis *r, const agora_server_info *s)
{
	char line[1024];

	snprintf(line, sizeof(line),
	         "{\"pid\":%d,\"agents\":%zu,\"busy\":%zu,\"ts_ms\":%lld}",
	         s->pid, s->agents, s->busy, (long long)agora_wall_ms());
	return agora__redis_cmdv(r, NULL, "HSET", SERVERS_KEY, s->url, line,
	                         NULL);
}

agora_err
agora_servers_remove(agora_redis *r, const char *url)
{
	return agora__redis_cmdv(r, NULL, "HDEL", SERVERS_KEY, url, NULL);
}

agora_err
agora_servers_list(agora_redis *r, agora_server_info **out, size_t *n)
{
	agora_reply *rep = NULL;
	agora_err rv = agora__redis_cmdv(r, &rep, "HGETALL", SERVERS_KEY, NULL);

	*out = NULL;
	*n = 0;
	if (rv != AGORA_OK) {
		return rv;
	}
	reg_servers_from_hash(rep, out, n);
	agora__reply_free(rep);
	return AGORA_OK;
}

void
agora_server_infos_free(agora_server_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		agora_free(v[i].url);
	}
	agora_free(v);
}
