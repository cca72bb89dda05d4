/* SPDX-License-Identifier: MIT */
/* The TaskCenter: drives rounds of a multi-agent application over one
 * session's Environment and AgentRegistry (DESIGN.md section 4).
 * send_task_request stores a task; step returns a stream of frames, read
 * with agora_step_next, that come out as the agents produce them. One
 * center is used from one thread; one step runs at a time. */
#ifndef AGORA_TASKCENTER_H
#define AGORA_TASKCENTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agora/agent.h"
#include "agora/buf.h"
#include "agora/config.h"
#include "agora/env.h"
#include "agora/err.h"
#include "agora/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum agora_frame_type {
	AGORA_FRAME_CHUNK,
	AGORA_FRAME_END,
	AGORA_FRAME_ERROR,
	AGORA_FRAME_AWAITING_INPUT,
} agora_frame_type;

/* One frame. Frames from agora_step_next are lent until the next call. */
typedef struct agora_frame {
	char *role;
	agora_frame_type type;
	uint32_t seq;   /* per role within a step, from 0 */
	uint32_t round; /* from 1 */
	char *content;  /* chunk text, error reason; "" for end */
	size_t len;
	/* End frames of model turns: why the model stopped ("stop",
	 * "length" when max_tokens cut it ...; "" unknown) and its token
	 * counts (-1 unknown). */
	char finish[32];
	int64_t prompt_tokens;
	int64_t completion_tokens;
	int64_t total_tokens;
} agora_frame;

AGORA_API const char *agora_frame_type_name(agora_frame_type t);
/* ModelScope's text form: "<role>: chunk" (chunk frames; other types render
 * as "<role>: [end]", "<role>: [error] reason", "<role>: [awaiting input]"). */
AGORA_API agora_err agora_frame_render(const agora_frame *f, agora_buf *b);
/* {"role":..,"type":..,"seq":..,"round":..,"content":..} */
AGORA_API agora_err agora_frame_json(const agora_frame *f, agora_buf *b);
/* Parse the JSON form into f (strings owned; agora_frame_fini). */
AGORA_API agora_err agora_frame_decode(agora_frame *f, const char *text,
                                       size_t len, char *err, size_t errlen);
/* Split "<role>: content" at the first ": "; AGORA_EPROTO without one.
 * *role and *content are the caller's to free. */
AGORA_API agora_err agora_frame_extract(const char *text, char **role,
                                        char **content);
AGORA_API void agora_frame_fini(agora_frame *f);

typedef struct agora_center agora_center;
typedef struct agora_step agora_step;

/* Open a center on the Redis of cfg (with no redis.url, a private
 * redis-server is started and stopped with the center) and the session of
 * cfg (a new id if empty). err says what failed. */
AGORA_API agora_err agora_center_new(agora_center **cp, const agora_config *cfg,
                                     char *err, size_t errlen);
/* Free the center, its agents and, if it started one, its Redis. */
AGORA_API void agora_center_free(agora_center *c);
AGORA_API const char *agora_center_session(const agora_center *c);
AGORA_API agora_env *agora_center_env(agora_center *c);
AGORA_API agora_registry *agora_center_registry(agora_center *c);
AGORA_API const char *agora_center_redis_url(const agora_center *c);
/* The detail of the last error of any center call. */
AGORA_API const char *agora_center_errstr(const agora_center *c);

/* Add agents: their roles are registered in order and they are recorded in
 * the registry. A role that already has an agent is AGORA_EEXIST and none
 * of the n is added. On AGORA_OK the center owns them. */
AGORA_API agora_err agora_center_add_agents(agora_center *c,
                                            agora_agent *const *agents,
                                            size_t n);
AGORA_API agora_agent *agora_center_agent(agora_center *c, const char *role);
/* Remove (and free) the agents of these roles; unknown roles are ignored.
 * Their registry records are kept, marked offline. Not during a step. */
AGORA_API agora_err agora_center_remove_agents(agora_center *c,
                                               const char *const *roles,
                                               size_t n);
