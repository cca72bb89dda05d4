/* SPDX-License-Identifier: MIT */
/* The Environment on a Redis Cluster of three masters started here
 * (redis-server --cluster-enabled yes, redis-cli --cluster create): slots
 * as Redis computes them, sessions on every node run from one node's URL
 * and listed from it, and a session's slot moved to another node between
 * two rounds (CLUSTER SETSLOT IMPORTING / MIGRATING, MIGRATE, SETSLOT
 * NODE), the next round finding every message, memory and registry
 * record. Skipped (77) only when redis-server has no cluster mode. Every
 * redis-server dies with this program, whatever way it ends. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "redis_cmd.h"
#include "test.h"

#define NODES 3

static struct node {
	int port;
	agora_proc *proc;
	agora_redis *r; /* opened on this node: keyless commands go here */
	char id[64];
	char url[64];
} nodes[NODES];
static char dir[] = "/tmp/agora-cluster-XXXXXX";
static bool made_dir;

static bool
port_free(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0) {
		close(fd);
	}
	return ok;
}

/* A free port whose cluster bus port (+10000) is free too. */
static int
free_port(void)
{
	for (int tries = 0; tries < 100; tries++) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t len = sizeof(sa);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int port = 0;

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (fd >= 0 &&
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
			port = ntohs(sa.sin_port);
		}
		if (fd >= 0) {
			close(fd);
		}
		if (port > 0 && port + 10000 < 65536 &&
		    port_free(port + 10000)) {
			return port;
		}
	}
	return -1;
}

static void
stop_all(void)
{
	for (int i = 0; i < NODES; i++) {
		agora_redis_close(nodes[i].r);
		nodes[i].r = NULL;
		agora_proc_free(nodes[i].proc); /* SIGTERM, then SIGKILL */
		nodes[i].proc = NULL;
	}
	if (made_dir) {
		t_rm_rf(dir);
	}
}

/* Run a program to its end (at most 60 s); its exit code, or -1. */
static int
run(const char *const *argv, const char *log)
{
	agora_proc_opts o = { .argv = argv,
		              .log_path = log,
		              .die_with_parent = true };
	int64_t until = agora_now_ms() + 60000;
	agora_proc *p = NULL;
	char err[256];
	int status;

	if (agora_proc_spawn(&p, &o, err, sizeof(err)) != AGORA_OK) {
		fprintf(stderr, "cluster_test: %s: %s\n", argv[0], err);
		return -1;
	}
	while (agora_proc_alive(p) && agora_now_ms() < until) {
		agora_sleep_ms(20);
	}
	status = agora_proc_status(p);
	agora_proc_free(p);
	return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The text of a keyless command's string reply on node i ("" if none). */
static char *
node_str(int i, const char *a, const char *b, const char *c)
{
	agora_reply *rep = NULL;
	const char *s = NULL;
	size_t n = 0;
	char *out;

	if (agora__redis_cmdv(nodes[i].r, &rep, a, b, c, NULL) == AGORA_OK) {
		s = agora__reply_str(rep, &n);
	}
	out = agora_strndup(s != NULL ? s : "", n);
	agora__reply_free(rep);
	return out;
}

static long long
node_int(int i, const char *a, const char *b, const char *c)
{
	agora_reply *rep = NULL;
	long long v = -1;

	if (agora__redis_cmdv(nodes[i].r, &rep, a, b, c, NULL) == AGORA_OK) {
		v = agora__reply_int(rep);
	}
	agora__reply_free(rep);
	return v;
}

static bool
cluster_ok(void)
{
	bool ok = true;

	for (int i = 0; i < NODES && ok; i++) {
		char *info = node_str(i, "CLUSTER", "INFO", NULL);
		ok = strstr(info, "cluster_state:ok") != NULL;
		agora_free(info);
	}
	return ok;
}

/* Which node owns slot, as node `asked` sees it (CLUSTER SLOTS); -1. */
static int
owner_seen_by(int asked, unsigned slot)
{
	agora_reply *rep = NULL;
	int found = -1;

	if (agora__redis_cmdv(nodes[asked].r, &rep, "CLUSTER", "SLOTS", NULL) !=
	    AGORA_OK) {
		return -1;
	}
	for (size_t e = 0; e < agora__reply_len(rep); e++) {
		const agora_reply *x = agora__reply_at(rep, e);
		const agora_reply *m = agora__reply_at(x, 2);
		long long port = agora__reply_int(agora__reply_at(m, 1));

		if ((long long)slot < agora__reply_int(agora__reply_at(x, 0)) ||
		    (long long)slot > agora__reply_int(agora__reply_at(x, 1))) {
			continue;
		}
		for (int i = 0; i < NODES; i++) {
			if (nodes[i].port == port) {
				found = i;
			}
		}
	}
	agora__reply_free(rep);
	return found;
}

static int
owner(unsigned slot)
{
	return owner_seen_by(0, slot);
}

static unsigned
session_slot(const char *session)
{
	char key[256];

	snprintf(key, sizeof(key), "agora:{%s}:", session);
	return agora__redis_slot(key, strlen(key));
}

/* A session name (unique to this run) whose slot node `want` owns. */
static void
session_on(int want, const char *tag, char *out, size_t len)
{
	for (int k = 0;; k++) {
		snprintf(out, len, "c%d-%s-%d", (int)getpid(), tag, k);
		if (owner(session_slot(out)) == want) {
			return;
		}
	}
}

static long long
keys_in_slot(int i, unsigned slot)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", slot);
	return node_int(i, "CLUSTER", "COUNTKEYSINSLOT", s);
}

