/* SPDX-License-Identifier: MIT */
/* Chat runs of agora studio: one thread per run drives agora_scenario_run
 * on a center of its own (a new session each time), turns every frame into
 * a named SSE event for the page, and answers the runner's `ask` with what
 * the page posts. Events are kept (up to RUN_LOG_MAX bytes) so a tab that
 * opens the stream late, or a second tab watching, sees the whole run. A
 * run whose last stream closes is left by its person (AGORA_ANSWER_QUIT, or
 * an interrupt mid-step, which gives the step's messages back). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/config.h"
#include "agora/json.h"
#include "agora/log.h"
#include "agora/random.h"
#include "agora/scenario.h"
#include "run_int.h"

#define RUN_INPUT_MAX (64u << 10)
#define RUN_PING_MS   1000
/* How long a finished run's stream may take to write what it holds. */
#define RUN_END_WAIT_MS 1000

static const char *const run_state_names[] = { "running", "awaiting", "done",
	                                       "failed" };

static void
run_emit(struct studio_run *r, const char *name, agora_buf *b)
{
	pthread_mutex_lock(&r->lock);
	studio_run_emit_locked(r, name, b->data != NULL ? b->data : "{}");
	pthread_mutex_unlock(&r->lock);
	agora_buf_reset(b);
}

/* The reply number of role's streaming reply (a new one if none); end
 * closes it. */
static unsigned
run_reply(struct studio_run *r, const char *role, bool end)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < r->nopen; i++) {
		if (strcmp(r->open[i].role, role) == 0) {
			n = r->open[i].reply;
			break;
		}
	}
	if (n == 0) {
		n = ++r->replies;
		if (!end && r->nopen < RUN_OPEN_MAX) {
			r->open[r->nopen].role = agora_strdup(role);
			r->open[r->nopen].reply = n;
			r->nopen++;
		}
		return n;
	}
	if (end) {
		agora_free(r->open[i].role);
		r->open[i] = r->open[--r->nopen];
	}
	return n;
}

/* Every tab of the run left a grace ago, or none came in the first
 * RUN_FIRST_STREAM_MS (on the run thread, between
 * its frames and steps): the run stops as if the person left; the running
 * step is interrupted and its messages go back. Under r->lock. */
static bool
run_left_since_grace(const struct studio_run *r)
{
	return r->gone_ms != 0 && studio_run_own_streams(r) == 0 &&
	       agora_now_ms() - r->gone_ms >=
	           (r->had_stream ? RUN_GONE_GRACE_MS : RUN_FIRST_STREAM_MS);
}

static void
run_left_locked(struct studio_run *r)
{
	if (r->quit || !run_left_since_grace(r)) {
		return;
	}
	r->quit = true;
	if (r->c != NULL) {
		(void)agora_center_interrupt(r->c);
	}
}

static void
run_on_frame(void *arg, const agora_frame *f)
{
	struct studio_run *r = arg;
	agora_buf b;
	/* `error` is EventSource's own event in the browser. */
	const char *name = f->type == AGORA_FRAME_ERROR
	                       ? "reply_error"
	                       : agora_frame_type_name(f->type);

	agora_buf_init(&b, 0);
	(void)agora_buf_adds(&b, "{");
	if (f->type != AGORA_FRAME_AWAITING_INPUT) {
		(void)agora_buf_addf(
		    &b, "\"reply\":%u",
		    run_reply(r, f->role, f->type != AGORA_FRAME_CHUNK));
	}
	(void)agora_buf_json_key(&b, "role");
	(void)agora_buf_json_str(&b, f->role, strlen(f->role));
	(void)agora_buf_addf(&b, ",\"round\":%u,\"seq\":%u", f->round, f->seq);
	if (f->type == AGORA_FRAME_CHUNK || f->type == AGORA_FRAME_ERROR) {
		(void)agora_buf_json_key(&b, "text");
		(void)agora_buf_json_str(&b, f->content, f->len);
	}
	if (f->type == AGORA_FRAME_END) {
		(void)agora_buf_json_key(&b, "finish");
		(void)agora_buf_json_str(&b, f->finish, strlen(f->finish));
		(void)agora_buf_addf(&b, ",\"tokens\":[%lld,%lld,%lld]",
		                     (long long)f->prompt_tokens,
		                     (long long)f->completion_tokens,
		                     (long long)f->total_tokens);
	}
	(void)agora_buf_adds(&b, "}");
	pthread_mutex_lock(&r->lock);
	/* The page opens its input box on this frame, before the runner
	 * asks (after the step): input is taken from now on. */
	if (f->type == AGORA_FRAME_AWAITING_INPUT && r->role != NULL &&
	    strcmp(f->role, r->role) == 0 && !r->quit) {
		r->state = RUN_AWAITING;
	}
	studio_run_emit_locked(r, name, b.data);
	run_left_locked(r);
	pthread_mutex_unlock(&r->lock);
	agora_buf_fini(&b);
	if (f->type == AGORA_FRAME_END ||
	    f->type == AGORA_FRAME_AWAITING_INPUT) {
		studio_run_messages(r); /* the reply is stored */
	}
}

