/* SPDX-License-Identifier: MIT */
/* The lace server: a listener whose requests a pool of worker threads
 * serves, several at once (a slow callback holds one worker, never the
 * others), the handshake and token, and the action and inference ops.
 * Trainer ops are in trainer.c, publications in publish.c. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "agora/url.h"
#include "payload.h"
#include "server.h"

#define DEFAULT_WORKERS   4
#define DEFAULT_MAX_MSG   ((size_t)64 << 20)
#define DEFAULT_MAX_CONNS 256

/* ---- lifecycle --------------------------------------------------------- */

agora_err
agora_lace_server_new(agora_lace_server **sp, const agora_lace_config *cfg,
                      const agora_lace_server_opts *o, char *err, size_t errlen)
{
	agora_lace_server *s;
	agora_err rv;

	*sp = NULL;
	if (cfg == NULL || o == NULL || o->url == NULL) {
		snprintf(err, errlen, "a lace server needs a config and a url");
		return AGORA_EINVAL;
	}
	if (o->token != NULL &&
	    (strlen(o->token) < 16 || strlen(o->token) > 256)) {
		snprintf(err, errlen, "a token must be 16-256 characters");
		return AGORA_EINVAL;
	}
	s = agora_calloc(1, sizeof(*s));
	rv = lace_cfg_copy(&s->cfg, cfg, err, errlen);
	if (rv != AGORA_OK) {
		agora_free(s);
		return rv;
	}
	s->o = *o;
	s->url = agora_strdup(o->url);
	s->token = o->token != NULL ? agora_strdup(o->token) : NULL;
	s->o.url = s->url;
	s->o.token = s->token;
	s->nworkers = o->workers > 0 ? o->workers : DEFAULT_WORKERS;
	s->max_msg = o->max_msg > 0 ? o->max_msg : DEFAULT_MAX_MSG;
	s->o.max_conns = o->max_conns > 0 ? o->max_conns : DEFAULT_MAX_CONNS;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->pub_lock, NULL);
	pthread_cond_init(&s->work_cv, NULL);
	agora_cond_init(&s->poll_cv); /* waits until poll deadlines */
	agora_buf_init(&s->pub, 0);
	*sp = s;
	return AGORA_OK;
}

static void *worker_main(void *arg);
static void on_request(void *arg, agora_request *rq, const char *data,
                       size_t len);
static void serve(agora_lace_server *s, struct lace_job *j);

/* The address clients use: tcp://host:0 with the port it got. */
static void
set_bound(agora_lace_server *s)
{
	int port = agora_listener_port(s->lsn);
	const char *colon = strrchr(s->url, ':');

	if (port > 0 && colon != NULL && strcmp(colon, ":0") == 0) {
		snprintf(s->bound, sizeof(s->bound), "%.*s:%d",
		         (int)(colon - s->url), s->url, port);
	} else {
		snprintf(s->bound, sizeof(s->bound), "%s", s->url);
	}
}

agora_err
agora_lace_server_start(agora_lace_server *s, char *err, size_t errlen)
{
	agora_listener_opts lo = { 0 };
	bool local = false;
	agora_err rv;

	if (s->running) {
		return AGORA_OK;
	}
	if (s->token == NULL && !s->o.insecure) {
		rv = agora_url_check_local(s->url, &local, err, errlen);
		if (rv != AGORA_OK) {
			return rv;
		}
		if (!local) {
			snprintf(err, errlen,
			         "%s is reachable from other machines: give a "
			         "token (or insecure, on a network you trust)",
			         s->url);
			return AGORA_EAUTH;
		}
	}
	/* A context per connection for its long poll, and some for the
	 * requests the workers serve. */
	lo.nctx = s->o.max_conns + 4 * s->nworkers;
	lo.max_msg = s->max_msg;
	lo.max_conns = s->o.max_conns;
	lo.fn = on_request;
	lo.arg = s;
	s->stopping = false;
	rv = agora_listener_open(&s->lsn, s->url, &lo, err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	set_bound(s);
	s->workers = agora_calloc(s->nworkers, sizeof(pthread_t));
	for (size_t i = 0; i < s->nworkers; i++) {
		pthread_create(&s->workers[i], NULL, worker_main, s);
	}
	pthread_create(&s->poll_timer, NULL, lace_poll_timer_main, s);
	s->running = true;
	return AGORA_OK;
}

void
agora_lace_server_stop(agora_lace_server *s)
{
	struct lace_job *j;

	if (s == NULL || !s->running) {
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->work_cv);
	pthread_cond_broadcast(&s->poll_cv);
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < s->nworkers; i++) {
		pthread_join(s->workers[i], NULL);
	}
	pthread_join(s->poll_timer, NULL);
	agora_free(s->workers);
	s->workers = NULL;
	/* No worker runs now: what is queued or parked gets no answer. A
	 * publisher answering polls it took finishes first (a callback may
	 * publish, so this is not taken before the workers are joined). */
	pthread_mutex_lock(&s->pub_lock);
	pthread_mutex_lock(&s->lock);
	while ((j = s->jobs) != NULL) {
		s->jobs = j->next;
		agora_request_drop(j->rq);
		agora_free(j->own);
		agora_free(j);
	}
	s->jobs_tail = NULL;
	lace_polls_drop(s);
	pthread_mutex_unlock(&s->lock);
	agora_listener_close(s->lsn);
	s->lsn = NULL;
	s->running = false;
	pthread_mutex_unlock(&s->pub_lock);
}

