/* SPDX-License-Identifier: MIT */
/* Scenario files: every malformed input gets an error that names the file
 * and the line or the key; the demos load and run as they claim. */
#include <stdlib.h>
#include <string.h>

#include "test.h"

static void
expect_error(const char *text, agora_err code, const char *needle)
{
	agora_scenario *s = NULL;
	char err[512] = "";
	agora_err rv = agora_scenario_parse(&s, "bad.json", text, strlen(text),
	                                    err, sizeof(err));

	if (rv != code || strstr(err, needle) == NULL ||
	    strncmp(err, "bad.json: ", 10) != 0) {
		fail_msg("for %s\ngot %s: '%s'\nwant %s with '%s'", text,
		         agora_errname(rv), err, agora_errname(code), needle);
	}
	assert_null(s);
}

#define AGENT_A "{\"role\":\"a\",\"kind\":\"echo\"}"

static void
malformed_files_are_explained(void **state)
{
	(void)state;
	expect_error("{\n  \"agents\": [\n    {\"role\": \"a\",}\n  ]\n}",
	             AGORA_EPROTO, "line 3");
	expect_error("", AGORA_EPROTO, "line 1");
	expect_error("[]", AGORA_EINVAL, "want a JSON object");
	expect_error("{\"agents\":[]}", AGORA_EINVAL, "agents: want a list");
	expect_error("{\"agents\":[" AGENT_A "],\"scirpt\":[]}", AGORA_EINVAL,
	             "unknown key 'scirpt'");
	expect_error("{\"agents\":[{\"kind\":\"echo\"}]}", AGORA_EINVAL,
	             "agents[0].role: missing");
	expect_error("{\"agents\":[{\"role\":\"a b\",\"kind\":\"echo\"}]}",
	             AGORA_EINVAL, "invalid role name 'a b'");
	expect_error("{\"agents\":[" AGENT_A "," AGENT_A "]}", AGORA_EEXIST,
	             "agents[1] (a): role given twice");
	expect_error("{\"agents\":[{\"role\":\"a\"}]}", AGORA_EINVAL,
	             "agents[0] (a): missing 'kind'");
	expect_error("{\"agents\":[{\"role\":\"s\",\"kind\":\"scripted\","
	             "\"lnes\":[\"x\"]}]}",
	             AGORA_EINVAL, "agents[0] (s): unknown key 'lnes'");
	expect_error("{\"agents\":[{\"role\":\"a\",\"kind\":\"echo\","
	             "\"human\":\"yes\"}]}",
	             AGORA_EINVAL, "human: want true or false");
	expect_error("{\"agents\":[" AGENT_A "],\"script\":[{\"step\":{"
	             "\"allowed_roles\":[\"a\",\"ghost\"]}}]}",
	             AGORA_ENOTFOUND,
	             "script[0].step.allowed_roles: unknown role 'ghost'");
	expect_error("{\"agents\":[" AGENT_A
	             "],\"script\":[{\"send_task_request\""
	             ":{\"task\":\"x\",\"send_to\":\"b\"}}]}",
	             AGORA_ENOTFOUND,
	             "script[0].send_task_request.send_to: unknown role");
	expect_error("{\"agents\":[" AGENT_A
	             "],\"script\":[{\"send_task_request\""
	             ":{\"send_to\":\"a\"}}]}",
	             AGORA_EINVAL, "missing 'task'");
	expect_error("{\"agents\":[" AGENT_A "],\"script\":[{\"step\":{},"
	             "\"repeat\":0}]}",
	             AGORA_EINVAL, "script[0].repeat");
	expect_error("{\"agents\":[" AGENT_A "],\"script\":[{\"walk\":{}}]}",
	             AGORA_EINVAL, "not 'walk'");
	expect_error("{\"agents\":[" AGENT_A "],\"script\":[{\"step\":{"
	             "\"round\":0}}]}",
	             AGORA_EINVAL, "script[0].step.round");
	expect_error("{\"agents\":[" AGENT_A "],\"script\":[{\"step\":{"
	             "\"llm_args\":[1]}}]}",
	             AGORA_EINVAL, "llm_args: want an object");
	expect_error("{\"agents\":[" AGENT_A "],\"script\":[{\"step\":{"
	             "\"alowed_roles\":\"a\"}}]}",
	             AGORA_EINVAL, "unknown key 'alowed_roles'");
}

#define LOOP(body) "{\"agents\":[" AGENT_A "],\"script\":[" body "]}"

