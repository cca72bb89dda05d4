/* SPDX-License-Identifier: MIT */
/* The client end of the transport: a link is a REQ socket with a pool of
 * contexts, one per request in flight, each with its own aio running
 * send -> recv -> callback. A link checks whom it reached (an ipc:// server
 * must run as our user) and knows whether it is connected. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "transport_int.h"

#define LINK_MAX_SLOTS 4096
/* A request is resent only when its connection is remade (handlers are
 * idempotent); never on a timer while the peer is working on it. */
#define LINK_RESEND_MS (24 * 3600 * 1000)
/* How long closing a link waits for nng to close its socket. */
#define LINK_CLOSE_WAIT_MS 2000

/* ---- links ------------------------------------------------------------ */

struct slot {
	agora_link *link;
	nng_ctx ctx;
	nng_aio *aio;
	/* A request's own deadline: nng's REQ resends a request to a peer
	 * that keeps dropping the connection (one over its size limit) with
	 * no end, whatever the aio's timeout, so this timer cancels it. */
	nng_aio *timer;
	bool busy;        /* a request is out (under the link's lock) */
	bool timer_armed; /* the timer is running, or its callback due */
	bool sending;
	int64_t deadline; /* monotonic ms, for the receive's share */
	bool timed_out;   /* cancelled by slot_timer */
	agora_link_cb cb;
	void *arg;
	struct slot *next_free;
};

struct agora_link {
	nng_socket sock;
	char *url;
	pthread_mutex_t lock;
	struct slot **slots; /* every slot, for close */
	size_t nslots;
	struct slot *free;
	bool closing;
	int up;
	size_t max_send;  /* the peer's request limit, when known (0: not) */
	size_t max_own;   /* ours: AGORA_TP_MAX_MSG unless set */
	int refused_pipe; /* the last pipe closed by link_check_peer */
	unsigned long refusals; /* how many (logged once) */
	char refused_why[200];
	void (*on_down)(void *arg);
	void *down_arg;
	int in_down; /* on_down calls running (under lock) */
	pthread_cond_t down_done;
};

static void
slot_release(struct slot *s)
{
	agora_link *l = s->link;

	pthread_mutex_lock(&l->lock);
	s->busy = false;
	s->cb = NULL;
	s->arg = NULL;
	s->next_free = l->free;
	l->free = s;
	pthread_mutex_unlock(&l->lock);
}

/* The slot's timer ran out or was cancelled. A request still out past its
 * deadline is cancelled (its callback then says ETIMEDOUT); one not yet
 * due (a later request on the reused slot) gets the timer again. The timer
 * is armed once at a time: a request that finds it armed (a cancel on its
 * way) leaves the arming to this callback. */
static void
slot_timer(void *p)
{
	struct slot *s = p;
	agora_link *l = s->link;
	int64_t left = 0;
	bool late = false;

	pthread_mutex_lock(&l->lock);
	s->timer_armed = false;
	if (s->busy && !l->closing) {
		left = s->deadline - agora_now_ms();
		late = left <= 0;
		s->timed_out = s->timed_out || late;
		s->timer_armed = !late;
	}
	pthread_mutex_unlock(&l->lock);
	if (late) {
		nng_aio_cancel(s->aio);
	} else if (left > 0) {
		nng_sleep_aio((nng_duration)left, s->timer);
	}
}

