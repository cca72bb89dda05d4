/* SPDX-License-Identifier: MIT */
/* Test support: the private Redis of a test program, centers, steps run
 * to completion, and a few test-only agent kinds (a kind is the public
 * extension point, so these are plugins, not mocks). */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redis_cmd.h" /* agora__redis_cmdv, to read a role's lists */
#include "test.h"

static agora_redis_server *t_server;

static void
t_server_stop(void)
{
	agora_redis_server_stop(t_server);
	t_server = NULL;
}

const char *
t_redis_url(void)
{
	char err[512];

	if (t_server == NULL) {
		if (agora_redis_server_start(&t_server, NULL, err,
		                             sizeof(err)) != AGORA_OK) {
			fprintf(stderr, "test: cannot start redis: %s\n", err);
			exit(1);
		}
		atexit(t_server_stop);
	}
	return agora_redis_server_url(t_server);
}

const char *
t_redis_dir(void)
{
	(void)t_redis_url();
	return agora_redis_server_dir(t_server);
}

int
t_redis_pid(void)
{
	(void)t_redis_url();
	return agora_redis_server_pid(t_server);
}

static agora_proc *t_llm_proc;
static char t_llm_url[128];
static char t_llm_log[64];

static void
t_llm_stop(void)
{
	agora_proc_free(t_llm_proc);
	t_llm_proc = NULL;
	unlink(t_llm_log);
}

const char *
t_fake_llm(void)
{
	const char *bin = getenv("AGORA_FAKE_LLM");
	char err[256], line[64];
	int fd;

	if (t_llm_proc != NULL) {
		return t_llm_url;
	}
	if (bin == NULL) {
		fail_msg(
		    "AGORA_FAKE_LLM is not set (run the tests with ctest)");
	}
	snprintf(t_llm_log, sizeof(t_llm_log), "/tmp/agora-fake-llm-XXXXXX");
	fd = mkstemp(t_llm_log);
	close(fd);
	{
		const char *argv[] = { bin, NULL };
		agora_proc_opts o = { .argv = argv,
			              .log_path = t_llm_log,
			              .die_with_parent = true };
		if (agora_proc_spawn(&t_llm_proc, &o, err, sizeof(err)) !=
		    AGORA_OK) {
			fail_msg("fake_llm: %s", err);
		}
	}
	atexit(t_llm_stop);
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(t_llm_log, "r");
		int port = 0;
		if (f != NULL && fgets(line, sizeof(line), f) != NULL &&
		    sscanf(line, "PORT %d", &port) == 1) {
			fclose(f);
			snprintf(t_llm_url, sizeof(t_llm_url),
			         "http://127.0.0.1:%d/v1", port);
			return t_llm_url;
		}
		if (f != NULL) {
			fclose(f);
		}
		agora_sleep_ms(10);
	}
	fail_msg("fake_llm did not say its port");
	return NULL;
}

agora_redis *
t_redis_open(void)
{
	agora_redis *r = NULL;
	char err[512];

	if (agora_redis_open(&r, t_redis_url(), 5000, err, sizeof(err)) !=
	    AGORA_OK) {
		fail_msg("redis open: %s", err);
	}
	return r;
}

agora_center *
t_center_with(const char *name, const char *const *kv)
{
	static int serial;
	agora_config cfg;
	agora_center *c = NULL;
	char err[512], session[80];

	agora_kinds_builtin();
	t_kinds();
	agora_config_init(&cfg);
	if (name[0] == '=') {
		snprintf(session, sizeof(session), "%s", name + 1);
	} else {
		snprintf(session, sizeof(session), "t%d-%s-%d", (int)getpid(),
		         name, serial++);
	}
	agora_config_set(&cfg, "redis.url", t_redis_url(), err, sizeof(err));
	agora_config_set(&cfg, "session", session, err, sizeof(err));
	for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2) {
		if (agora_config_set(&cfg, kv[i], kv[i + 1], err,
		                     sizeof(err)) != AGORA_OK) {
			fail_msg("config: %s", err);
		}
	}
	if (agora_center_new(&c, &cfg, err, sizeof(err)) != AGORA_OK) {
		fail_msg("center: %s", err);
	}
	agora_config_fini(&cfg);
	return c;
}

