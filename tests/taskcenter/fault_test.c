/* SPDX-License-Identifier: MIT */
/* Faults: Redis unreachable, killed in the middle of a step, or frozen.
 * Each ends in a clear error, never a hang or a crash. Each test starts its
 * own redis-server so it can kill it. */
#include <signal.h>
#include <string.h>

#include "test.h"

static agora_center *
center_on(const char *url, int64_t timeout_ms, char *err, size_t errlen,
          agora_err *rv)
{
	agora_config cfg;
	agora_center *c = NULL;
	char t[32];

	agora_kinds_builtin();
	t_kinds();
	agora_config_init(&cfg);
	agora_config_set(&cfg, "redis.url", url, err, errlen);
	snprintf(t, sizeof(t), "%lld", (long long)timeout_ms);
	agora_config_set(&cfg, "redis.timeout_ms", t, err, errlen);
	*rv = agora_center_new(&c, &cfg, err, errlen);
	agora_config_fini(&cfg);
	return c;
}

static void
unreachable_redis_is_a_clear_error(void **state)
{
	char err[512];
	agora_err rv;
	agora_center *c;

	(void)state;
	c = center_on("redis://127.0.0.1:1/0", 500, err, sizeof(err), &rv);
	assert_null(c);
	assert_int_equal(rv, AGORA_EREDIS);
	assert_non_null(strstr(err, "cannot connect to redis://127.0.0.1:1/0"));
}

static void
redis_killed_mid_step_ends_the_step_with_an_error(void **state)
{
	agora_redis_server *srv = NULL;
	agora_center *c;
	agora_step *st = NULL;
	const agora_frame *f;
	char err[512];
	agora_err rv;
	int frames = 0;

	(void)state;
	AGORA_PASS(agora_redis_server_start(&srv, NULL, err, sizeof(err)));
	c = center_on(agora_redis_server_url(srv), 1000, err, sizeof(err), &rv);
	AGORA_PASS(rv);
	t_add(c, "fast", "echo", NULL);
	t_add(c, "slow", "sleep", "{\"seconds\":0.3}");
	AGORA_PASS(agora_center_send_task_request(c, "go", NULL, 0, NULL));
	AGORA_PASS(agora_center_step(c, NULL, &st));
	AGORA_PASS(agora_step_next(st, &f));
	assert_non_null(f);
	kill(agora_redis_server_pid(srv), SIGKILL);
	while ((rv = agora_step_next(st, &f)) == AGORA_OK && f != NULL) {
		frames++;
		assert_true(frames < 100);
	}
	assert_int_equal(rv, AGORA_EREDIS);
	assert_non_null(strstr(agora_step_errstr(st), "publish"));
	assert_non_null(strstr(agora_step_errstr(st), "connection lost"));
	agora_step_free(st);
	/* The next call fails at once, saying why. */
	AGORA_FAIL(agora_center_step(c, NULL, &st), AGORA_EREDIS);
	assert_true(strlen(agora_center_errstr(c)) > 0);
	agora_center_free(c);
	agora_redis_server_stop(srv);
}

static void
a_frozen_redis_times_out(void **state)
{
	agora_redis_server *srv = NULL;
	agora_center *c;
	t_frames f;
	char err[512];
	agora_err rv;
	int pid;

	(void)state;
	AGORA_PASS(agora_redis_server_start(&srv, NULL, err, sizeof(err)));
	pid = agora_redis_server_pid(srv);
	c = center_on(agora_redis_server_url(srv), 200, err, sizeof(err), &rv);
	AGORA_PASS(rv);
	t_add(c, "a", "echo", NULL);
	AGORA_PASS(agora_center_send_task_request(c, "go", NULL, 0, NULL));
	kill(pid, SIGSTOP);
	AGORA_FAIL(t_step(c, NULL, &f), AGORA_EREDIS);
	assert_non_null(strstr(f.errstr, "timed out"));
	kill(pid, SIGCONT);
	agora_center_free(c);
	agora_redis_server_stop(srv);
}

static void
redis_killed_before_a_send_is_an_error(void **state)
{
	agora_redis_server *srv = NULL;
	agora_center *c;
	char err[512];
	agora_err rv;

	(void)state;
	AGORA_PASS(agora_redis_server_start(&srv, NULL, err, sizeof(err)));
	c = center_on(agora_redis_server_url(srv), 500, err, sizeof(err), &rv);
	AGORA_PASS(rv);
	t_add(c, "a", "echo", NULL);
	kill(agora_redis_server_pid(srv), SIGKILL);
	agora_sleep_ms(50);
	AGORA_FAIL(agora_center_send_task_request(c, "go", NULL, 0, NULL),
	           AGORA_EREDIS);
	assert_true(strstr(agora_center_errstr(c), "cannot connect") != NULL ||
	            strstr(agora_center_errstr(c), "connection lost") != NULL);
	agora_center_free(c);
	agora_redis_server_stop(srv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unreachable_redis_is_a_clear_error),
		cmocka_unit_test(
		    redis_killed_mid_step_ends_the_step_with_an_error),
		cmocka_unit_test(a_frozen_redis_times_out),
		cmocka_unit_test(redis_killed_before_a_send_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
