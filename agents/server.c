/* SPDX-License-Identifier: MIT */
/* The agent server: listening, the request envelope, authorisation, the
 * ops answered without Redis (alive, info, list, wait, set_models, stop),
 * the ticker (long-poll expiry, registry heartbeat) and shutdown. Ops that
 * touch a session go to that session's host thread (server_host.c). A
 * request that cannot be decoded gets an error reply; the server goes on. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "agora/agora.h"
#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "agora/models.h"
#include "agora/registry.h"
#include "server_int.h"

#define REQ_MAX_OPS    100000
#define REQ_DEPTH      32
#define WAIT_MAX_MS    60000
#define TICK_MS        50
#define BEAT_MS        1000
#define TASK_EXPIRY_MS 250

static volatile sig_atomic_t srv_signalled;

static void
srv_on_signal(int sig)
{
	(void)sig;
	srv_signalled = 1;
}

/* ---- answering ops ---------------------------------------------------- */

static void
pending_reply(struct pending *p)
{
	agora_buf out;

	agora_buf_init(&out, 0);
	(void)agora_buf_addf(&out, "{\"v\":%d,\"results\":[",
	                     AGORA_PROTOCOL_VERSION);
	for (size_t i = 0; i < p->nops; i++) {
		(void)agora_buf_addf(&out, "%s%s", i ? "," : "", p->results[i]);
		agora_free(p->results[i]);
	}
	(void)agora_buf_adds(&out, "]}");
	agora_request_reply(p->rq, out.data, out.len);
	agora_buf_fini(&out);
	agora_free(p->results);
	agora_json_free(p->doc);
	agora_free(p);
}

void
srv_result(struct pending *p, size_t i, char *json)
{
	p->results[i] = json;
	if (atomic_fetch_sub(&p->left, 1) == 1) {
		pending_reply(p);
	}
}

void
srv_error(struct pending *p, size_t i, agora_err code, const char *fmt, ...)
{
	char detail[512];
	agora_buf out;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	agora_buf_init(&out, 0);
	(void)agora_buf_addf(&out, "{\"ok\":false,\"code\":\"%s\",\"error\":",
	                     agora_errname(code));
	(void)agora_buf_json_str(&out, detail, strlen(detail));
	(void)agora_buf_adds(&out, "}");
	srv_result(p, i, agora_buf_steal(&out));
}

static void
envelope_error(agora_request *rq, agora_err code, const char *detail)
{
	agora_buf out;

	agora_buf_init(&out, 0);
	(void)agora_buf_addf(&out, "{\"v\":%d,\"code\":\"%s\",\"error\":",
	                     AGORA_PROTOCOL_VERSION, agora_errname(code));
	(void)agora_buf_json_str(&out, detail, strlen(detail));
	(void)agora_buf_adds(&out, "}");
	agora_request_reply(rq, out.data, out.len);
	agora_buf_fini(&out);
}

/* ---- ops answered here ------------------------------------------------ */

