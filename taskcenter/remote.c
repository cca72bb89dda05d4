/* SPDX-License-Identifier: MIT */
/* Remote agents: the TaskCenter's side of agent servers.
 *
 * Each server in use has a link (one nng connection), a client id and a
 * long poll that is kept outstanding while turns run there. A round sends
 * one step request per server naming all its acting roles; the server
 * drains, runs and publishes them itself, and their frames come back as
 * events in the long poll's replies, which are posted to the step's thread
 * as they arrive (a slow agent never holds back another). When a server's
 * connection drops mid-step, its turns fail at once with the messages they
 * had drained put back, and the agents are marked offline; a child server
 * is started again, and its agents created again, on the next use. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/future.h"
#include "agora/log.h"
#include "agora/proc.h"
#include "agora/server.h"
#include "agora/transport.h"
#include "remote.h"
#include "tc.h"

#define WAIT_MS         1000
#define REPLY_MAX_DEPTH 32

/* ---- requests --------------------------------------------------------- */

void
remote_envelope(const struct remote_srv *s, agora_buf *b)
{
	(void)agora_buf_addf(b, "{\"v\":%d,\"client\":\"%s\",",
	                     AGORA_PROTOCOL_VERSION, s->client);
	if (s->c->token != NULL) {
		(void)agora_buf_adds(b, "\"token\":");
		(void)agora_buf_json_str(b, s->c->token, strlen(s->c->token));
		(void)agora_buf_adds(b, ",");
	}
	(void)agora_buf_adds(b, "\"ops\":[");
}

/* The results array of a reply, or NULL with why in err. */
static const agora_json *
reply_results(const agora_json *doc, size_t nops, char *err, size_t errlen)
{
	const agora_json *res = agora_json_get(doc, "results");

	if (agora_json_typeof(res) == AGORA_JSON_ARRAY &&
	    agora_json_size(res) == nops) {
		return res;
	}
	snprintf(err, errlen, "%s",
	         agora_json_str(agora_json_get(doc, "error"))
	             ? agora_json_str(agora_json_get(doc, "error"))
	             : "a reply without results");
	return NULL;
}

/* Send ops (the text after "ops":[) and wait; *docp holds the reply. */
agora_err
remote_call(struct remote_srv *s, const char *ops, size_t nops,
            agora_json **docp, const agora_json **results, char *err,
            size_t errlen)
{
	return remote_call_within(s, ops, nops, s->c->server_timeout_ms, docp,
	                          results, err, errlen);
}

agora_err
remote_call_within(struct remote_srv *s, const char *ops, size_t nops,
                   int64_t timeout_ms, agora_json **docp,
                   const agora_json **results, char *err, size_t errlen)
{
	agora_buf req, reply;
	agora_err rv;

	*docp = NULL;
	agora_buf_init(&req, AGORA_TP_MAX_MSG);
	agora_buf_init(&reply, AGORA_TP_MAX_MSG);
	remote_envelope(s, &req);
	(void)agora_buf_adds(&req, ops);
	rv = agora_buf_adds(&req, "]}");
	if (rv == AGORA_OK) {
		rv = agora_link_call(s->link, req.data, req.len, timeout_ms,
		                     &reply);
	}
	if (rv != AGORA_OK) {
		snprintf(err, errlen, "agent server %s: %s", s->url,
		         rv == AGORA_ETIMEDOUT ? "no answer in time"
		                               : agora_strerror(rv));
	} else {
		rv = agora_json_parse(docp, reply.data, reply.len,
		                      AGORA_TP_MAX_MSG, REPLY_MAX_DEPTH, err,
		                      errlen);
	}
	if (rv == AGORA_OK &&
	    (*results = reply_results(*docp, nops, err, errlen)) == NULL) {
		rv = AGORA_EPROTO;
	}
	agora_buf_fini(&req);
	agora_buf_fini(&reply);
	return rv;
}

/* ---- events ----------------------------------------------------------- */

struct remote_ev {
	char type;
	char *text;
	size_t len;
};

