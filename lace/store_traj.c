/* SPDX-License-Identifier: MIT */
/* The trajectory ring (Agentlace's TrajectoryBuffer): rows grouped into
 * trajectories, each slot remembering where its trajectory began and, once
 * it has ended, where it ended.
 *
 * - A trajectory that ends shorter than the minimum is dropped: the
 *   position goes back to its start and later rows overwrite it. Its ids
 *   are not given again: `since` counts them in *gap.
 * - The sampleable window [sample_begin, sample_end) begins at the oldest
 *   row held, and jumps past a trajectory that overwriting left shorter
 *   than the minimum; it ends at the last row of the trajectory in
 *   progress once that one is long enough, else where the previous ended.
 * - A window sample draws a row in the window and reads offsets around it;
 *   an offset outside the row's trajectory (or the window) is marked
 *   invalid and reads zeros. The drawn row is never moved to make the
 *   whole window valid (Agentlace's sample_range): the mask says it. */
#include <string.h>

#include "store.h"

void
agora__lace_traj_insert_row(agora_lace_store *st, const void *const *cols,
                            size_t i)
{
	size_t slot = (size_t)(st->pos % st->capacity);
	agora__lace_slot *s = &st->slots[slot];
	int64_t over_end = s->ep_end; /* of the row overwritten, if any */

	for (size_t f = 0; f < st->nfields; f++) {
		size_t rb = st->row_bytes[f];

		memcpy(st->cols[f] + slot * rb,
		       (const unsigned char *)cols[f] + i * rb, rb);
	}
	s->id = st->added;
	s->ep_begin = st->traj_begin;
	s->ep_end = -1;
	s->traj = st->traj_id;
	st->pos++;
	st->added++;
	if (st->pos > st->capacity && st->pos - st->capacity > st->lo) {
		st->lo = st->pos - st->capacity;
	}
	if (st->sample_begin < st->lo) {
		st->sample_begin = st->lo;
	}
	/* What overwriting left of that trajectory is too short to sample. */
	if (over_end >= 0 &&
	    (uint64_t)over_end < st->sample_begin + st->min_len &&
	    (uint64_t)over_end > st->sample_begin) {
		st->sample_begin = (uint64_t)over_end;
	}
	if (st->pos - st->traj_begin >= st->min_len) {
		st->sample_end = st->pos;
	}
}

agora_err
agora_lace_traj_end(agora_lace_store *st)
{
	uint64_t from;

	if (st == NULL || st->kind != AGORA_LACE_TRAJECTORY) {
		return AGORA_EINVAL;
	}
	pthread_mutex_lock(&st->lock);
	if (st->pos - st->traj_begin < st->min_len) {
		/* Too short: dropped; the next rows overwrite it. */
		st->pos = st->traj_begin;
	} else {
		from = st->pos - st->traj_begin > st->capacity
		           ? st->pos - st->capacity
		           : st->traj_begin;
		for (uint64_t p = from; p < st->pos; p++) {
			st->slots[p % st->capacity].ep_end = (int64_t)st->pos;
		}
		st->traj_begin = st->pos;
		st->traj_id++;
	}
	pthread_mutex_unlock(&st->lock);
	return AGORA_OK;
}

void
agora_lace_traj_window(agora_lace_store *st, uint64_t *begin, uint64_t *end)
{
	pthread_mutex_lock(&st->lock);
	if (st->kind == AGORA_LACE_TRAJECTORY) {
		*begin = st->sample_begin;
		*end = st->sample_end;
	} else {
		*begin = st->lo; /* every row held */
		*end = st->pos;
	}
	pthread_mutex_unlock(&st->lock);
}

agora_err
agora__lace_traj_sample_all(agora_lace_store *st, size_t n, void *const *cols)
{
	uint64_t width = st->sample_end - st->sample_begin;

	if (st->sample_end <= st->sample_begin) {
		return AGORA_ENOTFOUND;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t p =
		    st->sample_begin + agora__lace_rng_below(st->rng, width);

		agora__lace_copy_out(st, p, i, cols);
	}
	return AGORA_OK;
}

