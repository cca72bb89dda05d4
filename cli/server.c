/* SPDX-License-Identifier: MIT */
/* agora server: run an agent server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/agora.h"
#include "agora/kinds.h"
#include "agora/models.h"
#include "agora/server.h"
#include "agora/transport.h"
#include "cli.h"

struct server_args {
	const char *host, *port, *ipc, *token_file, *redis, *agent_dir;
	const char *tls_cert, *tls_ca, *log_level;
	const char *model_configs[16];
	int nmodels;
	const char *plugins[64];
	int nplugins;
	long max_agents, workers, ready_fd, max_request, max_conns;
	long redis_timeout_ms;
	bool insecure;
};

static void
server_usage(FILE *f)
{
	fprintf(f,
	        "usage: agora server (--port N | --ipc PATH) [options]\n"
	        "\n"
	        "Host agents for TaskCenters that connect to this address.\n"
	        "\n"
	        "  --host H            address to bind (default 127.0.0.1)\n"
	        "  --port N            listen on tcp://H:N\n"
	        "  --ipc PATH          listen on the unix socket ipc://PATH\n"
	        "  --token-file FILE   require this token (first line) on "
	        "every request\n"
	        "                      but is-alive\n"
	        "  --insecure          allow a non-loopback address without a "
	        "token\n"
	        "  --tls-cert FILE     listen on tls+tcp:// with this PEM "
	        "certificate and key\n"
	        "  --tls-ca FILE       CA file to check other servers "
	        "(futures fetched over TLS)\n"
	        "  --model-config FILE model configs for LLM agents "
	        "(repeatable)\n"
	        "  --plugin FILE       load a kind plugin (repeatable)\n"
	        "  --agent-dir DIR     load the plugins (*.so) in DIR\n"
	        "  --redis URL         register in this Redis's server "
	        "registry\n"
	        "  --max-agents N      refuse agents beyond N (default "
	        "1000000)\n"
	        "  --workers N         requests handled at once (default 64)\n"
	        "  --max-request BYTES the largest request decoded (default "
	        "1 MiB, at most 16 MiB)\n"
	        "  --log-level L       error, warn (default), info or debug; "
	        "also\n"
	        "                      AGORA_LOG_LEVEL\n"
	        "  --redis-timeout-ms N the time limit of one Redis command "
	        "(default 5000;\n"
	        "                      also AGORA_REDIS_TIMEOUT_MS)\n"
	        "  --max-connections N connections at once (default 128); "
	        "with --max-request,\n"
	        "                      what a peer without a token can make "
	        "the server hold\n"
	        "\n"
	        "Stops on SIGTERM, SIGINT or `agora ctl ADDR stop`.\n");
}

static bool
server_num(const char *opt, const char *v, long lo, long hi, long *out)
{
	char *end = NULL;
	long n = v != NULL ? strtol(v, &end, 10) : 0;

	if (v == NULL || *end != '\0' || n < lo || n > hi) {
		cli_error("%s: expected a number from %ld to %ld", opt, lo, hi);
		return false;
	}
	*out = n;
	return true;
}

/* A repeatable option's value, kept in order; false when full. */
static bool
server_list_add(const char *o, const char *v, const char **list, int *n,
                int cap)
{
	if (*n == cap) {
		cli_error("%s: at most %d", o, cap);
		return false;
	}
	list[(*n)++] = v;
	return true;
}

static bool
server_needs_value(const char *o)
{
	cli_error("%s needs a value (see agora server --help)", o);
	return false;
}

/* One option with its value v (NULL: none left); false after printing
 * why. */
static bool
server_value_option(struct server_args *a, const char *o, const char *v)
{
	const struct {
		const char *name;
		const char **field;
	} strs[] = {
		{ "--host", &a->host },
		{ "--port", &a->port },
		{ "--ipc", &a->ipc },
		{ "--token-file", &a->token_file },
		{ "--redis", &a->redis },
		{ "--agent-dir", &a->agent_dir },
		{ "--tls-cert", &a->tls_cert },
		{ "--tls-ca", &a->tls_ca },
		{ "--log-level", &a->log_level },
	};
	const struct {
		const char *name;
		long *field;
		long lo, hi;
	} nums[] = {
		{ "--max-agents", &a->max_agents, 1, 100000000 },
		{ "--workers", &a->workers, 1, 4096 },
		{ "--max-request", &a->max_request, 1024, 16L << 20 },
		{ "--max-connections", &a->max_conns, 1, 65536 },
		{ "--ready-fd", &a->ready_fd, 0, 1 << 20 },
		{ "--redis-timeout-ms", &a->redis_timeout_ms, 10, 600000 },
	};

	for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++) {
		if (strcmp(o, strs[k].name) == 0) {
			*strs[k].field = v;
			return v != NULL || server_needs_value(o);
		}
	}
	for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
		if (strcmp(o, nums[k].name) == 0) {
			return v != NULL ? server_num(o, v, nums[k].lo,
			                              nums[k].hi, nums[k].field)
			                 : server_needs_value(o);
		}
	}
	if (strcmp(o, "--model-config") == 0 || strcmp(o, "--plugin") == 0) {
		bool models = strcmp(o, "--model-config") == 0;
		if (v == NULL) {
			return server_needs_value(o);
		}
		return models ? server_list_add(o, v, a->model_configs,
		                                &a->nmodels, 16)
		              : server_list_add(o, v, a->plugins, &a->nplugins,
		                                64);
	}
	cli_error("unknown option '%s' (see agora server --help)", o);
	return false;
}

