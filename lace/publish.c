/* SPDX-License-Identifier: MIT */
/* Publications (observations, networks, frames) as long polls on the
 * request socket: a subscriber asks "anything after seq N?" and the server
 * answers at once with the newest publication, or parks the request until
 * one comes or the poll's wait runs out. So a subscriber always gets the
 * newest (a slow one skips what it missed), a late one gets the current
 * one at once, and publications pass the same token and TLS as every
 * other request -- which PUB/SUB could not give (docs/lace.md). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "server.h"

#define POLL_WAIT_DEFAULT 1000
#define POLL_WAIT_MAX     30000

agora_err
agora_lace_server_publish(agora_lace_server *s, const agora_lace_payload *p)
{
	struct lace_enc e;
	struct lace_poll *polls;
	agora_buf next;
	char head[64], err[256];
	agora_err rv;

	/* One publisher at a time, and never while the server stops: the
	 * polls it answers are out of the list, where stop cannot see them. */
	pthread_mutex_lock(&s->pub_lock);
	snprintf(head, sizeof(head), "\"ok\":true,\"seq\":%" PRIu64,
	         s->pub_seq + 1);
	rv = lace_enc_build(&e, head, p, s->o.compress, err, sizeof(err));
	if (rv == AGORA_OK && lace_enc_len(&e) > s->max_msg) {
		rv = AGORA_ETOOBIG;
	}
	agora_buf_init(&next, 0);
	for (size_t i = 0; i < e.niov && rv == AGORA_OK; i++) {
		rv = agora_buf_add(&next, e.iov[i].data, e.iov[i].len);
	}
	lace_enc_fini(&e);
	if (rv != AGORA_OK) {
		pthread_mutex_unlock(&s->pub_lock);
		agora_buf_fini(&next);
		return rv;
	}
	pthread_mutex_lock(&s->lock);
	{
		agora_buf old = s->pub;
		s->pub = next;
		next = old;
	}
	s->pub_seq++;
	polls = s->polls;
	s->polls = NULL;
	pthread_mutex_unlock(&s->lock);
	/* Every parked poll is older than this one. Answered without the
	 * server's lock (each answer copies the publication): s->pub only
	 * changes under pub_lock, which this holds. */
	for (struct lace_poll *q = polls, *n; q != NULL; q = n) {
		n = q->next;
		agora_request_reply(q->rq, s->pub.data, s->pub.len);
		agora_free(q);
	}
	pthread_mutex_unlock(&s->pub_lock);
	agora_buf_fini(&next);
	return AGORA_OK;
}

/* "Nothing newer": the subscriber asks again. */
static void
reply_nothing(agora_lace_server *s, struct lace_poll *q)
{
	char head[64];

	snprintf(head, sizeof(head), "\"seq\":%" PRIu64, q->after);
	lace_reply(s, q->rq, head, NULL);
}

void
lace_poll_op(agora_lace_server *s, agora_request *rq,
             const struct lace_frame *f)
{
	const agora_json *after_j = agora_json_get(f->head, "after");
	const agora_json *wait_j = agora_json_get(f->head, "wait_ms");
	int64_t after = 0, wait = POLL_WAIT_DEFAULT;
	struct lace_poll *q;

	if (!agora_json_int(after_j, 0, INT64_MAX, &after) ||
	    (wait_j != NULL &&
	     !agora_json_int(wait_j, 0, POLL_WAIT_MAX, &wait))) {
		lace_reply_err(s, rq, AGORA_EPROTO,
		               "poll: after must be a count, wait_ms 0-%d",
		               POLL_WAIT_MAX);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (s->pub_seq > (uint64_t)after) {
		agora_request_reply(rq, s->pub.data, s->pub.len);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	/* One parked poll a connection: each holds a transport context
	 * until its deadline, and a peer that sent polls without end would
	 * park every context the server has and starve all other requests.
	 * The older one is answered "nothing" (a subscriber polls one at a
	 * time, so only a flood ever meets this). */
	for (struct lace_poll **pp = &s->polls; *pp != NULL;
	     pp = &(*pp)->next) {
		if ((*pp)->peer == agora_request_peer(rq)) {
			struct lace_poll *old = *pp;
			*pp = old->next;
			reply_nothing(s, old);
			agora_free(old);
			break;
		}
	}
	q = agora_calloc(1, sizeof(*q));
	q->rq = rq;
	q->peer = agora_request_peer(rq);
	q->after = (uint64_t)after;
	q->deadline = agora_now_ms() + wait;
	q->next = s->polls;
	s->polls = q;
	pthread_cond_signal(&s->poll_cv);
	pthread_mutex_unlock(&s->lock);
}

void *
lace_poll_timer_main(void *arg)
{
	agora_lace_server *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		int64_t now = agora_now_ms(), next = now + POLL_WAIT_MAX;
		struct lace_poll **pp = &s->polls, *due = NULL;

		while (*pp != NULL) {
			struct lace_poll *q = *pp;
			if (q->deadline <= now) {
				*pp = q->next;
				q->next = due;
				due = q;
			} else {
				next = q->deadline < next ? q->deadline : next;
				pp = &q->next;
			}
		}
		while (due != NULL) {
			struct lace_poll *q = due;
			due = q->next;
			reply_nothing(s, q);
			agora_free(q);
		}
		(void)agora_cond_wait_until(&s->poll_cv, &s->lock, next);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

void
lace_polls_drop(agora_lace_server *s)
{
	while (s->polls != NULL) {
		struct lace_poll *q = s->polls;
		s->polls = q->next;
		agora_request_drop(q->rq);
		agora_free(q);
	}
}
