/* SPDX-License-Identifier: MIT */
/* Agent-server figures (issue 3), each printed with what it compares to:
 *   rtt            direct call to an echo agent on a child server, beside a
 *                  bare REQ/REP round trip through the same transport
 *   async [AGENTS] calls per second with calls to AGENTS agents in flight
 *   guess N THINK_MS SERVERS [ROUNDS]
 *                  a guessing-game round of N participants on SERVERS
 *                  child servers; also the time to create them
 *   rss N          resident memory per idle agent on one server
 * usage: server_bench [--redis URL] [--agora PATH] WHAT [ARGS] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agora/agora.h"

#define RTT_WARMUP 1000
#define RTT_CALLS  10000

static const char *bench_redis;
static const char *bench_agora = AGORA_CLI;

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "server_bench: %s: %s\n", what, detail);
	exit(1);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
print_dist(const char *what, int64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	printf("%-34s median %6lld us  p90 %6lld us  p99 %6lld us\n", what,
	       (long long)v[n / 2], (long long)v[n * 9 / 10],
	       (long long)v[n * 99 / 100]);
}

static agora_center *
bench_center(const char *children)
{
	agora_config cfg;
	agora_center *c = NULL;
	char err[512];

	agora_config_init(&cfg);
	(void)agora_config_set(&cfg, "redis.url", bench_redis, err,
	                       sizeof(err));
	(void)agora_config_set(&cfg, "server.program", bench_agora, err,
	                       sizeof(err));
	(void)agora_config_set(&cfg, "server.children", children, err,
	                       sizeof(err));
	(void)agora_config_set(&cfg, "server.timeout_ms", "60000", err,
	                       sizeof(err));
	if (agora_config_load_env(&cfg, err, sizeof(err)) != AGORA_OK) {
		die("environment", err);
	}
	if (agora_center_new(&c, &cfg, err, sizeof(err)) != AGORA_OK) {
		die("center", err);
	}
	agora_config_fini(&cfg);
	return c;
}

/* n agents of kind with options, placed, in one batch; returns seconds. */
static double
bench_add(agora_center *c, const char *prefix, size_t n, const char *kind,
          const char *options, const char *placement)
{
	agora_agent **v = agora_calloc(n, sizeof(*v));
	agora_json *doc = NULL;
	char err[512], role[64];
	int64_t t0;

	if (options != NULL) {
		(void)agora_json_parse(&doc, options, strlen(options), 4096, 4,
		                       NULL, 0);
	}
	t0 = agora_now_us();
	for (size_t i = 0; i < n; i++) {
		agora_agent_spec spec = { role,  kind,  doc,
			                  false, false, placement };
		snprintf(role, sizeof(role), "%s%zu", prefix, i);
		if (agora_agent_new(&v[i], &spec, err, sizeof(err)) !=
		    AGORA_OK) {
			die("agent", err);
		}
	}
	if (agora_center_add_agents(c, v, n) != AGORA_OK) {
		die("add", agora_center_errstr(c));
	}
	agora_json_free(doc);
	agora_free(v);
	return (double)(agora_now_us() - t0) / 1e6;
}

/* ---- rtt -------------------------------------------------------------- */

static void
rep_echo(void *arg, agora_request *rq, const char *data, size_t len)
{
	(void)arg;
	agora_request_reply(rq, data, len);
}

/* The bare server: our transport's REQ/REP with nothing behind it. */
static int
run_rep(const char *url)
{
	agora_listener *l = NULL;
	agora_listener_opts lo = { .nctx = 16,
		                   .max_msg = 1 << 20,
		                   .fn = rep_echo };
	char err[256];

	if (agora_listener_open(&l, url, &lo, err, sizeof(err)) != AGORA_OK) {
		die("rep", err);
	}
	pause();
	return 0;
}

