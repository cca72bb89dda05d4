/* SPDX-License-Identifier: MIT */
/* The acceptance scenarios 14-40 of ModelScope-Agent's multi-agent mode
 * (steps, chats, humans, watchers), each with our decision: Keep (we
 * reproduce it) or Fix (we deliberately differ, and say how).
 * docs/taskcenter.md lists the same decisions; 1-13 are in
 * scenarios_env_test.c. */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenarios.h"

/* 14. Keep, with a Fix: step 2 acts on new deliveries (each got the
 * other's reply), not on sticky flags. */
static void
s14_simple_chat(void **state)
{
	agora_center *c = t_center("s14");
	t_frames f;

	(void)state;
	t_add(c, "role_play1", "scripted",
	      "{\"lines\":[\"I am one of two\",\"still "
	      "one\"],\"word_delay_ms\":5}");
	t_add(c, "role_play2", "scripted",
	      "{\"lines\":[\"I am two of two\",\"still "
	      "two\"],\"word_delay_ms\":5}");
	task_to(c, "who are u", NULL, NULL);
	AGORA_PASS(t_step(c, NULL, &f));
	assert_int_equal(t_count(&f, "role_play1", AGORA_FRAME_END), 1);
	assert_int_equal(t_count(&f, "role_play2", AGORA_FRAME_END), 1);
	assert_true(t_first(&f, "role_play2", AGORA_FRAME_CHUNK) <
	            t_first(&f, "role_play1", AGORA_FRAME_END));
	t_frames_free(&f);
	AGORA_PASS(t_step(c, NULL, &f));
	assert_int_equal(t_count(&f, "role_play1", AGORA_FRAME_END), 1);
	assert_int_equal(t_count(&f, "role_play2", AGORA_FRAME_END), 1);
	t_frames_free(&f);
	agora_center_free(c);
}

/* 15. Keep, with a Fix: only joe answers step 1; his reply notifies
 * trump; joe is not notified again by his own message (upstream leaves
 * him notified forever). */
static void
s15_debate(void **state)
{
	agora_center *c = t_center("s15");
	agora_strv n = { 0 };
	t_frames f;

	(void)state;
	t_add(c, "joe", "echo", NULL);
	t_add(c, "trump", "echo", NULL);
	task_to(c, "moon?", "joe", NULL);
	AGORA_PASS(t_step(c, NULL, &f));
	assert_int_equal(t_count(&f, "trump", AGORA_FRAME_CHUNK), 0);
	assert_int_equal(t_count(&f, "joe", AGORA_FRAME_END), 1);
	t_frames_free(&f);
	AGORA_PASS(agora_env_notified_roles(agora_center_env(c), &n));
	assert_int_equal(n.n, 1);
	assert_string_equal(n.v[0], "trump");
	for (int i = 0; i < 4; i++) { /* they alternate */
		AGORA_PASS(t_step(c, NULL, &f));
		assert_int_equal(
		    t_count(&f, i % 2 == 0 ? "trump" : "joe", AGORA_FRAME_END),
		    1);
		assert_int_equal(
		    t_count(&f, i % 2 == 0 ? "joe" : "trump", AGORA_FRAME_END),
		    0);
		t_frames_free(&f);
	}
	agora_strv_clear(&n);
	agora_center_free(c);
}

/* 16. Keep, with a Fix: the whisper reaches hillary only, and trump's
 * turn does not read it (upstream puts it in his prompt). */
