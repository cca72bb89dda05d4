/* SPDX-License-Identifier: MIT */
/* agora studio's sessions: GET /api/sessions/events follows a session
 * driven by another process (`agora chat` on the chatbot demo, fed lines on
 * stdin), every message once, in order, with the fields of
 * /api/sessions/S/messages; /api/sessions counts messages and roles and
 * marks live sessions; a run's `message` events carry ids and the whisper
 * flag. The studio runs in this process on the test Redis; libcurl is the
 * page. Waits are on conditions with deadlines. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <curl/curl.h>

#include "agora/clock.h"
#include "agora/env.h"
#include "agora/json.h"
#include "agora/studio.h"
#include "test.h"

#define WAIT_MS 15000

static agora_studio *studio;
static char base[64];

static size_t
t_write(char *p, size_t size, size_t n, void *arg)
{
	(void)agora_buf_add(arg, p, size * n);
	return size * n;
}

static long
t_get(const char *path, agora_buf *out)
{
	CURL *c = curl_easy_init();
	char url[256];
	long status = 0;

	snprintf(url, sizeof(url), "%s%s%st=%s", base, path,
	         strchr(path, '?') != NULL ? "&" : "?",
	         agora_studio_page_token(studio));
	agora_buf_reset(out);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, t_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status;
}

static long
t_post(const char *path, const char *body, agora_buf *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[256];
	char hdr[128];
	long status = 0;

	snprintf(url, sizeof(url), "%s%s", base, path);
	snprintf(hdr, sizeof(hdr), "X-Agora-Token: %s",
	         agora_studio_page_token(studio));
	agora_buf_reset(out);
	h = curl_slist_append(h, hdr);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, t_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

/* An SSE reader on its own thread; quit ends it (at the next progress
 * call, about once a second or sooner). */
struct reader {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	agora_buf got;
	bool over, quit;
	char path[160];
	pthread_t t;
};

static size_t
r_write(char *p, size_t size, size_t n, void *arg)
{
	struct reader *rd = arg;

	pthread_mutex_lock(&rd->lock);
	(void)agora_buf_add(&rd->got, p, size * n);
	pthread_cond_broadcast(&rd->cond);
	pthread_mutex_unlock(&rd->lock);
	return size * n;
}

static int
r_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct reader *rd = arg;
	bool quit;

	(void)a, (void)b, (void)c, (void)d;
	pthread_mutex_lock(&rd->lock);
	quit = rd->quit;
	pthread_mutex_unlock(&rd->lock);
	return quit ? 1 : 0;
}

static void *
r_main(void *arg)
{
	struct reader *rd = arg;
	CURL *c = curl_easy_init();
	char url[256];

	snprintf(url, sizeof(url), "%s%s%st=%s", base, rd->path,
	         strchr(rd->path, '?') != NULL ? "&" : "?",
	         agora_studio_page_token(studio));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, r_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, rd);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, r_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, rd);
	(void)curl_easy_perform(c);
	curl_easy_cleanup(c);
	pthread_mutex_lock(&rd->lock);
	rd->over = true;
	pthread_cond_broadcast(&rd->cond);
	pthread_mutex_unlock(&rd->lock);
	return NULL;
}

static void
r_start(struct reader *rd, const char *path)
{
	memset(rd, 0, sizeof(*rd));
	pthread_mutex_init(&rd->lock, NULL);
	agora_cond_init(&rd->cond);
	agora_buf_init(&rd->got, 0);
	snprintf(rd->path, sizeof(rd->path), "%s", path);
	assert_int_equal(pthread_create(&rd->t, NULL, r_main, rd), 0);
}

static void
r_stop(struct reader *rd)
{
	pthread_mutex_lock(&rd->lock);
	rd->quit = true;
	pthread_mutex_unlock(&rd->lock);
	pthread_join(rd->t, NULL);
	agora_buf_fini(&rd->got);
	pthread_cond_destroy(&rd->cond);
	pthread_mutex_destroy(&rd->lock);
}

static int
r_count_in(const char *p, const char *what)
{
	int seen = 0;

	while (p != NULL && (p = strstr(p, what)) != NULL) {
		seen++;
		p++;
	}
	return seen;
}

static int
r_count(const struct reader *rd, const char *what)
{
	const char *p = rd->got.data;
	int seen = 0;

	while (p != NULL && (p = strstr(p, what)) != NULL) {
		seen++;
		p++;
	}
	return seen;
}

