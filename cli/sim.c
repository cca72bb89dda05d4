/* SPDX-License-Identifier: MIT */
/* `agora sim`: seed 003's guessing game as a tool. Reads the options,
 * makes the simulation (progress on stderr), plays its rounds and prints
 * each result (sim_print.c). Exits 3 when a participant did not answer in
 * some round: the average is never silently over fewer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/kinds.h"
#include "agora/models.h"
#include "cli.h"
#include "sim_print.h"

static void
sim_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: agora sim --participants N [options]\n"
	    "\n"
	    "Play seed 003's guessing game: every participant answers a whole "
	    "number\n"
	    "in [0, max]; moderators, each owning a share, report their sum "
	    "and count;\n"
	    "each round prints the average over everyone, the winner (closest "
	    "to it)\n"
	    "and how many did not answer and why.\n"
	    "\n"
	    "  --participants N   how many (1 to 10000000)\n"
	    "  --moderators M     shares, each in a session of its own "
	    "(default one\n"
	    "                     per 250000 participants)\n"
	    "  --kind random|llm  random numbers (default), or LLM role-play "
	    "agents\n"
	    "                     asked for a number (--model-config)\n"
	    "  --max V            answers in [0, V] (default 100, at most "
	    "10000)\n"
	    "  --think-ms T       random: wait T ms before answering\n"
	    "  --seed X           random: reproducible answers\n"
	    "  --rounds R         rounds to play (default 1)\n"
	    "  --servers S        run participants on S child agent servers\n"
	    "  --connect URL      ... or on this running agent server "
	    "(repeatable;\n"
	    "                     token: --set server.token_file=FILE)\n"
	    "  --model-config FILE  model configs; LLM participants use "
	    "them in turn\n"
	    "  --redis URL        Redis (default: a private one)\n"
	    "  --deadline-ms D    a round's limit (default step.deadline_ms)\n"
	    "  --json             one JSON object per round, then a summary\n"
	    "  --csv FILE         write per-round figures to FILE\n"
	    "  --no-hist          no histogram of the answers\n"
	    "  --session NAME     the sessions' common prefix\n"
	    "  --config FILE, --set KEY=VALUE, --log-level LEVEL\n"
	    "  -h, --help         this help\n"
	    "\n"
	    "exit status: 0 everyone answered every round, 1 runtime "
	    "failure, 2 bad\n"
	    "arguments, 3 some participants did not answer (the result says "
	    "how many)\n");
}

struct sim_args {
	struct cli_common co;
	agora_sim_opts o;
	long rounds;
	const char *csv;
	bool no_hist;
};

/* A whole number option in [lo, hi]. */
static bool
sim_num(const char *name, const char *v, long lo, long hi, long *out)
{
	char *end = NULL;
	long n = v != NULL ? strtol(v, &end, 10) : 0;

	if (v == NULL || end == v || *end != '\0' || n < lo || n > hi) {
		cli_error("sim: %s: expected %ld to %ld", name, lo, hi);
		return false;
	}
	*out = n;
	return true;
}

/* The whole-number options: name, range, where. */
static bool
sim_num_option(struct sim_args *a, const char *opt, const char *v, bool *ok)
{
	static const struct {
		const char *name;
		long lo, hi;
	} nums[] = {
		{ "--participants", 1, AGORA_SIM_PARTICIPANTS_MAX },
		{ "--moderators", 1, 1024 },
		{ "--max", 1, AGORA_SIM_MAX_VALUE },
		{ "--think-ms", 0, 3600000 },
		{ "--seed", 0, 1000000000000000L },
		{ "--rounds", 1, 1000000 },
		{ "--servers", 1, 1024 },
	};
	long n = 0;

	for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
		if (strcmp(opt, nums[k].name) != 0) {
			continue;
		}
		*ok = sim_num(opt + 2, v, nums[k].lo, nums[k].hi, &n);
		switch (k) {
		case 0:
			a->o.participants = (size_t)n;
			break;
		case 1:
			a->o.moderators = (size_t)n;
			break;
		case 2:
			a->o.max = n;
			break;
		case 3:
			a->o.think_ms = n;
			break;
		case 4:
			a->o.seed = n;
			break;
		case 5:
			a->rounds = n;
			break;
		default:
			a->o.servers = (size_t)n;
			break;
		}
		return true;
	}
	return false;
}

/* One option of sim's own: *used 1 if argv[*i] was one; false after
 * printing why it is malformed. */
static bool
sim_option(struct sim_args *a, int argc, char **argv, int *i, int *used)
{
	const char *opt = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	bool ok = true;

	*used = 1;
	if (strcmp(opt, "--no-hist") == 0) {
		a->no_hist = true;
		return true;
	}
	if (sim_num_option(a, opt, v, &ok)) {
		(*i)++;
		return ok;
	}
	if (strcmp(opt, "--connect") == 0) {
		if (v == NULL || strstr(v, "://") == NULL ||
		    a->co.nconnect == 64) {
			cli_error("sim: --connect: expected an address such "
			          "as tcp://host:port (up to 64)");
			return false;
		}
		a->co.connect[a->co.nconnect++] = v;
	} else if (strcmp(opt, "--kind") == 0) {
		if (v != NULL && strcmp(v, "random") == 0) {
			a->o.kind = AGORA_SIM_RANDOM;
		} else if (v != NULL && strcmp(v, "llm") == 0) {
			a->o.kind = AGORA_SIM_LLM;
		} else {
			cli_error("sim: --kind: expected random or llm");
			return false;
		}
	} else if (strcmp(opt, "--csv") == 0) {
		if (v == NULL) {
			cli_error("sim: --csv needs a file");
			return false;
		}
		a->csv = v;
	} else {
		*used = 0;
		return true;
	}
	(*i)++;
	return true;
}

