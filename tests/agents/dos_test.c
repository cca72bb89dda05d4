/* SPDX-License-Identifier: MIT */
/* An agent server under a hostile peer that has no token: connections that
 * each start a message just under the old 16 MiB cap, client ids made up
 * by the thousand, and a second connection reusing another's client id.
 * The server's memory stays bounded and comes back, made-up ids cost
 * nothing lasting, nobody reads another client's events, and connections
 * hung up before nng's handshake (which stop nng 1.5.2's listener for
 * good, nng issue 1518) leave the server answering. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test.h"

/* A number from the server's info reply. */
static long
info_field(const char *url, const char *field)
{
	agora_buf reply;
	char err[256], key[64];
	const char *at;
	long v;

	agora_buf_init(&reply, 0);
	AGORA_PASS(agora_server_request(url, NULL, "[{\"op\":\"info\"}]", 5000,
	                                &reply, err, sizeof(err)));
	snprintf(key, sizeof(key), "\"%s\":", field);
	at = strstr(reply.data, key);
	assert_non_null(at);
	v = strtol(at + strlen(key), NULL, 10);
	agora_buf_fini(&reply);
	return v;
}

/* A raw SP connection (nng's TCP framing: an 8-byte handshake each way,
 * then an 8-byte big-endian length before each message). */
static int
sp_connect(int port)
{
	static const unsigned char hello[8] = { 0, 'S', 'P', 0, 0, 0x30, 0, 0 };
	struct sockaddr_in a = { .sin_family = AF_INET };
	unsigned char back[8];
	int s = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    send(s, hello, sizeof(hello), MSG_NOSIGNAL) != sizeof(hello) ||
	    recv(s, back, sizeof(back), MSG_WAITALL) != sizeof(back)) {
		close(s);
		return -1;
	}
	return s;
}

/* Start a message of len bytes and send all but its last byte (or until
 * the server stops reading); true if the server took all of it. */
static bool
sp_send_unfinished(int s, uint64_t len)
{
	static char junk[65536];
	unsigned char head[8];
	uint64_t sent = 0;

	for (int i = 0; i < 8; i++) {
		head[i] = (unsigned char)(len >> (56 - 8 * i));
	}
	if (send(s, head, 8, MSG_NOSIGNAL) != 8) {
		return false;
	}
	memset(junk, 'j', sizeof(junk));
	while (sent + 1 < len) {
		size_t n = len - 1 - sent < sizeof(junk)
		               ? (size_t)(len - 1 - sent)
		               : sizeof(junk);
		ssize_t w = send(s, junk, n, MSG_NOSIGNAL);
		if (w <= 0) {
			return false;
		}
		sent += (uint64_t)w;
	}
	return true;
}

/* Forty connections each start a 16 MiB message: the server reads none of
 * them whole (over its cap it closes the connection; past its connection
 * limit it does not take them), its memory stays within bounds, and comes
 * back once they close. */
static void
unfinished_big_messages_cost_bounded_memory(void **state)
{
	char url[64];
	agora_proc *p = t_spawn_tcp_server(NULL, NULL, url, sizeof(url));
	int port = (int)strtol(strrchr(url, ':') + 1, NULL, 10), socks[40];
	long base = info_field(url, "rss_kib"), peak, after = 0;
	int taken = 0;

	(void)state;
	for (int i = 0; i < 40; i++) {
		socks[i] = sp_connect(port);
		if (socks[i] >= 0 &&
		    sp_send_unfinished(socks[i], (16u << 20) - 1024)) {
			taken++;
		}
	}
	peak = info_field(url, "rss_kib");
	printf("dos_test: rss %ld KiB before, %ld KiB with 40 connections "
	       "(%d took a 16 MiB message)\n",
	       base, peak, taken);
	assert_int_equal(taken, 0);
	/* 128 connections x (1 MiB + slack) is the bound; far from it. */
	assert_true(peak - base < 64 * 1024);
	for (int i = 0; i < 40; i++) {
		if (socks[i] >= 0) {
			close(socks[i]);
		}
	}
	for (int i = 0; i < 500; i++) {
		after = info_field(url, "rss_kib");
		if (after - base < 16 * 1024) {
			break;
		}
		agora_sleep_ms(10);
	}
	assert_true(after - base < 16 * 1024);
	agora_proc_stop(p, 2000);
	agora_proc_free(p);
}

static agora_err
as_client(agora_link *l, const char *client, const char *op, agora_buf *reply)
{
	char *req = agora_sprintf("{\"v\":1,\"client\":\"%s\",\"ops\":[%s]}",
	                          client, op);
	agora_err rv;

	agora_buf_reset(reply);
	rv = agora_link_call(l, req, strlen(req), 5000, reply);
	agora_free(req);
	return rv;
}