/* The position of slot (or of any position congruent to it) among the
 * rows held, if it is in the sampleable window. */
static bool
traj_forced(const agora_lace_store *st, size_t force, uint64_t *pp)
{
	uint64_t cap = st->capacity;
	uint64_t base = st->pos > cap ? st->pos - cap : 0;
	uint64_t p = base + ((uint64_t)force % cap + cap - base % cap) % cap;

	*pp = p;
	return p >= st->sample_begin && p < st->sample_end;
}

/* One drawn row p: offsets begin..end-1 of field f into out and valid. */
static void
traj_window_at(const agora_lace_store *st, uint64_t p, size_t f, int begin,
               int end, unsigned char *out, bool *valid)
{
	const agora__lace_slot *s = &st->slots[p % st->capacity];
	size_t rb = st->row_bytes[f];
	int64_t eb =
	    (int64_t)(s->ep_begin > st->sample_begin ? s->ep_begin
	                                             : st->sample_begin);
	int64_t ee = (int64_t)st->sample_end;

	if (s->ep_end >= 0 && s->ep_end < ee) {
		ee = s->ep_end;
	}
	for (int k = begin; k < end; k++) {
		int64_t q = (int64_t)p + k;
		size_t j = (size_t)((int64_t)k - begin);

		valid[j] = q >= eb && q < ee;
		if (valid[j]) {
			memcpy(out + j * rb,
			       st->cols[f] + ((uint64_t)q % st->capacity) * rb,
			       rb);
		} else {
			memset(out + j * rb, 0, rb);
		}
	}
}

/* Check a window sample's arguments; the field's index into *fp. */
static agora_err
traj_check(agora_lace_store *st, size_t n, const char *field, int begin,
           int end, const void *out, const bool *valid, size_t *fp)
{
	uint64_t width = (uint64_t)((int64_t)end - begin);

	if (st == NULL || st->kind != AGORA_LACE_TRAJECTORY || field == NULL ||
	    end <= begin || (n > 0 && (out == NULL || valid == NULL))) {
		return AGORA_EINVAL;
	}
	for (*fp = 0; *fp < st->nfields; (*fp)++) {
		if (strcmp(st->fields[*fp].name, field) == 0) {
			break;
		}
	}
	if (*fp == st->nfields) {
		return AGORA_ENOTFOUND;
	}
	if (n > 0 && width > SIZE_MAX / n / st->row_bytes[*fp]) {
		return AGORA_ETOOBIG;
	}
	return AGORA_OK;
}

agora_err
agora_lace_traj_sample(agora_lace_store *st, size_t n, const char *field,
                       int begin, int end, const size_t *force, void *out,
                       bool *valid, size_t *rows)
{
	size_t f, width = (size_t)((int64_t)end - begin);
	agora_err rv = traj_check(st, n, field, begin, end, out, valid, &f);
	uint64_t p;

	if (rv != AGORA_OK) {
		return rv;
	}
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; force != NULL && i < n; i++) {
		if (!traj_forced(st, force[i], &p)) {
			rv = AGORA_EINVAL; /* not a row that can be sampled */
			goto out_unlock;
		}
	}
	if (force == NULL && n > 0 && st->sample_end <= st->sample_begin) {
		rv = AGORA_ENOTFOUND;
		goto out_unlock;
	}
	for (size_t i = 0; i < n; i++) {
		if (force != NULL) {
			(void)traj_forced(st, force[i], &p);
		} else {
			p = st->sample_begin +
			    agora__lace_rng_below(
			        st->rng, st->sample_end - st->sample_begin);
		}
		traj_window_at(st, p, f, begin, end,
		               (unsigned char *)out +
		                   i * width * st->row_bytes[f],
		               valid + i * width);
		if (rows != NULL) {
			rows[i] = (size_t)(p % st->capacity);
		}
	}
out_unlock:
	pthread_mutex_unlock(&st->lock);
	return rv;
}
