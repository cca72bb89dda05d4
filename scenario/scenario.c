/* SPDX-License-Identifier: MIT */
/* Scenario files: load, check, make the agents, run the script. The checks
 * at load time cover every key, kind and role name the script uses, so a
 * typo fails before any agent runs. Running is a loop over the script that
 * reads each step's frames as they stream and, in chat mode, asks the
 * person whenever a human role is waiting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/kinds.h"
#include "agora/log.h"
#include "agora/models.h"
#include "agora/scenario.h"

enum op_type { OP_TASK, OP_STEP, OP_RESET };

struct scen_agent {
	const char *role;
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

/* ---- loading --------------------------------------------------------- */

static bool
scen_key_in(const char *key, const char *const *list)
{
	for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
		if (strcmp(key, list[i]) == 0) {
			return true;
		}
	}
	return false;
}

/* Every key of obj must be in one of the lists. */
static agora_err
scen_check_keys(const agora_json *obj, const char *const *a,
                const char *const *b, const char *where, char *err,
                size_t errlen)
{
	for (size_t i = 0; i < agora_json_size(obj); i++) {
		const char *key = agora_json_key(agora_json_at(obj, i));
		if (!scen_key_in(key, a) && !scen_key_in(key, b)) {
			snprintf(err, errlen, "%s: unknown key '%s'", where,
			         key);
			return AGORA_EINVAL;
		}
	}
	return AGORA_OK;
}

static int
scen_role_cmp(const void *a, const void *b)
{
	const struct scen_agent *x = ((const struct agent_ref *)a)->a;
	const struct scen_agent *y = ((const struct agent_ref *)b)->a;
	int c = strcmp(x->role, y->role);

	return c != 0 ? c : (x < y ? -1 : x > y);
}

static int
scen_role_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct agent_ref *)elem)->a->role);
}

static const struct scen_agent *
scen_find_agent(const agora_scenario *s, const char *role)
{
	const struct scen_agent *const *hit = bsearch(
	    role, s->by_role, s->nagents, sizeof(*s->by_role), scen_role_key);

	return hit != NULL ? *hit : NULL;
}

/* Index the agents by role (a twin is then a neighbour): one sort, not a
 * search per agent. The error names the earliest second use of a role. */
static agora_err
scen_index_roles(agora_scenario *s, char *err, size_t errlen)
{
	const struct scen_agent *twin = NULL;

	s->by_role = agora_calloc(s->nagents + 1, sizeof(struct agent_ref));
	for (size_t i = 0; i < s->nagents; i++) {
		s->by_role[i].a = &s->agents[i];
	}
	qsort(s->by_role, s->nagents, sizeof(struct agent_ref), scen_role_cmp);
	for (size_t i = 1; i < s->nagents; i++) {
		const struct scen_agent *a = s->by_role[i].a;
		if (strcmp(a->role, s->by_role[i - 1].a->role) == 0 &&
		    (twin == NULL || a < twin)) {
			twin = a;
		}
	}
	if (twin != NULL) {
		snprintf(err, errlen, "agents[%zu] (%s): role given twice",
		         (size_t)(twin - s->agents), twin->role);
		return AGORA_EEXIST;
	}
	return AGORA_OK;
}

/* A role or list of roles; each must be an agent (or "all" if allow_all). */
static agora_err
scen_roles(const agora_scenario *s, const agora_json *v, bool allow_all,
           agora_strv *out, const char *where, const char *key, char *err,
           size_t errlen)
{
	size_t n =
	    agora_json_typeof(v) == AGORA_JSON_ARRAY ? agora_json_size(v) : 1;

	if (v == NULL) {
		return AGORA_OK;
	}
	if (agora_json_typeof(v) != AGORA_JSON_STRING &&
	    agora_json_typeof(v) != AGORA_JSON_ARRAY) {
		snprintf(err, errlen, "%s.%s: want a role or a list of roles",
		         where, key);
		return AGORA_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *r = agora_json_typeof(v) == AGORA_JSON_STRING
		                    ? agora_json_str(v)
		                    : agora_json_str(agora_json_at(v, i));
		if (r == NULL) {
			snprintf(err, errlen, "%s.%s[%zu]: not a string", where,
			         key, i);
			return AGORA_EINVAL;
		}
		if (!(allow_all && strcmp(r, AGORA_ALL) == 0) &&
		    scen_find_agent(s, r) == NULL) {
			snprintf(err, errlen, "%s.%s: unknown role '%s'", where,
			         key, r);
			return AGORA_ENOTFOUND;
		}
		agora_strv_push(out, r);
	}
	return AGORA_OK;
}

