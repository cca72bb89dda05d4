/* SPDX-License-Identifier: MIT */
/* Committing a round: the turns that ended since the last commit are
 * sorted by the Redis write they need (replies to store with the acks of
 * what they drained, silent turns to ack, failed turns to requeue, registry
 * statuses) and written in a few batched round trips, whatever the number
 * of agents. Turns whose backend stored their reply elsewhere (an agent
 * server) need nothing, unless their server was lost. Only then do the end
 * frames go out, so `end` means the reply is stored. */
#include <string.h>

#include "agora/alloc.h"
#include "tc.h"

/* Ids a memoryless agent's reply lists as read (commit_read_meta). */
#define COMMIT_READ_MAX 10000

/* What the ended turns need in Redis, sorted by kind of write. */
struct commit_plan {
	agora_msg **pub;      /* replies to store (and their drains to ack) */
	uint8_t *flags;       /* ... AGORA_ENV_ACK, AGORA_ENV_LIGHT each */
	const char **ack;     /* ended without a reply */
	const char **requeue; /* failed holding messages */
	const char **idle;    /* ended well */
	const char *
	    *counted;        /* ... memoryless and idle all along: steps only */
	const char **bad;    /* failed */
	const char **lost;   /* their server died */
	const char **used;   /* model turns with usage to count */
	const char **finish; /* ... and why each stopped */
	int64_t *tokens;     /* ... and their tokens, three each */
	size_t npub, nack, nreq, nidle, ncounted, nbad, nlost, nused;
};

/* A local turn whose model said how it went: counted in the registry
 * (an agent server counts its own turns). */
static void
commit_usage(struct commit_plan *p, agora_turn *t)
{
	if (t->finish[0] == '\0' && t->tokens[0] < 0 && t->tokens[1] < 0 &&
	    t->tokens[2] < 0) {
		return;
	}
	p->used[p->nused] = t->agent->role;
	p->finish[p->nused] = t->finish;
	memcpy(&p->tokens[3 * p->nused], t->tokens, sizeof(t->tokens));
	p->nused++;
}

/* The turn's kind keeps nothing of it (agora_kind.memoryless). */
static bool
commit_light(const agora_turn *t)
{
	return t->agent->kind != NULL && t->agent->kind->memoryless;
}

/* A memoryless agent's reply names the messages its turn read: with no
 * memory, this is the record that it handled them ({"read":[ids]}, the
 * first COMMIT_READ_MAX; "read_n" counts them all when there are more). */
static char *
commit_read_meta(const agora_turn *t)
{
	agora_buf b;
	size_t n =
	    t->inputs.n < COMMIT_READ_MAX ? t->inputs.n : COMMIT_READ_MAX;

	agora_buf_init(&b, 0);
	(void)agora_buf_adds(&b, "{\"read\":[");
	for (size_t i = 0; i < n; i++) {
		(void)agora_buf_addf(&b, "%s%llu", i > 0 ? "," : "",
		                     (unsigned long long)t->inputs.v[i]->id);
	}
	(void)agora_buf_adds(&b, "]");
	if (t->inputs.n > n) {
		(void)agora_buf_addf(&b, ",\"read_n\":%zu", t->inputs.n);
	}
	(void)agora_buf_adds(&b, "}");
	return agora_buf_steal(&b);
}

