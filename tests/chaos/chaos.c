/* SPDX-License-Identifier: MIT */
/* The chaos soak: scenarios run in a loop (the debate from its lines, the
 * debate against the fake LLM server, the guessing game on child servers),
 * each an `agora run` on a Redis of its own with AOF, while a second thread
 * injects faults at random: SIGKILL or SIGSTOP (then SIGCONT) an agent
 * server, kill -9 Redis and start it again on its files, interrupt a run
 * with SIGINT, SIGTERM or SIGKILL. Then, with every process gone and every
 * lapsed lease reclaimed, each message ever stored is checked for each of
 * its recipients: in the recipient's memory exactly once or back in its
 * inbox exactly once, never both, never twice, never nowhere (and in the
 * sender's memory once). A memoryless kind's agent (random) keeps no
 * memory: the messages its replies say they read stand for it. Prints what it
 * injected and found; exit 1 if a message was lost, duplicated or stranded.
 *
 * usage: chaos [--seconds N] [--seed N]   (ctest runs it for 20 s; the
 * 10-minute soak is `chaos --seconds 600`). Needs AGORA_BIN, AGORA_SRC and
 * AGORA_FAKE_LLM (set by ctest). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/redis_cmd.h"
#include "agora/agora.h"
#include "agora/clock.h"
#include "agora/proc.h"
#include "test.h"

#define MAX_SESSIONS 4096
#define OWNER_TTL    "1000"

enum fault {
	F_SERVER_KILL,
	F_SERVER_STOP,
	F_REDIS_RESTART,
	F_RUN_INT,
	F_RUN_TERM,
	F_RUN_KILL,
	F_N
};

static const char *const fault_names[F_N] = {
	"agent server SIGKILL",
	"agent server SIGSTOP+SIGCONT",
	"redis kill -9 + restart (AOF)",
	"run SIGINT",
	"run SIGTERM",
	"run SIGKILL",
};

static struct {
	char dir[128];
	char redis_sock[200];
	char redis_url[256];
	char models[256];
	pthread_mutex_t lock; /* guards redis and run */
	agora_proc *redis;
	agora_proc *run;   /* the run going now, or NULL */
	atomic_bool over;  /* no more faults */
	atomic_bool quiet; /* the fault thread has seen `over`: none running */
	atomic_bool done;  /* the check is over: the fault thread may end */
	unsigned seed;
	long faults[F_N];
	long runs, exits[256];
	char *sessions[MAX_SESSIONS];
	size_t nsessions;
} ch = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- Redis with AOF ---------------------------------------------------- */

static bool
redis_answers(void)
{
	agora_redis *r = NULL;
	char err[256];
	bool ok;

	ok = agora_redis_open(&r, ch.redis_url, 500, err, sizeof(err)) ==
	         AGORA_OK &&
	     agora__redis_cmdv(r, NULL, "PING", NULL) == AGORA_OK;
	agora_redis_close(r);
	return ok;
}

/* Start redis-server on ch.dir (its AOF there), wait until it answers
 * (after loading its files). Under ch.lock. */
static void
redis_start(void)
{
	const char *argv[] = { "redis-server",
		               "--port",
		               "0",
		               "--unixsocket",
		               ch.redis_sock,
		               "--dir",
		               ch.dir,
		               "--appendonly",
		               "yes",
		               "--appendfsync",
		               "always",
		               "--save",
		               "",
		               "--daemonize",
		               "no",
		               "--loglevel",
		               "warning",
		               NULL };
	agora_proc_opts po = { .argv = argv,
		               .die_with_parent = true,
		               .log_path = NULL };
	char err[256];

	if (agora_proc_spawn(&ch.redis, &po, err, sizeof(err)) != AGORA_OK) {
		fprintf(stderr, "chaos: redis-server: %s\n", err);
		exit(2);
	}
	for (int i = 0; i < 3000 && !redis_answers(); i++) {
		agora_sleep_ms(10);
	}
	if (!redis_answers()) {
		fprintf(stderr, "chaos: redis-server never answered\n");
		exit(2);
	}
}

/* ---- runs -------------------------------------------------------------- */

static unsigned
rnd(unsigned n)
{
	return n > 0 ? (unsigned)rand_r(&ch.seed) % n : 0;
}

