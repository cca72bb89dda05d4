/* SPDX-License-Identifier: MIT */
/* Faults: Redis unreachable, killed in the middle of a step, or frozen.
 * Each ends in a clear error, never a hang or a crash. Each test starts its
 * own redis-server so it can kill it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	/* Lost while the reply was read, or gone when it was re-dialled. */
	assert_true(strstr(agora_step_errstr(st), "connection lost") != NULL ||
	            strstr(agora_step_errstr(st), "cannot connect") != NULL);
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

/* Wait until pid (a child of ours) has died: gone, or a zombie we have
 * not reaped. A zombie has closed all its sockets. */
static void
wait_dead(int pid)
{
	char path[64], st[512];

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(path, "r");
		size_t n = f != NULL ? fread(st, 1, sizeof(st) - 1, f) : 0;
		const char *paren;

		if (f == NULL) {
			return;
		}
		fclose(f);
		st[n] = '\0';
		/* "pid (comm) S ...": the state follows the last ')'. */
		paren = strrchr(st, ')');
		if (paren != NULL && strncmp(paren, ") Z", 3) == 0) {
			return;
		}
		agora_sleep_ms(10);
	}
	fail_msg("process %d did not die", pid);
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
	wait_dead(agora_redis_server_pid(srv));
	AGORA_FAIL(agora_center_send_task_request(c, "go", NULL, 0, NULL),
	           AGORA_EREDIS);
	assert_true(strstr(agora_center_errstr(c), "cannot connect") != NULL ||
	            strstr(agora_center_errstr(c), "connection lost") != NULL);
	agora_center_free(c);
	agora_redis_server_stop(srv);
}

/* A redis-server with an append-only file that fsyncs every write, on a
 * unix socket in dir: killed with SIGKILL and started again on the same
 * files, it has every acknowledged write. */
static agora_proc *
aof_redis(const char *dir)
{
	char sock[256], err[256], url[300];
	bool ready = false;
	const char *argv[] = { "redis-server",
		               "--port",
		               "0",
		               "--unixsocket",
		               sock,
		               "--dir",
		               dir,
		               "--appendonly",
		               "yes",
		               "--appendfsync",
		               "always",
		               "--save",
		               "",
		               NULL };
	agora_proc_opts po = { .argv = argv, .die_with_parent = true };
	agora_proc *p = NULL;

	snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
	unlink(sock);
	AGORA_PASS(agora_proc_spawn(&p, &po, err, sizeof(err)));
	snprintf(url, sizeof(url), "unix://%s", sock);
	/* Until it answers: it listens before it has loaded its files, and
	 * says LOADING meanwhile. */
	for (int i = 0; i < 1000 && !ready; i++) {
		agora_redis *r = NULL;
		ready = agora_redis_open(&r, url, 500, err, sizeof(err)) ==
		            AGORA_OK &&
		        agora_redis_ping(r) == AGORA_OK;
		agora_redis_close(r);
		if (!ready) {
			agora_sleep_ms(10);
		}
	}
	assert_true(ready);
	return p;
}

/* Redis is killed and started again (same append-only file) between two
 * agents' replies: the link re-dials, the second reply is stored, the step
 * ends well, and every message is there exactly once. */
