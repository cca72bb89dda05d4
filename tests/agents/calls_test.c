/* SPDX-License-Identifier: MIT */
/* Direct calls to agents on agent servers, with real processes: results in
 * the call's reply or through the long poll, futures handed from agent to
 * agent (fetched server to server), clear errors, and the order of one
 * caller's calls to one agent, kept however they are batched, checked call
 * by call under load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

static char *
wait_ok(agora_future *f)
{
	const char *content = NULL;
	agora_err rv = agora_future_wait(f, 10000, &content);

	if (rv != AGORA_OK) {
		fail_msg("future %s: %s %s", agora_future_id(f),
		         agora_errname(rv), agora_future_errstr(f));
	}
	return agora_strdup(content);
}

/* Direct calls: a result in the call's reply, a future handed to another
 * agent (fetched server to server), a second holder by id, memory kept
 * across calls, and clear errors for unknown ids and missing agents. */
static void
test_calls(void **state)
{
	agora_center *c = t_center_servers("calls", "2");
	agora_future *f1, *fa, *fb, *again, *ghost, *m1, *m2, *bad;
	const char *content;
	char *v;

	(void)state;
	t_add_placed(c, "e", "echo", NULL, "child");
	t_add_placed(c, "slow", "tally", "{\"delay_ms\":200}", "child");
	t_add_placed(c, "t", "tally", NULL, "child");
	t_add_placed(c, "here", "echo", NULL, NULL);
	AGORA_PASS(agora_center_call(c, "e", "ping", &f1));
	v = wait_ok(f1);
	assert_non_null(strstr(v, "ping"));
	agora_free(v);

	/* The chain returns at once; t's server fetches slow's result. */
	AGORA_PASS(agora_center_call(c, "slow", "seed", &fa));
	AGORA_PASS(agora_center_call_future(c, "t", fa, &fb));
	assert_int_equal(agora_future_wait(fb, 0, &content), AGORA_ETIMEDOUT);
	v = wait_ok(fb);
	assert_string_equal(v, "n=1 n=1 seed m=0 m=0");
	agora_free(v);
	AGORA_PASS(agora_future_open(agora_future_id(fa), NULL, &again));
	v = wait_ok(again);
	assert_string_equal(v, "n=1 seed m=0");
	agora_free(v);

	/* Memory: the second call sees the first call and its reply. */
	AGORA_PASS(agora_center_call(c, "slow", "one", &m1));
	v = wait_ok(m1);
	assert_string_equal(v, "n=1 one m=2"); /* seed and its reply */
	agora_free(v);
	AGORA_PASS(agora_center_call(c, "slow", "two", &m2));
	v = wait_ok(m2);
	assert_string_equal(v, "n=1 two m=4"); /* seed, reply, one, reply */
	agora_free(v);

	/* An id no server made: an error, never another task's result. */
	{
		char id[300];
		snprintf(id, sizeof(id), "nosuch.1@%s",
		         strchr(agora_future_id(fa), '@') + 1);
		AGORA_PASS(agora_future_open(id, NULL, &ghost));
	}
	assert_int_equal(agora_future_wait(ghost, 5000, &content),
	                 AGORA_EAGENT);
	assert_non_null(
	    strstr(agora_future_errstr(ghost), "unknown or expired"));
	AGORA_FAIL(agora_center_call(c, "here", "x", &bad), AGORA_EINVAL);

	/* Deleted on its server: a call to it fails, saying so (T6). */
	{
		char ops[512], err[256];
		const char *w = strchr(agora_future_id(f1), '@') + 1;
		agora_future *gone;
		agora_buf reply;
		snprintf(ops, sizeof(ops),
		         "[{\"op\":\"delete\",\"role\":\"e\","
		         "\"session\":\"%s\",\"redis\":\"%s\"}]",
		         agora_center_session(c), t_redis_url());
		agora_buf_init(&reply, 0);
		AGORA_PASS(agora_server_request(w, NULL, ops, 5000, &reply, err,
		                                sizeof(err)));
		assert_non_null(strstr(reply.data, "\"ok\":true"));
		agora_buf_fini(&reply);
		AGORA_PASS(agora_center_call(c, "e", "again", &gone));
		assert_int_equal(agora_future_wait(gone, 5000, &content),
		                 AGORA_EAGENT);
		assert_non_null(
		    strstr(agora_future_errstr(gone), "no agent 'e'"));
		agora_future_free(gone);
	}
	AGORA_FAIL(agora_center_call(c, "nobody", "x", &bad), AGORA_ENOTFOUND);
	agora_future_free(f1);
	agora_future_free(fa);
	agora_future_free(fb);
	agora_future_free(again);
	agora_future_free(ghost);
	agora_future_free(m1);
	agora_future_free(m2);
	agora_center_free(c);
}

