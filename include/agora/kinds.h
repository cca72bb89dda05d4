/* SPDX-License-Identifier: MIT */
/* The built-in agent kinds: echo, scripted, user, random, moderator, sleep.
 * See docs/agents.md for their options. */
#ifndef AGORA_KINDS_H
#define AGORA_KINDS_H

#include "agora/agent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Register every built-in kind once; later calls do nothing. */
AGORA_API void agora_kinds_builtin(void);

#ifdef __cplusplus
}
#endif
#endif