static void
a_redis_restart_mid_step_loses_nothing(void **state)
{
	char dir[] = "/tmp/agora-aof-XXXXXX", url[300];
	agora_center *c;
	agora_proc *srv;
	agora_step *st = NULL;
	const agora_frame *f;
	agora_msgs h = { 0 }, m = { 0 };
	char err[512];
	agora_err rv;
	bool fast_done = false;
	int slow_end = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	srv = aof_redis(dir);
	snprintf(url, sizeof(url), "unix://%s/redis.sock", dir);
	c = center_on(url, 3000, err, sizeof(err), &rv);
	AGORA_PASS(rv);
	t_add(c, "fast", "echo", NULL);
	t_add(c, "slow", "sleep", "{\"seconds\":0.6}");
	AGORA_PASS(agora_center_send_task_request(c, "go", NULL, 0, NULL));
	AGORA_PASS(agora_center_step(c, NULL, &st));
	while ((rv = agora_step_next(st, &f)) == AGORA_OK && f != NULL) {
		if (strcmp(f->role, "fast") == 0 &&
		    f->type == AGORA_FRAME_END && !fast_done) {
			fast_done = true;
			kill(agora_proc_pid(srv), SIGKILL);
			agora_proc_stop(srv, 0);
			agora_proc_free(srv);
			srv = aof_redis(dir);
		}
		assert_int_not_equal(f->type, AGORA_FRAME_ERROR);
		slow_end +=
		    strcmp(f->role, "slow") == 0 && f->type == AGORA_FRAME_END;
	}
	AGORA_PASS(rv);
	assert_true(fast_done);
	assert_int_equal(slow_end, 1);
	agora_step_free(st);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 3); /* the task and both replies, once */
	for (size_t i = 0; i < h.n; i++) {
		assert_int_equal(h.v[i]->id, i + 1);
	}
	AGORA_PASS(agora_env_memory(agora_center_env(c), "slow", 0, &m));
	assert_int_equal(m.n, 2); /* the task it read, its reply */
	agora_msgs_clear(&m);
	agora_msgs_clear(&h);
	agora_center_free(c);
	agora_proc_stop(srv, 1000);
	agora_proc_free(srv);
	t_rm_rf(dir);
}

/* Redis is down longer than the re-dial allows: the step ends with an
 * error, and what it had drained cannot go back yet. Once Redis is back,
 * the next step gives it back and the agent reads it again. */
static void
a_step_failed_by_redis_gives_back_at_the_next(void **state)
{
	char dir[] = "/tmp/agora-aof-XXXXXX", url[300];
	agora_center *c;
	agora_proc *srv;
	agora_step *st = NULL;
	const char *slow[] = { "slow" };
	agora_step_opts o = { .allowed_roles = slow, .n_allowed = 1 };
	const agora_frame *f;
	t_frames fr;
	char err[512];
	agora_err rv;

	(void)state;
	assert_non_null(mkdtemp(dir));
	srv = aof_redis(dir);
	snprintf(url, sizeof(url), "unix://%s/redis.sock", dir);
	c = center_on(url, 300, err, sizeof(err), &rv);
	AGORA_PASS(rv);
	t_add(c, "slow", "sleep", "{\"seconds\":0.3}");
	AGORA_PASS(agora_center_send_task_request(c, "go", NULL, 0, NULL));
	AGORA_PASS(agora_center_step(c, &o, &st));
	kill(agora_proc_pid(srv), SIGKILL);
	agora_proc_stop(srv, 0);
	agora_proc_free(srv);
	while ((rv = agora_step_next(st, &f)) == AGORA_OK && f != NULL) {
	}
	assert_int_equal(rv, AGORA_EREDIS);
	agora_step_free(st);
	srv = aof_redis(dir);
	{
		agora_msgs ms = { 0 };
		AGORA_PASS(t_step(c, &o, &fr));
		assert_int_equal(t_count(&fr, "slow", AGORA_FRAME_END), 1);
		t_frames_free(&fr);
		AGORA_PASS(
		    agora_env_memory(agora_center_env(c), "slow", 0, &ms));
		assert_int_equal(ms.n, 2); /* "go", read again, and its reply */
		assert_string_equal(ms.v[0]->content, "go");
		agora_msgs_clear(&ms);
	}
	agora_center_free(c);
	agora_proc_stop(srv, 1000);
	agora_proc_free(srv);
	t_rm_rf(dir);
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
		cmocka_unit_test(a_redis_restart_mid_step_loses_nothing),
		cmocka_unit_test(a_step_failed_by_redis_gives_back_at_the_next),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
