/* SPDX-License-Identifier: MIT */
/* Every rule of DESIGN.md section 4, on a real redis-server. Concurrency is
 * shown by the order frames come out in, never by timing. */
#include <string.h>

#include "test.h"

static size_t
pending(agora_center *c, const char *role)
{
	size_t n = 0;

	AGORA_PASS(agora_env_pending(agora_center_env(c), role, &n));
	return n;
}

static void
task(agora_center *c, const char *text, const char *to)
{
	agora_strv sv = { 0 };

	if (to != NULL) {
		agora_strv_split(&sv, to);
	}
	AGORA_PASS(agora_center_send_task_request(
	    c, text, (const char *const *)sv.v, sv.n, NULL));
	agora_strv_clear(&sv);
}

static void
acting_roles_are_the_notified_ones_in_order(void **state)
{
	agora_center *c = t_center("notified");
	t_frames f;

	(void)state;
	t_add(c, "a", "echo", NULL);
	t_add(c, "b", "echo", NULL);
	t_add(c, "c", "echo", NULL);
	task(c, "hi", "c,a");
	AGORA_PASS(t_step(c, NULL, &f));
	AGORA_PASS(f.err);
	assert_int_equal(t_count(&f, "a", AGORA_FRAME_END), 1);
	assert_int_equal(t_count(&f, "c", AGORA_FRAME_END), 1);
	assert_int_equal(t_count(&f, "b", AGORA_FRAME_END), 0);
	/* Registration order: a runs before c. */
	assert_true(t_first(&f, "a", AGORA_FRAME_CHUNK) <
	            t_first(&f, "c", AGORA_FRAME_CHUNK));
	t_frames_free(&f);
	agora_center_free(c);
}

static void
allowed_roles_act_even_when_not_notified(void **state)
{
	agora_center *c = t_center("allowed");
	const char *allowed[] = { "c", "a" };
	agora_step_opts o = { 0 };
	agora_step *st = NULL;
	t_frames f;

	(void)state;
	t_add(c, "a", "echo", NULL);
	t_add(c, "b", "echo", NULL);
	t_add(c, "c", "scripted", "{\"lines\":[\"unprompted\"]}");
	task(c, "for b", "b");
	o.allowed_roles = allowed;
	o.n_allowed = 2;
	AGORA_PASS(agora_center_step(c, &o, &st));
	assert_int_equal(agora_step_roles(st)->n, 2);
	assert_string_equal(agora_step_roles(st)->v[0], "a");
	assert_string_equal(agora_step_roles(st)->v[1], "c");
	agora_step_free(st);
	AGORA_PASS(t_step(c, &o, &f));
	char *text = t_text(&f, "c");
	assert_string_equal(text, "unprompted");
	agora_free(text);
	assert_int_equal(t_count(&f, "b", AGORA_FRAME_CHUNK), 0);
	/* b did not act: it still holds the task, and now c's reply. */
	assert_int_equal(pending(c, "b"), 2);
	t_frames_free(&f);
	agora_center_free(c);
}

static void
unknown_allowed_role_fails_before_anything_runs(void **state)
{
	agora_center *c = t_center("ghost");
	const char *allowed[] = { "a", "ghost" };
	agora_step_opts o = { 0 };
	t_frames f;

	(void)state;
	t_add(c, "a", "echo", NULL);
	task(c, "hi", "a");
	o.allowed_roles = allowed;
	o.n_allowed = 2;
	AGORA_FAIL(t_step(c, &o, &f), AGORA_ENOTFOUND);
	assert_non_null(strstr(f.errstr, "ghost"));
	assert_int_equal(pending(c, "a"), 1); /* nothing drained */
	agora_center_free(c);
}

static void
unknown_send_to_role_fails_before_anything_runs(void **state)
{
	agora_center *c = t_center("sendto");
	const char *to[] = { "nobody" };
	agora_step_opts o = { 0 };
	t_frames f;

	(void)state;
	t_add(c, "a", "echo", NULL);
	task(c, "hi", "a");
	o.send_to = to;
	o.n_send_to = 1;
	AGORA_FAIL(t_step(c, &o, &f), AGORA_ENOTFOUND);
	assert_non_null(strstr(f.errstr, "nobody"));
	assert_int_equal(pending(c, "a"), 1);
	agora_center_free(c);
}

