/* SPDX-License-Identifier: MIT */
/* Redis's own time for one guessing-game round, per participant: N roles
 * are sent a task (one store to all), found notified, drained (one message
 * each), their N replies stored to one role, and their registry records
 * written. For each phase, the median of 7 runs of
 *   cpu: the Redis process's CPU time (INFO cpu, which includes reading
 *        and parsing the commands), and
 *   cmd: the time INFO commandstats gives the phase's commands (EVALSHA
 *        for the scripts, HSET and HINCRBY for the registry's pipeline),
 *   commands: how many commands ran (a script's own count, EVALSHA too),
 *        which no other load on the machine changes.
 * Less sensitive to a noisy machine than wall time.
 * --light runs the participants as a memoryless kind does (no view or
 * memory entries, only the step count in the registry); without it, as any
 * other kind.
 * usage: redis_cost [--light] [N] (default 10000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/agora.h"
#include "redis_cmd.h"

#define RUNS     7
#define RUNS_MID 3 /* the median of RUNS */

enum { PH_TASK, PH_NOTIFIED, PH_DRAIN, PH_STORE, PH_REGISTRY, PH_N };

static const char *const phase_names[PH_N] = { "task to all", "notified",
	                                       "drain", "reply store",
	                                       "registry" };

struct sample {
	long long cpu_us; /* Redis's used_cpu_user + used_cpu_sys */
	long long cmd_us; /* commandstats: evalsha */
	long long reg_us; /* commandstats: hset + hincrby */
	long long calls;  /* commandstats: every command's calls, but INFO */
};

/* The number after name in s, or 0. */
static double
info_num(const char *s, const char *name)
{
	const char *p = s != NULL ? strstr(s, name) : NULL;

	return p != NULL ? strtod(p + strlen(name), NULL) : 0;
}

static long long
cmd_usec(const char *s, const char *cmd)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "cmdstat_%s:", cmd);
	p = s != NULL ? strstr(s, key) : NULL;
	p = p != NULL ? strstr(p, "usec=") : NULL;
	return p != NULL ? strtoll(p + 5, NULL, 10) : 0;
}

/* Commands run so far (a script's own commands count too), but INFO. */
static long long
cmd_calls(const char *s)
{
	long long n = 0;
	const char *p = s != NULL ? strstr(s, "cmdstat_") : NULL;

	while (p != NULL) {
		const char *c = strstr(p, "calls=");
		if (c != NULL && strncmp(p, "cmdstat_info:", 13) != 0) {
			n += strtoll(c + 6, NULL, 10);
		}
		p = strstr(p + 8, "cmdstat_");
	}
	return n;
}