static void
loops_are_checked(void **state)
{
	agora_scenario *s = NULL;
	const char *ok = LOOP("{\"loop\":[{\"step\":{}}],\"until\":\"quit\","
	                      "\"max\":1000000}");
	char err[512];

	(void)state;
	expect_error(LOOP("{\"loop\":[]}"), AGORA_EINVAL,
	             "script[0].loop: want a list of one or more");
	expect_error(LOOP("{\"loop\":{\"step\":{}}}"), AGORA_EINVAL,
	             "script[0].loop: want a list of one or more");
	expect_error(LOOP("{\"loop\":[{\"step\":{}}],\"max\":0}"), AGORA_EINVAL,
	             "script[0].loop.max: want a whole number");
	expect_error(LOOP("{\"loop\":[{\"step\":{}}],\"max\":1000001}"),
	             AGORA_EINVAL, "script[0].loop.max: want a whole number");
	expect_error(LOOP("{\"loop\":[{\"step\":{}}],\"max\":\"9\"}"),
	             AGORA_EINVAL, "script[0].loop.max");
	expect_error(LOOP("{\"loop\":[{\"step\":{}}],\"until\":\"bored\"}"),
	             AGORA_EINVAL,
	             "script[0].loop.until: want \"quit\" or \"max\"");
	expect_error(LOOP("{\"loop\":[{\"step\":{}}],\"until\":true}"),
	             AGORA_EINVAL, "script[0].loop.until: want a string");
	expect_error(LOOP("{\"loop\":[{\"step\":{}}],\"repeat\":2}"),
	             AGORA_EINVAL, "script[0].loop: unknown key 'repeat'");
	expect_error(LOOP("{\"step\":{}},{\"loop\":[{\"step\":{}},"
	                  "{\"loop\":[{\"step\":{}}]}]}"),
	             AGORA_EINVAL,
	             "script[1].loop[1]: a loop inside a loop (loops do not "
	             "nest)");
	expect_error(LOOP("{\"loop\":[{\"step\":{\"allowed_roles\":"
	                  "\"ghost\"}}]}"),
	             AGORA_ENOTFOUND,
	             "script[0].loop[0].step.allowed_roles: unknown role "
	             "'ghost'");
	expect_error(LOOP("{\"loop\":[{\"step\":{},\"until\":\"quit\"}]}"),
	             AGORA_EINVAL, "script[0].loop[0]: want one of step");
	AGORA_PASS(agora_scenario_parse(&s, "ok.json", ok, strlen(ok), err,
	                                sizeof(err)));
	agora_scenario_free(s);
}

static void
missing_file_names_the_path(void **state)
{
	agora_scenario *s = NULL;
	char err[512];

	(void)state;
	AGORA_FAIL(agora_scenario_load(&s, "/nonexistent/debate.json", err,
	                               sizeof(err)),
	           AGORA_ENOTFOUND);
	assert_non_null(strstr(err, "/nonexistent/debate.json"));
}

static void
unknown_kind_fails_when_agents_are_made(void **state)
{
	const char *text =
	    "{\"agents\":[{\"role\":\"a\",\"kind\":\"psychic\"}]}";
	agora_scenario *s = NULL;
	agora_center *c = t_center("unknownkind");
	char err[512];

	(void)state;
	AGORA_PASS(agora_scenario_parse(&s, "k.json", text, strlen(text), err,
	                                sizeof(err)));
	AGORA_FAIL(agora_scenario_add_agents(s, c, err, sizeof(err)),
	           AGORA_ENOTFOUND);
	assert_non_null(strstr(err, "k.json: agents[0]: a: unknown kind "
	                            "'psychic'"));
	agora_scenario_free(s);
	agora_center_free(c);
}

struct collect {
	t_frames f;
	size_t cap;
};

static void
collect_frame(void *arg, const agora_frame *fr)
{
	struct collect *c = arg;

	if (c->f.n == c->cap) {
		c->cap = c->cap == 0 ? 64 : c->cap * 2;
		c->f.v = agora_realloc(c->f.v, c->cap * sizeof(agora_frame));
	}
	c->f.v[c->f.n] = *fr;
	c->f.v[c->f.n].role = agora_strdup(fr->role);
	c->f.v[c->f.n].content = agora_strndup(fr->content, fr->len);
	c->f.n++;
}

static void
run_demo(const char *name, struct collect *out, agora_center **cp)
{
	char path[512], err[1024];
	agora_scenario *s = NULL;
	agora_run_hooks hooks = { .on_frame = collect_frame, .arg = out };
	agora_run_stats stats;
	/* Nothing in the test changes the environment. */
	const char *src =
	    getenv("AGORA_SRC"); /* NOLINT(concurrency-mt-unsafe) */

	snprintf(path, sizeof(path), "%s/demos/%s/%s.json",
	         src != NULL ? src : ".", name, name);
	memset(out, 0, sizeof(*out));
	*cp = t_center(name);
	if (agora_scenario_load(&s, path, err, sizeof(err)) != AGORA_OK) {
		fail_msg("%s", err);
	}
	AGORA_PASS(agora_scenario_add_agents(s, *cp, err, sizeof(err)));
	AGORA_PASS(
	    agora_scenario_run(s, *cp, &hooks, &stats, err, sizeof(err)));
	assert_int_equal(stats.errors, 0);
	agora_scenario_free(s);
}

