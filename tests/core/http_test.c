/* SPDX-License-Identifier: MIT */
/* The HTTP layer (core/http.c) on 127.0.0.1 and a free port: routes,
 * query decoding, bodies, the error answers and security headers, static
 * assets, and SSE streams (order, a browser that leaves, max_streams, a
 * server closed under an open stream). libcurl is the client, and a raw
 * socket where a browser must misbehave. Waits are on conditions with
 * deadlines, never fixed sleeps. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agora/http.h"
#include "test.h"

static const char page_js[] = "console.log('studio');\n";
static char r_prefix[] = "prefix", r_longer[] = "longer", r_exact[] = "exact";

/* Streams the /sse handler made, for the test to push on. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	agora_http_stream *st[8];
	int n;
} streams = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { NULL }, 0
};

static void
h_hello(void *arg, agora_http_req *rq)
{
	(void)arg;
	agora_http_reply(rq, 200, "text/plain", "hello", 5);
}

/* Answers which route it is and the path it saw. */
static void
h_named(void *arg, agora_http_req *rq)
{
	char *s =
	    agora_sprintf("%s %s", (const char *)arg, agora_http_path(rq));

	agora_http_reply(rq, 200, "text/plain", s, strlen(s));
	agora_free(s);
}

static void
h_query(void *arg, agora_http_req *rq)
{
	const char *names[] = { "a", "b", "c", "d", "e" };
	agora_buf b;

	(void)arg;
	agora_buf_init(&b, 0);
	for (size_t i = 0; i < 5; i++) {
		const char *v = agora_http_query(rq, names[i]);

		agora_buf_addf(&b, "%s=[%s];", names[i],
		               v != NULL ? v : "NULL");
	}
	agora_http_reply(rq, 200, "text/plain", b.data, b.len);
	agora_buf_fini(&b);
}

static void
h_echo(void *arg, agora_http_req *rq)
{
	size_t len;
	const char *body = agora_http_body(rq, &len);
	const char *ct = agora_http_header(rq, "content-type");

	(void)arg;
	if (ct == NULL || strncmp(ct, "application/json", 16) != 0) {
		agora_http_error(rq, 415, "want \"json\"");
		return;
	}
	agora_http_reply(rq, 200, "application/json", body, len);
}

static void
h_silent(void *arg, agora_http_req *rq)
{
	(void)arg;
	(void)rq; /* answers nothing: the layer must */
}

static void
h_sse(void *arg, agora_http_req *rq)
{
	agora_http_stream *st = agora_http_sse(rq);

	(void)arg;
	if (st == NULL) {
		return;
	}
	pthread_mutex_lock(&streams.lock);
	streams.st[streams.n++] = st;
	pthread_cond_broadcast(&streams.cond);
	pthread_mutex_unlock(&streams.lock);
}

static void routes(agora_http_server *s);
static void more_routes(agora_http_server *s);

static agora_http_server *
server(const agora_http_opts *o)
{
	agora_http_server *s = NULL;
	char err[256];

	AGORA_PASS(agora_http_open(&s, "127.0.0.1", 0, o, err, sizeof(err)));
	routes(s);
	AGORA_PASS(agora_http_start(s, err, sizeof(err)));
	assert_true(agora_http_port(s) > 0);
	AGORA_FAIL(agora_http_route(s, "GET", "/late", h_hello, NULL),
	           AGORA_EINVAL);
	streams.n = 0;
	return s;
}

static void
routes(agora_http_server *s)
{
	AGORA_PASS(agora_http_route(s, "GET", "/hello", h_hello, NULL));
	AGORA_PASS(agora_http_route(s, "GET", "/api/", h_named, r_prefix));
	AGORA_PASS(agora_http_route(s, "GET", "/api/x/", h_named, r_longer));
	AGORA_PASS(agora_http_route(s, "GET", "/api/exact", h_named, r_exact));
	AGORA_PASS(agora_http_route(s, "GET", "/q", h_query, NULL));
	more_routes(s);
}

