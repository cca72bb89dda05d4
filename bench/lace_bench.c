/* SPDX-License-Identifier: MIT */
/* Agentlace figures (lace/), each beside its target and, where one
 * applies, a bare nng REQ/REP round trip of the same bytes measured in the
 * same run. Every server is a child process (this program run again with
 * a role: nng is not fork-safe), so both sides pay for a real socket:
 *   call     an inference call with ~100 bytes of JSON, tcp and ipc,
 *            against a bare rep0 echo of the same bytes
 *   obs      an action server's obs() answering 1 MiB of uint8, against
 *            a bare rep0 answering 1 MiB
 *   push     100,000 transitions (obs f32[4], action f32[1], next_obs
 *            f32[4]) from a queued store to a trainer's replay store by
 *            one agora_lace_update
 *   publish  a 4 MiB float32 network to 8 subscribers: publish to the
 *            last callback (one monotonic clock for both processes)
 *   rss      an idle inference server, against a process with only a
 *            bare rep0 listener
 * With --compress, the 1 MiB and 4 MiB figures again with LZ4 on, for
 * compressible (gradient) and incompressible (random) data.
 * usage: lace_bench [--compress] */
#include <inttypes.h>
#include <limits.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/json.h"
#include "agora/lace.h"
#include "agora/log.h"
#include "agora/proc.h"

#define SMALL_ROUNDS 4    /* bare and lace take turns, against drift */
#define SMALL_CALLS  2500 /* per round and side */
#define SMALL_WARMUP 200
#define BIG_ROUNDS   4
#define BIG_CALLS    60
#define BIG_BYTES    ((size_t)1 << 20)
#define PUSH_ROWS    100000
#define PUSH_REPEATS 3
#define NET_BYTES    ((size_t)4 << 20)
#define NET_SUBS     8
#define NET_REPEATS  10

/* What the small call carries: ~100 bytes of JSON, as a policy's input. */
static const char small_json[] =
    "{\"obs\":[0.0125,-0.5,0.75,1.0,0.333,-0.25],\"step\":1234,"
    "\"episode\":17,\"deterministic\":true,\"id\":\"a1\"}";

static const char *const net_types[] = { "publish" };
static const char *const obs_keys[] = { "image" };
static const agora_lace_field push_fields[] = {
	{ .name = "obs", .dtype = AGORA_LACE_F32, .ndim = 1, .shape = { 4 } },
	{ .name = "action",
	  .dtype = AGORA_LACE_F32,
	  .ndim = 1,
	  .shape = { 1 } },
	{ .name = "next_obs",
	  .dtype = AGORA_LACE_F32,
	  .ndim = 1,
	  .shape = { 4 } },
};

static const agora_lace_config inference_cfg = { .kind = AGORA_LACE_INFERENCE };
static const agora_lace_config action_cfg = { .kind = AGORA_LACE_ACTION,
	                                      .obs_keys = obs_keys,
	                                      .nobs_keys = 1 };
static const agora_lace_config trainer_cfg = { .kind = AGORA_LACE_TRAINER,
	                                       .request_types = net_types,
	                                       .nrequest_types = 1 };

static char bench_self[PATH_MAX];
static int bench_nchild;

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "lace_bench: %s: %s\n", what, detail);
	exit(1);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v. */
static int64_t
pct(int64_t *v, size_t n, int p)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	return v[n * (size_t)p / 100 < n ? n * (size_t)p / 100 : n - 1];
}

/* Bytes of a kind: 'g' an image-like gradient (compressible), 'r'
 * pseudo-random (not). */
static unsigned char *
make_bytes(size_t n, char kind)
{
	unsigned char *b = agora_malloc(n);
	uint64_t x = 0x9e3779b97f4a7c15u;

	for (size_t i = 0; i < n; i++) {
		if (kind == 'r') {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			b[i] = (unsigned char)x;
		} else {
			b[i] = (unsigned char)((i % 1024) / 4 + (i / 1024) % 8);
		}
	}
	return b;
}

