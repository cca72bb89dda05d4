/* SPDX-License-Identifier: MIT */
/* The op table: which ops need the token, which are answered here on
 * nng's thread without Redis (alive, info, list, wait, set_models, stop,
 * delete_all) and which go to a session's host thread as jobs (create,
 * delete, memory, step) or to the task table (call, fetch). A step id seen
 * before is a request resent by REQ: answered, not run again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "agora/agora.h"
#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/models.h"
#include "server_int.h"

#define WAIT_MAX_MS 60000

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
	                  "\"queued\":%zu,\"sessions\":%zu,\"clients\":%zu,"
	                  "\"uptime_ms\":%lld}",
	                  (int)getpid(), url.data, srv->epoch, cpu, rss,
	                  srv->nagents, busy, queued, srv->nhosts, srv->nboxes,
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
	rv = agora_models_load_sent(list, "set_models", why, sizeof(why));
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
           const agora_json *op, job_run_fn run, bool batch)
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
	j->run = run;
	j->batch = batch;
	j->op = op;
	j->p = p;
	j->idx = i;
	if (run == host_step && host_steps_full(h)) {
		srv_error(p, i, AGORA_EAGAIN,
		          "session %s has %d steps queued already", session,
		          HOST_STEPS_QUEUED_MAX);
		agora_free(j);
		return;
	}
	if (run == host_step && !step_accept(j)) {
		agora_free(j);
		return;
	}
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
	 * answered once they all have, with how many agents went. */
	if (n == 0) {
		srv_result(p, i,
		           agora_strdup("{\"ok\":true,\"sessions\":0,"
		                        "\"deleted\":0}"));
	} else {
		struct sweep *sw = agora_calloc(1, sizeof(*sw));
		sw->p = p;
		sw->op = i;
		sw->sessions = n;
		atomic_init(&sw->left, n);
		atomic_init(&sw->deleted, 0);
		for (size_t k = 0; k < n; k++) {
			struct job *j = agora_calloc(1, sizeof(*j));
			j->run = host_delete_all;
			j->sweep = sw;
			host_push(hosts[k], j);
		}
	}
	agora_free(hosts);
}

static bool
op_needs_token(const char *name)
{
	return strcmp(name, "alive") != 0;
}

void
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
		                         "\"version\":\"%s\",\"protocol\":%d,"
		                         "\"max_request\":%zu}",
		                         srv->epoch, AGORA_VERSION,
		                         AGORA_PROTOCOL_VERSION,
		                         srv->o.max_msg));
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
		op_session(srv, p, i, op, host_create, true);
	} else if (strcmp(name, "delete") == 0) {
		op_session(srv, p, i, op, host_delete, false);
	} else if (strcmp(name, "memory") == 0) {
		op_session(srv, p, i, op, host_memory, false);
	} else if (strcmp(name, "step") == 0 && step_seen(srv, op)) {
		srv_result(p, i, agora_strdup("{\"ok\":true,\"resent\":true}"));
	} else if (strcmp(name, "step") == 0) {
		op_session(srv, p, i, op, host_step, false);
	} else if (strcmp(name, "call") == 0) {
		op_call(srv, p, i, op);
	} else if (strcmp(name, "fetch") == 0) {
		op_fetch(srv, p, i, op);
	} else {
		srv_error(p, i, AGORA_ENOTFOUND, "unknown op '%.40s'", name);
	}
}
