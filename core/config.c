/* SPDX-License-Identifier: MIT */
/* Configuration from one table (Redis' static_configs[]): each key has a
 * type, a field, a default, a range and a line of help. Defaults, then a
 * JSON file, then AGORA_* variables, then the command line. A secret
 * (redis.password) is a string never printed: not in errors, not in the
 * dump. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/config.h"
#include "agora/json.h"
#include "agora/url.h"

enum cfg_type { CFG_STR, CFG_SECRET, CFG_INT, CFG_LEVEL };

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t offset;
	const char *def;
	int64_t lo, hi;
	const char *help;
};

#define CFG_F(field) offsetof(agora_config, field)

static const struct cfg_key cfg_keys[] = {
	{ "redis.url", CFG_STR, CFG_F(redis_url), "", 0, 0,
	  "redis://[:password@]host:port/db or unix://[:password@]/path; "
	  "empty starts a private redis-server" },
	{ "redis.password", CFG_SECRET, CFG_F(redis_password), "", 0, 0,
	  "the password of redis.url's server if the URL names none "
	  "(never printed)" },
	{ "redis.server", CFG_STR, CFG_F(redis_server), "redis-server", 0, 0,
	  "the redis-server program for the private server" },
	{ "redis.timeout_ms", CFG_INT, CFG_F(redis_timeout_ms), "5000", 10,
	  600000, "time limit of one Redis command" },
	{ "session", CFG_STR, CFG_F(session), "", 0, 0,
	  "session id (key prefix); empty makes a new one" },
	{ "step.deadline_ms", CFG_INT, CFG_F(step_deadline_ms), "300000", 1,
	  86400000, "time limit of one step; late agents get an error frame" },
	{ "env.drain_max", CFG_INT, CFG_F(drain_max), "10000", 1, 1000000,
	  "messages one drain takes from an inbox" },
	{ "env.memory_max", CFG_INT, CFG_F(memory_max), "10000", 1, 10000000,
	  "memory entries kept per agent (oldest dropped)" },
	{ "env.owner_ttl_ms", CFG_INT, CFG_F(owner_ttl_ms), "10000", 500,
	  600000,
	  "a process that dies mid-step gives back the messages it drained "
	  "this long after" },
	{ "env.fanout_max", CFG_INT, CFG_F(fanout_max), "10000000", 1,
	  INT64_MAX / 4,
	  "inbox deliveries one step may make (agents x recipients x "
	  "rounds); a step over it is refused before it runs" },
	{ "env.call_work", CFG_INT, CFG_F(call_work), "100000", 100, 10000000,
	  "list entries one Redis script call writes at most (a bigger batch "
	  "takes several calls, so none holds Redis for long)" },
	{ "env.turn_max", CFG_INT, CFG_F(turn_max), "1000000", 1, 100000000,
	  "messages one turn may read (drained a page at a time); more is "
	  "an error frame, and they all stay in the inbox" },
	{ "server.program", CFG_STR, CFG_F(server_program), "", 0, 0,
	  "the agora program for child agent servers; empty: the agora "
	  "beside this program, else agora in PATH" },
	{ "server.children", CFG_INT, CFG_F(server_children), "0", 0, 1024,
	  "child agent servers: 0 starts one per child agent, N a pool of N" },
	{ "server.plugins", CFG_STR, CFG_F(server_plugins), "", 0, 0,
	  "plugin files child agent servers load (comma-separated)" },
	{ "server.log", CFG_STR, CFG_F(server_log), "", 0, 0,
	  "a file child agent servers write their log to; empty: none" },
	{ "server.tls_ca", CFG_STR, CFG_F(server_tls_ca), "", 0, 0,
	  "a CA file to check agent servers at tls+tcp:// addresses" },
	{ "server.token_file", CFG_STR, CFG_F(server_token_file), "", 0, 0,
	  "a file holding the token agent servers require" },
	{ "server.timeout_ms", CFG_INT, CFG_F(server_timeout_ms), "5000", 10,
	  600000, "time limit to start, reach or hear from an agent server" },
	{ "log.level", CFG_LEVEL, CFG_F(log_level), "warn", 0, 3,
	  "error, warn, info or debug" },
};

#define CFG_NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

static const struct cfg_key *
cfg_find(const char *name)
{
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		if (strcmp(cfg_keys[i].name, name) == 0) {
			return &cfg_keys[i];
		}
	}
	return NULL;
}

static agora_err
cfg_apply(agora_config *cfg, const struct cfg_key *k, const char *value,
          char *err, size_t errlen)
{
	char *field = (char *)cfg + k->offset;

	if (k->type == CFG_STR || k->type == CFG_SECRET) {
		char **sp = (char **)(void *)field;
		agora_free(*sp);
		*sp = agora_strdup(value);
		return AGORA_OK;
	}
	if (k->type == CFG_LEVEL) {
		agora_log_level level;
		if (agora_log_parse_level(value, &level) != AGORA_OK) {
			snprintf(err, errlen,
			         "%s: '%s' is not error, warn, info or debug",
			         k->name, value);
			return AGORA_EINVAL;
		}
		*(int64_t *)(void *)field = (int64_t)level;
		return AGORA_OK;
	}
	{
		char *end = NULL;
		long long v;

		errno = 0;
		v = strtoll(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || v < k->lo ||
		    v > k->hi) {
			snprintf(
			    err, errlen,
			    "%s: '%s' is not a whole number from %lld to %lld",
			    k->name, value, (long long)k->lo, (long long)k->hi);
			return AGORA_EINVAL;
		}
		*(int64_t *)(void *)field = v;
	}
	return AGORA_OK;
}

void
agora_config_init(agora_config *cfg)
{
	char err[64];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		(void)cfg_apply(cfg, &cfg_keys[i], cfg_keys[i].def, err,
		                sizeof(err));
	}
}

void
agora_config_fini(agora_config *cfg)
{
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		if (cfg_keys[i].type == CFG_STR ||
		    cfg_keys[i].type == CFG_SECRET) {
			char **sp =
			    (char **)(void *)((char *)cfg + cfg_keys[i].offset);
			agora_free(*sp);
			*sp = NULL;
		}
	}
}

agora_err
agora_config_set(agora_config *cfg, const char *key, const char *value,
                 char *err, size_t errlen)
{
	const struct cfg_key *k = cfg_find(key);

	if (k == NULL) {
		snprintf(err, errlen, "unknown configuration key '%s'", key);
		return AGORA_ENOTFOUND;
	}
	return cfg_apply(cfg, k, value, err, errlen);
}

/* Apply one JSON value under the dotted name prefix (objects recurse). */
static agora_err
cfg_load_value(agora_config *cfg, const char *name, const agora_json *v,
               char *err, size_t errlen)
{
	char text[64];
	agora_json_type t = agora_json_typeof(v);

	if (t == AGORA_JSON_OBJECT) {
		for (size_t i = 0; i < agora_json_size(v); i++) {
			const agora_json *item = agora_json_at(v, i);
			char *sub = name[0] != '\0'
			                ? agora_sprintf("%s.%s", name,
			                                agora_json_key(item))
			                : agora_strdup(agora_json_key(item));
			agora_err rv =
			    cfg_load_value(cfg, sub, item, err, errlen);
			agora_free(sub);
			if (rv != AGORA_OK) {
				return rv;
			}
		}
		return AGORA_OK;
	}
	if (t == AGORA_JSON_STRING) {
		return agora_config_set(cfg, name, agora_json_str(v), err,
		                        errlen);
	}
	if (t == AGORA_JSON_NUMBER) {
		int64_t n;
		if (!agora_json_int(v, INT64_MIN / 2, INT64_MAX / 2, &n)) {
			snprintf(err, errlen, "%s: not a whole number", name);
			return AGORA_EINVAL;
		}
		snprintf(text, sizeof(text), "%lld", (long long)n);
		return agora_config_set(cfg, name, text, err, errlen);
	}
	snprintf(err, errlen, "%s: a %s is not a valid value", name,
	         agora_json_type_name(t));
	return AGORA_EINVAL;
}

