/* SPDX-License-Identifier: MIT */
/* The remote backend: turns of agents that live on agent servers.
 *
 * A round sends one step request per server naming all its acting roles
 * (several when they would not fit under the server's request size);
 * the server drains, runs and publishes them itself, and their frames come
 * back as events through the server's link (routed by the request's sid),
 * which are posted to the step's thread as they arrive, so a slow agent
 * never holds back another. When a server is lost mid-step its turns fail
 * at once as lost: the messages they had drained go back and the agents
 * are marked offline; a child server is started again, and its agents
 * created again, on the next use (place.c). */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "agora/server.h"
#include "server_link.h"

#define REPLY_MAX_DEPTH 32

/* The turns one step request asked a server for. */
struct dispatch {
	struct route route; /* id: the request's sid */
	struct server_link *s;
	agora_step *st;
	agora_turn **turns; /* index = position in the request */
	bool *ended;
	size_t n, left;
};

/* What the step request's reply callback needs to find its dispatch. */
struct dispatch_ref {
	struct server_link *s;
	char sid[ROUTE_ID_MAX];
};

/* ---- events, posted to the step's thread ------------------------------ */

struct remote_ev {
	char type;
	char *text;
	size_t len;
	char finish[32];   /* an end: why the model stopped */
	int64_t tokens[3]; /* ... and its tokens; -1 unknown */
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
		agora_turn_set_usage(t, ev->finish, ev->tokens[0],
		                     ev->tokens[1], ev->tokens[2]);
		agora_turn_done(t);
		break;
	case 'l':
		agora__turn_lost(t, ev->text);
		break;
	default:
		agora_turn_fail(t, "%s",
		                ev->text != NULL ? ev->text : "failed");
		break;
	}
}

/* Post what the server said of turn t (e, the event, gives an end's
 * finish and tokens; may be NULL). */
static void
post_event_from(agora_turn *t, char type, const char *text, size_t len,
                const agora_json *e)
{
	struct remote_ev *ev = agora_calloc(1, sizeof(*ev));
	const agora_json *u = agora_json_get(e, "u");
	const char *finish = agora_json_str(agora_json_get(e, "f"));

	ev->type = type;
	if (text != NULL) {
		ev->text = agora_strndup(text, len);
		ev->len = len;
	}
	snprintf(ev->finish, sizeof(ev->finish), "%s",
	         finish != NULL ? finish : "");
	for (size_t k = 0; k < 3; k++) {
		ev->tokens[k] = -1;
		(void)agora_json_int(agora_json_at(u, k), -1, INT64_MAX / 4,
		                     &ev->tokens[k]);
	}
	agora_turn_post(t, remote_apply, ev, remote_ev_free);
}

static void
post_event(agora_turn *t, char type, const char *text, size_t len)
{
	post_event_from(t, type, text, len, NULL);
}

/* ---- dispatches (under the link's lock) ------------------------------- */

static void
dispatch_free(struct dispatch *d)
{
	agora_free(d->turns);
	agora_free(d->ended);
	agora_free(d);
}

/* Off the link, and freed. */
static void
dispatch_drop(struct dispatch *d)
{
	link_route_remove(d->s, &d->route);
	dispatch_free(d);
}

/* Fail every turn of d not ended yet, then drop d. */
static void
dispatch_fail(struct dispatch *d, char type, const char *why)
{
	for (size_t i = 0; i < d->n; i++) {
		if (!d->ended[i]) {
			post_event(d->turns[i], type, why, strlen(why));
		}
	}
	dispatch_drop(d);
}

static void
dispatch_lost(void *arg, const char *why)
{
	struct dispatch *d = arg;

	/* The route is off already. */
	for (size_t i = 0; i < d->n; i++) {
		if (!d->ended[i]) {
			post_event(d->turns[i], 'l', why, strlen(why));
		}
	}
	dispatch_free(d);
}

