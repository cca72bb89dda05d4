/* SPDX-License-Identifier: MIT */
/* agora studio: the HTTP server of the page, its routes and its guard.
 * The page and its script and style are embedded assets; every route is
 * dispatched from here to run.c (chat runs), sessions.c (reads) and
 * servers.c (the Server Manager). Every /api/ request must carry the
 * studio's access token (X-Agora-Token, or ?t= for EventSource, which sets
 * no headers), made at random at start and printed in the URL's fragment
 * (#token=..., which the browser never sends); a remote page trades the
 * --token-file token for it (POST /api/login). So neither another site's
 * page nor another local user can read or drive anything: the page itself
 * is served to anyone and holds no data. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/json.h"
#include "agora/log.h"
#include "agora/random.h"
#include "agora/url.h"
#include "studio_int.h"

/* The embedded page (studio/page/, made by agora_embed). */
extern const char agora_studio_index[];
extern const char agora_studio_app[];
extern const char agora_studio_chat[];
extern const char agora_studio_sessions[];
extern const char agora_studio_servers[];
extern const char agora_studio_style[];

/* The page's files, embedded (studio/page/). */
static const struct {
	const char *path, *type, *body;
} studio_assets[] = {
	{ "/", "text/html; charset=utf-8", agora_studio_index },
	{ "/app.js", "text/javascript; charset=utf-8", agora_studio_app },
	{ "/chat.js", "text/javascript; charset=utf-8", agora_studio_chat },
	{ "/sessions.js", "text/javascript; charset=utf-8",
	  agora_studio_sessions },
	{ "/servers.js", "text/javascript; charset=utf-8",
	  agora_studio_servers },
	{ "/style.css", "text/css; charset=utf-8", agora_studio_style },
};

/* Unsent bytes one stream may hold: a late tab's replay of a run (up to
 * 4 MiB kept) and one message of the largest size, with room. */
#define STUDIO_STREAM_PENDING (6u << 20)
#define STUDIO_LOGIN_MAX      4096 /* a login's body */

struct agora_studio {
	struct studio_ctx ctx;
	agora_http_server *http;
	char *token;         /* the operator's (--token-file), or NULL */
	char page_token[65]; /* the access token, random */
};

/* Compare without an early exit, so timing says nothing of the token. */
static bool
studio_same(const char *a, const char *b)
{
	size_t na = strlen(a);
	size_t nb = strlen(b);
	unsigned char d = na != nb;
	size_t i;

	for (i = 0; i < na && i < nb; i++) {
		d |= (unsigned char)(a[i] ^ b[i]);
	}
	return d == 0;
}

/* Whether rq carries the page token (a header; for EventSource, which
 * sets no headers, the query parameter t). */
static bool
studio_page_ok(const agora_studio *st, agora_http_req *rq)
{
	const char *t = agora_http_header(rq, "X-Agora-Token");

	if (t == NULL) {
		t = agora_http_query(rq, "t");
	}
	return t != NULL && studio_same(t, st->page_token);
}

/* The guard of every /api/ request, before a body is read or a queue
 * place taken: the access token (a small login aside). So a peer without
 * it costs the studio nothing more. NULL: admitted; else why not. */
static const char *
studio_admit(void *arg, agora_http_req *rq)
{
	agora_studio *st = arg;
	const char *path = agora_http_path(rq);
	size_t len = 0;

	if (strncmp(path, "/api/", 5) != 0) {
		return NULL;
	}
	if (strcmp(path, "/api/login") == 0) {
		(void)agora_http_body(rq, &len); /* declared length */
		return st->token != NULL && len <= STUDIO_LOGIN_MAX
		           ? NULL
		           : "this studio has no --token-file: open the URL it "
		             "printed (with its #token=...)";
	}
	return studio_page_ok(st, rq) ? NULL
	                              : "missing or wrong token: open the URL "
	                                "agora studio printed (with its "
	                                "#token=...)";
}

/* POST /api/login {"token": the --token-file token} -> {"token": the page
 * token}: a remote page trades the operator's token, which also opens the
 * agent servers, for one that opens only this studio, for this run of it;
 * the page keeps only that one. */
static void
studio_login(agora_studio *st, agora_http_req *rq)
{
	agora_json *doc = NULL;
	const char *t;
	size_t len;
	const char *body = agora_http_body(rq, &len);
	agora_buf b;

	/* Here only with a --token-file (studio_admit). */
	if (agora_json_parse(&doc, body, len, 4096, 4, NULL, 0) != AGORA_OK ||
	    (t = agora_json_str(agora_json_get(doc, "token"))) == NULL ||
	    !studio_same(t, st->token)) {
		agora_json_free(doc);
		agora_http_error(rq, 403, "wrong token");
		return;
	}
	agora_json_free(doc);
	agora_buf_init(&b, 0);
	(void)agora_buf_addf(&b, "{\"token\":\"%s\"}", st->page_token);
	agora_http_reply_json(rq, 200, b.data);
	agora_buf_fini(&b);
}

