/* SPDX-License-Identifier: MIT */
/* Redis's own time for the two scripts a step is made of, per agent: a
 * drain of N roles (one message each) and the store of their N replies to
 * one role, from INFO commandstats (the usec Redis spent in EVALSHA), the
 * median of 7 runs. Less sensitive to a noisy machine than wall time.
 * usage: redis_cost [N] (default 10000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/agora.h"
#include "redis_cmd.h"

static long long
evalsha_usec(agora_redis *r)
{
	agora_reply *rep = NULL;
	const char *s, *p;
	long long usec = 0;
	size_t n;

	if (agora__redis_cmdv(r, &rep, "INFO", "commandstats", NULL) !=
	    AGORA_OK) {
		return 0;
	}
	s = agora__reply_str(rep, &n);
	p = s != NULL ? strstr(s, "cmdstat_evalsha:") : NULL;
	p = p != NULL ? strstr(p, "usec=") : NULL;
	if (p != NULL) {
		usec = strtoll(p + 5, NULL, 10);
	}
	agora__reply_free(rep);
	return usec;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 10000;
	agora_redis_server *srv = NULL;
	agora_redis *r = NULL;
	agora_env *env = NULL;
	char err[256];
	char **names;
	const char **roles;
	agora_msg **replies;
	bool *acks;
	agora_msgs *outs;
	long long drain[7], store[7];

	if (n < 1 || n > 1000000) {
		fprintf(stderr, "usage: redis_cost [N from 1 to 1000000]\n");
		return 2;
	}
	if (agora_redis_server_start(&srv, NULL, err, sizeof(err)) !=
	        AGORA_OK ||
	    agora_redis_open(&r, agora_redis_server_url(srv), 60000, err,
	                     sizeof(err)) != AGORA_OK ||
	    agora_env_open(&env, r, "cost", NULL) != AGORA_OK) {
		fprintf(stderr, "redis_cost: %s\n", err);
		return 1;
	}
	names = agora_calloc((size_t)n + 1, sizeof(char *));
	roles = agora_calloc((size_t)n + 1, sizeof(char *));
	replies = agora_calloc((size_t)n, sizeof(agora_msg *));
	acks = agora_calloc((size_t)n, sizeof(bool));
	outs = agora_calloc((size_t)n, sizeof(agora_msgs));
	for (int i = 0; i <= n; i++) {
		names[i] =
		    i == n ? agora_strdup("sink") : agora_sprintf("a%d", i);
		roles[i] = names[i];
	}
	agora_env_register_roles(env, roles, (size_t)n + 1);
	for (int i = 0; i < n; i++) {
		replies[i] = agora_msg_new(names[i], "sink", "an answer");
		acks[i] = true;
	}
	for (int k = 0; k < 7; k++) {
		agora_msg *task = agora_msg_new(NULL, NULL, "a task");
		long long u0, u1, u2;
		agora_env_store(env, task);
		agora_msg_free(task);
		u0 = evalsha_usec(r);
		agora_env_drain_many(env, roles, (size_t)n, outs);
		u1 = evalsha_usec(r);
		agora_env_store_many(env, replies, acks, (size_t)n);
		u2 = evalsha_usec(r);
		drain[k] = u1 - u0;
		store[k] = u2 - u1;
		for (int i = 0; i < n; i++) {
			agora_msgs_clear(&outs[i]);
		}
		agora_env_reset(env, true);
	}
	qsort(drain, 7, sizeof(drain[0]), cmp_ll);
	qsort(store, 7, sizeof(store[0]), cmp_ll);
	printf("redis time, %d agents: drain %.2f us/role, reply store %.2f "
	       "us/reply (medians of 7)\n",
	       n, (double)drain[3] / n, (double)store[3] / n);
	for (int i = 0; i <= n; i++) {
		agora_free(names[i]);
	}
	for (int i = 0; i < n; i++) {
		agora_msg_free(replies[i]);
	}
	agora_free(names);
	agora_free(roles);
	agora_free(replies);
	agora_free(acks);
	agora_free(outs);
	agora_env_close(env);
	agora_redis_close(r);
	agora_redis_server_stop(srv);
	return 0;
}
