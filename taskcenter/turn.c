/* SPDX-License-Identifier: MIT */
/* The turn: one agent's part in one round, as its kind and its backend see
 * it (include/agora/agent.h). Everything here runs on the step's thread
 * but agora_turn_post, which other threads use to hand work back: a post
 * carries the turn's generation, so one made for an earlier turn of the
 * same agent is dropped, not run on the new one. A turn ends once: done or
 * failed, then it waits in st->finished for the round's commit. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "tc.h"

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

	agora__timer_remove(st, t);
	t->state = state;
	if (st->nfinished == st->capfinished) {
		st->capfinished =
		    st->capfinished == 0 ? 64 : st->capfinished * 2;
		st->finished = agora_realloc(
		    st->finished, st->capfinished * sizeof(agora_turn *));
	}
	st->finished[st->nfinished++] = t;
}

static void
turn_fail(agora_turn *t, const char *why)
{
	agora__frameq_push(t->step, t, AGORA_FRAME_ERROR, why, strlen(why));
	agora_log(AGORA_LOG_WARN, "step", "role=%s failed: %s", t->agent->role,
	          why);
	turn_finish(t, TURN_FAILED);
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
	turn_fail(t, why);
}

void
agora__turn_abort(agora_turn *t, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (t->state != TURN_RUNNING) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	turn_fail(t, why);
	/* The kind did not end this turn and may still be working for it
	 * (an HTTP stream, a thread): it stops now, before anything of the
	 * turn or its step can go away. */
	t->agent->backend->cancel(t);
}

void
agora_turn_emit(agora_turn *t, const char *text, size_t len)
{
	if (t->state != TURN_RUNNING || len == 0) {
		return;
	}
	if (agora_buf_add(&t->reply, text, len) != AGORA_OK) {
		agora__turn_abort(t, "reply over %u bytes", TURN_REPLY_MAX);
		return;
	}
	agora__frameq_push(t->step, t, AGORA_FRAME_CHUNK, text, len);
}

void
agora_turn_emits(agora_turn *t, const char *text)
{
	agora_turn_emit(t, text, strlen(text));
}

void
agora_turn_set_usage(agora_turn *t, const char *finish, int64_t prompt_tokens,
                     int64_t completion_tokens, int64_t total_tokens)
{
	if (t->state != TURN_RUNNING) {
		return;
	}
	snprintf(t->finish, sizeof(t->finish), "%s",
	         finish != NULL ? finish : "");
	t->tokens[0] = prompt_tokens;
	t->tokens[1] = completion_tokens;
	t->tokens[2] = total_tokens;
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
	agora__timer_remove(t->step, t);
	t->due = agora_now_ms() + (delay_ms > 0 ? delay_ms : 0);
	t->fn = fn;
	agora__timer_add(t->step, t);
}

/* ---- for the step driver and the backends ------------------------------ */

void
agora__turn_start(agora_turn *t)
{
	agora_step *st = t->step;

	st->open++;
	pthread_mutex_lock(&st->lock);
	t->gen++;
	pthread_mutex_unlock(&st->lock);
	t->lost = false;
	t->finish[0] = '\0';
	t->tokens[0] = t->tokens[1] = t->tokens[2] = -1;
	t->state = TURN_RUNNING;
}

void
agora__turn_lost(agora_turn *t, const char *why)
{
	if (t->state != TURN_RUNNING) {
		return;
	}
	t->lost = true;
	t->drained = true; /* its in-flight messages go back */
	agora_turn_fail(t, "%s", why != NULL ? why : "lost");
}

/* Run posted callbacks whose turn is still the one they were posted for. */
void
agora__turn_run_posts(struct post *p)
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

/* Posts nobody will run: every turn has ended or been cancelled. */
void
agora__turn_free_posts(struct post *p)
{
	while (p != NULL) {
		struct post *next = p->next;
		if (p->free_arg != NULL) {
			p->free_arg(p->arg);
		}
		agora_free(p);
		p = next;
	}
}
