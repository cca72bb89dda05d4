/* SPDX-License-Identifier: MIT */
/* agora sim (include/agora/sim.h) with real parts: a real Redis, child
 * agent servers, the fake OpenAI server. The moderators' shares add up to
 * every participant and their sums match what the participants said (read
 * back from each share's session history); LLM participants answer through
 * the fake server and those whose answer has no number are counted and
 * named; a child server killed mid-round makes its participants "lost",
 * their questions go back to their inboxes, and the next round counts
 * everyone. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

static agora_config cfg;

static void
cfg_reset(const char *timeout_ms)
{
	char err[256];

	agora_config_fini(&cfg);
	agora_config_init(&cfg);
	agora_config_set(&cfg, "redis.url", t_redis_url(), err, sizeof(err));
	agora_config_set(&cfg, "server.program", getenv("AGORA_BIN"), err,
	                 sizeof(err));
	agora_config_set(&cfg, "server.log", t_server_log(), err, sizeof(err));
	agora_config_set(&cfg, "server.timeout_ms", timeout_ms, err,
	                 sizeof(err));
	agora_config_set(&cfg, "step.deadline_ms", "60000", err, sizeof(err));
}

static agora_sim *
sim_new(agora_sim_opts *o)
{
	agora_sim *s = NULL;
	char err[512];

	o->cfg = &cfg;
	if (agora_sim_new(&s, o, err, sizeof(err)) != AGORA_OK) {
		fail_msg("agora_sim_new: %s", err);
	}
	return s;
}

static void
play(agora_sim *s, agora_sim_round *r)
{
	char err[512];

	if (agora_sim_play(s, r, err, sizeof(err)) != AGORA_OK) {
		fail_msg("agora_sim_play: %s", err);
	}
}

/* The sum, count and per-participant answers in one session's history:
 * what the participants really said, read without the moderators. */
static double
history_sum(const char *session, size_t *count)
{
	char name[128];
	agora_center *c;
	agora_msgs ms = { 0 };
	double sum = 0;

	snprintf(name, sizeof(name), "=%s", session);
	c = t_center_with(name, NULL);
	AGORA_PASS(agora_env_history(agora_center_env(c), 100000000, &ms));
	*count = 0;
	for (size_t i = 0; i < ms.n; i++) {
		const agora_msg *m = ms.v[i];
		if (m->sent_from[0] == 'p') {
			sum += strtod(m->content, NULL);
			(*count)++;
		}
	}
	agora_msgs_clear(&ms);
	agora_center_free(c);
	return sum;
}

static void
shares_add_up_to_everyone(void **state)
{
	agora_sim_opts o = {
		.participants = 1000, .moderators = 3, .seed = 5, .max = 100
	};
	agora_sim_round r1, r2;
	agora_sim *s;
	double sum = 0;
	size_t answers = 0, per_value = 0;

	(void)state;
	cfg_reset("5000");
	s = sim_new(&o);
	play(s, &r1);
	assert_int_equal(r1.asked, 1000);
	assert_int_equal(r1.answered, 1000);
	assert_int_equal(r1.no_answer, 0);
	assert_int_equal(r1.ngroups, 3);
	/* Contiguous shares, the remainder spread: 333, 333, 334. */
	assert_int_equal(r1.groups[0].asked, 333);
	assert_int_equal(r1.groups[1].asked, 333);
	assert_int_equal(r1.groups[2].asked, 334);
	for (size_t g = 0; g < r1.ngroups; g++) {
		size_t n;
		assert_int_equal(r1.groups[g].answered, r1.groups[g].asked);
		sum += history_sum(r1.groups[g].session, &n);
		answers += n;
	}
	assert_int_equal(answers, 1000);
	assert_true(sum == r1.sum);
	assert_true(r1.average == r1.sum / 1000.0);
	for (int b = 0; b < AGORA_SIM_HIST_BINS; b++) {
		per_value += r1.hist[b];
	}
	assert_int_equal(per_value, 1000);
	/* The winner's value is the nearest to the average. */
	assert_true(r1.winner_value >= 0 && r1.winner[0] == 'p');
	assert_true(r1.average - (double)r1.winner_value <= 0.5 &&
	            (double)r1.winner_value - r1.average <= 0.5);

	/* A second round: answered afresh, the history now holds both. */
	play(s, &r2);
	assert_int_equal(r2.round, 2);
	assert_int_equal(r2.answered, 1000);
	sum = 0;
	answers = 0;
	for (size_t g = 0; g < r2.ngroups; g++) {
		size_t n;
		sum += history_sum(r2.groups[g].session, &n);
		answers += n;
	}
	assert_int_equal(answers, 2000);
	assert_true(sum == r1.sum + r2.sum);
	agora_sim_round_fini(&r1);
	agora_sim_round_fini(&r2);
	agora_sim_free(s);
}

