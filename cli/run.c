/* SPDX-License-Identifier: MIT */
/* `agora run FILE` and `agora chat FILE`: run a scenario in the terminal,
 * printing frames as they stream. Text mode groups a role's chunks on one
 * line as they arrive; --frames prints ModelScope's "<role>: chunk" frame by
 * frame; --json prints one JSON object per frame. Chat mode asks the person
 * on stdin whenever a human role acts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/log.h"
#include "agora/scenario.h"
#include "cli.h"

/* Text mode streams one role's reply live; chunks of roles speaking at the
 * same time wait in their own buffer until the live one ends, so each
 * reply reads as one line. */
struct pending_reply {
	char role[AGORA_ROLE_MAX + 1];
	agora_buf text;
	bool ended;
};

struct run_view {
	bool json;
	bool frames;
	bool chat;
	char live[AGORA_ROLE_MAX + 1]; /* role whose line is open, or "" */
	struct pending_reply *waiting; /* in order of first chunk */
	size_t nwaiting;
	agora_buf line;
	unsigned max_loops; /* --max-loops N; 0: the runner's 1 */
};

static void
view_close_line(struct run_view *v)
{
	if (v->live[0] != '\0') {
		fputc('\n', stdout);
		v->live[0] = '\0';
	}
}

static struct pending_reply *
view_pending(struct run_view *v, const char *role)
{
	for (size_t i = 0; i < v->nwaiting; i++) {
		if (strcmp(v->waiting[i].role, role) == 0) {
			return &v->waiting[i];
		}
	}
	v->waiting =
	    agora_realloc(v->waiting, (v->nwaiting + 1) * sizeof(*v->waiting));
	memset(&v->waiting[v->nwaiting], 0, sizeof(*v->waiting));
	snprintf(v->waiting[v->nwaiting].role, AGORA_ROLE_MAX + 1, "%s", role);
	agora_buf_init(&v->waiting[v->nwaiting].text, 0);
	return &v->waiting[v->nwaiting++];
}

/* The live role ended: print held replies in order; the first one still
 * running becomes live. */
static void
view_next_live(struct run_view *v)
{
	view_close_line(v);
	while (v->nwaiting > 0) {
		struct pending_reply *p = &v->waiting[0];
		bool ended = p->ended;

		if (p->text.len > 0) {
			fwrite(p->text.data, 1, p->text.len, stdout);
		}
		if (!ended) {
			snprintf(v->live, sizeof(v->live), "%s", p->role);
		} else if (p->text.len > 0 &&
		           p->text.data[p->text.len - 1] != '\n') {
			fputc('\n', stdout);
		}
		agora_buf_fini(&p->text);
		memmove(v->waiting, v->waiting + 1,
		        (v->nwaiting - 1) * sizeof(*v->waiting));
		v->nwaiting--;
		if (!ended) {
			break;
		}
	}
}

static void
view_text_frame(struct run_view *v, const agora_frame *f)
{
	bool live = strcmp(v->live, f->role) == 0;
	bool ends = f->type != AGORA_FRAME_CHUNK;
	struct pending_reply *p;

	if (v->live[0] == '\0' && v->nwaiting == 0 && !ends) {
		printf("<%s>: ", f->role);
		snprintf(v->live, sizeof(v->live), "%s", f->role);
		live = true;
	}
	agora_buf_reset(&v->line);
	if (f->type == AGORA_FRAME_ERROR ||
	    f->type == AGORA_FRAME_AWAITING_INPUT) {
		(void)agora_frame_render(f, &v->line);
		(void)agora_buf_adds(&v->line, "\n");
	}
	if (live) {
		if (f->type == AGORA_FRAME_CHUNK) {
			fwrite(f->content, 1, f->len, stdout);
		} else if (v->line.len > 0) {
			fputs("\n", stdout);
			fputs(v->line.data, stdout);
			v->live[0] = '\0';
		}
		if (ends) {
			view_next_live(v);
		}
		return;
	}
	p = view_pending(v, f->role);
	if (p->text.len == 0 && f->type == AGORA_FRAME_CHUNK) {
		(void)agora_buf_addf(&p->text, "<%s>: ", f->role);
	}
	if (f->type == AGORA_FRAME_CHUNK) {
		(void)agora_buf_add(&p->text, f->content, f->len);
	} else if (v->line.len > 0) {
		if (p->text.len > 0) {
			(void)agora_buf_adds(&p->text, "\n");
		}
		(void)agora_buf_add(&p->text, v->line.data, v->line.len);
	}
	p->ended = ends;
	if (v->live[0] == '\0') {
		view_next_live(v);
	}
}

