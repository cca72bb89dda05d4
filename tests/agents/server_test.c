/* SPDX-License-Identifier: MIT */
/* Agent servers with real processes: child servers (one per agent and a
 * pool), an independent server shared by two sessions, streaming without
 * head-of-line blocking, a server killed mid-step (error frame from the
 * dead connection, not the deadline; offline; messages redelivered; the
 * child restarted on next use), a plugin kind, and malformed requests. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

/* Two child agents (a server each) and a local one answer; the servers
 * stored their replies themselves. */
static void
test_child_step(void **state)
{
	agora_center *c = t_center_servers("child", "0");
	agora_step_opts o = { 0 };
	agora_msgs hist = { 0 };
	t_frames f;
	char *w1, *w2, *w3;

	(void)state;
	t_add_placed(c, "a", "echo", NULL, "child");
	t_add_placed(c, "b", "echo", NULL, "child");
	t_add_placed(c, "l", "echo", NULL, NULL);
	w1 = t_where(c, "a");
	w2 = t_where(c, "b");
	w3 = t_where(c, "l");
	assert_true(strncmp(w1, "ipc://", 6) == 0);
	assert_string_not_equal(w1, w2);
	assert_string_equal(w3, "local");
	AGORA_PASS(agora_center_send_task_request(c, "hello", NULL, 0, NULL));
	AGORA_PASS(t_step(c, &o, &f));
	assert_int_equal(f.err, AGORA_OK);
	for (const char *r = "abl"; *r != '\0'; r++) {
		char role[2] = { *r, 0 };
		char *text = t_text(&f, role);
		assert_int_equal(t_count(&f, role, AGORA_FRAME_END), 1);
		assert_non_null(strstr(text, "hello"));
		agora_free(text);
	}
	AGORA_PASS(agora_env_history(agora_center_env(c), 10, &hist));
	assert_int_equal(hist.n, 4); /* the task and three replies */
	agora_msgs_clear(&hist);
	t_frames_free(&f);
	agora_free(w1);
	agora_free(w2);
	agora_free(w3);
	agora_center_free(c);
}

/* A pool of two servers, a slow and a fast agent on each: the fast ones
 * end before the slow ones, whatever server they share. */
static void
test_pool_no_head_of_line(void **state)
{
	agora_center *c = t_center_servers("pool", "2");
	agora_step_opts o = { 0 };
	t_frames f;
	char *ws1, *ws2;

	(void)state;
	t_add_placed(c, "slow1", "tally", "{\"delay_ms\":400}", "child");
	t_add_placed(c, "slow2", "tally", "{\"delay_ms\":400}", "child");
	t_add_placed(c, "fast1", "tally", NULL, "child");
	t_add_placed(c, "fast2", "tally", NULL, "child");
	ws1 = t_where(c, "slow1");
	ws2 = t_where(c, "slow2");
	assert_string_not_equal(ws1, ws2); /* spread over the pool */
	AGORA_PASS(agora_center_send_task_request(c, "go", NULL, 0, NULL));
	AGORA_PASS(t_step(c, &o, &f));
	assert_int_equal(f.err, AGORA_OK);
	for (int i = 1; i <= 2; i++) {
		char slow[8], fast[8];
		snprintf(slow, sizeof(slow), "slow%d", i);
		snprintf(fast, sizeof(fast), "fast%d", i);
		assert_true(t_first(&f, fast, AGORA_FRAME_END) <
		            t_first(&f, "slow1", AGORA_FRAME_END));
		assert_true(t_first(&f, fast, AGORA_FRAME_END) <
		            t_first(&f, "slow2", AGORA_FRAME_END));
		assert_int_equal(t_count(&f, slow, AGORA_FRAME_END), 1);
	}
	t_frames_free(&f);
	agora_free(ws1);
	agora_free(ws2);
	agora_center_free(c);
}

/* Signals a server once role's turn runs there: its message is in
 * flight (a time would guess: too soon under load, the server has not
 * drained yet). running says whether that was seen before the signal. */
struct killer {
	agora_center *c;
	const char *role;
	int pid;
	int sig;
	bool running;
};

