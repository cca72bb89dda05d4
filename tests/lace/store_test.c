/* SPDX-License-Identifier: MIT */
/* Datastores, queued and replay: Agentlace's test_queued_data_store (where
 * a cursor older than the oldest row is told its gap instead of silently
 * getting all rows), seeded replay sampling over a ring, inserts racing a
 * reader, bad input, and files saved, loaded, cut short and corrupted. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agora/lace.h"
#include "test.h"

static const agora_lace_field one_i64[] = {
	{ .name = "v", .dtype = AGORA_LACE_I64 },
};

static agora_lace_store *
mk(agora_lace_store_kind kind, size_t capacity, uint64_t seed)
{
	agora_lace_store_opts o = { .kind = kind,
		                    .capacity = capacity,
		                    .fields = one_i64,
		                    .nfields = 1,
		                    .seed = seed };
	agora_lace_store *st = NULL;
	char err[256];

	AGORA_PASS(agora_lace_store_new(&st, &o, err, sizeof(err)));
	return st;
}

static void
ins(agora_lace_store *st, int64_t from, int64_t to)
{
	int64_t v[64];
	const void *cols[1] = { v };
	size_t n = 0;

	for (int64_t x = from; x <= to; x++) {
		v[n++] = x;
	}
	AGORA_PASS(agora_lace_store_insert(st, n, cols));
}

typedef struct got {
	int64_t v[64];
	int64_t first;
	size_t n;
	uint64_t gap;
} got;

static got
since(agora_lace_store *st, int64_t after, size_t max_n)
{
	got g;
	void *cols[1] = { g.v };

	memset(&g, 0, sizeof(g));
	AGORA_PASS(agora_lace_store_since(st, after, max_n, &g.first, &g.n,
	                                  &g.gap, cols));
	return g;
}

static void
got_is(const got *g, int64_t first, uint64_t gap, int64_t from, int64_t to)
{
	assert_int_equal(g->first, first);
	assert_int_equal(g->gap, gap);
	assert_int_equal(g->n, to >= from ? (size_t)(to - from + 1) : 0);
	for (size_t i = 0; i < g->n; i++) {
		assert_int_equal(g->v[i], from + (int64_t)i);
	}
}

/* test_trainer.py::test_queued_data_store, capacity 6. */
static void
queued_store_as_agentlace_with_gaps_told(void **state)
{
	agora_lace_store *st = mk(AGORA_LACE_QUEUED, 6, 0);
	int64_t id2, id6;
	got g;

	(void)state;
	assert_int_equal(agora_lace_store_len(st), 0);
	assert_int_equal(agora_lace_store_latest_id(st), -1);
	ins(st, 1, 2);
	assert_int_equal(agora_lace_store_len(st), 2);
	id2 = agora_lace_store_latest_id(st);
	assert_int_equal(id2, 1);
	g = since(st, id2, 64);
	got_is(&g, 2, 0, 1, 0); /* nothing after id2 */

	ins(st, 3, 3);
	assert_int_equal(agora_lace_store_len(st), 3);
	g = since(st, id2, 64);
	got_is(&g, 2, 0, 3, 3);

	ins(st, 4, 6);
	assert_int_equal(agora_lace_store_len(st), 6);
	id6 = agora_lace_store_latest_id(st);

	ins(st, 7, 9); /* 1, 2, 3 go */
	assert_int_equal(agora_lace_store_len(st), 6);
	/* Agentlace gives [4..9] and says nothing of 3, which id2 never
	 * read; here the same rows come with the gap of one. */
	g = since(st, id2, 64);
	got_is(&g, 3, 1, 4, 9);
	g = since(st, id6, 64);
	got_is(&g, 6, 0, 7, 9);

	ins(st, 10, 17); /* more than the capacity at once */
	assert_int_equal(agora_lace_store_len(st), 6);
	assert_int_equal(agora_lace_store_latest_id(st), 16);
	g = since(st, -1, 64);
	got_is(&g, 11, 11, 12, 17);
	assert_int_equal(g.v[g.n - 1], 17); /* the newest held is 17 */
	g = since(st, id6, 64);
	got_is(&g, 11, 5, 12, 17); /* 7..11 were dropped unread */
	agora_lace_store_free(st);
}

