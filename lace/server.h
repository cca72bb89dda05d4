/* SPDX-License-Identifier: MIT */
/* The lace server's state, shared by the files that serve its requests:
 * server.c (lifecycle, workers, the handshake, action and inference ops),
 * trainer.c (stores and cursors), publish.c (publications and long polls)
 * and reply.c (answers). Private to lace/. */
#ifndef AGORA_LACE_SERVER_H
#define AGORA_LACE_SERVER_H

#include <pthread.h>
#include <stdbool.h>

#include "agora/transport.h"
#include "config.h"
#include "frame.h"

/* A trainer store and each client's cursor into it. */
struct lace_cursor {
	char *client;
	uint64_t epoch; /* the client store's, secret: part of the key */
	int64_t cursor; /* the newest id taken; -1: none */
	uint64_t used;  /* when last used, on the store's clock */
	uint64_t received;
	uint64_t gaps; /* ids the client's store dropped before sending */
	struct lace_cursor *next;
};

struct lace_store_ref {
	char *name;
	agora_lace_store *st;
	struct lace_cursor *cursors;
	uint64_t clock;       /* counts cursor uses, for the oldest */
	pthread_mutex_t lock; /* the cursors; one push at a time */
};

struct lace_iface {
	char *name;
	agora_lace_fn fn;
	void *arg;
};

struct lace_job {
	agora_request *rq;
	const char *data; /* own, or lent for an inline call */
	char *own;
	size_t len;
	struct lace_job *next;
};

/* A subscriber's long poll, parked until a publication or its deadline. */
struct lace_poll {
	agora_request *rq;
	uint32_t peer; /* its connection: one parked poll each */
	uint64_t after;
	int64_t deadline;
	struct lace_poll *next;
};

struct agora_lace_server {
	struct lace_cfg cfg;
	agora_lace_server_opts o; /* url and token point at the copies */
	char *url, *token;
	char bound[512];
	size_t max_msg;
	agora_listener *lsn;
	pthread_t *workers;
	size_t nworkers;
	pthread_t poll_timer;
	bool running;
	pthread_mutex_t pub_lock; /* one publisher, and not during a stop */

	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t work_cv, poll_cv;
	bool stopping;
	struct lace_job *jobs, *jobs_tail;
	struct lace_iface *ifaces;
	size_t nifaces;
	struct lace_store_ref **stores;
	size_t nstores;
	agora_buf pub;    /* the newest publication, as its reply frame;
	                     changed under pub_lock and lock */
	uint64_t pub_seq; /* its number; 0: none yet */
	struct lace_poll *polls;
};

/* reply.c */
void lace_reply(agora_lace_server *s, agora_request *rq,
                const char *head_members, const agora_lace_payload *p);
void lace_reply_err(agora_lace_server *s, agora_request *rq, agora_err code,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* trainer.c: the ops push, cursor and stores. */
void lace_trainer_op(agora_lace_server *s, agora_request *rq,
                     const struct lace_frame *f, const char *op);
void lace_stores_free(agora_lace_server *s);

/* publish.c */
void lace_poll_op(agora_lace_server *s, agora_request *rq,
                  const struct lace_frame *f);
/* The timer thread that answers polls at their deadline. */
void *lace_poll_timer_main(void *arg);
/* Under s->lock: every parked poll is dropped (the server stops). */
void lace_polls_drop(agora_lace_server *s);

#endif
