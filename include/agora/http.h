/* SPDX-License-Identifier: MIT */
/* A small HTTP/1.1 server for a local web page (agora studio): routes to
 * handlers that run on the layer's own worker threads, static assets lent
 * by the caller, and Server-Sent Events streams written from any thread.
 * Every answer carries security headers for a same-origin app page (a
 * strict Content-Security-Policy: no inline script). Hostile input is
 * capped: body (413), queue and streams (503), URL and headers (nng's 8 KiB
 * request buffer). The caller picks the address; nothing here decides that
 * loopback is enough. See docs/http.md. */
#ifndef AGORA_HTTP_H
#define AGORA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agora_http_server agora_http_server;
typedef struct agora_http_req agora_http_req;
typedef struct agora_http_stream agora_http_stream; /* Server-Sent Events */

/* A route's handler, on a worker thread. rq is lent for the call: answer it
 * once (reply, reply_json, error or sse) before returning; a handler that
 * returns without answering gets a 500 sent for it. It may block (Redis)
 * but holds a worker while it does. */
typedef void (*agora_http_fn)(void *arg, agora_http_req *rq);

/* Zero fields take the default. */
typedef struct agora_http_opts {
	size_t max_body;          /* request body bytes, 1 MiB; more: 413 */
	size_t workers;           /* handler threads, 4 */
	size_t max_streams;       /* open SSE streams, 64; more: 503 */
	size_t max_queue;         /* requests waiting for a worker, 256: 503 */
	size_t max_pending;       /* unsent bytes on one stream, 1 MiB */
	int64_t body_timeout_ms;  /* to read a body, 10 000; slower: 408 */
	int64_t write_timeout_ms; /* one SSE write, 10 000; slower: ended */
	/* Accept any Host header. By default the Host must name this port on
	 * the bound host, localhost, 127.0.0.1 or [::1] (a guard against DNS
	 * rebinding); set it when the page is reached by another name. */
	bool any_host;
	/* Called with a request's line and headers, before its body is read
	 * or it takes a place in the queue: NULL admits it, anything else is
	 * the reason of a 403 answered at once. So a peer without
	 * credentials costs no body and no queue place (a token check
	 * belongs here). NULL hook: all are admitted. */
	const char *(*admit)(void *arg, agora_http_req *rq);
	void *admit_arg;
} agora_http_opts;

/* A server for host (an address literal or a name; "::1" without
 * brackets) and port (0: any free one, known after start). Nothing listens
 * until agora_http_start. o may be NULL. */
AGORA_API agora_err agora_http_open(agora_http_server **sp, const char *host,
                                    int port, const agora_http_opts *o,
                                    char *err, size_t errlen);
/* method "GET" or "POST" (HEAD is served as GET); path exact, or every
 * path under it when it ends in '/' ("/api/" matches "/api/x/y"; the
 * longest prefix wins, an exact route beats a prefix). Before start only;
 * EEXIST for the same method and path twice. */
AGORA_API agora_err agora_http_route(agora_http_server *s, const char *method,
                                     const char *path, agora_http_fn fn,
                                     void *arg);
/* A GET route answering data (lent for the server's life) as content_type,
 * straight from nng's thread. Before start only. */
AGORA_API agora_err agora_http_static(agora_http_server *s, const char *path,
                                      const char *content_type,
                                      const void *data, size_t len);
/* Bind and listen. Errors (address in use, a bad host) are said in err. */
AGORA_API agora_err agora_http_start(agora_http_server *s, char *err,
                                     size_t errlen);
/* The bound port once started; 0 before. */
AGORA_API int agora_http_port(const agora_http_server *s);
/* Stop listening, drop connections and requests not yet answered, wait for
 * running handlers, end every stream (its sends then give ECLOSED). Stream
 * handles stay valid until agora_http_sse_close. NULL is a no-op. Not from
 * a handler. */
AGORA_API void agora_http_close(agora_http_server *s);

/* ---- the request (lent to the handler; strings live as long as rq) ---- */

AGORA_API const char *agora_http_method(const agora_http_req *rq);
/* Percent-decoded, without the query. */
AGORA_API const char *agora_http_path(const agora_http_req *rq);
/* The decoded value of the first parameter called name ('+' is a space),
 * or NULL. A request with a malformed escape (or %00) anywhere in its path
 * or query was answered 400 before any handler. */
AGORA_API const char *agora_http_query(const agora_http_req *rq,
                                       const char *name);
/* A request header, case-insensitive. Only these are kept: Host, Origin,
 * Content-Type, Accept, Authorization, Cookie, Last-Event-ID, Referer,
 * User-Agent, Sec-Fetch-Site, X-Agora-Token; others read NULL. */
AGORA_API const char *agora_http_header(const agora_http_req *rq,
                                        const char *name);
/* The body (NUL-terminated; len may be NULL), "" when there is none. */
AGORA_API const char *agora_http_body(const agora_http_req *rq, size_t *len);

/* ---- answers: exactly one per request ---- */

/* Status, content type (no CR/LF) and body (copied). Adds the security
 * headers and Cache-Control: no-store. A second answer is ignored. */
AGORA_API void agora_http_reply(agora_http_req *rq, int status,
                                const char *content_type, const void *body,
                                size_t len);
/* application/json; charset=utf-8 */
AGORA_API void agora_http_reply_json(agora_http_req *rq, int status,
                                     const char *json);
/* {"error": "<msg, JSON-escaped>"} with status. */
AGORA_API void agora_http_error(agora_http_req *rq, int status,
                                const char *msg);

/* Turn the request into an SSE stream: 200, text/event-stream, no-store,
 * the security headers. The stream is the caller's until
 * agora_http_sse_close, and outlives the handler (hand it to the thread
 * that pushes). NULL when the request can no longer be answered (server
 * closing, already answered) or when max_streams are open (then it was
 * answered 503). */
AGORA_API agora_http_stream *agora_http_sse(agora_http_req *rq);
/* Queue one event (event NULL: unnamed; data split into data: lines at
 * CR/LF) and return at once: writes happen in the background, each with
 * write_timeout_ms. AGORA_ECLOSED once the browser left, a write failed or
 * timed out, more than max_pending bytes waited, or the server closed;
 * AGORA_EINVAL for an event name with CR/LF. Thread-safe. */
AGORA_API agora_err agora_http_sse_send(agora_http_stream *st,
                                        const char *event, const char *data,
                                        size_t len);
/* End the stream (if still open) and free it. NULL is a no-op. Once per
 * stream, not concurrently with a send on it. */
AGORA_API void agora_http_sse_close(agora_http_stream *st);
/* The same after the events queued are written (a last "done" reaches the
 * browser), waiting at most wait_ms for a slow one; sends on the stream
 * fail (AGORA_ECLOSED) from the call on. */
AGORA_API void agora_http_sse_end(agora_http_stream *st, int64_t wait_ms);

#ifdef __cplusplus
}
#endif
#endif