static void
since_pages_and_bounds_cursors(void **state)
{
	agora_lace_store *st = mk(AGORA_LACE_QUEUED, 10, 0);
	got g;

	(void)state;
	g = since(st, -1, 4);
	got_is(&g, 0, 0, 1, 0); /* empty: the next id is 0 */
	ins(st, 100, 109);
	g = since(st, -1, 4);
	got_is(&g, 0, 0, 100, 103);
	g = since(st, g.first + (int64_t)g.n - 1, 4);
	got_is(&g, 4, 0, 104, 107);
	g = since(st, 7, 4);
	got_is(&g, 8, 0, 108, 109);
	g = since(st, -50, 2); /* any cursor below -1 is -1 */
	got_is(&g, 0, 0, 100, 101);
	g = since(st, 9, 4); /* up to date */
	got_is(&g, 10, 0, 1, 0);
	g = since(st, 1000, 4); /* ahead: nothing, no gap */
	got_is(&g, 10, 0, 1, 0);
	ins(st, 110, 129);
	g = since(st, 3, 0); /* no room: only the gap and the next id */
	got_is(&g, 20, 16, 1, 0);
	agora_lace_store_free(st);
}

static void
replay_samples_are_seeded_and_held(void **state)
{
	agora_lace_store *a = mk(AGORA_LACE_REPLAY, 8, 42);
	agora_lace_store *b = mk(AGORA_LACE_REPLAY, 8, 42);
	agora_lace_store *c = mk(AGORA_LACE_REPLAY, 8, 43);
	int64_t da[500], db[500], dc[500];
	void *ca[1] = { da }, *cb[1] = { db }, *cc[1] = { dc };
	bool seen[8] = { false };
	uint64_t begin, end;

	(void)state;
	AGORA_FAIL(agora_lace_store_sample(a, 1, ca), AGORA_ENOTFOUND);
	for (agora_lace_store **s = (agora_lace_store *[]){ a, b, c, NULL };
	     *s != NULL; s++) {
		ins(*s, 0, 12);
		ins(*s, 13, 19); /* the ring wraps: 12..19 held */
	}
	agora_lace_traj_window(a, &begin, &end);
	assert_int_equal(begin, 12);
	assert_int_equal(end, 20);
	AGORA_PASS(agora_lace_store_sample(a, 500, ca));
	AGORA_PASS(agora_lace_store_sample(b, 500, cb));
	AGORA_PASS(agora_lace_store_sample(c, 500, cc));
	assert_memory_equal(da, db, sizeof(da));
	assert_memory_not_equal(da, dc, sizeof(da));
	for (size_t i = 0; i < 500; i++) {
		assert_in_range(da[i], 12, 19);
		seen[da[i] - 12] = true;
	}
	for (size_t i = 0; i < 8; i++) {
		assert_true(seen[i]); /* 500 draws reach every row held */
	}
	agora_lace_store_free(a);
	agora_lace_store_free(b);
	agora_lace_store_free(c);
}

/* ---- two writers and a reader ------------------------------------------ */

#define RACE_ROWS 20000

static const agora_lace_field race_fields[] = {
	{ .name = "writer", .dtype = AGORA_LACE_I32 },
	{ .name = "seq", .dtype = AGORA_LACE_I64 },
	{ .name = "batch_end", .dtype = AGORA_LACE_I64 },
};

typedef struct race {
	agora_lace_store *st;
	int32_t writer;
} race;

