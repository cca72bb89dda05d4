/* SPDX-License-Identifier: MIT */
/* agora sim's private parts, in the order they use each other:
 *   tally.c    the moderators' kind: reads a share's answers, reports JSON
 *   servers.c  the agent servers participants run on (started or given)
 *   nodes.c    which Redis node each group's session lives on
 *   group.c    one moderator's share: its session, creation, a round
 *   sim.c      the groups together: new, play (merge the reports), free */
#ifndef AGORA_SIM_INT_H
#define AGORA_SIM_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "agora/server.h"
#include "agora/sim.h"
#include "agora/taskcenter.h"

/* The kind "sim_tally" (tally.c), registered by agora_sim_new. Options: max,
 * from, to (the share: participants p<from> .. p<to - 1>). Its reply is
 * {"count":..,"sum":..,"extra":..,"stray":..,"no_number":[roles],
 *  "nn":n,"values":[[value,count,first index],...],"seen":"<hex bits>"}. */
extern const agora_kind agora__sim_tally;

/* ---- servers.c ---- */
/* Where participants run. Child servers are the first group's center's
 * (it starts them, sends them the model configs and stops them); the
 * other groups place their participants at the same addresses. Given
 * servers (--connect) are used as they are. */
struct sim_servers {
	char **urls; /* participant i runs on urls[i % n]; n 0: in process */
	size_t n;
	char token[AGORA_TOKEN_MAX + 1]; /* for given servers; "" none */
};

/* The given servers' addresses (and the token of cfg). */
agora_err sim_servers_given(struct sim_servers *sv, const agora_sim_opts *o,
                            char *err, size_t errlen);
/* The addresses of the children the first group's center started: where
 * its first participants (one per child) were placed. */
agora_err sim_servers_learn(struct sim_servers *sv, agora_center *c,
                            size_t from, size_t n, char *err, size_t errlen);
/* Each server's resident KiB and CPU seconds (-1 when it does not say). */
void sim_servers_usage(const struct sim_servers *sv, long *kib, double *cpu,
                       size_t max);
void sim_servers_fini(struct sim_servers *sv);

/* ---- nodes.c ---- */
struct agora_sim;
/* Name the m groups' sessions (spread over a cluster's masters). */
agora_err sim_nodes_plan(struct agora_sim *s, size_t m, char *err,
                         size_t errlen);

/* ---- group.c ---- */
struct agora_sim;

/* What a group's round gives the top. */
struct sim_group_round {
	agora_sim_group head;
	size_t ended;                  /* participants' turns that ended well */
	size_t failed[AGORA_SIM_NWHY]; /* from error frames (not no_number) */
	uint8_t *why;     /* per participant of the share: cause + 1, or 0 */
	size_t recovered; /* failed turns whose answer came all the same */
	size_t no_number, extra, stray; /* from the tally */
	agora_strv failures;            /* "role: why" */
	size_t *values;                 /* counts per value, max + 1 */
	int64_t *first;                 /* first participant per value, -1 */
	double ask_s, answer_s, tally_s;
	agora_err rv;
	char err[512];
};

struct sim_group {
	struct agora_sim *sim;
	size_t index;
	size_t from, to;      /* participants p<from> .. p<to - 1> */
	size_t created_first; /* of them, made before the others */
	char moderator[32];
	agora_center *c;
	char **roles; /* the share's roles, for allowed_roles */
	struct sim_group_round r;
	pthread_t thread;
};

agora_err sim_group_open(struct sim_group *g, char *err, size_t errlen);
/* Create participants p<from> .. p<to - 1> of the share in chunks
 * (counting them in the simulation's created). */
agora_err sim_group_create(struct sim_group *g, size_t from, size_t to,
                           char *err, size_t errlen);
/* Add the moderator (after the participants: its options name them). */
agora_err sim_group_moderate(struct sim_group *g, char *err, size_t errlen);
/* One round (fills g->r). */
void sim_group_play(struct sim_group *g, uint32_t round);
void sim_group_close(struct sim_group *g);

/* ---- sim.c ---- */
struct agora_sim {
	agora_sim_opts o;
	agora_config cfg;          /* the caller's, with our Redis */
	agora_redis_server *redis; /* ours, when the caller gave none */
	char *redis_url;           /* its address */
	char prefix[48];           /* the sessions' common start */
	struct sim_servers servers;
	struct sim_group *groups;
	size_t ngroups;
	char *participant_opts; /* the kind's options, JSON */
	atomic_size_t created;
	atomic_size_t answered; /* this round's ended turns, so far */
	uint32_t round;
	double create_s;
};

#endif