static void
s16_whisper(void **state)
{
	agora_center *c = t_center("s16");
	agora_step_opts o = { 0 };
	const char *to[] = { "hillary" };
	const char *who[] = { "trump" };
	t_frames f;

	(void)state;
	t_add(c, "joe", "scripted", "{\"lines\":[\"secret plan\"]}");
	t_add(c, "trump", "prompt", NULL);
	t_add(c, "hillary", "echo", NULL);
	task_to(c, "what is the best solution to land on moon?", "joe", NULL);
	o.send_to = to;
	o.n_send_to = 1;
	AGORA_PASS(t_step(c, &o, &f));
	t_frames_free(&f);
	assert_int_equal(pending(c, "hillary"), 1);
	assert_int_equal(pending(c, "trump"), 0);
	o = allowed(who, 1);
	AGORA_PASS(t_step(c, &o, &f));
	assert_int_equal(t_count(&f, "joe", AGORA_FRAME_CHUNK), 0);
	assert_int_equal(t_count(&f, "hillary", AGORA_FRAME_CHUNK), 0);
	char *text = t_text(&f, "trump");
	assert_null(strstr(text, "secret"));
	agora_free(text);
	t_frames_free(&f);
	agora_center_free(c);
}

/* 17. Keep: a human's response yields no chunk frames and is stored from
 * the human to all. */
static void
s17_human(void **state)
{
	agora_center *c = t_center("s17");
	const char *who[] = { "user" };
	agora_step_opts o = allowed(who, 1);
	agora_msgs h = { 0 };
	t_frames f;

	(void)state;
	t_add_flags(c, "user", "user", NULL, true, false);
	t_add(c, "joe", "echo", NULL);
	o.user_response = "I dont agree with you about the landing project";
	AGORA_PASS(t_step(c, &o, &f));
	char *text = t_text(&f, "user");
	assert_string_equal(text, "");
	agora_free(text);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 1);
	assert_string_equal(h.v[0]->sent_from, "user");
	assert_string_equal(h.v[0]->send_to.v[0], "all");
	agora_msgs_clear(&h);
	t_frames_free(&f);
	agora_center_free(c);
}

/* 18. Keep, with a Fix: send_from trump stores from trump and notifies
 * joe; trump's memory gets the message itself as his own words (upstream
 * adds a made-up "You are starting a task" user turn before it). */
static void
s18_send_from(void **state)
{
	agora_center *c = t_center("s18");
	agora_msgs mem = { 0 }, h = { 0 };

	(void)state;
	t_add(c, "joe", "echo", NULL);
	t_add(c, "trump", "echo", NULL);
	task_to(c, "I dont agree with you about the landing project", "joe",
	        "trump");
	assert_int_equal(pending(c, "joe"), 1);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_string_equal(h.v[0]->sent_from, "trump");
	AGORA_PASS(agora_env_memory(agora_center_env(c), "trump", 0, &mem));
	assert_int_equal(mem.n, 1);
	assert_int_equal(mem.v[0]->role, AGORA_ROLE_ASSISTANT);
	assert_string_equal(mem.v[0]->content,
	                    "I dont agree with you about the landing project");
	agora_msgs_clear(&mem);
	agora_msgs_clear(&h);
	agora_center_free(c);
}

/* 19. Keep (as the chatroom scenario): the watcher names the next
 * speakers, they speak; a human named by it is asked and answers next;
 * the watcher never adds messages. */
static agora_answer
s19_ask(void *arg, const char *role, char **words)
{
	int *asked = arg;

	(*asked)++;
	if (strcmp(role, "me") != 0) {
		return AGORA_ANSWER_SKIP;
	}
	*words = agora_strdup("count me in");
	return AGORA_ANSWER_WORDS;
}