static void
remote_ev_free(void *arg)
{
	struct remote_ev *ev = arg;

	agora_free(ev->text);
	agora_free(ev);
}

/* On the step's thread: what the server said of one turn. */
static void
remote_apply(void *state, agora_turn *t, void *arg)
{
	struct remote_ev *ev = arg;

	(void)state;
	switch (ev->type) {
	case 'c':
		agora_turn_emit(t, ev->text, ev->len);
		break;
	case 'e':
	case 'a':
		/* Stored and acknowledged by the server already. */
		agora_turn_done(t);
		break;
	case 'l':
		t->lost = true;
		t->drained = true; /* its inflight messages go back */
		agora_turn_fail(t, "%s", ev->text);
		break;
	default:
		agora_turn_fail(t, "%s",
		                ev->text != NULL ? ev->text : "failed");
		break;
	}
}

static void
post_event(agora_turn *t, char type, const char *text, size_t len)
{
	struct remote_ev *ev = agora_calloc(1, sizeof(*ev));

	ev->type = type;
	if (text != NULL) {
		ev->text = agora_strndup(text, len);
		ev->len = len;
	}
	agora_turn_post(t, remote_apply, ev, remote_ev_free);
}

/* Under s->lock. */
static struct dispatch *
dispatch_find(struct remote_srv *s, const char *sid, struct dispatch ***prev)
{
	for (struct dispatch **pp = &s->ds; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->sid, sid) == 0) {
			if (prev != NULL) {
				*prev = pp;
			}
			return *pp;
		}
	}
	return NULL;
}

static void
dispatch_unlink(struct remote_srv *s, struct dispatch *d)
{
	struct dispatch **pp = NULL;

	if (dispatch_find(s, d->sid, &pp) != NULL) {
		*pp = d->next;
	}
	agora_free(d->turns);
	agora_free(d->ended);
	agora_free(d);
}

/* Fail every turn of d not ended yet (under s->lock), then drop d. */
void
dispatch_fail(struct remote_srv *s, struct dispatch *d, char type,
              const char *why)
{
	for (size_t i = 0; i < d->n; i++) {
		if (!d->ended[i]) {
			post_event(d->turns[i], type, why, strlen(why));
		}
	}
	dispatch_unlink(s, d);
}

static void
event_apply(struct remote_srv *s, const agora_json *e)
{
	const char *sid = agora_json_str(agora_json_get(e, "s"));
	const char *t = agora_json_str(agora_json_get(e, "t"));
	const agora_json *c = agora_json_get(e, "c");
	const char *task = agora_json_str(agora_json_get(e, "k"));
	struct dispatch *d = sid ? dispatch_find(s, sid, NULL) : NULL;
	int64_t i;

	if (task != NULL && t != NULL && agora_json_str(c) != NULL) {
		remote_futures_event(s, task, t[0] == 'r', agora_json_str(c),
		                     strlen(agora_json_str(c)));
		return;
	}
	if (d == NULL || t == NULL) {
		return; /* a step we gave up on */
	}
	if (t[0] == 'd') {
		dispatch_fail(s, d, 'x',
		              agora_json_str(c) ? agora_json_str(c)
		                                : "the server ended the step "
		                                  "without this agent's reply");
		return;
	}
	if (!agora_json_int(agora_json_get(e, "i"), 0, (int64_t)d->n - 1, &i) ||
	    d->ended[i]) {
		return;
	}
	if (t[0] != 'c') {
		d->ended[i] = true;
		d->left--;
	}
	post_event(d->turns[i], t[0], agora_json_str(c),
	           agora_json_str(c) ? strlen(agora_json_str(c)) : 0);
	if (d->left == 0) {
		dispatch_unlink(s, d);
	}
}

/* One group of events, unless seen already (a resent poll). */
static void
group_apply(struct remote_srv *s, const agora_json *g)
{
	int64_t q = 0;

	(void)agora_json_int(agora_json_get(g, "q"), 0, INT64_MAX, &q);
	if ((uint64_t)q <= s->acked) {
		return;
	}
	s->acked = (uint64_t)q;
	for (const agora_json *e = agora_json_first(agora_json_get(g, "g"));
	     e != NULL; e = agora_json_next(e)) {
		event_apply(s, e);
	}
}