agora_center *
t_center(const char *name)
{
	return t_center_with(name, NULL);
}

static agora_agent *
t_add_spec(agora_center *c, agora_agent_spec spec, const char *options_json)
{
	agora_json *doc = NULL;
	agora_agent *a = NULL;
	const char *role = spec.role;
	char err[512];

	if (options_json != NULL) {
		AGORA_PASS(agora_json_parse(&doc, options_json,
		                            strlen(options_json), 1u << 20, 16,
		                            err, sizeof(err)));
		spec.options = doc;
	}
	if (agora_agent_new(&a, &spec, err, sizeof(err)) != AGORA_OK) {
		fail_msg("agent %s: %s", role, err);
	}
	agora_json_free(doc);
	if (agora_center_add_agents(c, &a, 1) != AGORA_OK) {
		fail_msg("add %s: %s", role, agora_center_errstr(c));
	}
	return a;
}

agora_agent *
t_add_flags(agora_center *c, const char *role, const char *kind,
            const char *options_json, bool human, bool watcher)
{
	agora_agent_spec spec = { role, kind, NULL, human, watcher, NULL };

	return t_add_spec(c, spec, options_json);
}

agora_agent *
t_add_placed(agora_center *c, const char *role, const char *kind,
             const char *options_json, const char *placement)
{
	agora_agent_spec spec = { role, kind, NULL, false, false, placement };

	return t_add_spec(c, spec, options_json);
}

agora_agent *
t_add(agora_center *c, const char *role, const char *kind,
      const char *options_json)
{
	return t_add_flags(c, role, kind, options_json, false, false);
}

agora_err
t_step(agora_center *c, const agora_step_opts *o, t_frames *out)
{
	agora_step *st = NULL;
	const agora_frame *f;
	agora_err rv;
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	rv = agora_center_step(c, o, &st);
	if (rv != AGORA_OK) {
		snprintf(out->errstr, sizeof(out->errstr), "%s",
		         agora_center_errstr(c));
		return rv;
	}
	while ((rv = agora_step_next(st, &f)) == AGORA_OK && f != NULL) {
		if (out->n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			out->v =
			    agora_realloc(out->v, cap * sizeof(agora_frame));
		}
		out->v[out->n] = *f;
		out->v[out->n].role = agora_strdup(f->role);
		out->v[out->n].content = agora_strndup(f->content, f->len);
		out->n++;
	}
	out->err = rv;
	snprintf(out->errstr, sizeof(out->errstr), "%s", agora_step_errstr(st));
	agora_step_free(st);
	return AGORA_OK;
}

void
t_frames_free(t_frames *f)
{
	for (size_t i = 0; i < f->n; i++) {
		agora_frame_fini(&f->v[i]);
	}
	agora_free(f->v);
	memset(f, 0, sizeof(*f));
}

size_t
t_count(const t_frames *f, const char *role, agora_frame_type type)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++) {
		n += (role == NULL || strcmp(f->v[i].role, role) == 0) &&
		     f->v[i].type == type;
	}
	return n;
}

/* Fails the test, at the caller's line, when there is no such frame:
 * callers compare indexes (a < b), and "never came" as SIZE_MAX made such
 * a comparison pass. */
size_t
t_first_at(const t_frames *f, const char *role, agora_frame_type type,
           const char *file, int line)
{
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->v[i].role, role) == 0 && f->v[i].type == type) {
			return i;
		}
	}
	print_error("no %s frame of %s among %zu frames\n",
	            agora_frame_type_name(type), role, f->n);
	_fail(file, line);
	return SIZE_MAX;
}

char *
t_text_of(const t_frames *f, const char *role, agora_frame_type type)
{
	agora_buf b;

	agora_buf_init(&b, 0);
	agora_buf_adds(&b, "");
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->v[i].role, role) == 0 && f->v[i].type == type) {
			agora_buf_add(&b, f->v[i].content, f->v[i].len);
		}
	}
	return agora_buf_steal(&b);
}

