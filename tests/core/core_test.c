/* SPDX-License-Identifier: MIT */
/* Unit tests of core/: messages and their codec, caps, UTF-8 and role
 * names, buffers, JSON errors with line numbers, frames, config, Redis
 * replies read from bytes. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "redis_cmd.h"
#include "test.h"

static void
msg_round_trips_through_json(void **state)
{
	agora_msg *m =
	    agora_msg_new("alice", "bob, carol", "hi \"there\"\n\t\x01");
	agora_msg *d = NULL;
	agora_buf b;
	char err[256];

	(void)state;
	m->id = 42;
	m->round = 3;
	m->ts_ms = 1700000000123;
	m->meta = agora_strdup("{\"k\":[1,2]}");
	agora_buf_init(&b, 0);
	AGORA_PASS(agora_msg_encode(m, true, &b));
	AGORA_PASS(agora_msg_decode(&d, b.data, b.len, err, sizeof(err)));
	assert_int_equal(d->id, 42);
	assert_string_equal(d->sent_from, "alice");
	assert_int_equal(d->send_to.n, 2);
	assert_string_equal(d->send_to.v[1], "carol");
	assert_string_equal(d->content, "hi \"there\"\n\t\x01");
	assert_int_equal(d->round, 3);
	assert_true(d->ts_ms == 1700000000123);
	assert_string_equal(d->meta, "{\"k\":[1,2]}");
	agora_msg_free(m);
	agora_msg_free(d);
	agora_buf_fini(&b);
}

static void
msg_decode_rejects_garbage_with_a_reason(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"[1,2]",
		"nope",
		"{\"sent_from\":1,\"send_to\":[],\"content\":\"x\"}",
		"{\"sent_from\":\"a\",\"content\":\"x\"}",
		("{\"sent_from\":\"a\",\"send_to\":\"b\",\"content\":\"x\","
		 "\"role\":\"wizard\"}"),
		"{\"sent_from\":\"a\",\"send_to\":[1],\"content\":\"x\"}",
		"{\"sent_from\":\"a\",\"send_to\":\"b\",\"content\":\"x\"} tail"
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		agora_msg *m = NULL;
		err[0] = '\0';
		AGORA_FAIL(agora_msg_decode(&m, bad[i], strlen(bad[i]), err,
		                            sizeof(err)),
		           AGORA_EPROTO);
		assert_null(m);
		assert_true(strncmp(err, "message: ", 9) == 0);
	}
}

static void
msg_decode_caps_size_and_depth(void **state)
{
	size_t big = AGORA_MSG_MAX_BYTES + 1;
	char *text = agora_malloc(big + 1);
	char deep[200];
	agora_msg *m = NULL;
	char err[256];

	(void)state;
	memset(text, ' ', big);
	text[big] = '\0';
	AGORA_FAIL(agora_msg_decode(&m, text, big, err, sizeof(err)),
	           AGORA_ETOOBIG);
	agora_free(text);
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	AGORA_FAIL(agora_msg_decode(&m, deep, 200, err, sizeof(err)),
	           AGORA_EPROTO);
	assert_non_null(strstr(err, "nesting"));
}

static void
msg_validate_names_the_problem(void **state)
{
	agora_msg *m = agora_msg_new("alice", "bob", "ok");
	char err[256];

	(void)state;
	AGORA_PASS(agora_msg_validate(m, err, sizeof(err)));
	agora_free(m->content);
	m->content = agora_strdup("bad \xff utf8");
	AGORA_FAIL(agora_msg_validate(m, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "UTF-8"));
	agora_free(m->content);
	m->content = agora_strdup("ok");
	agora_free(m->send_to.v[0]);
	m->send_to.v[0] = agora_strdup("<evil>");
	AGORA_FAIL(agora_msg_validate(m, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "<evil>"));
	agora_free(m->send_to.v[0]);
	m->send_to.v[0] = agora_strdup("bob");
	m->meta = agora_strdup("[1]");
	AGORA_FAIL(agora_msg_validate(m, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "meta"));
	agora_msg_free(m);
}

static void
role_names_are_checked(void **state)
{
	(void)state;
	assert_true(agora_role_valid("joe_biden"));
	assert_true(agora_role_valid("主持人"));
	assert_false(agora_role_valid(""));
	assert_false(agora_role_valid("all"));
	assert_false(agora_role_valid("user_requirement"));
	assert_false(agora_role_valid("a b"));
	assert_false(agora_role_valid("a: b"));
	assert_false(agora_role_valid("<bob>"));
	assert_false(agora_role_valid("a-name-that-is-much-longer-than-sixty-"
	                              "four-bytes-in-all-xxxxxxxxx"));
}

static void
utf8_validation(void **state)
{
	(void)state;
	assert_true(agora_utf8_valid("héllo €", strlen("héllo €")));
	assert_false(agora_utf8_valid("\xc0\xaf", 2));     /* overlong */
	assert_false(agora_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
	assert_false(agora_utf8_valid("\xe2\x82", 2));     /* cut short */
	assert_false(agora_utf8_valid("a\0b", 3));         /* NUL */
}