static void
slot_done(void *p)
{
	struct slot *s = p;
	int rv = nng_aio_result(s->aio);
	agora_link_cb cb = s->cb;
	void *arg = s->arg;
	nng_msg *m;

	if (rv == 0 && s->sending) {
		int64_t left = s->deadline - agora_now_ms();
		s->sending = false;
		nng_aio_set_timeout(s->aio,
		                    (nng_duration)(left > 1 ? left : 1));
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	nng_aio_cancel(s->timer);
	if (rv != 0) {
		agora_err why;
		pthread_mutex_lock(&s->link->lock);
		why = s->timed_out && rv == NNG_ECANCELED ? AGORA_ETIMEDOUT
		                                          : agora__tp_err(rv);
		pthread_mutex_unlock(&s->link->lock);
		if (s->sending) {
			nng_msg_free(nng_aio_get_msg(s->aio));
		}
		slot_release(s);
		cb(arg, why, NULL, 0);
		return;
	}
	m = nng_aio_get_msg(s->aio);
	slot_release(s);
	cb(arg, AGORA_OK, nng_msg_body(m), nng_msg_len(m));
	nng_msg_free(m);
}

/* Before a connection to an ipc:// peer is used: the process listening
 * there must run as our user (a socket another user put in our path gets
 * nothing: DESIGN.md section 11). */
static void
link_check_peer(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	agora_link *l = arg;
	uint64_t uid = 0;

	(void)ev;
	if (strncmp(l->url, "ipc://", 6) != 0) {
		return;
	}
	if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) == 0 &&
	    uid == (uint64_t)getuid()) {
		return;
	}
	pthread_mutex_lock(&l->lock);
	l->refused_pipe = nng_pipe_id(p);
	snprintf(l->refused_why, sizeof(l->refused_why),
	         "refused: the process listening there runs as uid %llu, not "
	         "us",
	         (unsigned long long)uid);
	if (l->refusals++ == 0) {
		agora_log(AGORA_LOG_WARN, "transport", "%s: %s", l->url,
		          l->refused_why);
	}
	pthread_mutex_unlock(&l->lock);
	nng_pipe_close(p);
}

static void
link_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	agora_link *l = arg;
	void (*fn)(void *) = NULL;
	void *fn_arg = NULL;

	pthread_mutex_lock(&l->lock);
	if (nng_pipe_id(p) == l->refused_pipe && l->refused_pipe != 0) {
		/* Refused before it was up: nothing went down. */
		pthread_mutex_unlock(&l->lock);
		return;
	}
	if (ev == NNG_PIPE_EV_ADD_POST) {
		l->up++;
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		l->up--;
		if (!l->closing) {
			fn = l->on_down;
			fn_arg = l->down_arg;
			l->in_down += fn != NULL;
		}
	}
	pthread_mutex_unlock(&l->lock);
	if (fn != NULL) {
		fn(fn_arg);
		pthread_mutex_lock(&l->lock);
		if (--l->in_down == 0) {
			pthread_cond_broadcast(&l->down_done);
		}
		pthread_mutex_unlock(&l->lock);
	}
}

/* flags: NNG_FLAG_NONBLOCK to connect in the background, 0 to wait for
 * the first connection (a refused one is an error now). */
static agora_err
link_open(agora_link **lp, const char *url, int flags, char *err, size_t errlen)
{
	agora_link *l;
	int rv;

	*lp = NULL;
	l = agora_calloc(1, sizeof(*l));
	if ((rv = nng_req0_open(&l->sock)) != 0) {
		snprintf(err, errlen, "socket: %s", nng_strerror(rv));
		agora_free(l);
		return AGORA_ETRANSPORT;
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->down_done, NULL);
	l->url = agora_strdup(url);
	l->max_own = AGORA_TP_MAX_MSG;
	nng_socket_set_size(l->sock, NNG_OPT_RECVMAXSZ, AGORA_TP_MAX_MSG);
	nng_socket_set_ms(l->sock, NNG_OPT_RECONNMINT, 2);
	nng_socket_set_ms(l->sock, NNG_OPT_RECONNMAXT, 20);
	nng_socket_set_ms(l->sock, NNG_OPT_REQ_RESENDTIME, LINK_RESEND_MS);
	nng_pipe_notify(l->sock, NNG_PIPE_EV_ADD_PRE, link_check_peer, l);
	nng_pipe_notify(l->sock, NNG_PIPE_EV_ADD_POST, link_pipe_event, l);
	nng_pipe_notify(l->sock, NNG_PIPE_EV_REM_POST, link_pipe_event, l);
	if (agora__url_is_tls(url)) {
		rv = agora__dial_tls(l->sock, url, flags, err, errlen);
	} else {
		rv = nng_dial(l->sock, url, NULL, flags);
		if (rv != 0) {
			snprintf(err, errlen, "%s: %s", url, nng_strerror(rv));
		}
	}
	if (rv != 0) {
		agora_link_close(l);
		return agora__tp_err(rv) == AGORA_EINVAL ? AGORA_EINVAL
		                                         : AGORA_ETRANSPORT;
	}
	*lp = l;
	return AGORA_OK;
}