static void
run_on_item(void *arg, const char *where, unsigned rep)
{
	struct studio_run *r = arg;
	agora_buf b;

	agora_buf_init(&b, 0);
	(void)agora_buf_adds(&b, "{");
	(void)agora_buf_json_key(&b, "where");
	(void)agora_buf_json_str(&b, where, strlen(where));
	(void)agora_buf_addf(&b, ",\"rep\":%u}", rep);
	run_emit(r, "item", &b);
	agora_buf_fini(&b);
}

/* A step begins: whom its replies go to ([] is all), before any chunk. */
static void
run_on_step(void *arg, const agora_step_opts *o)
{
	struct studio_run *r = arg;
	agora_buf b;

	/* What the script stored before the step (a task) comes first. */
	studio_run_messages(r);
	agora_buf_init(&b, 0);
	(void)agora_buf_adds(&b, "{\"send_to\":[");
	for (size_t i = 0; i < o->n_send_to; i++) {
		if (i > 0) {
			(void)agora_buf_adds(&b, ",");
		}
		(void)agora_buf_json_str(&b, o->send_to[i],
		                         strlen(o->send_to[i]));
	}
	(void)agora_buf_adds(&b, "]}");
	run_emit(r, "step", &b);
	agora_buf_fini(&b);
	pthread_mutex_lock(&r->lock);
	run_left_locked(r);
	pthread_mutex_unlock(&r->lock);
}

static void
run_on_loop_end(void *arg, const char *where, unsigned rounds,
                agora_loop_end why)
{
	static const char *const whys[] = { "quit", "max", "nobody" };
	struct studio_run *r = arg;
	agora_buf b;

	agora_buf_init(&b, 0);
	(void)agora_buf_adds(&b, "{");
	(void)agora_buf_json_key(&b, "where");
	(void)agora_buf_json_str(&b, where, strlen(where));
	(void)agora_buf_addf(&b, ",\"rounds\":%u,\"why\":\"%s\"}", rounds,
	                     whys[why]);
	run_emit(r, "loop_end", &b);
	agora_buf_fini(&b);
}

/* Whether the person is gone: a stop, or every stream of theirs the run
 * had is closed a grace ago, or none came (watchers' streams do not
 * count: a tab watching does not keep a closed tab's run going). Pings
 * the streams so a closed tab is seen while nothing else is sent. Under
 * run->lock. */
static bool
run_gone_locked(struct studio_run *r)
{
	studio_run_send_locked(r, "ping", "{}", 2);
	return r->quit || run_left_since_grace(r);
}

