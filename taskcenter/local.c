/* SPDX-License-Identifier: MIT */
/* The local backend: turns of agents in this process. A round's local
 * turns are drained in one batch (one Lua script for every inbox), their
 * kinds' memories fetched in one round trip, then each kind's act runs on
 * the step's thread; agents still working once act returns are marked busy
 * in one write. Watchers read the recent history instead of an inbox. A
 * person's words (user_response) replace a human agent's turn. Direct
 * calls bring their inputs: nothing is drained. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "tc.h"

#define WATCH_HISTORY 200

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
		tc_step_fail(st, rv, "memory", agora_env_errstr(st->c->env));
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
/* Drain the inboxes a page (env.drain_max) at a time, again for the roles
 * whose page came back full, until each is empty: a turn reads everything
 * sent to it, never a silent first page. A role with more than env.turn_max
 * waiting fails its turn, saying so, and everything goes back. */
static agora_err
drain_pages(agora_step *st, agora_turn **acting, const char **roles, size_t n)
{
	agora_center *c = st->c;
	const char **more = agora_calloc(n + 1, sizeof(char *));
	agora_turn **who = agora_calloc(n + 1, sizeof(agora_turn *));
	agora_msgs *page = agora_calloc(n + 1, sizeof(agora_msgs));
	bool *light = agora_calloc(n + 1, sizeof(bool));
	size_t m = n;
	agora_err rv = AGORA_OK;

	for (size_t i = 0; i < n; i++) {
		more[i] = roles[i];
		who[i] = acting[i];
	}
	while (m > 0 && rv == AGORA_OK) {
		size_t next = 0;
		for (size_t i = 0; i < m; i++) {
			light[i] = who[i]->agent->kind->memoryless;
		}
		rv = agora_env_drain_flagged(c->env, more, light, m, page);
		for (size_t i = 0; i < m; i++) {
			agora_turn *t = who[i];
			bool full = page[i].n == (size_t)c->drain_max;
			t->drained = t->drained || page[i].n > 0;
			for (size_t k = 0; k < page[i].n; k++) {
				agora_msgs_push(&t->inputs, page[i].v[k]);
			}
			agora_free(page[i].v);
			memset(&page[i], 0, sizeof(page[i]));
			if (rv == AGORA_OK && full &&
			    t->inputs.n <= (size_t)c->turn_max) {
				more[next] = more[i];
				who[next++] = t;
			}
		}
		m = next;
	}
	if (rv != AGORA_OK) {
		tc_step_fail(st, rv, "drain", agora_env_errstr(c->env));
	}
	agora_free(light);
	agora_free(page);
	agora_free(who);
	agora_free(more);
	return rv;
}

/* Turns that read over env.turn_max fail now: nothing of theirs is lost
 * (commit puts it all back), and the frame says why. */
static void
drain_refuse_over(agora_step *st, agora_turn **acting, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		agora_turn *t = acting[i];
		if (t->inputs.n <= (size_t)st->c->turn_max) {
			continue;
		}
		agora__turn_start(t);
		agora_turn_fail(
		    t,
		    "more than %lld messages wait in its inbox "
		    "(env.turn_max): it read none of them, and they "
		    "stay there",
		    (long long)st->c->turn_max);
		agora_msgs_clear(&t->inputs);
	}
}

static agora_err
round_drain(agora_step *st, agora_turn **acting, const char **roles, size_t n)
{
	agora_err rv = drain_pages(st, acting, roles, n);

	if (rv == AGORA_OK) {
		drain_refuse_over(st, acting, n);
		rv = round_memories(st, acting, n);
	}
	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		if (acting[i]->agent->watcher &&
		    acting[i]->state == TURN_WAITING) {
			agora_msgs_clear(&acting[i]->inputs);
			rv = agora_env_history(st->c->env, WATCH_HISTORY,
			                       &acting[i]->inputs);
			if (rv != AGORA_OK) {
				tc_step_fail(st, rv, "history",
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
			acting[i]->agent->shown = AGORA_AGENT_BUSY;
		}
	}
	if (nbusy == 0) {
		return AGORA_OK;
	}
	rv = agora_registry_mark_many(st->c->reg, roles, nbusy,
	                              AGORA_AGENT_BUSY, false);
	if (rv != AGORA_OK) {
		tc_step_fail(st, rv, "registry",
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

		if (t->state != TURN_WAITING) {
			continue; /* it ended before acting (too much to read)
			           */
		}
		agora__turn_start(t);
		if (a->human && !st->human_auto) {
			(void)agora_buf_adds(&t->reply, st->user_response);
			t->published_human = true;
			agora_turn_done(t);
			continue;
		}
		a->kind->act(a->state, t);
	}
}

static void
local_begin(agora_step *st, agora_turn **turns, size_t n)
{
	const char **roles = agora_calloc(n + 1, sizeof(char *));
	agora_err rv;

	if (st->direct) {
		rv = round_memories(st, turns, n);
	} else {
		for (size_t i = 0; i < n; i++) {
			roles[i] = turns[i]->agent->role;
		}
		rv = round_drain(st, turns, roles, n);
	}
	if (rv == AGORA_OK) {
		round_act(st, turns, n);
		if (!st->direct) {
			(void)round_mark_busy(st, turns, roles, n);
		}
	}
	agora_free(roles);
}

/* The kind stops its work: no post for the turn may come after this. */
static void
local_cancel(agora_turn *t)
{
	if (t->agent->kind->cancel != NULL) {
		t->agent->kind->cancel(t->agent->state, t);
	}
}

static void
local_detach(agora_step *st)
{
	(void)st; /* every running turn was cancelled */
}

const struct agora_backend agora__local_backend = {
	.name = "local",
	.order = 1,
	.begin = local_begin,
	.cancel = local_cancel,
	.detach = local_detach,
};
