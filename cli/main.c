/* SPDX-License-Identifier: MIT */
/* agora: the command. Dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "agora/agora.h"
#include "agora/kinds.h"
#include "agora/server.h"
#include "cli.h"

static void
main_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: agora COMMAND [options]\n"
	    "\n"
	    "A C runtime for multi-agent LLM applications.\n"
	    "\n"
	    "commands:\n"
	    "  run FILE     run a scenario file, printing frames as they "
	    "stream\n"
	    "  chat FILE    run a scenario and ask you whenever a human role "
	    "acts\n"
	    "  memory ROLE  print an agent's memory (--redis, --session)\n"
	    "  history      print a session's messages (--redis, --session)\n"
	    "  server       run an agent server (--port N or --ipc PATH)\n"
	    "  ctl ADDR CMD manage an agent server (is-alive, info, list, "
	    "stop ...)\n"
	    "  studio       serve the web page: chat room, sessions\n"
	    "  sim          play seed 003's guessing game with N participants\n"
	    "  lace CMD     talk to a lace server (interfaces, call, obs, act, "
	    "stores)\n"
	    "  kinds        list the agent kinds\n"
	    "  version      print the version (also --version, -V)\n"
	    "\n"
	    "Every command takes -h or --help; those that print data take "
	    "--json.\n"
	    "Options may come before or after the arguments.\n"
	    "`agora COMMAND --help` tells more. Docs: docs/ in the source.\n");
}

/* Options of the small commands: -h/--help, --json (*json set) and, for
 * kinds, --plugin FILE (loaded at once). Returns -1 to go on, else the exit
 * code. */
static int
main_simple_options(int argc, char **argv, const char *name, const char *usage,
                    bool *json)
{
	char err[512];

	for (int i = 1; i < argc; i++) {
		if (strcmp(name, "kinds") == 0 &&
		    strcmp(argv[i], "--plugin") == 0) {
			if (i + 1 >= argc) {
				cli_error("--plugin needs a file");
				return EXIT_USAGE;
			}
			if (agora_plugin_load(argv[++i], err, sizeof(err)) !=
			    AGORA_OK) {
				cli_error("%s", err);
				return EXIT_USAGE;
			}
			continue;
		}
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			printf("%s", usage);
			return EXIT_OK;
		}
		if (strcmp(argv[i], "--json") == 0) {
			*json = true;
			continue;
		}
		cli_error("unexpected argument '%s' (see agora %s --help)",
		          argv[i], name);
		return EXIT_USAGE;
	}
	return -1;
}

static int
main_kinds(int argc, char **argv)
{
	agora_strv names = { 0 };
	bool json = false;
	agora_buf line;
	int code;

	agora_kinds_builtin(); /* before plugins, whose kinds come after */
	code = main_simple_options(
	    argc, argv, "kinds",
	    "usage: agora kinds [--plugin FILE]... [--json]\n\n"
	    "List the agent kinds this program knows, with a line on each;\n"
	    "--plugin FILE adds a plugin's kinds (as agora server --plugin "
	    "does).\n",
	    &json);

	if (code >= 0) {
		return code;
	}
	agora_kind_names(&names);
	agora_buf_init(&line, 0);
	for (size_t i = 0; i < names.n; i++) {
		const agora_kind *k = agora_kind_find(names.v[i]);
		const char *sum = k->summary != NULL ? k->summary : "";
		if (!json) {
			printf("%-10s %s\n", k->name, sum);
			continue;
		}
		agora_buf_reset(&line);
		(void)agora_buf_adds(&line, "{\"kind\":");
		(void)agora_buf_json_str(&line, k->name, strlen(k->name));
		(void)agora_buf_adds(&line, ",\"summary\":");
		(void)agora_buf_json_str(&line, sum, strlen(sum));
		(void)agora_buf_adds(&line, "}");
		puts(line.data);
	}
	agora_buf_fini(&line);
	agora_strv_clear(&names);
	return EXIT_OK;
}

static int
main_version(int argc, char **argv)
{
	bool json = false;
	int code = main_simple_options(
	    argc, argv, "version",
	    "usage: agora version [--json]\n\n"
	    "Print agora's version and the wire protocol it speaks.\n",
	    &json);

	if (code >= 0) {
		return code;
	}
	if (json) {
		printf("{\"version\":\"%s\",\"protocol\":%d}\n", AGORA_VERSION,
		       AGORA_PROTOCOL_VERSION);
	} else {
		printf("agora %s (protocol %d)\n", AGORA_VERSION,
		       AGORA_PROTOCOL_VERSION);
	}
	return EXIT_OK;
}

/* Each LLM stream and agent connection is a descriptor: allow as many as
 * the hard limit does, not the usual soft 1024. */
static void
main_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	main_raise_fd_limit();
	if (cmd == NULL) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "help") == 0) {
		main_usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "run") == 0 || strcmp(cmd, "chat") == 0) {
		return cli_run(argc - 1, argv + 1, strcmp(cmd, "chat") == 0);
	}
	if (strcmp(cmd, "memory") == 0 || strcmp(cmd, "history") == 0) {
		return cli_inspect(argc - 1, argv + 1,
		                   strcmp(cmd, "memory") == 0);
	}
	if (strcmp(cmd, "server") == 0) {
		return cli_server(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "ctl") == 0) {
		return cli_ctl(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "studio") == 0) {
		return cli_studio(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "sim") == 0) {
		return cli_sim(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "lace") == 0) {
		return cli_lace(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "kinds") == 0) {
		return main_kinds(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0 ||
	    strcmp(cmd, "-V") == 0) {
		return main_version(argc - 1, argv + 1);
	}
	cli_error("unknown command '%s' (see agora --help)", cmd);
	return EXIT_USAGE;
}