static void
rusage_now(double *cpu_s, long *rss_kib)
{
	struct rusage ru;
	FILE *f = fopen("/proc/self/statm", "r");
	char line[128] = "";
	char *end = NULL;
	long resident = 0;

	getrusage(RUSAGE_SELF, &ru);
	*cpu_s =
	    (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	    ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
	if (f != NULL) {
		if (fgets(line, sizeof(line), f) != NULL) {
			(void)strtol(line, &end, 10); /* total size, then RSS */
			resident = strtol(end, NULL, 10);
		}
		fclose(f);
	}
	*rss_kib = resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void
op_info(struct server *srv, struct pending *p, size_t i)
{
	size_t busy = 0, queued = 0;
	agora_buf url;
	double cpu;
	long rss;

	agora_buf_init(&url, 0);
	(void)agora_buf_json_str(&url, srv->url, strlen(srv->url));
	rusage_now(&cpu, &rss);
	pthread_mutex_lock(&srv->lock);
	for (size_t k = 0; k < srv->nhosts; k++) {
		busy += srv->hosts[k]->busy;
		queued += srv->hosts[k]->queued;
	}
	srv_result(
	    p, i,
	    agora_sprintf("{\"ok\":true,\"pid\":%d,\"url\":%s,"
	                  "\"epoch\":\"%s\",\"cpu_s\":%.3f,"
	                  "\"rss_kib\":%ld,\"agents\":%zu,\"busy\":%zu,"
	                  "\"queued\":%zu,\"sessions\":%zu,"
	                  "\"uptime_ms\":%lld}",
	                  (int)getpid(), url.data, srv->epoch, cpu, rss,
	                  srv->nagents, busy, queued, srv->nhosts,
	                  (long long)(agora_now_ms() - srv->started_ms)));
	pthread_mutex_unlock(&srv->lock);
	agora_buf_fini(&url);
}

static void
op_list(struct server *srv, struct pending *p, size_t i)
{
	agora_buf out;

	agora_buf_init(&out, 0);
	(void)agora_buf_adds(&out, "{\"ok\":true,\"agents\":[");
	pthread_mutex_lock(&srv->lock);
	for (size_t k = 0, n = 0; k < srv->nhosts; k++) {
		struct host *h = srv->hosts[k];
		for (size_t a = 0; a < h->roles.n; a++, n++) {
			/* Kind names come from plugins: escape them all. */
			(void)agora_buf_adds(&out, n ? ",{\"session\":"
			                             : "{\"session\":");
			(void)agora_buf_json_str(&out, h->session,
			                         strlen(h->session));
			(void)agora_buf_adds(&out, ",\"role\":");
			(void)agora_buf_json_str(&out, h->roles.v[a],
			                         strlen(h->roles.v[a]));
			(void)agora_buf_adds(&out, ",\"kind\":");
			(void)agora_buf_json_str(&out, h->kinds.v[a],
			                         strlen(h->kinds.v[a]));
			(void)agora_buf_adds(&out, "}");
		}
	}
	pthread_mutex_unlock(&srv->lock);
	(void)agora_buf_adds(&out, "]}");
	srv_result(p, i, agora_buf_steal(&out));
}

static void
op_set_models(struct pending *p, size_t i, const agora_json *op)
{
	const agora_json *list = agora_json_get(op, "models");
	char why[256];
	agora_err rv;

	if (agora_json_typeof(list) != AGORA_JSON_ARRAY) {
		srv_error(p, i, AGORA_EINVAL,
		          "set_models needs \"models\", "
		          "a list of model configs");
		return;
	}
	/* The new list replaces the old one, as the seeds' set_model_configs
	 * does. */
	agora_models_clear();
	rv = agora_models_load_json(list, "set_models", why, sizeof(why));
	if (rv != AGORA_OK) {
		srv_error(p, i, rv, "models: %s", why);
		return;
	}
	srv_result(p, i, agora_strdup("{\"ok\":true}"));
}

static void
op_wait(struct server *srv, struct pending *p, size_t i, const agora_json *op)
{
	int64_t ack = 0, wait_ms = 0;
	const char *epoch;

	if (p->client[0] == '\0') {
		srv_error(p, i, AGORA_EINVAL,
		          "wait: the request has no client");
		return;
	}
	(void)agora_json_int(agora_json_get(op, "ack"), 0, INT64_MAX, &ack);
	/* An ack is about this server's events only: a poll resent to a
	 * restarted server must not drop the new one's. */
	epoch = agora_json_str(agora_json_get(op, "epoch"));
	if (epoch == NULL || strcmp(epoch, srv->epoch) != 0) {
		ack = 0;
	}
	(void)agora_json_int(agora_json_get(op, "wait_ms"), 0, WAIT_MAX_MS,
	                     &wait_ms);
	pthread_mutex_lock(&srv->lock);
	box_wait(srv, p, i, (uint64_t)ack, wait_ms);
	pthread_mutex_unlock(&srv->lock);
}

static void
op_stop(struct server *srv, struct pending *p, size_t i)
{
	pthread_mutex_lock(&srv->lock);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->cv);
	pthread_mutex_unlock(&srv->lock);
	srv_result(p, i, agora_strdup("{\"ok\":true}"));
}

/* A step id seen before: a request resent by REQ to this server. */
static bool
step_seen(struct server *srv, const agora_json *op)
{
	const char *sid = agora_json_str(agora_json_get(op, "sid"));
	bool seen = false;

	if (sid == NULL || strlen(sid) >= sizeof(srv->recent_sids[0])) {
		return false; /* the host rejects it */
	}
	pthread_mutex_lock(&srv->lock);
	for (size_t i = 0; i < RECENT_SIDS && !seen; i++) {
		seen = strcmp(srv->recent_sids[i], sid) == 0;
	}
	if (!seen) {
		snprintf(srv->recent_sids[srv->next_sid],
		         sizeof(srv->recent_sids[0]), "%s", sid);
		srv->next_sid = (srv->next_sid + 1) % RECENT_SIDS;
	}
	pthread_mutex_unlock(&srv->lock);
	return seen;
}

/* Ops on a session's agents go to its host, made on first use. */
static void
op_session(struct server *srv, struct pending *p, size_t i,
           const agora_json *op, enum job_type type)
{
	const char *session = agora_json_str(agora_json_get(op, "session"));
	const char *redis = agora_json_str(agora_json_get(op, "redis"));
	struct host *h;
	struct job *j;

	if (session == NULL || redis == NULL) {
		srv_error(p, i, AGORA_EINVAL,
		          "this op needs \"session\" and \"redis\"");
		return;
	}
	h = host_get(srv, redis, session);
	if (h == NULL) {
		srv_error(p, i, AGORA_EINVAL,
		          "bad session id or redis url, or server stopping");
		return;
	}
	j = agora_calloc(1, sizeof(*j));
	j->type = type;
	j->op = op;
	j->p = p;
	j->idx = i;
	host_push(h, j);
}

static void
op_delete_all(struct server *srv, struct pending *p, size_t i)
{
	struct host **hosts;
	size_t n;

	pthread_mutex_lock(&srv->lock);
	n = srv->nhosts;
	hosts = agora_calloc(n + 1, sizeof(struct host *));
	memcpy(hosts, srv->hosts, n * sizeof(struct host *));
	pthread_mutex_unlock(&srv->lock);
	/* Each host empties itself in order with its other jobs; the op is
	 * answered once they all have (the reply carries no count). */
	for (size_t k = 0; k < n; k++) {
		struct job *j = agora_calloc(1, sizeof(*j));
		j->type = JOB_DELETE_ALL;
		host_push(hosts[k], j);
	}
	agora_free(hosts);
	srv_result(p, i, agora_sprintf("{\"ok\":true,\"sessions\":%zu}", n));
}

static bool
op_needs_token(const char *name)
{
	return strcmp(name, "alive") != 0;
}

static void
op_run(struct server *srv, struct pending *p, size_t i, const agora_json *op,
       bool authorised)
{
	const char *name = agora_json_str(agora_json_get(op, "op"));

	if (name == NULL) {
		srv_error(p, i, AGORA_EPROTO, "an op without \"op\"");
	} else if (op_needs_token(name) && !authorised) {
		srv_error(p, i, AGORA_EAUTH,
		          "%s: this server requires a token (--token-file)",
		          name);
	} else if (strcmp(name, "alive") == 0) {
		srv_result(p, i,
		           agora_sprintf("{\"ok\":true,\"epoch\":\"%s\","
		                         "\"version\":\"%s\",\"protocol\":%d}",
		                         srv->epoch, AGORA_VERSION,
		                         AGORA_PROTOCOL_VERSION));
	} else if (strcmp(name, "info") == 0) {
		op_info(srv, p, i);
	} else if (strcmp(name, "list") == 0) {
		op_list(srv, p, i);
	} else if (strcmp(name, "wait") == 0) {
		op_wait(srv, p, i, op);
	} else if (strcmp(name, "set_models") == 0) {
		op_set_models(p, i, op);
	} else if (strcmp(name, "stop") == 0) {
		op_stop(srv, p, i);
	} else if (strcmp(name, "delete_all") == 0) {
		op_delete_all(srv, p, i);
	} else if (strcmp(name, "create") == 0) {
		op_session(srv, p, i, op, JOB_CREATE);
	} else if (strcmp(name, "delete") == 0) {
		op_session(srv, p, i, op, JOB_DELETE);
	} else if (strcmp(name, "memory") == 0) {
		op_session(srv, p, i, op, JOB_MEMORY);
	} else if (strcmp(name, "step") == 0 && step_seen(srv, op)) {
		srv_result(p, i, agora_strdup("{\"ok\":true,\"resent\":true}"));
	} else if (strcmp(name, "step") == 0) {
		op_session(srv, p, i, op, JOB_STEP);
	} else if (strcmp(name, "call") == 0) {
		op_call(srv, p, i, op);
	} else if (strcmp(name, "fetch") == 0) {
		op_fetch(srv, p, i, op);
	} else {
		srv_error(p, i, AGORA_ENOTFOUND, "unknown op '%.40s'", name);
	}
}

/* ---- the envelope ----------------------------------------------------- */

/* Constant time in the token's length, so timing tells nothing. */
static bool
token_ok(const struct server *srv, const char *given)
{
	size_t n = strlen(srv->token);
	unsigned char diff = 0;

	if (!srv->has_token) {
		return true;
	}
	if (given == NULL || strlen(given) != n) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		diff |= (unsigned char)(srv->token[i] ^ given[i]);
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
	p = agora_calloc(1, sizeof(*p));
	p->srv = srv;
	p->rq = rq;
	p->doc = doc;
	p->nops = agora_json_size(ops);
	p->results = agora_calloc(p->nops, sizeof(char *));
	client = agora_json_str(agora_json_get(doc, "client"));
	if (client != NULL && strlen(client) <= CLIENT_ID_MAX) {
		snprintf(p->client, sizeof(p->client), "%s", client);
	}
	authorised =
	    token_ok(srv, agora_json_str(agora_json_get(doc, "token")));
	/* One extra count held while the ops are handed out, so a reply
	 * cannot go before the last op has been looked at. */
	atomic_init(&p->left, p->nops + 1);
	i = 0;
	for (const agora_json *op = agora_json_first(ops); op != NULL;
	     op = agora_json_next(op)) {
		op_run(srv, p, i++, op, authorised);
	}
	if (atomic_fetch_sub(&p->left, 1) == 1) {
		pending_reply(p);
	}
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

static agora_err
srv_check(const agora_server_opts *o, char *err, size_t errlen)
{
	if (o->url == NULL || o->url[0] == '\0') {
		snprintf(err, errlen, "no address (--port or --ipc)");
		return AGORA_EINVAL;
	}
	if (!agora_url_is_local(o->url) && o->token == NULL && !o->insecure) {
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
		bool stop;

		if (reg != NULL && now >= next_beat) {
			srv_beat(srv, reg);
			next_beat = now + BEAT_MS;
		}
		pthread_mutex_lock(&srv->lock);
		box_expire(srv, now);
		if (now >= next_expiry) {
			task_expire(srv, now);
			next_expiry = now + TASK_EXPIRY_MS;
		}
		stop = srv->stopping || srv_signalled;
		pthread_mutex_unlock(&srv->lock);
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
	srv.o.max_msg = o->max_msg ? o->max_msg : AGORA_TP_MAX_MSG;
	srv.max_agents = o->max_agents ? o->max_agents : 1000000;
	srv.url = agora_strdup(o->url);
	srv.has_token = o->token != NULL;
	snprintf(srv.token, sizeof(srv.token), "%s", o->token ? o->token : "");
	srv.started_ms = agora_now_ms();
	srv_epoch(srv.epoch, sizeof(srv.epoch));
	pthread_mutex_init(&srv.lock, NULL);
	pthread_cond_init(&srv.cv, NULL);
	if (o->redis_url != NULL && o->redis_url[0] != '\0') {
		rv = agora_redis_open(&reg, o->redis_url, 2000, err, errlen);
	}
	srv_signals();
	if (rv == AGORA_OK) {
		/* The transport takes a little over the decoding cap, so a
		 * request over it gets an error reply, not a dropped
		 * connection (which a REQ peer would answer by resending). */
		rv = agora_listener_open(&srv.lsn, o->url,
		                         o->workers ? o->workers : 64,
		                         srv.o.max_msg + (1u << 20),
		                         srv_on_request, &srv, err, errlen);
	}
	if (rv == AGORA_OK) {
		srv_ready(&srv);
		srv_loop(&srv, reg);
		/* Let the reply to a stop go out before closing. */
		agora_sleep_ms(50);
		host_stop_all(&srv);
		task_free_all(&srv);
		pthread_mutex_lock(&srv.lock);
		box_free_all(&srv);
		pthread_mutex_unlock(&srv.lock);
		agora_listener_close(srv.lsn);
		if (strncmp(srv.url, "ipc://", 6) == 0) {
			unlink(srv.url + 6);
		}
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
