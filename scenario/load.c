/* SPDX-License-Identifier: MIT */
/* Scenario files: load and check. The checks at load time cover every key,
 * kind and role name the script uses, so a typo fails before any agent
 * runs; every error names the file and the place in it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/kinds.h"
#include "agora/log.h"
#include "agora/models.h"
#include "scenario_int.h"

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
		         twin->entry, twin->role);
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
scen_load_agent(agora_scenario *s, size_t i, size_t entry,
                const agora_json *node, char *err, size_t errlen)
{
	static const char *const common[] = {
		"role",        "kind",        "human",       "watcher",
		"count",       "placement",   "instruction", "model",
		"description", "memory_path", NULL
	};
	struct scen_agent *a = &s->agents[i];
	const agora_kind *kind;
	char where[96];
	agora_err rv;

	snprintf(where, sizeof(where), "agents[%zu]", entry);
	a->entry = entry;
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
	snprintf(where, sizeof(where), "agents[%zu] (%s)", entry, a->role);
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

/* How many agents the list makes: each entry one, or its "count". */
static agora_err
scen_count_agents(const agora_json *agents, size_t *total, char *err,
                  size_t errlen)
{
	size_t i = 0;

	*total = 0;
	for (const agora_json *a = agora_json_first(agents); a != NULL;
	     a = agora_json_next(a), i++) {
		const agora_json *count = agora_json_get(a, "count");
		int64_t n = 1;
		if (count != NULL &&
		    !agora_json_int(count, 1, AGORA_SCENARIO_MAX_AGENTS, &n)) {
			snprintf(err, errlen,
			         "agents[%zu].count: want a whole number from "
			         "1 to %d",
			         i, AGORA_SCENARIO_MAX_AGENTS);
			return AGORA_EINVAL;
		}
		*total += (size_t)n;
		if (*total > AGORA_SCENARIO_MAX_AGENTS) {
			snprintf(err, errlen,
			         "agents: more than %d agents in all",
			         AGORA_SCENARIO_MAX_AGENTS);
			return AGORA_ETOOBIG;
		}
	}
	return AGORA_OK;
}

/* The agent just loaded at *i, with "count": N, becomes N agents named
 * <role>1 .. <role>N, alike but for the name; *i moves past them. */
static agora_err
scen_expand(agora_scenario *s, size_t *i, char *err, size_t errlen)
{
	struct scen_agent *a = &s->agents[*i];
	int64_t n = 1;

	if (agora_json_get(a->node, "count") == NULL) {
		(*i)++;
		return AGORA_OK;
	}
	(void)agora_json_int(agora_json_get(a->node, "count"), 1,
	                     AGORA_SCENARIO_MAX_AGENTS, &n);
	if (strlen(a->role) + 7 > AGORA_ROLE_MAX) {
		snprintf(err, errlen,
		         "agents (%s).count: the role is too long to number "
		         "(at most %d bytes with count)",
		         a->role, AGORA_ROLE_MAX - 7);
		return AGORA_EINVAL;
	}
	for (int64_t k = n; k >= 1; k--) {
		struct scen_agent *c = &s->agents[*i + (size_t)k - 1];
		*c = *a;
		c->role_owned = agora_sprintf("%s%lld", a->role, (long long)k);
		c->role = c->role_owned;
	}
	*i += (size_t)n;
	s->nagents = *i;
	return AGORA_OK;
}

static agora_err
scen_load(agora_scenario *s, char *err, size_t errlen)
{
	static const char *const top[] = { "name",   "description", "session",
		                           "models", "agents",      "script",
		                           NULL };
	const agora_json *agents = agora_json_get(s->doc, "agents");
	const agora_json *script = agora_json_get(s->doc, "script");
	size_t i, entry, total = 0;
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
	rv = scen_count_agents(agents, &total, err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	s->agents = agora_calloc(total, sizeof(struct scen_agent));
	i = 0;
	entry = 0;
	for (const agora_json *a = agora_json_first(agents);
	     a != NULL && rv == AGORA_OK; a = agora_json_next(a), entry++) {
		s->nagents = i + 1;
		rv = scen_load_agent(s, i, entry, a, err, errlen);
		if (rv == AGORA_OK) {
			rv = scen_expand(s, &i, err, errlen);
		}
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
	rv = agora_json_parse_utf8(&s->doc, text, len, AGORA_SCENARIO_MAX_BYTES,
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
	for (size_t i = 0; i < s->nagents; i++) {
		agora_free(s->agents[i].role_owned);
	}
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
