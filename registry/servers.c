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
#include "agora/json.h"
#include "agora/registry.h"
#include "redis_cmd.h"

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

static void
server_parse(agora_server_info *s, const char *url, const char *line,
             size_t len)
{
	agora_json *doc = NULL;
	int64_t v;

	s->url = agora_strdup(url);
	if (agora_json_parse(&doc, line, len, 4096, 4, NULL, 0) != AGORA_OK) {
		return;
	}
	if (agora_json_int(agora_json_get(doc, "pid"), 0, INT32_MAX, &v)) {
		s->pid = (int)v;
	}
	if (agora_json_int(agora_json_get(doc, "agents"), 0, INT64_MAX, &v)) {
		s->agents = (size_t)v;
	}
	if (agora_json_int(agora_json_get(doc, "busy"), 0, INT64_MAX, &v)) {
		s->busy = (size_t)v;
	}
	if (agora_json_int(agora_json_get(doc, "ts_ms"), 0, INT64_MAX, &v)) {
		s->last_seen_ms = v;
	}
	s->live = agora_wall_ms() - s->last_seen_ms < AGORA_SERVER_STALE_MS;
	agora_json_free(doc);
}

agora_err
agora_servers_list(agora_redis *r, agora_server_info **out, size_t *n)
{
	agora_reply *rep = NULL;
	agora_err rv = agora__redis_cmdv(r, &rep, "HGETALL", SERVERS_KEY, NULL);
	size_t m;

	*out = NULL;
	*n = 0;
	if (rv != AGORA_OK) {
		return rv;
	}
	m = agora__reply_len(rep) / 2;
	*out = agora_calloc(m + 1, sizeof(agora_server_info));
	for (size_t i = 0; i < m; i++) {
		size_t len;
		const char *url =
		    agora__reply_str(agora__reply_at(rep, 2 * i), NULL);
		const char *line =
		    agora__reply_str(agora__reply_at(rep, 2 * i + 1), &len);
		if (url != NULL && line != NULL) {
			server_parse(&(*out)[(*n)++], url, line, len);
		}
	}
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