/* Client ids are made up by a connection by the thousand: it gets a few,
 * the rest are refused, and they all go with the connection. Another
 * connection cannot use a client id that is not its own. */
static void
client_ids_are_bounded_and_bound_to_their_connection(void **state)
{
	char url[64], err[256], id[64];
	agora_proc *p = t_spawn_tcp_server(NULL, NULL, url, sizeof(url));
	agora_link *mine = NULL, *thief = NULL;
	agora_buf reply;
	int refused = 0;

	(void)state;
	agora_buf_init(&reply, 0);
	AGORA_PASS(agora_link_open_now(&thief, url, 0, err, sizeof(err)));
	for (int i = 0; i < 2000; i++) {
		snprintf(id, sizeof(id), "madeup%016d", i);
		AGORA_PASS(as_client(
		    thief, id, "{\"op\":\"wait\",\"wait_ms\":0}", &reply));
		refused += strstr(reply.data, "too many client ids") != NULL;
	}
	assert_int_equal(refused, 2000 - 16);
	assert_int_equal(info_field(url, "clients"), 16);
	agora_link_close(thief);
	for (int i = 0; i < 500 && info_field(url, "clients") != 0; i++) {
		agora_sleep_ms(10);
	}
	assert_int_equal(info_field(url, "clients"), 0);

	/* Mine, then the same id from another connection. */
	AGORA_PASS(agora_link_open_now(&mine, url, 0, err, sizeof(err)));
	AGORA_PASS(agora_link_open_now(&thief, url, 0, err, sizeof(err)));
	AGORA_PASS(as_client(mine, "0123456789abcdef0123456789abcdef",
	                     "{\"op\":\"wait\",\"wait_ms\":0}", &reply));
	assert_non_null(strstr(reply.data, "\"ok\":true"));
	AGORA_PASS(as_client(thief, "0123456789abcdef0123456789abcdef",
	                     "{\"op\":\"wait\",\"wait_ms\":0}", &reply));
	assert_non_null(strstr(reply.data, "EAUTH"));
	assert_non_null(strstr(reply.data, "belongs to another connection"));
	/* A short or odd id is refused outright. */
	AGORA_PASS(as_client(thief, "c1", "{\"op\":\"alive\"}", &reply));
	assert_non_null(strstr(reply.data, "must be 16 to 64 of"));
	agora_link_close(thief);
	agora_link_close(mine);
	agora_buf_fini(&reply);
	agora_proc_stop(p, 2000);
	agora_proc_free(p);
}

/* Steps are answered when they are queued, so the queue is bounded: with
 * one step holding the session (an agent asleep), 256 more are queued and
 * the rest refused (EAGAIN), the server answering all along. */
static void
queued_steps_are_bounded(void **state)
{
	char url[64], err[256], op[512];
	agora_proc *p = t_spawn_tcp_server(NULL, NULL, url, sizeof(url));
	const char *client = "0123456789abcdef0123456789abcdef";
	agora_link *l = NULL;
	agora_buf reply;
	int accepted = 0, refused = 0;

	(void)state;
	agora_buf_init(&reply, 0);
	AGORA_PASS(agora_link_open_now(&l, url, 0, err, sizeof(err)));
	snprintf(op, sizeof(op),
	         "{\"op\":\"create\",\"session\":\"q%d\",\"redis\":\"%s\","
	         "\"role\":\"s1\",\"kind\":\"sleep\",\"options\":{"
	         "\"seconds\":30}}",
	         (int)getpid(), t_redis_url());
	AGORA_PASS(as_client(l, client, op, &reply));
	assert_non_null(strstr(reply.data, "\"ok\":true"));
	for (int i = 0; i < 300; i++) {
		snprintf(op, sizeof(op),
		         "{\"op\":\"step\",\"session\":\"q%d\",\"redis\":"
		         "\"%s\",\"sid\":\"q%d\",\"roles\":[\"s1\"]}",
		         (int)getpid(), t_redis_url(), i);
		AGORA_PASS(as_client(l, client, op, &reply));
		accepted += strstr(reply.data, "\"ok\":true") != NULL;
		refused += strstr(reply.data, "steps queued already") != NULL;
		/* The first is running (its agent asleep) before the
		 * others come. */
		for (int k = 0;
		     i == 0 && k < 1000 && info_field(url, "busy") != 1; k++) {
			agora_sleep_ms(10);
		}
	}
	/* The first runs (asleep), 256 wait, 43 are refused. */
	assert_int_equal(accepted, 257);
	assert_int_equal(refused, 43);
	assert_true(info_field(url, "agents") == 1);
	agora_link_close(l);
	agora_buf_fini(&reply);
	agora_proc_stop(p, 5000);
	agora_proc_free(p);
}

