/* SPDX-License-Identifier: MIT */
/* The foundation's figures, on a private redis-server over a unix socket:
 * a bare PING round trip (the floor), one store-and-drain at a time, stores
 * and drains batched, and a step of N in-process echo agents.
 * usage: env_bench [AGENTS] (default 1000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/agora.h"

#define WARMUP 1000
#define ROUNDS 10000
#define BATCH  1000

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double
median_us(int64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	return (double)v[n / 2];
}

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "env_bench: %s: %s\n", what, detail);
	exit(1);
}

static double
bench_ping(agora_redis *r)
{
	int64_t *t = agora_malloc(ROUNDS * sizeof(int64_t));
	double med;

	for (int i = 0; i < WARMUP; i++) {
		agora_redis_ping(r);
	}
	for (int i = 0; i < ROUNDS; i++) {
		int64_t t0 = agora_now_us();
		if (agora_redis_ping(r) != AGORA_OK) {
			die("ping", agora_redis_errstr(r));
		}
		t[i] = agora_now_us() - t0;
	}
	med = median_us(t, ROUNDS);
	agora_free(t);
	return med;
}

static void
store_one(agora_env *env, agora_msg *m)
{
	m->ts_ms = 0;
	if (agora_env_store(env, m) != AGORA_OK) {
		die("store", agora_env_errstr(env));
	}
}

/* One store and one drain at a time, each round trip paired with a PING
 * measured right before it, so the floor and the pair see the same
 * machine. Returns the median pair; *ping_med the median PING. */
static double
bench_store_drain(agora_redis *r, agora_env *env, double *per_sec,
                  double *ping_med)
{
	int64_t *t = agora_malloc(ROUNDS * sizeof(int64_t));
	int64_t *p = agora_malloc(ROUNDS * sizeof(int64_t));
	agora_msg *m = agora_msg_new("a", "b",
	                             "a message of about a hundred "
	                             "bytes, like a short chat turn "
	                             "between two agents in a debate");
	const char *b = "b";
	int64_t busy = 0;
	double med;

	for (int i = 0; i < WARMUP + ROUNDS; i++) {
		agora_msgs out = { 0 };
		int64_t t0 = agora_now_us(), t1;
		if (agora_redis_ping(r) != AGORA_OK) {
			die("ping", agora_redis_errstr(r));
		}
		t1 = agora_now_us();
		store_one(env, m);
		if (agora_env_drain(env, "b", &out) != AGORA_OK || out.n != 1) {
			die("drain", agora_env_errstr(env));
		}
		if (i >= WARMUP) {
			p[i - WARMUP] = t1 - t0;
			t[i - WARMUP] = agora_now_us() - t1;
			busy += t[i - WARMUP];
		}
		agora_msgs_clear(&out);
		/* Keep in-flight lists from growing: ack as a reply would. */
		agora_env_ack_many(env, &b, 1);
	}
	*per_sec = ROUNDS * 1e6 / (double)busy;
	med = median_us(t, ROUNDS);
	*ping_med = median_us(p, ROUNDS);
	agora_msg_free(m);
	agora_free(t);
	agora_free(p);
	return med;
}

static double
bench_batched(agora_env *env)
{
	agora_msg *v[BATCH];
	const char *b = "b";
	int64_t t0;
	size_t total = 0;

	for (int i = 0; i < BATCH; i++) {
		v[i] = agora_msg_new("a", "b",
		                     "a message of about a hundred "
		                     "bytes, like a short chat turn "
		                     "between two agents in a debate");
	}
	t0 = agora_now_us();
	for (int r = 0; r < 20; r++) {
		agora_msgs out = { 0 };
		if (agora_env_store_many(env, v, NULL, BATCH) != AGORA_OK) {
			die("store_many", agora_env_errstr(env));
		}
		if (agora_env_drain(env, "b", &out) != AGORA_OK) {
			die("drain", agora_env_errstr(env));
		}
		total += out.n;
		agora_msgs_clear(&out);
		agora_env_ack_many(env, &b, 1);
	}
	for (int i = 0; i < BATCH; i++) {
		agora_msg_free(v[i]);
	}
	return (double)total * 1e6 / (double)(agora_now_us() - t0);
}