static void
s19_chatroom(void **state)
{
	const char *text =
	    "{\"agents\":["
	    "{\"role\":\"host\",\"kind\":\"scripted\",\"watcher\":true,"
	    "\"lines\":[\"```json\\n{\\\"next_speakers\\\":[\\\"amy\\\","
	    "\\\"me\\\",\\\"nobody\\\"]}\\n```\"]},"
	    "{\"role\":\"amy\",\"kind\":\"scripted\",\"lines\":[\"hi all\"]},"
	    "{\"role\":\"bo\",\"kind\":\"scripted\",\"lines\":[\"bo here\"]},"
	    "{\"role\":\"me\",\"kind\":\"user\"}],"
	    "\"script\":[{\"send_task_request\":{\"task\":\"chat\"}},"
	    "{\"step\":{\"allowed_roles\":\"host\"}},"
	    "{\"step\":{\"allowed_roles_from\":\"host\"}}]}";
	agora_scenario *s = NULL;
	agora_center *c = t_center("s19");
	int asked = 0;
	agora_run_hooks hooks = { .ask = s19_ask, .arg = &asked };
	agora_run_stats stats;
	agora_msgs h = { 0 };
	char err[512];

	(void)state;
	AGORA_PASS(agora_scenario_parse(&s, "chat.json", text, strlen(text),
	                                err, sizeof(err)));
	AGORA_PASS(agora_scenario_add_agents(s, c, err, sizeof(err)));
	AGORA_PASS(agora_scenario_run(s, c, &hooks, &stats, err, sizeof(err)));
	assert_int_equal(asked, 1);
	assert_int_equal(stats.awaiting, 1);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	/* The task, amy, and the person; not host, not bo. */
	assert_int_equal(h.n, 3);
	assert_string_equal(h.v[1]->sent_from, "amy");
	assert_string_equal(h.v[2]->sent_from, "me");
	assert_string_equal(h.v[2]->content, "count me in");
	agora_msgs_clear(&h);
	agora_scenario_free(s);
	agora_center_free(c);
}

/* 20. Keep, and Fix: two applications with the same role names on one
 * Redis are isolated by session, in every mode (upstream: only on Ray). */
static void
s20_isolated_users(void **state)
{
	agora_center *a = t_center("s20a");
	agora_center *b = t_center("s20b");
	t_frames f;

	(void)state;
	t_add(a, "alice", "echo", NULL);
	t_add(b, "alice", "echo", NULL);
	task_to(a, "only for a", NULL, NULL);
	AGORA_PASS(t_step(b, NULL, &f));
	assert_int_equal(f.n, 0);
	t_frames_free(&f);
	AGORA_PASS(t_step(a, NULL, &f));
	char *text = t_text(&f, "alice");
	assert_string_equal(text, "only for a");
	agora_free(text);
	t_frames_free(&f);
	agora_center_free(a);
	agora_center_free(b);
}

/* 21. Keep: nothing to do yields nothing and no error. */
static void
s21_empty_step(void **state)
{
	agora_center *c = t_center("s21");
	t_frames f;

	(void)state;
	t_add(c, "a", "echo", NULL);
	AGORA_PASS(t_step(c, NULL, &f));
	AGORA_PASS(f.err);
	assert_int_equal(f.n, 0);
	agora_center_free(c);
}

/* 22. Keep the "<role>: chunk" text, one frame per chunk; Fix: frames are
 * structured and each turn ends with an end frame. */
static void
s22_frame_format(void **state)
{
	agora_center *c = t_center("s22");
	agora_buf b;
	t_frames f;

	(void)state;
	t_add(c, "bob", "scripted", "{\"lines\":[\"hi from bob\"]}");
	task_to(c, "go", NULL, NULL);
	AGORA_PASS(t_step(c, NULL, &f));
	assert_int_equal(t_count(&f, "bob", AGORA_FRAME_CHUNK), 3);
	agora_buf_init(&b, 0);
	AGORA_PASS(agora_frame_render(&f.v[0], &b));
	assert_string_equal(b.data, "<bob>: hi ");
	assert_int_equal(f.v[f.n - 1].type, AGORA_FRAME_END);
	agora_buf_fini(&b);
	t_frames_free(&f);
	agora_center_free(c);
}

/* 23. Keep: extract splits at the first ": "; no separator is an error. */
static void
s23_extract_frame(void **state)
{
	char *role, *content;

	(void)state;
	AGORA_PASS(agora_frame_extract("<bob>: x: y", &role, &content));
	assert_string_equal(role, "bob");
	assert_string_equal(content, "x: y");
	agora_free(role);
	agora_free(content);
	AGORA_FAIL(agora_frame_extract("<bob> nothing", &role, &content),
	           AGORA_EPROTO);
}

/* 24. Keep: "all" reaches every role but the sender, watchers included;
 * user_requirement is never a recipient. */
