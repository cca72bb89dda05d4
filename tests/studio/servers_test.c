/* SPDX-License-Identifier: MIT */
/* agora studio's Server Manager without a browser: a redis-server of its
 * own with a password, real `agora server` processes registered in it
 * (--redis), the studio in this process on that Redis, libcurl as the
 * page. The list shows each server with its info; agents made on a server
 * are listed, one is deleted (the server's own `list` says it is gone),
 * delete-all empties it, stop ends its process; unknown ids are 404, POSTs
 * without the page token 403, a server whose token the studio lacks 502;
 * no answer holds the server token or the Redis password. Waits are on
 * conditions with deadlines. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agora/clock.h"
#include "agora/studio.h"
#include "test.h"

#define WAIT_MS  10000
#define PASSWORD "pw-S3cret-studio-servers"
#define TOKEN    "tok-0123456789abcdef-studio"

static agora_proc *redis;
static char redis_url[128];
static char rdir[64];
static agora_studio *studio;
static char base[64];
static agora_proc *srv_a; /* no token */
static agora_proc *srv_b; /* with TOKEN */
static char url_a[128], url_b[128];
static char session[64];

/* ---- HTTP ---- */

static size_t
t_write(char *p, size_t size, size_t n, void *arg)
{
	(void)agora_buf_add(arg, p, size * n);
	return size * n;
}

/* One request to base; the body answered goes to out, the status is
 * returned. No answer may hold a secret. */
