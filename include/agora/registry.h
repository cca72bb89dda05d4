/* SPDX-License-Identifier: MIT */
/* The AgentRegistry: every agent of a session by role, with its kind, where
 * it runs, its status, human mode, watcher flag, steps done and when it was
 * last seen, kept in Redis so other processes (agent servers, `agora ctl`,
 * a UI) see the same. Not thread-safe: one per thread. */
#ifndef AGORA_REGISTRY_H
#define AGORA_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agora/err.h"
#include "agora/redis.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum agora_agent_status {
	AGORA_AGENT_IDLE,
	AGORA_AGENT_BUSY,
	AGORA_AGENT_OFFLINE,
	AGORA_AGENT_ERROR,
} agora_agent_status;

typedef struct agora_agent_info {
	char *role;
	char *kind;
	char *server; /* "local" for an agent in the caller's process */
	agora_agent_status status;
	bool human;   /* human mode on: answers come from a person */
	bool watcher; /* reads everything, publishes nothing */
	uint64_t steps;
	int64_t last_seen_ms; /* wall clock */
	/* Running token counts of its model turns (what the LLM server said
	 * in usage), and why its last model turn stopped ("" unknown). */
	uint64_t prompt_tokens;
	uint64_t completion_tokens;
	uint64_t total_tokens;
	char last_finish[32];
} agora_agent_info;

typedef struct agora_registry agora_registry;

/* r is borrowed and must outlive the registry. */
AGORA_API agora_err agora_registry_open(agora_registry **regp, agora_redis *r,
                                        const char *session);
AGORA_API void agora_registry_close(agora_registry *reg);
AGORA_API const char *agora_registry_errstr(const agora_registry *reg);

/* Add or replace an agent's record; the role keeps its first place in the
 * listing order. */
/* The same for n agents in one round trip, in order. */
AGORA_API agora_err agora_registry_put_many(agora_registry *reg,
                                            const agora_agent_info *infos,
                                            size_t n);
AGORA_API agora_err agora_registry_put(agora_registry *reg,
                                       const agora_agent_info *info);
/* Fill *out (free with agora_agent_info_fini); AGORA_ENOTFOUND if absent. */
AGORA_API agora_err agora_registry_get(agora_registry *reg, const char *role,
                                       agora_agent_info *out);
/* Every agent in registration order; free with agora_agent_infos_free. */
AGORA_API agora_err agora_registry_list(agora_registry *reg,
                                        agora_agent_info **out, size_t *n);
/* Set the status (and last seen) of n agents in one round trip; with
 * step_done their step counts go up by one. */
AGORA_API agora_err agora_registry_mark_many(agora_registry *reg,
                                             const char *const *roles, size_t n,
                                             agora_agent_status status,
                                             bool step_done);
/* Count a step done for n agents whose status stays as it is (a
 * memoryless kind's agents, idle before and after): one HINCRBY each, in
 * one round trip; status and last seen are not written. */
AGORA_API agora_err agora_registry_count_steps(agora_registry *reg,
                                               const char *const *roles,
                                               size_t n);
/* Add n turns' token counts (tokens[3 * i]: prompt, completion, total; -1
 * unknown, not added) to roles[i]'s running counts, and record why each
 * stopped (finish[i], "" or NULL unknown), in one round trip. */
AGORA_API agora_err agora_registry_add_usage(agora_registry *reg,
                                             const char *const *roles,
                                             const int64_t *tokens,
                                             const char *const *finish,
                                             size_t n);
AGORA_API agora_err agora_registry_set_human(agora_registry *reg,
                                             const char *role, bool human);
/* Remove every record of the session. */
AGORA_API agora_err agora_registry_clear(agora_registry *reg);

AGORA_API const char *agora_agent_status_name(agora_agent_status s);

/* The server registry, shared by all sessions of a Redis: agent servers
 * beat every second; one silent for AGORA_SERVER_STALE_MS is not live. */
#define AGORA_SERVER_STALE_MS 3000
typedef struct agora_server_info {
	char *url;
	int pid;
	size_t agents;
	size_t busy;
	int64_t last_seen_ms; /* wall clock */
	bool live;
} agora_server_info;

AGORA_API agora_err agora_servers_beat(agora_redis *r,
                                       const agora_server_info *s);
AGORA_API agora_err agora_servers_remove(agora_redis *r, const char *url);
/* Every server ever registered (live or not); free with
 * agora_server_infos_free. */
AGORA_API agora_err agora_servers_list(agora_redis *r, agora_server_info **out,
                                       size_t *n);
AGORA_API void agora_server_infos_free(agora_server_info *v, size_t n);
AGORA_API void agora_agent_info_fini(agora_agent_info *info);
AGORA_API void agora_agent_infos_free(agora_agent_info *v, size_t n);

#ifdef __cplusplus
}
#endif
#endif