static void
s24_all_includes_watchers(void **state)
{
	agora_center *c = t_center("s24");

	(void)state;
	t_add(c, "a", "echo", NULL);
	t_add_flags(c, "w", "echo", NULL, false, true);
	task_to(c, "x", NULL, "a");
	assert_int_equal(pending(c, "w"), 1);
	assert_int_equal(pending(c, "a"), 0);
	assert_int_equal(pending(c, "user_requirement"), 0);
	agora_center_free(c);
}

/* 25. Fix: an unknown recipient fails the store and writes nothing. */
static void
s25_unknown_recipient_atomic(void **state)
{
	agora_center *c = t_center("s25");
	const char *to[] = { "a", "ghost" };
	agora_msgs h = { 0 };

	(void)state;
	t_add(c, "a", "echo", NULL);
	AGORA_FAIL(agora_center_send_task_request(c, "x", to, 2, NULL),
	           AGORA_ENOTFOUND);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 0);
	assert_int_equal(pending(c, "a"), 0);
	agora_center_free(c);
}

/* 26. Keep: an unregistered sender is an error. */
static void
s26_unknown_sender(void **state)
{
	agora_center *c = t_center("s26");

	(void)state;
	t_add(c, "a", "echo", NULL);
	AGORA_FAIL(agora_center_send_task_request(c, "x", NULL, 0, "nobody"),
	           AGORA_ENOTFOUND);
	assert_non_null(strstr(agora_center_errstr(c), "nobody"));
	agora_center_free(c);
}

/* 27. Fix: an unknown allowed role is a clear error before anything runs
 * (upstream crashes). */
static void
s27_unknown_allowed_role(void **state)
{
	agora_center *c = t_center("s27");
	const char *who[] = { "ghost" };
	agora_step_opts o = allowed(who, 1);
	t_frames f;

	(void)state;
	t_add(c, "a", "echo", NULL);
	AGORA_FAIL(t_step(c, &o, &f), AGORA_ENOTFOUND);
	assert_non_null(strstr(f.errstr, "unknown role 'ghost'"));
	agora_center_free(c);
}

/* 28. Keep the "sender: content" lines; Fix: an agent reads the task
 * apart from its own messages (no separator bug) and only what was sent
 * to it (no global window). Prompt building itself: docs/llm.md. */
static void
s28_prompt_inputs(void **state)
{
	agora_center *c = t_center("s28");
	agora_step_opts o = { 0 };
	const char *who[] = { "bob" };
	t_frames f;

	(void)state;
	t_add(c, "alice", "echo", NULL);
	t_add(c, "bob", "prompt", NULL);
	task_to(c, "TASK1", "alice", NULL);
	task_to(c, "for bob", "bob", "alice");
	o = allowed(who, 1);
	o.task = "EXTRA:";
	AGORA_PASS(t_step(c, &o, &f));
	char *text = t_text(&f, "bob");
	assert_string_equal(text, "task=EXTRA:\nalice: for bob");
	agora_free(text);
	t_frames_free(&f);
	agora_center_free(c);
}

/* 29. Keep rounds (round 2 reads round 1's replies); Fix: a human's
 * response is published once, not once per round. */
static void
s29_rounds(void **state)
{
	agora_center *c = t_center("s29");
	agora_step_opts o = { 0 };
	agora_msgs h = { 0 };
	t_frames f;
	size_t from_user = 0;

	(void)state;
	t_add_flags(c, "human", "user", NULL, true, false);
	t_add(c, "alice", "prompt", NULL);
	task_to(c, "start", NULL, NULL);
	o.rounds = 2;
	o.user_response = "R";
	AGORA_PASS(t_step(c, &o, &f));
	assert_int_equal(t_count(&f, "alice", AGORA_FRAME_END), 2);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	for (size_t i = 0; i < h.n; i++) {
		from_user += strcmp(h.v[i]->sent_from, "human") == 0;
	}
	assert_int_equal(from_user, 1);
	/* alice's round-2 turn read the human's round-1 words. */
	char *text = t_text(&f, "alice");
	assert_non_null(strstr(text, "human: R"));
	agora_free(text);
	agora_msgs_clear(&h);
	t_frames_free(&f);
	agora_center_free(c);
}

