/* SPDX-License-Identifier: MIT */
/* scripted: answers from a list of lines, one line per turn (cycling, or
 * silent after the last with "cycle": false), streamed word by word with
 * word_delay_ms between words so streaming is visible. The stand-in for an
 * LLM in demos and tests. */
#include <string.h>

#include "agora/alloc.h"
#include "kinds.h"
#include "opts.h"

struct scripted {
	agora_strv lines;
	size_t next;     /* the line of the next turn */
	const char *pos; /* the rest of the line being streamed */
	int64_t delay_ms;
	bool cycle;
};

static agora_err
scripted_create(void **statep, const agora_agent_spec *spec, char *err,
                size_t errlen)
{
	const agora_json *lines = agora_json_get(spec->options, "lines");
	const agora_json *cycle = agora_json_get(spec->options, "cycle");
	struct scripted *s;
	double delay;
	agora_err rv;

	if (agora_json_typeof(lines) != AGORA_JSON_ARRAY ||
	    agora_json_size(lines) == 0) {
		snprintf(err, errlen,
		         "%s: kind scripted needs 'lines', a list of strings",
		         spec->role);
		return AGORA_EINVAL;
	}
	if (cycle != NULL && agora_json_typeof(cycle) != AGORA_JSON_BOOL) {
		snprintf(err, errlen, "%s: 'cycle' must be true or false",
		         spec->role);
		return AGORA_EINVAL;
	}
	rv = kind_opt_num(spec, "word_delay_ms", 0, 60000, 0, &delay, err,
	                  errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	s = agora_calloc(1, sizeof(*s));
	for (size_t i = 0; i < agora_json_size(lines); i++) {
		const char *line = agora_json_str(agora_json_at(lines, i));
		if (line == NULL) {
			snprintf(err, errlen, "%s: lines[%zu] is not a string",
			         spec->role, i);
			agora_strv_clear(&s->lines);
			agora_free(s);
			return AGORA_EINVAL;
		}
		agora_strv_push(&s->lines, line);
	}
	s->delay_ms = (int64_t)delay;
	s->cycle = cycle == NULL || agora_json_bool(cycle);
	*statep = s;
	return AGORA_OK;
}

/* Emit the next word (with the spaces after it); end after the last. */
static void
scripted_word(void *state, agora_turn *t)
{
	struct scripted *s = state;

	for (;;) {
		const char *p = s->pos;
		size_t n = 0;

		if (p == NULL || *p == '\0') {
			s->pos = NULL;
			agora_turn_done(t);
			return;
		}
		while (p[n] != '\0' && p[n] != ' ') {
			n++;
		}
		while (p[n] == ' ') {
			n++;
		}
		agora_turn_emit(t, p, n);
		s->pos = p + n;
		if (s->delay_ms > 0 && *s->pos != '\0') {
			agora_turn_after(t, s->delay_ms, scripted_word);
			return;
		}
	}
}

static void
scripted_act(void *state, agora_turn *t)
{
	struct scripted *s = state;

	if (s->next >= s->lines.n) {
		if (!s->cycle) {
			agora_turn_done(t); /* out of lines: says nothing */
			return;
		}
		s->next = 0;
	}
	s->pos = s->lines.v[s->next++];
	scripted_word(s, t);
}

static void
scripted_cancel(void *state, agora_turn *t)
{
	struct scripted *s = state;

	(void)t;
	s->pos = NULL;
}

static void
scripted_destroy(void *state)
{
	struct scripted *s = state;

	if (s != NULL) {
		agora_strv_clear(&s->lines);
		agora_free(s);
	}
}

static const char *const scripted_options[] = { "lines", "word_delay_ms",
	                                        "cycle", NULL };

const agora_kind agora__kind_scripted = {
	.name = "scripted",
	.summary = "answers from 'lines', word by word (word_delay_ms, cycle)",
	.option_names = scripted_options,
	.create = scripted_create,
	.act = scripted_act,
	.cancel = scripted_cancel,
	.destroy = scripted_destroy,
};
