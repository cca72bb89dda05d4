/* SPDX-License-Identifier: MIT */
/* The trainer pair, as Agentlace's test_trainer and its stress test use it
 * (reference A.10), made strict: exact counts after every update, no
 * duplicate ever under lost requests and replies, gaps reported, cursors
 * per client, custom requests with a rate limit, async updates and
 * networks published to every client. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/json.h"
#include "agora/lace.h"
#include "agora/transport.h"
#include "frame.h" /* to send a push twice, as nng resends one */
#include "test.h"

static const char *const types[] = { "get-stats" };
static const agora_lace_config trainer_cfg = {
	.kind = AGORA_LACE_TRAINER,
	.version = "0.0.2",
	.request_types = types,
	.nrequest_types = 1,
};

static agora_lace_store *
store(agora_lace_store_kind kind, size_t cap, uint64_t width)
{
	agora_lace_field f = { .name = "x",
		               .dtype = AGORA_LACE_I64,
		               .ndim = 1,
		               .shape = { width } };
	agora_lace_store_opts o = {
		.kind = kind, .capacity = cap, .fields = &f, .nfields = 1
	};
	agora_lace_store *st = NULL;
	char err[256];

	AGORA_PASS(agora_lace_store_new(&st, &o, err, sizeof(err)));
	return st;
}

/* One row: width values from v. */
static void
put(agora_lace_store *st, const int64_t *v)
{
	const void *cols[1] = { v };

	AGORA_PASS(agora_lace_store_insert(st, 1, cols));
}

static agora_err
on_request(void *arg, const char *type, const agora_lace_payload *in,
           agora_lace_out *out, char *err, size_t errlen)
{
	const char *ok = "{\"trainer-status\":\"it's working\"}";

	(void)arg;
	(void)in;
	(void)err;
	(void)errlen;
	assert_string_equal(type, "get-stats");
	return agora_lace_out_json(out, ok, strlen(ok));
}

static atomic_int data_calls;

/* Takes 0-24 ms after the rows are in: with the client's tight timeouts
 * many answers come too late, after the server took the rows. */
static agora_err
slow_on_data(void *arg, const char *name, const agora_lace_payload *in,
             agora_lace_out *out, char *err, size_t errlen)
{
	int n = atomic_fetch_add(&data_calls, 1);

	(void)arg;
	(void)name;
	(void)in;
	(void)out;
	(void)err;
	(void)errlen;
	agora_sleep_ms((n * 7) % 25);
	return AGORA_OK;
}

static agora_lace_server *
trainer_with(const char *url, agora_lace_store *t1, agora_lace_store *t2,
             agora_lace_fn on_data)
{
	agora_lace_server_opts o = { .url = url,
		                     .request = on_request,
		                     .on_data = on_data };
	agora_lace_server *s = NULL;
	char err[256];

	AGORA_PASS(
	    agora_lace_server_new(&s, &trainer_cfg, &o, err, sizeof(err)));
	AGORA_PASS(agora_lace_server_add_store(s, "table1", t1));
	if (t2 != NULL) {
		AGORA_PASS(agora_lace_server_add_store(s, "table2", t2));
	}
	AGORA_PASS(agora_lace_server_start(s, err, sizeof(err)));
	return s;
}

static agora_lace_server *
trainer(const char *url, agora_lace_store *t1, agora_lace_store *t2)
{
	return trainer_with(url, t1, t2, NULL);
}

static agora_lace_client *
client(const char *url, const char *name, int64_t min_interval)
{
	agora_lace_client_opts o = { .url = url,
		                     .name = name,
		                     .timeout_ms = 5000,
		                     .min_interval_ms = min_interval };
	agora_lace_client *c = NULL;
	char err[256];

	if (agora_lace_client_open(&c, &trainer_cfg, &o, err, sizeof(err)) !=
	    AGORA_OK) {
		fail_msg("client: %s", err);
	}
	return c;
}

static void
url_for(char *url, size_t n, const char *what)
{
	snprintf(url, n, "ipc:///tmp/agora-trainer-%d-%s.sock", (int)getpid(),
	         what);
}