static void
no_acting_role_ends_at_once(void **state)
{
	agora_center *c = t_center("idle");
	t_frames f;

	(void)state;
	t_add(c, "a", "echo", NULL);
	AGORA_PASS(t_step(c, NULL, &f));
	AGORA_PASS(f.err);
	assert_int_equal(f.n, 0);
	agora_center_free(c);
}

static void
a_slow_agent_does_not_hold_back_a_fast_one(void **state)
{
	agora_center *c = t_center("hol");
	t_frames f;

	(void)state;
	t_add(c, "slow", "sleep", "{\"seconds\":0.3,\"reply\":\"zzz\"}");
	t_add(c, "fast", "echo", NULL);
	task(c, "go", NULL);
	AGORA_PASS(t_step(c, NULL, &f));
	AGORA_PASS(f.err);
	/* slow is first in order, yet fast's whole reply comes out first. */
	assert_true(t_first(&f, "fast", AGORA_FRAME_END) <
	            t_first(&f, "slow", AGORA_FRAME_CHUNK));
	t_frames_free(&f);
	agora_center_free(c);
}

static void
streaming_agents_interleave_and_keep_their_order(void **state)
{
	agora_center *c = t_center("interleave");
	t_frames f;
	size_t switches = 0;
	uint32_t next_seq[2] = { 0, 0 };

	(void)state;
	t_add(c, "p", "scripted",
	      "{\"lines\":[\"one two three four\"],\"word_delay_ms\":20}");
	t_add(c, "q", "scripted",
	      "{\"lines\":[\"five six seven eight\"],\"word_delay_ms\":20}");
	task(c, "go", NULL);
	AGORA_PASS(t_step(c, NULL, &f));
	AGORA_PASS(f.err);
	for (size_t i = 0; i < f.n; i++) {
		int k = strcmp(f.v[i].role, "p") == 0 ? 0 : 1;
		assert_int_equal(f.v[i].seq, next_seq[k]);
		next_seq[k]++;
		if (i > 0 && strcmp(f.v[i].role, f.v[i - 1].role) != 0) {
			switches++;
		}
	}
	/* Concurrent, not one after the other: the roles alternate. */
	assert_true(switches >= 4);
	char *p = t_text(&f, "p");
	assert_string_equal(p, "one two three four");
	agora_free(p);
	/* Each role: chunks, then exactly one end frame, last. */
	assert_int_equal(t_count(&f, "p", AGORA_FRAME_END), 1);
	assert_int_equal(f.v[f.n - 1].type, AGORA_FRAME_END);
	t_frames_free(&f);
	agora_center_free(c);
}

static void
rounds_see_the_previous_round_not_their_own(void **state)
{
	agora_center *c = t_center("rounds");
	agora_step_opts o = { 0 };
	t_frames f;

	(void)state;
	t_add(c, "x", "count", NULL);
	t_add(c, "y", "count", NULL);
	task(c, "start", NULL); /* id 1 */
	o.rounds = 2;
	AGORA_PASS(t_step(c, &o, &f));
	AGORA_PASS(f.err);
	/* Round 1: each read only the task (not the other's reply). Round
	 * 2: each read only the other's round-1 reply. */
	for (size_t i = 0; i < f.n; i++) {
		if (f.v[i].type != AGORA_FRAME_CHUNK) {
			continue;
		}
		if (f.v[i].round == 1) {
			assert_int_equal(f.v[i].content[0], '1');
		}
		if (f.v[i].round == 2) {
			assert_int_equal(f.v[i].content[0], '1');
			assert_null(strstr(f.v[i].content, " 1"));
		}
	}
	assert_int_equal(t_count(&f, "x", AGORA_FRAME_END), 2);
	t_frames_free(&f);
	agora_center_free(c);
}

static void
human_response_is_published_once_without_chunks(void **state)
{
	agora_center *c = t_center("human");
	agora_step_opts o = { 0 };
	const char *allowed[] = { "user" };
	agora_msgs h = { 0 };
	t_frames f;

	(void)state;
	t_add_flags(c, "user", "user", NULL, true, false);
	t_add(c, "bot", "echo", NULL);
	o.allowed_roles = allowed;
	o.n_allowed = 1;
	o.user_response = "I dont agree";
	o.rounds = 3;
	AGORA_PASS(t_step(c, &o, &f));
	AGORA_PASS(f.err);
	assert_int_equal(t_count(&f, "user", AGORA_FRAME_CHUNK), 0);
	assert_int_equal(t_count(&f, "user", AGORA_FRAME_END), 1);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 1);
	assert_string_equal(h.v[0]->sent_from, "user");
	assert_string_equal(h.v[0]->content, "I dont agree");
	assert_string_equal(h.v[0]->send_to.v[0], "all");
	agora_msgs_clear(&h);
	assert_int_equal(pending(c, "bot"), 1);
	t_frames_free(&f);
	agora_center_free(c);
}

