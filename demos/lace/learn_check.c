/* SPDX-License-Identifier: MIT */
/* lace_learn_check: the Agentlace async learner/actor demo over CartPole,
 * simulated in one process to show the numeric core learns under the
 * conditions the networked demo imposes. The actor sends its transitions
 * in chunks, the learner makes a fixed number of gradient steps per
 * transition received, and the actor sees new weights only when the
 * learner publishes them (every few updates) and then only after a delay
 * of whole chunks, so it always acts on stale weights.
 *
 * It prints the actor's mean return over the last 20 episodes as it goes,
 * and exits 0 once that mean reaches 195 within the budget: 60 s of wall
 * time, or with --max-episodes N, N episodes (for ctest, which must not
 * depend on the machine's speed). It exits 1 if the budget runs out, 2 on
 * bad usage. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "cartpole.h"
#include "policy.h"

#define WINDOW 20 /* episodes in the running mean */
#define GOAL   195.0

struct options {
	uint64_t seed;
	long max_episodes; /* 0: judge by max_seconds instead */
	double max_seconds;
	long chunk;   /* transitions per actor -> learner message */
	double ratio; /* gradient steps per transition received */
	long publish; /* updates between weight publications */
	long lag;     /* chunks before published weights reach the actor */
	long every;   /* episodes between progress lines */
};

/* What the actor has seen: returns of recent episodes. */
struct tally {
	double returns[WINDOW];
	long episodes;
	long steps;
	double ret; /* the running episode's return so far */
};

static void
usage(void)
{
	fprintf(stderr,
	        "usage: lace_learn_check [--seed N] [--max-episodes N] "
	        "[--max-seconds S] [--chunk N] [--ratio R] [--publish M] "
	        "[--lag L] [--every E]\n");
}

static bool
parse_long(const char *s, long lo, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo) {
		return false;
	}
	*out = v;
	return true;
}

static bool
parse_double(const char *s, double lo, double *out)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= lo)) {
		return false;
	}
	*out = v;
	return true;
}

static bool
parse_option(struct options *o, const char *key, const char *val)
{
	long seed;

	if (strcmp(key, "--seed") == 0) {
		if (!parse_long(val, 0, &seed)) {
			return false;
		}
		o->seed = (uint64_t)seed;
		return true;
	}
	if (strcmp(key, "--max-episodes") == 0) {
		return parse_long(val, WINDOW, &o->max_episodes);
	}
	if (strcmp(key, "--max-seconds") == 0) {
		return parse_double(val, 0.0, &o->max_seconds);
	}
	if (strcmp(key, "--chunk") == 0) {
		return parse_long(val, 1, &o->chunk);
	}
	if (strcmp(key, "--ratio") == 0) {
		return parse_double(val, 0.0, &o->ratio);
	}
	if (strcmp(key, "--publish") == 0) {
		return parse_long(val, 1, &o->publish);
	}
	if (strcmp(key, "--lag") == 0) {
		return parse_long(val, 0, &o->lag);
	}
	if (strcmp(key, "--every") == 0) {
		return parse_long(val, 1, &o->every);
	}
	return false;
}

static bool
parse_args(struct options *o, int argc, char **argv)
{
	o->seed = 1;
	o->max_episodes = 0;
	o->max_seconds = 60.0;
	o->chunk = 64;
	o->ratio = 0.5;
	o->publish = 16;
	o->lag = 1;
	o->every = 10;
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc || !parse_option(o, argv[i], argv[i + 1])) {
			return false;
		}
	}
	return true;
}

static double
tally_mean(const struct tally *t)
{
	double sum = 0.0;

	for (int i = 0; i < WINDOW; i++) {
		sum += t->returns[i];
	}
	return sum / WINDOW;
}

struct sim {
	struct options o;
	struct cartpole cp;
	float obs[POLICY_OBS];
	struct learner *l;
	struct actor *a;
	struct policy_transition *chunk;
	float *published; /* the learner's last publication */
	bool have_published;
	float *slots; /* publications in flight, one per chunk of lag */
	bool *slot_valid;
	double credit; /* gradient steps owed, fractional */
	struct tally t;
	int64_t t0_us;
};

static double
sim_seconds(const struct sim *s)
{
	return (double)(agora_now_us() - s->t0_us) / 1e6;
}

/* Records a finished episode; true once the running mean reaches GOAL. */
static bool
sim_episode_end(struct sim *s)
{
	struct tally *t = &s->t;
	double mean;

	t->returns[t->episodes % WINDOW] = t->ret;
	t->episodes++;
	t->ret = 0.0;
	mean = t->episodes >= WINDOW ? tally_mean(t) : 0.0;
	if (t->episodes % s->o.every == 0) {
		printf("episode %4ld  steps %6ld  updates %6lld  eps %.3f  "
		       "mean%d %6.1f  %5.2f s\n",
		       t->episodes, t->steps, (long long)learner_updates(s->l),
		       (double)actor_epsilon(s->a), WINDOW, mean,
		       sim_seconds(s));
	}
	return mean >= GOAL;
}

/* The actor's side: one chunk of steps on its current (stale) weights.
 * Returns true if the goal was reached, with *n the transitions made. */
