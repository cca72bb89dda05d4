/* SPDX-License-Identifier: MIT */
/* agora sim's groups together: checks the options, makes one group per
 * moderator (contiguous shares, the remainder spread, nobody dropped),
 * creates the participants with every group at once, plays rounds with
 * every group at once and merges the moderators' reports into the result:
 * the average over everyone who answered, the winner, and how many did
 * not answer and why. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "redis_cmd.h"
#include "sim_int.h"

#define SHARE_DEFAULT         250000 /* participants per moderator by default */
#define SHARE_MAX             1000000 /* a report of 500 KiB at most */
#define MODERATORS_MAX        1024
#define SERVER_MODERATORS_MAX 64

static const char *const why_names[AGORA_SIM_NWHY] = {
	"timeout", "lost", "error", "no_number", "missing",
};

const char *
agora_sim_why_name(agora_sim_why w)
{
	return w < AGORA_SIM_NWHY ? why_names[w] : "?";
}

static const char participant_instruction[] =
    "You are one of many participants in a game: the moderator asks each "
    "participant for a whole number between 0 and %lld, and whoever is "
    "closest to the average of all the numbers wins. Answer with your "
    "number.";

/* The moderators: as asked, else one per SHARE_DEFAULT participants. */
static size_t
sim_moderators(const agora_sim_opts *o)
{
	return o->moderators > 0
	           ? o->moderators
	           : (o->participants + SHARE_DEFAULT - 1) / SHARE_DEFAULT;
}

static agora_err
sim_check(const agora_sim_opts *o, char *err, size_t errlen)
{
	size_t m = sim_moderators(o), servers = o->servers + o->nconnect;

	if (o->participants == 0 ||
	    o->participants > AGORA_SIM_PARTICIPANTS_MAX) {
		snprintf(err, errlen, "participants: expected 1 to %d",
		         AGORA_SIM_PARTICIPANTS_MAX);
	} else if (o->moderators > MODERATORS_MAX ||
	           o->moderators > o->participants) {
		snprintf(err, errlen,
		         "moderators: expected 1 to %d and at most one per "
		         "participant",
		         MODERATORS_MAX);
	} else if (o->participants > m * SHARE_MAX) {
		/* A moderator's report (a bit per participant, a count per
		 * value) must fit a turn's reply (512 KiB). */
		snprintf(err, errlen,
		         "moderators: at most %d participants a moderator; "
		         "give at least %zu",
		         SHARE_MAX,
		         (o->participants + SHARE_MAX - 1) / SHARE_MAX);
	} else if (servers > 0 && m > SERVER_MODERATORS_MAX) {
		/* Each moderator's center connects to every agent server,
		 * which takes 128 connections by default. */
		snprintf(err, errlen,
		         "moderators: at most %d with agent servers (each "
		         "connects to every server)",
		         SERVER_MODERATORS_MAX);
	} else if (o->servers > o->participants / m) {
		snprintf(err, errlen,
		         "servers: at most one per participant of the "
		         "smallest share (%zu)",
		         o->participants / m);
	} else if (o->max < 0 || o->max > AGORA_SIM_MAX_VALUE) {
		snprintf(err, errlen, "max: expected 1 to %d",
		         AGORA_SIM_MAX_VALUE);
	} else if (o->think_ms < 0 || o->think_ms > 3600000) {
		snprintf(err, errlen, "think-ms: expected 0 to 3600000");
	} else if (o->servers > 0 && o->nconnect > 0) {
		snprintf(err, errlen,
		         "servers and connect: give one or the other");
	} else if (o->kind == AGORA_SIM_LLM && o->nmodels == 0) {
		snprintf(err, errlen,
		         "LLM participants need at least one model config");
	} else if (o->cfg == NULL) {
		snprintf(err, errlen, "no configuration");
	} else {
		return AGORA_OK;
	}
	return AGORA_EINVAL;
}

