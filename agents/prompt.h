/* SPDX-License-Identifier: MIT */
/* Private: the chat-completions "messages" of a roleplay turn
 * (docs/llm.md): the instruction as the system message; then the agent's
 * memory and what it read this turn, oldest first, others' words as user
 * turns "sender: content" (a user_requirement's as they are) and its own
 * as assistant turns; then the step's
 * task. Over budget, the oldest turns go first; the system message, the
 * task and the newest turn always stay. */
#ifndef AGORA_PROMPT_H
#define AGORA_PROMPT_H

#include "agora/buf.h"
#include "agora/msg.h"

struct prompt_budget {
	int64_t tokens; /* estimated; 0: no limit */
	int64_t chars;  /* UTF-8 characters; 0: no limit */
};

struct prompt_input {
	const char *role;        /* the agent's role */
	const char *instruction; /* NULL: no system message */
	const agora_msg *const *memory;
	size_t nmemory;
	const agora_msg *const *inputs;
	size_t ninputs;
	const char *task; /* NULL: none */
};

/* A cheap token estimate: a token per 4 bytes of ASCII, one per other
 * character (CJK text is about a token a character). */
int64_t prompt_tokens(const char *s);
int64_t prompt_chars(const char *s);

/* Append the JSON array to out; *trimmed counts the turns left out. */
agora_err prompt_build(agora_buf *out, const struct prompt_input *in,
                       const struct prompt_budget *budget, size_t *trimmed);

#endif