/* A float32 network: a smooth ramp ('g') or noise ('r'). */
static float *
make_net(size_t n, char kind)
{
	float *f;

	if (kind == 'r') {
		return (float *)(void *)make_bytes(n * sizeof(float), 'r');
	}
	f = agora_malloc(n * sizeof(float));
	for (size_t i = 0; i < n; i++) {
		f[i] = (float)(i % 4096) / 4096.0f;
	}
	return f;
}

/* ---- child servers ------------------------------------------------------ */

/* Tell the parent we listen, and on which address, then wait for SIGTERM
 * (or SIGKILL when the parent dies). */
static _Noreturn void
child_ready(const char *url)
{
	printf("ready %s\n", url);
	fflush(stdout);
	for (;;) {
		pause();
	}
}

/* A bare rep0: answers "B" with BIG_BYTES, anything else with itself. */
static int
child_bare(const char *url, bool serve)
{
	nng_socket sock;
	nng_listener l;
	unsigned char *big = NULL; /* made at the first "B" */
	char bound[128];
	int port = 0, rv;

	rv = nng_rep0_open(&sock);
	if (rv == 0) {
		rv = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, 0);
	}
	if (rv == 0) {
		rv = nng_listen(sock, url, &l, 0);
	}
	if (rv != 0) {
		die(url, nng_strerror(rv));
	}
	snprintf(bound, sizeof(bound), "%s", url);
	if (strncmp(url, "tcp://", 6) == 0 &&
	    nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) == 0) {
		snprintf(bound, sizeof(bound), "tcp://127.0.0.1:%d", port);
	}
	if (!serve) {
		child_ready(bound);
	}
	printf("ready %s\n", bound);
	fflush(stdout);
	for (;;) {
		char *buf = NULL;
		size_t len = 0;
		if (nng_recv(sock, &buf, &len, NNG_FLAG_ALLOC) != 0) {
			continue;
		}
		if (len == 1 && buf[0] == 'B') {
			if (big == NULL) {
				big = make_bytes(BIG_BYTES, 'g');
			}
			rv = nng_send(sock, big, BIG_BYTES, 0);
		} else {
			rv = nng_send(sock, buf, len, 0);
		}
		(void)rv;
		nng_free(buf, len);
	}
	return 0;
}

static const unsigned char *child_big;
static const float *child_net;

static agora_err
fn_echo(void *arg, const char *name, const agora_lace_payload *in,
        agora_lace_out *out, char *err, size_t errlen)
{
	(void)arg;
	(void)name;
	(void)err;
	(void)errlen;
	return agora_lace_out_json(out, in->json, in->json_len);
}

static agora_err
fn_obs(void *arg, const char *name, const agora_lace_payload *in,
       agora_lace_out *out, char *err, size_t errlen)
{
	agora_lace_array a = { .dtype = AGORA_LACE_U8,
		               .ndim = 3,
		               .shape = { 512, 512, 4 },
		               .data = child_big };
	const char *json = "{\"image\":{\"$array\":0}}";

	(void)arg;
	(void)name;
	(void)in;
	(void)err;
	(void)errlen;
	/* The image is the server's, unchanged between calls: lent. */
	agora_lace_out_array_lent(out, &a, NULL);
	return agora_lace_out_json(out, json, strlen(json));
}

/* trainer "publish": the network to every subscriber; answers the
 * monotonic time (us) at which publishing began. */
static agora_err
fn_publish(void *arg, const char *type, const agora_lace_payload *in,
           agora_lace_out *out, char *err, size_t errlen)
{
	agora_lace_server *s = *(agora_lace_server **)arg;
	agora_lace_array a = { .dtype = AGORA_LACE_F32,
		               .ndim = 1,
		               .shape = { NET_BYTES / sizeof(float) },
		               .data = child_net };
	const char *json = "{\"weights\":{\"$array\":0}}";
	agora_lace_payload p = { .json = json,
		                 .json_len = strlen(json),
		                 .arrays = &a,
		                 .narrays = 1 };
	char answer[64];
	int64_t t0;
	agora_err rv;

	(void)type;
	(void)in;
	t0 = agora_now_us();
	rv = agora_lace_server_publish(s, &p);
	if (rv != AGORA_OK) {
		snprintf(err, errlen, "publish: %s", agora_strerror(rv));
		return rv;
	}
	snprintf(answer, sizeof(answer), "{\"t0\":%" PRId64 "}", t0);
	return agora_lace_out_json(out, answer, strlen(answer));
}

