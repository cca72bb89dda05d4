/* SPDX-License-Identifier: MIT */
/* Server-Sent Events streams of core/http.c's server. A handler's request
 * becomes a stream by taking over nng's connection (nng_http_hijack, the
 * only way to stream with nng 1.5.2): the status line and headers are
 * written by hand, then events. Sends only format into a per-stream buffer
 * (capped) and return; one nng write at a time drains it, each with a
 * timeout, so a slow browser costs its own stream and nothing else. A read
 * stays posted on the connection: a browser never sends on it, so its
 * ending means the browser left. Streams and the server are refcounted: a
 * stream handle stays valid after the server closed, until its owner
 * closes it, and the last of them frees the server. */
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "http_impl.h"

/* ---- linking, ending, freeing ---- */

static bool
stream_link(agora_http_server *s, agora_http_stream *st)
{
	bool ok;

	pthread_mutex_lock(&s->lock);
	ok = !s->closing && s->nstreams < s->o.max_streams;
	if (ok) {
		st->s = s;
		st->linked = true;
		st->refs = 2;
		st->next = s->streams;
		if (s->streams != NULL) {
			s->streams->prev = st;
		}
		s->streams = st;
		s->nstreams++;
		s->refs++;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void
stream_end(agora_http_stream *st)
{
	pthread_mutex_lock(&st->endlock);
	pthread_mutex_lock(&st->lock);
	st->dead = true;
	pthread_mutex_unlock(&st->lock);
	if (st->conn != NULL) {
		nng_aio_stop(st->wio);
		nng_aio_stop(st->rio);
		nng_http_conn_close(st->conn); /* closes and frees */
		st->conn = NULL;
	}
	pthread_mutex_unlock(&st->endlock);
}

static void
stream_free_unlinked(agora_http_stream *st)
{
	nng_aio_free(st->wio);
	nng_aio_free(st->rio);
	agora_buf_fini(&st->pend);
	agora_free(st->out);
	pthread_cond_destroy(&st->drain);
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->endlock);
	agora_free(st);
}

/* Drop one reference (s->lock held by nobody); the last frees st. */
static void
stream_unref(agora_http_stream *st)
{
	agora_http_server *s = st->s;
	int left;

	pthread_mutex_lock(&s->lock);
	left = --st->refs;
	pthread_mutex_unlock(&s->lock);
	if (left > 0) {
		return;
	}
	stream_free_unlinked(st);
	agora__http_server_unref(s);
}

/* Unlink st from s (s->lock held); true if it was linked. */
static bool
stream_unlink(agora_http_server *s, agora_http_stream *st)
{
	if (!st->linked) {
		return false;
	}
	if (st->prev != NULL) {
		st->prev->next = st->next;
	} else {
		s->streams = st->next;
	}
	if (st->next != NULL) {
		st->next->prev = st->prev;
	}
	st->next = st->prev = NULL;
	st->linked = false;
	s->nstreams--;
	return true;
}

static void
stream_release(agora_http_stream *st)
{
	agora_http_server *s = st->s;
	bool was;

	pthread_mutex_lock(&s->lock);
	was = stream_unlink(s, st);
	pthread_mutex_unlock(&s->lock);
	stream_end(st);
	if (was) {
		stream_unref(st); /* the list's */
	}
	stream_unref(st); /* the caller's */
}

void
agora__http_server_unref(agora_http_server *s)
{
	int left;

	pthread_mutex_lock(&s->lock);
	left = --s->refs;
	pthread_mutex_unlock(&s->lock);
	if (left > 0) {
		return;
	}
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cv);
	agora_free(s);
}

/* End every linked stream: the server is closing. */
void
agora__http_end_streams(agora_http_server *s)
{
	for (;;) {
		agora_http_stream *st;

		pthread_mutex_lock(&s->lock);
		st = s->streams;
		if (st != NULL) {
			(void)stream_unlink(s, st);
		}
		pthread_mutex_unlock(&s->lock);
		if (st == NULL) {
			return;
		}
		stream_end(st);
		stream_unref(st); /* the list's */
	}
}

/* ---- writing ---- */

/* Hand what is pending to nng unless a write is in flight (st->lock). */
static void
sse_start_locked(agora_http_stream *st)
{
	nng_iov iov;

	if (st->writing || st->dead || st->pend.len == 0) {
		return;
	}
	iov.iov_len = st->pend.len;
	st->out = agora_buf_steal(&st->pend);
	iov.iov_buf = st->out;
	(void)nng_aio_set_iov(st->wio, 1, &iov);
	nng_aio_set_timeout(st->wio, (nng_duration)st->s->o.write_timeout_ms);
	st->writing = true;
	nng_http_conn_write_all(st->conn, st->wio);
}

/* A write ended (nng thread): start the next, or the stream is dead. */
static void
sse_wdone(void *arg)
{
	agora_http_stream *st = arg;
	int rv = nng_aio_result(st->wio);

	pthread_mutex_lock(&st->lock);
	agora_free(st->out);
	st->out = NULL;
	st->writing = false;
	if (rv != 0) {
		if (!st->dead) {
			agora_log(AGORA_LOG_DEBUG, "http", "stream ended: %s",
			          nng_strerror(rv));
		}
		st->dead = true;
	} else {
		sse_start_locked(st);
	}
	pthread_cond_broadcast(&st->drain);
	pthread_mutex_unlock(&st->lock);
}

/* The read ended (nng thread): the browser closed, or broke the rules. */
static void
sse_rdone(void *arg)
{
	agora_http_stream *st = arg;

	pthread_mutex_lock(&st->lock);
	st->dead = true;
	pthread_cond_broadcast(&st->drain);
	pthread_mutex_unlock(&st->lock);
}

