/* SPDX-License-Identifier: MIT */
/* The Server Manager of agora studio: the agent servers of the Redis's
 * server registry, each live one's `info` (asked in parallel, 2 s each),
 * its agents and an agent's memory, and delete, delete-all and stop. The
 * page names a server by the studio's id for its URL ("srv3"), given on
 * first sight in the registry and kept for the studio's life: no request
 * carries an address, so the page cannot make the studio dial a host the
 * registry does not name (request forgery). Requests carry --token-file's
 * token, which no answer holds; a server's error reaches the page as 502
 * with the server's own (redacted) words. The studio starts no servers. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/json.h"
#include "agora/redis.h"
#include "agora/registry.h"
#include "agora/server.h"
#include "studio_int.h"

#define SERVERS_SHOWN      256         /* registry entries listed */
#define SERVERS_IDS_MAX    4096        /* URLs given an id in a studio's life */
#define SERVERS_INFO_MS    2000        /* the deadline of each `info` */
#define SERVERS_PROBES     16          /* `info` requests at once */
#define SERVERS_OP_MS      10000       /* list, memory, delete, stop */
#define SERVERS_AGENTS_MAX 10000       /* agents in one answer */
#define SERVERS_NAME_MAX   256         /* a role or session id */
#define SERVERS_INFO_MAX   (64u << 10) /* an `info` reply */
#define SERVERS_REPLY_MAX  (16u << 20) /* any other reply */

/* One `info` request, on its own thread. */
struct probe {
	const char *url;
	const char *token;
	agora_err rv;
	agora_buf reply;
	char err[256];
};

/* ---- ids ---- */

/* The id of url ("srv<i+1>"), given now if it has none; 0 when the table
 * is full (the server is then listed without an id). */
static size_t
servers_id(struct studio_ctx *ctx, const char *url)
{
	size_t id = 0;

	pthread_mutex_lock(&ctx->lock);
	for (size_t i = 0; i < ctx->nserver_urls && id == 0; i++) {
		if (strcmp(ctx->server_urls[i], url) == 0) {
			id = i + 1;
		}
	}
	if (id == 0 && ctx->nserver_urls < SERVERS_IDS_MAX) {
		ctx->server_urls = agora_realloc(ctx->server_urls,
		                                 (ctx->nserver_urls + 1) *
		                                     sizeof(*ctx->server_urls));
		ctx->server_urls[ctx->nserver_urls++] = agora_strdup(url);
		id = ctx->nserver_urls;
	}
	pthread_mutex_unlock(&ctx->lock);
	return id;
}

/* The URL of an id ("srv3"), copied; NULL for one never given. */
static char *
servers_url_of(struct studio_ctx *ctx, const char *id)
{
	char *end = NULL;
	unsigned long k;
	char *url = NULL;

	if (strncmp(id, "srv", 3) != 0 || id[3] < '1' || id[3] > '9') {
		return NULL;
	}
	k = strtoul(id + 3, &end, 10);
	if (*end != '\0') {
		return NULL;
	}
	pthread_mutex_lock(&ctx->lock);
	if (k <= ctx->nserver_urls) {
		url = agora_strdup(ctx->server_urls[k - 1]);
	}
	pthread_mutex_unlock(&ctx->lock);
	return url;
}

static int
servers_cmp(const void *a, const void *b)
{
	return strcmp(((const agora_server_info *)a)->url,
	              ((const agora_server_info *)b)->url);
}

/* The registry, sorted by URL, every URL given an id; false (rq
 * answered) when Redis cannot say. */
static bool
servers_registry(struct studio_ctx *ctx, agora_http_req *rq,
                 agora_server_info **v, size_t *n)
{
	agora_redis *r = NULL;
	char err[256];
	agora_err rv;

	*v = NULL;
	*n = 0;
	rv = agora_redis_open(&r, ctx->redis_url, 0, err, sizeof(err));
	if (rv == AGORA_OK) {
		rv = agora_servers_list(r, v, n);
	}
	agora_redis_close(r);
	if (rv != AGORA_OK) {
		/* err names the Redis; the page needs no Redis detail. */
		agora_http_error(rq, 502, "redis: could not read the registry");
		return false;
	}
	if (*n > 1) {
		qsort(*v, *n, sizeof(**v), servers_cmp);
	}
	for (size_t i = 0; i < *n && i < SERVERS_SHOWN; i++) {
		(void)servers_id(ctx, (*v)[i].url);
	}
	return true;
}

