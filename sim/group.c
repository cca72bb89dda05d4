/* SPDX-License-Identifier: MIT */
/* One moderator's share of agora sim: a session of its own with the tally
 * moderator and participants p<from> .. p<to - 1>, driven by one center.
 * A round stores the moderator's question to its share, steps the share
 * (each answers to the moderator; failures come back as error frames,
 * classified here) and then steps the moderator, whose report is parsed
 * for the top. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/json.h"
#include "sim_int.h"

#define CREATE_CHUNK 10000

agora_err
sim_group_open(struct sim_group *g, char *err, size_t errlen)
{
	struct agora_sim *s = g->sim;
	agora_config cfg = s->cfg; /* a copy that borrows the strings */

	cfg.session = g->r.head.session; /* named by sim_nodes_plan */
	/* Only the first group's center starts children; the others place
	 * their participants at the children's addresses. */
	cfg.server_children =
	    g->index == 0 ? (int64_t)s->o.servers : cfg.server_children;
	snprintf(g->moderator, sizeof(g->moderator), "moderator%zu", g->index);
	return agora_center_new(&g->c, &cfg, err, errlen);
}

static agora_err
group_add(const char *role, const char *kind, const agora_json *opts,
          const char *placement, agora_agent **out, char *err, size_t errlen)
{
	agora_agent_spec spec = { 0 };

	spec.role = role;
	spec.kind = kind;
	spec.options = opts;
	spec.placement = placement;
	return agora_agent_new(out, &spec, err, errlen);
}

/* Participant i's options: the shared ones, with a model for LLMs. */
static agora_err
group_participant(struct sim_group *g, size_t i, const agora_json *opts,
                  agora_agent **out, char *err, size_t errlen)
{
	struct agora_sim *s = g->sim;
	const char *placement = NULL;
	agora_json *own = NULL;
	agora_err rv;
	char role[32];

	snprintf(role, sizeof(role), "p%zu", i);
	if (s->servers.n > 0) {
		placement = s->servers.urls[i % s->servers.n];
	} else if (s->o.servers > 0) {
		placement = "child";
	}
	if (s->o.kind == AGORA_SIM_LLM) {
		agora_buf b;
		agora_buf_init(&b, 0);
		(void)agora_buf_addf(
		    &b, "%.*s,\"model\":", (int)strlen(s->participant_opts) - 1,
		    s->participant_opts);
		const char *model = s->o.models[i % s->o.nmodels];
		(void)agora_buf_json_str(&b, model, strlen(model));
		(void)agora_buf_adds(&b, "}");
		rv = agora_json_parse(&own, b.data, b.len, 1 << 16, 8, err,
		                      errlen);
		agora_buf_fini(&b);
		if (rv != AGORA_OK) {
			return rv;
		}
		opts = own;
	}
	rv = group_add(role, s->o.kind == AGORA_SIM_LLM ? "roleplay" : "random",
	               opts, placement, out, err, errlen);
	agora_json_free(own);
	return rv;
}