/* Move a local agent to an agent server (placement: child, auto or an
 * address): it is created there with its kind and options, and its
 * memory, kept in Redis, goes on. Not during a step. */
AGORA_API agora_err agora_center_move_agent(agora_center *c, const char *role,
                                            const char *placement);
/* What the registry records as where this center's agents run ("local"
 * by default; an agent server records its address). */
AGORA_API void agora_center_set_location(agora_center *c, const char *where);

/* Store task from send_from (NULL: user_requirement) to send_to (n == 0:
 * all). From an agent's role, it also enters that agent's memory. */
AGORA_API agora_err agora_center_send_task_request(agora_center *c,
                                                   const char *task,
                                                   const char *const *send_to,
                                                   size_t n,
                                                   const char *send_from);

typedef struct agora_step_opts {
	const char *task;           /* NULL: none */
	uint32_t rounds;            /* 0 means 1 */
	const char *const *send_to; /* n_send_to == 0: all */
	size_t n_send_to;
	const char *const *allowed_roles; /* n_allowed == 0: notified */
	size_t n_allowed;
	const char *user_response; /* for human agents; NULL: none */
	bool human_auto;           /* humans answer with their kind */
	const char *llm_args;      /* JSON object text; NULL: {} */
	int64_t deadline_ms;       /* 0: the center's default */
} agora_step_opts;

/* What a child agent server is given before its agents are made: a JSON
 * model-config list from fn (agora_kinds_builtin sets agora_models_dump),
 * so LLM agents work the same in a child as in this process. */
AGORA_API void agora_center_set_child_models(char *(*fn)(void));

/* Start a step (opts may be NULL for all defaults). An unknown role in
 * allowed_roles or send_to, or bad llm_args, is an error before anything
 * runs (err detail in agora_center_errstr). */
AGORA_API agora_err agora_center_step(agora_center *c,
                                      const agora_step_opts *opts,
                                      agora_step **stp);
/* The next frame, waiting for it. *fp is NULL when the step is over. A
 * Redis failure ends the step with AGORA_EREDIS (detail in
 * agora_step_errstr); an agent's failure is an error frame. */
AGORA_API agora_err agora_step_next(agora_step *st, const agora_frame **fp);
AGORA_API const char *agora_step_errstr(const agora_step *st);
/* From any thread: make the step end soon (agora_step_next returns
 * AGORA_ECANCELED); its unfinished turns' messages are put back when it is
 * freed. */
AGORA_API void agora_step_interrupt(agora_step *st);
/* Interrupt the center's running step, if any, and refuse steps from now
 * on (AGORA_ECANCELED): for a signal. True if a step was running. Thread-
 * safe; the step's owner frees it as usual, which gives back what its
 * agents had not answered. */
AGORA_API bool agora_center_interrupt(agora_center *c);
/* agora_step_next without waiting: AGORA_ETIMEDOUT when no frame is ready
 * and none can be until an agent's timer or post comes due. */
AGORA_API agora_err agora_step_poll(agora_step *st, const agora_frame **fp);

/* Direct calls as a step (what an agent server runs for `call`): agent
 * roles[i] reads inputs[i] (moved out) instead of its inbox; nothing is
 * drained or published; frames come out as in any step. A kind that reads
 * memory remembers the first input and the reply. Roles must be local
 * agents of c, each once. */
AGORA_API agora_err agora_center_direct(agora_center *c,
                                        const char *const *roles,
                                        agora_msgs *inputs, size_t n,
                                        int64_t deadline_ms, agora_step **stp);
/* The roles that act in this step, in order. */
AGORA_API const agora_strv *agora_step_roles(const agora_step *st);
/* Stop early (unfinished agents get their messages back) and free. */
AGORA_API void agora_step_free(agora_step *st);

/* Empty inboxes, views, memories, history and requirements. */
AGORA_API agora_err agora_center_reset(agora_center *c, bool keep_roles);

#ifdef __cplusplus
}
#endif
#endif
