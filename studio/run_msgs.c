/* SPDX-License-Identifier: MIT */
/* The events of a chat run, kept and sent to its streams, and its
 * `message` events: after each reply's `end` (the reply
 * is stored then), each `awaiting_input` and before `done`, the run thread
 * reads the messages its session stored since the last time from the
 * history and sends each as a `message` event: id, sender, recipients,
 * whisper flag, and for a person's run whether their role heard it. The
 * page gives a reply's bubble its id from it, and shows a whisper the
 * person did not hear not at all (a watcher sees it marked). Read from the
 * history on the run's own thread, not from the follower's channel, so
 * every message comes once, in order, after the `end` of its reply and
 * before `done`. Also: a message as the page sees it, and whether a
 * session is driven by a run (`live`). The lowest of the run files: it
 * calls none of the others. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "run_int.h"

#define RUN_LOG_MAX  (4u << 20) /* event bytes kept for late streams */
#define RUN_MSGS_MAX 10000      /* read at once (more: on the next read) */

/* One message as the page sees it. */
void
studio_msg_json(agora_buf *b, const agora_msg *m)
{
	size_t i;
	bool whisper =
	    !(m->send_to.n == 1 && strcmp(m->send_to.v[0], AGORA_ALL) == 0);

	(void)agora_buf_addf(b, "{\"id\":%llu", (unsigned long long)m->id);
	(void)agora_buf_json_key(b, "sent_from");
	(void)agora_buf_json_str(b, m->sent_from, strlen(m->sent_from));
	(void)agora_buf_adds(b, ",\"send_to\":[");
	for (i = 0; i < m->send_to.n; i++) {
		if (i > 0) {
			(void)agora_buf_adds(b, ",");
		}
		(void)agora_buf_json_str(b, m->send_to.v[i],
		                         strlen(m->send_to.v[i]));
	}
	(void)agora_buf_adds(b, "]");
	(void)agora_buf_json_key(b, "content");
	(void)agora_buf_json_str(b, m->content, strlen(m->content));
	(void)agora_buf_addf(
	    b, ",\"round\":%u,\"time_ms\":%lld,\"whisper\":%s}", m->round,
	    (long long)m->ts_ms, whisper ? "true" : "false");
}

/* Send one event to every stream; a stream the browser left is closed
 * and dropped. Under run->lock. */
void
studio_run_send_locked(struct studio_run *r, const char *name, const char *data,
                       size_t len)
{
	size_t i = 0;

	while (i < r->nstreams) {
		if (agora_http_sse_send(r->streams[i], name, data, len) ==
		    AGORA_OK) {
			i++;
			continue;
		}
		agora_http_sse_close(r->streams[i]);
		r->nstreams--;
		r->streams[i] = r->streams[r->nstreams];
		r->watcher[i] = r->watcher[r->nstreams];
	}
	if (r->had_stream && studio_run_own_streams(r) == 0 &&
	    r->gone_ms == 0) {
		r->gone_ms = agora_now_ms();
	}
}

size_t
studio_run_own_streams(const struct studio_run *r)
{
	size_t own = 0;

	for (size_t i = 0; i < r->nstreams; i++) {
		own += r->watcher[i] ? 0 : 1;
	}
	return own;
}

/* Keep one event for late streams (while under the cap) and send it. */
void
studio_run_emit_locked(struct studio_run *r, const char *name, const char *data)
{
	size_t len = strlen(data);

	/* The end is kept past the cap: a late tab learns the run is over. */
	if (r->log_bytes + len <= RUN_LOG_MAX || strcmp(name, "done") == 0) {
		r->log = agora_realloc(r->log, (r->nlog + 1) * sizeof(*r->log));
		r->log[r->nlog].name = agora_strdup(name);
		r->log[r->nlog].data = agora_strdup(data);
		r->log[r->nlog].len = len;
		r->nlog++;
		r->log_bytes += len;
	}
	if (strcmp(name, "done") == 0) {
		r->done_ms = agora_now_ms();
	}
	studio_run_send_locked(r, name, data, len);
}

