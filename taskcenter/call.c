/* SPDX-License-Identifier: MIT */
/* Direct calls and futures, the caller's side. A call is queued on its
 * server; while no call request is in flight to it, the queue goes out at
 * once as one request, so concurrent calls batch themselves without
 * waiting on a timer. One request at a time (CALLS_OUT) is what keeps a
 * caller's calls to an agent in order: the server answers a request only
 * once it has queued its calls, and two requests in flight may be taken
 * by two of its threads in either order. A call's reply
 * carries its result when the agent answered at once, else "pending": the
 * result then comes through the server link's long poll (an 'r' or 'f' event
 * routed by the task id). Futures opened from an id elsewhere read by
 * fetching, a long poll of their own. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/future.h"
#include "agora/server.h"
#include "server_link.h"

/* Two in flight reordered calls (seen 1 run in 3 of calls_test); one
 * costs nothing measurable (server_bench async 100: 30-40k calls/s
 * either way). */
#define CALLS_OUT     1
#define FETCH_WAIT_MS 10000
/* Room for the request around a call: client id, token, brackets. */
#define CALL_ENVELOPE 1024

enum fut_state { FUT_PENDING, FUT_DONE, FUT_FAILED };

struct agora_future {
	char task[128];
	char url[256];
	char id[400];
	char *token; /* opened futures */
	struct server_link *s;
	struct route route; /* on s while registered */
	pthread_mutex_t lock;
	pthread_cond_t cv;
	enum fut_state state;
	char *content;
	char errstr[512];
	atomic_int refs;
	bool registered; /* route on s; under s->lock */
};

/* Calls not sent yet to one server, and how many requests are out. */
struct call_queue {
	agora_buf q;  /* call ops, one after another */
	size_t *ends; /* where each op ends in q */
	agora_future **f;
	size_t n, cap;
	int out;
};

struct call_batch {
	struct server_link *s;
	agora_future **f;
	size_t n;
};

static agora_future *
fut_new(const char *task, const char *url)
{
	agora_future *f = agora_calloc(1, sizeof(*f));
	pthread_condattr_t attr;

	snprintf(f->task, sizeof(f->task), "%s", task);
	snprintf(f->url, sizeof(f->url), "%s", url);
	snprintf(f->id, sizeof(f->id), "%s@%s", task, url);
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cv, &attr);
	pthread_condattr_destroy(&attr);
	atomic_init(&f->refs, 1);
	return f;
}

static void
fut_unref(agora_future *f)
{
	if (atomic_fetch_sub(&f->refs, 1) != 1) {
		return;
	}
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->lock);
	agora_free(f->content);
	agora_free(f->token);
	agora_free(f);
}

static void
fut_resolve(agora_future *f, bool ok, const char *text, size_t len)
{
	pthread_mutex_lock(&f->lock);
	if (f->state == FUT_PENDING) {
		f->state = ok ? FUT_DONE : FUT_FAILED;
		if (ok) {
			f->content = agora_strndup(text, len);
		} else {
			snprintf(f->errstr, sizeof(f->errstr), "%.*s",
			         (int)(len < 500 ? len : 500), text);
		}
		pthread_cond_broadcast(&f->cv);
	}
	pthread_mutex_unlock(&f->lock);
}

/* ---- futures on a server's link (under s->lock) --------------------- */

static void fut_unregister(struct server_link *s, agora_future *f);

/* A call's result came as an event: 'r' with the reply, 'f' failed. */
static void
fut_event(void *arg, const agora_json *e)
{
	agora_future *f = arg;
	const char *t = agora_json_str(agora_json_get(e, "t"));
	const char *c = agora_json_str(agora_json_get(e, "c"));

	if (t == NULL || c == NULL) {
		return;
	}
	fut_resolve(f, t[0] == 'r', c, strlen(c));
	fut_unregister(f->s, f);
}

