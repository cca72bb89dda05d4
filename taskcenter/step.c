/* SPDX-License-Identifier: MIT */
/* The round driver: one step of DESIGN.md section 4, read as a stream.
 *
 * agora_step_next pulls: it begins a round (one batched drain for every
 * acting agent, then act() on each), commits the turns that have ended (one
 * batched store of their replies, acks, requeues and registry updates),
 * runs due timers, and sleeps until the next one. Frames go out in the
 * order agents produce them, so a slow agent never holds back another's;
 * one role's frames keep their order. Nothing blocks on an agent: a kind
 * that waits asks for a timer, and a kind whose work finishes on another
 * thread (an HTTP client) posts the result back, which wakes the driver.
 * Every step has a deadline, so it ends even if a kind never ends its
 * turn. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "tc.h"

#define STEP_MAX_ROUNDS   10000
#define STEP_LLM_ARGS_MAX (64u << 10)
#define REPLY_MAX         (AGORA_MSG_MAX_BYTES / 2)
#define WATCH_HISTORY     200

/* ---- frames ---------------------------------------------------------- */

static void
step_push_frame(agora_step *st, agora_turn *t, agora_frame_type type,
                const char *content, size_t len)
{
	agora_frame *f;

	if (st->qlen == st->qcap) {
		size_t cap = st->qcap == 0 ? 64 : st->qcap * 2;
		agora_frame *q = agora_malloc(cap * sizeof(*q));
		for (size_t i = 0; i < st->qlen; i++) {
			q[i] = st->q[(st->qhead + i) % st->qcap];
		}
		agora_free(st->q);
		st->q = q;
		st->qcap = cap;
		st->qhead = 0;
	}
	f = &st->q[(st->qhead + st->qlen) % st->qcap];
	st->qlen++;
	/* The role is the agent's (it outlives the step); content is ours. */
	f->role = t->agent->role;
	f->type = type;
	f->seq = t->seq++;
	f->round = st->round;
	f->content = agora_strndup(content != NULL ? content : "", len);
	f->len = len;
}

/* ---- the timer heap -------------------------------------------------- */

static void
heap_swap(agora_step *st, size_t a, size_t b)
{
	agora_turn *t = st->heap[a];

	st->heap[a] = st->heap[b];
	st->heap[b] = t;
	st->heap[a]->heap_index = a;
	st->heap[b]->heap_index = b;
}