agora_err
agora_config_load_file(agora_config *cfg, const char *path, char *err,
                       size_t errlen)
{
	agora_json *doc = NULL;
	char why[256];
	agora_err rv;

	rv = agora_json_parse_file(&doc, path, 1u << 20, err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	if (agora_json_typeof(doc) != AGORA_JSON_OBJECT) {
		snprintf(err, errlen, "%s: not a JSON object", path);
		agora_json_free(doc);
		return AGORA_EINVAL;
	}
	rv = cfg_load_value(cfg, "", doc, why, sizeof(why));
	if (rv != AGORA_OK) {
		snprintf(err, errlen, "%s: %s", path, why);
	}
	agora_json_free(doc);
	return rv;
}

/* "step.deadline_ms" -> "AGORA_STEP_DEADLINE_MS" */
static void
cfg_env_name(const char *key, char *out, size_t outlen)
{
	size_t n = (size_t)snprintf(out, outlen, "AGORA_");

	for (const char *p = key; *p != '\0' && n + 1 < outlen; p++) {
		out[n++] =
		    (char)(*p == '.' ? '_' : (toupper)((unsigned char)*p));
	}
	out[n] = '\0';
}

agora_err
agora_config_load_env(agora_config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		char var[64];
		const char *value;

		cfg_env_name(cfg_keys[i].name, var, sizeof(var));
		value =
		    getenv(var); /* NOLINT(concurrency-mt-unsafe): start-up */
		if (value != NULL) {
			agora_err rv =
			    cfg_apply(cfg, &cfg_keys[i], value, err, errlen);
			if (rv != AGORA_OK) {
				return rv;
			}
		}
	}
	return AGORA_OK;
}

void
agora_config_help(FILE *f)
{
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		fprintf(f, "  %-18s %s (default \"%s\")\n", k->name, k->help,
		        k->def);
	}
}

void
agora_config_dump(const agora_config *cfg)
{
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		const char *field = (const char *)cfg + k->offset;
		char value[256];

		if (k->type == CFG_SECRET) {
			const char *s = *(char *const *)(const void *)field;
			snprintf(value, sizeof(value), "\"%s\"",
			         s != NULL && s[0] != '\0' ? "***" : "");
		} else if (k->type == CFG_STR) {
			const char *s = *(char *const *)(const void *)field;
			char shown[256];
			/* A URL's user-info is a secret (redis.url). */
			snprintf(value, sizeof(value), "\"%s\"",
			         agora_url_redact(s != NULL ? s : "", shown,
			                          sizeof(shown)));
		} else {
			snprintf(
			    value, sizeof(value), "%lld",
			    (long long)*(const int64_t *)(const void *)field);
		}
		agora_log(AGORA_LOG_INFO, "config", "%s = %s", k->name, value);
	}
}