static void
models_load(const char *const *names, const char *const *behaviours, size_t n)
{
	char text[2048], err[256];
	agora_json *doc = NULL;
	size_t at = 0;

	at += (size_t)snprintf(text + at, sizeof(text) - at, "[");
	for (size_t i = 0; i < n; i++) {
		at += (size_t)snprintf(
		    text + at, sizeof(text) - at,
		    "%s{\"config_name\":\"%s\",\"model_type\":\"openai_chat\","
		    "\"model_name\":\"%s\",\"client_args\":{\"base_url\":"
		    "\"%s\"}}",
		    i > 0 ? "," : "", names[i], behaviours[i], t_fake_llm());
	}
	snprintf(text + at, sizeof(text) - at, "]");
	AGORA_PASS(
	    agora_json_parse(&doc, text, strlen(text), 1 << 16, 8, err, 256));
	agora_models_clear();
	AGORA_PASS(agora_models_load_json(doc, "test", err, sizeof(err)));
	agora_json_free(doc);
}

static void
llm_participants_answer_through_the_model(void **state)
{
	static const char *const names[] = { "model_1", "model_2" };
	static const char *const all_guess[] = { "guess", "guess" };
	static const char *const half[] = { "guess", "nonumber" };
	agora_sim_opts o = { .participants = 1000,
		             .moderators = 2,
		             .kind = AGORA_SIM_LLM,
		             .servers = 2,
		             .models = names,
		             .nmodels = 2 };
	agora_sim_round r;
	agora_sim *s;
	size_t listed = 0;

	(void)state;
	cfg_reset("5000");
	models_load(names, all_guess, 2);
	s = sim_new(&o);
	play(s, &r);
	assert_int_equal(r.answered, 1000);
	assert_int_equal(r.no_answer, 0);
	assert_true(r.average >= 0 && r.average <= 100);
	agora_sim_round_fini(&r);
	agora_sim_free(s);

	/* model_2 answers without a number: its half is counted and named,
	 * never averaged away. */
	models_load(names, half, 2);
	s = sim_new(&o);
	play(s, &r);
	assert_int_equal(r.answered, 500);
	assert_int_equal(r.failed[AGORA_SIM_NO_NUMBER], 500);
	assert_int_equal(r.no_answer, 500);
	for (size_t i = 0; i < r.nfailures; i++) {
		/* Odd participants use model_2. */
		char *end = NULL;
		long k = strtol(r.failures[i] + 1, &end, 10);
		assert_true(k % 2 == 1);
		assert_non_null(strstr(end, ": no number"));
		listed++;
	}
	/* Up to AGORA_SIM_FAILURES_KEPT per moderator. */
	assert_int_equal(listed, 2 * AGORA_SIM_FAILURES_KEPT);
	agora_sim_round_fini(&r);
	agora_sim_free(s);
	agora_models_clear();
}

struct bg_round {
	agora_sim *s;
	agora_sim_round r;
	agora_err rv;
	char err[512];
};

static void *
bg_play(void *arg)
{
	struct bg_round *b = arg;

	b->rv = agora_sim_play(b->s, &b->r, b->err, sizeof(b->err));
	return NULL;
}

/* The number of turns a server is running ("busy" in its info). */
static long
server_busy(const char *url)
{
	agora_buf reply;
	char err[256];
	const char *p;
	long busy = -1;

	agora_buf_init(&reply, 0);
	if (agora_server_request(url, NULL, "[{\"op\":\"info\"}]", 5000, &reply,
	                         err, sizeof(err)) == AGORA_OK &&
	    (p = strstr(reply.data, "\"busy\":")) != NULL) {
		busy = strtol(p + 7, NULL, 10);
	}
	agora_buf_fini(&reply);
	return busy;
}