static void
view_frame(void *arg, const agora_frame *f)
{
	struct run_view *v = arg;

	if (v->json || v->frames) {
		agora_buf_reset(&v->line);
		if (v->json) {
			(void)agora_frame_json(f, &v->line);
		} else {
			(void)agora_frame_render(f, &v->line);
		}
		fputs(v->line.data != NULL ? v->line.data : "", stdout);
		fputc('\n', stdout);
	} else {
		view_text_frame(v, f);
	}
	fflush(stdout);
}

/* Print whatever is still held (a step that stopped early). */
static void
view_flush(struct run_view *v)
{
	for (size_t i = 0; i < v->nwaiting; i++) {
		v->waiting[i].ended = true;
	}
	view_next_live(v);
	view_close_line(v);
	agora_free(v->waiting);
	v->waiting = NULL;
	v->nwaiting = 0;
}

#define ASK_MAX (64u << 10) /* bytes in one answer */

/* The person's words for role: a line; an empty line lets the agent
 * answer itself; "/quit" or end of input (Ctrl-D) leaves. Asked between
 * steps, so nothing is in flight when the person leaves. */
static agora_answer
view_ask(void *arg, const char *role, char **words)
{
	struct run_view *v = arg;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	agora_answer said = AGORA_ANSWER_WORDS;

	view_flush(v);
	for (;;) {
		fprintf(stderr,
		        "[%s] your words (empty line: skip; /quit or Ctrl-D: "
		        "leave): ",
		        role);
		fflush(stderr);
		n = getline(&line, &cap, stdin);
		if (n < 0) {
			fputc('\n', stderr);
			free(line); /* getline's buffer is libc's */
			return AGORA_ANSWER_QUIT;
		}
		if ((size_t)n <= ASK_MAX) {
			break;
		}
		fprintf(stderr,
		        "agora: that line is over %u bytes; say it "
		        "shorter\n",
		        ASK_MAX);
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "/quit") == 0) {
		said = AGORA_ANSWER_QUIT;
	} else if (line[0] == '\0') {
		said = AGORA_ANSWER_SKIP;
	} else {
		*words = agora_strdup(line);
	}
	free(line); /* getline's buffer is libc's */
	return said;
}

/* How a loop ended, on stderr: a loop meant for a person that ran
 * without one must not pass unseen. */
static void
view_loop_end(void *arg, const char *where, unsigned rounds, agora_loop_end why)
{
	(void)arg;
	if (why == AGORA_LOOP_QUIT) {
		fprintf(stderr, "agora: %s: you left in round %u\n", where,
		        rounds);
	} else if (why == AGORA_LOOP_MAX) {
		fprintf(stderr, "agora: %s: stopped at its max, %u round%s\n",
		        where, rounds, rounds == 1 ? "" : "s");
	} else {
		fprintf(stderr,
		        "agora: %s: nobody to ask, so it stopped after %u "
		        "round%s (--max-loops N for more)\n",
		        where, rounds, rounds == 1 ? "" : "s");
	}
}

/* Progress for long scripts: each item at INFO (--log-level info). */
static void
view_item(void *arg, const char *where, unsigned rep)
{
	(void)arg;
	agora_log(AGORA_LOG_INFO, "run", "%s (repeat %u)", where, rep + 1);
}

/* The chat's last line: how to go on with it, if its session outlives
 * this run. */
static void
view_resume(const char *path, const char *session, bool private_redis)
{
	if (private_redis) {
		fprintf(stderr, "agora: the session was in a private Redis and "
		                "ends with this run; give --redis URL to keep "
		                "it\n");
	} else {
		fprintf(stderr,
		        "agora: to go on with it: agora chat %s --session %s "
		        "(and the same --redis)\n",
		        path, session);
	}
}

/* The summary line of a run that finished, and in chat how to go on
 * (chat_path: the scenario; NULL in run); the exit code. */
