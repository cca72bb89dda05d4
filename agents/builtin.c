/* SPDX-License-Identifier: MIT */
/* Registration of the built-in kinds, once per process. */
#include <pthread.h>

#include "agora/kinds.h"
#include "agora/models.h"
#include "agora/taskcenter.h"
#include "kinds/kinds.h"

static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void
builtin_register(void)
{
	static const agora_kind *const all[] = {
		&agora__kind_echo,      &agora__kind_scripted,
		&agora__kind_user,      &agora__kind_random,
		&agora__kind_moderator, &agora__kind_sleep,
		&agora__kind_roleplay
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		(void)agora_kind_register(all[i]);
	}
	/* Child agent servers get this process's model configs. */
	agora_center_set_child_models(agora_models_dump);
}

void
agora_kinds_builtin(void)
{
	pthread_once(&builtin_once, builtin_register);
}