/* 30. Fix: a human without a response is skipped with awaiting_input;
 * the others' replies are kept (upstream crashes and loses them). */
static void
s30_human_without_response(void **state)
{
	agora_center *c = t_center("s30");
	agora_msgs h = { 0 };
	t_frames f;

	(void)state;
	t_add_flags(c, "human", "user", NULL, true, false);
	t_add(c, "alice", "echo", NULL);
	task_to(c, "start", NULL, NULL);
	AGORA_PASS(t_step(c, NULL, &f));
	AGORA_PASS(f.err);
	assert_int_equal(t_count(&f, "human", AGORA_FRAME_AWAITING_INPUT), 1);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 2);
	agora_msgs_clear(&h);
	t_frames_free(&f);
	agora_center_free(c);
}

/* 31. Fix: an empty response publishes nothing. */
static void
s31_empty_response(void **state)
{
	agora_center *c = t_center("s31");
	agora_step_opts o = { 0 };
	agora_msgs h = { 0 };
	t_frames f;

	(void)state;
	t_add_flags(c, "human", "user", NULL, true, false);
	t_add(c, "alice", "echo", NULL);
	task_to(c, "start", "human", NULL);
	o.user_response = "";
	AGORA_PASS(t_step(c, &o, &f));
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 1);
	assert_int_equal(pending(c, "alice"), 0);
	agora_msgs_clear(&h);
	t_frames_free(&f);
	agora_center_free(c);
}

/* 32. Fix: in terminal mode, typed words replace the agent's own answer;
 * an empty line lets the agent answer on its own (auto-reply). */
static agora_answer
s32_ask(void *arg, const char *role, char **words)
{
	int *calls = arg;

	(void)role;
	if ((*calls)++ != 0) {
		return AGORA_ANSWER_SKIP;
	}
	*words = agora_strdup("typed words");
	return AGORA_ANSWER_WORDS;
}

static void
s32_terminal_mode(void **state)
{
	const char *text =
	    "{\"agents\":[{\"role\":\"term\",\"kind\":\"echo\",\"human\":true,"
	    "\"prefix\":\"auto: \"},{\"role\":\"sink\",\"kind\":\"user\"}],"
	    "\"script\":[{\"send_task_request\":{\"task\":\"q\",\"send_to\":"
	    "\"term\"}},{\"step\":{}},"
	    "{\"send_task_request\":{\"task\":\"q2\",\"send_to\":\"term\"}},"
	    "{\"step\":{}}]}";
	agora_scenario *s = NULL;
	agora_center *c = t_center("s32");
	int calls = 0;
	agora_run_hooks hooks = { .ask = s32_ask, .arg = &calls };
	agora_msgs h = { 0 };
	char err[512];

	(void)state;
	AGORA_PASS(agora_scenario_parse(&s, "term.json", text, strlen(text),
	                                err, sizeof(err)));
	AGORA_PASS(agora_scenario_add_agents(s, c, err, sizeof(err)));
	AGORA_PASS(agora_scenario_run(s, c, &hooks, NULL, err, sizeof(err)));
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 4);
	assert_string_equal(h.v[1]->content, "typed words");
	assert_string_equal(h.v[3]->content, "auto: q2");
	agora_msgs_clear(&h);
	agora_scenario_free(s);
	agora_center_free(c);
}

/* 33. Keep: a watcher reads the transcript, streams, publishes nothing. */
static void
s33_watcher(void **state)
{
	agora_center *c = t_center("s33");
	const char *who[] = { "w" };
	agora_step_opts o = allowed(who, 1);
	agora_msgs h = { 0 };
	t_frames f;

	(void)state;
	t_add(c, "a", "echo", NULL);
	t_add_flags(c, "w", "prompt", NULL, false, true);
	task_to(c, "private", "a", NULL);
	AGORA_PASS(t_step(c, &o, &f));
	char *text = t_text(&f, "w");
	assert_non_null(strstr(text, "user_requirement: private"));
	agora_free(text);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 1);
	agora_msgs_clear(&h);
	t_frames_free(&f);
	agora_center_free(c);
}

