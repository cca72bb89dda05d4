/* SPDX-License-Identifier: MIT */
/* Private: the built-in kinds' vtables. */
#ifndef AGORA_KINDS_PRIVATE_H
#define AGORA_KINDS_PRIVATE_H

#include "agora/agent.h"

extern const agora_kind agora__kind_echo;
extern const agora_kind agora__kind_scripted;
extern const agora_kind agora__kind_user;
extern const agora_kind agora__kind_random;
extern const agora_kind agora__kind_moderator;
extern const agora_kind agora__kind_sleep;

#endif
