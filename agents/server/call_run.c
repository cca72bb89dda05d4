/* SPDX-License-Identifier: MIT */
/* Direct calls on a host: the calls queued for a session run together as
 * one direct step (agora_center_direct), one call per agent at a time in
 * arrival order (an agent's later calls wait for the next batch: its
 * mailbox is first in, first out). Calls that end while the step has not
 * yet had to wait (an echo, a cached answer) are answered in the call's
 * own reply, one round trip in all; the others are answered "pending" at
 * that point and their results go to the caller's mailbox and to anyone
 * fetching them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/log.h"
#include "server_int.h"

struct call_ix {
	const char *role;
	size_t i;
};

static int
call_ix_cmp(const void *a, const void *b)
{
	return strcmp(((const struct call_ix *)a)->role,
	              ((const struct call_ix *)b)->role);
}

static void
call_fail(struct host *h, struct task *t, const char *why)
{
	pthread_mutex_lock(&h->srv->lock);
	task_finish(h->srv, t, false, why, strlen(why));
	pthread_mutex_unlock(&h->srv->lock);
}

static int
call_ix_order(const void *a, const void *b)
{
	const struct call_ix *x = a, *y = b;
	int c = strcmp(x->role, y->role);

	return c != 0 ? c : (x->i < y->i ? -1 : x->i > y->i);
}

/* Keep the first call of each agent; put the others back at the head of
 * the queue, in order (their slots in jobs become NULL). Returns how many
 * were kept, now at the front of jobs. */
static size_t
call_pick(struct host *h, struct job **jobs, size_t n)
{
	struct call_ix *ix = agora_calloc(n + 1, sizeof(*ix));
	bool *later = agora_calloc(n + 1, sizeof(bool));
	struct job **back = agora_calloc(n + 1, sizeof(struct job *));
	size_t kept = 0, nback = 0;

	for (size_t i = 0; i < n; i++) {
		ix[i].role = jobs[i]->task->role;
		ix[i].i = i;
	}
	qsort(ix, n, sizeof(*ix), call_ix_order);
	for (size_t k = 1; k < n; k++) {
		if (strcmp(ix[k].role, ix[k - 1].role) == 0) {
			later[ix[k].i] = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (later[i]) {
			back[nback++] = jobs[i];
		} else {
			jobs[kept++] = jobs[i];
		}
	}
	for (size_t i = kept; i < n; i++) {
		jobs[i] = NULL;
	}
	host_unshift(h, back, nback);
	agora_free(back);
	agora_free(later);
	agora_free(ix);
	return kept;
}

struct call_run {
	struct host *h;
	struct task **tasks;
	agora_buf *out;
	bool *ended;
	struct call_ix *ix;
	size_t n;
	bool released;
};

static void
call_frame(struct call_run *r, const agora_frame *f)
{
	struct call_ix key = { .role = f->role };
	const struct call_ix *hit =
	    bsearch(&key, r->ix, r->n, sizeof(key), call_ix_cmp);
	struct server *srv = r->h->srv;
	size_t i;

	if (hit == NULL || r->ended[hit->i]) {
		return;
	}
	i = hit->i;
	if (f->type == AGORA_FRAME_CHUNK) {
		(void)agora_buf_add(&r->out[i], f->content, f->len);
		return;
	}
	r->ended[i] = true;
	pthread_mutex_lock(&srv->lock);
	if (f->type == AGORA_FRAME_ERROR) {
		task_finish(srv, r->tasks[i], false, f->content, f->len);
	} else {
		task_finish(srv, r->tasks[i], true,
		            r->out[i].data != NULL ? r->out[i].data : "",
		            r->out[i].len);
	}
	pthread_mutex_unlock(&srv->lock);
}

/* The step must wait now: the calls not ended are answered "pending". */
static void
call_release(struct call_run *r)
{
	if (r->released) {
		return;
	}
	r->released = true;
	pthread_mutex_lock(&r->h->srv->lock);
	for (size_t i = 0; i < r->n; i++) {
		if (!r->ended[i]) {
			task_release_call(r->tasks[i]);
		}
	}
	pthread_mutex_unlock(&r->h->srv->lock);
}

static void
call_pump(struct call_run *r, agora_step *st)
{
	const agora_frame *f;
	agora_err rv;

	for (;;) {
		rv = agora_step_poll(st, &f);
		if (rv == AGORA_ETIMEDOUT) {
			call_release(r);
			rv = agora_step_next(st, &f);
		}
		if (rv != AGORA_OK || f == NULL) {
			break;
		}
		call_frame(r, f);
	}
	for (size_t i = 0; i < r->n; i++) {
		if (!r->ended[i]) {
			call_fail(r->h, r->tasks[i],
			          rv != AGORA_OK ? agora_step_errstr(st)
			                         : "ended without a reply");
		}
	}
}

/* The calls whose agent is here, with their inputs. */
static size_t
call_inputs(struct host *h, struct job **jobs, size_t n, struct call_run *r,
            const char **roles, agora_msgs *inputs)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		struct task *t = jobs[i]->task;
		agora_msg *msg;

		if (agora_center_agent(h->c, t->role) == NULL) {
			char why[200];
			snprintf(why, sizeof(why),
			         "no agent '%.80s' in session %.64s here",
			         t->role, h->session);
			call_fail(h, t, why);
			continue;
		}
		msg = agora_msg_new(t->sent_from, t->role, t->content);
		msg->role = AGORA_ROLE_USER;
		agora_msgs_push(&inputs[m], msg);
		roles[m] = t->role;
		r->tasks[m] = t;
		r->ix[m].role = t->role;
		r->ix[m].i = m;
		agora_buf_init(&r->out[m], 0);
		pthread_mutex_lock(&h->srv->lock); /* fetches read it */
		t->state = TASK_RUNNING;
		pthread_mutex_unlock(&h->srv->lock);
		m++;
	}
	return m;
}

void
host_calls(struct host *h, struct job **jobs, size_t n)
{
	struct call_run r = { .h = h };
	const char **roles;
	agora_msgs *inputs;
	agora_step *st = NULL;

	n = call_pick(h, jobs, n);
	roles = agora_calloc(n + 1, sizeof(char *));
	inputs = agora_calloc(n + 1, sizeof(agora_msgs));
	r.tasks = agora_calloc(n + 1, sizeof(struct task *));
	r.out = agora_calloc(n + 1, sizeof(agora_buf));
	r.ended = agora_calloc(n + 1, sizeof(bool));
	r.ix = agora_calloc(n + 1, sizeof(*r.ix));
	r.n = call_inputs(h, jobs, n, &r, roles, inputs);
	qsort(r.ix, r.n, sizeof(*r.ix), call_ix_cmp);
	if (r.n > 0 &&
	    agora_center_direct(h->c, roles, inputs, r.n, 0, &st) != AGORA_OK) {
		for (size_t i = 0; i < r.n; i++) {
			call_fail(h, r.tasks[i], agora_center_errstr(h->c));
			r.ended[i] = true;
		}
	}
	if (st != NULL) {
		host_set_busy(h, r.n);
		host_set_step(h, st);
		call_pump(&r, st);
		host_set_step(h, NULL);
		host_set_busy(h, 0);
		agora_step_free(st);
	}
	for (size_t i = 0; i < r.n; i++) {
		agora_msgs_clear(&inputs[i]);
		agora_buf_fini(&r.out[i]);
	}
	agora_free(r.ix);
	agora_free(r.ended);
	agora_free(r.out);
	agora_free(r.tasks);
	agora_free(inputs);
	agora_free(roles);
}
