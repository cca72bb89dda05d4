/* SPDX-License-Identifier: MIT */
/* Test support for Redis Cluster: three masters started here
 * (redis-server --cluster-enabled yes, then redis-cli --cluster create),
 * commands on one node, which node owns a slot, and moving one slot to
 * another node the way redis-cli --cluster reshard moves each slot
 * (SETSLOT IMPORTING / MIGRATING, MIGRATE, SETSLOT NODE). Every
 * redis-server dies with the test program, whatever way it ends. */
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

struct t_cluster_node t_cluster[T_CLUSTER_NODES];
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

void
t_cluster_stop(void)
{
	for (int i = 0; i < T_CLUSTER_NODES; i++) {
		agora_redis_close(t_cluster[i].r);
		t_cluster[i].r = NULL;
		agora_proc_free(t_cluster[i].proc); /* SIGTERM, then SIGKILL */
		t_cluster[i].proc = NULL;
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
		fprintf(stderr, "t_cluster: %s: %s\n", argv[0], err);
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
char *
t_cluster_str(int i, const char *a, const char *b, const char *c)
{
	agora_reply *rep = NULL;
	const char *s = NULL;
	size_t n = 0;
	char *out;

	if (agora__redis_cmdv(t_cluster[i].r, &rep, a, b, c, NULL) ==
	    AGORA_OK) {
		s = agora__reply_str(rep, &n);
	}
	out = agora_strndup(s != NULL ? s : "", n);
	agora__reply_free(rep);
	return out;
}

long long
t_cluster_int(int i, const char *a, const char *b, const char *c)
{
	agora_reply *rep = NULL;
	long long v = -1;

	if (agora__redis_cmdv(t_cluster[i].r, &rep, a, b, c, NULL) ==
	    AGORA_OK) {
		v = agora__reply_int(rep);
	}
	agora__reply_free(rep);
	return v;
}

static bool
cluster_ok(void)
{
	bool ok = true;

	for (int i = 0; i < T_CLUSTER_NODES && ok; i++) {
		char *info = t_cluster_str(i, "CLUSTER", "INFO", NULL);
		ok = strstr(info, "cluster_state:ok") != NULL;
		agora_free(info);
	}
	return ok;
}

/* Which node owns slot, as node `asked` sees it (CLUSTER SLOTS); -1. */
int
t_cluster_owner_seen_by(int asked, unsigned slot)
{
	agora_reply *rep = NULL;
	int found = -1;

	if (agora__redis_cmdv(t_cluster[asked].r, &rep, "CLUSTER", "SLOTS",
	                      NULL) != AGORA_OK) {
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
		for (int i = 0; i < T_CLUSTER_NODES; i++) {
			if (t_cluster[i].port == port) {
				found = i;
			}
		}
	}
	agora__reply_free(rep);
	return found;
}

int
t_cluster_owner(unsigned slot)
{
	return t_cluster_owner_seen_by(0, slot);
}

unsigned
t_cluster_session_slot(const char *session)
{
	char key[256];

	snprintf(key, sizeof(key), "agora:{%s}:", session);
	return agora__redis_slot(key, strlen(key));
}

/* A session name (unique to this run) whose slot node `want` owns. */
void
t_cluster_session_on(int want, const char *tag, char *out, size_t len)
{
	for (int k = 0;; k++) {
		snprintf(out, len, "c%d-%s-%d", (int)getpid(), tag, k);
		if (t_cluster_owner(t_cluster_session_slot(out)) == want) {
			return;
		}
	}
}

long long
t_cluster_keys_in_slot(int i, unsigned slot)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", slot);
	return t_cluster_int(i, "CLUSTER", "COUNTKEYSINSLOT", s);
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
	fprintf(stderr, "t_cluster: redis-server exited:\n");
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

	t_cluster[i].port = free_port();
	snprintf(port, sizeof(port), "%d", t_cluster[i].port);
	snprintf(conf, sizeof(conf), "%s/nodes-%d.conf", dir,
	         t_cluster[i].port);
	snprintf(rlog, sizeof(rlog), "%s/redis-%d.log", dir, t_cluster[i].port);
	snprintf(t_cluster[i].url, sizeof(t_cluster[i].url),
	         "redis://127.0.0.1:%d", t_cluster[i].port);
	if (agora_proc_spawn(&t_cluster[i].proc, &o, err, sizeof(err)) !=
	    AGORA_OK) {
		fprintf(stderr, "t_cluster: %s\n", err);
		return 1;
	}
	while (agora_redis_open(&t_cluster[i].r, t_cluster[i].url, 2000, err,
	                        sizeof(err)) != AGORA_OK) {
		if (!agora_proc_alive(t_cluster[i].proc)) {
			return no_cluster_mode(rlog);
		}
		if (agora_now_ms() > until) {
			fprintf(stderr, "t_cluster: redis on %d: %s\n",
			        t_cluster[i].port, err);
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
	const char *create[4 + T_CLUSTER_NODES + 4] = { "redis-cli",
		                                        "--cluster", "create" };
	char addr[T_CLUSTER_NODES][32], log[300];
	int na = 3;

	for (int i = 0; i < T_CLUSTER_NODES; i++) {
		snprintf(addr[i], sizeof(addr[i]), "127.0.0.1:%d",
		         t_cluster[i].port);
		create[na++] = addr[i];
	}
	create[na++] = "--cluster-replicas";
	create[na++] = "0";
	create[na++] = "--cluster-yes";
	create[na] = NULL;
	snprintf(log, sizeof(log), "%s/create.log", dir);
	if (run(create, log) != 0) {
		fprintf(stderr, "t_cluster: redis-cli --cluster create "
		                "failed:\n");
		print_file(log);
		return 1;
	}
	for (int64_t until = agora_now_ms() + 30000; !cluster_ok();) {
		if (agora_now_ms() > until) {
			fprintf(stderr, "t_cluster: the cluster never "
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
int
t_cluster_start(void)
{
	int rv = 0;

	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "t_cluster: mkdtemp failed\n");
		return 1;
	}
	made_dir = true;
	for (int i = 0; i < T_CLUSTER_NODES && rv == 0; i++) {
		rv = start_node(i);
	}
	rv = rv == 0 ? make_cluster() : rv;
	for (int i = 0; i < T_CLUSTER_NODES && rv == 0; i++) {
		char *id = t_cluster_str(i, "CLUSTER", "MYID", NULL);
		snprintf(t_cluster[i].id, sizeof(t_cluster[i].id), "%s", id);
		agora_free(id);
	}
	return rv;
}

/* A command on node i (argv NULL-ended) that must succeed; its reply. */
agora_reply *
t_cluster_do(int i, const char *const *argv)
{
	size_t lens[64];
	agora_reply *rep = NULL;
	int argc = 0;

	while (argv[argc] != NULL && argc < 64) {
		lens[argc] = strlen(argv[argc]);
		argc++;
	}
	AGORA_PASS(agora__redis_cmd(t_cluster[i].r, &rep, argc, argv, lens));
	return rep;
}

/* Mark slot as leaving `from` for `to` (the first step of a reshard). */
void
t_cluster_begin_move(const char *slot, int from, int to)
{
	agora__reply_free(t_cluster_do(
	    to, (const char *[]){ "CLUSTER", "SETSLOT", slot, "IMPORTING",
	                          t_cluster[from].id, NULL }));
	agora__reply_free(t_cluster_do(
	    from, (const char *[]){ "CLUSTER", "SETSLOT", slot, "MIGRATING",
	                            t_cluster[to].id, NULL }));
}

/* MIGRATE up to 50 of slot's keys still on `from`; how many. */
size_t
t_cluster_migrate_some(const char *slot, int from, int to)
{
	agora_reply *keys =
	    t_cluster_do(from, (const char *[]){ "CLUSTER", "GETKEYSINSLOT",
	                                         slot, "50", NULL });
	const char *argv[64] = { "MIGRATE", "127.0.0.1", NULL,  "",
		                 "0",       "5000",      "KEYS" };
	size_t n = agora__reply_len(keys);
	char port[16];
	int argc = 7;

	snprintf(port, sizeof(port), "%d", t_cluster[to].port);
	argv[2] = port;
	for (size_t k = 0; k < n; k++) {
		argv[argc++] = agora__reply_str(agora__reply_at(keys, k), NULL);
	}
	if (n > 0) {
		agora__reply_free(t_cluster_do(from, argv));
	}
	agora__reply_free(keys);
	return n;
}

/* Move slot from node `from` to node `to`, the way redis-cli --cluster
 * reshard moves each slot, for exactly this one. */
void
t_cluster_move_slot(unsigned slot, int from, int to)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", slot);
	t_cluster_begin_move(s, from, to);
	while (t_cluster_migrate_some(s, from, to) > 0) {
	}
	/* Every master told, so none sends a client back to the source. */
	for (int i = 0; i < T_CLUSTER_NODES; i++) {
		agora__reply_free(t_cluster_do(
		    i, (const char *[]){ "CLUSTER", "SETSLOT", s, "NODE",
		                         t_cluster[to].id, NULL }));
	}
	for (int i = 0; i < T_CLUSTER_NODES; i++) {
		assert_int_equal(t_cluster_owner_seen_by(i, slot), to);
	}
}
