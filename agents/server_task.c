/* SPDX-License-Identifier: MIT */
/* Tasks: direct calls and their results (the seeds' placeholders).
 *
 * A call names its task id, made by the caller ("<client>.<n>", the client
 * part random per process), so a caller can hand the future to another
 * agent before it resolves, and ids never repeat across restarts of either
 * side. A call's input is text, or a future: the id and address of another
 * task, which this server fetches from that server itself before running
 * the call. Results are kept TASK_TTL_MS after they are made (TASK_MAX at
 * most); any number of holders may fetch one, and an id not here is an
 * error that says so, never another task's result. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "server_int.h"

#define TASK_TTL_MS  (INT64_C(10) * 60 * 1000)
#define TASK_MAX     200000
#define TASK_BUCKETS (1u << 16)
#define FETCH_MAX_MS 60000
#define ID_CHARS                                                            \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-." \
	"@:/"

static uint64_t
task_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

/* Under srv->lock. */
struct task *
task_find(struct server *srv, const char *id)
{
	if (srv->tasks == NULL) {
		return NULL;
	}
	for (struct task *t = srv->tasks[task_hash(id) % TASK_BUCKETS];
	     t != NULL; t = t->next) {
		if (strcmp(t->id, id) == 0) {
			return t;
		}
	}
	return NULL;
}

static struct task *
task_add(struct server *srv, const char *id)
{
	struct task *t = agora_calloc(1, sizeof(*t));
	size_t b = task_hash(id) % TASK_BUCKETS;

	if (srv->tasks == NULL) {
		srv->tasks = agora_calloc(TASK_BUCKETS, sizeof(struct task *));
	}
	snprintf(t->id, sizeof(t->id), "%s", id);
	t->next = srv->tasks[b];
	srv->tasks[b] = t;
	srv->ntasks++;
	return t;
}

static void
task_free(struct task *t)
{
	agora_free(t->result);
	agora_free(t->session);
	agora_free(t->redis);
	agora_free(t->role);
	agora_free(t->content);
	agora_free(t->sent_from);
	agora_free(t);
}

/* The answer to a fetch of a finished task. */
static char *
task_answer(const struct task *t)
{
	agora_buf out;

	agora_buf_init(&out, 0);
	if (t->state == TASK_DONE) {
		(void)agora_buf_adds(&out, "{\"ok\":true,\"task\":");
		(void)agora_buf_json_str(&out, t->id, strlen(t->id));
		(void)agora_buf_adds(&out, ",\"content\":");
	} else {
		(void)agora_buf_adds(&out, "{\"ok\":false,\"code\":\"EAGENT\","
		                           "\"error\":");
	}
	(void)agora_buf_json_str(&out, t->result, strlen(t->result));
	(void)agora_buf_adds(&out, "}");
	return agora_buf_steal(&out);
}

static char *
pending_answer(const char *id)
{
	return agora_sprintf("{\"ok\":true,\"task\":\"%s\",\"pending\":true}",
	                     id);
}

/* A task's end (under srv->lock): the call op, if still unanswered, gets
 * the result; else the caller's mailbox does. Fetchers get it too. */
void
task_finish(struct server *srv, struct task *t, bool ok, const char *text,
            size_t len)
{
	t->state = ok ? TASK_DONE : TASK_FAILED;
	t->result = agora_strndup(text, len);
	t->done_ms = agora_now_ms();
	if (t->call != NULL) {
		srv_result(t->call, t->call_op, task_answer(t));
		t->call = NULL;
	} else if (t->client[0] != '\0') {
		agora_buf ev;
		agora_buf_init(&ev, 0);
		(void)agora_buf_addf(&ev,
		                     "{\"t\":\"%c\",\"k\":", ok ? 'r' : 'f');
		(void)agora_buf_json_str(&ev, t->id, strlen(t->id));
		(void)agora_buf_adds(&ev, ",\"c\":");
		(void)agora_buf_json_str(&ev, text, len);
		(void)agora_buf_adds(&ev, "}");
		box_push_locked(srv, t->client, agora_buf_steal(&ev));
	}
	for (size_t i = 0; i < t->nfetch; i++) {
		srv_result(t->fetch[i].p, t->fetch[i].op, task_answer(t));
	}
	t->nfetch = 0;
}

/* The call op has waited long enough: pending; the result will go to the
 * caller's mailbox. Under srv->lock. */
void
task_release_call(struct task *t)
{
	if (t->call != NULL) {
		srv_result(t->call, t->call_op, pending_answer(t->id));
		t->call = NULL;
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
		task_queue_call(srv, t);
	} else {
		snprintf(why, sizeof(why), "input future %s@%s: %s",
		         t->future_task, t->future_url,
		         r != NULL ? agora_json_str(agora_json_get(r, "error"))
		         : rv != AGORA_OK ? agora_strerror(rv)
		                          : perr);
		task_finish(srv, t, false, why, strlen(why));
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
	}
}

/* ---- ops -------------------------------------------------------------- */