static void
bench_bare(const char *self)
{
	char url[128], err[256];
	const char *argv[] = { self, "--rep", url, NULL };
	agora_proc_opts po = { .argv = argv, .die_with_parent = true };
	const char *msg = "{\"v\":1,\"ops\":[{\"op\":\"alive\"}]}";
	int64_t *t = agora_calloc(RTT_CALLS, sizeof(int64_t));
	agora_proc *p = NULL;
	agora_link *l = NULL;
	agora_buf reply;

	snprintf(url, sizeof(url), "ipc:///tmp/agora-bench-%d.sock",
	         (int)getpid());
	if (agora_proc_spawn(&p, &po, err, sizeof(err)) != AGORA_OK ||
	    agora_link_open(&l, url, err, sizeof(err)) != AGORA_OK) {
		die("bare server", err);
	}
	agora_buf_init(&reply, 0);
	for (int i = 0; i < RTT_WARMUP + RTT_CALLS; i++) {
		int64_t t0 = agora_now_us();
		agora_buf_reset(&reply);
		if (agora_link_call(l, msg, strlen(msg), 5000, &reply) !=
		    AGORA_OK) {
			die("bare call", "failed");
		}
		if (i >= RTT_WARMUP) {
			t[i - RTT_WARMUP] = agora_now_us() - t0;
		}
	}
	print_dist("bare REQ/REP round trip (floor)", t, RTT_CALLS);
	agora_buf_fini(&reply);
	agora_link_close(l);
	agora_proc_stop(p, 1000);
	agora_proc_free(p);
	unlink(url + 6);
	agora_free(t);
}

static void
bench_rtt(const char *self)
{
	agora_center *c = bench_center("1");
	int64_t *t = agora_calloc(RTT_CALLS, sizeof(int64_t));

	bench_add(c, "echo", 1, "echo", NULL, "child");
	for (int round = 0; round < 2; round++) {
		bench_bare(self);
		for (int i = 0; i < RTT_WARMUP + RTT_CALLS; i++) {
			agora_future *f = NULL;
			const char *out;
			int64_t t0 = agora_now_us();
			if (agora_center_call(c, "echo0", "ping", &f) !=
			        AGORA_OK ||
			    agora_future_wait(f, 5000, &out) != AGORA_OK) {
				die("call", agora_future_errstr(f));
			}
			agora_future_free(f);
			if (i >= RTT_WARMUP) {
				t[i - RTT_WARMUP] = agora_now_us() - t0;
			}
		}
		print_dist("direct call to echo, child server", t, RTT_CALLS);
	}
	agora_free(t);
	agora_center_free(c);
}

/* ---- async ------------------------------------------------------------ */

static void
bench_async(size_t agents, size_t servers)
{
	char children[16];
	agora_center *c;
	size_t total = 200000, done = 0, window = agents;
	agora_future **fs = agora_calloc(window, sizeof(*fs));
	char role[32];
	int64_t t0;
	double s;

	snprintf(children, sizeof(children), "%zu", servers);
	c = bench_center(children);
	bench_add(c, "a", agents, "echo", NULL, "child");
	t0 = agora_now_us();
	while (done < total) {
		/* One call to every agent in flight, then read them all. */
		for (size_t i = 0; i < window; i++) {
			snprintf(role, sizeof(role), "a%zu", i);
			if (agora_center_call(c, role, "x", &fs[i]) !=
			    AGORA_OK) {
				die("call", agora_center_errstr(c));
			}
		}
		for (size_t i = 0; i < window; i++) {
			const char *out;
			if (agora_future_wait(fs[i], 10000, &out) != AGORA_OK) {
				die("async call", agora_future_errstr(fs[i]));
			}
			agora_future_free(fs[i]);
		}
		done += window;
	}
	s = (double)(agora_now_us() - t0) / 1e6;
	printf("async calls, %zu agents on %zu child server%s: %.0f calls/s "
	       "(%zu calls in %.2f s)\n",
	       agents, servers, servers == 1 ? "" : "s", (double)done / s, done,
	       s);
	agora_free(fs);
	agora_center_free(c);
}

/* ---- guess ------------------------------------------------------------ */