/* A call whose input is a future waits for that future; a later call to
 * the same agent from the same caller waits behind it, not around it. */
static void
a_call_waits_behind_one_awaiting_its_input(void **state)
{
	agora_center *c = t_center_servers("behind", "2");
	agora_future *fa, *fb, *fc;
	char *v;

	(void)state;
	t_add_placed(c, "slow", "tally", "{\"delay_ms\":300}", "child");
	t_add_placed(c, "t", "tally", NULL, "child");
	AGORA_PASS(agora_center_call(c, "slow", "seed", &fa));
	AGORA_PASS(agora_center_call_future(c, "t", fa, &fb));
	AGORA_PASS(agora_center_call(c, "t", "after", &fc));
	v = wait_ok(fc);
	/* t's memory had the chained call and its reply: it ran second. */
	assert_string_equal(v, "n=1 after m=2");
	agora_free(v);
	v = wait_ok(fb);
	assert_string_equal(v, "n=1 n=1 seed m=0 m=0");
	agora_free(v);
	agora_future_free(fa);
	agora_future_free(fb);
	agora_future_free(fc);
	agora_center_free(c);
}

/* Two processes that spin, so the servers and this process fight for the
 * CPUs (the order of calls must not depend on scheduling). */
static void
hogs_start(agora_proc **hogs, size_t n)
{
	static const char *const argv[] = { "sh", "-c", "while :; do :; done",
		                            NULL };
	agora_proc_opts po = { .argv = argv, .die_with_parent = true };
	char err[256];

	for (size_t i = 0; i < n; i++) {
		AGORA_PASS(agora_proc_spawn(&hogs[i], &po, err, sizeof(err)));
	}
}

static void
hogs_stop(agora_proc **hogs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		agora_proc_stop(hogs[i], 0);
		agora_proc_free(hogs[i]);
	}
}

#define ORDER_AGENTS 4
#define ORDER_CALLS  500

/* Calls from one caller to one agent run in the order they were made:
 * ORDER_CALLS pipelined calls to each of ORDER_AGENTS agents on a pool of
 * two child servers, made without waiting (so they batch and overlap), one
 * agent slow, two CPU hogs running. Each result names its own call, and
 * each agent's memory holds its calls in the order they were made. */
static void
calls_keep_their_order(void **state)
{
	agora_center *c = t_center_servers("order", "2");
	agora_future *f[ORDER_AGENTS][ORDER_CALLS];
	agora_proc *hogs[2];
	char role[16], text[32];

	(void)state;
	for (int a = 0; a < ORDER_AGENTS; a++) {
		snprintf(role, sizeof(role), "o%d", a);
		t_add_placed(c, role, "tally",
		             a == 0 ? "{\"delay_ms\":3}" : NULL, "child");
	}
	hogs_start(hogs, 2);
	for (int k = 0; k < ORDER_CALLS; k++) {
		for (int a = 0; a < ORDER_AGENTS; a++) {
			snprintf(role, sizeof(role), "o%d", a);
			snprintf(text, sizeof(text), "%d", k);
			AGORA_PASS(agora_center_call(c, role, text, &f[a][k]));
		}
	}
	for (int k = 0; k < ORDER_CALLS; k++) {
		for (int a = 0; a < ORDER_AGENTS; a++) {
			char *v = wait_ok(f[a][k]);
			snprintf(text, sizeof(text), "n=1 %d m=", k);
			if (strncmp(v, text, strlen(text)) != 0) {
				fail_msg("o%d call %d answered '%s'", a, k, v);
			}
			agora_free(v);
			agora_future_free(f[a][k]);
		}
	}
	hogs_stop(hogs, 2);
	for (int a = 0; a < ORDER_AGENTS; a++) {
		agora_msgs ms = { 0 };
		int next = 0;
		snprintf(role, sizeof(role), "o%d", a);
		AGORA_PASS(agora_env_memory(agora_center_env(c), role, 0, &ms));
		for (size_t i = 0; i < ms.n; i++) {
			if (strncmp(ms.v[i]->content, "n=1 ", 4) == 0) {
				continue; /* its reply */
			}
			snprintf(text, sizeof(text), "%d", next);
			if (strcmp(ms.v[i]->content, text) != 0) {
				fail_msg("o%d ran call '%s' where %d was due",
				         a, ms.v[i]->content, next);
			}
			next++;
		}
		assert_int_equal(next, ORDER_CALLS);
		agora_msgs_clear(&ms);
	}
	agora_center_free(c);
}