struct net {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	uint64_t seq;
	float v[4];
	size_t n;
};

static void
on_network(void *arg, uint64_t seq, const agora_lace_payload *p)
{
	struct net *n = arg;

	pthread_mutex_lock(&n->lock);
	n->seq = seq;
	n->n = p->narrays == 1 ? agora_lace_array_count(&p->arrays[0]) : 0;
	if (n->n == 4) {
		memcpy(n->v, p->arrays[0].data, sizeof(n->v));
	}
	pthread_cond_broadcast(&n->cv);
	pthread_mutex_unlock(&n->lock);
}

static void
two_stores_exact_counts_requests_and_a_network(void **state)
{
	char url[128], err[256];
	agora_lace_store *t1 = store(AGORA_LACE_REPLAY, 6, 3);
	agora_lace_store *t2 = store(AGORA_LACE_REPLAY, 6, 3);
	agora_lace_store *a = store(AGORA_LACE_QUEUED, 3, 3);
	agora_lace_store *b = store(AGORA_LACE_QUEUED, 3, 3);
	agora_lace_server *s;
	agora_lace_client *c;
	agora_lace_msg *m = NULL;
	uint64_t gaps = 9;
	const int64_t r1[3] = { 1, 2, 3 }, r2[3] = { 4, 5, 6 },
	              r3[3] = { 7, 8, 9 }, r4[3] = { 10, 11, 12 },
	              b1[3] = { 30, 31, 32 };
	float weights[4] = { 100, 200, 300, 400 };
	agora_lace_array w = { .dtype = AGORA_LACE_F32,
		               .ndim = 1,
		               .shape = { 4 },
		               .data = weights };
	agora_lace_payload wp = { .arrays = &w, .narrays = 1 };
	struct net net = { .lock = PTHREAD_MUTEX_INITIALIZER,
		           .cv = PTHREAD_COND_INITIALIZER };
	int64_t until;

	(void)state;
	url_for(url, sizeof(url), "two");
	s = trainer(url, t1, t2);
	assert_int_equal(agora_lace_store_len(t1), 0);
	c = client(url, "table1", 0);
	AGORA_PASS(agora_lace_client_add_store(c, "table1", a));
	AGORA_PASS(agora_lace_client_add_store(c, "table2", b));
	AGORA_PASS(agora_lace_subscribe(c, on_network, &net));

	put(a, r1);
	put(a, r2);
	AGORA_PASS(agora_lace_update(c, &gaps, err, sizeof(err)));
	assert_int_equal(gaps, 0);
	/* Synchronous: the server has them when update returns. */
	assert_int_equal(agora_lace_store_len(t1), 2);
	put(a, r3);
	put(b, b1);
	put(b, b1);
	assert_int_equal(agora_lace_store_len(t1), 2);
	assert_int_equal(agora_lace_store_len(t2), 0);
	AGORA_PASS(agora_lace_update(c, &gaps, err, sizeof(err)));
	/* Only the new rows, none twice. */
	assert_int_equal(agora_lace_store_len(t1), 3);
	assert_int_equal(agora_lace_store_len(t2), 2);
	put(a, r4);
	assert_int_equal(agora_lace_store_len(a), 3);
	AGORA_PASS(agora_lace_update(c, &gaps, err, sizeof(err)));
	assert_int_equal(agora_lace_store_len(t1), 4);
	assert_int_equal(agora_lace_store_len(t2), 2);
	/* An update with nothing new sends nothing new. */
	AGORA_PASS(agora_lace_update(c, &gaps, err, sizeof(err)));
	assert_int_equal(agora_lace_store_len(t1), 4);

	AGORA_PASS(
	    agora_lace_request(c, "get-stats", NULL, &m, err, sizeof(err)));
	assert_non_null(strstr(agora_lace_msg_payload(m)->json,
	                       "\"trainer-status\":\"it's working\""));
	agora_lace_msg_free(m);
	AGORA_FAIL(agora_lace_request(c, "invalid", NULL, &m, err, sizeof(err)),
	           AGORA_ENOTFOUND);
	assert_non_null(strstr(err, "\"invalid\""));

	AGORA_PASS(agora_lace_server_publish(s, &wp));
	until = agora_now_ms() + 10000;
	pthread_mutex_lock(&net.lock);
	while (net.seq < 1 && agora_now_ms() < until) {
		pthread_mutex_unlock(&net.lock);
		agora_sleep_ms(5);
		pthread_mutex_lock(&net.lock);
	}
	assert_int_equal(net.n, 4);
	assert_memory_equal(net.v, weights, sizeof(weights));
	net.seq = 0;
	net.n = 0;
	pthread_mutex_unlock(&net.lock);
	/* A client that subscribes later gets the current network at once
	 * (no slow-joiner loss). */
	{
		agora_lace_client *late = client(url, "late", 0);
		AGORA_PASS(agora_lace_subscribe(late, on_network, &net));
		until = agora_now_ms() + 10000;
		pthread_mutex_lock(&net.lock);
		while (net.seq < 1 && agora_now_ms() < until) {
			pthread_mutex_unlock(&net.lock);
			agora_sleep_ms(5);
			pthread_mutex_lock(&net.lock);
		}
		assert_int_equal(net.seq, 1);
		assert_memory_equal(net.v, weights, sizeof(weights));
		pthread_mutex_unlock(&net.lock);
		agora_lace_client_close(late);
	}

	agora_lace_client_close(c);
	agora_lace_server_free(s);
	agora_lace_store_free(a);
	agora_lace_store_free(b);
	agora_lace_store_free(t1);
	agora_lace_store_free(t2);
}