static void sim_progress(struct agora_sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sim_progress(struct agora_sim *s, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (s->o.progress == NULL) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->o.progress(s->o.progress_arg, line);
}

/* ---- every group at once ---- */

struct sim_job {
	struct sim_group *g;
	void (*fn)(struct sim_group *g);
	pthread_mutex_t *mu;
	pthread_cond_t *cv;
	size_t *done;
};

static void *
sim_job_run(void *arg)
{
	struct sim_job *j = arg;

	j->fn(j->g);
	pthread_mutex_lock(j->mu);
	(*j->done)++;
	pthread_cond_signal(j->cv);
	pthread_mutex_unlock(j->mu);
	return NULL;
}

/* Run fn on every group, each on a thread, and call tick about once a
 * second (with the seconds since the start) until all are done. */
static void
sim_parallel(struct agora_sim *s, void (*fn)(struct sim_group *g),
             void (*tick)(struct agora_sim *s, double seconds))
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv;
	struct sim_job *jobs = agora_calloc(s->ngroups, sizeof(*jobs));
	size_t done = 0;
	int64_t t0 = agora_now_us(), next = agora_now_ms() + 1000;

	agora_cond_init(&cv);
	for (size_t i = 0; i < s->ngroups; i++) {
		jobs[i] =
		    (struct sim_job){ &s->groups[i], fn, &mu, &cv, &done };
		if (pthread_create(&s->groups[i].thread, NULL, sim_job_run,
		                   &jobs[i]) != 0) {
			sim_job_run(&jobs[i]); /* no thread: here, in turn */
			s->groups[i].thread = 0;
		}
	}
	pthread_mutex_lock(&mu);
	while (done < s->ngroups) {
		if (!agora_cond_wait_until(&cv, &mu, next) &&
		    done < s->ngroups) {
			next = agora_now_ms() + 1000;
			if (tick != NULL) {
				pthread_mutex_unlock(&mu);
				tick(s, (double)(agora_now_us() - t0) / 1e6);
				pthread_mutex_lock(&mu);
			}
		}
	}
	pthread_mutex_unlock(&mu);
	for (size_t i = 0; i < s->ngroups; i++) {
		if (s->groups[i].thread != 0) {
			pthread_join(s->groups[i].thread, NULL);
		}
	}
	pthread_cond_destroy(&cv);
	agora_free(jobs);
}

/* ---- creation ---- */

static void
create_job(struct sim_group *g)
{
	size_t from = g->from + g->created_first;

	g->r.rv = sim_group_create(g, from, g->to, g->r.err, sizeof(g->r.err));
}

static void
create_tick(struct agora_sim *s, double seconds)
{
	sim_progress(s, "creating %zu participants: %zu (%.1f s)",
	             s->o.participants, atomic_load(&s->created), seconds);
}

static agora_err
sim_groups_first_error(struct agora_sim *s, char *err, size_t errlen)
{
	for (size_t i = 0; i < s->ngroups; i++) {
		if (s->groups[i].r.rv != AGORA_OK) {
			snprintf(err, errlen, "%s", s->groups[i].r.err);
			return s->groups[i].r.rv;
		}
	}
	return AGORA_OK;
}

static agora_err
sim_create(struct agora_sim *s, char *err, size_t errlen)
{
	struct sim_group *g0 = &s->groups[0];
	int64_t t0 = agora_now_us();
	agora_err rv = AGORA_OK;

	/* Child servers are started by the first group's center, from this
	 * thread (a child's death signal follows the thread that started
	 * it): one participant each, then everyone places by address. */
	if (s->o.servers > 0) {
		size_t n = s->o.servers < g0->to - g0->from ? s->o.servers
		                                            : g0->to - g0->from;
		rv = sim_group_create(g0, g0->from, g0->from + n, err, errlen);
		if (rv == AGORA_OK) {
			rv = sim_servers_learn(&s->servers, g0->c, g0->from, n,
			                       err, errlen);
		}
		g0->created_first = n;
	}
	if (rv == AGORA_OK) {
		sim_parallel(s, create_job, create_tick);
		rv = sim_groups_first_error(s, err, errlen);
	}
	for (size_t i = 0; i < s->ngroups && rv == AGORA_OK; i++) {
		rv = sim_group_moderate(&s->groups[i], err, errlen);
	}
	s->create_s = (double)(agora_now_us() - t0) / 1e6;
	return rv;
}

