/* SPDX-License-Identifier: MIT */
/* The lace demos as a user runs them, each its own process: CartPole
 * served and driven, the streamer, and the learner with an actor, which
 * must reach the CartPole threshold (judged by the actor: the mean of its
 * last 20 episodes) with every transition it sent received. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agora/buf.h"
#include "agora/clock.h"
#include "agora/proc.h"
#include "test.h"

static char dir[] = "/tmp/agora-lacedemo-XXXXXX";

static const char *
demo(const char *name)
{
	static char path[4][512];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, 512, "%s/%s", getenv("LACE_DEMOS"), name);
	return p;
}

static agora_proc *
spawn(const char *const *argv, const char *log)
{
	agora_proc_opts o = { .argv = argv,
		              .log_path = log,
		              .die_with_parent = true };
	agora_proc *p = NULL;
	char err[256];

	if (agora_proc_spawn(&p, &o, err, sizeof(err)) != AGORA_OK) {
		fail_msg("%s: %s", argv[0], err);
	}
	return p;
}

/* The whole log, once it holds want (or the process ended). */
static void
log_wait(agora_proc *p, const char *log, const char *want, agora_buf *out)
{
	char err[256];

	for (int i = 0; i < 60000; i++) {
		agora_buf_reset(out);
		(void)agora_buf_read_file(out, log, err, sizeof(err));
		if ((out->data != NULL && strstr(out->data, want) != NULL) ||
		    !agora_proc_alive(p)) {
			return;
		}
		agora_sleep_ms(10);
	}
}

/* Its exit status; its log is printed when that is not 0. */
static int
run_to_end(agora_proc *p, const char *log)
{
	agora_buf b;

	while (agora_proc_alive(p)) {
		agora_sleep_ms(20);
	}
	if (agora_proc_status(p) != 0) {
		agora_buf_init(&b, 1 << 20);
		(void)agora_buf_read_file(&b, log, NULL, 0);
		print_message("%s:\n%s\n", log, b.data != NULL ? b.data : "");
		agora_buf_fini(&b);
	}
	return agora_proc_status(p);
}

static void
cartpole_served_and_driven(void **state)
{
	char url[300], slog[300], clog[300];
	const char *sargv[] = { demo("cartpole_server"), "--url", url, NULL };
	const char *cargv[] = {
		demo("cartpole_client"), "--url", url, "--episodes", "3", NULL
	};
	agora_proc *s, *c;
	agora_buf b;

	(void)state;
	snprintf(url, sizeof(url), "ipc://%s/cartpole.sock", dir);
	snprintf(slog, sizeof(slog), "%s/server.log", dir);
	snprintf(clog, sizeof(clog), "%s/client.log", dir);
	agora_buf_init(&b, 1 << 20);
	s = spawn(sargv, slog);
	log_wait(s, slog, "cartpole_server: on", &b);
	assert_non_null(strstr(b.data, "cartpole_server: on ipc://"));
	c = spawn(cargv, clog);
	assert_int_equal(run_to_end(c, clog), 0);
	agora_buf_reset(&b);
	AGORA_PASS(agora_buf_read_file(&b, clog, NULL, 0));
	assert_non_null(strstr(b.data, "\"action_space\":{\"n\":2}"));
	assert_non_null(strstr(b.data, "episode 3: return"));
	agora_proc_stop(s, 2000);
	assert_int_equal(agora_proc_status(s), 0); /* a clean stop */
	agora_proc_free(c);
	agora_proc_free(s);
	agora_buf_fini(&b);
}

static void
the_streamer_streams(void **state)
{
	char url[300], log[300];
	const char *argv[] = { demo("streamer"), "--url", url,
		               "--seconds",      "2",     NULL };
	agora_proc *p;
	agora_buf b;

	(void)state;
	snprintf(url, sizeof(url), "ipc://%s/stream.sock", dir);
	snprintf(log, sizeof(log), "%s/stream.log", dir);
	p = spawn(argv, log);
	assert_int_equal(run_to_end(p, log), 0);
	agora_buf_init(&b, 1 << 20);
	AGORA_PASS(agora_buf_read_file(&b, log, NULL, 0));
	assert_non_null(strstr(b.data, "frames/s, latency mean"));
	agora_proc_free(p);
	agora_buf_fini(&b);
}

static void
the_actor_learns_and_every_transition_arrives(void **state)
{
	char url[300], llog[300], alog[300];
	const char *largv[] = { demo("learner"), "--url", url, NULL };
	/* A budget, not a speed check: a busy machine gets ten minutes. */
	const char *goal =
	    getenv("LACE_DEMO_GOAL") != NULL ? getenv("LACE_DEMO_GOAL") : "195";
	const char *aargv[] = { demo("actor"), "--url",  url,  "--seconds",
		                "600",         "--goal", goal, NULL };
	agora_proc *l, *a;
	agora_buf b;
	const char *line;
	long sent = -1, got = -2;

	(void)state;
	snprintf(url, sizeof(url), "ipc://%s/learner.sock", dir);
	snprintf(llog, sizeof(llog), "%s/learner.log", dir);
	snprintf(alog, sizeof(alog), "%s/actor.log", dir);
	agora_buf_init(&b, 4 << 20);
	l = spawn(largv, llog);
	log_wait(l, llog, "learner: on", &b);
	assert_non_null(strstr(b.data, "learner: on"));
	a = spawn(aargv, alog);
	assert_int_equal(run_to_end(a, alog), 0);
	agora_buf_reset(&b);
	AGORA_PASS(agora_buf_read_file(&b, alog, NULL, 0));
	assert_non_null(strstr(b.data, "over the last 20 episodes"));
	line = strstr(b.data, "transitions sent ");
	assert_non_null(line);
	assert_int_equal(sscanf(line,
	                        "transitions sent %ld, received by the "
	                        "learner %ld",
	                        &sent, &got),
	                 2);
	assert_true(sent > 0);
	assert_int_equal(sent, got);
	agora_proc_stop(l, 5000);
	agora_buf_reset(&b);
	AGORA_PASS(agora_buf_read_file(&b, llog, NULL, 0));
	line = strstr(b.data, "learner: received ");
	assert_non_null(line);
	assert_int_equal(strtol(line + strlen("learner: received "), NULL, 10),
	                 sent);
	agora_proc_free(a);
	agora_proc_free(l);
	agora_buf_fini(&b);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cartpole_served_and_driven),
		cmocka_unit_test(the_streamer_streams),
		cmocka_unit_test(the_actor_learns_and_every_transition_arrives),
	};
	if (getenv("LACE_DEMOS") == NULL) {
		printf("demos_test: skipped: LACE_DEMOS (the demos' folder) is "
		       "not set: run it with ctest\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