static long
t_http_at(const char *at, const char *method, const char *path,
          const char *body, const char *token, agora_buf *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[512];
	char hdr[128];
	long status = 0;

	snprintf(url, sizeof(url), "%s%s", at, path);
	agora_buf_reset(out);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, t_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	h = curl_slist_append(h, "Expect:");
	if (token != NULL) {
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
	(void)agora_buf_adds(out, ""); /* NUL-terminated even when empty */
	if (strstr(out->data, PASSWORD) != NULL ||
	    strstr(out->data, TOKEN) != NULL) {
		fail_msg("%s %s answered a secret: %s", method, path,
		         out->data);
	}
	return status;
}

static long
t_get(const char *path, agora_buf *out)
{
	return t_http_at(base, "GET", path, NULL,
	                 agora_studio_page_token(studio), out);
}

static long
t_post(const char *path, const char *body, agora_buf *out)
{
	return t_http_at(base, "POST", path, body,
	                 agora_studio_page_token(studio), out);
}

/* ---- the servers ---- */

/* The studio's entry for url in GET /api/servers (printed into entry),
 * its id into id; false if it is not listed. */
static bool
t_entry(const char *at, const char *token, const char *url, char *id,
        size_t idlen, agora_buf *entry)
{
	agora_buf b;
	agora_json *doc = NULL;
	const agora_json *s;
	bool found = false;

	agora_buf_init(&b, 0);
	assert_int_equal(t_http_at(at, "GET", "/api/servers", NULL, token, &b),
	                 200);
	AGORA_PASS(
	    agora_json_parse(&doc, b.data, b.len, 1u << 24, 16, NULL, 0));
	s = agora_json_first(agora_json_get(doc, "servers"));
	for (; s != NULL && !found; s = agora_json_next(s)) {
		const char *u = agora_json_str(agora_json_get(s, "url"));

		found = u != NULL && strcmp(u, url) == 0;
		if (found) {
			snprintf(id, idlen, "%s",
			         agora_json_str(agora_json_get(s, "id")));
			agora_buf_reset(entry);
			(void)agora_json_print(s, entry);
		}
	}
	agora_json_free(doc);
	agora_buf_fini(&b);
	return found;
}

/* Wait until the entry of url holds want (NULL: until it is gone). */
static bool
t_wait_entry(const char *url, const char *want, char *id, size_t idlen,
             agora_buf *entry)
{
	int64_t end = agora_now_ms() + WAIT_MS;

	while (agora_now_ms() < end) {
		bool found = t_entry(base, agora_studio_page_token(studio), url,
		                     id, idlen, entry);

		if (want == NULL ? !found
		                 : found && strstr(entry->data, want) != NULL) {
			return true;
		}
		agora_sleep_ms(20);
	}
	return false;
}

/* The server's own `list`, asked directly (not through the studio). */
static void
t_server_list(const char *url, agora_buf *out)
{
	char err[256];

	agora_buf_reset(out);
	AGORA_PASS(agora_server_request(url, NULL, "[{\"op\":\"list\"}]", 5000,
	                                out, err, sizeof(err)));
}

static void
t_create(const char *url, const char *role)
{
	agora_buf ops, reply;
	char err[256];

	agora_buf_init(&ops, 0);
	agora_buf_init(&reply, 0);
	(void)agora_buf_addf(&ops,
	                     "[{\"op\":\"create\",\"session\":\"%s\","
	                     "\"redis\":\"%s\",\"role\":\"%s\","
	                     "\"kind\":\"echo\"}]",
	                     session, redis_url, role);
	AGORA_PASS(agora_server_request(url, NULL, ops.data, 5000, &reply, err,
	                                sizeof(err)));
	assert_non_null(strstr(reply.data, "\"ok\":true"));
	agora_buf_fini(&ops);
	agora_buf_fini(&reply);
}

/* ---- fixture ---- */

static int
free_port(void)
{
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int p;

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		return -1;
	}
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

/* A redis-server with a password, waited for until it answers. */
static bool
redis_start(void)
{
	char port[16];
	char err[256];
	const char *argv[] = { "redis-server", "--port",    port,
		               "--bind",       "127.0.0.1", "--requirepass",
		               PASSWORD,       "--save",    "",
		               "--appendonly", "no",        "--dir",
		               rdir,           NULL };
	agora_proc_opts o = { .argv = argv, .die_with_parent = true };
	int64_t end = agora_now_ms() + WAIT_MS;

	snprintf(rdir, sizeof(rdir), "/tmp/agora-srvtest-XXXXXX");
	if (mkdtemp(rdir) == NULL) {
		return false;
	}
	snprintf(port, sizeof(port), "%d", free_port());
	snprintf(redis_url, sizeof(redis_url), "redis://:%s@127.0.0.1:%s",
	         PASSWORD, port);
	if (agora_proc_spawn(&redis, &o, err, sizeof(err)) != AGORA_OK) {
		fprintf(stderr, "redis-server: %s\n", err);
		return false;
	}
	while (agora_now_ms() < end) {
		agora_redis *r = NULL;
		bool up = agora_redis_open(&r, redis_url, 1000, err,
		                           sizeof(err)) == AGORA_OK &&
		          agora_redis_ping(r) == AGORA_OK;

		agora_redis_close(r);
		if (up) {
			return true;
		}
		agora_sleep_ms(10);
	}
	return false;
}

static int
setup(void **state)
{
	char err[512];
	char tokfile[96];
	agora_studio_opts o = { 0 };
	const char *extra_a[] = { "--redis", redis_url, NULL };
	const char *extra_b[] = { "--redis", redis_url, "--token-file", tokfile,
		                  NULL };
	FILE *f;

	(void)state;
	if (!t_servers_init("servers_test") || !redis_start()) {
		return -1;
	}
	snprintf(session, sizeof(session), "srvtest%d", (int)getpid());
	snprintf(tokfile, sizeof(tokfile), "%s/token", rdir);
	f = fopen(tokfile, "w");
	if (f == NULL) {
		return -1;
	}
	fprintf(f, "%s\n", TOKEN);
	fclose(f);
	srv_a = t_spawn_server_argv("studio-a", extra_a, url_a, sizeof(url_a));
	srv_b = t_spawn_server_argv("studio-b", extra_b, url_b, sizeof(url_b));
	o.redis_url = redis_url;
	o.scenarios = rdir;
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
	agora_proc_free(srv_a);
	agora_proc_free(srv_b);
	agora_proc_free(redis);
	t_rm_rf(rdir);
	return t_servers_clean("servers_test") ? 0 : -1;
}

/* ---- cases ---- */

static void
servers_are_listed_with_their_info(void **state)
{
	agora_buf e;
	char id[32];

	(void)state;
	agora_buf_init(&e, 0);
	assert_true(t_wait_entry(url_a, "\"live\":true", id, sizeof(id), &e));
	assert_int_equal(strncmp(id, "srv", 3), 0);
	assert_non_null(strstr(e.data, "\"agents\":0"));
	assert_non_null(strstr(e.data, "\"cpu_s\":"));
	assert_non_null(strstr(e.data, "\"rss_kib\":"));
	assert_non_null(strstr(e.data, "\"sessions\":"));
	assert_non_null(strstr(e.data, "\"last_seen_ms\":"));
	assert_null(strstr(e.data, "info_error"));
	agora_buf_fini(&e);
}

static void
agents_are_listed_and_deleted(void **state)
{
	agora_buf e, b;
	char id[32], path[256], body[128];

	(void)state;
	agora_buf_init(&e, 0);
	agora_buf_init(&b, 0);
	t_create(url_a, "alice");
	t_create(url_a, "bob");
	assert_true(t_wait_entry(url_a, "\"agents\":2", id, sizeof(id), &e));
	snprintf(path, sizeof(path), "/api/servers/%s/agents", id);
	assert_int_equal(t_get(path, &b), 200);
	assert_non_null(strstr(b.data, "\"role\":\"alice\""));
	assert_non_null(strstr(b.data, "\"role\":\"bob\""));
	/* Each with its status from the session's registry. */
	assert_non_null(strstr(b.data, "\"role\":\"alice\",\"kind\":\"echo\","
	                               "\"status\":\"idle\""));
	assert_non_null(strstr(b.data, session));
	snprintf(path, sizeof(path),
	         "/api/servers/%s/agents/alice/memory?session=%s", id, session);
	assert_int_equal(t_get(path, &b), 200);
	assert_string_equal(b.data, "{\"memory\":[]}");

	/* Delete one: the server's own list no longer has it. */
	snprintf(path, sizeof(path), "/api/servers/%s/agents/alice/delete", id);
	snprintf(body, sizeof(body), "{\"session\":\"%s\"}", session);
	assert_int_equal(t_post(path, body, &b), 200);
	t_server_list(url_a, &b);
	assert_null(strstr(b.data, "\"alice\""));
	assert_non_null(strstr(b.data, "\"bob\""));
	/* Again, or a session it does not host: 404, asked of nobody but
	 * the server's list (no session host made for it there). */
	assert_int_equal(t_post(path, body, &b), 404);
	snprintf(path, sizeof(path),
	         "/api/servers/%s/agents/bob/memory?session=other", id);
	assert_int_equal(t_get(path, &b), 404);
	assert_true(t_entry(base, agora_studio_page_token(studio), url_a, id,
	                    sizeof(id), &e));
	assert_non_null(strstr(e.data, "\"sessions\":1"));

	/* Delete all. */
	snprintf(path, sizeof(path), "/api/servers/%s/delete-all", id);
	assert_int_equal(t_post(path, "{}", &b), 200);
	assert_non_null(strstr(b.data, "\"deleted\":1"));
	t_server_list(url_a, &b);
	assert_null(strstr(b.data, "\"bob\""));
	agora_buf_fini(&e);
	agora_buf_fini(&b);
}

static void
posts_need_the_page_token(void **state)
{
	static const char *const ops[] = { "stop", "delete-all",
		                           "agents/x/delete" };
	agora_buf e, b;
	char id[32], path[256];

	(void)state;
	agora_buf_init(&e, 0);
	agora_buf_init(&b, 0);
	t_create(url_a, "carol");
	assert_true(t_wait_entry(url_a, "\"live\":true", id, sizeof(id), &e));
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/api/servers/%s/%s", id, ops[i]);
		assert_int_equal(t_http_at(base, "POST", path, "{}", NULL, &b),
		                 403);
		assert_int_equal(
		    t_http_at(base, "POST", path, "{}", "wrong", &b), 403);
	}
	/* Nothing happened: the server runs and still hosts carol. */
	assert_true(agora_proc_alive(srv_a));
	t_server_list(url_a, &b);
	assert_non_null(strstr(b.data, "\"carol\""));
	agora_buf_fini(&e);
	agora_buf_fini(&b);
}

