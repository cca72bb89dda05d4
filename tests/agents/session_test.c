/* SPDX-License-Identifier: MIT */
/* An agent server's session whose Redis is away (restarting) when first
 * used: the op fails saying so, with the code of a runtime failure, and
 * the session works once Redis is back; it is not lost for good. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

static char *
create(const char *url, const char *redis, const char *role)
{
	char op[1024], err[512];
	agora_buf reply;

	agora_buf_init(&reply, 0);
	snprintf(op, sizeof(op),
	         "[{\"op\":\"create\",\"session\":\"away%d\",\"redis\":\"%s\","
	         "\"role\":\"%s\",\"kind\":\"echo\"}]",
	         (int)getpid(), redis, role);
	AGORA_PASS(agora_server_request(url, NULL, op, 10000, &reply, err,
	                                sizeof(err)));
	return agora_buf_steal(&reply);
}

static void
a_session_whose_redis_was_away_works_once_it_is_back(void **state)
{
	char url[256], dir[] = "/tmp/agora-away-XXXXXX", sock[128], redis[160],
	               err[256], *reply;
	agora_proc *srv, *rs = NULL;
	const char *argv[] = { "redis-server", "--port", "0", "--unixsocket",
		               sock,           "--save", "",  "--appendonly",
		               "no",           "--dir",  dir, NULL };
	agora_proc_opts po = { .argv = argv, .die_with_parent = true };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
	snprintf(redis, sizeof(redis), "unix://%s", sock);
	srv = t_spawn_server("away", NULL, NULL, url, sizeof(url));

	/* Nothing listens there yet: a runtime failure, said. */
	reply = create(url, redis, "a");
	if (strstr(reply, "\"code\":\"EREDIS\"") == NULL ||
	    strstr(reply, "cannot connect") == NULL) {
		fail_msg("want EREDIS 'cannot connect', got %s", reply);
	}
	agora_free(reply);

	/* Redis comes up: the same session works now. */
	AGORA_PASS(agora_proc_spawn(&rs, &po, err, sizeof(err)));
	for (int i = 0; i < 500 && access(sock, F_OK) != 0; i++) {
		agora_sleep_ms(10);
	}
	reply = create(url, redis, "a");
	if (strstr(reply, "\"ok\":true") == NULL) {
		fail_msg("the session stayed broken: %s", reply);
	}
	agora_free(reply);
	agora_proc_stop(srv, 5000);
	agora_proc_free(srv);
	agora_proc_stop(rs, 5000);
	agora_proc_free(rs);
	t_rm_rf(dir);
}

int
main(void)
{
	int rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    a_session_whose_redis_was_away_works_once_it_is_back),
	};

	if (!t_servers_init("session_test")) {
		return 0;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	return t_servers_clean("session_test") ? rc : 1;
}
