/* SPDX-License-Identifier: MIT */
/* Scenario files: the checks that the agents (load.c) and the script
 * (script.c) share: known keys, strings, booleans, and role names looked
 * up in the role index. Each error names the place in the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
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
agora_err
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

const struct scen_agent *
scen_find_agent(const agora_scenario *s, const char *role)
{
	const struct scen_agent *const *hit = bsearch(
	    role, s->by_role, s->nagents, sizeof(*s->by_role), scen_role_key);

	return hit != NULL ? *hit : NULL;
}

/* Index the agents by role (a twin is then a neighbour): one sort, not a
 * search per agent. The error names the earliest second use of a role. */
agora_err
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
agora_err
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

agora_err
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

agora_err
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