static bool
sim_args_read(struct sim_args *a, int argc, char **argv, int *code)
{
	for (int i = 1; i < argc; i++) {
		int r = cli_common_option(&a->co, argc, argv, &i);
		if (r < 0) {
			*code = EXIT_USAGE;
			return false;
		}
		if (r > 0) {
			continue;
		}
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			sim_usage(stdout);
			*code = EXIT_OK;
			return false;
		}
		if (!sim_option(a, argc, argv, &i, &r)) {
			*code = EXIT_USAGE;
			return false;
		}
		if (r == 0) {
			cli_error("sim: unexpected argument '%s' (see agora "
			          "sim --help)",
			          argv[i]);
			*code = EXIT_USAGE;
			return false;
		}
	}
	if (a->o.participants == 0) {
		cli_error("sim: --participants N is needed (see agora sim "
		          "--help)");
		*code = EXIT_USAGE;
		return false;
	}
	if (a->o.servers > 0 && a->co.nconnect > 0) {
		cli_error("sim: --servers and --connect: give one or the "
		          "other");
		*code = EXIT_USAGE;
		return false;
	}
	return true;
}

static bool
sim_log_level_given(int argc, char **argv)
{
	/* NOLINTNEXTLINE(concurrency-mt-unsafe): before any thread */
	if (getenv("AGORA_LOG_LEVEL") != NULL) {
		return true;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--log-level") == 0 ||
		    strncmp(argv[i], "log.level=", 10) == 0 ||
		    strcmp(argv[i], "--config") == 0) {
			return true;
		}
	}
	return false;
}

static void
sim_progress_line(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "agora sim: %s\n", line);
}

static bool
sim_interrupt(void *s)
{
	agora_sim_interrupt(s);
	return true;
}

/* Play the rounds; the exit code. */
static int
sim_play(struct sim_args *a, agora_sim *s, struct sim_printer *p)
{
	int code = EXIT_OK;

	for (long r = 0; r < a->rounds; r++) {
		agora_sim_round res;
		char err[512];
		agora_err rv = agora_sim_play(s, &res, err, sizeof(err));

		if (rv != AGORA_OK) {
			agora_sim_round_fini(&res);
			if (cli_signal_caught() != 0) {
				fprintf(stderr, "agora: sim: interrupted\n");
				return 128 + cli_signal_caught();
			}
			cli_error("sim: round %ld: %s", r + 1, err);
			return EXIT_FAIL;
		}
		sim_print_round(p, &res);
		if (res.no_answer > 0) {
			code = EXIT_AGENTS;
		}
		agora_sim_round_fini(&res);
	}
	return code;
}

/* Make the simulation, play it, print the summary; the exit code. */
static int
sim_run(struct sim_args *a, struct sim_printer *p)
{
	agora_sim *s = NULL;
	char err[1024];
	int code;
	agora_err rv = agora_sim_new(&s, &a->o, err, sizeof(err));

	if (rv != AGORA_OK) {
		cli_error("sim: %s", err);
		agora_sim_free(s);
		return cli_signal_caught() != 0 ? 128 + cli_signal_caught()
		                                : cli_exit_code(rv);
	}
	cli_signals_on(sim_interrupt, s);
	sim_print_created(p, &a->o, agora_sim_create_seconds(s));
	code = sim_play(a, s, p);
	cli_signals_on(NULL, NULL);
	if (code == EXIT_OK || code == EXIT_AGENTS) {
		agora_sim_memory m;
		agora_sim_memory_read(s, &m);
		sim_print_summary(p, &a->o, agora_sim_create_seconds(s), &m);
	}
	agora_sim_free(s);
	return code;
}

int
cli_sim(int argc, char **argv)
{
	struct sim_args a = { 0 };
	struct sim_printer p = { 0 };
	agora_strv models = { 0 };
	int code = EXIT_OK;

	cli_signals_start();
	agora_config_init(&a.co.cfg);
	a.o.seed = -1;
	a.rounds = 1;
	/* A lost server fails a turn per participant, each logged as a
	 * warning: thousands of lines. The result counts them; the log
	 * says only errors unless asked for more. */
	if (!sim_log_level_given(argc, argv) &&
	    cli_defer("log.level", "error") < 0) {
		agora_config_fini(&a.co.cfg);
		return EXIT_USAGE;
	}
	if (!sim_args_read(&a, argc, argv, &code)) {
		agora_config_fini(&a.co.cfg);
		return code;
	}
	if (!cli_common_finish(&a.co)) {
		agora_config_fini(&a.co.cfg);
		return EXIT_USAGE;
	}
	agora_kinds_builtin();
	agora_models_names(&models);
	a.o.models = (const char *const *)models.v;
	a.o.nmodels = models.n;
	a.o.model_files = a.co.model_configs;
	a.o.nmodel_files = (size_t)a.co.nmodel_configs;
	a.o.connect = a.co.connect;
	a.o.nconnect = (size_t)a.co.nconnect;
	a.o.cfg = &a.co.cfg;
	a.o.progress = sim_progress_line;
	p.json = a.co.json;
	p.hist = !a.no_hist && !a.co.json;
	if (!sim_print_open(&p, a.csv) || !cli_redis_prepare(&a.co)) {
		code = EXIT_FAIL;
	} else {
		code = sim_run(&a, &p);
	}
	if (!sim_print_close(&p) && code != EXIT_USAGE) {
		code = EXIT_FAIL;
	}
	agora_strv_clear(&models);
	cli_redis_release();
	agora_config_fini(&a.co.cfg);
	return code;
}
