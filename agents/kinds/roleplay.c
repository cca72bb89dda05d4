/* SPDX-License-Identifier: MIT */
/* roleplay: an LLM agent over any OpenAI-compatible API. Each turn builds
 * the prompt (agents/prompt.c) from its memory, what it read and the task,
 * merges the request parameters (the model config's generate_args, then
 * the agent's, then the step's llm_args on top), and streams the reply
 * through the shared LLM client. The client's thread posts each chunk back
 * to the step (agora_turn_post); cancel stops the request synchronously. */
#include <stdio.h>
#include <string.h>

#include "../prompt.h"
#include "agora/alloc.h"
#include "agora/llm.h"
#include "agora/models.h"
#include "kinds.h"
#include "opts.h"

#define ROLEPLAY_MEMORY 400 /* memory entries fetched per turn */

struct roleplay {
	char *role;
	char *instruction;
	char *generate_args; /* the agent's, JSON object text, or NULL */
	agora_model *model;
	struct prompt_budget budget;
	agora_llm *llm;
	agora_llm_req *req; /* the turn's request, or NULL */
	agora_turn *turn;
};

static agora_err
roleplay_args(struct roleplay *r, const agora_agent_spec *spec, char *err,
              size_t errlen)
{
	const agora_json *ga = agora_json_get(spec->options, "generate_args");
	double tokens, chars;
	const char *instr;
	agora_err rv;

	rv = kind_opt_str(spec, "instruction", NULL, &instr, err, errlen);
	if (rv == AGORA_OK) {
		rv = kind_opt_num(spec, "budget_tokens", 0, 1e9, 6000, &tokens,
		                  err, errlen);
	}
	if (rv == AGORA_OK) {
		rv = kind_opt_num(spec, "budget_chars", 0, 1e10, 0, &chars, err,
		                  errlen);
	}
	if (rv == AGORA_OK && ga != NULL &&
	    agora_json_typeof(ga) != AGORA_JSON_OBJECT) {
		snprintf(err, errlen, "%s: 'generate_args' must be an object",
		         spec->role);
		rv = AGORA_EINVAL;
	}
	if (rv != AGORA_OK) {
		return rv;
	}
	r->instruction = instr != NULL ? agora_strdup(instr) : NULL;
	r->budget.tokens = (int64_t)tokens;
	r->budget.chars = (int64_t)chars;
	if (ga != NULL) {
		agora_buf b;
		agora_buf_init(&b, 1u << 20);
		(void)agora_json_print(ga, &b);
		r->generate_args = agora_buf_steal(&b);
		agora_buf_fini(&b);
	}
	return AGORA_OK;
}

static void
roleplay_destroy(void *state)
{
	struct roleplay *r = state;

	if (r == NULL) {
		return;
	}
	if (r->req != NULL) {
		agora_llm_cancel(r->llm, r->req);
	}
	agora_model_free(r->model);
	agora_free(r->role);
	agora_free(r->instruction);
	agora_free(r->generate_args);
	agora_free(r);
}

static agora_err
roleplay_create(void **statep, const agora_agent_spec *spec, char *err,
                size_t errlen)
{
	struct roleplay *r = agora_calloc(1, sizeof(*r));
	const agora_json *model = agora_json_get(spec->options, "model");
	agora_err rv;

	r->role = agora_strdup(spec->role);
	rv = roleplay_args(r, spec, err, errlen);
	if (rv == AGORA_OK && model == NULL) {
		snprintf(err, errlen,
		         "%s: kind roleplay needs 'model' (a model config name "
		         "or an inline config)",
		         spec->role);
		rv = AGORA_EINVAL;
	}
	if (rv == AGORA_OK) {
		rv = agora_model_resolve(&r->model, model, spec->role, err,
		                         errlen);
	}
	if (rv == AGORA_OK) {
		r->llm = agora_llm_shared();
		rv = r->llm != NULL ? AGORA_OK : AGORA_EHTTP;
	}
	if (rv != AGORA_OK) {
		roleplay_destroy(r);
		return rv;
	}
	*statep = r;
	return AGORA_OK;
}

/* {"model":..,"stream":true,"messages":[..], then every key of the
 * argument objects, later ones winning} */
static agora_err
roleplay_body(agora_buf *b, const char *model, const char *messages,
              const char *const *args, size_t nargs)
{
	agora_strv seen = { 0 };
	agora_err rv;

	agora_strv_push(&seen, "model");
	agora_strv_push(&seen, "stream");
	agora_strv_push(&seen, "messages");
	rv = agora_buf_adds(b, "{\"model\":");
	if (rv == AGORA_OK) {
		rv = agora_buf_json_str(b, model, strlen(model));
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_addf(b, ",\"stream\":true,\"messages\":%s",
		                    messages);
	}
	for (size_t k = nargs; k-- > 0 && rv == AGORA_OK;) {
		agora_json *doc = NULL;
		if (args[k] == NULL ||
		    agora_json_parse(&doc, args[k], strlen(args[k]), 1u << 20,
		                     32, NULL, 0) != AGORA_OK) {
			continue;
		}
		for (size_t i = 0; i < agora_json_size(doc) && rv == AGORA_OK;
		     i++) {
			const agora_json *v = agora_json_at(doc, i);
			if (agora_strv_has(&seen, agora_json_key(v))) {
				continue;
			}
			agora_strv_push(&seen, agora_json_key(v));
			rv = agora_buf_json_key(b, agora_json_key(v));
			if (rv == AGORA_OK) {
				rv = agora_json_print(v, b);
			}
		}
		agora_json_free(doc);
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_adds(b, "}");
	}
	agora_strv_clear(&seen);
	return rv;
}

