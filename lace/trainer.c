/* SPDX-License-Identifier: MIT */
/* The trainer's stores and the cursor protocol (docs/lace.md): a client
 * pushes the rows of its store with their ids; the server keeps, per
 * client and store, the newest id it took, and takes each id once. A push
 * sent again (its request or reply lost) adds nothing twice; ids that are
 * missing before the first one pushed (the client's store dropped them
 * unsent) are counted as a gap and said in the reply, never hidden. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/log.h"
#include "payload.h"
#include "server.h"

#define MAX_CLIENTS_PER_STORE 4096

agora_err
agora_lace_server_add_store(agora_lace_server *s, const char *name,
                            agora_lace_store *st)
{
	struct lace_store_ref *r;

	if (name == NULL || name[0] == '\0' || strlen(name) > 256 ||
	    st == NULL || s->cfg.kind != AGORA_LACE_TRAINER) {
		return AGORA_EINVAL;
	}
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nstores; i++) {
		if (strcmp(s->stores[i]->name, name) == 0) {
			pthread_mutex_unlock(&s->lock);
			return AGORA_EEXIST;
		}
	}
	r = agora_calloc(1, sizeof(*r));
	r->name = agora_strdup(name);
	r->st = st;
	pthread_mutex_init(&r->lock, NULL);
	/* Pointers: an entry must not move while a worker uses it without
	 * the server's lock. */
	s->stores = agora_realloc(s->stores, (s->nstores + 1) * sizeof(void *));
	s->stores[s->nstores++] = r;
	pthread_mutex_unlock(&s->lock);
	return AGORA_OK;
}

void
lace_stores_free(agora_lace_server *s)
{
	for (size_t i = 0; i < s->nstores; i++) {
		struct lace_store_ref *r = s->stores[i];
		while (r->cursors != NULL) {
			struct lace_cursor *c = r->cursors;
			r->cursors = c->next;
			agora_free(c->client);
			agora_free(c);
		}
		pthread_mutex_destroy(&r->lock);
		agora_free(r->name);
		agora_free(r);
	}
	agora_free(s->stores);
	s->stores = NULL;
	s->nstores = 0;
}