void
agora_lace_server_free(agora_lace_server *s)
{
	if (s == NULL) {
		return;
	}
	agora_lace_server_stop(s);
	for (size_t i = 0; i < s->nifaces; i++) {
		agora_free(s->ifaces[i].name);
	}
	agora_free(s->ifaces);
	lace_stores_free(s);
	lace_cfg_free(&s->cfg);
	agora_buf_fini(&s->pub);
	if (s->token != NULL) {
		memset(s->token, 0, strlen(s->token));
	}
	agora_free(s->token);
	agora_free(s->url);
	pthread_cond_destroy(&s->work_cv);
	pthread_cond_destroy(&s->poll_cv);
	pthread_mutex_destroy(&s->pub_lock);
	pthread_mutex_destroy(&s->lock);
	agora_free(s);
}

const char *
agora_lace_server_url(const agora_lace_server *s)
{
	return s->running ? s->bound : s->url;
}

agora_err
agora_lace_server_register(agora_lace_server *s, const char *name,
                           agora_lace_fn fn, void *arg)
{
	size_t i;

	if (name == NULL || name[0] == '\0' || strlen(name) > 256 ||
	    fn == NULL) {
		return AGORA_EINVAL;
	}
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nifaces; i++) {
		if (strcmp(s->ifaces[i].name, name) == 0) {
			break;
		}
	}
	if (i == s->nifaces) {
		s->ifaces = agora_realloc(s->ifaces, (s->nifaces + 1) *
		                                         sizeof(*s->ifaces));
		s->ifaces[i].name = agora_strdup(name);
		s->nifaces++;
	}
	s->ifaces[i].fn = fn;
	s->ifaces[i].arg = arg;
	pthread_mutex_unlock(&s->lock);
	return AGORA_OK;
}

/* ---- requests ---------------------------------------------------------- */

/* On a transport thread: hand the request to the workers (the bytes are
 * lent for this call only, so they are copied, once). */
static void
on_request(void *arg, agora_request *rq, const char *data, size_t len)
{
	agora_lace_server *s = arg;
	struct lace_job *j;

	if (s->o.inline_calls) {
		/* Served here: a close waits for this callback to return. */
		struct lace_job now = { .rq = rq, .data = data, .len = len };
		serve(s, &now);
		return;
	}
	j = agora_calloc(1, sizeof(*j));
	j->rq = rq;
	j->own = agora_malloc(len > 0 ? len : 1);
	memcpy(j->own, data, len);
	j->data = j->own;
	j->len = len;
	pthread_mutex_lock(&s->lock);
	if (s->stopping) {
		pthread_mutex_unlock(&s->lock);
		agora_request_drop(rq);
		agora_free(j->own);
		agora_free(j);
		return;
	}
	if (s->jobs_tail != NULL) {
		s->jobs_tail->next = j;
	} else {
		s->jobs = j;
	}
	s->jobs_tail = j;
	pthread_cond_signal(&s->work_cv);
	pthread_mutex_unlock(&s->lock);
}

/* The same time whatever the token given. */
static bool
token_ok(const agora_lace_server *s, const char *given)
{
	size_t n, m;
	unsigned char diff;

	if (s->token == NULL) {
		return true;
	}
	if (given == NULL) {
		return false;
	}
	n = strlen(s->token);
	m = strlen(given);
	diff = (unsigned char)(n != m);
	for (size_t i = 0; i < n; i++) {
		diff |= (unsigned char)(s->token[i] ^ given[i < m ? i : 0]);
	}
	return diff == 0;
}

