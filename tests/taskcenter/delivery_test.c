/* SPDX-License-Identifier: MIT */
/* Delivery: a turn reads everything sent to it, a page at a time, or fails
 * saying so with nothing lost; what a process drained and did not answer
 * comes back when that process is gone (its lease), even if it was killed
 * with SIGKILL in the middle of a step. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/redis_cmd.h"
#include "test.h"

static size_t
pending(agora_center *c, const char *role)
{
	size_t n = 0;

	AGORA_PASS(agora_env_pending(agora_center_env(c), role, &n));
	return n;
}

static void
send_n(agora_center *c, const char *to, int n)
{
	for (int i = 0; i < n; i++) {
		char text[32];
		snprintf(text, sizeof(text), "answer %d", i);
		AGORA_PASS(agora_center_send_task_request(
		    c, text, (const char *const[]){ to }, 1, NULL));
	}
}

/* 25 messages and pages of 10: the turn reads all 25, in order. */
static void
a_turn_reads_its_whole_inbox_page_by_page(void **state)
{
	static const char *const kv[] = { "env.drain_max", "10", NULL };
	agora_center *c = t_center_with("pages", kv);
	const char *mod[] = { "mod" };
	agora_step_opts o = { .allowed_roles = mod, .n_allowed = 1 };
	agora_msgs mem = { 0 };
	t_frames f;
	char *text;

	(void)state;
	t_add(c, "mod", "count", NULL);
	send_n(c, "mod", 25);
	AGORA_PASS(t_step(c, &o, &f));
	AGORA_PASS(f.err);
	text = t_text(&f, "mod");
	assert_true(strncmp(text, "25 1 2 3 ", 9) == 0);
	assert_non_null(strstr(text, " 24 25"));
	agora_free(text);
	t_frames_free(&f);
	assert_int_equal(pending(c, "mod"), 0);
	AGORA_PASS(agora_env_memory(agora_center_env(c), "mod", 0, &mem));
	assert_int_equal(mem.n, 26); /* all it read, and its reply */
	agora_msgs_clear(&mem);
	agora_center_free(c);
}

/* More than env.turn_max: an error frame that says so, and every message
 * still in the inbox. */
static void
more_than_a_turn_may_read_fails_loudly_and_loses_nothing(void **state)
{
	static const char *const kv[] = { "env.drain_max", "10", "env.turn_max",
		                          "20", NULL };
	agora_center *c = t_center_with("overturn", kv);
	const char *mod[] = { "mod" };
	agora_step_opts o = { .allowed_roles = mod, .n_allowed = 1 };
	t_frames f;
	char *why;

	(void)state;
	t_add(c, "mod", "count", NULL);
	send_n(c, "mod", 25);
	AGORA_PASS(t_step(c, &o, &f));
	assert_int_equal(t_count(&f, "mod", AGORA_FRAME_ERROR), 1);
	assert_int_equal(t_count(&f, "mod", AGORA_FRAME_CHUNK), 0);
	why = t_text_of(&f, "mod", AGORA_FRAME_ERROR);
	assert_non_null(strstr(why, "more than 20 messages"));
	agora_free(why);
	t_frames_free(&f);
	/* All 25 back in order, each marked redelivered (the turn had
	 * drained them), and none left in flight. */
	{
		agora_buf want;
		agora_buf_init(&want, 0);
		for (int i = 1; i <= 25; i++) {
			agora_buf_addf(&want, "%sr%d", i > 1 ? " " : "", i);
		}
		t_ids_are(c, "inbox", "mod", want.data);
		agora_buf_fini(&want);
	}
	t_ids_are(c, "inflight", "mod", "");
	agora_center_free(c);
}

/* One reply of the test Redis, as text ("" for nil). */
static char *
redis_text(agora_redis *r, const char *cmd, const char *key, const char *arg)
{
	agora_reply *rep = NULL;
	const char *s;
	size_t len = 0;
	char *out;

	AGORA_PASS(agora__redis_cmdv(r, &rep, cmd, key, arg, NULL));
	if (agora__reply_type(rep) == AGORA_REPLY_INTEGER) {
		out = agora_sprintf("%lld", agora__reply_int(rep));
	} else {
		s = agora__reply_str(rep, &len);
		out = agora_strndup(s != NULL ? s : "", len);
	}
	agora__reply_free(rep);
	return out;
}

/* Poll until the test Redis answers want (a condition, not a sleep). */
static void
redis_wait_for(agora_redis *r, const char *cmd, const char *key,
               const char *arg, const char *want)
{
	for (int i = 0; i < 2000; i++) {
		char *got = redis_text(r, cmd, key, arg);
		bool yes = strcmp(got, want) == 0;
		agora_free(got);
		if (yes) {
			return;
		}
		agora_sleep_ms(10);
	}
	fail_msg("%s %s %s never became '%s'", cmd, key, arg ? arg : "", want);
}

