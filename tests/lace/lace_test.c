/* SPDX-License-Identifier: MIT */
/* The action and inference pairs, as Agentlace's own tests use them
 * (reference A.10: test_action, test_inference), and what they never
 * checked: a failing callback, concurrency, unknown keys, the handshake,
 * tokens, timeouts, a restarted server, malformed and oversized frames. */
#define _GNU_SOURCE /* memmem */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/json.h"
#include "agora/lace.h"
#include "agora/transport.h"
#include "frame.h" /* frames a client would not send */
#include "test.h"

#define IMG 256

static const char *const obs_keys[] = { "test_image", "state" };
static const char *const act_keys[] = { "send_image", "fail" };
static const agora_lace_config action_cfg = {
	.kind = AGORA_LACE_ACTION,
	.version = "0.0.1",
	.obs_keys = obs_keys,
	.nobs_keys = 2,
	.act_keys = act_keys,
	.nact_keys = 2,
};
static unsigned char image[IMG * IMG * 3];
static atomic_int acts;

static void
url_for(char *url, size_t n, const char *what)
{
	snprintf(url, n, "ipc:///tmp/agora-lace-%d-%s.sock", (int)getpid(),
	         what);
}

/* Each key asked for: the image as an array, the state as JSON. */
static agora_err
on_obs(void *arg, const char *name, const agora_lace_payload *in,
       agora_lace_out *out, char *err, size_t errlen)
{
	agora_lace_array a = { .dtype = AGORA_LACE_U8,
		               .ndim = 3,
		               .shape = { IMG, IMG, 3 },
		               .data = image };
	char json[256];
	size_t idx = 0;

	(void)arg;
	(void)name;
	(void)err;
	(void)errlen;
	if (strstr(in->json, "test_image") != NULL) {
		/* A global, unchanged while the server runs: lent. */
		AGORA_PASS(agora_lace_out_array_lent(out, &a, &idx));
	}
	snprintf(json, sizeof(json),
	         "{\"status\":\"success\",\"asked\":%.*s,\"test_image\":"
	         "{\"$array\":%zu}}",
	         (int)in->json_len, in->json, idx);
	return agora_lace_out_json(out, json, strlen(json));
}

static agora_err
on_act(void *arg, const char *key, const agora_lace_payload *in,
       agora_lace_out *out, char *err, size_t errlen)
{
	(void)arg;
	if (strcmp(key, "fail") == 0) {
		snprintf(err, errlen, "the arm is stuck");
		return AGORA_EAGENT;
	}
	atomic_fetch_add(&acts, 1);
	if (in->narrays == 1 && in->arrays[0].dtype == AGORA_LACE_F32) {
		const float *v = in->arrays[0].data;
		/* On this stack: the answer is sent after we return. */
		float twice[3] = { 2 * v[0], 2 * v[1], 2 * v[2] };
		agora_lace_array a = { .dtype = AGORA_LACE_F32,
			               .ndim = 1,
			               .shape = { 3 },
			               .data = twice };
		char json[64];
		snprintf(json, sizeof(json), "{\"sum\":%g}",
		         (double)(v[0] + v[1] + v[2]));
		AGORA_PASS(agora_lace_out_array(out, &a, NULL));
		return agora_lace_out_json(out, json, strlen(json));
	}
	return agora_lace_out_json(out, "{\"ack\":true}", 12);
}

static agora_lace_server *
action_server(const char *url, const char *token)
{
	agora_lace_server_opts o = {
		.url = url, .token = token, .obs = on_obs, .act = on_act
	};
	agora_lace_server *s = NULL;
	char err[256];

	if (agora_lace_server_new(&s, &action_cfg, &o, err, sizeof(err)) !=
	        AGORA_OK ||
	    agora_lace_server_start(s, err, sizeof(err)) != AGORA_OK) {
		fail_msg("action server: %s", err);
	}
	return s;
}

static agora_lace_client *
client_of(const char *url, const agora_lace_config *cfg, const char *token)
{
	agora_lace_client_opts o = { .url = url,
		                     .token = token,
		                     .timeout_ms = 5000 };
	agora_lace_client *c = NULL;
	char err[256];

	if (agora_lace_client_open(&c, cfg, &o, err, sizeof(err)) != AGORA_OK) {
		fail_msg("client: %s", err);
	}
	return c;
}