static void
buf_cap_leaves_buffer_intact(void **state)
{
	agora_buf b;

	(void)state;
	agora_buf_init(&b, 8);
	AGORA_PASS(agora_buf_adds(&b, "12345"));
	AGORA_FAIL(agora_buf_adds(&b, "6789"), AGORA_ETOOBIG);
	assert_string_equal(b.data, "12345");
	AGORA_FAIL(agora_buf_json_str(&b, "abc", 3), AGORA_ETOOBIG);
	assert_string_equal(b.data, "12345");
	agora_buf_fini(&b);
}

static void
json_errors_give_line_and_column(void **state)
{
	const char *text = "{\n  \"a\": 1,\n  \"b\": oops\n}";
	agora_json *doc = NULL;
	char err[256];

	(void)state;
	AGORA_FAIL(agora_json_parse(&doc, text, strlen(text), 1024, 8, err,
	                            sizeof(err)),
	           AGORA_EPROTO);
	assert_non_null(strstr(err, "line 3"));
	assert_null(doc);
}

/* A NUL in a string would cut it short (strings are C strings here):
 * refused, where it is, escaped or raw; an escaped backslash before
 * "u0000" is text, and a NUL after the value is the end of the input. */
static void
json_refuses_a_nul_in_a_string(void **state)
{
	static const char escaped[] = "{\"task\":\"hi\\u0000there\"}";
	static const char raw[] = "{\"task\":\"hi\0there\"}";
	static const char text[] = "{\"task\":\"a\\\\u0000b\"}";
	agora_json *doc = NULL;
	char err[256];

	(void)state;
	AGORA_FAIL(agora_json_parse(&doc, escaped, strlen(escaped), 1024, 8,
	                            err, sizeof(err)),
	           AGORA_EPROTO);
	assert_non_null(strstr(err, "column 12: a NUL character"));
	AGORA_FAIL(agora_json_parse(&doc, raw, sizeof(raw) - 1, 1024, 8, err,
	                            sizeof(err)),
	           AGORA_EPROTO);
	assert_non_null(strstr(err, "NUL"));
	AGORA_PASS(agora_json_parse(&doc, text, sizeof(text), 1024, 8, err,
	                            sizeof(err)));
	assert_string_equal(agora_json_str(agora_json_get(doc, "task")),
	                    "a\\u0000b");
	agora_json_free(doc);
}

static void
strv_split_trims_and_skips_empty(void **state)
{
	agora_strv sv = { 0 };

	(void)state;
	agora_strv_split(&sv, " a, b ,,c ");
	assert_int_equal(sv.n, 3);
	assert_string_equal(sv.v[0], "a");
	assert_string_equal(sv.v[1], "b");
	assert_string_equal(sv.v[2], "c");
	agora_strv_clear(&sv);
}

