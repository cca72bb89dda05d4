/* SPDX-License-Identifier: MIT */
/* Scenario files (docs/scenario.md): the agents of an application and a
 * script of send_task_request, step and reset calls, in JSON. Loading checks
 * everything it can before anything runs, and its errors name the file and
 * the line, or the key ("debate.json: script[2].step: unknown role 'x' in
 * allowed_roles"). */
#ifndef AGORA_SCENARIO_H
#define AGORA_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include "agora/taskcenter.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AGORA_SCENARIO_MAX_BYTES  (4u << 20)
#define AGORA_SCENARIO_MAX_AGENTS 1000000

typedef struct agora_scenario agora_scenario;

/* Load and check a scenario (registers the built-in kinds first). */
AGORA_API agora_err agora_scenario_load(agora_scenario **sp, const char *path,
                                        char *err, size_t errlen);
/* The same from text; name stands for the file in errors. */
AGORA_API agora_err agora_scenario_parse(agora_scenario **sp, const char *name,
                                         const char *text, size_t len,
                                         char *err, size_t errlen);
AGORA_API void agora_scenario_free(agora_scenario *s);
AGORA_API const char *agora_scenario_name(const agora_scenario *s);
/* The scenario's session id, or NULL. */
AGORA_API const char *agora_scenario_session(const agora_scenario *s);

/* Place the agents that name no placement (humans excepted) round-robin
 * on these ("child", "auto" or server addresses): `agora run --servers N`
 * and `--connect URL`. */
AGORA_API void agora_scenario_place(agora_scenario *s,
                                    const char *const *placements, size_t n);

/* Make the scenario's agents and add them to c. */
AGORA_API agora_err agora_scenario_add_agents(const agora_scenario *s,
                                              agora_center *c, char *err,
                                              size_t errlen);

typedef struct agora_run_hooks {
	/* Every frame, as it comes out of a step. */
	void (*on_frame)(void *arg, const agora_frame *f);
	/* A human role waits for input after a step: return the person's
	 * words (agora_malloc'd; the runner frees them), "" to let the agent
	 * answer on its own (or skip), or NULL when there is no more input.
	 * NULL hook: humans without a scripted response are skipped. */
	char *(*ask)(void *arg, const char *role);
	/* Before each script item: its place ("script[2].step", repeat i). */
	void (*on_item)(void *arg, const char *where, unsigned rep);
	void *arg;
} agora_run_hooks;

typedef struct agora_run_stats {
	size_t steps;
	size_t frames;
	size_t chunks;
	size_t errors;   /* error frames */
	size_t awaiting; /* awaiting_input frames */
} agora_run_stats;

/* Run the script on c (whose agents came from agora_scenario_add_agents).
 * Agent errors are frames, counted in stats; a failure that stops the
 * script (Redis) is returned with err saying where. */
AGORA_API agora_err agora_scenario_run(const agora_scenario *s, agora_center *c,
                                       const agora_run_hooks *hooks,
                                       agora_run_stats *stats, char *err,
                                       size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
