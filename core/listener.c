/* SPDX-License-Identifier: MIT */
/* The server end of the transport: a listener is a REP socket with nctx
 * contexts, each re-armed for the next request once its reply is sent, so a
 * slow request (a long poll) never holds back another. Connections are
 * counted and capped before use, an ipc:// listener admits only its own
 * user, and a guard keeps the listener accepting (nng 1.5.2's accept loop
 * can stop for good; see "the guard" below). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "transport_int.h"

/* ---- listeners -------------------------------------------------------- */

enum rq_state { RQ_RECV, RQ_WORK, RQ_SEND };

struct agora_request {
	agora_listener *lsn;
	nng_ctx ctx;
	nng_aio *aio;
	enum rq_state state;
	uint32_t peer; /* the pipe it came on */
};

struct agora_listener {
	nng_socket sock;
	agora_request *rqs;
	size_t nctx;
	agora_request_fn fn;
	void (*on_peer)(void *arg, uint32_t peer, bool up);
	void *arg;
	pthread_mutex_t lock; /* guards what follows */
	size_t max_conns;
	int *conns; /* the pipes let in and not yet gone */
	size_t nconns, capconns;
	int64_t warned_ms; /* when a refusal was last logged */
	nng_listener nl;
	bool ipc; /* admit only our own user */
	/* The guard (its thread is the only writer of what follows but the
	 * count, which the pipe callback bumps). */
	char *url;          /* the address to listen on again (port filled) */
	pthread_t guard;    /* its own thread: it blocks in nng calls, */
	bool guard_started; /* which an nng callback must not do */
	bool guard_stop;    /* (lsn->lock) */
	pthread_cond_t guard_cv;
	atomic_ulong pres; /* connections that finished the handshake */
	uint64_t failures; /* the listener's failed accepts seen so far */
	bool probing;      /* probe is dialing */
	nng_socket probe;
	unsigned long pres_at_probe;
	int64_t probe_since;
	int64_t next_blind_ms; /* without statistics: when to probe next */
};

/* Under lsn->lock: is pipe id one we let in? Remove it if gone. */
static bool
lsn_counted(agora_listener *lsn, int id, bool remove)
{
	for (size_t i = 0; i < lsn->nconns; i++) {
		if (lsn->conns[i] == id) {
			if (remove) {
				lsn->conns[i] = lsn->conns[--lsn->nconns];
			}
			return true;
		}
	}
	return false;
}

/* An ipc:// peer must run as our user: the socket file's mode is not
 * ours to trust (a path in a shared directory, a umask), and a peer of
 * another user would drive agents holding our keys. */
static bool
lsn_same_user(agora_listener *lsn, nng_pipe p)
{
	uint64_t uid = UINT64_MAX;

	if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) == 0 &&
	    uid == (uint64_t)getuid()) {
		return true;
	}
	pthread_mutex_lock(&lsn->lock);
	if (agora_now_ms() - lsn->warned_ms > 10000) {
		lsn->warned_ms = agora_now_ms();
		agora_log(AGORA_LOG_WARN, "transport",
		          "refused a connection from uid %llu: this ipc:// "
		          "server admits only its own user",
		          (unsigned long long)uid);
	}
	pthread_mutex_unlock(&lsn->lock);
	return false;
}

/* Before a connection is used: one over max_conns is closed at once, so
 * connections (each of which may buffer a message up to max_msg before
 * anything reads it) cannot make the server hold unbounded memory. */
static void
lsn_pipe_pre(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	agora_listener *lsn = arg;
	bool full;

	(void)ev;
	atomic_fetch_add(&lsn->pres, 1);
	if (lsn->ipc && !lsn_same_user(lsn, p)) {
		nng_pipe_close(p);
		return;
	}
	pthread_mutex_lock(&lsn->lock);
	full = lsn->max_conns > 0 && lsn->nconns >= lsn->max_conns;
	if (full) {
		if (agora_now_ms() - lsn->warned_ms > 10000) {
			lsn->warned_ms = agora_now_ms();
			agora_log(AGORA_LOG_WARN, "transport",
			          "%zu connections already: more are refused "
			          "(--max-connections)",
			          lsn->max_conns);
		}
	} else {
		/* Counted now, so a burst cannot pass the cap. */
		if (lsn->nconns == lsn->capconns) {
			lsn->capconns = lsn->capconns ? 2 * lsn->capconns : 16;
			lsn->conns = agora_realloc(lsn->conns,
			                           lsn->capconns * sizeof(int));
		}
		lsn->conns[lsn->nconns++] = nng_pipe_id(p);
	}
	pthread_mutex_unlock(&lsn->lock);
	if (full) {
		nng_pipe_close(p);
	}
}

