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
	agora_agent **agents; /* registration order */
	size_t nagents;
	struct role_map map;
	int64_t deadline_ms;
	uint64_t steps; /* steps started, to stamp picked agents */
	agora_step *active;
	char errstr[512];
};

agora_agent *agora__center_find(const agora_center *c, const char *role);
void agora__center_set_err(agora_center *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