static void *
race_write(void *arg)
{
	race *r = arg;
	int32_t w[4];
	int64_t seq[4], bend[4];
	const void *cols[3] = { w, seq, bend };
	uint32_t x = 2463534242u + (uint32_t)r->writer;

	for (int64_t s = 0; s < RACE_ROWS;) {
		size_t n;

		x ^= x << 13; /* xorshift32: batches of 1 to 4 rows */
		x ^= x >> 17;
		x ^= x << 5;
		n = 1 + x % 4;

		if (s + (int64_t)n > RACE_ROWS) {
			n = (size_t)(RACE_ROWS - s);
		}
		for (size_t i = 0; i < n; i++) {
			w[i] = r->writer;
			seq[i] = s + (int64_t)i;
			bend[i] = s + (int64_t)n;
		}
		if (agora_lace_store_insert(r->st, n, cols) != AGORA_OK) {
			return (void *)1;
		}
		s += (int64_t)n;
		sched_yield(); /* let the reader in, to see rows as well */
	}
	return NULL;
}

typedef struct race_seen {
	int64_t next[2]; /* the least seq each writer may show next */
	uint64_t rows, gaps;
	int64_t cursor;
} race_seen;

/* Read what follows the cursor and check it: ids follow the cursor (after
 * the gap told), each writer's rows rise, a batch's rows have
 * consecutive ids. */
static size_t
race_read(agora_lace_store *st, race_seen *rs)
{
	int32_t w[16];
	int64_t seq[16], bend[16], first;
	void *cols[3] = { w, seq, bend };
	size_t n;
	uint64_t gap;

	AGORA_PASS(
	    agora_lace_store_since(st, rs->cursor, 16, &first, &n, &gap, cols));
	if (n == 0) {
		return 0;
	}
	assert_int_equal(first, rs->cursor + 1 + (int64_t)gap);
	for (size_t i = 0; i < n; i++) {
		assert_in_range(w[i], 0, 1);
		assert_true(seq[i] >= rs->next[w[i]]);
		rs->next[w[i]] = seq[i] + 1;
		if (i + 1 < n && seq[i] + 1 < bend[i]) {
			assert_int_equal(w[i + 1], w[i]);
			assert_int_equal(seq[i + 1], seq[i] + 1);
		}
	}
	rs->rows += n;
	rs->gaps += gap;
	rs->cursor = first + (int64_t)n - 1;
	return n;
}

static void
inserts_race_a_reader_without_loss_or_repeat(void **state)
{
	agora_lace_store_opts o = { .kind = AGORA_LACE_QUEUED,
		                    .capacity = 256,
		                    .fields = race_fields,
		                    .nfields = 3 };
	race r[2];
	pthread_t t[2];
	race_seen rs = { .cursor = -1 };
	void *rc;
	agora_lace_store *st = NULL;

	(void)state;
	AGORA_PASS(agora_lace_store_new(&st, &o, NULL, 0));
	for (int i = 0; i < 2; i++) {
		r[i] = (race){ .st = st, .writer = i };
		assert_int_equal(pthread_create(&t[i], NULL, race_write, &r[i]),
		                 0);
	}
	for (unsigned i = 1; agora_lace_store_latest_id(st) < 2 * RACE_ROWS - 1;
	     i++) {
		if (race_read(st, &rs) == 0) {
			sched_yield();
		}
		if (i % 64 == 0) { /* fall behind now and then: gaps */
			nanosleep(&(struct timespec){ .tv_nsec = 300000 },
			          NULL);
		}
	}
	while (race_read(st, &rs) > 0) {
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], &rc), 0);
		assert_null(rc);
	}
	print_message("read %llu rows, told of %llu missed\n",
	              (unsigned long long)rs.rows, (unsigned long long)rs.gaps);
	assert_int_equal(rs.rows + rs.gaps, 2 * RACE_ROWS);
	assert_int_equal(rs.cursor, 2 * RACE_ROWS - 1);
	assert_true(rs.rows >=
	            256); /* at least what the ring held at the end */
	agora_lace_store_free(st);
}

/* ---- bad input ---------------------------------------------------------- */

