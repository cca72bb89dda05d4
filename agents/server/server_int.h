/* SPDX-License-Identifier: MIT */
/* Private to the agent server (agents/server/). The files, from the bottom
 * up; each calls only files above it in this list:
 *   reply.c     answering a request: one result per op, then the reply
 *   box.c       mailboxes: events kept for each client's long poll
 *   task.c      direct-call tasks and their results; the fetch op
 *   host.c      session hosts: a thread and a FIFO of jobs per session
 *   manage.c    jobs: create, delete, delete-all, memory
 *   step.c      jobs: a step's turns, frames to the caller's mailbox
 *   call_run.c  jobs: queued calls run as one direct step
 *   call.c      the call op: tasks queued on hosts, input futures fetched
 *   ops.c       the op table, and the ops answered without Redis
 *   server.c    listening, the envelope and token, the ticker, shutdown
 *
 * Threads: nng's threads take requests and answer what needs no Redis
 * (alive, info, list, wait, set_models, stop); each session on the server
 * has a host thread that owns that session's center (its Redis link and its
 * agents) and runs create, delete, memory and step jobs in arrival order; a
 * ticker thread ends long polls that ran out and beats the registry. One
 * lock, srv->lock, guards everything shared between them. */
#ifndef AGORA_SERVER_INT_H
#define AGORA_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "agora/json.h"
#include "agora/msg.h"
#include "agora/server.h"
#include "agora/taskcenter.h"
#include "agora/transport.h"

#define CLIENT_ID_MIN 16
#define CLIENT_ID_MAX 64
#define CLIENT_ID_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-."
#define RECENT_SIDS 1024

struct server;

/* One request being answered: a result per op, the reply goes out when
 * the last one is in. */
struct pending {
	struct server *srv;
	agora_request *rq;
	agora_json *doc;                /* the request, alive until the reply */
	char client[CLIENT_ID_MAX + 1]; /* claimed by this connection */
	size_t nops;
	atomic_size_t left; /* ops not answered yet */
	char **results;     /* JSON objects, one per op */
};

/* Events for one client (a TaskCenter's link), read by long polls. */
struct mailbox {
	char id[CLIENT_ID_MAX + 1];
	uint32_t peer;        /* the connection that claimed the id */
	struct mailbox *next; /* hash chain */
	char **ev;            /* JSON objects */
	uint64_t first_seq;   /* seq of ev[0] */
	size_t n, cap, bytes;
	struct pending *waiter; /* a wait op holding for events */
	size_t waiter_op;
	int64_t wait_until; /* monotonic ms */
	int64_t last_used;
};

#define TASK_ID_MAX   128
#define TASK_FETCHERS 16
#define TASK_MAX      200000 /* tasks a server keeps at most */

enum task_state {
	/* Only fetched so far: a fetch came before its call (the caller
	 * handed the id on at once, and another server asked first). */
	TASK_EXPECTED,
	TASK_WAITING, /* for its input future */
	TASK_QUEUED,
	TASK_RUNNING,
	TASK_DONE,
	TASK_FAILED,
};

/* A direct call and its result (server_task.c). */
struct task {
	char id[TASK_ID_MAX];
	struct server *srv;
	enum task_state state;
	char *result; /* the reply, or why it failed */
	int64_t done_ms;
	char client[CLIENT_ID_MAX + 1]; /* notify this mailbox; "" none */
	struct pending *call;           /* the call op, until answered */
	size_t call_op;
	struct {
		struct pending *p;
		size_t op;
		int64_t until;
	} fetch[TASK_FETCHERS];
	size_t nfetch;
	char *session, *redis, *role, *content, *sent_from;
	char future_task[TASK_ID_MAX];
	char future_url[256];
	/* Calls to one agent are queued in the order they came (call.c): a
	 * call whose input is a future waits for it, and later calls to the
	 * same agent wait behind it. */
	struct task *after;     /* the next call to this agent, held */
	bool held;              /* an earlier call to this agent is unqueued */
	struct task *tail_next; /* in srv->tails while it is the last held */
	/* In srv->answering while its call op waits for it to run, to be
	 * answered "pending" at call_ms. */
	int64_t call_ms;
	struct task *ans_prev, *ans_next;
	struct task *next; /* hash chain */
};

