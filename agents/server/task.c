/* SPDX-License-Identifier: MIT */
/* Tasks: the table of direct calls and their results (the seeds'
 * placeholders), and the fetch op that reads them.
 *
 * Results are kept TASK_TTL_MS after they are made (TASK_MAX at most, see
 * call.c); any number of holders may fetch one, and an id not here is an
 * error that says so, never another task's result. A finished task's
 * result goes to its call op if that is still unanswered, else to the
 * caller's mailbox, and to every waiting fetch. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "server_int.h"

#define TASK_TTL_MS  (INT64_C(10) * 60 * 1000)
#define TASK_BUCKETS (1u << 16)
#define FETCH_MAX_MS 60000
/* How long a fetch of an id no call has brought yet waits for it. */
#define FETCH_AHEAD_MS 5000
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

struct task *
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
task_result(const struct task *t)
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

char *
task_answer(const struct task *t)
{
	return t->state >= TASK_DONE ? task_result(t) : pending_answer(t->id);
}

/* Off srv->answering, if on it. */
static void
task_answered(struct server *srv, struct task *t)
{
	if (t->call_ms == 0) {
		return;
	}
	*(t->ans_prev != NULL ? &t->ans_prev->ans_next : &srv->answering) =
	    t->ans_next;
	*(t->ans_next != NULL ? &t->ans_next->ans_prev : &srv->answering_last) =
	    t->ans_prev;
	t->ans_prev = t->ans_next = NULL;
	t->call_ms = 0;
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
	task_answered(srv, t);
	if (t->call != NULL) {
		srv_result(t->call, t->call_op, task_result(t));
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
		srv_result(t->fetch[i].p, t->fetch[i].op, task_result(t));
	}
	t->nfetch = 0;
}

void
task_await_run(struct server *srv, struct task *t, int64_t within_ms)
{
	struct task *before = srv->answering_last;

	t->call_ms = agora_now_ms() + within_ms;
	/* Kept in answer order; callers mostly ask alike, so from the end. */
	while (before != NULL && before->call_ms > t->call_ms) {
		before = before->ans_prev;
	}
	t->ans_prev = before;
	t->ans_next = before != NULL ? before->ans_next : srv->answering;
	*(t->ans_prev != NULL ? &t->ans_prev->ans_next : &srv->answering) = t;
	*(t->ans_next != NULL ? &t->ans_next->ans_prev : &srv->answering_last) =
	    t;
}

/* The call op has waited long enough: pending; the result will go to the
 * caller's mailbox. Under srv->lock. */
void
task_release_call(struct task *t)
{
	task_answered(t->srv, t);
	if (t->call != NULL) {
		srv_result(t->call, t->call_op, pending_answer(t->id));
		t->call = NULL;
	}
}

/* Calls that have not run by their time are answered "pending", so a
 * request of long calls (a model taking a minute), or of calls queued
 * behind one, is answered within the caller's timeout; their results
 * follow through the mailbox. The list is in answer order: the walk stops
 * at the first not due. */
void
task_answer_late(struct server *srv, int64_t now)
{
	while (srv->answering != NULL && now >= srv->answering->call_ms) {
		task_release_call(srv->answering);
	}
}

/* ---- ops ------------------------------------------------------------- */

bool
task_id_ok(const char *id)
{
	return id != NULL && id[0] != '\0' && strlen(id) < TASK_ID_MAX &&
	       strspn(id, ID_CHARS) == strlen(id);
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
	t = task_id_ok(id) ? task_find(srv, id) : NULL;
	if (t == NULL && wait_ms > 0 && task_id_ok(id) &&
	    srv->ntasks < TASK_MAX) {
		/* Its call may be on its way: a caller hands a future on
		 * as soon as it made the call, and the call and this fetch
		 * come by different connections. Wait a little for it. */
		t = task_add(srv, id);
		t->srv = srv;
		t->state = TASK_EXPECTED;
		if (wait_ms > FETCH_AHEAD_MS) {
			wait_ms = FETCH_AHEAD_MS;
		}
	}
	if (t == NULL) {
		srv_error(p, i, AGORA_ENOTFOUND,
		          "unknown or expired task '%.100s' (results are kept "
		          "%d minutes on the server that made them)",
		          id != NULL ? id : "", (int)(TASK_TTL_MS / 60000));
	} else if (t->state >= TASK_DONE) {
		srv_result(p, i, task_result(t));
	} else if (wait_ms == 0 || t->nfetch == TASK_FETCHERS) {
		srv_result(p, i, pending_answer(id));
	} else {
		t->fetch[t->nfetch].p = p;
		t->fetch[t->nfetch].op = i;
		t->fetch[t->nfetch++].until = agora_now_ms() + wait_ms;
	}
	pthread_mutex_unlock(&srv->lock);
}

/* Fetches of t that waited long enough get "pending" -- or, when its
 * call never came, that there is no such task. */
static void
task_expire_fetches(struct task *t, int64_t now)
{
	for (size_t k = 0; k < t->nfetch;) {
		if (now < t->fetch[k].until) {
			k++;
			continue;
		}
		if (t->state == TASK_EXPECTED) {
			srv_error(t->fetch[k].p, t->fetch[k].op,
			          AGORA_ENOTFOUND,
			          "unknown or expired task '%.100s' (results "
			          "are kept %d minutes on the server that made "
			          "them)",
			          t->id, (int)(TASK_TTL_MS / 60000));
		} else {
			srv_result(t->fetch[k].p, t->fetch[k].op,
			           pending_answer(t->id));
		}
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
			if (t->nfetch == 0 &&
			    (t->state == TASK_EXPECTED ||
			     (t->state >= TASK_DONE &&
			      now - t->done_ms > TASK_TTL_MS))) {
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
	pthread_mutex_lock(&srv->lock);
	srv->tails = NULL;
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
