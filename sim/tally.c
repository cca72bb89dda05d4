/* SPDX-License-Identifier: MIT */
/* sim_tally: the moderator of one share of agora sim's participants. Its turn
 * reads every answer in its inbox and reports, as JSON, how many answered
 * with a number in [0, max], their sum, each value's count and the
 * lowest-numbered participant who gave it (for the winner, chosen at the
 * top), and who answered without a number. An answer from a participant
 * outside the share is "stray"; an older answer from a participant who
 * answered again is "extra" (a late answer to an earlier question, stored
 * after that round was read): neither enters the sum, the newest answer
 * does. Messages from other roles (its own last report) are skipped. */
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

/* One turn's count of the share's answers. */
struct tally_count {
	size_t count, extra, stray, nn;
	double sum;
	uint8_t *seen;      /* a bit per participant of the share */
	size_t *counts;     /* per value */
	size_t *first;      /* per value: the first participant who gave it */
	agora_buf nn_roles; /* the first roles without a number, JSON */
};

static void
tally_read(const struct tally *t, struct tally_count *c, const agora_msg *m)
{
	size_t k = tally_index(m->sent_from);
	int64_t v;

	if (k == SIZE_MAX) {
		return; /* its own last report, a requirement */
	}
	if (k < t->from || k >= t->to) {
		c->stray++;
		return;
	}
	k -= t->from;
	if (c->seen[k / 8] & (1u << (k % 8))) {
		c->extra++;
		return;
	}
	c->seen[k / 8] |= (uint8_t)(1u << (k % 8));
	if (!tally_number(m->content, strlen(m->content), t->max, &v)) {
		if (c->nn++ < AGORA_SIM_FAILURES_KEPT) {
			(void)agora_buf_adds(&c->nn_roles,
			                     c->nn > 1 ? "," : "");
			(void)agora_buf_json_str(&c->nn_roles, m->sent_from,
			                         strlen(m->sent_from));
		}
		return;
	}
	if (c->counts[v]++ == 0 || k + t->from < c->first[v]) {
		c->first[v] = k + t->from;
	}
	c->sum += (double)v;
	c->count++;
}

static void
tally_report(const struct tally *t, const struct tally_count *c, agora_buf *b)
{
	size_t share = t->to - t->from;

	(void)agora_buf_adds(b, "{\"no_number\":[");
	(void)agora_buf_add(b, c->nn_roles.data, c->nn_roles.len);
	(void)agora_buf_addf(b,
	                     "],\"nn\":%zu,\"count\":%zu,\"sum\":%.17g,"
	                     "\"extra\":%zu,\"stray\":%zu,\"values\":[",
	                     c->nn, c->count, c->sum, c->extra, c->stray);
	for (int64_t v = 0, k = 0; v <= t->max; v++) {
		if (c->counts[v] > 0) {
			(void)agora_buf_addf(b, "%s[%lld,%zu,%zu]",
			                     k++ > 0 ? "," : "", (long long)v,
			                     c->counts[v], c->first[v]);
		}
	}
	/* Who answered, a bit per participant of the share (hex, lowest
	 * first): a turn the top took for lost whose answer still came is
	 * then counted once, as answered. */
	(void)agora_buf_adds(b, "],\"seen\":\"");
	for (size_t k = 0; k < share / 8 + 1; k++) {
		static const char hex[] = "0123456789abcdef";
		char two[2] = { hex[c->seen[k] >> 4], hex[c->seen[k] & 15] };
		(void)agora_buf_add(b, two, 2);
	}
	(void)agora_buf_adds(b, "\"}");
}

static void
tally_act(void *state, agora_turn *turn)
{
	struct tally *t = state;
	struct tally_count c = { 0 };
	agora_buf b;

	c.seen = agora_calloc((t->to - t->from) / 8 + 1, 1);
	c.counts = agora_calloc((size_t)t->max + 1, sizeof(size_t));
	c.first = agora_calloc((size_t)t->max + 1, sizeof(size_t));
	agora_buf_init(&c.nn_roles, 0);
	/* Newest first: the inbox is in the order answers were stored. */
	for (size_t i = agora_turn_ninputs(turn); i-- > 0;) {
		tally_read(t, &c, agora_turn_input(turn, i));
	}
	agora_buf_init(&b, 0); /* grows: up to max + 1 values */
	tally_report(t, &c, &b);
	agora_turn_emit(turn, b.data, b.len);
	agora_buf_fini(&b);
	agora_buf_fini(&c.nn_roles);
	agora_free(c.seen);
	agora_free(c.counts);
	agora_free(c.first);
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