struct host;
struct job;

/* Runs a batch of jobs on the host's thread: one job, or a run of
 * consecutive jobs with the same run function when batch is set. When the
 * host's session could not be opened (h->c is NULL) the host thread
 * refuses the jobs itself and run is not called. */
typedef void (*job_run_fn)(struct host *h, struct job **jobs, size_t n);

/* An op answered once several jobs are done (delete_all: one job per
 * session); the last job to finish sends the result (reply.c). */
struct sweep {
	struct pending *p;
	size_t op;
	size_t sessions;
	atomic_size_t left;
	atomic_size_t deleted;
};

struct job {
	job_run_fn run;
	bool batch;
	struct sweep *sweep; /* its part of a delete_all, or NULL */
	const agora_json *op;
	struct pending *p; /* NULL once the op is answered (a step) */
	size_t idx;
	struct task *task; /* JOB_CALL */
	/* A step answered when queued (step.c): its parsed request, and how
	 * to end it if the session cannot be opened. */
	struct step_job *step;
	void (*refuse)(struct job *j, const char *why);
	struct job *next;
};

/* The agents of one session on this server. */
struct host {
	struct server *srv;
	char *redis_url;
	char *session;
	agora_center *c; /* made by the host thread; NULL if it failed */
	char open_err[512];
	pthread_t thread;
	pthread_cond_t cv;
	struct job *head, *tail;
	size_t queued;
	size_t steps_queued; /* of them, steps (answered already) */
	bool quit;
	agora_strv roles, kinds; /* for list, under srv->lock */
	size_t busy;             /* agents acting in the running step */
	agora_step *st;          /* the running step, for stop; srv->lock */
};

struct server {
	agora_server_opts o;
	char *url;
	char token[AGORA_TOKEN_MAX + 1];
	bool has_token;
	agora_listener *lsn;
	pthread_mutex_t lock;
	pthread_cond_t cv; /* stop */
	bool stopping;
	bool trim; /* memory was freed in bulk: malloc_trim at the next tick */
	char epoch[17];
	int64_t started_ms;
	struct host **hosts;
	size_t nhosts;
	struct mailbox **boxes; /* hash buckets (box.c) */
	size_t nboxes;
	size_t nagents;
	size_t max_agents;
	struct task **tasks; /* hash buckets */
	size_t ntasks;
	agora_link **peers; /* servers fetched from, for input futures */
	size_t npeers;
	struct task *tails; /* per agent, its last call not yet queued */
	/* Queued calls whose op is unanswered, oldest first (task.c). */
	struct task *answering, *answering_last;
	char recent_sids[RECENT_SIDS][96]; /* steps started, for resends */
	size_t next_sid;
};

/* reply.c; thread-safe without the lock (each op answered once) */
struct pending *pending_new(struct server *srv, agora_request *rq,
                            agora_json *doc, size_t nops);
/* Drop the count held while ops are handed out (pending_new's extra). */
void pending_release(struct pending *p);
void srv_result(struct pending *p, size_t i, char *json);
void srv_error(struct pending *p, size_t i, agora_err code, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));
/* A request that could not be decoded: no per-op results. */
void envelope_error(agora_request *rq, agora_err code, const char *detail);
/* One job of a sweep is done, having deleted n agents. */
void sweep_done(struct sweep *sw, size_t n);

/* box.c: call under srv->lock, except box_push */
/* The mailbox of client id for a request from connection peer, made if
 * new. A client id belongs to the connection that used it first: another
 * connection is refused (AGORA_EAUTH), and one connection may hold a few
 * at most, the server a few thousand (AGORA_ETOOBIG); why says which. */
