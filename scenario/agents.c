/* SPDX-License-Identifier: MIT */
/* A scenario's agents made on a center: placements given on the command
 * line (--servers, --connect), demos without a model answering from their
 * scripted lines, and memories loaded from files. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/log.h"
#include "agora/models.h"
#include "scenario_int.h"

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
			snprintf(err, errlen, "%s: agents[%zu]: %s", s->name,
			         a->entry, why);
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