static void
more_routes(agora_http_server *s)
{
	AGORA_PASS(agora_http_route(s, "POST", "/echo", h_echo, NULL));
	AGORA_PASS(agora_http_route(s, "GET", "/silent", h_silent, NULL));
	AGORA_PASS(agora_http_route(s, "GET", "/sse", h_sse, NULL));
	AGORA_PASS(agora_http_static(s, "/app.js", "text/javascript", page_js,
	                             sizeof(page_js) - 1));
	AGORA_FAIL(agora_http_route(s, "GET", "/hello", h_hello, NULL),
	           AGORA_EEXIST);
}

/* ---- a curl client ---- */

struct resp {
	long status;
	agora_buf body;
	agora_buf head;
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	agora_buf_add(arg, p, size * n);
	return size * n;
}

/* method path [body] with extra headers (NULL-ended). */
static void
fetch(agora_http_server *s, const char *method, const char *path,
      const char *body, const char *const *hdrs, struct resp *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *sl = NULL;
	char *url =
	    agora_sprintf("http://127.0.0.1:%d%s", agora_http_port(s), path);

	agora_buf_init(&r->body, 0);
	agora_buf_init(&r->head, 0);
	sl = curl_slist_append(sl, "Expect:"); /* nng sends no 100 */
	for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++) {
		sl = curl_slist_append(sl, hdrs[i]);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->head);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	}
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(sl);
	curl_easy_cleanup(c);
	agora_free(url);
}

static void
resp_free(struct resp *r)
{
	agora_buf_fini(&r->body);
	agora_buf_fini(&r->head);
}

static void
expect(agora_http_server *s, const char *method, const char *path, long status,
       const char *body)
{
	struct resp r;

	fetch(s, method, path, NULL, NULL, &r);
	if (r.status != status ||
	    (body != NULL &&
	     strcmp(r.body.data ? r.body.data : "", body) != 0)) {
		fail_msg("%s %s: %ld [%s], want %ld [%s]", method, path,
		         r.status, r.body.data, status, body);
	}
	resp_free(&r);
}

/* The headers every answer carries. */
static void
assert_secure(const struct resp *r, const char *cache)
{
	const char *h = r->head.data;

	assert_non_null(strstr(h, "Content-Security-Policy: default-src "
	                          "'self'; script-src 'self'; style-src "
	                          "'self'; img-src 'self' data:; connect-src "
	                          "'self'; frame-ancestors 'none'\r\n"));
	assert_non_null(strstr(h, "X-Content-Type-Options: nosniff\r\n"));
	assert_non_null(strstr(h, "Referrer-Policy: no-referrer\r\n"));
	if (cache != NULL) {
		char *want = agora_sprintf("Cache-Control: %s\r\n", cache);

		assert_non_null(strstr(h, want));
		agora_free(want);
	}
}

/* ---- a raw client, for browsers that misbehave ---- */

/*
 * rcvbuf > 0 fixes the socket's receive buffer before it connects, so the
 * kernel cannot take more than a few KiB off the server's hands while the
 * test reads nothing (0: the kernel's default, which grows to MiBs).
 */
static int
raw_open_rcvbuf(agora_http_server *s, const char *path, int rcvbuf)
{
	struct sockaddr_in a = { 0 };
	struct timeval tv = { 10, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	/* path NULL: connect only; the caller writes the request. */
	char *req = path == NULL ? agora_strdup("")
	                         : agora_sprintf("GET %s HTTP/1.1\r\nHost: "
	                                         "127.0.0.1:%d\r\n\r\n",
	                                         path, agora_http_port(s));

	assert_true(fd >= 0);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)agora_http_port(s));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (rcvbuf > 0) {
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		                            sizeof(rcvbuf)),
		                 0);
	}
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	agora_free(req);
	return fd;
}

static int
raw_open(agora_http_server *s, const char *path)
{
	return raw_open_rcvbuf(s, path, 0);
}

/* Read from fd until want appears (true) or EOF/timeout (false). */
static bool
raw_until(int fd, agora_buf *got, const char *want)
{
	char b[4096];

	while (got->data == NULL || strstr(got->data, want) == NULL) {
		ssize_t n = read(fd, b, sizeof(b));

		if (n <= 0) {
			return false;
		}
		agora_buf_add(got, b, (size_t)n);
	}
	return true;
}

