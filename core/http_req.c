/* SPDX-License-Identifier: MIT */
/* One HTTP request of core/http.c's server: what nng gives copied and
 * checked (path and query percent-decoded, a malformed escape refused, the
 * headers a handler may read, Content-Length against max_body, Host and
 * Origin against this server), the route it goes to, and its answer. An
 * answer goes through nng's handler aio, which is "claimed" first: the
 * worker answering and the server closing (agora__http_cancel) race for it
 * under the server's lock, and only the winner finishes the aio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agora/alloc.h"
#include "agora/log.h"
#include "http_impl.h"

/* Keep in step with the list in include/agora/http.h. */
static const char *const http_hdr_names[HTTP_NHDR] = {
	"Host",          "Origin",         "Content-Type",  "Accept",
	"Authorization", "Cookie",         "Last-Event-ID", "Referer",
	"User-Agent",    "Sec-Fetch-Site", "X-Agora-Token"
};

/* No inline script or style: the page's JS and CSS are separate assets. */
static const char http_csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

const char *const agora__http_sec[] = { "Content-Security-Policy",
	                                http_csp,
	                                "X-Content-Type-Options",
	                                "nosniff",
	                                "Referrer-Policy",
	                                "no-referrer",
	                                "X-Frame-Options",
	                                "DENY",
	                                NULL };

/* ---- answers ------------------------------------------------------------ */

static nng_http_res *
http_res(int status, const char *ctype, const char *cache, bool close)
{
	nng_http_res *res = NULL;

	if (nng_http_res_alloc(&res) != 0) {
		return NULL;
	}
	(void)nng_http_res_set_status(res, (uint16_t)status);
	for (size_t i = 0; agora__http_sec[i] != NULL; i += 2) {
		(void)nng_http_res_set_header(res, agora__http_sec[i],
		                              agora__http_sec[i + 1]);
	}
	(void)nng_http_res_set_header(res, "Content-Type", ctype);
	(void)nng_http_res_set_header(res, "Cache-Control", cache);
	if (close) {
		(void)nng_http_res_set_header(res, "Connection", "close");
	}
	return res;
}

static void
http_finish(nng_aio *aio, nng_http_res *res)
{
	if (res == NULL) {
		nng_aio_finish(aio, NNG_ENOMEM); /* nng drops the connection */
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

void
agora__http_answer(nng_aio *aio, int status, const char *ctype,
                   const void *body, size_t len, bool close)
{
	nng_http_res *res = http_res(status, ctype, "no-store", close);

	if (res != NULL && len > 0 &&
	    nng_http_res_copy_data(res, body, len) != 0) {
		nng_http_res_free(res);
		res = NULL;
	}
	http_finish(aio, res);
}

void
agora__http_answer_error(nng_aio *aio, int status, const char *msg, bool close)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "{\"error\": \"%s\"}", msg);

	agora__http_answer(aio, status, "application/json; charset=utf-8", body,
	                   (size_t)n, close);
}

/* Take rq off the pending list (s->lock held); its aio, or NULL. */
static nng_aio *
http_claim_locked(agora_http_server *s, agora_http_req *rq)
{
	nng_aio *aio = rq->aio;

	if (aio == NULL) {
		return NULL;
	}
	rq->aio = NULL;
	if (rq->prev != NULL) {
		rq->prev->next = rq->next;
	} else {
		s->pending = rq->next;
	}
	if (rq->next != NULL) {
		rq->next->prev = rq->prev;
	}
	rq->next = rq->prev = NULL;
	return aio;
}

nng_aio *
agora__http_claim(agora_http_req *rq)
{
	nng_aio *aio;

	pthread_mutex_lock(&rq->s->lock);
	aio = http_claim_locked(rq->s, rq);
	pthread_mutex_unlock(&rq->s->lock);
	rq->answered = true; /* only the worker running rq gets here */
	return aio;
}

/* nng's cancel routine for a pending handler aio: the server is stopping
 * (nng calls it holding its server lock; ours is taken after, never the
 * other way round). */
