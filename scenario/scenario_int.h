/* SPDX-License-Identifier: MIT */
/* Private to scenario/: a loaded scenario, shared by load.c (the file
 * format and its checks), agents.c (making the agents) and run.c (the
 * script runner). Strings point into the parsed document, which the
 * scenario keeps. */
#ifndef AGORA_SCENARIO_INT_H
#define AGORA_SCENARIO_INT_H

#include "agora/scenario.h"

enum op_type { OP_TASK, OP_STEP, OP_RESET };

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
	char where[48];
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

#endif