static agora_err
try_new(const agora_lace_store_opts *o, char *err, size_t errlen)
{
	agora_lace_store *st = NULL;
	agora_err rv = agora_lace_store_new(&st, o, err, errlen);

	agora_lace_store_free(st);
	if (rv != AGORA_OK) {
		assert_null(st);
	}
	return rv;
}

static void
bad_options_are_refused_with_reasons(void **state)
{
	agora_lace_field f[2] = { { .name = "obs",
		                    .dtype = AGORA_LACE_F32,
		                    .ndim = 1,
		                    .shape = { 3 } },
		                  { .name = "act", .dtype = AGORA_LACE_U8 } };
	agora_lace_store_opts o = { .kind = AGORA_LACE_REPLAY,
		                    .capacity = 0,
		                    .fields = f,
		                    .nfields = 2 };
	char err[256];

	(void)state;
	AGORA_FAIL(try_new(&o, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "capacity is 0"));
	o.capacity = 10;
	o.nfields = 0;
	AGORA_FAIL(try_new(&o, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "no fields"));
	o.nfields = 2;
	o.fields = NULL;
	AGORA_FAIL(try_new(&o, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "no fields"));
	o.fields = f;
	f[0].ndim = AGORA_LACE_MAX_DIM + 1;
	AGORA_FAIL(try_new(&o, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "field \"obs\": ndim 9 is over the "
	                            "maximum 8"));
	f[0].ndim = 2; /* shape[1] is 0 */
	AGORA_FAIL(try_new(&o, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "field \"obs\": shape[1] is 0"));
	f[0].ndim = 1;
	f[1].name = "obs";
	AGORA_FAIL(try_new(&o, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "field \"obs\" is named twice"));
	f[1].name = NULL;
	AGORA_FAIL(try_new(&o, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "field 1 has no name"));
	f[1].name = "act";
	f[1].dtype = AGORA_LACE_NDTYPES;
	AGORA_FAIL(try_new(&o, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "field \"act\": dtype 5 is not one of"));
	f[1].dtype = AGORA_LACE_U8;
	o.capacity = (size_t)1 << 31; /* x 13 bytes: over 16 GiB */
	AGORA_FAIL(try_new(&o, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "over the limit of 16 GiB"));
	f[0].ndim = 4;
	f[0].shape[1] = f[0].shape[2] = f[0].shape[3] = (uint64_t)1 << 40;
	o.capacity = 1;
	AGORA_FAIL(try_new(&o, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "field \"obs\": a row's size overflows"));
	f[0].ndim = 1;
	o.kind = AGORA_LACE_TRAJECTORY;
	o.capacity = 3;
	o.min_traj_len = 4;
	AGORA_FAIL(try_new(&o, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "min_traj_len 4 is over the capacity 3"));
	o.kind = (agora_lace_store_kind)7;
	AGORA_FAIL(try_new(&o, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "kind 7 is not"));
	AGORA_FAIL(try_new(NULL, NULL, 0), AGORA_EINVAL);
}

static void
bad_calls_are_refused(void **state)
{
	agora_lace_store *q = mk(AGORA_LACE_QUEUED, 4, 0);
	int64_t v[4] = { 1, 2, 3, 4 }, first;
	const void *in[1] = { v };
	const void *in_null[1] = { NULL };
	void *out[1] = { v };
	void *out_null[1] = { NULL };
	size_t n;
	uint64_t gap;
	bool valid[4];

	(void)state;
	AGORA_FAIL(agora_lace_store_insert(q, 1, NULL), AGORA_EINVAL);
	AGORA_FAIL(agora_lace_store_insert(q, 1, in_null), AGORA_EINVAL);
	AGORA_PASS(agora_lace_store_insert(q, 0, in));
	assert_int_equal(agora_lace_store_latest_id(q), -1);
	AGORA_FAIL(agora_lace_store_since(q, -1, 4, &first, &n, &gap, NULL),
	           AGORA_EINVAL);
	AGORA_FAIL(agora_lace_store_since(q, -1, 4, &first, &n, &gap, out_null),
	           AGORA_EINVAL);
	AGORA_FAIL(agora_lace_store_since(q, -1, 4, NULL, &n, &gap, out),
	           AGORA_EINVAL);
	AGORA_PASS(agora_lace_store_insert(q, 4, in));
	AGORA_FAIL(agora_lace_store_sample(q, 1, out), AGORA_EINVAL);
	AGORA_FAIL(agora_lace_traj_end(q), AGORA_EINVAL);
	AGORA_FAIL(
	    agora_lace_traj_sample(q, 1, "v", 0, 1, NULL, v, valid, NULL),
	    AGORA_EINVAL);
	agora_lace_store_free(q);
	agora_lace_store_free(NULL);
}