agora_err
agora_link_open(agora_link **lp, const char *url, char *err, size_t errlen)
{
	return link_open(lp, url, NNG_FLAG_NONBLOCK, err, errlen);
}

agora_err
agora_link_open_now(agora_link **lp, const char *url, int64_t wait_ms,
                    char *err, size_t errlen)
{
	int64_t until = agora_now_ms() + wait_ms;
	agora_err rv;

	for (;;) {
		rv = link_open(lp, url, 0, err, errlen);
		if (rv == AGORA_OK && (*lp)->refusals > 0) {
			/* The peer is not ours: never talk to it. */
			snprintf(err, errlen, "%s: %s", url,
			         (*lp)->refused_why);
			agora_link_close(*lp);
			*lp = NULL;
			return AGORA_EAUTH;
		}
		if (rv != AGORA_ETRANSPORT || agora_now_ms() >= until) {
			return rv;
		}
		/* Nothing listens yet: a server being started. */
		agora_sleep_ms(20);
	}
}

/* What is left of l once its socket is closed. */
static void
link_free(agora_link *l)
{
	for (size_t i = 0; i < l->nslots; i++) {
		nng_aio_free(l->slots[i]->timer);
		nng_aio_free(l->slots[i]->aio);
		nng_ctx_close(l->slots[i]->ctx);
		agora_free(l->slots[i]);
	}
	pthread_cond_destroy(&l->down_done);
	pthread_mutex_destroy(&l->lock);
	agora_free(l->slots);
	agora_free(l->url);
	agora_free(l);
}

/* A link's socket being closed, by a thread of its own: nng 1.5.2's
 * nng_close can wait for ever on a connection whose peer was stopped and
 * went on again (nng issue 1543, fixed after 1.5.2; seen in server_test,
 * the main thread in nng_close after a SIGSTOPped server got SIGCONT). The
 * closer frees the link when nng_close returns; whichever of the caller
 * and the closer lets go last frees this. */
struct link_closer {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool done;
	int refs;
	agora_link *l;
};

static void
closer_release(struct link_closer *k)
{
	bool last;

	pthread_mutex_lock(&k->lock);
	last = --k->refs == 0;
	pthread_mutex_unlock(&k->lock);
	if (last) {
		pthread_cond_destroy(&k->cv);
		pthread_mutex_destroy(&k->lock);
		agora_free(k);
	}
}

static void *
closer_main(void *arg)
{
	struct link_closer *k = arg;

	nng_close(k->l->sock);
	link_free(k->l);
	pthread_mutex_lock(&k->lock);
	k->done = true;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->lock);
	closer_release(k);
	return NULL;
}