/* Wait until the /sse handler has made n streams. */
static void
wait_streams(int n)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	pthread_mutex_lock(&streams.lock);
	while (streams.n < n) {
		if (pthread_cond_timedwait(&streams.cond, &streams.lock, &dl)) {
			break;
		}
	}
	pthread_mutex_unlock(&streams.lock);
	assert_int_equal(streams.n, n);
}

/* ---- the tests ---- */

static void
routes_exact_and_prefix(void **state)
{
	agora_http_server *s = server(NULL);

	(void)state;
	expect(s, "GET", "/hello", 200, "hello");
	expect(s, "HEAD", "/hello", 200, NULL);
	expect(s, "GET", "/api/a/b", 200, "prefix /api/a/b");
	expect(s, "GET", "/api/x/y", 200, "longer /api/x/y");
	expect(s, "GET", "/api/exact", 200, "exact /api/exact");
	expect(s, "GET", "/api/exact/more", 200, "prefix /api/exact/more");
	expect(s, "GET", "/api%2Fz", 200, "prefix /api/z");
	expect(s, "GET", "/silent", 500, "{\"error\": \"no answer\"}");
	agora_http_close(s);
}

static void
query_is_decoded(void **state)
{
	agora_http_server *s = server(NULL);

	(void)state;
	expect(s, "GET", "/q?a=1&b=x+y&c=%41%2b%c3%a9&d=&a=2&x%3Dy=z", 200,
	       "a=[1];b=[x y];c=[A+\xc3\xa9];d=[];e=[NULL];");
	expect(s, "GET", "/q?e", 200,
	       "a=[NULL];b=[NULL];c=[NULL];d=[NULL];e=[];");
	expect(s, "GET", "/q?a=%zz", 400, NULL);
	expect(s, "GET", "/q?a=%4", 400, NULL);
	expect(s, "GET", "/q?a=%", 400, NULL);
	expect(s, "GET", "/q?a=%00", 400, NULL);
	expect(s, "GET", "/q%zz", 400, NULL);
	agora_http_close(s);
}

static void
json_body_is_echoed(void **state)
{
	agora_http_server *s = server(NULL);
	const char *json[] = { "Content-Type: application/json", NULL };
	const char *body = "{\"text\": \"h\\u00e9llo\", \"n\": [1, 2, 3]}";
	struct resp r;

	(void)state;
	fetch(s, "POST", "/echo", body, json, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, body);
	assert_non_null(strstr(r.head.data, "Content-Type: application/json"));
	assert_secure(&r, "no-store");
	resp_free(&r);
	fetch(s, "POST", "/echo", body, NULL, &r);
	assert_int_equal(r.status, 415);
	assert_string_equal(r.body.data, "{\"error\": \"want \\\"json\\\"\"}");
	resp_free(&r);
	agora_http_close(s);
}