static void
print_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		fputs(line, stderr);
	}
	if (f != NULL) {
		fclose(f);
	}
}

/* A redis-server that exited at once: skipped if it says it has no
 * cluster mode (an unknown option), failed otherwise. */
static int
no_cluster_mode(const char *log)
{
	FILE *f = fopen(log, "r");
	char line[512];
	bool unknown = false;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		unknown = unknown || strstr(line, "cluster-enabled") != NULL;
	}
	if (f != NULL) {
		fclose(f);
	}
	if (unknown) {
		printf("SKIP: this redis-server has no cluster mode\n");
		return 77;
	}
	fprintf(stderr, "cluster_test: redis-server exited:\n");
	print_file(log);
	return 1;
}

/* Start node i and wait until it answers: 0, 77 (no cluster mode) or 1. */
static int
start_node(int i)
{
	char port[16], conf[300], rlog[300], err[256];
	const char *argv[] = { "redis-server",
		               "--port",
		               port,
		               "--bind",
		               "127.0.0.1",
		               "--cluster-enabled",
		               "yes",
		               "--cluster-config-file",
		               conf,
		               "--dir",
		               dir,
		               "--save",
		               "",
		               "--appendonly",
		               "no",
		               NULL };
	agora_proc_opts o = { .argv = argv,
		              .log_path = rlog,
		              .die_with_parent = true };
	int64_t until = agora_now_ms() + 10000;

	nodes[i].port = free_port();
	snprintf(port, sizeof(port), "%d", nodes[i].port);
	snprintf(conf, sizeof(conf), "%s/nodes-%d.conf", dir, nodes[i].port);
	snprintf(rlog, sizeof(rlog), "%s/redis-%d.log", dir, nodes[i].port);
	snprintf(nodes[i].url, sizeof(nodes[i].url), "redis://127.0.0.1:%d",
	         nodes[i].port);
	if (agora_proc_spawn(&nodes[i].proc, &o, err, sizeof(err)) !=
	    AGORA_OK) {
		fprintf(stderr, "cluster_test: %s\n", err);
		return 1;
	}
	while (agora_redis_open(&nodes[i].r, nodes[i].url, 2000, err,
	                        sizeof(err)) != AGORA_OK) {
		if (!agora_proc_alive(nodes[i].proc)) {
			return no_cluster_mode(rlog);
		}
		if (agora_now_ms() > until) {
			fprintf(stderr, "cluster_test: redis on %d: %s\n",
			        nodes[i].port, err);
			return 1;
		}
		agora_sleep_ms(20);
	}
	return 0;
}