/* lace_bench --child KIND URL COMPRESS DATA */
static int
child_lace(const char *kind, const char *url, bool compress, char data)
{
	agora_lace_server_opts o = { .url = url, .compress = compress };
	const agora_lace_config *cfg = &inference_cfg;
	agora_lace_server *s = NULL;
	agora_lace_store *st = NULL;
	char err[512];

	if (strcmp(kind, "inference-inline") == 0) {
		o.inline_calls = true; /* no hand-off to a worker */
	} else if (strcmp(kind, "action") == 0) {
		cfg = &action_cfg;
		child_big = make_bytes(BIG_BYTES, data);
		o.obs = fn_obs;
	} else if (strcmp(kind, "trainer") == 0) {
		agora_lace_store_opts so = {
			.kind = AGORA_LACE_REPLAY,
			.capacity = (size_t)PUSH_ROWS * PUSH_REPEATS,
			.fields = push_fields,
			.nfields = 3,
		};
		cfg = &trainer_cfg;
		child_net = make_net(NET_BYTES / sizeof(float), data);
		o.request = fn_publish;
		o.arg = &s;
		if (agora_lace_store_new(&st, &so, err, sizeof(err)) !=
		    AGORA_OK) {
			die("store", err);
		}
	}
	if (agora_lace_server_new(&s, cfg, &o, err, sizeof(err)) != AGORA_OK) {
		die("server", err);
	}
	if (st != NULL) {
		(void)agora_lace_server_add_store(s, "replay", st);
	}
	if (strncmp(kind, "inference", 9) == 0) {
		(void)agora_lace_server_register(s, "policy", fn_echo, NULL);
	}
	if (agora_lace_server_start(s, err, sizeof(err)) != AGORA_OK) {
		die("start", err);
	}
	child_ready(agora_lace_server_url(s));
	return 0;
}

/* ---- the parent's side of a child --------------------------------------- */

struct child {
	agora_proc *p;
	char log[128];
	char url[160];
};

/* Start this program as role (NULL-ended args) and wait until it says it
 * listens; its address into c->url. */
static void
child_start(struct child *c, const char *const *args)
{
	const char *argv[8] = { bench_self };
	agora_proc_opts po = { .argv = argv, .die_with_parent = true };
	agora_buf out;
	char err[256];
	int64_t deadline = agora_now_ms() + 10000;
	size_t i;

	for (i = 0; args[i] != NULL && i + 2 < 8; i++) {
		argv[i + 1] = args[i];
	}
	argv[i + 1] = NULL;
	snprintf(c->log, sizeof(c->log), "/tmp/lace-bench-%d-%d.log",
	         (int)getpid(), bench_nchild++);
	unlink(c->log);
	po.log_path = c->log;
	if (agora_proc_spawn(&c->p, &po, err, sizeof(err)) != AGORA_OK) {
		die("spawn", err);
	}
	agora_buf_init(&out, 0);
	for (;;) {
		const char *r, *nl;
		agora_buf_reset(&out);
		if (agora_buf_read_file(&out, c->log, err, sizeof(err)) ==
		        AGORA_OK &&
		    out.len > 0 && (r = strstr(out.data, "ready ")) != NULL &&
		    (nl = strchr(r, '\n')) != NULL) {
			snprintf(c->url, sizeof(c->url), "%.*s",
			         (int)(nl - r - 6), r + 6);
			break;
		}
		if (!agora_proc_alive(c->p) || agora_now_ms() > deadline) {
			die("child server did not start; see", c->log);
		}
		agora_sleep_ms(2);
	}
	agora_buf_fini(&out);
}

static void
child_stop(struct child *c)
{
	agora_proc_stop(c->p, 1000);
	agora_proc_free(c->p);
	c->p = NULL;
	unlink(c->log);
	if (strncmp(c->url, "ipc://", 6) == 0) {
		unlink(c->url + 6);
	}
}

/* VmRSS of a process, KiB; -1 if unknown. */
static long
rss_kib(int pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (f == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
		}
	}
	fclose(f);
	return kib;
}