static void
frame_renders_and_extracts(void **state)
{
	agora_frame f = { .role = (char *)(uintptr_t) "bob",
		          .type = AGORA_FRAME_CHUNK,
		          .round = 1,
		          .content = (char *)(uintptr_t) "x: y",
		          .len = 4 };
	agora_buf b;
	char *role, *content;

	(void)state;
	agora_buf_init(&b, 0);
	AGORA_PASS(agora_frame_render(&f, &b));
	assert_string_equal(b.data, "<bob>: x: y");
	/* Scenario 23: split at the first ": ". */
	AGORA_PASS(agora_frame_extract(b.data, &role, &content));
	assert_string_equal(role, "bob");
	assert_string_equal(content, "x: y");
	agora_free(role);
	agora_free(content);
	AGORA_FAIL(agora_frame_extract("no separator", &role, &content),
	           AGORA_EPROTO);
	agora_buf_fini(&b);
}

static void
frame_json_round_trip_and_garbage(void **state)
{
	agora_frame f = { .role = (char *)(uintptr_t) "bob",
		          .type = AGORA_FRAME_ERROR,
		          .seq = 4,
		          .round = 2,
		          .content = (char *)(uintptr_t) "boom \"x\"",
		          .len = 8 };
	agora_frame d;
	agora_buf b;
	char err[256];
	static const char *const garbage[] = {
		"\x01\x02garbage", "{}",
		"{\"role\":\"bob\",\"type\":\"shout\",\"seq\":0,\"round\":1,"
		"\"content\":\"\"}",
		"{\"role\":\"a b\",\"type\":\"chunk\",\"seq\":0,\"round\":1,"
		"\"content\":\"\"}",
		"{\"role\":\"bob\",\"type\":\"chunk\",\"seq\":-1,\"round\":1,"
		"\"content\":\"\"}"
	};

	(void)state;
	agora_buf_init(&b, 0);
	AGORA_PASS(agora_frame_json(&f, &b));
	AGORA_PASS(agora_frame_decode(&d, b.data, b.len, err, sizeof(err)));
	assert_string_equal(d.role, "bob");
	assert_int_equal(d.type, AGORA_FRAME_ERROR);
	assert_int_equal(d.seq, 4);
	assert_string_equal(d.content, "boom \"x\"");
	agora_frame_fini(&d);
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		agora_err rv = agora_frame_decode(
		    &d, garbage[i], strlen(garbage[i]), err, sizeof(err));
		assert_true(rv == AGORA_EPROTO);
		assert_true(strncmp(err, "frame: ", 7) == 0);
	}
	agora_buf_fini(&b);
}

static void
config_layers_and_errors(void **state)
{
	agora_config cfg;
	char err[256];
	char path[] = "/tmp/agora-cfg-XXXXXX";
	int fd;
	FILE *f;

	(void)state;
	agora_config_init(&cfg);
	assert_int_equal(cfg.redis_timeout_ms, 5000);
	AGORA_PASS(agora_config_set(&cfg, "step.deadline_ms", "1500", err,
	                            sizeof(err)));
	assert_int_equal(cfg.step_deadline_ms, 1500);
	AGORA_FAIL(
	    agora_config_set(&cfg, "step.deadline_ms", "-3", err, sizeof(err)),
	    AGORA_EINVAL);
	assert_non_null(strstr(err, "step.deadline_ms"));
	AGORA_FAIL(agora_config_set(&cfg, "no.such", "1", err, sizeof(err)),
	           AGORA_ENOTFOUND);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("{\"redis\": {\"timeout_ms\": 250}, \"session\": \"abc\"}", f);
	fclose(f);
	AGORA_PASS(agora_config_load_file(&cfg, path, err, sizeof(err)));
	assert_int_equal(cfg.redis_timeout_ms, 250);
	assert_string_equal(cfg.session, "abc");
	f = fopen(path, "w");
	fputs("{\"redis\": {\"colour\": 1}}", f);
	fclose(f);
	AGORA_FAIL(agora_config_load_file(&cfg, path, err, sizeof(err)),
	           AGORA_ENOTFOUND);
	assert_non_null(strstr(err, "redis.colour"));
	setenv("AGORA_LOG_LEVEL", "loud", 1);
	AGORA_FAIL(agora_config_load_env(&cfg, err, sizeof(err)), AGORA_EINVAL);
	unsetenv("AGORA_LOG_LEVEL");
	unlink(path);
	agora_config_fini(&cfg);
}