char *
t_text(const t_frames *f, const char *role)
{
	return t_text_of(f, role, AGORA_FRAME_CHUNK);
}

/* LRANGE of role's list into *out ("" if empty); no test fails here. */
static agora_err
ids_read(agora_center *c, const char *list, const char *role, char **out,
         char *err, size_t errlen)
{
	char *key = agora_sprintf("agora:{%s}:%s:%s", agora_center_session(c),
	                          list, role);
	agora_redis *r = NULL;
	agora_reply *rep = NULL;
	agora_err rv;
	agora_buf b;

	*out = NULL;
	rv = agora_redis_open(&r, agora_center_redis_url(c), 5000, err, errlen);
	if (rv == AGORA_OK) {
		rv = agora__redis_cmdv(r, &rep, "LRANGE", key, "0", "-1", NULL);
		if (rv != AGORA_OK) {
			snprintf(err, errlen, "%s", agora_redis_errstr(r));
		}
	}
	if (rv == AGORA_OK) {
		agora_buf_init(&b, 0);
		agora_buf_adds(&b, "");
		for (size_t i = 0; i < agora__reply_len(rep); i++) {
			size_t len = 0;
			const char *id =
			    agora__reply_str(agora__reply_at(rep, i), &len);
			agora_buf_addf(&b, "%s%.*s", i > 0 ? " " : "", (int)len,
			               id);
		}
		*out = agora_buf_steal(&b);
	}
	agora__reply_free(rep);
	agora_redis_close(r);
	agora_free(key);
	return rv;
}

char *
t_ids(agora_center *c, const char *list, const char *role)
{
	char err[512], *ids;

	if (ids_read(c, list, role, &ids, err, sizeof(err)) != AGORA_OK) {
		fail_msg("%s:%s: %s", list, role, err);
	}
	return ids;
}

bool
t_wait_listed(agora_center *c, const char *list, const char *role, size_t n)
{
	char err[512];

	for (int i = 0; i < 1000; i++) {
		char *ids = NULL;
		size_t have = 0;
		if (ids_read(c, list, role, &ids, err, sizeof(err)) ==
		    AGORA_OK) {
			have = ids[0] != '\0';
			for (const char *p = ids; *p != '\0'; p++) {
				have += *p == ' ';
			}
		}
		agora_free(ids);
		if (have >= n) {
			return true;
		}
		agora_sleep_ms(10);
	}
	return false;
}

void
t_ids_are(agora_center *c, const char *list, const char *role, const char *want)
{
	char *got = t_ids(c, list, role);

	if (strcmp(got, want) != 0) {
		fail_msg("%s:%s is [%s], want [%s]", list, role, got, want);
	}
	agora_free(got);
}

char *
t_msgs(const agora_msgs *ms)
{
	agora_buf b;

	agora_buf_init(&b, 0);
	agora_buf_adds(&b, "");
	for (size_t i = 0; i < ms->n; i++) {
		agora_buf_addf(&b, "%s%s>%s", i > 0 ? "|" : "",
		               ms->v[i]->sent_from, ms->v[i]->content);
	}
	return agora_buf_steal(&b);
}

struct agora_reply *
t_reply(const char *resp, size_t len)
{
	agora_reply_reader *rd = agora__reply_reader_new();
	agora_reply *rep = NULL;

	assert_non_null(rd);
	AGORA_PASS(agora__reply_reader_feed(rd, resp, len));
	AGORA_PASS(agora__reply_reader_get(rd, &rep));
	assert_non_null(rep);
	agora__reply_reader_free(rd);
	return rep;
}

/* ---- test kinds -------------------------------------------------------- */

static agora_err
tk_create(void **statep, const agora_agent_spec *spec, char *err, size_t errlen)
{
	(void)spec;
	(void)err;
	(void)errlen;
	*statep = NULL;
	return AGORA_OK;
}

static void
tk_fail_act(void *state, agora_turn *t)
{
	(void)state;
	agora_turn_emits(t, "partial ");
	agora_turn_fail(t, "model exploded");
}