/* One option at argv[*i]; false after printing why. */
static bool
server_option(struct server_args *a, int argc, char **argv, int *i)
{
	const char *o = argv[*i];
	const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;

	if (strcmp(o, "--insecure") == 0) {
		a->insecure = true;
		return true;
	}
	if (strncmp(o, "--", 2) != 0) {
		cli_error("unexpected argument '%s' (see agora server --help)",
		          o);
		return false;
	}
	if (v != NULL) {
		(*i)++;
	}
	return server_value_option(a, o, v);
}

/* The log level: --log-level, else AGORA_LOG_LEVEL (which child servers
 * inherit from the agora that starts them), else warn. */
static bool
server_log_level(const struct server_args *a)
{
	const char *name = a->log_level;
	agora_log_level level = AGORA_LOG_WARN;

	if (name == NULL) {
		/* NOLINTNEXTLINE(concurrency-mt-unsafe): start-up */
		name = getenv("AGORA_LOG_LEVEL");
	}
	if (name != NULL && agora_log_parse_level(name, &level) != AGORA_OK) {
		cli_error("log level '%s': want error, warn, info or debug",
		          name);
		return false;
	}
	agora_log_set_level(level);
	return true;
}

/* Kinds: built-ins, then plugins, then an agent dir; models. */
static bool
server_load(const struct server_args *a)
{
	char err[512];
	agora_buf loaded;

	if (!server_log_level(a)) {
		return false;
	}
	agora_kinds_builtin();
	for (int i = 0; i < a->nplugins; i++) {
		if (agora_plugin_load(a->plugins[i], err, sizeof(err)) !=
		    AGORA_OK) {
			cli_error("%s", err);
			return false;
		}
		fprintf(stderr, "agora: loaded plugin %s\n", a->plugins[i]);
	}
	if (a->agent_dir != NULL) {
		agora_buf_init(&loaded, 0);
		if (agora_plugin_load_dir(a->agent_dir, &loaded, err,
		                          sizeof(err)) != AGORA_OK) {
			cli_error("%s", err);
			agora_buf_fini(&loaded);
			return false;
		}
		fprintf(stderr, "agora: agent dir %s: %s", a->agent_dir,
		        loaded.len > 0 ? "loaded\n" : "no plugins in it\n");
		if (loaded.len > 0) {
			fprintf(stderr, "%s", loaded.data);
		}
		agora_buf_fini(&loaded);
	}
	for (int i = 0; i < a->nmodels; i++) {
		if (agora_models_load_file(a->model_configs[i], err,
		                           sizeof(err)) != AGORA_OK) {
			cli_error("%s", err);
			return false;
		}
	}
	return true;
}

static int
server_start(const struct server_args *a)
{
	agora_server_opts o = { 0 };
	char *redis = NULL;
	char token[AGORA_TOKEN_MAX + 1];
	char url[512], err[512];
	agora_err rv;

	if ((a->port == NULL) == (a->ipc == NULL)) {
		cli_error("give one of --port N or --ipc PATH");
		return EXIT_USAGE;
	}
	if (a->ipc != NULL) {
		snprintf(url, sizeof(url), "ipc://%s", a->ipc);
	} else {
		snprintf(url, sizeof(url), "%s://%s:%s",
		         a->tls_cert != NULL ? "tls+tcp" : "tcp",
		         a->host != NULL ? a->host : "127.0.0.1", a->port);
	}
	if (a->token_file != NULL &&
	    agora_token_read(a->token_file, token, sizeof(token), err,
	                     sizeof(err)) != AGORA_OK) {
		cli_error("%s", err);
		return EXIT_USAGE;
	}
	if (!server_load(a)) {
		return EXIT_USAGE;
	}
	if (a->tls_cert != NULL && a->ipc != NULL) {
		cli_error("--tls-cert is for --port (tls+tcp://), not --ipc");
		return EXIT_USAGE;
	}
	agora_tls_set(a->tls_ca, a->tls_cert);
	o.url = url;
	o.token = a->token_file != NULL ? token : NULL;
	o.insecure = a->insecure;
	redis = cli_redis_auth(a->redis);
	o.redis_url = redis;
	o.max_agents = (size_t)a->max_agents;
	o.workers = (size_t)a->workers;
	o.max_msg = (size_t)a->max_request;
	o.max_conns = (size_t)a->max_conns;
	o.ready_fd = (int)a->ready_fd;
	o.redis_timeout_ms = a->redis_timeout_ms;
	fprintf(stderr, "agora: agent server on %s\n", url);
	rv = agora_server_run(&o, err, sizeof(err));
	agora_free(redis);
	if (rv != AGORA_OK) {
		cli_error("%s", err);
		return rv == AGORA_EINVAL || rv == AGORA_EAUTH ? EXIT_USAGE
		                                               : EXIT_FAIL;
	}
	return EXIT_OK;
}

int
cli_server(int argc, char **argv)
{
	struct server_args a = { .ready_fd = -1 };
	/* NOLINTNEXTLINE(concurrency-mt-unsafe): start-up */
	const char *timeout = getenv("AGORA_REDIS_TIMEOUT_MS");

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			server_usage(stdout);
			return EXIT_OK;
		}
		if (!server_option(&a, argc, argv, &i)) {
			return EXIT_USAGE;
		}
	}
	if (a.ready_fd == 0) {
		a.ready_fd = -1;
	}
	/* As redis.timeout_ms for the other commands; the option wins. */
	if (a.redis_timeout_ms == 0 && timeout != NULL &&
	    !server_num("AGORA_REDIS_TIMEOUT_MS", timeout, 10, 600000,
	                &a.redis_timeout_ms)) {
		return EXIT_USAGE;
	}
	return server_start(&a);
}
