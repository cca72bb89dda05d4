/* SPDX-License-Identifier: MIT */
/* agora studio's API without a browser: the studio started in this
 * process on 127.0.0.1 and a free port, on the test Redis, with the demos'
 * chatbot scenario; libcurl is the page. A chat run as the human role:
 * its SSE frames arrive in order, the person's words go in, a stop ends it
 * with nothing left in flight; sessions and messages; a POST without the
 * page token refused; a non-loopback address without a token refused
 * (and `agora studio` exits 2). Waits are on conditions with deadlines. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agora/clock.h"
#include "agora/env.h"
#include "agora/studio.h"
#include "test.h"

#define KEEP_MS 500 /* run_keep_ms of the test's studio */

#define WAIT_MS 10000

static agora_studio *studio;
static char base[64];

static size_t
t_write(char *p, size_t size, size_t n, void *arg)
{
	(void)agora_buf_add(arg, p, size * n);
	return size * n;
}

/* One request; the body answered goes to out, the status is returned. */
static long
t_http_with(const char *method, const char *path, const char *body,
            const char *token, const char *extra, agora_buf *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[256];
	char hdr[128];
	long status = 0;

	snprintf(url, sizeof(url), "%s%s", base, path);
	agora_buf_reset(out);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, t_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	h = curl_slist_append(h, "Expect:");
	if (extra != NULL) {
		h = curl_slist_append(h, extra);
	}
	/* NULL: the studio's own token; "": none. */
	if (token == NULL) {
		token = agora_studio_page_token(studio);
	}
	if (token[0] != '\0') {
		snprintf(hdr, sizeof(hdr), "X-Agora-Token: %s", token);
		h = curl_slist_append(h, hdr);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static long
t_http(const char *method, const char *path, const char *body,
       const char *token, agora_buf *out)
{
	return t_http_with(method, path, body, token, NULL, out);
}

/* An SSE reader on its own thread: what arrived, under a lock. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	agora_buf got;
	bool over;
	char path[128];
} sse = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { 0 }, false, ""
};

static size_t
sse_write(char *p, size_t size, size_t n, void *arg)
{
	bool done;

	(void)arg;
	pthread_mutex_lock(&sse.lock);
	(void)agora_buf_add(&sse.got, p, size * n);
	pthread_cond_broadcast(&sse.cond);
	/* The page closes its end on "done" (the studio keeps it open). */
	done = strstr(sse.got.data, "event: done\n") != NULL &&
	       strstr(strstr(sse.got.data, "event: done\n"), "\n\n") != NULL;
	pthread_mutex_unlock(&sse.lock);
	return done ? 0 : size * n;
}

static void *
sse_main(void *arg)
{
	CURL *c = curl_easy_init();
	char url[256];

	(void)arg;
	snprintf(url, sizeof(url), "%s%s%st=%s", base, sse.path,
	         strchr(sse.path, '?') != NULL ? "&" : "?",
	         agora_studio_page_token(studio));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_write);
	(void)curl_easy_perform(c);
	curl_easy_cleanup(c);
	pthread_mutex_lock(&sse.lock);
	sse.over = true;
	pthread_cond_broadcast(&sse.cond);
	pthread_mutex_unlock(&sse.lock);
	return NULL;
}

