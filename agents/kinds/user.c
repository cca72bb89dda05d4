/* SPDX-License-Identifier: MIT */
/* user: a person. Its words come from the step's user_response (or the
 * terminal in `agora chat`), handled by the step itself; this kind has no
 * model, so when asked to answer on its own (an empty line in chat) it says
 * nothing and its pending messages count as read. */
#include "kinds.h"

static void
user_act(void *state, agora_turn *t)
{
	(void)state;
	agora_turn_done(t);
}

static const char *const user_options[] = { NULL };

const agora_kind agora__kind_user = {
	.name = "user",
	.summary = "a person; answers come from user_response or the terminal",
	.option_names = user_options,
	.create = agora__kind_no_state,
	.act = user_act,
};