static void
fut_lost(void *arg, const char *why)
{
	agora_future *f = arg;

	fut_resolve(f, false, why, strlen(why));
	f->registered = false; /* the route is off already */
	fut_unref(f);
}

static void
fut_register(struct server_link *s, agora_future *f)
{
	atomic_fetch_add(&f->refs, 1);
	f->registered = true;
	snprintf(f->route.id, sizeof(f->route.id), "%s", f->task);
	f->route.on_event = fut_event;
	f->route.on_lost = fut_lost;
	f->route.arg = f;
	link_route_add(s, &f->route);
}

static void
fut_unregister(struct server_link *s, agora_future *f)
{
	if (!f->registered) {
		return;
	}
	f->registered = false;
	link_route_remove(s, &f->route);
	fut_unref(f);
}

static struct call_queue *
queue_of(struct server_link *s)
{
	if (s->calls == NULL) {
		s->calls = agora_calloc(1, sizeof(*s->calls));
		agora_buf_init(&s->calls->q, AGORA_TP_MAX_MSG);
	}
	return s->calls;
}

void
agora__calls_free_all(agora_center *c)
{
	for (size_t k = 0; k < c->nsrvs; k++) {
		struct server_link *s = c->srvs[k];
		struct call_queue *cq = s->calls;
		const char *why = "the center was freed";

		pthread_mutex_lock(&s->lock);
		for (struct route *r = s->routes, *next; r != NULL; r = next) {
			next = r->next;
			if (r->on_event == fut_event) {
				agora_future *f = r->arg;
				fut_resolve(f, false, why, strlen(why));
				fut_unregister(s, f);
			}
		}
		pthread_mutex_unlock(&s->lock);
		if (cq != NULL) {
			for (size_t i = 0; i < cq->n; i++) {
				fut_unref(cq->f[i]);
			}
			agora_free(cq->f);
			agora_free(cq->ends);
			agora_buf_fini(&cq->q);
			agora_free(cq);
			s->calls = NULL;
		}
	}
}

/* ---- sending calls ---------------------------------------------------- */

static void call_flush(struct server_link *s);

static void
call_result(struct server_link *s, agora_future *f, const agora_json *r)
{
	const char *content = agora_json_str(agora_json_get(r, "content"));
	const char *why = agora_json_str(agora_json_get(r, "error"));

	if (agora_json_bool(agora_json_get(r, "pending"))) {
		return; /* its result comes as an event */
	}
	if (agora_json_bool(agora_json_get(r, "ok")) && content != NULL) {
		fut_resolve(f, true, content, strlen(content));
	} else {
		why = why != NULL ? why : "a malformed call result";
		fut_resolve(f, false, why, strlen(why));
	}
	fut_unregister(s, f);
}

static void
call_done(void *arg, agora_err rv, const char *data, size_t len)
{
	struct call_batch *b = arg;
	struct server_link *s = b->s;
	agora_json *doc = NULL;
	const agora_json *res = NULL, *r;
	char err[300] = "";

	if (rv == AGORA_OK) {
		if (agora_json_parse(&doc, data, len, AGORA_TP_MAX_MSG, 32, err,
		                     sizeof(err)) == AGORA_OK) {
			res = agora_json_get(doc, "results");
		}
	} else {
		snprintf(err, sizeof(err), "agent server %s: %s", s->url,
		         agora_strerror(rv));
	}
	pthread_mutex_lock(&s->lock);
	s->calls->out--;
	if (agora_json_size(res) != b->n) {
		res = NULL;
	}
	r = agora_json_first(res);
	for (size_t i = 0; i < b->n; i++, r = agora_json_next(r)) {
		if (r != NULL) {
			call_result(s, b->f[i], r);
		} else if (rv != AGORA_ECANCELED) {
			fut_resolve(b->f[i], false, err[0] ? err : "no result",
			            strlen(err[0] ? err : "no result"));
			fut_unregister(s, b->f[i]);
		}
	}
	if (rv != AGORA_ECANCELED) {
		call_flush(s);
		link_poll(s);
	}
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < b->n; i++) {
		fut_unref(b->f[i]);
	}
	agora_json_free(doc);
	agora_free(b->f);
	agora_free(b);
}