/* ---- secrets and errors ---- */

/* 502 {"error": why, "code": code}. */
static void
servers_fail(const struct studio_ctx *ctx, agora_http_req *rq, const char *code,
             const char *why)
{
	agora_buf b;

	if (why == NULL || why[0] == '\0') {
		why = "the server gave no reason";
	} else if (studio_secret_in(ctx, why)) {
		why = "the server's error held a secret: withheld";
	}
	agora_buf_init(&b, 0);
	(void)agora_buf_adds(&b, "{\"error\":");
	(void)agora_buf_json_str(&b, why, strlen(why));
	if (code != NULL) {
		(void)agora_buf_adds(&b, ",\"code\":");
		(void)agora_buf_json_str(&b, code, strlen(code));
	}
	(void)agora_buf_adds(&b, "}");
	agora_http_reply_json(rq, 502, b.data);
	agora_buf_fini(&b);
}

/* The first result of a server's reply if its "ok" is true. Otherwise
 * NULL, and *code and *why say why (lent from doc, or static). */
static const agora_json *
servers_result(const agora_json *doc, const char **code, const char **why)
{
	const agora_json *res =
	    agora_json_at(agora_json_get(doc, "results"), 0);
	const agora_json *at = res != NULL ? res : doc;

	*code = agora_json_str(agora_json_get(at, "code"));
	*why = agora_json_str(agora_json_get(at, "error"));
	if (res != NULL && agora_json_bool(agora_json_get(res, "ok"))) {
		return res;
	}
	if (*why == NULL) {
		*why = "a reply without results";
	}
	return NULL;
}

/* Send one op (a JSON object) to url. On success *docp holds the reply
 * and its result is returned; otherwise rq is answered 502 with why. */
static const agora_json *
servers_call(const struct studio_ctx *ctx, agora_http_req *rq, const char *url,
             const char *op, agora_json **docp)
{
	agora_buf ops, reply;
	char err[512];
	const char *code = NULL;
	const char *why = NULL;
	const agora_json *res = NULL;
	agora_err rv;

	*docp = NULL;
	agora_buf_init(&ops, 0);
	agora_buf_init(&reply, SERVERS_REPLY_MAX);
	(void)agora_buf_addf(&ops, "[%s]", op);
	rv = agora_server_request(url, ctx->server_token, ops.data,
	                          SERVERS_OP_MS, &reply, err, sizeof(err));
	if (rv == AGORA_OK) {
		rv = agora_json_parse(docp, reply.data, reply.len,
		                      SERVERS_REPLY_MAX, AGORA_JSON_MAX_DEPTH,
		                      NULL, 0);
		snprintf(err, sizeof(err), "%s: a reply that is not JSON", url);
	}
	if (rv != AGORA_OK) {
		servers_fail(ctx, rq, agora_errname(rv), err);
	} else {
		res = servers_result(*docp, &code, &why);
		if (res == NULL) {
			servers_fail(ctx, rq, code, why);
		}
	}
	agora_buf_fini(&ops);
	agora_buf_fini(&reply);
	return res;
}

/* ---- the list ---- */

static void *
probe_main(void *arg)
{
	struct probe *p = arg;

	p->rv = agora_server_request(p->url, p->token, "[{\"op\":\"info\"}]",
	                             SERVERS_INFO_MS, &p->reply, p->err,
	                             sizeof(p->err));
	return NULL;
}

/* Ask every live server its `info`, SERVERS_PROBES at once, so a list of
 * dead servers costs a few deadlines, not one each. */
