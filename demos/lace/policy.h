/* SPDX-License-Identifier: MIT */
/* A DQN learner and an epsilon-greedy actor for CartPole-sized problems,
 * in plain C: a 4-64-64-2 ReLU network, Double DQN targets, a Huber loss,
 * Adam, a target network and a uniform replay buffer. The learner and the
 * actor share nothing but a flat float32 weight array, so they can live in
 * different processes: the actor sends transitions, the learner sends
 * weights, and the actor may act on stale weights (DQN is off-policy, so
 * that only slows it down a little). Everything is deterministic given the
 * seeds. Neither object is thread-safe; give each its own thread. */
#ifndef LACE_POLICY_H
#define LACE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLICY_OBS     4
#define POLICY_ACTIONS 2
#define POLICY_HIDDEN  64

/* Weights in one array, layer by layer, each matrix row-major as in x out
 * (Flax's Dense kernel layout, so the inner loops run over contiguous
 * outputs) followed by its bias: W1[4][64] b1[64] W2[64][64] b2[64]
 * W3[64][2] b3[2]. That is the order on the wire too. */
#define POLICY_NWEIGHTS                                  \
	(POLICY_HIDDEN * POLICY_OBS + POLICY_HIDDEN +    \
	 POLICY_HIDDEN * POLICY_HIDDEN + POLICY_HIDDEN + \
	 POLICY_ACTIONS * POLICY_HIDDEN + POLICY_ACTIONS)

/* One step of experience: 4 + 1 + 1 + 4 numbers and a flag. terminal is
 * true only when the episode ended by failure (cartpole_terminated), not
 * at the step limit, so the learner bootstraps from truncated states. */
struct policy_transition {
	float obs[POLICY_OBS];
	int32_t action;
	float reward;
	float next_obs[POLICY_OBS];
	bool terminal;
};

struct policy_config {
	float lr;         /* Adam step size */
	float gamma;      /* discount */
	int batch;        /* transitions per gradient step */
	int replay_cap;   /* replay buffer capacity, oldest dropped first */
	int learn_start;  /* transitions stored before training starts */
	int target_every; /* updates between target-network blends */
	float target_tau; /* blend weight: 1 copies, below 1 is Polyak */
	float grad_clip;  /* maximum gradient norm, 0 for none */
	uint64_t seed;    /* initial weights and replay sampling */
};

/* The tuned defaults (see README.md), with the given seed. */
void policy_config_default(struct policy_config *cfg, uint64_t seed);

/* The greedy action for obs under weights w (POLICY_NWEIGHTS floats). If
 * q_out is not NULL, the action values are written there. */
int policy_greedy(const float *w, const float obs[POLICY_OBS],
                  float q_out[POLICY_ACTIONS]);

/* ---- learner ---------------------------------------------------------- */

struct learner;

/* A learner with freshly initialised weights and an empty replay buffer.
 * cfg is copied. Never NULL (allocation failure aborts). */
struct learner *learner_new(const struct policy_config *cfg);
void learner_free(struct learner *l);

/* Copies n transitions into the replay buffer. */
void learner_add(struct learner *l, const struct policy_transition *t,
                 size_t n);

/* Up to steps gradient steps, each on a batch drawn uniformly from the
 * replay buffer. Returns the number made: 0 until learn_start transitions
 * are stored. */
int learner_train(struct learner *l, int steps);

/* One gradient step on a batch the caller chose (for a replay buffer kept
 * elsewhere). n must be at least 1. Returns the batch's mean loss. */
float learner_train_batch(struct learner *l,
                          const struct policy_transition *batch, int n);

/* Copies the current weights (POLICY_NWEIGHTS floats) to out. */
void learner_weights(const struct learner *l, float *out);

size_t learner_stored(const struct learner *l);   /* transitions held */
int64_t learner_updates(const struct learner *l); /* gradient steps */
float learner_loss(const struct learner *l);      /* mean loss, last step */

/* ---- actor ------------------------------------------------------------ */

/* Exploration: epsilon falls linearly from eps_start to eps_end over
 * eps_steps of the actor's steps, then stays. */
struct actor_config {
	float eps_start;
	float eps_end;
	int eps_steps;
	uint64_t seed;
};

void actor_config_default(struct actor_config *cfg, uint64_t seed);

struct actor;

/* An actor with no weights yet: it acts uniformly at random until the
 * first actor_set_weights. Never NULL. */
struct actor *actor_new(const struct actor_config *cfg);
void actor_free(struct actor *a);

/* Copies POLICY_NWEIGHTS floats from w. */
void actor_set_weights(struct actor *a, const float *w);

/* The epsilon-greedy action for obs; advances the exploration schedule. */
int actor_act(struct actor *a, const float obs[POLICY_OBS]);

float actor_epsilon(const struct actor *a);

#endif