static void
dispatch_event(void *arg, const agora_json *e)
{
	struct dispatch *d = arg;
	const char *t = agora_json_str(agora_json_get(e, "t"));
	const char *c = agora_json_str(agora_json_get(e, "c"));
	int64_t i;

	if (t == NULL) {
		return;
	}
	if (t[0] == 'd') {
		dispatch_fail(d, 'x',
		              c != NULL ? c
		                        : "the server ended the step without "
		                          "this agent's reply");
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
	post_event_from(d->turns[i], t[0], c, c != NULL ? strlen(c) : 0, e);
	if (d->left == 0) {
		dispatch_drop(d);
	}
}

static struct dispatch *
dispatch_find(struct server_link *s, const char *sid)
{
	for (struct route *r = s->routes; r != NULL; r = r->next) {
		if (r->on_event == dispatch_event && strcmp(r->id, sid) == 0) {
			return r->arg;
		}
	}
	return NULL;
}

/* ---- step requests ---------------------------------------------------- */

static void
step_sent(void *arg, agora_err rv, const char *data, size_t len)
{
	struct dispatch_ref *ref = arg;
	struct server_link *s = ref->s;
	agora_json *doc = NULL;
	const agora_json *res = NULL;
	char err[300] = "";

	if (rv == AGORA_ECANCELED) {
		agora_free(ref);
		return;
	}
	if (rv == AGORA_OK &&
	    agora_json_parse(&doc, data, len, AGORA_TP_MAX_MSG, REPLY_MAX_DEPTH,
	                     err, sizeof(err)) == AGORA_OK) {
		res = link_results(doc, 1, err, sizeof(err));
	}
	if (res != NULL &&
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
		struct dispatch *d = dispatch_find(s, ref->sid);
		if (d != NULL) {
			dispatch_fail(d, rv == AGORA_OK ? 'x' : 'l', err);
		}
		pthread_mutex_unlock(&s->lock);
	}
	agora_json_free(doc);
	agora_free(ref);
}

static void
step_op(const agora_step *st, const char *sid, agora_turn *const *turns,
        size_t n, agora_buf *b)
{
	const char *redis = agora_redis_url(st->c->redis);
	int64_t left = st->deadline - agora_now_ms();

	(void)agora_buf_addf(
	    b, "{\"op\":\"step\",\"sid\":\"%s\",\"session\":", sid);
	(void)agora_buf_json_str(b, st->c->session, strlen(st->c->session));
	(void)agora_buf_adds(b, ",\"redis\":");
	(void)agora_buf_json_str(b, redis, strlen(redis));
	(void)agora_buf_addf(b, ",\"deadline_ms\":%lld,\"roles\":[",
	                     (long long)(left > 1 ? left : 1));
	for (size_t i = 0; i < n; i++) {
		const char *role = agora_turn_role(turns[i]);
		(void)agora_buf_adds(b, i ? "," : "");
		(void)agora_buf_json_str(b, role, strlen(role));
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

static struct dispatch *
dispatch_new(agora_step *st, struct server_link *s, agora_turn **turns,
             size_t n)
{
	struct dispatch *d = agora_calloc(1, sizeof(*d));

	d->s = s;
	d->st = st;
	d->turns = agora_calloc(n, sizeof(agora_turn *));
	d->ended = agora_calloc(n, sizeof(bool));
	memcpy(d->turns, turns, n * sizeof(agora_turn *));
	d->n = d->left = n;
	snprintf(d->route.id, sizeof(d->route.id), "%s.%llu", s->client,
	         (unsigned long long)++st->c->dispatches);
	d->route.on_event = dispatch_event;
	d->route.on_lost = dispatch_lost;
	d->route.arg = d;
	return d;
}

/* One step request for the n turns of one server, or several when one
 * would be over the server's request size (halves until each fits). */
static void
step_send(agora_step *st, struct server_link *s, agora_turn **turns, size_t n)
{
	struct dispatch *d;
	struct dispatch_ref *ref;
	agora_buf req;
	agora_err rv;

	agora_buf_init(&req, AGORA_TP_MAX_MSG);
	link_envelope(s, &req);
	step_op(st, "", turns, n, &req);
	if (n > 1 && req.len + ROUTE_ID_MAX > link_request_max(s)) {
		agora_buf_fini(&req);
		step_send(st, s, turns, n / 2);
		step_send(st, s, turns + n / 2, n - n / 2);
		return;
	}
	d = dispatch_new(st, s, turns, n);
	ref = agora_calloc(1, sizeof(*ref));
	ref->s = s;
	snprintf(ref->sid, sizeof(ref->sid), "%s", d->route.id);
	agora_buf_reset(&req);
	link_envelope(s, &req);
	step_op(st, d->route.id, turns, n, &req);
	rv = agora_buf_adds(&req, "]}");
	pthread_mutex_lock(&s->lock);
	link_route_add(s, &d->route);
	if (s->down) {
		/* Lost since agora__place_ready looked: no poll goes to a
		 * server that is down, so its events would never come and
		 * the turns would wait for the step's deadline. */
		dispatch_fail(d, 'l', s->lost);
		agora_free(ref);
		pthread_mutex_unlock(&s->lock);
		agora_buf_fini(&req);
		return;
	}
	if (rv == AGORA_OK) {
		rv =
		    agora_link_request(s->link, req.data, req.len,
		                       s->c->server_timeout_ms, step_sent, ref);
	}
	if (rv != AGORA_OK) {
		char why[300];
		size_t max = agora_link_max(s->link);
		if (rv == AGORA_ETOOBIG && max > 0 && req.len > max) {
			snprintf(why, sizeof(why),
			         "the step request (%zu bytes) is over the "
			         "limit of agent server %s (%zu bytes)",
			         req.len, s->url, max);
		} else {
			snprintf(why, sizeof(why), "agent server %s: %s",
			         s->url, agora_strerror(rv));
		}
		dispatch_fail(d, 'x', why);
		agora_free(ref);
	} else {
		link_poll(s);
	}
	pthread_mutex_unlock(&s->lock);
	agora_buf_fini(&req);
}

/* ---- the backend ------------------------------------------------------ */

static void
remote_begin(agora_step *st, agora_turn **turns, size_t n)
{
	agora_center *c = st->c;
	agora_turn **mine = agora_calloc(n + 1, sizeof(agora_turn *));
	bool *down = agora_calloc(c->nsrvs + 1, sizeof(bool));

	for (size_t i = 0; i < n; i++) {
		turns[i]->stored_elsewhere = true;
		agora__turn_start(turns[i]);
	}
	/* Group by server; each server gets one request (or a few). The
	 * servers that are up get theirs first: bringing back one that is
	 * down can take server.timeout_ms (a stopped or cut-off host), and
	 * nobody else's turns wait for that. Which were down is read once, so
	 * a server lost meanwhile is not sent the step twice. */
	for (size_t k = 0; k < c->nsrvs; k++) {
		down[k] = link_is_down(c->srvs[k]);
	}
	for (size_t k = 0; k < 2 * c->nsrvs; k++) {
		struct server_link *s = c->srvs[k % c->nsrvs];
		size_t m = 0;
		if (down[k % c->nsrvs] != (k >= c->nsrvs)) {
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			if (turns[i]->agent->srv == s) {
				mine[m++] = turns[i];
			}
		}
		if (m == 0) {
			continue;
		}
		if (agora__place_ready(s) != AGORA_OK) {
			for (size_t i = 0; i < m; i++) {
				post_event(mine[i], 'x', s->why,
				           strlen(s->why));
			}
			continue;
		}
		step_send(st, s, mine, m);
	}
	agora_free(down);
	agora_free(mine);
}

static void
remote_cancel(agora_turn *t)
{
	(void)t; /* its server ends it; detach stops its events */
}

/* The step's requests still out hear nothing more. */
static void
remote_detach(agora_step *st)
{
	agora_center *c = st->c;

	for (size_t k = 0; k < c->nsrvs; k++) {
		struct server_link *s = c->srvs[k];
		pthread_mutex_lock(&s->lock);
		for (struct route *r = s->routes, *next; r != NULL; r = next) {
			struct dispatch *d = r->arg;
			next = r->next;
			if (r->on_event == dispatch_event && d->st == st) {
				dispatch_drop(d);
			}
		}
		pthread_mutex_unlock(&s->lock);
	}
}

const struct agora_backend agora__remote_backend = {
	.name = "agent server",
	.order = 0,
	.begin = remote_begin,
	.cancel = remote_cancel,
	.detach = remote_detach,
};