struct seen {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	uint64_t seq;
	char json[256];
	size_t bytes;
};

static void
on_pub(void *arg, uint64_t seq, const agora_lace_payload *p)
{
	struct seen *s = arg;

	pthread_mutex_lock(&s->lock);
	s->seq = seq;
	snprintf(s->json, sizeof(s->json), "%.*s", (int)p->json_len,
	         p->json != NULL ? p->json : "");
	s->bytes = p->narrays > 0 ? agora_lace_array_bytes(&p->arrays[0]) : 0;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
}

/* Wait (up to 10 s) for publication seq; false if it never came. */
static bool
seen_wait(struct seen *s, uint64_t seq)
{
	int64_t until = agora_now_ms() + 10000;
	bool ok;

	pthread_mutex_lock(&s->lock);
	while (s->seq < seq && agora_now_ms() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000;
		ts.tv_sec += ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&s->cv, &s->lock, &ts);
	}
	ok = s->seq >= seq;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void
an_observation_and_a_broadcast(void **state)
{
	char url[128], err[256];
	agora_lace_server *s;
	agora_lace_client *c;
	agora_lace_msg *m = NULL;
	const agora_lace_array *a;
	struct seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER,
		             .cv = PTHREAD_COND_INITIALIZER };
	const char *pub = "{\"test-broadcast\":1}";
	agora_lace_payload p = { .json = pub, .json_len = strlen(pub) };

	(void)state;
	for (size_t i = 0; i < sizeof(image); i++) {
		image[i] = (unsigned char)(i * 31 + 7);
	}
	url_for(url, sizeof(url), "obs");
	s = action_server(url, NULL);
	c = client_of(url, &action_cfg, NULL);
	AGORA_PASS(agora_lace_subscribe(c, on_pub, &seen));
	/* All keys when none are named. */
	AGORA_PASS(agora_lace_obs(c, NULL, 0, &m, err, sizeof(err)));
	a = agora_lace_msg_array(m, 0);
	assert_non_null(a);
	assert_int_equal(a->dtype, AGORA_LACE_U8);
	assert_int_equal(a->ndim, 3);
	assert_int_equal(a->shape[0], IMG);
	assert_int_equal(a->shape[1], IMG);
	assert_int_equal(a->shape[2], 3);
	assert_memory_equal(a->data, image, sizeof(image));
	assert_non_null(strstr(agora_lace_msg_payload(m)->json,
	                       "[\"test_image\",\"state\"]"));
	agora_lace_msg_free(m);
	/* One key: only it. */
	{
		const char *k[] = { "state" };
		AGORA_PASS(agora_lace_obs(c, k, 1, &m, err, sizeof(err)));
		assert_null(agora_lace_msg_array(m, 0));
		assert_non_null(
		    strstr(agora_lace_msg_payload(m)->json, "[\"state\"]"));
		agora_lace_msg_free(m);
	}
	AGORA_PASS(agora_lace_server_publish(s, &p));
	assert_true(seen_wait(&seen, 1));
	assert_non_null(strstr(seen.json, "test-broadcast"));
	agora_lace_client_close(c);
	agora_lace_server_free(s);
}