/* 34. Fix: acting drains the queue; a role is notified again only by new
 * messages (upstream queues only grow). */
static void
s34_no_sticky_notification(void **state)
{
	agora_center *c = t_center("s34");
	const char *to[] = { "sink" };
	agora_step_opts o = { 0 };
	t_frames f;

	(void)state;
	t_add(c, "alice", "echo", NULL);
	t_add(c, "bob", "echo", NULL);
	t_add(c, "sink", "user", NULL);
	task_to(c, "start", "alice,bob", NULL);
	o.send_to = to;
	o.n_send_to = 1;
	AGORA_PASS(t_step(c, &o, &f));
	t_frames_free(&f);
	assert_int_equal(pending(c, "alice"), 0);
	assert_int_equal(pending(c, "bob"), 0);
	AGORA_PASS(t_step(c, &o, &f));
	assert_int_equal(t_count(&f, "alice", AGORA_FRAME_END), 0);
	t_frames_free(&f);
	agora_center_free(c);
}

/* 35. Keep the roles; Fix: reset also empties the requirements and the
 * memories (upstream keeps them). */
static void
s35_reset(void **state)
{
	agora_center *c = t_center("s35");
	agora_msgs ms = { 0 };
	agora_strv roles = { 0 };

	(void)state;
	t_add(c, "a", "echo", NULL);
	task_to(c, "req", NULL, NULL);
	task_to(c, "mine", NULL, "a");
	AGORA_PASS(agora_center_reset(c, true));
	AGORA_PASS(agora_env_requirements(agora_center_env(c), &ms));
	assert_int_equal(ms.n, 0);
	AGORA_PASS(agora_env_memory(agora_center_env(c), "a", 0, &ms));
	assert_int_equal(ms.n, 0);
	AGORA_PASS(agora_env_roles(agora_center_env(c), &roles));
	assert_int_equal(roles.n, 1);
	agora_strv_clear(&roles);
	agora_center_free(c);
}

/* 36. Keep the first agent; Fix: adding a second for the role is an
 * error, not silence. */
static void
s36_duplicate_add(void **state)
{
	agora_center *c = t_center("s36");
	agora_agent *first = t_add(c, "a", "echo", NULL);
	agora_agent *again = NULL;
	agora_agent_spec spec = { "a", "echo", NULL, false, false, NULL };
	char err[256];

	(void)state;
	AGORA_PASS(agora_agent_new(&again, &spec, err, sizeof(err)));
	AGORA_FAIL(agora_center_add_agents(c, &again, 1), AGORA_EEXIST);
	assert_ptr_equal(agora_center_agent(c, "a"), first);
	agora_agent_free(again);
	agora_center_free(c);
}

/* 37. Fix: which roles are human works in every mode (upstream raises in
 * local mode), from the agents and from the registry. */
static void
s37_user_agent_present(void **state)
{
	agora_center *c = t_center("s37");
	agora_agent_info info = { 0 };

	(void)state;
	t_add_flags(c, "user", "user", NULL, true, false);
	t_add(c, "alice", "echo", NULL);
	assert_true(agora_agent_is_human(agora_center_agent(c, "user")));
	assert_false(agora_agent_is_human(agora_center_agent(c, "alice")));
	AGORA_PASS(agora_registry_get(agora_center_registry(c), "user", &info));
	assert_true(info.human);
	agora_agent_info_fini(&info);
	AGORA_PASS(
	    agora_registry_get(agora_center_registry(c), "alice", &info));
	assert_false(info.human);
	agora_agent_info_fini(&info);
	agora_center_free(c);
}

