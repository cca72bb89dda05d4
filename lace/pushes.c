/* SPDX-License-Identifier: MIT */
/* The trainer client's side of the cursor protocol (trainer.c has the
 * server's): for each of its stores, read the rows past the server's
 * cursor -- ids and rows in one step under the store's lock, so no row is
 * sent under an id it does not have -- and push them; the server's reply
 * moves the cursor. A push whose answer is lost leaves the cursor unknown:
 * it is asked before the next push, and the server takes each id once. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "agora/random.h"
#include "client.h"
#include "payload.h"

#define PUSH_BYTES     ((size_t)8 << 20) /* at most per request */
#define CURSOR_UNKNOWN (-2)

agora_err
agora_lace_client_add_store(agora_lace_client *c, const char *name,
                            agora_lace_store *st)
{
	struct lace_push_store *ps;
	uint64_t epoch = 0;

	if (name == NULL || name[0] == '\0' || strlen(name) > 256 ||
	    st == NULL || agora_lace_store_nfields(st) > 64) {
		return AGORA_EINVAL;
	}
	pthread_mutex_lock(&c->push_lock);
	for (size_t i = 0; i < c->nstores; i++) {
		if (strcmp(c->stores[i].name, name) == 0) {
			pthread_mutex_unlock(&c->push_lock);
			return AGORA_EEXIST;
		}
	}
	c->stores =
	    agora_realloc(c->stores, (c->nstores + 1) * sizeof(*c->stores));
	ps = &c->stores[c->nstores++];
	memset(ps, 0, sizeof(*ps));
	ps->name = agora_strdup(name);
	ps->st = st;
	ps->cursor = CURSOR_UNKNOWN;
	agora_random_bytes(&epoch, sizeof(epoch));
	snprintf(ps->epoch, sizeof(ps->epoch), "%016" PRIx64, epoch);
	pthread_mutex_unlock(&c->push_lock);
	return AGORA_OK;
}

void
lace_push_stores_free(agora_lace_client *c)
{
	for (size_t i = 0; i < c->nstores; i++) {
		agora_free(c->stores[i].name);
	}
	agora_free(c->stores);
	c->stores = NULL;
	c->nstores = 0;
}

static agora_err
ask_cursor(agora_lace_client *c, struct lace_push_store *ps, char *err,
           size_t errlen)
{
	agora_buf m;
	agora_lace_msg *r = NULL;
	int64_t cursor = 0;
	agora_err rv;

	agora_buf_init(&m, 0);
	agora_buf_adds(&m, "\"store\":");
	agora_buf_json_str(&m, ps->name, strlen(ps->name));
	agora_buf_adds(&m, ",\"client\":");
	agora_buf_json_str(&m, c->name, strlen(c->name));
	agora_buf_addf(&m, ",\"epoch\":\"%s\"", ps->epoch);
	rv =
	    lace_ask(c, "cursor", m.data, NULL, c->timeout_ms, &r, err, errlen);
	agora_buf_fini(&m);
	if (rv == AGORA_OK &&
	    !agora_json_int(agora_json_get(r->frame.head, "cursor"), -1,
	                    INT64_MAX, &cursor)) {
		snprintf(err, errlen, "cursor: the server gave none");
		rv = AGORA_EPROTO;
	}
	if (rv == AGORA_OK) {
		ps->cursor = cursor;
	}
	agora_lace_msg_free(r);
	return rv;
}

/* The bytes of one row of field f. */
static size_t
field_bytes(agora_lace_store *st, size_t f)
{
	const agora_lace_field *fd = agora_lace_store_field(st, f);
	agora_lace_array a = { .dtype = fd->dtype, .ndim = fd->ndim };

	memcpy(a.shape, fd->shape, sizeof(a.shape));
	return agora_lace_array_bytes(&a);
}

/* Send rows first..first+n-1 (columns cols) and take the cursor the
 * server answers with; lost either way, it is asked next time. */
static agora_err
push_send(agora_lace_client *c, struct lace_push_store *ps, int64_t first,
          size_t n, void *const *cols, char *err, size_t errlen)
{
	size_t nf = agora_lace_store_nfields(ps->st);
	agora_lace_array arrays[64];
	agora_lace_payload p = { .arrays = arrays, .narrays = nf };
	agora_lace_msg *r = NULL;
	int64_t cursor = 0;
	agora_buf m;
	agora_err rv;

	for (size_t f = 0; f < nf; f++) {
		const agora_lace_field *fd = agora_lace_store_field(ps->st, f);
		arrays[f].dtype = fd->dtype;
		arrays[f].ndim = fd->ndim + 1;
		arrays[f].shape[0] = n;
		memcpy(&arrays[f].shape[1], fd->shape,
		       sizeof(uint64_t) * fd->ndim);
		arrays[f].data = cols[f];
	}
	agora_buf_init(&m, 0);
	agora_buf_adds(&m, "\"store\":");
	agora_buf_json_str(&m, ps->name, strlen(ps->name));
	agora_buf_adds(&m, ",\"client\":");
	agora_buf_json_str(&m, c->name, strlen(c->name));
	agora_buf_addf(&m, ",\"epoch\":\"%s\",\"first\":%" PRId64 ",\"n\":%zu",
	               ps->epoch, first, n);
	rv = lace_ask(c, "push", m.data, &p, c->timeout_ms, &r, err, errlen);
	agora_buf_fini(&m);
	if (rv == AGORA_OK &&
	    !agora_json_int(agora_json_get(r->frame.head, "cursor"), -1,
	                    INT64_MAX, &cursor)) {
		snprintf(err, errlen, "push: the server gave no cursor");
		rv = AGORA_EPROTO;
	}
	ps->cursor = rv == AGORA_OK ? cursor : CURSOR_UNKNOWN;
	agora_lace_msg_free(r);
	return rv;
}

