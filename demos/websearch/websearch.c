/* SPDX-License-Identifier: MIT */
/* Seed 001's web-search demo: five agents that each take 5 s (a `sleep`
 * agent stands in for a search). Prints how long creating them takes and
 * how long one round takes, with the agents in this process and with each
 * on its own child agent server.
 * usage: websearch [--seconds S] [--redis URL] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/agora.h"

#define NAGENTS 5

static double
since(int64_t t0)
{
	return (double)(agora_now_us() - t0) / 1e6;
}

static int
run_once(const char *placement, const char *redis, const char *seconds)
{
	agora_config cfg;
	agora_center *c = NULL;
	agora_agent *agents[NAGENTS];
	agora_step *st = NULL;
	const agora_frame *f;
	char err[512], opts[64], role[16];
	agora_json *doc = NULL;
	int64_t t0;
	double init_s, run_s;
	int answers = 0;

	agora_config_init(&cfg);
	(void)agora_config_set(&cfg, "redis.url", redis, err, sizeof(err));
	(void)agora_config_set(&cfg, "server.program", AGORA_CLI, err,
	                       sizeof(err));
	if (agora_center_new(&c, &cfg, err, sizeof(err)) != AGORA_OK) {
		fprintf(stderr, "websearch: %s\n", err);
		return 1;
	}
	snprintf(opts, sizeof(opts), "{\"seconds\":%s}", seconds);
	(void)agora_json_parse(&doc, opts, strlen(opts), 64, 2, NULL, 0);
	t0 = agora_now_us();
	for (int i = 0; i < NAGENTS; i++) {
		agora_agent_spec spec = { role,  "sleep", doc,
			                  false, false,   placement };
		snprintf(role, sizeof(role), "search%d", i + 1);
		if (agora_agent_new(&agents[i], &spec, err, sizeof(err)) !=
		    AGORA_OK) {
			fprintf(stderr, "websearch: %s\n", err);
			return 1;
		}
	}
	if (agora_center_add_agents(c, agents, NAGENTS) != AGORA_OK) {
		fprintf(stderr, "websearch: %s\n", agora_center_errstr(c));
		return 1;
	}
	init_s = since(t0);
	agora_json_free(doc);
	t0 = agora_now_us();
	(void)agora_center_send_task_request(c, "search the web for agora",
	                                     NULL, 0, NULL);
	if (agora_center_step(c, NULL, &st) != AGORA_OK) {
		fprintf(stderr, "websearch: %s\n", agora_center_errstr(c));
		return 1;
	}
	while (agora_step_next(st, &f) == AGORA_OK && f != NULL) {
		answers += f->type == AGORA_FRAME_END;
	}
	agora_step_free(st);
	run_s = since(t0);
	printf("%-6s placement: init %.3f s, run %.3f s (%d of %d answered)\n",
	       placement, init_s, run_s, answers, NAGENTS);
	agora_center_free(c);
	agora_config_fini(&cfg);
	return answers == NAGENTS ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char *seconds = "5", *redis = "";
	agora_redis_server *own = NULL;
	char err[512];
	int rc;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0) {
			seconds = argv[i + 1];
		} else if (strcmp(argv[i], "--redis") == 0) {
			redis = argv[i + 1];
		}
	}
	agora_kinds_builtin();
	if (redis[0] == '\0') {
		/* One private Redis for both runs. */
		if (agora_redis_server_start(&own, "redis-server", err,
		                             sizeof(err)) != AGORA_OK) {
			fprintf(stderr, "websearch: %s\n", err);
			return 1;
		}
		redis = agora_redis_server_url(own);
	}
	printf("five web-search agents of %s s each (seed 001)\n", seconds);
	rc = run_once("local", redis, seconds);
	rc |= run_once("child", redis, seconds);
	agora_redis_server_stop(own);
	return rc;
}
