/* SPDX-License-Identifier: MIT */
/* sim_tally: the moderator of one share of agora sim's participants. Its turn
 * reads every answer in its inbox and reports, as JSON, how many answered
 * with a number in [0, max], their sum, each value's count and the first
 * participant who gave it (for the winner, chosen at the top), and who
 * answered without a number. An answer from a participant outside the
 * share is "stray"; a second answer from one participant is "extra" (a
 * late answer to an earlier question): neither enters the sum. Messages
 * from other roles (its own last report) are skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/buf.h"
#include "sim_int.h"

struct tally {
	int64_t max;
	size_t from, to;
};

static bool
tally_opt(const agora_agent_spec *spec, const char *key, int64_t hi,
          int64_t *out, char *err, size_t errlen)
{
	const agora_json *v = agora_json_get(spec->options, key);

	if (v == NULL || !agora_json_int(v, 0, hi, out)) {
		snprintf(err, errlen,
		         "sim_tally: option %s: expected 0 to %lld", key,
		         (long long)hi);
		return false;
	}
	return true;
}

static agora_err
tally_create(void **statep, const agora_agent_spec *spec, char *err,
             size_t errlen)
{
	int64_t max, from, to;
	struct tally *t;

	if (!tally_opt(spec, "max", AGORA_SIM_MAX_VALUE, &max, err, errlen) ||
	    !tally_opt(spec, "from", INT64_MAX / 2, &from, err, errlen) ||
	    !tally_opt(spec, "to", INT64_MAX / 2, &to, err, errlen)) {
		return AGORA_EINVAL;
	}
	if (to < from) {
		snprintf(err, errlen,
		         "sim_tally: to (%lld) is before from (%lld)",
		         (long long)to, (long long)from);
		return AGORA_EINVAL;
	}
	t = agora_calloc(1, sizeof(*t));
	t->max = max;
	t->from = (size_t)from;
	t->to = (size_t)to;
	*statep = t;
	return AGORA_OK;
}

/* The participant index of "p<digits>", or SIZE_MAX. */
static size_t
tally_index(const char *role)
{
	size_t i = 0;

	if (role[0] != 'p' || role[1] == '\0') {
		return SIZE_MAX;
	}
	for (const char *p = role + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || i > SIZE_MAX / 10 - 10) {
			return SIZE_MAX;
		}
		i = i * 10 + (size_t)(*p - '0');
	}
	return i;
}

/* The last whole number in text (AgentScope's participants parse the
 * last run of digits), if it is in [0, max]. */
static bool
tally_number(const char *text, size_t len, int64_t max, int64_t *out)
{
	size_t end = len, start;
	int64_t v = 0;

	while (end > 0 && (text[end - 1] < '0' || text[end - 1] > '9')) {
		end--;
	}
	if (end == 0) {
		return false;
	}
	start = end;
	while (start > 0 && text[start - 1] >= '0' && text[start - 1] <= '9') {
		start--;
	}
	for (size_t i = start; i < end; i++) {
		v = v * 10 + (text[i] - '0');
		if (v > max) {
			return false;
		}
	}
	*out = v;
	return true;
}

static void
tally_act(void *state, agora_turn *turn)
{
	struct tally *t = state;
	size_t n = agora_turn_ninputs(turn), share = t->to - t->from;
	size_t count = 0, extra = 0, stray = 0, nn = 0, listed = 0;
	uint8_t *seen = agora_calloc(share / 8 + 1, 1);
	size_t *counts = agora_calloc((size_t)t->max + 1, sizeof(size_t));
	size_t *first = agora_calloc((size_t)t->max + 1, sizeof(size_t));
	double sum = 0;
	agora_buf b;

	agora_buf_init(&b, 0); /* grows: up to max + 1 values */
	(void)agora_buf_adds(&b, "{\"no_number\":[");
	for (size_t i = 0; i < n; i++) {
		const agora_msg *m = agora_turn_input(turn, i);
		size_t k = tally_index(m->sent_from);
		int64_t v;

		if (k == SIZE_MAX) {
			continue; /* its own last report, a requirement */
		}
		if (k < t->from || k >= t->to) {
			stray++;
			continue;
		}
		k -= t->from;
		if (seen[k / 8] & (1u << (k % 8))) {
			extra++;
			continue;
		}
		seen[k / 8] |= (uint8_t)(1u << (k % 8));
		if (!tally_number(m->content, strlen(m->content), t->max, &v)) {
			if (listed++ < AGORA_SIM_FAILURES_KEPT) {
				(void)agora_buf_addf(&b, "%s\"%s\"",
				                     listed > 1 ? "," : "",
				                     m->sent_from);
			}
			nn++;
			continue;
		}
		if (counts[v]++ == 0) {
			first[v] = k + t->from;
		}
		sum += (double)v;
		count++;
	}
	(void)agora_buf_addf(&b,
	                     "],\"nn\":%zu,\"count\":%zu,\"sum\":%.17g,"
	                     "\"extra\":%zu,\"stray\":%zu,\"values\":[",
	                     nn, count, sum, extra, stray);
	for (int64_t v = 0, k = 0; v <= t->max; v++) {
		if (counts[v] > 0) {
			(void)agora_buf_addf(&b, "%s[%lld,%zu,%zu]",
			                     k++ > 0 ? "," : "", (long long)v,
			                     counts[v], first[v]);
		}
	}
	(void)agora_buf_adds(&b, "]}");
	agora_turn_emit(turn, b.data, b.len);
	agora_buf_fini(&b);
	agora_free(seen);
	agora_free(counts);
	agora_free(first);
	agora_turn_done(turn);
}

static const char *const tally_options[] = { "max", "from", "to", NULL };

const agora_kind agora__sim_tally = {
	.name = "sim_tally",
	.summary = "agora sim's moderator: reports a share's answers (max, "
	           "from, to)",
	.option_names = tally_options,
	.create = tally_create,
	.act = tally_act,
	.destroy = agora_free,
	/* It reads its inbox and reports: nothing to remember, and its
	 * answers (100,000s) need no view or memory entries. */
	.memoryless = true,
};