agora_err box_claim(struct server *srv, const char *client, uint32_t peer,
                    char *why, size_t whylen);
/* A connection went away: its mailboxes, events and all, go too. */
void box_drop_peer(struct server *srv, uint32_t peer);
/* Append a group of events, "{..},{..}" (ownership taken), and wake the
 * box's waiter; if the box is gone (its connection closed), they are
 * dropped. */
void box_push(struct server *srv, const char *client, char *ev);
void box_push_locked(struct server *srv, const char *client, char *ev);
/* A wait op: answered now if events are there, else held. */
void box_wait(struct server *srv, struct pending *p, size_t i, uint64_t ack,
              int64_t wait_ms);
/* End long polls whose time is up (ticker). */
void box_expire(struct server *srv, int64_t now);
void box_free_all(struct server *srv);

/* task.c; under srv->lock but op_fetch and task_free_all */
struct task *task_find(struct server *srv, const char *id);
struct task *task_add(struct server *srv, const char *id);
bool task_id_ok(const char *id);
/* The answer to a call or fetch: the result if finished, else pending. */
char *task_answer(const struct task *t);
void task_finish(struct server *srv, struct task *t, bool ok, const char *text,
                 size_t len);
/* Answer t's call op "pending" now: its result goes to the mailbox. */
void task_release_call(struct task *t);
/* t's call op waits for t to run (t notifies its caller), and is answered
 * "pending" if that takes over within_ms (task_answer_late). */
void task_await_run(struct server *srv, struct task *t, int64_t within_ms);
void task_answer_late(struct server *srv, int64_t now);
void op_fetch(struct server *srv, struct pending *p, size_t i,
              const agora_json *op);
void task_expire(struct server *srv, int64_t now);
void task_free_all(struct server *srv);

/* host.c; the _locked ones under srv->lock */
struct host *host_get(struct server *srv, const char *redis_url,
                      const char *session);
struct host *host_get_locked(struct server *srv, const char *redis_url,
                             const char *session);
/* At most this many steps queued on a session before another is refused
 * (EAGAIN): steps are answered when queued, so the queue, not the request
 * slots, is what a peer could fill. */
#define HOST_STEPS_QUEUED_MAX 256
bool host_steps_full(struct host *h);
void host_push(struct host *h, struct job *j);
void host_push_locked(struct host *h, struct job *j);
/* Put jobs back at the head of the queue, in their order. */
void host_unshift(struct host *h, struct job **jobs, size_t n);
void host_stop_all(struct server *srv);
void host_set_busy(struct host *h, size_t busy);
/* The step the host is running (NULL: none), so a stop can interrupt it. */
void host_set_step(struct host *h, agora_step *st);

/* manage.c: jobs on the host's thread */
void host_create(struct host *h, struct job **jobs, size_t n);
void host_delete(struct host *h, struct job **jobs, size_t n);
void host_delete_all(struct host *h, struct job **jobs, size_t n);
void host_memory(struct host *h, struct job **jobs, size_t n);

/* step.c: a step op is read and answered when it is queued, so that a
 * step behind a long one on the same session is not taken for lost (its
 * caller waits server.timeout_ms for the answer); false if it was bad
 * (answered with why). host_step runs it on the host's thread. */
bool step_accept(struct job *j);
void host_step(struct host *h, struct job **jobs, size_t n);

/* call_run.c: run a batch of call jobs on the host's thread. */
void host_calls(struct host *h, struct job **jobs, size_t n);

/* call.c; under srv->lock but call_peers_close */
void op_call(struct server *srv, struct pending *p, size_t i,
             const agora_json *op);
/* Close the links to other servers (before task_free_all: closing waits
 * for their callbacks, which take the lock). */
void call_peers_close(struct server *srv);

/* ops.c: one op of a request (the envelope checked, the token decided). */
void op_run(struct server *srv, struct pending *p, size_t i,
            const agora_json *op, bool authorised);

#endif