static void
schema_and_dtypes(void **state)
{
	agora_lace_field f[2] = { { .name = "obs \"x\"",
		                    .dtype = AGORA_LACE_F64,
		                    .ndim = 2,
		                    .shape = { 2, 3 } },
		                  { .name = "r", .dtype = AGORA_LACE_I32 } };
	agora_lace_store_opts o = { .kind = AGORA_LACE_QUEUED,
		                    .capacity = 2,
		                    .fields = f,
		                    .nfields = 2 };
	agora_lace_array a = { .dtype = AGORA_LACE_F32,
		               .ndim = 3,
		               .shape = { 2, 3, 4 } };
	agora_lace_store *st = NULL;
	agora_lace_dtype t;
	agora_buf b;

	(void)state;
	AGORA_PASS(agora_lace_store_new(&st, &o, NULL, 0));
	f[0].name = "changed"; /* the store keeps its own copy */
	agora_buf_init(&b, 0);
	AGORA_PASS(agora_lace_store_schema(st, &b));
	assert_string_equal(
	    b.data, "[{\"name\":\"obs \\\"x\\\"\",\"dtype\":\"float64\","
	            "\"shape\":[2,3]},{\"name\":\"r\",\"dtype\":\"int32\","
	            "\"shape\":[]}]");
	agora_buf_fini(&b);
	assert_int_equal(agora_lace_store_nfields(st), 2);
	assert_string_equal(agora_lace_store_field(st, 0)->name, "obs \"x\"");
	assert_null(agora_lace_store_field(st, 2));
	assert_int_equal(agora_lace_store_kind_of(st), AGORA_LACE_QUEUED);
	assert_int_equal(agora_lace_store_capacity(st), 2);
	agora_lace_store_free(st);

	AGORA_PASS(agora_lace_dtype_parse("uint8", &t));
	assert_int_equal(t, AGORA_LACE_U8);
	AGORA_FAIL(agora_lace_dtype_parse("float16", &t), AGORA_EINVAL);
	assert_string_equal(agora_lace_dtype_name(AGORA_LACE_I64), "int64");
	assert_null(agora_lace_dtype_name(AGORA_LACE_NDTYPES));
	assert_int_equal(agora_lace_dtype_size(AGORA_LACE_F64), 8);
	assert_int_equal(agora_lace_array_count(&a), 24);
	assert_int_equal(agora_lace_array_bytes(&a), 96);
	a.ndim = 0;
	assert_int_equal(agora_lace_array_count(&a), 1); /* a scalar */
	a.ndim = 3;
	a.shape[0] = a.shape[1] = (uint64_t)1 << 32;
	assert_int_equal(agora_lace_array_count(&a), 0); /* overflows */
	a.shape[0] = a.shape[1] = (uint64_t)1 << 31;
	a.shape[2] = 1;
	assert_int_equal(agora_lace_array_count(&a), (size_t)1 << 62);
	assert_int_equal(agora_lace_array_bytes(&a), 0); /* x 4 overflows */
	a.ndim = AGORA_LACE_MAX_DIM + 1;
	assert_int_equal(agora_lace_array_count(&a), 0);
}