static void
async_updates_a_rate_limit_and_cursors_per_client(void **state)
{
	char url[128], err[256];
	agora_lace_store *t1 = store(AGORA_LACE_REPLAY, 100, 1);
	agora_lace_store *a = store(AGORA_LACE_QUEUED, 10, 1);
	agora_lace_store *a2 = store(AGORA_LACE_QUEUED, 10, 1);
	agora_lace_server *s;
	agora_lace_client *c, *c2;
	agora_lace_msg *m = NULL;
	agora_buf stores;
	int64_t until;

	(void)state;
	url_for(url, sizeof(url), "async");
	s = trainer(url, t1, NULL);
	/* Two actors push into the same store name: each its own cursor. */
	c = client(url, "actor-1", 0);
	c2 = client(url, "actor-2", 0);
	AGORA_PASS(agora_lace_client_add_store(c, "table1", a));
	AGORA_PASS(agora_lace_client_add_store(c2, "table1", a2));
	for (int64_t i = 0; i < 5; i++) {
		put(a, &i);
		put(a2, &i);
	}
	AGORA_PASS(agora_lace_update(c, NULL, err, sizeof(err)));
	AGORA_PASS(agora_lace_update(c2, NULL, err, sizeof(err)));
	assert_int_equal(agora_lace_store_len(t1), 10);
	AGORA_PASS(agora_lace_start_updates(c, 20));
	for (int64_t i = 5; i < 8; i++) {
		put(a, &i);
	}
	until = agora_now_ms() + 10000;
	while (agora_lace_store_len(t1) < 13 && agora_now_ms() < until) {
		agora_sleep_ms(5);
	}
	assert_int_equal(agora_lace_store_len(t1), 13);
	agora_buf_init(&stores, 0);
	AGORA_PASS(agora_lace_stores(c2, &stores, err, sizeof(err)));
	assert_non_null(strstr(stores.data,
	                       "{\"client\":\"actor-1\",\"cursor\":7,"
	                       "\"received\":8,\"gaps\":0}"));
	assert_non_null(strstr(stores.data,
	                       "{\"client\":\"actor-2\",\"cursor\":4,"
	                       "\"received\":5,\"gaps\":0}"));
	agora_buf_fini(&stores);
	agora_lace_client_close(c);
	agora_lace_client_close(c2);

	/* A rate limit: a request too soon is refused and sends nothing. */
	c = client(url, "actor-3", 60000);
	AGORA_PASS(
	    agora_lace_request(c, "get-stats", NULL, &m, err, sizeof(err)));
	agora_lace_msg_free(m);
	AGORA_FAIL(
	    agora_lace_request(c, "get-stats", NULL, &m, err, sizeof(err)),
	    AGORA_EAGAIN);
	assert_non_null(strstr(err, "rate limit"));
	agora_lace_client_close(c);
	agora_lace_server_free(s);
	agora_lace_store_free(a);
	agora_lace_store_free(a2);
	agora_lace_store_free(t1);
}