static void
heap_up(agora_step *st, size_t i)
{
	while (i > 0 && st->heap[(i - 1) / 2]->due > st->heap[i]->due) {
		heap_swap(st, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(agora_step *st, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < st->nheap && st->heap[l]->due < st->heap[m]->due) {
			m = l;
		}
		if (r < st->nheap && st->heap[r]->due < st->heap[m]->due) {
			m = r;
		}
		if (m == i) {
			return;
		}
		heap_swap(st, i, m);
		i = m;
	}
}

static void
heap_remove(agora_step *st, agora_turn *t)
{
	size_t i = t->heap_index;

	if (i == SIZE_MAX) {
		return;
	}
	st->nheap--;
	if (i != st->nheap) {
		st->heap[i] = st->heap[st->nheap];
		st->heap[i]->heap_index = i;
		heap_down(st, i);
		heap_up(st, i);
	}
	t->heap_index = SIZE_MAX;
	t->fn = NULL;
}

static void
heap_add(agora_step *st, agora_turn *t)
{
	if (st->nheap == st->capheap) {
		st->capheap = st->capheap == 0 ? 64 : st->capheap * 2;
		st->heap =
		    agora_realloc(st->heap, st->capheap * sizeof(agora_turn *));
	}
	st->heap[st->nheap] = t;
	t->heap_index = st->nheap++;
	heap_up(st, t->heap_index);
}

/* ---- the turn API kinds see ------------------------------------------ */

const char *
agora_turn_role(const agora_turn *t)
{
	return t->agent->role;
}

uint32_t
agora_turn_round(const agora_turn *t)
{
	return t->round;
}

const char *
agora_turn_task(const agora_turn *t)
{
	return t->step->task;
}

size_t
agora_turn_ninputs(const agora_turn *t)
{
	return t->inputs.n;
}

const agora_msg *
agora_turn_input(const agora_turn *t, size_t i)
{
	return i < t->inputs.n ? t->inputs.v[i] : NULL;
}

size_t
agora_turn_nmemory(const agora_turn *t)
{
	return t->memory.n;
}

const agora_msg *
agora_turn_memory(const agora_turn *t, size_t i)
{
	return i < t->memory.n ? t->memory.v[i] : NULL;
}

void
agora_turn_post(agora_turn *t, void (*fn)(void *, agora_turn *, void *),
                void *arg, void (*free_arg)(void *))
{
	agora_step *st = t->step;
	struct post *p = agora_calloc(1, sizeof(*p));

	p->t = t;
	p->fn = fn;
	p->arg = arg;
	p->free_arg = free_arg;
	pthread_mutex_lock(&st->lock);
	p->gen = t->gen;
	if (st->posts_tail != NULL) {
		st->posts_tail->next = p;
	} else {
		st->posts = p;
	}
	st->posts_tail = p;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
}

const char *
agora_turn_llm_args(const agora_turn *t)
{
	return t->step->llm_args;
}

static void
turn_finish(agora_turn *t, enum turn_state state)
{
	agora_step *st = t->step;

	heap_remove(st, t);
	t->state = state;
	if (st->nfinished == st->capfinished) {
		st->capfinished =
		    st->capfinished == 0 ? 64 : st->capfinished * 2;
		st->finished = agora_realloc(
		    st->finished, st->capfinished * sizeof(agora_turn *));
	}
	st->finished[st->nfinished++] = t;
}

void
agora_turn_fail(agora_turn *t, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (t->state != TURN_RUNNING) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	step_push_frame(t->step, t, AGORA_FRAME_ERROR, why, strlen(why));
	agora_log(AGORA_LOG_WARN, "step", "role=%s failed: %s", t->agent->role,
	          why);
	turn_finish(t, TURN_FAILED);
}

void
agora_turn_emit(agora_turn *t, const char *text, size_t len)
{
	if (t->state != TURN_RUNNING || len == 0) {
		return;
	}
	if (agora_buf_add(&t->reply, text, len) != AGORA_OK) {
		agora_turn_fail(t, "reply over %u bytes", REPLY_MAX);
		return;
	}
	step_push_frame(t->step, t, AGORA_FRAME_CHUNK, text, len);
}

void
agora_turn_emits(agora_turn *t, const char *text)
{
	agora_turn_emit(t, text, strlen(text));
}

void
agora_turn_done(agora_turn *t)
{
	if (t->state == TURN_RUNNING) {
		turn_finish(t, TURN_DONE);
	}
}

void
agora_turn_after(agora_turn *t, int64_t delay_ms,
                 void (*fn)(void *state, agora_turn *t))
{
	if (t->state != TURN_RUNNING || fn == NULL) {
		return;
	}
	heap_remove(t->step, t);
	t->due = agora_now_ms() + (delay_ms > 0 ? delay_ms : 0);
	t->fn = fn;
	heap_add(t->step, t);
}

/* ---- rounds ---------------------------------------------------------- */

static agora_err
step_fail(agora_step *st, agora_err rv, const char *what, const char *detail)
{
	st->err = rv;
	snprintf(st->errstr, sizeof(st->errstr), "%s: %s", what, detail);
	agora_log(AGORA_LOG_INFO, "step", "%s", st->errstr);
	return rv;
}

/* Which turns act this round; humans are settled here (section 4.4). */
static bool
turn_prepare(agora_step *st, agora_turn *t)
{
	agora_agent *a = t->agent;

	agora_msgs_clear(&t->inputs);
	agora_msgs_clear(&t->memory);
	agora_buf_reset(&t->reply);
	t->round = st->round;
	t->drained = false;
	t->committed = false;
	t->state = TURN_SKIPPED;
	if (a->human && !st->human_auto) {
		if (st->user_response == NULL) {
			/* Once per step, not once per round. */
			if (st->round == 1) {
				step_push_frame(
				    st, t, AGORA_FRAME_AWAITING_INPUT, "", 0);
			}
			return false;
		}
		if (t->published_human) {
			return false; /* a response goes out once per step */
		}
	}
	t->state = TURN_WAITING;
	return true;
}

/* Fetch, in one round trip, the memory of every acting agent whose kind
 * builds prompts from it. */
static agora_err
round_memories(agora_step *st, agora_turn **acting, size_t n)
{
	const char **roles = agora_calloc(n + 1, sizeof(char *));
	agora_turn **who = agora_calloc(n + 1, sizeof(agora_turn *));
	agora_msgs *outs;
	size_t m = 0, limit = 0;
	agora_err rv;

	for (size_t i = 0; i < n; i++) {
		size_t want = acting[i]->agent->kind->memory_limit;
		if (want > 0) {
			who[m] = acting[i];
			roles[m++] = acting[i]->agent->role;
			limit = want > limit ? want : limit;
		}
	}
	outs = agora_calloc(m + 1, sizeof(agora_msgs));
	rv = agora_env_memory_many(st->c->env, roles, m, limit, outs);
	if (rv != AGORA_OK) {
		step_fail(st, rv, "memory", agora_env_errstr(st->c->env));
	}
	for (size_t i = 0; i < m; i++) {
		size_t want = who[i]->agent->kind->memory_limit;
		size_t drop = outs[i].n > want ? outs[i].n - want : 0;
		/* Each kind gets its own limit of the newest entries. */
		for (size_t k = 0; k < outs[i].n; k++) {
			if (k < drop) {
				agora_msg_free(outs[i].v[k]);
			} else {
				agora_msgs_push(&who[i]->memory, outs[i].v[k]);
			}
		}
		agora_free(outs[i].v);
	}
	agora_free(outs);
	agora_free(roles);
	agora_free(who);
	return rv;
}

/* Drain every acting turn's inbox in one batch; watchers then read the
 * whole recent history (whispers included) instead. */
static agora_err
round_drain(agora_step *st, agora_turn **acting, const char **roles, size_t n)
{
	agora_msgs *outs = agora_calloc(n == 0 ? 1 : n, sizeof(agora_msgs));
	agora_err rv = agora_env_drain_many(st->c->env, roles, n, outs);

	if (rv != AGORA_OK) {
		step_fail(st, rv, "drain", agora_env_errstr(st->c->env));
	}
	for (size_t i = 0; i < n; i++) {
		acting[i]->inputs = outs[i];
		acting[i]->drained = rv == AGORA_OK;
	}
	agora_free(outs);
	if (rv == AGORA_OK) {
		rv = round_memories(st, acting, n);
	}
	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		if (acting[i]->agent->watcher) {
			agora_msgs_clear(&acting[i]->inputs);
			rv = agora_env_history(st->c->env, WATCH_HISTORY,
			                       &acting[i]->inputs);
			if (rv != AGORA_OK) {
				step_fail(st, rv, "history",
				          agora_env_errstr(st->c->env));
			}
		}
	}
	return rv;
}

