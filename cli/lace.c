/* SPDX-License-Identifier: MIT */
/* agora lace CMD ADDR: a lace server (docs/lace.md) from the shell: an
 * inference server's interfaces and calls, an action server's observations
 * and actions, a trainer's stores. The client takes whatever server the
 * handshake finds; a command the server's kind has no op for gets the
 * server's own error. Printing is in lace_print.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/agora.h"
#include "agora/lace.h"
#include "agora/server.h"
#include "cli.h"

#define LACE_MAX_ARGS 64
#define LACE_JSON_MAX ((size_t)16 << 20)

struct lace_args {
	const char *cmd, *addr;
	const char *arg[LACE_MAX_ARGS];
	int narg;
	const char *token_file;
	const char *tls_ca; /* for tls+tcp:// */
	long timeout_ms;
	bool json;
	bool positional_only; /* after "--" */
};

/* Each command: its arguments after ADDR, a line on what it does, a
 * paragraph for its own usage, and how many arguments it takes. */
static const struct lace_cmd {
	const char *name;
	const char *args;
	const char *what;
	const char *more;
	int min, max;
} lace_cmds[] = {
	{ "interfaces", "", "an inference server's interfaces, one a line",
	  "Print the names of an inference server's interfaces, one a line\n"
	  "(--json: a JSON array).\n",
	  0, 0 },
	{ "call", " INTERFACE [JSON]",
	  "call an interface with JSON (default null)",
	  "Call an inference server's interface with JSON (default null) and "
	  "print\nthe reply: its JSON, then a line per array.\n",
	  1, 2 },
	{ "obs", " [KEY...]", "an action server's observations (none: all)",
	  "Ask an action server for the observations of the KEYs (none: every "
	  "key)\nand print the reply: its JSON, then a line per array.\n",
	  0, LACE_MAX_ARGS },
	{ "act", " KEY [JSON]", "do an action server's action KEY with JSON",
	  "Send an action server the action KEY with JSON (default null) and "
	  "print\nthe reply: its JSON, then a line per array.\n",
	  1, 2 },
	{ "stores", "", "a trainer's stores and each client's cursor",
	  "Print a trainer's stores (size/capacity, latest id) and, for each "
	  "client\nthat pushed into one, its cursor, rows received and gaps "
	  "(--json: the\nserver's JSON).\n",
	  0, 0 },
};

#define LACE_NCMDS (sizeof(lace_cmds) / sizeof(lace_cmds[0]))

static const char lace_options[] =
    "options: --token-file FILE  --timeout-ms N (default 5000)  --json\n"
    "         --tls-ca FILE (for tls+tcp://: the CA that signed the "
    "server's\n"
    "         certificate)\n";

static void lace_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
lace_error(const char *fmt, ...)
{
	va_list ap;

	fputs("agora lace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const struct lace_cmd *
lace_cmd_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < LACE_NCMDS; i++) {
		if (strcmp(lace_cmds[i].name, name) == 0) {
			return &lace_cmds[i];
		}
	}
	return NULL;
}

static void
lace_usage(FILE *f)
{
	fprintf(f, "usage: agora lace COMMAND ADDR [ARGS] [options]\n"
	           "\n"
	           "Talk to a lace server: action, inference or trainer "
	           "(docs/lace.md).\n"
	           "ADDR is tcp://host:port, host:port, ipc:///path or a "
	           "socket path.\n"
	           "Options may come before, between or after the arguments; "
	           "after --, every\nword is an argument (JSON that starts "
	           "with -).\n"
	           "\n"
	           "commands:\n");
	for (size_t i = 0; i < LACE_NCMDS; i++) {
		char head[64];
		snprintf(head, sizeof(head), "%s ADDR%s", lace_cmds[i].name,
		         lace_cmds[i].args);
		fprintf(f, "  %-28s %s\n", head, lace_cmds[i].what);
	}
	fprintf(f,
	        "\n"
	        "A reply prints as its JSON, then a line per array (dtype, "
	        "shape, bytes);\n"
	        "arrays' bytes are never printed. --json: one JSON object.\n"
	        "\n%s"
	        "exit: 0 ok; 1 no answer, nothing listening, or the server "
	        "failed; 2 bad\n"
	        "arguments or JSON, an unknown interface or key, a wrong "
	        "token, or a command\n"
	        "the server's kind does not take.\n",
	        lace_options);
}