/* 38. Fix: two identical messages are two messages (ids, not values). */
static void
s38_identical_messages(void **state)
{
	agora_center *c = t_center("s38");
	agora_msgs ms;

	(void)state;
	t_add(c, "a", "echo", NULL);
	t_add(c, "b", "echo", NULL);
	task_to(c, "same", "b", "a");
	task_to(c, "same", "b", "a");
	ms = drain(c, "b");
	assert_int_equal(ms.n, 2);
	assert_true(ms.v[0]->id != ms.v[1]->id);
	agora_msgs_clear(&ms);
	agora_center_free(c);
}

/* 39. Keep: after a turn the memory holds what the agent read (user) and
 * its reply (assistant); decided: a human's words enter its memory too. */
static void
s39_memory_after_a_turn(void **state)
{
	agora_center *c = t_center("s39");
	const char *who[] = { "human" };
	agora_step_opts o = allowed(who, 1);
	agora_msgs mem = { 0 };
	t_frames f;

	(void)state;
	t_add(c, "bot", "echo", NULL);
	t_add_flags(c, "human", "user", NULL, true, false);
	task_to(c, "ping", "bot", NULL);
	AGORA_PASS(t_step(c, NULL, &f));
	t_frames_free(&f);
	AGORA_PASS(agora_env_memory(agora_center_env(c), "bot", 0, &mem));
	assert_int_equal(mem.n, 2);
	assert_int_equal(mem.v[0]->role, AGORA_ROLE_USER);
	assert_string_equal(mem.v[0]->content, "ping");
	assert_int_equal(mem.v[1]->role, AGORA_ROLE_ASSISTANT);
	assert_string_equal(mem.v[1]->content, "ping");
	agora_msgs_clear(&mem);
	o.user_response = "my words";
	AGORA_PASS(t_step(c, &o, &f));
	t_frames_free(&f);
	AGORA_PASS(agora_env_memory(agora_center_env(c), "human", 0, &mem));
	assert_int_equal(mem.n, 2); /* bot's reply it read, and its words */
	assert_string_equal(mem.v[1]->content, "my words");
	assert_int_equal(mem.v[1]->role, AGORA_ROLE_ASSISTANT);
	agora_msgs_clear(&mem);
	agora_center_free(c);
}

/* 40. Keep: step's llm_args reach the agent unchanged. */
static void
s40_llm_args(void **state)
{
	agora_center *c = t_center("s40");
	agora_step_opts o = { 0 };
	t_frames f;

	(void)state;
	t_add(c, "m", "args", NULL);
	task_to(c, "go", NULL, NULL);
	o.llm_args = "{\"temperature\":0.1}";
	AGORA_PASS(t_step(c, &o, &f));
	char *text = t_text(&f, "m");
	assert_string_equal(text, "{\"temperature\":0.1}");
	agora_free(text);
	t_frames_free(&f);
	agora_center_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(s14_simple_chat),
		cmocka_unit_test(s15_debate),
		cmocka_unit_test(s16_whisper),
		cmocka_unit_test(s17_human),
		cmocka_unit_test(s18_send_from),
		cmocka_unit_test(s19_chatroom),
		cmocka_unit_test(s20_isolated_users),
		cmocka_unit_test(s21_empty_step),
		cmocka_unit_test(s22_frame_format),
		cmocka_unit_test(s23_extract_frame),
		cmocka_unit_test(s24_all_includes_watchers),
		cmocka_unit_test(s25_unknown_recipient_atomic),
		cmocka_unit_test(s26_unknown_sender),
		cmocka_unit_test(s27_unknown_allowed_role),
		cmocka_unit_test(s28_prompt_inputs),
		cmocka_unit_test(s29_rounds),
		cmocka_unit_test(s30_human_without_response),
		cmocka_unit_test(s31_empty_response),
		cmocka_unit_test(s32_terminal_mode),
		cmocka_unit_test(s33_watcher),
		cmocka_unit_test(s34_no_sticky_notification),
		cmocka_unit_test(s35_reset),
		cmocka_unit_test(s36_duplicate_add),
		cmocka_unit_test(s37_user_agent_present),
		cmocka_unit_test(s38_identical_messages),
		cmocka_unit_test(s39_memory_after_a_turn),
		cmocka_unit_test(s40_llm_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
