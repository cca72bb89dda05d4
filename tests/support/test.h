/* SPDX-License-Identifier: MIT */
/* Test support: cmocka plus helpers. Every test program starts its own
 * private redis-server (a real one, on a unix socket in a temporary
 * directory) on first use, so tests never touch a developer's Redis and can
 * run in parallel. */
#ifndef AGORA_TEST_H
#define AGORA_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agora/agora.h"

#define AGORA_PASS(expr)                                      \
	do {                                                  \
		agora_err pass_rv_ = (expr);                  \
		if (pass_rv_ != AGORA_OK) {                   \
			fail_msg("%s failed: %s (%s)", #expr, \
			         agora_errname(pass_rv_),     \
			         agora_strerror(pass_rv_));   \
		}                                             \
	} while (0)

#define AGORA_FAIL(expr, code)                                 \
	do {                                                   \
		agora_err fail_rv_ = (expr);                   \
		if (fail_rv_ != (code)) {                      \
			fail_msg("%s gave %s, want %s", #expr, \
			         agora_errname(fail_rv_),      \
			         agora_errname(code));         \
		}                                              \
	} while (0)

/* The private Redis of this test program (started on first call). */
const char *t_redis_url(void);
/* Its pid, to kill it in fault tests. */
int t_redis_pid(void);
/* Its directory (where SAVE writes dump.rdb). */
const char *t_redis_dir(void);
/* A raw connection to it (for checking keys); close with
 * agora_redis_close. */
agora_redis *t_redis_open(void);
/* A new center on the test Redis with a session unique to this process
 * and name. */
agora_center *t_center(const char *name);
/* The same with config keys and values, NULL-ended: { "env.drain_max",
 * "10", NULL }. A name "=S" is the session id S itself (to resume one). */
agora_center *t_center_with(const char *name, const char *const *kv);
/* Make an agent from a JSON options text (NULL: none) and add it. */
agora_agent *t_add(agora_center *c, const char *role, const char *kind,
                   const char *options_json);
/* Like t_add with human mode or the watcher flag. */
agora_agent *t_add_flags(agora_center *c, const char *role, const char *kind,
                         const char *options_json, bool human, bool watcher);

/* Like t_add, placed ("child", "auto", an address; NULL: local). */
agora_agent *t_add_placed(agora_center *c, const char *role, const char *kind,
                          const char *options_json, const char *placement);
/* The frames of one step, copied. */
typedef struct t_frames {
	agora_frame *v;
	size_t n;
	agora_err err; /* what agora_step_next ended with */
	char errstr[512];
} t_frames;

/* Run a step to its end and collect its frames. Returns the error of
 * agora_center_step (the step's own end state is in out->err). */
agora_err t_step(agora_center *c, const agora_step_opts *o, t_frames *out);
void t_frames_free(t_frames *f);
/* How many frames of this role and type. */
size_t t_count(const t_frames *f, const char *role, agora_frame_type type);
/* The joined chunks of role. */
char *t_text(const t_frames *f, const char *role);
/* The contents of role's frames of one type, joined. */
char *t_text_of(const t_frames *f, const char *role, agora_frame_type type);
/* Index of the first frame of role and type; fails the test if there is
 * none (to ask whether one came, use t_count). */
#define t_first(f, role, type) t_first_at(f, role, type, __FILE__, __LINE__)
size_t t_first_at(const t_frames *f, const char *role, agora_frame_type type,
                  const char *file, int line);

/* The ids in one of role's lists in c's session ("inbox" or "inflight"),
 * as stored, space-separated: "r1 2" (r: marked redelivered). */
char *t_ids(agora_center *c, const char *list, const char *role);
/* Fail the test unless t_ids is want. */
void t_ids_are(agora_center *c, const char *list, const char *role,
               const char *want);
/* Wait until role's list holds at least n ids (polling, up to 10 s); false
 * if it never did. It fails no test itself, so another thread may wait. */
bool t_wait_listed(agora_center *c, const char *list, const char *role,
                   size_t n);

/* Contents of a message list joined as "from>content|from>content". */
char *t_msgs(const agora_msgs *ms);

/* A reply made from RESP bytes as a connection reads them (a reader of
 * core/redis_cmd.h); the test fails unless they hold a whole reply that
 * is not an error. Free with agora__reply_free. */
