/* SPDX-License-Identifier: MIT */
/* The learner/actor demo's shared schema: one CartPole transition as the
 * rows of a lace store (obs float32[4], action int32, reward float32,
 * next_obs float32[4], terminal uint8), the config both ends hand to the
 * handshake, and the name of the store. */
#ifndef LACE_DEMO_TRANSITION_H
#define LACE_DEMO_TRANSITION_H

#include "agora/lace.h"

#define TRANSITION_STORE   "transitions"
#define TRANSITION_NFIELDS 5

static const agora_lace_field transition_fields[TRANSITION_NFIELDS] = {
	{ .name = "obs", .dtype = AGORA_LACE_F32, .ndim = 1, .shape = { 4 } },
	{ .name = "action", .dtype = AGORA_LACE_I32 },
	{ .name = "reward", .dtype = AGORA_LACE_F32 },
	{ .name = "next_obs",
	  .dtype = AGORA_LACE_F32,
	  .ndim = 1,
	  .shape = { 4 } },
	{ .name = "terminal", .dtype = AGORA_LACE_U8 },
};

static const agora_lace_config transition_config = {
	.kind = AGORA_LACE_TRAINER,
	.version = "cartpole-dqn-1",
};

/* Gradient steps the learner makes per transition received; the actor
 * keeps no further ahead of it than this allows. */
#define LEARN_RATIO 0.5
#define LEARN_START 1000

#endif
