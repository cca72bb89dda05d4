/* SPDX-License-Identifier: MIT */
/* agora sim: seed 003's guessing game as a tool (DESIGN.md section 14).
 * N participants (random numbers or LLM role-play) answer a number in
 * [0, max]; M moderators each own a contiguous share of them, in a session
 * of their own, and report their sum and count; a round's result is the
 * average over every participant and says how many did not answer, and
 * why, instead of averaging fewer. Participants run on agent servers that
 * the simulation starts (children) or on given ones. */
#ifndef AGORA_SIM_H
#define AGORA_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agora/config.h"
#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AGORA_SIM_MAX_VALUE        10000    /* the largest --max */
#define AGORA_SIM_PARTICIPANTS_MAX 10000000 /* the most participants */
#define AGORA_SIM_HIST_BINS        10       /* the result's histogram */
#define AGORA_SIM_FAILURES_KEPT    100      /* roles listed per cause */

typedef enum agora_sim_kind {
	AGORA_SIM_RANDOM, /* kind random: a number drawn at once or after think
	                   */
	AGORA_SIM_LLM,    /* kind roleplay, asked for a number */
} agora_sim_kind;

typedef struct agora_sim_opts {
	size_t participants;
	size_t moderators; /* 0: one per 250,000 participants */
	agora_sim_kind kind;
	int64_t max;      /* answers in [0, max]; 0: 100 */
	int64_t think_ms; /* random: the wait before answering */
	int64_t seed;     /* random: reproducible answers; -1: none */
	/* Where participants run: servers child servers started for the
	 * simulation (0 with no connect: in this process), or the agent
	 * servers at connect[] (token from cfg's server.token_file). */
	size_t servers;
	const char *const *connect;
	size_t nconnect;
	/* LLM participants: participant i uses models[i % nmodels], model
	 * config names known here and to the servers. */
	const char *const *models;
	size_t nmodels;
	const char *const *model_files; /* given to child servers */
	size_t nmodel_files;
	/* Redis, session prefix, timeouts: redis.url (empty: the caller
	 * must have one), step.deadline_ms bounds a round, server.*. */
	const agora_config *cfg;
	/* Called with a line of progress (creation, a round's answers so
	 * far) about once a second, from the thread that called new or
	 * round; may be NULL. */
	void (*progress)(void *arg, const char *line);
	void *progress_arg;
} agora_sim_opts;

/* Why a participant did not answer. */
typedef enum agora_sim_why {
	AGORA_SIM_TIMEOUT,   /* no answer before the round's deadline */
	AGORA_SIM_LOST,      /* its agent server died or stopped answering */
	AGORA_SIM_ERROR,     /* its turn failed (an LLM error ...) */
	AGORA_SIM_NO_NUMBER, /* it answered without a number in [0, max] */
	AGORA_SIM_MISSING,   /* its turn ended but no answer reached the
	                        moderator */
	AGORA_SIM_NWHY,
} agora_sim_why;

AGORA_API const char *agora_sim_why_name(agora_sim_why w);

/* One moderator's report of a round. */
typedef struct agora_sim_group {
	char session[96];
	char node[64]; /* its Redis Cluster master (host:port); "" on one Redis
	                */
	size_t asked, answered;
	double sum;
} agora_sim_group;

typedef struct agora_sim_round {
	uint32_t round; /* from 1 */
	size_t asked;   /* every participant */
	size_t answered;
	size_t failed[AGORA_SIM_NWHY];
	size_t no_answer; /* the sum of failed */
	size_t extra;     /* second answers of a participant (late ones), not
	                     counted */
	size_t stray;     /* answers from outside the share, not counted */
	/* Turns taken for failed (a server taken for lost) whose answer
	 * reached the moderator all the same: counted once, as answered. */
	size_t recovered;
	double sum;
	double average; /* over the answered; NAN if none */
	int64_t winner_value;
	char winner[64]; /* the first role with the value nearest the average */
	size_t hist[AGORA_SIM_HIST_BINS];
	/* Some roles per cause, "role: why" lines (at most
	 * AGORA_SIM_FAILURES_KEPT per cause). */
	char **failures;
	size_t nfailures;
	agora_sim_group *groups;
	size_t ngroups;
	double seconds; /* from the moderators' request to the average */
	double ask_s;   /* storing the questions */
	double answer_s;
	double tally_s; /* the moderators' own turns */
} agora_sim_round;

typedef struct agora_sim agora_sim;

/* Make the groups, start or dial the servers and create every
 * participant (progress as it goes). err says what failed. */
AGORA_API agora_err agora_sim_new(agora_sim **sp, const agora_sim_opts *o,
                                  char *err, size_t errlen);
/* Seconds agora_sim_new took to create the participants. */
AGORA_API double agora_sim_create_seconds(const agora_sim *s);
/* Play one round: every moderator asks its share, waits for the answers
 * (or the deadline), and reports; r is the merged result (free with
 * agora_sim_round_fini). A runtime failure (Redis) is an error with err;
 * participants that did not answer are not errors: they are counted. */
AGORA_API agora_err agora_sim_play(agora_sim *s, agora_sim_round *r, char *err,
                                   size_t errlen);
AGORA_API void agora_sim_round_fini(agora_sim_round *r);

/* The address of the agent server participant p<i> runs on (NULL: in
 * this process), and moderator g's session (NULL past the last). */
AGORA_API const char *agora_sim_server_of(const agora_sim *s, size_t i);
AGORA_API const char *agora_sim_session(const agora_sim *s, size_t g);

/* Memory and CPU in use: each agent server's resident KiB and CPU
 * seconds (-1 unknown; the first 64 servers), Redis's used_memory in KiB
 * and CPU seconds, this process's resident KiB and CPU seconds. */
typedef struct agora_sim_memory {
	long servers_kib[64];
	double servers_cpu_s[64];
	size_t nservers;
	long redis_kib;
	double redis_cpu_s;
	long self_kib;
	double self_cpu_s;
} agora_sim_memory;
AGORA_API void agora_sim_memory_read(agora_sim *s, agora_sim_memory *m);

/* Interrupt a running round from any thread (a signal): its unfinished
 * turns end and their messages go back. */
AGORA_API void agora_sim_interrupt(agora_sim *s);
/* Stop the servers the simulation started and free it. */
AGORA_API void agora_sim_free(agora_sim *s);

#ifdef __cplusplus
}
#endif
#endif
