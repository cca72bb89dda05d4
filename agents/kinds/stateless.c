/* SPDX-License-Identifier: MIT */
/* create() for the kinds that keep no state and take no options (user,
 * moderator). */
#include "kinds.h"

/* err is unused, but the vtable's type says char *. */
agora_err
/* NOLINTNEXTLINE(readability-non-const-parameter) */
agora__kind_no_state(void **statep, const agora_agent_spec *spec, char *err,
                     size_t errlen)
{
	(void)spec;
	(void)err;
	(void)errlen;
	*statep = NULL;
	return AGORA_OK;
}