static int
run_report(const agora_scenario *s, agora_center *c,
           const agora_run_stats *stats, const char *chat_path,
           bool private_redis)
{
	fprintf(
	    stderr,
	    "agora: %s: %zu steps, %zu frames, %zu agent errors (session %s)\n",
	    agora_scenario_name(s), stats->steps, stats->frames, stats->errors,
	    agora_center_session(c));
	if (chat_path != NULL) {
		view_resume(chat_path, agora_center_session(c), private_redis);
	}
	return stats->errors > 0 ? EXIT_AGENTS : EXIT_OK;
}

static void
run_usage(FILE *f, bool chat)
{
	fprintf(
	    f,
	    "usage: agora %s FILE [options]\n"
	    "\n"
	    "%s\n"
	    "\n"
	    "options:\n"
	    "  --json             one JSON object per frame\n"
	    "  --frames           one \"<role>: chunk\" line per frame\n"
	    "  --redis URL        use this Redis (redis://host:port/db,\n"
	    "                     unix:///path); default: a private one\n"
	    "  --session ID       session id (key prefix); default: new\n"
	    "  --deadline-ms MS   time limit of each step\n"
	    "  --max-loops N      rounds an \"until\": \"quit\" loop runs in a "
	    "row\n"
	    "                     with nobody to ask (default 1)\n"
	    "  --servers N        run agents that name no placement on N "
	    "child\n"
	    "                     agent servers\n"
	    "  --connect URL      ... or on this running agent server "
	    "(repeatable)\n"
	    "  --model-config FILE  model configs (JSON list; repeatable)\n"
	    "  --config FILE      configuration file (JSON)\n"
	    "  --set KEY=VALUE    one configuration value\n"
	    "  --log-level LEVEL  error, warn, info or debug\n"
	    "  -h, --help         this help\n"
	    "\n"
	    "configuration keys (also AGORA_<KEY> in the environment):\n",
	    chat ? "chat" : "run",
	    chat ? "Run a scenario and ask you on stdin whenever a human role "
	           "acts."
	         : "Run a scenario file, printing the agents' frames as they "
	           "stream.");
	agora_config_help(f);
	fprintf(f, "\nexit status: 0 done, 1 runtime failure, 2 bad "
	           "arguments or input, 3 done but agents failed\n");
}

static int
run_scenario(struct cli_common *co, const char *path, struct run_view *v)
{
	agora_scenario *s = NULL;
	agora_center *c = NULL;
	agora_run_hooks hooks = { .on_frame = view_frame,
		                  .ask = v->chat ? view_ask : NULL,
		                  .on_item = view_item,
		                  .arg = v,
		                  .loop_idle_max = v->max_loops,
		                  .on_loop_end = view_loop_end };
	bool private_redis;
	agora_run_stats stats = { 0 };
	char err[1024];
	int code = EXIT_OK;
	agora_err rv;

	rv = agora_scenario_load(&s, path, err, sizeof(err));
	if (rv != AGORA_OK) {
		cli_error("%s", err);
		/* A missing, unreadable or malformed file is bad input. */
		return rv == AGORA_ESYS ? EXIT_FAIL : EXIT_USAGE;
	}
	if (co->nconnect > 0) {
		agora_scenario_place(s, co->connect, (size_t)co->nconnect);
	} else if (co->servers) {
		static const char *const child[] = { "child" };
		agora_scenario_place(s, child, 1);
	}
	if ((co->cfg.session == NULL || co->cfg.session[0] == '\0') &&
	    agora_scenario_session(s) != NULL) {
		agora_free(co->cfg.session);
		co->cfg.session = agora_strdup(agora_scenario_session(s));
	}
	private_redis =
	    co->cfg.redis_url == NULL || co->cfg.redis_url[0] == '\0';
	if (!cli_redis_prepare(co)) {
		agora_scenario_free(s);
		return EXIT_FAIL;
	}
	rv = agora_center_new(&c, &co->cfg, err, sizeof(err));
	if (rv != AGORA_OK) {
		cli_error("%s", err);
		code = rv == AGORA_EINVAL ? EXIT_USAGE : EXIT_FAIL;
		goto out;
	}
	cli_signals_attach(c);
	rv = agora_scenario_add_agents(s, c, err, sizeof(err));
	if (rv != AGORA_OK) {
		cli_error("%s", err);
		code = cli_exit_code(rv);
		goto out;
	}
	rv = agora_scenario_run(s, c, &hooks, &stats, err, sizeof(err));
	view_flush(v);
	if (rv != AGORA_OK && cli_signal_caught() != 0) {
		fprintf(stderr, "agora: %s: interrupted (session %s)\n",
		        agora_scenario_name(s), agora_center_session(c));
		code = 128 + cli_signal_caught();
		goto out;
	}
	if (rv != AGORA_OK) {
		cli_error("%s", err);
		code = cli_exit_code(rv);
		goto out;
	}
	code = run_report(s, c, &stats, v->chat ? path : NULL, private_redis);
out:
	cli_signals_attach(NULL);
	agora_center_free(c);
	agora_scenario_free(s);
	return code;
}

