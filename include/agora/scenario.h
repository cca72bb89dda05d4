/* SPDX-License-Identifier: MIT */
/* Scenario files (docs/scenario.md): the agents of an application and a
 * script of send_task_request, step and reset calls, and loops of them
 * that run until the person quits, in JSON. Loading checks
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

/* What the person says when asked (agora_run_hooks.ask). */
typedef enum agora_answer {
	AGORA_ANSWER_WORDS, /* *words: the person's words, published */
	AGORA_ANSWER_SKIP,  /* let the agent answer on its own (or skip) */
	AGORA_ANSWER_QUIT,  /* the person left (/quit, end of input, a
	                       closed page): nobody is asked again, and the
	                       "until": "quit" loop ends */
} agora_answer;

/* Why a loop ended (agora_run_hooks.on_loop_end). */
typedef enum agora_loop_end {
	AGORA_LOOP_QUIT,   /* the person quit */
	AGORA_LOOP_MAX,    /* its "max" rounds ran */
	AGORA_LOOP_NOBODY, /* "until": "quit", but loop_idle_max rounds in
	                      a row asked nobody (no person attached, the
	                      person gone, or no human role acted) */
} agora_loop_end;

typedef struct agora_run_hooks {
	/* Every frame, as it comes out of a step. */
	void (*on_frame)(void *arg, const agora_frame *f);
	/* A human role waits for input after a step (the step is over:
	 * nothing is in flight). AGORA_ANSWER_WORDS with *words set
	 * (agora_malloc'd; the runner frees them), AGORA_ANSWER_SKIP, or
	 * AGORA_ANSWER_QUIT. NULL hook: no person is attached; humans
	 * without a scripted response are skipped. A driver whose person
	 * leaves during a step interrupts it (agora_center_interrupt: its
	 * messages are given back, the run returns AGORA_ECANCELED). */
	agora_answer (*ask)(void *arg, const char *role, char **words);
	/* Before each script item: its place ("script[2].step", repeat i),
	 * and before each round r of a loop ("script[3].loop", r) and each
	 * of its items ("script[3].loop[0].step", repeat i). */
	void (*on_item)(void *arg, const char *where, unsigned rep);
	void *arg;
	/* An "until": "quit" loop goes on while the person is asked; it ends
	 * after this many rounds in a row that asked nobody (0: 1), so a
	 * run with no person (ask NULL) runs such a loop this many times,
	 * not to its max. */
	unsigned loop_idle_max;
	/* A loop ended ("script[2].loop"), after rounds rounds. */
	void (*on_loop_end)(void *arg, const char *where, unsigned rounds,
	                    agora_loop_end why);
	/* Before each step is started, its options: a driver learns whom
	 * the step's replies go to (o->send_to; none: all) before any of
	 * their chunks, so a person's view can keep a whisper to others
	 * unseen rather than stream it. */
	void (*on_step)(void *arg, const agora_step_opts *o);
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
