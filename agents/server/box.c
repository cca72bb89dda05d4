/* SPDX-License-Identifier: MIT */
/* Mailboxes: the events (stream chunks, turn ends, step ends) a server
 * keeps for each client until the client's next long poll acknowledges
 * them. A poll that finds nothing is held until an event comes or its time
 * is up, so a client hears of a chunk one round trip after it is made, and
 * everything that piled up meanwhile comes in one reply (batching for
 * free). Events are kept until acknowledged, so a poll resent after a lost
 * reply gets them again; the client drops what it has seen by seq.
 *
 * A client id is the caller's (random, unguessable) and belongs to the
 * connection that used it first: nobody else reads or acknowledges its
 * events, a connection holds a few ids at most and the server a few
 * thousand, and they go when their connection does. */
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
/* Client ids a connection may hold, and a server. */
#define BOX_PER_PEER 16
#define BOX_MAX      4096
#define BOX_BUCKETS  1024

static uint64_t
box_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

static struct mailbox *
box_find(struct server *srv, const char *client)
{
	if (srv->boxes == NULL) {
		return NULL;
	}
	for (struct mailbox *b = srv->boxes[box_hash(client) % BOX_BUCKETS];
	     b != NULL; b = b->next) {
		if (strcmp(b->id, client) == 0) {
			return b;
		}
	}
	return NULL;
}

static size_t
box_count_peer(struct server *srv, uint32_t peer)
{
	size_t n = 0;

	for (size_t k = 0; srv->boxes != NULL && k < BOX_BUCKETS; k++) {
		for (struct mailbox *b = srv->boxes[k]; b != NULL;
		     b = b->next) {
			n += b->peer == peer;
		}
	}
	return n;
}

agora_err
box_claim(struct server *srv, const char *client, uint32_t peer, char *why,
          size_t whylen)
{
	struct mailbox *b = box_find(srv, client);
	size_t k;

	if (b != NULL && b->peer != peer) {
		snprintf(why, whylen,
		         "client id %.64s belongs to another connection",
		         client);
		return AGORA_EAUTH;
	}
	if (b != NULL) {
		b->last_used = agora_now_ms();
		return AGORA_OK;
	}
	if (srv->nboxes >= BOX_MAX ||
	    box_count_peer(srv, peer) >= BOX_PER_PEER) {
		snprintf(why, whylen,
		         "too many client ids (%d a connection, %d a server)",
		         BOX_PER_PEER, BOX_MAX);
		return AGORA_ETOOBIG;
	}
	if (srv->boxes == NULL) {
		srv->boxes =
		    agora_calloc(BOX_BUCKETS, sizeof(struct mailbox *));
	}
	b = agora_calloc(1, sizeof(*b));
	snprintf(b->id, sizeof(b->id), "%s", client);
	b->peer = peer;
	b->first_seq = 1;
	b->last_used = agora_now_ms();
	k = box_hash(client) % BOX_BUCKETS;
	b->next = srv->boxes[k];
	srv->boxes[k] = b;
	srv->nboxes++;
	return AGORA_OK;
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
	struct mailbox *b = box_find(srv, client);

	if (b == NULL) {
		agora_free(ev); /* its client's connection is gone */
		return;
	}
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
	struct mailbox *b = box_find(srv, p->client); /* claimed by p */

	if (b == NULL) {
		srv_error(p, i, AGORA_ECLOSED, "wait: no such client");
		return;
	}
	b->last_used = agora_now_ms();
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

static void
box_free(struct mailbox *b)
{
	if (b->waiter != NULL) {
		box_answer(b);
	}
	for (size_t k = 0; k < b->n; k++) {
		agora_free(b->ev[k]);
	}
	agora_free(b->ev);
	agora_free(b);
}

/* Drop the boxes for which drop(b) says so. */
static void
box_sweep(struct server *srv, bool (*drop)(struct mailbox *, const void *),
          const void *arg)
{
	for (size_t k = 0; srv->boxes != NULL && k < BOX_BUCKETS; k++) {
		for (struct mailbox **pp = &srv->boxes[k]; *pp != NULL;) {
			struct mailbox *b = *pp;
			if (drop(b, arg)) {
				*pp = b->next;
				box_free(b);
				srv->nboxes--;
				continue;
			}
			pp = &b->next;
		}
	}
}

static bool
box_of_peer(struct mailbox *b, const void *arg)
{
	return b->peer == *(const uint32_t *)arg;
}

void
box_drop_peer(struct server *srv, uint32_t peer)
{
	box_sweep(srv, box_of_peer, &peer);
}

static bool
box_idle(struct mailbox *b, const void *arg)
{
	int64_t now = *(const int64_t *)arg;

	if (b->waiter != NULL && now >= b->wait_until) {
		box_answer(b);
	}
	return b->waiter == NULL && b->n == 0 &&
	       now - b->last_used > BOX_IDLE_MS;
}

void
box_expire(struct server *srv, int64_t now)
{
	box_sweep(srv, box_idle, &now);
}

static bool
box_any(struct mailbox *b, const void *arg)
{
	(void)b;
	(void)arg;
	return true;
}

void
box_free_all(struct server *srv)
{
	box_sweep(srv, box_any, NULL);
	agora_free(srv->boxes);
	srv->boxes = NULL;
	srv->nboxes = 0;
}