agora_err
sim_group_create(struct sim_group *g, size_t from, size_t to, char *err,
                 size_t errlen)
{
	struct agora_sim *s = g->sim;
	agora_json *opts = NULL;
	agora_agent **v;
	agora_err rv;

	rv = agora_json_parse(&opts, s->participant_opts,
	                      strlen(s->participant_opts), 1 << 16, 8, err,
	                      errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	v = agora_calloc(CREATE_CHUNK, sizeof(agora_agent *));
	for (size_t at = from; at < to && rv == AGORA_OK;) {
		size_t n = 0;
		for (; at < to && n < CREATE_CHUNK && rv == AGORA_OK; at++) {
			rv = group_participant(g, at, opts, &v[n], err, errlen);
			n += rv == AGORA_OK;
		}
		if (rv == AGORA_OK) {
			rv = agora_center_add_agents(g->c, v, n);
			if (rv != AGORA_OK) {
				snprintf(err, errlen, "%s",
				         agora_center_errstr(g->c));
			}
		}
		for (size_t i = 0; rv != AGORA_OK && i < n; i++) {
			agora_agent_free(v[i]);
		}
		if (rv == AGORA_OK) {
			atomic_fetch_add(&s->created, n);
		}
	}
	agora_free(v);
	agora_json_free(opts);
	return rv;
}

agora_err
sim_group_moderate(struct sim_group *g, char *err, size_t errlen)
{
	agora_json *opts = NULL;
	agora_agent *a = NULL;
	agora_buf b;
	agora_err rv;

	agora_buf_init(&b, 128);
	(void)agora_buf_addf(&b, "{\"max\":%lld,\"from\":%zu,\"to\":%zu}",
	                     (long long)g->sim->o.max, g->from, g->to);
	rv = agora_json_parse(&opts, b.data, b.len, 4096, 4, err, errlen);
	agora_buf_fini(&b);
	if (rv == AGORA_OK) {
		rv = group_add(g->moderator, "sim_tally", opts, NULL, &a, err,
		               errlen);
	}
	if (rv == AGORA_OK) {
		rv = agora_center_add_agents(g->c, &a, 1);
		if (rv != AGORA_OK) {
			snprintf(err, errlen, "%s", agora_center_errstr(g->c));
			agora_agent_free(a);
		}
	}
	agora_json_free(opts);
	g->roles = agora_calloc(g->to - g->from + 1, sizeof(char *));
	for (size_t i = g->from; rv == AGORA_OK && i < g->to; i++) {
		g->roles[i - g->from] = agora_sprintf("p%zu", i);
	}
	return rv;
}

/* Which cause an error frame names (taskcenter's wording). */
static agora_sim_why
group_why(const char *text)
{
	if (strncmp(text, "timed out", 9) == 0) {
		return AGORA_SIM_TIMEOUT;
	}
	if (strncmp(text, "agent server ", 13) == 0) {
		return AGORA_SIM_LOST;
	}
	return AGORA_SIM_ERROR;
}

static void
group_fail(struct sim_group *g, agora_err rv, const char *what,
           const char *detail)
{
	if (g->r.rv == AGORA_OK) {
		g->r.rv = rv;
		snprintf(g->r.err, sizeof(g->r.err), "%s: %s: %.300s",
		         g->r.head.session, what, detail);
	}
}

/* The share's index of role p<i>, or SIZE_MAX. */
static size_t
group_index(const struct sim_group *g, const char *role)
{
	char *end = NULL;
	unsigned long long i;

	if (role[0] != 'p') {
		return SIZE_MAX;
	}
	i = strtoull(role + 1, &end, 10);
	return *end == '\0' && i >= g->from && i < g->to ? (size_t)(i - g->from)
	                                                 : SIZE_MAX;
}

/* The participants' step: note how each turn that failed failed (counted
 * once the moderator has said who answered). */
static void
group_answer(struct sim_group *g)
{
	const char *to[] = { g->moderator };
	agora_step_opts o = { 0 };
	agora_step *st = NULL;
	const agora_frame *f;
	agora_err rv;

	o.send_to = to;
	o.n_send_to = 1;
	o.allowed_roles = (const char *const *)g->roles;
	o.n_allowed = g->to - g->from;
	if (agora_center_step(g->c, &o, &st) != AGORA_OK) {
		group_fail(g, AGORA_EREDIS, "step", agora_center_errstr(g->c));
		return;
	}
	while ((rv = agora_step_next(st, &f)) == AGORA_OK && f != NULL) {
		size_t k;
		if (f->type == AGORA_FRAME_END) {
			g->r.ended++;
			atomic_fetch_add(&g->sim->answered, 1);
		} else if (f->type == AGORA_FRAME_ERROR &&
		           (k = group_index(g, f->role)) != SIZE_MAX) {
			agora_sim_why w = group_why(f->content);
			if (g->r.why[k] == 0 &&
			    g->r.failed[w]++ <
			        (size_t)AGORA_SIM_FAILURES_KEPT * 4) {
				char *line = agora_sprintf("%s: %s", f->role,
				                           f->content);
				agora_strv_push(&g->r.failures, line);
				agora_free(line);
			}
			g->r.why[k] = (uint8_t)(w + 1);
		}
	}
	if (rv != AGORA_OK) {
		group_fail(g, rv, "step", agora_step_errstr(st));
	}
	agora_step_free(st);
}

/* Bit k of the tally's "seen" (hex, two digits a byte, lowest first). */
static bool
seen_bit(const char *hex, size_t len, size_t k)
{
	size_t at = k / 8 * 2;
	int hi, lo;

	if (at + 2 > len) {
		return false;
	}
	hi = hex[at] <= '9' ? hex[at] - '0' : hex[at] - 'a' + 10;
	lo = hex[at + 1] <= '9' ? hex[at + 1] - '0' : hex[at + 1] - 'a' + 10;
	return (((hi << 4) | lo) >> (k % 8)) & 1;
}

/* A failed turn whose answer reached the moderator all the same (a server
 * taken for lost that still stored it) is an answer, counted once: the
 * causes and the listed failures keep only those that did not answer. */
static void
group_settle(struct sim_group *g, const char *seen)
{
	size_t share = g->to - g->from, len = seen != NULL ? strlen(seen) : 0;
	size_t kept[AGORA_SIM_NWHY] = { 0 };
	agora_strv lines = { 0 };

	memset(g->r.failed, 0, sizeof(g->r.failed));
	g->r.recovered = 0;
	for (size_t k = 0; k < share; k++) {
		if (g->r.why[k] == 0) {
			continue;
		}
		if (seen_bit(seen, len, k)) {
			g->r.recovered++;
			g->r.why[k] = 0;
		} else {
			g->r.failed[g->r.why[k] - 1]++;
		}
	}
	for (size_t i = 0; i < g->r.failures.n; i++) {
		char role[32];
		const char *line = g->r.failures.v[i];
		size_t n = strcspn(line, ":"), k;

		snprintf(role, sizeof(role), "%.*s", (int)(n < 31 ? n : 31),
		         line);
		k = group_index(g, role);
		if (k != SIZE_MAX && g->r.why[k] != 0 &&
		    kept[g->r.why[k] - 1]++ < AGORA_SIM_FAILURES_KEPT) {
			agora_strv_push(&lines, line);
		}
	}
	agora_strv_clear(&g->r.failures);
	g->r.failures = lines;
}

static void
group_read_report(struct sim_group *g, const char *text, size_t len)
{
	agora_json *doc = NULL;
	const agora_json *nn, *vals;
	char err[256];
	int64_t v;

	if (agora_json_parse(&doc, text, len, 64u << 20, 8, err, sizeof(err)) !=
	    AGORA_OK) {
		group_fail(g, AGORA_EPROTO, "the moderator's report", err);
		return;
	}
	g->r.head.answered =
	    agora_json_int(agora_json_get(doc, "count"), 0, INT64_MAX, &v)
	        ? (size_t)v
	        : 0;
	g->r.head.sum = agora_json_num(agora_json_get(doc, "sum"));
	g->r.no_number =
	    agora_json_int(agora_json_get(doc, "nn"), 0, INT64_MAX, &v)
	        ? (size_t)v
	        : 0;
	g->r.extra =
	    agora_json_int(agora_json_get(doc, "extra"), 0, INT64_MAX, &v)
	        ? (size_t)v
	        : 0;
	g->r.stray =
	    agora_json_int(agora_json_get(doc, "stray"), 0, INT64_MAX, &v)
	        ? (size_t)v
	        : 0;
	group_settle(g, agora_json_str(agora_json_get(doc, "seen")));
	nn = agora_json_get(doc, "no_number");
	for (size_t i = 0; i < agora_json_size(nn); i++) {
		const char *role = agora_json_str(agora_json_at(nn, i));
		if (role != NULL) {
			char *line = agora_sprintf(
			    "%s: no number in [0, %lld] in its answer", role,
			    (long long)g->sim->o.max);
			agora_strv_push(&g->r.failures, line);
			agora_free(line);
		}
	}
	vals = agora_json_get(doc, "values");
	for (size_t i = 0; i < agora_json_size(vals); i++) {
		const agora_json *e = agora_json_at(vals, i);
		int64_t val, count, first;
		if (agora_json_int(agora_json_at(e, 0), 0, g->sim->o.max,
		                   &val) &&
		    agora_json_int(agora_json_at(e, 1), 0, INT64_MAX, &count) &&
		    agora_json_int(agora_json_at(e, 2), 0, INT64_MAX, &first)) {
			g->r.values[val] += (size_t)count;
			g->r.first[val] = first;
		}
	}
	agora_json_free(doc);
}

/* The moderator's own turn: it reads the answers and reports. */
static void
group_tally(struct sim_group *g)
{
	const char *me[] = { g->moderator };
	agora_step_opts o = { 0 };
	agora_step *st = NULL;
	const agora_frame *f;
	agora_buf report;
	bool ended = false;
	agora_err rv;

	/* The report goes back to the moderator (skipped next round): to
	 * all, it would fill every participant's inbox. */
	o.send_to = me;
	o.n_send_to = 1;
	o.allowed_roles = me;
	o.n_allowed = 1;
	if (agora_center_step(g->c, &o, &st) != AGORA_OK) {
		group_fail(g, AGORA_EREDIS, "the moderator's step",
		           agora_center_errstr(g->c));
		return;
	}
	agora_buf_init(&report, 0); /* grows: up to max + 1 values */
	while ((rv = agora_step_next(st, &f)) == AGORA_OK && f != NULL) {
		if (f->type == AGORA_FRAME_CHUNK) {
			(void)agora_buf_add(&report, f->content, f->len);
		} else if (f->type == AGORA_FRAME_END) {
			ended = true;
		} else if (f->type == AGORA_FRAME_ERROR) {
			group_fail(g, AGORA_EPROTO, "the moderator",
			           f->content);
		}
	}
	if (rv != AGORA_OK) {
		group_fail(g, rv, "the moderator's step",
		           agora_step_errstr(st));
	} else if (ended) {
		group_read_report(g, report.data, report.len);
	} else if (g->r.rv == AGORA_OK) {
		group_fail(g, AGORA_EPROTO, "the moderator", "no report");
	}
	agora_buf_fini(&report);
	agora_step_free(st);
}

void
sim_group_play(struct sim_group *g, uint32_t round)
{
	size_t share = g->to - g->from;
	int64_t t0 = agora_now_us(), t1, t2;
	char question[160];

	agora_strv_clear(&g->r.failures);
	memset(g->r.failed, 0, sizeof(g->r.failed));
	memset(g->r.why, 0, share);
	g->r.recovered = 0;
	memset(g->r.values, 0, ((size_t)g->sim->o.max + 1) * sizeof(size_t));
	for (int64_t v = 0; v <= g->sim->o.max; v++) {
		g->r.first[v] = -1;
	}
	g->r.ended = g->r.no_number = g->r.extra = g->r.stray = 0;
	g->r.head.asked = share;
	g->r.head.answered = 0;
	g->r.head.sum = 0;
	g->r.rv = AGORA_OK;
	g->r.err[0] = '\0';
	snprintf(question, sizeof(question),
	         "Round %u: give a whole number between 0 and %lld. The one "
	         "closest to the average wins.",
	         round, (long long)g->sim->o.max);
	if (agora_center_send_task_request(g->c, question, NULL, 0,
	                                   g->moderator) != AGORA_OK) {
		group_fail(g, AGORA_EREDIS, "the question",
		           agora_center_errstr(g->c));
		return;
	}
	t1 = agora_now_us();
	g->r.ask_s = (double)(t1 - t0) / 1e6;
	group_answer(g);
	t2 = agora_now_us();
	g->r.answer_s = (double)(t2 - t1) / 1e6;
	if (g->r.rv == AGORA_OK) {
		group_tally(g);
	}
	g->r.tally_s = (double)(agora_now_us() - t2) / 1e6;
}

void
sim_group_close(struct sim_group *g)
{
	for (size_t i = 0; g->roles != NULL && i < g->to - g->from; i++) {
		agora_free(g->roles[i]);
	}
	agora_free(g->roles);
	agora_strv_clear(&g->r.failures);
	agora_free(g->r.values);
	agora_free(g->r.first);
	agora_free(g->r.why);
	agora_center_free(g->c);
	g->c = NULL;
}
