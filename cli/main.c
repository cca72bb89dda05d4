/* SPDX-License-Identifier: MIT */
/* agora: the command. Dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "agora/agora.h"
#include "agora/kinds.h"
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
	    "  kinds        list the agent kinds\n"
	    "  version      print the version\n"
	    "\n"
	    "`agora COMMAND --help` tells more. Docs: docs/ in the source.\n");
}

static int
main_kinds(void)
{
	agora_strv names = { 0 };

	agora_kinds_builtin();
	agora_kind_names(&names);
	for (size_t i = 0; i < names.n; i++) {
		const agora_kind *k = agora_kind_find(names.v[i]);
		printf("%-10s %s\n", k->name,
		       k->summary != NULL ? k->summary : "");
	}
	agora_strv_clear(&names);
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
	if (strcmp(cmd, "kinds") == 0) {
		return main_kinds();
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("agora %s\n", AGORA_VERSION);
		return EXIT_OK;
	}
	cli_error("unknown command '%s' (see agora --help)", cmd);
	return EXIT_USAGE;
}
