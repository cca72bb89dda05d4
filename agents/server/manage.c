/* SPDX-License-Identifier: MIT */
/* Agent management jobs, run on a session's host thread: create (a run of
 * consecutive creates is made in one batch, two Redis round trips for all
 * of them; a repeated create of the same kind is success, initialised
 * once), delete, delete-all and an agent's memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/log.h"
#include "server_int.h"

#define MEMORY_MAX_LIMIT 100000

struct create_item {
	struct job *j;
	const char *role;
	const char *kind;
	agora_agent *a;
};

static int
create_item_cmp(const void *x, const void *y)
{
	const struct create_item *a = x, *b = y;
	int c = strcmp(a->role, b->role);

	if (c != 0) {
		return c;
	}
	return a->j->idx < b->j->idx ? -1 : a->j->idx > b->j->idx;
}

/* An agent already here with the same kind was created before (a resent or
 * repeated create): that is success, initialised once. */
static bool
create_existing(struct host *h, struct create_item *it)
{
	agora_agent *old = agora_center_agent(h->c, it->role);

	if (old == NULL) {
		return false;
	}
	if (strcmp(agora_agent_kind(old), it->kind) == 0) {
		srv_result(it->j->p, it->j->idx,
		           agora_strdup("{\"ok\":true,\"existed\":true}"));
	} else {
		srv_error(it->j->p, it->j->idx, AGORA_EEXIST,
		          "%s: an agent of kind '%s' already has this role",
		          it->role, agora_agent_kind(old));
	}
	return true;
}

static agora_err
create_one(struct host *h, struct create_item *it)
{
	const agora_json *op = it->j->op;
	agora_agent_spec spec = { 0 };
	char why[512];
	agora_err rv;

	spec.role = it->role;
	spec.kind = it->kind;
	spec.options = agora_json_get(op, "options");
	spec.human = agora_json_bool(agora_json_get(op, "human"));
	spec.watcher = agora_json_bool(agora_json_get(op, "watcher"));
	rv = agora_agent_new(&it->a, &spec, why, sizeof(why));
	if (rv != AGORA_OK) {
		srv_error(it->j->p, it->j->idx, rv, "%s", why);
	}
	(void)h;
	return rv;
}

static void
create_items(struct create_item *it, struct job **jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		it[i].j = jobs[i];
		it[i].role =
		    agora_json_str(agora_json_get(jobs[i]->op, "role"));
		it[i].kind =
		    agora_json_str(agora_json_get(jobs[i]->op, "kind"));
		if (it[i].role == NULL || it[i].kind == NULL) {
			it[i].role = it[i].role ? it[i].role : "";
			it[i].kind = NULL;
		}
	}
	qsort(it, n, sizeof(*it), create_item_cmp);
}

/* Decide each item (sorted by role): an error, already here, or made now
 * (into made[], its agent into fresh[]). Returns how many were made. */
static size_t
create_sort(struct host *h, struct create_item *it, size_t n,
            struct create_item **made, agora_agent **fresh)
{
	size_t nfresh = 0, room;

	pthread_mutex_lock(&h->srv->lock);
	room = h->srv->max_agents - h->srv->nagents;
	pthread_mutex_unlock(&h->srv->lock);
	for (size_t i = 0; i < n; i++) {
		if (it[i].kind == NULL) {
			srv_error(it[i].j->p, it[i].j->idx, AGORA_EINVAL,
			          "create needs \"role\" and \"kind\"");
		} else if (i > 0 && strcmp(it[i - 1].role, it[i].role) == 0) {
			srv_error(it[i].j->p, it[i].j->idx, AGORA_EEXIST,
			          "%s: created twice in one request",
			          it[i].role);
		} else if (create_existing(h, &it[i])) {
			continue;
		} else if (nfresh >= room) {
			srv_error(it[i].j->p, it[i].j->idx, AGORA_ETOOBIG,
			          "%s: this server is full (--max-agents %zu)",
			          it[i].role, h->srv->max_agents);
		} else if (create_one(h, &it[i]) == AGORA_OK) {
			made[nfresh] = &it[i];
			fresh[nfresh++] = it[i].a;
		}
	}
	return nfresh;
}

/* Make the agents of n create jobs; the new ones join the center in one
 * batch. */