/* `agora run` drains a message for a slow agent and is killed (SIGKILL:
 * no chance to give anything back). Once its owner key has lapsed, the
 * next step on the session gets the message again, marked redelivered. */
static void
a_killed_process_gives_back_what_it_drained(void **state)
{
	static const char *const kv[] = { "env.owner_ttl_ms", "1000", NULL };
	char session[64], file[128], key[160], owner_key[200], err[256];
	agora_redis *r = t_redis_open();
	agora_proc *p = NULL;
	agora_center *c;
	const char *slow[] = { "slow" };
	agora_step_opts o = { .allowed_roles = slow, .n_allowed = 1 };
	t_frames f;
	char *lease, *text;
	FILE *out;

	(void)state;
	snprintf(session, sizeof(session), "killed%d", (int)getpid());
	snprintf(file, sizeof(file), "/tmp/agora-killed-%d.json",
	         (int)getpid());
	out = fopen(file, "w");
	assert_non_null(out);
	fputs("{\"agents\":[{\"role\":\"slow\",\"kind\":\"sleep\","
	      "\"seconds\":600}],\"script\":[{\"send_task_request\":"
	      "{\"task\":\"keep me\",\"send_to\":\"slow\"}},{\"step\":{}}]}",
	      out);
	fclose(out);
	{
		const char *argv[] = { getenv("AGORA_BIN"),
			               "run",
			               file,
			               "--redis",
			               t_redis_url(),
			               "--session",
			               session,
			               "--set",
			               "env.owner_ttl_ms=1000",
			               NULL };
		agora_proc_opts po = { .argv = argv, .die_with_parent = true };
		AGORA_PASS(agora_proc_spawn(&p, &po, err, sizeof(err)));
	}
	snprintf(key, sizeof(key), "agora:{%s}:inflight:slow", session);
	redis_wait_for(r, "LLEN", key, NULL, "1");
	kill(agora_proc_pid(p), SIGKILL);
	agora_proc_stop(p, 0);
	agora_proc_free(p);
	unlink(file);
	/* Its lease names it; its owner key lapses a second later. */
	snprintf(key, sizeof(key), "agora:{%s}:lease", session);
	lease = redis_text(r, "HGET", key, "slow");
	assert_true(strlen(lease) > 0);
	snprintf(owner_key, sizeof(owner_key), "agora:{%s}:owner:%.*s", session,
	         (int)strcspn(lease, " "), lease);
	agora_free(lease);
	redis_wait_for(r, "EXISTS", owner_key, NULL, "0");
	snprintf(key, sizeof(key), "=%s", session);
	c = t_center_with(key, kv);
	t_add(c, "slow", "count", NULL);
	AGORA_PASS(t_step(c, &o, &f));
	AGORA_PASS(f.err);
	text = t_text(&f, "slow");
	assert_string_equal(text, "1 1r"); /* message 1, redelivered */
	agora_free(text);
	t_frames_free(&f);
	agora_center_free(c);
	agora_redis_close(r);
}

/* Two processes on one session: the first drains a role's message and
 * dies (its owner key gone); the second, already past its own step's
 * reclaim, drains that role and gets the message back, marked
 * redelivered: the drain itself takes back a dead owner's lease. */
static void
a_drain_takes_back_what_a_dead_owner_held(void **state)
{
	char session[64], owner_key[200];
	agora_redis *r1 = t_redis_open(), *r2 = t_redis_open();
	agora_env *e1 = NULL, *e2 = NULL;
	agora_msgs got1 = { 0 }, got2 = { 0 };
	agora_msg *m = agora_msg_new("user", "r", "keep me");
	const char *roles[] = { "user", "r" };

	(void)state;
	snprintf(session, sizeof(session), "deadowner%d", (int)getpid());
	AGORA_PASS(agora_env_open(&e1, r1, session, NULL));
	AGORA_PASS(agora_env_open(&e2, r2, session, NULL));
	AGORA_PASS(agora_env_register_roles(e1, roles, 2));
	AGORA_PASS(agora_env_store(e1, m));
	agora_msg_free(m);
	AGORA_PASS(agora_env_drain(e1, "r", &got1));
	assert_int_equal(got1.n, 1);
	/* e1's process is gone: its owner key with it. */
	snprintf(owner_key, sizeof(owner_key), "agora:{%s}:owner:%s", session,
	         agora_env_owner(e1));
	AGORA_PASS(agora__redis_cmdv(r2, NULL, "DEL", owner_key, NULL));
	AGORA_PASS(agora_env_drain(e2, "r", &got2));
	assert_int_equal(got2.n, 1);
	assert_string_equal(got2.v[0]->content, "keep me");
	assert_int_equal(got2.v[0]->id, got1.v[0]->id);
	assert_true(got2.v[0]->redelivered);
	agora_msgs_clear(&got1);
	agora_msgs_clear(&got2);
	agora_env_close(e1);
	agora_env_close(e2);
	agora_redis_close(r1);
	agora_redis_close(r2);
}

