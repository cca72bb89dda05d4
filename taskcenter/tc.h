/* SPDX-License-Identifier: MIT */
/* Private to taskcenter/: the agent, turn, step and center structs, the
 * backend interface, and what the folder's files call of each other. The
 * files, from the bottom up; each calls only files above it here:
 *   agent.c       kinds and agents
 *   frame.c       frames (public: render, JSON, decode)
 *   roles.c       the center's role -> agent table
 *   frameq.c      a step's queue of frames ready to read
 *   timers.c      a step's timer heap (agora_turn_after)
 *   turn.c        the turn API kinds and backends use
 *   server_link.c one agent server as the center sees it: requests, the
 *                 long poll, events routed by id, loss of the server
 *   place.c       placement: child servers, auto, creating agents there
 *   remote.c      the backend for agents on agent servers
 *   call.c        direct calls and futures
 *   local.c       the backend for agents in this process
 *   commit.c      a round's ended turns written to Redis in a few trips
 *   step.c        the round driver: agora_center_step, agora_step_next
 *   center.c      the center: session, agents, tasks
 * The step driver knows where agents run only through struct
 * agora_backend. */
#ifndef AGORA_TC_H
#define AGORA_TC_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "agora/agent.h"
#include "agora/log.h"
#include "agora/taskcenter.h"

struct server_link;

/* Where an agent's turns run. The step driver hands each backend, once a
 * round, the turns of its agents that act, and ends turns only through the
 * turn API (turn.c); it names no backend. */
struct agora_backend {
	const char *name;
	/* Lower begins first: work sent to servers starts before local
	 * agents drain, so both proceed at once. */
	int order;
	/* Start n turns (state TURN_WAITING) of this round. Each is started
	 * with agora__turn_start and ended later through the turn API, on
	 * the step's thread (from another thread: agora_turn_post). */
	void (*begin)(agora_step *st, agora_turn **turns, size_t n);
	/* A running turn is abandoned (deadline, interrupt, step freed):
	 * stop its work now; nothing may touch the turn afterwards. */
	void (*cancel)(agora_turn *t);
	/* The step is being freed: nothing may post for its turns again. */
	void (*detach)(agora_step *st);
};

extern const struct agora_backend agora__local_backend;
extern const struct agora_backend agora__remote_backend;

struct agora_agent {
	char *role;
	const agora_kind *kind; /* NULL: the kind runs on an agent server */
	void *state;
	bool human;
	bool watcher;
	size_t index;    /* registration order in its center */
	uint64_t picked; /* the last step that picked it (dedupe) */
	/* The status this process last wrote for it in the registry (idle
	 * when added): a memoryless agent still idle is not written again. */
	agora_agent_status shown;
	const struct agora_backend *backend; /* set by the center */
	/* Remote agents: the kind's name, options and placement are kept to
	 * create it on its server, again after a restart. */
	char *kind_name;
	char *options;   /* JSON text, or NULL */
	char *placement; /* child, auto, or an address */
	struct server_link *srv;
};

enum turn_state {
	TURN_WAITING, /* not started this round */
	TURN_RUNNING, /* started, not ended */
	TURN_DONE,    /* ended; commit pending or done */
	TURN_FAILED,  /* failed; requeue pending or done */
	TURN_SKIPPED, /* does not act this round */
};

struct agora_turn {
	agora_step *step;
	agora_agent *agent;
	enum turn_state state;
	uint32_t round;
	uint32_t seq;      /* next frame seq of this role in the step */
	agora_msgs inputs; /* what it reads this round */
	agora_msgs memory; /* its memory before this turn, if the kind asks */
	uint32_t gen;      /* turns started; posts carry it (under st lock) */
	agora_buf reply;   /* chunks joined */
	bool drained;      /* holds in-flight messages */
	bool committed;    /* done/failed handled in Redis */
	bool published_human; /* a human's response went out this step */
	/* Its backend stores the reply and keeps the agent's status (an agent
	 * server does); the step commits only a lost turn's messages. */
	bool stored_elsewhere;
	bool lost; /* where it ran is gone: messages back, agent offline */
	/* The model's account (agora_turn_set_usage), for the end frame. */
	char finish[32];
	int64_t tokens[3]; /* prompt, completion, total; -1 unknown */
	/* The one pending callback, in the step's timer heap. */
	int64_t due;
	void (*fn)(void *state, agora_turn *t);
	size_t heap_index; /* SIZE_MAX when not in the heap */
};

/* A role -> agent table (open addressing). */
struct role_map {
	agora_agent **slots;
	size_t cap; /* power of two */
	size_t n;
};

struct agora_center {
	agora_redis_server *embedded; /* NULL when given a URL */
	agora_redis *redis;
	agora_env *env;
	agora_registry *reg;
	char *session;
	char *location;       /* where agents added here run (registry) */
	agora_agent **agents; /* registration order */
	size_t nagents;
	struct role_map map;
	int64_t deadline_ms;
	int64_t drain_max;  /* a drain's page */
	int64_t turn_max;   /* what one turn may read in all */
	int64_t fanout_max; /* deliveries one step may make */
	int64_t beat_ms;    /* a step says its owner lives this often */
	uint64_t steps;     /* steps started, to stamp picked agents */
	/* The running step; set and cleared under active_lock, so that
	 * another thread may interrupt it (agora_center_interrupt). */
	agora_step *active;
	pthread_mutex_t active_lock;
	bool interrupted; /* under active_lock: no step starts after it */
	struct server_link **srvs; /* agent servers in use */
	size_t nsrvs;
	uint64_t dispatches; /* ids of step requests and calls */
	char *server_program;
	char *server_log;
	char *ipc_dir;      /* children's sockets: a 0700 directory of ours */
	agora_strv plugins; /* for child servers */
	char *token;
	int64_t server_timeout_ms;
	int64_t redis_timeout_ms; /* child servers are given it */
	int64_t children;         /* server.children */
	char errstr[512];
};