/* redis-cli --cluster create, then wait for cluster_state:ok on all. */
static int
make_cluster(void)
{
	const char *create[4 + NODES + 4] = { "redis-cli", "--cluster",
		                              "create" };
	char addr[NODES][32], log[300];
	int na = 3;

	for (int i = 0; i < NODES; i++) {
		snprintf(addr[i], sizeof(addr[i]), "127.0.0.1:%d",
		         nodes[i].port);
		create[na++] = addr[i];
	}
	create[na++] = "--cluster-replicas";
	create[na++] = "0";
	create[na++] = "--cluster-yes";
	create[na] = NULL;
	snprintf(log, sizeof(log), "%s/create.log", dir);
	if (run(create, log) != 0) {
		fprintf(stderr, "cluster_test: redis-cli --cluster create "
		                "failed:\n");
		print_file(log);
		return 1;
	}
	for (int64_t until = agora_now_ms() + 30000; !cluster_ok();) {
		if (agora_now_ms() > until) {
			fprintf(stderr, "cluster_test: the cluster never "
			                "reached cluster_state:ok\n");
			return 1;
		}
		agora_sleep_ms(50);
	}
	return 0;
}

/* Start three masters and make them a cluster: 0, 77 when redis-server
 * has no cluster mode, 1 on failure (the reason printed). Outside any
 * test, so no cmocka checks. */
static int
start_cluster(void)
{
	int rv = 0;

	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "cluster_test: mkdtemp failed\n");
		return 1;
	}
	made_dir = true;
	for (int i = 0; i < NODES && rv == 0; i++) {
		rv = start_node(i);
	}
	rv = rv == 0 ? make_cluster() : rv;
	for (int i = 0; i < NODES && rv == 0; i++) {
		char *id = node_str(i, "CLUSTER", "MYID", NULL);
		snprintf(nodes[i].id, sizeof(nodes[i].id), "%s", id);
		agora_free(id);
	}
	return rv;
}

/* A command on node i (argv NULL-ended) that must succeed; its reply. */
static agora_reply *
node_do(int i, const char *const *argv)
{
	size_t lens[64];
	agora_reply *rep = NULL;
	int argc = 0;

	while (argv[argc] != NULL && argc < 64) {
		lens[argc] = strlen(argv[argc]);
		argc++;
	}
	AGORA_PASS(agora__redis_cmd(nodes[i].r, &rep, argc, argv, lens));
	return rep;
}

/* Mark slot as leaving `from` for `to` (the first step of a reshard). */
static void
begin_move(const char *slot, int from, int to)
{
	agora__reply_free(
	    node_do(to, (const char *[]){ "CLUSTER", "SETSLOT", slot,
	                                  "IMPORTING", nodes[from].id, NULL }));
	agora__reply_free(
	    node_do(from, (const char *[]){ "CLUSTER", "SETSLOT", slot,
	                                    "MIGRATING", nodes[to].id, NULL }));
}

/* MIGRATE up to 50 of slot's keys still on `from`; how many. */
static size_t
migrate_some(const char *slot, int from, int to)
{
	agora_reply *keys =
	    node_do(from, (const char *[]){ "CLUSTER", "GETKEYSINSLOT", slot,
	                                    "50", NULL });
	const char *argv[64] = { "MIGRATE", "127.0.0.1", NULL,  "",
		                 "0",       "5000",      "KEYS" };
	size_t n = agora__reply_len(keys);
	char port[16];
	int argc = 7;

	snprintf(port, sizeof(port), "%d", nodes[to].port);
	argv[2] = port;
	for (size_t k = 0; k < n; k++) {
		argv[argc++] = agora__reply_str(agora__reply_at(keys, k), NULL);
	}
	if (n > 0) {
		agora__reply_free(node_do(from, argv));
	}
	agora__reply_free(keys);
	return n;
}

/* Move slot from node `from` to node `to`, the way redis-cli --cluster
 * reshard moves each slot, for exactly this one. */
static void
move_slot(unsigned slot, int from, int to)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", slot);
	begin_move(s, from, to);
	while (migrate_some(s, from, to) > 0) {
	}
	/* Every master told, so none sends a client back to the source. */
	for (int i = 0; i < NODES; i++) {
		agora__reply_free(
		    node_do(i, (const char *[]){ "CLUSTER", "SETSLOT", s,
		                                 "NODE", nodes[to].id, NULL }));
	}
	for (int i = 0; i < NODES; i++) {
		assert_int_equal(owner_seen_by(i, slot), to);
	}
}