/* One `agora run` of a scenario picked at random, to its end. */
static void
run_one(long n)
{
	char src[512], session[64], scen[600], servers[8];
	const char *argv[24];
	size_t k = 0;
	agora_proc_opts po = { .die_with_parent = true };
	agora_proc *p = NULL;
	char err[256], logpath[300];
	unsigned pick = rnd(3);
	int st;

	snprintf(src, sizeof(src), "%s", getenv("AGORA_SRC"));
	snprintf(session, sizeof(session), "chaos%ld", n);
	snprintf(scen, sizeof(scen), "%s/demos/%s", src,
	         pick == 2 ? "guess/guess.json" : "debate/debate.json");
	snprintf(servers, sizeof(servers), "%u", pick == 0 ? rnd(2) : 2);
	snprintf(logpath, sizeof(logpath), "%s/run-%ld.log", ch.dir, n);
	argv[k++] = getenv("AGORA_BIN");
	argv[k++] = "run";
	argv[k++] = scen;
	argv[k++] = "--redis";
	argv[k++] = ch.redis_url;
	argv[k++] = "--session";
	argv[k++] = session;
	if (strcmp(servers, "0") != 0) { /* else all in the run's process */
		argv[k++] = "--servers";
		argv[k++] = servers;
	}
	argv[k++] = "--set";
	argv[k++] = "env.owner_ttl_ms=" OWNER_TTL;
	argv[k++] = "--set";
	argv[k++] = "env.memory_max=1000000";
	argv[k++] = "--set";
	argv[k++] = "server.timeout_ms=2000";
	argv[k++] = "--set";
	argv[k++] = "step.deadline_ms=20000";
	if (pick == 1) {
		argv[k++] = "--model-config";
		argv[k++] = ch.models;
	}
	argv[k] = NULL;
	po.argv = argv;
	po.log_path = logpath;
	if (ch.nsessions < MAX_SESSIONS) {
		ch.sessions[ch.nsessions++] = agora_strdup(session);
	}
	if (agora_proc_spawn(&p, &po, err, sizeof(err)) != AGORA_OK) {
		fprintf(stderr, "chaos: agora run: %s\n", err);
		exit(2);
	}
	pthread_mutex_lock(&ch.lock);
	ch.run = p;
	pthread_mutex_unlock(&ch.lock);
	while (agora_proc_alive(p)) {
		agora_sleep_ms(20);
	}
	pthread_mutex_lock(&ch.lock);
	ch.run = NULL;
	pthread_mutex_unlock(&ch.lock);
	st = agora_proc_status(p);
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	ch.exits[st & 255]++;
	if (st == 2) {
		/* Bad input, which a fault should not cause: say what. */
		char line[512] = "";
		FILE *f = fopen(logpath, "r");
		while (f != NULL && fgets(line, sizeof(line), f) != NULL &&
		       strncmp(line, "agora: ", 7) != 0) {
		}
		if (f != NULL) {
			fclose(f);
		}
		printf("chaos: %s exited 2: %s", session, line);
	}
	ch.runs++;
	agora_proc_free(p);
}

/* ---- faults ------------------------------------------------------------ */

/* The children of pid (its agent servers; the run's private Redis is not
 * used here: runs use ours). */
static size_t
children_of(int pid, int *out, size_t cap)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	while (d != NULL && n < cap && (e = readdir(d)) != NULL) {
		char path[300], line[512];
		FILE *f;
		int ppid = 0;
		char *close;
		if (e->d_name[0] < '0' || e->d_name[0] > '9') {
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (f == NULL) {
			continue;
		}
		if (fgets(line, sizeof(line), f) != NULL &&
		    (close = strrchr(line, ')')) != NULL &&
		    sscanf(close + 2, "%*c %d", &ppid) == 1 && ppid == pid) {
			out[n++] = (int)strtol(e->d_name, NULL, 10);
		}
		fclose(f);
	}
	if (d != NULL) {
		closedir(d);
	}
	return n;
}

static void
fault_server(bool stop)
{
	int kids[16];
	size_t n = 0;
	int victim;

	pthread_mutex_lock(&ch.lock);
	if (ch.run != NULL) {
		n = children_of(agora_proc_pid(ch.run), kids, 16);
	}
	pthread_mutex_unlock(&ch.lock);
	if (n == 0) {
		return;
	}
	victim = kids[rnd((unsigned)n)];
	if (!stop) {
		kill(victim, SIGKILL);
		ch.faults[F_SERVER_KILL]++;
		return;
	}
	kill(victim, SIGSTOP);
	agora_sleep_ms(200 + rnd(1800));
	kill(victim, SIGCONT);
	ch.faults[F_SERVER_STOP]++;
}