static void
unknown_ids_are_404(void **state)
{
	static const char *const paths[] = {
		"/api/servers/srv999/agents",
		"/api/servers/srv0/agents",
		"/api/servers/nope/agents",
		"/api/servers/tcp:%2F%2F127.0.0.1:9/agents",
	};
	char path[256];
	agora_buf b;

	(void)state;
	agora_buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(t_get(paths[i], &b), 404);
	}
	snprintf(path, sizeof(path), "/api/servers/%s/stop", url_a);
	assert_int_equal(t_post(path, "{}", &b), 404);
	assert_int_equal(t_post("/api/servers/srv999/stop", "{}", &b), 404);
	assert_true(agora_proc_alive(srv_a));
	agora_buf_fini(&b);
}

static void
a_server_with_another_token_is_502(void **state)
{
	agora_buf e, b;
	char id[32], path[256], err[256];
	agora_studio *s2 = NULL;
	agora_studio_opts o = { 0 };
	char base2[64];

	(void)state;
	agora_buf_init(&e, 0);
	agora_buf_init(&b, 0);
	/* The studio has no token: the list says why, the ops are 502. */
	assert_true(t_wait_entry(url_b, "\"info_error\":", id, sizeof(id), &e));
	assert_non_null(strstr(e.data, "token"));
	snprintf(path, sizeof(path), "/api/servers/%s/agents", id);
	assert_int_equal(t_get(path, &b), 502);
	assert_non_null(strstr(b.data, "\"code\":\"EAUTH\""));
	assert_non_null(strstr(b.data, "requires a token"));

	/* A studio with the token gets answers (and shows no token). */
	o.redis_url = redis_url;
	o.scenarios = rdir;
	o.token = TOKEN;
	AGORA_PASS(agora_studio_open(&s2, &o, err, sizeof(err)));
	snprintf(base2, sizeof(base2), "http://127.0.0.1:%d",
	         agora_studio_port(s2));
	/* Its page logs in with the file's token and gets the studio's
	 * own, which is not the file's (that one opens the servers). */
	assert_int_equal(t_http_at(base2, "POST", "/api/login",
	                           "{\"token\":\"wrong-token-0123456789\"}",
	                           NULL, &b),
	                 403);
	assert_int_equal(t_http_at(base2, "POST", "/api/login",
	                           "{\"token\":\"" TOKEN "\"}", NULL, &b),
	                 200);
	assert_non_null(strstr(b.data, agora_studio_page_token(s2)));
	assert_int_equal(t_http_at(base2, "GET", "/api/runs", NULL, TOKEN, &b),
	                 403);
	assert_true(t_entry(base2, agora_studio_page_token(s2), url_b, id,
	                    sizeof(id), &e));
	assert_null(strstr(e.data, "info_error"));
	assert_non_null(strstr(e.data, "\"rss_kib\":"));
	assert_int_equal(t_http_at(base2, "GET", path, NULL,
	                           agora_studio_page_token(s2), &b),
	                 200);
	agora_studio_close(s2);
	agora_buf_fini(&e);
	agora_buf_fini(&b);
}

