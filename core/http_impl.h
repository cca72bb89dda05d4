/* SPDX-License-Identifier: MIT */
/* Private to core/http.c and core/http_sse.c, the only files that include
 * nng's HTTP header: the server, request and stream structures and the few
 * calls http_sse.c makes into http.c (never the other way). */
#ifndef AGORA_HTTP_IMPL_H
#define AGORA_HTTP_IMPL_H

#include <pthread.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "agora/buf.h"
#include "agora/http.h"

#define HTTP_NHDR       11 /* headers kept, agora__http_hdr_names */
#define HTTP_MAX_PARAMS 64
#define HTTP_MAX_URI    2048

struct http_route {
	char *method;
	char *path;
	bool prefix;
	agora_http_fn fn; /* NULL: a static asset */
	void *arg;
	const void *data;
	size_t len;
	char *ctype;
};

struct agora_http_req {
	agora_http_server *s;
	agora_http_req *next, *prev; /* s->pending, while aio is ours */
	agora_http_req *qnext;       /* s->qhead, waiting for a worker */
	const struct http_route *route;
	/* nng's side: aio is the handler aio, NULL once answered or
	 * cancelled (then conn and nreq may be gone: touch them only after
	 * agora__http_claim gave the aio). */
	nng_aio *aio;
	nng_http_conn *conn;
	nng_http_req *nreq;
	nng_aio *bodyaio;
	int body_rv; /* how reading the body ended */
	bool answered;
	char *method;
	char *path;
	char *qbuf; /* decoded names and values, NUL-separated */
	const char *qname[HTTP_MAX_PARAMS];
	const char *qval[HTTP_MAX_PARAMS];
	size_t nq;
	char *hdr[HTTP_NHDR];
	char *body;
	size_t bodylen;
};

struct agora_http_stream {
	agora_http_server *s;
	agora_http_stream *next, *prev; /* s->streams while linked */
	bool linked;
	int refs; /* the caller's, and the list's while linked (s->lock) */
	pthread_mutex_t endlock; /* serialises ending (aio stops, conn) */
	pthread_mutex_t lock;    /* what follows */
	nng_http_conn *conn;
	nng_aio *wio;   /* the write in flight */
	nng_aio *rio;   /* a read that ends when the browser leaves */
	agora_buf pend; /* formatted, not yet handed to nng */
	char *out;      /* handed to nng */
	bool writing;
	bool dead;
	bool ending;          /* agora_http_sse_end: no more sends */
	pthread_cond_t drain; /* a write ended (for agora_http_sse_end) */
	char rbuf[64];
};

struct agora_http_server {
	agora_http_opts o;
	char *host;
	int port;
	char allow[4][300]; /* Host values accepted (any_host off) */
	nng_http_server *srv;
	struct http_route *routes;
	size_t nroutes;
	pthread_t *threads;
	size_t nthreads;
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cv;
	bool started, closing, stop;
	int refs; /* the owner's and one per stream not yet freed */
	agora_http_req *pending;
	agora_http_req *qhead, *qtail;
	size_t admitted; /* requests taken and not yet freed */
	agora_http_stream *streams;
	size_t nstreams;
};

/* The security headers every answer carries, NULL-ended pairs. */
extern const char *const agora__http_sec[];

/* ---- http_req.c ---- */

/* Copy and check what a handler may read from nng's request into rq. 0,
 * or the status to answer (*msg says why; *close: the connection must not
 * be reused). */
int agora__http_parse(agora_http_server *s, nng_http_req *nreq,
                      agora_http_req *rq, const char **msg, bool *close);
void agora__http_req_free(agora_http_req *rq);
/* nng's cancel routine for a pending handler aio (arg: the server). */
void agora__http_cancel(nng_aio *aio, void *arg, int rv);
/* Take rq's aio to answer it: NULL if it was answered or cancelled. Only
 * on the worker running rq. */
nng_aio *agora__http_claim(agora_http_req *rq);
/* Answer through an aio we hold (body copied; close: Connection: close). */
void agora__http_answer(nng_aio *aio, int status, const char *ctype,
                        const void *body, size_t len, bool close);
/* {"error": "msg"} (msg needs no escaping) */
void agora__http_answer_error(nng_aio *aio, int status, const char *msg,
                              bool close);
/* A static route's asset. */
void agora__http_static(const struct http_route *r, nng_aio *aio);

/* ---- http_sse.c ---- */

/* Drop a reference to s; the last frees it. */
void agora__http_server_unref(agora_http_server *s);
/* End and unlink every stream: the server is closing. */
void agora__http_end_streams(agora_http_server *s);

#endif