static void
servers_probe(const struct studio_ctx *ctx, const agora_server_info *v,
              size_t n, struct probe *pr)
{
	pthread_t t[SERVERS_PROBES];
	bool started[SERVERS_PROBES];

	for (size_t i = 0; i < n; i++) {
		pr[i].url = v[i].url;
		pr[i].token = ctx->server_token;
		pr[i].rv = AGORA_ENOTFOUND; /* not asked */
		agora_buf_init(&pr[i].reply, SERVERS_INFO_MAX);
	}
	for (size_t b = 0; b < n; b += SERVERS_PROBES) {
		for (size_t k = 0; k < SERVERS_PROBES && b + k < n; k++) {
			started[k] = v[b + k].live &&
			             pthread_create(&t[k], NULL, probe_main,
			                            &pr[b + k]) == 0;
			if (v[b + k].live && !started[k]) {
				probe_main(&pr[b + k]); /* no thread: here */
			}
		}
		for (size_t k = 0; k < SERVERS_PROBES && b + k < n; k++) {
			if (started[k]) {
				pthread_join(t[k], NULL);
			}
		}
	}
}

/* ,"k":N for a number of the info result, if it has it. */
static void
servers_num(agora_buf *b, const agora_json *res, const char *k)
{
	const agora_json *j = agora_json_get(res, k);
	int64_t i = 0;

	if (agora_json_int(j, INT64_MIN, INT64_MAX, &i)) {
		(void)agora_buf_addf(b, ",\"%s\":%lld", k, (long long)i);
	} else if (agora_json_typeof(j) == AGORA_JSON_NUMBER) {
		(void)agora_buf_addf(b, ",\"%s\":%.3f", k, agora_json_num(j));
	}
}

/* The info of one server, or its info_error. */
static void
servers_info(const struct studio_ctx *ctx, agora_buf *b,
             const agora_server_info *s, const struct probe *p)
{
	static const char *const nums[] = { "pid",      "agents",   "busy",
		                            "queued",   "cpu_s",    "rss_kib",
		                            "sessions", "uptime_ms" };
	agora_json *doc = NULL;
	const agora_json *res = NULL;
	const char *code = NULL;
	const char *why = p->err;

	if (p->rv == AGORA_OK &&
	    agora_json_parse(&doc, p->reply.data, p->reply.len,
	                     SERVERS_INFO_MAX, AGORA_JSON_MAX_DEPTH, NULL,
	                     0) != AGORA_OK) {
		why = "a reply that is not JSON";
	} else if (p->rv == AGORA_OK) {
		res = servers_result(doc, &code, &why);
	}
	if (res != NULL) {
		for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
			servers_num(b, res, nums[i]);
		}
	} else {
		(void)agora_buf_addf(b,
		                     ",\"pid\":%d,\"agents\":%zu,\"busy\":%zu",
		                     s->pid, s->agents, s->busy);
	}
	if (res == NULL && s->live) {
		if (studio_secret_in(ctx, why)) {
			why = "the server's error held a secret: withheld";
		}
		(void)agora_buf_json_key(b, "info_error");
		(void)agora_buf_json_str(b, why, strlen(why));
	}
	agora_json_free(doc);
}

/* GET /api/servers */
static void
servers_list(struct studio_ctx *ctx, agora_http_req *rq)
{
	agora_server_info *v = NULL;
	size_t n = 0;
	struct probe *pr;
	agora_buf b;
	int64_t now = agora_wall_ms();

	if (!servers_registry(ctx, rq, &v, &n)) {
		return;
	}
	n = n > SERVERS_SHOWN ? SERVERS_SHOWN : n;
	pr = agora_calloc(n + 1, sizeof(*pr));
	servers_probe(ctx, v, n, pr);
	agora_buf_init(&b, 0);
	(void)agora_buf_adds(&b, "{\"servers\":[");
	for (size_t i = 0; i < n; i++) {
		size_t id = servers_id(ctx, v[i].url);

		(void)agora_buf_adds(&b, i > 0 ? ",{" : "{");
		if (id > 0) {
			(void)agora_buf_addf(&b, "\"id\":\"srv%zu\",", id);
		}
		(void)agora_buf_adds(&b, "\"url\":");
		(void)agora_buf_json_str(&b, v[i].url, strlen(v[i].url));
		(void)agora_buf_addf(
		    &b,
		    ",\"live\":%s,\"last_seen_ms\":%lld,\"seen_ago_ms\":%lld",
		    v[i].live ? "true" : "false", (long long)v[i].last_seen_ms,
		    (long long)(now - v[i].last_seen_ms));
		servers_info(ctx, &b, &v[i], &pr[i]);
		(void)agora_buf_adds(&b, "}");
		agora_buf_fini(&pr[i].reply);
	}
	(void)agora_buf_adds(&b, "]}");
	agora_http_reply_json(rq, 200, b.data);
	agora_buf_fini(&b);
	agora_free(pr);
	agora_server_infos_free(v, n);
}