/* The first k queued calls into one request of at most max bytes (one
 * call even when it alone is over: the server says why). */
static struct call_batch *
call_take(struct server_link *s, struct call_queue *cq, size_t max,
          agora_buf *req)
{
	struct call_batch *b = agora_calloc(1, sizeof(*b));
	size_t k = 1, used;

	link_envelope(s, req);
	while (k < cq->n && req->len + cq->ends[k] + k + 2 <= max) {
		k++;
	}
	for (size_t i = 0; i < k; i++) {
		size_t from = i > 0 ? cq->ends[i - 1] : 0;
		(void)agora_buf_adds(req, i > 0 ? "," : "");
		(void)agora_buf_add(req, cq->q.data + from, cq->ends[i] - from);
	}
	b->s = s;
	b->n = k;
	b->f = agora_calloc(k, sizeof(agora_future *));
	memcpy(b->f, cq->f, k * sizeof(agora_future *));
	used = cq->ends[k - 1];
	cq->n -= k;
	memmove(cq->f, cq->f + k, cq->n * sizeof(agora_future *));
	for (size_t i = 0; i < cq->n; i++) {
		cq->ends[i] = cq->ends[i + k] - used;
	}
	memmove(cq->q.data, cq->q.data + used, cq->q.len - used + 1);
	cq->q.len -= used;
	return b;
}

/* Send the first of what is queued, as much as one request to s may
 * carry (under s->lock). */
static void
call_flush(struct server_link *s)
{
	struct call_queue *cq = queue_of(s);
	struct call_batch *b;
	agora_buf req;

	if (cq->n == 0 || cq->out >= CALLS_OUT) {
		return;
	}
	agora_buf_init(&req, AGORA_TP_MAX_MSG);
	b = call_take(s, cq, link_request_max(s), &req);
	cq->out++;
	if (agora_buf_adds(&req, "]}") != AGORA_OK ||
	    agora_link_request(s->link, req.data, req.len,
	                       s->c->server_timeout_ms, call_done,
	                       b) != AGORA_OK) {
		agora_buf_fini(&req);
		pthread_mutex_unlock(&s->lock);
		call_done(b, AGORA_ETOOBIG, NULL, 0);
		pthread_mutex_lock(&s->lock);
		return;
	}
	link_poll(s);
	agora_buf_fini(&req);
}

/* One call's op, for the server of s. */
static void
call_op(const agora_center *c, const char *task, const char *role,
        const char *content, const agora_future *input, agora_buf *q)
{
	const char *redis = agora_redis_url(c->redis);

	/* Answered "pending" if it has not run within a quarter of our
	 * timeout: the reply never times out behind a long call. */
	(void)agora_buf_addf(q,
	                     "{\"op\":\"call\",\"notify\":true,\"answer_ms\":"
	                     "%lld,\"task\":\"%s\",\"role\":",
	                     (long long)(c->server_timeout_ms / 4), task);
	(void)agora_buf_json_str(q, role, strlen(role));
	(void)agora_buf_adds(q, ",\"session\":");
	(void)agora_buf_json_str(q, c->session, strlen(c->session));
	(void)agora_buf_adds(q, ",\"redis\":");
	(void)agora_buf_json_str(q, redis, strlen(redis));
	if (input != NULL) {
		(void)agora_buf_adds(q, ",\"future\":{\"url\":");
		(void)agora_buf_json_str(q, input->url, strlen(input->url));
		(void)agora_buf_adds(q, ",\"task\":");
		(void)agora_buf_json_str(q, input->task, strlen(input->task));
		(void)agora_buf_adds(q, "}}");
	} else {
		(void)agora_buf_adds(q, ",\"content\":");
		(void)agora_buf_json_str(q, content, strlen(content));
		(void)agora_buf_adds(q, "}");
	}
}