static agora_err
scen_str(const agora_json *obj, const char *key, const char **out,
         const char *where, char *err, size_t errlen)
{
	const agora_json *v = agora_json_get(obj, key);

	*out = NULL;
	if (v == NULL) {
		return AGORA_OK;
	}
	if (agora_json_typeof(v) != AGORA_JSON_STRING) {
		snprintf(err, errlen, "%s.%s: want a string, not a %s", where,
		         key, agora_json_type_name(agora_json_typeof(v)));
		return AGORA_EINVAL;
	}
	*out = agora_json_str(v);
	return AGORA_OK;
}

static agora_err
scen_bool(const agora_json *obj, const char *key, bool *out, const char *where,
          char *err, size_t errlen)
{
	const agora_json *v = agora_json_get(obj, key);

	if (v == NULL) {
		return AGORA_OK;
	}
	if (agora_json_typeof(v) != AGORA_JSON_BOOL) {
		snprintf(err, errlen, "%s.%s: want true or false", where, key);
		return AGORA_EINVAL;
	}
	*out = agora_json_bool(v);
	return AGORA_OK;
}

static agora_err
scen_load_agent(agora_scenario *s, size_t i, const agora_json *node, char *err,
                size_t errlen)
{
	static const char *const common[] = { "role",        "kind",
		                              "human",       "watcher",
		                              "placement",   "instruction",
		                              "model",       "description",
		                              "memory_path", NULL };
	struct scen_agent *a = &s->agents[i];
	const agora_kind *kind;
	char where[96];
	agora_err rv;

	snprintf(where, sizeof(where), "agents[%zu]", i);
	if (agora_json_typeof(node) != AGORA_JSON_OBJECT) {
		snprintf(err, errlen, "%s: want an object", where);
		return AGORA_EINVAL;
	}
	a->node = node;
	rv = scen_str(node, "role", &a->role, where, err, errlen);
	if (rv == AGORA_OK && (a->role == NULL || !agora_role_valid(a->role))) {
		snprintf(
		    err, errlen,
		    "%s.role: %s '%.80s' (1-%d bytes; no spaces or <>:,\"'\\/)",
		    where, a->role == NULL ? "missing" : "invalid role name",
		    a->role != NULL ? a->role : "", AGORA_ROLE_MAX);
		return AGORA_EINVAL;
	}
	if (rv != AGORA_OK) {
		return rv;
	}
	snprintf(where, sizeof(where), "agents[%zu] (%s)", i, a->role);
	rv = scen_str(node, "kind", &a->kind, where, err, errlen);
	if (rv == AGORA_OK) {
		rv = scen_str(node, "placement", &a->placement, where, err,
		              errlen);
	}
	if (rv == AGORA_OK) {
		rv = scen_str(node, "memory_path", &a->memory_path, where, err,
		              errlen);
	}
	if (rv == AGORA_OK && a->kind == NULL) {
		snprintf(err, errlen, "%s: missing 'kind'", where);
		rv = AGORA_EINVAL;
	}
	if (rv != AGORA_OK) {
		return rv;
	}
	/* A user is a person unless told otherwise. */
	a->human = strcmp(a->kind, "user") == 0;
	rv = scen_bool(node, "human", &a->human, where, err, errlen);
	if (rv == AGORA_OK) {
		rv =
		    scen_bool(node, "watcher", &a->watcher, where, err, errlen);
	}
	kind = agora_kind_find(a->kind);
	if (rv == AGORA_OK && kind != NULL && kind->option_names != NULL) {
		rv = scen_check_keys(node, common, kind->option_names, where,
		                     err, errlen);
	}
	return rv;
}

