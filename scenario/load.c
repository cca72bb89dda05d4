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
	if (rv == AGORA_OK) {
		rv = scen_load_script(s, script, err, errlen);
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
	scen_ops_free(s->ops, s->nops);
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