static bool
id_ok(const char *id)
{
	return id != NULL && id[0] != '\0' && strlen(id) < TASK_ID_MAX &&
	       strspn(id, ID_CHARS) == strlen(id);
}

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
	if (!id_ok(agora_json_str(agora_json_get(fut, "task"))) ||
	    agora_json_str(agora_json_get(fut, "url")) == NULL) {
		return "call needs \"content\", or \"future\": {url, task}";
	}
	snprintf(t->future_task, sizeof(t->future_task), "%s",
	         agora_json_str(agora_json_get(fut, "task")));
	snprintf(t->future_url, sizeof(t->future_url), "%s",
	         agora_json_str(agora_json_get(fut, "url")));
	return NULL;
}

void
op_call(struct server *srv, struct pending *p, size_t i, const agora_json *op)
{
	const char *id = agora_json_str(agora_json_get(op, "task"));
	struct task *t;
	const char *why;

	if (!id_ok(id)) {
		srv_error(p, i, AGORA_EINVAL,
		          "call needs \"task\", an id of up to %d of "
		          "A-Z a-z 0-9 _ - . @ : /",
		          TASK_ID_MAX - 1);
		return;
	}
	pthread_mutex_lock(&srv->lock);
	if ((t = task_find(srv, id)) != NULL) {
		/* A resent call: never run twice. */
		srv_result(p, i,
		           t->state >= TASK_DONE ? task_answer(t)
		                                 : pending_answer(id));
	} else if (srv->ntasks >= TASK_MAX) {
		srv_error(p, i, AGORA_ETOOBIG, "too many tasks kept (%d)",
		          TASK_MAX);
	} else {
		t = task_add(srv, id);
		t->srv = srv;
		if (agora_json_bool(agora_json_get(op, "notify"))) {
			snprintf(t->client, sizeof(t->client), "%s", p->client);
		}
		why = call_parse(t, op);
		if (why != NULL) {
			task_finish(srv, t, false, why, strlen(why));
			srv_error(p, i, AGORA_EINVAL, "%s", why);
		} else {
			t->call = p;
			t->call_op = i;
			if (t->content != NULL) {
				task_queue_call(srv, t);
			} else {
				task_release_call(t);
				input_fetch(srv, t);
			}
		}
	}
	pthread_mutex_unlock(&srv->lock);
}

void
op_fetch(struct server *srv, struct pending *p, size_t i, const agora_json *op)
{
	const char *id = agora_json_str(agora_json_get(op, "task"));
	int64_t wait_ms = 0;
	struct task *t;

	(void)agora_json_int(agora_json_get(op, "wait_ms"), 0, FETCH_MAX_MS,
	                     &wait_ms);
	pthread_mutex_lock(&srv->lock);
	t = id_ok(id) ? task_find(srv, id) : NULL;
	if (t == NULL) {
		srv_error(p, i, AGORA_ENOTFOUND,
		          "unknown or expired task '%.100s' (results are kept "
		          "%d minutes on the server that made them)",
		          id != NULL ? id : "", (int)(TASK_TTL_MS / 60000));
	} else if (t->state >= TASK_DONE) {
		srv_result(p, i, task_answer(t));
	} else if (wait_ms == 0 || t->nfetch == TASK_FETCHERS) {
		srv_result(p, i, pending_answer(id));
	} else {
		t->fetch[t->nfetch].p = p;
		t->fetch[t->nfetch].op = i;
		t->fetch[t->nfetch++].until = agora_now_ms() + wait_ms;
	}
	pthread_mutex_unlock(&srv->lock);
}

/* Fetches of t that waited long enough get "pending". */
static void
task_expire_fetches(struct task *t, int64_t now)
{
	for (size_t k = 0; k < t->nfetch;) {
		if (now < t->fetch[k].until) {
			k++;
			continue;
		}
		srv_result(t->fetch[k].p, t->fetch[k].op,
		           pending_answer(t->id));
		t->fetch[k] = t->fetch[--t->nfetch];
	}
}

/* The ticker (under srv->lock): fetches that waited long enough get
 * "pending"; results past their time are dropped. */
void
task_expire(struct server *srv, int64_t now)
{
	for (size_t b = 0; srv->tasks != NULL && b < TASK_BUCKETS; b++) {
		for (struct task **pp = &srv->tasks[b]; *pp != NULL;) {
			struct task *t = *pp;
			task_expire_fetches(t, now);
			if (t->state >= TASK_DONE && t->nfetch == 0 &&
			    now - t->done_ms > TASK_TTL_MS) {
				*pp = t->next;
				task_free(t);
				srv->ntasks--;
				continue;
			}
			pp = &t->next;
		}
	}
}

void
task_free_all(struct server *srv)
{
	/* Closing a link waits for its callbacks, which take the lock. */
	for (size_t i = 0; i < srv->npeers; i++) {
		agora_link_close(srv->peers[i]);
	}
	agora_free(srv->peers);
	pthread_mutex_lock(&srv->lock);
	for (size_t b = 0; srv->tasks != NULL && b < TASK_BUCKETS; b++) {
		for (struct task *t = srv->tasks[b], *next; t != NULL;
		     t = next) {
			next = t->next;
			task_release_call(t);
			for (size_t k = 0; k < t->nfetch; k++) {
				srv_result(t->fetch[k].p, t->fetch[k].op,
				           pending_answer(t->id));
			}
			task_free(t);
		}
	}
	agora_free(srv->tasks);
	srv->tasks = NULL;
	pthread_mutex_unlock(&srv->lock);
}