/* ---- new ---- */

static void
sim_opts_json(struct agora_sim *s)
{
	agora_buf b;

	agora_buf_init(&b, 0);
	if (s->o.kind == AGORA_SIM_LLM) {
		char text[sizeof(participant_instruction) + 32];
		snprintf(text, sizeof(text), participant_instruction,
		         (long long)s->o.max);
		(void)agora_buf_adds(&b, "{\"instruction\":");
		(void)agora_buf_json_str(&b, text, strlen(text));
	} else {
		(void)agora_buf_addf(&b, "{\"max\":%lld,\"think_ms\":%lld",
		                     (long long)s->o.max,
		                     (long long)s->o.think_ms);
		if (s->o.seed >= 0) {
			(void)agora_buf_addf(&b, ",\"seed\":%lld",
			                     (long long)s->o.seed);
		}
	}
	(void)agora_buf_adds(&b, "}");
	s->participant_opts = agora_strndup(b.data, b.len);
	agora_buf_fini(&b);
}

agora_err
agora_sim_new(agora_sim **sp, const agora_sim_opts *o, char *err, size_t errlen)
{
	struct agora_sim *s;
	agora_err rv;
	size_t m;

	*sp = NULL;
	rv = sim_check(o, err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	(void)agora_kind_register(&agora__sim_tally);
	if (agora_kind_find(agora__sim_tally.name) != &agora__sim_tally) {
		snprintf(err, errlen, "the kind %s is another's (a plugin?)",
		         agora__sim_tally.name);
		return AGORA_EEXIST;
	}
	s = agora_calloc(1, sizeof(*s));
	s->o = *o;
	s->o.max = o->max > 0 ? o->max : 100;
	s->cfg = *o->cfg;
	m = sim_moderators(o);
	if (s->cfg.redis_url == NULL || s->cfg.redis_url[0] == '\0') {
		rv = agora_redis_server_start(&s->redis, s->cfg.redis_server,
		                              err, errlen);
		if (rv != AGORA_OK) {
			agora_free(s);
			return rv;
		}
		s->redis_url = agora_strdup(agora_redis_server_url(s->redis));
		s->cfg.redis_url = s->redis_url;
	}
	if (o->cfg->session != NULL && o->cfg->session[0] != '\0') {
		snprintf(s->prefix, sizeof(s->prefix), "%s", o->cfg->session);
	} else {
		snprintf(s->prefix, sizeof(s->prefix), "sim-%d-%lld",
		         (int)getpid(),
		         (long long)(agora_wall_ms() % 100000000));
	}
	sim_opts_json(s);
	*sp = s;
	if (o->nconnect > 0) {
		rv = sim_servers_given(&s->servers, o, err, errlen);
		if (rv != AGORA_OK) {
			return rv;
		}
	}
	s->groups = agora_calloc(m, sizeof(*s->groups));
	rv = sim_nodes_plan(s, m, err, errlen);
	for (size_t i = 0; i < m && rv == AGORA_OK; i++) {
		struct sim_group *g = &s->groups[i];
		g->sim = s;
		g->index = i;
		g->from = o->participants * i / m;
		g->to = o->participants * (i + 1) / m;
		g->r.values =
		    agora_calloc((size_t)s->o.max + 1, sizeof(size_t));
		g->r.first =
		    agora_calloc((size_t)s->o.max + 1, sizeof(int64_t));
		g->r.why = agora_calloc(g->to - g->from + 1, 1);
		s->ngroups++;
		rv = sim_group_open(g, err, errlen);
	}
	if (rv == AGORA_OK) {
		rv = sim_create(s, err, errlen);
	}
	return rv;
}

double
agora_sim_create_seconds(const agora_sim *s)
{
	return s->create_s;
}

/* ---- a round ---- */

static void
play_job(struct sim_group *g)
{
	sim_group_play(g, g->sim->round);
}

static void
play_tick(struct agora_sim *s, double seconds)
{
	sim_progress(s, "round %u: %zu of %zu answered so far (%.1f s)",
	             s->round, atomic_load(&s->answered), s->o.participants,
	             seconds);
}

/* The value nearest the average (the lower of two as near), and the
 * first participant who gave it. */
static void
merge_winner(struct agora_sim *s, agora_sim_round *r)
{
	double best = HUGE_VAL;

	r->winner_value = -1;
	r->winner[0] = '\0';
	for (int64_t v = 0; v <= s->o.max && !isnan(r->average); v++) {
		int64_t first = -1;
		for (size_t i = 0; i < s->ngroups; i++) {
			int64_t f = s->groups[i].r.first[v];
			if (f >= 0 && (first < 0 || f < first)) {
				first = f;
			}
		}
		if (first >= 0 && fabs((double)v - r->average) < best) {
			best = fabs((double)v - r->average);
			r->winner_value = v;
			snprintf(r->winner, sizeof(r->winner), "p%lld",
			         (long long)first);
		}
	}
}

static void
merge(struct agora_sim *s, agora_sim_round *r)
{
	agora_strv fails = { 0 };

	r->round = s->round;
	r->groups = agora_calloc(s->ngroups, sizeof(*r->groups));
	r->ngroups = s->ngroups;
	for (size_t i = 0; i < s->ngroups; i++) {
		struct sim_group_round *g = &s->groups[i].r;
		size_t accounted;

		r->groups[i] = g->head;
		r->asked += g->head.asked;
		r->answered += g->head.answered;
		r->sum += g->head.sum;
		for (int w = 0; w < AGORA_SIM_NWHY; w++) {
			r->failed[w] += g->failed[w];
		}
		r->failed[AGORA_SIM_NO_NUMBER] += g->no_number;
		/* A turn that ended well but whose answer the moderator
		 * did not read. */
		accounted = g->head.answered + g->no_number;
		if (g->ended > accounted) {
			r->failed[AGORA_SIM_MISSING] += g->ended - accounted;
		}
		r->extra += g->extra;
		r->recovered += g->recovered;
		r->stray += g->stray;
		for (int64_t v = 0; v <= s->o.max; v++) {
			r->hist[(size_t)v * AGORA_SIM_HIST_BINS /
			        ((size_t)s->o.max + 1)] += g->values[v];
		}
		for (size_t k = 0; k < g->failures.n; k++) {
			agora_strv_push(&fails, g->failures.v[k]);
		}
		r->ask_s = fmax(r->ask_s, g->ask_s);
		r->answer_s = fmax(r->answer_s, g->answer_s);
		r->tally_s = fmax(r->tally_s, g->tally_s);
	}
	for (int w = 0; w < AGORA_SIM_NWHY; w++) {
		r->no_answer += r->failed[w];
	}
	/* Whatever is not accounted for is missing, never averaged away. */
	if (r->answered + r->no_answer < r->asked) {
		size_t gap = r->asked - r->answered - r->no_answer;
		r->failed[AGORA_SIM_MISSING] += gap;
		r->no_answer += gap;
	}
	r->average =
	    r->answered > 0 ? r->sum / (double)r->answered : (double)NAN;
	merge_winner(s, r);
	r->failures = fails.v;
	r->nfailures = fails.n;
}

agora_err
agora_sim_play(agora_sim *s, agora_sim_round *r, char *err, size_t errlen)
{
	int64_t t0 = agora_now_us();
	agora_err rv;

	memset(r, 0, sizeof(*r));
	s->round++;
	atomic_store(&s->answered, 0);
	sim_parallel(s, play_job, play_tick);
	rv = sim_groups_first_error(s, err, errlen);
	merge(s, r);
	r->seconds = (double)(agora_now_us() - t0) / 1e6;
	return rv;
}

void
agora_sim_round_fini(agora_sim_round *r)
{
	agora_strv fails = { r->failures, r->nfailures };

	agora_strv_clear(&fails);
	agora_free(r->groups);
	memset(r, 0, sizeof(*r));
}

const char *
agora_sim_server_of(const agora_sim *s, size_t i)
{
	return s->servers.n > 0 ? s->servers.urls[i % s->servers.n] : NULL;
}

const char *
agora_sim_session(const agora_sim *s, size_t g)
{
	return g < s->ngroups ? s->groups[g].r.head.session : NULL;
}

/* ---- memory, interrupt, free ---- */

/* Redis's used memory and CPU (user + system) from INFO. */
static void
redis_usage(struct agora_sim *s, agora_sim_memory *m)
{
	agora_redis *rd = agora_env_redis(agora_center_env(s->groups[0].c));
	agora_reply *rep = NULL;
	const char *text, *p;

	m->redis_kib = -1;
	m->redis_cpu_s = -1;
	if (agora__redis_cmdv(rd, &rep, "INFO", "all", NULL) != AGORA_OK ||
	    (text = agora__reply_str(rep, NULL)) == NULL) {
		agora__reply_free(rep);
		return;
	}
	if ((p = strstr(text, "\r\nused_memory:")) != NULL) {
		m->redis_kib = (long)(strtoll(p + 14, NULL, 10) / 1024);
	}
	if ((p = strstr(text, "\r\nused_cpu_sys:")) != NULL) {
		m->redis_cpu_s = strtod(p + 15, NULL);
	}
	if ((p = strstr(text, "\r\nused_cpu_user:")) != NULL) {
		m->redis_cpu_s += strtod(p + 16, NULL);
	}
	agora__reply_free(rep);
}

void
agora_sim_memory_read(agora_sim *s, agora_sim_memory *m)
{
	struct rusage ru;
	FILE *f;
	char line[128];

	memset(m, 0, sizeof(*m));
	m->nservers = s->servers.n < 64 ? s->servers.n : 64;
	sim_servers_usage(&s->servers, m->servers_kib, m->servers_cpu_s, 64);
	redis_usage(s, m);
	m->self_kib = -1;
	m->self_cpu_s = -1;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		m->self_cpu_s =
		    (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	}
	f = fopen("/proc/self/statm", "re");
	if (f != NULL) {
		char *end = NULL;
		long rss = -1;
		if (fgets(line, sizeof(line), f) != NULL) {
			(void)strtol(line, &end, 10); /* the size; then rss */
			rss = strtol(end, NULL, 10);
		}
		if (rss >= 0) {
			m->self_kib = rss * (sysconf(_SC_PAGESIZE) / 1024);
		}
		fclose(f);
	}
}

void
agora_sim_interrupt(agora_sim *s)
{
	for (size_t i = 0; i < s->ngroups; i++) {
		if (s->groups[i].c != NULL) {
			(void)agora_center_interrupt(s->groups[i].c);
		}
	}
}

void
agora_sim_free(agora_sim *s)
{
	if (s == NULL) {
		return;
	}
	/* The first group's center last: its children serve the others. */
	for (size_t i = s->ngroups; i-- > 0;) {
		sim_group_close(&s->groups[i]);
	}
	agora_free(s->groups);
	sim_servers_fini(&s->servers);
	agora_free(s->participant_opts);
	agora_redis_server_stop(s->redis);
	agora_free(s->redis_url);
	agora_free(s);
}
