/* SPDX-License-Identifier: MIT */
/* The studio's tidying thread: what a finished run or a big answer leaves
 * behind is given back while the studio is idle. A finished run's kept
 * events are dropped run_keep_ms after its end (its `done` stays, for a
 * stream opened later), the streams of finished runs are pinged so those
 * the browser left are closed, and once things are quiet (a second after
 * a run ended, events were dropped or a big answer went out) freed heap
 * goes back to the system with malloc_trim: glibc keeps what was freed in
 * its per-thread arenas otherwise. It wakes once a second and does
 * nothing else; it frees no run (run.c does, when a slot is needed). */
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "agora/alloc.h"
#include "agora/clock.h"
#include "studio_int.h"

#define TIDY_TICK_MS  1000
#define TIDY_QUIET_MS 1000 /* after a note, before malloc_trim */

struct studio_tidy {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool stop;
	bool want_trim;   /* a big answer went out (or a run ended) */
	int64_t noted_ms; /* when */
};

/* Give freed heap back to the system. */
static void
tidy_trim(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}

/* One pass over the runs: whether one ended since last or dropped its
 * events (memory to give back). */
static bool
tidy_runs(struct studio_ctx *ctx, int64_t now, int64_t last)
{
	bool freed = false;

	pthread_mutex_lock(&ctx->lock);
	for (int i = 0; i < STUDIO_RUNS_MAX; i++) {
		if (ctx->runs[i] != NULL &&
		    studio_run_tidy(ctx->runs[i], now, ctx->run_keep_ms,
		                    last)) {
			freed = true;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	return freed;
}

static void *
tidy_main(void *arg)
{
	struct studio_ctx *ctx = arg;
	struct studio_tidy *t = ctx->tidy;
	int64_t last = agora_now_ms();
	struct timespec ts;

	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		int64_t now = agora_now_ms();
		bool trim;

		pthread_mutex_unlock(&t->lock);
		trim = tidy_runs(ctx, now, last);
		last = now;
		pthread_mutex_lock(&t->lock);
		if (t->want_trim && now - t->noted_ms >= TIDY_QUIET_MS) {
			t->want_trim = false;
			trim = true;
		}
		if (trim) {
			pthread_mutex_unlock(&t->lock);
			tidy_trim();
			pthread_mutex_lock(&t->lock);
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += TIDY_TICK_MS / 1000;
		(void)pthread_cond_timedwait(&t->cv, &t->lock, &ts);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

agora_err
studio_tidy_start(struct studio_ctx *ctx)
{
	struct studio_tidy *t = agora_calloc(1, sizeof(*t));
	pthread_condattr_t ca;

	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &ca);
	pthread_condattr_destroy(&ca);
	ctx->tidy = t;
	if (pthread_create(&t->thread, NULL, tidy_main, ctx) != 0) {
		ctx->tidy = NULL;
		pthread_cond_destroy(&t->cv);
		pthread_mutex_destroy(&t->lock);
		agora_free(t);
		return AGORA_EINTERNAL;
	}
	return AGORA_OK;
}

void
studio_tidy_note(struct studio_ctx *ctx)
{
	struct studio_tidy *t = ctx->tidy;

	if (t == NULL) {
		return;
	}
	pthread_mutex_lock(&t->lock);
	t->want_trim = true;
	t->noted_ms = agora_now_ms();
	pthread_mutex_unlock(&t->lock);
}

void
studio_tidy_stop(struct studio_ctx *ctx)
{
	struct studio_tidy *t = ctx->tidy;

	if (t == NULL) {
		return;
	}
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->lock);
	agora_free(t);
	ctx->tidy = NULL;
}