/* ---- one server ---- */

/* GET /api/servers/ID/agents: the server's `list`, re-encoded. */
/* ,"status":"..." of role in session, from the session's registry (the
 * server's list says nothing of it); "unknown" if it cannot be read. */
static void
servers_status(agora_redis *r, agora_buf *b, const char *session,
               const char *role)
{
	agora_registry *reg = NULL;
	agora_agent_info info = { 0 };
	const char *status = "unknown";

	if (r != NULL && session != NULL && role != NULL &&
	    agora_registry_open(&reg, r, session) == AGORA_OK &&
	    agora_registry_get(reg, role, &info) == AGORA_OK) {
		status = agora_agent_status_name(info.status);
	}
	(void)agora_buf_addf(b, ",\"status\":\"%s\"", status);
	agora_agent_info_fini(&info);
	agora_registry_close(reg);
}

static void
servers_agents(const struct studio_ctx *ctx, agora_http_req *rq,
               const char *url)
{
	agora_json *doc = NULL;
	const agora_json *res =
	    servers_call(ctx, rq, url, "{\"op\":\"list\"}", &doc);
	const agora_json *a;
	agora_redis *r = NULL;
	size_t n = 0;
	agora_buf b;
	char err[256];

	if (res == NULL) {
		agora_json_free(doc);
		return;
	}
	/* No Redis: the statuses are "unknown", the list still comes. */
	if (agora_redis_open(&r, ctx->redis_url, 0, err, sizeof(err)) !=
	    AGORA_OK) {
		r = NULL;
	}
	agora_buf_init(&b, 0);
	(void)agora_buf_adds(&b, "{\"agents\":[");
	a = agora_json_first(agora_json_get(res, "agents"));
	for (; a != NULL && n < SERVERS_AGENTS_MAX; a = agora_json_next(a)) {
		static const char *const keys[] = { "session", "role", "kind" };

		(void)agora_buf_adds(&b, n++ > 0 ? ",{" : "{");
		for (size_t k = 0; k < 3; k++) {
			const char *s =
			    agora_json_str(agora_json_get(a, keys[k]));

			s = s != NULL ? s : "";
			(void)agora_buf_adds(&b, k > 0 ? "," : "");
			(void)agora_buf_json_str(&b, keys[k], strlen(keys[k]));
			(void)agora_buf_adds(&b, ":");
			(void)agora_buf_json_str(&b, s, strlen(s));
		}
		servers_status(r, &b,
		               agora_json_str(agora_json_get(a, "session")),
		               agora_json_str(agora_json_get(a, "role")));
		(void)agora_buf_adds(&b, "}");
	}
	(void)agora_buf_addf(&b, "],\"truncated\":%s}",
	                     a != NULL ? "true" : "false");
	agora_http_reply_json(rq, 200, b.data);
	agora_buf_fini(&b);
	agora_json_free(doc);
	agora_redis_close(r);
}

/* {"op":name,"role":role,"session":session,"redis":<the studio's>: the
 * server keys a session by its Redis URL too, so an agent made through
 * another URL of the same Redis is not found. */
static void
servers_role_op(const struct studio_ctx *ctx, agora_buf *op, const char *name,
                const char *role, const char *session)
{
	(void)agora_buf_addf(op, "{\"op\":\"%s\",\"role\":", name);
	(void)agora_buf_json_str(op, role, strlen(role));
	(void)agora_buf_adds(op, ",\"session\":");
	(void)agora_buf_json_str(op, session, strlen(session));
	(void)agora_buf_adds(op, ",\"redis\":");
	(void)agora_buf_json_str(op, ctx->redis_url, strlen(ctx->redis_url));
}