static struct sample
sample_take(agora_redis *r)
{
	struct sample x = { 0, 0, 0, 0 };
	agora_reply *rep = NULL;
	const char *s;
	size_t n;

	if (agora__redis_cmdv(r, &rep, "INFO", "cpu", NULL) == AGORA_OK) {
		s = agora__reply_str(rep, &n);
		x.cpu_us = (long long)((info_num(s, "used_cpu_user:") +
		                        info_num(s, "used_cpu_sys:")) *
		                       1e6);
	}
	agora__reply_free(rep);
	rep = NULL;
	if (agora__redis_cmdv(r, &rep, "INFO", "commandstats", NULL) ==
	    AGORA_OK) {
		s = agora__reply_str(rep, &n);
		/* Scripts' own commands count in their EVALSHA: the HSET
		 * and HINCRBY are those of the registry's pipeline only
		 * where no script runs. */
		x.cmd_us = cmd_usec(s, "evalsha");
		x.reg_us = cmd_usec(s, "hset") + cmd_usec(s, "hincrby");
		x.calls = cmd_calls(s);
	}
	agora__reply_free(rep);
	return x;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

struct cost {
	int n;
	bool light;
	agora_redis *r;
	agora_env *env;
	agora_registry *reg;
	const char **roles; /* n participants, then the moderator */
	agora_msg **replies;
	uint8_t *flags;
	bool *lightv;
	agora_msgs *outs;
	long long cpu[PH_N][RUNS], cmd[PH_N][RUNS], calls[PH_N][RUNS];
};

/* Run phase ph of run k, recording its Redis time; 0 if all went well. */
static int
cost_phase(struct cost *c, int ph, int k)
{
	struct sample a = sample_take(c->r), b;
	size_t n = (size_t)c->n;
	agora_strv notified = { 0 };
	agora_msg *task;
	agora_err rv = AGORA_OK;

	switch (ph) {
	case PH_TASK:
		task = agora_msg_new(c->roles[n], NULL, "a task");
		rv = agora_env_store(c->env, task);
		agora_msg_free(task);
		break;
	case PH_NOTIFIED:
		rv = agora_env_notified_roles(c->env, &notified);
		rv = rv == AGORA_OK && notified.n != n ? AGORA_EINTERNAL : rv;
		agora_strv_clear(&notified);
		break;
	case PH_DRAIN:
		rv = agora_env_drain_flagged(c->env, c->roles, c->lightv, n,
		                             c->outs);
		break;
	case PH_STORE:
		rv = agora_env_store_flagged(c->env, c->replies, c->flags, n);
		break;
	default:
		rv = c->light
		         ? agora_registry_count_steps(c->reg, c->roles, n)
		         : agora_registry_mark_many(c->reg, c->roles, n,
		                                    AGORA_AGENT_IDLE, true);
		break;
	}
	b = sample_take(c->r);
	c->cpu[ph][k] = b.cpu_us - a.cpu_us;
	c->calls[ph][k] = b.calls - a.calls;
	c->cmd[ph][k] =
	    ph == PH_REGISTRY ? b.reg_us - a.reg_us : b.cmd_us - a.cmd_us;
	if (rv != AGORA_OK) {
		fprintf(stderr, "redis_cost: %s: %s\n", phase_names[ph],
		        agora_strerror(rv));
		return 1;
	}
	return 0;
}

static void
cost_print(struct cost *c)
{
	double tcpu = 0, tcmd = 0, tcalls = 0;

	printf("redis time per participant, %d %s participants (medians of "
	       "%d rounds):\n",
	       c->n, c->light ? "memoryless (--light)" : "ordinary", RUNS);
	for (int ph = 0; ph < PH_N; ph++) {
		double cpu, cmd, calls;
		qsort(c->cpu[ph], RUNS, sizeof(long long), cmp_ll);
		qsort(c->cmd[ph], RUNS, sizeof(long long), cmp_ll);
		qsort(c->calls[ph], RUNS, sizeof(long long), cmp_ll);
		cpu = (double)c->cpu[ph][RUNS_MID] / c->n;
		cmd = (double)c->cmd[ph][RUNS_MID] / c->n;
		calls = (double)c->calls[ph][RUNS_MID] / c->n;
		tcpu += cpu;
		tcmd += cmd;
		tcalls += calls;
		printf("  %-12s cpu %6.2f us  cmd %6.2f us  commands %5.2f\n",
		       phase_names[ph], cpu, cmd, calls);
	}
	printf("  %-12s cpu %6.2f us  cmd %6.2f us  commands %5.2f\n", "round",
	       tcpu, tcmd, tcalls);
	printf("redis time, %d agents: drain %.2f us/role, reply store %.2f "
	       "us/reply (cmd, as before)\n",
	       c->n, (double)c->cmd[PH_DRAIN][RUNS_MID] / c->n,
	       (double)c->cmd[PH_STORE][RUNS_MID] / c->n);
}

/* The roles, their registry records and their replies. */
static void
cost_setup(struct cost *c, char **names)
{
	size_t n = (size_t)c->n;
	agora_agent_info *infos = agora_calloc(n + 1, sizeof(*infos));

	for (size_t i = 0; i <= n; i++) {
		names[i] = i == n ? agora_strdup("moderator")
		                  : agora_sprintf("p%zu", i);
		c->roles[i] = names[i];
		infos[i].role = agora_strdup(names[i]);
		infos[i].kind = agora_strdup(i == n ? "moderator" : "random");
	}
	(void)agora_env_register_roles(c->env, c->roles, n + 1);
	(void)agora_registry_put_many(c->reg, infos, n + 1);
	agora_agent_infos_free(infos, n + 1);
	for (size_t i = 0; i < n; i++) {
		c->replies[i] = agora_msg_new(names[i], "moderator", "42");
		c->flags[i] =
		    (uint8_t)(AGORA_ENV_ACK | (c->light ? AGORA_ENV_LIGHT : 0));
		c->lightv[i] = c->light;
	}
}

static int
cost_run(struct cost *c)
{
	for (int k = 0; k < RUNS; k++) {
		for (int ph = 0; ph < PH_N; ph++) {
			if (cost_phase(c, ph, k) != 0) {
				return 1;
			}
		}
		for (int i = 0; i < c->n; i++) {
			agora_msgs_clear(&c->outs[i]);
		}
		(void)agora_env_reset(c->env, true);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct cost c = { .n = 10000 };
	agora_redis_server *srv = NULL;
	char err[256], **names;
	int a = 1, rc;

	if (a < argc && strcmp(argv[a], "--light") == 0) {
		c.light = true;
		a++;
	}
	c.n = a < argc ? (int)strtol(argv[a], NULL, 10) : c.n;
	if (c.n < 1 || c.n > 1000000) {
		fprintf(stderr,
		        "usage: redis_cost [--light] [N from 1 to 1000000]\n");
		return 2;
	}
	if (agora_redis_server_start(&srv, NULL, err, sizeof(err)) !=
	        AGORA_OK ||
	    agora_redis_open(&c.r, agora_redis_server_url(srv), 60000, err,
	                     sizeof(err)) != AGORA_OK ||
	    agora_env_open(&c.env, c.r, "cost", NULL) != AGORA_OK ||
	    agora_registry_open(&c.reg, c.r, "cost") != AGORA_OK) {
		fprintf(stderr, "redis_cost: %s\n", err);
		return 1;
	}
	names = agora_calloc((size_t)c.n + 1, sizeof(char *));
	c.roles = agora_calloc((size_t)c.n + 1, sizeof(char *));
	c.replies = agora_calloc((size_t)c.n, sizeof(agora_msg *));
	c.flags = agora_calloc((size_t)c.n, sizeof(uint8_t));
	c.lightv = agora_calloc((size_t)c.n, sizeof(bool));
	c.outs = agora_calloc((size_t)c.n, sizeof(agora_msgs));
	cost_setup(&c, names);
	rc = cost_run(&c);
	if (rc == 0) {
		cost_print(&c);
	}
	for (int i = 0; i <= c.n; i++) {
		agora_free(names[i]);
	}
	for (int i = 0; i < c.n; i++) {
		agora_msg_free(c.replies[i]);
	}
	agora_free(names);
	agora_free(c.roles);
	agora_free(c.replies);
	agora_free(c.flags);
	agora_free(c.lightv);
	agora_free(c.outs);
	agora_registry_close(c.reg);
	agora_env_close(c.env);
	agora_redis_close(c.r);
	agora_redis_server_stop(srv);
	return rc;
}
