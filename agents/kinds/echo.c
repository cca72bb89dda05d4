/* SPDX-License-Identifier: MIT */
/* echo: answers each turn with what it read (the last message's content,
 * or the step's task if it read nothing), as one chunk, with an optional
 * prefix. The cheapest kind: the baseline of the step benchmarks. */
#include <string.h>

#include "agora/alloc.h"
#include "kinds.h"
#include "opts.h"

struct echo {
	char *prefix;
};

static agora_err
echo_create(void **statep, const agora_agent_spec *spec, char *err,
            size_t errlen)
{
	const char *prefix;
	agora_err rv = kind_opt_str(spec, "prefix", "", &prefix, err, errlen);
	struct echo *e;

	if (rv != AGORA_OK) {
		return rv;
	}
	e = agora_calloc(1, sizeof(*e));
	e->prefix = agora_strdup(prefix);
	*statep = e;
	return AGORA_OK;
}

static void
echo_act(void *state, agora_turn *t)
{
	struct echo *e = state;
	size_t n = agora_turn_ninputs(t);
	const char *text =
	    n > 0 ? agora_turn_input(t, n - 1)->content : agora_turn_task(t);

	if (text != NULL && text[0] != '\0') {
		if (e->prefix[0] != '\0') {
			agora_turn_emits(t, e->prefix);
		}
		agora_turn_emits(t, text);
	}
	agora_turn_done(t);
}

static void
echo_destroy(void *state)
{
	struct echo *e = state;

	if (e != NULL) {
		agora_free(e->prefix);
		agora_free(e);
	}
}

static const char *const echo_options[] = { "prefix", NULL };

const agora_kind agora__kind_echo = {
	.name = "echo",
	.summary = "answers with the last message it read (option: prefix)",
	.option_names = echo_options,
	.create = echo_create,
	.act = echo_act,
	.destroy = echo_destroy,
};
