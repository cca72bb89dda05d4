/* SPDX-License-Identifier: MIT */
/* Scenario files: the script. Each item is a send_task_request, a step, a
 * reset, or a loop of such items (docs/scenario.md); everything a step
 * names is checked here, before anything runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "scenario_int.h"

#define SCEN_ROUNDS_MAX       1000000 /* a repeat, a loop's max */
#define SCEN_LOOP_MAX_DEFAULT 1000

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

/* One item that is not a loop, at where ("script[2]" or
 * "script[2].loop[0]"). */
static agora_err
scen_load_item(agora_scenario *s, struct scen_op *op, const char *where,
               const agora_json *item, char *err, size_t errlen)
{
	const agora_json *rep = agora_json_get(item, "repeat");
	const char *verb = NULL;
	const agora_json *body = NULL;
	int64_t repeat = 1;

	snprintf(op->where, sizeof(op->where), "%s", where);
	if (agora_json_typeof(item) != AGORA_JSON_OBJECT) {
		snprintf(err, errlen, "%s: want an object", op->where);
		return AGORA_EINVAL;
	}
	if (agora_json_get(item, "loop") != NULL) {
		snprintf(err, errlen,
		         "%s: a loop inside a loop (loops do not nest)",
		         op->where);
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
			snprintf(err, errlen,
			         "%s: want one of step, send_task_request, "
			         "reset (and repeat) or loop, not '%s'",
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
	if (rep != NULL && !agora_json_int(rep, 1, SCEN_ROUNDS_MAX, &repeat)) {
		snprintf(err, errlen,
		         "%s.repeat: want a whole number from 1 to %d",
		         op->where, SCEN_ROUNDS_MAX);
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

/* { "loop": [items], "until": "quit" (default) or "max", "max": N }: the
 * items again and again, until the person quits or N rounds have run. */
static agora_err
scen_load_loop(agora_scenario *s, struct scen_op *op, const char *where,
               const agora_json *item, char *err, size_t errlen)
{
	static const char *const keys[] = { "loop", "until", "max", NULL };
	const agora_json *items = agora_json_get(item, "loop");
	const agora_json *max = agora_json_get(item, "max");
	const char *until = NULL;
	int64_t n = SCEN_LOOP_MAX_DEFAULT;
	size_t i = 0;
	agora_err rv;

	op->type = OP_LOOP;
	op->repeat = 1;
	snprintf(op->where, sizeof(op->where), "%s.loop", where);
	rv = scen_check_keys(item, keys, NULL, op->where, err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	if (agora_json_typeof(items) != AGORA_JSON_ARRAY ||
	    agora_json_size(items) == 0) {
		snprintf(err, errlen,
		         "%s: want a list of one or more script items",
		         op->where);
		return AGORA_EINVAL;
	}
	rv = scen_str(item, "until", &until, op->where, err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	if (until != NULL && strcmp(until, "quit") != 0 &&
	    strcmp(until, "max") != 0) {
		snprintf(err, errlen,
		         "%s.until: want \"quit\" or \"max\", not '%.80s'",
		         op->where, until);
		return AGORA_EINVAL;
	}
	op->until_quit = until == NULL || strcmp(until, "quit") == 0;
	if (max != NULL && !agora_json_int(max, 1, SCEN_ROUNDS_MAX, &n)) {
		snprintf(err, errlen,
		         "%s.max: want a whole number from 1 to %d", op->where,
		         SCEN_ROUNDS_MAX);
		return AGORA_EINVAL;
	}
	op->max = (unsigned)n;
	op->body = agora_calloc(agora_json_size(items), sizeof(struct scen_op));
	for (const agora_json *it = agora_json_first(items);
	     it != NULL && rv == AGORA_OK; it = agora_json_next(it), i++) {
		char at[64];
		snprintf(at, sizeof(at), "%s.loop[%zu]", where, i);
		op->nbody = i + 1;
		rv = scen_load_item(s, &op->body[i], at, it, err, errlen);
	}
	return rv;
}

agora_err
scen_load_script(agora_scenario *s, const agora_json *script, char *err,
                 size_t errlen)
{
	size_t i = 0;
	agora_err rv = AGORA_OK;

	s->ops =
	    agora_calloc(agora_json_size(script) + 1, sizeof(struct scen_op));
	for (const agora_json *it = agora_json_first(script);
	     it != NULL && rv == AGORA_OK; it = agora_json_next(it), i++) {
		char where[32];
		snprintf(where, sizeof(where), "script[%zu]", i);
		s->nops = i + 1;
		if (agora_json_typeof(it) == AGORA_JSON_OBJECT &&
		    agora_json_get(it, "loop") != NULL) {
			rv = scen_load_loop(s, &s->ops[i], where, it, err,
			                    errlen);
		} else {
			rv = scen_load_item(s, &s->ops[i], where, it, err,
			                    errlen);
		}
	}
	return rv;
}

static void
scen_op_fini(struct scen_op *op)
{
	agora_strv_clear(&op->send_to);
	agora_strv_clear(&op->allowed);
	agora_free(op->llm_args);
}

void
scen_ops_free(struct scen_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* Loops do not nest: a body holds no body. */
		for (size_t k = 0; k < ops[i].nbody; k++) {
			scen_op_fini(&ops[i].body[k]);
		}
		agora_free(ops[i].body);
		scen_op_fini(&ops[i]);
	}
	agora_free(ops);
}