static agora_err
scen_load_step(agora_scenario *s, struct scen_op *op, const agora_json *v,
               char *err, size_t errlen)
{
	static const char *const keys[] = { "task",
		                            "round",
		                            "send_to",
		                            "allowed_roles",
		                            "allowed_roles_from",
		                            "user_response",
		                            "llm_args",
		                            "deadline_ms",
		                            NULL };
	const agora_json *llm = agora_json_get(v, "llm_args");
	const agora_json *round = agora_json_get(v, "round");
	const agora_json *dl = agora_json_get(v, "deadline_ms");
	int64_t n = 1;
	agora_err rv;

	rv = scen_check_keys(v, keys, NULL, op->where, err, errlen);
	if (rv == AGORA_OK) {
		rv = scen_str(v, "task", &op->task, op->where, err, errlen);
	}
	if (rv == AGORA_OK) {
		rv = scen_str(v, "user_response", &op->user_response, op->where,
		              err, errlen);
	}
	if (rv == AGORA_OK) {
		rv = scen_str(v, "allowed_roles_from", &op->allowed_from,
		              op->where, err, errlen);
	}
	if (rv == AGORA_OK && op->allowed_from != NULL &&
	    scen_find_agent(s, op->allowed_from) == NULL) {
		snprintf(err, errlen,
		         "%s.allowed_roles_from: unknown role '%s'", op->where,
		         op->allowed_from);
		rv = AGORA_ENOTFOUND;
	}
	if (rv == AGORA_OK) {
		rv =
		    scen_roles(s, agora_json_get(v, "send_to"), true,
		               &op->send_to, op->where, "send_to", err, errlen);
	}
	if (rv == AGORA_OK) {
		rv = scen_roles(s, agora_json_get(v, "allowed_roles"), false,
		                &op->allowed, op->where, "allowed_roles", err,
		                errlen);
	}
	if (rv == AGORA_OK && round != NULL &&
	    !agora_json_int(round, 1, 10000, &n)) {
		snprintf(err, errlen,
		         "%s.round: want a whole number from 1 to "
		         "10000",
		         op->where);
		rv = AGORA_EINVAL;
	}
	op->rounds = (uint32_t)n;
	if (rv == AGORA_OK && dl != NULL &&
	    !agora_json_int(dl, 1, 86400000, &op->deadline_ms)) {
		snprintf(err, errlen,
		         "%s.deadline_ms: want a whole number of ms",
		         op->where);
		rv = AGORA_EINVAL;
	}
	if (rv == AGORA_OK && llm != NULL) {
		agora_buf b;
		if (agora_json_typeof(llm) != AGORA_JSON_OBJECT) {
			snprintf(err, errlen, "%s.llm_args: want an object",
			         op->where);
			return AGORA_EINVAL;
		}
		agora_buf_init(&b, 64u << 10);
		rv = agora_json_print(llm, &b);
		op->llm_args = agora_buf_steal(&b);
		agora_buf_fini(&b);
	}
	return rv;
}

static agora_err
scen_load_task(agora_scenario *s, struct scen_op *op, const agora_json *v,
               char *err, size_t errlen)
{
	static const char *const keys[] = { "task", "send_to", "send_from",
		                            NULL };
	agora_err rv = scen_check_keys(v, keys, NULL, op->where, err, errlen);

	if (rv == AGORA_OK) {
		rv = scen_str(v, "task", &op->task, op->where, err, errlen);
	}
	if (rv == AGORA_OK && op->task == NULL) {
		snprintf(err, errlen, "%s: missing 'task'", op->where);
		rv = AGORA_EINVAL;
	}
	if (rv == AGORA_OK) {
		rv = scen_str(v, "send_from", &op->send_from, op->where, err,
		              errlen);
	}
	if (rv == AGORA_OK && op->send_from != NULL &&
	    strcmp(op->send_from, AGORA_USER_REQUIREMENT) != 0 &&
	    scen_find_agent(s, op->send_from) == NULL) {
		snprintf(err, errlen, "%s.send_from: unknown role '%s'",
		         op->where, op->send_from);
		rv = AGORA_ENOTFOUND;
	}
	if (rv == AGORA_OK) {
		rv =
		    scen_roles(s, agora_json_get(v, "send_to"), true,
		               &op->send_to, op->where, "send_to", err, errlen);
	}
	return rv;
}

