/* SPDX-License-Identifier: MIT */
/* Private helpers for reading a kind's options with errors that name the
 * role and the key. */
#ifndef AGORA_KIND_OPTS_H
#define AGORA_KIND_OPTS_H

#include <stdio.h>

#include "agora/agent.h"

/* *out = options[key] as a number in [lo, hi] (default def if absent). */
static inline agora_err
kind_opt_num(const agora_agent_spec *spec, const char *key, double lo,
             double hi, double def, double *out, char *err, size_t errlen)
{
	const agora_json *v = agora_json_get(spec->options, key);

	*out = def;
	if (v == NULL) {
		return AGORA_OK;
	}
	if (agora_json_typeof(v) != AGORA_JSON_NUMBER ||
	    !(agora_json_num(v) >= lo && agora_json_num(v) <= hi)) {
		snprintf(err, errlen, "%s: '%s' must be a number from %g to %g",
		         spec->role, key, lo, hi);
		return AGORA_EINVAL;
	}
	*out = agora_json_num(v);
	return AGORA_OK;
}

/* *out = options[key] as a string (lent), or def if absent. */
static inline agora_err
kind_opt_str(const agora_agent_spec *spec, const char *key, const char *def,
             const char **out, char *err, size_t errlen)
{
	const agora_json *v = agora_json_get(spec->options, key);

	*out = def;
	if (v == NULL) {
		return AGORA_OK;
	}
	if (agora_json_typeof(v) != AGORA_JSON_STRING) {
		snprintf(err, errlen, "%s: '%s' must be a string", spec->role,
		         key);
		return AGORA_EINVAL;
	}
	*out = agora_json_str(v);
	return AGORA_OK;
}

#endif