static void
a_gap_is_reported_on_both_sides(void **state)
{
	char url[128], err[256];
	agora_lace_store *t1 = store(AGORA_LACE_REPLAY, 100, 1);
	agora_lace_store *a = store(AGORA_LACE_QUEUED, 3, 1);
	agora_lace_server *s;
	agora_lace_client *c;
	agora_buf stores;
	uint64_t gaps = 0;

	(void)state;
	url_for(url, sizeof(url), "gap");
	s = trainer(url, t1, NULL);
	c = client(url, "small", 0);
	AGORA_PASS(agora_lace_client_add_store(c, "table1", a));
	for (int64_t i = 0; i < 5; i++) {
		put(a, &i); /* holds 3: rows 0 and 1 are gone unsent */
	}
	AGORA_PASS(agora_lace_update(c, &gaps, err, sizeof(err)));
	assert_int_equal(gaps, 2);
	assert_int_equal(agora_lace_store_len(t1), 3);
	agora_buf_init(&stores, 0);
	AGORA_PASS(agora_lace_server_stores_json(s, &stores));
	assert_non_null(strstr(stores.data, "\"received\":3,\"gaps\":2"));
	agora_buf_fini(&stores);
	agora_lace_client_close(c);
	agora_lace_server_free(s);
	agora_lace_store_free(a);
	agora_lace_store_free(t1);
}

/* Agentlace's stress test, strict: tight client timeouts lose requests
 * and replies; the learner's stores are never larger than the actor's,
 * and equal at the end. */
static void
stress_lost_replies_never_duplicate(void **state)
{
	char url[128], err[256];
	agora_lace_store *l1 = store(AGORA_LACE_REPLAY, 100000, 300);
	agora_lace_store *l2 = store(AGORA_LACE_REPLAY, 100000, 100);
	agora_lace_store *a1 = store(AGORA_LACE_QUEUED, 100000, 300);
	agora_lace_store *a2 = store(AGORA_LACE_QUEUED, 100000, 100);
	agora_lace_server *s;
	agora_lace_client *c;
	int64_t row[300], timeout = 5;
	int failures = 0;
	agora_err rv;

	(void)state;
	url_for(url, sizeof(url), "stress");
	s = trainer_with(url, l1, l2, slow_on_data);
	c = client(url, "stress", 0);
	AGORA_PASS(agora_lace_client_add_store(c, "table1", a1));
	AGORA_PASS(agora_lace_client_add_store(c, "table2", a2));
	agora_lace_client_set_timeout(c, timeout);
	for (int i = 0; i < 1000; i++) {
		for (int k = 0; k < 300; k++) {
			row[k] = (int64_t)i * 1000 + k;
		}
		put(a1, row);
		put(a2, row);
		if (i % 100 == 99) {
			rv = agora_lace_update(c, NULL, err, sizeof(err));
			failures += rv != AGORA_OK;
			assert_true(rv == AGORA_OK || rv == AGORA_ETIMEDOUT);
			assert_true(agora_lace_store_len(l1) <=
			            agora_lace_store_len(a1));
			assert_true(agora_lace_store_len(l2) <=
			            agora_lace_store_len(a2));
			timeout += 8;
			agora_lace_client_set_timeout(c, timeout);
		}
	}
	/* Until an update goes through whole. */
	agora_lace_client_set_timeout(c, 10000);
	AGORA_PASS(agora_lace_update(c, NULL, err, sizeof(err)));
	assert_int_equal(agora_lace_store_len(l1), 1000);
	assert_int_equal(agora_lace_store_len(l2), 1000);
	assert_int_equal(agora_lace_store_latest_id(l1), 999);
	printf("stress: %d of 10 updates timed out\n", failures);
	/* The losses this test is about did happen. */
	assert_true(failures > 0);
	/* Every row once, in order. */
	{
		int64_t first = 0;
		size_t n = 0;
		uint64_t gap = 0;
		int64_t *col = agora_malloc(1000 * 300 * sizeof(int64_t));
		void *cols[1] = { col };
		AGORA_PASS(agora_lace_store_since(l1, -1, 1000, &first, &n,
		                                  &gap, cols));
		assert_int_equal(n, 1000);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(col[i * 300], (int64_t)i * 1000);
		}
		agora_free(col);
	}
	agora_lace_client_close(c);
	agora_lace_server_free(s);
	agora_lace_store_free(a1);
	agora_lace_store_free(a2);
	agora_lace_store_free(l1);
	agora_lace_store_free(l2);
}