static agora_err
scen_load_op(agora_scenario *s, size_t i, const agora_json *item, char *err,
             size_t errlen)
{
	struct scen_op *op = &s->ops[i];
	const agora_json *rep = agora_json_get(item, "repeat");
	const char *verb = NULL;
	const agora_json *body = NULL;
	int64_t repeat = 1;

	snprintf(op->where, sizeof(op->where), "script[%zu]", i);
	if (agora_json_typeof(item) != AGORA_JSON_OBJECT) {
		snprintf(err, errlen, "%s: want an object", op->where);
		return AGORA_EINVAL;
	}
	for (size_t k = 0; k < agora_json_size(item); k++) {
		const agora_json *m = agora_json_at(item, k);
		const char *key = agora_json_key(m);
		if (strcmp(key, "repeat") == 0) {
			continue;
		}
		if (verb != NULL || (strcmp(key, "step") != 0 &&
		                     strcmp(key, "send_task_request") != 0 &&
		                     strcmp(key, "reset") != 0)) {
			snprintf(
			    err, errlen,
			    "%s: want one of step, send_task_request or reset "
			    "(and repeat), not '%s'",
			    op->where, key);
			return AGORA_EINVAL;
		}
		verb = key;
		body = m;
	}
	if (verb == NULL) {
		snprintf(err, errlen, "%s: empty item", op->where);
		return AGORA_EINVAL;
	}
	if (rep != NULL && !agora_json_int(rep, 1, 1000000, &repeat)) {
		snprintf(err, errlen, "%s.repeat: want a whole number from 1",
		         op->where);
		return AGORA_EINVAL;
	}
	op->repeat = (unsigned)repeat;
	snprintf(op->where + strlen(op->where),
	         sizeof(op->where) - strlen(op->where), ".%s", verb);
	if (agora_json_typeof(body) != AGORA_JSON_OBJECT) {
		snprintf(err, errlen, "%s: want an object", op->where);
		return AGORA_EINVAL;
	}
	if (strcmp(verb, "step") == 0) {
		op->type = OP_STEP;
		return scen_load_step(s, op, body, err, errlen);
	}
	if (strcmp(verb, "send_task_request") == 0) {
		op->type = OP_TASK;
		return scen_load_task(s, op, body, err, errlen);
	}
	op->type = OP_RESET;
	op->keep_roles = true;
	return scen_bool(body, "keep_roles", &op->keep_roles, op->where, err,
	                 errlen);
}

static agora_err
scen_load(agora_scenario *s, char *err, size_t errlen)
{
	static const char *const top[] = { "name",   "description", "session",
		                           "models", "agents",      "script",
		                           NULL };
	const agora_json *agents = agora_json_get(s->doc, "agents");
	const agora_json *script = agora_json_get(s->doc, "script");
	size_t i;
	agora_err rv;

	if (agora_json_typeof(s->doc) != AGORA_JSON_OBJECT) {
		snprintf(err, errlen, "want a JSON object at the top");
		return AGORA_EINVAL;
	}
	rv = scen_check_keys(s->doc, top, NULL, "top level", err, errlen);
	if (rv == AGORA_OK) {
		rv = scen_str(s->doc, "name", &s->title, "top level", err,
		              errlen);
	}
	if (rv == AGORA_OK) {
		rv = scen_str(s->doc, "session", &s->session, "top level", err,
		              errlen);
	}
	if (rv == AGORA_OK && agora_json_get(s->doc, "models") != NULL) {
		rv = agora_models_load_json(agora_json_get(s->doc, "models"),
		                            "models", err, errlen);
	}
	if (rv != AGORA_OK) {
		return rv;
	}
	if (agora_json_typeof(agents) != AGORA_JSON_ARRAY ||
	    agora_json_size(agents) == 0 ||
	    agora_json_size(agents) > AGORA_SCENARIO_MAX_AGENTS) {
		snprintf(err, errlen, "agents: want a list of 1 to %d agents",
		         AGORA_SCENARIO_MAX_AGENTS);
		return AGORA_EINVAL;
	}
	if (script != NULL && agora_json_typeof(script) != AGORA_JSON_ARRAY) {
		snprintf(err, errlen, "script: want a list");
		return AGORA_EINVAL;
	}
	s->agents =
	    agora_calloc(agora_json_size(agents), sizeof(struct scen_agent));
	i = 0;
	for (const agora_json *a = agora_json_first(agents);
	     a != NULL && rv == AGORA_OK; a = agora_json_next(a), i++) {
		s->nagents = i + 1;
		rv = scen_load_agent(s, i, a, err, errlen);
	}
	if (rv == AGORA_OK) {
		rv = scen_index_roles(s, err, errlen);
	}
	s->ops =
	    agora_calloc(agora_json_size(script) + 1, sizeof(struct scen_op));
	i = 0;
	for (const agora_json *op = agora_json_first(script);
	     op != NULL && rv == AGORA_OK; op = agora_json_next(op), i++) {
		s->nops = i + 1;
		rv = scen_load_op(s, i, op, err, errlen);
	}
	return rv;
}

