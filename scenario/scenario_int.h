/* SPDX-License-Identifier: MIT */
/* Private to scenario/: a loaded scenario, shared by load.c (the file
 * format and its checks), agents.c (making the agents) and run.c (the
 * script runner). Strings point into the parsed document, which the
 * scenario keeps. */
#ifndef AGORA_SCENARIO_INT_H
#define AGORA_SCENARIO_INT_H

#include "agora/scenario.h"

enum op_type { OP_TASK, OP_STEP, OP_RESET, OP_LOOP };

struct scen_agent {
	const char *role;
	char *role_owned; /* a role made by "count" (role1, role2, ...) */
	size_t entry;     /* its entry in the file's "agents" list */
	const char *kind;
	const char *memory_path;
	bool human;
	bool watcher;
	const char *placement;
	const agora_json *node;
};

struct scen_op {
	enum op_type type;
	unsigned repeat;
	char where[64];
	/* send_task_request */
	const char *task;
	agora_strv send_to;
	const char *send_from;
	/* step (also uses send_to) */
	uint32_t rounds;
	agora_strv allowed;
	const char
	    *allowed_from; /* take allowed_roles from this role's reply */
	const char *user_response;
	char *llm_args;
	int64_t deadline_ms;
	/* reset */
	bool keep_roles;
	/* loop: its items (never a loop), run again and again until the
	 * person quits (until_quit) or max rounds have run */
	struct scen_op *body;
	size_t nbody;
	unsigned max;
	bool until_quit;
};

/* An entry of the role index. */
struct agent_ref {
	const struct scen_agent *a;
};

struct agora_scenario {
	char *name;
	const char *title;
	const char *session;
	agora_json *doc;
	struct scen_agent *agents;
	size_t nagents;
	struct agent_ref *by_role; /* sorted by role, then order */
	struct scen_op *ops;
	size_t nops;
	agora_strv placements; /* agora_scenario_place's, owned */
};

/* check.c: the checks load.c and script.c share. Errors go to err as
 * "<where>.<key>: ..." and the code is returned. */
agora_err scen_check_keys(const agora_json *obj, const char *const *a,
                          const char *const *b, const char *where, char *err,
                          size_t errlen);
/* Sort s->agents into s->by_role; a role given twice is an error. */
agora_err scen_index_roles(agora_scenario *s, char *err, size_t errlen);
const struct scen_agent *scen_find_agent(const agora_scenario *s,
                                         const char *role);
/* A role or a list of roles; each an agent (or "all" if allow_all). */
agora_err scen_roles(const agora_scenario *s, const agora_json *v,
                     bool allow_all, agora_strv *out, const char *where,
                     const char *key, char *err, size_t errlen);
agora_err scen_str(const agora_json *obj, const char *key, const char **out,
                   const char *where, char *err, size_t errlen);
agora_err scen_bool(const agora_json *obj, const char *key, bool *out,
                    const char *where, char *err, size_t errlen);

/* script.c: the "script" list into s->ops (NULL: an empty script), and
 * freeing what it made. */
agora_err scen_load_script(agora_scenario *s, const agora_json *script,
                           char *err, size_t errlen);
void scen_ops_free(struct scen_op *ops, size_t n);

#endif
