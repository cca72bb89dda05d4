/* SPDX-License-Identifier: MIT */
/* A step job on a host: the roles a TaskCenter asked for take one turn on
 * this server's center, which drains their inboxes and stores their replies
 * in Redis itself; every frame goes to the caller's mailbox as it comes
 * out. The op is answered at once ("started") and the turns' frames follow
 * as events, then a "d" event ends the step. Roles not hosted here get an
 * error event and do not hold up the others. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/log.h"
#include "server_int.h"

#define STEP_ID_MAX 64
#define GROUP_MAX   (256u << 10)
#define SID_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-."

struct role_ix {
	const char *role;
	size_t i;
};

struct step_job {
	struct server *srv;
	char client[CLIENT_ID_MAX + 1];
	char sid[STEP_ID_MAX + 1];
	agora_strv roles; /* as asked, index = position */
	agora_strv send_to;
	char *task, *llm_args, *user_response;
	bool human_auto;
	int64_t deadline_ms;
	struct role_ix *ix; /* sorted by role */
	agora_buf group;    /* events not yet in the mailbox */
};

static int
role_ix_cmp(const void *a, const void *b)
{
	return strcmp(((const struct role_ix *)a)->role,
	              ((const struct role_ix *)b)->role);
}

static char *
opt_dup(const agora_json *op, const char *key)
{
	const char *s = agora_json_str(agora_json_get(op, key));

	return s != NULL ? agora_strdup(s) : NULL;
}

static void
strv_from_json(agora_strv *out, const agora_json *arr)
{
	for (const agora_json *e = agora_json_first(arr); e != NULL;
	     e = agora_json_next(e)) {
		const char *s = agora_json_str(e);
		agora_strv_push(out, s != NULL ? s : "");
	}
}

/* Copy what the step needs out of the request (freed with the reply). */
static const char *
step_parse(struct step_job *sj, const struct job *j)
{
	const agora_json *op = j->op;
	const char *sid = agora_json_str(agora_json_get(op, "sid"));
	const agora_json *roles = agora_json_get(op, "roles");

	if (sid == NULL || strlen(sid) > STEP_ID_MAX ||
	    strspn(sid, SID_CHARS) != strlen(sid)) {
		return "step needs \"sid\" (up to 64 of A-Z a-z 0-9 _ - .)";
	}
	if (agora_json_typeof(roles) != AGORA_JSON_ARRAY) {
		return "step needs \"roles\", an array";
	}
	if (j->p->client[0] == '\0') {
		return "step: the request has no client to stream to";
	}
	snprintf(sj->sid, sizeof(sj->sid), "%s", sid);
	agora_buf_init(&sj->group, 0);
	snprintf(sj->client, sizeof(sj->client), "%s", j->p->client);
	strv_from_json(&sj->roles, roles);
	strv_from_json(&sj->send_to, agora_json_get(op, "send_to"));
	sj->task = opt_dup(op, "task");
	sj->llm_args = opt_dup(op, "llm_args");
	sj->user_response = opt_dup(op, "user_response");
	sj->human_auto = agora_json_bool(agora_json_get(op, "human_auto"));
	(void)agora_json_int(agora_json_get(op, "deadline_ms"), 1, 86400000,
	                     &sj->deadline_ms);
	sj->ix = agora_calloc(sj->roles.n + 1, sizeof(*sj->ix));
	for (size_t i = 0; i < sj->roles.n; i++) {
		sj->ix[i].role = sj->roles.v[i];
		sj->ix[i].i = i;
	}
	qsort(sj->ix, sj->roles.n, sizeof(*sj->ix), role_ix_cmp);
	return NULL;
}

static void
step_job_fini(struct step_job *sj)
{
	agora_strv_clear(&sj->roles);
	agora_strv_clear(&sj->send_to);
	agora_free(sj->task);
	agora_free(sj->llm_args);
	agora_free(sj->user_response);
	agora_free(sj->ix);
	agora_buf_fini(&sj->group);
}

/* Events go to the mailbox in groups: whatever the step produced before
 * it next has to wait (or GROUP_MAX bytes), one lock and one entry. */
static void
step_flush(struct step_job *sj)
{
	if (sj->group.len > 0) {
		box_push(sj->srv, sj->client, agora_buf_steal(&sj->group));
	}
}

static void
step_event(struct step_job *sj, long idx, char type, const char *text,
           size_t len)
{
	agora_buf *ev = &sj->group;

	(void)agora_buf_addf(ev, "%s{\"s\":\"%s\",", ev->len > 0 ? "," : "",
	                     sj->sid);
	if (idx >= 0) {
		(void)agora_buf_addf(ev, "\"i\":%ld,", idx);
	}
	(void)agora_buf_addf(ev, "\"t\":\"%c\"", type);
	if (text != NULL) {
		(void)agora_buf_adds(ev, ",\"c\":");
		(void)agora_buf_json_str(ev, text, len);
	}
	(void)agora_buf_adds(ev, "}");
	if (ev->len > GROUP_MAX) {
		step_flush(sj);
	}
}

/* An end event carries how the model's turn went: "f" why it stopped,
 * "u" [prompt, completion, total] tokens (-1 unknown). */
