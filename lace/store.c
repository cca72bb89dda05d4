/* SPDX-License-Identifier: MIT */
/* Datastores: rows of typed fields in a ring, one contiguous column per
 * field, and what every kind shares: the schema, ids, inserts, reading the
 * rows after a cursor (`since`) and uniform sampling. One mutex per store;
 * every call takes it, so ids and rows always agree (Agentlace reads the
 * latest id and the rows in two steps, and can send an item twice).
 *
 * Unlike Agentlace's queued store, a reader whose cursor is older than the
 * oldest row held is told how many rows it missed (*gap). The trajectory
 * ring's own rules are in store_traj.c, files in store_file.c. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "store.h"

/* ---- making a store ---------------------------------------------------- */

/* Check field i and give the bytes of one of its rows. */
static agora_err
store_check_field(const agora_lace_field *fields, size_t i, size_t *rowp,
                  char *err, size_t errlen)
{
	const agora_lace_field *f = &fields[i];
	agora_lace_array a = { .dtype = f->dtype, .ndim = f->ndim };

	if (f->name == NULL || f->name[0] == '\0') {
		agora__lace_seterr(err, errlen, "field %zu has no name", i);
		return AGORA_EINVAL;
	}
	if (strlen(f->name) > AGORA__LACE_NAME_MAX) {
		agora__lace_seterr(err, errlen, "field %zu: name over %d bytes",
		                   i, AGORA__LACE_NAME_MAX);
		return AGORA_EINVAL;
	}
	for (size_t j = 0; j < i; j++) {
		if (strcmp(fields[j].name, f->name) == 0) {
			agora__lace_seterr(err, errlen,
			                   "field \"%s\" is named twice",
			                   f->name);
			return AGORA_EINVAL;
		}
	}
	if (agora_lace_dtype_name(f->dtype) == NULL) {
		agora__lace_seterr(err, errlen,
		                   "field \"%s\": dtype %d is not one of "
		                   "float32, float64, int32, int64, uint8",
		                   f->name, (int)f->dtype);
		return AGORA_EINVAL;
	}
	if (f->ndim > AGORA_LACE_MAX_DIM) {
		agora__lace_seterr(
		    err, errlen, "field \"%s\": ndim %u is over the maximum %d",
		    f->name, (unsigned)f->ndim, AGORA_LACE_MAX_DIM);
		return AGORA_EINVAL;
	}
	for (uint32_t d = 0; d < f->ndim; d++) {
		if (f->shape[d] == 0) {
			agora__lace_seterr(err, errlen,
			                   "field \"%s\": shape[%u] is 0",
			                   f->name, (unsigned)d);
			return AGORA_EINVAL;
		}
		a.shape[d] = f->shape[d];
	}
	*rowp = agora_lace_array_bytes(&a);
	if (*rowp == 0) {
		agora__lace_seterr(err, errlen,
		                   "field \"%s\": a row's size overflows",
		                   f->name);
		return AGORA_EINVAL;
	}
	return AGORA_OK;
}

/* Check the options, and that a whole row (slot record included) times the
 * capacity is within the limit. */
static agora_err
store_check_opts(const agora_lace_store_opts *o, char *err, size_t errlen)
{
	uint64_t row = 0;
	size_t fb;
	agora_err rv;

	if ((unsigned)o->kind > AGORA_LACE_TRAJECTORY) {
		agora__lace_seterr(
		    err, errlen, "kind %d is not queued, replay or trajectory",
		    (int)o->kind);
		return AGORA_EINVAL;
	}
	if (o->capacity == 0) {
		agora__lace_seterr(
		    err, errlen, "capacity is 0: a store holds at least a row");
		return AGORA_EINVAL;
	}
	if (o->fields == NULL || o->nfields == 0) {
		agora__lace_seterr(err, errlen,
		                   "no fields: a row has at least one");
		return AGORA_EINVAL;
	}
	if (o->nfields > AGORA__LACE_MAX_FIELDS) {
		agora__lace_seterr(err, errlen,
		                   "%zu fields: over the maximum %d",
		                   o->nfields, AGORA__LACE_MAX_FIELDS);
		return AGORA_EINVAL;
	}
	for (size_t i = 0; i < o->nfields; i++) {
		rv = store_check_field(o->fields, i, &fb, err, errlen);
		if (rv != AGORA_OK) {
			return rv;
		}
		/* Each is under the limit or the total check below fails. */
		row += fb < AGORA__LACE_STORE_MAX_BYTES
		           ? fb
		           : AGORA__LACE_STORE_MAX_BYTES;
	}
	if (o->kind == AGORA_LACE_TRAJECTORY) {
		row += sizeof(agora__lace_slot);
	}
	if (row > AGORA__LACE_STORE_MAX_BYTES / o->capacity) {
		agora__lace_seterr(err, errlen,
		                   "capacity %zu x %llu bytes a row is over "
		                   "the limit of 16 GiB a store",
		                   o->capacity, (unsigned long long)row);
		return AGORA_EINVAL;
	}
	return AGORA_OK;
}

