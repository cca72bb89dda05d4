/* SPDX-License-Identifier: MIT */
/* The call op: a direct call names its task id, made by the caller
 * ("<client>.<n>", the client part random per process), so a caller can
 * hand the future to another agent before it resolves, and ids never repeat
 * across restarts of either side. A resent call is answered from the task
 * table, never run twice. A call's input is text, or a future: the id and
 * address of another task, which this server fetches from that server
 * itself before queueing the call on its session's host.
 *
 * Calls to one agent are queued on its host in the order they arrived
 * (a caller sends its next batch only once this one is answered, so that
 * is the order it made them): a call waiting for its input future holds
 * the later calls to the same agent behind it, and they follow it into
 * the queue once it goes. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "server_int.h"

#define FETCH_MAX_MS 60000
/* A call op answers with the result if the call runs within this. */
#define CALL_ANSWER_MS 1000

/* Queue a task's call on its session's host (under srv->lock). */
static void
task_queue_call(struct server *srv, struct task *t)
{
	struct host *h = host_get_locked(srv, t->redis, t->session);
	struct job *j;

	if (h == NULL) {
		const char *why = "bad session id or redis url";
		task_finish(srv, t, false, why, strlen(why));
		return;
	}
	j = agora_calloc(1, sizeof(*j));
	j->run = host_calls;
	j->batch = true;
	j->task = t;
	t->state = TASK_QUEUED;
	host_push_locked(h, j);
}

/* ---- the order of an agent's calls (under srv->lock) ------------------ */

static bool
same_agent(const struct task *a, const struct task *b)
{
	return strcmp(a->role, b->role) == 0 &&
	       strcmp(a->session, b->session) == 0 &&
	       strcmp(a->redis, b->redis) == 0;
}

/* The last call to t's agent that is not queued yet, or NULL. */
static struct task **
tail_find(struct server *srv, const struct task *t)
{
	for (struct task **pp = &srv->tails; *pp != NULL;
	     pp = &(*pp)->tail_next) {
		if (same_agent(*pp, t)) {
			return pp;
		}
	}
	return NULL;
}

/* t is not queued now: later calls to its agent wait behind it. */
static void
tail_set(struct server *srv, struct task *t)
{
	struct task **pp = tail_find(srv, t);

	if (pp != NULL) {
		struct task *old = *pp;
		*pp = old->tail_next;
		old->tail_next = NULL;
	}
	t->tail_next = srv->tails;
	srv->tails = t;
}

static void
tail_drop(struct server *srv, struct task *t)
{
	for (struct task **pp = &srv->tails; *pp != NULL;
	     pp = &(*pp)->tail_next) {
		if (*pp == t) {
			*pp = t->tail_next;
			t->tail_next = NULL;
			return;
		}
	}
}

/* t may go (its input is here, or it failed, and nothing is ahead of
 * it): queue it, then the calls held behind it that may go too. */
static void
chain_release(struct server *srv, struct task *t)
{
	while (t != NULL) {
		struct task *next = t->after;
		if (t->state == TASK_WAITING) {
			task_queue_call(srv, t);
		}
		tail_drop(srv, t);
		t->after = NULL;
		if (next == NULL) {
			return;
		}
		next->held = false;
		if (next->content == NULL && next->state == TASK_WAITING) {
			return; /* it waits for its own input; it goes then */
		}
		t = next;
	}
}

/* ---- futures as inputs: fetched from the producing server ------------- */

static void input_fetch(struct server *srv, struct task *t);

static void
input_fetched(void *arg, agora_err rv, const char *data, size_t len)
{
	struct task *t = arg;
	struct server *srv = t->srv;
	agora_json *doc = NULL;
	const agora_json *r = NULL;
	char perr[200] = "a reply without results", why[700];

	if (rv == AGORA_ECANCELED) {
		return;
	}
	if (rv == AGORA_OK &&
	    agora_json_parse(&doc, data, len, AGORA_TP_MAX_MSG, 32, perr,
	                     sizeof(perr)) == AGORA_OK) {
		r = agora_json_at(agora_json_get(doc, "results"), 0);
	}
	pthread_mutex_lock(&srv->lock);
	if (r != NULL && agora_json_bool(agora_json_get(r, "pending"))) {
		input_fetch(srv, t); /* not ready yet: ask again */
	} else if (r != NULL && agora_json_bool(agora_json_get(r, "ok"))) {
		t->content =
		    agora_strdup(agora_json_str(agora_json_get(r, "content")));
		if (!t->held) {
			chain_release(srv, t);
		}
	} else {
		snprintf(why, sizeof(why), "input future %s@%s: %s",
		         t->future_task, t->future_url,
		         r != NULL ? agora_json_str(agora_json_get(r, "error"))
		         : rv != AGORA_OK ? agora_strerror(rv)
		                          : perr);
		task_finish(srv, t, false, why, strlen(why));
		if (!t->held) {
			chain_release(srv, t); /* the calls behind it go */
		}
	}
	pthread_mutex_unlock(&srv->lock);
	agora_json_free(doc);
}

static agora_link *
peer_link(struct server *srv, const char *url)
{
	char err[200];

	for (size_t i = 0; i < srv->npeers; i++) {
		if (strcmp(agora_link_url(srv->peers[i]), url) == 0) {
			return srv->peers[i];
		}
	}
	srv->peers =
	    agora_realloc(srv->peers, (srv->npeers + 1) * sizeof(agora_link *));
	if (agora_link_open(&srv->peers[srv->npeers], url, err, sizeof(err)) !=
	    AGORA_OK) {
		return NULL;
	}
	return srv->peers[srv->npeers++];
}

