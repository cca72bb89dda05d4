/* SPDX-License-Identifier: MIT */
/* The trajectory datastore: every case of Agentlace's test_data_store.py
 * (capacity 100; fields data, index, trajectory_id), with the checks made
 * to bite: the "past the end" mask is checked against each trajectory's
 * real length, window samples are compared value by value, and a saved
 * store loads with its sample window (Agentlace's TODO). Also: ids of
 * dropped trajectories are told as gaps, and bad window samples. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agora/lace.h"
#include "store.h" /* the slot records, as Agentlace's helper reads them */
#include "test.h"

#define CAP 100

static const agora_lace_field traj_fields[] = {
	{ .name = "data", .dtype = AGORA_LACE_F32 },
	{ .name = "index", .dtype = AGORA_LACE_I32 },
	{ .name = "trajectory_id", .dtype = AGORA_LACE_I32 },
};

static agora_lace_store *
mk(size_t min_len)
{
	agora_lace_store_opts o = { .kind = AGORA_LACE_TRAJECTORY,
		                    .capacity = CAP,
		                    .fields = traj_fields,
		                    .nfields = 3,
		                    .seed = 7,
		                    .min_traj_len = min_len };
	agora_lace_store *st = NULL;
	char err[256];

	AGORA_PASS(agora_lace_store_new(&st, &o, err, sizeof(err)));
	return st;
}

/* Agentlace's helper_insert_trajectory: index 0..len-1, one row a call. */
static void
traj_add(agora_lace_store *st, int len, int tid, bool end)
{
	for (int i = 0; i < len; i++) {
		float data = (float)(tid * 1000 + i) / 7.0f;
		int32_t index = i, id = tid;
		const void *cols[3] = { &data, &index, &id };

		AGORA_PASS(agora_lace_store_insert(st, 1, cols));
	}
	if (end) {
		AGORA_PASS(agora_lace_traj_end(st));
	}
}

static void
window_is(agora_lace_store *st, uint64_t begin, uint64_t end)
{
	uint64_t b, e;

	agora_lace_traj_window(st, &b, &e);
	assert_int_equal(b, begin);
	assert_int_equal(e, end);
}

static int32_t
tid_at(const agora_lace_store *st, uint64_t p)
{
	int32_t v;

	memcpy(&v, st->cols[2] + (p % CAP) * 4, 4);
	return v;
}

/* Agentlace's helper_check_ep_metadata: every sampleable row lies in its
 * trajectory, and neighbours share a trajectory id except across an end
 * (compared only where the next row is held). */
static void
check_ep_metadata(agora_lace_store *st)
{
	uint64_t sb, se;

	agora_lace_traj_window(st, &sb, &se);
	assert_true(sb < se);
	for (uint64_t p = sb; p < se; p++) {
		const agora__lace_slot *s = &st->slots[p % CAP];
		uint64_t eb = s->ep_begin > sb ? s->ep_begin : sb;
		uint64_t ee = s->ep_end == -1 ? se : (uint64_t)s->ep_end;

		assert_true(eb <= p && p < ee);
		if (p + 1 == se) {
			continue;
		}
		if (p + 1 != ee) {
			assert_int_equal(tid_at(st, p), tid_at(st, p + 1));
		} else {
			assert_int_not_equal(tid_at(st, p), tid_at(st, p + 1));
		}
	}
}

/* Window sample [begin, end) of field at every sampleable row. */
typedef struct win {
	size_t n, width;
	int32_t v[CAP * 8];
	bool valid[CAP * 8];
	size_t rows[CAP];
} win;

static void
sample_all(agora_lace_store *st, const char *field, int begin, int end, win *w)
{
	size_t force[CAP];
	uint64_t sb, se;

	agora_lace_traj_window(st, &sb, &se);
	w->n = (size_t)(se - sb);
	w->width = (size_t)(end - begin);
	for (size_t i = 0; i < w->n; i++) {
		force[i] = (size_t)sb + i; /* positions, as the window gives */
	}
	AGORA_PASS(agora_lace_traj_sample(st, w->n, field, begin, end, force,
	                                  w->v, w->valid, w->rows));
}