void
agora__http_cancel(nng_aio *aio, void *arg, int rv)
{
	agora_http_server *s = arg;
	nng_aio *mine = NULL;

	pthread_mutex_lock(&s->lock);
	for (agora_http_req *rq = s->pending; rq != NULL; rq = rq->next) {
		if (rq->aio == aio) {
			mine = http_claim_locked(s, rq);
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (mine != NULL) {
		nng_aio_finish(mine, rv);
	}
}

void
agora_http_reply(agora_http_req *rq, int status, const char *content_type,
                 const void *body, size_t len)
{
	nng_aio *aio;

	if (rq == NULL) {
		return;
	}
	aio = agora__http_claim(rq);
	if (aio == NULL) {
		return;
	}
	if (content_type == NULL || strpbrk(content_type, "\r\n") != NULL ||
	    status < 100 || status > 599) {
		agora_log(AGORA_LOG_WARN, "http",
		          "%s %s: bad reply (status %d)", rq->method, rq->path,
		          status);
		agora__http_answer_error(aio, 500, "bad reply", false);
		return;
	}
	agora__http_answer(aio, status, content_type, body, len, false);
}

void
agora_http_reply_json(agora_http_req *rq, int status, const char *json)
{
	agora_http_reply(rq, status, "application/json; charset=utf-8", json,
	                 json != NULL ? strlen(json) : 0);
}

void
agora_http_error(agora_http_req *rq, int status, const char *msg)
{
	agora_buf b;

	agora_buf_init(&b, 0);
	(void)agora_buf_adds(&b, "{\"error\": ");
	(void)agora_buf_json_str(&b, msg != NULL ? msg : "",
	                         msg != NULL ? strlen(msg) : 0);
	(void)agora_buf_adds(&b, "}");
	agora_http_reply_json(rq, status, b.data);
	agora_buf_fini(&b);
}

/* ---- the request as a handler sees it ------------------------------------ */

const char *
agora_http_method(const agora_http_req *rq)
{
	return rq->method;
}

const char *
agora_http_path(const agora_http_req *rq)
{
	return rq->path;
}

const char *
agora_http_query(const agora_http_req *rq, const char *name)
{
	for (size_t i = 0; i < rq->nq; i++) {
		if (strcmp(rq->qname[i], name) == 0) {
			return rq->qval[i];
		}
	}
	return NULL;
}

const char *
agora_http_header(const agora_http_req *rq, const char *name)
{
	for (size_t i = 0; i < HTTP_NHDR; i++) {
		if (strcasecmp(http_hdr_names[i], name) == 0) {
			return rq->hdr[i];
		}
	}
	return NULL;
}

const char *
agora_http_body(const agora_http_req *rq, size_t *len)
{
	if (len != NULL) {
		*len = rq->bodylen;
	}
	return rq->body != NULL ? rq->body : "";
}

void
agora__http_req_free(agora_http_req *rq)
{
	if (rq == NULL) {
		return;
	}
	nng_aio_free(rq->bodyaio);
	agora_free(rq->method);
	agora_free(rq->path);
	agora_free(rq->qbuf);
	for (size_t i = 0; i < HTTP_NHDR; i++) {
		agora_free(rq->hdr[i]);
	}
	agora_free(rq->body);
	agora_free(rq);
}

/* ---- parsing: what nng gives, copied and checked ------------------------- */

static int
http_hex(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* Percent-decode s in place ('+' a space when plus). False for a bad
 * escape or %00. */
static bool
http_decode(char *s, bool plus)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		if (*s == '%') {
			int hi = http_hex(s[1]);
			int lo = hi < 0 ? -1 : http_hex(s[2]);
			unsigned char c;

			if (lo < 0 || (hi == 0 && lo == 0)) {
				return false;
			}
			c = (unsigned char)(hi * 16 + lo);
			memcpy(o++, &c, 1); /* the byte, whatever char's sign */
			s += 2;
		} else if (plus && *s == '+') {
			*o++ = ' ';
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return true;
}

static bool
http_parse_query(agora_http_req *rq, const char *q)
{
	char *p;

	rq->qbuf = agora_strdup(q);
	p = rq->qbuf;
	while (*p != '\0') {
		char *end = p + strcspn(p, "&");
		char *eq;
		bool last = *end == '\0';

		*end = '\0';
		eq = strchr(p, '=');
		if (eq != NULL) {
			*eq = '\0';
		}
		if (*p != '\0') {
			if (rq->nq == HTTP_MAX_PARAMS) {
				return false;
			}
			if (!http_decode(p, true) ||
			    (eq != NULL && !http_decode(eq + 1, true))) {
				return false;
			}
			rq->qname[rq->nq] = p;
			rq->qval[rq->nq] = eq != NULL ? eq + 1 : "";
			rq->nq++;
		}
		p = last ? end : end + 1;
	}
	return true;
}

/* The route for rq's path and method: an exact path beats the longest
 * prefix. 0, or 404 (no path) or 405 (path, not this method). */
static int
http_route_find(const agora_http_server *s, agora_http_req *rq)
{
	const char *m = strcmp(rq->method, "HEAD") == 0 ? "GET" : rq->method;
	const char *best = NULL;
	size_t bestlen = 0;
	bool exact = false;

	for (size_t i = 0; i < s->nroutes; i++) {
		const struct http_route *r = &s->routes[i];
		size_t n = strlen(r->path);

		if (!r->prefix && strcmp(r->path, rq->path) == 0) {
			best = r->path;
			exact = true;
			break;
		}
		if (r->prefix && strncmp(r->path, rq->path, n) == 0 &&
		    n > bestlen) {
			best = r->path;
			bestlen = n;
		}
	}
	if (best == NULL) {
		return 404;
	}
	for (size_t i = 0; i < s->nroutes; i++) {
		const struct http_route *r = &s->routes[i];

		if (r->prefix != !exact || strcmp(r->path, best) != 0) {
			continue;
		}
		if (strcmp(r->method, m) == 0) {
			rq->route = r;
			return 0;
		}
	}
	return 405;
}

/* Host must name this server (DNS rebinding); a state-changing request
 * must come from its own page (Origin, when the browser sends one). */
static bool
http_origin_ok(const agora_http_server *s, const agora_http_req *rq)
{
	const char *host = rq->hdr[0], *origin = rq->hdr[1];
	bool ok = s->o.any_host;

	for (size_t i = 0; !ok && host != NULL && i < 4; i++) {
		ok = strcasecmp(host, s->allow[i]) == 0;
	}
	if (!ok) {
		return false;
	}
	if (origin == NULL || strcmp(rq->method, "GET") == 0 ||
	    strcmp(rq->method, "HEAD") == 0) {
		return true;
	}
	return host != NULL && strncasecmp(origin, "http://", 7) == 0 &&
	       strcasecmp(origin + 7, host) == 0;
}

/* Copy and check what a handler may read. 0, or the status to answer
 * (*msg says why; *close when the connection must not be reused). */
int
agora__http_parse(agora_http_server *s, nng_http_req *nreq, agora_http_req *rq,
                  const char **msg, bool *close)
{
	const char *uri = nng_http_req_get_uri(nreq);
	const char *cl = nng_http_req_get_header(nreq, "Content-Length");
	const char *q;

	*close = true;
	rq->method = agora_strdup(nng_http_req_get_method(nreq));
	for (size_t i = 0; i < HTTP_NHDR; i++) {
		const char *v =
		    nng_http_req_get_header(nreq, http_hdr_names[i]);

		rq->hdr[i] = v != NULL ? agora_strdup(v) : NULL;
	}
	if (strlen(uri) > HTTP_MAX_URI) {
		*msg = "URL too long";
		return 414;
	}
	q = strchr(uri, '?');
	rq->path =
	    agora_strndup(uri, q != NULL ? (size_t)(q - uri) : strlen(uri));
	if (rq->path[0] != '/' || !http_decode(rq->path, false) ||
	    (q != NULL && !http_parse_query(rq, q + 1))) {
		*msg = "malformed URL";
		return 400;
	}
	if (nng_http_req_get_header(nreq, "Transfer-Encoding") != NULL) {
		*msg = "a body needs Content-Length";
		return 411;
	}
	if (cl != NULL) {
		char *end;
		unsigned long long n = strtoull(cl, &end, 10);

		if (cl[0] < '0' || cl[0] > '9' || *end != '\0' ||
		    strlen(cl) > 19) {
			*msg = "malformed Content-Length";
			return 400;
		}
		if (n > s->o.max_body) {
			*msg = "request body too large";
			return 413;
		}
		rq->bodylen = (size_t)n;
	}
	*close = rq->bodylen > 0; /* unread when refused below */
	if (!http_origin_ok(s, rq)) {
		*msg = "host or origin not allowed";
		return 403;
	}
	*msg = "no such path";
	return http_route_find(s, rq);
}

void
agora__http_static(const struct http_route *r, nng_aio *aio)
{
	nng_http_res *res = http_res(200, r->ctype, "no-cache", false);

	if (res != NULL && nng_http_res_set_data(res, r->data, r->len) != 0) {
		nng_http_res_free(res);
		res = NULL;
	}
	http_finish(aio, res);
}