static agora_center *
center_on(const char *session)
{
	char name[256];
	const char *kv[] = { "redis.url", nodes[0].url, NULL };

	snprintf(name, sizeof(name), "=%s", session);
	return t_center_with(name, kv);
}

static void
task_all(agora_center *c, const char *text)
{
	AGORA_PASS(agora_center_send_task_request(c, text, NULL, 0, NULL));
}

/* One round: every one of roles answers. */
static void
round_all(agora_center *c, const char *const *roles, size_t n)
{
	t_frames f;

	if (t_step(c, NULL, &f) != AGORA_OK) {
		fail_msg("step: %s", agora_center_errstr(c));
	}
	if (f.err != AGORA_OK) {
		fail_msg("step: %s", f.errstr);
	}
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(t_count(&f, roles[i], AGORA_FRAME_END), 1);
	}
	t_frames_free(&f);
}

static void
slots_are_the_clusters(void **state)
{
	static const char *const odd[] = {
		"",     "{}",   "{}a",   "a{}b",  "{a}{b}",
		"foo{", "}{x}", "x{y}z", "{{y}}", "agora:servers"
	};
	char key[64];

	(void)state;
	for (size_t i = 0; i < sizeof(odd) / sizeof(*odd); i++) {
		assert_int_equal(agora__redis_slot(odd[i], strlen(odd[i])),
		                 node_int(1, "CLUSTER", "KEYSLOT", odd[i]));
	}
	for (int i = 0; i < 400; i++) {
		snprintf(key, sizeof(key),
		         i % 2 == 0 ? "agora:{s%d}:inbox:r%d" : "k%d-%d", i,
		         i * 7919);
		assert_int_equal(agora__redis_slot(key, strlen(key)),
		                 node_int(1, "CLUSTER", "KEYSLOT", key));
	}
}

static void
a_session_on_another_node_runs(void **state)
{
	const char *const roles[] = { "a", "b", "c" };
	char session[64];
	agora_msgs h = { 0 };
	agora_center *c;

	(void)state;
	session_on(1, "other", session, sizeof(session));
	c = center_on(session);
	for (size_t i = 0; i < 3; i++) {
		t_add(c, roles[i], "echo", NULL);
	}
	task_all(c, "hello");
	round_all(c, roles, 3);
	round_all(c, roles, 3);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 7);
	agora_msgs_clear(&h);
	/* On its own node, none on the node the URL named. */
	assert_true(keys_in_slot(1, session_slot(session)) > 0);
	assert_int_equal(keys_in_slot(0, session_slot(session)), 0);
	agora_center_free(c);
}

static void
sessions_on_every_node_are_listed(void **state)
{
	char session[NODES][64];
	agora_center *c[NODES];
	agora_strv all = { 0 };

	(void)state;
	for (int i = 0; i < NODES; i++) {
		session_on(i, "list", session[i], sizeof(session[i]));
		c[i] = center_on(session[i]);
		t_add(c[i], "a", "echo", NULL);
		task_all(c[i], "hi");
		assert_true(keys_in_slot(i, session_slot(session[i])) > 0);
	}
	AGORA_PASS(agora_env_sessions(nodes[0].r, &all));
	for (int i = 0; i < NODES; i++) {
		assert_true(agora_strv_has(&all, session[i]));
		agora_center_free(c[i]);
	}
	agora_strv_clear(&all);
}

/* Role's memory as ids, "1 2 3 ". */
static char *
memory_ids(agora_center *c, const char *role)
{
	agora_msgs m = { 0 };
	agora_buf b;

	agora_buf_init(&b, 0);
	AGORA_PASS(agora_env_memory(agora_center_env(c), role, 0, &m));
	for (size_t k = 0; k < m.n; k++) {
		char id[24];
		snprintf(id, sizeof(id), "%llu ",
		         (unsigned long long)m.v[k]->id);
		(void)agora_buf_adds(&b, id);
	}
	agora_msgs_clear(&m);
	return agora_buf_steal(&b);
}

/* Each role's memory, as "id id id|id id|...". */
static char *
memories(agora_center *c, const char *const *roles, size_t n)
{
	agora_buf b;

	agora_buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		char *ids = memory_ids(c, roles[i]);
		(void)agora_buf_adds(&b, ids);
		(void)agora_buf_adds(&b, "|");
		agora_free(ids);
	}
	return agora_buf_steal(&b);
}