static struct lace_store_ref *
store_find(agora_lace_server *s, const char *name)
{
	struct lace_store_ref *r = NULL;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; name != NULL && i < s->nstores; i++) {
		if (strcmp(s->stores[i]->name, name) == 0) {
			r = s->stores[i];
		}
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* The cursor of (client, epoch) into r, made at -1 if new, under
 * r->lock. The epoch is a random number only that client store knows, so
 * another client using the same name gets its own cursor and cannot move
 * or reset this one. At the cap, the cursor used longest ago makes room
 * (an actor that comes back after that asks its cursor, gets -1, and its
 * rows still held are taken again: said in the log). */
static struct lace_cursor *
cursor_of(struct lace_store_ref *r, const char *client, uint64_t epoch)
{
	struct lace_cursor *c, **oldest = NULL;
	size_t n = 0;

	for (struct lace_cursor **pp = &r->cursors; *pp != NULL;
	     pp = &(*pp)->next, n++) {
		c = *pp;
		if (c->epoch == epoch && strcmp(c->client, client) == 0) {
			c->used = ++r->clock;
			return c;
		}
		if (oldest == NULL || c->used < (*oldest)->used) {
			oldest = pp;
		}
	}
	if (n >= MAX_CLIENTS_PER_STORE && oldest != NULL) {
		c = *oldest;
		*oldest = c->next;
		agora_log(AGORA_LOG_WARN, "lace",
		          "store %s: %d client cursors: the one used longest "
		          "ago makes room",
		          r->name, MAX_CLIENTS_PER_STORE);
		agora_free(c->client);
		agora_free(c);
	}
	c = agora_calloc(1, sizeof(*c));
	c->client = agora_strdup(client);
	c->epoch = epoch;
	c->cursor = -1;
	c->used = ++r->clock;
	c->next = r->cursors;
	r->cursors = c;
	return c;
}

static bool
parse_epoch(const char *s, uint64_t *out)
{
	char *end;

	if (s == NULL || strlen(s) != 16) {
		return false;
	}
	*out = strtoull(s, &end, 16);
	return *end == '\0';
}

/* The pushed arrays are the store's fields, n rows each. */
static bool
schema_ok(agora_lace_store *st, const struct lace_frame *f, uint64_t n,
          char *why, size_t whylen)
{
	size_t nf = agora_lace_store_nfields(st);

	if (f->payload.narrays != nf) {
		snprintf(why, whylen, "%zu arrays for a store of %zu fields",
		         f->payload.narrays, nf);
		return false;
	}
	for (size_t i = 0; i < nf; i++) {
		const agora_lace_field *fd = agora_lace_store_field(st, i);
		const agora_lace_array *a = &f->arrays[i];
		bool same = a->dtype == fd->dtype && a->ndim == fd->ndim + 1 &&
		            a->shape[0] == n;
		for (uint32_t d = 0; same && d < fd->ndim; d++) {
			same = a->shape[d + 1] == fd->shape[d];
		}
		if (!same) {
			snprintf(why, whylen,
			         "field \"%s\" differs from the store's (dtype "
			         "or shape)",
			         fd->name);
			return false;
		}
	}
	return true;
}

struct push {
	const char *client;
	uint64_t epoch, gap;
	int64_t first, n, skip, cursor;
};

/* The envelope's client, epoch, first and n, and the arrays' schema. */
static bool
push_args(agora_lace_server *s, agora_request *rq,
          const struct lace_store_ref *r, const struct lace_frame *f,
          struct push *pu)
{
	char why[256];

	pu->client = lace_head_str(f, "client");
	if (pu->client == NULL || pu->client[0] == '\0' ||
	    strlen(pu->client) > 256 ||
	    !parse_epoch(lace_head_str(f, "epoch"), &pu->epoch) ||
	    !agora_json_int(agora_json_get(f->head, "first"), 0, INT64_MAX / 2,
	                    &pu->first) ||
	    !agora_json_int(agora_json_get(f->head, "n"), 0, INT32_MAX,
	                    &pu->n)) {
		lace_reply_err(s, rq, AGORA_EPROTO,
		               "push: needs client, epoch, first and n");
		return false;
	}
	if (f->payload.narrays > 64 ||
	    !schema_ok(r->st, f, (uint64_t)pu->n, why, sizeof(why))) {
		lace_reply_err(s, rq, AGORA_EINVAL, "store \"%s\": %s", r->name,
		               f->payload.narrays > 64 ? "too many arrays"
		                                       : why);
		return false;
	}
	return true;
}

/* Under r->lock: take the rows past the client's cursor, note a gap. */
static agora_err
push_apply(struct lace_store_ref *r, const struct lace_frame *f,
           struct push *pu)
{
	struct lace_cursor *c = cursor_of(r, pu->client, pu->epoch);
	const void *cols[64];

	if (pu->first > c->cursor + 1) {
		pu->gap = (uint64_t)(pu->first - (c->cursor + 1));
		c->gaps += pu->gap;
		agora_log(AGORA_LOG_WARN, "lace",
		          "store %s: client %s lost %" PRIu64
		          " rows before sending them",
		          r->name, pu->client, pu->gap);
	}
	/* Rows up to the cursor came before: take each id once. */
	pu->skip = c->cursor + 1 > pu->first ? c->cursor + 1 - pu->first : 0;
	if (pu->skip < pu->n) {
		for (size_t i = 0; i < f->payload.narrays; i++) {
			size_t row = agora_lace_array_bytes(&f->arrays[i]) /
			             (size_t)pu->n;
			cols[i] = (const char *)f->arrays[i].data +
			          (size_t)pu->skip * row;
		}
		if (agora_lace_store_insert(r->st, (size_t)(pu->n - pu->skip),
		                            cols) != AGORA_OK) {
			return AGORA_EINTERNAL;
		}
		c->received += (uint64_t)(pu->n - pu->skip);
		c->cursor = pu->first + pu->n - 1;
	}
	pu->cursor = c->cursor;
	return AGORA_OK;
}

static void
push_notify(agora_lace_server *s, const struct lace_store_ref *r,
            const struct push *pu)
{
	char err[64];
	agora_buf json;
	agora_lace_payload in = { 0 };
	agora_lace_out out;

	/* The client's name is the peer's text: escaped, never pasted. */
	agora_buf_init(&json, 0);
	agora_buf_adds(&json, "{\"client\":");
	agora_buf_json_str(&json, pu->client, strlen(pu->client));
	agora_buf_addf(&json, ",\"first\":%" PRId64 ",\"n\":%" PRId64 "}",
	               pu->first + pu->skip, pu->n - pu->skip);
	in.json = json.data;
	in.json_len = json.len;
	lace_out_init(&out);
	(void)s->o.on_data(s->o.arg, r->name, &in, &out, err, sizeof(err));
	lace_out_fini(&out);
	agora_buf_fini(&json);
}

static void
op_push(agora_lace_server *s, agora_request *rq, const struct lace_frame *f)
{
	const char *name = lace_head_str(f, "store");
	struct lace_store_ref *r = store_find(s, name);
	struct push pu = { 0 };
	char head[128];
	agora_err rv;

	if (r == NULL) {
		lace_reply_err(s, rq, AGORA_ENOTFOUND,
		               "unknown store \"%.200s\"", name ? name : "");
		return;
	}
	if (!push_args(s, rq, r, f, &pu)) {
		return;
	}
	pthread_mutex_lock(&r->lock);
	rv = push_apply(r, f, &pu);
	pthread_mutex_unlock(&r->lock);
	if (rv != AGORA_OK) {
		lace_reply_err(s, rq, rv, "store \"%s\": insert failed",
		               r->name);
		return;
	}
	/* Before the answer: a callback that takes long makes the client
	 * time out after the rows were taken, which the cursor absorbs. */
	if (s->o.on_data != NULL && pu.skip < pu.n) {
		push_notify(s, r, &pu);
	}
	snprintf(head, sizeof(head),
	         "\"cursor\":%" PRId64 ",\"taken\":%" PRId64
	         ",\"gap\":%" PRIu64,
	         pu.cursor, pu.skip < pu.n ? pu.n - pu.skip : 0, pu.gap);
	lace_reply(s, rq, head, NULL);
}

static void
op_cursor(agora_lace_server *s, agora_request *rq, const struct lace_frame *f)
{
	struct lace_store_ref *r = store_find(s, lace_head_str(f, "store"));
	const char *client = lace_head_str(f, "client");
	uint64_t epoch = 0;
	int64_t cursor = -1;
	char head[64];

	if (r == NULL) {
		lace_reply_err(
		    s, rq, AGORA_ENOTFOUND, "unknown store \"%.200s\"",
		    lace_head_str(f, "store") ? lace_head_str(f, "store") : "");
		return;
	}
	if (client == NULL || !parse_epoch(lace_head_str(f, "epoch"), &epoch)) {
		lace_reply_err(s, rq, AGORA_EPROTO,
		               "cursor: needs client and epoch");
		return;
	}
	pthread_mutex_lock(&r->lock);
	for (struct lace_cursor *c = r->cursors; c != NULL; c = c->next) {
		if (strcmp(c->client, client) == 0 && c->epoch == epoch) {
			cursor = c->cursor;
		}
	}
	pthread_mutex_unlock(&r->lock);
	snprintf(head, sizeof(head), "\"cursor\":%" PRId64, cursor);
	lace_reply(s, rq, head, NULL);
}

agora_err
agora_lace_server_stores_json(agora_lace_server *s, agora_buf *out)
{
	agora_err rv = agora_buf_adds(out, "{\"stores\":[");

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nstores && rv == AGORA_OK; i++) {
		struct lace_store_ref *r = s->stores[i];
		size_t k = 0;
		rv = agora_buf_adds(out, i > 0 ? ",{\"name\":" : "{\"name\":");
		agora_buf_json_str(out, r->name, strlen(r->name));
		agora_buf_addf(
		    out,
		    ",\"size\":%zu,\"capacity\":%zu,\"latest\":%" PRId64
		    ",\"clients\":[",
		    agora_lace_store_len(r->st),
		    agora_lace_store_capacity(r->st),
		    agora_lace_store_latest_id(r->st));
		pthread_mutex_lock(&r->lock);
		for (struct lace_cursor *c = r->cursors; c != NULL;
		     c = c->next) {
			agora_buf_adds(out, k++ > 0 ? ",{\"client\":"
			                            : "{\"client\":");
			agora_buf_json_str(out, c->client, strlen(c->client));
			rv = agora_buf_addf(out,
			                    ",\"cursor\":%" PRId64
			                    ",\"received\":%" PRIu64
			                    ",\"gaps\":%" PRIu64 "}",
			                    c->cursor, c->received, c->gaps);
		}
		pthread_mutex_unlock(&r->lock);
		if (rv == AGORA_OK) {
			rv = agora_buf_adds(out, "]}");
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rv == AGORA_OK ? agora_buf_adds(out, "]}") : rv;
}

static void
op_stores(agora_lace_server *s, agora_request *rq)
{
	agora_buf b;
	agora_lace_payload p = { 0 };

	agora_buf_init(&b, 0);
	agora_lace_server_stores_json(s, &b);
	p.json = b.data;
	p.json_len = b.len;
	lace_reply(s, rq, "", &p);
	agora_buf_fini(&b);
}

void
lace_trainer_op(agora_lace_server *s, agora_request *rq,
                const struct lace_frame *f, const char *op)
{
	if (strcmp(op, "push") == 0) {
		op_push(s, rq, f);
	} else if (strcmp(op, "cursor") == 0) {
		op_cursor(s, rq, f);
	} else if (strcmp(op, "stores") == 0) {
		op_stores(s, rq);
	} else {
		lace_reply_err(s, rq, AGORA_ENOTFOUND,
		               "a trainer server has no op \"%.100s\"", op);
	}
}
