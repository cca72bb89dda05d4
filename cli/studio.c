/* SPDX-License-Identifier: MIT */
/* `agora studio`: parse the options, start the private Redis when no
 * --redis is given, run the studio (studio/, docs/studio.md) until
 * SIGINT or SIGTERM, then stop it cleanly (its runs give their messages
 * back). Everything else is the studio's. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/models.h"
#include "agora/server.h"
#include "agora/studio.h"
#include "cli.h"

#ifndef AGORA_DEMOS_DIR
#define AGORA_DEMOS_DIR "demos"
#endif

static void
studio_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: agora studio [--port N] [--host H] [--redis URL]\n"
	    "                    [--scenarios DIR] [--model-config FILE]\n"
	    "                    [--token-file FILE]\n\n"
	    "Serve the studio page (chat room, sessions) and print its "
	    "URL.\n"
	    "  --host H            listen on H (default 127.0.0.1); "
	    "another\n"
	    "                      address than loopback needs "
	    "--token-file\n"
	    "  --port N            default 8765; 0: any free port\n"
	    "  --redis URL         default: a private Redis, stopped on "
	    "exit\n"
	    "  --scenarios DIR     the *.json scenarios offered, in DIR and "
	    "its\n"
	    "                      subdirectories (default "
	    "%s)\n"
	    "  --model-config FILE model configs for roleplay agents\n"
	    "  --token-file FILE   the token a page must present (default: "
	    "one made at\n"
	    "                      random, in the URL printed)\n",
	    AGORA_DEMOS_DIR);
}

struct studio_args {
	agora_studio_opts o;
	const char *token_file;
	const char *models[16];
	int nmodels;
};

/* 0 to go on, else the exit code. */
static int
studio_parse(int argc, char **argv, struct studio_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;

		if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
			studio_usage(stdout);
			return -EXIT_OK - 1;
		}
		if (val == NULL) {
			cli_error("%s needs a value (see agora studio --help)",
			          opt);
			return EXIT_USAGE;
		}
		i++;
		if (strcmp(opt, "--port") == 0) {
			long p = strtol(val, &end, 10);

			if (*end != '\0' || p < 0 || p > 65535) {
				cli_error("--port: 0 to 65535");
				return EXIT_USAGE;
			}
			a->o.port = (int)p;
		} else if (strcmp(opt, "--host") == 0) {
			a->o.host = val;
		} else if (strcmp(opt, "--redis") == 0) {
			a->o.redis_url = val;
		} else if (strcmp(opt, "--scenarios") == 0) {
			a->o.scenarios = val;
		} else if (strcmp(opt, "--token-file") == 0) {
			a->token_file = val;
		} else if (strcmp(opt, "--model-config") == 0 &&
		           a->nmodels < 16) {
			a->models[a->nmodels++] = val;
		} else {
			cli_error("unknown option '%s' (see agora studio "
			          "--help)",
			          opt);
			return EXIT_USAGE;
		}
	}
	return 0;
}

static int
studio_serve(const agora_studio_opts *o)
{
	agora_studio *st = NULL;
	sigset_t set;
	char err[1024];
	int sig = 0;
	agora_err rv;

	rv = agora_studio_open(&st, o, err, sizeof(err));
	if (rv != AGORA_OK) {
		cli_error("%s", err);
		return rv == AGORA_EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	/* The access token in the fragment, which the browser keeps to
	 * itself. With --token-file it is not printed: a remote page logs
	 * in with the file's token and gets it. */
	printf("agora: studio at http://%s%s%s:%d/%s%s  (open it in a "
	       "browser%s)\n",
	       strchr(o->host, ':') != NULL ? "[" : "", o->host,
	       strchr(o->host, ':') != NULL ? "]" : "", agora_studio_port(st),
	       o->token == NULL ? "#token=" : "",
	       o->token == NULL ? agora_studio_page_token(st) : "",
	       o->token == NULL ? "" : "; it asks for the --token-file token");
	fflush(stdout);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	while (sigwait(&set, &sig) != 0) {
	}
	fprintf(stderr, "agora: studio: stopping (signal %d)\n", sig);
	agora_studio_close(st);
	return EXIT_OK;
}

int
cli_studio(int argc, char **argv)
{
	struct studio_args a = { .o = { .host = "127.0.0.1",
		                        .port = 8765,
		                        .scenarios = AGORA_DEMOS_DIR } };
	struct cli_common co = { 0 };
	char token[AGORA_TOKEN_MAX + 1];
	char err[1024];
	sigset_t set;
	int code = studio_parse(argc, argv, &a);

	if (code != 0) {
		return code < 0 ? -code - 1 : code;
	}
	if (a.token_file != NULL) {
		if (agora_token_read(a.token_file, token, sizeof(token), err,
		                     sizeof(err)) != AGORA_OK) {
			cli_error("%s", err);
			return EXIT_USAGE;
		}
		a.o.token = token;
	}
	for (int i = 0; i < a.nmodels; i++) {
		if (agora_models_load_file(a.models[i], err, sizeof(err)) !=
		    AGORA_OK) {
			cli_error("%s", err);
			return EXIT_USAGE;
		}
	}
	/* Signals are taken by sigwait in studio_serve: blocked before any
	 * thread starts, so every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	agora_config_init(&co.cfg);
	if (a.o.redis_url == NULL) {
		if (!cli_redis_prepare(&co)) {
			agora_config_fini(&co.cfg);
			return EXIT_FAIL;
		}
		a.o.redis_url = co.cfg.redis_url;
	}
	code = studio_serve(&a.o);
	cli_redis_release();
	agora_config_fini(&co.cfg);
	return code;
}