static void
an_action_with_an_array_and_a_failing_callback(void **state)
{
	char url[128], err[256];
	agora_lace_server *s;
	agora_lace_client *c;
	agora_lace_msg *m = NULL;
	float v[3] = { 1.5f, 2.0f, 3.5f };
	agora_lace_array a = {
		.dtype = AGORA_LACE_F32, .ndim = 1, .shape = { 3 }, .data = v
	};
	agora_lace_payload p = { .json = "{\"a\":{\"$array\":0}}",
		                 .json_len = 18,
		                 .arrays = &a,
		                 .narrays = 1 };
	const char *bad_key[] = { "depth" };

	(void)state;
	url_for(url, sizeof(url), "act");
	s = action_server(url, NULL);
	c = client_of(url, &action_cfg, NULL);
	AGORA_PASS(agora_lace_act(c, "send_image", &p, &m, err, sizeof(err)));
	assert_non_null(strstr(agora_lace_msg_payload(m)->json, "\"sum\":7"));
	{
		const agora_lace_array *t = agora_lace_msg_array(m, 0);
		const float want[3] = { 3.0f, 4.0f, 7.0f };
		assert_non_null(t);
		assert_int_equal(agora_lace_array_count(t), 3);
		assert_memory_equal(t->data, want, sizeof(want));
	}
	agora_lace_msg_free(m);
	/* The callback fails: an error naming why, and the server goes on. */
	AGORA_FAIL(agora_lace_act(c, "fail", NULL, &m, err, sizeof(err)),
	           AGORA_EAGENT);
	assert_non_null(strstr(err, "the arm is stuck"));
	assert_null(m);
	AGORA_PASS(agora_lace_act(c, "send_image", NULL, &m, err, sizeof(err)));
	agora_lace_msg_free(m);
	/* Unknown keys are errors naming them. */
	AGORA_FAIL(agora_lace_act(c, "jump", NULL, &m, err, sizeof(err)),
	           AGORA_ENOTFOUND);
	assert_non_null(strstr(err, "\"jump\""));
	AGORA_FAIL(agora_lace_obs(c, bad_key, 1, &m, err, sizeof(err)),
	           AGORA_ENOTFOUND);
	assert_non_null(strstr(err, "\"depth\""));
	agora_lace_client_close(c);
	/* A client that takes whatever the server is: the server checks. */
	c = client_of(url, NULL, NULL);
	AGORA_FAIL(agora_lace_obs(c, bad_key, 1, &m, err, sizeof(err)),
	           AGORA_ENOTFOUND);
	assert_non_null(strstr(err, "unknown observation key \"depth\""));
	agora_lace_client_close(c);
	agora_lace_server_free(s);
}

/* ---- inference --------------------------------------------------------- */

static agora_err
echo(void *arg, const char *name, const agora_lace_payload *in,
     agora_lace_out *out, char *err, size_t errlen)
{
	agora_buf b;
	agora_err rv;

	(void)arg;
	(void)name;
	(void)err;
	(void)errlen;
	agora_buf_init(&b, 0);
	agora_buf_adds(&b, "{\"status\":\"ok\",\"message\":");
	agora_buf_add(&b, in->json, in->json_len);
	agora_buf_adds(&b, "}");
	rv = agora_lace_out_json(out, b.data, b.len);
	agora_buf_fini(&b);
	return rv;
}

static agora_err
greet(void *arg, const char *name, const agora_lace_payload *in,
      agora_lace_out *out, char *err, size_t errlen)
{
	agora_json *doc = NULL;
	const char *who;
	char json[300];

	(void)arg;
	(void)name;
	AGORA_PASS(
	    agora_json_parse(&doc, in->json, in->json_len, 4096, 8, NULL, 0));
	who = agora_json_str(agora_json_get(doc, "name"));
	if (who == NULL) {
		agora_json_free(doc);
		snprintf(err, errlen, "Name not provided");
		return AGORA_EINVAL;
	}
	snprintf(json, sizeof(json), "\"Hello, %.200s!\"", who);
	agora_json_free(doc);
	return agora_lace_out_json(out, json, strlen(json));
}

static atomic_int slow_release;

static agora_err
slow(void *arg, const char *name, const agora_lace_payload *in,
     agora_lace_out *out, char *err, size_t errlen)
{
	(void)arg;
	(void)name;
	(void)in;
	(void)err;
	(void)errlen;
	/* Held until the test has had a fast answer meanwhile. */
	while (atomic_load(&slow_release) == 0) {
		agora_sleep_ms(1);
	}
	return agora_lace_out_json(out, "\"slow\"", 6);
}

static agora_lace_server *
inference_server(const char *url)
{
	agora_lace_config cfg = { .kind = AGORA_LACE_INFERENCE };
	agora_lace_server_opts o = { .url = url };
	agora_lace_server *s = NULL;
	char err[256];

	AGORA_PASS(agora_lace_server_new(&s, &cfg, &o, err, sizeof(err)));
	AGORA_PASS(agora_lace_server_register(s, "echo", echo, NULL));
	AGORA_PASS(agora_lace_server_start(s, err, sizeof(err)));
	/* After start, too. */
	AGORA_PASS(agora_lace_server_register(s, "greet", greet, NULL));
	AGORA_PASS(agora_lace_server_register(s, "slow", slow, NULL));
	return s;
}

struct slow_call {
	agora_lace_client *c;
	agora_err rv;
};