static void
debate_demo_whispers(void **state)
{
	struct collect out;
	agora_center *c;
	agora_msgs v = { 0 };

	(void)state;
	run_demo("debate", &out, &c);
	/* Step 1: joe only; his reply went to hillary alone. */
	assert_string_equal(out.f.v[0].role, "joe_biden");
	AGORA_PASS(agora_env_view(agora_center_env(c), "donald_trump", 0, &v));
	for (size_t i = 0; i < v.n; i++) {
		assert_null(strstr(v.v[i]->content, "between us"));
	}
	agora_msgs_clear(&v);
	AGORA_PASS(
	    agora_env_view(agora_center_env(c), "hillary_clinton", 0, &v));
	assert_non_null(strstr(v.v[0]->content, "between us"));
	agora_msgs_clear(&v);
	assert_true(t_count(&out.f, "donald_trump", AGORA_FRAME_END) >= 2);
	t_frames_free(&out.f);
	agora_center_free(c);
}

static void
chatroom_demo_waits_for_the_person(void **state)
{
	struct collect out;
	agora_center *c;

	(void)state;
	run_demo("chatroom", &out, &c);
	assert_int_equal(t_count(&out.f, "you", AGORA_FRAME_AWAITING_INPUT), 1);
	assert_int_equal(t_count(&out.f, "host", AGORA_FRAME_END), 3);
	assert_int_equal(t_count(&out.f, "carol", AGORA_FRAME_END), 1);
	t_frames_free(&out.f);
	agora_center_free(c);
}

static void
guess_demo_announces_averages(void **state)
{
	struct collect out;
	agora_center *c;
	char *text;

	(void)state;
	run_demo("guess", &out, &c);
	assert_int_equal(t_count(&out.f, "moderator", AGORA_FRAME_END), 2);
	text = t_text(&out.f, "moderator");
	assert_non_null(strstr(text, "The average of 5 answers is"));
	agora_free(text);
	t_frames_free(&out.f);
	agora_center_free(c);
}

/* "count": N makes N agents role1..roleN; they act, answer and are counted
 * like agents listed one by one. */
static void
count_makes_numbered_agents(void **state)
{
	static const char text[] =
	    "{\"agents\":[{\"role\":\"moderator\",\"kind\":\"moderator\"},"
	    "{\"role\":\"p\",\"kind\":\"random\",\"max\":10,\"count\":40}],"
	    "\"script\":[{\"send_task_request\":{\"task\":\"guess\","
	    "\"send_from\":\"moderator\"}},"
	    "{\"step\":{\"send_to\":\"moderator\"}},"
	    "{\"step\":{\"allowed_roles\":[\"moderator\",\"p40\"]}}]}";
	struct collect out = { 0 };
	agora_run_hooks hooks = { .on_frame = collect_frame, .arg = &out };
	agora_run_stats stats;
	agora_center *c = t_center("count");
	agora_scenario *s = NULL;
	char err[512], *mod;

	(void)state;
	AGORA_PASS(agora_scenario_parse(&s, "count.json", text, strlen(text),
	                                err, sizeof(err)));
	AGORA_PASS(agora_scenario_add_agents(s, c, err, sizeof(err)));
	assert_non_null(agora_center_agent(c, "p1"));
	assert_non_null(agora_center_agent(c, "p40"));
	assert_null(agora_center_agent(c, "p41"));
	assert_null(agora_center_agent(c, "p"));
	AGORA_PASS(agora_scenario_run(s, c, &hooks, &stats, err, sizeof(err)));
	assert_int_equal(stats.errors, 0);
	mod = t_text(&out.f, "moderator");
	assert_non_null(strstr(mod, "The average of 40 answers is"));
	agora_free(mod);
	t_frames_free(&out.f);
	agora_scenario_free(s);
	agora_center_free(c);
}

/* A million agents fit in a file of a few bytes; more is refused. */
static void
count_reaches_a_million_and_no_more(void **state)
{
	static const char million[] =
	    "{\"agents\":[{\"role\":\"p\",\"kind\":\"random\","
	    "\"count\":1000000}]}";
	agora_scenario *s = NULL;
	char err[512];

	(void)state;
	AGORA_PASS(agora_scenario_parse(&s, "m.json", million, strlen(million),
	                                err, sizeof(err)));
	agora_scenario_free(s);
	expect_error("{\"agents\":[{\"role\":\"p\",\"kind\":\"random\","
	             "\"count\":1000000}," AGENT_A "]}",
	             AGORA_ETOOBIG, "more than 1000000 agents");
	expect_error("{\"agents\":[{\"role\":\"p\",\"kind\":\"random\","
	             "\"count\":0}]}",
	             AGORA_EINVAL, "agents[0].count: want a whole number");
	expect_error("{\"agents\":[{\"role\":\"p\",\"kind\":\"random\","
	             "\"count\":3},{\"role\":\"p2\",\"kind\":\"echo\"}]}",
	             AGORA_EEXIST, "agents[1] (p2): role given twice");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(malformed_files_are_explained),
		cmocka_unit_test(loops_are_checked),
		cmocka_unit_test(missing_file_names_the_path),
		cmocka_unit_test(unknown_kind_fails_when_agents_are_made),
		cmocka_unit_test(debate_demo_whispers),
		cmocka_unit_test(chatroom_demo_waits_for_the_person),
		cmocka_unit_test(guess_demo_announces_averages),
		cmocka_unit_test(count_makes_numbered_agents),
		cmocka_unit_test(count_reaches_a_million_and_no_more),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