static void
human_without_response_awaits_input_and_keeps_messages(void **state)
{
	agora_center *c = t_center("await");
	agora_step_opts o = { 0 };
	t_frames f;

	(void)state;
	t_add_flags(c, "user", "user", NULL, true, false);
	t_add(c, "bot", "echo", NULL);
	task(c, "hello both", NULL);
	o.rounds = 2;
	AGORA_PASS(t_step(c, &o, &f));
	AGORA_PASS(f.err);
	assert_int_equal(t_count(&f, "user", AGORA_FRAME_AWAITING_INPUT), 1);
	assert_int_equal(t_count(&f, "user", AGORA_FRAME_CHUNK), 0);
	/* The others went on. */
	assert_true(t_count(&f, "bot", AGORA_FRAME_END) >= 1);
	/* The person's messages wait for them (the task, and bot's reply). */
	assert_int_equal(pending(c, "user"), 2);
	t_frames_free(&f);
	agora_center_free(c);
}

static void
human_empty_response_publishes_nothing(void **state)
{
	agora_center *c = t_center("empty");
	agora_step_opts o = { 0 };
	const char *allowed[] = { "user" };
	agora_msgs h = { 0 };
	t_frames f;

	(void)state;
	t_add_flags(c, "user", "user", NULL, true, false);
	t_add(c, "bot", "echo", NULL);
	task(c, "for the user", "user");
	o.allowed_roles = allowed;
	o.n_allowed = 1;
	o.user_response = "";
	AGORA_PASS(t_step(c, &o, &f));
	AGORA_PASS(f.err);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 1); /* only the task */
	agora_msgs_clear(&h);
	assert_int_equal(pending(c, "bot"), 0);
	assert_int_equal(pending(c, "user"), 0); /* read, skipped */
	t_frames_free(&f);
	agora_center_free(c);
}

static void
watcher_reads_everything_and_publishes_nothing(void **state)
{
	agora_center *c = t_center("watcher");
	agora_step_opts o = { 0 };
	const char *allowed[] = { "judge" };
	const char *to_b[] = { "b" };
	agora_msgs h = { 0 };
	t_frames f;

	(void)state;
	t_add(c, "a", "echo", NULL);
	t_add(c, "b", "echo", NULL);
	t_add_flags(c, "judge", "count", NULL, false, true);
	AGORA_PASS(agora_center_send_task_request(c, "whisper", to_b, 1, "a"));
	task(c, "public", "a");
	o.allowed_roles = allowed;
	o.n_allowed = 1;
	AGORA_PASS(t_step(c, &o, &f));
	AGORA_PASS(f.err);
	char *text = t_text(&f, "judge");
	/* Both messages, the whisper included. */
	assert_true(strncmp(text, "2 ", 2) == 0);
	agora_free(text);
	assert_int_equal(t_count(&f, "judge", AGORA_FRAME_END), 1);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 2);
	agora_msgs_clear(&h);
	t_frames_free(&f);
	agora_center_free(c);
}

static void
a_failing_agent_gives_an_error_frame_and_the_others_finish(void **state)
{
	agora_center *c = t_center("fail");
	agora_msgs h = { 0 };
	t_frames f;

	(void)state;
	t_add(c, "broken", "fail", NULL);
	t_add(c, "ok", "echo", NULL);
	task(c, "go", NULL);
	AGORA_PASS(t_step(c, NULL, &f));
	AGORA_PASS(f.err);
	assert_int_equal(t_count(&f, "broken", AGORA_FRAME_ERROR), 1);
	assert_non_null(
	    strstr(f.v[t_first(&f, "broken", AGORA_FRAME_ERROR)].content,
	           "model exploded"));
	assert_int_equal(t_count(&f, "broken", AGORA_FRAME_END), 0);
	assert_int_equal(t_count(&f, "ok", AGORA_FRAME_END), 1);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 2); /* the task and ok's reply only */
	agora_msgs_clear(&h);
	/* The failed agent gets the task (1) again, marked redelivered, then
	 * ok's reply (2); nothing is left in flight. */
	t_ids_are(c, "inbox", "broken", "r1 2");
	t_ids_are(c, "inflight", "broken", "");
	t_frames_free(&f);
	agora_center_free(c);
}