static void *
call_slow(void *arg)
{
	struct slow_call *sc = arg;
	agora_lace_msg *m = NULL;
	char err[256];

	sc->rv = agora_lace_call(sc->c, "slow", NULL, &m, err, sizeof(err));
	agora_lace_msg_free(m);
	return NULL;
}

static void
inference_list_echo_greet_unknown_and_concurrency(void **state)
{
	agora_lace_config cfg = { .kind = AGORA_LACE_INFERENCE };
	char url[128], err[256];
	agora_lace_server *s;
	agora_lace_client *c, *c2;
	agora_lace_msg *m = NULL;
	agora_buf names;
	const char *msg = "{\"message\":\"test\"}";
	agora_lace_payload p = { .json = msg, .json_len = strlen(msg) };
	struct slow_call sc;
	pthread_t th;

	(void)state;
	url_for(url, sizeof(url), "inf");
	s = inference_server(url);
	c = client_of(url, &cfg, NULL);
	agora_buf_init(&names, 0);
	AGORA_PASS(agora_lace_interfaces(c, &names, err, sizeof(err)));
	assert_string_equal(names.data, "[\"echo\",\"greet\",\"slow\"]");
	agora_buf_fini(&names);
	AGORA_PASS(agora_lace_call(c, "echo", &p, &m, err, sizeof(err)));
	assert_string_equal(agora_lace_msg_payload(m)->json,
	                    "{\"status\":\"ok\",\"message\":{\"message\":"
	                    "\"test\"}}");
	agora_lace_msg_free(m);
	p.json = "{\"name\":\"John\"}";
	p.json_len = strlen(p.json);
	AGORA_PASS(agora_lace_call(c, "greet", &p, &m, err, sizeof(err)));
	assert_string_equal(agora_lace_msg_payload(m)->json,
	                    "\"Hello, John!\"");
	agora_lace_msg_free(m);
	p.json = "{}";
	p.json_len = 2;
	AGORA_FAIL(agora_lace_call(c, "greet", &p, &m, err, sizeof(err)),
	           AGORA_EINVAL);
	assert_string_equal(err, "Name not provided");
	AGORA_FAIL(agora_lace_call(c, "unknown", NULL, &m, err, sizeof(err)),
	           AGORA_ENOTFOUND);
	assert_non_null(strstr(err, "\"unknown\""));
	/* A slow interface holds one worker: another client is served. */
	c2 = client_of(url, &cfg, NULL);
	sc.c = c2;
	atomic_store(&slow_release, 0);
	pthread_create(&th, NULL, call_slow, &sc);
	for (int i = 0; i < 20; i++) {
		AGORA_PASS(
		    agora_lace_call(c, "echo", NULL, &m, err, sizeof(err)));
		agora_lace_msg_free(m);
	}
	atomic_store(&slow_release, 1);
	pthread_join(th, NULL);
	AGORA_PASS(sc.rv);
	agora_lace_client_close(c2);
	agora_lace_client_close(c);
	agora_lace_server_free(s);
}

/* ---- handshake, token, timeouts, restarts ------------------------------ */

static void
a_mismatched_client_is_refused_naming_the_difference(void **state)
{
	static const char *const other_obs[] = { "test_image", "depth" };
	agora_lace_config cfg = action_cfg;
	agora_lace_client_opts o = { .timeout_ms = 2000 };
	agora_lace_client *c = NULL;
	agora_lace_server *s;
	char url[128], err[256];

	(void)state;
	url_for(url, sizeof(url), "hs");
	s = action_server(url, NULL);
	o.url = url;
	cfg.obs_keys = other_obs;
	AGORA_FAIL(agora_lace_client_open(&c, &cfg, &o, err, sizeof(err)),
	           AGORA_EINVAL);
	assert_non_null(strstr(err, "observation key \"depth\""));
	cfg = action_cfg;
	cfg.version = "0.0.2";
	AGORA_FAIL(agora_lace_client_open(&c, &cfg, &o, err, sizeof(err)),
	           AGORA_EINVAL);
	assert_non_null(strstr(err, "version"));
	assert_non_null(strstr(err, "0.0.2"));
	cfg = action_cfg;
	cfg.kind = AGORA_LACE_TRAINER;
	AGORA_FAIL(agora_lace_client_open(&c, &cfg, &o, err, sizeof(err)),
	           AGORA_EINVAL);
	assert_non_null(strstr(err, "trainer"));
	assert_null(c);
	agora_lace_server_free(s);
}