static void
lace_cmd_usage(const struct lace_cmd *c)
{
	printf("usage: agora lace %s ADDR%s [options]\n\n%s\n%s", c->name,
	       c->args, c->more, lace_options);
}

/* -h or --help anywhere before "--": the usage of the command named (the
 * first word that is not an option or an option's value), or the whole.
 * True if it was asked for. */
static bool
lace_help(int argc, char **argv)
{
	const char *cmd = NULL;
	bool help = false;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			help = true;
		} else if (strcmp(argv[i], "--token-file") == 0 ||
		           strcmp(argv[i], "--tls-ca") == 0 ||
		           strcmp(argv[i], "--timeout-ms") == 0) {
			i++;
		} else if (cmd == NULL && argv[i][0] != '-') {
			cmd = argv[i];
		}
	}
	if (help && lace_cmd_find(cmd) != NULL) {
		lace_cmd_usage(lace_cmd_find(cmd));
	} else if (help) {
		lace_usage(stdout);
	}
	return help;
}

static bool
lace_positional(struct lace_args *a, const char *o)
{
	if (a->cmd == NULL) {
		a->cmd = o;
	} else if (a->addr == NULL) {
		a->addr = o;
	} else if (a->narg == LACE_MAX_ARGS) {
		lace_error("too many arguments at '%s'", o);
		return false;
	} else {
		a->arg[a->narg++] = o;
	}
	return true;
}

/* Options and positionals go in any order; "--" ends the options. A word
 * that starts with "-" but not "--" is an argument (a JSON number). */
static bool
lace_option(struct lace_args *a, int argc, char **argv, int *i)
{
	const char *o = argv[*i];
	const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	char *end = NULL;

	if (a->positional_only || strncmp(o, "--", 2) != 0) {
		return lace_positional(a, o);
	}
	if (strcmp(o, "--") == 0) {
		a->positional_only = true;
		return true;
	}
	if (strcmp(o, "--json") == 0) {
		a->json = true;
		return true;
	}
	if (strcmp(o, "--token-file") != 0 && strcmp(o, "--timeout-ms") != 0 &&
	    strcmp(o, "--tls-ca") != 0) {
		lace_error("unknown option '%s' (see agora lace --help)", o);
		return false;
	}
	if (v == NULL) {
		lace_error("%s needs a value (see agora lace --help)", o);
		return false;
	}
	(*i)++;
	if (strcmp(o, "--token-file") == 0) {
		a->token_file = v;
		return true;
	}
	if (strcmp(o, "--tls-ca") == 0) {
		a->tls_ca = v;
		return true;
	}
	a->timeout_ms = strtol(v, &end, 10);
	if (*end != '\0' || a->timeout_ms < 1 || a->timeout_ms > 3600000) {
		lace_error("--timeout-ms: expected 1 to 3600000, not '%s'", v);
		return false;
	}
	return true;
}

/* The command exists and has as many arguments as it takes. */
static bool
lace_check(const struct lace_args *a)
{
	const struct lace_cmd *c = lace_cmd_find(a->cmd);

	if (c == NULL) {
		lace_error("unknown command '%s' (see agora lace --help)",
		           a->cmd);
		return false;
	}
	if (a->addr == NULL || a->narg < c->min || a->narg > c->max) {
		lace_error("usage: agora lace %s ADDR%s (see agora lace %s -h)",
		           c->name, c->args, c->name);
		return false;
	}
	return true;
}

/* The JSON argument of call and act (its second), checked; the payload
 * then carries it as given. No argument: null. */
static bool
lace_payload(const struct lace_args *a, agora_lace_payload *p)
{
	agora_json *doc = NULL;
	char err[256];
	const char *text = a->narg > 1 ? a->arg[1] : "null";

	if (agora_json_parse_utf8(&doc, text, strlen(text), LACE_JSON_MAX,
	                          AGORA_JSON_MAX_DEPTH, err,
	                          sizeof(err)) != AGORA_OK) {
		lace_error("%s: the JSON argument is not valid JSON: %s",
		           a->cmd, err);
		return false;
	}
	agora_json_free(doc);
	p->json = text;
	p->json_len = strlen(text);
	return true;
}

