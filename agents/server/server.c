/* SPDX-License-Identifier: MIT */
/* The agent server: listening, the request envelope and the token, the
 * ticker (long-poll expiry, registry heartbeat) and shutdown. Each op of a
 * request goes to the op table (ops.c). A request that cannot be decoded
 * gets an error reply; the server goes on. */
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agora/agora.h"
#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "agora/registry.h"
#include "server_int.h"

#define REQ_MAX_OPS 100000
/* The transport takes this much over the decoding cap, so a request a
 * little over it gets an ETOOBIG reply, not a dropped connection (which a
 * REQ peer would answer by resending it). */
#define SRV_SLACK      (64u << 10)
#define REQ_DEPTH      32
#define SRV_STOP_S     10
#define TICK_MS        50
#define BEAT_MS        1000
#define TASK_EXPIRY_MS 250

/* Atomic, not only sig_atomic_t: the signal may land on any thread (an
 * nng one) while the main loop reads it (ThreadSanitizer saw the race).
 * A lock-free atomic is async-signal-safe. */
static atomic_int srv_signalled;

/* Asked to stop. A stop waits for the agents acting now; should one hang,
 * SIGALRM's default action ends the process SRV_STOP_S later. */
static void
srv_on_signal(int sig)
{
	(void)sig;
	if (!atomic_exchange(&srv_signalled, 1)) {
		alarm(SRV_STOP_S);
	}
}

/* ---- the envelope ----------------------------------------------------- */

/* The same work whatever the token given (its length included), so the
 * time taken tells nothing about the server's token. */
static bool
token_ok(const struct server *srv, const char *given)
{
	size_t n = strlen(srv->token), m;
	unsigned char diff = 0;

	if (!srv->has_token) {
		return true;
	}
	if (given == NULL) {
		given = "";
	}
	m = strnlen(given, AGORA_TOKEN_MAX + 1);
	diff = (unsigned char)(m != n);
	for (size_t i = 0; i < AGORA_TOKEN_MAX; i++) {
		unsigned char a = (unsigned char)(i < n ? srv->token[i] : 0);
		unsigned char b = (unsigned char)(i < m ? given[i] : 0);
		diff |= (unsigned char)(a ^ b);
	}
	return diff == 0;
}

static const char *
envelope_check(const agora_json *doc, const agora_json **ops)
{
	int64_t v;

	if (agora_json_typeof(doc) != AGORA_JSON_OBJECT) {
		return "a request is a JSON object";
	}
	if (!agora_json_int(agora_json_get(doc, "v"), 0, INT32_MAX, &v)) {
		return "the request has no version \"v\"";
	}
	if (v != AGORA_PROTOCOL_VERSION) {
		return "protocol version not supported (this server speaks 1)";
	}
	*ops = agora_json_get(doc, "ops");
	if (agora_json_typeof(*ops) != AGORA_JSON_ARRAY ||
	    agora_json_size(*ops) == 0) {
		return "\"ops\" must be a non-empty array";
	}
	if (agora_json_size(*ops) > REQ_MAX_OPS) {
		return "too many ops in one request";
	}
	return NULL;
}

/* The request's client id, for this connection: well formed, and its own
 * (box.c). */
static agora_err
srv_claim(struct server *srv, agora_request *rq, const char *client, char *why,
          size_t whylen)
{
	agora_err rv;

	if (strlen(client) < CLIENT_ID_MIN || strlen(client) > CLIENT_ID_MAX ||
	    strspn(client, CLIENT_ID_CHARS) != strlen(client)) {
		snprintf(why, whylen,
		         "\"client\" must be %d to %d of A-Z a-z 0-9 _ - .",
		         CLIENT_ID_MIN, CLIENT_ID_MAX);
		return AGORA_EINVAL;
	}
	pthread_mutex_lock(&srv->lock);
	rv = box_claim(srv, client, agora_request_peer(rq), why, whylen);
	pthread_mutex_unlock(&srv->lock);
	return rv;
}

/* A connection went away: the client ids it held, and their events. */
static void
srv_on_peer(void *arg, uint32_t peer, bool up)
{
	struct server *srv = arg;

	if (up) {
		return;
	}
	pthread_mutex_lock(&srv->lock);
	box_drop_peer(srv, peer);
	srv->trim = true; /* the ticker gives the memory back */
	pthread_mutex_unlock(&srv->lock);
}

/* At debug level, what came in: the ops' names (only names made of
 * a-z and _ are shown; the rest is a peer's text, kept out of the log). */