/* One push, as the client sends it, sent twice (nng resends a request
 * when its connection is remade): the second adds nothing. */
static void
a_push_sent_twice_is_taken_once(void **state)
{
	char url[128], err[256];
	agora_lace_store *t1 = store(AGORA_LACE_REPLAY, 100, 1);
	agora_lace_server *s;
	agora_link *l = NULL;
	int64_t v[4] = { 10, 11, 12, 13 };
	agora_lace_array a = {
		.dtype = AGORA_LACE_I64, .ndim = 2, .shape = { 4, 1 }, .data = v
	};
	agora_lace_payload p = { .arrays = &a, .narrays = 1 };
	struct lace_enc e;
	agora_buf reply;

	(void)state;
	url_for(url, sizeof(url), "twice");
	s = trainer(url, t1, NULL);
	AGORA_PASS(agora_link_open_now(&l, url, 2000, err, sizeof(err)));
	AGORA_PASS(lace_enc_build(&e,
	                          "\"op\":\"push\",\"store\":\"table1\","
	                          "\"client\":\"raw\",\"epoch\":"
	                          "\"00000000000000aa\",\"first\":0,\"n\":4",
	                          &p, false, err, sizeof(err)));
	agora_buf_init(&reply, 1 << 20);
	for (int i = 0; i < 2; i++) {
		agora_buf_reset(&reply);
		AGORA_PASS(agora_link_callv(l, e.iov, e.niov, 2000, &reply));
		assert_non_null(strstr(reply.data + LACE_HDR_LEN,
		                       i == 0 ? "\"taken\":4" : "\"taken\":0"));
		assert_int_equal(agora_lace_store_len(t1), 4);
	}
	agora_buf_fini(&reply);
	lace_enc_fini(&e);
	agora_link_close(l);
	agora_lace_server_free(s);
	agora_lace_store_free(t1);
}

/* on_data is told the pushing client's name as a JSON string: a name with
 * quotes must neither break the JSON nor add members to it. */
static char told_client[300];
static int64_t told_n = -1;
static bool told_json = false;

static agora_err
record_on_data(void *arg, const char *name, const agora_lace_payload *in,
               agora_lace_out *out, char *err, size_t errlen)
{
	agora_json *doc = NULL;

	(void)arg;
	(void)name;
	(void)out;
	(void)err;
	(void)errlen;
	told_json = agora_json_parse(&doc, in->json, in->json_len, in->json_len,
	                             8, NULL, 0) == AGORA_OK;
	if (told_json) {
		const char *c = agora_json_str(agora_json_get(doc, "client"));
		snprintf(told_client, sizeof(told_client), "%s",
		         c != NULL ? c : "");
		(void)agora_json_int(agora_json_get(doc, "n"), 0, 1000,
		                     &told_n);
	}
	agora_json_free(doc);
	return AGORA_OK;
}