static void
basic_insert_and_forced_sample(void **state)
{
	agora_lace_store *st = mk(0);
	size_t force[45];
	int32_t index[45];
	bool valid[45];
	size_t rows[45];

	(void)state;
	traj_add(st, 10, 0, true);
	traj_add(st, 15, 1, true);
	traj_add(st, 20, 2, true);
	check_ep_metadata(st);
	window_is(st, 0, 45);
	for (size_t i = 0; i < 45; i++) {
		force[i] = i;
	}
	AGORA_PASS(agora_lace_traj_sample(st, 45, "index", 0, 1, force, index,
	                                  valid, rows));
	for (size_t i = 0; i < 45; i++) {
		int want = i < 10 ? (int)i : i < 25 ? (int)i - 10 : (int)i - 25;

		assert_true(valid[i]);
		assert_int_equal(index[i], want);
		assert_int_equal(rows[i], i);
	}
	agora_lace_store_free(st);
}

static void
insert_wrap(void **state)
{
	agora_lace_store *st = mk(0);

	(void)state;
	traj_add(st, 10, 0, true);
	traj_add(st, 15, 1, true);
	traj_add(st, 20, 2, true);
	traj_add(st, 75, 3, true);
	check_ep_metadata(st);
	window_is(st, 20, 120);
	assert_int_equal(agora_lace_store_len(st), CAP);
	assert_int_equal(agora_lace_store_latest_id(st), 119);
	agora_lace_store_free(st);
}

static const int seq_len[] = { 10, 15, 20, 75 };

static void
sequence_windows_mark_trajectory_edges(void **state)
{
	agora_lace_store *st = mk(0);
	static win tid, index, prev, next;

	(void)state;
	for (int t = 0; t < 4; t++) {
		traj_add(st, seq_len[t], t, true);
	}
	sample_all(st, "trajectory_id", 0, 1, &tid);
	sample_all(st, "index", 0, 1, &index);
	sample_all(st, "index", -3, 1, &prev);
	sample_all(st, "index", 0, 4, &next);
	assert_int_equal(tid.n, 100);
	for (size_t i = 0; i < tid.n; i++) {
		int t = tid.v[i], x = index.v[i];
		/* Trajectory 1's first 10 rows were overwritten. */
		int oldest = t == 1 ? 10 : 0;

		assert_int_not_equal(t, 0); /* wholly overwritten */
		for (int k = -3; k <= 0; k++) {
			bool in = x + k >= oldest;
			size_t j = i * 4 + (size_t)(k + 3);

			assert_int_equal(prev.valid[j], in);
			assert_int_equal(prev.v[j], in ? x + k : 0);
		}
		for (int k = 0; k < 4; k++) {
			bool in =
			    x + k < seq_len[t]; /* past the end: invalid */
			size_t j = i * 4 + (size_t)k;

			assert_int_equal(next.valid[j], in);
			assert_int_equal(next.v[j], in ? x + k : 0);
		}
	}
	agora_lace_store_free(st);
}

static void
short_window_valid_inside_trajectories(void **state)
{
	agora_lace_store *st = mk(3);
	static win tid, w;

	(void)state;
	traj_add(st, 40, 0, true);
	traj_add(st, 40, 1, true);
	traj_add(st, 40, 2, true);
	window_is(st, 20, 120);
	sample_all(st, "trajectory_id", 0, 1, &tid);
	sample_all(st, "index", -1, 2, &w);
	/* Agentlace moves each row inward so its whole range is valid; here
	 * the row stays and the mask says which neighbours exist. */
	for (size_t i = 0; i < w.n; i++) {
		int x = w.v[i * 3 + 1];
		int oldest = tid.v[i] == 0 ? 20 : 0;

		assert_true(w.valid[i * 3 + 1]);
		assert_int_equal(w.valid[i * 3], x - 1 >= oldest);
		assert_int_equal(w.valid[i * 3 + 2], x + 1 < 40);
		if (x - 1 >= oldest && x + 1 < 40) {
			assert_int_equal(w.v[i * 3], x - 1);
			assert_int_equal(w.v[i * 3 + 2], x + 1);
		}
	}
	agora_lace_store_free(st);
}