static void
step_event_end(struct step_job *sj, long idx, const agora_frame *f)
{
	agora_buf *ev = &sj->group;

	if (f->finish[0] == '\0' && f->prompt_tokens < 0 &&
	    f->completion_tokens < 0) {
		step_event(sj, idx, 'e', NULL, 0);
		return;
	}
	(void)agora_buf_addf(ev, "%s{\"s\":\"%s\",\"i\":%ld,\"t\":\"e\",\"f\":",
	                     ev->len > 0 ? "," : "", sj->sid, idx);
	(void)agora_buf_json_str(ev, f->finish, strlen(f->finish));
	(void)agora_buf_addf(
	    ev, ",\"u\":[%lld,%lld,%lld]}", (long long)f->prompt_tokens,
	    (long long)f->completion_tokens, (long long)f->total_tokens);
	if (ev->len > GROUP_MAX) {
		step_flush(sj);
	}
}

static long
step_index(const struct step_job *sj, const char *role)
{
	struct role_ix key = { .role = role };
	const struct role_ix *hit =
	    bsearch(&key, sj->ix, sj->roles.n, sizeof(key), role_ix_cmp);

	return hit != NULL ? (long)hit->i : -1;
}

static void
step_forward(struct step_job *sj, const agora_frame *f, size_t *busy)
{
	long idx = step_index(sj, f->role);

	if (idx < 0) {
		return;
	}
	switch (f->type) {
	case AGORA_FRAME_CHUNK:
		step_event(sj, idx, 'c', f->content, f->len);
		break;
	case AGORA_FRAME_END:
		step_event_end(sj, idx, f);
		*busy -= *busy > 0;
		break;
	case AGORA_FRAME_ERROR:
		step_event(sj, idx, 'x', f->content, f->len);
		*busy -= *busy > 0;
		break;
	case AGORA_FRAME_AWAITING_INPUT:
		step_event(sj, idx, 'a', NULL, 0);
		*busy -= *busy > 0;
		break;
	}
}

/* The hosted roles go into allowed; the others get an error now. */
static void
step_pick(struct host *h, struct step_job *sj, const char **allowed, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < sj->roles.n; i++) {
		if (agora_center_agent(h->c, sj->roles.v[i]) != NULL) {
			allowed[(*n)++] = sj->roles.v[i];
		} else {
			char why[160];
			snprintf(why, sizeof(why),
			         "no agent '%.80s' on this server",
			         sj->roles.v[i]);
			step_event(sj, (long)i, 'x', why, strlen(why));
		}
	}
}

static void
step_run(struct host *h, struct step_job *sj)
{
	const char **allowed = agora_calloc(sj->roles.n + 1, sizeof(char *));
	agora_step_opts o = { 0 };
	const agora_frame *f;
	agora_step *st = NULL;
	size_t n, busy;
	agora_err rv;

	step_pick(h, sj, allowed, &n);
	o.task = sj->task;
	o.send_to = (const char *const *)sj->send_to.v;
	o.n_send_to = sj->send_to.n;
	o.allowed_roles = allowed;
	o.n_allowed = n;
	o.user_response = sj->user_response;
	o.human_auto = sj->human_auto;
	o.llm_args = sj->llm_args;
	o.deadline_ms = sj->deadline_ms;
	rv = n > 0 ? agora_center_step(h->c, &o, &st) : AGORA_OK;
	host_set_step(h, st);
	busy = n;
	host_set_busy(h, busy);
	while (st != NULL) {
		rv = agora_step_poll(st, &f);
		if (rv == AGORA_ETIMEDOUT) {
			step_flush(sj);
			host_set_busy(h, busy);
			rv = agora_step_next(st, &f);
		}
		if (rv != AGORA_OK || f == NULL) {
			break;
		}
		step_forward(sj, f, &busy);
	}
	if (rv != AGORA_OK) {
		const char *why = st != NULL ? agora_step_errstr(st)
		                             : agora_center_errstr(h->c);
		step_event(sj, -1, 'd', why, strlen(why));
	} else {
		step_event(sj, -1, 'd', NULL, 0);
	}
	step_flush(sj);
	host_set_busy(h, 0);
	host_set_step(h, NULL);
	agora_step_free(st);
	agora_free(allowed);
}

/* The session could not be opened: the step ends with why. */
static void
step_refuse(struct job *j, const char *why)
{
	struct step_job *sj = j->step;

	step_event(sj, -1, 'd', why, strlen(why));
	step_flush(sj);
	step_job_fini(sj);
	agora_free(sj);
	j->step = NULL;
}

bool
step_accept(struct job *j)
{
	struct step_job *sj = agora_calloc(1, sizeof(*sj));
	const char *why;

	sj->srv = j->p->srv;
	why = step_parse(sj, j);
	if (why != NULL) {
		srv_error(j->p, j->idx, AGORA_EINVAL, "%s", why);
		step_job_fini(sj);
		agora_free(sj);
		return false;
	}
	j->step = sj;
	j->refuse = step_refuse;
	j->op = NULL; /* the request may go once answered */
	srv_result(j->p, j->idx, agora_strdup("{\"ok\":true}"));
	j->p = NULL;
	return true;
}

void
host_step(struct host *h, struct job **jobs, size_t n)
{
	struct job *j = jobs[0];
	struct step_job *sj = j->step;

	(void)n; /* step jobs do not batch */
	step_run(h, sj);
	step_job_fini(sj);
	agora_free(sj);
	j->step = NULL;
}