/* ---- on the step's thread (posted) ------------------------------------- */

static void
roleplay_emit(void *state, agora_turn *t, void *arg)
{
	(void)state;
	agora_turn_emits(t, arg);
}

/* How the model's reply ended, handed from the client's thread. */
struct roleplay_end {
	char finish[32];
	agora_llm_usage usage;
};

static void
roleplay_done(void *state, agora_turn *t, void *arg)
{
	struct roleplay *r = state;
	const struct roleplay_end *end = arg;

	agora_llm_release(r->llm, r->req);
	r->req = NULL;
	agora_turn_set_usage(t, end->finish, end->usage.prompt_tokens,
	                     end->usage.completion_tokens,
	                     end->usage.total_tokens);
	agora_turn_done(t);
}

static void
roleplay_failed(void *state, agora_turn *t, void *arg)
{
	struct roleplay *r = state;

	agora_llm_release(r->llm, r->req);
	r->req = NULL;
	agora_turn_fail(t, "%s", (const char *)arg);
}

/* ---- on the client's thread -------------------------------------------- */

static void
roleplay_on_chunk(void *arg, const char *text, size_t len)
{
	struct roleplay *r = arg;

	agora_turn_post(r->turn, roleplay_emit, agora_strndup(text, len),
	                agora_free);
}

static void
roleplay_on_done(void *arg, const char *finish, const agora_llm_usage *usage)
{
	struct roleplay *r = arg;
	struct roleplay_end *end = agora_calloc(1, sizeof(*end));

	snprintf(end->finish, sizeof(end->finish), "%s",
	         finish != NULL ? finish : "");
	if (usage != NULL &&
	    (usage->prompt_tokens > 0 || usage->completion_tokens > 0)) {
		end->usage = *usage;
	} else {
		/* The server sent none: unknown, not zero. */
		end->usage.prompt_tokens = end->usage.completion_tokens =
		    end->usage.total_tokens = -1;
	}
	agora_turn_post(r->turn, roleplay_done, end, agora_free);
}

static void
roleplay_on_error(void *arg, agora_err code, const char *message)
{
	struct roleplay *r = arg;

	(void)code;
	agora_turn_post(r->turn, roleplay_failed, agora_strdup(message),
	                agora_free);
}

static void
roleplay_act(void *state, agora_turn *t)
{
	struct roleplay *r = state;
	const agora_msg **mem =
	    agora_calloc(agora_turn_nmemory(t) + 1, sizeof(agora_msg *));
	const agora_msg **in =
	    agora_calloc(agora_turn_ninputs(t) + 1, sizeof(agora_msg *));
	struct prompt_input pi = { 0 };
	const char *args[3];
	agora_llm_handler h = { roleplay_on_chunk, roleplay_on_done,
		                roleplay_on_error, r };
	agora_buf messages, body;
	size_t trimmed;
	agora_err rv;

	for (size_t i = 0; i < agora_turn_nmemory(t); i++) {
		mem[i] = agora_turn_memory(t, i);
	}
	for (size_t i = 0; i < agora_turn_ninputs(t); i++) {
		in[i] = agora_turn_input(t, i);
	}
	pi.role = r->role;
	pi.instruction = r->instruction;
	pi.memory = mem;
	pi.nmemory = agora_turn_nmemory(t);
	pi.inputs = in;
	pi.ninputs = agora_turn_ninputs(t);
	pi.task = agora_turn_task(t);
	agora_buf_init(&messages, 16u << 20);
	agora_buf_init(&body, 16u << 20);
	rv = prompt_build(&messages, &pi, &r->budget, &trimmed);
	args[0] = r->model->generate_args;
	args[1] = r->generate_args;
	args[2] = agora_turn_llm_args(t);
	if (rv == AGORA_OK) {
		rv = roleplay_body(&body, r->model->model_name, messages.data,
		                   args, 3);
	}
	r->turn = t;
	if (rv == AGORA_OK) {
		rv = agora_llm_start(r->llm, &r->model->endpoint, body.data, &h,
		                     &r->req);
	}
	if (rv != AGORA_OK) {
		agora_turn_fail(t, "cannot make the request: %s",
		                agora_strerror(rv));
	}
	agora_buf_fini(&messages);
	agora_buf_fini(&body);
	agora_free(mem);
	agora_free(in);
}

static void
roleplay_cancel(void *state, agora_turn *t)
{
	struct roleplay *r = state;

	(void)t;
	if (r->req != NULL) {
		agora_llm_cancel(r->llm, r->req);
		r->req = NULL;
	}
}

static const char *const roleplay_options[] = { "generate_args",
	                                        "budget_tokens",
	                                        "budget_chars",
	                                        "lines",
	                                        "word_delay_ms",
	                                        "cycle",
	                                        NULL };

const agora_kind agora__kind_roleplay = {
	.name = "roleplay",
	.summary = "an LLM agent (model, instruction, generate_args, "
	           "budget_tokens)",
	.option_names = roleplay_options,
	.memory_limit = ROLEPLAY_MEMORY,
	.create = roleplay_create,
	.act = roleplay_act,
	.cancel = roleplay_cancel,
	.destroy = roleplay_destroy,
};
