/* SPDX-License-Identifier: MIT */
/* agora lace from the shell: real lace servers (action, inference, trainer)
 * run in this process and the real agora binary (AGORA_BIN) is run against
 * them, its stdout, stderr and exit code checked: the interfaces, a call's
 * round trip, observations with their array lines, an action, a trainer's
 * stores and a client's cursor, tokens, bad JSON and unknown names (exit
 * 2), and a server that never answers or is not there (exit 1). */
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/lace.h"
#include "test.h"

extern char **environ;

#define IMG      256
#define MAX_ARGV 32

static char dir[256];
static char out_path[300], err_path[300];
static agora_buf out, err;

/* ---- running agora lace -------------------------------------------- */

static void
read_into(agora_buf *b, const char *path)
{
	char why[256];

	agora_buf_reset(b);
	AGORA_PASS(agora_buf_read_file(b, path, why, sizeof(why)));
	(void)agora_buf_add(b, "", 1); /* a NUL, for strstr */
	b->len--;
}

/* Run argv (argv[0] the program); its output goes to out and err, its
 * exit code is returned. */
static int
run(const char *const *argv)
{
	posix_spawn_file_actions_t fa;
	char *v[MAX_ARGV] = { 0 };
	int status = 0, rc;
	pid_t pid;

	if (argv[0] == NULL) {
		fail_msg("AGORA_BIN is not set");
		return -1;
	}
	/* posix_spawn takes char *const argv[]: copies. */
	for (size_t i = 0; i < MAX_ARGV - 1 && argv[i] != NULL; i++) {
		v[i] = agora_strdup(argv[i]);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_path,
	                                 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err_path,
	                                 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = posix_spawn(&pid, v[0], &fa, NULL, v, environ);
	posix_spawn_file_actions_destroy(&fa);
	for (size_t i = 0; i < MAX_ARGV; i++) {
		agora_free(v[i]);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	read_into(&out, out_path);
	read_into(&err, err_path);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Run `agora lace ARGS...` (NULL-ended). */
static int
lace(const char *first, ...)
{
	const char *argv[MAX_ARGV] = { getenv("AGORA_BIN"), "lace", first };
	int n = 3;
	va_list ap;

	va_start(ap, first);
	while (n < MAX_ARGV - 1 &&
	       (argv[n] = va_arg(ap, const char *)) != NULL) {
		n++;
	}
	va_end(ap);
	argv[n] = NULL;
	return run(argv);
}

/* The last run exited with code, its stdout holds want_out and its stderr
 * want_err (NULL: anything; "": nothing at all). */
#define expect(code, want, want_out, want_err) \
	expect_at(code, want, want_out, want_err, __LINE__)

static bool
holds(const agora_buf *b, const char *want)
{
	if (want == NULL) {
		return true;
	}
	return want[0] == '\0' ? b->len == 0 : strstr(b->data, want) != NULL;
}

static void
expect_at(int code, int want, const char *want_out, const char *want_err,
          int line)
{
	if (code != want || !holds(&out, want_out) || !holds(&err, want_err)) {
		fail_msg("line %d: exit %d (want %d)\nstdout: %s\nstderr: %s\n"
		         "want in stdout: %s\nwant in stderr: %s",
		         line, code, want, out.data, err.data,
		         want_out != NULL ? want_out : "-",
		         want_err != NULL ? want_err : "-");
	}
}

static void
url_for(char *url, size_t n, const char *what)
{
	snprintf(url, n, "ipc://%s/%s.sock", dir, what);
}

/* ---- servers ------------------------------------------------------- */

static const char *const obs_keys[] = { "test_image", "state" };
static const char *const act_keys[] = { "move", "hang" };
static const agora_lace_config action_cfg = {
	.kind = AGORA_LACE_ACTION,
	.obs_keys = obs_keys,
	.nobs_keys = 2,
	.act_keys = act_keys,
	.nact_keys = 2,
};
static const agora_lace_config inference_cfg = {
	.kind = AGORA_LACE_INFERENCE,
};
static const agora_lace_config trainer_cfg = {
	.kind = AGORA_LACE_TRAINER,
};
static unsigned char image[IMG * IMG * 3];

/* "hang" waits here until released (at most 20 s, so nothing is left
 * behind if the test fails first). */
static pthread_mutex_t hang_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hang_cv = PTHREAD_COND_INITIALIZER;
static bool hang_released;

static void
hang(void)
{
	int64_t until = agora_now_ms() + 20000;

	pthread_mutex_lock(&hang_lock);
	while (!hang_released && agora_now_ms() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&hang_cv, &hang_lock, &ts);
	}
	pthread_mutex_unlock(&hang_lock);
}

static void
hang_release(void)
{
	pthread_mutex_lock(&hang_lock);
	hang_released = true;
	pthread_cond_broadcast(&hang_cv);
	pthread_mutex_unlock(&hang_lock);
}

/* The keys asked for, and for each an array: the image (uint8) for
 * test_image, six joint angles (float32, 2 x 3) for state. */
static agora_err
on_obs(void *arg, const char *name, const agora_lace_payload *in,
       agora_lace_out *o, char *e, size_t elen)
{
	static const float joints[6] = { 0.5f, 1, 1.5f, 2, 2.5f, 3 };
	agora_lace_array img = { .dtype = AGORA_LACE_U8,
		                 .ndim = 3,
		                 .shape = { IMG, IMG, 3 },
		                 .data = image };
	agora_lace_array st = { .dtype = AGORA_LACE_F32,
		                .ndim = 2,
		                .shape = { 2, 3 },
		                .data = joints };
	agora_buf json;
	size_t i = 0;
	agora_err rv;

	(void)arg;
	(void)name;
	(void)e;
	(void)elen;
	agora_buf_init(&json, 0);
	(void)agora_buf_addf(&json, "{\"asked\":%.*s", (int)in->json_len,
	                     in->json);
	if (strstr(in->json, "test_image") != NULL) {
		AGORA_PASS(agora_lace_out_array(o, &img, &i));
		(void)agora_buf_addf(&json, ",\"test_image\":{\"$array\":%zu}",
		                     i);
	}
	if (strstr(in->json, "state") != NULL) {
		AGORA_PASS(agora_lace_out_array(o, &st, &i));
		(void)agora_buf_addf(&json, ",\"state\":{\"$array\":%zu}", i);
	}
	(void)agora_buf_adds(&json, "}");
	rv = agora_lace_out_json(o, json.data, json.len);
	agora_buf_fini(&json);
	return rv;
}

/* move: {"moved": <the payload>}; hang: waits to be released. */
static agora_err
on_act(void *arg, const char *key, const agora_lace_payload *in,
       agora_lace_out *o, char *e, size_t elen)
{
	char json[512];

	(void)arg;
	(void)e;
	(void)elen;
	if (strcmp(key, "hang") == 0) {
		hang();
	}
	snprintf(json, sizeof(json), "{\"moved\":%.*s}", (int)in->json_len,
	         in->json);
	return agora_lace_out_json(o, json, strlen(json));
}

/* The payload back, arrays and all. */
static agora_err
on_echo(void *arg, const char *name, const agora_lace_payload *in,
        agora_lace_out *o, char *e, size_t elen)
{
	(void)arg;
	(void)name;
	(void)e;
	(void)elen;
	for (size_t i = 0; i < in->narrays; i++) {
		AGORA_PASS(agora_lace_out_array(o, &in->arrays[i], NULL));
	}
	return agora_lace_out_json(o, in->json, in->json_len);
}

/* greet: a greeting and pi as a float64 scalar. */
static agora_err
on_greet(void *arg, const char *name, const agora_lace_payload *in,
         agora_lace_out *o, char *e, size_t elen)
{
	static const double pi = 3.14159;
	const char *json = "{\"hello\":\"world\",\"pi\":{\"$array\":0}}";
	agora_lace_array a = { .dtype = AGORA_LACE_F64, .data = &pi };

	(void)arg;
	(void)name;
	(void)in;
	(void)e;
	(void)elen;
	AGORA_PASS(agora_lace_out_array(o, &a, NULL));
	return agora_lace_out_json(o, json, strlen(json));
}

static agora_lace_server *
server(const agora_lace_config *cfg, const char *url, const char *token)
{
	agora_lace_server_opts o = {
		.url = url, .token = token, .obs = on_obs, .act = on_act
	};
	agora_lace_server *s = NULL;
	char why[256];

	if (agora_lace_server_new(&s, cfg, &o, why, sizeof(why)) != AGORA_OK) {
		fail_msg("server: %s", why);
	}
	if (cfg->kind == AGORA_LACE_INFERENCE) {
		AGORA_PASS(
		    agora_lace_server_register(s, "echo", on_echo, NULL));
		AGORA_PASS(
		    agora_lace_server_register(s, "greet", on_greet, NULL));
	}
	return s;
}

static void
start(agora_lace_server *s)
{
	char why[256];

	if (agora_lace_server_start(s, why, sizeof(why)) != AGORA_OK) {
		fail_msg("start: %s", why);
	}
}

/* ---- the tests ----------------------------------------------------- */

static void
help_and_usage(void **state)
{
	(void)state;
	expect(lace("--help", NULL), 0, "interfaces ADDR", NULL);
	expect(lace("--help", NULL), 0, "stores ADDR", NULL);
	expect(lace("obs", "-h", NULL), 0,
	       "usage: agora lace obs ADDR [KEY...]", NULL);
	expect(lace("--json", "act", "--help", NULL), 0,
	       "usage: agora lace act ADDR KEY [JSON]", NULL);
	expect(lace("frob", "x", NULL), 2, NULL, "unknown command 'frob'");
	expect(lace("obs", NULL), 2, NULL, "usage: agora lace obs ADDR");
	expect(lace("stores", "x", "--bogus", NULL), 2, NULL,
	       "unknown option '--bogus'");
	expect(lace("interfaces", "x", "--timeout-ms", "0", NULL), 2, NULL,
	       "--timeout-ms");
	/* agora --help lists it. */
	{
		const char *argv[] = { getenv("AGORA_BIN"), "--help", NULL };
		expect(run(argv), 0, "  lace CMD", "");
	}
}

static void
inference_interfaces_and_calls(void **state)
{
	char url[300];
	agora_lace_server *s;

	(void)state;
	url_for(url, sizeof(url), "inference");
	s = server(&inference_cfg, url, NULL);
	start(s);
	expect(lace("interfaces", url, NULL), 0, "echo\ngreet\n", NULL);
	assert_string_equal(out.data, "echo\ngreet\n");
	expect(lace("--json", "interfaces", url, NULL), 0,
	       "[\"echo\",\"greet\"]", NULL);
	/* A round trip; options after the arguments too. */
	expect(lace("call", url, "echo", "{\"a\":[1,2],\"b\":\"x\"}", "--json",
	            NULL),
	       0, "{\"reply\":{\"a\":[1,2],\"b\":\"x\"},\"arrays\":[]}", NULL);
	expect(lace("call", url, "echo", "{\"a\":[1,2]}", NULL), 0,
	       "{\"a\":[1,2]}\n", NULL);
	assert_null(strstr(out.data, "array"));
	/* A scalar array. */
	expect(lace("call", url, "greet", NULL), 0,
	       "{\"hello\":\"world\",\"pi\":{\"$array\":0}}\n"
	       "array 0: float64 [] (8 bytes)\n",
	       "");
	expect(lace("call", url, "greet", "--json", NULL), 0,
	       "\"arrays\":[{\"dtype\":\"float64\",\"shape\":[],\"bytes\":8}]}",
	       "");
	/* No JSON: null; JSON that starts with "-" after --. */
	expect(lace("call", url, "echo", NULL), 0, "null\n", NULL);
	expect(lace("call", url, "echo", "--", "-5", NULL), 0, "-5\n", NULL);
	/* What the user typed wrong: exit 2, named. */
	expect(lace("call", url, "nope", "{}", NULL), 2, NULL,
	       "unknown interface \"nope\"");
	expect(lace("call", url, "echo", "{\"a\":", NULL), 2, NULL,
	       "not valid JSON");
	assert_string_equal(out.data, "");
	/* A command of another kind of server: the server's error. */
	expect(lace("obs", url, NULL), 2, NULL,
	       "an inference server has no op \"obs\"");
	expect(lace("stores", url, NULL), 2, NULL,
	       "an inference server has no op \"stores\"");
	agora_lace_server_free(s);
}

static void
action_obs_and_act(void **state)
{
	char url[300];
	agora_lace_server *s;

	(void)state;
	url_for(url, sizeof(url), "action");
	s = server(&action_cfg, url, NULL);
	start(s);
	/* Every key: each array is a line, never its bytes. */
	expect(lace("obs", url, NULL), 0,
	       "array 0: uint8 [256, 256, 3] (196608 bytes)\n"
	       "array 1: float32 [2, 3] (24 bytes)\n",
	       "");
	expect(lace("obs", url, NULL), 0,
	       "\"asked\":{\"keys\":[\"test_image\",\"state\"]}", NULL);
	assert_true(out.len < 1000);
	/* One key: only it. */
	expect(lace("obs", url, "state", NULL), 0,
	       "{\"asked\":{\"keys\":[\"state\"]},\"state\":{\"$array\":0}}\n"
	       "array 0: float32 [2, 3] (24 bytes)\n",
	       "");
	assert_null(strstr(out.data, "uint8"));
	expect(lace("obs", url, "test_image", "--json", NULL), 0,
	       "\"arrays\":[{\"dtype\":\"uint8\",\"shape\":[256,256,3],"
	       "\"bytes\":196608}]}",
	       NULL);
	expect(lace("obs", url, "nope", NULL), 2, NULL,
	       "unknown observation key \"nope\"");
	/* An action with JSON. */
	expect(lace("act", url, "move", "{\"dx\":1.5}", NULL), 0,
	       "{\"moved\":{\"dx\":1.5}}\n", NULL);
	expect(lace("act", url, "fly", "{}", NULL), 2, NULL,
	       "unknown action key \"fly\"");
	expect(lace("act", url, "move", "[1,", NULL), 2, NULL,
	       "act: the JSON argument is not valid JSON");
	expect(lace("interfaces", url, NULL), 2, NULL,
	       "an action server has no op \"interfaces\"");
	/* A callback that does not answer in time: exit 1, said so. */
	expect(lace("act", url, "hang", "--timeout-ms", "300", NULL), 1, NULL,
	       "no answer to act within 300 ms");
	hang_release();
	agora_lace_server_free(s);
}

static void
trainer_stores(void **state)
{
	char url[300], why[256];
	agora_lace_field f = {
		.name = "x", .dtype = AGORA_LACE_I64, .ndim = 1, .shape = { 2 }
	};
	agora_lace_store_opts so = { .kind = AGORA_LACE_QUEUED,
		                     .capacity = 100,
		                     .fields = &f,
		                     .nfields = 1 };
	agora_lace_client_opts co = { .name = "robot-1", .timeout_ms = 5000 };
	agora_lace_store *theirs = NULL, *mine = NULL;
	agora_lace_client *c = NULL;
	agora_lace_server *s;
	int64_t rows[10] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	const void *cols[1] = { rows };

	(void)state;
	url_for(url, sizeof(url), "trainer");
	AGORA_PASS(agora_lace_store_new(&theirs, &so, why, sizeof(why)));
	AGORA_PASS(agora_lace_store_new(&mine, &so, why, sizeof(why)));
	s = server(&trainer_cfg, url, NULL);
	AGORA_PASS(agora_lace_server_add_store(s, "table1", theirs));
	start(s);
	/* No client yet. */
	expect(lace("stores", url, NULL), 0, "table1", "");
	expect(lace("stores", url, NULL), 0, "(no client has pushed yet)",
	       NULL);
	/* robot-1 pushes five rows: its cursor is 4. */
	co.url = url;
	AGORA_PASS(
	    agora_lace_client_open(&c, &trainer_cfg, &co, why, sizeof(why)));
	AGORA_PASS(agora_lace_client_add_store(c, "table1", mine));
	AGORA_PASS(agora_lace_store_insert(mine, 5, cols));
	AGORA_PASS(agora_lace_update(c, NULL, why, sizeof(why)));
	expect(lace("stores", url, NULL), 0,
	       "store   size/capacity  latest\n"
	       "table1  5/100          4\n"
	       "  client   cursor    received  gaps\n"
	       "  robot-1  4         5         0\n",
	       "");
	expect(lace("stores", url, "--json", NULL), 0,
	       "{\"client\":\"robot-1\",\"cursor\":4,\"received\":5,"
	       "\"gaps\":0}",
	       NULL);
	expect(lace("stores", url, "--json", NULL), 0,
	       "\"name\":\"table1\",\"size\":5,\"capacity\":100", NULL);
	expect(lace("call", url, "echo", NULL), 2, NULL,
	       "a trainer server has no op \"call\"");
	agora_lace_client_close(c);
	agora_lace_server_free(s);
	agora_lace_store_free(mine);
	agora_lace_store_free(theirs);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
token_files(void **state)
{
	char url[300], right[300], wrong[300], missing[300];
	agora_lace_server *s;

	(void)state;
	url_for(url, sizeof(url), "token");
	snprintf(right, sizeof(right), "%s/right.token", dir);
	snprintf(wrong, sizeof(wrong), "%s/wrong.token", dir);
	snprintf(missing, sizeof(missing), "%s/missing.token", dir);
	write_file(right, "the-right-token-0123456789\n");
	write_file(wrong, "a-wrong-token-9876543210\n");
	s = server(&inference_cfg, url, "the-right-token-0123456789");
	start(s);
	expect(lace("--token-file", right, "interfaces", url, NULL), 0,
	       "echo\n", "");
	expect(
	    lace("call", url, "echo", "{\"t\":1}", "--token-file", right, NULL),
	    0, "{\"t\":1}", NULL);
	expect(lace("interfaces", url, "--token-file", wrong, NULL), 2, NULL,
	       "not authorised");
	expect(lace("interfaces", url, NULL), 2, NULL, "not authorised");
	expect(lace("interfaces", url, "--token-file", missing, NULL), 2, NULL,
	       "missing.token");
	agora_lace_server_free(s);
}

static void
nothing_listening(void **state)
{
	char url[300];

	(void)state;
	url_for(url, sizeof(url), "nobody");
	expect(lace("interfaces", url, "--timeout-ms", "500", NULL), 1, NULL,
	       url);
	expect(lace("obs", "127.0.0.1:1", "--timeout-ms", "500", NULL), 1, NULL,
	       "tcp://127.0.0.1:1");
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/agora-lacecli-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		return -1;
	}
	snprintf(out_path, sizeof(out_path), "%s/out", dir);
	snprintf(err_path, sizeof(err_path), "%s/err", dir);
	agora_buf_init(&out, 0);
	agora_buf_init(&err, 0);
	for (size_t i = 0; i < sizeof(image); i++) {
		image[i] = (unsigned char)(i * 31 + 7);
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	agora_buf_fini(&out);
	agora_buf_fini(&err);
	t_rm_rf(dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(help_and_usage),
		cmocka_unit_test(inference_interfaces_and_calls),
		cmocka_unit_test(action_obs_and_act),
		cmocka_unit_test(trainer_stores),
		cmocka_unit_test(token_files),
		cmocka_unit_test(nothing_listening),
	};

	if (getenv("AGORA_BIN") == NULL) {
		printf("lace_cli_test: skipped: AGORA_BIN must name the agora "
		       "program\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