static void
requeued_messages_are_delivered_again_and_marked(void **state)
{
	agora_center *c = t_center("requeue");
	agora_agent *a;
	t_frames f;

	(void)state;
	a = t_add(c, "flaky", "fail", NULL);
	task(c, "go", "flaky");
	AGORA_PASS(t_step(c, NULL, &f));
	t_frames_free(&f);
	/* Swap the agent's kind state for a counter by replacing the agent:
	 * a new center on the same session sees the same inbox. */
	(void)a;
	{
		agora_config cfg;
		agora_center *c2 = NULL;
		char err[256];
		agora_config_init(&cfg);
		agora_config_set(&cfg, "redis.url", t_redis_url(), err, 256);
		agora_config_set(&cfg, "session", agora_center_session(c), err,
		                 256);
		AGORA_PASS(agora_center_new(&c2, &cfg, err, sizeof(err)));
		t_add(c2, "flaky", "count", NULL);
		AGORA_PASS(t_step(c2, NULL, &f));
		char *text = t_text(&f, "flaky");
		assert_string_equal(text, "1 1r");
		agora_free(text);
		t_frames_free(&f);
		agora_center_free(c2);
		agora_config_fini(&cfg);
	}
	agora_center_free(c);
}

static void
an_agent_that_never_answers_times_out(void **state)
{
	agora_center *c = t_center("hang");
	agora_step_opts o = { 0 };
	t_frames f;

	(void)state;
	t_add(c, "stuck", "hang", NULL);
	t_add(c, "ok", "echo", NULL);
	task(c, "go", NULL);
	o.deadline_ms = 200;
	AGORA_PASS(t_step(c, &o, &f));
	AGORA_PASS(f.err);
	assert_int_equal(t_count(&f, "stuck", AGORA_FRAME_ERROR), 1);
	assert_non_null(strstr(
	    f.v[t_first(&f, "stuck", AGORA_FRAME_ERROR)].content, "timed out"));
	assert_int_equal(t_count(&f, "ok", AGORA_FRAME_END), 1);
	/* The task back, marked redelivered, then ok's reply. */
	t_ids_are(c, "inbox", "stuck", "r1 2");
	t_ids_are(c, "inflight", "stuck", "");
	t_frames_free(&f);
	agora_center_free(c);
}

static void
llm_args_reach_the_agent_unchanged(void **state)
{
	agora_center *c = t_center("args");
	agora_step_opts o = { 0 };
	const char *args = "{\"temperature\":0.1,\"top_p\":0.9,\"seed\":7}";
	t_frames f;

	(void)state;
	t_add(c, "m", "args", NULL);
	task(c, "go", NULL);
	o.llm_args = args;
	AGORA_PASS(t_step(c, &o, &f));
	char *text = t_text(&f, "m");
	assert_string_equal(text, args);
	agora_free(text);
	t_frames_free(&f);
	o.llm_args = "[not an object]";
	AGORA_FAIL(t_step(c, &o, &f), AGORA_EINVAL);
	assert_non_null(strstr(f.errstr, "llm_args"));
	agora_center_free(c);
}

static void
a_task_from_an_agent_enters_its_memory(void **state)
{
	agora_center *c = t_center("memory");
	const char *to[] = { "joe" };
	agora_msgs mem = { 0 }, h = { 0 };

	(void)state;
	t_add(c, "joe", "echo", NULL);
	t_add(c, "trump", "echo", NULL);
	AGORA_PASS(agora_center_send_task_request(
	    c, "I dont agree with you about the landing project", to, 1,
	    "trump"));
	AGORA_PASS(agora_env_memory(agora_center_env(c), "trump", 0, &mem));
	assert_int_equal(mem.n, 1);
	assert_int_equal(mem.v[0]->role, AGORA_ROLE_ASSISTANT);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_string_equal(h.v[0]->sent_from, "trump");
	assert_int_equal(pending(c, "joe"), 1);
	agora_msgs_clear(&mem);
	agora_msgs_clear(&h);
	agora_center_free(c);
}

