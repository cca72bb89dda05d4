/* SPDX-License-Identifier: MIT */
/* Private to taskcenter/: agent servers as the TaskCenter sees them
 * (remote.c: steps and events; place.c: placement, children, restarts). */
#ifndef AGORA_REMOTE_H
#define AGORA_REMOTE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "agora/json.h"
#include "agora/proc.h"
#include "agora/transport.h"
#include "tc.h"

/* The turns one step request asked a server for. */
struct dispatch {
	char sid[96];
	agora_step *st;
	agora_turn **turns; /* index = position in the request */
	bool *ended;
	size_t n, left;
	struct dispatch *next;
};

struct dispatch_ref {
	struct remote_srv *s;
	char sid[96];
};

struct remote_srv {
	agora_center *c;
	char *url;
	agora_link *link;
	agora_proc *proc; /* a child server; NULL for an independent one */
	char *ipc_path;
	size_t nagents;
	char client[64];
	char epoch[32];       /* the server's, from its last alive */
	char why[512];        /* why it is not usable */
	pthread_mutex_t lock; /* guards what follows */
	bool down;
	bool waiting; /* a long poll is out */
	uint64_t acked;
	struct dispatch *ds;
	struct agora_future *futs; /* calls not resolved yet (call.c) */
	agora_buf callq;           /* call ops not sent yet */
	struct agora_future **callq_f;
	size_t ncallq, capcallq;
	int calls_out; /* call requests in flight */
};

struct remote_srv *remote_srv_new(agora_center *c, const char *url, char *err,
                                  size_t errlen);
void remote_srv_free(struct remote_srv *s);
agora_err remote_call(struct remote_srv *s, const char *ops, size_t nops,
                      agora_json **docp, const agora_json **results, char *err,
                      size_t errlen);
agora_err remote_call_within(struct remote_srv *s, const char *ops, size_t nops,
                             int64_t timeout_ms, agora_json **docp,
                             const agora_json **results, char *err,
                             size_t errlen);
void dispatch_fail(struct remote_srv *s, struct dispatch *d, char type,
                   const char *why);
/* Usable now: a server that went down is reached again (a child is
 * restarted) and its agents are created again. Else s->why says why. */
agora_err remote_srv_ready(struct remote_srv *s);
/* remote.c, under s->lock: the request envelope up to "ops":[, and the
 * long poll kept out while steps or calls are pending. */
void remote_envelope(const struct remote_srv *s, agora_buf *b);
void remote_wait_send(struct remote_srv *s);
/* call.c, under s->lock: a call's result came as an event; the server is
 * gone. */
void remote_futures_event(struct remote_srv *s, const char *task, bool ok,
                          const char *text, size_t len);
void remote_futures_fail(struct remote_srv *s, const char *why);
void remote_futures_drop_queue(struct remote_srv *s);

#endif
