/* SPDX-License-Identifier: MIT */
/* Model configs: which OpenAI-compatible endpoint a config name means. Read
 * from AgentScope's format, a JSON list of
 *   {"config_name", "model_type", "model_name", "api_key" | "api_key_env",
 *    "organization", "client_args": {"base_url", ...}, "generate_args",
 *    "max_concurrency", "timeout_ms", "connect_timeout_ms", "max_retries"}
 * and from ModelScope's inline {"model", "api_key", "model_server"}.
 * model_type: openai_chat, dashscope_chat (DashScope's compatible mode) or
 * ollama_chat (Ollama's /v1). Configs live in one table per process;
 * agents copy theirs when they are made. An API key is never printed:
 * errors name the config and the variable, never the key. */
#ifndef AGORA_MODELS_H
#define AGORA_MODELS_H

#include <stdbool.h>
#include <stdint.h>

#include "agora/json.h"
#include "agora/llm.h"
#include "agora/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agora_model {
	char *config_name;
	char *model_type;
	char *model_name;
	char *api_key; /* resolved; NULL when none is needed */
	char *organization;
	char *base_url;
	char *generate_args;         /* JSON object text, or NULL */
	agora_llm_endpoint endpoint; /* points into the strings above */
} agora_model;

/* Add (or replace, by config_name) the configs in a JSON list file. Errors
 * name the file, the entry and the key. Thread-safe. */
AGORA_API agora_err agora_models_load_file(const char *path, char *err,
                                           size_t errlen);
/* The same from a parsed list (where names it in errors). */
AGORA_API agora_err agora_models_load_json(const agora_json *list,
                                           const char *where, char *err,
                                           size_t errlen);
/* The same for configs a peer sent (set_models): they name environment
 * variables (api_key_env, or a type's default) only if this process allows
 * it (agora_models_sent_env). */
AGORA_API agora_err agora_models_load_sent(const agora_json *list,
                                           const char *where, char *err,
                                           size_t errlen);
/* Whether sent configs, and inline configs (which in a server come from
 * peers), may read this process's environment for their key. Default
 * true; an agent server reachable by others sets false, and such a config
 * then fails at agent creation with AGORA_EAUTH, naming the variable. */
AGORA_API void agora_models_sent_env(bool allow);
/* Forget every config (set-models replaces them all). */
AGORA_API void agora_models_clear(void);
/* Every config as a JSON list, as given (keys included: for child agent
 * servers only); the caller frees it. */
AGORA_API char *agora_models_dump(void);
AGORA_API bool agora_models_has(const char *config_name);
AGORA_API void agora_models_names(agora_strv *out);

/* Resolve a config for an agent: by name (a string) or inline (an object,
 * either form). The key is taken from api_key or the environment variable
 * api_key_env now, so a missing key is an error here, at agent creation.
 * *out is the caller's (agora_model_free). */
AGORA_API agora_err agora_model_resolve(agora_model **out,
                                        const agora_json *ref, const char *who,
                                        char *err, size_t errlen);
AGORA_API void agora_model_free(agora_model *m);

#ifdef __cplusplus
}
#endif
#endif
