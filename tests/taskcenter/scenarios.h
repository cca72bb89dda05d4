/* SPDX-License-Identifier: MIT */
/* Helpers shared by the two halves of the 40 acceptance scenarios
 * (scenarios_env_test.c: 1-13, scenarios_test.c: 14-40). */
#ifndef AGORA_SCENARIOS_H
#define AGORA_SCENARIOS_H

#include "test.h"

static inline void
task_to(agora_center *c, const char *text, const char *to, const char *from)
{
	agora_strv sv = { 0 };

	if (to != NULL) {
		agora_strv_split(&sv, to);
	}
	AGORA_PASS(agora_center_send_task_request(
	    c, text, (const char *const *)sv.v, sv.n, from));
	agora_strv_clear(&sv);
}

static inline size_t
pending(agora_center *c, const char *role)
{
	size_t n = 0;

	AGORA_PASS(agora_env_pending(agora_center_env(c), role, &n));
	return n;
}

static inline agora_msgs
drain(agora_center *c, const char *role)
{
	agora_msgs ms = { 0 };

	AGORA_PASS(agora_env_drain(agora_center_env(c), role, &ms));
	return ms;
}

static inline agora_step_opts
allowed(const char **roles, size_t n)
{
	agora_step_opts o = { 0 };

	o.allowed_roles = roles;
	o.n_allowed = n;
	return o;
}

#endif