/* The session of a POST body {"session": S}, or NULL (rq answered 400). */
static const char *
servers_body_session(agora_http_req *rq, agora_json **docp)
{
	size_t len = 0;
	const char *body = agora_http_body(rq, &len);
	const char *s = NULL;

	if (agora_json_parse(docp, body, len, 65536, 8, NULL, 0) == AGORA_OK) {
		s = agora_json_str(agora_json_get(*docp, "session"));
	}
	if (s == NULL || s[0] == '\0' || strlen(s) >= SERVERS_NAME_MAX) {
		agora_http_error(rq, 400, "want {\"session\": \"S\"}");
		return NULL;
	}
	return s;
}

/* Whether the server's `list` holds role in session (else rq is answered:
 * 404, or 502 when the server cannot say). Asked first because a server
 * makes a session's host (a thread and a Redis connection) for any
 * session an op names: a GET that any page can send must not name new
 * ones. */
static bool
servers_listed(const struct studio_ctx *ctx, agora_http_req *rq,
               const char *url, const char *role, const char *session)
{
	agora_json *doc = NULL;
	const agora_json *res =
	    servers_call(ctx, rq, url, "{\"op\":\"list\"}", &doc);
	const agora_json *a = agora_json_first(agora_json_get(res, "agents"));
	bool found = false;

	for (; a != NULL && !found; a = agora_json_next(a)) {
		const char *r = agora_json_str(agora_json_get(a, "role"));
		const char *s = agora_json_str(agora_json_get(a, "session"));

		found = r != NULL && s != NULL && strcmp(r, role) == 0 &&
		        strcmp(s, session) == 0;
	}
	agora_json_free(doc);
	if (res != NULL && !found) {
		agora_http_error(rq, 404, "no such agent on this server");
	}
	return found;
}

/* GET .../agents/ROLE/memory?session=S, POST .../agents/ROLE/delete. */
static void
servers_agent_op(const struct studio_ctx *ctx, agora_http_req *rq,
                 const char *url, const char *role, bool memory)
{
	agora_json *body = NULL;
	agora_json *doc = NULL;
	const agora_json *res;
	const char *s = memory ? agora_http_query(rq, "session")
	                       : servers_body_session(rq, &body);
	agora_buf op, b;

	if (s == NULL || s[0] == '\0' || strlen(s) >= SERVERS_NAME_MAX) {
		if (memory) {
			agora_http_error(rq, 400, "want ?session=S");
		}
		agora_json_free(body);
		return;
	}
	if (!servers_listed(ctx, rq, url, role, s)) {
		agora_json_free(body);
		return;
	}
	agora_buf_init(&op, 0);
	agora_buf_init(&b, 0);
	servers_role_op(ctx, &op, memory ? "memory" : "delete", role, s);
	(void)agora_buf_adds(&op, "}");
	res = servers_call(ctx, rq, url, op.data, &doc);
	if (res != NULL && memory) {
		(void)agora_buf_adds(&b, "{\"memory\":");
		(void)agora_json_print(agora_json_get(res, "memory"), &b);
		(void)agora_buf_adds(&b, "}");
		agora_http_reply_json(rq, 200, b.data);
	} else if (res != NULL) {
		agora_http_reply_json(rq, 200, "{\"ok\":true}");
	}
	agora_buf_fini(&op);
	agora_buf_fini(&b);
	agora_json_free(doc);
	agora_json_free(body);
}

/* POST .../delete-all and .../stop. */
static void
servers_plain_op(const struct studio_ctx *ctx, agora_http_req *rq,
                 const char *url, bool stop)
{
	agora_json *doc = NULL;
	const agora_json *res = servers_call(
	    ctx, rq, url,
	    stop ? "{\"op\":\"stop\"}" : "{\"op\":\"delete_all\"}", &doc);
	int64_t deleted = 0;
	int64_t sessions = 0;
	char out[96];

	if (res != NULL && stop) {
		agora_http_reply_json(rq, 200, "{\"ok\":true}");
	} else if (res != NULL) {
		(void)agora_json_int(agora_json_get(res, "deleted"), 0,
		                     INT64_MAX, &deleted);
		(void)agora_json_int(agora_json_get(res, "sessions"), 0,
		                     INT64_MAX, &sessions);
		snprintf(out, sizeof(out),
		         "{\"ok\":true,\"deleted\":%lld,\"sessions\":%lld}",
		         (long long)deleted, (long long)sessions);
		agora_http_reply_json(rq, 200, out);
	}
	agora_json_free(doc);
}

