/* SPDX-License-Identifier: MIT */
/* sleep: waits `seconds`, then answers `reply` (seed 001's web-search
 * mock). The wait is a timer, so a thousand sleeping agents hold no thread
 * and finish together. */
#include <stdio.h>

#include "agora/alloc.h"
#include "kinds.h"
#include "opts.h"

struct sleeper {
	int64_t ms;
	char *reply;
};

static agora_err
sleep_create(void **statep, const agora_agent_spec *spec, char *err,
             size_t errlen)
{
	struct sleeper *s;
	const char *reply;
	double seconds;
	agora_err rv;

	rv = kind_opt_num(spec, "seconds", 0, 3600, 1, &seconds, err, errlen);
	if (rv == AGORA_OK) {
		rv = kind_opt_str(spec, "reply", NULL, &reply, err, errlen);
	}
	if (rv != AGORA_OK) {
		return rv;
	}
	s = agora_calloc(1, sizeof(*s));
	s->ms = (int64_t)(seconds * 1000.0 + 0.5);
	s->reply = reply != NULL
	               ? agora_strdup(reply)
	               : agora_sprintf("%s slept %g s", spec->role, seconds);
	*statep = s;
	return AGORA_OK;
}

static void
sleep_wake(void *state, agora_turn *t)
{
	struct sleeper *s = state;

	agora_turn_emits(t, s->reply);
	agora_turn_done(t);
}

static void
sleep_act(void *state, agora_turn *t)
{
	struct sleeper *s = state;

	agora_turn_after(t, s->ms, sleep_wake);
}

static void
sleep_destroy(void *state)
{
	struct sleeper *s = state;

	if (s != NULL) {
		agora_free(s->reply);
		agora_free(s);
	}
}

static const char *const sleep_options[] = { "seconds", "reply", NULL };

const agora_kind agora__kind_sleep = {
	.name = "sleep",
	.summary = "waits 'seconds', then answers 'reply'",
	.option_names = sleep_options,
	.create = sleep_create,
	.act = sleep_act,
	.destroy = sleep_destroy,
};
