/* SPDX-License-Identifier: MIT */
/* The script runner: a loop over the scenario's script that reads each
 * step's frames as they stream and, in chat mode, asks the person whenever
 * a human role is waiting; a loop item runs its items until the person
 * quits, its max, or (no person to ask) its driver's idle limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/log.h"
#include "scenario_int.h"

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
	bool in_quit_loop; /* running an "until": "quit" loop */
	bool left;         /* ... and the person quit it */
	size_t asked;      /* questions put to the person so far */
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

	if (rs->hooks != NULL && rs->hooks->on_step != NULL) {
		rs->hooks->on_step(rs->hooks->arg, o);
	}
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
		char *answer = NULL;
		agora_answer said;

		if (rs->no_more_input) {
			break;
		}
		said = rs->hooks->ask(rs->hooks->arg, role, &answer);
		rs->asked++;
		if (said == AGORA_ANSWER_QUIT) {
			agora_free(answer);
			rs->no_more_input = true;
			rs->left = rs->in_quit_loop;
			break;
		}
		o.allowed_roles = (const char *const *)&waiting.v[i];
		o.n_allowed = 1;
		o.send_to = (const char *const *)op->send_to.v;
		o.n_send_to = op->send_to.n;
		o.llm_args = op->llm_args;
		if (said == AGORA_ANSWER_WORDS && answer != NULL) {
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
	case OP_LOOP: /* run_loop's, never an item's */
		break;
	}
	return AGORA_EINTERNAL;
}

/* Items that are not loops, in order, each repeated; a person quitting a
 * loop ends it at once (the rest of its round too). */
static agora_err
run_items(struct run_state *rs, const struct scen_op *ops, size_t n, char *err,
          size_t errlen)
{
	const agora_run_hooks *hooks = rs->hooks;
	agora_err rv = AGORA_OK;

	for (size_t i = 0; i < n && rv == AGORA_OK && !rs->left; i++) {
		for (unsigned r = 0;
		     r < ops[i].repeat && rv == AGORA_OK && !rs->left; r++) {
			if (hooks != NULL && hooks->on_item != NULL) {
				hooks->on_item(hooks->arg, ops[i].where, r);
			}
			rv = run_op(rs, &ops[i], err, errlen);
		}
	}
	return rv;
}

/* Rounds of the loop's items (they hold no loop: load.c refuses one).
 * "until": "quit" ends when the person quits, or when rounds in a row
 * asked nobody (loop_idle_max): without a person, a loop meant for one
 * must not run to a max of up to a million rounds unseen. */
static agora_err
run_loop(struct run_state *rs, const struct scen_op *op, char *err,
         size_t errlen)
{
	const agora_run_hooks *hooks = rs->hooks;
	unsigned idle_max = hooks != NULL && hooks->loop_idle_max > 0
	                        ? hooks->loop_idle_max
	                        : 1;
	agora_loop_end why = AGORA_LOOP_MAX;
	unsigned rounds = 0;
	unsigned idle = 0;
	agora_err rv = AGORA_OK;

	rs->in_quit_loop = op->until_quit;
	rs->left = false;
	while (rounds < op->max) {
		size_t asked = rs->asked;

		if (hooks != NULL && hooks->on_item != NULL) {
			hooks->on_item(hooks->arg, op->where, rounds);
		}
		rv = run_items(rs, op->body, op->nbody, err, errlen);
		if (rv != AGORA_OK) {
			break;
		}
		rounds++;
		if (rs->left) {
			why = AGORA_LOOP_QUIT;
			break;
		}
		if (op->until_quit) {
			idle = rs->asked == asked ? idle + 1 : 0;
			if (idle >= idle_max) {
				why = AGORA_LOOP_NOBODY;
				break;
			}
		}
	}
	rs->in_quit_loop = false;
	rs->left = false;
	if (rv == AGORA_OK && hooks != NULL && hooks->on_loop_end != NULL) {
		hooks->on_loop_end(hooks->arg, op->where, rounds, why);
	}
	return rv;
}

/* Roles whose last reply a step reads (allowed_roles_from), in the
 * script and in its loops. */
static void
run_reply_roles(struct run_state *rs, const struct scen_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct scen_op *op = &ops[i];
		for (size_t k = 0; k < op->nbody + 1; k++) {
			const struct scen_op *o =
			    k == 0 ? op : &op->body[k - 1];
			if (o->allowed_from != NULL &&
			    !agora_strv_has(&rs->reply_roles,
			                    o->allowed_from)) {
				agora_strv_push(&rs->reply_roles,
				                o->allowed_from);
			}
		}
	}
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
	run_reply_roles(&rs, s->ops, s->nops);
	rs.replies = agora_calloc(rs.reply_roles.n + 1, sizeof(agora_buf));
	for (size_t i = 0; i < rs.reply_roles.n; i++) {
		agora_buf_init(&rs.replies[i], AGORA_MSG_MAX_BYTES);
	}
	for (size_t i = 0; i < s->nops && rv == AGORA_OK; i++) {
		rv = s->ops[i].type == OP_LOOP
		         ? run_loop(&rs, &s->ops[i], err, errlen)
		         : run_items(&rs, &s->ops[i], 1, err, errlen);
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
