/* SPDX-License-Identifier: MIT */
/* `agora memory ROLE` and `agora history`: read what a session holds in
 * Redis (an agent's memory, the whole conversation), one line per message,
 * or JSON lines with --json. They need --redis and --session: there is no
 * private Redis to read after a run has ended. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/env.h"
#include "cli.h"

static void
inspect_usage(FILE *f, bool memory)
{
	fprintf(f,
	        "usage: agora %s --redis URL --session ID [--limit N] "
	        "[--json]\n\n"
	        "%s\n",
	        memory ? "memory ROLE" : "history",
	        memory ? "Print an agent's memory: what it read and said, "
	                 "oldest first (its own replies have role assistant)."
	               : "Print a session's messages, oldest first.");
}

static void
inspect_print(const agora_msgs *ms, bool json)
{
	agora_buf b;

	agora_buf_init(&b, 0);
	for (size_t i = 0; i < ms->n; i++) {
		const agora_msg *m = ms->v[i];
		agora_buf_reset(&b);
		if (json) {
			(void)agora_msg_encode(m, true, &b);
		} else {
			(void)agora_buf_addf(
			    &b, "%llu %s %s -> ", (unsigned long long)m->id,
			    agora_msg_role_name(m->role), m->sent_from);
			for (size_t k = 0; k < m->send_to.n; k++) {
				(void)agora_buf_addf(&b, "%s%s",
				                     k > 0 ? "," : "",
				                     m->send_to.v[k]);
			}
			(void)agora_buf_addf(&b, ": %s", m->content);
		}
		puts(b.data != NULL ? b.data : "");
	}
	agora_buf_fini(&b);
}

struct inspect_args {
	struct cli_common co;
	const char *role;
	long limit;
};

/* Parse the command line; returns -1 to exit with *code. */
static int
inspect_parse(struct inspect_args *a, int argc, char **argv, bool memory,
              int *code)
{
	const char *cmd = memory ? "memory" : "history";

	for (int i = 1; i < argc; i++) {
		int got = cli_common_option(&a->co, argc, argv, &i);
		if (got != 0) {
			if (got < 0) {
				*code = EXIT_USAGE;
				return -1;
			}
			continue;
		}
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			inspect_usage(stdout, memory);
			*code = EXIT_OK;
			return -1;
		}
		if (strcmp(argv[i], "--limit") == 0) {
			char *end = NULL;
			const char *v = i + 1 < argc ? argv[++i] : "";
			a->limit = strtol(v, &end, 10);
			if (*v == '\0' || *end != '\0' || a->limit < 0 ||
			    a->limit > 100000000) {
				cli_error("--limit: expected a number from 0 "
				          "(all) to 100000000, not '%s'",
				          v);
				*code = EXIT_USAGE;
				return -1;
			}
		} else if (memory && a->role == NULL && argv[i][0] != '-') {
			a->role = argv[i];
		} else {
			cli_error(
			    "unexpected argument '%s' (see agora %s --help)",
			    argv[i], cmd);
			*code = EXIT_USAGE;
			return -1;
		}
	}
	if (!cli_common_finish(&a->co)) {
		*code = EXIT_USAGE;
		return -1;
	}
	if ((memory && a->role == NULL) || a->co.cfg.redis_url == NULL ||
	    a->co.cfg.redis_url[0] == '\0' || a->co.cfg.session == NULL ||
	    a->co.cfg.session[0] == '\0') {
		cli_error("%s needs --redis URL, --session ID%s (see agora %s "
		          "--help)",
		          cmd, memory ? " and a ROLE" : "", cmd);
		*code = EXIT_USAGE;
		return -1;
	}
	return 0;
}

/* Read and print; returns the exit code. */
static int
inspect_read(const struct inspect_args *a, bool memory)
{
	const agora_config *cfg = &a->co.cfg;
	agora_redis *r = NULL;
	agora_env *env = NULL;
	agora_msgs ms = { 0 };
	char err[512];
	int code = EXIT_OK;
	char *url = agora_redis_url_auth(cfg->redis_url, cfg->redis_password);
	agora_err rv =
	    agora_redis_open(&r, url, cfg->redis_timeout_ms, err, sizeof(err));

	agora_free(url);
	if (rv != AGORA_OK) {
		cli_error("%s", err);
		return EXIT_FAIL;
	}
	if (agora_env_open(&env, r, cfg->session, NULL) != AGORA_OK) {
		cli_error("invalid session id '%s'", cfg->session);
		code = EXIT_USAGE;
	} else if ((memory
	                ? agora_env_memory(env, a->role, (size_t)a->limit, &ms)
	                : agora_env_history(env, (size_t)a->limit, &ms)) !=
	           AGORA_OK) {
		cli_error("%s", agora_env_errstr(env));
		code = EXIT_FAIL;
	} else {
		inspect_print(&ms, a->co.json);
	}
	agora_msgs_clear(&ms);
	agora_env_close(env);
	agora_redis_close(r);
	return code;
}

int
cli_inspect(int argc, char **argv, bool memory)
{
	struct inspect_args a = { 0 };
	int code = EXIT_OK;

	agora_config_init(&a.co.cfg);
	if (inspect_parse(&a, argc, argv, memory, &code) == 0) {
		code = inspect_read(&a, memory);
	}
	agora_config_fini(&a.co.cfg);
	return code;
}