/* Agents still working once act has returned are busy meanwhile (one
 * that answered at once was never observably busy: no write for it). */
static agora_err
round_mark_busy(agora_step *st, agora_turn **acting, const char **roles,
                size_t n)
{
	size_t nbusy = 0;
	agora_err rv;

	for (size_t i = 0; i < n; i++) {
		if (acting[i]->state == TURN_RUNNING) {
			roles[nbusy++] = acting[i]->agent->role;
		}
	}
	if (nbusy == 0) {
		return AGORA_OK;
	}
	rv = agora_registry_mark_many(st->c->reg, roles, nbusy,
	                              AGORA_AGENT_BUSY, false);
	if (rv != AGORA_OK) {
		step_fail(st, rv, "registry",
		          agora_registry_errstr(st->c->reg));
	}
	return rv;
}

/* Start every acting turn. A person's words replace the agent's: no chunk
 * frames, published once; an empty response publishes nothing. */
static void
round_act(agora_step *st, agora_turn **acting, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		agora_turn *t = acting[i];
		agora_agent *a = t->agent;

		st->open++;
		pthread_mutex_lock(&st->lock);
		t->gen++;
		pthread_mutex_unlock(&st->lock);
		t->state = TURN_RUNNING;
		if (a->human && !st->human_auto) {
			(void)agora_buf_adds(&t->reply, st->user_response);
			t->published_human = true;
			turn_finish(t, TURN_DONE);
			continue;
		}
		a->kind->act(a->state, t);
	}
}

/* A direct call: the inputs were given, nothing is drained. */
static agora_err
round_begin_direct(agora_step *st, agora_turn **acting)
{
	agora_err rv;

	for (size_t i = 0; i < st->nturns; i++) {
		st->turns[i].round = st->round;
		st->turns[i].state = TURN_WAITING;
		acting[i] = &st->turns[i];
	}
	rv = round_memories(st, acting, st->nturns);
	if (rv == AGORA_OK) {
		round_act(st, acting, st->nturns);
	}
	agora_free(acting);
	return rv;
}

/* Agents on servers first (their servers start at once, in parallel with
 * what follows), then the local ones: drained here in one batch, run. */
