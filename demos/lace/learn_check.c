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
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
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
	long seed;
	long max_episodes; /* 0: judge by max_seconds instead */
	double max_seconds;
	long chunk;   /* transitions per actor -> learner message */
	double ratio; /* gradient steps per transition received */
	long publish; /* updates between weight publications */
	long lag;     /* chunks before published weights reach the actor */
	long every;   /* episodes between progress lines */
	struct policy_config pc;
	struct actor_config ac;
};

/* What the actor has seen: returns of recent episodes. */
struct tally {
	double returns[WINDOW];
	long episodes;
	long steps;
	double ret; /* the running episode's return so far */
};

/* One table drives parsing and --help (STYLE.md 2.11). */
enum opt_kind { OPT_LONG, OPT_INT, OPT_DOUBLE, OPT_FLOAT };

static const struct opt {
	const char *name;
	enum opt_kind kind;
	size_t off;
	double min;
	const char *help;
} opts[] = {
	{ "--seed", OPT_LONG, offsetof(struct options, seed), 0,
	  "seeds the network, the actor and the environment" },
	{ "--max-episodes", OPT_LONG, offsetof(struct options, max_episodes),
	  WINDOW, "budget in episodes instead of seconds" },
	{ "--max-seconds", OPT_DOUBLE, offsetof(struct options, max_seconds), 0,
	  "budget in wall-clock seconds (default 60)" },
	{ "--chunk", OPT_LONG, offsetof(struct options, chunk), 1,
	  "transitions per actor-to-learner batch" },
	{ "--ratio", OPT_DOUBLE, offsetof(struct options, ratio), 0,
	  "gradient steps per transition received" },
	{ "--publish", OPT_LONG, offsetof(struct options, publish), 1,
	  "gradient steps between weight publications" },
	{ "--lag", OPT_LONG, offsetof(struct options, lag), 0,
	  "chunks before published weights reach the actor" },
	{ "--every", OPT_LONG, offsetof(struct options, every), 1,
	  "episodes between progress lines" },
	{ "--lr", OPT_FLOAT, offsetof(struct options, pc.lr), 0,
	  "Adam step size" },
	{ "--gamma", OPT_FLOAT, offsetof(struct options, pc.gamma), 0,
	  "discount" },
	{ "--batch", OPT_INT, offsetof(struct options, pc.batch), 1,
	  "transitions per gradient step" },
	{ "--tau", OPT_FLOAT, offsetof(struct options, pc.target_tau), 0,
	  "target-network blend weight" },
	{ "--target-every", OPT_INT, offsetof(struct options, pc.target_every),
	  1, "gradient steps between target blends" },
	{ "--learn-start", OPT_INT, offsetof(struct options, pc.learn_start), 1,
	  "transitions stored before training" },
	{ "--eps-steps", OPT_INT, offsetof(struct options, ac.eps_steps), 0,
	  "actor steps over which epsilon decays" },
	{ "--eps-end", OPT_FLOAT, offsetof(struct options, ac.eps_end), 0,
	  "final exploration rate" },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void
usage(void)
{
	fprintf(stderr, "usage: lace_learn_check [--option value]...\n");
	for (size_t i = 0; i < NOPTS; i++) {
		fprintf(stderr, "  %-15s %s\n", opts[i].name, opts[i].help);
	}
}

/* Parses val as the option's kind and stores it at its offset; memcpy,
 * because the offset's alignment is the member's, not char's. */
static bool
parse_value(struct options *o, const struct opt *opt, const char *val)
{
	char *end = NULL;
	char *dst = (char *)o + opt->off;
	double d;
	long l;

	errno = 0;
	if (opt->kind == OPT_DOUBLE || opt->kind == OPT_FLOAT) {
		d = strtod(val, &end);
		l = 0;
	} else {
		l = strtol(val, &end, 10);
		d = (double)l;
	}
	if (errno != 0 || end == val || *end != '\0' || !(d >= opt->min) ||
	    (opt->kind == OPT_INT && l > INT_MAX)) {
		return false;
	}
	if (opt->kind == OPT_LONG) {
		memcpy(dst, &l, sizeof(l));
	} else if (opt->kind == OPT_INT) {
		int i = (int)l;
		memcpy(dst, &i, sizeof(i));
	} else if (opt->kind == OPT_FLOAT) {
		float f = (float)d;
		memcpy(dst, &f, sizeof(f));
	} else {
		memcpy(dst, &d, sizeof(d));
	}
	return true;
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
	policy_config_default(&o->pc, 0);
	actor_config_default(&o->ac, 0);
	for (int i = 1; i < argc; i += 2) {
		size_t k = 0;

		while (k < NOPTS && strcmp(argv[i], opts[k].name) != 0) {
			k++;
		}
		if (k == NOPTS || i + 1 >= argc ||
		    !parse_value(o, &opts[k], argv[i + 1])) {
			return false;
		}
	}
	/* Distinct streams for the network, the actor and the environment,
	 * all from one seed. */
	o->pc.seed = (uint64_t)o->seed * 3 + 1;
	o->ac.seed = (uint64_t)o->seed * 3 + 2;
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
 * Returns true if the goal was reached, with *n the transitions made;
 * stops early, too, when the episode budget is spent, so a run judged in
 * episodes never counts one past it. */
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
			if (s->o.max_episodes > 0 &&
			    s->t.episodes >= s->o.max_episodes) {
				return false;
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
	const struct policy_config *pc = &s->o.pc;
	size_t slots = (size_t)s->o.lag + 1;

	s->l = learner_new(pc);
	s->a = actor_new(&s->o.ac);
	cartpole_init(&s->cp, (uint64_t)s->o.seed * 3 + 3, s->obs);
	s->chunk = agora_calloc((size_t)s->o.chunk, sizeof(*s->chunk));
	s->published = agora_calloc(POLICY_NWEIGHTS, sizeof(float));
	s->slots = agora_calloc(slots * POLICY_NWEIGHTS, sizeof(float));
	s->slot_valid = agora_calloc(slots, sizeof(bool));
	printf("seed %ld  chunk %ld  ratio %.3f  publish %ld  lag %ld  "
	       "batch %d  lr %g  tau %g/%d  eps %g over %d  budget %s %g\n",
	       s->o.seed, s->o.chunk, s->o.ratio, s->o.publish, s->o.lag,
	       pc->batch, (double)pc->lr, (double)pc->target_tau,
	       pc->target_every, (double)s->o.ac.eps_end, s->o.ac.eps_steps,
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