static agora_lace_client *
lace_open(const char *url, const agora_lace_config *cfg, bool compress)
{
	agora_lace_client_opts o = { .url = url, .compress = compress };
	agora_lace_client *c = NULL;
	char err[512];

	if (agora_lace_client_open(&c, cfg, &o, err, sizeof(err)) != AGORA_OK) {
		die("client", err);
	}
	return c;
}

static nng_socket
bare_open(const char *url)
{
	nng_socket sock;
	int rv;

	rv = nng_req0_open(&sock);
	if (rv == 0) {
		rv = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, 0);
	}
	if (rv == 0) {
		rv = nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 10000);
	}
	if (rv == 0) {
		rv = nng_dial(sock, url, NULL, 0);
	}
	if (rv != 0) {
		die(url, nng_strerror(rv));
	}
	return sock;
}

/* One bare round trip: send msg, take the answer (of want bytes). */
static int64_t
bare_rtt(nng_socket sock, const void *msg, size_t len, size_t want)
{
	int64_t t0 = agora_now_us();
	char *buf = NULL;
	size_t got = 0;
	int rv;

	rv = nng_send(sock, (void *)(uintptr_t)msg, len, 0);
	if (rv == 0) {
		rv = nng_recv(sock, &buf, &got, NNG_FLAG_ALLOC);
	}
	if (rv != 0) {
		die("bare round trip", nng_strerror(rv));
	}
	if (got != want) {
		die("bare round trip", "answer of the wrong size");
	}
	nng_free(buf, got);
	return agora_now_us() - t0;
}

/* ---- the table ---------------------------------------------------------- */

static void
row(const char *what, const char *figure, const char *target, const char *vs,
    const char *verdict)
{
	printf("%-38s %-30s %-12s %-16s %s\n", what, figure, target, vs,
	       verdict);
}

/* ---- 1: small calls ----------------------------------------------------- */

static void
bench_small(const char *transport, bool inl, long *rss)
{
	char url[128], fig[64], vs[64], tgt[32];
	struct child bare = { 0 }, lace = { 0 };
	const char *bare_args[] = { "--bare", url, NULL };
	const char *lace_args[] = {
		"--child", inl ? "inference-inline" : "inference",
		url,       "0",
		"g",       NULL
	};
	agora_lace_payload p = { .json = small_json,
		                 .json_len = sizeof(small_json) - 1 };
	size_t n = (size_t)SMALL_ROUNDS * SMALL_CALLS, at_b = 0, at_l = 0;
	int64_t *tb = agora_calloc(n, sizeof(int64_t));
	int64_t *tl = agora_calloc(n, sizeof(int64_t));
	int64_t mb, ml, pb, pl;
	agora_lace_client *c;
	nng_socket sock;
	char err[512];

	if (strcmp(transport, "tcp") == 0) {
		snprintf(url, sizeof(url), "tcp://127.0.0.1:0");
	} else {
		snprintf(url, sizeof(url), "ipc:///tmp/lace-bench-%d-%s.sock",
		         (int)getpid(), "bare");
	}
	child_start(&bare, bare_args);
	if (strcmp(transport, "ipc") == 0) {
		snprintf(url, sizeof(url), "ipc:///tmp/lace-bench-%d-%s.sock",
		         (int)getpid(), "lace");
	}
	child_start(&lace, lace_args);
	if (rss != NULL) {
		rss[0] = rss_kib(agora_proc_pid(lace.p));
	}
	sock = bare_open(bare.url);
	c = lace_open(lace.url, &inference_cfg, false);
	for (int r = 0; r < SMALL_ROUNDS; r++) {
		for (int i = 0; i < SMALL_WARMUP + SMALL_CALLS; i++) {
			int64_t t =
			    bare_rtt(sock, small_json, sizeof(small_json) - 1,
			             sizeof(small_json) - 1);
			if (i >= SMALL_WARMUP) {
				tb[at_b++] = t;
			}
		}
		for (int i = 0; i < SMALL_WARMUP + SMALL_CALLS; i++) {
			agora_lace_msg *m = NULL;
			int64_t t0 = agora_now_us();
			if (agora_lace_call(c, "policy", &p, &m, err,
			                    sizeof(err)) != AGORA_OK) {
				die("call", err);
			}
			if (i >= SMALL_WARMUP) {
				tl[at_l++] = agora_now_us() - t0;
			}
			if (agora_lace_msg_payload(m)->json_len != p.json_len) {
				die("call", "the echo differs");
			}
			agora_lace_msg_free(m);
		}
	}
	if (rss != NULL) {
		rss[1] = rss_kib(agora_proc_pid(lace.p));
	}
	agora_lace_client_close(c);
	nng_close(sock);
	child_stop(&lace);
	child_stop(&bare);
	pb = pct(tb, n, 99);
	mb = pct(tb, n, 50);
	pl = pct(tl, n, 99);
	ml = pct(tl, n, 50);
	printf("-- %zu-byte JSON round trip over %s (%zu calls per side, "
	       "alternating in %d rounds)\n",
	       sizeof(small_json) - 1, transport, n, SMALL_ROUNDS);
	snprintf(fig, sizeof(fig), "med %4" PRId64 " us p99 %5" PRId64 " us",
	         mb, pb);
	row("bare nng req0/rep0 (baseline)", fig, "", "", "");
	snprintf(fig, sizeof(fig), "med %4" PRId64 " us p99 %5" PRId64 " us",
	         ml, pl);
	snprintf(tgt, sizeof(tgt), "<= 1.5x");
	snprintf(vs, sizeof(vs), "%.2fx / %.2fx", (double)ml / (double)mb,
	         (double)pl / (double)pb);
	row(inl ? "lace call, inline_calls" : "lace inference call", fig, tgt,
	    vs,
	    (double)ml <= 1.5 * (double)mb
	        ? ((double)pl <= 1.5 * (double)pb ? "met"
	                                          : "med met, p99 MISSED")
	        : "MISSED");
	agora_free(tb);
	agora_free(tl);
}