/* Close l's socket and free l, waiting at most LINK_CLOSE_WAIT_MS. */
static void
link_close_socket(agora_link *l)
{
	struct link_closer *k = agora_calloc(1, sizeof(*k));
	int64_t deadline = agora_now_ms() + LINK_CLOSE_WAIT_MS;
	pthread_attr_t attr;
	pthread_t th;
	char url[256];
	bool done;

	snprintf(url, sizeof(url), "%s", l->url);
	pthread_mutex_init(&k->lock, NULL);
	agora_cond_init(&k->cv);
	k->refs = 2;
	k->l = l;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, closer_main, k) != 0) {
		k->refs = 1; /* no thread: close here, however long it takes */
		closer_main(k);
		pthread_attr_destroy(&attr);
		return;
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_lock(&k->lock);
	while (!k->done && agora_cond_wait_until(&k->cv, &k->lock, deadline)) {
	}
	done = k->done;
	pthread_mutex_unlock(&k->lock);
	if (!done) {
		agora_log(AGORA_LOG_WARN, "transport",
		          "%s: the connection did not close in %d ms (nng "
		          "1.5.2); it is left to close in the background",
		          url, LINK_CLOSE_WAIT_MS);
	}
	closer_release(k);
}

void
agora_link_close(agora_link *l)
{
	if (l == NULL) {
		return;
	}
	pthread_mutex_lock(&l->lock);
	l->closing = true;
	/* An on_down call past the closing check may still run: its owner
	 * frees what it touches once this returns, and nng_close, which
	 * used to wait for it, may now be left behind (link_close_socket). */
	while (l->in_down > 0) {
		pthread_cond_wait(&l->down_done, &l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	/* Stopping an aio runs its callback (ECANCELED) before returning;
	 * timers first, as they may cancel a request. */
	for (size_t i = 0; i < l->nslots; i++) {
		nng_aio_stop(l->slots[i]->timer);
	}
	for (size_t i = 0; i < l->nslots; i++) {
		nng_aio_stop(l->slots[i]->aio);
	}
	link_close_socket(l);
}

const char *
agora_link_url(const agora_link *l)
{
	return l->url;
}

void
agora_link_set_max(agora_link *l, size_t max)
{
	pthread_mutex_lock(&l->lock);
	l->max_send = max;
	pthread_mutex_unlock(&l->lock);
}

void
agora_link_set_limits(agora_link *l, size_t send_max, size_t recv_max)
{
	pthread_mutex_lock(&l->lock);
	l->max_own = send_max > 0 ? send_max : AGORA_TP_MAX_MSG;
	pthread_mutex_unlock(&l->lock);
	nng_socket_set_size(l->sock, NNG_OPT_RECVMAXSZ,
	                    recv_max > 0 ? recv_max : AGORA_TP_MAX_MSG);
}

size_t
agora_link_max(agora_link *l)
{
	size_t max;

	pthread_mutex_lock(&l->lock);
	max = l->max_send;
	pthread_mutex_unlock(&l->lock);
	return max;
}

void
agora_link_on_down(agora_link *l, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&l->lock);
	l->on_down = fn;
	l->down_arg = arg;
	pthread_mutex_unlock(&l->lock);
}

int
agora_link_connected(agora_link *l)
{
	int up;

	pthread_mutex_lock(&l->lock);
	up = l->up;
	pthread_mutex_unlock(&l->lock);
	return up;
}

/* A free slot, or a new one; NULL at the cap. Called under the lock. */
static struct slot *
slot_get(agora_link *l)
{
	struct slot *s = l->free;

	if (s != NULL) {
		l->free = s->next_free;
		return s;
	}
	if (l->nslots >= LINK_MAX_SLOTS) {
		return NULL;
	}
	s = agora_calloc(1, sizeof(*s));
	s->link = l;
	if (nng_ctx_open(&s->ctx, l->sock) != 0 ||
	    nng_aio_alloc(&s->aio, slot_done, s) != 0 ||
	    nng_aio_alloc(&s->timer, slot_timer, s) != 0) {
		nng_aio_free(s->aio);
		agora_free(s);
		return NULL;
	}
	nng_ctx_set_ms(s->ctx, NNG_OPT_REQ_RESENDTIME, LINK_RESEND_MS);
	l->slots =
	    agora_realloc(l->slots, (l->nslots + 1) * sizeof(struct slot *));
	l->slots[l->nslots++] = s;
	return s;
}

static size_t
iov_len(const agora_iov *v, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		len += v[i].len;
	}
	return len;
}