/* The exit code of an error: what the user typed (an unknown name, bad
 * JSON, a wrong token, a command for another kind of server) is 2; no
 * answer, nothing listening or the server failing is 1. */
static int
lace_exit_code(agora_err rv)
{
	switch (rv) {
	case AGORA_OK:
		return EXIT_OK;
	case AGORA_EINVAL:
	case AGORA_ENOTFOUND:
	case AGORA_EAUTH:
	case AGORA_ETOOBIG:
		return EXIT_USAGE;
	default:
		return EXIT_FAIL;
	}
}

/* Say what failed, with the address unless the message has it. */
static int
lace_fail(const char *url, agora_err rv, const char *err)
{
	if (strncmp(err, url, strlen(url)) == 0) {
		lace_error("%s", err);
	} else {
		lace_error("%s: %s", url, err[0] != '\0' ? err : "failed");
	}
	return lace_exit_code(rv);
}

/* Run the command on an open client and print its answer. */
static int
lace_do(const struct lace_args *a, agora_lace_client *c,
        const agora_lace_payload *p, const char *url)
{
	char err[512] = "";
	agora_lace_msg *m = NULL;
	agora_buf out;
	agora_err rv;
	int code;

	agora_buf_init(&out, 0);
	if (strcmp(a->cmd, "interfaces") == 0) {
		rv = agora_lace_interfaces(c, &out, err, sizeof(err));
	} else if (strcmp(a->cmd, "stores") == 0) {
		rv = agora_lace_stores(c, &out, err, sizeof(err));
	} else if (strcmp(a->cmd, "call") == 0) {
		rv = agora_lace_call(c, a->arg[0], p, &m, err, sizeof(err));
	} else if (strcmp(a->cmd, "act") == 0) {
		rv = agora_lace_act(c, a->arg[0], p, &m, err, sizeof(err));
	} else {
		rv = agora_lace_obs(c, a->arg, (size_t)a->narg, &m, err,
		                    sizeof(err));
	}
	if (rv == AGORA_OK && m != NULL) {
		cli_lace_print_msg(m, a->json);
	} else if (rv == AGORA_OK && strcmp(a->cmd, "stores") == 0) {
		rv = cli_lace_print_stores(&out, a->json, err, sizeof(err));
	} else if (rv == AGORA_OK) {
		rv = cli_lace_print_names(&out, a->json, err, sizeof(err));
	}
	code = rv == AGORA_OK ? EXIT_OK : lace_fail(url, rv, err);
	agora_lace_msg_free(m);
	agora_buf_fini(&out);
	return code;
}

static int
lace_run(const struct lace_args *a)
{
	char url[512], token[AGORA_TOKEN_MAX + 1], err[512] = "";
	agora_lace_payload p = { 0 };
	agora_lace_client_opts o = { .url = url, .timeout_ms = a->timeout_ms };
	agora_lace_client *c = NULL;
	agora_err rv;
	int code;

	if ((strcmp(a->cmd, "call") == 0 || strcmp(a->cmd, "act") == 0) &&
	    !lace_payload(a, &p)) {
		return EXIT_USAGE;
	}
	if (a->token_file != NULL) {
		if (agora_token_read(a->token_file, token, sizeof(token), err,
		                     sizeof(err)) != AGORA_OK) {
			lace_error("%s", err);
			return EXIT_USAGE;
		}
		o.token = token;
	}
	cli_url(url, sizeof(url), a->addr);
	agora_tls_set(a->tls_ca, NULL);
	rv = agora_lace_client_open(&c, NULL, &o, err, sizeof(err));
	memset(token, 0, sizeof(token));
	if (rv != AGORA_OK) {
		return lace_fail(url, rv, err);
	}
	code = lace_do(a, c, &p, url);
	agora_lace_client_close(c);
	return code;
}

int
cli_lace(int argc, char **argv)
{
	struct lace_args a = { .timeout_ms = 5000 };

	if (lace_help(argc, argv)) {
		return EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (!lace_option(&a, argc, argv, &i)) {
			return EXIT_USAGE;
		}
	}
	if (a.cmd == NULL) {
		lace_usage(stderr);
		return EXIT_USAGE;
	}
	if (!lace_check(&a)) {
		return EXIT_USAGE;
	}
	return lace_run(&a);
}