static void
op_hello(agora_lace_server *s, agora_request *rq, const struct lace_frame *f)
{
	agora_json *theirs = NULL;
	agora_buf mine;
	char why[512], limit[48];
	agora_lace_payload p = { 0 };

	if (f->payload.json != NULL &&
	    agora_json_parse(&theirs, f->payload.json, f->payload.json_len,
	                     f->payload.json_len, 8, NULL, 0) == AGORA_OK &&
	    !agora_json_bool(agora_json_get(theirs, "any")) &&
	    !lace_cfg_same(&s->cfg, theirs, why, sizeof(why))) {
		agora_json_free(theirs);
		lace_reply_err(s, rq, AGORA_EINVAL,
		               "this client does not match the server's "
		               "config: %s",
		               why);
		return;
	}
	agora_json_free(theirs);
	agora_buf_init(&mine, 0);
	lace_cfg_json(&s->cfg, &mine);
	p.json = mine.data;
	p.json_len = mine.len;
	/* The client sends nothing bigger: over it, nng would drop the
	 * connection and send the request again and again. */
	snprintf(limit, sizeof(limit), "\"max_msg\":%zu", s->max_msg);
	lace_reply(s, rq, limit, &p);
	agora_buf_fini(&mine);
}

/* Run a callback and answer with what it built or the error it gave. */
static void
run_fn(agora_lace_server *s, agora_request *rq, agora_lace_fn fn, void *arg,
       const char *name, const agora_lace_payload *in)
{
	agora_lace_out out;
	agora_lace_payload p;
	char err[512] = "";
	agora_err rv;

	lace_out_init(&out);
	rv = fn(arg, name, in, &out, err, sizeof(err));
	if (rv != AGORA_OK) {
		lace_reply_err(s, rq, rv, "%s",
		               err[0] != '\0' ? err : agora_strerror(rv));
	} else {
		lace_out_payload(&out, &p);
		lace_reply(s, rq, "", &p);
	}
	lace_out_fini(&out);
}

static void
op_obs(agora_lace_server *s, agora_request *rq, const struct lace_frame *f)
{
	const agora_json *keys = agora_json_get(f->head, "keys");
	agora_buf want;
	agora_lace_payload in = { 0 };
	size_t n = 0;

	if (s->o.obs == NULL) {
		lace_reply_err(s, rq, AGORA_ENOTFOUND,
		               "this server answers no observations");
		return;
	}
	agora_buf_init(&want, 0);
	agora_buf_adds(&want, "{\"keys\":[");
	for (const agora_json *k = agora_json_first(keys); k != NULL;
	     k = agora_json_next(k)) {
		const char *key = agora_json_str(k);
		if (key == NULL || !lace_strs_has(&s->cfg.obs_keys, key)) {
			lace_reply_err(s, rq, AGORA_ENOTFOUND,
			               "unknown observation key \"%.200s\"",
			               key != NULL ? key : "(not a string)");
			agora_buf_fini(&want);
			return;
		}
		agora_buf_adds(&want, n++ > 0 ? "," : "");
		agora_buf_json_str(&want, key, strlen(key));
	}
	/* None named: all of them. */
	for (size_t i = 0; n == 0 && i < s->cfg.obs_keys.n; i++) {
		agora_buf_adds(&want, i > 0 ? "," : "");
		agora_buf_json_str(&want, s->cfg.obs_keys.v[i],
		                   strlen(s->cfg.obs_keys.v[i]));
	}
	agora_buf_adds(&want, "]}");
	in.json = want.data;
	in.json_len = want.len;
	run_fn(s, rq, s->o.obs, s->o.arg, NULL, &in);
	agora_buf_fini(&want);
}

static void
op_act(agora_lace_server *s, agora_request *rq, const struct lace_frame *f)
{
	const char *key = lace_head_str(f, "key");

	if (key == NULL || !lace_strs_has(&s->cfg.act_keys, key)) {
		lace_reply_err(s, rq, AGORA_ENOTFOUND,
		               "unknown action key \"%.200s\"",
		               key != NULL ? key : "");
		return;
	}
	if (s->o.act == NULL) {
		lace_reply_err(s, rq, AGORA_ENOTFOUND,
		               "this server takes no actions");
		return;
	}
	run_fn(s, rq, s->o.act, s->o.arg, key, &f->payload);
}

static void
op_interfaces(agora_lace_server *s, agora_request *rq)
{
	agora_buf names;
	agora_lace_payload p = { 0 };

	agora_buf_init(&names, 0);
	agora_buf_adds(&names, "[");
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nifaces; i++) {
		agora_buf_adds(&names, i > 0 ? "," : "");
		agora_buf_json_str(&names, s->ifaces[i].name,
		                   strlen(s->ifaces[i].name));
	}
	pthread_mutex_unlock(&s->lock);
	agora_buf_adds(&names, "]");
	p.json = names.data;
	p.json_len = names.len;
	lace_reply(s, rq, "", &p);
	agora_buf_fini(&names);
}