/* n random latest samples of trajectory_id; how many are t. */
static size_t
draws_of(agora_lace_store *st, size_t n, int t)
{
	int32_t v[200];
	bool valid[200];
	size_t hits = 0;

	assert_true(n <= 200);
	AGORA_PASS(agora_lace_traj_sample(st, n, "trajectory_id", 0, 1, NULL, v,
	                                  valid, NULL));
	for (size_t i = 0; i < n; i++) {
		assert_true(valid[i]);
		hits += v[i] == t;
	}
	return hits;
}

static void
too_short_trajectory_is_dropped(void **state)
{
	agora_lace_store *st = mk(3);
	int32_t ids[CAP * 3];
	void *cols[3] = { ids, ids + (size_t)CAP, ids + (size_t)2 * CAP };
	int64_t first;
	size_t n;
	uint64_t gap;

	(void)state;
	traj_add(st, 10, 0, true);
	traj_add(st, 2, 1, true);
	window_is(st, 0, 10);
	assert_int_equal(draws_of(st, 100, 0), 100);
	assert_int_equal(agora_lace_store_len(st), 10);
	assert_int_equal(agora_lace_store_latest_id(st), 11);
	/* The 2 dropped rows' ids (10, 11) are never given: a gap. */
	AGORA_PASS(agora_lace_store_since(st, 9, CAP, &first, &n, &gap, cols));
	assert_int_equal(n, 0);
	assert_int_equal(gap, 2);
	assert_int_equal(first, 12);
	traj_add(st, 5, 1, true);
	AGORA_PASS(agora_lace_store_since(st, 9, CAP, &first, &n, &gap, cols));
	assert_int_equal(first, 12);
	assert_int_equal(gap, 2);
	assert_int_equal(n, 5);
	assert_int_equal(ids[(size_t)2 * CAP], 1); /* trajectory_id */
	AGORA_PASS(agora_lace_store_since(st, -1, CAP, &first, &n, &gap, cols));
	assert_int_equal(first, 0);
	assert_int_equal(n, 10); /* one run: ids 0..9, then the hole */
	assert_int_equal(gap, 0);
	agora_lace_store_free(st);
}

static void
trajectory_too_short_by_overwrite_leaves_window(void **state)
{
	agora_lace_store *st = mk(3);
	static win tid;

	(void)state;
	for (int t = 0; t < 10; t++) {
		traj_add(st, 10, t, true);
	}
	traj_add(st, 8, 10, true);
	window_is(st, 10, 108);
	sample_all(st, "trajectory_id", -1, 2, &tid);
	for (size_t i = 0; i < tid.n; i++) {
		assert_true(tid.valid[i * 3 + 1]);
		for (size_t k = 0; k < 3; k++) {
			if (tid.valid[i * 3 + k]) {
				assert_int_not_equal(tid.v[i * 3 + k], 0);
			}
		}
	}
	assert_int_equal(draws_of(st, 200, 0), 0);
	agora_lace_store_free(st);
}

static void
in_progress_trajectory_is_sampled(void **state)
{
	agora_lace_store *st = mk(3);

	(void)state;
	traj_add(st, 10, 0, true);
	traj_add(st, 10, 1, false);
	window_is(st, 0, 20);
	assert_true(draws_of(st, 100, 1) > 0);
	agora_lace_store_free(st);
}

static void
in_progress_too_short_is_not(void **state)
{
	agora_lace_store *st = mk(3);
	static win tid;

	(void)state;
	traj_add(st, 10, 0, true);
	traj_add(st, 1, 1, false);
	window_is(st, 0, 10);
	sample_all(st, "trajectory_id", 0, 1, &tid);
	for (size_t i = 0; i < tid.n; i++) {
		assert_int_equal(tid.v[i], 0);
	}
	assert_int_equal(draws_of(st, 100, 0), 100);
	traj_add(st, 2, 1, false); /* now 3 long: sampleable */
	window_is(st, 0, 13);
	agora_lace_store_free(st);
}

