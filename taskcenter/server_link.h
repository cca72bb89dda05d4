/* SPDX-License-Identifier: MIT */
/* Private to taskcenter/: one agent server as the TaskCenter sees it
 * (server_link.c), used by placement (place.c), the remote backend
 * (remote.c) and calls (call.c). A link knows nothing of steps or calls:
 * whoever waits for events registers a route under an id, and the link
 * hands it the events that carry that id. */
#ifndef AGORA_SERVER_LINK_H
#define AGORA_SERVER_LINK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "agora/json.h"
#include "agora/proc.h"
#include "agora/transport.h"
#include "tc.h"

#define ROUTE_ID_MAX 128

/* A receiver of a server's events: a step request (its sid) or a call (its
 * task id). Both callbacks run under the link's lock; the owner embeds the
 * route in its own struct and removes it (under the lock) when done. */
struct route {
	char id[ROUTE_ID_MAX];
	/* An event {"s"|"k": id, ...} for this route. */
	void (*on_event)(void *arg, const agora_json *e);
	/* The server is gone or stopped answering; the route has been
	 * removed already. */
	void (*on_lost)(void *arg, const char *why);
	void *arg;
	struct route *prev, *next;
};

struct call_queue;

struct server_link {
	agora_center *c;
	char *url;
	agora_link *link;
	agora_proc *proc; /* a child server; NULL for an independent one */
	char *ipc_path;   /* a child's socket */
	size_t nagents;
	char client[64];
	char epoch[32];       /* the server's, from its last alive */
	char why[512];        /* why it is not usable */
	pthread_mutex_t lock; /* guards what follows */
	bool down;
	char lost[600]; /* why it went down (link_lost) */
	bool closed;    /* down because its connection ended */
	bool waiting;   /* a long poll of this connection is out */
	uint64_t conn;  /* connections ended so far (link_down) */
	uint64_t acked;
	struct route *routes;
	struct call_queue *calls; /* call.c's, NULL until a call */
};

/* A link to the server at url, added to c->srvs; NULL with err on a bad
 * address, or when running (the server should be up) and nothing listens
 * there. A child being started is not running yet. */
struct server_link *link_new(agora_center *c, const char *url, bool running,
                             char *err, size_t errlen);
/* Remove s from c->srvs (it must be the last added) and free it. */
void link_drop_last(agora_center *c, struct server_link *s);
void link_free(struct server_link *s);

/* Send ops (the text after "ops":[) and wait for the reply, within the
 * server timeout or timeout_ms; *docp holds the reply, *results its
 * results array (one per op). */
agora_err link_call(struct server_link *s, const char *ops, size_t nops,
                    agora_json **docp, const agora_json **results, char *err,
                    size_t errlen);
agora_err link_call_within(struct server_link *s, const char *ops, size_t nops,
                           int64_t timeout_ms, agora_json **docp,
                           const agora_json **results, char *err,
                           size_t errlen);
/* The request envelope up to "ops":[ (client id, token). */
void link_envelope(const struct server_link *s, agora_buf *b);
/* The results array of a reply, or NULL with why in err. */
const agora_json *link_results(const agora_json *doc, size_t nops, char *err,
                               size_t errlen);

/* Under s->lock: register or remove a route; keep a long poll out while
 * any route waits. */
void link_route_add(struct server_link *s, struct route *r);
void link_route_remove(struct server_link *s, struct route *r);
void link_poll(struct server_link *s);
/* The server said hello (its alive result): a new epoch resets the events
 * seen, and its request limit bounds what we send it. */
void link_hello(struct server_link *s, const agora_json *alive);
/* s cannot be used until brought back (agora__place_ready), for why. */
void link_mark_down(struct server_link *s, const char *why);
/* Whether s was found lost and not brought back yet. */
bool link_is_down(struct server_link *s);
/* How big one request to s may be: a quarter of its limit, at most
 * AGORA_CLIENT_REQUEST_MAX; bigger work goes in several requests. */
size_t link_request_max(struct server_link *s);

#endif