bool
studio_run_tidy(struct studio_run *r, int64_t now, int64_t keep_ms,
                int64_t since)
{
	bool freed;
	size_t i;

	pthread_mutex_lock(&r->lock);
	if (r->done_ms == 0) {
		pthread_mutex_unlock(&r->lock);
		return false;
	}
	freed = r->done_ms > since;
	studio_run_send_locked(r, "ping", "{}", 2);
	if (now - r->done_ms >= keep_ms && r->nlog > 1) {
		/* The last event is `done`: a late stream still learns the
		 * run is over. */
		for (i = 0; i + 1 < r->nlog; i++) {
			agora_free(r->log[i].name);
			agora_free(r->log[i].data);
		}
		r->log[0] = r->log[r->nlog - 1];
		r->log = agora_realloc(r->log, sizeof(*r->log));
		r->nlog = 1;
		r->log_bytes = r->log[0].len;
		freed = true;
	}
	pthread_mutex_unlock(&r->lock);
	return freed;
}

/* Whether role heard m: it is to all, to role, or from role. */
static bool
run_heard(const agora_msg *m, const char *role)
{
	return strcmp(m->sent_from, role) == 0 ||
	       agora_strv_has(&m->send_to, AGORA_ALL) ||
	       agora_strv_has(&m->send_to, role);
}

/* The messages after r->last_id, oldest first (into ms). */
static agora_err
run_msgs_read(struct studio_run *r, agora_msgs *ms)
{
	/* The page of the history after the last one sent (O(log n)). */
	return agora_env_history_after(r->menv, r->last_id, RUN_MSGS_MAX, ms);
}

static bool
run_msgs_open(struct studio_run *r)
{
	char err[256];

	if (r->menv != NULL) {
		return true;
	}
	if (agora_redis_open(&r->mr, r->redis_url, 0, err, sizeof(err)) !=
	        AGORA_OK ||
	    agora_env_open(&r->menv, r->mr, r->session, NULL) != AGORA_OK) {
		agora_log(AGORA_LOG_WARN, "studio", "run %s: messages: %s",
		          r->id,
		          r->mr != NULL ? agora_redis_errstr(r->mr) : err);
		studio_run_messages_fini(r);
		return false;
	}
	return true;
}

void
studio_run_messages(struct studio_run *r)
{
	agora_msgs ms = { 0 };
	agora_buf b;
	size_t i;

	if (!run_msgs_open(r)) {
		return;
	}
	if (run_msgs_read(r, &ms) != AGORA_OK) {
		agora_log(AGORA_LOG_WARN, "studio", "run %s: messages: %s",
		          r->id, agora_env_errstr(r->menv));
		agora_msgs_clear(&ms);
		return;
	}
	agora_buf_init(&b, 0);
	for (i = 0; i < ms.n; i++) {
		const agora_msg *m = ms.v[i];

		if (m->id <= r->last_id) {
			continue;
		}
		r->last_id = m->id;
		agora_buf_reset(&b);
		studio_msg_json(&b, m);
		if (r->role != NULL && b.len > 0) {
			b.len--; /* the closing brace */
			(void)agora_buf_addf(&b, ",\"heard\":%s}",
			                     run_heard(m, r->role) ? "true"
			                                           : "false");
		}
		pthread_mutex_lock(&r->lock);
		studio_run_emit_locked(r, "message", b.data);
		pthread_mutex_unlock(&r->lock);
	}
	agora_buf_fini(&b);
	agora_msgs_clear(&ms);
}

void
studio_run_messages_fini(struct studio_run *r)
{
	agora_env_close(r->menv);
	agora_redis_close(r->mr);
	r->menv = NULL;
	r->mr = NULL;
}

bool
studio_runs_live(struct studio_ctx *ctx, const char *session)
{
	bool live = false;

	pthread_mutex_lock(&ctx->lock);
	for (int i = 0; i < STUDIO_RUNS_MAX && !live; i++) {
		struct studio_run *r = ctx->runs[i];

		if (r == NULL || strcmp(r->session, session) != 0) {
			continue;
		}
		pthread_mutex_lock(&r->lock);
		live = r->state == RUN_RUNNING || r->state == RUN_AWAITING;
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_unlock(&ctx->lock);
	return live;
}