static void
lsn_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	agora_listener *lsn = arg;
	int id = nng_pipe_id(p);
	bool ours;

	pthread_mutex_lock(&lsn->lock);
	ours = lsn_counted(lsn, id, ev == NNG_PIPE_EV_REM_POST);
	pthread_mutex_unlock(&lsn->lock);
	if (!ours) {
		return; /* refused before it was up */
	}
	if (lsn->on_peer != NULL) {
		lsn->on_peer(lsn->arg, (uint32_t)id,
		             ev == NNG_PIPE_EV_ADD_POST);
	}
}

uint32_t
agora_request_peer(const agora_request *rq)
{
	return rq->peer;
}

static void
rq_done(void *p)
{
	agora_request *rq = p;
	agora_listener *lsn = rq->lsn;
	int rv = nng_aio_result(rq->aio);
	nng_msg *m;

	if (rq->state == RQ_SEND) {
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(rq->aio));
		}
		rq->state = RQ_RECV;
		nng_ctx_recv(rq->ctx, rq->aio);
		return;
	}
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
		return; /* closing */
	}
	if (rv != 0) {
		nng_ctx_recv(rq->ctx, rq->aio);
		return;
	}
	m = nng_aio_get_msg(rq->aio);
	rq->state = RQ_WORK;
	rq->peer = (uint32_t)nng_pipe_id(nng_msg_get_pipe(m));
	lsn->fn(lsn->arg, rq, nng_msg_body(m), nng_msg_len(m));
	nng_msg_free(m);
}

/* ---- the guard ---------------------------------------------------------
 * nng 1.5.2 (Debian 12's) ends a listener's accept loop for good when a
 * peer hangs up during the SP handshake: the server's half of it fails
 * with EPIPE, which nng reads as NNG_ECLOSED and passes to the listener,
 * which takes it for its own close (nng issue 1518, fixed in 1.6.0). New
 * connections then wait unanswered forever; any local user, or a client
 * killed at the wrong moment, could make a server deaf. Every failed
 * accept counts in the listener's "other" statistic: after one, the guard
 * dials the listener once, and if that connection never finishes its
 * handshake within GUARD_PROBE_MS the listener is made anew on the same
 * address (its connections are dropped; clients dial again and their
 * requests are resent). */

#define GUARD_TICK_MS  1000
#define GUARD_PROBE_MS 5000
#define GUARD_BLIND_MS 10000 /* probe period if nng keeps no statistics */

/* The listener's failed accepts of unknown cause; UINT64_MAX when nng
 * keeps no statistics. */
static uint64_t
guard_failures(nng_listener nl)
{
	nng_stat *all, *st;
	uint64_t v = UINT64_MAX;

	if (nng_stats_get(&all) != 0) {
		return v;
	}
	if ((st = nng_stat_find_listener(all, nl)) != NULL &&
	    (st = nng_stat_find(st, "other")) != NULL) {
		v = nng_stat_value(st);
	}
	nng_stats_free(all);
	return v;
}

static int
guard_listen(agora_listener *lsn, nng_listener *nl, char *err, size_t errlen)
{
	int rv;

	if (agora__url_is_tls(lsn->url)) {
		return agora__listen_tls(lsn->sock, lsn->url, nl, err, errlen);
	}
	if ((rv = nng_listen(lsn->sock, lsn->url, nl, 0)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", lsn->url,
		         nng_strerror(rv));
	}
	return rv;
}

static void
guard_probe_start(agora_listener *lsn)
{
	nng_dialer d;

	if (nng_req0_open(&lsn->probe) != 0) {
		return;
	}
	if (nng_dialer_create(&d, lsn->probe, lsn->url) != 0 ||
	    (agora__url_is_tls(lsn->url) &&
	     nng_dialer_set_int(d, NNG_OPT_TLS_AUTH_MODE,
	                        NNG_TLS_AUTH_MODE_NONE) != 0) ||
	    nng_dialer_start(d, NNG_FLAG_NONBLOCK) != 0) {
		nng_close(lsn->probe);
		return;
	}
	lsn->probing = true;
	lsn->pres_at_probe = atomic_load(&lsn->pres);
	lsn->probe_since = agora_now_ms();
}

