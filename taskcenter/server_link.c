/* SPDX-License-Identifier: MIT */
/* One agent server as the TaskCenter sees it: a link (one nng connection)
 * with a client id, requests with the envelope and token, and a long poll
 * kept outstanding while anyone waits for events. Events come back in
 * groups, each acknowledged by seq on the next poll (a poll resent after a
 * lost reply brings them again; a group seen already is skipped), and each
 * event goes to the route registered under its id: a step request's sid or
 * a call's task id. When the connection drops, or a poll goes unanswered
 * (a stopped or cut-off server, which no connection drop reports), every
 * route hears that the server is lost. This file knows nothing of steps
 * or calls. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "agora/proc.h"
#include "agora/random.h"
#include "agora/server.h"
#include "agora/transport.h"
#include "server_link.h"

#define WAIT_MS 1000
/* A server given by address may still be starting: it has this long to
 * listen before "connection refused" is the answer. */
#define LINK_LISTEN_MS  1000
#define REPLY_MAX_DEPTH 32

/* ---- requests --------------------------------------------------------- */

void
link_envelope(const struct server_link *s, agora_buf *b)
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

const agora_json *
link_results(const agora_json *doc, size_t nops, char *err, size_t errlen)
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

agora_err
link_call(struct server_link *s, const char *ops, size_t nops,
          agora_json **docp, const agora_json **results, char *err,
          size_t errlen)
{
	return link_call_within(s, ops, nops, s->c->server_timeout_ms, docp,
	                        results, err, errlen);
}

agora_err
link_call_within(struct server_link *s, const char *ops, size_t nops,
                 int64_t timeout_ms, agora_json **docp,
                 const agora_json **results, char *err, size_t errlen)
{
	agora_buf req, reply;
	agora_err rv;

	*docp = NULL;
	agora_buf_init(&req, AGORA_TP_MAX_MSG);
	agora_buf_init(&reply, AGORA_TP_MAX_MSG);
	link_envelope(s, &req);
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
	if (rv == AGORA_OK) {
		*results = link_results(*docp, nops, err, errlen);
		if (*results == NULL) {
			rv = AGORA_EPROTO;
		}
	}
	agora_buf_fini(&req);
	agora_buf_fini(&reply);
	return rv;
}

/* ---- routes ----------------------------------------------------------- */

void
link_route_add(struct server_link *s, struct route *r)
{
	r->prev = NULL;
	r->next = s->routes;
	if (s->routes != NULL) {
		s->routes->prev = r;
	}
	s->routes = r;
}

void
link_route_remove(struct server_link *s, struct route *r)
{
	if (r->prev != NULL) {
		r->prev->next = r->next;
	} else if (s->routes == r) {
		s->routes = r->next;
	} else {
		return; /* not registered */
	}
	if (r->next != NULL) {
		r->next->prev = r->prev;
	}
	r->prev = r->next = NULL;
}

static struct route *
route_find(struct server_link *s, const char *id)
{
	for (struct route *r = s->routes; r != NULL; r = r->next) {
		if (strcmp(r->id, id) == 0) {
			return r;
		}
	}
	return NULL;
}

/* Down, and why (under s->lock): a step or call sent from now fails with
 * the reason (remote.c, call.c). */
static void
link_set_down(struct server_link *s, const char *why)
{
	s->down = true;
	snprintf(s->lost, sizeof(s->lost), "%s", why);
}

void
link_mark_down(struct server_link *s, const char *why)
{
	pthread_mutex_lock(&s->lock);
	link_set_down(s, why);
	pthread_mutex_unlock(&s->lock);
}

/* Every route hears the server is gone (under s->lock). */
static void
link_lost(struct server_link *s, const char *why)
{
	link_set_down(s, why);
	while (s->routes != NULL) {
		struct route *r = s->routes;
		link_route_remove(s, r);
		r->on_lost(r->arg, why);
	}
	agora_log(AGORA_LOG_WARN, "remote", "%s", why);
}

/* A new client id: random, so nobody can guess it, and the server binds it
 * to the connection that first uses it. */