static agora_msg *
commit_reply(agora_step *st, agora_turn *t)
{
	agora_msg *m = agora_msg_new(t->agent->role, NULL, t->reply.data);

	if (commit_light(t) && t->drained && t->inputs.n > 0) {
		m->meta = commit_read_meta(t);
	}

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
	p->flags = agora_calloc(n, sizeof(uint8_t));
	p->ack = agora_calloc(n, sizeof(char *));
	p->requeue = agora_calloc(n, sizeof(char *));
	p->idle = agora_calloc(n, sizeof(char *));
	p->counted = agora_calloc(n, sizeof(char *));
	p->bad = agora_calloc(n, sizeof(char *));
	p->lost = agora_calloc(n, sizeof(char *));
	p->used = agora_calloc(n, sizeof(char *));
	p->finish = agora_calloc(n, sizeof(char *));
	p->tokens = agora_calloc(3 * n, sizeof(int64_t));
	for (size_t i = 0; i < n; i++) {
		agora_turn *t = st->finished[i];
		const char *role = t->agent->role;

		if (t->stored_elsewhere) {
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
			p->flags[p->npub] =
			    (uint8_t)((t->drained ? AGORA_ENV_ACK : 0) |
			              (commit_light(t) ? AGORA_ENV_LIGHT : 0));
			p->pub[p->npub++] = commit_reply(st, t);
		} else if (t->drained) {
			p->ack[p->nack++] = role;
		}
		if (commit_light(t) && t->agent->shown == AGORA_AGENT_IDLE) {
			/* Idle before and after: only the count changes. */
			p->counted[p->ncounted++] = role;
		} else {
			p->idle[p->nidle++] = role;
		}
		commit_usage(p, t);
	}
}

static agora_err
commit_apply(agora_step *st, const struct commit_plan *p)
{
	agora_center *c = st->c;
	agora_err rv;

	rv = agora_env_store_flagged(c->env, p->pub, p->flags, p->npub);
	if (rv == AGORA_OK) {
		rv = agora_env_ack_many(c->env, p->ack, p->nack);
	}
	if (rv == AGORA_OK) {
		rv = agora_env_requeue_many(c->env, p->requeue, p->nreq, NULL);
	}
	if (rv != AGORA_OK) {
		return tc_step_fail(st, rv, "publish",
		                    agora_env_errstr(c->env));
	}
	rv = agora_registry_mark_many(c->reg, p->idle, p->nidle,
	                              AGORA_AGENT_IDLE, true);
	if (rv == AGORA_OK) {
		rv =
		    agora_registry_count_steps(c->reg, p->counted, p->ncounted);
	}
	if (rv == AGORA_OK && p->nlost > 0) {
		rv = agora_registry_mark_many(c->reg, p->lost, p->nlost,
		                              AGORA_AGENT_OFFLINE, false);
	}
	if (rv == AGORA_OK) {
		rv = agora_registry_mark_many(c->reg, p->bad, p->nbad,
		                              AGORA_AGENT_ERROR, true);
	}
	if (rv == AGORA_OK && p->nused > 0) {
		rv = agora_registry_add_usage(c->reg, p->used, p->tokens,
		                              p->finish, p->nused);
	}
	if (rv != AGORA_OK) {
		tc_step_fail(st, rv, "registry", agora_registry_errstr(c->reg));
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
	agora_free(p->flags);
	agora_free(p->ack);
	agora_free(p->requeue);
	agora_free(p->idle);
	agora_free(p->counted);
	agora_free(p->bad);
	agora_free(p->lost);
	agora_free(p->used);
	agora_free(p->finish);
	agora_free(p->tokens);
}

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
				tc_step_fail(st, rv, "memory",
				             agora_env_errstr(st->c->env));
			}
		}
		agora__frameq_push(st, t, AGORA_FRAME_END, "", 0);
	}
	st->open -= st->nfinished;
	st->nfinished = 0;
	return rv;
}

/* Commit every ended turn in a few round trips: replies stored (and what
 * each drained acked) in one batch, silent turns acked, failed turns'
 * messages requeued, registry updated; then the end frames go out, so
 * `end` means the reply is stored. */
agora_err
agora__commit_round(agora_step *st)
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
		if (rv == AGORA_OK && !t->stored_elsewhere) {
			t->agent->shown = t->state == TURN_FAILED
			                      ? AGORA_AGENT_ERROR
			                      : AGORA_AGENT_IDLE;
		}
		if (rv == AGORA_OK && t->state == TURN_DONE) {
			agora__frameq_push(st, t, AGORA_FRAME_END, "", 0);
		}
	}
	st->open -= st->nfinished;
	st->nfinished = 0;
	commit_plan_free(&plan);
	return rv;
}