static void
srv_log_request(const agora_json *ops, const char *client)
{
	char names[200] = "";
	size_t used = 0;

	if (agora_log_threshold < AGORA_LOG_DEBUG) {
		return;
	}
	for (const agora_json *op = agora_json_first(ops);
	     op != NULL && used + 40 < sizeof(names);
	     op = agora_json_next(op)) {
		const char *name = agora_json_str(agora_json_get(op, "op"));
		bool plain =
		    name != NULL && strlen(name) < 32 &&
		    strspn(name, "abcdefghijklmnopqrstuvwxyz_") == strlen(name);
		used +=
		    (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
		                     used > 0 ? " " : "", plain ? name : "?");
	}
	agora_log(AGORA_LOG_DEBUG, "server", "request from %s: %zu ops: %s",
	          client[0] != '\0' ? client : "-", agora_json_size(ops),
	          names);
}

static void
srv_on_request(void *arg, agora_request *rq, const char *data, size_t len)
{
	struct server *srv = arg;
	agora_json *doc = NULL;
	const agora_json *ops = NULL;
	const char *why, *client;
	struct pending *p;
	char perr[200];
	bool authorised;
	size_t i;
	agora_err rv;

	rv = agora_json_parse(&doc, data, len, srv->o.max_msg, REQ_DEPTH, perr,
	                      sizeof(perr));
	if (rv != AGORA_OK) {
		envelope_error(rq, rv, perr);
		return;
	}
	if ((why = envelope_check(doc, &ops)) != NULL) {
		envelope_error(rq, AGORA_EPROTO, why);
		agora_json_free(doc);
		return;
	}
	authorised =
	    token_ok(srv, agora_json_str(agora_json_get(doc, "token")));
	client = agora_json_str(agora_json_get(doc, "client"));
	if (client != NULL && authorised) {
		rv = srv_claim(srv, rq, client, perr, sizeof(perr));
		if (rv != AGORA_OK) {
			envelope_error(rq, rv, perr);
			agora_json_free(doc);
			return;
		}
	}
	p = pending_new(srv, rq, doc, agora_json_size(ops));
	if (client != NULL && authorised) {
		snprintf(p->client, sizeof(p->client), "%s", client);
	}
	srv_log_request(ops, p->client);
	i = 0;
	for (const agora_json *op = agora_json_first(ops); op != NULL;
	     op = agora_json_next(op)) {
		op_run(srv, p, i++, op, authorised);
	}
	pending_release(p);
}

/* ---- lifecycle -------------------------------------------------------- */

static void
srv_epoch(char *out, size_t outlen)
{
	unsigned char rnd[8] = { 0 };
	FILE *f = fopen("/dev/urandom", "rb");
	uint64_t mix = (uint64_t)agora_now_us() ^ ((uint64_t)getpid() << 40);

	if (f != NULL) {
		if (fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd)) {
			memset(rnd, 0, sizeof(rnd));
		}
		fclose(f);
	}
	for (size_t i = 0; i < sizeof(rnd); i++) {
		rnd[i] ^= (unsigned char)(mix >> (8 * i));
	}
	snprintf(out, outlen, "%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0],
	         rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
}

/* The socket goes with us; so does its directory when it is the private
 * one a TaskCenter made for its children (agora-XXXXXX, ours, 0700) and we
 * were the last in it. */