/* Wait until the stream holds count copies of what. */
static bool
r_wait(struct reader *rd, const char *what, int count)
{
	int64_t end = agora_now_ms() + WAIT_MS;
	bool ok;

	pthread_mutex_lock(&rd->lock);
	while (r_count(rd, what) < count && !rd->over &&
	       agora_cond_wait_until(&rd->cond, &rd->lock, end)) {
	}
	ok = r_count(rd, what) >= count;
	pthread_mutex_unlock(&rd->lock);
	return ok;
}

static int
setup(void **state)
{
	char dir[512];
	char err[512];
	agora_studio_opts o = { 0 };

	(void)state;
	/* NOLINTNEXTLINE(concurrency-mt-unsafe): nothing sets the env */
	snprintf(dir, sizeof(dir), "%s/demos/chatbot", getenv("AGORA_SRC"));
	o.redis_url = t_redis_url();
	o.scenarios = dir;
	if (agora_studio_open(&studio, &o, err, sizeof(err)) != AGORA_OK) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	snprintf(base, sizeof(base), "http://127.0.0.1:%d",
	         agora_studio_port(studio));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	agora_studio_close(studio);
	return 0;
}

/* JSON text printed back (so two texts compare as JSON), or NULL. */
static char *
t_reprint(const agora_json *j)
{
	agora_buf b;

	agora_buf_init(&b, 0);
	if (j == NULL || agora_json_print(j, &b) != AGORA_OK) {
		agora_buf_fini(&b);
		return NULL;
	}
	return agora_buf_steal(&b);
}

/* The "message" object of one event's data if it is of session s. */
static void
t_event_push(const char *data, size_t len, const char *s, agora_strv *out)
{
	agora_json *doc = NULL;
	const char *got;
	char *m;

	assert_int_equal(
	    agora_json_parse(&doc, data, len, 1u << 20, 64, NULL, 0), AGORA_OK);
	got = agora_json_str(agora_json_get(doc, "session"));
	if (got != NULL && strcmp(got, s) == 0) {
		m = t_reprint(agora_json_get(doc, "message"));
		assert_non_null(m);
		agora_strv_push(out, m);
		agora_free(m);
	}
	agora_json_free(doc);
}

/* The "message" objects of session s in an SSE text, printed back. */
static void
t_events_of(const char *text, const char *s, agora_strv *out)
{
	const char *p = text;
	const char mark[] = "event: message\ndata: ";

	while ((p = strstr(p, mark)) != NULL) {
		p += sizeof(mark) - 1;
		t_event_push(p, strcspn(p, "\n"), s, out);
	}
}

/* The messages of /api/sessions/S/messages, printed back. */
static void
t_history_of(const char *s, agora_strv *out)
{
	agora_buf b;
	agora_json *doc = NULL;
	char path[160];

	agora_buf_init(&b, 0);
	snprintf(path, sizeof(path), "/api/sessions/%s/messages", s);
	assert_int_equal(t_get(path, &b), 200);
	assert_int_equal(
	    agora_json_parse(&doc, b.data, b.len, 1u << 24, 64, NULL, 0),
	    AGORA_OK);
	for (const agora_json *m =
	         agora_json_first(agora_json_get(doc, "messages"));
	     m != NULL; m = agora_json_next(m)) {
		char *t = t_reprint(m);

		assert_non_null(t);
		agora_strv_push(out, t);
		agora_free(t);
	}
	agora_json_free(doc);
	agora_buf_fini(&b);
}

/* Store one message from a to b (ts_ms 0: now). */
static void
t_store(agora_env *env, const char *from, const char *to, const char *text,
        int64_t ts_ms)
{
	agora_msg *m = agora_msg_new(from, to, text);
	agora_err rv;

	m->ts_ms = ts_ms;
	rv = agora_env_store(env, m);
	agora_msg_free(m);
	assert_int_equal(rv, AGORA_OK);
}

/* `agora chat` in another process stores 1 + 2 x 5 messages; each comes
 * once, in id order, as the history has it. */