static bool
sim_act(struct sim *s, long *n)
{
	for (*n = 0; *n < s->o.chunk;) {
		struct policy_transition *tr = &s->chunk[*n];
		bool done;

		memcpy(tr->obs, s->obs, sizeof(tr->obs));
		tr->action = actor_act(s->a, s->obs);
		cartpole_step(&s->cp, tr->action, tr->next_obs, &tr->reward,
		              &done);
		tr->terminal = cartpole_terminated(&s->cp);
		memcpy(s->obs, tr->next_obs, sizeof(s->obs));
		(*n)++;
		s->t.steps++;
		s->t.ret += (double)tr->reward;
		if (done) {
			cartpole_reset(&s->cp, s->obs);
			if (sim_episode_end(s)) {
				return true;
			}
		}
	}
	return false;
}

/* The learner's side: ratio gradient steps per transition received,
 * publishing the weights every `publish` updates. */
static void
sim_learn(struct sim *s, long n)
{
	long owed;

	s->credit += s->o.ratio * (double)n;
	owed = (long)s->credit;
	s->credit -= (double)owed;
	while (owed > 0) {
		long to_pub =
		    s->o.publish - learner_updates(s->l) % s->o.publish;
		int steps = (int)(owed < to_pub ? owed : to_pub);
		int done = learner_train(s->l, steps);

		if (done == 0) {
			return; /* still filling the replay buffer */
		}
		owed -= done;
		if (learner_updates(s->l) % s->o.publish == 0) {
			learner_weights(s->l, s->published);
			s->have_published = true;
		}
	}
}

/* Weights published by the end of chunk `iter` reach the actor `lag`
 * chunks later, as if they were still on the wire. */
static void
sim_deliver(struct sim *s, long iter)
{
	long slots = s->o.lag + 1;
	long from = iter - 1 - s->o.lag;

	if (from < 0 || !s->slot_valid[from % slots]) {
		return;
	}
	actor_set_weights(s->a, s->slots + (from % slots) * POLICY_NWEIGHTS);
}

static void
sim_post(struct sim *s, long iter)
{
	long slot = iter % (s->o.lag + 1);

	memcpy(s->slots + slot * POLICY_NWEIGHTS, s->published,
	       POLICY_NWEIGHTS * sizeof(float));
	s->slot_valid[slot] = s->have_published;
}

static void
sim_init(struct sim *s)
{
	struct policy_config pc;
	struct actor_config ac;
	size_t slots = (size_t)s->o.lag + 1;

	/* Distinct streams for the network, the actor and the environment,
	 * all from one seed. */
	policy_config_default(&pc, s->o.seed * 3 + 1);
	actor_config_default(&ac, s->o.seed * 3 + 2);
	s->l = learner_new(&pc);
	s->a = actor_new(&ac);
	cartpole_init(&s->cp, s->o.seed * 3 + 3, s->obs);
	s->chunk = agora_calloc((size_t)s->o.chunk, sizeof(*s->chunk));
	s->published = agora_calloc(POLICY_NWEIGHTS, sizeof(float));
	s->slots = agora_calloc(slots * POLICY_NWEIGHTS, sizeof(float));
	s->slot_valid = agora_calloc(slots, sizeof(bool));
	printf("seed %llu  chunk %ld  ratio %.3f  publish %ld  lag %ld  "
	       "batch %d  lr %g  budget %s %g\n",
	       (unsigned long long)s->o.seed, s->o.chunk, s->o.ratio,
	       s->o.publish, s->o.lag, pc.batch, (double)pc.lr,
	       s->o.max_episodes > 0 ? "episodes" : "seconds",
	       s->o.max_episodes > 0 ? (double)s->o.max_episodes
	                             : s->o.max_seconds);
}

static void
sim_fini(struct sim *s)
{
	learner_free(s->l);
	actor_free(s->a);
	agora_free(s->chunk);
	agora_free(s->published);
	agora_free(s->slots);
	agora_free(s->slot_valid);
}

static bool
sim_over_budget(const struct sim *s)
{
	if (s->o.max_episodes > 0) {
		return s->t.episodes >= s->o.max_episodes;
	}
	return sim_seconds(s) > s->o.max_seconds;
}

int
main(int argc, char **argv)
{
	struct sim s;
	bool reached = false;

	memset(&s, 0, sizeof(s));
	if (!parse_args(&s.o, argc, argv)) {
		usage();
		return 2;
	}
	sim_init(&s);
	s.t0_us = agora_now_us();
	for (long iter = 0; !reached && !sim_over_budget(&s); iter++) {
		long n;

		sim_deliver(&s, iter);
		reached = sim_act(&s, &n);
		learner_add(s.l, s.chunk, (size_t)n);
		sim_learn(&s, n);
		sim_post(&s, iter);
	}
	if (reached) {
		printf("reached mean%d %.1f at episode %ld, step %ld, "
		       "update %lld, %.2f s\n",
		       WINDOW, tally_mean(&s.t), s.t.episodes, s.t.steps,
		       (long long)learner_updates(s.l), sim_seconds(&s));
	} else {
		printf("did not reach mean%d %.0f: %ld episodes, %.2f s\n",
		       WINDOW, GOAL, s.t.episodes, sim_seconds(&s));
	}
	sim_fini(&s);
	return reached ? 0 : 1;
}