static agora_err
round_begin(agora_step *st)
{
	const char **roles = agora_calloc(st->nturns + 1, sizeof(char *));
	agora_turn **acting =
	    agora_calloc(st->nturns + 1, sizeof(agora_turn *));
	agora_turn **remote =
	    agora_calloc(st->nturns + 1, sizeof(agora_turn *));
	size_t n = 0, nremote = 0;
	agora_err rv;

	st->round++;
	if (st->direct) {
		agora_free(remote);
		agora_free(roles);
		return round_begin_direct(st, acting);
	}
	for (size_t i = 0; i < st->nturns; i++) {
		agora_turn *t = &st->turns[i];
		if (!turn_prepare(st, t)) {
			continue;
		}
		if (t->agent->srv != NULL) {
			remote[nremote++] = t;
		} else {
			acting[n] = t;
			roles[n++] = t->agent->role;
		}
	}
	if (nremote > 0) {
		agora__remote_start(st, remote, nremote);
	}
	rv = round_drain(st, acting, roles, n);
	if (rv == AGORA_OK) {
		round_act(st, acting, n);
		rv = round_mark_busy(st, acting, roles, n);
	}
	agora_free(remote);
	agora_free(roles);
	agora_free(acting);
	return rv;
}

/* What the ended turns need in Redis, sorted by kind of write. */
struct commit_plan {
	agora_msg **pub; /* replies to store (and their drains to ack) */
	bool *acks;
	const char **ack;     /* ended without a reply */
	const char **requeue; /* failed holding messages */
	const char **idle;    /* ended well */
	const char **bad;     /* failed */
	const char **lost;    /* their server died */
	size_t npub, nack, nreq, nidle, nbad, nlost;
};

static agora_msg *
commit_reply(agora_step *st, agora_turn *t)
{
	agora_msg *m = agora_msg_new(t->agent->role, NULL, t->reply.data);

	agora_strv_clear(&m->send_to);
	for (size_t k = 0; k < st->send_to.n; k++) {
		agora_strv_push(&m->send_to, st->send_to.v[k]);
	}
	m->role = AGORA_ROLE_ASSISTANT;
	m->round = st->round;
	return m;
}

static void
commit_sort(agora_step *st, struct commit_plan *p)
{
	size_t n = st->nfinished;

	p->pub = agora_calloc(n, sizeof(agora_msg *));
	p->acks = agora_calloc(n, sizeof(bool));
	p->ack = agora_calloc(n, sizeof(char *));
	p->requeue = agora_calloc(n, sizeof(char *));
	p->idle = agora_calloc(n, sizeof(char *));
	p->bad = agora_calloc(n, sizeof(char *));
	p->lost = agora_calloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		agora_turn *t = st->finished[i];
		const char *role = t->agent->role;

		if (t->remote) {
			/* Its server stored the reply and keeps its status;
			 * only a dead server's work is left to us. */
			if (t->lost) {
				p->requeue[p->nreq++] = role;
				p->lost[p->nlost++] = role;
			}
			continue;
		}
		if (t->state == TURN_FAILED) {
			if (t->drained) {
				p->requeue[p->nreq++] = role;
			}
			p->bad[p->nbad++] = role;
			continue;
		}
		if (!t->agent->watcher && t->reply.len > 0) {
			p->acks[p->npub] = t->drained;
			p->pub[p->npub++] = commit_reply(st, t);
		} else if (t->drained) {
			p->ack[p->nack++] = role;
		}
		p->idle[p->nidle++] = role;
	}
}

static agora_err
commit_apply(agora_step *st, const struct commit_plan *p)
{
	agora_center *c = st->c;
	agora_err rv;

	rv = agora_env_store_many(c->env, p->pub, p->acks, p->npub);
	if (rv == AGORA_OK) {
		rv = agora_env_ack_many(c->env, p->ack, p->nack);
	}
	if (rv == AGORA_OK) {
		rv = agora_env_requeue_many(c->env, p->requeue, p->nreq, NULL);
	}
	if (rv != AGORA_OK) {
		return step_fail(st, rv, "publish", agora_env_errstr(c->env));
	}
	rv = agora_registry_mark_many(c->reg, p->idle, p->nidle,
	                              AGORA_AGENT_IDLE, true);
	if (rv == AGORA_OK && p->nlost > 0) {
		rv = agora_registry_mark_many(c->reg, p->lost, p->nlost,
		                              AGORA_AGENT_OFFLINE, false);
	}
	if (rv == AGORA_OK) {
		rv = agora_registry_mark_many(c->reg, p->bad, p->nbad,
		                              AGORA_AGENT_ERROR, true);
	}
	if (rv != AGORA_OK) {
		step_fail(st, rv, "registry", agora_registry_errstr(c->reg));
	}
	return rv;
}