/* ---- routes ---- */

enum servers_action {
	SRV_NONE,
	SRV_AGENTS,
	SRV_MEMORY,
	SRV_DELETE,
	SRV_DELETE_ALL,
	SRV_STOP
};

/* What tail (after "/ID") asks, and the role it names into role. */
static enum servers_action
servers_action(const char *tail, char *role, size_t rolelen)
{
	const char *slash;
	size_t n;

	if (strcmp(tail, "/agents") == 0) {
		return SRV_AGENTS;
	}
	if (strcmp(tail, "/delete-all") == 0) {
		return SRV_DELETE_ALL;
	}
	if (strcmp(tail, "/stop") == 0) {
		return SRV_STOP;
	}
	if (strncmp(tail, "/agents/", 8) != 0) {
		return SRV_NONE;
	}
	slash = strrchr(tail + 8, '/');
	n = slash != NULL ? (size_t)(slash - (tail + 8)) : 0;
	if (n == 0 || n >= rolelen) {
		return SRV_NONE;
	}
	memcpy(role, tail + 8, n);
	role[n] = '\0';
	if (strcmp(slash, "/memory") == 0) {
		return SRV_MEMORY;
	}
	return strcmp(slash, "/delete") == 0 ? SRV_DELETE : SRV_NONE;
}

/* The URL of the server named ID if the registry still holds it (copied;
 * rq answered and NULL otherwise). */
static char *
servers_resolve(struct studio_ctx *ctx, agora_http_req *rq, const char *id)
{
	agora_server_info *v = NULL;
	size_t n = 0;
	bool listed = false;
	char *url;

	if (!servers_registry(ctx, rq, &v, &n)) {
		return NULL;
	}
	url = servers_url_of(ctx, id);
	for (size_t i = 0; i < n && url != NULL && !listed; i++) {
		listed = strcmp(v[i].url, url) == 0;
	}
	agora_server_infos_free(v, n);
	if (!listed) {
		agora_free(url);
		agora_http_error(rq, 404, "no such server in the registry");
		return NULL;
	}
	return url;
}

void
studio_servers(struct studio_ctx *ctx, agora_http_req *rq, const char *rest,
               bool post)
{
	char id[32];
	char role[SERVERS_NAME_MAX];
	const char *slash = strchr(rest + (rest[0] == '/'), '/');
	enum servers_action a;
	char *url;

	if (rest[0] == '\0') {
		if (post) {
			agora_http_error(rq, 405, "use GET");
		} else {
			servers_list(ctx, rq);
		}
		return;
	}
	if (slash == NULL || (size_t)(slash - rest - 1) >= sizeof(id)) {
		agora_http_error(rq, 404, "no such server path");
		return;
	}
	memcpy(id, rest + 1, (size_t)(slash - rest - 1));
	id[slash - rest - 1] = '\0';
	a = servers_action(slash, role, sizeof(role));
	if (a == SRV_NONE) {
		agora_http_error(rq, 404, "no such server path");
		return;
	}
	if (post != (a != SRV_AGENTS && a != SRV_MEMORY)) {
		agora_http_error(rq, 405, post ? "use GET" : "use POST");
		return;
	}
	url = servers_resolve(ctx, rq, id);
	if (url == NULL) {
		return;
	}
	if (a == SRV_AGENTS) {
		servers_agents(ctx, rq, url);
	} else if (a == SRV_MEMORY || a == SRV_DELETE) {
		servers_agent_op(ctx, rq, url, role, a == SRV_MEMORY);
	} else {
		servers_plain_op(ctx, rq, url, a == SRV_STOP);
	}
	agora_free(url);
}

void
studio_servers_close(struct studio_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nserver_urls; i++) {
		agora_free(ctx->server_urls[i]);
	}
	agora_free(ctx->server_urls);
	ctx->server_urls = NULL;
	ctx->nserver_urls = 0;
}