/* The probe got no handshake through: listen anew. */
static void
guard_relisten(agora_listener *lsn)
{
	nng_listener nl;
	char err[256];

	pthread_mutex_lock(&lsn->lock);
	nl = lsn->nl;
	pthread_mutex_unlock(&lsn->lock);
	nng_listener_close(nl);
	if (guard_listen(lsn, &nl, err, sizeof(err)) != 0) {
		/* Tried again on the next tick. */
		agora_log(AGORA_LOG_ERROR, "transport",
		          "the listener stopped accepting and cannot be "
		          "made again: %s",
		          err);
		lsn->failures = 0;
		return;
	}
	pthread_mutex_lock(&lsn->lock);
	lsn->nl = nl;
	pthread_mutex_unlock(&lsn->lock);
	lsn->failures = 0;
	agora_log(AGORA_LOG_WARN, "transport",
	          "the listener on %s stopped accepting (a peer hung up during "
	          "nng's handshake, nng issue 1518): listening again",
	          lsn->url);
}

static void
guard_tick(agora_listener *lsn)
{
	uint64_t failures;
	int64_t now = agora_now_ms();

	if (lsn->probing) {
		bool through = atomic_load(&lsn->pres) != lsn->pres_at_probe;

		if (through || now - lsn->probe_since > GUARD_PROBE_MS) {
			nng_close(lsn->probe);
			lsn->probing = false;
			if (!through) {
				guard_relisten(lsn);
			}
		}
	} else {
		failures = guard_failures(lsn->nl);
		if (failures == UINT64_MAX) {
			if (now >= lsn->next_blind_ms) {
				lsn->next_blind_ms = now + GUARD_BLIND_MS;
				guard_probe_start(lsn);
			}
		} else if (failures != lsn->failures) {
			lsn->failures = failures;
			guard_probe_start(lsn);
		}
	}
}

/* The guard's thread: a tick a second until the listener closes. Its own
 * thread, not an nng timer: closing a listener or a socket waits for nng's
 * callbacks, so doing it from one of them can hang the process. */
static void *
guard_main(void *arg)
{
	agora_listener *lsn = arg;

	pthread_mutex_lock(&lsn->lock);
	while (!lsn->guard_stop) {
		(void)agora_cond_wait_until(&lsn->guard_cv, &lsn->lock,
		                            agora_now_ms() + GUARD_TICK_MS);
		if (lsn->guard_stop) {
			break;
		}
		pthread_mutex_unlock(&lsn->lock);
		guard_tick(lsn);
		pthread_mutex_lock(&lsn->lock);
	}
	pthread_mutex_unlock(&lsn->lock);
	return NULL;
}

/* The address to listen on again: a tcp port chosen by the system (":0")
 * becomes the one it got, so clients find the server where it was. */
static char *
guard_url(const char *url, nng_listener nl)
{
	size_t n = strlen(url);
	int port = 0;

	if (n > 2 && strcmp(url + n - 2, ":0") == 0 &&
	    nng_listener_get_int(nl, NNG_OPT_TCP_BOUND_PORT, &port) == 0) {
		return agora_sprintf("%.*s:%d", (int)(n - 2), url, port);
	}
	return agora_strdup(url);
}

