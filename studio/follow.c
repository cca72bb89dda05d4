/* SPDX-License-Identifier: MIT */
/* The studio's follower: GET /api/sessions/events, every message stored in
 * any session of the Redis, from this studio's runs or from an `agora run`
 * in another process. One thread holds one Redis connection in pub/sub
 * mode (PSUBSCRIBE on the Environment's events channels, agora:{S}:events,
 * whose messages are the stored message's JSON, id included) and fans each
 * message out to the open streams (at most FOLLOW_STREAMS_MAX): one Redis
 * subscriber for the whole studio, however many tabs. A stream the browser
 * left is dropped at the next event or ping. When Redis goes away the
 * thread dials again with backoff and subscribes again; each subscription
 * sends `ready` to the streams, so a page can fetch from the history what
 * it missed in between (nothing here replays). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "agora/msg.h"
#include "redis_cmd.h"
#include "studio_int.h"

#define FOLLOW_STREAMS_MAX 32
#define FOLLOW_PATTERN     "agora:{*}:events"
#define FOLLOW_TICK_MS     200   /* how soon a stop is seen */
#define FOLLOW_PING_MS     5000  /* SSE pings (drop left tabs), Redis PING */
#define FOLLOW_DEAD_MS     10000 /* no PONG this long: dial again */
#define FOLLOW_BACKOFF_MAX 2000

struct studio_follow {
	char *url; /* a secret */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock; /* the rest */
	pthread_cond_t cv;
	bool stop;
	bool subscribed;
	agora_http_stream *streams[FOLLOW_STREAMS_MAX];
	size_t nstreams;
};

/* Send one event to every stream, dropping those that fail (lock held). */
static void
follow_send_locked(struct studio_follow *f, const char *name, const char *data)
{
	size_t len = strlen(data);
	size_t i = 0;

	while (i < f->nstreams) {
		if (agora_http_sse_send(f->streams[i], name, data, len) ==
		    AGORA_OK) {
			i++;
			continue;
		}
		agora_http_sse_close(f->streams[i]);
		f->streams[i] = f->streams[--f->nstreams];
	}
}

/* "agora:{S}:events" -> S into s; false if it is not one. */
static bool
follow_session(const char *ch, size_t len, char *s, size_t slen)
{
	const char pre[] = "agora:{";
	const char post[] = "}:events";
	size_t np = sizeof(pre) - 1;
	size_t nq = sizeof(post) - 1;

	if (ch == NULL || len <= np + nq || len - np - nq >= slen ||
	    memcmp(ch, pre, np) != 0 || memcmp(ch + len - nq, post, nq) != 0) {
		return false;
	}
	memcpy(s, ch + np, len - np - nq);
	s[len - np - nq] = '\0';
	return true;
}

/* One pub/sub reply: a pmessage goes out as `message`; the rest (PONG,
 * confirmations) only says the connection lives. */
static void
follow_dispatch(struct studio_follow *f, const agora_reply *rep)
{
	const char *kind;
	const char *ch;
	const char *body;
	size_t klen = 0, clen = 0, blen = 0;
	char s[80];
	char err[128];
	agora_msg *m = NULL;
	agora_buf b;

	if (agora__reply_type(rep) != AGORA_REPLY_ARRAY ||
	    agora__reply_len(rep) != 4) {
		return;
	}
	kind = agora__reply_str(agora__reply_at(rep, 0), &klen);
	ch = agora__reply_str(agora__reply_at(rep, 2), &clen);
	body = agora__reply_str(agora__reply_at(rep, 3), &blen);
	if (kind == NULL || klen != 8 || memcmp(kind, "pmessage", 8) != 0 ||
	    body == NULL || !follow_session(ch, clen, s, sizeof(s)) ||
	    agora_msg_decode(&m, body, blen, err, sizeof(err)) != AGORA_OK) {
		return;
	}
	agora_buf_init(&b, 0);
	(void)agora_buf_adds(&b, "{");
	(void)agora_buf_json_key(&b, "session");
	(void)agora_buf_json_str(&b, s, strlen(s));
	(void)agora_buf_adds(&b, ",\"message\":");
	studio_msg_json(&b, m);
	(void)agora_buf_adds(&b, "}");
	pthread_mutex_lock(&f->lock);
	follow_send_locked(f, "message", b.data);
	pthread_mutex_unlock(&f->lock);
	agora_buf_fini(&b);
	agora_msg_free(m);
}

/* Wait ms or until stopped; true if stopped. */
static bool
follow_pause(struct studio_follow *f, int64_t ms)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->lock);
	if (!f->stop) {
		(void)pthread_cond_timedwait(&f->cv, &f->lock, &ts);
	}
	stop = f->stop;
	pthread_mutex_unlock(&f->lock);
	return stop;
}

static void
follow_set_subscribed(struct studio_follow *f, bool yes)
{
	pthread_mutex_lock(&f->lock);
	f->subscribed = yes;
	if (yes) {
		follow_send_locked(f, "ready", "{}");
	}
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->lock);
}