static agora_err
call_queue(agora_center *c, const char *role, const char *content,
           const agora_future *input, agora_future **fp)
{
	agora_agent *a = agora__roles_find(&c->map, role);
	struct server_link *s;
	struct call_queue *cq;
	agora_future *f;
	char task[128];
	agora_buf op;
	size_t max;

	*fp = NULL;
	if (a == NULL || a->srv == NULL) {
		tc_set_err(c, "%s: %s", role != NULL ? role : "(null)",
		           a == NULL ? "no such agent"
		                     : "direct calls need the agent "
		                       "on an agent server");
		return a == NULL ? AGORA_ENOTFOUND : AGORA_EINVAL;
	}
	s = a->srv;
	if (agora__place_ready(s) != AGORA_OK) {
		tc_set_err(c, "%s", s->why);
		return AGORA_ETRANSPORT;
	}
	snprintf(task, sizeof(task), "%s.%llu", s->client,
	         (unsigned long long)++c->dispatches);
	agora_buf_init(&op, AGORA_TP_MAX_MSG);
	call_op(c, task, role, content, input, &op);
	max = agora_link_max(s->link);
	if (op.data == NULL || (max > 0 && op.len + CALL_ENVELOPE > max)) {
		tc_set_err(c,
		           "%s: a call of %zu bytes is over the request limit "
		           "of agent server %s (%zu bytes)",
		           role, op.len, s->url, max);
		agora_buf_fini(&op);
		return AGORA_ETOOBIG;
	}
	f = fut_new(task, s->url);
	f->s = s;
	pthread_mutex_lock(&s->lock);
	if (s->down) {
		/* Lost since agora__place_ready looked: no poll would bring
		 * the call's result. */
		tc_set_err(c, "%s: %s", role, s->lost);
		pthread_mutex_unlock(&s->lock);
		agora_buf_fini(&op);
		fut_unref(f);
		return AGORA_ETRANSPORT;
	}
	cq = queue_of(s);
	if (agora_buf_add(&cq->q, op.data, op.len) != AGORA_OK) {
		pthread_mutex_unlock(&s->lock);
		tc_set_err(c, "%s: too many calls waiting to go to %s", role,
		           s->url);
		agora_buf_fini(&op);
		fut_unref(f);
		return AGORA_ETOOBIG;
	}
	agora_buf_fini(&op);
	if (cq->n == cq->cap) {
		cq->cap = cq->cap ? 2 * cq->cap : 16;
		cq->f = agora_realloc(cq->f, cq->cap * sizeof(agora_future *));
		cq->ends = agora_realloc(cq->ends, cq->cap * sizeof(size_t));
	}
	cq->ends[cq->n] = cq->q.len;
	atomic_fetch_add(&f->refs, 1); /* the batch's */
	cq->f[cq->n++] = f;
	fut_register(s, f);
	call_flush(s);
	pthread_mutex_unlock(&s->lock);
	*fp = f;
	return AGORA_OK;
}

agora_err
agora_center_call(agora_center *c, const char *role, const char *content,
                  agora_future **fp)
{
	if (content == NULL || !agora_utf8_valid(content, strlen(content))) {
		tc_set_err(c, "call: content must be UTF-8 text");
		*fp = NULL;
		return AGORA_EINVAL;
	}
	return call_queue(c, role, content, NULL, fp);
}

agora_err
agora_center_call_future(agora_center *c, const char *role, agora_future *input,
                         agora_future **fp)
{
	if (input == NULL) {
		tc_set_err(c, "call: no input future");
		*fp = NULL;
		return AGORA_EINVAL;
	}
	return call_queue(c, role, NULL, input, fp);
}

/* ---- reading ---------------------------------------------------------- */