/* --max-loops N: 1 to 1,000,000 (a loop's max caps it anyway). */
static bool
run_max_loops(const char *v, unsigned *out)
{
	char *end = NULL;
	long n = v != NULL ? strtol(v, &end, 10) : 0;

	if (v == NULL || *end != '\0' || n < 1 || n > 1000000) {
		cli_error("--max-loops: expected 1 to 1000000");
		return false;
	}
	*out = (unsigned)n;
	return true;
}

/* --frames, --max-loops N, --servers N, --connect URL: *used 1 if
 * argv[*i] was one; false after printing why it is malformed. */
static bool
run_option(struct cli_common *co, struct run_view *view, int argc, char **argv,
           int *i, int *used)
{
	const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	char *end = NULL;

	*used = 0;
	if (strcmp(argv[*i], "--frames") == 0) {
		view->frames = true;
		*used = 1;
		return true;
	}
	if (strcmp(argv[*i], "--max-loops") == 0) {
		if (!run_max_loops(v, &view->max_loops)) {
			return false;
		}
	} else if (strcmp(argv[*i], "--servers") == 0) {
		long n = v != NULL ? strtol(v, &end, 10) : 0;
		if (v == NULL || *end != '\0' || n < 1 || n > 1024) {
			cli_error("--servers: expected 1 to 1024");
			return false;
		}
		if (cli_defer("server.children", v) < 0) {
			return false;
		}
		co->servers = true;
	} else if (strcmp(argv[*i], "--connect") == 0) {
		if (v == NULL || strstr(v, "://") == NULL ||
		    co->nconnect == 64) {
			cli_error("--connect: expected an address such as "
			          "tcp://host:port (up to 64)");
			return false;
		}
		co->connect[co->nconnect++] = v;
	} else {
		return true;
	}
	(*i)++;
	*used = 1;
	return true;
}

int
cli_run(int argc, char **argv, bool chat)
{
	struct cli_common co = { 0 };
	struct run_view v = { 0 };
	const char *path = NULL;
	int code;

	cli_signals_start();
	agora_config_init(&co.cfg);
	v.chat = chat;
	for (int i = 1; i < argc; i++) {
		int r = cli_common_option(&co, argc, argv, &i);
		if (r < 0) {
			agora_config_fini(&co.cfg);
			return EXIT_USAGE;
		}
		if (r > 0) {
			continue;
		}
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			run_usage(stdout, chat);
			agora_config_fini(&co.cfg);
			return EXIT_OK;
		}
		if (!run_option(&co, &v, argc, argv, &i, &r)) {
			agora_config_fini(&co.cfg);
			return EXIT_USAGE;
		} else if (r > 0) {
			continue;
		} else if (argv[i][0] == '-' || path != NULL) {
			cli_error("%s: unexpected argument '%s' (see agora %s "
			          "--help)",
			          chat ? "chat" : "run", argv[i],
			          chat ? "chat" : "run");
			agora_config_fini(&co.cfg);
			return EXIT_USAGE;
		} else {
			path = argv[i];
		}
	}
	if (path == NULL) {
		cli_error("%s: no scenario file given (see agora %s --help)",
		          chat ? "chat" : "run", chat ? "chat" : "run");
		agora_config_fini(&co.cfg);
		return EXIT_USAGE;
	}
	if (!cli_common_finish(&co)) {
		agora_config_fini(&co.cfg);
		return EXIT_USAGE;
	}
	v.json = co.json;
	agora_buf_init(&v.line, 4u << 20);
	code = run_scenario(&co, path, &v);
	agora_buf_fini(&v.line);
	cli_redis_release();
	agora_config_fini(&co.cfg);
	return code;
}
