/* SPDX-License-Identifier: MIT */
/* The read side of agora studio: the sessions of its Redis (their messages in
 * order, an agent's memory, the registry's token counts). Each request opens
 * its own Redis connection (a connection is one thread's) and closes it.
 * Message text is hostile input for the page, so it goes out only as JSON
 * strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/env.h"
#include "agora/msg.h"
#include "agora/registry.h"
#include "studio_int.h"

#define SESSIONS_LIMIT_MAX 10000 /* messages in one answer */
/* A session is live while a run of this studio drives it, or for a
 * minute after a message was stored. */
#define SESSIONS_LIVE_MS 60000
/* An answer this big leaves freed heap worth giving back (tidy.c). */
#define SESSIONS_BIG (64u << 10)

static void
sessions_msgs(agora_buf *b, const char *key, const agora_msgs *ms,
              uint64_t after)
{
	size_t i;
	bool first = true;

	(void)agora_buf_addf(b, "{\"%s\":[", key);
	for (i = 0; i < ms->n; i++) {
		if (ms->v[i]->id <= after) {
			continue;
		}
		if (!first) {
			(void)agora_buf_adds(b, ",");
		}
		first = false;
		studio_msg_json(b, ms->v[i]);
	}
	(void)agora_buf_adds(b, "]}");
}

/* ,"messages":N,"roles":N,"live":B of session s (zeros if Redis could
 * not say). */
static void
sessions_info(struct studio_ctx *ctx, agora_redis *r, const char *s,
              int64_t now, agora_buf *b)
{
	agora_env_session_info in;
	bool live;

	if (agora_env_session_info_get(r, s, &in) != AGORA_OK) {
		memset(&in, 0, sizeof(in));
	}
	live = (in.last_ms > 0 && now - in.last_ms < SESSIONS_LIVE_MS) ||
	       studio_runs_live(ctx, s);
	(void)agora_buf_addf(b, ",\"messages\":%llu,\"roles\":%zu,\"live\":%s",
	                     (unsigned long long)in.messages, in.roles,
	                     live ? "true" : "false");
}

static void
sessions_list(struct studio_ctx *ctx, agora_redis *r, agora_http_req *rq,
              agora_buf *b)
{
	agora_strv ss = { 0 };
	int64_t now = agora_wall_ms();
	size_t i;

	if (agora_env_sessions(r, &ss) != AGORA_OK) {
		agora_http_error(rq, 502, "redis: could not list sessions");
		return;
	}
	(void)agora_buf_adds(b, "{\"sessions\":[");
	for (i = 0; i < ss.n; i++) {
		(void)agora_buf_adds(b, i > 0 ? ",{" : "{");
		(void)agora_buf_json_key(b, "session");
		(void)agora_buf_json_str(b, ss.v[i], strlen(ss.v[i]));
		sessions_info(ctx, r, ss.v[i], now, b);
		(void)agora_buf_adds(b, "}");
	}
	(void)agora_buf_adds(b, "]}");
	agora_strv_clear(&ss);
	agora_http_reply_json(rq, 200, b->data);
}

static void
sessions_usage(agora_redis *r, const char *s, agora_http_req *rq, agora_buf *b)
{
	agora_registry *reg = NULL;
	agora_agent_info *v = NULL;
	size_t n = 0;
	size_t i;

	if (agora_registry_open(&reg, r, s) != AGORA_OK ||
	    agora_registry_list(reg, &v, &n) != AGORA_OK) {
		agora_registry_close(reg);
		agora_http_error(rq, 502, "redis: could not read the registry");
		return;
	}
	(void)agora_buf_adds(b, "{\"agents\":[");
	for (i = 0; i < n; i++) {
		(void)agora_buf_adds(b, i > 0 ? ",{" : "{");
		(void)agora_buf_json_key(b, "role");
		(void)agora_buf_json_str(b, v[i].role, strlen(v[i].role));
		(void)agora_buf_json_key(b, "kind");
		(void)agora_buf_json_str(b, v[i].kind, strlen(v[i].kind));
		(void)agora_buf_json_key(b, "server");
		(void)agora_buf_json_str(b, v[i].server, strlen(v[i].server));
		(void)agora_buf_addf(
		    b,
		    ",\"status\":\"%s\",\"steps\":%llu,\"prompt_tokens\":%llu,"
		    "\"completion_tokens\":%llu,\"total_tokens\":%llu}",
		    agora_agent_status_name(v[i].status),
		    (unsigned long long)v[i].steps,
		    (unsigned long long)v[i].prompt_tokens,
		    (unsigned long long)v[i].completion_tokens,
		    (unsigned long long)v[i].total_tokens);
	}
	(void)agora_buf_adds(b, "]}");
	agora_agent_infos_free(v, n);
	agora_registry_close(reg);
	agora_http_reply_json(rq, 200, b->data);
}