static void
proc_reports_a_missing_program(void **state)
{
	const char *argv[] = { "agora-no-such-program", NULL };
	agora_proc_opts o = { .argv = argv, .die_with_parent = true };
	agora_proc *p = NULL;
	char err[256];

	(void)state;
	AGORA_FAIL(agora_proc_spawn(&p, &o, err, sizeof(err)), AGORA_ENOTFOUND);
	assert_null(p);
	assert_non_null(strstr(err, "agora-no-such-program"));
}

static void
proc_spawns_stops_and_restarts(void **state)
{
	const char *argv[] = { "sleep", "30", NULL };
	agora_proc_opts o = { .argv = argv, .die_with_parent = true };
	agora_proc *p = NULL;
	char err[256];
	int first;

	(void)state;
	AGORA_PASS(agora_proc_spawn(&p, &o, err, sizeof(err)));
	assert_true(agora_proc_alive(p));
	first = agora_proc_pid(p);
	kill(first, 9);
	while (agora_proc_alive(p)) {
		agora_sleep_ms(1);
	}
	AGORA_PASS(agora_proc_restart(p, err, sizeof(err)));
	assert_true(agora_proc_alive(p));
	assert_int_not_equal(agora_proc_pid(p), first);
	agora_proc_stop(p, 1000);
	assert_false(agora_proc_alive(p));
	agora_proc_free(p);
}

static void
redis_server_missing_says_how_to_install(void **state)
{
	agora_redis_server *s = NULL;
	char err[512];

	(void)state;
	AGORA_FAIL(agora_redis_server_start(&s, "/nonexistent/redis-server",
	                                    err, sizeof(err)),
	           AGORA_ENOTFOUND);
	assert_non_null(strstr(err, "apt-get install redis-server"));
	assert_non_null(strstr(err, "--redis"));
}

static void
redis_url_errors(void **state)
{
	agora_redis *r = NULL;
	char err[512];

	(void)state;
	AGORA_FAIL(agora_redis_open(&r, "http://x", 100, err, sizeof(err)),
	           AGORA_EINVAL);
	assert_non_null(strstr(err, "bad Redis URL"));
	AGORA_FAIL(agora_redis_open(&r, "unix:///nonexistent/redis.sock", 100,
	                            err, sizeof(err)),
	           AGORA_EREDIS);
	assert_non_null(strstr(err, "cannot connect"));
	assert_null(r);
}

static void
reply_reader_maps_error_replies(void **state)
{
	static const char in[] = "-AGORA_ENOTFOUND no role bob\r\n"
	                         "-AGORA_NOSUCH x\r\n-ERR\r\n+OK\r\n";
	agora_reply_reader *rd = agora__reply_reader_new();
	agora_reply *rep = NULL;

	(void)state;
	AGORA_PASS(agora__reply_reader_feed(rd, in, sizeof(in) - 1));
	AGORA_FAIL(agora__reply_reader_get(rd, &rep), AGORA_ENOTFOUND);
	assert_string_equal(agora__reply_reader_errstr(rd), "no role bob");
	AGORA_FAIL(agora__reply_reader_get(rd, &rep), AGORA_EREDIS);
	assert_string_equal(agora__reply_reader_errstr(rd), "AGORA_NOSUCH x");
	AGORA_FAIL(agora__reply_reader_get(rd, &rep), AGORA_EREDIS);
	assert_null(rep);
	AGORA_PASS(agora__reply_reader_get(rd, &rep));
	assert_int_equal(agora__reply_type(rep), AGORA_REPLY_STATUS);
	agora__reply_free(rep);
	AGORA_PASS(agora__reply_reader_get(rd, &rep));
	assert_null(rep); /* more bytes needed */
	agora__reply_reader_free(rd);
}

