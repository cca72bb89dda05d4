/* SPDX-License-Identifier: MIT */
/* Private to studio/: the studio, its runs and the handlers of each part.
 * Files bottom-up: scenarios.c (scenario files), run_msgs.c (a run's
 * event log and message events, a message's JSON), run.c (chat runs),
 * sessions.c (Redis reads), follow.c (the sessions' events), secrets.c
 * (what a server's words may not carry), servers.c (the Server Manager: the
 * server registry and requests to agent servers), tidy.c (what finished
 * runs hold, freed), studio.c (the server, the routes, the page token),
 * which calls the others and is called by none. */
#ifndef AGORA_STUDIO_INT_H
#define AGORA_STUDIO_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "agora/buf.h"
#include "agora/http.h"
#include "agora/studio.h"

#define STUDIO_RUNS_MAX 16 /* runs kept at once, live or done */
/* A finished run's events are kept this long (default run_keep_ms). */
#define STUDIO_RUN_KEEP_MS 60000

struct studio_run;
struct studio_follow;
struct studio_tidy;
struct agora_msg;

/* What the run and session handlers share with studio.c. */
struct studio_ctx {
	char *redis_url; /* a secret (may hold a password): never returned */
	char *dir;       /* --scenarios */
	/* --token-file's, sent to agent servers; never returned. Lent by
	 * the studio (NULL: none). */
	const char *server_token;
	pthread_mutex_t lock; /* runs[], next_run, server_urls */
	struct studio_run *runs[STUDIO_RUNS_MAX];
	unsigned next_run;
	/* The Server Manager's ids: "srv<i+1>" names server_urls[i], given
	 * on first sight in the registry and kept for the studio's life. */
	char **server_urls;
	size_t nserver_urls;
	struct studio_follow *follow; /* follow.c */
	struct studio_tidy *tidy;     /* tidy.c */
	/* A finished run's events are kept this long for late streams. */
	int64_t run_keep_ms;
};

/* ---- scenarios.c ---- */

/* Whether name is a scenario's name: "file.json" or "dir/file.json",
 * each part plain (no other '/', not starting with '.'). */
bool studio_file_ok(const char *name);
/* GET /api/scenarios */
void studio_scenarios(struct studio_ctx *ctx, agora_http_req *rq);
/* Append {"file","name","description","roles":[{"role","kind","human"}]}
 * for dir/file, or {"file","error"} when it does not parse; *human (may
 * be NULL) says whether want (may be NULL) is one of its human roles. */
void studio_scenario_info(const char *dir, const char *file, const char *want,
                          agora_buf *out, bool *human);

/* ---- run_msgs.c ---- */

/* One message as the page sees it: {"id","sent_from","send_to",
 * "content","round","time_ms","whisper"}. */
void studio_msg_json(agora_buf *b, const struct agora_msg *m);
/* Whether a run of this studio drives session now. */
bool studio_runs_live(struct studio_ctx *ctx, const char *session);
/* Tidy a finished run (tidy.c, under ctx->lock): ping its streams (those
 * the browser left are closed) and, keep_ms after its end, drop its kept
 * events but the last (`done`). True if it ended after since (ms,
 * agora_now_ms) or events were dropped: memory to give back. */
bool studio_run_tidy(struct studio_run *r, int64_t now, int64_t keep_ms,
                     int64_t since);

/* ---- run.c ---- */

/* POST /api/runs {"scenario","role"} or {"scenario","watch":true}. */
void studio_runs_start(struct studio_ctx *ctx, agora_http_req *rq);
/* GET /api/runs */
void studio_runs_list(struct studio_ctx *ctx, agora_http_req *rq);
/* GET /api/runs/ID/events, POST /api/runs/ID/input and /stop: rest is
 * the path after "/api/runs/". */
void studio_runs_op(struct studio_ctx *ctx, agora_http_req *rq,
                    const char *rest, bool post);
/* Stop every run and wait for their threads; free them. */
void studio_runs_close(struct studio_ctx *ctx);

/* ---- sessions.c ---- */

/* GET /api/sessions and /api/sessions/S/...: rest is the path after
 * "/api/sessions" ("" or "/S/messages" ...). */
void studio_sessions(struct studio_ctx *ctx, agora_http_req *rq,
                     const char *rest);

/* ---- secrets.c ---- */

/* Whether text holds the server token or the Redis URL's password. */
bool studio_secret_in(const struct studio_ctx *ctx, const char *text);

/* ---- servers.c ---- */

/* GET /api/servers, GET /api/servers/ID/agents and .../agents/ROLE/memory,
 * POST .../agents/ROLE/delete, .../delete-all, .../stop: rest is the path
 * after "/api/servers" ("" or "/ID/..."). */
void studio_servers(struct studio_ctx *ctx, agora_http_req *rq,
                    const char *rest, bool post);
/* Free the id table. */
void studio_servers_close(struct studio_ctx *ctx);
/* ---- follow.c ---- */

/* Start the follower thread and wait up to wait_ms for its subscription
 * (it keeps trying after that). Call studio_follow_stop even on error. */
agora_err studio_follow_start(struct studio_ctx *ctx, int64_t wait_ms);
/* GET /api/sessions/events */
void studio_follow_events(struct studio_ctx *ctx, agora_http_req *rq);
/* Stop the thread, close the streams, free. NULL follow is a no-op. */
void studio_follow_stop(struct studio_ctx *ctx);

/* ---- tidy.c ---- */

/* Start the tidying thread (finished runs' events, malloc_trim when
 * idle). Call studio_tidy_stop even on error. */
agora_err studio_tidy_start(struct studio_ctx *ctx);
/* A big answer went out: give freed memory back once it is quiet. Any
 * thread. */
void studio_tidy_note(struct studio_ctx *ctx);
/* Stop the thread, free. No tidy is a no-op. */
void studio_tidy_stop(struct studio_ctx *ctx);

#endif
