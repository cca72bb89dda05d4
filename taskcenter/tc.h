/* SPDX-License-Identifier: MIT */
/* Private to taskcenter/: the agent, turn, step and center structs shared
 * by agent.c, center.c and step.c. */
#ifndef AGORA_TC_H
#define AGORA_TC_H

#include <pthread.h>

#include "agora/agent.h"
#include "agora/taskcenter.h"

struct agora_agent {
	char *role;
	const agora_kind *kind;
	void *state;
	bool human;
	bool watcher;
	size_t index;    /* registration order in its center */
	uint64_t picked; /* the last step that picked it (dedupe) */
	/* Remote agents (kind NULL here): the kind runs on an agent server;
	 * its name, options and placement are kept to create it there, again
	 * after a restart. */
	char *kind_name;
	char *options;   /* JSON text, or NULL */
	char *placement; /* child, auto, or an address */
	struct remote_srv *srv;
};

enum turn_state {
	TURN_WAITING, /* not started this round */
	TURN_RUNNING, /* act called, not ended */
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
	bool remote;          /* runs on an agent server */
	bool lost;            /* its server died during the turn */
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
	uint64_t steps; /* steps started, to stamp picked agents */
	agora_step *active;
	struct remote_srv **srvs; /* agent servers in use (remote.c) */
	size_t nsrvs;
	uint64_t dispatches; /* remote step requests sent, for their ids */
	char *server_program;
	char *server_log;
	agora_strv plugins; /* for child servers */
	char *token;
	int64_t server_timeout_ms;
	int64_t children; /* server.children */
	char errstr[512];
};

/* remote.c */
agora_err agora__remote_place(agora_center *c, agora_agent *const *agents,
                              size_t n);
void agora__remote_start(agora_step *st, agora_turn **turns, size_t n);
void agora__remote_detach(agora_step *st);
void agora__remote_free_all(agora_center *c);

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

/* A step (step.c); remote.c reaches its turns and posts. */
struct agora_step {
	agora_center *c;
	agora_strv roles; /* acting roles, registration order */
	agora_turn *turns;
	size_t nturns;
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
	enum step_phase phase;
	size_t open; /* turns of this round not yet committed */

	agora_frame *q; /* frames ready, a ring */
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

agora_agent *agora__center_find(const agora_center *c, const char *role);
void agora__center_set_err(agora_center *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