/* A center on a session of node `on` with echo agents for roles, after
 * a task to all and one round. */
static agora_center *
session_after_a_round(int on, const char *tag, char *session, size_t len,
                      const char *const *roles, size_t n)
{
	agora_center *c;

	session_on(on, tag, session, len);
	c = center_on(session);
	for (size_t i = 0; i < n; i++) {
		t_add(c, roles[i], "echo", NULL);
	}
	task_all(c, "hi");
	round_all(c, roles, n);
	return c;
}

/* Role's steps in the registry. */
static uint64_t
steps_of(agora_registry *reg, const char *role)
{
	agora_agent_info ai;
	uint64_t steps;

	AGORA_PASS(agora_registry_get(reg, role, &ai));
	steps = ai.steps;
	agora_agent_info_fini(&ai);
	return steps;
}

/* After two rounds of three echoes: the history whole, in order, every
 * memory grown by the two replies read and its own, nothing in flight,
 * each agent's registry record at two steps. */
static void
two_rounds_whole(agora_center *c, const char *const *roles)
{
	agora_msgs h = { 0 };
	char *after;

	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 7);
	for (size_t i = 0; i < h.n; i++) {
		assert_int_equal(h.v[i]->id, i + 1);
	}
	agora_msgs_clear(&h);
	after = memories(c, roles, 3);
	assert_string_equal(after, "1 2 3 4 5 |1 3 2 4 6 |1 4 2 3 7 |");
	agora_free(after);
	for (size_t i = 0; i < 3; i++) {
		t_ids_are(c, "inflight", roles[i], "");
		assert_int_equal(steps_of(agora_center_registry(c), roles[i]),
		                 2);
	}
}

static void
a_moved_session_loses_nothing(void **state)
{
	const char *const roles[] = { "a", "b", "c" };
	agora_env_session_info info;
	char session[64], *before;
	long long keys;
	agora_center *c;
	unsigned slot;

	(void)state;
	c = session_after_a_round(2, "moved", session, sizeof(session), roles,
	                          3);
	slot = session_slot(session);
	before = memories(c, roles, 3);
	assert_string_equal(before, "1 2 |1 3 |1 4 |");
	agora_free(before);
	keys = keys_in_slot(2, slot);
	assert_true(keys > 0);

	/* Between rounds, to node 0 (the one the URL names). */
	move_slot(slot, 2, 0);
	assert_int_equal(keys_in_slot(2, slot), 0);
	assert_int_equal(keys_in_slot(0, slot), keys);

	/* The next round: every round-1 reply read and answered. */
	round_all(c, roles, 3);
	two_rounds_whole(c, roles);

	/* Moved again: a pipeline (the session's info) goes to the old node
	 * first and is sent again where the slot now is. */
	move_slot(slot, 0, 1);
	AGORA_PASS(agora_env_session_info_get(
	    agora_env_redis(agora_center_env(c)), session, &info));
	assert_int_equal(info.messages, 7);
	assert_int_equal(info.roles, 3);
	round_all(c, roles, 3);
	assert_int_equal(keys_in_slot(0, slot), 0);
	assert_true(keys_in_slot(1, slot) >= keys);
	agora_center_free(c);
}

/* Two keys of session's slot moved from node 1 to node 2, the rest not. */
static void
half_moved(const char *session, unsigned slot)
{
	char s[16], port[16];
	char *agent_a = agora_sprintf("agora:{%s}:agent:a", session);
	char *history = agora_sprintf("agora:{%s}:history", session);

	snprintf(s, sizeof(s), "%u", slot);
	snprintf(port, sizeof(port), "%d", nodes[2].port);
	begin_move(s, 1, 2);
	agora__reply_free(node_do(
	    1, (const char *[]){ "MIGRATE", "127.0.0.1", port, "", "0", "5000",
	                         "KEYS", agent_a, history, NULL }));
	agora_free(agent_a);
	agora_free(history);
}