/* ---- files --------------------------------------------------------------- */

static char tmpdir[64];

static int
files_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/agora-store-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
files_teardown(void **state)
{
	(void)state;
	t_rm_rf(tmpdir);
	return 0;
}

static void
saved_stores_load_and_refuse_other_shapes(void **state)
{
	agora_lace_store *a = mk(AGORA_LACE_REPLAY, 8, 1);
	agora_lace_store *b = mk(AGORA_LACE_REPLAY, 8, 1);
	agora_lace_store *q = mk(AGORA_LACE_QUEUED, 8, 1);
	agora_lace_store *small = mk(AGORA_LACE_REPLAY, 4, 1);
	agora_lace_field f = { .name = "w", .dtype = AGORA_LACE_I64 };
	agora_lace_store_opts o = { .kind = AGORA_LACE_REPLAY,
		                    .capacity = 8,
		                    .fields = &f,
		                    .nfields = 1 };
	agora_lace_store *named = NULL;
	char *path = agora_sprintf("%s/replay.store", tmpdir);
	char err[256];
	int64_t da[50], db[50];
	void *ca[1] = { da }, *cb[1] = { db };
	got g;

	(void)state;
	ins(a, 0, 10);
	AGORA_PASS(agora_lace_store_sample(a, 3, ca)); /* move the rng */
	AGORA_PASS(agora_lace_store_save(a, path, err, sizeof(err)));
	AGORA_PASS(agora_lace_store_load(b, path, err, sizeof(err)));
	assert_int_equal(agora_lace_store_len(b), 8);
	assert_int_equal(agora_lace_store_latest_id(b), 10);
	g = since(b, 1, 64);
	got_is(&g, 3, 1, 3, 10);
	AGORA_PASS(agora_lace_store_sample(a, 50, ca));
	AGORA_PASS(agora_lace_store_sample(b, 50, cb));
	assert_memory_equal(da, db, sizeof(da)); /* the rng came too */

	AGORA_FAIL(agora_lace_store_load(q, path, err, sizeof(err)),
	           AGORA_EINVAL);
	assert_non_null(strstr(err, "kind: the file's is replay, the "
	                            "store's queued"));
	AGORA_FAIL(agora_lace_store_load(small, path, err, sizeof(err)),
	           AGORA_EINVAL);
	assert_non_null(
	    strstr(err, "capacity: the file's is 8, the store's 4"));
	AGORA_PASS(agora_lace_store_new(&named, &o, NULL, 0));
	AGORA_FAIL(agora_lace_store_load(named, path, err, sizeof(err)),
	           AGORA_EINVAL);
	assert_non_null(strstr(err, "field 0: the file's is \"v\", the "
	                            "store's \"w\""));
	assert_int_equal(agora_lace_store_latest_id(named), -1);
	AGORA_FAIL(agora_lace_store_load(b, "/nonexistent/x", err, sizeof(err)),
	           AGORA_ENOTFOUND);
	assert_int_equal(
	    agora_lace_store_save(a, "/nonexistent/x", err, sizeof(err)),
	    AGORA_ESYS);
	assert_non_null(strstr(err, "cannot create"));
	agora_lace_store_free(named);
	f.dtype = AGORA_LACE_F64;
	f.name = "v";
	AGORA_PASS(agora_lace_store_new(&named, &o, NULL, 0));
	AGORA_FAIL(agora_lace_store_load(named, path, err, sizeof(err)),
	           AGORA_EINVAL);
	assert_non_null(strstr(err, "field \"v\": the file's is int64"));
	agora_lace_store_free(named);
	agora_lace_store_free(a);
	agora_lace_store_free(b);
	agora_lace_store_free(q);
	agora_lace_store_free(small);
	agora_free(path);
}