static void
save_and_load_keep_the_window(void **state)
{
	agora_lace_store *a = mk(0), *b = mk(0), *other = mk(3);
	char dir[] = "/tmp/agora-traj-XXXXXX";
	char *path;
	char err[256];
	int32_t va[150], vb[150];
	bool valid[150];

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = agora_sprintf("%s/traj.store", dir);
	for (int t = 0; t < 10; t++) {
		traj_add(a, 5, t, true);
	}
	for (int t = 0; t < 8; t++) {
		traj_add(a, 8, t, true);
	}
	window_is(a, 15, 114);
	AGORA_PASS(agora_lace_store_save(a, path, err, sizeof(err)));
	AGORA_PASS(agora_lace_store_load(b, path, err, sizeof(err)));
	window_is(b, 15, 114); /* restored, unlike Agentlace */
	assert_int_equal(agora_lace_store_len(b), agora_lace_store_len(a));
	assert_int_equal(agora_lace_store_latest_id(b), 113);
	assert_memory_equal(a->cols[0], b->cols[0], CAP * 4); /* data */
	assert_memory_equal(a->slots, b->slots, CAP * sizeof(*a->slots));
	/* Both go on alike: the trajectory in progress, the generator. */
	traj_add(a, 4, 99, true);
	traj_add(b, 4, 99, true);
	window_is(b, 18, 118);
	AGORA_PASS(agora_lace_traj_sample(a, 150, "index", 0, 1, NULL, va,
	                                  valid, NULL));
	AGORA_PASS(agora_lace_traj_sample(b, 150, "index", 0, 1, NULL, vb,
	                                  valid, NULL));
	assert_memory_equal(va, vb, sizeof(va));
	AGORA_FAIL(agora_lace_store_load(other, path, err, sizeof(err)),
	           AGORA_EINVAL);
	assert_non_null(strstr(err, "min_traj_len: the file's is 2, the "
	                            "store's 3"));
	window_is(other, 0, 0);
	agora_free(path);
	t_rm_rf(dir);
	agora_lace_store_free(a);
	agora_lace_store_free(b);
	agora_lace_store_free(other);
}

static void
bad_window_samples_are_refused(void **state)
{
	agora_lace_store *st = mk(3);
	int32_t v[8];
	bool valid[8];
	size_t force = 12;

	(void)state;
	AGORA_FAIL(
	    agora_lace_traj_sample(st, 1, "index", 0, 1, NULL, v, valid, NULL),
	    AGORA_ENOTFOUND); /* nothing to sample yet */
	AGORA_FAIL(agora_lace_store_sample(st, 1, (void *[]){ v, v, v }),
	           AGORA_ENOTFOUND);
	traj_add(st, 10, 0, true);
	AGORA_FAIL(
	    agora_lace_traj_sample(st, 1, "nope", 0, 1, NULL, v, valid, NULL),
	    AGORA_ENOTFOUND);
	AGORA_FAIL(
	    agora_lace_traj_sample(st, 1, "index", 1, 1, NULL, v, valid, NULL),
	    AGORA_EINVAL);
	AGORA_FAIL(agora_lace_traj_sample(st, 1, "index", 0, 1, NULL, NULL,
	                                  valid, NULL),
	           AGORA_EINVAL);
	AGORA_FAIL(agora_lace_traj_sample(st, 1, "index", 0, 1, &force, v,
	                                  valid, NULL),
	           AGORA_EINVAL); /* slot 12 holds no row */
	force = 9;
	AGORA_PASS(agora_lace_traj_sample(st, 1, "index", -2, 2, &force, v,
	                                  valid, NULL));
	assert_int_equal(v[0], 7); /* rows 7, 8, 9 and past the end */
	assert_int_equal(v[1], 8);
	assert_int_equal(v[2], 9);
	assert_int_equal(v[3], 0);
	assert_true(valid[0] && valid[1] && valid[2] && !valid[3]);
	AGORA_PASS(
	    agora_lace_store_sample(st, 2, (void *[]){ v, v + 2, v + 4 }));
	assert_int_equal(v[4], 0); /* trajectory_id */
	agora_lace_store_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(basic_insert_and_forced_sample),
		cmocka_unit_test(insert_wrap),
		cmocka_unit_test(sequence_windows_mark_trajectory_edges),
		cmocka_unit_test(short_window_valid_inside_trajectories),
		cmocka_unit_test(too_short_trajectory_is_dropped),
		cmocka_unit_test(
		    trajectory_too_short_by_overwrite_leaves_window),
		cmocka_unit_test(in_progress_trajectory_is_sampled),
		cmocka_unit_test(in_progress_too_short_is_not),
		cmocka_unit_test(save_and_load_keep_the_window),
		cmocka_unit_test(bad_window_samples_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