static void
link_new_client(struct server_link *s)
{
	if (agora_random_hex(s->client, sizeof(s->client), 16) != AGORA_OK) {
		/* No kernel randomness: nothing is safe; be loud. */
		agora_log(AGORA_LOG_ERROR, "remote",
		          "no random bytes for a client id");
		snprintf(s->client, sizeof(s->client), "c%d-%llx",
		         (int)getpid(), (unsigned long long)agora_now_us());
	}
}

/* ---- events ----------------------------------------------------------- */

static void
event_route(struct server_link *s, const agora_json *e)
{
	const char *id = agora_json_str(agora_json_get(e, "s"));
	struct route *r;

	if (id == NULL) {
		id = agora_json_str(agora_json_get(e, "k"));
	}
	r = id != NULL ? route_find(s, id) : NULL;
	if (r != NULL) {
		r->on_event(r->arg, e); /* else: one we gave up on */
	}
}

/* One group of events, unless seen already (a resent poll). */
static void
group_apply(struct server_link *s, const agora_json *g)
{
	int64_t q = 0;

	(void)agora_json_int(agora_json_get(g, "q"), 0, INT64_MAX, &q);
	if ((uint64_t)q <= s->acked) {
		return;
	}
	s->acked = (uint64_t)q;
	for (const agora_json *e = agora_json_first(agora_json_get(g, "g"));
	     e != NULL; e = agora_json_next(e)) {
		event_route(s, e);
	}
}

/* One long poll out: which connection of the link it was sent on. */
struct poll_ref {
	struct server_link *s;
	uint64_t conn;
};

/* A long poll came back: its events, in order, then the next poll. */
static void
wait_done(void *arg, agora_err rv, const char *data, size_t len)
{
	struct poll_ref *p = arg;
	struct server_link *s = p->s;
	uint64_t conn = p->conn;
	agora_json *doc = NULL;
	const agora_json *res = NULL, *evs;
	char err[200];

	agora_free(p);
	if (rv == AGORA_ECANCELED) {
		return; /* closing */
	}
	pthread_mutex_lock(&s->lock);
	if (conn != s->conn) {
		/* Sent before the connection ended: nng sent it again on the
		 * next one (a restarted server), and its deadline ran from
		 * the first send. Its events and its silence are the old
		 * server's; a poll of this connection is out or will be. */
		pthread_mutex_unlock(&s->lock);
		return;
	}
	s->waiting = false;
	if (rv == AGORA_OK &&
	    agora_json_parse(&doc, data, len, AGORA_TP_MAX_MSG, REPLY_MAX_DEPTH,
	                     err, sizeof(err)) == AGORA_OK) {
		res = link_results(doc, 1, err, sizeof(err));
	}
	evs = agora_json_get(agora_json_at(res, 0), "events");
	for (const agora_json *g = agora_json_first(evs); g != NULL;
	     g = agora_json_next(g)) {
		group_apply(s, g);
	}
	agora_json_free(doc);
	if (rv == AGORA_ETIMEDOUT) {
		/* A server answers a poll within its wait_ms even while its
		 * agents work: this one is stopped or cut off. */
		char why[600];
		snprintf(why, sizeof(why),
		         "agent server %s stopped answering (no reply in "
		         "%lld ms)",
		         s->url,
		         (long long)(WAIT_MS + s->c->server_timeout_ms));
		link_lost(s, why);
	}
	link_poll(s);
	pthread_mutex_unlock(&s->lock);
}

void
link_poll(struct server_link *s)
{
	agora_buf req;
	struct poll_ref *p;

	if (s->waiting || s->down || s->routes == NULL) {
		return;
	}
	agora_buf_init(&req, 0);
	link_envelope(s, &req);
	(void)agora_buf_addf(&req,
	                     "{\"op\":\"wait\",\"epoch\":\"%s\",\"ack\":%llu,"
	                     "\"wait_ms\":%d}]}",
	                     s->epoch, (unsigned long long)s->acked, WAIT_MS);
	p = agora_calloc(1, sizeof(*p));
	p->s = s;
	p->conn = s->conn;
	if (agora_link_request(s->link, req.data, req.len,
	                       WAIT_MS + s->c->server_timeout_ms, wait_done,
	                       p) == AGORA_OK) {
		s->waiting = true;
	} else {
		agora_free(p);
	}
	agora_buf_fini(&req);
}