static void
run_deadline(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* The runner asks for role's words: wait for the page's input, a stop, or
 * the last stream to close. Only the run's own role is the person's. */
static agora_answer
run_ask(void *arg, const char *role, char **words)
{
	struct studio_run *r = arg;
	agora_answer said = AGORA_ANSWER_SKIP;
	struct timespec ts;

	if (r->role == NULL || strcmp(role, r->role) != 0) {
		return AGORA_ANSWER_SKIP;
	}
	pthread_mutex_lock(&r->lock);
	r->state = RUN_AWAITING; /* already, since the awaiting_input frame */
	for (;;) {
		if (r->has_input) {
			said = r->input != NULL ? AGORA_ANSWER_WORDS
			                        : AGORA_ANSWER_SKIP;
			*words = r->input;
			r->input = NULL;
			break;
		}
		if (run_gone_locked(r)) {
			said = AGORA_ANSWER_QUIT;
			r->quit = true;
			break;
		}
		run_deadline(&ts, RUN_PING_MS);
		(void)pthread_cond_timedwait(&r->cv, &r->lock, &ts);
	}
	r->has_input = false;
	r->state = RUN_RUNNING;
	pthread_mutex_unlock(&r->lock);
	return said;
}

static void
run_done(struct studio_run *r, agora_err rv, const char *err)
{
	agora_http_stream *ending[RUN_STREAMS_MAX];
	size_t nending;
	agora_buf b;

	studio_run_messages(r); /* the last ones, before "done" */
	studio_run_messages_fini(r);
	agora_buf_init(&b, 0);
	if (rv == AGORA_OK) {
		(void)agora_buf_adds(&b, "{\"ok\":true}");
	} else {
		(void)agora_buf_adds(&b, "{\"ok\":false,\"error\":");
		(void)agora_buf_json_str(&b, err, strlen(err));
		(void)agora_buf_adds(&b, "}");
	}
	pthread_mutex_lock(&r->lock);
	studio_run_emit_locked(r, "done", b.data);
	r->state = rv == AGORA_OK ? RUN_DONE : RUN_FAILED;
	/* The run's streams end once what they hold is written, "done"
	 * last (a late tab gets the replay and its end, run_events). */
	nending = r->nstreams;
	for (size_t i = 0; i < nending; i++) {
		ending[i] = r->streams[i];
	}
	r->nstreams = 0;
	pthread_mutex_unlock(&r->lock);
	for (size_t i = 0; i < nending; i++) {
		agora_http_sse_end(ending[i], RUN_END_WAIT_MS);
	}
	agora_buf_fini(&b);
}

/* Load, open a center on a new session, add the agents, run. */
static void *
run_main(void *arg)
{
	struct studio_run *r = arg;
	agora_scenario *s = NULL;
	agora_center *c = NULL;
	agora_config cfg;
	agora_run_hooks hooks = { .on_frame = run_on_frame,
		                  .ask = r->role != NULL ? run_ask : NULL,
		                  .on_item = run_on_item,
		                  .on_loop_end = run_on_loop_end,
		                  .on_step = run_on_step,
		                  .arg = r };
	agora_run_stats stats = { 0 };
	char err[1024] = "";
	agora_err rv;

	agora_config_init(&cfg);
	rv =
	    agora_config_set(&cfg, "redis.url", r->redis_url, err, sizeof(err));
	if (rv == AGORA_OK) {
		rv = agora_config_set(&cfg, "session", r->session, err,
		                      sizeof(err));
	}
	if (rv == AGORA_OK) {
		rv = agora_scenario_load(&s, r->path, err, sizeof(err));
	}
	if (rv == AGORA_OK) {
		rv = agora_center_new(&c, &cfg, err, sizeof(err));
	}
	if (rv == AGORA_OK) {
		rv = agora_scenario_add_agents(s, c, err, sizeof(err));
	}
	if (rv == AGORA_OK) {
		pthread_mutex_lock(&r->lock);
		r->c = c;
		if (r->quit) {
			(void)agora_center_interrupt(c);
		}
		pthread_mutex_unlock(&r->lock);
		rv = agora_scenario_run(s, c, &hooks, &stats, err, sizeof(err));
		pthread_mutex_lock(&r->lock);
		r->c = NULL;
		if (r->quit) {
			rv = AGORA_OK; /* the person left: a normal end */
		}
		pthread_mutex_unlock(&r->lock);
	}
	agora_center_free(c);
	agora_scenario_free(s);
	agora_config_fini(&cfg);
	run_done(r, rv, err);
	return NULL;
}

static void
run_free(struct studio_run *r)
{
	size_t i;

	if (r == NULL) {
		return;
	}
	for (i = 0; i < r->nlog; i++) {
		agora_free(r->log[i].name);
		agora_free(r->log[i].data);
	}
	for (i = 0; i < r->nopen; i++) {
		agora_free(r->open[i].role);
	}
	for (i = 0; i < r->nstreams; i++) {
		agora_http_sse_close(r->streams[i]);
	}
	agora_free(r->log);
	agora_free(r->input);
	agora_free(r->file);
	agora_free(r->path);
	agora_free(r->role);
	agora_free(r->redis_url);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->lock);
	agora_free(r);
}

/* Make room: free done runs nobody holds. Under ctx->lock. */
static int
runs_slot_locked(struct studio_ctx *ctx)
{
	int i;
	bool done;

	for (i = 0; i < STUDIO_RUNS_MAX; i++) {
		if (ctx->runs[i] == NULL) {
			return i;
		}
	}
	for (i = 0; i < STUDIO_RUNS_MAX; i++) {
		struct studio_run *r = ctx->runs[i];

		pthread_mutex_lock(&r->lock);
		done = r->state == RUN_DONE || r->state == RUN_FAILED;
		pthread_mutex_unlock(&r->lock);
		if (done && r->refs == 0) {
			pthread_join(r->thread, NULL);
			run_free(r);
			ctx->runs[i] = NULL;
			return i;
		}
	}
	return -1;
}

