/* SPDX-License-Identifier: MIT */
/* Scenario loops ("loop": [...], "until": "quit"), run by a driver that
 * stands for a person: the loop goes on while the person talks, ends when
 * they quit (the history in Redis holds exactly what was said, nothing is
 * left in flight, the script goes on after it), and without a person it
 * runs loop_idle_max rounds, not its max. */
#include <string.h>

#include "test.h"

/* A person who says the lines of `say` in turn, "" meaning an empty
 * line (skip), then quits. */
struct person {
	const char *const *say;
	size_t n;
	size_t asked;
	unsigned rounds; /* on_loop_end's */
	agora_loop_end why;
	int ends; /* on_loop_end calls */
};

static agora_answer
person_ask(void *arg, const char *role, char **words)
{
	struct person *p = arg;

	assert_string_equal(role, "you");
	if (p->asked >= p->n) {
		p->asked++;
		return AGORA_ANSWER_QUIT;
	}
	if (p->say[p->asked][0] == '\0') {
		p->asked++;
		return AGORA_ANSWER_SKIP;
	}
	*words = agora_strdup(p->say[p->asked++]);
	return AGORA_ANSWER_WORDS;
}

static void
person_loop_end(void *arg, const char *where, unsigned rounds,
                agora_loop_end why)
{
	struct person *p = arg;

	assert_string_equal(where, "script[1].loop");
	p->rounds = rounds;
	p->why = why;
	p->ends++;
}

#define CHATBOT_AGENTS                                                      \
	"\"agents\":[{\"role\":\"bot\",\"kind\":\"echo\",\"prefix\":\"re: " \
	"\"},{\"role\":\"you\",\"kind\":\"user\"}],"
#define GREETING                                                            \
	"{\"send_task_request\":{\"task\":\"hello\",\"send_from\":\"bot\"," \
	"\"send_to\":\"you\"}},"
#define ROUND                                      \
	"[{\"step\":{\"allowed_roles\":\"you\"}}," \
	"{\"step\":{\"allowed_roles\":\"bot\"}}]"

/* Run text on a new center of this name with a person (say NULL: no
 * person attached); returns the center, for its history. */
static agora_center *
run_with(const char *name, const char *text, struct person *p,
         unsigned idle_max, agora_run_stats *stats)
{
	agora_scenario *s = NULL;
	agora_center *c = t_center(name);
	agora_run_hooks hooks = { .ask = p->say != NULL ? person_ask : NULL,
		                  .arg = p,
		                  .loop_idle_max = idle_max,
		                  .on_loop_end = person_loop_end };
	char err[512];

	AGORA_PASS(agora_scenario_parse(&s, "loop.json", text, strlen(text),
	                                err, sizeof(err)));
	AGORA_PASS(agora_scenario_add_agents(s, c, err, sizeof(err)));
	AGORA_PASS(agora_scenario_run(s, c, &hooks, stats, err, sizeof(err)));
	agora_scenario_free(s);
	return c;
}

static char *
history_of(agora_center *c)
{
	agora_msgs h = { 0 };
	char *text;

	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	text = t_msgs(&h);
	agora_msgs_clear(&h);
	return text;
}

static void
nothing_in_flight(agora_center *c)
{
	t_ids_are(c, "inflight", "you", "");
	t_ids_are(c, "inflight", "bot", "");
}

static void
quitting_ends_the_loop_and_the_script_goes_on(void **state)
{
	static const char *const say[] = { "one", "two" };
	const char *text =
	    "{" CHATBOT_AGENTS "\"script\":[" GREETING "{\"loop\":" ROUND
	    ",\"until\":\"quit\",\"max\":1000},"
	    "{\"send_task_request\":{\"task\":\"bye\",\"send_to\":\"bot\"}},"
	    "{\"step\":{\"allowed_roles\":\"bot\"}},"
	    "{\"step\":{\"allowed_roles\":\"you\"}}]}";
	struct person p = { .say = say, .n = 2 };
	agora_run_stats stats;
	agora_center *c;
	char *h;

	(void)state;
	c = run_with("quit", text, &p, 0, &stats);
	/* Asked three times: two lines, then the quit; never again after. */
	assert_int_equal(p.asked, 3);
	assert_int_equal(p.ends, 1);
	assert_int_equal(p.why, AGORA_LOOP_QUIT);
	assert_int_equal(p.rounds, 3);
	h = history_of(c);
	assert_string_equal(h, "bot>hello|you>one|bot>re: one|you>two|"
	                       "bot>re: two|user_requirement>bye|bot>re: bye");
	agora_free(h);
	nothing_in_flight(c);
	agora_center_free(c);
}

static void
an_empty_line_keeps_the_chat_going_to_its_max(void **state)
{
	static const char *const say[] = { "one", "", "three", "four" };
	const char *text = "{" CHATBOT_AGENTS "\"script\":[" GREETING
	                   "{\"loop\":" ROUND ",\"max\":3}]}";
	struct person p = { .say = say, .n = 4 };
	agora_run_stats stats;
	agora_center *c;
	char *h;

	(void)state;
	c = run_with("max", text, &p, 0, &stats);
	assert_int_equal(p.asked, 3);
	assert_int_equal(p.why, AGORA_LOOP_MAX);
	assert_int_equal(p.rounds, 3);
	/* The empty line: the user says nothing, the bot has nothing new. */
	h = history_of(c);
	assert_string_equal(h, "bot>hello|you>one|bot>re: one|you>three|"
	                       "bot>re: three");
	agora_free(h);
	nothing_in_flight(c);
	agora_center_free(c);
}

static void
without_a_person_the_loop_runs_idle_max_rounds(void **state)
{
	const char *quit =
	    "{" CHATBOT_AGENTS "\"script\":[" GREETING "{\"loop\":" ROUND "}]}";
	const char *max = "{" CHATBOT_AGENTS "\"script\":[" GREETING
	                  "{\"loop\":" ROUND ",\"until\":\"max\",\"max\":5}]}";
	struct person p = { 0 };
	agora_run_stats stats;
	agora_center *c;

	(void)state;
	c = run_with("nobody1", quit, &p, 0, &stats);
	assert_int_equal(p.why, AGORA_LOOP_NOBODY);
	assert_int_equal(p.rounds, 1);
	assert_int_equal(stats.steps, 2);
	nothing_in_flight(c);
	agora_center_free(c);
	c = run_with("nobody4", quit, &p, 4, &stats);
	assert_int_equal(p.why, AGORA_LOOP_NOBODY);
	assert_int_equal(p.rounds, 4);
	assert_int_equal(stats.steps, 8);
	agora_center_free(c);
	/* "until": "max" needs no person: all of its rounds. */
	c = run_with("nobody5", max, &p, 0, &stats);
	assert_int_equal(p.why, AGORA_LOOP_MAX);
	assert_int_equal(p.rounds, 5);
	assert_int_equal(stats.steps, 10);
	agora_center_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quitting_ends_the_loop_and_the_script_goes_on),
		cmocka_unit_test(an_empty_line_keeps_the_chat_going_to_its_max),
		cmocka_unit_test(
		    without_a_person_the_loop_runs_idle_max_rounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
