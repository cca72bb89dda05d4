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
	        memory ? "Print an agent's memory: what it read (user) and "
	                 "said (assistant), oldest first."
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

int
cli_inspect(int argc, char **argv, bool memory)
{
	struct cli_common co = { 0 };
	const char *role = NULL;
	long limit = 0;
	agora_redis *r = NULL;
	agora_env *env = NULL;
	agora_msgs ms = { 0 };
	char err[512];
	int code = EXIT_OK;

	agora_config_init(&co.cfg);
	for (int i = 1; i < argc; i++) {
		int got = cli_common_option(&co, argc, argv, &i);
		if (got < 0) {
			code = EXIT_USAGE;
			goto out;
		}
		if (got > 0) {
			continue;
		}
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			inspect_usage(stdout, memory);
			goto out;
		}
		if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
			limit = strtol(argv[++i], NULL, 10);
		} else if (memory && role == NULL && argv[i][0] != '-') {
			role = argv[i];
		} else {
			cli_error(
			    "unexpected argument '%s' (see agora %s --help)",
			    argv[i], memory ? "memory" : "history");
			code = EXIT_USAGE;
			goto out;
		}
	}
	if (!cli_common_finish(&co)) {
		code = EXIT_USAGE;
		goto out;
	}
	if ((memory && role == NULL) || limit < 0 || co.cfg.redis_url == NULL ||
	    co.cfg.redis_url[0] == '\0' || co.cfg.session == NULL ||
	    co.cfg.session[0] == '\0') {
		cli_error("%s needs --redis URL, --session ID%s (see agora %s "
		          "--help)",
		          memory ? "memory" : "history",
		          memory ? " and a ROLE" : "",
		          memory ? "memory" : "history");
		code = EXIT_USAGE;
		goto out;
	}
	if (agora_redis_open(&r, co.cfg.redis_url, co.cfg.redis_timeout_ms, err,
	                     sizeof(err)) != AGORA_OK) {
		cli_error("%s", err);
		code = EXIT_FAIL;
		goto out;
	}
	if (agora_env_open(&env, r, co.cfg.session, NULL) != AGORA_OK) {
		cli_error("invalid session id '%s'", co.cfg.session);
		code = EXIT_USAGE;
		goto out;
	}
	if ((memory ? agora_env_memory(env, role, (size_t)limit, &ms)
	            : agora_env_history(env, (size_t)limit, &ms)) != AGORA_OK) {
		cli_error("%s", agora_env_errstr(env));
		code = EXIT_FAIL;
		goto out;
	}
	inspect_print(&ms, co.json);
out:
	agora_msgs_clear(&ms);
	agora_env_close(env);
	agora_redis_close(r);
	agora_config_fini(&co.cfg);
	return code;
}