static void
a_client_name_with_quotes_reaches_on_data_as_text(void **state)
{
	const char *name = "a\",\"n\":999,\"x\":\"\\";
	char url[128], err[256];
	agora_lace_store *t1 = store(AGORA_LACE_REPLAY, 10, 1);
	agora_lace_store *mine = store(AGORA_LACE_QUEUED, 10, 1);
	agora_lace_server *s;
	agora_lace_client *c;
	int64_t v[1] = { 7 };

	(void)state;
	url_for(url, sizeof(url), "quotes");
	s = trainer_with(url, t1, NULL, record_on_data);
	c = client(url, name, 0);
	AGORA_PASS(agora_lace_client_add_store(c, "table1", mine));
	put(mine, v);
	put(mine, v);
	AGORA_PASS(agora_lace_update(c, NULL, err, sizeof(err)));
	assert_true(told_json);
	assert_string_equal(told_client, name);
	assert_int_equal(told_n, 2);
	agora_lace_client_close(c);
	agora_lace_server_free(s);
	agora_lace_store_free(mine);
	agora_lace_store_free(t1);
}

/* Another client under the same name (another epoch: the key's secret
 * half) gets its own cursor: it cannot reset or move this one's. */
static void
a_name_taken_by_another_does_not_move_the_cursor(void **state)
{
	char url[128], err[256];
	agora_lace_store *t1 = store(AGORA_LACE_REPLAY, 100, 1);
	agora_lace_store *a = store(AGORA_LACE_QUEUED, 100, 1);
	agora_lace_server *s;
	agora_lace_client *c;
	agora_link *l = NULL;
	int64_t v[2] = { 100, 101 };
	agora_lace_array arr = {
		.dtype = AGORA_LACE_I64, .ndim = 2, .shape = { 2, 1 }, .data = v
	};
	agora_lace_payload p = { .arrays = &arr, .narrays = 1 };
	struct lace_enc e;
	agora_buf reply, stores;

	(void)state;
	url_for(url, sizeof(url), "name");
	s = trainer(url, t1, NULL);
	c = client(url, "robot", 0);
	AGORA_PASS(agora_lace_client_add_store(c, "table1", a));
	for (int64_t i = 0; i < 5; i++) {
		put(a, &i);
	}
	AGORA_PASS(agora_lace_update(c, NULL, err, sizeof(err)));
	/* Someone else says it is "robot". */
	AGORA_PASS(agora_link_open_now(&l, url, 2000, err, sizeof(err)));
	AGORA_PASS(lace_enc_build(&e,
	                          "\"op\":\"push\",\"store\":\"table1\","
	                          "\"client\":\"robot\",\"epoch\":"
	                          "\"00000000000000bb\",\"first\":0,\"n\":2",
	                          &p, false, err, sizeof(err)));
	agora_buf_init(&reply, 1 << 20);
	AGORA_PASS(agora_link_callv(l, e.iov, e.niov, 2000, &reply));
	lace_enc_fini(&e);
	agora_buf_fini(&reply);
	agora_link_close(l);
	for (int64_t i = 5; i < 8; i++) {
		put(a, &i);
	}
	AGORA_PASS(agora_lace_update(c, NULL, err, sizeof(err)));
	assert_int_equal(agora_lace_store_len(t1), 10);
	agora_buf_init(&stores, 0);
	AGORA_PASS(agora_lace_server_stores_json(s, &stores));
	assert_non_null(strstr(stores.data,
	                       "{\"client\":\"robot\",\"cursor\":7,"
	                       "\"received\":8,\"gaps\":0}"));
	assert_non_null(strstr(stores.data,
	                       "{\"client\":\"robot\",\"cursor\":1,"
	                       "\"received\":2,\"gaps\":0}"));
	agora_buf_fini(&stores);
	agora_lace_client_close(c);
	agora_lace_server_free(s);
	agora_lace_store_free(a);
	agora_lace_store_free(t1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    two_stores_exact_counts_requests_and_a_network),
		cmocka_unit_test(
		    async_updates_a_rate_limit_and_cursors_per_client),
		cmocka_unit_test(a_gap_is_reported_on_both_sides),
		cmocka_unit_test(a_push_sent_twice_is_taken_once),
		cmocka_unit_test(
		    a_name_taken_by_another_does_not_move_the_cursor),
		cmocka_unit_test(
		    a_client_name_with_quotes_reaches_on_data_as_text),
		cmocka_unit_test(stress_lost_replies_never_duplicate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