static void
a_dead_server_is_counted_and_the_next_round_counts_everyone(void **state)
{
	agora_sim_opts o = { .participants = 400,
		             .moderators = 1,
		             .servers = 2,
		             .think_ms = 1000,
		             .seed = 3 };
	struct bg_round b = { 0 };
	agora_sim_round r;
	agora_center *c;
	const char *url;
	char name[128], *ids;
	int64_t until;
	pthread_t t;

	(void)state;
	cfg_reset("1000");
	b.s = sim_new(&o);
	/* p1 runs on the second child: once its turns are thinking, kill
	 * that server. */
	url = agora_sim_server_of(b.s, 1);
	assert_non_null(url);
	assert_string_not_equal(url, agora_sim_server_of(b.s, 0));
	assert_int_equal(pthread_create(&t, NULL, bg_play, &b), 0);
	until = agora_now_ms() + 20000;
	while (server_busy(url) < 200 && agora_now_ms() < until) {
		agora_sleep_ms(5);
	}
	assert_int_equal(server_busy(url), 200);
	assert_int_equal(kill(t_server_pid(url), SIGKILL), 0);
	pthread_join(t, NULL);
	assert_int_equal(b.rv, AGORA_OK);
	assert_int_equal(b.r.asked, 400);
	assert_int_equal(b.r.answered, 200);
	assert_int_equal(b.r.failed[AGORA_SIM_LOST], 200);
	assert_int_equal(b.r.no_answer, 200);
	assert_non_null(strstr(b.r.failures[0], "agent server"));
	/* Their questions went back to their inboxes. */
	snprintf(name, sizeof(name), "=%s", agora_sim_session(b.s, 0));
	c = t_center_with(name, NULL);
	for (size_t i = 1; i < 400; i += 2) {
		char role[16];
		snprintf(role, sizeof(role), "p%zu", i);
		ids = t_ids(c, "inbox", role);
		assert_true(ids[0] != '\0');
		agora_free(ids);
		ids = t_ids(c, "inflight", role);
		assert_string_equal(ids, "");
		agora_free(ids);
	}
	agora_center_free(c);
	agora_sim_round_fini(&b.r);

	/* The child comes back; the next round counts everyone. */
	play(b.s, &r);
	if (r.answered != 400) {
		fail_msg("round 2: %zu answered; %s", r.answered,
		         r.nfailures > 0 ? r.failures[0] : "");
	}
	assert_int_equal(r.no_answer, 0);
	agora_sim_round_fini(&r);
	agora_sim_free(b.s);
}

/* A step split into several requests (a server with a small request
 * limit) runs them one after another on the server; the later ones are
 * answered when queued, not when they start, so their participants are
 * not taken for lost while the first ones think. */
static void
a_step_behind_a_long_one_is_not_lost(void **state)
{
	static const char *const extra[] = { "--max-request", "4096", NULL };
	agora_sim_opts o = { .participants = 300,
		             .moderators = 1,
		             .think_ms = 1500,
		             .seed = 8 };
	agora_sim_round r;
	agora_proc *srv;
	agora_sim *s;
	char url[160];
	const char *connect[1];

	(void)state;
	cfg_reset("1000");
	srv = t_spawn_server_argv("simsplit", extra, url, sizeof(url));
	connect[0] = url;
	o.connect = connect;
	o.nconnect = 1;
	s = sim_new(&o);
	play(s, &r);
	if (r.answered != 300 || r.no_answer != 0) {
		fail_msg("%zu answered, %zu did not: %s", r.answered,
		         r.no_answer, r.nfailures > 0 ? r.failures[0] : "");
	}
	agora_sim_round_fini(&r);
	agora_sim_free(s);
	agora_proc_free(srv);
}

/* The moderators' kind, which agora_sim_new registers (sim/tally.c). */
extern const agora_kind agora__sim_tally;

/* An answer stored after its round was read (a server taken for lost that
 * still stored it) waits in the moderator's inbox. When the participant
 * answers the next round too, the newer answer counts and the older is
 * "extra"; the winner's index is the lowest of those nearest. */
static void
a_late_answer_gives_way_to_the_new_one(void **state)
{
	static const char *const mod[] = { "mod" };
	static const char *const sent[][2] = {
		{ "p0", "41" }, /* round 1's, late */
		{ "p0", "7" },
		{ "p1", "7" },
	};
	agora_step_opts o = { .allowed_roles = mod, .n_allowed = 1 };
	agora_center *c;
	t_frames f;
	char *report;

	(void)state;
	(void)agora_kind_register(&agora__sim_tally);
	c = t_center_with("late", NULL);
	t_add(c, "mod", "sim_tally", "{\"max\":100,\"from\":0,\"to\":2}");
	t_add(c, "p0", "echo", NULL);
	t_add(c, "p1", "echo", NULL);
	for (size_t i = 0; i < 3; i++) {
		agora_msg *m = agora_msg_new(sent[i][0], "mod", sent[i][1]);
		AGORA_PASS(agora_env_store(agora_center_env(c), m));
		agora_msg_free(m);
	}
	AGORA_PASS(t_step(c, &o, &f));
	report = t_text(&f, "mod");
	assert_non_null(strstr(report, "\"count\":2,\"sum\":14,\"extra\":1,"));
	assert_non_null(strstr(report, "\"values\":[[7,2,0]]"));
	agora_free(report);
	t_frames_free(&f);
	agora_center_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shares_add_up_to_everyone),
		cmocka_unit_test(llm_participants_answer_through_the_model),
		cmocka_unit_test(
		    a_dead_server_is_counted_and_the_next_round_counts_everyone),
		cmocka_unit_test(a_step_behind_a_long_one_is_not_lost),
		cmocka_unit_test(a_late_answer_gives_way_to_the_new_one),
	};

	if (!t_servers_init("sim_test")) {
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	agora_kinds_builtin();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
