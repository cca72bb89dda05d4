/* SPDX-License-Identifier: MIT */
/* The built-in kinds through real steps: what each answers, and that bad
 * options are errors naming the role and the key. */
#include <stdlib.h>
#include <string.h>

#include "test.h"

static agora_err
make(const char *role, const char *kind, const char *options, char *err,
     size_t errlen)
{
	agora_json *doc = NULL;
	agora_agent *a = NULL;
	agora_agent_spec spec = { role, kind, NULL, false, false, NULL };
	agora_err rv;

	agora_kinds_builtin();
	if (options != NULL) {
		AGORA_PASS(agora_json_parse(&doc, options, strlen(options),
		                            4096, 8, err, errlen));
		spec.options = doc;
	}
	rv = agora_agent_new(&a, &spec, err, errlen);
	agora_agent_free(a);
	agora_json_free(doc);
	return rv;
}

static char *
one_turn(agora_center *c, const char *role)
{
	const char *who[] = { role };
	agora_step_opts o = { 0 };
	t_frames f;
	char *text;

	o.allowed_roles = who;
	o.n_allowed = 1;
	AGORA_PASS(t_step(c, &o, &f));
	AGORA_PASS(f.err);
	text = t_text(&f, role);
	t_frames_free(&f);
	return text;
}

static void
bad_options_name_role_and_key(void **state)
{
	char err[512];

	(void)state;
	AGORA_FAIL(make("s", "scripted", NULL, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "s: kind scripted needs 'lines'"));
	AGORA_FAIL(
	    make("s", "scripted", "{\"lines\":[\"a\", 3]}", err, sizeof(err)),
	    AGORA_EINVAL);
	assert_non_null(strstr(err, "lines[1]"));
	AGORA_FAIL(make("r", "random", "{\"max\":\"ten\"}", err, sizeof(err)),
	           AGORA_EINVAL);
	assert_non_null(strstr(err, "'max'"));
	AGORA_FAIL(make("z", "sleep", "{\"seconds\":-1}", err, sizeof(err)),
	           AGORA_EINVAL);
	assert_non_null(strstr(err, "'seconds'"));
	AGORA_FAIL(make("x", "telepathy", NULL, err, sizeof(err)),
	           AGORA_ENOTFOUND);
	assert_non_null(strstr(err, "unknown kind 'telepathy'"));
	assert_non_null(strstr(err, "scripted"));
	AGORA_FAIL(make("bad role", "echo", NULL, err, sizeof(err)),
	           AGORA_EINVAL);
	AGORA_FAIL(make("p", "echo", NULL, err, sizeof(err)), AGORA_OK);
}

static void
scripted_streams_words_and_cycles(void **state)
{
	agora_center *c = t_center("scripted");
	char *text;

	(void)state;
	t_add(c, "s", "scripted", "{\"lines\":[\"a b  c\",\"d\"]}");
	t_add(c, "once", "scripted", "{\"lines\":[\"only\"],\"cycle\":false}");
	text = one_turn(c, "s");
	assert_string_equal(text, "a b  c");
	agora_free(text);
	text = one_turn(c, "s");
	assert_string_equal(text, "d");
	agora_free(text);
	text = one_turn(c, "s");
	assert_string_equal(text, "a b  c");
	agora_free(text);
	text = one_turn(c, "once");
	assert_string_equal(text, "only");
	agora_free(text);
	text = one_turn(c, "once");
	assert_string_equal(text, "");
	agora_free(text);
	agora_center_free(c);
}

static void
random_stays_in_range_and_a_seed_repeats(void **state)
{
	agora_center *c1 = t_center("rand1");
	agora_center *c2 = t_center("rand2");

	(void)state;
	t_add(c1, "p", "random", "{\"max\":10,\"seed\":42}");
	t_add(c2, "p", "random", "{\"max\":10,\"seed\":42}");
	for (int i = 0; i < 20; i++) {
		char *a = one_turn(c1, "p");
		char *b = one_turn(c2, "p");
		long v = strtol(a, NULL, 10);
		assert_true(v >= 0 && v <= 10);
		assert_string_equal(a, b);
		agora_free(a);
		agora_free(b);
	}
	agora_center_free(c1);
	agora_center_free(c2);
}

static void
moderator_announces_the_average(void **state)
{
	agora_center *c = t_center("moderator");
	const char *to[] = { "mod" };
	char *text;

	(void)state;
	t_add(c, "mod", "moderator", NULL);
	t_add(c, "p1", "echo", NULL);
	t_add(c, "p2", "echo", NULL);
	t_add(c, "p3", "echo", NULL);
	AGORA_PASS(agora_center_send_task_request(c, "guess", to, 1, NULL));
	AGORA_PASS(agora_center_send_task_request(c, "I say 10", to, 1, "p1"));
	AGORA_PASS(agora_center_send_task_request(c, "40", to, 1, "p2"));
	AGORA_PASS(agora_center_send_task_request(c, "no idea", to, 1, "p3"));
	text = one_turn(c, "mod");
	assert_string_equal(text, "The average of 2 answers is 25.000; "
	                          "closest: p1. (1 answers had no number.)");
	agora_free(text);
	text = one_turn(c, "mod");
	assert_string_equal(text, "No answers to average (0 invalid).");
	agora_free(text);
	agora_center_free(c);
}

static size_t
n_kept(agora_center *c, const char *role, bool memory)
{
	agora_env *env = agora_center_env(c);
	agora_msgs ms = { 0 };
	size_t n;

	if (memory) {
		AGORA_PASS(agora_env_memory(env, role, 0, &ms));
	} else {
		AGORA_PASS(agora_env_view(env, role, 0, &ms));
	}
	n = ms.n;
	agora_msgs_clear(&ms);
	return n;
}