static void
errors_404_405_413_403(void **state)
{
	agora_http_opts o = { .max_body = 1024 };
	agora_http_server *s = server(&o);
	const char *json[] = { "Content-Type: application/json", NULL };
	const char *evil[] = { "Host: evil.example", NULL };
	const char *origin[] = { "Origin: http://evil.example",
		                 "Content-Type: application/json", NULL };
	char big[2048];
	struct resp r;

	(void)state;
	fetch(s, "GET", "/nothing", NULL, NULL, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body.data, "{\"error\": \"no such path\"}");
	assert_secure(&r, "no-store");
	resp_free(&r);
	fetch(s, "POST", "/hello", "{}", json, &r);
	assert_int_equal(r.status, 405);
	assert_secure(&r, "no-store");
	resp_free(&r);
	expect(s, "DELETE", "/echo", 405, NULL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fetch(s, "POST", "/echo", big, json, &r);
	assert_int_equal(r.status, 413);
	assert_string_equal(r.body.data,
	                    "{\"error\": \"request body too large\"}");
	assert_secure(&r, "no-store");
	resp_free(&r);
	big[1000] = '\0'; /* under the cap: fine */
	fetch(s, "POST", "/echo", big, json, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	fetch(s, "GET", "/hello", NULL, evil, &r);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	fetch(s, "POST", "/echo", "{}", origin, &r);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	agora_http_close(s);
}

static void
static_asset_has_its_type(void **state)
{
	agora_http_server *s = server(NULL);
	struct resp r;

	(void)state;
	fetch(s, "GET", "/app.js", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, page_js);
	assert_non_null(strstr(r.head.data, "Content-Type: text/javascript"));
	assert_secure(&r, NULL);
	resp_free(&r);
	expect(s, "POST", "/app.js", 405, NULL);
	agora_http_close(s);
}

/* A long URL is refused with 414; headers over nng's 8 KiB request
 * buffer end the connection without an answer; a chunked body (which nng
 * cannot read) is refused with 411. The server goes on. */
static void
oversized_requests_are_refused(void **state)
{
	agora_http_server *s = server(NULL);
	char *path = agora_malloc(3000), *req;
	agora_buf got;
	int fd;

	(void)state;
	agora_buf_init(&got, 0);
	memset(path, 'a', 2999);
	path[0] = '/';
	path[2999] = '\0';
	expect(s, "GET", path, 414, NULL);
	fd = raw_open(s, NULL);
	memset(path, 'b', 2999);
	req = agora_sprintf("GET /hello HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	                    "X-1: %s\r\nX-2: %s\r\nX-3: %s\r\n\r\n",
	                    agora_http_port(s), path, path, path);
	(void)!write(fd, req, strlen(req));
	if (raw_until(fd, &got, "\r\n\r\n")) {
		fail_msg("answered: %.100s", got.data);
	}
	close(fd);
	agora_free(req);
	agora_buf_reset(&got);
	req = agora_sprintf(
	    "POST /echo HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
	    agora_http_port(s));
	fd = raw_open(s, NULL);
	(void)!write(fd, req, strlen(req));
	assert_true(raw_until(fd, &got, "\r\n\r\n"));
	assert_non_null(strstr(got.data, "HTTP/1.1 411"));
	close(fd);
	agora_free(req);
	expect(s, "GET", "/hello", 200, "hello");
	agora_http_close(s);
	agora_free(path);
	agora_buf_fini(&got);
}

/* ---- SSE ---- */

struct sse_client {
	agora_http_server *s;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	agora_buf got;
	int events; /* blank lines seen */
	int want;
	struct resp r;
};

static size_t
on_sse(char *p, size_t size, size_t n, void *arg)
{
	struct sse_client *c = arg;
	bool done;

	pthread_mutex_lock(&c->lock);
	agora_buf_add(&c->got, p, size * n);
	c->events = 0;
	for (const char *q = c->got.data; (q = strstr(q, "\n\n")) != NULL;
	     q += 2) {
		c->events++;
	}
	done = c->events >= c->want;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return done ? 0 : size * n; /* 0: curl hangs up */
}

static void *
sse_client_run(void *arg)
{
	struct sse_client *c = arg;
	CURL *h = curl_easy_init();
	char *url =
	    agora_sprintf("http://127.0.0.1:%d/sse", agora_http_port(c->s));

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_sse);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &c->r.head);
	(void)curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->r.status);
	curl_easy_cleanup(h);
	agora_free(url);
	return NULL;
}

static void *
sender(void *arg)
{
	agora_http_stream *st = arg;

	for (int i = 0; i < 50; i++) {
		char d[64];
		int n = snprintf(d, sizeof(d), "n=%d\nline two", i);
		agora_err rv = agora_http_sse_send(st, i % 2 ? "tick" : NULL, d,
		                                   (size_t)n);

		if (rv != AGORA_OK) {
			return &streams; /* any non-NULL: failed */
		}
	}
	return NULL;
}