static unsigned char *
slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = agora_malloc(1 << 16);

	assert_non_null(f);
	*lenp = fread(p, 1, 1 << 16, f);
	assert_true(*lenp > 0 && *lenp < (1 << 16));
	fclose(f);
	return p;
}

static void
spill(const char *path, const unsigned char *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Write the FNV-1a of all but the last 8 bytes into them. */
static void
rehash(unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i + 8 < len; i++) {
		h = (h ^ p[i]) * 0x100000001b3ULL;
	}
	for (int i = 0; i < 8; i++) {
		p[len - 8 + (size_t)i] = (unsigned char)(h >> (8 * i));
	}
}

/* Every prefix of a good file and every one-byte change is refused, and
 * leaves the store as it was. */
static void
cut_or_corrupted_files_are_refused(void **state)
{
	agora_lace_store *a = mk(AGORA_LACE_REPLAY, 8, 1);
	agora_lace_store *b = mk(AGORA_LACE_REPLAY, 8, 1);
	char *path = agora_sprintf("%s/good.store", tmpdir);
	char *bad = agora_sprintf("%s/bad.store", tmpdir);
	char err[256];
	unsigned char *p;
	size_t len;

	(void)state;
	ins(a, 0, 11);
	ins(b, 500, 502);
	AGORA_PASS(agora_lace_store_save(a, path, err, sizeof(err)));
	p = slurp(path, &len);
	for (size_t cut = 0; cut < len; cut++) {
		spill(bad, p, cut);
		AGORA_FAIL(agora_lace_store_load(b, bad, err, sizeof(err)),
		           AGORA_EPROTO);
		assert_non_null(strstr(err, bad));
	}
	for (size_t i = 0; i < len; i++) {
		p[i] ^= 0x41;
		spill(bad, p, len);
		assert_int_not_equal(
		    agora_lace_store_load(b, bad, err, sizeof(err)), AGORA_OK);
		p[i] ^= 0x41;
	}
	/* Right checksum, impossible bookkeeping: pos (after the 49-byte
	 * header of this schema) far past what the ring holds. */
	p[49 + 1] ^= 0x10;
	rehash(p, len);
	spill(bad, p, len);
	AGORA_FAIL(agora_lace_store_load(b, bad, err, sizeof(err)),
	           AGORA_EPROTO);
	assert_non_null(strstr(err, "bookkeeping is inconsistent"));
	p[49 + 1] ^= 0x10;
	rehash(p, len);
	p = agora_realloc(p, len + 1);
	p[len] = 0; /* one byte too many */
	spill(bad, p, len + 1);
	AGORA_FAIL(agora_lace_store_load(b, bad, err, sizeof(err)),
	           AGORA_EPROTO);
	assert_non_null(strstr(err, "truncated or not one"));
	assert_int_equal(agora_lace_store_latest_id(b), 2);
	assert_int_equal(agora_lace_store_len(b), 3);
	got_is((got[]){ since(b, -1, 64) }, 0, 0, 500, 502);
	spill(bad, p, len); /* and the good bytes load */
	AGORA_PASS(agora_lace_store_load(b, bad, err, sizeof(err)));
	assert_int_equal(agora_lace_store_latest_id(b), 11);
	agora_free(p);
	agora_free(path);
	agora_free(bad);
	agora_lace_store_free(a);
	agora_lace_store_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(queued_store_as_agentlace_with_gaps_told),
		cmocka_unit_test(since_pages_and_bounds_cursors),
		cmocka_unit_test(replay_samples_are_seeded_and_held),
		cmocka_unit_test(inserts_race_a_reader_without_loss_or_repeat),
		cmocka_unit_test(bad_options_are_refused_with_reasons),
		cmocka_unit_test(bad_calls_are_refused),
		cmocka_unit_test(schema_and_dtypes),
		cmocka_unit_test(saved_stores_load_and_refuse_other_shapes),
		cmocka_unit_test(cut_or_corrupted_files_are_refused),
	};

	return cmocka_run_group_tests(tests, files_setup, files_teardown);
}