agora_err
agora_listener_open(agora_listener **lp, const char *url,
                    const agora_listener_opts *o, char *err, size_t errlen)
{
	agora_listener *lsn = agora_calloc(1, sizeof(*lsn));
	size_t nctx = o->nctx;
	int rv;

	*lp = NULL;
	if ((rv = nng_rep0_open(&lsn->sock)) != 0) {
		snprintf(err, errlen, "socket: %s", nng_strerror(rv));
		agora_free(lsn);
		return AGORA_ETRANSPORT;
	}
	pthread_mutex_init(&lsn->lock, NULL);
	/* All set before listening: pipe events start with it. */
	lsn->max_conns = o->max_conns;
	lsn->on_peer = o->on_peer;
	lsn->fn = o->fn;
	lsn->arg = o->arg;
	lsn->ipc = strncmp(url, "ipc://", 6) == 0;
	nng_socket_set_size(lsn->sock, NNG_OPT_RECVMAXSZ, o->max_msg);
	nng_socket_set_ms(lsn->sock, NNG_OPT_SENDTIMEO, 5000);
	nng_pipe_notify(lsn->sock, NNG_PIPE_EV_ADD_PRE, lsn_pipe_pre, lsn);
	nng_pipe_notify(lsn->sock, NNG_PIPE_EV_ADD_POST, lsn_pipe_event, lsn);
	nng_pipe_notify(lsn->sock, NNG_PIPE_EV_REM_POST, lsn_pipe_event, lsn);
	lsn->url = agora_strdup(url);
	if ((rv = guard_listen(lsn, &lsn->nl, err, errlen)) != 0) {
		nng_close(lsn->sock);
		pthread_mutex_destroy(&lsn->lock);
		agora_free(lsn->url);
		agora_free(lsn);
		return rv == NNG_EADDRINUSE ? AGORA_EEXIST : agora__tp_err(rv);
	}
	agora_free(lsn->url);
	lsn->url = guard_url(url, lsn->nl);
	lsn->nctx = nctx;
	lsn->rqs = agora_calloc(nctx, sizeof(agora_request));
	for (size_t i = 0; i < nctx; i++) {
		agora_request *rq = &lsn->rqs[i];
		rq->lsn = lsn;
		if (nng_ctx_open(&rq->ctx, lsn->sock) != 0 ||
		    nng_aio_alloc(&rq->aio, rq_done, rq) != 0) {
			snprintf(err, errlen, "out of transport contexts");
			lsn->nctx = i;
			agora_listener_close(lsn);
			return AGORA_ESYS;
		}
	}
	agora_cond_init(&lsn->guard_cv);
	if (pthread_create(&lsn->guard, NULL, guard_main, lsn) != 0) {
		snprintf(err, errlen, "cannot start a thread");
		pthread_cond_destroy(&lsn->guard_cv);
		agora_listener_close(lsn);
		return AGORA_ESYS;
	}
	lsn->guard_started = true;
	for (size_t i = 0; i < nctx; i++) {
		nng_ctx_recv(lsn->rqs[i].ctx, lsn->rqs[i].aio);
	}
	*lp = lsn;
	return AGORA_OK;
}

void
agora_listener_close(agora_listener *lsn)
{
	if (lsn == NULL) {
		return;
	}
	if (lsn->guard_started) {
		pthread_mutex_lock(&lsn->lock);
		lsn->guard_stop = true;
		pthread_cond_signal(&lsn->guard_cv);
		pthread_mutex_unlock(&lsn->lock);
		pthread_join(lsn->guard, NULL); /* waits out a running tick */
		pthread_cond_destroy(&lsn->guard_cv);
	}
	if (lsn->probing) {
		nng_close(lsn->probe);
	}
	for (size_t i = 0; i < lsn->nctx; i++) {
		nng_aio_stop(lsn->rqs[i].aio);
	}
	nng_close(lsn->sock);
	for (size_t i = 0; i < lsn->nctx; i++) {
		nng_aio_free(lsn->rqs[i].aio);
		nng_ctx_close(lsn->rqs[i].ctx);
	}
	agora_free(lsn->rqs);
	agora_free(lsn->conns);
	agora_free(lsn->url);
	pthread_mutex_destroy(&lsn->lock);
	agora_free(lsn);
}

int
agora_listener_port(agora_listener *lsn)
{
	nng_listener nl;
	int port = 0;

	pthread_mutex_lock(&lsn->lock);
	nl = lsn->nl;
	pthread_mutex_unlock(&lsn->lock);
	if (nng_listener_get_int(nl, NNG_OPT_TCP_BOUND_PORT, &port) != 0) {
		return 0;
	}
	return port;
}

void
agora_request_reply(agora_request *rq, const char *data, size_t len)
{
	agora_iov v = { data, len };

	agora_request_replyv(rq, &v, 1);
}

void
agora_request_replyv(agora_request *rq, const agora_iov *v, size_t n)
{
	nng_msg *m = agora__msg_gather(v, n);

	if (m == NULL) {
		agora_log(AGORA_LOG_ERROR, "transport", "reply: out of memory");
		rq->state = RQ_RECV;
		nng_ctx_recv(rq->ctx, rq->aio);
		return;
	}
	rq->state = RQ_SEND;
	nng_aio_set_msg(rq->aio, m);
	nng_ctx_send(rq->ctx, rq->aio);
}

void
agora_request_drop(agora_request *rq)
{
	rq->state = RQ_RECV;
	nng_ctx_recv(rq->ctx, rq->aio);
}
