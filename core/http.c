/* SPDX-License-Identifier: MIT */
/* The HTTP server layer over nng 1.5.2's supplemental HTTP server: one
 * catch-all nng handler does the routing itself, so 404, 405, 413 and the
 * rest are ours and carry the security headers. nng calls it on nng's
 * threads; it copies what a handler may read, answers errors and static
 * assets at once, reads a body itself (nng's own collect_body answers 400
 * for an oversized body, and cannot time out), and queues the rest for the
 * layer's worker threads. A queued request keeps nng's handler aio pending
 * with a cancel routine, so closing the server never waits for a handler to
 * reach its answer. Requests (parsing, answers) are in http_req.c, SSE
 * streams in http_sse.c; this file is the server: routes, nng's handler,
 * the queue and its workers, start and close. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "agora/alloc.h"
#include "agora/log.h"
#include "http_impl.h"

/* nng shares a server among holders of one host and port, port 0 too
 * until it is bound: hold and start one of ours at a time. */
static pthread_mutex_t http_start_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- nng's side: the handler, the body, the queue -------------------------
 */

static void
http_enqueue(agora_http_server *s, agora_http_req *rq)
{
	pthread_mutex_lock(&s->lock);
	if (s->qtail != NULL) {
		s->qtail->qnext = rq;
	} else {
		s->qhead = rq;
	}
	s->qtail = rq;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->lock);
}

static void
http_body_done(void *arg)
{
	agora_http_req *rq = arg;

	rq->body_rv = nng_aio_result(rq->bodyaio);
	http_enqueue(rq->s, rq);
}

/* Admit rq: pending with a cancel routine, its body read started, all
 * under s->lock so that closing (which sets s->closing first) never meets
 * an aio deferred after nng stopped it. False when closing or full. */