static void
fault_redis(void)
{
	pthread_mutex_lock(&ch.lock);
	kill(agora_proc_pid(ch.redis), SIGKILL);
	agora_proc_stop(ch.redis, 0);
	agora_proc_free(ch.redis);
	ch.redis = NULL;
	agora_sleep_ms(rnd(500));
	redis_start();
	pthread_mutex_unlock(&ch.lock);
	ch.faults[F_REDIS_RESTART]++;
}

static void
fault_run(int sig, enum fault f)
{
	bool hit = false;

	pthread_mutex_lock(&ch.lock);
	if (ch.run != NULL) {
		hit = kill(agora_proc_pid(ch.run), sig) == 0;
	}
	pthread_mutex_unlock(&ch.lock);
	ch.faults[f] += hit;
}

static void *
fault_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&ch.over)) {
		agora_sleep_ms(100 + rnd(900));
		if (atomic_load(&ch.over)) {
			break;
		}
		switch (rnd(10)) {
		case 0:
		case 1:
		case 2:
			fault_server(false);
			break;
		case 3:
		case 4:
			fault_server(true);
			break;
		case 5:
			fault_redis();
			break;
		case 6:
			fault_run(SIGINT, F_RUN_INT);
			break;
		case 7:
			fault_run(SIGTERM, F_RUN_TERM);
			break;
		case 8:
			fault_run(SIGKILL, F_RUN_KILL);
			break;
		default:
			break; /* a quiet moment */
		}
	}
	atomic_store(&ch.quiet, true);
	/* A Redis this thread restarted dies when it ends (PDEATHSIG
	 * follows the thread that forked): live until the check is done. */
	while (!atomic_load(&ch.done)) {
		agora_sleep_ms(10);
	}
	return NULL;
}

/* ---- the check --------------------------------------------------------- */

#define CHECK(call)                                               \
	do {                                                      \
		agora_err rv_ = (call);                           \
		if (rv_ != AGORA_OK) {                            \
			fprintf(stderr, "chaos: %s: %s\n", #call, \
			        agora_strerror(rv_));             \
			exit(2);                                  \
		}                                                 \
	} while (0)

struct tally {
	long pairs, in_memory, in_inbox, lost, twice, stranded;
};

/* The ids of one role's memory, inbox and in-flight list; for a role of a
 * memoryless kind, which keeps no memory, the ids its replies say they
 * read (meta "read") stand for its memory. */
struct lists {
	uint64_t *v[3];
	size_t n[3];
	bool memoryless;
};

static void
list_ids(agora_redis *r, const char *key, uint64_t **v, size_t *n)
{
	agora_reply *rep = NULL;

	CHECK(agora__redis_cmdv(r, &rep, "LRANGE", key, "0", "-1", NULL));
	*n = agora__reply_len(rep);
	*v = agora_calloc(*n + 1, sizeof(uint64_t));
	for (size_t i = 0; i < *n; i++) {
		size_t len;
		const char *s = agora__reply_str(agora__reply_at(rep, i), &len);
		if (s != NULL && len > 0 && s[0] == 'r') {
			s++; /* redelivered */
		}
		(*v)[i] = s != NULL ? strtoull(s, NULL, 10) : 0;
	}
	agora__reply_free(rep);
}

static void
lists_load(agora_redis *r, const char *session, const char *role,
           struct lists *l)
{
	static const char *const kinds[3] = { "mem", "inbox", "inflight" };

	for (int k = 0; k < 3; k++) {
		char key[300];
		snprintf(key, sizeof(key), "agora:{%s}:%s:%s", session,
		         kinds[k], role);
		list_ids(r, key, &l->v[k], &l->n[k]);
	}
}

static long
count(const struct lists *l, int k, uint64_t id)
{
	long n = 0;

	for (size_t i = 0; i < l->n[k]; i++) {
		n += l->v[k][i] == id;
	}
	return n;
}

/* Whether role's kind (in the registry) is memoryless. */
static bool
role_memoryless(agora_registry *reg, const char *role)
{
	agora_agent_info info;
	const agora_kind *k;

	if (agora_registry_get(reg, role, &info) != AGORA_OK) {
		return false;
	}
	k = info.kind != NULL ? agora_kind_find(info.kind) : NULL;
	agora_agent_info_fini(&info);
	return k != NULL && k->memoryless;
}