static void
a_token_is_required_and_checked(void **state)
{
	const char *token = "0123456789abcdef-secret";
	agora_lace_client_opts o = { .timeout_ms = 2000 };
	agora_lace_client *c = NULL;
	agora_lace_server *s;
	agora_lace_msg *m = NULL;
	char url[128], err[256];

	(void)state;
	url_for(url, sizeof(url), "tok");
	s = action_server(url, token);
	o.url = url;
	AGORA_FAIL(
	    agora_lace_client_open(&c, &action_cfg, &o, err, sizeof(err)),
	    AGORA_EAUTH);
	o.token = "0123456789abcdef-wrong!";
	AGORA_FAIL(
	    agora_lace_client_open(&c, &action_cfg, &o, err, sizeof(err)),
	    AGORA_EAUTH);
	c = client_of(url, &action_cfg, token);
	AGORA_PASS(agora_lace_obs(c, NULL, 0, &m, err, sizeof(err)));
	agora_lace_msg_free(m);
	agora_lace_client_close(c);
	agora_lace_server_free(s);
}

static void
off_loopback_needs_a_token(void **state)
{
	agora_lace_server_opts o = { .url = "tcp://0.0.0.0:0" };
	agora_lace_server *s = NULL;
	char err[256];

	(void)state;
	AGORA_PASS(
	    agora_lace_server_new(&s, &action_cfg, &o, err, sizeof(err)));
	AGORA_FAIL(agora_lace_server_start(s, err, sizeof(err)), AGORA_EAUTH);
	assert_non_null(strstr(err, "token"));
	agora_lace_server_free(s);
	/* Loopback is fine, and port 0 gets a port. */
	o.url = "tcp://127.0.0.1:0";
	AGORA_PASS(
	    agora_lace_server_new(&s, &action_cfg, &o, err, sizeof(err)));
	AGORA_PASS(agora_lace_server_start(s, err, sizeof(err)));
	assert_null(strstr(agora_lace_server_url(s), ":0"));
	agora_lace_server_free(s);
}

static agora_err
hang(void *arg, const char *name, const agora_lace_payload *in,
     agora_lace_out *out, char *err, size_t errlen)
{
	(void)arg;
	(void)name;
	(void)in;
	(void)out;
	(void)err;
	(void)errlen;
	while (atomic_load(&slow_release) == 0) {
		agora_sleep_ms(1);
	}
	return AGORA_OK;
}

static void
a_timeout_is_an_error_and_a_restarted_server_answers(void **state)
{
	agora_lace_config cfg = { .kind = AGORA_LACE_INFERENCE };
	agora_lace_server *s;
	agora_lace_client *c;
	agora_lace_msg *m = NULL;
	char url[128], err[256];

	(void)state;
	url_for(url, sizeof(url), "to");
	s = inference_server(url);
	AGORA_PASS(agora_lace_server_register(s, "hang", hang, NULL));
	c = client_of(url, &cfg, NULL);
	agora_lace_client_set_timeout(c, 200);
	atomic_store(&slow_release, 0);
	AGORA_FAIL(agora_lace_call(c, "hang", NULL, &m, err, sizeof(err)),
	           AGORA_ETIMEDOUT);
	assert_null(m);
	assert_non_null(strstr(err, "no answer"));
	atomic_store(&slow_release, 1);
	/* Stopped: calls time out; started again: they are answered. */
	agora_lace_server_stop(s);
	AGORA_FAIL(agora_lace_call(c, "echo", NULL, &m, err, sizeof(err)),
	           AGORA_ETIMEDOUT);
	AGORA_PASS(agora_lace_server_start(s, err, sizeof(err)));
	agora_lace_client_set_timeout(c, 5000);
	AGORA_PASS(agora_lace_call(c, "echo", NULL, &m, err, sizeof(err)));
	agora_lace_msg_free(m);
	agora_lace_client_close(c);
	agora_lace_server_free(s);
	/* Nothing is left listening. */
	assert_int_equal(access(url + 6, F_OK), -1);
}

/* A peer that is not nng: the SP header of a REQ peer, then a message
 * that says it is `claimed` bytes long, then some of them. The server must
 * drop the connection (read gives 0 or an error); true if it did. */