enum step_phase { PHASE_BEGIN, PHASE_RUN, PHASE_END };

/* A callback posted from another thread, run on the step's thread. */
struct post {
	agora_turn *t;
	uint32_t gen;
	void (*fn)(void *state, agora_turn *t, void *arg);
	void *arg;
	void (*free_arg)(void *arg);
	struct post *next;
};

#define STEP_MAX_BACKENDS 4
/* The most a reply may hold: half a message, room for the envelope. */
#define TURN_REPLY_MAX (AGORA_MSG_MAX_BYTES / 2)

struct agora_step {
	agora_center *c;
	agora_strv roles; /* acting roles, registration order */
	agora_turn *turns;
	size_t nturns;
	const struct agora_backend *backends[STEP_MAX_BACKENDS];
	size_t nbackends; /* those of its agents, begin order */
	agora_strv send_to;
	char *task;
	char *user_response;
	char *llm_args;
	bool human_auto;
	bool direct;      /* direct calls: inputs given, replies go nowhere */
	bool interrupted; /* agora_step_interrupt; under lock */
	uint32_t rounds;
	uint32_t round;
	int64_t deadline;
	int64_t deadline_ms;
	int64_t next_beat; /* when the owner says it is alive again */
	enum step_phase phase;
	size_t open; /* turns of this round not yet committed */

	agora_frame *q; /* frames ready, a ring (frameq.c) */
	size_t qhead, qlen, qcap;
	agora_frame cur; /* the frame lent by the last next() */

	agora_turn **finished; /* ended, not yet committed */
	size_t nfinished, capfinished;

	agora_turn **heap; /* pending callbacks, earliest first */
	size_t nheap, capheap;

	pthread_mutex_t lock; /* guards posts and turn gens */
	pthread_cond_t wake;  /* signalled on a post; monotonic clock */
	struct post *posts, *posts_tail;

	agora_err err;
	char errstr[512];
};

/* ---- small helpers every file may use ---------------------------------- */

static inline void tc_set_err(agora_center *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void
tc_set_err(agora_center *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->errstr, sizeof(c->errstr), fmt, ap);
	va_end(ap);
}

/* The step ends with rv; what failed and why are kept for errstr. */
static inline agora_err
tc_step_fail(agora_step *st, agora_err rv, const char *what, const char *detail)
{
	st->err = rv;
	snprintf(st->errstr, sizeof(st->errstr), "%s: %s", what, detail);
	agora_log(AGORA_LOG_INFO, "step", "%s", st->errstr);
	return rv;
}

/* ---- roles.c ------------------------------------------------------------- */

void agora__roles_insert(struct role_map *m, agora_agent *a);
agora_agent *agora__roles_find(const struct role_map *m, const char *role);
void agora__roles_fini(struct role_map *m);

/* ---- frameq.c ------------------------------------------------------------ */

/* Queue a frame of t's role; content is copied. */
void agora__frameq_push(agora_step *st, agora_turn *t, agora_frame_type type,
                        const char *content, size_t len);
/* Lend the oldest frame through st->cur (freed at the next pop), or NULL. */
const agora_frame *agora__frameq_pop(agora_step *st);
void agora__frameq_fini(agora_step *st);

/* ---- timers.c ------------------------------------------------------------ */

void agora__timer_add(agora_step *st, agora_turn *t);
void agora__timer_remove(agora_step *st, agora_turn *t);
/* The turn whose callback is due first, or NULL. */
agora_turn *agora__timer_first(const agora_step *st);

/* ---- turn.c: for the step driver and the backends ------------------------ */

/* The turn runs from now: frames and posts count for it. */
void agora__turn_start(agora_turn *t);
/* The runtime ends a running turn its kind has not ended (a reply over the
 * cap, the deadline): it fails with why, and its backend cancels the
 * kind's work synchronously, so nothing posts for it afterwards. */
void agora__turn_abort(agora_turn *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Where the turn ran is gone (a dead server): it fails with why, its
 * drained messages go back and its agent is marked offline. */
void agora__turn_lost(agora_turn *t, const char *why);
/* Run the callbacks posted so far (on the step's thread). */
void agora__turn_run_posts(struct post *p);
void agora__turn_free_posts(struct post *p);

/* ---- place.c ------------------------------------------------------------- */

/* Put the n agents that have a server placement on their servers (started
 * as needed) and create them there, one request per server. */
agora_err agora__place_agents(agora_center *c, agora_agent *const *agents,
                              size_t n);
/* Usable now: a server that went down is reached again (a child is
 * restarted) and its agents are created again. Else s->why says why. */
agora_err agora__place_ready(struct server_link *s);

/* ---- server_link.c ------------------------------------------------------- */

/* Close every agent-server link of c: no callback runs after this. */
void agora__links_close_all(agora_center *c);
/* Free them (children are stopped). */
void agora__links_free_all(agora_center *c);

/* ---- call.c -------------------------------------------------------------- */

/* The center goes: futures still waiting fail, calls not sent are
 * dropped (after the links are closed, before they are freed). */
void agora__calls_free_all(agora_center *c);

/* ---- commit.c ------------------------------------------------------------ */

/* Write every ended turn of the round to Redis (or, for a direct step, to
 * the agents' memories), then queue their end frames. */
agora_err agora__commit_round(agora_step *st);

#endif