static void
another_process_is_followed(void **state)
{
	struct reader rd;
	agora_strv got = { 0 }, want = { 0 };
	char cmd[2048];
	char s[64];
	int status;

	(void)state;
	snprintf(s, sizeof(s), "follow-%lld", (long long)agora_wall_ms());
	r_start(&rd, "/api/sessions/events");
	assert_true(r_wait(&rd, "event: ready\n", 1));
	/* NOLINTBEGIN(concurrency-mt-unsafe): nothing sets the env */
	snprintf(cmd, sizeof(cmd),
	         "printf 'one\\ntwo\\nthree\\nfour\\nfive\\n' | %s chat "
	         "%s/demos/chatbot/chatbot.json --redis '%s' --session %s "
	         ">/dev/null 2>&1",
	         getenv("AGORA_BIN"), getenv("AGORA_SRC"), t_redis_url(), s);
	status = system(cmd);
	/* NOLINTEND(concurrency-mt-unsafe) */
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(r_wait(&rd, "\"content\":\"You said: five\"", 1));
	pthread_mutex_lock(&rd.lock);
	t_events_of(rd.got.data, s, &got);
	pthread_mutex_unlock(&rd.lock);
	t_history_of(s, &want);
	assert_int_equal(want.n, 11);
	assert_int_equal(got.n, want.n);
	if (got.v == NULL || want.v == NULL) {
		fail_msg("no messages");
		return; /* (fail_msg returns only for the analyzer) */
	}
	for (size_t i = 0; i < want.n; i++) {
		char id[32];

		snprintf(id, sizeof(id), "{\"id\":%zu,", i + 1);
		assert_true(strncmp(got.v[i], id, strlen(id)) == 0);
		assert_string_equal(got.v[i], want.v[i]);
	}
	/* The greeting goes to "you" only: a whisper; the rest to all. */
	assert_non_null(strstr(got.v[0], "\"send_to\":[\"you\"]"));
	assert_non_null(strstr(got.v[0], "\"whisper\":true"));
	assert_non_null(strstr(got.v[2], "\"sent_from\":\"bot\""));
	assert_non_null(strstr(got.v[2], "\"whisper\":false"));
	agora_strv_clear(&got);
	agora_strv_clear(&want);
	r_stop(&rd);
}

/* The entry of session s in /api/sessions ("" if none). */
static void
t_session_entry(const char *s, char *out, size_t len)
{
	agora_buf b;
	char key[96];
	const char *p;

	agora_buf_init(&b, 0);
	assert_int_equal(t_get("/api/sessions", &b), 200);
	snprintf(key, sizeof(key), "{\"session\":\"%s\"", s);
	p = strstr(b.data, key);
	snprintf(out, len, "%.*s", p != NULL ? (int)strcspn(p, "}") : 0,
	         p != NULL ? p : "");
	agora_buf_fini(&b);
}

/* Counts per session; live for a minute after its last message. */
static void
sessions_are_counted(void **state)
{
	agora_redis *r = t_redis_open();
	agora_env *env = NULL;
	const char *roles[] = { "a", "b", "c" };
	char s[64];
	char got[256];
	char want[256];

	(void)state;
	snprintf(s, sizeof(s), "count-%lld", (long long)agora_wall_ms());
	AGORA_PASS(agora_env_open(&env, r, s, NULL));
	AGORA_PASS(agora_env_register_roles(env, roles, 3));
	for (int i = 0; i < 4; i++) {
		/* two minutes ago */
		t_store(env, "a", "b", "old news", agora_wall_ms() - 120000);
	}
	t_session_entry(s, got, sizeof(got));
	snprintf(want, sizeof(want),
	         "{\"session\":\"%s\",\"messages\":4,\"roles\":3,"
	         "\"live\":false",
	         s);
	assert_string_equal(got, want);
	t_store(env, "c", NULL, "fresh", 0);
	t_session_entry(s, got, sizeof(got));
	snprintf(want, sizeof(want),
	         "{\"session\":\"%s\",\"messages\":5,\"roles\":3,"
	         "\"live\":true",
	         s);
	assert_string_equal(got, want);
	agora_env_close(env);
	agora_redis_close(r);
}

