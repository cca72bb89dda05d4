/* SPDX-License-Identifier: MIT */
/* Mailboxes: the events (stream chunks, turn ends, step ends) a server
 * keeps for each client until the client's next long poll acknowledges
 * them. A poll that finds nothing is held until an event comes or its time
 * is up, so a client hears of a chunk one round trip after it is made, and
 * everything that piled up meanwhile comes in one reply (batching for
 * free). Events are kept until acknowledged, so a poll resent after a lost
 * reply gets them again; the client drops what it has seen by seq. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "server_int.h"

/* What one poll reply carries at most, and what a box may hold. */
#define BOX_REPLY_MAX (8u << 20)
#define BOX_HOLD_MAX  (256u << 20)
/* A box nobody polled for this long, with nothing in it, is dropped. */
#define BOX_IDLE_MS (INT64_C(10) * 60 * 1000)

struct mailbox *
box_get(struct server *srv, const char *client)
{
	struct mailbox *b;

	for (size_t i = 0; i < srv->nboxes; i++) {
		if (strcmp(srv->boxes[i]->id, client) == 0) {
			srv->boxes[i]->last_used = agora_now_ms();
			return srv->boxes[i];
		}
	}
	b = agora_calloc(1, sizeof(*b));
	snprintf(b->id, sizeof(b->id), "%s", client);
	b->first_seq = 1;
	b->last_used = agora_now_ms();
	srv->boxes = agora_realloc(srv->boxes, (srv->nboxes + 1) *
	                                           sizeof(struct mailbox *));
	srv->boxes[srv->nboxes++] = b;
	return b;
}

/* Drop the events up to and including seq ack. */
static void
box_ack(struct mailbox *b, uint64_t ack)
{
	size_t drop = 0;

	while (drop < b->n && b->first_seq + drop <= ack) {
		b->bytes -= strlen(b->ev[drop]);
		agora_free(b->ev[drop]);
		drop++;
	}
	if (drop > 0) {
		memmove(b->ev, b->ev + drop, (b->n - drop) * sizeof(char *));
		b->n -= drop;
		b->first_seq += drop;
	}
}

/* {"ok":true,"events":[{"q":seq,"g":[event,...]},...]} of what the box
 * holds, capped. An entry is a group of events pushed together. */
static char *
box_take(struct mailbox *b)
{
	agora_buf out;

	agora_buf_init(&out, 0);
	(void)agora_buf_adds(&out, "{\"ok\":true,\"events\":[");
	for (size_t i = 0; i < b->n && out.len < BOX_REPLY_MAX; i++) {
		unsigned long long seq = b->first_seq + (uint64_t)i;
		(void)agora_buf_addf(&out, "%s{\"q\":%llu,\"g\":[%s]}",
		                     i ? "," : "", seq, b->ev[i]);
	}
	(void)agora_buf_adds(&out, "]}");
	return agora_buf_steal(&out);
}

static void
box_answer(struct mailbox *b)
{
	struct pending *p = b->waiter;

	b->waiter = NULL;
	srv_result(p, b->waiter_op, box_take(b));
}

void
box_push(struct server *srv, const char *client, char *ev)
{
	pthread_mutex_lock(&srv->lock);
	box_push_locked(srv, client, ev);
	pthread_mutex_unlock(&srv->lock);
}

void
box_push_locked(struct server *srv, const char *client, char *ev)
{
	struct mailbox *b = box_get(srv, client);

	if (b->bytes + strlen(ev) > BOX_HOLD_MAX) {
		/* A client that stopped polling: keep the server alive. */
		agora_log(AGORA_LOG_WARN, "server",
		          "client %s polls no more; event dropped", client);
		agora_free(ev);
	} else {
		if (b->n == b->cap) {
			b->cap = b->cap ? 2 * b->cap : 64;
			b->ev = agora_realloc(b->ev, b->cap * sizeof(char *));
		}
		b->bytes += strlen(ev);
		b->ev[b->n++] = ev;
	}
	if (b->waiter != NULL) {
		box_answer(b);
	}
}

void
box_wait(struct server *srv, struct pending *p, size_t i, uint64_t ack,
         int64_t wait_ms)
{
	struct mailbox *b = box_get(srv, p->client);

	box_ack(b, ack);
	if (b->waiter != NULL) {
		box_answer(b); /* a newer poll replaces it */
	}
	b->waiter = p;
	b->waiter_op = i;
	b->wait_until = agora_now_ms() + wait_ms;
	if (b->n > 0 || wait_ms == 0) {
		box_answer(b);
	}
}

void
box_expire(struct server *srv, int64_t now)
{
	for (size_t i = 0; i < srv->nboxes;) {
		struct mailbox *b = srv->boxes[i];
		if (b->waiter != NULL && now >= b->wait_until) {
			box_answer(b);
		}
		if (b->waiter == NULL && b->n == 0 &&
		    now - b->last_used > BOX_IDLE_MS) {
			agora_free(b->ev);
			agora_free(b);
			srv->boxes[i] = srv->boxes[--srv->nboxes];
			continue;
		}
		i++;
	}
}

void
box_free_all(struct server *srv)
{
	for (size_t i = 0; i < srv->nboxes; i++) {
		struct mailbox *b = srv->boxes[i];
		if (b->waiter != NULL) {
			box_answer(b);
		}
		for (size_t k = 0; k < b->n; k++) {
			agora_free(b->ev[k]);
		}
		agora_free(b->ev);
		agora_free(b);
	}
	agora_free(srv->boxes);
	srv->boxes = NULL;
	srv->nboxes = 0;
}