/* Wait until the stream holds count copies of what. */
static bool
sse_wait(const char *what, int count)
{
	int64_t end = agora_now_ms() + WAIT_MS;
	bool ok = false;

	pthread_mutex_lock(&sse.lock);
	while (agora_now_ms() < end) {
		const char *p = sse.got.data;
		int seen = 0;

		while (p != NULL && (p = strstr(p, what)) != NULL) {
			seen++;
			p++;
		}
		if (seen >= count) {
			ok = true;
			break;
		}
		if (sse.over) {
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		(void)pthread_cond_timedwait(&sse.cond, &sse.lock, &ts);
	}
	pthread_mutex_unlock(&sse.lock);
	return ok;
}

/* The answer is one well-formed JSON document (the page parses it). */
static void
t_json_ok(const agora_buf *b)
{
	agora_json *doc = NULL;
	char err[256];

	if (agora_json_parse(&doc, b->data, b->len, b->len + 1,
	                     AGORA_JSON_MAX_DEPTH, err,
	                     sizeof(err)) != AGORA_OK) {
		fail_msg("not JSON (%s): %.300s", err, b->data);
	}
	agora_json_free(doc);
}

static int
setup(void **state)
{
	char dir[512];
	char err[512];
	agora_studio_opts o = { 0 };

	(void)state;
	/* NOLINTNEXTLINE(concurrency-mt-unsafe): nothing sets the env */
	snprintf(dir, sizeof(dir), "%s/demos", getenv("AGORA_SRC"));
	o.redis_url = t_redis_url();
	o.scenarios = dir;
	o.run_keep_ms = KEEP_MS;
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

static void
scenarios_are_listed(void **state)
{
	agora_buf b;

	(void)state;
	agora_buf_init(&b, 0);
	assert_int_equal(t_http("GET", "/api/scenarios", NULL, NULL, &b), 200);
	t_json_ok(&b);
	assert_non_null(strstr(b.data, "\"file\":\"chatbot/chatbot.json\""));
	assert_non_null(strstr(b.data, "\"file\":\"chatroom/chatroom.json\""));
	assert_non_null(strstr(b.data, "{\"role\":\"you\",\"kind\":\"user\","
	                               "\"human\":true}"));
	/* Another site's page cannot read it through the browser. */
	assert_int_equal(t_http_with("GET", "/api/sessions", NULL, NULL,
	                             "Sec-Fetch-Site: cross-site", &b),
	                 403);
	assert_int_equal(t_http_with("GET", "/api/sessions", NULL, NULL,
	                             "Sec-Fetch-Site: same-site", &b),
	                 403);
	assert_int_equal(t_http_with("GET", "/api/sessions", NULL, NULL,
	                             "Sec-Fetch-Site: same-origin", &b),
	                 200);
	agora_buf_fini(&b);
}

static void
post_without_the_page_token_is_refused(void **state)
{
	const char *run =
	    "{\"scenario\":\"chatbot/chatbot.json\",\"role\":\"you\"}";
	agora_buf b;

	(void)state;
	agora_buf_init(&b, 0);
	assert_int_equal(t_http("POST", "/api/runs", run, "", &b), 403);
	/* Reads too: another local user can reach a loopback port. */
	assert_int_equal(t_http("GET", "/api/sessions", NULL, "", &b), 403);
	assert_int_equal(t_http("GET", "/api/runs", NULL, "0123", &b), 403);
	/* No --token-file: nothing to log in with. */
	assert_int_equal(
	    t_http("POST", "/api/login", "{\"token\":\"x\"}", "", &b), 403);
	assert_int_equal(t_http("POST", "/api/runs", run, "0123", &b), 403);
	/* Names inside --scenarios only: no way out of it. */
	for (size_t i = 0; i < 4; i++) {
		static const char *const outside[] = {
			"../x.json", "chatbot/../chatbot/chatbot.json",
			"/etc/x.json", "a/b/c.json"
		};
		char *body = agora_sprintf(
		    "{\"scenario\":\"%s\",\"watch\":true}", outside[i]);

		assert_int_equal(t_http("POST", "/api/runs", body,
		                        agora_studio_page_token(studio), &b),
		                 404);
		agora_free(body);
	}
	assert_int_equal(
	    t_http("POST", "/api/runs",
	           "{\"scenario\":\"chatbot/chatbot.json\",\"role\":"
	           "\"bot\"}",
	           agora_studio_page_token(studio), &b),
	    400);
	agora_buf_fini(&b);
}

/* Nothing of the session is in flight: a reclaim finds nothing. */
static void
t_nothing_in_flight(const char *session)
{
	agora_redis *r = t_redis_open();
	agora_env *env = NULL;
	size_t moved = 1;

	AGORA_PASS(agora_env_open(&env, r, session, NULL));
	AGORA_PASS(agora_env_reclaim(env, &moved));
	assert_int_equal(moved, 0);
	agora_env_close(env);
	agora_redis_close(r);
}

static void
chat_run_streams_takes_words_and_stops(void **state)
{
	const char *tok = agora_studio_page_token(studio);
	agora_buf b;
	pthread_t t;
	char session[80] = "";
	char path[128];
	const char *p;

	(void)state;
	agora_buf_init(&b, 0);
	assert_int_equal(
	    t_http("POST", "/api/runs",
	           "{\"scenario\":\"chatbot/chatbot.json\",\"role\":"
	           "\"you\"}",
	           tok, &b),
	    201);
	assert_non_null(strstr(b.data, "\"run\":\"r1\""));
	p = strstr(b.data, "\"session\":\"");
	assert_non_null(p);
	snprintf(session, sizeof(session), "%.*s", (int)strcspn(p + 11, "\""),
	         p + 11);
	snprintf(sse.path, sizeof(sse.path), "/api/runs/r1/events");
	agora_buf_init(&sse.got, 0);
	assert_int_equal(pthread_create(&t, NULL, sse_main, NULL), 0);
	assert_true(
	    sse_wait("event: awaiting_input\ndata: {\"role\":\"you\"", 1));
	assert_int_equal(t_http("POST", "/api/runs/r1/input",
	                        "{\"words\":\"hi <b>there</b>\"}", tok, &b),
	                 200);
	/* The bot's reply streams: its chunks, then its end, then the next
	 * question. */
	assert_true(sse_wait("\"text\":\"hi <b>there</b>\"", 1));
	assert_true(sse_wait("event: awaiting_input", 2));
	pthread_mutex_lock(&sse.lock);
	p = strstr(sse.got.data, "\"role\":\"bot\"");
	assert_non_null(p);
	assert_true(strstr(sse.got.data, "event: chunk\ndata: {\"reply\":2,"
	                                 "\"role\":\"bot\"") < p + 1);
	assert_true(strstr(p, "event: end") != NULL);
	pthread_mutex_unlock(&sse.lock);
	/* Input is refused while the run is not waiting for it... after a
	 * stop the run ends. */
	assert_int_equal(t_http("POST", "/api/runs/r1/stop", "{}", tok, &b),
	                 200);
	assert_true(sse_wait("event: done\ndata: {\"ok\":true}", 1));
	pthread_join(t, NULL);
	assert_int_equal(t_http("POST", "/api/runs/r1/input",
	                        "{\"words\":\"late\"}", tok, &b),
	                 409);
	assert_int_equal(t_http("GET", "/api/runs", NULL, NULL, &b), 200);
	t_json_ok(&b);
	assert_non_null(strstr(b.data, "\"state\":\"done\""));
	t_nothing_in_flight(session);

	/* The session and its messages, in order. */
	assert_int_equal(t_http("GET", "/api/sessions", NULL, NULL, &b), 200);
	t_json_ok(&b);
	assert_non_null(strstr(b.data, session));
	snprintf(path, sizeof(path), "/api/sessions/%s/messages", session);
	assert_int_equal(t_http("GET", path, NULL, NULL, &b), 200);
	t_json_ok(&b);
	p = strstr(b.data, "\"content\":\"hi <b>there</b>\"");
	assert_non_null(p);
	assert_non_null(strstr(p, "\"content\":\"You said: hi <b>there</b>\""));
	snprintf(path, sizeof(path), "/api/sessions/%s/usage", session);
	assert_int_equal(t_http("GET", path, NULL, NULL, &b), 200);
	t_json_ok(&b);
	assert_non_null(strstr(b.data, "\"role\":\"bot\""));
	agora_buf_fini(&sse.got);
	agora_buf_fini(&b);
}

/* A run no tab ever follows (the tab closed between its POST and its
 * events) does not wait for input forever, holding one of the 16 slots:
 * it stops, and nothing of its session is in flight. */
static void
a_run_nobody_follows_stops(void **state)
{
	agora_buf b;
	char session[80] = "";
	const char *p;
	bool done = false;
	int64_t end;

	(void)state;
	agora_buf_init(&b, 0);
	assert_int_equal(t_http("POST", "/api/runs",
	                        "{\"scenario\":\"chatbot/chatbot.json\","
	                        "\"role\":\"you\"}",
	                        NULL, &b),
	                 201);
	p = strstr(b.data, "\"session\":\"");
	assert_non_null(p);
	snprintf(session, sizeof(session), "%.*s", (int)strcspn(p + 11, "\""),
	         p + 11);
	end = agora_now_ms() + 30000;
	while (!done && agora_now_ms() < end) {
		assert_int_equal(t_http("GET", "/api/runs", NULL, NULL, &b),
		                 200);
		p = strstr(b.data, session);
		assert_non_null(p);
		done = strstr(p, "\"state\":\"done\"") != NULL &&
		       strstr(p, "\"state\":\"done\"") < strchr(p, '}');
		if (!done) {
			agora_sleep_ms(100); /* polling the condition */
		}
	}
	assert_true(done);
	t_nothing_in_flight(session);
	agora_buf_fini(&b);
}

/* 300 connections, each a POST whose body never comes, from a peer
 * without the token: each used to take a queue place for the body's
 * 10 s (256 of them: every request 503). Refused from the headers now,
 * the studio goes on answering. */
static void
bodies_that_never_come_block_nothing(void **state)
{
	int fds[300];
	agora_buf b;
	char req[256];
	struct sockaddr_in a = { .sin_family = AF_INET };

	(void)state;
	a.sin_port = htons((uint16_t)agora_studio_port(studio));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(req, sizeof(req),
	         "POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	         "Content-Type: application/json\r\n"
	         "Content-Length: 1000\r\n\r\n",
	         agora_studio_port(studio));
	for (int i = 0; i < 300; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fds[i] >= 0);
		assert_int_equal(
		    connect(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(write(fds[i], req, strlen(req)),
		                 (ssize_t)strlen(req));
	}
	agora_buf_init(&b, 0);
	assert_int_equal(t_http("GET", "/api/scenarios", NULL, NULL, &b), 200);
	for (int i = 0; i < 300; i++) {
		close(fds[i]);
	}
	agora_buf_fini(&b);
}

/* Read one stream of path until its `done` (into sse.got). */
static void
t_sse_read(const char *path)
{
	pthread_t t;

	snprintf(sse.path, sizeof(sse.path), "%s", path);
	agora_buf_reset(&sse.got);
	sse.over = false;
	assert_int_equal(pthread_create(&t, NULL, sse_main, NULL), 0);
	if (!sse_wait("event: done\n", 1)) {
		fail_msg("no done: %s", sse.got.data);
	}
	pthread_join(t, NULL);
}

static void
finished_run_keeps_its_events_for_a_while(void **state)
{
	const char *tok = agora_studio_page_token(studio);
	agora_buf b;
	char path[128];
	const char *p;
	int64_t end;

	(void)state;
	agora_buf_init(&b, 0);
	agora_buf_init(&sse.got, 0);
	assert_int_equal(t_http("POST", "/api/runs",
	                        "{\"scenario\":\"chatbot/chatbot.json\","
	                        "\"watch\":true}",
	                        tok, &b),
	                 201);
	p = strstr(b.data, "\"run\":\"");
	assert_non_null(p);
	snprintf(path, sizeof(path), "/api/runs/%.*s/events",
	         (int)strcspn(p + 7, "\""), p + 7);
	/* Right after its end, a new stream gets the whole run. */
	t_sse_read(path);
	assert_non_null(strstr(sse.got.data, "event: step\n"));
	/* After run_keep_ms, only its `done`: the events are freed. (Not
	 * polled faster: a finished run keeps at most 8 streams, and those
	 * this test closed are dropped at the next ping, once a second.) */
	end = agora_now_ms() + WAIT_MS;
	do {
		agora_sleep_ms(400); /* polling the condition */
		t_sse_read(path);
	} while (strstr(sse.got.data, "event: step\n") != NULL &&
	         agora_now_ms() < end);
	assert_null(strstr(sse.got.data, "event: step\n"));
	assert_null(strstr(sse.got.data, "event: message\n"));
	assert_non_null(strstr(sse.got.data, "event: done\n"));
	agora_buf_fini(&sse.got);
	agora_buf_fini(&b);
}

static void
non_loopback_without_token_is_refused(void **state)
{
	agora_studio *s = NULL;
	agora_studio_opts o = { 0 };
	char err[512];
	char cmd[1024];
	int status;

	(void)state;
	o.host = "0.0.0.0";
	o.redis_url = t_redis_url();
	o.scenarios = ".";
	AGORA_FAIL(agora_studio_open(&s, &o, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "--token-file"));
	const char *bin =
	    getenv("AGORA_BIN"); /* NOLINT(concurrency-mt-unsafe) */

	snprintf(cmd, sizeof(cmd),
	         "%s studio --host 0.0.0.0 --port 0 --redis '%s' 2>/dev/null",
	         bin, t_redis_url());
	status = system(cmd); /* NOLINT(concurrency-mt-unsafe) */
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scenarios_are_listed),
		cmocka_unit_test(post_without_the_page_token_is_refused),
		cmocka_unit_test(chat_run_streams_takes_words_and_stops),
		cmocka_unit_test(a_run_nobody_follows_stops),
		cmocka_unit_test(finished_run_keeps_its_events_for_a_while),
		cmocka_unit_test(bodies_that_never_come_block_nothing),
		cmocka_unit_test(non_loopback_without_token_is_refused),
	};
	int rv;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rv = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rv;
}