/* ---- 2: 1 MiB observations ---------------------------------------------- */

static void
bench_obs(const char *transport, bool compress, char data, bool with_bare)
{
	char url[128], fig[64], vs[64], what[64];
	char ds[2] = { data, '\0' };
	struct child bare = { 0 }, lace = { 0 };
	const char *bare_args[] = { "--bare", url, NULL };
	const char *lace_args[] = { "--child", "action",
		                    url,       compress ? "1" : "0",
		                    ds,        NULL };
	size_t n = (size_t)BIG_ROUNDS * BIG_CALLS, at_b = 0, at_l = 0;
	int64_t *tb = agora_calloc(n, sizeof(int64_t));
	int64_t *tl = agora_calloc(n, sizeof(int64_t));
	int64_t mb = 0, ml;
	agora_lace_client *c;
	nng_socket sock = NNG_SOCKET_INITIALIZER;
	char err[512];

	if (strcmp(transport, "tcp") == 0) {
		snprintf(url, sizeof(url), "tcp://127.0.0.1:0");
	} else {
		snprintf(url, sizeof(url), "ipc:///tmp/lace-bench-%d-bare.sock",
		         (int)getpid());
	}
	if (with_bare) {
		child_start(&bare, bare_args);
	}
	if (strcmp(transport, "ipc") == 0) {
		snprintf(url, sizeof(url), "ipc:///tmp/lace-bench-%d-lace.sock",
		         (int)getpid());
	}
	child_start(&lace, lace_args);
	c = lace_open(lace.url, &action_cfg, compress);
	if (with_bare) {
		sock = bare_open(bare.url);
	}
	for (int r = 0; r < BIG_ROUNDS; r++) {
		for (int i = 0; with_bare && i < BIG_CALLS + 5; i++) {
			int64_t t = bare_rtt(sock, "B", 1, BIG_BYTES);
			if (i >= 5) {
				tb[at_b++] = t;
			}
		}
		for (int i = 0; i < BIG_CALLS + 5; i++) {
			agora_lace_msg *m = NULL;
			const agora_lace_array *a;
			int64_t t0 = agora_now_us();
			if (agora_lace_obs(c, NULL, 0, &m, err, sizeof(err)) !=
			    AGORA_OK) {
				die("obs", err);
			}
			a = agora_lace_msg_array(m, 0);
			if (i >= 5) {
				tl[at_l++] = agora_now_us() - t0;
			}
			if (a == NULL ||
			    agora_lace_array_bytes(a) != BIG_BYTES) {
				die("obs", "no 1 MiB array in the answer");
			}
			agora_lace_msg_free(m);
		}
	}
	agora_lace_client_close(c);
	if (with_bare) {
		nng_close(sock);
		child_stop(&bare);
		mb = pct(tb, n, 50);
		snprintf(fig, sizeof(fig), "med %5.2f ms p99 %5.2f ms",
		         (double)mb / 1e3, (double)pct(tb, n, 99) / 1e3);
		snprintf(what, sizeof(what), "bare 1 MiB round trip, %s",
		         transport);
		row(what, fig, "", "", "");
	}
	child_stop(&lace);
	ml = pct(tl, n, 50);
	snprintf(fig, sizeof(fig), "med %5.2f ms p99 %5.2f ms",
	         (double)ml / 1e3, (double)pct(tl, n, 99) / 1e3);
	snprintf(what, sizeof(what), "lace obs() 1 MiB u8, %s%s", transport,
	         compress ? (data == 'g' ? ", LZ4 gradient" : ", LZ4 random")
	                  : "");
	vs[0] = '\0';
	if (with_bare) {
		snprintf(vs, sizeof(vs), "%.2fx", (double)ml / (double)mb);
	}
	row(what, fig, "< 3 ms", vs, ml < 3000 ? "met" : "MISSED");
	agora_free(tb);
	agora_free(tl);
}