/* Every /api/ route: the guard, then the part. */
static void
studio_api(void *arg, agora_http_req *rq)
{
	agora_studio *st = arg;
	const char *path = agora_http_path(rq);
	bool post = strcmp(agora_http_method(rq), "POST") == 0;
	const char *site = agora_http_header(rq, "Sec-Fetch-Site");

	/* Another site's page can make a browser send a GET (an image, a
	 * link) without the page token: browsers name such requests. */
	if (site != NULL && strcmp(site, "none") != 0 &&
	    strcmp(site, "same-origin") != 0) {
		agora_http_error(rq, 403, "cross-site request");
		return;
	}
	if (post && strcmp(path, "/api/login") == 0) {
		studio_login(st, rq);
		return;
	}
	/* The token was checked before (studio_admit). */
	if (strcmp(path, "/api/scenarios") == 0 && !post) {
		studio_scenarios(&st->ctx, rq);
	} else if (strcmp(path, "/api/runs") == 0) {
		if (post) {
			studio_runs_start(&st->ctx, rq);
		} else {
			studio_runs_list(&st->ctx, rq);
		}
	} else if (strncmp(path, "/api/runs/", 10) == 0) {
		studio_runs_op(&st->ctx, rq, path + 10, post);
	} else if (strcmp(path, "/api/sessions/events") == 0 && !post) {
		studio_follow_events(&st->ctx, rq);
	} else if (strncmp(path, "/api/sessions", 13) == 0 && !post &&
	           (path[13] == '\0' || path[13] == '/')) {
		studio_sessions(&st->ctx, rq, path + 13);
	} else if (strncmp(path, "/api/servers", 12) == 0 &&
	           (path[12] == '\0' || path[12] == '/')) {
		studio_servers(&st->ctx, rq, path + 12, post);
	} else {
		agora_http_error(rq, 404, "no such API path");
	}
}

static agora_err
studio_routes(agora_studio *st)
{
	static const char *const methods[] = { "GET", "POST" };
	agora_err rv = AGORA_OK;
	size_t i;

	for (i = 0; i < sizeof(studio_assets) / sizeof(studio_assets[0]) &&
	            rv == AGORA_OK;
	     i++) {
		rv = agora_http_static(
		    st->http, studio_assets[i].path, studio_assets[i].type,
		    studio_assets[i].body, strlen(studio_assets[i].body));
	}
	for (i = 0; i < 2 && rv == AGORA_OK; i++) {
		rv = agora_http_route(st->http, methods[i], "/api/", studio_api,
		                      st);
	}
	return rv;
}

/* A non-loopback address needs a token (decided on what it resolves to). */
static agora_err
studio_check_host(const agora_studio_opts *o, const char *host, char *err,
                  size_t errlen)
{
	char url[300];
	bool local = false;
	agora_err rv;

	snprintf(url, sizeof(url),
	         strchr(host, ':') != NULL ? "tcp://[%s]:1" : "tcp://%s:1",
	         host);
	rv = agora_url_check_local(url, &local, err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	if (!local && o->token == NULL) {
		snprintf(err, errlen,
		         "studio: %s is not a loopback address: give "
		         "--token-file to serve it",
		         host);
		return AGORA_EINVAL;
	}
	return AGORA_OK;
}

agora_err
agora_studio_open(agora_studio **sp, const agora_studio_opts *o, char *err,
                  size_t errlen)
{
	const char *host = o->host != NULL ? o->host : "127.0.0.1";
	agora_studio *st;
	agora_err rv;

	*sp = NULL;
	if (o->redis_url == NULL || o->scenarios == NULL) {
		snprintf(err, errlen,
		         "studio: a Redis and a scenarios "
		         "directory are needed");
		return AGORA_EINVAL;
	}
	rv = studio_check_host(o, host, err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	st = agora_calloc(1, sizeof(*st));
	st->ctx.redis_url = agora_strdup(o->redis_url);
	st->ctx.dir = agora_strdup(o->scenarios);
	st->token = o->token != NULL ? agora_strdup(o->token) : NULL;
	st->ctx.server_token = st->token;
	st->ctx.run_keep_ms =
	    o->run_keep_ms > 0 ? o->run_keep_ms : STUDIO_RUN_KEEP_MS;
	pthread_mutex_init(&st->ctx.lock, NULL);
	rv = agora_random_hex(st->page_token, sizeof(st->page_token), 32);
	if (rv == AGORA_OK) {
		rv = studio_follow_start(&st->ctx, 2000);
	}
	if (rv == AGORA_OK) {
		rv = studio_tidy_start(&st->ctx);
	}
	if (rv == AGORA_OK) {
		/* With a token, any Host may come (a remote page names the
		 * machine as it knows it); without, loopback names only (no
		 * DNS rebinding). */
		agora_http_opts ho = { .any_host = st->token != NULL,
			               .max_pending = STUDIO_STREAM_PENDING,
			               .admit = studio_admit,
			               .admit_arg = st };

		rv =
		    agora_http_open(&st->http, host, o->port, &ho, err, errlen);
	}
	if (rv == AGORA_OK) {
		rv = studio_routes(st);
	}
	if (rv == AGORA_OK) {
		rv = agora_http_start(st->http, err, errlen);
	}
	if (rv != AGORA_OK) {
		agora_studio_close(st);
		return rv;
	}
	agora_log(AGORA_LOG_INFO, "studio", "listening on %s port %d", host,
	          agora_http_port(st->http));
	*sp = st;
	return AGORA_OK;
}

int
agora_studio_port(const agora_studio *s)
{
	return agora_http_port(s->http);
}

const char *
agora_studio_page_token(const agora_studio *s)
{
	return s->page_token;
}

void
agora_studio_close(agora_studio *s)
{
	if (s == NULL) {
		return;
	}
	/* The server first: its handlers are done (joined) before the runs
	 * they may hold are freed, and no new run comes. Stream handles stay
	 * valid after it (their sends fail) until their owners close them. */
	agora_http_close(s->http);
	studio_tidy_stop(&s->ctx); /* it walks the runs */
	studio_runs_close(&s->ctx);
	studio_follow_stop(&s->ctx);
	studio_servers_close(&s->ctx);
	pthread_mutex_destroy(&s->ctx.lock);
	agora_free(s->ctx.redis_url);
	agora_free(s->ctx.dir);
	agora_free(s->token);
	agora_free(s);
}
