/* SPDX-License-Identifier: MIT */
/* agora ctl ADDR CMD: manage a running agent server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/agora.h"
#include "agora/server.h"
#include "cli.h"

#define CTL_FILE_MAX (4u << 20)

struct ctl_args {
	char url[512];
	const char *addr;
	const char *cmd;
	const char *arg[2];
	int narg;
	const char *token_file, *session, *redis, *options, *limit, *tls_ca;
	long timeout_ms;
	bool json;
};

static void
ctl_usage(FILE *f)
{
	fprintf(
	    f, "usage: agora ctl ADDR COMMAND [ARGS] [options]\n"
	       "\n"
	       "Options may come before, between or after the arguments.\n"
	       "ADDR is tcp://host:port, host:port, tls+tcp://host:port, "
	       "ipc:///path or a\nsocket path.\n"
	       "\n"
	       "commands:\n"
	       "  is-alive             exit 0 if the server answers\n"
	       "  info                 pid, cpu, rss, agents, busy agents, "
	       "queued jobs\n"
	       "  list                 the agents it hosts\n"
	       "  memory AGENT         an agent's memory (--session, "
	       "--redis)\n"
	       "  create ROLE KIND     make an agent (--session, --redis, "
	       "--options JSON)\n"
	       "  delete AGENT         remove an agent (--session, --redis)\n"
	       "  delete-all           remove every agent\n"
	       "  set-models FILE      replace its model configs\n"
	       "  stop                 stop the server\n"
	       "\n"
	       "options: --token-file FILE  --session S  --redis URL  "
	       "--limit N\n"
	       "         --options JSON  --timeout-ms N (default 5000)  "
	       "--json\n"
	       "         --tls-ca FILE (for tls+tcp://: the CA that signed the "
	       "server)\n");
}

/* A positional argument: the address, the command, then its arguments. */
static bool
ctl_positional(struct ctl_args *a, const char *o)
{
	if (a->addr == NULL) {
		a->addr = o;
	} else if (a->cmd == NULL) {
		a->cmd = o;
	} else if (a->narg == 2) {
		cli_error("too many arguments at '%s'", o);
		return false;
	} else {
		a->arg[a->narg++] = o;
	}
	return true;
}

/* The field of a string option, or NULL if o is none. */
static const char **
ctl_string_option(struct ctl_args *a, const char *o)
{
	const struct {
		const char *name;
		const char **field;
	} opts[] = {
		{ "--token-file", &a->token_file },
		{ "--session", &a->session },
		{ "--redis", &a->redis },
		{ "--options", &a->options },
		{ "--limit", &a->limit },
		{ "--tls-ca", &a->tls_ca },
	};

	for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
		if (strcmp(o, opts[k].name) == 0) {
			return opts[k].field;
		}
	}
	return NULL;
}

/* Options and positionals go in any order. */
static bool
ctl_option(struct ctl_args *a, int argc, char **argv, int *i)
{
	const char *o = argv[*i];
	const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	const char **str;
	char *end = NULL;

	if (strcmp(o, "--json") == 0) {
		a->json = true;
		return true;
	}
	if (strncmp(o, "--", 2) != 0) {
		return ctl_positional(a, o);
	}
	str = ctl_string_option(a, o);
	if (str == NULL && strcmp(o, "--timeout-ms") != 0) {
		cli_error("unknown option '%s' (see agora ctl --help)", o);
		return false;
	}
	if (v == NULL) {
		cli_error("%s needs a value (see agora ctl --help)", o);
		return false;
	}
	(*i)++;
	if (str != NULL) {
		*str = v;
		return true;
	}
	a->timeout_ms = strtol(v, &end, 10);
	if (*end != '\0' || a->timeout_ms < 1 || a->timeout_ms > 3600000) {
		cli_error("--timeout-ms: expected 1 to 3600000");
		return false;
	}
	return true;
}

/* ,"session":..,"redis":.. for the ops on a session's agents. */
static bool
ctl_session(const struct ctl_args *a, agora_buf *op)
{
	char *redis;

	if (a->session == NULL || a->redis == NULL) {
		cli_error("%s needs --session and --redis", a->cmd);
		return false;
	}
	(void)agora_buf_adds(op, ",\"session\":");
	(void)agora_buf_json_str(op, a->session, strlen(a->session));
	(void)agora_buf_adds(op, ",\"redis\":");
	redis = cli_redis_auth(a->redis);
	(void)agora_buf_json_str(op, redis, strlen(redis));
	agora_free(redis);
	return true;
}

static bool
ctl_needs(const struct ctl_args *a, int n)
{
	if (a->narg != n) {
		cli_error("%s takes %d argument%s (see agora ctl --help)",
		          a->cmd, n, n == 1 ? "" : "s");
		return false;
	}
	return true;
}

static bool
ctl_role_op(const struct ctl_args *a, agora_buf *op, const char *name)
{
	if (!ctl_needs(a, 1)) {
		return false;
	}
	(void)agora_buf_addf(op, "{\"op\":\"%s\",\"role\":", name);
	(void)agora_buf_json_str(op, a->arg[0], strlen(a->arg[0]));
	if (a->limit != NULL) {
		(void)agora_buf_addf(op, ",\"limit\":%ld",
		                     strtol(a->limit, NULL, 10));
	}
	return ctl_session(a, op);
}