static void
expect_record(agora_center *c, const char *role, uint64_t steps)
{
	agora_agent_info info;

	AGORA_PASS(agora_registry_get(agora_center_registry(c), role, &info));
	assert_int_equal(info.steps, steps);
	assert_int_equal(info.status, AGORA_AGENT_IDLE);
	agora_agent_info_fini(&info);
}

/* Each reply of role names what its turn read: the task before it. */
static void
expect_read_named(agora_center *c, const char *role)
{
	agora_msgs h = { 0 };
	uint64_t task = 0;
	size_t replies = 0;

	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	for (size_t i = 0; i < h.n; i++) {
		char want[48];
		if (strcmp(h.v[i]->sent_from, "mod") == 0 &&
		    h.v[i]->content[0] != 'T') {
			task = h.v[i]->id; /* a task, not an announcement */
		}
		if (strcmp(h.v[i]->sent_from, role) != 0) {
			continue;
		}
		replies++;
		assert_non_null(h.v[i]->meta);
		snprintf(want, sizeof(want), "%llu]", (unsigned long long)task);
		assert_non_null(strstr(h.v[i]->meta, want));
	}
	assert_int_equal(replies, 2);
	agora_msgs_clear(&h);
}

/* random keeps nothing of its turns: no view or memory entries, only its
 * step count in the registry, and its replies name what they read; echo,
 * for comparison, remembers. The replies are stored and delivered all the
 * same. */
static void
memoryless_kinds_keep_nothing_but_their_step_counts(void **state)
{
	agora_center *c = t_center("memoryless");
	const char *to[] = { "mod" };
	agora_step_opts o = { .send_to = to, .n_send_to = 1 };
	t_frames f;
	char *text;

	(void)state;
	t_add(c, "mod", "moderator", NULL);
	t_add(c, "p1", "random", "{\"max\":10}");
	t_add(c, "p2", "random", "{\"max\":10,\"think_ms\":20}");
	t_add(c, "p3", "echo", NULL);
	AGORA_PASS(agora_center_send_task_request(c, "guess", NULL, 0, "mod"));
	for (int round = 1; round <= 2; round++) {
		AGORA_PASS(t_step(c, &o, &f));
		AGORA_PASS(f.err);
		t_frames_free(&f);
		text = one_turn(c, "mod");
		assert_non_null(strstr(text, "of 2 answers"));
		agora_free(text);
		AGORA_PASS(
		    agora_center_send_task_request(c, "again", NULL, 0, "mod"));
	}
	assert_int_equal(n_kept(c, "p1", true), 0);
	assert_int_equal(n_kept(c, "p1", false), 0);
	assert_int_equal(n_kept(c, "p2", true), 0);
	assert_int_equal(n_kept(c, "p3", true), 5);
	/* p2 was busy while it thought: idle again, both steps counted. */
	expect_record(c, "p1", 2);
	expect_record(c, "p2", 2);
	expect_record(c, "mod", 2);
	expect_read_named(c, "p1");
	agora_center_free(c);
}

static void
sleepers_wait_together(void **state)
{
	agora_center *c = t_center("sleep");
	char role[8], opts[64];
	t_frames f;

	(void)state;
	/* z0 waits longest, z9 least. Waiting one after another (a thread
	 * or a blocking call each) would answer in registration order; on
	 * timers they wait at once and answer in reverse order. */
	for (int i = 0; i < 10; i++) {
		snprintf(role, sizeof(role), "z%d", i);
		snprintf(opts, sizeof(opts),
		         "{\"seconds\":%.2f,\"reply\":\"found it\"}",
		         0.05 * (10 - i));
		t_add(c, role, "sleep", opts);
	}
	AGORA_PASS(agora_center_send_task_request(c, "search", NULL, 0, NULL));
	AGORA_PASS(t_step(c, NULL, &f));
	AGORA_PASS(f.err);
	assert_int_equal(t_count(&f, NULL, AGORA_FRAME_END), 10);
	for (int i = 0; i < 9; i++) {
		char later[8];
		snprintf(role, sizeof(role), "z%d", i);
		snprintf(later, sizeof(later), "z%d", i + 1);
		assert_true(t_first(&f, later, AGORA_FRAME_CHUNK) <
		            t_first(&f, role, AGORA_FRAME_CHUNK));
	}
	char *text = t_text(&f, "z7");
	assert_string_equal(text, "found it");
	agora_free(text);
	t_frames_free(&f);
	agora_center_free(c);
}

static void
echo_prefix_and_task_fallback(void **state)
{
	agora_center *c = t_center("echo");
	const char *who[] = { "e" };
	agora_step_opts o = { 0 };
	t_frames f;

	(void)state;
	t_add(c, "e", "echo", "{\"prefix\":\"heard: \"}");
	o.allowed_roles = who;
	o.n_allowed = 1;
	o.task = "the task";
	AGORA_PASS(t_step(c, &o, &f));
	char *text = t_text(&f, "e");
	assert_string_equal(text, "heard: the task");
	agora_free(text);
	t_frames_free(&f);
	agora_center_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_options_name_role_and_key),
		cmocka_unit_test(scripted_streams_words_and_cycles),
		cmocka_unit_test(random_stays_in_range_and_a_seed_repeats),
		cmocka_unit_test(moderator_announces_the_average),
		cmocka_unit_test(
		    memoryless_kinds_keep_nothing_but_their_step_counts),
		cmocka_unit_test(sleepers_wait_together),
		cmocka_unit_test(echo_prefix_and_task_fallback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
