/* SPDX-License-Identifier: MIT */
/* The round driver: one step of DESIGN.md section 4, read as a stream.
 *
 * agora_step_next pulls: it begins a round (each backend starts its
 * agents' turns: local ones are drained and run here, remote ones are sent
 * to their servers), commits the turns that have ended (commit.c), runs
 * due timers and posted callbacks, and sleeps until the next one. Frames
 * go out in the order agents produce them, so a slow agent never holds
 * back another's; one role's frames keep their order. Nothing blocks on an
 * agent: a kind that waits asks for a timer, and work that finishes on
 * another thread (an HTTP client, an agent server's events) is posted
 * back, which wakes the driver. Every step has a deadline, so it ends even
 * if a turn never does. Where an agent runs is its backend's business
 * (struct agora_backend); this file names none. */
#include <errno.h>
#include <pthread.h>
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
/* A lease outlives the step's deadline by this much. */
#define STEP_LEASE_MARGIN_MS 5000

/* ---- rounds ---------------------------------------------------------- */

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
				agora__frameq_push(
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

/* Hand each backend the turns of its agents that act this round, in the
 * backends' begin order. */
static agora_err
round_begin(agora_step *st)
{
	agora_turn **acting =
	    agora_calloc(st->nturns + 1, sizeof(agora_turn *));

	st->round++;
	for (size_t b = 0; b < st->nbackends && st->err == AGORA_OK; b++) {
		const struct agora_backend *be = st->backends[b];
		size_t n = 0;
		for (size_t i = 0; i < st->nturns; i++) {
			agora_turn *t = &st->turns[i];
			if (t->agent->backend != be) {
				continue;
			}
			if (st->direct) {
				t->round = st->round;
				t->state = TURN_WAITING;
			} else if (!turn_prepare(st, t)) {
				continue;
			}
			acting[n++] = t;
		}
		if (n > 0) {
			be->begin(st, acting, n);
		}
	}
	agora_free(acting);
	return st->err;
}

/* The deadline passed: every turn still running fails, its work
 * cancelled. */
static void
round_expire(agora_step *st)
{
	for (size_t i = 0; i < st->nturns; i++) {
		agora_turn *t = &st->turns[i];
		agora__turn_abort(t, "timed out: no reply within %lld ms",
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
	       (agora__timer_first(st) != NULL &&
	        agora__timer_first(st)->due <= now);
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

/* Wait for a post, the next callback or the deadline; then run what is
 * due. */
static void
round_wait(agora_step *st)
{
	int64_t wake = st->deadline;
	int64_t now;
	struct post *posts;

	if (agora__timer_first(st) != NULL &&
	    agora__timer_first(st)->due < wake) {
		wake = agora__timer_first(st)->due;
	}
	if (st->next_beat > 0 && st->next_beat < wake) {
		wake = st->next_beat;
	}
	posts = round_take_posts(st, wake);
	agora__turn_run_posts(posts);
	now = agora_now_ms();
	if (st->next_beat > 0 && now >= st->next_beat) {
		/* Still alive: our leases stay ours (a failure here is only
		 * logged; Redis trouble shows up where it matters). */
		if (agora_env_heartbeat(st->c->env) != AGORA_OK) {
			agora_log(AGORA_LOG_WARN, "step", "heartbeat: %s",
			          agora_env_errstr(st->c->env));
		}
		st->next_beat = now + st->c->beat_ms;
	}
	if (now >= st->deadline) {
		round_expire(st);
		return;
	}
	while (agora__timer_first(st) != NULL &&
	       agora__timer_first(st)->due <= now) {
		agora_turn *t = agora__timer_first(st);
		void (*fn)(void *, agora_turn *) = t->fn;
		agora__timer_remove(st, t);
		fn(t->agent->state, t);
	}
}

static agora_err
step_next(agora_step *st, const agora_frame **fp, bool block)
{
	for (;;) {
		*fp = agora__frameq_pop(st);
		if (*fp != NULL) {
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
			if (agora__commit_round(st) != AGORA_OK) {
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
			return tc_step_fail(st, AGORA_ECANCELED, "step",
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
		    agora__roles_find(&st->c->map, r) != NULL) {
			continue;
		}
		rv = agora_env_has_role(st->c->env, r, &known);
		if (rv != AGORA_OK) {
			tc_set_err(st->c, "%s", agora_env_errstr(st->c->env));
		} else if (!known) {
			tc_set_err(st->c, "unknown role '%s' in send_to", r);
			rv = AGORA_ENOTFOUND;
		}
	}
	return rv;
}

/* The backends of the step's agents, in their begin order. */
static void
step_backends(agora_step *st)
{
	st->nbackends = 0;
	for (size_t i = 0; i < st->nturns; i++) {
		const struct agora_backend *be = st->turns[i].agent->backend;
		bool seen = false;
		for (size_t b = 0; b < st->nbackends && !seen; b++) {
			seen = st->backends[b] == be;
		}
		if (!seen && st->nbackends < STEP_MAX_BACKENDS) {
			/* Kept sorted by begin order (a handful at most). */
			size_t k = st->nbackends++;
			while (k > 0 &&
			       st->backends[k - 1]->order > be->order) {
				st->backends[k] = st->backends[k - 1];
				k--;
			}
			st->backends[k] = be;
		}
	}
}

/* The deliveries this step may make (every acting agent replying to
 * send_to, "all" being every role) must be within env.fanout_max: an
 * all-to-all round of 100,000 agents (ten billion inbox entries) is
 * refused before it runs, saying so, not left to exhaust Redis. */
static agora_err
step_check_fanout(agora_step *st)
{
	agora_center *c = st->c;
	uint64_t to = 0, rounds = st->rounds, replies = st->nturns;
	agora_strv roles = { 0 };
	agora_err rv = AGORA_OK;
	uint64_t total;

	for (size_t i = 0; i < st->send_to.n; i++) {
		if (strcmp(st->send_to.v[i], AGORA_ALL) != 0) {
			to++;
			continue;
		}
		rv = agora_env_roles(c->env, &roles);
		if (rv != AGORA_OK) {
			tc_set_err(c, "%s", agora_env_errstr(c->env));
			return rv;
		}
		to += roles.n;
		agora_strv_clear(&roles);
	}
	total = replies * to * rounds;
	if (total > (uint64_t)c->fanout_max) {
		tc_set_err(
		    c,
		    "this step could deliver %llu messages (%llu agents "
		    "replying to %llu roles, %llu rounds): over "
		    "env.fanout_max (%lld); send replies to fewer roles, "
		    "or let fewer agents act at once",
		    (unsigned long long)total, (unsigned long long)replies,
		    (unsigned long long)to, (unsigned long long)rounds,
		    (long long)c->fanout_max);
		return AGORA_ETOOBIG;
	}
	return AGORA_OK;
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
			tc_set_err(c, "%s", agora_env_errstr(c->env));
			return rv;
		}
		n = notified.n;
	}
	st->turns = agora_calloc(n == 0 ? 1 : n, sizeof(agora_turn));
	for (size_t i = 0; i < n; i++) {
		const char *role =
		    o->n_allowed > 0 ? o->allowed_roles[i] : notified.v[i];
		agora_agent *a = agora__roles_find(&c->map, role);

		if (a == NULL && o->n_allowed > 0) {
			tc_set_err(c, "unknown role '%.80s' in allowed_roles",
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
		agora_buf_init(&st->turns[i].reply, TURN_REPLY_MAX);
		agora_strv_push(&st->roles, st->turns[i].agent->role);
	}
	step_backends(st);
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
		tc_set_err(c, "llm_args: %s", why);
		rv = AGORA_EINVAL;
	}
	agora_json_free(doc);
	return rv;
}

/* What this step drains is leased for its deadline and a margin; what
 * others left behind when they died comes back now; and this process says
 * it is alive (again every third of env.owner_ttl_ms while it waits). */
static agora_err
step_own(agora_step *st)
{
	agora_center *c = st->c;
	agora_err rv;

	st->deadline = agora_now_ms() + st->deadline_ms;
	agora_env_set_lease(c->env, st->deadline_ms + STEP_LEASE_MARGIN_MS);
	rv = agora_env_heartbeat(c->env);
	if (rv == AGORA_OK) {
		rv = agora_env_reclaim(c->env, NULL);
	}
	if (rv != AGORA_OK) {
		tc_set_err(c, "%s", agora_env_errstr(c->env));
	}
	st->next_beat = agora_now_ms() + c->beat_ms;
	return rv;
}

/* The center's running step from now, unless the center was interrupted
 * (a signal: no new step starts). */
static agora_err
step_activate(agora_step *st)
{
	agora_center *c = st->c;
	agora_err rv = AGORA_OK;

	pthread_mutex_lock(&c->active_lock);
	if (c->interrupted) {
		tc_set_err(c, "interrupted");
		rv = AGORA_ECANCELED;
	} else {
		c->active = st;
	}
	pthread_mutex_unlock(&c->active_lock);
	return rv;
}

bool
agora_center_interrupt(agora_center *c)
{
	bool running;

	pthread_mutex_lock(&c->active_lock);
	c->interrupted = true;
	running = c->active != NULL;
	if (running) {
		agora_step_interrupt(c->active);
	}
	pthread_mutex_unlock(&c->active_lock);
	return running;
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
		tc_set_err(c, "a step is already running");
		return AGORA_EINVAL;
	}
	if (o->rounds > STEP_MAX_ROUNDS) {
		tc_set_err(c, "round must be 1 to %d", STEP_MAX_ROUNDS);
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
	if (rv == AGORA_OK) {
		rv = step_check_fanout(st);
	}
	if (rv != AGORA_OK) {
		agora_step_free(st);
		return rv;
	}
	rv = step_own(st);
	if (rv == AGORA_OK) {
		rv = step_activate(st);
	}
	if (rv != AGORA_OK) {
		agora_step_free(st);
		return rv;
	}
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
		agents[i] = agora__roles_find(&c->map, roles[i]);
		if (agents[i] == NULL || agents[i]->kind == NULL ||
		    agents[i]->picked == c->steps + 1) {
			tc_set_err(
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
		tc_set_err(c, "a step is already running");
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
		agora_buf_init(&t->reply, TURN_REPLY_MAX);
		agora_strv_push(&st->roles, agents[i]->role);
	}
	step_backends(st);
	agora_free(agents);
	st->deadline = agora_now_ms() + st->deadline_ms;
	if (step_activate(st) != AGORA_OK) {
		agora_step_free(st);
		return AGORA_ECANCELED;
	}
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
	/* Work still running stops, and nothing posts for this step's
	 * turns again. */
	for (size_t i = 0; i < st->nturns; i++) {
		agora_turn *t = &st->turns[i];
		if (t->state == TURN_RUNNING) {
			t->agent->backend->cancel(t);
		}
	}
	for (size_t b = 0; b < st->nbackends; b++) {
		st->backends[b]->detach(st);
	}
	/* Turns left unfinished give their messages back (best effort: if
	 * Redis is gone they stay in flight until a requeue). */
	back = agora_calloc(st->nturns == 0 ? 1 : st->nturns, sizeof(char *));
	for (size_t i = 0; i < st->nturns; i++) {
		agora_turn *t = &st->turns[i];
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
	agora__turn_free_posts(st->posts);
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_lock(&st->c->active_lock);
	if (st->c->active == st) {
		st->c->active = NULL;
	}
	pthread_mutex_unlock(&st->c->active_lock);
	agora__frameq_fini(st);
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