static void
bench_guess(size_t n, long think_ms, size_t servers, int rounds)
{
	char children[16], opts[64];
	const char *to[] = { "moderator0" };
	agora_step_opts o = { .send_to = to, .n_send_to = 1 };
	agora_center *c;
	double create_s;

	snprintf(children, sizeof(children), "%zu", servers);
	snprintf(opts, sizeof(opts), "{\"max\":100,\"think_ms\":%ld}",
	         think_ms);
	c = bench_center(children);
	bench_add(c, "moderator", 1, "moderator", NULL, NULL);
	create_s = bench_add(c, "p", n, "random", opts, "child");
	printf("guess: created %zu participants on %zu child servers in "
	       "%.3f s\n",
	       n, servers, create_s);
	for (int r = 0; r < rounds; r++) {
		agora_step *st = NULL;
		const agora_frame *f;
		size_t ends = 0, errors = 0;
		int64_t t0 = agora_now_us();

		if (agora_center_send_task_request(c, "Guess 0-100.", NULL, 0,
		                                   "moderator0") != AGORA_OK ||
		    agora_center_step(c, &o, &st) != AGORA_OK) {
			die("step", agora_center_errstr(c));
		}
		while (agora_step_next(st, &f) == AGORA_OK && f != NULL) {
			ends += f->type == AGORA_FRAME_END;
			errors += f->type == AGORA_FRAME_ERROR;
		}
		agora_step_free(st);
		printf("guess: round %d, %zu participants, think %ld ms: "
		       "%.3f s (%zu answered, %zu errors)\n",
		       r + 1, n, think_ms, (double)(agora_now_us() - t0) / 1e6,
		       ends, errors);
		/* The moderator reads the answers; start the next clean. */
		(void)agora_center_reset(c, true);
	}
	agora_center_free(c);
}

/* ---- rss -------------------------------------------------------------- */

static long
server_rss(const char *url)
{
	agora_buf reply;
	char err[256];
	const char *p;
	long kib = -1;

	agora_buf_init(&reply, 0);
	if (agora_server_request(url, NULL, "[{\"op\":\"info\"}]", 10000,
	                         &reply, err, sizeof(err)) == AGORA_OK &&
	    (p = strstr(reply.data, "\"rss_kib\":")) != NULL) {
		kib = strtol(p + 10, NULL, 10);
	}
	agora_buf_fini(&reply);
	return kib;
}

static void
bench_rss(size_t n)
{
	agora_center *c = bench_center("1");
	agora_agent_info info;
	long before, after;
	char *url;

	bench_add(c, "first", 1, "echo", NULL, "child");
	if (agora_registry_get(agora_center_registry(c), "first0", &info) !=
	    AGORA_OK) {
		die("registry", "no record");
	}
	url = agora_strdup(info.server);
	agora_agent_info_fini(&info);
	before = server_rss(url);
	bench_add(c, "idle", n, "echo", NULL, "child");
	after = server_rss(url);
	printf("rss: %zu idle echo agents on one server: %ld KiB -> %ld KiB, "
	       "%.2f KiB per agent\n",
	       n, before, after, (double)(after - before) / (double)n);
	agora_free(url);
	agora_center_free(c);
}

int
main(int argc, char **argv)
{
	agora_redis_server *own = NULL;
	char err[512];
	int i = 1;

	if (argc == 3 && strcmp(argv[1], "--rep") == 0) {
		return run_rep(argv[2]);
	}
	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--redis") == 0) {
			bench_redis = argv[i + 1];
		} else if (strcmp(argv[i], "--agora") == 0) {
			bench_agora = argv[i + 1];
		}
	}
	if (i >= argc) {
		fprintf(stderr,
		        "usage: server_bench [--redis URL] [--agora "
		        "PATH] rtt | async [AGENTS [SERVERS]] | guess N "
		        "THINK_MS SERVERS [ROUNDS] | rss N\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	agora_kinds_builtin();
	if (bench_redis == NULL) {
		if (agora_redis_server_start(&own, "redis-server", err,
		                             sizeof(err)) != AGORA_OK) {
			die("redis", err);
		}
		bench_redis = agora_redis_server_url(own);
	}
	if (strcmp(argv[i], "rtt") == 0) {
		bench_rtt(argv[0]);
	} else if (strcmp(argv[i], "async") == 0) {
		bench_async(i + 1 < argc ? strtoul(argv[i + 1], NULL, 10) : 100,
		            i + 2 < argc ? strtoul(argv[i + 2], NULL, 10) : 1);
	} else if (strcmp(argv[i], "guess") == 0 && i + 3 < argc) {
		bench_guess(strtoul(argv[i + 1], NULL, 10),
		            strtol(argv[i + 2], NULL, 10),
		            strtoul(argv[i + 3], NULL, 10),
		            i + 4 < argc ? (int)strtol(argv[i + 4], NULL, 10)
		                         : 3);
	} else if (strcmp(argv[i], "rss") == 0 && i + 1 < argc) {
		bench_rss(strtoul(argv[i + 1], NULL, 10));
	} else {
		die("unknown benchmark", argv[i]);
	}
	agora_redis_server_stop(own);
	return 0;
}