/* Push one batch of rows past the cursor; *more says whether it was a
 * full one (more may be waiting). */
static agora_err
push_batch(agora_lace_client *c, struct lace_push_store *ps, uint64_t *gaps,
           bool *more, char *err, size_t errlen)
{
	size_t nf = agora_lace_store_nfields(ps->st), row = 0, max_n, room,
	       n = 0;
	void *cols[64];
	int64_t first = 0, latest;
	uint64_t gap = 0;
	agora_err rv;

	*more = false;
	for (size_t f = 0; f < nf; f++) {
		row += field_bytes(ps->st, f);
	}
	max_n = row > 0 && PUSH_BYTES / row > 0 ? PUSH_BYTES / row : 1;
	if (max_n > agora_lace_store_capacity(ps->st)) {
		max_n = agora_lace_store_capacity(ps->st);
	}
	/* Room for what is there, not for a whole request: an actor updates
	 * every few steps, with a few rows new each time. */
	latest = agora_lace_store_latest_id(ps->st);
	if (latest <= ps->cursor) {
		return AGORA_OK;
	}
	room = (uint64_t)(latest - ps->cursor) < max_n
	           ? (size_t)(latest - ps->cursor)
	           : max_n;
	for (size_t f = 0; f < nf; f++) {
		cols[f] = agora_malloc(field_bytes(ps->st, f) * room + 1);
	}
	rv = agora_lace_store_since(ps->st, ps->cursor, room, &first, &n, &gap,
	                            cols);
	if (rv == AGORA_OK && gap > 0) {
		*gaps += gap;
		agora_log(AGORA_LOG_WARN, "lace",
		          "store %s: %" PRIu64 " rows were dropped before they "
		          "were sent (the store is too small for the update "
		          "interval)",
		          ps->name, gap);
	}
	if (rv == AGORA_OK && n > 0) {
		rv = push_send(c, ps, first, n, cols, err, errlen);
		*more = rv == AGORA_OK && n == max_n;
	}
	for (size_t f = 0; f < nf; f++) {
		agora_free(cols[f]);
	}
	return rv;
}

agora_err
agora_lace_update(agora_lace_client *c, uint64_t *gaps, char *err,
                  size_t errlen)
{
	uint64_t lost = 0;
	agora_err rv;

	rv = lace_rate_take(c, err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	pthread_mutex_lock(&c->push_lock);
	for (size_t i = 0; i < c->nstores && rv == AGORA_OK; i++) {
		struct lace_push_store *ps = &c->stores[i];
		bool more = true;
		if (ps->cursor == CURSOR_UNKNOWN) {
			rv = ask_cursor(c, ps, err, errlen);
		}
		while (rv == AGORA_OK && more) {
			rv = push_batch(c, ps, &lost, &more, err, errlen);
		}
	}
	pthread_mutex_unlock(&c->push_lock);
	if (gaps != NULL) {
		*gaps = lost;
	}
	return rv;
}

static void *
updater_main(void *arg)
{
	agora_lace_client *c = arg;
	char err[256];

	pthread_mutex_lock(&c->lock);
	while (!c->closing) {
		int64_t ms = c->update_ms;
		int64_t until;
		pthread_mutex_unlock(&c->lock);
		if (agora_lace_update(c, NULL, err, sizeof(err)) != AGORA_OK) {
			agora_log(AGORA_LOG_WARN, "lace", "update: %s", err);
		}
		until = agora_now_ms() + ms;
		pthread_mutex_lock(&c->lock);
		while (!c->closing &&
		       agora_cond_wait_until(&c->cv, &c->lock, until)) {
		}
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

agora_err
agora_lace_start_updates(agora_lace_client *c, int64_t interval_ms)
{
	if (interval_ms <= 0) {
		return AGORA_EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	if (c->updating) {
		pthread_mutex_unlock(&c->lock);
		return AGORA_EEXIST;
	}
	c->update_ms = interval_ms;
	c->updating = true;
	pthread_mutex_unlock(&c->lock);
	pthread_create(&c->updater, NULL, updater_main, c);
	return AGORA_OK;
}

void
lace_updates_stop(agora_lace_client *c)
{
	if (c->updating) {
		pthread_join(c->updater, NULL);
		c->updating = false;
	}
}

agora_err
agora_lace_stores(agora_lace_client *c, agora_buf *out, char *err,
                  size_t errlen)
{
	agora_lace_msg *m = NULL;
	agora_err rv;

	rv = lace_ask(c, "stores", "", NULL, c->timeout_ms, &m, err, errlen);
	if (rv == AGORA_OK) {
		const agora_lace_payload *p = agora_lace_msg_payload(m);
		rv = agora_buf_add(out, p->json != NULL ? p->json : "null",
		                   p->json != NULL ? p->json_len : 4);
	}
	agora_lace_msg_free(m);
	return rv;
}