agora_err
agora_scenario_parse(agora_scenario **sp, const char *name, const char *text,
                     size_t len, char *err, size_t errlen)
{
	agora_scenario *s;
	char why[400];
	agora_err rv;

	*sp = NULL;
	agora_kinds_builtin();
	s = agora_calloc(1, sizeof(*s));
	s->name = agora_strdup(name);
	rv = agora_json_parse(&s->doc, text, len, AGORA_SCENARIO_MAX_BYTES,
	                      AGORA_JSON_MAX_DEPTH, why, sizeof(why));
	if (rv == AGORA_OK) {
		rv = scen_load(s, why, sizeof(why));
	}
	if (rv != AGORA_OK) {
		snprintf(err, errlen, "%s: %s", name, why);
		agora_scenario_free(s);
		return rv;
	}
	*sp = s;
	return AGORA_OK;
}

agora_err
agora_scenario_load(agora_scenario **sp, const char *path, char *err,
                    size_t errlen)
{
	agora_buf b;
	agora_err rv;

	*sp = NULL;
	agora_buf_init(&b, AGORA_SCENARIO_MAX_BYTES);
	rv = agora_buf_read_file(&b, path, err, errlen);
	if (rv == AGORA_OK) {
		rv = agora_scenario_parse(
		    sp, path, b.data != NULL ? b.data : "", b.len, err, errlen);
	}
	agora_buf_fini(&b);
	return rv;
}

void
agora_scenario_free(agora_scenario *s)
{
	if (s == NULL) {
		return;
	}
	for (size_t i = 0; i < s->nops; i++) {
		agora_strv_clear(&s->ops[i].send_to);
		agora_strv_clear(&s->ops[i].allowed);
		agora_free(s->ops[i].llm_args);
	}
	agora_free(s->ops);
	agora_free(s->by_role);
	agora_free(s->agents);
	agora_strv_clear(&s->placements);
	agora_json_free(s->doc);
	agora_free(s->name);
	agora_free(s);
}

const char *
agora_scenario_name(const agora_scenario *s)
{
	return s->title != NULL ? s->title : s->name;
}

const char *
agora_scenario_session(const agora_scenario *s)
{
	return s->session;
}

/* The kind an agent really gets: a roleplay agent whose model config is not
 * loaded, but which has scripted "lines", answers from those (so demos run
 * without a model, and say so). */
static const char *
scen_kind(const agora_scenario *s, const struct scen_agent *a, bool *warned)
{
	const agora_json *model = agora_json_get(a->node, "model");

	if (strcmp(a->kind, "roleplay") != 0 ||
	    agora_json_typeof(model) != AGORA_JSON_STRING ||
	    agora_models_has(agora_json_str(model)) ||
	    agora_json_get(a->node, "lines") == NULL) {
		return a->kind;
	}
	if (!*warned) {
		agora_log(
		    AGORA_LOG_WARN, "scenario",
		    "%s: no model config '%s': agents answer from their "
		    "scripted lines (give --model-config FILE to use a model)",
		    s->name, agora_json_str(model));
		*warned = true;
	}
	return "scripted";
}

static agora_err
scen_load_memories(const agora_scenario *s, agora_center *c, char *err,
                   size_t errlen)
{
	agora_err rv = AGORA_OK;

	for (size_t i = 0; i < s->nagents && rv == AGORA_OK; i++) {
		if (s->agents[i].memory_path != NULL) {
			rv = agora_env_memory_load(
			    agora_center_env(c), s->agents[i].role,
			    s->agents[i].memory_path, err, errlen);
		}
	}
	return rv;
}