static void
stop_ends_the_server(void **state)
{
	agora_buf e, b;
	char id[32], path[256];
	int64_t end = agora_now_ms() + WAIT_MS;

	(void)state;
	agora_buf_init(&e, 0);
	agora_buf_init(&b, 0);
	assert_true(t_wait_entry(url_a, "\"live\":true", id, sizeof(id), &e));
	snprintf(path, sizeof(path), "/api/servers/%s/stop", id);
	assert_int_equal(t_post(path, "{}", &b), 200);
	while (agora_proc_alive(srv_a) && agora_now_ms() < end) {
		agora_sleep_ms(10);
	}
	assert_false(agora_proc_alive(srv_a));
	/* It left the registry: its id names nothing now. */
	assert_true(t_wait_entry(url_a, NULL, id, sizeof(id), &e));
	assert_int_equal(t_post(path, "{}", &b), 404);
	agora_buf_fini(&e);
	agora_buf_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(servers_are_listed_with_their_info),
		cmocka_unit_test(agents_are_listed_and_deleted),
		cmocka_unit_test(posts_need_the_page_token),
		cmocka_unit_test(unknown_ids_are_404),
		cmocka_unit_test(a_server_with_another_token_is_502),
		cmocka_unit_test(stop_ends_the_server),
	};
	int rv;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rv = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rv;
}