static bool
http_admit(agora_http_server *s, agora_http_req *rq, nng_aio *aio)
{
	nng_iov iov;

	pthread_mutex_lock(&s->lock);
	if (s->closing || s->admitted >= s->o.max_queue) {
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	s->admitted++;
	rq->aio = aio;
	rq->next = s->pending;
	if (s->pending != NULL) {
		s->pending->prev = rq;
	}
	s->pending = rq;
	if (rq->bodylen > 0) {
		iov.iov_buf = rq->body;
		iov.iov_len = rq->bodylen;
		(void)nng_aio_set_iov(rq->bodyaio, 1, &iov);
		nng_aio_set_timeout(rq->bodyaio,
		                    (nng_duration)s->o.body_timeout_ms);
		nng_http_conn_read_all(rq->conn, rq->bodyaio);
	}
	nng_aio_defer(aio, agora__http_cancel, s);
	pthread_mutex_unlock(&s->lock);
	return true;
}

/* nng's handler for every path and method, on an nng thread. */
static void
http_handle(nng_aio *aio)
{
	nng_http_req *nreq = nng_aio_get_input(aio, 0);
	nng_http_handler *h = nng_aio_get_input(aio, 1);
	agora_http_server *s = nng_http_handler_get_data(h);
	agora_http_req *rq = agora_calloc(1, sizeof(*rq));
	const char *msg;
	bool close, has_body;
	int status;

	rq->s = s;
	rq->nreq = nreq;
	rq->conn = nng_aio_get_input(aio, 2);
	status = agora__http_parse(s, nreq, rq, &msg, &close);
	if (status != 0) {
		agora__http_answer_error(aio, status, msg, close);
		agora__http_req_free(rq);
		return;
	}
	if (rq->route->fn == NULL) {
		agora__http_static(rq->route, aio);
		agora__http_req_free(rq);
		return;
	}
	msg = s->o.admit != NULL ? s->o.admit(s->o.admit_arg, rq) : NULL;
	if (msg != NULL) {
		agora__http_answer_error(aio, 403, msg, rq->bodylen > 0);
		agora__http_req_free(rq);
		return;
	}
	if (rq->bodylen > 0) {
		rq->body = agora_malloc(rq->bodylen + 1);
		rq->body[rq->bodylen] = '\0';
		if (nng_aio_alloc(&rq->bodyaio, http_body_done, rq) != 0) {
			agora__http_answer_error(aio, 500, "out of resources",
			                         true);
			agora__http_req_free(rq);
			return;
		}
	}
	has_body = rq->bodylen > 0;
	if (!http_admit(s, rq, aio)) {
		agora__http_answer_error(aio, 503, "server busy", has_body);
		agora__http_req_free(rq);
		return;
	}
	/* With a body, rq is the body read's now (and may be gone). */
	if (!has_body) {
		http_enqueue(s, rq);
	}
}

/* ---- workers ---------------------------------------------------------------
 */

static void
http_run(agora_http_req *rq)
{
	nng_aio *aio;
	bool cancelled;

	if (rq->body_rv != 0) {
		aio = agora__http_claim(rq);
		if (aio != NULL) {
			agora__http_answer_error(
			    aio, 408, "request body not received", true);
		}
		return;
	}
	pthread_mutex_lock(&rq->s->lock);
	cancelled = rq->aio == NULL;
	pthread_mutex_unlock(&rq->s->lock);
	if (cancelled) {
		return; /* the server is closing */
	}
	rq->route->fn(rq->route->arg, rq);
	if (!rq->answered) {
		agora_log(AGORA_LOG_WARN, "http",
		          "%s %s: handler gave no answer", rq->method,
		          rq->path);
		agora_http_error(rq, 500, "no answer");
	}
}

static void *
http_worker(void *arg)
{
	agora_http_server *s = arg;
	nng_aio *aio;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		agora_http_req *rq = s->qhead;

		if (rq == NULL) {
			if (s->stop && s->admitted == 0) {
				break;
			}
			pthread_cond_wait(&s->cv, &s->lock);
			continue;
		}
		s->qhead = rq->qnext;
		if (s->qhead == NULL) {
			s->qtail = NULL;
		}
		pthread_mutex_unlock(&s->lock);
		http_run(rq);
		aio = agora__http_claim(rq); /* none left, but be sure */
		if (aio != NULL) {
			nng_aio_finish(aio, NNG_ECLOSED);
		}
		agora__http_req_free(rq);
		pthread_mutex_lock(&s->lock);
		s->admitted--;
		if (s->admitted == 0) {
			pthread_cond_broadcast(&s->cv);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- the server -------------------------------------------------------------
 */

agora_err
agora_http_open(agora_http_server **sp, const char *host, int port,
                const agora_http_opts *o, char *err, size_t errlen)
{
	agora_http_server *s;

	if (sp == NULL || host == NULL || host[0] == '\0' || port < 0 ||
	    port > 65535 || strlen(host) > 255 ||
	    strpbrk(host, "/[]@ ") != NULL) {
		snprintf(err, errlen, "http: bad host or port");
		return AGORA_EINVAL;
	}
	s = agora_calloc(1, sizeof(*s));
	if (o != NULL) {
		s->o = *o;
	}
	s->o.max_body = s->o.max_body ? s->o.max_body : 1u << 20;
	s->o.workers = s->o.workers ? s->o.workers : 4;
	s->o.max_streams = s->o.max_streams ? s->o.max_streams : 64;
	s->o.max_queue = s->o.max_queue ? s->o.max_queue : 256;
	s->o.max_pending = s->o.max_pending ? s->o.max_pending : 1u << 20;
	s->o.body_timeout_ms =
	    s->o.body_timeout_ms > 0 ? s->o.body_timeout_ms : 10000;
	s->o.write_timeout_ms =
	    s->o.write_timeout_ms > 0 ? s->o.write_timeout_ms : 10000;
	s->host = agora_strdup(host);
	s->port = port;
	s->refs = 1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cv, NULL);
	*sp = s;
	return AGORA_OK;
}

/* Add a route (fn) or a static asset (fn NULL: ctype, data, len). */
static agora_err
http_add(agora_http_server *s, const char *method, const char *path,
         agora_http_fn fn, void *arg, const char *ctype, const void *data,
         size_t len)
{
	struct http_route *r;

	if (s->started || path[0] != '/' || strlen(path) > HTTP_MAX_URI) {
		return AGORA_EINVAL;
	}
	for (size_t i = 0; i < s->nroutes; i++) {
		if (strcmp(s->routes[i].method, method) == 0 &&
		    strcmp(s->routes[i].path, path) == 0) {
			return AGORA_EEXIST;
		}
	}
	s->routes =
	    agora_realloc(s->routes, (s->nroutes + 1) * sizeof(*s->routes));
	r = &s->routes[s->nroutes++];
	r->method = agora_strdup(method);
	r->path = agora_strdup(path);
	r->prefix = path[strlen(path) - 1] == '/';
	r->fn = fn;
	r->arg = arg;
	r->ctype = ctype != NULL ? agora_strdup(ctype) : NULL;
	r->data = data;
	r->len = len;
	return AGORA_OK;
}

agora_err
agora_http_route(agora_http_server *s, const char *method, const char *path,
                 agora_http_fn fn, void *arg)
{
	if (s == NULL || method == NULL || path == NULL || fn == NULL ||
	    (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)) {
		return AGORA_EINVAL;
	}
	return http_add(s, method, path, fn, arg, NULL, NULL, 0);
}

agora_err
agora_http_static(agora_http_server *s, const char *path,
                  const char *content_type, const void *data, size_t len)
{
	if (s == NULL || path == NULL || content_type == NULL ||
	    (data == NULL && len > 0) ||
	    strpbrk(content_type, "\r\n") != NULL) {
		return AGORA_EINVAL;
	}
	return http_add(s, "GET", path, NULL, NULL, content_type, data, len);
}

/* The Host values a browser sends for this server. */
static void
http_allow(agora_http_server *s)
{
	if (strchr(s->host, ':') != NULL) {
		snprintf(s->allow[0], sizeof(s->allow[0]), "[%s]:%d", s->host,
		         s->port);
	} else {
		snprintf(s->allow[0], sizeof(s->allow[0]), "%s:%d", s->host,
		         s->port);
	}
	snprintf(s->allow[1], sizeof(s->allow[1]), "localhost:%d", s->port);
	snprintf(s->allow[2], sizeof(s->allow[2]), "127.0.0.1:%d", s->port);
	snprintf(s->allow[3], sizeof(s->allow[3]), "[::1]:%d", s->port);
}

/* Hold nng's server for our address, add the catch-all handler, listen. */
static int
http_listen(agora_http_server *s, const char **what)
{
	char url[300];
	nng_url *u = NULL;
	nng_http_handler *h = NULL;
	nng_sockaddr sa;
	int rv;

	if (strchr(s->host, ':') != NULL) {
		snprintf(url, sizeof(url), "http://[%s]:%d", s->host, s->port);
	} else {
		snprintf(url, sizeof(url), "http://%s:%d", s->host, s->port);
	}
	*what = "address";
	rv = nng_url_parse(&u, url);
	if (rv == 0) {
		*what = "server";
		rv = nng_http_server_hold(&s->srv, u);
		nng_url_free(u);
	}
	if (rv != 0) {
		return rv;
	}
	*what = "handler";
	rv = nng_http_handler_alloc(&h, "/", http_handle);
	if (rv != 0) {
		return rv;
	}
	(void)nng_http_handler_set_method(h, NULL); /* all: we route */
	(void)nng_http_handler_set_tree(h);
	(void)nng_http_handler_collect_body(h, false, 0);
	(void)nng_http_handler_set_data(h, s, NULL);
	rv = nng_http_server_add_handler(s->srv, h);
	if (rv != 0) {
		nng_http_handler_free(h); /* another holder has "/" */
		return rv;
	}
	*what = "listen";
	rv = nng_http_server_start(s->srv);
	if (rv != 0) {
		return rv;
	}
	rv = nng_http_server_get_addr(s->srv, &sa);
	if (rv == 0) {
		s->port = ntohs(sa.s_family == NNG_AF_INET6 ? sa.s_in6.sa_port
		                                            : sa.s_in.sa_port);
	}
	return rv;
}

agora_err
agora_http_start(agora_http_server *s, char *err, size_t errlen)
{
	const char *what;
	int rv;

	if (s == NULL || s->started) {
		return AGORA_EINVAL;
	}
	pthread_mutex_lock(&http_start_lock);
	rv = http_listen(s, &what);
	pthread_mutex_unlock(&http_start_lock);
	if (rv != 0) {
		snprintf(err, errlen, "http %s port %d: %s: %s", s->host,
		         s->port, what, nng_strerror(rv));
		if (s->srv != NULL) {
			nng_http_server_release(s->srv);
			s->srv = NULL;
		}
		return AGORA_ETRANSPORT;
	}
	http_allow(s);
	s->threads = agora_calloc(s->o.workers, sizeof(*s->threads));
	for (; s->nthreads < s->o.workers; s->nthreads++) {
		if (pthread_create(&s->threads[s->nthreads], NULL, http_worker,
		                   s) != 0) {
			break;
		}
	}
	s->started = true;
	if (s->nthreads == 0) {
		snprintf(err, errlen, "http: no worker thread");
		agora_http_close(s);
		return AGORA_ESYS;
	}
	agora_log(AGORA_LOG_INFO, "http", "listening on http://%s/",
	          s->allow[0]);
	return AGORA_OK;
}

int
agora_http_port(const agora_http_server *s)
{
	return s != NULL && s->started ? s->port : 0;
}

void
agora_http_close(agora_http_server *s)
{
	if (s == NULL) {
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->closing = true;
	pthread_mutex_unlock(&s->lock);
	if (s->srv != NULL) {
		/* Drops every connection; pending requests are cancelled
		 * (agora__http_cancel), so this does not wait for handlers. */
		nng_http_server_stop(s->srv);
		nng_http_server_release(s->srv);
	}
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < s->nthreads; i++) {
		pthread_join(s->threads[i], NULL);
	}
	agora__http_end_streams(s);
	for (size_t i = 0; i < s->nroutes; i++) {
		agora_free(s->routes[i].method);
		agora_free(s->routes[i].path);
		agora_free(s->routes[i].ctype);
	}
	agora_free(s->routes);
	agora_free(s->threads);
	agora_free(s->host);
	agora__http_server_unref(s);
}