void
agora_scenario_place(agora_scenario *s, const char *const *placements, size_t n)
{
	size_t k = 0;

	if (n == 0) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		agora_strv_push(&s->placements, placements[i]);
	}
	for (size_t i = 0; i < s->nagents; i++) {
		struct scen_agent *a = &s->agents[i];
		if (a->placement == NULL && !a->human) {
			a->placement = s->placements.v[k++ % n];
		}
	}
}

agora_err
agora_scenario_add_agents(const agora_scenario *s, agora_center *c, char *err,
                          size_t errlen)
{
	agora_agent **v = agora_calloc(s->nagents, sizeof(agora_agent *));
	char why[400];
	size_t made = 0;
	bool warned = false;
	agora_err rv = AGORA_OK;

	for (size_t i = 0; i < s->nagents && rv == AGORA_OK; i++) {
		const struct scen_agent *a = &s->agents[i];
		agora_agent_spec spec = { a->role,    scen_kind(s, a, &warned),
			                  a->node,    a->human,
			                  a->watcher, a->placement };
		rv = agora_agent_new(&v[i], &spec, why, sizeof(why));
		if (rv != AGORA_OK) {
			snprintf(err, errlen, "%s: agents[%zu]: %s", s->name, i,
			         why);
		} else {
			made++;
		}
	}
	if (rv == AGORA_OK) {
		rv = agora_center_add_agents(c, v, s->nagents);
		if (rv != AGORA_OK) {
			snprintf(err, errlen, "%s: %s", s->name,
			         agora_center_errstr(c));
		}
	}
	if (rv != AGORA_OK) {
		for (size_t i = 0; i < made; i++) {
			agora_agent_free(v[i]);
		}
	}
	agora_free(v);
	if (rv == AGORA_OK) {
		rv = scen_load_memories(s, c, err, errlen);
	}
	return rv;
}

/* ---- running ----------------------------------------------------------- */

/* What the runner remembers between steps: the last reply of each role
 * (for allowed_roles_from) and who is waiting for a person. */
struct run_state {
	const agora_scenario *s;
	agora_center *c;
	const agora_run_hooks *hooks;
	agora_run_stats *stats;
	agora_strv reply_roles;
	agora_buf *replies;
	agora_strv awaiting;
	bool no_more_input;
};

static agora_buf *
run_reply(struct run_state *rs, const char *role)
{
	for (size_t i = 0; i < rs->reply_roles.n; i++) {
		if (strcmp(rs->reply_roles.v[i], role) == 0) {
			return &rs->replies[i];
		}
	}
	return NULL;
}

static void
run_frame(struct run_state *rs, const agora_frame *f, bool *fresh)
{
	agora_buf *b = run_reply(rs, f->role);

	rs->stats->frames++;
	if (f->type == AGORA_FRAME_CHUNK) {
		rs->stats->chunks++;
	} else if (f->type == AGORA_FRAME_ERROR) {
		rs->stats->errors++;
	} else if (f->type == AGORA_FRAME_AWAITING_INPUT) {
		rs->stats->awaiting++;
		if (!agora_strv_has(&rs->awaiting, f->role)) {
			agora_strv_push(&rs->awaiting, f->role);
		}
	}
	if (b != NULL && f->type == AGORA_FRAME_CHUNK) {
		/* A role's first chunk in a step starts its reply afresh. */
		size_t i = (size_t)(b - rs->replies);
		if (!fresh[i]) {
			agora_buf_reset(b);
			fresh[i] = true;
		}
		(void)agora_buf_add(b, f->content, f->len);
	}
	if (rs->hooks != NULL && rs->hooks->on_frame != NULL) {
		rs->hooks->on_frame(rs->hooks->arg, f);
	}
}