/* A long poll got no answer at all (a server answers one within its
 * wait_ms even while its agents work): the server is stopped or cut off,
 * which no connection drop reports. Its turns fail now and their messages
 * go back, as for a dead server (under s->lock). */
static void
srv_unresponsive(struct remote_srv *s)
{
	char why[600];

	snprintf(why, sizeof(why),
	         "agent server %s stopped answering (no reply in %lld ms)",
	         s->url, (long long)(WAIT_MS + s->c->server_timeout_ms));
	s->down = true;
	while (s->ds != NULL) {
		dispatch_fail(s, s->ds, 'l', why);
	}
	remote_futures_fail(s, why);
	agora_log(AGORA_LOG_WARN, "remote", "%s", why);
}

/* A long poll came back: its events, in order, then the next poll. */
static void
wait_done(void *arg, agora_err rv, const char *data, size_t len)
{
	struct remote_srv *s = arg;
	agora_json *doc = NULL;
	const agora_json *res, *evs;
	char err[200];

	if (rv == AGORA_ECANCELED) {
		return; /* closing */
	}
	pthread_mutex_lock(&s->lock);
	s->waiting = false;
	if (rv == AGORA_OK &&
	    agora_json_parse(&doc, data, len, AGORA_TP_MAX_MSG, REPLY_MAX_DEPTH,
	                     err, sizeof(err)) == AGORA_OK &&
	    (res = reply_results(doc, 1, err, sizeof(err))) != NULL) {
		evs = agora_json_get(agora_json_at(res, 0), "events");
		for (const agora_json *g = agora_json_first(evs); g != NULL;
		     g = agora_json_next(g)) {
			group_apply(s, g);
		}
	}
	agora_json_free(doc);
	if (rv == AGORA_ETIMEDOUT) {
		srv_unresponsive(s);
	}
	if ((s->ds != NULL || s->futs != NULL) && !s->down) {
		remote_wait_send(s);
	}
	pthread_mutex_unlock(&s->lock);
}

/* Keep one long poll out (under s->lock). */
void
remote_wait_send(struct remote_srv *s)
{
	agora_buf req;

	if (s->waiting) {
		return;
	}
	agora_buf_init(&req, 0);
	remote_envelope(s, &req);
	(void)agora_buf_addf(&req,
	                     "{\"op\":\"wait\",\"epoch\":\"%s\",\"ack\":%llu,"
	                     "\"wait_ms\":%d}]}",
	                     s->epoch, (unsigned long long)s->acked, WAIT_MS);
	if (agora_link_request(s->link, req.data, req.len,
	                       WAIT_MS + s->c->server_timeout_ms, wait_done,
	                       s) == AGORA_OK) {
		s->waiting = true;
	}
	agora_buf_fini(&req);
}

/* The connection to the server ended (a transport thread). */
static void
srv_down(void *arg)
{
	struct remote_srv *s = arg;
	char why[600];

	snprintf(why, sizeof(why), "agent server %s died or closed", s->url);
	pthread_mutex_lock(&s->lock);
	s->down = true;
	while (s->ds != NULL) {
		dispatch_fail(s, s->ds, 'l', why);
	}
	remote_futures_fail(s, why);
	pthread_mutex_unlock(&s->lock);
	agora_log(AGORA_LOG_WARN, "remote", "%s", why);
}

/* ---- servers ---------------------------------------------------------- */

static uint64_t remote_nclients;