static struct studio_run *
run_new(struct studio_ctx *ctx, const char *file, const char *role)
{
	struct studio_run *r = agora_calloc(1, sizeof(*r));
	pthread_condattr_t ca;
	agora_buf p;
	char hex[17];

	r->gone_ms = agora_now_ms(); /* no stream yet */
	agora_buf_init(&p, 0);
	(void)agora_buf_addf(&p, "%s/%s", ctx->dir, file);
	r->path = agora_buf_steal(&p);
	r->file = agora_strdup(file);
	r->role = role != NULL ? agora_strdup(role) : NULL;
	r->redis_url = agora_strdup(ctx->redis_url);
	if (agora_random_hex(hex, sizeof(hex), 8) != AGORA_OK) {
		hex[0] = '\0';
	}
	snprintf(r->session, sizeof(r->session), "studio-%s", hex);
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	return r;
}

/* ---- handlers ---- */

void
studio_runs_start(struct studio_ctx *ctx, agora_http_req *rq)
{
	agora_json *doc = NULL;
	const char *body = agora_http_body(rq, NULL);
	const char *file;
	const char *role;
	bool watch;
	bool human = false;
	struct studio_run *r = NULL;
	agora_buf b;
	int slot;

	agora_buf_init(&b, 0);
	if (agora_json_parse(&doc, body, strlen(body), 1u << 16, 8, NULL, 0) !=
	    AGORA_OK) {
		agora_http_error(rq, 400, "body: not JSON");
		goto out;
	}
	file = agora_json_str(agora_json_get(doc, "scenario"));
	role = agora_json_str(agora_json_get(doc, "role"));
	watch = agora_json_bool(agora_json_get(doc, "watch"));
	if (file == NULL || !studio_file_ok(file)) {
		agora_http_error(rq, 404, "no such scenario");
		goto out;
	}
	studio_scenario_info(ctx->dir, file, role, &b, &human);
	if (strstr(b.data, "\"error\":") != NULL &&
	    strstr(b.data, "\"roles\":") == NULL) {
		agora_http_error(rq, 404, "no such scenario");
		goto out;
	}
	if (!watch && (role == NULL || !human)) {
		agora_http_error(rq, 400,
		                 "role: not a human role of the "
		                 "scenario (or give \"watch\": true)");
		goto out;
	}
	r = run_new(ctx, file, watch ? NULL : role);
	pthread_mutex_lock(&ctx->lock);
	slot = runs_slot_locked(ctx);
	if (slot >= 0) {
		snprintf(r->id, sizeof(r->id), "r%u", ++ctx->next_run);
		if (pthread_create(&r->thread, NULL, run_main, r) != 0) {
			slot = -1;
		} else {
			ctx->runs[slot] = r;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	if (slot < 0) {
		run_free(r);
		agora_http_error(rq, 503, "too many runs");
		goto out;
	}
	agora_buf_reset(&b);
	(void)agora_buf_addf(&b, "{\"run\":\"%s\",\"session\":\"%s\"}", r->id,
	                     r->session);
	agora_http_reply_json(rq, 201, b.data);
out:
	agora_json_free(doc);
	agora_buf_fini(&b);
}

void
studio_runs_list(struct studio_ctx *ctx, agora_http_req *rq)
{
	agora_buf b;
	int i;

	agora_buf_init(&b, 0);
	(void)agora_buf_adds(&b, "{\"runs\":[");
	pthread_mutex_lock(&ctx->lock);
	for (i = 0; i < STUDIO_RUNS_MAX; i++) {
		struct studio_run *r = ctx->runs[i];

		if (r == NULL) {
			continue;
		}
		(void)agora_buf_addf(&b, "%s{\"run\":\"%s\",\"session\":\"%s\"",
		                     b.data[b.len - 1] == '[' ? "" : ",", r->id,
		                     r->session);
		(void)agora_buf_json_key(&b, "scenario");
		(void)agora_buf_json_str(&b, r->file, strlen(r->file));
		(void)agora_buf_json_key(&b, "role");
		if (r->role != NULL) {
			(void)agora_buf_json_str(&b, r->role, strlen(r->role));
		} else {
			(void)agora_buf_adds(&b, "null");
		}
		pthread_mutex_lock(&r->lock);
		(void)agora_buf_addf(&b, ",\"state\":\"%s\"}",
		                     run_state_names[r->state]);
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_unlock(&ctx->lock);
	(void)agora_buf_adds(&b, "]}");
	agora_http_reply_json(rq, 200, b.data);
	agora_buf_fini(&b);
}

/* Replay the run's events to a new stream and keep it. With ?watch=1 the
 * stream is a watcher's: its closing never stops the run. */
static void
run_events(struct studio_run *r, agora_http_req *rq)
{
	const char *w = agora_http_query(rq, "watch");
	bool watcher = w != NULL && strcmp(w, "1") == 0;
	agora_http_stream *st;
	size_t i;
	bool keep;

	st = agora_http_sse(rq);
	if (st == NULL) {
		return;
	}
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->nlog; i++) {
		(void)agora_http_sse_send(st, r->log[i].name, r->log[i].data,
		                          r->log[i].len);
	}
	/* A finished run's stream ends once the replay is written. */
	keep = r->nstreams < RUN_STREAMS_MAX && r->state != RUN_DONE &&
	       r->state != RUN_FAILED;
	if (keep) {
		r->watcher[r->nstreams] = watcher;
		r->streams[r->nstreams++] = st;
		if (!watcher) {
			r->had_stream = true;
			r->gone_ms = 0;
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (!keep) {
		agora_http_sse_end(st, RUN_END_WAIT_MS);
	}
}

static void
run_input(struct studio_run *r, agora_http_req *rq)
{
	agora_json *doc = NULL;
	size_t len;
	const char *body = agora_http_body(rq, &len);
	const char *words;

	if (agora_json_parse_utf8(&doc, body, len, RUN_INPUT_MAX + 1024, 8,
	                          NULL, 0) != AGORA_OK) {
		agora_http_error(rq, 400, "body: not JSON");
		return;
	}
	words = agora_json_str(agora_json_get(doc, "words"));
	if (words == NULL || strlen(words) > RUN_INPUT_MAX) {
		agora_json_free(doc);
		agora_http_error(rq, 400, "words: a string of at most 64 KiB");
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (r->state != RUN_AWAITING || r->has_input) {
		pthread_mutex_unlock(&r->lock);
		agora_json_free(doc);
		agora_http_error(rq, 409, "the run is not waiting for input");
		return;
	}
	r->input = words[0] != '\0' ? agora_strdup(words) : NULL;
	r->has_input = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->lock);
	agora_json_free(doc);
	agora_http_reply_json(rq, 200, "{\"ok\":true}");
}

/* The person leaves: asked, the answer is QUIT; mid-step, the step is
 * interrupted (its messages go back). */
static void
run_stop(struct studio_run *r)
{
	pthread_mutex_lock(&r->lock);
	r->quit = true;
	if (r->c != NULL && r->state != RUN_AWAITING) {
		(void)agora_center_interrupt(r->c);
	}
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->lock);
}

void
studio_runs_op(struct studio_ctx *ctx, agora_http_req *rq, const char *rest,
               bool post)
{
	struct studio_run *r = NULL;
	const char *slash = strchr(rest, '/');
	size_t idlen = slash != NULL ? (size_t)(slash - rest) : 0;
	int i;

	pthread_mutex_lock(&ctx->lock);
	for (i = 0; i < STUDIO_RUNS_MAX && slash != NULL; i++) {
		if (ctx->runs[i] != NULL && strlen(ctx->runs[i]->id) == idlen &&
		    memcmp(ctx->runs[i]->id, rest, idlen) == 0) {
			r = ctx->runs[i];
			r->refs++;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	if (r == NULL) {
		agora_http_error(rq, 404, "no such run");
		return;
	}
	if (!post && strcmp(slash, "/events") == 0) {
		run_events(r, rq);
	} else if (post && strcmp(slash, "/input") == 0) {
		run_input(r, rq);
	} else if (post && strcmp(slash, "/stop") == 0) {
		run_stop(r);
		agora_http_reply_json(rq, 200, "{\"ok\":true}");
	} else {
		agora_http_error(rq, 404, "no such run operation");
	}
	pthread_mutex_lock(&ctx->lock);
	r->refs--;
	pthread_mutex_unlock(&ctx->lock);
}

void
studio_runs_close(struct studio_ctx *ctx)
{
	int i;

	for (i = 0; i < STUDIO_RUNS_MAX; i++) {
		if (ctx->runs[i] != NULL) {
			run_stop(ctx->runs[i]);
		}
	}
	for (i = 0; i < STUDIO_RUNS_MAX; i++) {
		if (ctx->runs[i] != NULL) {
			pthread_join(ctx->runs[i]->thread, NULL);
			run_free(ctx->runs[i]);
			ctx->runs[i] = NULL;
		}
	}
}