/* A memoryless role's "memory": the ids in its replies' meta "read". */
static void
read_ids(const agora_msgs *hist, const char *role, struct lists *l)
{
	size_t cap = 16;

	agora_free(l->v[0]);
	l->v[0] = agora_calloc(cap, sizeof(uint64_t));
	l->n[0] = 0;
	for (size_t i = 0; i < hist->n; i++) {
		const agora_msg *m = hist->v[i];
		const char *p =
		    m->meta != NULL ? strstr(m->meta, "\"read\":[") : NULL;
		if (p == NULL || strcmp(m->sent_from, role) != 0) {
			continue;
		}
		for (p += 7; *p != ']' && *p != '\0';) { /* at [ or , */
			char *end;
			uint64_t id = strtoull(p + 1, &end, 10);
			if (end == p + 1) {
				break;
			}
			if (l->n[0] == cap) {
				cap *= 2;
				l->v[0] = agora_realloc(l->v[0],
				                        cap * sizeof(uint64_t));
			}
			l->v[0][l->n[0]++] = id;
			p = end;
		}
	}
}

/* One recipient (or the author) of one message. */
static void
check_pair(const char *session, const char *role, const struct lists *l,
           uint64_t id, bool author, struct tally *t)
{
	long mem = count(l, 0, id), box = count(l, 1, id), fl = count(l, 2, id);

	t->pairs++;
	if (author) {
		box = 0; /* its own words are in its memory, not its inbox */
	}
	if (fl > 0) {
		t->stranded++;
		printf("chaos: %s: message %llu still in flight for %s\n",
		       session, (unsigned long long)id, role);
	} else if (mem + box == 0) {
		t->lost++;
		printf("chaos: %s: message %llu lost for %s\n", session,
		       (unsigned long long)id, role);
	} else if (mem + box > 1) {
		t->twice++;
		printf("chaos: %s: message %llu %ld times in %s's memory, %ld "
		       "in its inbox\n",
		       session, (unsigned long long)id, mem, role, box);
	} else if (mem == 1) {
		t->in_memory++;
	} else {
		t->in_inbox++;
	}
}

static void
check_session(agora_redis *r, const char *session, struct tally *t)
{
	agora_env_opts eo = { .memory_max = 1000000 };
	agora_env *env = NULL;
	agora_registry *reg = NULL;
	agora_msgs hist = { 0 };
	agora_strv roles = { 0 };
	struct lists *l;

	CHECK(agora_env_open(&env, r, session, &eo));
	/* Every owner is gone: what they held in flight goes back. */
	CHECK(agora_env_reclaim(env, NULL));
	CHECK(agora_env_roles(env, &roles));
	CHECK(agora_env_history(env, 0, &hist));
	CHECK(agora_registry_open(&reg, r, session));
	l = agora_calloc(roles.n + 1, sizeof(*l));
	for (size_t k = 0; k < roles.n; k++) {
		lists_load(r, session, roles.v[k], &l[k]);
		l[k].memoryless = role_memoryless(reg, roles.v[k]);
		if (l[k].memoryless) {
			read_ids(&hist, roles.v[k], &l[k]);
		}
	}
	for (size_t i = 0; i < hist.n; i++) {
		const agora_msg *m = hist.v[i];
		bool all = agora_strv_has(&m->send_to, AGORA_ALL);
		for (size_t k = 0; k < roles.n; k++) {
			bool author = strcmp(roles.v[k], m->sent_from) == 0;
			if (author && l[k].memoryless) {
				continue; /* it keeps nothing of what it said */
			}
			if (author || all ||
			    agora_strv_has(&m->send_to, roles.v[k])) {
				check_pair(session, roles.v[k], &l[k], m->id,
				           author, t);
			}
		}
	}
	for (size_t k = 0; k < roles.n; k++) {
		for (int j = 0; j < 3; j++) {
			agora_free(l[k].v[j]);
		}
	}
	agora_free(l);
	agora_registry_close(reg);
	agora_msgs_clear(&hist);
	agora_strv_clear(&roles);
	agora_env_close(env);
}

/* No owner key is left (each lapses OWNER_TTL after its process died). */
static void
owners_gone(agora_redis *r)
{
	for (int i = 0; i < 2000; i++) {
		agora_reply *rep = NULL;
		size_t n;
		if (agora__redis_cmdv(r, &rep, "KEYS", "agora:*:owner:*",
		                      NULL) != AGORA_OK) {
			fprintf(stderr, "chaos: KEYS: %s\n",
			        agora_redis_errstr(r));
			exit(2);
		}
		n = agora__reply_len(rep);
		agora__reply_free(rep);
		if (n == 0) {
			return;
		}
		agora_sleep_ms(10);
	}
	fprintf(stderr, "chaos: owner keys never lapsed\n");
	exit(1);
}