static void
commit_plan_free(struct commit_plan *p)
{
	for (size_t i = 0; i < p->npub; i++) {
		agora_msg_free(p->pub[i]);
	}
	agora_free(p->pub);
	agora_free(p->acks);
	agora_free(p->ack);
	agora_free(p->requeue);
	agora_free(p->idle);
	agora_free(p->bad);
	agora_free(p->lost);
}

/* Commit every ended turn in a few round trips: replies stored (and what
 * each drained acked) in one batch, silent turns acked, failed turns'
 * messages requeued, registry updated; then the end frames go out, so
 * `end` means the reply is stored. */
/* A direct call's reply goes to no one; agents whose kind reads memory
 * remember the call and the reply. */
static agora_err
round_commit_direct(agora_step *st)
{
	agora_err rv = AGORA_OK;

	for (size_t i = 0; i < st->nfinished; i++) {
		agora_turn *t = st->finished[i];
		if (t->state != TURN_DONE) {
			continue;
		}
		if (t->agent->kind->memory_limit > 0 && rv == AGORA_OK) {
			agora_msg *m[2] = { t->inputs.n > 0 ? t->inputs.v[0]
				                            : NULL,
				            commit_reply(st, t) };
			size_t k = m[0] != NULL ? 0 : 1;
			rv = agora_env_memory_append(st->c->env, t->agent->role,
			                             m + k, 2 - k);
			agora_msg_free(m[1]);
			if (rv != AGORA_OK) {
				step_fail(st, rv, "memory",
				          agora_env_errstr(st->c->env));
			}
		}
		step_push_frame(st, t, AGORA_FRAME_END, "", 0);
	}
	st->open -= st->nfinished;
	st->nfinished = 0;
	return rv;
}

static agora_err
round_commit(agora_step *st)
{
	struct commit_plan plan = { 0 };
	agora_err rv;

	if (st->direct) {
		return round_commit_direct(st);
	}

	commit_sort(st, &plan);
	rv = commit_apply(st, &plan);
	for (size_t i = 0; i < st->nfinished; i++) {
		agora_turn *t = st->finished[i];
		t->committed = rv == AGORA_OK;
		if (rv == AGORA_OK) {
			t->drained = false;
		}
		if (rv == AGORA_OK && t->state == TURN_DONE) {
			step_push_frame(st, t, AGORA_FRAME_END, "", 0);
		}
	}
	st->open -= st->nfinished;
	st->nfinished = 0;
	commit_plan_free(&plan);
	return rv;
}

/* The deadline passed: every turn still running fails. */
static void
round_expire(agora_step *st)
{
	for (size_t i = 0; i < st->nturns; i++) {
		agora_turn *t = &st->turns[i];
		if (t->state != TURN_RUNNING) {
			continue;
		}
		heap_remove(st, t);
		if (t->agent->kind != NULL && t->agent->kind->cancel != NULL) {
			t->agent->kind->cancel(t->agent->state, t);
		}
		agora_turn_fail(t, "timed out: no reply within %lld ms",
		                (long long)st->deadline_ms);
	}
}

void
agora_step_interrupt(agora_step *st)
{
	pthread_mutex_lock(&st->lock);
	st->interrupted = true;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
}

static bool
step_interrupted(agora_step *st)
{
	bool yes;

	pthread_mutex_lock(&st->lock);
	yes = st->interrupted;
	pthread_mutex_unlock(&st->lock);
	return yes;
}

static bool
step_has_posts(agora_step *st)
{
	bool any;
	int64_t now = agora_now_ms();

	pthread_mutex_lock(&st->lock);
	any = st->posts != NULL;
	pthread_mutex_unlock(&st->lock);
	return any || now >= st->deadline ||
	       (st->nheap > 0 && st->heap[0]->due <= now);
}

/* Wait until a post arrives, or until wake (monotonic ms); take the posts. */
static struct post *
round_take_posts(agora_step *st, int64_t wake)
{
	struct timespec ts;
	struct post *p;

	ts.tv_sec = (time_t)(wake / 1000);
	ts.tv_nsec = (long)(wake % 1000) * 1000000;
	pthread_mutex_lock(&st->lock);
	while (st->posts == NULL && !st->interrupted && agora_now_ms() < wake) {
		if (pthread_cond_timedwait(&st->wake, &st->lock, &ts) ==
		    ETIMEDOUT) {
			break;
		}
	}
	p = st->posts;
	st->posts = NULL;
	st->posts_tail = NULL;
	pthread_mutex_unlock(&st->lock);
	return p;
}