static void
bench_step(const char *url, int nagents, double *median_ms, double *min_ms,
           double *add_ms)
{
	agora_config cfg;
	agora_center *c = NULL;
	agora_agent **agents =
	    agora_calloc((size_t)nagents + 1, sizeof(*agents));
	int64_t t[11];
	const char *sink = "sink";
	agora_step_opts o = { 0 };
	char err[512], role[32];

	agora_kinds_builtin();
	agora_config_init(&cfg);
	agora_config_set(&cfg, "redis.url", url, err, sizeof(err));
	agora_config_set(&cfg, "session", "bench-step", err, sizeof(err));
	if (agora_center_new(&c, &cfg, err, sizeof(err)) != AGORA_OK) {
		die("center", err);
	}
	for (int i = 0; i <= nagents; i++) {
		agora_agent_spec spec = {
			role, "echo", NULL, false, false, NULL
		};
		if (i == nagents) {
			spec.role = "sink";
			spec.kind = "user";
			spec.human = true;
		} else {
			snprintf(role, sizeof(role), "echo%d", i);
		}
		if (agora_agent_new(&agents[i], &spec, err, sizeof(err)) !=
		    AGORA_OK) {
			die("agent", err);
		}
	}
	{
		int64_t t0 = agora_now_us();
		if (agora_center_add_agents(c, agents, (size_t)nagents + 1) !=
		    AGORA_OK) {
			die("add", agora_center_errstr(c));
		}
		*add_ms = (double)(agora_now_us() - t0) / 1000.0;
	}
	o.send_to = &sink;
	o.n_send_to = 1;
	for (int r = 0; r < 11; r++) {
		agora_step *st = NULL;
		const agora_frame *f;
		size_t ends = 0;
		agora_err rv;
		int64_t t0;

		agora_center_reset(c, true);
		/* One task to every agent; each echoes it to the sink. */
		if (agora_center_send_task_request(c, "ping", NULL, 0, NULL) !=
		    AGORA_OK) {
			die("task", agora_center_errstr(c));
		}
		t0 = agora_now_us();
		if (agora_center_step(c, &o, &st) != AGORA_OK) {
			die("step", agora_center_errstr(c));
		}
		while ((rv = agora_step_next(st, &f)) == AGORA_OK &&
		       f != NULL) {
			ends += f->type == AGORA_FRAME_END;
		}
		t[r] = agora_now_us() - t0;
		if (rv != AGORA_OK || ends != (size_t)nagents) {
			die("step", agora_step_errstr(st));
		}
		agora_step_free(st);
	}
	/* The first run warms up (script loads, allocations). */
	*median_ms = median_us(t + 1, 10) / 1000.0;
	*min_ms = (double)t[1] / 1000.0;
	agora_center_free(c);
	agora_config_fini(&cfg);
	agora_free(agents);
}

int
main(int argc, char **argv)
{
	int nagents = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1000;
	agora_redis_server *srv = NULL;
	agora_redis *r = NULL;
	agora_env *env = NULL;
	const char *roles[] = { "a", "b" };
	double ping, pair, pair_rate, batched, step_med, step_min, add_ms;
	char err[512];

	if (nagents < 1 || nagents > 1000000) {
		die("usage", "env_bench [AGENTS from 1 to 1000000]");
	}
	if (agora_redis_server_start(&srv, NULL, err, sizeof(err)) !=
	    AGORA_OK) {
		die("redis-server", err);
	}
	if (agora_redis_open(&r, agora_redis_server_url(srv), 5000, err,
	                     sizeof(err)) != AGORA_OK) {
		die("redis", err);
	}
	agora_env_open(&env, r, "bench", NULL);
	agora_env_register_roles(env, roles, 2);

	(void)bench_ping(r); /* warms the connection */
	pair = bench_store_drain(r, env, &pair_rate, &ping);
	batched = bench_batched(env);
	bench_step(agora_redis_server_url(srv), nagents, &step_med, &step_min,
	           &add_ms);

	printf("redis PING round trip (floor)      median %6.1f us "
	       "(interleaved with the pairs below)\n",
	       ping);
	printf("store + drain, one at a time        median %6.1f us  "
	       "(%.2f PINGs)  %8.0f msg/s in pairs\n",
	       pair, pair / ping, pair_rate);
	printf("store + drain, batches of %d      %8.0f msg/s\n", BATCH,
	       batched);
	printf("step of %d echo agents             median %6.2f ms  "
	       "(best %.2f ms)\n",
	       nagents, step_med, step_min);
	printf("adding %d agents (roles, registry)   %8.2f ms\n", nagents,
	       add_ms);

	agora_env_close(env);
	agora_redis_close(r);
	agora_redis_server_stop(srv);
	return 0;
}