static bool
ctl_create_op(const struct ctl_args *a, agora_buf *op)
{
	if (!ctl_needs(a, 2)) {
		return false;
	}
	(void)agora_buf_adds(op, "{\"op\":\"create\",\"role\":");
	(void)agora_buf_json_str(op, a->arg[0], strlen(a->arg[0]));
	(void)agora_buf_adds(op, ",\"kind\":");
	(void)agora_buf_json_str(op, a->arg[1], strlen(a->arg[1]));
	if (a->options != NULL) {
		(void)agora_buf_addf(op, ",\"options\":%s", a->options);
	}
	return ctl_session(a, op);
}

static bool
ctl_models_op(const struct ctl_args *a, agora_buf *op)
{
	agora_json *doc = NULL;
	char err[512];

	if (!ctl_needs(a, 1)) {
		return false;
	}
	if (agora_json_parse_file(&doc, a->arg[0], CTL_FILE_MAX, err,
	                          sizeof(err)) != AGORA_OK) {
		cli_error("%s", err);
		return false;
	}
	(void)agora_buf_adds(op, "{\"op\":\"set_models\",\"models\":");
	(void)agora_json_print(doc, op);
	agora_json_free(doc);
	return true;
}

/* The op for the command, without its closing brace. */
static bool
ctl_build(const struct ctl_args *a, agora_buf *op)
{
	static const char *const plain[][2] = {
		{ "is-alive", "alive" }, { "info", "info" },
		{ "list", "list" },      { "delete-all", "delete_all" },
		{ "stop", "stop" },
	};

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (strcmp(a->cmd, plain[i][0]) == 0) {
			(void)agora_buf_addf(op, "{\"op\":\"%s\"", plain[i][1]);
			return ctl_needs(a, 0);
		}
	}
	if (strcmp(a->cmd, "memory") == 0) {
		return ctl_role_op(a, op, "memory");
	}
	if (strcmp(a->cmd, "delete") == 0) {
		return ctl_role_op(a, op, "delete");
	}
	if (strcmp(a->cmd, "create") == 0) {
		return ctl_create_op(a, op);
	}
	if (strcmp(a->cmd, "set-models") == 0) {
		return ctl_models_op(a, op);
	}
	cli_error("unknown command '%s' (see agora ctl --help)", a->cmd);
	return false;
}

static int
ctl_send(const struct ctl_args *a, const char *ops)
{
	char token[AGORA_TOKEN_MAX + 1], err[512];
	agora_json *doc = NULL;
	agora_buf reply;
	const agora_json *results;
	int code;

	if (a->token_file != NULL &&
	    agora_token_read(a->token_file, token, sizeof(token), err,
	                     sizeof(err)) != AGORA_OK) {
		cli_error("%s", err);
		return EXIT_USAGE;
	}
	agora_tls_set(a->tls_ca, NULL);
	agora_buf_init(&reply, AGORA_TP_MAX_MSG);
	if (agora_server_request(a->url, a->token_file ? token : NULL, ops,
	                         a->timeout_ms, &reply, err,
	                         sizeof(err)) != AGORA_OK) {
		cli_error("%s", err);
		agora_buf_fini(&reply);
		return EXIT_FAIL;
	}
	if (agora_json_parse(&doc, reply.data, reply.len, AGORA_TP_MAX_MSG, 64,
	                     err, sizeof(err)) != AGORA_OK) {
		cli_error("%s: bad reply: %s", a->url, err);
		agora_buf_fini(&reply);
		return EXIT_FAIL;
	}
	results = agora_json_get(doc, "results");
	if (agora_json_size(results) != 1) {
		cli_error("%s: %s", a->url,
		          agora_json_str(agora_json_get(doc, "error"))
		              ? agora_json_str(agora_json_get(doc, "error"))
		              : "a reply without results");
		code = EXIT_FAIL;
	} else {
		code =
		    cli_ctl_print(a->cmd, agora_json_at(results, 0), a->json);
	}
	agora_json_free(doc);
	agora_buf_fini(&reply);
	return code;
}

int
cli_ctl(int argc, char **argv)
{
	struct ctl_args a = { .timeout_ms = 5000 };
	agora_buf ops;
	int code = EXIT_USAGE;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			ctl_usage(stdout);
			return EXIT_OK;
		}
	}
	for (int i = 1; i < argc; i++) {
		if (!ctl_option(&a, argc, argv, &i)) {
			return EXIT_USAGE;
		}
	}
	if (a.cmd == NULL) {
		ctl_usage(stderr);
		return EXIT_USAGE;
	}
	cli_url(a.url, sizeof(a.url), a.addr);
	agora_buf_init(&ops, AGORA_TP_MAX_MSG);
	(void)agora_buf_adds(&ops, "[");
	if (ctl_build(&a, &ops)) {
		(void)agora_buf_adds(&ops, "}]");
		code = ctl_send(&a, ops.data);
	}
	agora_buf_fini(&ops);
	return code;
}
