/* SPDX-License-Identifier: MIT */
/* Agents and agent kinds. A kind is a vtable with a name; an agent is one
 * instance of a kind with a role. A kind never assumes where it runs: it
 * sees one turn at a time through agora_turn_*, emits chunks, and ends the
 * turn now or later. To wait (a timer, later an LLM stream) it asks for a
 * callback with agora_turn_after instead of blocking, so waiting agents hold
 * no thread and thousands wait at once. */
#ifndef AGORA_AGENT_H
#define AGORA_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agora/err.h"
#include "agora/json.h"
#include "agora/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agora_turn agora_turn;
typedef struct agora_agent agora_agent;

typedef struct agora_agent_spec {
	const char *role;
	const char *kind;
	const agora_json *options; /* the kind's options; may be NULL */
	bool human;                /* human mode on */
	bool watcher;              /* reads everything, publishes nothing */
	/* Where it runs (docs/agents.md): NULL or "local" (this process),
	 * "child" (a child agent server agora starts), "auto" (the least
	 * loaded live server in the registry, else a child), or the address
	 * of a running server (tcp://host:port, ipc:///path). */
	const char *placement;
} agora_agent_spec;

typedef struct agora_kind {
	const char *name;
	const char *summary; /* one line for `agora kinds` and errors */
	/* The option keys the kind reads (NULL-ended), so a scenario with a
	 * misspelt key is an error; NULL accepts any key. */
	const char *const *option_names;
	/* How many memory entries a turn needs (0: none); the step fetches
	 * them for all such agents in one round trip. */
	size_t memory_limit;
	/* Make one agent's state from spec. An error (bad options) goes to
	 * err, naming the option; no agent is made. */
	agora_err (*create)(void **statep, const agora_agent_spec *spec,
	                    char *err, size_t errlen);
	/* Begin a turn. The kind must end it exactly once with
	 * agora_turn_done or agora_turn_fail, during act or later from an
	 * agora_turn_after callback. */
	void (*act)(void *state, agora_turn *turn);
	/* Optional: the runtime abandons a turn the kind has not ended (its
	 * deadline passed, or the step was freed); forget any reference to
	 * it. Pending agora_turn_after callbacks are dropped already. */
	void (*cancel)(void *state, agora_turn *turn);
	/* Free the state. NULL state is possible. */
	void (*destroy)(void *state);
	/* The kind keeps nothing of a turn: it reads its inputs and answers
	 * (memory_limit must be 0). Its turns write no view or memory entries,
	 * and while its status stays idle, no status in the registry: only
	 * its step count goes up (docs/agents.md). Much cheaper in Redis for
	 * rounds of many such agents. Last, so that plugins built before it
	 * keep their layout. */
	bool memoryless;
} agora_kind;

/* Add a kind (the struct must outlive its use). AGORA_EEXIST if the name
 * is taken. Thread-safe. */
AGORA_API agora_err agora_kind_register(const agora_kind *kind);
AGORA_API const agora_kind *agora_kind_find(const char *name);
/* The names of every registered kind, sorted. */
AGORA_API void agora_kind_names(agora_strv *out);

/* Make an agent: checks the role name, finds the kind and creates its
 * state. An unknown kind, a bad role or bad options: err says which. */
AGORA_API agora_err agora_agent_new(agora_agent **ap,
                                    const agora_agent_spec *spec, char *err,
                                    size_t errlen);
AGORA_API void agora_agent_free(agora_agent *a);
AGORA_API const char *agora_agent_role(const agora_agent *a);
AGORA_API const char *agora_agent_kind(const agora_agent *a);
AGORA_API bool agora_agent_is_human(const agora_agent *a);
AGORA_API bool agora_agent_is_watcher(const agora_agent *a);
AGORA_API void agora_agent_set_human(agora_agent *a, bool human);

/* --- The turn, as a kind sees it. All lend; valid until the turn ends. */

AGORA_API const char *agora_turn_role(const agora_turn *t);
/* The round within the step, from 1. */
AGORA_API uint32_t agora_turn_round(const agora_turn *t);
/* The step's task text, or NULL. */
AGORA_API const char *agora_turn_task(const agora_turn *t);
/* What the agent reads this turn: its drained messages, or for a watcher
 * the recent history. */
AGORA_API size_t agora_turn_ninputs(const agora_turn *t);
AGORA_API const agora_msg *agora_turn_input(const agora_turn *t, size_t i);
/* The agent's memory before this turn (kind's memory_limit entries):
 * what it read in earlier turns (role user) and said (role assistant). */
AGORA_API size_t agora_turn_nmemory(const agora_turn *t);
AGORA_API const agora_msg *agora_turn_memory(const agora_turn *t, size_t i);
/* The step's llm_args as JSON object text ("{}" if none). */
AGORA_API const char *agora_turn_llm_args(const agora_turn *t);

/* Stream one chunk (copied). The reply is the chunks joined. */
AGORA_API void agora_turn_emit(agora_turn *t, const char *text, size_t len);
AGORA_API void agora_turn_emits(agora_turn *t, const char *text);
/* End the turn: the reply is published to the step's send_to (an empty
 * reply publishes nothing). */
AGORA_API void agora_turn_done(agora_turn *t);
/* The model's account of this turn, put on its end frame and added to the
 * agent's running token counts in the registry: why it stopped (finish:
 * "stop", "length" ...; NULL unknown) and its tokens (-1 unknown). Call
 * before agora_turn_done. */
AGORA_API void agora_turn_set_usage(agora_turn *t, const char *finish,
                                    int64_t prompt_tokens,
                                    int64_t completion_tokens,
                                    int64_t total_tokens);
/* End the turn with an error: an error frame says why, nothing is
 * published and the drained messages are delivered again later. */
AGORA_API void agora_turn_fail(agora_turn *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Call fn(state, t) after delay_ms, without holding a thread. One pending
 * callback per turn; it is dropped if the turn ends first. */
AGORA_API void agora_turn_after(agora_turn *t, int64_t delay_ms,
                                void (*fn)(void *state, agora_turn *t));

/* Run fn(state, t, arg) on the step's thread, soon. The one call of the
 * turn API that is thread-safe: for kinds whose work completes on another
 * thread (an HTTP client, a transport). If the turn has ended by then, fn
 * is not called. Either way free_arg(arg) is called last (free_arg may be
 * NULL). After the runtime calls the kind's cancel for a turn, the kind
 * must not post for that turn again. */
AGORA_API void agora_turn_post(agora_turn *t,
                               void (*fn)(void *state, agora_turn *t,
                                          void *arg),
                               void *arg, void (*free_arg)(void *arg));

#ifdef __cplusplus
}
#endif
#endif