struct agora_reply *t_reply(const char *resp, size_t len);

/* Start the fake OpenAI server (tests/support/fake_llm.c) once per test
 * program; its base URL, "http://127.0.0.1:PORT/v1". */
const char *t_fake_llm(void);

/* Register the test kinds: "fail" (fails every turn), "hang" (never ends
 * its turn), "args" (answers with the step's llm_args), "count" (answers
 * how many inputs it read, and their ids), "prompt" (answers the task and
 * the "sender: content" lines it read), "thread" (posts "a", "b", "c" from
 * another thread, delay_ms apart), "memory" (memory_limit 3; answers how
 * many memory entries it got and the last one). */
void t_kinds(void);

/* ---- Redis Cluster (cluster.c) ---- */

#define T_CLUSTER_NODES 3
struct t_cluster_node {
	int port;
	agora_proc *proc;
	agora_redis *r; /* opened on this node: keyless commands go here */
	char id[64];
	char url[64];
};
extern struct t_cluster_node t_cluster[T_CLUSTER_NODES];

/* Start three masters and make them a cluster: 0, 77 when redis-server
 * has no cluster mode, 1 on failure (the reason printed). Call outside
 * any test; t_cluster_stop at the end (also after a failure). */
int t_cluster_start(void);
void t_cluster_stop(void);
/* A keyless command's string or integer reply on node i ("" or -1). */
char *t_cluster_str(int i, const char *a, const char *b, const char *c);
long long t_cluster_int(int i, const char *a, const char *b, const char *c);
/* Which node owns slot (as node 0, or `asked`, sees it); -1 if none. */
int t_cluster_owner(unsigned slot);
int t_cluster_owner_seen_by(int asked, unsigned slot);
/* A session's slot, and a new session name whose slot node want owns. */
unsigned t_cluster_session_slot(const char *session);
void t_cluster_session_on(int want, const char *tag, char *out, size_t len);
long long t_cluster_keys_in_slot(int i, unsigned slot);
/* A command on node i (argv NULL-ended) that must succeed; its reply. */
struct agora_reply *t_cluster_do(int i, const char *const *argv);
/* The steps of a slot's move: mark it leaving, MIGRATE up to 50 of its
 * keys (how many), or all of it, every master told (checked). */
void t_cluster_begin_move(const char *slot, int from, int to);
size_t t_cluster_migrate_some(const char *slot, int from, int to);
void t_cluster_move_slot(unsigned slot, int from, int to);

/* ---- agent servers (servers.c) ---- */

/* Check the environment (AGORA_BIN, AGORA_PLUGIN; false: skip the program,
 * said on stdout) and load the test plugin here too. */
bool t_servers_init(const char *prog);
const char *t_server_log(void);
/* A center whose child servers load the test plugin and log to the shared
 * log; children: server.children ("0": one per agent). */
agora_center *t_center_servers(const char *name, const char *children);
/* The same with server.timeout_ms (t_center_servers: "5000"). */
agora_center *t_center_servers_within(const char *name, const char *children,
                                      const char *timeout_ms);
/* Where an agent lives (registry), and its status. */
char *t_where(agora_center *c, const char *role);
agora_agent_status t_status_of(agora_center *c, const char *role);
/* The pid a server reports in `info`. */
int t_server_pid(const char *url);
/* An independent `agora server --ipc` with the test plugin (and one more
 * option), waited for until it answers; its address goes to url. */
agora_proc *t_spawn_server(const char *name, const char *opt, const char *val,
                           char *url, size_t urllen);
/* The same with any options (a NULL-ended list, at most 25). */
agora_proc *t_spawn_server_argv(const char *name, const char *const *extra,
                                char *url, size_t urllen);
/* The same on tcp://127.0.0.1 and a free port. */
agora_proc *t_spawn_tcp_server(const char *opt, const char *val, char *url,
                               size_t urllen);
/* No sanitizer report in the servers' log (said when the build has no
 * sanitizer, so nothing is claimed); the log is then removed. */
bool t_servers_clean(const char *prog);

/* Remove a scratch directory and everything in it. */
void t_rm_rf(const char *dir);

/* Threads of "thread" agents still running. */
int t_threads_running(void);

#endif