static void
sse_events_arrive_in_order(void **state)
{
	agora_http_server *s = server(NULL);
	struct sse_client c = { .s = s, .want = 50 };
	pthread_t client, send;
	void *sent;
	size_t off = 0;

	(void)state;
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.cond, NULL);
	agora_buf_init(&c.got, 0);
	agora_buf_init(&c.r.head, 0);
	pthread_create(&client, NULL, sse_client_run, &c);
	wait_streams(1);
	AGORA_FAIL(agora_http_sse_send(streams.st[0], "a\nb", "x", 1),
	           AGORA_EINVAL);
	pthread_create(&send, NULL, sender, streams.st[0]);
	pthread_join(send, &sent);
	assert_null(sent);
	pthread_join(client, NULL);
	assert_int_equal(c.r.status, 200);
	assert_non_null(
	    strstr(c.r.head.data, "Content-Type: text/event-stream"));
	assert_secure(&c.r, "no-store");
	for (int i = 0; i < 50; i++) {
		char *ev = agora_sprintf("%sdata: n=%d\ndata: line two\n\n",
		                         i % 2 ? "event: tick\n" : "", i);
		char *at = strstr(c.got.data + off, ev);

		if (at != c.got.data + off) {
			fail_msg("event %d not next: %s", i, c.got.data + off);
		}
		off += strlen(ev);
		agora_free(ev);
	}
	agora_http_sse_close(streams.st[0]);
	agora_http_close(s);
	agora_buf_fini(&c.got);
	resp_free(&c.r);
}

/* Send small events until ECLOSED or the deadline; ms it took, -1 never. */
static int64_t
send_until_closed(agora_http_stream *st, int64_t ms)
{
	int64_t t0 = agora_now_ms();

	while (agora_now_ms() - t0 < ms) {
		if (agora_http_sse_send(st, NULL, "ping", 4) == AGORA_ECLOSED) {
			return agora_now_ms() - t0;
		}
		agora_sleep_ms(2); /* poll pace, not a wait for an event */
	}
	return -1;
}

static void
sse_browser_that_left_gives_eclosed(void **state)
{
	agora_http_server *s = server(NULL);
	agora_buf got;
	int fd = raw_open(s, "/sse");
	int64_t took;

	(void)state;
	agora_buf_init(&got, 0);
	wait_streams(1);
	AGORA_PASS(agora_http_sse_send(streams.st[0], "hi", "there", 5));
	assert_true(raw_until(fd, &got, "event: hi\ndata: there\n\n"));
	close(fd);
	took = send_until_closed(streams.st[0], 5000);
	assert_true(took >= 0 && took < 3000);
	agora_http_sse_close(streams.st[0]);
	expect(s, "GET", "/hello", 200, "hello"); /* the server goes on */
	agora_http_close(s);
	agora_buf_fini(&got);
}

/* Events queued just before the stream ends all reach the browser, the
 * last one included (agora_http_sse_close would drop what is unwritten):
 * 100 events of 8 KiB (under the 1 MiB a stream may hold), then the end
 * at once. */
static void
sse_end_writes_what_is_queued(void **state)
{
	agora_http_server *s = server(NULL);
	agora_buf got;
	char *big = agora_malloc(8192);
	/* A small window: most of the 800 KiB is still queued at the end. */
	int fd = raw_open_rcvbuf(s, "/sse", 4096);

	(void)state;
	memset(big, 'x', 8191);
	big[8191] = '\0';
	agora_buf_init(&got, 0);
	wait_streams(1);
	for (int i = 0; i < 100; i++) {
		AGORA_PASS(
		    agora_http_sse_send(streams.st[0], "big", big, 8191));
	}
	AGORA_PASS(agora_http_sse_send(streams.st[0], "done", "{}", 2));
	agora_http_sse_end(streams.st[0], 10000);
	assert_true(raw_until(fd, &got, "event: done\ndata: {}\n\n"));
	{
		size_t n = 0;
		const char *p = got.data;

		while ((p = strstr(p, "event: big\n")) != NULL) {
			n++;
			p++;
		}
		assert_int_equal(n, 100);
	}
	close(fd);
	agora_http_close(s);
	agora_buf_fini(&got);
	agora_free(big);
}