static agora_err
run_step(struct run_state *rs, const agora_step_opts *o, const char *where,
         char *err, size_t errlen)
{
	bool *fresh = agora_calloc(rs->reply_roles.n + 1, sizeof(bool));
	agora_step *st = NULL;
	const agora_frame *f;
	agora_err rv;

	rv = agora_center_step(rs->c, o, &st);
	if (rv != AGORA_OK) {
		snprintf(err, errlen, "%s: %s", where,
		         agora_center_errstr(rs->c));
		agora_free(fresh);
		return rv;
	}
	rs->stats->steps++;
	while ((rv = agora_step_next(st, &f)) == AGORA_OK && f != NULL) {
		run_frame(rs, f, fresh);
	}
	if (rv != AGORA_OK) {
		snprintf(err, errlen, "%s: %s", where, agora_step_errstr(st));
	}
	agora_step_free(st);
	agora_free(fresh);
	return rv;
}

/* A watcher's reply names the next speakers: {"next_speakers": [..]}
 * (optionally in a ```json fence), or else a comma-separated list. */
static void
speakers_parse(const char *text, agora_strv *names)
{
	const char *open = strchr(text, '{');
	const char *close = strrchr(text, '}');
	agora_json *doc = NULL;
	const agora_json *v;

	if (open == NULL || close == NULL || close < open ||
	    agora_json_parse(&doc, open, (size_t)(close - open + 1), 1u << 16,
	                     8, NULL, 0) != AGORA_OK) {
		agora_strv_split(names, text);
		return;
	}
	v = agora_json_get(doc, "next_speakers");
	if (agora_json_typeof(v) == AGORA_JSON_STRING) {
		agora_strv_split(names, agora_json_str(v));
	}
	for (size_t i = 0; i < agora_json_size(v); i++) {
		const char *r = agora_json_str(agora_json_at(v, i));
		if (r != NULL) {
			agora_strv_push(names, r);
		}
	}
	agora_json_free(doc);
}

/* The known speakers named by role's last reply, into out. */
static void
run_next_speakers(struct run_state *rs, const char *role, agora_strv *out)
{
	agora_buf *b = run_reply(rs, role);
	agora_strv names = { 0 };

	speakers_parse(b != NULL && b->data != NULL ? b->data : "", &names);
	for (size_t i = 0; i < names.n; i++) {
		if (agora_center_agent(rs->c, names.v[i]) != NULL) {
			agora_strv_push(out, names.v[i]);
		} else {
			agora_log(AGORA_LOG_WARN, "scenario",
			          "%s named an unknown speaker '%s'; ignored",
			          role, names.v[i]);
		}
	}
	agora_strv_clear(&names);
}

/* Ask the person for each waiting human role, and step it with the answer
 * ("" lets the agent answer on its own, or skip). */
static agora_err
run_ask(struct run_state *rs, const struct scen_op *op, char *err,
        size_t errlen)
{
	agora_strv waiting = rs->awaiting;
	agora_err rv = AGORA_OK;

	rs->awaiting.v = NULL;
	rs->awaiting.n = 0;
	for (size_t i = 0; i < waiting.n && rv == AGORA_OK; i++) {
		const char *role = waiting.v[i];
		agora_step_opts o = { 0 };
		char *answer;

		if (rs->no_more_input) {
			break;
		}
		answer = rs->hooks->ask(rs->hooks->arg, role);
		if (answer == NULL) {
			rs->no_more_input = true;
			break;
		}
		o.allowed_roles = (const char *const *)&waiting.v[i];
		o.n_allowed = 1;
		o.send_to = (const char *const *)op->send_to.v;
		o.n_send_to = op->send_to.n;
		o.llm_args = op->llm_args;
		if (answer[0] != '\0') {
			o.user_response = answer;
		} else {
			o.human_auto = true;
		}
		rv = run_step(rs, &o, op->where, err, errlen);
		agora_free(answer);
	}
	agora_strv_clear(&waiting);
	return rv;
}

static agora_err
run_task(struct run_state *rs, const struct scen_op *op, char *err,
         size_t errlen)
{
	agora_err rv = agora_center_send_task_request(
	    rs->c, op->task, (const char *const *)op->send_to.v, op->send_to.n,
	    op->send_from);

	if (rv != AGORA_OK) {
		snprintf(err, errlen, "%s: %s", op->where,
		         agora_center_errstr(rs->c));
	}
	return rv;
}

static agora_err
run_reset(struct run_state *rs, const struct scen_op *op, char *err,
          size_t errlen)
{
	agora_err rv = agora_center_reset(rs->c, op->keep_roles);

	if (rv != AGORA_OK) {
		snprintf(err, errlen, "%s: %s", op->where,
		         agora_center_errstr(rs->c));
	}
	return rv;
}

