/* SPDX-License-Identifier: MIT */
/* random: a guessing-game participant (seed 003). Each turn it answers a
 * whole number in [0, max], after think_ms if set (a timer, not a thread).
 * With a seed, answers are reproducible: the generator is seeded from the
 * seed and the role. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "kinds.h"
#include "opts.h"

struct random_agent {
	uint64_t rng; /* xorshift64* state, never 0 */
	int64_t max;
	int64_t think_ms;
};

static uint64_t
random_next(struct random_agent *r)
{
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * 2685821657736338717ull;
}

static agora_err
random_create(void **statep, const agora_agent_spec *spec, char *err,
              size_t errlen)
{
	struct random_agent *r;
	double max, think, seed;
	uint64_t h = 1469598103934665603ull;
	agora_err rv;

	rv = kind_opt_num(spec, "max", 1, 1e9, 100, &max, err, errlen);
	if (rv == AGORA_OK) {
		rv = kind_opt_num(spec, "think_ms", 0, 3600000, 0, &think, err,
		                  errlen);
	}
	if (rv == AGORA_OK) {
		rv =
		    kind_opt_num(spec, "seed", 0, 9e15, -1, &seed, err, errlen);
	}
	if (rv != AGORA_OK) {
		return rv;
	}
	for (const char *p = spec->role; *p != '\0'; p++) {
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	}
	r = agora_calloc(1, sizeof(*r));
	r->max = (int64_t)max;
	r->think_ms = (int64_t)think;
	r->rng = h ^ (seed >= 0 ? (uint64_t)seed * 0x9e3779b97f4a7c15ull
	                        : (uint64_t)agora_now_us());
	if (r->rng == 0) {
		r->rng = 0x2545f4914f6cdd1dull;
	}
	*statep = r;
	return AGORA_OK;
}

static void
random_answer(void *state, agora_turn *t)
{
	struct random_agent *r = state;
	char text[32];

	snprintf(text, sizeof(text), "%llu",
	         (unsigned long long)(random_next(r) % (uint64_t)(r->max + 1)));
	agora_turn_emits(t, text);
	agora_turn_done(t);
}

static void
random_act(void *state, agora_turn *t)
{
	struct random_agent *r = state;

	if (r->think_ms > 0) {
		agora_turn_after(t, r->think_ms, random_answer);
	} else {
		random_answer(state, t);
	}
}

static const char *const random_options[] = { "max", "think_ms", "seed", NULL };

const agora_kind agora__kind_random = {
	.name = "random",
	.summary = "guessing-game participant: a number in [0, max] (think_ms, "
	           "seed)",
	.option_names = random_options,
	.memoryless = true,
	.create = random_create,
	.act = random_act,
	.destroy = agora_free,
};
