/* SPDX-License-Identifier: MIT */
/* moderator: runs the guessing game of seed 003. Each turn it reads the
 * answers in its inbox (the first whole number in each message from a
 * role), and announces their average and who came closest to it. Messages
 * without a number are counted as invalid, not guessed at. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/buf.h"
#include "kinds.h"

/* The first whole number in s, if any. */
static bool
moderator_number(const char *s, double *out)
{
	for (const char *p = s; *p != '\0'; p++) {
		if (isdigit((unsigned char)*p)) {
			*out = strtod(p, NULL);
			return true;
		}
	}
	return false;
}

static void
moderator_act(void *state, agora_turn *t)
{
	size_t n = agora_turn_ninputs(t), valid = 0, invalid = 0;
	double sum = 0, avg, best = HUGE_VAL;
	const char *winner = NULL;
	agora_buf b;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		const agora_msg *m = agora_turn_input(t, i);
		double v;
		if (strcmp(m->sent_from, AGORA_USER_REQUIREMENT) == 0) {
			continue;
		}
		if (moderator_number(m->content, &v)) {
			sum += v;
			valid++;
		} else {
			invalid++;
		}
	}
	agora_buf_init(&b, 4096);
	if (valid == 0) {
		(void)agora_buf_addf(&b, "No answers to average (%zu invalid).",
		                     invalid);
		agora_turn_emit(t, b.data, b.len);
		agora_buf_fini(&b);
		agora_turn_done(t);
		return;
	}
	avg = sum / (double)valid;
	for (size_t i = 0; i < n; i++) {
		const agora_msg *m = agora_turn_input(t, i);
		double v;
		if (strcmp(m->sent_from, AGORA_USER_REQUIREMENT) != 0 &&
		    moderator_number(m->content, &v) && fabs(v - avg) < best) {
			best = fabs(v - avg);
			winner = m->sent_from;
		}
	}
	(void)agora_buf_addf(&b,
	                     "The average of %zu answers is %.3f; closest: %s.",
	                     valid, avg, winner != NULL ? winner : "nobody");
	if (invalid > 0) {
		(void)agora_buf_addf(&b, " (%zu answers had no number.)",
		                     invalid);
	}
	agora_turn_emit(t, b.data, b.len);
	agora_buf_fini(&b);
	agora_turn_done(t);
}

static const char *const moderator_options[] = { NULL };

const agora_kind agora__kind_moderator = {
	.name = "moderator",
	.summary = "guessing game: announces the average of the answers",
	.option_names = moderator_options,
	.create = agora__kind_no_state,
	.act = moderator_act,
};