static void
replies_go_only_to_send_to(void **state)
{
	agora_center *c = t_center("whisper");
	agora_step_opts o = { 0 };
	const char *to[] = { "hillary" };
	t_frames f;

	(void)state;
	t_add(c, "joe", "echo", NULL);
	t_add(c, "trump", "echo", NULL);
	t_add(c, "hillary", "echo", NULL);
	task(c, "moon?", "joe");
	o.send_to = to;
	o.n_send_to = 1;
	AGORA_PASS(t_step(c, &o, &f));
	assert_int_equal(pending(c, "hillary"), 1);
	assert_int_equal(pending(c, "trump"), 0);
	t_frames_free(&f);
	agora_center_free(c);
}

static void
one_step_at_a_time_and_early_free_gives_messages_back(void **state)
{
	agora_center *c = t_center("early");
	agora_step *st = NULL, *st2 = NULL;
	const agora_frame *fr;

	(void)state;
	t_add(c, "fast", "echo", NULL);
	t_add(c, "slow", "sleep", "{\"seconds\":5}");
	task(c, "go", NULL);
	AGORA_PASS(agora_center_step(c, NULL, &st));
	AGORA_FAIL(agora_center_step(c, NULL, &st2), AGORA_EINVAL);
	AGORA_PASS(agora_step_next(st, &fr));
	assert_non_null(fr);
	assert_string_equal(fr->role, "fast");
	agora_step_free(st);
	/* The task slow had drained is back, marked redelivered. */
	t_ids_are(c, "inbox", "slow", "r1");
	t_ids_are(c, "inflight", "slow", "");
	agora_center_free(c);
}

static void
duplicate_agent_roles_are_refused(void **state)
{
	agora_center *c = t_center("dup");
	agora_agent *a = NULL;
	agora_agent_spec spec = { "a", "echo", NULL, false, false, NULL };
	char err[256];

	(void)state;
	t_add(c, "a", "echo", NULL);
	AGORA_PASS(agora_agent_new(&a, &spec, err, sizeof(err)));
	AGORA_FAIL(agora_center_add_agents(c, &a, 1), AGORA_EEXIST);
	assert_non_null(strstr(agora_center_errstr(c), "already"));
	/* The first agent stays. */
	assert_true(agora_center_agent(c, "a") != a);
	agora_agent_free(a);
	agora_center_free(c);
}

static void
work_posted_from_other_threads_streams_in(void **state)
{
	agora_center *c = t_center("posts");
	t_frames f;

	(void)state;
	t_add(c, "p", "thread", "{\"delay_ms\":20}");
	t_add(c, "q", "thread", "{\"delay_ms\":20}");
	AGORA_PASS(agora_center_send_task_request(c, "go", NULL, 0, NULL));
	AGORA_PASS(t_step(c, NULL, &f));
	AGORA_PASS(f.err);
	char *text = t_text(&f, "p");
	assert_string_equal(text, "abc");
	agora_free(text);
	assert_int_equal(t_count(&f, "q", AGORA_FRAME_END), 1);
	/* Both threads worked at once: q's first word came before p's end. */
	assert_true(t_first(&f, "q", AGORA_FRAME_CHUNK) <
	            t_first(&f, "p", AGORA_FRAME_END));
	t_frames_free(&f);
	agora_center_free(c);
}

static void
a_late_thread_is_cancelled_at_the_deadline(void **state)
{
	agora_center *c = t_center("lateposts");
	agora_step_opts o = { 0 };
	t_frames f;

	(void)state;
	t_add(c, "late", "thread", "{\"delay_ms\":2000}");
	AGORA_PASS(agora_center_send_task_request(c, "go", NULL, 0, NULL));
	o.deadline_ms = 100;
	AGORA_PASS(t_step(c, &o, &f));
	AGORA_PASS(f.err);
	assert_int_equal(t_count(&f, "late", AGORA_FRAME_ERROR), 1);
	assert_int_equal(t_count(&f, "late", AGORA_FRAME_CHUNK), 0);
	t_frames_free(&f);
	agora_center_free(c);
}

/* A turn the runtime ends early (here: its reply passed the cap while its
 * kind's thread kept posting) has its kind's work cancelled at once, so
 * nothing posts into the turn, or into a later step, afterwards. */
