/* SPDX-License-Identifier: MIT */
/* The CartPole action server's config, which its clients match in the
 * handshake: the gym API's keys. */
#ifndef LACE_DEMO_CARTPOLE_CONFIG_H
#define LACE_DEMO_CARTPOLE_CONFIG_H

#include "agora/lace.h"

static const char *const cartpole_obs_keys[] = { "observation_space",
	                                         "action_space", "state" };
static const char *const cartpole_act_keys[] = { "reset", "step" };
static const agora_lace_config cartpole_config = {
	.kind = AGORA_LACE_ACTION,
	.version = "cartpole-v1",
	.obs_keys = cartpole_obs_keys,
	.nobs_keys = 3,
	.act_keys = cartpole_act_keys,
	.nact_keys = 2,
};

#endif