struct remote_srv *
remote_srv_new(agora_center *c, const char *url, char *err, size_t errlen)
{
	struct remote_srv *s = agora_calloc(1, sizeof(*s));

	if (agora_link_open(&s->link, url, err, errlen) != AGORA_OK) {
		agora_free(s);
		return NULL;
	}
	s->c = c;
	s->url = agora_strdup(url);
	agora_buf_init(&s->callq, AGORA_TP_MAX_MSG);
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->client, sizeof(s->client), "c%d-%llx-%llu", (int)getpid(),
	         (unsigned long long)agora_now_us(),
	         (unsigned long long)__atomic_add_fetch(&remote_nclients, 1,
	                                                __ATOMIC_RELAXED));
	agora_link_on_down(s->link, srv_down, s);
	c->srvs = agora_realloc(c->srvs,
	                        (c->nsrvs + 1) * sizeof(struct remote_srv *));
	c->srvs[c->nsrvs++] = s;
	return s;
}

void
remote_srv_free(struct remote_srv *s)
{
	agora_link_close(s->link);
	while (s->ds != NULL) {
		dispatch_unlink(s, s->ds);
	}
	remote_futures_fail(s, "the center was freed");
	remote_futures_drop_queue(s);
	agora_buf_fini(&s->callq);
	if (s->proc != NULL) {
		agora_proc_stop(s->proc, 1000);
		agora_proc_free(s->proc);
	}
	if (s->ipc_path != NULL) {
		unlink(s->ipc_path);
	}
	pthread_mutex_destroy(&s->lock);
	agora_free(s->ipc_path);
	agora_free(s->url);
	agora_free(s);
}

void
agora__remote_free_all(agora_center *c)
{
	for (size_t i = 0; i < c->nsrvs; i++) {
		remote_srv_free(c->srvs[i]);
	}
	agora_free(c->srvs);
	c->srvs = NULL;
	c->nsrvs = 0;
}

/* ---- steps ------------------------------------------------------------ */

static void
step_sent(void *arg, agora_err rv, const char *data, size_t len)
{
	struct dispatch_ref *ref = arg;
	struct remote_srv *s = ref->s;
	agora_json *doc = NULL;
	const agora_json *res;
	char err[300] = "";

	if (rv == AGORA_ECANCELED) {
		agora_free(ref);
		return;
	}
	if (rv == AGORA_OK &&
	    agora_json_parse(&doc, data, len, AGORA_TP_MAX_MSG, REPLY_MAX_DEPTH,
	                     err, sizeof(err)) == AGORA_OK &&
	    (res = reply_results(doc, 1, err, sizeof(err))) != NULL &&
	    !agora_json_bool(agora_json_get(agora_json_at(res, 0), "ok"))) {
		snprintf(err, sizeof(err), "agent server %s: %s", s->url,
		         agora_json_str(
		             agora_json_get(agora_json_at(res, 0), "error")));
	} else if (rv != AGORA_OK) {
		snprintf(err, sizeof(err), "agent server %s: %s", s->url,
		         agora_strerror(rv));
	}
	if (err[0] != '\0') {
		pthread_mutex_lock(&s->lock);
		struct dispatch *d = dispatch_find(s, ref->sid, NULL);
		if (d != NULL) {
			dispatch_fail(s, d, rv == AGORA_OK ? 'x' : 'l', err);
		}
		pthread_mutex_unlock(&s->lock);
	}
	agora_json_free(doc);
	agora_free(ref);
}

static void
step_op(const agora_step *st, const struct dispatch *d, agora_buf *b)
{
	int64_t left = st->deadline - agora_now_ms();

	(void)agora_buf_addf(
	    b, "{\"op\":\"step\",\"sid\":\"%s\",\"session\":", d->sid);
	(void)agora_buf_json_str(b, st->c->session, strlen(st->c->session));
	(void)agora_buf_adds(b, ",\"redis\":");
	(void)agora_buf_json_str(b, agora_center_redis_url(st->c),
	                         strlen(agora_center_redis_url(st->c)));
	(void)agora_buf_addf(b, ",\"deadline_ms\":%lld,\"roles\":[",
	                     (long long)(left > 1 ? left : 1));
	for (size_t i = 0; i < d->n; i++) {
		(void)agora_buf_adds(b, i ? "," : "");
		(void)agora_buf_json_str(b, d->turns[i]->agent->role,
		                         strlen(d->turns[i]->agent->role));
	}
	(void)agora_buf_adds(b, "],\"send_to\":[");
	for (size_t i = 0; i < st->send_to.n; i++) {
		(void)agora_buf_adds(b, i ? "," : "");
		(void)agora_buf_json_str(b, st->send_to.v[i],
		                         strlen(st->send_to.v[i]));
	}
	(void)agora_buf_adds(b, "],\"llm_args\":");
	(void)agora_buf_json_str(b, st->llm_args, strlen(st->llm_args));
	if (st->task != NULL) {
		(void)agora_buf_adds(b, ",\"task\":");
		(void)agora_buf_json_str(b, st->task, strlen(st->task));
	}
	(void)agora_buf_adds(b, "}");
}