static void
a_turn_over_the_reply_cap_cancels_its_work(void **state)
{
	agora_center *c = t_center("overcap");
	agora_step_opts o = { 0 };
	t_frames f;
	char *err;

	(void)state;
	t_add(c, "flood", "thread",
	      "{\"delay_ms\":1,\"chunk_size\":65536,\"words\":1000000}");
	t_add(c, "calm", "thread", "{\"delay_ms\":1}");
	AGORA_PASS(agora_center_send_task_request(c, "go", NULL, 0, NULL));
	AGORA_PASS(t_step(c, &o, &f));
	AGORA_PASS(f.err);
	assert_int_equal(t_count(&f, "flood", AGORA_FRAME_ERROR), 1);
	err = t_text_of(&f, "flood", AGORA_FRAME_ERROR);
	assert_non_null(strstr(err, "reply over 524288 bytes"));
	agora_free(err);
	assert_int_equal(t_count(&f, "calm", AGORA_FRAME_END), 1);
	/* Its thread was stopped when the turn ended, not left posting. */
	assert_int_equal(t_threads_running(), 0);
	t_frames_free(&f);
	/* A later step of the same agents runs clean. */
	AGORA_PASS(agora_center_send_task_request(c, "again", NULL, 0, NULL));
	AGORA_PASS(t_step(c, &o, &f));
	assert_int_equal(t_count(&f, "calm", AGORA_FRAME_END), 1);
	assert_int_equal(t_count(&f, "flood", AGORA_FRAME_ERROR), 1);
	t_frames_free(&f);
	agora_center_free(c);
}

static void
kinds_that_ask_get_their_memory(void **state)
{
	agora_center *c = t_center("memfetch");
	const char *who[] = { "m" };
	agora_step_opts o = { 0 };
	t_frames f;

	(void)state;
	t_add(c, "m", "memory", NULL);
	t_add(c, "other", "echo", NULL);
	o.allowed_roles = who;
	o.n_allowed = 1;
	for (int i = 0; i < 3; i++) {
		const char *to[] = { "m" };
		char text[16];
		snprintf(text, sizeof(text), "msg%d", i);
		AGORA_PASS(
		    agora_center_send_task_request(c, text, to, 1, "other"));
		AGORA_PASS(t_step(c, &o, &f));
		t_frames_free(&f);
	}
	/* Memory is now msg0, reply, msg1, reply, msg2, reply; the kind
	 * asks for the newest 3. */
	AGORA_PASS(t_step(c, &o, &f));
	char *text = t_text(&f, "m");
	assert_string_equal(text, "3 a u:msg2 a");
	agora_free(text);
	t_frames_free(&f);
	agora_center_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(acting_roles_are_the_notified_ones_in_order),
		cmocka_unit_test(allowed_roles_act_even_when_not_notified),
		cmocka_unit_test(
		    unknown_allowed_role_fails_before_anything_runs),
		cmocka_unit_test(
		    unknown_send_to_role_fails_before_anything_runs),
		cmocka_unit_test(no_acting_role_ends_at_once),
		cmocka_unit_test(a_slow_agent_does_not_hold_back_a_fast_one),
		cmocka_unit_test(
		    streaming_agents_interleave_and_keep_their_order),
		cmocka_unit_test(rounds_see_the_previous_round_not_their_own),
		cmocka_unit_test(
		    human_response_is_published_once_without_chunks),
		cmocka_unit_test(
		    human_without_response_awaits_input_and_keeps_messages),
		cmocka_unit_test(human_empty_response_publishes_nothing),
		cmocka_unit_test(
		    watcher_reads_everything_and_publishes_nothing),
		cmocka_unit_test(
		    a_failing_agent_gives_an_error_frame_and_the_others_finish),
		cmocka_unit_test(
		    requeued_messages_are_delivered_again_and_marked),
		cmocka_unit_test(an_agent_that_never_answers_times_out),
		cmocka_unit_test(llm_args_reach_the_agent_unchanged),
		cmocka_unit_test(a_task_from_an_agent_enters_its_memory),
		cmocka_unit_test(replies_go_only_to_send_to),
		cmocka_unit_test(
		    one_step_at_a_time_and_early_free_gives_messages_back),
		cmocka_unit_test(duplicate_agent_roles_are_refused),
		cmocka_unit_test(work_posted_from_other_threads_streams_in),
		cmocka_unit_test(a_late_thread_is_cancelled_at_the_deadline),
		cmocka_unit_test(a_turn_over_the_reply_cap_cancels_its_work),
		cmocka_unit_test(kinds_that_ask_get_their_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