/* Role's kind in the registry (NULL: not found). */
static char *
kind_of(agora_registry *reg, const char *role)
{
	agora_agent_info ai;
	char *kind;

	AGORA_PASS(agora_registry_get(reg, role, &ai));
	kind = agora_strdup(ai.kind);
	agora_agent_info_fini(&ai);
	return kind;
}

static size_t
history_len(agora_env *env)
{
	agora_msgs h = { 0 };
	size_t n;

	AGORA_PASS(agora_env_history(env, 0, &h));
	n = h.n;
	agora_msgs_clear(&h);
	return n;
}

/* Half a session migrated: a plain command follows ASK to the key that
 * moved, a script does not (it would find half the session) and waits
 * until its time limit; once the slot has moved, both run. */
static void
during_a_migration_scripts_wait_and_plain_commands_ask(void **state)
{
	const char *const roles[] = { "a", "b" };
	char session[64], err[256], *kind;
	agora_registry *reg = NULL;
	agora_msgs h = { 0 };
	agora_redis *r = NULL;
	agora_env *env = NULL;
	agora_center *c;

	(void)state;
	c = session_after_a_round(1, "ask", session, sizeof(session), roles, 2);
	half_moved(session, session_slot(session));

	/* A short time limit: the script waits that long. */
	AGORA_PASS(agora_redis_open(&r, nodes[0].url, 300, err, sizeof(err)));
	AGORA_PASS(agora_registry_open(&reg, r, session));
	AGORA_PASS(agora_env_open(&env, r, session, NULL));
	kind = kind_of(reg, "a"); /* moved: ASK */
	assert_string_equal(kind, "echo");
	agora_free(kind);
	kind = kind_of(reg, "b"); /* still there */
	assert_string_equal(kind, "echo");
	agora_free(kind);
	AGORA_FAIL(agora_env_history(env, 0, &h), AGORA_EREDIS);
	assert_true(strncmp(agora_redis_errstr(r), "ASK ", 4) == 0);

	/* The rest moved: the script runs, on the whole session. */
	move_slot(session_slot(session), 1, 2);
	assert_int_equal(history_len(env), 3);
	round_all(c, roles, 2);
	agora_env_close(env);
	agora_registry_close(reg);
	agora_redis_close(r);
	agora_center_free(c);
}

/* The next pub/sub message on sub; whether its channel names session. */
static bool
event_of(agora_redis *sub, const char *session)
{
	agora_reply *rep = NULL;
	const char *ch;
	size_t len;
	bool ours;

	AGORA_PASS(agora__redis_read_wait(sub, &rep, 5000));
	ch = agora__reply_str(agora__reply_at(rep, 2), &len);
	assert_non_null(ch);
	ours = len > 0 && strstr(ch, session) != NULL;
	agora__reply_free(rep);
	return ours;
}

/* A UI subscribed on one node hears a step's replies stored on another:
 * PUBLISH reaches every node, but PUBSUB NUMPAT counts only its own, so
 * in a cluster a batch always publishes. */
static void
events_reach_a_subscriber_on_another_node(void **state)
{
	const char *const roles[] = { "a", "b" };
	char session[64], err[256];
	agora_redis *sub = NULL;
	agora_center *c;
	int events = 0;

	(void)state;
	AGORA_PASS(
	    agora_redis_open(&sub, nodes[2].url, 5000, err, sizeof(err)));
	AGORA_PASS(
	    agora__redis_cmdv(sub, NULL, "PSUBSCRIBE", "agora:*:events", NULL));
	/* The task, then one store of two replies. */
	c = session_after_a_round(1, "events", session, sizeof(session), roles,
	                          2);
	while (events < 3) {
		events += event_of(sub, session) ? 1 : 0;
	}
	agora_redis_close(sub);
	agora_center_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slots_are_the_clusters),
		cmocka_unit_test(a_session_on_another_node_runs),
		cmocka_unit_test(sessions_on_every_node_are_listed),
		cmocka_unit_test(a_moved_session_loses_nothing),
		cmocka_unit_test(
		    during_a_migration_scripts_wait_and_plain_commands_ask),
		cmocka_unit_test(events_reach_a_subscriber_on_another_node),
	};
	int rv = start_cluster();

	if (rv != 0) {
		stop_all();
		return rv;
	}
	rv = cmocka_run_group_tests(tests, NULL, NULL);
	stop_all();
	return rv;
}