/* "HTTP/1.1 200 OK" and the headers, written by hand after the hijack. */
static void
sse_head(agora_http_stream *st)
{
	(void)agora_buf_adds(&st->pend, "HTTP/1.1 200 OK\r\n"
	                                "Content-Type: text/event-stream\r\n"
	                                "Cache-Control: no-store\r\n"
	                                "Connection: close\r\n");
	for (size_t i = 0; agora__http_sec[i] != NULL; i += 2) {
		(void)agora_buf_addf(&st->pend, "%s: %s\r\n",
		                     agora__http_sec[i],
		                     agora__http_sec[i + 1]);
	}
	(void)agora_buf_adds(&st->pend, "\r\n");
}

agora_http_stream *
agora_http_sse(agora_http_req *rq)
{
	agora_http_stream *st;
	nng_aio *aio;
	nng_iov iov;

	if (rq == NULL) {
		return NULL;
	}
	aio = agora__http_claim(rq);
	if (aio == NULL) {
		return NULL;
	}
	st = agora_calloc(1, sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->endlock, NULL);
	agora_cond_init(&st->drain);
	agora_buf_init(&st->pend, rq->s->o.max_pending);
	if (nng_aio_alloc(&st->wio, sse_wdone, st) != 0 ||
	    nng_aio_alloc(&st->rio, sse_rdone, st) != 0) {
		agora__http_answer_error(aio, 500, "out of resources", false);
		stream_free_unlinked(st);
		return NULL;
	}
	if (!stream_link(rq->s, st)) {
		agora__http_answer_error(aio, 503, "too many streams", false);
		stream_free_unlinked(st);
		return NULL;
	}
	/* Linked before nng lets go of the request: a server closing now
	 * waits for the finish below, then ends this stream. */
	(void)nng_http_hijack(rq->conn);
	st->conn = rq->conn;
	nng_http_req_free(rq->nreq); /* the hijacker's after the hijack */
	rq->nreq = NULL;
	nng_aio_set_output(aio, 0, NULL);
	nng_aio_finish(aio, 0);

	pthread_mutex_lock(&st->lock);
	sse_head(st);
	sse_start_locked(st);
	iov.iov_buf = st->rbuf;
	iov.iov_len = sizeof(st->rbuf);
	(void)nng_aio_set_iov(st->rio, 1, &iov);
	nng_http_conn_read(st->conn, st->rio);
	pthread_mutex_unlock(&st->lock);
	return st;
}

/* Append one event: "event:" and a "data:" line per line of data (lines
 * end at CR, LF or CRLF, as the browser splits them). */
static agora_err
sse_format(agora_buf *b, const char *event, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	agora_err rv = AGORA_OK;

	if (event != NULL) {
		rv = agora_buf_addf(b, "event: %s\n", event);
	}
	while (rv == AGORA_OK) {
		const char *eol = p;

		while (eol < end && *eol != '\n' && *eol != '\r') {
			eol++;
		}
		rv = agora_buf_adds(b, "data: ");
		if (rv == AGORA_OK) {
			rv = agora_buf_add(b, p, (size_t)(eol - p));
		}
		if (rv == AGORA_OK) {
			rv = agora_buf_adds(b, "\n");
		}
		if (eol == end) {
			break;
		}
		p = eol +
		    (eol[0] == '\r' && eol + 1 < end && eol[1] == '\n' ? 2 : 1);
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_adds(b, "\n");
	}
	return rv;
}

agora_err
agora_http_sse_send(agora_http_stream *st, const char *event, const char *data,
                    size_t len)
{
	size_t mark;
	agora_err rv;

	if (st == NULL || (data == NULL && len > 0) ||
	    (event != NULL && strpbrk(event, "\r\n") != NULL)) {
		return AGORA_EINVAL;
	}
	pthread_mutex_lock(&st->lock);
	if (st->dead || st->ending) {
		pthread_mutex_unlock(&st->lock);
		return AGORA_ECLOSED;
	}
	mark = st->pend.len;
	rv = sse_format(&st->pend, event, data != NULL ? data : "", len);
	if (rv != AGORA_OK) {
		st->pend.len = mark; /* no half event */
		if (st->pend.data != NULL) {
			st->pend.data[mark] = '\0';
		}
		if (mark > 0 || st->writing) {
			/* The browser does not keep up: end the stream. */
			agora_log(AGORA_LOG_WARN, "http",
			          "stream ended: over %zu bytes unsent",
			          st->s->o.max_pending);
			st->dead = true;
			rv = AGORA_ECLOSED;
		}
		pthread_mutex_unlock(&st->lock);
		return rv; /* ETOOBIG: this one event is over max_pending */
	}
	sse_start_locked(st);
	pthread_mutex_unlock(&st->lock);
	return AGORA_OK;
}

void
agora_http_sse_close(agora_http_stream *st)
{
	if (st != NULL) {
		stream_release(st);
	}
}

void
agora_http_sse_end(agora_http_stream *st, int64_t wait_ms)
{
	int64_t deadline = agora_now_ms() + (wait_ms > 0 ? wait_ms : 0);

	if (st == NULL) {
		return;
	}
	pthread_mutex_lock(&st->lock);
	st->ending = true;
	while (!st->dead && (st->writing || st->pend.len > 0) &&
	       agora_cond_wait_until(&st->drain, &st->lock, deadline)) {
	}
	pthread_mutex_unlock(&st->lock);
	stream_release(st);
}
