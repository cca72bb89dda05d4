/* SPDX-License-Identifier: MIT */
/* Request/reply messaging between processes (nng REQ/REP with contexts, so
 * many requests are in flight on one connection). A link is the client end,
 * to one address (ipc:///path, tcp://host:port, tls+tcp://...); a listener
 * is the server end. Every socket has a receive size cap and every request a
 * timeout: nothing here waits forever or takes unbounded memory from a peer.
 * Callbacks run on the transport's threads and must not block. */
#ifndef AGORA_TRANSPORT_H
#define AGORA_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agora/buf.h"
#include "agora/err.h"
#include "agora/url.h" /* agora_url_check_local, for listeners */

#ifdef __cplusplus
extern "C" {
#endif

/* The largest message either end accepts by default (16 MiB). */
#define AGORA_TP_MAX_MSG (16u << 20)

typedef struct agora_link agora_link;

/* A piece of a message sent from several places: the pieces are copied
 * once, into the message. */
typedef struct agora_iov {
	const void *data;
	size_t len;
} agora_iov;

/* A reply (rv == AGORA_OK; data is lent for the call) or why there is none
 * (ETIMEDOUT, ECANCELED when the link closes, ETRANSPORT). */
typedef void (*agora_link_cb)(void *arg, agora_err rv, const char *data,
                              size_t len);

/* Connect to url; the connection is made in the background and remade if it
 * drops. A bad url is an error here. */
AGORA_API agora_err agora_link_open(agora_link **lp, const char *url, char *err,
                                    size_t errlen);
/* The same, but the first connection is made now: a peer that refuses it
 * (nothing listens there) for wait_ms is an error then, which names the
 * reason, not a request that times out later. For servers that should be
 * running already (wait_ms 0) or be about to listen. */
AGORA_API agora_err agora_link_open_now(agora_link **lp, const char *url,
                                        int64_t wait_ms, char *err,
                                        size_t errlen);
/* Cancel what is in flight (callbacks see ECANCELED) and close. */
AGORA_API void agora_link_close(agora_link *l);
AGORA_API const char *agora_link_url(const agora_link *l);
/* The largest request the peer takes (its `alive` says): a bigger one is
 * refused here (AGORA_ETOOBIG) rather than sent to a peer that would drop
 * the connection over it. 0: not known, only AGORA_TP_MAX_MSG applies. */
AGORA_API void agora_link_set_max(agora_link *l, size_t max);
AGORA_API size_t agora_link_max(agora_link *l);
/* Called (on a transport thread) each time a connection to the peer ends:
 * the peer closed or died. Set before the first request. */
AGORA_API void agora_link_on_down(agora_link *l, void (*fn)(void *arg),
                                  void *arg);
/* Our own limits: the largest request we send and the largest reply we
 * take (0: AGORA_TP_MAX_MSG each), for protocols with bigger messages. */
AGORA_API void agora_link_set_limits(agora_link *l, size_t send_max,
                                     size_t recv_max);
/* How many connections to the peer are up now (0 or 1). */
AGORA_API int agora_link_connected(agora_link *l);
/* Send one request; cb is called exactly once. timeout_ms covers waiting
 * for a connection, sending and the reply. */
AGORA_API agora_err agora_link_request(agora_link *l, const char *data,
                                       size_t len, int64_t timeout_ms,
                                       agora_link_cb cb, void *arg);
/* The same, waiting for the reply into *reply. */
AGORA_API agora_err agora_link_call(agora_link *l, const char *data, size_t len,
                                    int64_t timeout_ms, agora_buf *reply);
/* agora_link_request and agora_link_call of a message in pieces. */
AGORA_API agora_err agora_link_requestv(agora_link *l, const agora_iov *v,
                                        size_t n, int64_t timeout_ms,
                                        agora_link_cb cb, void *arg);
AGORA_API agora_err agora_link_callv(agora_link *l, const agora_iov *v,
                                     size_t n, int64_t timeout_ms,
                                     agora_buf *reply);

typedef struct agora_listener agora_listener;
typedef struct agora_request agora_request;

/* A request arrived (data lent for the call). The handler must answer it
 * exactly once with agora_request_reply, now or later, from any thread. */
typedef void (*agora_request_fn)(void *arg, agora_request *rq, const char *data,
                                 size_t len);

typedef struct agora_listener_opts {
	size_t nctx;      /* requests handled at once */
	size_t max_msg;   /* a bigger message closes its connection */
	size_t max_conns; /* connections at once (more are closed at once);
	                     0: no limit */
	agora_request_fn fn;
	/* Optional: a connection (peer id) came up or went away. On a
	 * transport thread; requests from a peer name it (request_peer). */
	void (*on_peer)(void *arg, uint32_t peer, bool up);
	void *arg; /* for fn and on_peer */
} agora_listener_opts;

/* Listen on url. An address in use or not allowed is an error naming it;
 * there is no fallback address. Memory a peer can make us hold before a
 * request is read is at most max_conns x max_msg. */
AGORA_API agora_err agora_listener_open(agora_listener **lp, const char *url,
                                        const agora_listener_opts *o, char *err,
                                        size_t errlen);
AGORA_API void agora_listener_close(agora_listener *l);
AGORA_API void agora_request_reply(agora_request *rq, const char *data,
                                   size_t len);
AGORA_API void agora_request_replyv(agora_request *rq, const agora_iov *v,
                                    size_t n);
/* The TCP port a tcp:// listener got (the one chosen for port 0); 0 for
 * other transports. */
AGORA_API int agora_listener_port(agora_listener *lsn);
/* The connection a request came on (as on_peer named it). */
AGORA_API uint32_t agora_request_peer(const agora_request *rq);
/* A request the server gave up on (shutting down): no reply is sent. */
AGORA_API void agora_request_drop(agora_request *rq);

/* TLS for tls+tcp:// addresses, for the whole process: the CA file links
 * check servers against (and the host in the address against the
 * certificate's name), and the PEM file (certificate and unencrypted key)
 * listeners present. NULL leaves one as it is; "" unsets it. */
AGORA_API void agora_tls_set(const char *ca_file, const char *cert_key_file);

#ifdef __cplusplus
}
#endif
#endif
