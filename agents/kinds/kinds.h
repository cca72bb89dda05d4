/* SPDX-License-Identifier: MIT */
/* Private: the built-in kinds' vtables. */
#ifndef AGORA_KINDS_PRIVATE_H
#define AGORA_KINDS_PRIVATE_H

#include "agora/agent.h"

/* create() for kinds that keep no state and take no options. */
agora_err agora__kind_no_state(void **statep, const agora_agent_spec *spec,
                               char *err, size_t errlen);

extern const agora_kind agora__kind_echo;
extern const agora_kind agora__kind_scripted;
extern const agora_kind agora__kind_user;
extern const agora_kind agora__kind_random;
extern const agora_kind agora__kind_moderator;
extern const agora_kind agora__kind_sleep;
extern const agora_kind agora__kind_roleplay;

#endif
