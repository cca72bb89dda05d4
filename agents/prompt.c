/* SPDX-License-Identifier: MIT */
/* Prompt building for LLM agents: turns from memory and inputs, trimmed
 * oldest first to a budget, written as a chat-completions messages array. */
#include <string.h>

#include "agora/alloc.h"
#include "prompt.h"

#define PROMPT_TURN_OVERHEAD 4 /* tokens a message costs besides its text */

int64_t
prompt_tokens(const char *s)
{
	int64_t ascii = 0, other = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';
	     p++) {
		if (*p < 0x80) {
			ascii++;
		} else if ((*p & 0xc0) != 0x80) {
			other++; /* the first byte of a character */
		}
	}
	return (ascii + 3) / 4 + other;
}

int64_t
prompt_chars(const char *s)
{
	int64_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';
	     p++) {
		n += (*p & 0xc0) != 0x80;
	}
	return n;
}

struct turn {
	bool mine;
	char *text;
	int64_t cost_tokens, cost_chars;
};

static void
turn_of(struct turn *t, const agora_msg *m, const char *role)
{
	t->mine = strcmp(m->sent_from, role) == 0;
	/* The user's own requests read as theirs; others are named. */
	t->text = t->mine || strcmp(m->sent_from, AGORA_USER_REQUIREMENT) == 0
	              ? agora_strdup(m->content)
	              : agora_sprintf("%s: %s", m->sent_from, m->content);
	t->cost_tokens = prompt_tokens(t->text) + PROMPT_TURN_OVERHEAD;
	t->cost_chars = prompt_chars(t->text);
}

static bool
over(const struct prompt_budget *b, int64_t tokens, int64_t chars)
{
	return (b->tokens > 0 && tokens > b->tokens) ||
	       (b->chars > 0 && chars > b->chars);
}

static agora_err
emit(agora_buf *out, const char *role, const char *text)
{
	agora_err rv =
	    agora_buf_addf(out, "%s{\"role\":\"%s\",\"content\":",
	                   out->data[out->len - 1] == '[' ? "" : ",", role);

	if (rv == AGORA_OK) {
		rv = agora_buf_json_str(out, text, strlen(text));
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_adds(out, "}");
	}
	return rv;
}

agora_err
prompt_build(agora_buf *out, const struct prompt_input *in,
             const struct prompt_budget *b, size_t *trimmed)
{
	size_t n = in->nmemory + in->ninputs, first = 0;
	struct turn *turns = agora_calloc(n + 1, sizeof(*turns));
	int64_t tokens = 0, chars = 0;
	agora_err rv;

	for (size_t i = 0; i < n; i++) {
		turn_of(&turns[i],
		        i < in->nmemory ? in->memory[i]
		                        : in->inputs[i - in->nmemory],
		        in->role);
		tokens += turns[i].cost_tokens;
		chars += turns[i].cost_chars;
	}
	if (in->instruction != NULL) {
		tokens += prompt_tokens(in->instruction) + PROMPT_TURN_OVERHEAD;
		chars += prompt_chars(in->instruction);
	}
	if (in->task != NULL) {
		tokens += prompt_tokens(in->task) + PROMPT_TURN_OVERHEAD;
		chars += prompt_chars(in->task);
	}
	/* Oldest first; the newest turn stays whatever it costs. */
	while (first + 1 < n && over(b, tokens, chars)) {
		tokens -= turns[first].cost_tokens;
		chars -= turns[first].cost_chars;
		first++;
	}
	*trimmed = first;
	rv = agora_buf_adds(out, "[");
	if (rv == AGORA_OK && in->instruction != NULL) {
		rv = emit(out, "system", in->instruction);
	}
	for (size_t i = first; i < n && rv == AGORA_OK; i++) {
		rv = emit(out, turns[i].mine ? "assistant" : "user",
		          turns[i].text);
	}
	if (rv == AGORA_OK && in->task != NULL) {
		rv = emit(out, "user", in->task);
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_adds(out, "]");
	}
	for (size_t i = 0; i < n; i++) {
		agora_free(turns[i].text);
	}
	agora_free(turns);
	return rv;
}