static void
srv_unlink_ipc(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	const char *base;
	struct stat st;

	unlink(path);
	if (slash == NULL || (size_t)(slash - path) >= sizeof(dir)) {
		return;
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	base = strrchr(dir, '/') != NULL ? strrchr(dir, '/') + 1 : dir;
	if (strncmp(base, "agora-", 6) == 0 && strlen(base) == 12 &&
	    stat(dir, &st) == 0 && st.st_uid == getuid() &&
	    (st.st_mode & 0777) == 0700) {
		(void)rmdir(dir); /* fails, harmlessly, unless empty */
	}
}

static agora_err
srv_check(const agora_server_opts *o, char *err, size_t errlen)
{
	bool local = false;
	agora_err rv;

	if (o->url == NULL || o->url[0] == '\0') {
		snprintf(err, errlen, "no address (--port or --ipc)");
		return AGORA_EINVAL;
	}
	rv = agora_url_check_local(o->url, &local, err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	if (!local && o->token == NULL && !o->insecure) {
		snprintf(err, errlen,
		         "refusing to listen on %s without a token: give "
		         "--token-file FILE, or --insecure to accept anyone "
		         "who can reach it",
		         o->url);
		return AGORA_EAUTH;
	}
	if (o->token != NULL && strlen(o->token) > AGORA_TOKEN_MAX) {
		snprintf(err, errlen, "token over %d bytes", AGORA_TOKEN_MAX);
		return AGORA_EINVAL;
	}
	return AGORA_OK;
}

static void
srv_beat(struct server *srv, agora_redis *reg)
{
	agora_server_info info = { .url = srv->url, .pid = (int)getpid() };

	pthread_mutex_lock(&srv->lock);
	info.agents = srv->nagents;
	for (size_t k = 0; k < srv->nhosts; k++) {
		info.busy += srv->hosts[k]->busy;
	}
	pthread_mutex_unlock(&srv->lock);
	if (agora_servers_beat(reg, &info) != AGORA_OK) {
		agora_log(AGORA_LOG_WARN, "server", "registry heartbeat: %s",
		          agora_redis_errstr(reg));
	}
}

/* The main thread ticks: long polls that ran out, heartbeats, signals. */
static void
srv_loop(struct server *srv, agora_redis *reg)
{
	int64_t next_beat = 0, next_expiry = 0;

	for (;;) {
		int64_t now = agora_now_ms();
		bool stop, trim;

		if (reg != NULL && now >= next_beat) {
			srv_beat(srv, reg);
			next_beat = now + BEAT_MS;
		}
		pthread_mutex_lock(&srv->lock);
		box_expire(srv, now);
		task_answer_late(srv, now);
		if (now >= next_expiry) {
			task_expire(srv, now);
			next_expiry = now + TASK_EXPIRY_MS;
		}
		stop = srv->stopping || atomic_load(&srv_signalled) != 0;
		trim = srv->trim;
		srv->trim = false;
		pthread_mutex_unlock(&srv->lock);
		if (trim) {
			/* A connection's buffers went: hand the pages back,
			 * so a burst of big requests is not kept for good. */
			malloc_trim(0);
		}
		if (stop) {
			return;
		}
		agora_sleep_ms(TICK_MS);
	}
}

static void
srv_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = srv_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static void
srv_ready(const struct server *srv)
{
	agora_log(AGORA_LOG_INFO, "server", "listening on %s (epoch %s)",
	          srv->url, srv->epoch);
	if (srv->o.ready_fd >= 0) {
		(void)!write(srv->o.ready_fd, "ready\n", 6);
		close(srv->o.ready_fd);
	}
}

agora_err
agora_server_run(const agora_server_opts *o, char *err, size_t errlen)
{
	struct server srv;
	agora_redis *reg = NULL;
	agora_err rv = srv_check(o, err, errlen);

	if (rv != AGORA_OK) {
		return rv;
	}
	memset(&srv, 0, sizeof(srv));
	srv.o = *o;
	srv.o.max_msg = o->max_msg ? o->max_msg : AGORA_SERVER_REQUEST_MAX;
	srv.max_agents = o->max_agents ? o->max_agents : 1000000;
	srv.url = agora_strdup(o->url);
	srv.has_token = o->token != NULL;
	snprintf(srv.token, sizeof(srv.token), "%s", o->token ? o->token : "");
	srv.started_ms = agora_now_ms();
	srv_epoch(srv.epoch, sizeof(srv.epoch));
	pthread_mutex_init(&srv.lock, NULL);
	pthread_cond_init(&srv.cv, NULL);
	if (o->redis_url != NULL && o->redis_url[0] != '\0') {
		rv = agora_redis_open(
		    &reg, o->redis_url,
		    o->redis_timeout_ms > 0 ? o->redis_timeout_ms : 2000, err,
		    errlen);
	}
	srv_signals();
	/* Configs sent to a server reachable by others name no variables of
	 * its environment (an ipc:// server admits only its own user). */
	agora_models_sent_env(strncmp(o->url, "ipc://", 6) == 0);
	if (rv == AGORA_OK) {
		agora_listener_opts lo = {
			.nctx = o->workers ? o->workers : 64,
			.max_msg = srv.o.max_msg + SRV_SLACK,
			.max_conns = o->max_conns ? o->max_conns : 128,
			.fn = srv_on_request,
			.on_peer = srv_on_peer,
			.arg = &srv,
		};
		rv = agora_listener_open(&srv.lsn, o->url, &lo, err, errlen);
	}
	if (rv == AGORA_OK) {
		srv_ready(&srv);
		srv_loop(&srv, reg);
		/* Nobody new can connect from now on, and the socket is gone
		 * even if stopping the agents takes SRV_STOP_S. */
		if (strncmp(srv.url, "ipc://", 6) == 0) {
			srv_unlink_ipc(srv.url + 6);
		}
		/* Let the reply to a stop go out before closing. */
		agora_sleep_ms(50);
		host_stop_all(&srv);
		call_peers_close(&srv);
		task_free_all(&srv);
		pthread_mutex_lock(&srv.lock);
		box_free_all(&srv);
		pthread_mutex_unlock(&srv.lock);
		agora_listener_close(srv.lsn);
		if (reg != NULL) {
			(void)agora_servers_remove(reg, srv.url);
		}
	}
	agora_redis_close(reg);
	pthread_cond_destroy(&srv.cv);
	pthread_mutex_destroy(&srv.lock);
	agora_free(srv.url);
	return rv;
}