/* ?after=ID&limit=N pages forward through the history. */
static void
messages_page_forward(void **state)
{
	agora_redis *r = t_redis_open();
	agora_env *env = NULL;
	const char *roles[] = { "a", "b" };
	agora_buf b;
	char s[64];
	char path[160];

	(void)state;
	agora_buf_init(&b, 0);
	snprintf(s, sizeof(s), "page-%lld", (long long)agora_wall_ms());
	AGORA_PASS(agora_env_open(&env, r, s, NULL));
	AGORA_PASS(agora_env_register_roles(env, roles, 2));
	for (int i = 0; i < 25; i++) {
		t_store(env, "a", "b", "x", 0);
	}
	for (int after = 0; after <= 30; after += 10) {
		int want =
		    after >= 25 ? 0 : (after + 10 > 25 ? 25 - after : 10);
		char first[32];

		snprintf(path, sizeof(path),
		         "/api/sessions/%s/messages?after=%d&limit=10", s,
		         after);
		assert_int_equal(t_get(path, &b), 200);
		assert_int_equal(r_count_in(b.data, "\"id\":"), want);
		snprintf(first, sizeof(first), "[{\"id\":%d,", after + 1);
		if (want > 0) {
			assert_non_null(strstr(b.data, first));
		}
	}
	agora_buf_fini(&b);
	agora_env_close(env);
	agora_redis_close(r);
}

/* A run's stream: each stored message once, after its reply's end, with
 * id and whisper flag; the greeting (bot to you) is a whisper that a
 * watcher sees marked and that the person playing "you" heard. */
static void
run_messages_carry_ids_and_whispers(void **state)
{
	struct reader rd;
	agora_buf b;
	char path[160];
	char run[16];
	const char *p;

	(void)state;
	agora_buf_init(&b, 0);
	/* A watcher: the loop stops after one idle round; one message. */
	assert_int_equal(t_post("/api/runs",
	                        "{\"scenario\":\"chatbot.json\","
	                        "\"watch\":true}",
	                        &b),
	                 201);
	p = strstr(b.data, "\"run\":\"");
	assert_non_null(p);
	snprintf(run, sizeof(run), "%.*s", (int)strcspn(p + 7, "\""), p + 7);
	snprintf(path, sizeof(path), "/api/runs/%s/events", run);
	r_start(&rd, path);
	assert_true(r_wait(&rd, "event: done\n", 1));
	pthread_mutex_lock(&rd.lock);
	assert_int_equal(r_count(&rd, "event: message\n"), 1);
	p = strstr(rd.got.data, "event: message\ndata: {\"id\":1,"
	                        "\"sent_from\":\"bot\",\"send_to\":[\"you\"]");
	assert_non_null(p);
	assert_non_null(strstr(p, "\"whisper\":true}\n"));
	assert_true(p < strstr(rd.got.data, "event: done\n"));
	pthread_mutex_unlock(&rd.lock);
	r_stop(&rd);

	/* A person as "you": the greeting is heard; the words and the
	 * bot's answer come after their ends, to all. */
	assert_int_equal(t_post("/api/runs",
	                        "{\"scenario\":\"chatbot.json\","
	                        "\"role\":\"you\"}",
	                        &b),
	                 201);
	p = strstr(b.data, "\"run\":\"");
	snprintf(run, sizeof(run), "%.*s", (int)strcspn(p + 7, "\""), p + 7);
	snprintf(path, sizeof(path), "/api/runs/%s/events", run);
	r_start(&rd, path);
	assert_true(r_wait(&rd, "event: awaiting_input\n", 1));
	assert_true(r_wait(&rd, "\"whisper\":true,\"heard\":true}", 1));
	snprintf(path, sizeof(path), "/api/runs/%s/input", run);
	assert_int_equal(t_post(path, "{\"words\":\"psst\"}", &b), 200);
	assert_true(r_wait(&rd, "\"content\":\"You said: psst\"", 1));
	pthread_mutex_lock(&rd.lock);
	p = strstr(rd.got.data, "event: message\ndata: {\"id\":3,"
	                        "\"sent_from\":\"bot\",\"send_to\":[\"all\"]");
	assert_non_null(p);
	assert_non_null(strstr(p, "\"whisper\":false,\"heard\":true}\n"));
	/* after the end of the bot's reply (reply 2) */
	assert_true(strstr(rd.got.data, "event: end\ndata: {\"reply\":2,") < p);
	assert_int_equal(r_count(&rd, "event: message\n"), 3);
	pthread_mutex_unlock(&rd.lock);
	snprintf(path, sizeof(path), "/api/runs/%s/stop", run);
	assert_int_equal(t_post(path, "{}", &b), 200);
	assert_true(r_wait(&rd, "event: done\n", 1));
	r_stop(&rd);
	agora_buf_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(another_process_is_followed),
		cmocka_unit_test(sessions_are_counted),
		cmocka_unit_test(messages_page_forward),
		cmocka_unit_test(run_messages_carry_ids_and_whispers),
	};
	int rv;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rv = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rv;
}