static void
sse_streams_are_capped(void **state)
{
	agora_http_opts o = { .max_streams = 2 };
	agora_http_server *s = server(&o);
	agora_buf got;
	int fd[3];

	(void)state;
	agora_buf_init(&got, 0);
	fd[0] = raw_open(s, "/sse");
	wait_streams(1);
	fd[1] = raw_open(s, "/sse");
	wait_streams(2);
	fd[2] = raw_open(s, "/sse");
	assert_true(raw_until(fd[2], &got, "\r\n\r\n"));
	assert_non_null(strstr(got.data, "HTTP/1.1 503"));
	close(fd[2]);
	fd[2] = -1; /* not closed twice: the number may be nng's by then */
	/* One ends; its place is free again. */
	close(fd[0]);
	assert_true(send_until_closed(streams.st[0], 5000) >= 0);
	agora_http_sse_close(streams.st[0]);
	fd[0] = raw_open(s, "/sse");
	wait_streams(3);
	agora_buf_reset(&got);
	assert_true(raw_until(fd[0], &got, "text/event-stream"));
	close(fd[0]);
	close(fd[1]);
	agora_http_close(s);
	agora_http_sse_close(streams.st[1]);
	agora_http_sse_close(streams.st[2]);
	agora_buf_fini(&got);
}

/* A browser that never reads: its stream ends (max_pending), and another
 * stream keeps receiving meanwhile. */
#define CHUNK ((size_t)16 * 1024)

static void
sse_slow_browser_blocks_nobody(void **state)
{
	agora_http_opts o = { .max_pending = (size_t)64 * 1024 };
	agora_http_server *s = server(&o);
	char *chunk = agora_malloc(CHUNK);
	agora_buf got;
	int slow = raw_open(s, "/sse"), fast;
	agora_err rv = AGORA_OK;
	int sent = 0;

	(void)state;
	agora_buf_init(&got, 0);
	wait_streams(1);
	fast = raw_open(s, "/sse");
	wait_streams(2);
	memset(chunk, 'z', CHUNK);
	while (rv == AGORA_OK && sent < 8192) { /* 128 MiB at most */
		rv = agora_http_sse_send(streams.st[0], NULL, chunk, CHUNK);
		sent++;
	}
	assert_int_equal(rv, AGORA_ECLOSED);
	AGORA_PASS(agora_http_sse_send(streams.st[1], "still", "here", 4));
	assert_true(raw_until(fast, &got, "event: still\ndata: here\n\n"));
	close(slow);
	close(fast);
	agora_http_sse_close(streams.st[0]);
	agora_http_sse_close(streams.st[1]);
	agora_http_close(s);
	agora_free(chunk);
	agora_buf_fini(&got);
}

static void
close_with_open_stream_is_prompt(void **state)
{
	agora_http_server *s = server(NULL);
	agora_buf got;
	int fd = raw_open(s, "/sse");
	int64_t t0;
	char b[256];

	(void)state;
	agora_buf_init(&got, 0);
	wait_streams(1);
	assert_true(raw_until(fd, &got, "\r\n\r\n"));
	t0 = agora_now_ms();
	agora_http_close(s);
	assert_true(agora_now_ms() - t0 < 2000);
	AGORA_FAIL(agora_http_sse_send(streams.st[0], NULL, "x", 1),
	           AGORA_ECLOSED);
	assert_true(read(fd, b, sizeof(b)) <= 0); /* the browser sees the end */
	agora_http_sse_close(streams.st[0]);
	close(fd);
	agora_buf_fini(&got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(routes_exact_and_prefix),
		cmocka_unit_test(query_is_decoded),
		cmocka_unit_test(json_body_is_echoed),
		cmocka_unit_test(errors_404_405_413_403),
		cmocka_unit_test(static_asset_has_its_type),
		cmocka_unit_test(oversized_requests_are_refused),
		cmocka_unit_test(sse_events_arrive_in_order),
		cmocka_unit_test(sse_browser_that_left_gives_eclosed),
		cmocka_unit_test(sse_end_writes_what_is_queued),
		cmocka_unit_test(sse_streams_are_capped),
		cmocka_unit_test(sse_slow_browser_blocks_nobody),
		cmocka_unit_test(close_with_open_stream_is_prompt),
	};
	int rv;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rv = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rv;
}