/* ---- 3 and 4: pushes and publications ----------------------------------- */

struct subs {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	uint64_t want;   /* the publication waited for */
	size_t got;      /* subscribers that had it */
	int64_t last_us; /* when the last of them had it */
	size_t bad;      /* publications of the wrong size */
};

static void
on_pub(void *arg, uint64_t seq, const agora_lace_payload *p)
{
	struct subs *s = arg;
	int64_t now = agora_now_us();

	pthread_mutex_lock(&s->lock);
	if (p->narrays != 1 ||
	    agora_lace_array_bytes(&p->arrays[0]) != NET_BYTES) {
		s->bad++;
	}
	if (seq == s->want) {
		s->got++;
		s->last_us = now > s->last_us ? now : s->last_us;
		if (s->got == NET_SUBS) {
			pthread_cond_signal(&s->cv);
		}
	}
	pthread_mutex_unlock(&s->lock);
}

/* Publish once through the trainer's "publish" request; wait for all
 * subscribers; microseconds from publish to the last callback. */
static int64_t
publish_once(agora_lace_client *ctl, struct subs *s, uint64_t seq)
{
	agora_lace_msg *m = NULL;
	agora_json *doc = NULL;
	const agora_lace_payload *p;
	int64_t t0 = 0;
	char err[512];

	pthread_mutex_lock(&s->lock);
	s->want = seq;
	s->got = 0;
	s->last_us = 0;
	pthread_mutex_unlock(&s->lock);
	if (agora_lace_request(ctl, "publish", NULL, &m, err, sizeof(err)) !=
	    AGORA_OK) {
		die("publish", err);
	}
	p = agora_lace_msg_payload(m);
	if (agora_json_parse(&doc, p->json, p->json_len, 4096, 4, NULL, 0) !=
	        AGORA_OK ||
	    !agora_json_int(agora_json_get(doc, "t0"), 0, INT64_MAX, &t0)) {
		die("publish", "no time in the answer");
	}
	agora_json_free(doc);
	agora_lace_msg_free(m);
	pthread_mutex_lock(&s->lock);
	while (s->got < NET_SUBS) {
		pthread_cond_wait(&s->cv, &s->lock);
	}
	t0 = s->last_us - t0;
	pthread_mutex_unlock(&s->lock);
	return t0;
}