static void *
kill_mid_turn(void *arg)
{
	struct killer *k = arg;

	k->running = t_wait_listed(k->c, "inflight", k->role, 1);
	kill(k->pid, k->sig); /* even if not: the step must end */
	return NULL;
}

/* A child server SIGKILLed mid-step: the agent's error frame says its
 * server died (the deadline is a minute away), the step ends, the agent is
 * offline, its message is back in its inbox, and the next step restarts
 * the server and the agent reads the message again. */
static void
test_killed_child(void **state)
{
	agora_center *c = t_center_servers("kill", "0");
	agora_step_opts o = { 0 };
	struct killer k = { .c = c, .role = "victim", .sig = SIGKILL };
	const char *who[] = { "victim" };
	pthread_t th;
	t_frames f;
	char *url, *text, *ids;
	size_t e;

	(void)state;
	t_add_placed(c, "victim", "tally", "{\"delay_ms\":5000}", "child");
	t_add_placed(c, "bystander", "tally", NULL, "child");
	url = t_where(c, "victim");
	k.pid = t_server_pid(url);
	AGORA_PASS(agora_center_send_task_request(c, "msg-1", NULL, 0, NULL));
	pthread_create(&th, NULL, kill_mid_turn, &k);
	AGORA_PASS(t_step(c, &o, &f));
	pthread_join(th, NULL);
	assert_true(k.running);
	e = t_first(&f, "victim", AGORA_FRAME_ERROR);
	assert_non_null(strstr(f.v[e].content, "died"));
	assert_int_equal(t_count(&f, "bystander", AGORA_FRAME_END), 1);
	assert_int_equal(t_status_of(c, "victim"), AGORA_AGENT_OFFLINE);
	/* msg-1 (1) put back first, marked redelivered, then the
	 * bystander's reply (2), marked too if the victim had drained it
	 * before it died (the two servers race); nothing left in flight. */
	ids = t_ids(c, "inbox", "victim");
	if (strcmp(ids, "r1 2") != 0 && strcmp(ids, "r1 r2") != 0) {
		fail_msg("inbox:victim is [%s], want [r1 2] or [r1 r2]", ids);
	}
	agora_free(ids);
	t_ids_are(c, "inflight", "victim", "");
	t_frames_free(&f);

	/* Restarted on next use; the message comes again. */
	o.allowed_roles = who;
	o.n_allowed = 1;
	AGORA_PASS(t_step(c, &o, &f));
	text = t_text(&f, "victim");
	assert_int_equal(t_count(&f, "victim", AGORA_FRAME_ERROR), 0);
	assert_non_null(strstr(text, "n=2 msg-1 ")); /* redelivered first */
	assert_int_not_equal(t_server_pid(url), k.pid);
	agora_free(text);
	t_frames_free(&f);
	agora_free(url);
	agora_center_free(c);
}

/* An independent server serves two sessions; creating the same agent
 * again is a no-op (initialised once); the management ops see both. */
