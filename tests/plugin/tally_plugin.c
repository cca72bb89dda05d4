/* SPDX-License-Identifier: MIT */
/* A plugin kind for the tests, loaded by agent servers with --plugin:
 * "tally" answers "n=<inputs read> <first input> m=<memory entries>" after
 * delay_ms (waiting on a timer, holding no thread). */
#include <stdio.h>
#include <string.h>

#include "agora/agora.h"

struct tally {
	int64_t delay_ms;
};

static agora_err
tally_create(void **statep, const agora_agent_spec *spec, char *err,
             size_t errlen)
{
	struct tally *t = agora_calloc(1, sizeof(*t));

	(void)err;
	(void)errlen;
	(void)agora_json_int(agora_json_get(spec->options, "delay_ms"), 0,
	                     600000, &t->delay_ms);
	*statep = t;
	return AGORA_OK;
}

static void
tally_answer(void *state, agora_turn *turn)
{
	size_t n = agora_turn_ninputs(turn);
	char line[512];

	(void)state;
	snprintf(line, sizeof(line), "n=%zu %s m=%zu", n,
	         n > 0 ? agora_turn_input(turn, 0)->content : "-",
	         agora_turn_nmemory(turn));
	agora_turn_emits(turn, line);
	agora_turn_done(turn);
}

static void
tally_act(void *state, agora_turn *turn)
{
	struct tally *t = state;

	if (t->delay_ms > 0) {
		agora_turn_after(turn, t->delay_ms, tally_answer);
	} else {
		tally_answer(state, turn);
	}
}

static void
tally_destroy(void *state)
{
	agora_free(state);
}

static const agora_kind tally_kind = {
	.name = "tally",
	.summary = "test plugin: counts what it read and remembers",
	.memory_limit = 50,
	.create = tally_create,
	.act = tally_act,
	.destroy = tally_destroy,
};

int agora_plugin_register(void);

int
agora_plugin_register(void)
{
	return agora_kind_register(&tally_kind) == AGORA_OK ? 0 : 1;
}