/* A call that runs longer than a request may take (a model answering for
 * minutes) is answered "pending" in its request's reply, and its result
 * comes later: with a 1 s request timeout, a 2.5 s call and a quick call
 * made after it both succeed. */
static void
a_call_longer_than_a_request_succeeds(void **state)
{
	agora_center *c;
	agora_future *slow, *quick;
	char *v;

	(void)state;
	c = t_center_servers_within("long", "1", "1000");
	t_add_placed(c, "slow", "tally", "{\"delay_ms\":2500}", "child");
	t_add_placed(c, "quick", "tally", NULL, "child");
	AGORA_PASS(agora_center_call(c, "slow", "long", &slow));
	AGORA_PASS(agora_center_call(c, "quick", "short", &quick));
	v = wait_ok(quick);
	assert_string_equal(v, "n=1 short m=0");
	agora_free(v);
	v = wait_ok(slow);
	assert_string_equal(v, "n=1 long m=0");
	agora_free(v);
	agora_future_free(slow);
	agora_future_free(quick);
	agora_center_free(c);
}

/* A fetch that comes before its call (the call and the fetch come by
 * different connections, and a caller hands a future on at once) waits
 * for the call instead of failing: sent here in one request, fetch first.
 * Before, the fetch failed "unknown task" and a call holding its input
 * let the calls behind it run first (calls_test under ASan, once). */
static void
a_fetch_ahead_of_its_call_waits_for_it(void **state)
{
	agora_center *c = t_center_servers("ahead", "1");
	agora_future *f;
	char ops[1024], err[256], *v;
	const char *url;
	agora_buf reply;

	(void)state;
	t_add_placed(c, "e", "tally", NULL, "child");
	AGORA_PASS(agora_center_call(c, "e", "first", &f));
	v = wait_ok(f);
	agora_free(v);
	url = strchr(agora_future_id(f), '@') + 1;
	snprintf(ops, sizeof(ops),
	         "[{\"op\":\"fetch\",\"task\":\"ahead.7\",\"wait_ms\":5000},"
	         "{\"op\":\"call\",\"task\":\"ahead.7\",\"role\":\"e\","
	         "\"session\":\"%s\",\"redis\":\"%s\","
	         "\"content\":\"second\"}]",
	         agora_center_session(c), t_redis_url());
	agora_buf_init(&reply, 0);
	AGORA_PASS(agora_server_request(url, NULL, ops, 10000, &reply, err,
	                                sizeof(err)));
	/* The fetch (the first result) has the call's reply. */
	assert_null(strstr(reply.data, "unknown or expired"));
	assert_non_null(strstr(reply.data,
	                       "\"results\":[{\"ok\":true,\"task\":\"ahead.7\","
	                       "\"content\":\"n=1 second m=2\"}"));
	agora_buf_fini(&reply);
	/* An id no call brings still ends in "unknown", after a while. */
	agora_buf_init(&reply, 0);
	AGORA_PASS(agora_server_request(
	    url, NULL,
	    "[{\"op\":\"fetch\",\"task\":\"never.1\",\"wait_ms\":100}]", 10000,
	    &reply, err, sizeof(err)));
	assert_non_null(strstr(reply.data, "unknown or expired"));
	agora_buf_fini(&reply);
	agora_future_free(f);
	agora_center_free(c);
}

int
main(void)
{
	int rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls),
		cmocka_unit_test(calls_keep_their_order),
		cmocka_unit_test(a_call_waits_behind_one_awaiting_its_input),
		cmocka_unit_test(a_call_longer_than_a_request_succeeds),
		cmocka_unit_test(a_fetch_ahead_of_its_call_waits_for_it),
	};

	if (!t_servers_init("calls_test")) {
		return 0;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	return t_servers_clean("calls_test") ? rc : 1;
}
