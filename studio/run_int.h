/* SPDX-License-Identifier: MIT */
/* Private to run.c and run_msgs.c: a chat run of agora studio. */
#ifndef AGORA_STUDIO_RUN_INT_H
#define AGORA_STUDIO_RUN_INT_H

#include <stdint.h>

#include "agora/env.h"
#include "agora/taskcenter.h"
#include "studio_int.h"

#define RUN_STREAMS_MAX 8  /* streams on one run */
#define RUN_OPEN_MAX    64 /* roles with a reply streaming at once */
/* A run whose every tab left stops after this (a reload comes back). */
#define RUN_GONE_GRACE_MS 1000
/* A run no tab ever followed stops after this (the tab closed at once). */
#define RUN_FIRST_STREAM_MS 10000

enum run_state { RUN_RUNNING, RUN_AWAITING, RUN_DONE, RUN_FAILED };

struct run_event {
	char *name;
	char *data;
	size_t len;
};

struct open_reply {
	char *role;
	unsigned reply;
};

struct studio_run {
	char id[16];
	char *file;
	char *path;
	char *role; /* NULL: a watcher */
	char *redis_url;
	char session[80];
	pthread_t thread;
	bool joined;
	unsigned refs; /* handlers using it (ctx->lock) */
	/* The rest under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cv;
	enum run_state state;
	bool quit;
	bool has_input;
	char *input; /* NULL with has_input: skip */
	agora_center *c;
	struct run_event *log;
	size_t nlog;
	size_t log_bytes;
	agora_http_stream *streams[RUN_STREAMS_MAX];
	/* Opened with ?watch=1 (another tab watching): such a stream does
	 * not keep the run's person present. */
	bool watcher[RUN_STREAMS_MAX];
	size_t nstreams;
	bool had_stream; /* a stream of the person's was opened */
	int64_t gone_ms; /* since when no stream of the person's is open
	                    (0: one is) */
	int64_t done_ms; /* agora_now_ms of `done` (0: not yet) */
	/* The run thread's alone: replies streaming now, by role. */
	struct open_reply open[RUN_OPEN_MAX];
	size_t nopen;
	unsigned replies;
	/* run_msgs.c's, on the run thread: its own connection, and the last
	 * message id sent as a `message` event. */
	agora_redis *mr;
	agora_env *menv;
	uint64_t last_id;
};

/* Send one event to every stream of the run; a stream the browser left is
 * closed and dropped. Under r->lock. */
void studio_run_send_locked(struct studio_run *r, const char *name,
                            const char *data, size_t len);
/* The run's streams that are the person's (not watchers'). Under
 * r->lock. */
size_t studio_run_own_streams(const struct studio_run *r);
/* Keep one event for late streams (while under the cap) and send it to
 * the run's streams. Under r->lock. */
void studio_run_emit_locked(struct studio_run *r, const char *name,
                            const char *data);

/* run_msgs.c: send the session's messages stored since the last call as
 * `message` events (run thread only). */
void studio_run_messages(struct studio_run *r);
/* Close run_msgs.c's connection (run thread, or after it ended). */
void studio_run_messages_fini(struct studio_run *r);

#endif