void
link_hello(struct server_link *s, const agora_json *alive)
{
	const char *epoch = agora_json_str(agora_json_get(alive, "epoch"));
	int64_t max = 0;

	if (agora_json_int(agora_json_get(alive, "max_request"), 1024,
	                   INT64_MAX, &max)) {
		agora_link_set_max(s->link, (size_t)max);
	}
	pthread_mutex_lock(&s->lock);
	if (epoch != NULL && strcmp(epoch, s->epoch) != 0) {
		snprintf(s->epoch, sizeof(s->epoch), "%s", epoch);
		s->acked = 0; /* a new server: its events start at 1 */
	}
	s->down = false;
	pthread_mutex_unlock(&s->lock);
}

bool
link_is_down(struct server_link *s)
{
	bool down;

	pthread_mutex_lock(&s->lock);
	down = s->down;
	pthread_mutex_unlock(&s->lock);
	return down;
}

size_t
link_request_max(struct server_link *s)
{
	size_t max = agora_link_max(s->link) / 4;

	return max > 0 && max < AGORA_CLIENT_REQUEST_MAX
	           ? max
	           : AGORA_CLIENT_REQUEST_MAX;
}

/* The connection to the server ended (a transport thread). */
static void
link_down(void *arg)
{
	struct server_link *s = arg;
	char why[600];

	snprintf(why, sizeof(why), "agent server %s died or closed", s->url);
	pthread_mutex_lock(&s->lock);
	link_lost(s, why);
	s->closed = true;
	/* A poll still out is the old connection's (wait_done): the next
	 * one goes out without waiting for it. */
	s->conn++;
	s->waiting = false;
	/* The server dropped the id with the connection: the next one gets a
	 * fresh id (and a fresh mailbox). */
	link_new_client(s);
	s->acked = 0;
	pthread_mutex_unlock(&s->lock);
}

/* ---- links ------------------------------------------------------------ */

struct server_link *
link_new(agora_center *c, const char *url, bool running, char *err,
         size_t errlen)
{
	struct server_link *s = agora_calloc(1, sizeof(*s));
	agora_err rv = running ? agora_link_open_now(
	                             &s->link, url, LINK_LISTEN_MS, err, errlen)
	                       : agora_link_open(&s->link, url, err, errlen);

	if (rv != AGORA_OK) {
		agora_free(s);
		return NULL;
	}
	s->c = c;
	s->url = agora_strdup(url);
	pthread_mutex_init(&s->lock, NULL);
	link_new_client(s);
	agora_link_on_down(s->link, link_down, s);
	c->srvs = agora_realloc(c->srvs,
	                        (c->nsrvs + 1) * sizeof(struct server_link *));
	c->srvs[c->nsrvs++] = s;
	return s;
}

void
link_free(struct server_link *s)
{
	/* Closing waits for the link's callbacks; routes are their owners'
	 * (steps and calls are gone before their center). */
	agora_link_close(s->link);
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
link_drop_last(agora_center *c, struct server_link *s)
{
	if (c->nsrvs > 0 && c->srvs[c->nsrvs - 1] == s) {
		c->nsrvs--;
	}
	link_free(s);
}

void
agora__links_close_all(agora_center *c)
{
	for (size_t i = 0; i < c->nsrvs; i++) {
		agora_link_close(c->srvs[i]->link);
		c->srvs[i]->link = NULL;
	}
}

void
agora__links_free_all(agora_center *c)
{
	for (size_t i = 0; i < c->nsrvs; i++) {
		link_free(c->srvs[i]);
	}
	agora_free(c->srvs);
	c->srvs = NULL;
	c->nsrvs = 0;
}