static bool
raw_oversized(const char *url, uint64_t claimed)
{
	bool ipc = strncmp(url, "ipc://", 6) == 0;
	unsigned char hdr[8] = { 0, 'S', 'P', 0, 0, 0x30, 0, 0 }, len[9];
	unsigned char junk[4096] = { 0 }, back[8];
	struct timeval tv = { .tv_sec = 10 };
	int fd, n = 0;
	bool dropped;

	if (ipc) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", url + 6);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_int_equal(
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	} else {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		sa.sin_port =
		    htons((uint16_t)strtol(strrchr(url, ':') + 1, NULL, 10));
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	assert_int_equal(write(fd, hdr, sizeof(hdr)), sizeof(hdr));
	assert_int_equal(read(fd, back, sizeof(back)), sizeof(back));
	/* ipc frames a message with a type byte (1) before its length. */
	len[0] = 1;
	for (int i = 0; i < 8; i++) {
		len[(ipc ? 1 : 0) + i] =
		    (unsigned char)(claimed >> (56 - 8 * i));
	}
	(void)!send(fd, len, ipc ? 9 : 8, MSG_NOSIGNAL);
	while (n < 64 && send(fd, junk, sizeof(junk), MSG_NOSIGNAL) > 0) {
		n++;
	}
	dropped = read(fd, back, 1) <= 0;
	close(fd);
	return dropped;
}

/* Raw frames at the server: each bad one gets an error answer; a message
 * over the limit loses its connection; the server still serves. */
static void
malformed_and_oversized_frames_on(const char *listen)
{
	agora_lace_config cfg = { .kind = AGORA_LACE_INFERENCE };
	agora_lace_server_opts o = { .max_msg = 1 << 20, .url = listen };
	agora_lace_server *s = NULL;
	agora_lace_client *c;
	agora_lace_msg *m = NULL;
	agora_link *l = NULL;
	agora_buf reply;
	char url[128], err[256];
	unsigned char frame[64];
	char *big;

	AGORA_PASS(agora_lace_server_new(&s, &cfg, &o, err, sizeof(err)));
	AGORA_PASS(agora_lace_server_register(s, "echo", echo, NULL));
	AGORA_PASS(agora_lace_server_start(s, err, sizeof(err)));
	snprintf(url, sizeof(url), "%s", agora_lace_server_url(s));
	AGORA_PASS(agora_link_open_now(&l, url, 2000, err, sizeof(err)));
	agora_buf_init(&reply, 1 << 20);
	/* Not a frame at all. */
	AGORA_PASS(agora_link_call(l, "hello", 5, 2000, &reply));
	assert_non_null(memmem(reply.data, reply.len, "EPROTO", 6));
	/* A header whose lengths lie. */
	memset(frame, 0, sizeof(frame));
	memcpy(frame, "AGL\1", 4);
	frame[8] = 200; /* envelope of 200 bytes in a 64-byte frame */
	agora_buf_reset(&reply);
	AGORA_PASS(
	    agora_link_call(l, (char *)frame, sizeof(frame), 2000, &reply));
	assert_non_null(memmem(reply.data, reply.len, "add up", 6));
	/* Another version. */
	frame[3] = 9;
	agora_buf_reset(&reply);
	AGORA_PASS(
	    agora_link_call(l, (char *)frame, sizeof(frame), 2000, &reply));
	assert_non_null(memmem(reply.data, reply.len, "version 9", 9));
	agora_link_close(l);
	agora_buf_fini(&reply);
	/* Over the limit, from a peer that is not nng: dropped. */
	assert_true(raw_oversized(url, 2 << 20));
	assert_true(raw_oversized(url, UINT64_MAX));
	/* A client learns the server's limit in the handshake: a request
	 * over it is refused here, not sent to be dropped. */
	c = client_of(url, &cfg, NULL);
	big = agora_calloc(2 << 20, 1);
	{
		agora_lace_array a = { .dtype = AGORA_LACE_U8,
			               .ndim = 1,
			               .shape = { 2 << 20 },
			               .data = big };
		agora_lace_payload p = { .arrays = &a, .narrays = 1 };
		AGORA_FAIL(agora_lace_call(c, "echo", &p, &m, err, sizeof(err)),
		           AGORA_ETOOBIG);
		assert_non_null(strstr(err, "limit"));
	}
	agora_free(big);
	/* And the server still serves. */
	AGORA_PASS(agora_lace_call(c, "echo", NULL, &m, err, sizeof(err)));
	agora_lace_msg_free(m);
	agora_lace_client_close(c);
	agora_lace_server_free(s);
}