static void
test_independent(void **state)
{
	char url[160], err[256];
	agora_proc *p;
	agora_center *c1, *c2;
	agora_step_opts o = { 0 };
	agora_buf reply;
	t_frames f;
	char *text;

	(void)state;
	p = t_spawn_server("test", NULL, NULL, url, sizeof(url));
	c1 = t_center_servers("ind1", "0");
	c2 = t_center_servers("ind2", "0");
	t_add_placed(c1, "x", "tally", NULL, url);
	t_add_placed(c2, "x", "tally", NULL, url);
	AGORA_PASS(agora_center_send_task_request(c1, "one", NULL, 0, NULL));
	AGORA_PASS(agora_center_send_task_request(c2, "two", NULL, 0, NULL));
	AGORA_PASS(t_step(c1, &o, &f));
	text = t_text(&f, "x");
	assert_string_equal(text, "n=1 one m=0");
	agora_free(text);
	t_frames_free(&f);
	AGORA_PASS(t_step(c2, &o, &f));
	assert_non_null(strstr(f.v[0].content, "two"));
	t_frames_free(&f);
	/* Created again, with options that would make it wait ten minutes:
	 * the agent there is kept as it was (initialised once). */
	text = agora_sprintf("[{\"op\":\"create\",\"role\":\"x\",\"kind\":"
	                     "\"tally\",\"options\":{\"delay_ms\":600000},"
	                     "\"session\":\"%s\",\"redis\":\"%s\"}]",
	                     agora_center_session(c1), t_redis_url());
	agora_buf_init(&reply, 0);
	AGORA_PASS(agora_server_request(url, NULL, text, 5000, &reply, err,
	                                sizeof(err)));
	assert_non_null(strstr(reply.data, "\"existed\":true"));
	agora_buf_fini(&reply);
	agora_free(text);
	AGORA_PASS(agora_center_send_task_request(c1, "again", NULL, 0, NULL));
	o.deadline_ms = 5000;
	AGORA_PASS(t_step(c1, &o, &f));
	text = t_text(&f, "x");
	assert_string_equal(text, "n=1 again m=2");
	agora_free(text);
	t_frames_free(&f);
	agora_buf_init(&reply, 0);
	AGORA_PASS(agora_server_request(url, NULL, "[{\"op\":\"list\"}]", 5000,
	                                &reply, err, sizeof(err)));
	assert_non_null(strstr(reply.data, agora_center_session(c1)));
	assert_non_null(strstr(reply.data, agora_center_session(c2)));
	agora_buf_fini(&reply);
	agora_center_free(c1);
	agora_center_free(c2);
	agora_proc_stop(p, 2000);
	agora_proc_free(p);
}

/* Bad requests get an error reply naming the problem; the server goes
 * on answering. */
static void
test_malformed(void **state)
{
	static const char *const bad[][2] = {
		{ "not json at all", "EPROTO" },
		{ "{\"v\":2,\"ops\":[{\"op\":\"alive\"}]}", "version" },
		{ "{\"v\":1,\"ops\":{}}", "non-empty array" },
		{ "[1,2,3]", "JSON object" },
		{ "{\"v\":1,\"ops\":[{\"op\":\"nope\"}]}", "unknown op" },
		{ "{\"v\":1,\"ops\":[{\"op\":\"create\"}]}", "session" },
	};
	char url[160], err[256];
	agora_proc *p;
	agora_link *l = NULL;
	agora_buf reply, big;

	(void)state;
	p = t_spawn_server("bad", "--max-request", "4096", url, sizeof(url));
	AGORA_PASS(agora_link_open(&l, url, err, sizeof(err)));
	agora_buf_init(&reply, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		agora_buf_reset(&reply);
		AGORA_PASS(agora_link_call(l, bad[i][0], strlen(bad[i][0]),
		                           5000, &reply));
		if (strstr(reply.data, bad[i][1]) == NULL) {
			fail_msg("%s: reply %s lacks %s", bad[i][0], reply.data,
			         bad[i][1]);
		}
	}
	/* Over --max-request: an error reply, not a dropped connection. */
	agora_buf_init(&big, 0);
	(void)agora_buf_adds(&big,
	                     "{\"v\":1,\"ops\":[{\"op\":\"alive\",\"x\":\"");
	for (int i = 0; i < 10000; i++) {
		(void)agora_buf_adds(&big, "a");
	}
	(void)agora_buf_adds(&big, "\"}]}");
	agora_buf_reset(&reply);
	AGORA_PASS(agora_link_call(l, big.data, big.len, 5000, &reply));
	assert_non_null(strstr(reply.data, "ETOOBIG"));
	agora_buf_reset(&reply);
	AGORA_PASS(agora_server_request(url, NULL, "[{\"op\":\"alive\"}]", 5000,
	                                &reply, err, sizeof(err)));
	assert_non_null(strstr(reply.data, "\"ok\":true"));
	agora_buf_fini(&big);
	agora_buf_fini(&reply);
	agora_link_close(l);
	agora_proc_stop(p, 2000);
	agora_proc_free(p);
}