/* "/S/messages", "/S/agents/ROLE/memory", "/S/usage" */
static void
sessions_one(agora_redis *r, const char *rest, agora_http_req *rq, agora_buf *b)
{
	char s[80];
	char role[80] = "";
	char what[16] = "";
	agora_env *env = NULL;
	agora_msgs ms = { 0 };
	const char *q = agora_http_query(rq, "limit");
	const char *a = agora_http_query(rq, "after");
	char *end = NULL;
	unsigned long long limit = q != NULL ? strtoull(q, &end, 10) : 0;
	unsigned long long after = a != NULL ? strtoull(a, NULL, 10) : 0;
	const char *slash = strchr(rest + 1, '/');
	agora_err rv;

	if (slash == NULL || (size_t)(slash - rest - 1) >= sizeof(s)) {
		agora_http_error(rq, 404, "no such session path");
		return;
	}
	memcpy(s, rest + 1, (size_t)(slash - rest - 1));
	s[slash - rest - 1] = '\0';
	if (strncmp(slash, "/agents/", 8) == 0 &&
	    strlen(slash + 8) < sizeof(role) + 7 &&
	    strchr(slash + 8, '/') != NULL &&
	    strcmp(strchr(slash + 8, '/'), "/memory") == 0) {
		size_t n = (size_t)(strchr(slash + 8, '/') - (slash + 8));

		memcpy(role, slash + 8, n);
		role[n] = '\0';
		snprintf(what, sizeof(what), "memory");
	} else if (strcmp(slash, "/messages") == 0 ||
	           strcmp(slash, "/usage") == 0) {
		snprintf(what, sizeof(what), "%s", slash + 1);
	} else {
		agora_http_error(rq, 404, "no such session path");
		return;
	}
	if (limit > SESSIONS_LIMIT_MAX || limit == 0) {
		limit = SESSIONS_LIMIT_MAX;
	}
	if (strcmp(what, "usage") == 0) {
		sessions_usage(r, s, rq, b);
		return;
	}
	if (agora_env_open(&env, r, s, NULL) != AGORA_OK) {
		agora_http_error(rq, 400, "not a session id");
		return;
	}
	/* messages: with after, a page forward from it (the page's paging);
	 * without, the last limit. */
	if (strcmp(what, "messages") == 0 && a != NULL) {
		rv = agora_env_history_after(env, after, (size_t)limit, &ms);
	} else if (strcmp(what, "messages") == 0) {
		rv = agora_env_history(env, (size_t)limit, &ms);
	} else {
		rv = agora_env_memory(env, role, (size_t)limit, &ms);
	}
	if (rv != AGORA_OK) {
		agora_http_error(rq, 502, "redis: could not read the session");
	} else {
		sessions_msgs(
		    b, strcmp(what, "memory") == 0 ? "memory" : "messages", &ms,
		    after);
		agora_http_reply_json(rq, 200, b->data);
	}
	agora_msgs_clear(&ms);
	agora_env_close(env);
}

void
studio_sessions(struct studio_ctx *ctx, agora_http_req *rq, const char *rest)
{
	agora_redis *r = NULL;
	agora_buf b;
	char err[256];

	if (agora_redis_open(&r, ctx->redis_url, 0, err, sizeof(err)) !=
	    AGORA_OK) {
		/* err names the URL without its password, but the page
		 * needs no Redis detail at all. */
		agora_http_error(rq, 502, "redis: not reachable");
		return;
	}
	agora_buf_init(&b, 0);
	if (rest[0] == '\0') {
		sessions_list(ctx, r, rq, &b);
	} else {
		sessions_one(r, rest, rq, &b);
	}
	if (b.len >= SESSIONS_BIG) {
		studio_tidy_note(ctx);
	}
	agora_buf_fini(&b);
	agora_redis_close(r);
}