agora_err
agora_lace_store_new(agora_lace_store **sp, const agora_lace_store_opts *o,
                     char *err, size_t errlen)
{
	agora_lace_store *st;
	size_t min_len;
	agora_err rv;

	if (sp == NULL || o == NULL) {
		agora__lace_seterr(err, errlen, "no store or no options");
		return AGORA_EINVAL;
	}
	*sp = NULL;
	rv = store_check_opts(o, err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	min_len = o->min_traj_len == 0 ? 2 : o->min_traj_len;
	if (o->kind == AGORA_LACE_TRAJECTORY && min_len > o->capacity) {
		agora__lace_seterr(err, errlen,
		                   "min_traj_len %zu is over the capacity %zu",
		                   min_len, o->capacity);
		return AGORA_EINVAL;
	}
	st = agora_calloc(1, sizeof(*st));
	if (pthread_mutex_init(&st->lock, NULL) != 0) {
		agora_free(st);
		agora__lace_seterr(err, errlen, "cannot make the store's lock");
		return AGORA_ESYS;
	}
	st->kind = o->kind;
	st->capacity = o->capacity;
	st->nfields = o->nfields;
	st->fields = agora_calloc(o->nfields, sizeof(*st->fields));
	st->row_bytes = agora_calloc(o->nfields, sizeof(*st->row_bytes));
	st->cols = agora_calloc(o->nfields, sizeof(*st->cols));
	st->names = agora_calloc(o->nfields, sizeof(*st->names));
	for (size_t i = 0; i < o->nfields; i++) {
		st->fields[i] = o->fields[i];
		st->names[i] = agora_strdup(o->fields[i].name);
		st->fields[i].name = st->names[i];
		/* Checked above: this only gives the row's size. */
		(void)store_check_field(o->fields, i, &st->row_bytes[i], NULL,
		                        0);
		st->cols[i] = agora_calloc(o->capacity, st->row_bytes[i]);
	}
	if (o->kind == AGORA_LACE_TRAJECTORY) {
		st->slots = agora_calloc(o->capacity, sizeof(*st->slots));
		for (size_t i = 0; i < o->capacity; i++) {
			st->slots[i].ep_end = -1;
		}
		st->min_len = min_len;
	}
	agora__lace_rng_seed(st->rng, o->seed);
	*sp = st;
	return AGORA_OK;
}

void
agora_lace_store_free(agora_lace_store *st)
{
	if (st == NULL) {
		return;
	}
	for (size_t i = 0; i < st->nfields; i++) {
		agora_free(st->names[i]);
		agora_free(st->cols[i]);
	}
	agora_free(st->fields);
	agora_free(st->names);
	agora_free(st->row_bytes);
	agora_free(st->cols);
	agora_free(st->slots);
	pthread_mutex_destroy(&st->lock);
	agora_free(st);
}

/* ---- what a store is (fixed at creation: no lock needed) --------------- */

agora_lace_store_kind
agora_lace_store_kind_of(agora_lace_store *st)
{
	return st->kind;
}

size_t
agora_lace_store_nfields(agora_lace_store *st)
{
	return st->nfields;
}

const agora_lace_field *
agora_lace_store_field(agora_lace_store *st, size_t i)
{
	return i < st->nfields ? &st->fields[i] : NULL;
}

agora_err
agora_lace_store_schema(agora_lace_store *st, agora_buf *out)
{
	agora_err rv = agora_buf_adds(out, "[");

	for (size_t i = 0; i < st->nfields && rv == AGORA_OK; i++) {
		const agora_lace_field *f = &st->fields[i];

		rv = agora_buf_adds(out, i == 0 ? "{\"name\":" : ",{\"name\":");
		if (rv == AGORA_OK) {
			rv = agora_buf_json_str(out, f->name, strlen(f->name));
		}
		if (rv == AGORA_OK) {
			rv =
			    agora_buf_addf(out, ",\"dtype\":\"%s\",\"shape\":[",
			                   agora_lace_dtype_name(f->dtype));
		}
		for (uint32_t d = 0; d < f->ndim && rv == AGORA_OK; d++) {
			rv = agora_buf_addf(out, d == 0 ? "%llu" : ",%llu",
			                    (unsigned long long)f->shape[d]);
		}
		if (rv == AGORA_OK) {
			rv = agora_buf_adds(out, "]}");
		}
	}
	return rv == AGORA_OK ? agora_buf_adds(out, "]") : rv;
}

size_t
agora_lace_store_capacity(agora_lace_store *st)
{
	return st->capacity;
}

/* ---- rows and ids ------------------------------------------------------ */

size_t
agora_lace_store_len(agora_lace_store *st)
{
	size_t n;

	pthread_mutex_lock(&st->lock);
	n = (size_t)(st->pos - st->lo);
	pthread_mutex_unlock(&st->lock);
	return n;
}

int64_t
agora_lace_store_latest_id(agora_lace_store *st)
{
	int64_t id;

	pthread_mutex_lock(&st->lock);
	id = (int64_t)st->added - 1;
	pthread_mutex_unlock(&st->lock);
	return id;
}

/* Queued and replay: copy the last rows of n (those the ring can hold) in
 * at most two pieces per column. */
static void
store_insert_ring(agora_lace_store *st, size_t n, const void *const *cols)
{
	size_t skip = n > st->capacity ? n - st->capacity : 0;
	size_t m = n - skip;
	size_t slot = (size_t)((st->pos + skip) % st->capacity);
	size_t first = m < st->capacity - slot ? m : st->capacity - slot;

	for (size_t f = 0; f < st->nfields; f++) {
		size_t rb = st->row_bytes[f];
		const unsigned char *src = (const unsigned char *)cols[f];

		src += skip * rb;
		memcpy(st->cols[f] + slot * rb, src, first * rb);
		memcpy(st->cols[f], src + first * rb, (m - first) * rb);
	}
	st->pos += n;
	st->added += n;
	st->lo = st->pos > st->capacity ? st->pos - st->capacity : 0;
}

agora_err
agora_lace_store_insert(agora_lace_store *st, size_t n, const void *const *cols)
{
	size_t most = 1; /* every field has a row of a byte or more */

	if (st == NULL || cols == NULL) {
		return AGORA_EINVAL;
	}
	for (size_t f = 0; f < st->nfields; f++) {
		if (cols[f] == NULL) {
			return AGORA_EINVAL;
		}
		most = st->row_bytes[f] > most ? st->row_bytes[f] : most;
	}
	if (n > SIZE_MAX / most) {
		return AGORA_ETOOBIG;
	}
	if (n == 0) {
		return AGORA_OK;
	}
	pthread_mutex_lock(&st->lock);
	if (st->kind == AGORA_LACE_TRAJECTORY) {
		for (size_t i = 0; i < n; i++) {
			agora__lace_traj_insert_row(st, cols, i);
		}
	} else {
		store_insert_ring(st, n, cols);
	}
	pthread_mutex_unlock(&st->lock);
	return AGORA_OK;
}

/* The first held position whose id is at least id (st->pos: none). Ids
 * rise with positions, also in a trajectory ring. */
static uint64_t
store_find(const agora_lace_store *st, uint64_t id)
{
	uint64_t lo = st->lo, hi = st->pos;

	if (st->slots == NULL) {
		return id > lo ? (id < hi ? id : hi) : lo;
	}
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (agora__lace_id_at(st, mid) < id) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

/* Rows come as one run of consecutive ids, so the caller's cursor is
 * first + n - 1 and every id missed is counted in one *gap only (a
 * trajectory ring has holes where short trajectories were dropped). */
agora_err
agora_lace_store_since(agora_lace_store *st, int64_t after, size_t max_n,
                       int64_t *first, size_t *n, uint64_t *gap,
                       void *const *cols)
{
	uint64_t want, p, id;
	size_t k = 0;

	if (st == NULL || first == NULL || n == NULL || gap == NULL ||
	    (max_n > 0 && cols == NULL)) {
		return AGORA_EINVAL;
	}
	for (size_t f = 0; max_n > 0 && f < st->nfields; f++) {
		if (cols[f] == NULL) {
			return AGORA_EINVAL;
		}
	}
	want = after < 0 ? 0 : (uint64_t)after + 1;
	pthread_mutex_lock(&st->lock);
	*first = (int64_t)st->added;
	*gap = 0;
	if (want < st->added) {
		p = store_find(st, want);
		id = p < st->pos ? agora__lace_id_at(st, p) : st->added;
		*first = (int64_t)id;
		*gap = id - want;
		while (k < max_n && p + k < st->pos &&
		       agora__lace_id_at(st, p + k) == id + k) {
			agora__lace_copy_out(st, p + k, k, cols);
			k++;
		}
	}
	*n = k;
	pthread_mutex_unlock(&st->lock);
	return AGORA_OK;
}

agora_err
agora_lace_store_sample(agora_lace_store *st, size_t n, void *const *cols)
{
	agora_err rv = AGORA_OK;

	if (st == NULL || st->kind == AGORA_LACE_QUEUED ||
	    (n > 0 && cols == NULL)) {
		return AGORA_EINVAL;
	}
	for (size_t f = 0; n > 0 && f < st->nfields; f++) {
		if (cols[f] == NULL) {
			return AGORA_EINVAL;
		}
	}
	pthread_mutex_lock(&st->lock);
	if (st->kind == AGORA_LACE_TRAJECTORY) {
		rv = agora__lace_traj_sample_all(st, n, cols);
	} else if (st->pos == st->lo) {
		rv = AGORA_ENOTFOUND;
	} else {
		for (size_t i = 0; i < n; i++) {
			uint64_t p = st->lo + agora__lace_rng_below(
			                          st->rng, st->pos - st->lo);

			agora__lace_copy_out(st, p, i, cols);
		}
	}
	pthread_mutex_unlock(&st->lock);
	return rv;
}
