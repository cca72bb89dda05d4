/* SPDX-License-Identifier: MIT */
/* CartPole-v1, transcribed from Gym's classic_control/cartpole.py (Barto,
 * Sutton and Anderson's cart-pole, with the equations of Florian's
 * "Correct equations for the dynamics of the cart-pole system"). The state
 * stays in double, as Gym keeps it in Python floats, and only the
 * observation is rounded to float32, so trajectories match Gym's for the
 * same initial state. Rendering and the semi-implicit Euler variant are
 * left out. */
#include "cartpole.h"

#include <math.h>
#include <stddef.h>

#define GRAVITY         9.8
#define MASSCART        1.0
#define MASSPOLE        0.1
#define TOTAL_MASS      (MASSPOLE + MASSCART)
#define LENGTH          0.5 /* half the pole's length */
#define POLEMASS_LENGTH (MASSPOLE * LENGTH)
#define FORCE_MAG       10.0
#define TAU             0.02 /* seconds between state updates */
#define PI              3.14159265358979323846 /* M_PI is not in strict C11 */
#define THETA_LIMIT     (12.0 * 2.0 * PI / 360.0)
#define X_LIMIT         2.4

static void
cartpole_observe(const struct cartpole *cp, float obs_out[4])
{
	if (obs_out == NULL) {
		return;
	}
	for (int i = 0; i < 4; i++) {
		obs_out[i] = (float)cp->state[i];
	}
}

void
cartpole_init(struct cartpole *cp, uint64_t seed, float obs_out[4])
{
	lace_rng_seed(&cp->rng, seed);
	cartpole_reset(cp, obs_out);
}

void
cartpole_reset(struct cartpole *cp, float obs_out[4])
{
	for (int i = 0; i < 4; i++) {
		cp->state[i] = -0.05 + 0.1 * lace_rng_uniform(&cp->rng);
	}
	cp->steps = 0;
	cp->terminated = false;
	cartpole_observe(cp, obs_out);
}

void
cartpole_step(struct cartpole *cp, int action, float obs_out[4], float *reward,
              bool *done)
{
	double x = cp->state[0];
	double x_dot = cp->state[1];
	double theta = cp->state[2];
	double theta_dot = cp->state[3];
	double force = action != 0 ? FORCE_MAG : -FORCE_MAG;
	double costheta = cos(theta);
	double sintheta = sin(theta);
	double temp =
	    (force + POLEMASS_LENGTH * theta_dot * theta_dot * sintheta) /
	    TOTAL_MASS;
	double thetaacc = (GRAVITY * sintheta - costheta * temp) /
	                  (LENGTH * (4.0 / 3.0 - MASSPOLE * costheta *
	                                             costheta / TOTAL_MASS));
	double xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;

	/* Gym's default "euler": positions move with the old velocities. */
	x += TAU * x_dot;
	x_dot += TAU * xacc;
	theta += TAU * theta_dot;
	theta_dot += TAU * thetaacc;
	cp->state[0] = x;
	cp->state[1] = x_dot;
	cp->state[2] = theta;
	cp->state[3] = theta_dot;
	cp->steps++;
	cp->terminated = x < -X_LIMIT || x > X_LIMIT || theta < -THETA_LIMIT ||
	                 theta > THETA_LIMIT;
	cartpole_observe(cp, obs_out);
	*reward = 1.0f;
	*done = cp->terminated || cp->steps >= CARTPOLE_MAX_STEPS;
}

bool
cartpole_terminated(const struct cartpole *cp)
{
	return cp->terminated;
}
