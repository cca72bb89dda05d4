/* SPDX-License-Identifier: MIT */
/* The registries' hashes read back (registry_decode.h), and the names of
 * agent statuses both ways, since the hash holds them as text. Pure: a
 * reply in, structs out. Every reply is taken as untrusted (a broken Redis
 * or a proxy may send any shape): field names are compared with their
 * lengths, and a field given twice replaces, never leaks, the first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/json.h"
#include "registry_decode.h"

static const char *const status_names[] = { "idle", "busy", "offline",
	                                    "error" };

const char *
agora_agent_status_name(agora_agent_status s)
{
	return (unsigned)s < 4 ? status_names[s] : "unknown";
}

static agora_agent_status
status_parse(const char *s)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, status_names[i]) == 0) {
			return (agora_agent_status)i;
		}
	}
	return AGORA_AGENT_OFFLINE;
}

/* Whether field k[0..kl) is name (a NUL inside k makes it no name). */
static bool
field_is(const char *k, size_t kl, const char *name)
{
	return kl == strlen(name) && memcmp(k, name, kl) == 0;
}

/* A string field: the last value given wins. */
static void
set_string(char **field, char *val)
{
	agora_free(*field);
	*field = val;
}

/* One field of an agent's hash; val is ours to keep or free. */
static void
agent_field(agora_agent_info *out, const char *k, size_t kl, char *val)
{
	if (field_is(k, kl, "role")) {
		set_string(&out->role, val);
		return;
	}
	if (field_is(k, kl, "kind")) {
		set_string(&out->kind, val);
		return;
	}
	if (field_is(k, kl, "server")) {
		set_string(&out->server, val);
		return;
	}
	if (field_is(k, kl, "status")) {
		out->status = status_parse(val);
	} else if (field_is(k, kl, "human")) {
		out->human = val[0] == '1';
	} else if (field_is(k, kl, "watcher")) {
		out->watcher = val[0] == '1';
	} else if (field_is(k, kl, "steps")) {
		out->steps = strtoull(val, NULL, 10);
	} else if (field_is(k, kl, "last_seen")) {
		out->last_seen_ms = strtoll(val, NULL, 10);
	} else if (field_is(k, kl, "prompt_tokens")) {
		out->prompt_tokens = strtoull(val, NULL, 10);
	} else if (field_is(k, kl, "completion_tokens")) {
		out->completion_tokens = strtoull(val, NULL, 10);
	} else if (field_is(k, kl, "total_tokens")) {
		out->total_tokens = strtoull(val, NULL, 10);
	} else if (field_is(k, kl, "last_finish")) {
		snprintf(out->last_finish, sizeof(out->last_finish), "%s", val);
	}
	agora_free(val);
}

void
reg_agent_from_hash(agora_agent_info *out, const agora_reply *rep)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i + 1 < agora__reply_len(rep); i += 2) {
		size_t kl, vl;
		const char *k = agora__reply_str(agora__reply_at(rep, i), &kl);
		const char *v =
		    agora__reply_str(agora__reply_at(rep, i + 1), &vl);

		if (k != NULL && v != NULL) {
			agent_field(out, k, kl, agora_strndup(v, vl));
		}
	}
}

static void
server_parse(agora_server_info *s, const char *url, size_t urllen,
             const char *line, size_t len)
{
	agora_json *doc = NULL;
	int64_t v;

	s->url = agora_strndup(url, urllen);
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

void
reg_servers_from_hash(const agora_reply *rep, agora_server_info **out,
                      size_t *n)
{
	size_t m = agora__reply_len(rep) / 2;

	*out = agora_calloc(m + 1, sizeof(agora_server_info));
	*n = 0;
	for (size_t i = 0; i < m; i++) {
		size_t urllen, len;
		const char *url =
		    agora__reply_str(agora__reply_at(rep, 2 * i), &urllen);
		const char *line =
		    agora__reply_str(agora__reply_at(rep, 2 * i + 1), &len);
		if (url != NULL && line != NULL) {
			server_parse(&(*out)[(*n)++], url, urllen, line, len);
		}
	}
}