/* Run posted callbacks whose turn is still the one they were posted for. */
static void
round_run_posts(struct post *p)
{
	while (p != NULL) {
		struct post *next = p->next;
		agora_turn *t = p->t;

		if (t->state == TURN_RUNNING && t->gen == p->gen) {
			p->fn(t->agent->state, t, p->arg);
		}
		if (p->free_arg != NULL) {
			p->free_arg(p->arg);
		}
		agora_free(p);
		p = next;
	}
}

/* Wait for a post, the next callback or the deadline; then run what is
 * due. */
static void
round_wait(agora_step *st)
{
	int64_t wake = st->deadline;
	int64_t now;
	struct post *posts;

	if (st->nheap > 0 && st->heap[0]->due < wake) {
		wake = st->heap[0]->due;
	}
	posts = round_take_posts(st, wake);
	round_run_posts(posts);
	now = agora_now_ms();
	if (now >= st->deadline) {
		round_expire(st);
		return;
	}
	while (st->nheap > 0 && st->heap[0]->due <= now) {
		agora_turn *t = st->heap[0];
		void (*fn)(void *, agora_turn *) = t->fn;
		heap_remove(st, t);
		fn(t->agent->state, t);
	}
}

static agora_err
step_next(agora_step *st, const agora_frame **fp, bool block)
{
	*fp = NULL;
	agora_free(st->cur.content);
	st->cur.content = NULL;
	for (;;) {
		if (st->qlen > 0) {
			st->cur = st->q[st->qhead];
			st->qhead = (st->qhead + 1) % st->qcap;
			st->qlen--;
			*fp = &st->cur;
			return AGORA_OK;
		}
		if (st->phase == PHASE_END) {
			return st->err;
		}
		if (st->phase == PHASE_BEGIN) {
			if (st->round == st->rounds ||
			    round_begin(st) != AGORA_OK) {
				st->phase = PHASE_END;
			} else {
				st->phase = PHASE_RUN;
			}
			continue;
		}
		if (st->nfinished > 0) {
			if (round_commit(st) != AGORA_OK) {
				st->phase = PHASE_END;
			}
			continue;
		}
		if (st->open == 0) {
			st->phase = PHASE_BEGIN;
			continue;
		}
		if (!block && !step_has_posts(st)) {
			return AGORA_ETIMEDOUT;
		}
		if (step_interrupted(st)) {
			st->phase = PHASE_END;
			return step_fail(st, AGORA_ECANCELED, "step",
			                 "interrupted");
		}
		round_wait(st);
	}
}

agora_err
agora_step_next(agora_step *st, const agora_frame **fp)
{
	return step_next(st, fp, true);
}

agora_err
agora_step_poll(agora_step *st, const agora_frame **fp)
{
	return step_next(st, fp, false);
}

const char *
agora_step_errstr(const agora_step *st)
{
	return st->errstr;
}

const agora_strv *
agora_step_roles(const agora_step *st)
{
	return &st->roles;
}

/* ---- starting and ending a step -------------------------------------- */

/* send_to names roles of the session: an agent here, or one registered by
 * another process (a question to Redis per such role, not a list of all
 * of them: an agent server's step names the main process's roles). */
static agora_err
step_check_send_to(agora_step *st)
{
	agora_err rv = AGORA_OK;

	for (size_t i = 0; i < st->send_to.n && rv == AGORA_OK; i++) {
		const char *r = st->send_to.v[i];
		bool known = false;
		if (strcmp(r, AGORA_ALL) == 0 ||
		    agora__center_find(st->c, r) != NULL) {
			continue;
		}
		rv = agora_env_has_role(st->c->env, r, &known);
		if (rv != AGORA_OK) {
			agora__center_set_err(st->c, "%s",
			                      agora_env_errstr(st->c->env));
		} else if (!known) {
			agora__center_set_err(
			    st->c, "unknown role '%s' in send_to", r);
			rv = AGORA_ENOTFOUND;
		}
	}
	return rv;
}

static int
turn_order(const void *a, const void *b)
{
	size_t x = ((const agora_turn *)a)->agent->index;
	size_t y = ((const agora_turn *)b)->agent->index;

	return x < y ? -1 : x > y;
}

/* The acting agents: allowed_roles (checked, registration order) or the
 * notified roles. */