/* Connect to the server and hang up at once, n times: on ipc:// a unix
 * socket, on tcp:// with a reset (SO_LINGER 0). */
static void
hang_up_early(const char *url, int n)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct linger now = { .l_onoff = 1, .l_linger = 0 };
	bool ipc = strncmp(url, "ipc://", 6) == 0;

	if (ipc) {
		snprintf(un.sun_path, sizeof(un.sun_path), "%s", url + 6);
	} else {
		in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in.sin_port =
		    htons((uint16_t)strtol(strrchr(url, ':') + 1, NULL, 10));
	}
	for (int i = 0; i < n; i++) {
		int s = socket(ipc ? AF_UNIX : AF_INET, SOCK_STREAM, 0);
		int rc = ipc ? connect(s, (struct sockaddr *)&un, sizeof(un))
		             : connect(s, (struct sockaddr *)&in, sizeof(in));

		assert_int_equal(rc, 0);
		if (!ipc) {
			setsockopt(s, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
		}
		close(s);
	}
}

/* The servers of the next case run with LeakSanitizer's check off (when
 * the build has it): nng 1.5.2 never frees the endpoint its bug stopped,
 * nor the connections caught in it (found in a CI run: only indirect
 * leaks, every object allocated inside nng, the listener's from
 * nng_listen). Those leaks are nng's; this exempts these two servers and
 * nothing else. */
static void
leaks_unchecked(bool on)
{
	static char saved[512];
	static bool had;
	char *with;
	/* NOLINTNEXTLINE(concurrency-mt-unsafe): no other thread uses it */
	const char *now = getenv("ASAN_OPTIONS");

	if (on) {
		had = now != NULL;
		snprintf(saved, sizeof(saved), "%s", had ? now : "");
		with =
		    agora_sprintf("%s%sdetect_leaks=0", saved, had ? ":" : "");
		/* NOLINTNEXTLINE(concurrency-mt-unsafe) */
		setenv("ASAN_OPTIONS", with, 1);
		agora_free(with);
	} else if (had) {
		/* NOLINTNEXTLINE(concurrency-mt-unsafe) */
		setenv("ASAN_OPTIONS", saved, 1);
	} else {
		/* NOLINTNEXTLINE(concurrency-mt-unsafe) */
		unsetenv("ASAN_OPTIONS");
	}
}

/* A peer that connects and hangs up before the handshake makes nng 1.5.2
 * (Debian 12's) end its listener's accept loop for good: the server's
 * half of the handshake fails with EPIPE, read as "closed". Thousands of
 * them, on ipc:// and tcp://; the server must take new connections after
 * (the transport notices a dead listener and listens again). */
static void
early_hang_ups_leave_the_server_answering(void **state)
{
	char url[64];
	agora_proc *p[2];
	agora_buf reply;
	char err[256];
	agora_err rv;

	(void)state;
	leaks_unchecked(true);
	p[0] = t_spawn_server("hangup", NULL, NULL, url, sizeof(url));
	for (int k = 0; k < 2; k++) {
		if (k == 1) {
			p[1] = t_spawn_tcp_server(NULL, NULL, url, sizeof(url));
			leaks_unchecked(false);
		}
		hang_up_early(url, 4000);
		agora_buf_init(&reply, 0);
		/* Within 30 s: the dead listener is noticed within seconds.
		 * A connection refused meanwhile (a backlog still full of
		 * hung-up peers, the listener being made again) is tried
		 * again; a listener left dead never answers. */
		rv = AGORA_ETIMEDOUT;
		for (int64_t until = agora_now_ms() + 30000;
		     rv != AGORA_OK && agora_now_ms() < until;) {
			rv = agora_server_request(url, NULL,
			                          "[{\"op\":\"info\"}]", 30000,
			                          &reply, err, sizeof(err));
			if (rv == AGORA_ETRANSPORT) {
				agora_sleep_ms(50);
			} else if (rv != AGORA_OK) {
				break;
			}
		}
		if (rv != AGORA_OK) {
			fail_msg("no answer after the hang-ups: %s", err);
		}
		assert_non_null(strstr(reply.data, "\"epoch\""));
		agora_buf_fini(&reply);
		agora_proc_stop(p[k], 2000);
		agora_proc_free(p[k]);
	}
}

int
main(void)
{
	int rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unfinished_big_messages_cost_bounded_memory),
		cmocka_unit_test(
		    client_ids_are_bounded_and_bound_to_their_connection),
		cmocka_unit_test(early_hang_ups_leave_the_server_answering),
		cmocka_unit_test(queued_steps_are_bounded),
	};

	if (!t_servers_init("dos_test")) {
		return 0;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	return t_servers_clean("dos_test") ? rc : 1;
}