static void
tk_hang_act(void *state, agora_turn *t)
{
	(void)state;
	(void)t; /* never ends: the step deadline must */
}

static void
tk_args_act(void *state, agora_turn *t)
{
	(void)state;
	agora_turn_emits(t, agora_turn_llm_args(t));
	agora_turn_done(t);
}

static void
tk_count_act(void *state, agora_turn *t)
{
	agora_buf b;

	(void)state;
	agora_buf_init(&b, 0);
	agora_buf_addf(&b, "%zu", agora_turn_ninputs(t));
	for (size_t i = 0; i < agora_turn_ninputs(t); i++) {
		agora_buf_addf(&b, " %llu%s",
		               (unsigned long long)agora_turn_input(t, i)->id,
		               agora_turn_input(t, i)->redelivered ? "r" : "");
	}
	agora_turn_emit(t, b.data, b.len);
	agora_buf_fini(&b);
	agora_turn_done(t);
}

/* What a prompt would be built from: the task, then "sender: content"
 * lines of what the agent read. */
static void
tk_prompt_act(void *state, agora_turn *t)
{
	agora_buf b;

	(void)state;
	agora_buf_init(&b, 0);
	agora_buf_addf(&b, "task=%s",
	               agora_turn_task(t) != NULL ? agora_turn_task(t) : "");
	for (size_t i = 0; i < agora_turn_ninputs(t); i++) {
		agora_buf_addf(&b, "\n%s: %s",
		               agora_turn_input(t, i)->sent_from,
		               agora_turn_input(t, i)->content);
	}
	agora_turn_emit(t, b.data, b.len);
	agora_buf_fini(&b);
	agora_turn_done(t);
}

/* "thread": its work happens on another thread, which posts the words
 * "a", "b", "c" delay_ms apart, then the end. cancel stops and joins the
 * thread, so nothing is posted after it (the contract of agora_turn_post). */
struct tk_thread {
	pthread_t tid;
	bool running;
	atomic_bool stop;
	int64_t delay_ms;
	int64_t words;      /* how many it posts (3) */
	int64_t chunk_size; /* bytes a word (1) */
	agora_turn *turn;
};

/* Threads of "thread" agents still running (a kind whose turn ended must
 * have been told to stop them). */
static atomic_int tk_threads_live;

int
t_threads_running(void)
{
	return atomic_load(&tk_threads_live);
}

static void
tk_thread_emit(void *state, agora_turn *t, void *arg)
{
	(void)state;
	agora_turn_emits(t, arg);
}

static void
tk_thread_done(void *state, agora_turn *t, void *arg)
{
	(void)state;
	(void)arg;
	agora_turn_done(t);
}

/* Posts its words delay_ms apart until done or told to stop: after the
 * kind's cancel returns, it posts nothing more (the turn API's contract). */
static void *
tk_thread_main(void *arg)
{
	struct tk_thread *k = arg;
	static const char *const words[] = { "a", "b", "c" };

	for (int64_t i = 0; i < k->words; i++) {
		for (int64_t slept = 0; slept < k->delay_ms; slept += 5) {
			if (atomic_load(&k->stop)) {
				atomic_fetch_sub(&tk_threads_live, 1);
				return NULL;
			}
			agora_sleep_ms(k->delay_ms < 5 ? k->delay_ms : 5);
		}
		if (atomic_load(&k->stop)) {
			break;
		}
		if (k->chunk_size > 1) {
			char *w = agora_malloc((size_t)k->chunk_size + 1);
			memset(w, 'w', (size_t)k->chunk_size);
			w[k->chunk_size] = '\0';
			agora_turn_post(k->turn, tk_thread_emit, w, agora_free);
		} else {
			agora_turn_post(k->turn, tk_thread_emit,
			                (void *)(uintptr_t)words[i % 3], NULL);
		}
	}
	if (!atomic_load(&k->stop)) {
		agora_turn_post(k->turn, tk_thread_done, NULL, NULL);
	}
	atomic_fetch_sub(&tk_threads_live, 1);
	return NULL;
}

static void
tk_thread_join(struct tk_thread *k)
{
	if (k->running) {
		atomic_store(&k->stop, true);
		pthread_join(k->tid, NULL);
		k->running = false;
	}
}