/* Dial and subscribe; NULL (and a warning once) if Redis is not there. */
static agora_redis *
follow_dial(struct studio_follow *f, bool *warned)
{
	agora_redis *r = NULL;
	char err[256];

	if (agora_redis_open(&r, f->url, 2000, err, sizeof(err)) == AGORA_OK &&
	    agora__redis_cmdv(r, NULL, "PSUBSCRIBE", FOLLOW_PATTERN, NULL) ==
	        AGORA_OK) {
		if (*warned) {
			agora_log(AGORA_LOG_INFO, "studio",
			          "following the sessions again");
		}
		*warned = false;
		follow_set_subscribed(f, true);
		return r;
	}
	if (!*warned) {
		/* err and errstr name the URL without its password. */
		agora_log(AGORA_LOG_WARN, "studio",
		          "cannot follow the sessions: %s",
		          r != NULL ? agora_redis_errstr(r) : err);
	}
	*warned = true;
	agora_redis_close(r);
	return NULL;
}

/* Every FOLLOW_PING_MS: ping the streams (a left tab is dropped) and
 * Redis (no answer for FOLLOW_DEAD_MS: the connection is dead). False if
 * the connection should be dropped. */
static bool
follow_tick(struct studio_follow *f, agora_redis *r, int64_t now,
            int64_t last_rx, int64_t *last_ping)
{
	static const char *const ping[] = { "PING" };

	if (now - *last_ping < FOLLOW_PING_MS) {
		return true;
	}
	*last_ping = now;
	pthread_mutex_lock(&f->lock);
	follow_send_locked(f, "ping", "{}");
	pthread_mutex_unlock(&f->lock);
	if (now - last_rx > FOLLOW_DEAD_MS) {
		agora_log(
		    AGORA_LOG_WARN, "studio",
		    "the sessions' subscriber got no PONG: dialling again");
		return false;
	}
	return agora__redis_append(r, 1, ping, NULL) == AGORA_OK;
}

static void *
follow_main(void *arg)
{
	struct studio_follow *f = arg;
	agora_redis *r = NULL;
	int64_t backoff = 50;
	int64_t last_rx = 0, last_ping = 0;
	bool warned = false;

	while (!follow_pause(f, 0)) {
		agora_reply *rep = NULL;
		agora_err rv;

		if (r == NULL) {
			r = follow_dial(f, &warned);
			if (r == NULL) {
				(void)follow_pause(f, backoff);
				backoff = backoff * 2 > FOLLOW_BACKOFF_MAX
				              ? FOLLOW_BACKOFF_MAX
				              : backoff * 2;
				continue;
			}
			backoff = 50;
			last_rx = last_ping = agora_now_ms();
		}
		rv = agora__redis_read_wait(r, &rep, FOLLOW_TICK_MS);
		if (rv == AGORA_OK) {
			last_rx = agora_now_ms();
			follow_dispatch(f, rep);
			agora__reply_free(rep);
		}
		if ((rv != AGORA_OK && rv != AGORA_ETIMEDOUT) ||
		    !follow_tick(f, r, agora_now_ms(), last_rx, &last_ping)) {
			if (rv != AGORA_OK && rv != AGORA_ETIMEDOUT) {
				agora_log(AGORA_LOG_WARN, "studio",
				          "the sessions' subscriber: %s",
				          agora_redis_errstr(r));
			}
			follow_set_subscribed(f, false);
			agora_redis_close(r);
			r = NULL;
		}
	}
	agora_redis_close(r);
	return NULL;
}

agora_err
studio_follow_start(struct studio_ctx *ctx, int64_t wait_ms)
{
	struct studio_follow *f = agora_calloc(1, sizeof(*f));
	pthread_condattr_t ca;
	int64_t until = agora_now_ms() + wait_ms;

	f->url = agora_strdup(ctx->redis_url);
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cv, &ca);
	pthread_condattr_destroy(&ca);
	ctx->follow = f;
	if (pthread_create(&f->thread, NULL, follow_main, f) != 0) {
		return AGORA_EINTERNAL;
	}
	f->started = true;
	/* Wait (a little) for the subscription, so that what a run of this
	 * studio stores from now on is seen. */
	pthread_mutex_lock(&f->lock);
	while (!f->subscribed && agora_now_ms() < until) {
		pthread_mutex_unlock(&f->lock);
		(void)follow_pause(f, 20);
		pthread_mutex_lock(&f->lock);
	}
	pthread_mutex_unlock(&f->lock);
	return AGORA_OK;
}

void
studio_follow_events(struct studio_ctx *ctx, agora_http_req *rq)
{
	struct studio_follow *f = ctx->follow;
	agora_http_stream *st;
	bool full;

	pthread_mutex_lock(&f->lock);
	full = f->nstreams == FOLLOW_STREAMS_MAX;
	pthread_mutex_unlock(&f->lock);
	if (full) {
		agora_http_error(rq, 503, "too many session streams");
		return;
	}
	st = agora_http_sse(rq);
	if (st == NULL) {
		return;
	}
	pthread_mutex_lock(&f->lock);
	if (f->nstreams == FOLLOW_STREAMS_MAX || f->stop) {
		agora_http_sse_close(st); /* filled up meanwhile */
	} else {
		f->streams[f->nstreams++] = st;
		if (f->subscribed) {
			(void)agora_http_sse_send(st, "ready", "{}", 2);
		}
	}
	pthread_mutex_unlock(&f->lock);
}

void
studio_follow_stop(struct studio_ctx *ctx)
{
	struct studio_follow *f = ctx->follow;

	if (f == NULL) {
		return;
	}
	pthread_mutex_lock(&f->lock);
	f->stop = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->lock);
	if (f->started) {
		pthread_join(f->thread, NULL);
	}
	for (size_t i = 0; i < f->nstreams; i++) {
		agora_http_sse_close(f->streams[i]);
	}
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->lock);
	agora_free(f->url);
	agora_free(f);
	ctx->follow = NULL;
}
