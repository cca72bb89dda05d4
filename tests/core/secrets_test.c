/* SPDX-License-Identifier: MIT */
/* Secrets never appear in logs or errors (DESIGN.md section 11): Redis
 * passwords, URL user-info. A password-protected redis-server of its own
 * (TCP on loopback and a unix socket) is started here; every log line, at
 * debug level, goes to a file that is searched for the password. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "redis_cmd.h" /* agora__redis_cmdv, to change the password */
#include "test.h"

#define PASSWORD "sekrit"

static char dir[64];
static int port;
static agora_proc *pw_redis;
static FILE *log_file;

/* A loopback port nobody listens on now. */
static int
free_port(void)
{
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int p;

	assert_true(fd >= 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static char *
tcp_url(const char *password)
{
	return agora_sprintf("redis://:%s@127.0.0.1:%d", password, port);
}

static void
pw_redis_wait(void)
{
	char *url = tcp_url(PASSWORD);
	char err[512];

	for (int i = 0; i < 500; i++) {
		agora_redis *r = NULL;
		if (agora_redis_open(&r, url, 1000, err, sizeof(err)) ==
		        AGORA_OK &&
		    agora_redis_ping(r) == AGORA_OK) {
			agora_redis_close(r);
			agora_free(url);
			return;
		}
		agora_redis_close(r);
		agora_sleep_ms(10);
	}
	fail_msg("the password redis-server did not start: %s", err);
}

static int
setup(void **state)
{
	char *sock, *portstr;
	char err[256];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/agora-secrets-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		return -1;
	}
	port = free_port();
	sock = agora_sprintf("%s/r.sock", dir);
	portstr = agora_sprintf("%d", port);
	{
		const char *argv[] = { "redis-server",
			               "--port",
			               portstr,
			               "--bind",
			               "127.0.0.1",
			               "--unixsocket",
			               sock,
			               "--unixsocketperm",
			               "700",
			               "--requirepass",
			               PASSWORD,
			               "--save",
			               "",
			               "--appendonly",
			               "no",
			               "--dir",
			               dir,
			               NULL };
		agora_proc_opts o = { .argv = argv, .die_with_parent = true };
		if (agora_proc_spawn(&pw_redis, &o, err, sizeof(err)) !=
		    AGORA_OK) {
			fprintf(stderr, "redis-server: %s\n", err);
			return -1;
		}
	}
	agora_free(sock);
	agora_free(portstr);
	pw_redis_wait();
	agora_kinds_builtin();
	return 0;
}

static int
teardown(void **state)
{
	char *cmd = agora_sprintf("rm -rf '%s'", dir);

	(void)state;
	agora_proc_free(pw_redis);
	(void)system(cmd);
	agora_free(cmd);
	return 0;
}

/* Every log line from here on, at debug level, into a new file. */
static void
log_capture(void)
{
	log_file = tmpfile();
	assert_non_null(log_file);
	agora_log_set_stream(log_file);
	agora_log_set_level(AGORA_LOG_DEBUG);
}

/* Stop capturing; fail if the log holds the password. */
static void
log_check(void)
{
	char line[4096];

	agora_log_set_stream(NULL);
	agora_log_set_level(AGORA_LOG_WARN);
	rewind(log_file);
	while (fgets(line, sizeof(line), log_file) != NULL) {
		if (strstr(line, PASSWORD) != NULL) {
			fail_msg("the password is in the log: %s", line);
		}
	}
	fclose(log_file);
	log_file = NULL;
}

static void
no_password(const char *text)
{
	if (strstr(text, PASSWORD) != NULL) {
		fail_msg("the password is shown: %s", text);
	}
}

static agora_err
center_on(const char *url, agora_center **cp, char *err, size_t errlen)
{
	agora_config cfg;
	agora_err rv;

	agora_config_init(&cfg);
	AGORA_PASS(agora_config_set(&cfg, "redis.url", url, err, errlen));
	AGORA_PASS(
	    agora_config_set(&cfg, "redis.timeout_ms", "2000", err, errlen));
	rv = agora_center_new(cp, &cfg, err, errlen);
	agora_config_fini(&cfg);
	return rv;
}

static void
url_redaction_hides_user_info(void **state)
{
	static const char *const cases[][2] = {
		{ "redis://:pw@host:6379/2", "redis://***@host:6379/2" },
		{ "redis://user:pw@host", "redis://***@host" },
		{ "http://u:p@h/v1", "http://***@h/v1" },
		{ "unix://:pw@/tmp/r.sock", "unix://***@/tmp/r.sock" },
		{ "redis://:p@ss/w@host", "redis://***@host" },
		{ "redis://host:6379", "redis://host:6379" },
		{ "unix:///tmp/r.sock?db=1", "unix:///tmp/r.sock?db=1" },
		{ "no scheme@all", "no scheme@all" },
	};
	char out[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(
		    agora_url_redact(cases[i][0], out, sizeof(out)),
		    cases[i][1]);
	}
	/* Truncated, it still never shows the user-info. */
	assert_string_equal(agora_url_redact("redis://:pw@h", out, 9),
	                    "redis://");
}

static void
a_redis_password_is_never_shown(void **state)
{
	agora_center *c = NULL;
	agora_config cfg;
	char err[512];
	char *closed =
	    agora_sprintf("redis://:" PASSWORD "@127.0.0.1:%d", free_port());
	char *wrong = tcp_url("not" PASSWORD);
	char *right = tcp_url(PASSWORD);

	(void)state;
	log_capture();
	AGORA_FAIL(center_on(closed, &c, err, sizeof(err)), AGORA_EREDIS);
	no_password(err);
	assert_non_null(strstr(err, "redis://***@127.0.0.1:"));
	AGORA_FAIL(center_on(wrong, &c, err, sizeof(err)), AGORA_EREDIS);
	no_password(err);
	assert_non_null(strstr(err, "AUTH failed"));
	AGORA_PASS(center_on(right, &c, err, sizeof(err)));
	agora_center_free(c);
	agora_config_init(&cfg);
	AGORA_PASS(agora_config_set(&cfg, "redis.url", right, err, 512));
	agora_config_dump(&cfg);
	agora_config_fini(&cfg);
	log_check();
	agora_free(closed);
	agora_free(wrong);
	agora_free(right);
}

static void
a_lost_connection_does_not_show_it(void **state)
{
	agora_redis *r = NULL;
	char *right = tcp_url(PASSWORD);
	char err[512];

	(void)state;
	AGORA_PASS(agora_redis_open(&r, right, 2000, err, sizeof(err)));
	log_capture();
	agora_proc_stop(pw_redis, 2000);
	AGORA_FAIL(agora_redis_ping(r), AGORA_EREDIS);
	no_password(agora_redis_errstr(r));
	assert_non_null(strstr(agora_redis_errstr(r), "redis://***@"));
	log_check();
	agora_redis_close(r);
	AGORA_PASS(agora_proc_restart(pw_redis, err, sizeof(err)));
	pw_redis_wait();
	agora_free(right);
}

static char *
unix_url(const char *userinfo)
{
	return agora_sprintf("unix://%s%s/r.sock", userinfo, dir);
}

/* A center on url with redis.password set (NULL: not set). */
static agora_err
center_pw(const char *url, const char *password, agora_center **cp, char *err,
          size_t errlen)
{
	agora_config cfg;
	agora_err rv;

	agora_config_init(&cfg);
	AGORA_PASS(agora_config_set(&cfg, "redis.url", url, err, errlen));
	if (password != NULL) {
		AGORA_PASS(agora_config_set(&cfg, "redis.password", password,
		                            err, errlen));
	}
	rv = agora_center_new(cp, &cfg, err, errlen);
	agora_config_fini(&cfg);
	return rv;
}

/* The URL a center gives its agent servers carries the password. */
static void
center_url_connects(const agora_center *c)
{
	agora_redis *r = NULL;
	char err[512];

	AGORA_PASS(agora_redis_open(&r, agora_center_redis_url(c), 2000, err,
	                            sizeof(err)));
	AGORA_PASS(agora_redis_ping(r));
	agora_redis_close(r);
}

static void
a_unix_socket_redis_takes_a_password_in_its_url(void **state)
{
	char *url = unix_url(":" PASSWORD "@");
	char *wrong = unix_url(":wrong@");
	agora_redis *r = NULL;
	char err[512];

	(void)state;
	log_capture();
	AGORA_PASS(agora_redis_open(&r, url, 2000, err, sizeof(err)));
	AGORA_PASS(agora_redis_ping(r));
	/* A restarted Redis: the connection is made again, with AUTH. */
	agora_proc_stop(pw_redis, 2000);
	AGORA_PASS(agora_proc_restart(pw_redis, err, sizeof(err)));
	pw_redis_wait();
	(void)agora_redis_ping(r); /* finds the connection gone */
	AGORA_PASS(agora_redis_ping(r));
	agora_redis_close(r);
	AGORA_FAIL(agora_redis_open(&r, wrong, 2000, err, sizeof(err)),
	           AGORA_EREDIS);
	assert_non_null(strstr(err, "AUTH failed"));
	assert_non_null(strstr(err, "unix://***@/"));
	assert_null(strstr(err, "wrong"));
	log_check();
	agora_free(url);
	agora_free(wrong);
}

static void
redis_password_comes_from_config_or_environment(void **state)
{
	/* Every character a URL treats specially, and a %-escape. */
	static const char awkward[] = "s@k/r:t%41?#" PASSWORD;
	char *url = unix_url("");
	agora_center *c = NULL;
	agora_redis *admin = NULL;
	agora_config cfg;
	char err[512];
	char *admin_url = unix_url(":" PASSWORD "@");

	(void)state;
	log_capture();
	AGORA_PASS(center_pw(url, PASSWORD, &c, err, sizeof(err)));
	center_url_connects(c);
	agora_center_free(c);
	/* AGORA_REDIS_PASSWORD, like every key's AGORA_<KEY>. */
	setenv("AGORA_REDIS_PASSWORD", PASSWORD, 1);
	agora_config_init(&cfg);
	AGORA_PASS(agora_config_load_env(&cfg, err, sizeof(err)));
	assert_string_equal(cfg.redis_password, PASSWORD);
	AGORA_PASS(agora_config_set(&cfg, "redis.url", url, err, sizeof(err)));
	AGORA_PASS(agora_center_new(&c, &cfg, err, sizeof(err)));
	agora_config_dump(&cfg);
	agora_config_fini(&cfg);
	agora_center_free(c);
	unsetenv("AGORA_REDIS_PASSWORD");
	/* Without one, the server refuses. */
	AGORA_PASS(agora_redis_open(&admin, url, 2000, err, sizeof(err)));
	AGORA_FAIL(agora_redis_ping(admin), AGORA_EREDIS);
	assert_non_null(strstr(agora_redis_errstr(admin), "NOAUTH"));
	agora_redis_close(admin);
	admin = NULL;
	/* A password with '@', '/', ':' and '%' in it. */
	AGORA_PASS(agora_redis_open(&admin, admin_url, 2000, err, sizeof(err)));
	AGORA_PASS(agora__redis_cmdv(admin, NULL, "CONFIG", "SET",
	                             "requirepass", awkward, NULL));
	AGORA_PASS(center_pw(url, awkward, &c, err, sizeof(err)));
	center_url_connects(c);
	agora_center_free(c);
	AGORA_PASS(agora__redis_cmdv(admin, NULL, "CONFIG", "SET",
	                             "requirepass", PASSWORD, NULL));
	agora_redis_close(admin);
	log_check();
	agora_free(url);
	agora_free(admin_url);
}

static agora_err
models_from(const char *text, char *err, size_t errlen)
{
	agora_json *doc = NULL;
	agora_err rv;

	AGORA_PASS(agora_json_parse(&doc, text, strlen(text), 1u << 20, 16, err,
	                            errlen));
	rv = agora_models_load_json(doc, "models.json", err, errlen);
	agora_json_free(doc);
	return rv;
}

/* The error names the config and the field, never the value. */
static void
refused_naming(agora_err rv, const char *err, const char *name)
{
	AGORA_FAIL(rv, AGORA_EINVAL);
	assert_non_null(strstr(err, name));
	if (strstr(err, "sk-live") != NULL) {
		fail_msg("the value is shown: %s", err);
	}
	assert_null(strstr(err, "X-Evil"));
}

static void
keys_with_control_characters_are_refused(void **state)
{
	static const char *const bad[] = {
		"sk-live\\r\\nX-Evil: 1", "sk-live\\nX-Evil: 1",
		"sk-live\\rX-Evil",       "sk-live\\u0001X-Evil",
		"sk-live\\tX-Evil",       "sk-live\\u007fX-Evil",
	};
	static const char by_name[] = "\"envkey\"";
	static const char inline_ref[] =
	    "{\"model\":\"m\",\"model_server\":\"openai\","
	    "\"api_key\":\"sk-live\\nX-Evil\"}";
	agora_model *m = NULL;
	agora_json *doc = NULL;
	char err[512];
	char *text;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		text = agora_sprintf(
		    "[{\"config_name\":\"crlf\",\"model_type\":"
		    "\"openai_chat\",\"model_name\":\"x\",\"api_key\":"
		    "\"%s\"}]",
		    bad[i]);
		refused_naming(models_from(text, err, sizeof(err)), err,
		               "'crlf'");
		agora_free(text);
		text = agora_sprintf(
		    "[{\"config_name\":\"org\",\"model_type\":"
		    "\"openai_chat\",\"model_name\":\"x\",\"api_key\":"
		    "\"k\",\"organization\":\"%s\"}]",
		    bad[i]);
		refused_naming(models_from(text, err, sizeof(err)), err,
		               "organization");
		agora_free(text);
	}
	/* A key from the environment is checked when it is read. */
	setenv("AGORA_TEST_BAD_KEY", "sk-live\r\nX-Evil: 1", 1);
	AGORA_PASS(models_from("[{\"config_name\":\"envkey\",\"model_type\":"
	                       "\"openai_chat\",\"model_name\":\"x\","
	                       "\"api_key_env\":\"AGORA_TEST_BAD_KEY\"}]",
	                       err, sizeof(err)));
	AGORA_PASS(agora_json_parse(&doc, by_name, strlen(by_name), 1024, 4,
	                            err, sizeof(err)));
	refused_naming(
	    agora_model_resolve(&m, doc, "agent a", err, sizeof(err)), err,
	    "'envkey'");
	assert_non_null(strstr(err, "AGORA_TEST_BAD_KEY"));
	assert_null(m);
	agora_json_free(doc);
	/* Inline in an agent, too. */
	AGORA_PASS(agora_json_parse(&doc, inline_ref, strlen(inline_ref), 1024,
	                            4, err, sizeof(err)));
	refused_naming(
	    agora_model_resolve(&m, doc, "agent b", err, sizeof(err)), err,
	    "agent b");
	agora_json_free(doc);
	agora_models_clear();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(url_redaction_hides_user_info),
		cmocka_unit_test(a_redis_password_is_never_shown),
		cmocka_unit_test(a_lost_connection_does_not_show_it),
		cmocka_unit_test(keys_with_control_characters_are_refused),
		cmocka_unit_test(
		    a_unix_socket_redis_takes_a_password_in_its_url),
		cmocka_unit_test(
		    redis_password_comes_from_config_or_environment),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