static void
bench_publish(struct child *tr, bool compress, char data)
{
	agora_lace_client *ctl, *sub[NET_SUBS];
	struct subs s = { .want = 0 };
	int64_t t[NET_REPEATS];
	char fig[64], what[64];

	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cv, NULL);
	ctl = lace_open(tr->url, &trainer_cfg, compress);
	for (size_t i = 0; i < NET_SUBS; i++) {
		sub[i] = lace_open(tr->url, &trainer_cfg, compress);
		if (agora_lace_subscribe(sub[i], on_pub, &s) != AGORA_OK) {
			die("subscribe", "failed");
		}
	}
	(void)publish_once(ctl, &s, 1); /* warm-up: all are polling now */
	for (int i = 0; i < NET_REPEATS; i++) {
		t[i] = publish_once(ctl, &s, (uint64_t)i + 2);
	}
	for (size_t i = 0; i < NET_SUBS; i++) {
		agora_lace_client_close(sub[i]);
	}
	agora_lace_client_close(ctl);
	if (s.bad > 0) {
		die("publish", "a subscriber got the wrong size");
	}
	pthread_mutex_destroy(&s.lock);
	pthread_cond_destroy(&s.cv);
	qsort(t, NET_REPEATS, sizeof(t[0]), cmp_i64);
	snprintf(fig, sizeof(fig), "med %5.1f ms max %5.1f ms",
	         (double)t[NET_REPEATS / 2] / 1e3,
	         (double)t[NET_REPEATS - 1] / 1e3);
	snprintf(what, sizeof(what), "publish 4 MiB to %d subs%s", NET_SUBS,
	         compress ? (data == 'g' ? ", LZ4 ramp" : ", LZ4 random") : "");
	row(what, fig, "< 50 ms", "",
	    t[NET_REPEATS / 2] < 50000 ? "met (median)" : "MISSED (median)");
}

static size_t
server_store_size(agora_lace_client *c)
{
	agora_buf out;
	agora_json *doc = NULL;
	int64_t size = -1;
	char err[512];

	agora_buf_init(&out, 0);
	if (agora_lace_stores(c, &out, err, sizeof(err)) != AGORA_OK) {
		die("stores", err);
	}
	if (agora_json_parse(&doc, out.data, out.len, out.len, 8, NULL, 0) ==
	    AGORA_OK) {
		(void)agora_json_int(
		    agora_json_get(
		        agora_json_at(agora_json_get(doc, "stores"), 0),
		        "size"),
		    0, INT64_MAX, &size);
	}
	agora_json_free(doc);
	agora_buf_fini(&out);
	return size < 0 ? 0 : (size_t)size;
}

static void
bench_push(struct child *tr)
{
	agora_lace_store_opts so = { .kind = AGORA_LACE_QUEUED,
		                     .capacity = PUSH_ROWS,
		                     .fields = push_fields,
		                     .nfields = 3 };
	agora_lace_store *st = NULL;
	agora_lace_client *c;
	float *obs = agora_malloc(sizeof(float) * 4 * PUSH_ROWS);
	float *act = agora_malloc(sizeof(float) * PUSH_ROWS);
	float *next = agora_malloc(sizeof(float) * 4 * PUSH_ROWS);
	const void *cols[3] = { obs, act, next };
	double rate[PUSH_REPEATS];
	char err[512], fig[64];

	for (size_t i = 0; i < 4 * (size_t)PUSH_ROWS; i++) {
		obs[i] = (float)i * 0.001f;
		next[i] = obs[i] + 0.5f;
	}
	for (size_t i = 0; i < PUSH_ROWS; i++) {
		act[i] = (float)(i % 7);
	}
	if (agora_lace_store_new(&st, &so, err, sizeof(err)) != AGORA_OK) {
		die("store", err);
	}
	c = lace_open(tr->url, &trainer_cfg, false);
	(void)agora_lace_client_add_store(c, "replay", st);
	for (int r = 0; r < PUSH_REPEATS; r++) {
		uint64_t gaps = 0;
		int64_t t0;
		double s;
		if (agora_lace_store_insert(st, PUSH_ROWS, cols) != AGORA_OK) {
			die("insert", "failed");
		}
		t0 = agora_now_us();
		if (agora_lace_update(c, &gaps, err, sizeof(err)) != AGORA_OK) {
			die("update", err);
		}
		s = (double)(agora_now_us() - t0) / 1e6;
		if (gaps != 0 || server_store_size(c) !=
		                     (size_t)PUSH_ROWS * (size_t)(r + 1)) {
			die("update", "the server's store has the wrong size");
		}
		rate[r] = (double)PUSH_ROWS / s;
	}
	agora_lace_client_close(c);
	agora_lace_store_free(st);
	agora_free(obs);
	agora_free(act);
	agora_free(next);
	qsort(rate, PUSH_REPEATS, sizeof(rate[0]), cmp_double);
	snprintf(fig, sizeof(fig), "med %5.2f M/s (%.2f-%.2f)",
	         rate[PUSH_REPEATS / 2] / 1e6, rate[0] / 1e6,
	         rate[PUSH_REPEATS - 1] / 1e6);
	row("push 100k transitions, one update", fig, "> 1 M/s", "",
	    rate[PUSH_REPEATS / 2] > 1e6 ? "met (median)" : "MISSED (median)");
}