/* A step item: its acting roles (given, or named by a watcher), the step,
 * then the person for any human role that waited. */
static agora_err
run_step_op(struct run_state *rs, const struct scen_op *op, char *err,
            size_t errlen)
{
	agora_strv allowed = { 0 };
	agora_step_opts o = { 0 };
	agora_err rv;

	for (size_t i = 0; i < op->allowed.n; i++) {
		agora_strv_push(&allowed, op->allowed.v[i]);
	}
	if (op->allowed_from != NULL) {
		run_next_speakers(rs, op->allowed_from, &allowed);
		if (allowed.n == 0) {
			agora_log(AGORA_LOG_WARN, "scenario",
			          "%s: %s named no known speaker; step skipped",
			          op->where, op->allowed_from);
			return AGORA_OK;
		}
	}
	o.task = op->task;
	o.rounds = op->rounds;
	o.send_to = (const char *const *)op->send_to.v;
	o.n_send_to = op->send_to.n;
	o.allowed_roles = (const char *const *)allowed.v;
	o.n_allowed = allowed.n;
	o.user_response = op->user_response;
	o.llm_args = op->llm_args;
	o.deadline_ms = op->deadline_ms;
	rv = run_step(rs, &o, op->where, err, errlen);
	agora_strv_clear(&allowed);
	if (rv == AGORA_OK && rs->awaiting.n > 0 && rs->hooks != NULL &&
	    rs->hooks->ask != NULL) {
		rv = run_ask(rs, op, err, errlen);
	}
	agora_strv_clear(&rs->awaiting);
	return rv;
}

static agora_err
run_op(struct run_state *rs, const struct scen_op *op, char *err, size_t errlen)
{
	switch (op->type) {
	case OP_TASK:
		return run_task(rs, op, err, errlen);
	case OP_RESET:
		return run_reset(rs, op, err, errlen);
	case OP_STEP:
		return run_step_op(rs, op, err, errlen);
	}
	return AGORA_EINTERNAL;
}

agora_err
agora_scenario_run(const agora_scenario *s, agora_center *c,
                   const agora_run_hooks *hooks, agora_run_stats *stats,
                   char *err, size_t errlen)
{
	struct run_state rs = { 0 };
	agora_run_stats local = { 0 };
	agora_err rv = AGORA_OK;

	rs.s = s;
	rs.c = c;
	rs.hooks = hooks;
	rs.stats = stats != NULL ? stats : &local;
	memset(rs.stats, 0, sizeof(*rs.stats));
	for (size_t i = 0; i < s->nops; i++) {
		if (s->ops[i].allowed_from != NULL &&
		    !agora_strv_has(&rs.reply_roles, s->ops[i].allowed_from)) {
			agora_strv_push(&rs.reply_roles,
			                s->ops[i].allowed_from);
		}
	}
	rs.replies = agora_calloc(rs.reply_roles.n + 1, sizeof(agora_buf));
	for (size_t i = 0; i < rs.reply_roles.n; i++) {
		agora_buf_init(&rs.replies[i], AGORA_MSG_MAX_BYTES);
	}
	for (size_t i = 0; i < s->nops && rv == AGORA_OK; i++) {
		for (unsigned r = 0; r < s->ops[i].repeat && rv == AGORA_OK;
		     r++) {
			if (hooks != NULL && hooks->on_item != NULL) {
				hooks->on_item(hooks->arg, s->ops[i].where, r);
			}
			rv = run_op(&rs, &s->ops[i], err, errlen);
		}
	}
	for (size_t i = 0; i < s->nagents && rv == AGORA_OK; i++) {
		if (s->agents[i].memory_path != NULL) {
			rv = agora_env_memory_save(
			    agora_center_env(c), s->agents[i].role,
			    s->agents[i].memory_path, err, errlen);
		}
	}
	for (size_t i = 0; i < rs.reply_roles.n; i++) {
		agora_buf_fini(&rs.replies[i]);
	}
	agora_free(rs.replies);
	agora_strv_clear(&rs.reply_roles);
	agora_strv_clear(&rs.awaiting);
	return rv;
}