static agora_err
step_pick_agents(agora_step *st, const agora_step_opts *o)
{
	agora_center *c = st->c;
	agora_strv notified = { 0 };
	agora_err rv = AGORA_OK;
	size_t n = o->n_allowed;

	c->steps++;
	if (n == 0) {
		rv = agora_env_notified_roles(c->env, &notified);
		if (rv != AGORA_OK) {
			agora__center_set_err(c, "%s",
			                      agora_env_errstr(c->env));
			return rv;
		}
		n = notified.n;
	}
	st->turns = agora_calloc(n == 0 ? 1 : n, sizeof(agora_turn));
	for (size_t i = 0; i < n; i++) {
		const char *role =
		    o->n_allowed > 0 ? o->allowed_roles[i] : notified.v[i];
		agora_agent *a = agora__center_find(c, role);

		if (a == NULL && o->n_allowed > 0) {
			agora__center_set_err(
			    c, "unknown role '%.80s' in allowed_roles",
			    role != NULL ? role : "(null)");
			rv = AGORA_ENOTFOUND;
			break;
		}
		if (a == NULL || a->picked == c->steps) {
			continue; /* a role without an agent here, or twice */
		}
		a->picked = c->steps;
		st->turns[st->nturns].agent = a;
		st->turns[st->nturns].step = st;
		st->nturns++;
	}
	agora_strv_clear(&notified);
	if (rv == AGORA_OK && o->n_allowed > 1) {
		qsort(st->turns, st->nturns, sizeof(agora_turn), turn_order);
	}
	for (size_t i = 0; i < st->nturns; i++) {
		st->turns[i].heap_index = SIZE_MAX;
		agora_buf_init(&st->turns[i].reply, REPLY_MAX);
		agora_strv_push(&st->roles, st->turns[i].agent->role);
	}
	return rv;
}

static agora_err
step_check_llm_args(agora_center *c, const char *args)
{
	agora_json *doc = NULL;
	char why[160];
	agora_err rv;

	if (args == NULL) {
		return AGORA_OK;
	}
	rv = agora_json_parse(&doc, args, strlen(args), STEP_LLM_ARGS_MAX, 16,
	                      why, sizeof(why));
	if (rv == AGORA_OK && agora_json_typeof(doc) != AGORA_JSON_OBJECT) {
		snprintf(why, sizeof(why), "not a JSON object");
	}
	if (rv != AGORA_OK || agora_json_typeof(doc) != AGORA_JSON_OBJECT) {
		agora__center_set_err(c, "llm_args: %s", why);
		rv = AGORA_EINVAL;
	}
	agora_json_free(doc);
	return rv;
}

static void
step_init_sync(agora_step *st)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&st->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&st->wake, &attr);
	pthread_condattr_destroy(&attr);
}

agora_err
agora_center_step(agora_center *c, const agora_step_opts *opts,
                  agora_step **stp)
{
	static const agora_step_opts none = { 0 };
	const agora_step_opts *o = opts != NULL ? opts : &none;
	agora_step *st;
	agora_err rv;

	*stp = NULL;
	if (c->active != NULL) {
		agora__center_set_err(c, "a step is already running");
		return AGORA_EINVAL;
	}
	if (o->rounds > STEP_MAX_ROUNDS) {
		agora__center_set_err(c, "round must be 1 to %d",
		                      STEP_MAX_ROUNDS);
		return AGORA_EINVAL;
	}
	rv = step_check_llm_args(c, o->llm_args);
	if (rv != AGORA_OK) {
		return rv;
	}
	st = agora_calloc(1, sizeof(*st));
	st->c = c;
	step_init_sync(st);
	st->rounds = o->rounds == 0 ? 1 : o->rounds;
	st->task = o->task != NULL ? agora_strdup(o->task) : NULL;
	st->user_response =
	    o->user_response != NULL ? agora_strdup(o->user_response) : NULL;
	st->human_auto = o->human_auto;
	st->llm_args = agora_strdup(o->llm_args != NULL ? o->llm_args : "{}");
	st->deadline_ms = o->deadline_ms > 0 ? o->deadline_ms : c->deadline_ms;
	for (size_t i = 0; i < o->n_send_to; i++) {
		agora_strv_push(&st->send_to, o->send_to[i]);
	}
	if (st->send_to.n == 0) {
		agora_strv_push(&st->send_to, AGORA_ALL);
	}
	rv = step_check_send_to(st);
	if (rv == AGORA_OK) {
		rv = step_pick_agents(st, o);
	}
	if (rv != AGORA_OK) {
		agora_step_free(st);
		return rv;
	}
	st->deadline = agora_now_ms() + st->deadline_ms;
	c->active = st;
	*stp = st;
	return AGORA_OK;
}