int
main(int argc, char **argv)
{
	char url[128], fig[64], vs[32];
	const char *tr_args[] = { "--child", "trainer", url, "0", "r", NULL };
	const char *idle_args[] = { "--bare-idle", url, NULL };
	struct child tr = { 0 }, idle = { 0 };
	bool compress = false;
	ssize_t n;
	long rss[3];
	int64_t t0 = agora_now_ms();

	if (argc == 3 && strcmp(argv[1], "--bare") == 0) {
		return child_bare(argv[2], true);
	}
	if (argc == 3 && strcmp(argv[1], "--bare-idle") == 0) {
		return child_bare(argv[2], false);
	}
	if (argc == 6 && strcmp(argv[1], "--child") == 0) {
		return child_lace(argv[2], argv[3], argv[4][0] == '1',
		                  argv[5][0]);
	}
	if (argc == 2 && strcmp(argv[1], "--compress") == 0) {
		compress = true;
	} else if (argc != 1) {
		fprintf(stderr, "usage: lace_bench [--compress]\n");
		return 2;
	}
	n = readlink("/proc/self/exe", bench_self, sizeof(bench_self) - 1);
	if (n <= 0) {
		die("readlink", "/proc/self/exe");
	}
	bench_self[n] = '\0';
	agora_log_set_level(AGORA_LOG_ERROR);
	row("figure", "measured", "target", "vs bare", "");
	bench_small("tcp", false, NULL);
	bench_small("tcp", true, NULL);
	bench_small("ipc", false, rss);
	bench_small("ipc", true, NULL);
	printf("-- 1 MiB observation round trip\n");
	bench_obs("tcp", false, 'g', true);
	bench_obs("ipc", false, 'g', true);
	printf("-- trainer (tcp)\n");
	snprintf(url, sizeof(url), "tcp://127.0.0.1:0");
	child_start(&tr, tr_args);
	bench_push(&tr);
	bench_publish(&tr, false, 'r');
	child_stop(&tr);
	snprintf(url, sizeof(url), "ipc:///tmp/lace-bench-%d-idle.sock",
	         (int)getpid());
	child_start(&idle, idle_args);
	rss[2] = rss_kib(agora_proc_pid(idle.p));
	child_stop(&idle);
	printf("-- idle memory (VmRSS, ipc)\n");
	snprintf(fig, sizeof(fig), "%ld KiB idle, %ld after", rss[0], rss[1]);
	snprintf(vs, sizeof(vs), "%.2fx", (double)rss[0] / (double)rss[2]);
	row("lace inference server", fig, "< 5 MiB", vs,
	    rss[0] < 5 * 1024 ? "met (idle)" : "MISSED (idle)");
	snprintf(fig, sizeof(fig), "%ld KiB", rss[2]);
	row("bare rep0 listener (baseline)", fig, "", "", "");
	if (compress) {
		printf("-- LZ4 on (tcp)\n");
		bench_obs("tcp", true, 'g', false);
		bench_obs("tcp", true, 'r', false);
		tr_args[3] = "1";
		tr_args[4] = "g";
		child_start(&tr, tr_args);
		bench_publish(&tr, true, 'g');
		child_stop(&tr);
		tr_args[4] = "r";
		child_start(&tr, tr_args);
		bench_publish(&tr, true, 'r');
		child_stop(&tr);
	}
	printf("(total %.1f s)\n", (double)(agora_now_ms() - t0) / 1e3);
	return 0;
}