static void
op_call(agora_lace_server *s, agora_request *rq, const struct lace_frame *f)
{
	const char *name = lace_head_str(f, "name");
	struct lace_iface it = { 0 };

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; name != NULL && i < s->nifaces; i++) {
		if (strcmp(s->ifaces[i].name, name) == 0) {
			it = s->ifaces[i];
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (it.fn == NULL) {
		lace_reply_err(s, rq, AGORA_ENOTFOUND,
		               "unknown interface \"%.200s\"",
		               name != NULL ? name : "");
		return;
	}
	run_fn(s, rq, it.fn, it.arg, name, &f->payload);
}

static void
op_request(agora_lace_server *s, agora_request *rq, const struct lace_frame *f)
{
	const char *type = lace_head_str(f, "type");

	if (type == NULL || !lace_strs_has(&s->cfg.request_types, type)) {
		lace_reply_err(s, rq, AGORA_ENOTFOUND,
		               "unknown request type \"%.200s\"",
		               type != NULL ? type : "");
		return;
	}
	if (s->o.request == NULL) {
		lace_reply(s, rq, "", NULL);
		return;
	}
	run_fn(s, rq, s->o.request, s->o.arg, type, &f->payload);
}

static void
serve(agora_lace_server *s, struct lace_job *j)
{
	struct lace_frame f;
	char err[256];
	const char *op;
	agora_err rv;

	/* The token first: until it is right, the body and arrays (an LZ4
	 * section may unpack to max_msg) are not read. */
	rv = lace_frame_open(&f, j->data, j->len, s->max_msg, err, sizeof(err));
	if (rv == AGORA_OK && !token_ok(s, lace_head_str(&f, "token"))) {
		lace_reply_err(s, j->rq, AGORA_EAUTH,
		               "not authorised: missing or wrong token");
		lace_frame_fini(&f);
		return;
	}
	if (rv == AGORA_OK) {
		rv = lace_frame_finish(&f, err, sizeof(err));
	}
	if (rv != AGORA_OK) {
		lace_reply_err(s, j->rq, rv, "%s", err);
		return;
	}
	op = lace_head_str(&f, "op");
	if (op == NULL) {
		lace_reply_err(s, j->rq, AGORA_EPROTO, "a request needs an op");
	} else if (strcmp(op, "hello") == 0) {
		op_hello(s, j->rq, &f);
	} else if (strcmp(op, "poll") == 0) {
		lace_poll_op(s, j->rq, &f);
	} else if (s->cfg.kind == AGORA_LACE_ACTION && strcmp(op, "obs") == 0) {
		op_obs(s, j->rq, &f);
	} else if (s->cfg.kind == AGORA_LACE_ACTION && strcmp(op, "act") == 0) {
		op_act(s, j->rq, &f);
	} else if (s->cfg.kind == AGORA_LACE_INFERENCE &&
	           strcmp(op, "interfaces") == 0) {
		op_interfaces(s, j->rq);
	} else if (s->cfg.kind == AGORA_LACE_INFERENCE &&
	           strcmp(op, "call") == 0) {
		op_call(s, j->rq, &f);
	} else if (s->cfg.kind == AGORA_LACE_TRAINER &&
	           strcmp(op, "request") == 0) {
		op_request(s, j->rq, &f);
	} else if (s->cfg.kind == AGORA_LACE_TRAINER) {
		lace_trainer_op(s, j->rq, &f, op);
	} else {
		lace_reply_err(s, j->rq, AGORA_ENOTFOUND,
		               "a%s %s server has no op \"%.100s\"",
		               s->cfg.kind == AGORA_LACE_TRAINER ? "" : "n",
		               lace_kind_name(s->cfg.kind), op);
	}
	lace_frame_fini(&f);
}

static void *
worker_main(void *arg)
{
	agora_lace_server *s = arg;
	struct lace_job *j;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (s->jobs == NULL && !s->stopping) {
			pthread_cond_wait(&s->work_cv, &s->lock);
		}
		if (s->stopping) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		j = s->jobs;
		s->jobs = j->next;
		if (s->jobs == NULL) {
			s->jobs_tail = NULL;
		}
		pthread_mutex_unlock(&s->lock);
		serve(s, j);
		if (s->token != NULL) {
			memset(j->own, 0, j->len); /* it held the token */
		}
		agora_free(j->own);
		agora_free(j);
	}
}