/* hiredis 0.14 allocates an array's item pointers when it reads the
 * count: 13 bytes could make it ask for 16 GB. Arrays over the cap are
 * refused, by a reader and on a connection alike. */
static const char huge_array[] = "*2000000000\r\n";

static void
reply_reader_caps_array_counts(void **state)
{
	agora_reply_reader *rd = agora__reply_reader_new();
	agora_reply *rep = NULL;

	(void)state;
	AGORA_PASS(
	    agora__reply_reader_feed(rd, huge_array, sizeof(huge_array) - 1));
	AGORA_FAIL(agora__reply_reader_get(rd, &rep), AGORA_EREDIS);
	assert_null(rep);
	assert_non_null(strstr(agora__reply_reader_errstr(rd),
	                       "a reply of 2000000000 items"));
	agora__reply_reader_free(rd);
}

/* A "Redis" on a unix socket that answers its first command with
 * huge_array, then waits for the client to hang up. */
static void *
huge_redis(void *arg)
{
	int lfd = *(int *)arg;
	int fd = accept(lfd, NULL, NULL);
	char buf[256];

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf)) > 0 &&
		    write(fd, huge_array, sizeof(huge_array) - 1) > 0) {
			while (read(fd, buf, sizeof(buf)) > 0) {
			}
		}
		close(fd);
	}
	return NULL;
}

static void
redis_connection_caps_array_counts(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/agora-huge-XXXXXX", url[160], err[256];
	agora_redis *r = NULL;
	pthread_t th;
	int lfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/redis.sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(pthread_create(&th, NULL, huge_redis, &lfd), 0);
	snprintf(url, sizeof(url), "unix://%s", sa.sun_path);
	AGORA_PASS(agora_redis_open(&r, url, 2000, err, sizeof(err)));
	AGORA_FAIL(agora_redis_ping(r), AGORA_EREDIS);
	assert_non_null(
	    strstr(agora_redis_errstr(r), "a reply of 2000000000 items"));
	agora_redis_close(r);
	pthread_join(th, NULL);
	close(lfd);
	unlink(sa.sun_path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(msg_round_trips_through_json),
		cmocka_unit_test(msg_decode_rejects_garbage_with_a_reason),
		cmocka_unit_test(msg_decode_caps_size_and_depth),
		cmocka_unit_test(msg_validate_names_the_problem),
		cmocka_unit_test(role_names_are_checked),
		cmocka_unit_test(utf8_validation),
		cmocka_unit_test(buf_cap_leaves_buffer_intact),
		cmocka_unit_test(json_errors_give_line_and_column),
		cmocka_unit_test(json_refuses_a_nul_in_a_string),
		cmocka_unit_test(strv_split_trims_and_skips_empty),
		cmocka_unit_test(frame_renders_and_extracts),
		cmocka_unit_test(frame_json_round_trip_and_garbage),
		cmocka_unit_test(config_layers_and_errors),
		cmocka_unit_test(proc_reports_a_missing_program),
		cmocka_unit_test(proc_spawns_stops_and_restarts),
		cmocka_unit_test(redis_server_missing_says_how_to_install),
		cmocka_unit_test(redis_url_errors),
		cmocka_unit_test(reply_reader_maps_error_replies),
		cmocka_unit_test(reply_reader_caps_array_counts),
		cmocka_unit_test(redis_connection_caps_array_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