/* One step request for the n turns of one server. */
static void
step_send(agora_step *st, struct remote_srv *s, agora_turn **turns, size_t n)
{
	struct dispatch *d = agora_calloc(1, sizeof(*d));
	struct dispatch_ref *ref = agora_calloc(1, sizeof(*ref));
	agora_buf req;
	agora_err rv;

	d->st = st;
	d->turns = agora_calloc(n, sizeof(agora_turn *));
	d->ended = agora_calloc(n, sizeof(bool));
	memcpy(d->turns, turns, n * sizeof(agora_turn *));
	d->n = d->left = n;
	snprintf(d->sid, sizeof(d->sid), "%s.%llu", s->client,
	         (unsigned long long)++st->c->dispatches);
	ref->s = s;
	snprintf(ref->sid, sizeof(ref->sid), "%s", d->sid);
	agora_buf_init(&req, AGORA_TP_MAX_MSG);
	remote_envelope(s, &req);
	step_op(st, d, &req);
	rv = agora_buf_adds(&req, "]}");
	pthread_mutex_lock(&s->lock);
	d->next = s->ds;
	s->ds = d;
	if (rv == AGORA_OK) {
		rv =
		    agora_link_request(s->link, req.data, req.len,
		                       s->c->server_timeout_ms, step_sent, ref);
	}
	if (rv != AGORA_OK) {
		dispatch_fail(s, d, 'x', "the step request is too large");
		agora_free(ref);
	} else {
		remote_wait_send(s);
	}
	pthread_mutex_unlock(&s->lock);
	agora_buf_fini(&req);
}

void
agora__remote_start(agora_step *st, agora_turn **turns, size_t n)
{
	agora_center *c = st->c;
	agora_turn **mine = agora_calloc(n + 1, sizeof(agora_turn *));

	for (size_t i = 0; i < n; i++) {
		turns[i]->remote = true;
		turns[i]->lost = false;
		turns[i]->state = TURN_RUNNING;
		st->open++;
		pthread_mutex_lock(&st->lock);
		turns[i]->gen++;
		pthread_mutex_unlock(&st->lock);
	}
	/* Group by server; each server gets one request. */
	for (size_t k = 0; k < c->nsrvs; k++) {
		struct remote_srv *s = c->srvs[k];
		size_t m = 0;
		for (size_t i = 0; i < n; i++) {
			if (turns[i]->agent->srv == s) {
				mine[m++] = turns[i];
			}
		}
		if (m == 0) {
			continue;
		}
		if (remote_srv_ready(s) != AGORA_OK) {
			for (size_t i = 0; i < m; i++) {
				post_event(mine[i], 'x', s->why,
				           strlen(s->why));
			}
			continue;
		}
		step_send(st, s, mine, m);
	}
	agora_free(mine);
}

void
agora__remote_detach(agora_step *st)
{
	agora_center *c = st->c;

	for (size_t k = 0; k < c->nsrvs; k++) {
		struct remote_srv *s = c->srvs[k];
		pthread_mutex_lock(&s->lock);
		for (struct dispatch *d = s->ds, *next; d != NULL; d = next) {
			next = d->next;
			if (d->st == st) {
				dispatch_unlink(s, d);
			}
		}
		pthread_mutex_unlock(&s->lock);
	}
}