/* A local agent moved to a child server keeps its config and memory. */
static void
test_move(void **state)
{
	agora_center *c = t_center_servers("move", "0");
	agora_step_opts o = { 0 };
	t_frames f;
	char *text, *w;

	(void)state;
	t_add_placed(c, "m", "tally", NULL, NULL);
	AGORA_PASS(agora_center_send_task_request(c, "hi", NULL, 0, NULL));
	AGORA_PASS(t_step(c, &o, &f));
	text = t_text(&f, "m");
	assert_string_equal(text, "n=1 hi m=0");
	agora_free(text);
	t_frames_free(&f);
	AGORA_PASS(agora_center_move_agent(c, "m", "child"));
	w = t_where(c, "m");
	assert_true(strncmp(w, "ipc://", 6) == 0);
	agora_free(w);
	AGORA_PASS(agora_center_send_task_request(c, "again", NULL, 0, NULL));
	AGORA_PASS(t_step(c, &o, &f));
	text = t_text(&f, "m");
	assert_string_equal(text, "n=1 again m=2"); /* memory came along */
	agora_free(text);
	t_frames_free(&f);
	AGORA_FAIL(agora_center_move_agent(c, "m", "child"), AGORA_EINVAL);
	AGORA_FAIL(agora_center_move_agent(c, "zz", "child"), AGORA_ENOTFOUND);
	agora_center_free(c);
}

/* Three remote agents under a message hub: what each reads and says
 * enters its memory, step after step (T5). */
static void
test_remote_memory(void **state)
{
	agora_center *c = t_center_servers("hub", "1");
	agora_step_opts o = { 0 };
	/* Round 2 reads the two others' replies, then "second". */
	const char *want[] = { "n=2 first m=0", "n=3 n=2 first m=0 m=3" };
	t_frames f;

	(void)state;
	t_add_placed(c, "m1", "tally", NULL, "child");
	t_add_placed(c, "m2", "tally", NULL, "child");
	t_add_placed(c, "m3", "tally", NULL, "child");
	AGORA_PASS(agora_center_send_task_request(c, "first", NULL, 0, NULL));
	AGORA_PASS(agora_center_send_task_request(c, "also", NULL, 0, NULL));
	for (int round = 0; round < 2; round++) {
		AGORA_PASS(t_step(c, &o, &f));
		for (int k = 1; k <= 3; k++) {
			char role[4];
			char *text;
			snprintf(role, sizeof(role), "m%d", k);
			text = t_text(&f, role);
			assert_string_equal(text, want[round]);
			agora_free(text);
		}
		t_frames_free(&f);
		AGORA_PASS(
		    agora_center_send_task_request(c, "second", NULL, 0, NULL));
	}
	agora_center_free(c);
}

/* A remote turn over the step's deadline: an error frame when the
 * deadline passes, and its server puts the message back. */
static void
test_remote_deadline(void **state)
{
	agora_center *c = t_center_servers("late", "1");
	agora_step_opts o = { .deadline_ms = 300 };
	t_frames f;
	size_t e;

	(void)state;
	t_add_placed(c, "late", "tally", "{\"delay_ms\":5000}", "child");
	AGORA_PASS(agora_center_send_task_request(c, "hurry", NULL, 0, NULL));
	AGORA_PASS(t_step(c, &o, &f));
	e = t_first(&f, "late", AGORA_FRAME_ERROR);
	assert_non_null(strstr(f.v[e].content, "timed out"));
	t_frames_free(&f);
	/* The server's own deadline is the same instant: wait for it to
	 * give the message back (one script moves it, so in-flight is then
	 * empty too). */
	assert_true(t_wait_listed(c, "inbox", "late", 1));
	t_ids_are(c, "inbox", "late", "r1");
	t_ids_are(c, "inflight", "late", "");
	agora_center_free(c);
}

/* An LLM agent on a child server: the child gets this process's model
 * configs, and the stream comes back chunk by chunk. */
