/* SPDX-License-Identifier: MIT */
/* LLM agents' figures against the fake OpenAI server (tests/support/
 * fake_llm, started here): the time from the server sending a chunk to the
 * frame coming out of step (the agent in process, then on a child agent
 * server), and many concurrent streams through one
 * process: chunks per second and the CPU time this process spent.
 * usage: llm_bench FAKE_LLM_BINARY [STREAMS [CHUNKS]] (1000, 100) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "agora/agora.h"

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "llm_bench: %s: %s\n", what, detail);
	exit(1);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static agora_center *
center(const char *url, const char *session, const char *model, int n,
       const char *placement)
{
	agora_config cfg;
	agora_center *c = NULL;
	agora_agent **v = agora_calloc((size_t)n, sizeof(*v));
	char err[512], text[512], role[32];
	agora_json *doc = NULL;

	agora_kinds_builtin();
	agora_config_init(&cfg);
	agora_config_set(&cfg, "redis.url", url, err, sizeof(err));
	agora_config_set(&cfg, "session", session, err, sizeof(err));
	agora_config_set(&cfg, "step.deadline_ms", "600000", err, sizeof(err));
	agora_config_set(&cfg, "server.program", AGORA_CLI, err, sizeof(err));
	if (agora_center_new(&c, &cfg, err, sizeof(err)) != AGORA_OK) {
		die("center", err);
	}
	snprintf(text, sizeof(text), "{\"model\":\"%s\"}", model);
	agora_json_parse(&doc, text, strlen(text), 4096, 8, err, sizeof(err));
	for (int i = 0; i < n; i++) {
		agora_agent_spec spec = { role,  "roleplay", doc,
			                  false, false,      placement };
		snprintf(role, sizeof(role), "m%d", i);
		if (agora_agent_new(&v[i], &spec, err, sizeof(err)) !=
		    AGORA_OK) {
			die("agent", err);
		}
	}
	if (agora_center_add_agents(c, v, (size_t)n) != AGORA_OK) {
		die("add", agora_center_errstr(c));
	}
	agora_json_free(doc);
	agora_free(v);
	agora_config_fini(&cfg);
	return c;
}

static void
load_model(const char *name, const char *mode, const char *base_url)
{
	char text[512], err[256];
	agora_json *doc = NULL;

	snprintf(
	    text, sizeof(text),
	    "[{\"config_name\":\"%s\",\"model_type\":\"openai_chat\","
	    "\"model_name\":\"%s\",\"client_args\":{\"base_url\":\"%s\"}}]",
	    name, mode, base_url);
	agora_json_parse(&doc, text, strlen(text), 4096, 8, err, sizeof(err));
	if (agora_models_load_json(doc, "bench", err, sizeof(err)) !=
	    AGORA_OK) {
		die("models", err);
	}
	agora_json_free(doc);
}

/* Chunk-to-frame latency: each chunk carries the server's send time. */
static void
bench_latency(const char *redis_url, const char *placement)
{
	enum { N = 300 };
	int64_t lat[N];
	size_t n = 0;
	agora_center *c =
	    center(redis_url, placement ? "bench-lat-child" : "bench-lat",
	           "stamp", 1, placement);
	agora_step *st = NULL;
	const agora_frame *f;

	agora_center_send_task_request(c, "go", NULL, 0, NULL);
	if (agora_center_step(c, NULL, &st) != AGORA_OK) {
		die("step", agora_center_errstr(c));
	}
	while (agora_step_next(st, &f) == AGORA_OK && f != NULL) {
		if (f->type == AGORA_FRAME_CHUNK && n < N) {
			lat[n++] =
			    agora_now_us() - strtoll(f->content, NULL, 10);
		} else if (f->type == AGORA_FRAME_ERROR) {
			die("stream", f->content);
		}
	}
	agora_step_free(st);
	qsort(lat, n, sizeof(lat[0]), cmp_i64);
	printf("chunk to frame, agent %-16s median %6.0f us  "
	       "p99 %6.0f us  (%zu chunks)\n",
	       placement ? "on a child server" : "in process",
	       (double)lat[n / 2], (double)lat[n * 99 / 100], n);
	agora_center_free(c);
}

static void
bench_streams(const char *redis_url, int streams, int chunks)
{
	agora_center *c =
	    center(redis_url, "bench-many", "count", streams, NULL);
	agora_step *st = NULL;
	const agora_frame *f;
	size_t got = 0, errors = 0;
	double cpu0, cpu;
	int64_t t0, us;

	agora_center_send_task_request(c, "go", NULL, 0, NULL);
	cpu0 = cpu_seconds();
	t0 = agora_now_us();
	if (agora_center_step(c, NULL, &st) != AGORA_OK) {
		die("step", agora_center_errstr(c));
	}
	while (agora_step_next(st, &f) == AGORA_OK && f != NULL) {
		got += f->type == AGORA_FRAME_CHUNK;
		if (f->type == AGORA_FRAME_ERROR && errors++ == 0) {
			fprintf(stderr, "llm_bench: first error: %s\n",
			        f->content);
		}
	}
	us = agora_now_us() - t0;
	cpu = cpu_seconds() - cpu0;
	agora_step_free(st);
	printf("%d streams x %d chunks, one process    %8.0f chunks/s  "
	       "%.2f s wall, %.2f s CPU (%.1f us CPU/chunk), %zu errors\n",
	       streams, chunks, (double)got * 1e6 / (double)us,
	       (double)us / 1e6, cpu, cpu * 1e6 / (double)(got ? got : 1),
	       errors);
	agora_center_free(c);
}

int
main(int argc, char **argv)
{
	const char *argv_fake[] = { argc > 1 ? argv[1] : NULL, NULL };
	int streams = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 1000;
	int chunks = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 100;
	char log[] = "/tmp/agora-bench-llm-XXXXXX";
	char err[512], line[64], url[128], mode[64];
	agora_redis_server *srv = NULL;
	agora_proc *fake = NULL;
	agora_proc_opts o = { .argv = argv_fake,
		              .log_path = log,
		              .die_with_parent = true };
	struct rlimit rl;
	int port = 0;
	FILE *f;

	if (argv_fake[0] == NULL || streams < 1 || chunks < 1) {
		die("usage", "llm_bench FAKE_LLM_BINARY [STREAMS [CHUNKS]]");
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	close(mkstemp(log));
	if (agora_proc_spawn(&fake, &o, err, sizeof(err)) != AGORA_OK) {
		die("fake_llm", err);
	}
	for (int i = 0; i < 500 && port == 0; i++) {
		f = fopen(log, "r");
		if (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			sscanf(line, "PORT %d", &port);
		}
		if (f != NULL) {
			fclose(f);
		}
		agora_sleep_ms(10);
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", port);
	if (agora_redis_server_start(&srv, NULL, err, sizeof(err)) !=
	    AGORA_OK) {
		die("redis-server", err);
	}
	load_model("stamp", "stamp:300:2", url);
	snprintf(mode, sizeof(mode), "count:%d", chunks);
	load_model("count", mode, url);
	bench_latency(agora_redis_server_url(srv), NULL);
	bench_latency(agora_redis_server_url(srv), "child");
	bench_streams(agora_redis_server_url(srv), streams, chunks);
	agora_redis_server_stop(srv);
	agora_proc_free(fake);
	unlink(log);
	return 0;
}