agora_err
agora_center_direct(agora_center *c, const char *const *roles,
                    agora_msgs *inputs, size_t n, int64_t deadline_ms,
                    agora_step **stp)
{
	agora_agent **agents = agora_calloc(n + 1, sizeof(agora_agent *));
	agora_step *st;

	*stp = NULL;
	for (size_t i = 0; i < n; i++) {
		agents[i] = agora__center_find(c, roles[i]);
		if (agents[i] == NULL || agents[i]->kind == NULL ||
		    agents[i]->picked == c->steps + 1) {
			agora__center_set_err(
			    c,
			    "direct call: '%.80s' is not a local agent here, "
			    "or is named twice",
			    roles[i]);
			agora_free(agents);
			return AGORA_EINVAL;
		}
		agents[i]->picked = c->steps + 1;
	}
	c->steps++;
	if (c->active != NULL) {
		agora__center_set_err(c, "a step is already running");
		agora_free(agents);
		return AGORA_EINVAL;
	}
	st = agora_calloc(1, sizeof(*st));
	st->c = c;
	st->direct = true;
	step_init_sync(st);
	st->rounds = 1;
	st->llm_args = agora_strdup("{}");
	st->deadline_ms = deadline_ms > 0 ? deadline_ms : c->deadline_ms;
	agora_strv_push(&st->send_to, AGORA_ALL);
	st->turns = agora_calloc(n == 0 ? 1 : n, sizeof(agora_turn));
	st->nturns = n;
	for (size_t i = 0; i < n; i++) {
		agora_turn *t = &st->turns[i];
		t->agent = agents[i];
		t->step = st;
		t->heap_index = SIZE_MAX;
		t->inputs = inputs[i];
		memset(&inputs[i], 0, sizeof(inputs[i]));
		agora_buf_init(&t->reply, REPLY_MAX);
		agora_strv_push(&st->roles, agents[i]->role);
	}
	agora_free(agents);
	st->deadline = agora_now_ms() + st->deadline_ms;
	c->active = st;
	*stp = st;
	return AGORA_OK;
}

void
agora_step_free(agora_step *st)
{
	const char **back;
	size_t nback = 0;

	if (st == NULL) {
		return;
	}
	/* No more events for this step's turns from agent servers. */
	agora__remote_detach(st);
	/* Turns left unfinished give their messages back (best effort: if
	 * Redis is gone they stay in flight until a requeue). */
	back = agora_calloc(st->nturns == 0 ? 1 : st->nturns, sizeof(char *));
	for (size_t i = 0; i < st->nturns; i++) {
		agora_turn *t = &st->turns[i];
		if (t->state == TURN_RUNNING && t->agent->kind != NULL &&
		    t->agent->kind->cancel != NULL) {
			t->agent->kind->cancel(t->agent->state, t);
		}
		if (t->drained && !t->committed &&
		    (st->err == AGORA_OK || st->err == AGORA_ECANCELED)) {
			back[nback++] = t->agent->role;
		}
	}
	if (nback > 0) {
		(void)agora_env_requeue_many(st->c->env, back, nback, NULL);
		(void)agora_registry_mark_many(st->c->reg, back, nback,
		                               AGORA_AGENT_IDLE, false);
	}
	agora_free(back);
	for (size_t i = 0; i < st->nturns; i++) {
		agora_msgs_clear(&st->turns[i].inputs);
		agora_msgs_clear(&st->turns[i].memory);
		agora_buf_fini(&st->turns[i].reply);
	}
	/* Posts nobody will run: every turn has ended or been cancelled. */
	for (struct post *p = st->posts; p != NULL;) {
		struct post *next = p->next;
		if (p->free_arg != NULL) {
			p->free_arg(p->arg);
		}
		agora_free(p);
		p = next;
	}
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->lock);
	for (size_t i = 0; i < st->qlen; i++) {
		agora_free(st->q[(st->qhead + i) % st->qcap].content);
	}
	if (st->c->active == st) {
		st->c->active = NULL;
	}
	agora_free(st->cur.content);
	agora_free(st->q);
	agora_free(st->heap);
	agora_free(st->finished);
	agora_free(st->turns);
	agora_strv_clear(&st->roles);
	agora_strv_clear(&st->send_to);
	agora_free(st->task);
	agora_free(st->user_response);
	agora_free(st->llm_args);
	agora_free(st);
}
