/* SPDX-License-Identifier: MIT */
/* The lace client's state and its one way to ask the server (ask.c),
 * used by the trainer side (pushes.c) and subscriptions (subscribe.c).
 * Private to lace/. */
#ifndef AGORA_LACE_CLIENT_H
#define AGORA_LACE_CLIENT_H

#include <pthread.h>
#include <stdatomic.h>

#include "agora/transport.h"
#include "config.h"
#include "frame.h"

struct lace_push_store {
	char *name;
	agora_lace_store *st;
	char epoch[17]; /* this store's, so a new one starts over */
	int64_t cursor; /* the server's, as it last said; -2: ask */
};

struct agora_lace_client {
	agora_lace_client_opts o;
	char *url, *token, *name;
	char *server_config;
	struct lace_cfg cfg;
	bool has_cfg;
	agora_link *link;
	_Atomic int64_t timeout_ms;
	size_t max_msg;

	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t cv;
	bool closing;
	int64_t last_request_ms; /* for the rate limit */
	struct lace_push_store *stores;
	size_t nstores;
	pthread_mutex_t push_lock; /* one update at a time */
	pthread_t updater, subscriber;
	bool updating, subscribed;
	int64_t update_ms;
	agora_lace_sub_fn sub_fn;
	void *sub_arg;
};

/* Ask: op with the envelope's other members (may be ""), a payload (may
 * be NULL), within timeout_ms; an answer of ok:false becomes its code and
 * message (err), a reply is AGORA_OK with *reply set. */
agora_err lace_ask(agora_lace_client *c, const char *op, const char *members,
                   const agora_lace_payload *p, int64_t timeout_ms,
                   agora_lace_msg **reply, char *err, size_t errlen);
/* The rate limit: AGORA_EAGAIN if the last request was too recent, else
 * the time is taken as the last request's. */
agora_err lace_rate_take(agora_lace_client *c, char *err, size_t errlen);

/* pushes.c: stop the updater thread (at close). */
void lace_updates_stop(agora_lace_client *c);
void lace_push_stores_free(agora_lace_client *c);
/* subscribe.c: stop the subscriber thread (at close). */
void lace_subscribe_stop(agora_lace_client *c);

#endif
