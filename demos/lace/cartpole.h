/* SPDX-License-Identifier: MIT */
/* CartPole-v1 as Gym's classic-control version computes it: the same
 * constants, Euler integration in double precision, a float32 observation
 * (x, x_dot, theta, theta_dot), reward 1 per step including the last, and
 * an episode that ends when the pole passes 12 degrees, the cart passes
 * 2.4, or 500 steps are done. Each cartpole owns a seeded generator for its
 * resets, so an episode sequence is a function of the seed. Not
 * thread-safe: one cartpole per thread. */
#ifndef LACE_CARTPOLE_H
#define LACE_CARTPOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "rng.h"

#define CARTPOLE_OBS       4
#define CARTPOLE_ACTIONS   2 /* 0 pushes left, 1 pushes right */
#define CARTPOLE_MAX_STEPS 500

struct cartpole {
	double state[4]; /* x, x_dot, theta, theta_dot */
	int steps;       /* steps taken in this episode */
	bool terminated; /* the pole fell or the cart left the track */
	struct lace_rng rng;
};

/* Seeds cp's generator and starts an episode, writing its first
 * observation to obs_out (may be NULL). */
void cartpole_init(struct cartpole *cp, uint64_t seed, float obs_out[4]);

/* Starts a new episode: each state variable drawn from U(-0.05, 0.05). */
void cartpole_reset(struct cartpole *cp, float obs_out[4]);

/* Pushes the cart (action 0 left, anything else right) for one 0.02 s step.
 * Writes the new observation and a reward of 1; *done is true when the
 * episode is over, by termination or by the 500-step limit. Call
 * cartpole_reset before stepping a finished episode again. */
void cartpole_step(struct cartpole *cp, int action, float obs_out[4],
                   float *reward, bool *done);

/* Whether the last step ended the episode by failure rather than by the
 * step limit. A learner must not bootstrap from a terminated state but
 * should from a truncated one, so transitions carry this, not done. */
bool cartpole_terminated(const struct cartpole *cp);

#endif