static void
malformed_and_oversized_frames(void **state)
{
	char url[128];

	(void)state;
	malformed_and_oversized_frames_on("tcp://127.0.0.1:0");
	url_for(url, sizeof(url), "bad");
	malformed_and_oversized_frames_on(url);
}

/* tls+tcp://: a client that checks the server's certificate against its
 * CA file talks to it; one with another CA cannot. */
static void
tls_between_client_and_server(void **state)
{
	agora_lace_config cfg = { .kind = AGORA_LACE_INFERENCE };
	agora_lace_server_opts so = { .url = "tls+tcp://localhost:0" };
	agora_lace_client_opts co = { .timeout_ms = 1000 };
	agora_lace_server *s = NULL;
	agora_lace_client *c = NULL;
	agora_lace_msg *m = NULL;
	char dir[] = "/tmp/agora-lacetls-XXXXXX", cmd[1024], cert[128],
	     both[128], other[128], err[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
	         "cd %s && for n in cert other; do openssl req -x509 -newkey "
	         "rsa:2048 -nodes -days 2 -subj /CN=localhost -addext "
	         "subjectAltName=DNS:localhost -keyout $n.key -out $n.pem "
	         ">/dev/null 2>&1 || exit 1; done && cat cert.pem cert.key "
	         ">both.pem",
	         dir);
	if (system(cmd) != 0) {
		print_message("tls: skipped: openssl could not make "
		              "certificates\n");
		skip();
	}
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(both, sizeof(both), "%s/both.pem", dir);
	snprintf(other, sizeof(other), "%s/other.pem", dir);
	agora_tls_set(cert, both);
	AGORA_PASS(agora_lace_server_new(&s, &cfg, &so, err, sizeof(err)));
	AGORA_PASS(agora_lace_server_register(s, "echo", echo, NULL));
	AGORA_PASS(agora_lace_server_start(s, err, sizeof(err)));
	co.url = agora_lace_server_url(s);
	assert_non_null(strstr(co.url, "tls+tcp://localhost:"));
	AGORA_PASS(agora_lace_client_open(&c, &cfg, &co, err, sizeof(err)));
	AGORA_PASS(agora_lace_call(c, "echo", NULL, &m, err, sizeof(err)));
	agora_lace_msg_free(m);
	agora_lace_client_close(c);
	/* Another CA: the server is not the one it trusts. */
	agora_tls_set(other, NULL);
	c = NULL;
	assert_int_not_equal(
	    agora_lace_client_open(&c, &cfg, &co, err, sizeof(err)), AGORA_OK);
	assert_null(c);
	agora_tls_set("", "");
	agora_lace_server_free(s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Without the token a frame costs the server its envelope only: a body
 * that is not JSON and packed arrays that do not unpack are refused as
 * unauthorised, not read (before, LZ4 sections unpacked to max_msg and
 * bodies were parsed for anyone). */
static void
the_token_is_checked_before_the_body_and_arrays(void **state)
{
	const char *token = "0123456789abcdef-secret";
	static unsigned char z[1 << 16];
	agora_lace_array a = { .dtype = AGORA_LACE_U8,
		               .ndim = 1,
		               .shape = { sizeof(z) },
		               .data = z };
	agora_lace_payload bad_body = { .json = "{{{", .json_len = 3 };
	agora_lace_payload packed = {
		.json = "{}", .json_len = 2, .arrays = &a, .narrays = 1
	};
	const agora_lace_payload *ps[2] = { &bad_body, &packed };
	agora_lace_server *s;
	agora_link *l = NULL;
	agora_buf reply;
	char url[128], err[256];

	(void)state;
	url_for(url, sizeof(url), "authfirst");
	s = action_server(url, token);
	AGORA_PASS(agora_link_open_now(&l, url, 2000, err, sizeof(err)));
	agora_buf_init(&reply, 1 << 20);
	for (int i = 0; i < 2; i++) {
		struct lace_enc e;
		unsigned char *last;
		AGORA_PASS(lace_enc_build(&e, "\"op\":\"obs\"", ps[i], true,
		                          err, sizeof(err)));
		if (i == 1) {
			/* Break the packed section's end. */
			assert_int_equal(e.niov, 2);
			last = (unsigned char *)e.packed.data;
			memset(last + e.packed.len - 8, 0xa5, 8);
		}
		agora_buf_reset(&reply);
		AGORA_PASS(agora_link_callv(l, e.iov, e.niov, 2000, &reply));
		assert_non_null(memmem(reply.data, reply.len, "EAUTH", 5));
		assert_null(memmem(reply.data, reply.len, "malformed", 9));
		lace_enc_fini(&e);
	}
	agora_buf_fini(&reply);
	agora_link_close(l);
	agora_lace_server_free(s);
}

static atomic_int polls_answered;

static void
poll_answered(void *arg, agora_err rv, const char *data, size_t len)
{
	(void)arg;
	(void)data;
	(void)len;
	if (rv == AGORA_OK) {
		atomic_fetch_add(&polls_answered, 1);
	}
}

/* A peer that sends polls without end parks one at a time: each parked
 * poll holds a transport context, and before, 8 polls took all of this
 * server's (max_conns + 4 x workers) so nobody else was answered. */
static void
a_poll_flood_parks_one_poll_a_connection(void **state)
{
	agora_lace_config cfg = { .kind = AGORA_LACE_INFERENCE };
	agora_lace_server_opts o = { .workers = 1, .max_conns = 4 };
	agora_lace_client_opts co = { .timeout_ms = 2000 };
	agora_lace_server *s = NULL;
	agora_lace_client *c = NULL;
	agora_link *l = NULL;
	struct lace_enc e;
	char url[128], err[256];
	int64_t until;

	(void)state;
	url_for(url, sizeof(url), "pollflood");
	o.url = url;
	co.url = url;
	AGORA_PASS(agora_lace_server_new(&s, &cfg, &o, err, sizeof(err)));
	AGORA_PASS(agora_lace_server_register(s, "echo", echo, NULL));
	AGORA_PASS(agora_lace_server_start(s, err, sizeof(err)));
	AGORA_PASS(agora_link_open_now(&l, url, 2000, err, sizeof(err)));
	AGORA_PASS(lace_enc_build(&e,
	                          "\"op\":\"poll\",\"after\":0,"
	                          "\"wait_ms\":20000",
	                          NULL, false, err, sizeof(err)));
	atomic_store(&polls_answered, 0);
	for (int i = 0; i < 16; i++) {
		AGORA_PASS(agora_link_requestv(l, e.iov, e.niov, 30000,
		                               poll_answered, NULL));
	}
	lace_enc_fini(&e);
	/* Everyone else is still answered... */
	AGORA_PASS(agora_lace_client_open(&c, &cfg, &co, err, sizeof(err)));
	{
		agora_lace_msg *m = NULL;
		AGORA_PASS(
		    agora_lace_call(c, "echo", NULL, &m, err, sizeof(err)));
		agora_lace_msg_free(m);
	}
	agora_lace_client_close(c);
	/* ...and the flood's older polls were told "nothing" at once. */
	until = agora_now_ms() + 5000;
	while (atomic_load(&polls_answered) < 15 && agora_now_ms() < until) {
		agora_sleep_ms(10);
	}
	assert_int_equal(atomic_load(&polls_answered), 15);
	agora_link_close(l);
	agora_lace_server_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(an_observation_and_a_broadcast),
		cmocka_unit_test(
		    an_action_with_an_array_and_a_failing_callback),
		cmocka_unit_test(
		    inference_list_echo_greet_unknown_and_concurrency),
		cmocka_unit_test(
		    a_mismatched_client_is_refused_naming_the_difference),
		cmocka_unit_test(a_token_is_required_and_checked),
		cmocka_unit_test(off_loopback_needs_a_token),
		cmocka_unit_test(
		    a_timeout_is_an_error_and_a_restarted_server_answers),
		cmocka_unit_test(malformed_and_oversized_frames),
		cmocka_unit_test(tls_between_client_and_server),
		cmocka_unit_test(
		    the_token_is_checked_before_the_body_and_arrays),
		cmocka_unit_test(a_poll_flood_parks_one_poll_a_connection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