/* A step that could deliver more than env.fanout_max messages is refused
 * before anything runs, with the numbers. */
static void
a_step_over_the_fanout_limit_is_refused_up_front(void **state)
{
	static const char *const kv[] = { "env.fanout_max", "5", NULL };
	agora_center *c = t_center_with("fanout", kv);
	agora_step *st = NULL;

	(void)state;
	t_add(c, "a", "echo", NULL);
	t_add(c, "b", "echo", NULL);
	t_add(c, "c", "echo", NULL);
	AGORA_PASS(agora_center_send_task_request(c, "hi", NULL, 0, NULL));
	AGORA_FAIL(agora_center_step(c, NULL, &st), AGORA_ETOOBIG);
	assert_null(st);
	assert_non_null(strstr(agora_center_errstr(c),
	                       "could deliver 9 messages (3 agents replying "
	                       "to 3 roles"));
	assert_int_equal(pending(c, "a"), 1); /* nothing ran, nothing lost */
	agora_center_free(c);
}

/* An all-to-all round of 400 agents (160,000 deliveries) is stored and
 * drained in many script calls (here at most 100 entries each), and
 * every agent gets every other agent's reply exactly once; with the
 * default, no call is slow enough for Redis's slow log (1 s). */
static void
all_to_all(const char *name, const char *const *kv)
{
	agora_center *c = t_center_with(name, kv);
	agora_redis *r = t_redis_open();
	agora_reply *rep = NULL;
	agora_step_opts o = { 0 };
	agora_agent_spec spec = { .kind = "echo" };
	agora_agent *agents[400];
	char role[16];
	t_frames f;

	AGORA_PASS(agora__redis_cmdv(r, NULL, "CONFIG", "SET",
	                             "slowlog-log-slower-than", "1000000",
	                             NULL));
	AGORA_PASS(agora__redis_cmdv(r, NULL, "SLOWLOG", "RESET", NULL));
	for (int i = 0; i < 400; i++) {
		char err[256];
		snprintf(role, sizeof(role), "e%d", i);
		spec.role = role;
		AGORA_PASS(
		    agora_agent_new(&agents[i], &spec, err, sizeof(err)));
	}
	AGORA_PASS(agora_center_add_agents(c, agents, 400));
	AGORA_PASS(agora_center_send_task_request(c, "hi", NULL, 0, NULL));
	AGORA_PASS(t_step(c, &o, &f));
	AGORA_PASS(f.err);
	assert_int_equal(t_count(&f, "e0", AGORA_FRAME_END), 1);
	t_frames_free(&f);
	for (int i = 0; i < 400; i += 57) {
		snprintf(role, sizeof(role), "e%d", i);
		assert_int_equal(pending(c, role), 399);
	}
	/* Read back, all 160,000 entries, by the next round, whose
	 * replies make as many again. */
	AGORA_PASS(t_step(c, &o, &f));
	AGORA_PASS(f.err);
	assert_int_equal(t_count(&f, "e399", AGORA_FRAME_END), 1);
	t_frames_free(&f);
	for (int i = 0; i < 400; i += 57) {
		agora_msgs mem = { 0 };
		snprintf(role, sizeof(role), "e%d", i);
		assert_int_equal(pending(c, role), 399);
		AGORA_PASS(
		    agora_env_memory(agora_center_env(c), role, 0, &mem));
		/* "hi" and its reply, then 399 replies read and its own. */
		assert_int_equal(mem.n, 2 + 399 + 1);
		agora_msgs_clear(&mem);
	}
	AGORA_PASS(agora__redis_cmdv(r, &rep, "SLOWLOG", "LEN", NULL));
	assert_int_equal(agora__reply_int(rep), 0);
	agora__reply_free(rep);
	agora_redis_close(r);
	agora_center_free(c);
}

static void
an_all_to_all_round_is_chunked_and_complete(void **state)
{
	static const char *const small[] = { "env.call_work", "100", NULL };

	(void)state;
	all_to_all("a2a-small", small);
	all_to_all("a2a", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_turn_reads_its_whole_inbox_page_by_page),
		cmocka_unit_test(
		    more_than_a_turn_may_read_fails_loudly_and_loses_nothing),
		cmocka_unit_test(a_killed_process_gives_back_what_it_drained),
		cmocka_unit_test(a_drain_takes_back_what_a_dead_owner_held),
		cmocka_unit_test(
		    a_step_over_the_fanout_limit_is_refused_up_front),
		cmocka_unit_test(an_all_to_all_round_is_chunked_and_complete),
	};

	if (getenv("AGORA_BIN") == NULL) {
		printf("delivery_test: skipped: AGORA_BIN must name the agora "
		       "program (run with ctest)\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