static void
test_child_roleplay(void **state)
{
	agora_center *c;
	agora_json *doc = NULL;
	agora_step_opts o = { 0 };
	char text[512], err[256];
	t_frames f;
	char *reply;

	(void)state;
	snprintf(text, sizeof(text),
	         "[{\"config_name\":\"fake\",\"model_type\":\"openai_chat\","
	         "\"model_name\":\"echo\",\"api_key\":\"sk-x\","
	         "\"client_args\":{\"base_url\":\"%s\"}}]",
	         t_fake_llm());
	AGORA_PASS(agora_json_parse(&doc, text, strlen(text), 4096, 8, err,
	                            sizeof(err)));
	AGORA_PASS(agora_models_load_json(doc, "test", err, sizeof(err)));
	agora_json_free(doc);
	c = t_center_servers("llm", "0");
	t_add_placed(c, "bot", "roleplay", "{\"model\":\"fake\"}", "child");
	AGORA_PASS(agora_center_send_task_request(c, "three little words", NULL,
	                                          0, NULL));
	AGORA_PASS(t_step(c, &o, &f));
	reply = t_text(&f, "bot");
	assert_non_null(strstr(reply, "three little words"));
	assert_true(t_count(&f, "bot", AGORA_FRAME_CHUNK) >= 3); /* streamed */
	assert_int_equal(t_count(&f, "bot", AGORA_FRAME_END), 1);
	agora_free(reply);
	/* How the model's turn ended travelled back with the end. */
	for (size_t i = 0; i < f.n; i++) {
		if (f.v[i].type == AGORA_FRAME_END) {
			assert_string_equal(f.v[i].finish, "stop");
			assert_int_equal(f.v[i].prompt_tokens, 7);
			assert_int_equal(f.v[i].completion_tokens, 3);
			assert_int_equal(f.v[i].total_tokens, 10);
		}
	}
	t_frames_free(&f);
	/* The server counted it in the registry, once. */
	{
		agora_agent_info info;
		AGORA_PASS(
		    agora_registry_get(agora_center_registry(c), "bot", &info));
		assert_int_equal(info.prompt_tokens, 7);
		assert_int_equal(info.completion_tokens, 3);
		assert_int_equal(info.total_tokens, 10);
		assert_string_equal(info.last_finish, "stop");
		agora_agent_info_fini(&info);
	}
	agora_center_free(c);
}

/* Sends `stop` to a server once role's turn runs there (its message in
 * flight); running says whether that was seen first. */
struct stopper {
	agora_center *c;
	const char *role;
	const char *url;
	bool running;
};

static void *
stop_mid_turn(void *arg)
{
	struct stopper *sp = arg;
	agora_buf reply;
	char err[256];

	sp->running = t_wait_listed(sp->c, "inflight", sp->role, 1);
	agora_buf_init(&reply, 0);
	(void)agora_server_request(sp->url, NULL, "[{\"op\":\"stop\"}]", 5000,
	                           &reply, err, sizeof(err));
	agora_buf_fini(&reply);
	return NULL;
}

/* `stop` during a step: the server interrupts it at once (no waiting for
 * the turn or the deadline), puts the messages back, marks its agents
 * offline, and exits 0. */
static void
test_stop_mid_step(void **state)
{
	char url[160];
	struct stopper sp = { .role = "s", .url = url };
	agora_step_opts o = { 0 };
	agora_proc *p;
	agora_center *c;
	pthread_t th;
	t_frames f;

	(void)state;
	p = t_spawn_server("stop", NULL, NULL, url, sizeof(url));
	c = t_center_servers("stop", "0");
	t_add_placed(c, "s", "tally", "{\"delay_ms\":20000}", url);
	AGORA_PASS(agora_center_send_task_request(c, "work", NULL, 0, NULL));
	sp.c = c;
	pthread_create(&th, NULL, stop_mid_turn, &sp);
	AGORA_PASS(t_step(c, &o, &f));
	pthread_join(th, NULL);
	assert_true(sp.running);
	assert_int_equal(t_count(&f, "s", AGORA_FRAME_ERROR), 1);
	t_frames_free(&f);
	for (int i = 0; i < 100 && agora_proc_alive(p); i++) {
		agora_sleep_ms(50);
	}
	assert_false(agora_proc_alive(p));
	assert_int_equal(agora_proc_status(p), 0);
	t_ids_are(c, "inbox", "s", "r1");
	t_ids_are(c, "inflight", "s", "");
	assert_int_equal(t_status_of(c, "s"), AGORA_AGENT_OFFLINE);
	agora_center_free(c);
	agora_proc_free(p);
}

/* A server that stops answering without closing its connection (SIGSTOP,
 * a cut network): its turns fail once a long poll goes unanswered, long
 * before the step's deadline, and their messages go back. */