void
host_create(struct host *h, struct job **jobs, size_t n)
{
	struct create_item *it = agora_calloc(n + 1, sizeof(*it));
	agora_agent **fresh = agora_calloc(n + 1, sizeof(agora_agent *));
	struct create_item **made =
	    agora_calloc(n + 1, sizeof(struct create_item *));
	size_t nfresh;
	agora_err rv = AGORA_OK;

	create_items(it, jobs, n);
	nfresh = create_sort(h, it, n, made, fresh);
	if (nfresh > 0) {
		rv = agora_center_add_agents(h->c, fresh, nfresh);
	}
	pthread_mutex_lock(&h->srv->lock);
	for (size_t i = 0; i < nfresh && rv == AGORA_OK; i++) {
		agora_strv_push(&h->roles, made[i]->role);
		agora_strv_push(&h->kinds, made[i]->kind);
	}
	h->srv->nagents += rv == AGORA_OK ? nfresh : 0;
	pthread_mutex_unlock(&h->srv->lock);
	for (size_t i = 0; i < nfresh; i++) {
		struct job *j = made[i]->j;
		if (rv == AGORA_OK) {
			srv_result(j->p, j->idx, agora_strdup("{\"ok\":true}"));
		} else {
			agora_agent_free(fresh[i]);
			srv_error(j->p, j->idx, rv, "%s",
			          agora_center_errstr(h->c));
		}
	}
	agora_free(made);
	agora_free(fresh);
	agora_free(it);
}

/* ---- delete, memory --------------------------------------------------- */

static void
host_forget(struct host *h, const char *const *roles, size_t n, bool all)
{
	size_t kept = 0;

	pthread_mutex_lock(&h->srv->lock);
	for (size_t i = 0; i < h->roles.n; i++) {
		bool gone = all;
		for (size_t k = 0; k < n && !gone; k++) {
			gone = strcmp(h->roles.v[i], roles[k]) == 0;
		}
		if (gone) {
			agora_free(h->roles.v[i]);
			agora_free(h->kinds.v[i]);
			h->srv->nagents--;
			continue;
		}
		h->roles.v[kept] = h->roles.v[i];
		h->kinds.v[kept++] = h->kinds.v[i];
	}
	h->roles.n = kept;
	h->kinds.n = kept;
	pthread_mutex_unlock(&h->srv->lock);
}

void
host_delete(struct host *h, struct job **jobs, size_t n)
{
	struct job *j = jobs[0];
	const char *role = agora_json_str(agora_json_get(j->op, "role"));
	agora_err rv;

	(void)n; /* delete jobs do not batch */
	if (role == NULL || agora_center_agent(h->c, role) == NULL) {
		srv_error(j->p, j->idx, AGORA_ENOTFOUND,
		          "no agent '%.80s' in session %s on this server",
		          role ? role : "", h->session);
		return;
	}
	rv = agora_center_remove_agents(h->c, &role, 1);
	host_forget(h, &role, 1, false);
	if (rv != AGORA_OK) {
		srv_error(j->p, j->idx, rv, "%s", agora_center_errstr(h->c));
		return;
	}
	srv_result(j->p, j->idx, agora_strdup("{\"ok\":true}"));
}

void
host_delete_all(struct host *h, struct job **jobs, size_t njobs)
{
	const char **roles;
	size_t n;

	(void)njobs; /* delete-all jobs do not batch */
	pthread_mutex_lock(&h->srv->lock);
	n = h->roles.n;
	roles = agora_calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		roles[i] = agora_strdup(h->roles.v[i]);
	}
	pthread_mutex_unlock(&h->srv->lock);
	if (agora_center_remove_agents(h->c, roles, n) != AGORA_OK) {
		agora_log(AGORA_LOG_WARN, "server", "delete-all: %s",
		          agora_center_errstr(h->c));
	}
	host_forget(h, NULL, 0, true);
	for (size_t i = 0; i < n; i++) {
		agora_free((char *)(uintptr_t)roles[i]);
	}
	agora_free(roles);
	if (jobs[0]->sweep != NULL) {
		sweep_done(jobs[0]->sweep, n);
	}
}

void
host_memory(struct host *h, struct job **jobs, size_t n)
{
	struct job *j = jobs[0];
	const char *role = agora_json_str(agora_json_get(j->op, "role"));
	int64_t limit = 100;
	agora_msgs ms = { 0 };
	agora_buf out;
	agora_err rv;

	(void)n; /* memory jobs do not batch */
	(void)agora_json_int(agora_json_get(j->op, "limit"), 1,
	                     MEMORY_MAX_LIMIT, &limit);
	if (role == NULL || agora_center_agent(h->c, role) == NULL) {
		srv_error(j->p, j->idx, AGORA_ENOTFOUND,
		          "no agent '%.80s' in session %s on this server",
		          role ? role : "", h->session);
		return;
	}
	rv = agora_env_memory(agora_center_env(h->c), role, (size_t)limit, &ms);
	if (rv != AGORA_OK) {
		srv_error(j->p, j->idx, rv, "%s",
		          agora_env_errstr(agora_center_env(h->c)));
		return;
	}
	agora_buf_init(&out, 0);
	(void)agora_buf_adds(&out, "{\"ok\":true,\"memory\":[");
	for (size_t i = 0; i < ms.n; i++) {
		(void)agora_buf_adds(&out, i ? "," : "");
		(void)agora_msg_encode(ms.v[i], true, &out);
	}
	(void)agora_buf_adds(&out, "]}");
	agora_msgs_clear(&ms);
	srv_result(j->p, j->idx, agora_buf_steal(&out));
}