/* ---- main -------------------------------------------------------------- */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path); /* best effort: go on with the rest */
	return 0;
}

/* The scratch directory and all in it (Redis's AOF is a directory). */
static void
rm_rf(const char *dir)
{
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
setup(void)
{
	FILE *f;

	snprintf(ch.dir, sizeof(ch.dir), "%s/agora-chaos-XXXXXX",
	         getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(ch.dir) == NULL) {
		perror("chaos: mkdtemp");
		exit(2);
	}
	snprintf(ch.redis_sock, sizeof(ch.redis_sock), "%s/redis.sock", ch.dir);
	snprintf(ch.redis_url, sizeof(ch.redis_url), "unix://%s",
	         ch.redis_sock);
	snprintf(ch.models, sizeof(ch.models), "%s/models.json", ch.dir);
	f = fopen(ch.models, "w");
	if (f == NULL) {
		perror("chaos: models.json");
		exit(2);
	}
	fprintf(f,
	        "[{\"config_name\":\"default\",\"model_type\":\"openai_chat\","
	        "\"model_name\":\"echo\",\"max_retries\":1,"
	        "\"client_args\":{\"base_url\":\"%s\"}}]\n",
	        t_fake_llm());
	fclose(f);
	redis_start();
}

static void
report(const struct tally *t, double secs)
{
	long faults = 0;

	printf("chaos: %.0f s, %ld runs; exits:", secs, ch.runs);
	for (int i = 0; i < 256; i++) {
		if (ch.exits[i] > 0) {
			printf(" %d x%ld", i, ch.exits[i]);
		}
	}
	printf("\nchaos: faults injected:\n");
	for (int i = 0; i < F_N; i++) {
		printf("  %-32s %ld\n", fault_names[i], ch.faults[i]);
		faults += ch.faults[i];
	}
	printf("chaos: %ld faults; %zu sessions, %ld (message, agent) pairs: "
	       "%ld in memory, %ld back in an inbox; %ld lost, %ld twice, "
	       "%ld stranded in flight\n",
	       faults, ch.nsessions, t->pairs, t->in_memory, t->in_inbox,
	       t->lost, t->twice, t->stranded);
}

int
main(int argc, char **argv)
{
	long seconds = 20;
	struct tally t = { 0 };
	pthread_t faults;
	agora_redis *r = NULL;
	int64_t start, end;
	char err[256];

	ch.seed = (unsigned)getpid();
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0) {
			seconds = strtol(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--seed") == 0) {
			ch.seed = (unsigned)strtoul(argv[i + 1], NULL, 10);
		}
	}
	if (getenv("AGORA_BIN") == NULL || getenv("AGORA_SRC") == NULL ||
	    getenv("AGORA_FAKE_LLM") == NULL) {
		printf(
		    "chaos: skipped: AGORA_BIN, AGORA_SRC and AGORA_FAKE_LLM "
		    "must be set (run it with ctest)\n");
		return 0;
	}
	printf("chaos: seed %u, %ld s\n", ch.seed, seconds);
	agora_kinds_builtin(); /* which kinds are memoryless */
	setup();
	start = agora_now_ms();
	end = start + seconds * 1000;
	pthread_create(&faults, NULL, fault_main, NULL);
	for (long n = 0; agora_now_ms() < end; n++) {
		run_one(n);
	}
	atomic_store(&ch.over, true);
	/* A Redis restart under way would answer LOADING to the check. */
	while (!atomic_load(&ch.quiet)) {
		agora_sleep_ms(10);
	}

	if (agora_redis_open(&r, ch.redis_url, 5000, err, sizeof(err)) !=
	    AGORA_OK) {
		fprintf(stderr, "chaos: %s\n", err);
		return 2;
	}
	owners_gone(r);
	for (size_t i = 0; i < ch.nsessions; i++) {
		check_session(r, ch.sessions[i], &t);
		agora_free(ch.sessions[i]);
	}
	agora_redis_close(r);
	atomic_store(&ch.done, true);
	pthread_join(faults, NULL);
	report(&t, (double)(agora_now_ms() - start) / 1000.0);
	pthread_mutex_lock(&ch.lock);
	agora_proc_free(ch.redis);
	pthread_mutex_unlock(&ch.lock);
	if (getenv("CHAOS_KEEP") != NULL) {
		printf("chaos: kept %s (run-N.log per run)\n", ch.dir);
	} else {
		rm_rf(ch.dir);
	}
	return t.lost + t.twice + t.stranded > 0 ? 1 : 0;
}