static void
input_fetch(struct server *srv, struct task *t)
{
	agora_link *l = peer_link(srv, t->future_url);
	agora_buf req;
	agora_err rv = AGORA_ECLOSED;

	agora_buf_init(&req, 0);
	(void)agora_buf_addf(&req, "{\"v\":%d,", AGORA_PROTOCOL_VERSION);
	if (srv->has_token) {
		/* Servers of one deployment share the token. */
		(void)agora_buf_adds(&req, "\"token\":");
		(void)agora_buf_json_str(&req, srv->token, strlen(srv->token));
		(void)agora_buf_adds(&req, ",");
	}
	(void)agora_buf_adds(&req, "\"ops\":[{\"op\":\"fetch\",\"task\":");
	(void)agora_buf_json_str(&req, t->future_task, strlen(t->future_task));
	(void)agora_buf_addf(&req, ",\"wait_ms\":%d}]}", FETCH_MAX_MS / 2);
	if (l != NULL) {
		rv = agora_link_request(l, req.data, req.len, FETCH_MAX_MS,
		                        input_fetched, t);
	}
	agora_buf_fini(&req);
	if (rv != AGORA_OK) {
		char why[600];
		snprintf(why, sizeof(why),
		         "input future %s@%s: cannot reach it", t->future_task,
		         t->future_url);
		task_finish(srv, t, false, why, strlen(why));
		if (!t->held) {
			chain_release(srv, t);
		}
	}
}

/* ---- the op ---------------------------------------------------------- */

static const char *
call_parse(struct task *t, const agora_json *op)
{
	const agora_json *fut = agora_json_get(op, "future");
	const char *content = agora_json_str(agora_json_get(op, "content"));
	const char *from = agora_json_str(agora_json_get(op, "sent_from"));

	t->session =
	    agora_strdup(agora_json_str(agora_json_get(op, "session")));
	t->redis = agora_strdup(agora_json_str(agora_json_get(op, "redis")));
	t->role = agora_strdup(agora_json_str(agora_json_get(op, "role")));
	t->sent_from = agora_strdup(from != NULL ? from : "user");
	if (t->session == NULL || t->redis == NULL || t->role == NULL) {
		return "call needs \"session\", \"redis\" and \"role\"";
	}
	if (content != NULL) {
		t->content = agora_strdup(content);
		return NULL;
	}
	if (!task_id_ok(agora_json_str(agora_json_get(fut, "task"))) ||
	    agora_json_str(agora_json_get(fut, "url")) == NULL) {
		return "call needs \"content\", or \"future\": {url, task}";
	}
	snprintf(t->future_task, sizeof(t->future_task), "%s",
	         agora_json_str(agora_json_get(fut, "task")));
	snprintf(t->future_url, sizeof(t->future_url), "%s",
	         agora_json_str(agora_json_get(fut, "url")));
	return NULL;
}

/* How long the call op may wait for the call to run before it is
 * answered "pending": the caller's "answer_ms" (a share of its request
 * timeout), at most CALL_ANSWER_MS. */
static int64_t
call_answer_ms(const agora_json *op)
{
	int64_t ms = CALL_ANSWER_MS;

	(void)agora_json_int(agora_json_get(op, "answer_ms"), 0, CALL_ANSWER_MS,
	                     &ms);
	return ms;
}

/* A new call (under srv->lock): queued now if nothing is ahead of it and
 * its input is here; else answered "pending" and held. */
static void
call_start(struct server *srv, struct task *t, struct pending *p, size_t i,
           int64_t answer_ms)
{
	struct task **tail = tail_find(srv, t);

	t->call = p;
	t->call_op = i;
	t->state = TASK_WAITING;
	if (tail != NULL) {
		(*tail)->after = t;
		t->held = true;
	}
	if (t->held || t->content == NULL) {
		tail_set(srv, t);
		task_release_call(t);
	}
	if (t->content == NULL) {
		input_fetch(srv, t);
	} else if (!t->held) {
		if (t->client[0] != '\0') {
			task_await_run(srv, t, answer_ms);
		}
		task_queue_call(srv, t);
	}
}

void
op_call(struct server *srv, struct pending *p, size_t i, const agora_json *op)
{
	const char *id = agora_json_str(agora_json_get(op, "task"));
	struct task *t;
	const char *why;

	if (!task_id_ok(id)) {
		srv_error(p, i, AGORA_EINVAL,
		          "call needs \"task\", an id of up to %d of "
		          "A-Z a-z 0-9 _ - . @ : /",
		          TASK_ID_MAX - 1);
		return;
	}
	pthread_mutex_lock(&srv->lock);
	t = task_find(srv, id);
	if (t != NULL && t->state != TASK_EXPECTED) {
		/* A resent call: never run twice. */
		srv_result(p, i, task_answer(t));
	} else if (t == NULL && srv->ntasks >= TASK_MAX) {
		srv_error(p, i, AGORA_ETOOBIG, "too many tasks kept (%d)",
		          TASK_MAX);
	} else {
		/* New, or only fetched so far: its fetchers get the result. */
		if (t == NULL) {
			t = task_add(srv, id);
		}
		t->srv = srv;
		if (agora_json_bool(agora_json_get(op, "notify"))) {
			snprintf(t->client, sizeof(t->client), "%s", p->client);
		}
		why = call_parse(t, op);
		if (why != NULL) {
			task_finish(srv, t, false, why, strlen(why));
			srv_error(p, i, AGORA_EINVAL, "%s", why);
		} else {
			call_start(srv, t, p, i, call_answer_ms(op));
		}
	}
	pthread_mutex_unlock(&srv->lock);
}

void
call_peers_close(struct server *srv)
{
	for (size_t i = 0; i < srv->npeers; i++) {
		agora_link_close(srv->peers[i]);
	}
	agora_free(srv->peers);
	srv->peers = NULL;
	srv->npeers = 0;
}