agora_err
agora_link_request(agora_link *l, const char *data, size_t len,
                   int64_t timeout_ms, agora_link_cb cb, void *arg)
{
	agora_iov v = { data, len };

	return agora_link_requestv(l, &v, 1, timeout_ms, cb, arg);
}

agora_err
agora_link_requestv(agora_link *l, const agora_iov *v, size_t n,
                    int64_t timeout_ms, agora_link_cb cb, void *arg)
{
	size_t len = iov_len(v, n);
	struct slot *s;
	nng_msg *m;
	bool arm;

	pthread_mutex_lock(&l->lock);
	if (len > l->max_own || (l->max_send > 0 && len > l->max_send)) {
		/* The peer would drop the connection, and nng would send it
		 * again and again: say so now. */
		pthread_mutex_unlock(&l->lock);
		return AGORA_ETOOBIG;
	}
	s = l->closing ? NULL : slot_get(l);
	pthread_mutex_unlock(&l->lock);
	if (s == NULL) {
		return l->closing ? AGORA_ECLOSED : AGORA_ETOOBIG;
	}
	if ((m = agora__msg_gather(v, n)) == NULL) {
		slot_release(s);
		return AGORA_ESYS;
	}
	s->cb = cb;
	s->arg = arg;
	s->sending = true;
	nng_aio_set_msg(s->aio, m);
	/* One budget for the whole exchange: the send (which waits for a
	 * connection) gets it, the receive what is left. */
	pthread_mutex_lock(&l->lock);
	s->timed_out = false;
	s->busy = true;
	s->deadline = agora_now_ms() + timeout_ms;
	arm = !s->timer_armed;
	s->timer_armed = true;
	pthread_mutex_unlock(&l->lock);
	if (arm) {
		nng_sleep_aio((nng_duration)timeout_ms + 5, s->timer);
	}
	nng_aio_set_timeout(s->aio, (nng_duration)timeout_ms);
	nng_ctx_send(s->ctx, s->aio);
	return AGORA_OK;
}

struct sync_call {
	pthread_mutex_t lock;
	pthread_cond_t done_cv;
	bool done;
	agora_err rv;
	agora_buf *reply;
};

static void
sync_done(void *arg, agora_err rv, const char *data, size_t len)
{
	struct sync_call *sc = arg;

	pthread_mutex_lock(&sc->lock);
	sc->rv = rv;
	if (rv == AGORA_OK) {
		sc->rv = agora_buf_add(sc->reply, data, len);
	}
	sc->done = true;
	pthread_cond_signal(&sc->done_cv);
	pthread_mutex_unlock(&sc->lock);
}

agora_err
agora_link_call(agora_link *l, const char *data, size_t len, int64_t timeout_ms,
                agora_buf *reply)
{
	agora_iov v = { data, len };

	return agora_link_callv(l, &v, 1, timeout_ms, reply);
}

agora_err
agora_link_callv(agora_link *l, const agora_iov *v, size_t n,
                 int64_t timeout_ms, agora_buf *reply)
{
	struct sync_call sc = { .reply = reply };
	agora_err rv;

	pthread_mutex_init(&sc.lock, NULL);
	pthread_cond_init(&sc.done_cv, NULL);
	rv = agora_link_requestv(l, v, n, timeout_ms, sync_done, &sc);
	if (rv == AGORA_OK) {
		pthread_mutex_lock(&sc.lock);
		while (!sc.done) {
			pthread_cond_wait(&sc.done_cv, &sc.lock);
		}
		pthread_mutex_unlock(&sc.lock);
		rv = sc.rv;
	}
	pthread_cond_destroy(&sc.done_cv);
	pthread_mutex_destroy(&sc.lock);
	return rv;
}