static void
test_stopped_server(void **state)
{
	agora_center *c;
	agora_step_opts o = { 0 };
	struct killer k = { .role = "ice", .sig = SIGSTOP };
	pthread_t th;
	t_frames f;
	char *url;
	size_t e;

	(void)state;
	c = t_center_servers_within("frozen", "0", "1000");
	t_add_placed(c, "ice", "tally", "{\"delay_ms\":2000}", "child");
	url = t_where(c, "ice");
	k.pid = t_server_pid(url);
	AGORA_PASS(agora_center_send_task_request(c, "melt", NULL, 0, NULL));
	k.c = c;
	pthread_create(&th, NULL, kill_mid_turn, &k);
	AGORA_PASS(t_step(c, &o, &f)); /* deadline: 60 s */
	pthread_join(th, NULL);
	assert_true(k.running);
	e = t_first(&f, "ice", AGORA_FRAME_ERROR);
	assert_non_null(strstr(f.v[e].content, "stopped answering"));
	assert_int_equal(t_status_of(c, "ice"), AGORA_AGENT_OFFLINE);
	kill(k.pid, SIGCONT); /* it may finish the turn: at least once */
	t_frames_free(&f);
	agora_free(url);
	agora_center_free(c);
}

/* A server found lost stays down: each step first tries to bring it back,
 * which takes server.timeout_ms while it is stopped. The servers that are
 * up get their step first, so their turns run while that is tried (they
 * used to wait behind it: a round of everyone paid for one cut-off
 * host). */
static void
test_down_server_delays_nobody(void **state)
{
	agora_center *c;
	struct killer k = { .role = "ice", .sig = SIGSTOP };
	pthread_t th;
	t_frames f;
	char *url;

	(void)state;
	c = t_center_servers_within("down", "0", "2000");
	/* Each on a child of its own; ice's is the first server. */
	t_add_placed(c, "ice", "tally", "{\"delay_ms\":2000}", "child");
	t_add_placed(c, "warm", "echo", NULL, "child");
	url = t_where(c, "ice");
	k.pid = t_server_pid(url);
	k.c = c;
	AGORA_PASS(agora_center_send_task_request(c, "one", NULL, 0, NULL));
	/* Stopped mid-turn: its long poll goes unanswered, the server is
	 * taken for lost. */
	pthread_create(&th, NULL, kill_mid_turn, &k);
	AGORA_PASS(t_step(c, NULL, &f));
	pthread_join(th, NULL);
	assert_true(k.running);
	assert_non_null(
	    strstr(f.v[t_first(&f, "ice", AGORA_FRAME_ERROR)].content,
	           "stopped answering"));
	assert_int_equal(t_count(&f, "warm", AGORA_FRAME_END), 1);
	t_frames_free(&f);
	/* ice's server is down now; bringing it back times out. */
	AGORA_PASS(agora_center_send_task_request(c, "two", NULL, 0, NULL));
	AGORA_PASS(t_step(c, NULL, &f));
	/* warm's reply streamed in while ice's server was being tried (its
	 * end frame comes as the round is stored, after every turn). */
	assert_true(t_first(&f, "warm", AGORA_FRAME_CHUNK) <
	            t_first(&f, "ice", AGORA_FRAME_ERROR));
	assert_int_equal(t_count(&f, "warm", AGORA_FRAME_END), 1);
	kill(k.pid, SIGCONT);
	t_frames_free(&f);
	agora_free(url);
	agora_center_free(c);
}

int
main(void)
{
	int rc;

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_child_step),
		cmocka_unit_test(test_pool_no_head_of_line),
		cmocka_unit_test(test_killed_child),
		cmocka_unit_test(test_independent),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_remote_memory),
		cmocka_unit_test(test_remote_deadline),
		cmocka_unit_test(test_child_roleplay),
		cmocka_unit_test(test_stop_mid_step),
		cmocka_unit_test(test_stopped_server),
		cmocka_unit_test(test_down_server_delays_nobody),
	};

	if (!t_servers_init("server_test")) {
		return 0;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	return t_servers_clean("server_test") ? rc : 1;
}
