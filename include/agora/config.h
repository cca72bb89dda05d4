/* SPDX-License-Identifier: MIT */
/* Configuration: defaults, overlaid by a JSON file, then AGORA_<KEY>
 * environment variables, then command-line values. One table of keys drives
 * parsing, range checks, the help text and the start-up dump. Unknown keys
 * and out-of-range values are errors. */
#ifndef AGORA_CONFIG_H
#define AGORA_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "agora/err.h"
#include "agora/log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agora_config {
	char *redis_url;      /* redis.url: NULL or "" starts a private one */
	char *redis_password; /* redis.password: for a URL naming none */
	char *redis_server;   /* redis.server: the redis-server program */
	int64_t redis_timeout_ms; /* redis.timeout_ms: per command */
	char *session;            /* session: NULL or "" generates one */
	int64_t step_deadline_ms; /* step.deadline_ms: a whole step's budget */
	int64_t drain_max;        /* env.drain_max: messages per drain */
	int64_t memory_max;       /* env.memory_max: memory entries per agent */
	int64_t turn_max;         /* env.turn_max: messages one turn reads */
	int64_t fanout_max;       /* env.fanout_max: deliveries a step makes */
	int64_t call_work;        /* env.call_work: entries a script writes */
	int64_t owner_ttl_ms;     /* env.owner_ttl_ms: leases of the dead */
	char *server_program;     /* server.program: for child servers */
	int64_t server_children;  /* server.children: 0 one per agent */
	char *server_plugins;     /* server.plugins: comma-separated */
	char *server_log;         /* server.log: children's stderr */
	char *server_tls_ca;      /* server.tls_ca */
	char *server_token_file;  /* server.token_file */
	int64_t server_timeout_ms; /* server.timeout_ms */
	int64_t log_level;         /* log.level: an agora_log_level */
} agora_config;

/* Set the defaults; cannot fail. */
AGORA_API void agora_config_init(agora_config *cfg);
AGORA_API void agora_config_fini(agora_config *cfg);

/* Set one key ("redis.url", "step.deadline_ms" ...) from text. */
AGORA_API agora_err agora_config_set(agora_config *cfg, const char *key,
                                     const char *value, char *err,
                                     size_t errlen);
/* Overlay a JSON object file: {"redis": {"url": "..."}, "session": "x"}
 * or flat {"redis.url": "..."}. */
AGORA_API agora_err agora_config_load_file(agora_config *cfg, const char *path,
                                           char *err, size_t errlen);
/* Overlay AGORA_REDIS_URL, AGORA_STEP_DEADLINE_MS ... from the environment. */
AGORA_API agora_err agora_config_load_env(agora_config *cfg, char *err,
                                          size_t errlen);
/* One line per key: name, default, range, meaning. */
AGORA_API void agora_config_help(FILE *f);
/* Log every key and its value at INFO. */
AGORA_API void agora_config_dump(const agora_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