static agora_err
tk_thread_create(void **statep, const agora_agent_spec *spec, char *err,
                 size_t errlen)
{
	struct tk_thread *k = agora_calloc(1, sizeof(*k));
	const agora_json *d = agora_json_get(spec->options, "delay_ms");

	(void)err;
	(void)errlen;
	k->delay_ms = d != NULL ? (int64_t)agora_json_num(d) : 10;
	k->words = 3;
	k->chunk_size = 1;
	(void)agora_json_int(agora_json_get(spec->options, "words"), 1,
	                     INT64_MAX, &k->words);
	(void)agora_json_int(agora_json_get(spec->options, "chunk_size"), 1,
	                     1 << 24, &k->chunk_size);
	*statep = k;
	return AGORA_OK;
}

static void
tk_thread_act(void *state, agora_turn *t)
{
	struct tk_thread *k = state;

	tk_thread_join(k); /* the previous turn's thread has finished */
	atomic_store(&k->stop, false);
	k->turn = t;
	atomic_fetch_add(&tk_threads_live, 1);
	k->running = pthread_create(&k->tid, NULL, tk_thread_main, k) == 0;
	if (!k->running) {
		atomic_fetch_sub(&tk_threads_live, 1);
	}
}

static void
tk_thread_cancel(void *state, agora_turn *t)
{
	(void)t;
	tk_thread_join(state);
}

static void
tk_thread_destroy(void *state)
{
	if (state != NULL) {
		tk_thread_join(state);
		agora_free(state);
	}
}

/* "memory": answers how many memory entries it got, then each as
 * "u:<content>" (what it read) or "a" (what it said). */
static void
tk_memory_act(void *state, agora_turn *t)
{
	size_t n = agora_turn_nmemory(t);
	agora_buf b;

	(void)state;
	agora_buf_init(&b, 0);
	agora_buf_addf(&b, "%zu", n);
	for (size_t i = 0; i < n; i++) {
		const agora_msg *m = agora_turn_memory(t, i);
		if (m->role == AGORA_ROLE_ASSISTANT) {
			agora_buf_adds(&b, " a");
		} else {
			agora_buf_addf(&b, " u:%s", m->content);
		}
	}
	agora_turn_emit(t, b.data, b.len);
	agora_buf_fini(&b);
	agora_turn_done(t);
}

static const agora_kind tk_thread = { .name = "thread",
	                              .create = tk_thread_create,
	                              .act = tk_thread_act,
	                              .cancel = tk_thread_cancel,
	                              .destroy = tk_thread_destroy };
static const agora_kind tk_memory = { .name = "memory",
	                              .create = tk_create,
	                              .act = tk_memory_act,
	                              .memory_limit = 3 };

static const agora_kind tk_fail = { .name = "fail",
	                            .create = tk_create,
	                            .act = tk_fail_act };
static const agora_kind tk_hang = { .name = "hang",
	                            .create = tk_create,
	                            .act = tk_hang_act };
static const agora_kind tk_args = { .name = "args",
	                            .create = tk_create,
	                            .act = tk_args_act };
static const agora_kind tk_count = { .name = "count",
	                             .create = tk_create,
	                             .act = tk_count_act };
static const agora_kind tk_prompt = { .name = "prompt",
	                              .create = tk_create,
	                              .act = tk_prompt_act };

void
t_kinds(void)
{
	(void)agora_kind_register(&tk_fail);
	(void)agora_kind_register(&tk_hang);
	(void)agora_kind_register(&tk_args);
	(void)agora_kind_register(&tk_count);
	(void)agora_kind_register(&tk_prompt);
	(void)agora_kind_register(&tk_thread);
	(void)agora_kind_register(&tk_memory);
}

/* Remove a test's scratch directory and what is in it (one level). */
void
t_rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[1024];

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) != 0) {
			char sub[1024];
			snprintf(sub, sizeof(sub), "%s", path);
			t_rm_rf(sub);
		}
	}
	if (d != NULL) {
		closedir(d);
	}
	rmdir(dir);
}