/* An opened future: fetch from its server, waiting there. */
static void
fut_fetch(agora_future *f, int64_t wait_ms)
{
	char ops[400], err[300];
	agora_json *doc = NULL;
	const agora_json *r;
	agora_buf reply;
	agora_err rv;

	snprintf(ops, sizeof(ops),
	         "[{\"op\":\"fetch\",\"task\":\"%s\",\"wait_ms\":%lld}]",
	         f->task, (long long)wait_ms);
	agora_buf_init(&reply, AGORA_TP_MAX_MSG);
	rv = agora_server_request(f->url, f->token, ops, wait_ms + 5000, &reply,
	                          err, sizeof(err));
	if (rv == AGORA_OK) {
		rv = agora_json_parse(&doc, reply.data, reply.len,
		                      AGORA_TP_MAX_MSG, 32, err, sizeof(err));
	}
	r = agora_json_at(agora_json_get(doc, "results"), 0);
	if (rv == AGORA_OK && r != NULL &&
	    !agora_json_bool(agora_json_get(r, "pending"))) {
		const char *c = agora_json_str(agora_json_get(r, "content"));
		const char *why = agora_json_str(agora_json_get(r, "error"));
		bool ok = agora_json_bool(agora_json_get(r, "ok")) && c != NULL;
		why = why != NULL ? why : "a malformed fetch result";
		fut_resolve(f, ok, ok ? c : why, strlen(ok ? c : why));
	} else if (rv != AGORA_OK && rv != AGORA_ETIMEDOUT) {
		fut_resolve(f, false, err, strlen(err));
	}
	agora_json_free(doc);
	agora_buf_fini(&reply);
}

agora_err
agora_future_wait(agora_future *f, int64_t timeout_ms, const char **content)
{
	int64_t until = agora_now_ms() + timeout_ms;
	enum fut_state st;

	*content = NULL;
	if (f->s == NULL) {
		while (f->state == FUT_PENDING && agora_now_ms() < until) {
			int64_t left = until - agora_now_ms();
			fut_fetch(f,
			          left < FETCH_WAIT_MS ? left : FETCH_WAIT_MS);
		}
	}
	pthread_mutex_lock(&f->lock);
	while (f->state == FUT_PENDING) {
		struct timespec ts = { .tv_sec = (time_t)(until / 1000),
			               .tv_nsec =
			                   (long)(until % 1000) * 1000000 };
		if (agora_now_ms() >= until ||
		    pthread_cond_timedwait(&f->cv, &f->lock, &ts) != 0) {
			if (f->state == FUT_PENDING &&
			    agora_now_ms() >= until) {
				break;
			}
		}
	}
	st = f->state;
	pthread_mutex_unlock(&f->lock);
	if (st == FUT_DONE) {
		*content = f->content;
		return AGORA_OK;
	}
	return st == FUT_PENDING ? AGORA_ETIMEDOUT : AGORA_EAGENT;
}

const char *
agora_future_id(const agora_future *f)
{
	return f->id;
}

const char *
agora_future_errstr(const agora_future *f)
{
	return f->errstr;
}

agora_err
agora_future_open(const char *id, const char *token, agora_future **fp)
{
	const char *at = id != NULL ? strchr(id, '@') : NULL;
	char task[128];

	*fp = NULL;
	if (at == NULL || at == id || (size_t)(at - id) >= sizeof(task) ||
	    strstr(at, "://") == NULL) {
		return AGORA_EINVAL;
	}
	snprintf(task, sizeof(task), "%.*s", (int)(at - id), id);
	*fp = fut_new(task, at + 1);
	(*fp)->token = token != NULL ? agora_strdup(token) : NULL;
	return AGORA_OK;
}

void
agora_future_free(agora_future *f)
{
	if (f == NULL) {
		return;
	}
	if (f->s != NULL) {
		pthread_mutex_lock(&f->s->lock);
		fut_unregister(f->s, f);
		pthread_mutex_unlock(&f->s->lock);
	}
	fut_unref(f);
}
