/* SPDX-License-Identifier: MIT */
/* Hosts: the agents of one session on this server, with the thread that
 * owns their center. Jobs run in arrival order, so an agent's requests are
 * served first come, first served (its mailbox). Consecutive creates are
 * made in one batch (two Redis round trips for all of them). A step job
 * runs the given roles' turns on this server's center: the center drains
 * their inboxes and publishes their replies in Redis itself, and each frame
 * goes to the caller's mailbox as it comes out, tagged with the step id and
 * the role's index in the request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/config.h"
#include "agora/log.h"
#include "server_int.h"

#define MEMORY_MAX_LIMIT 100000

void
host_set_step(struct host *h, agora_step *st)
{
	pthread_mutex_lock(&h->srv->lock);
	h->st = st;
	if (st != NULL && h->quit) {
		agora_step_interrupt(st);
	}
	pthread_mutex_unlock(&h->srv->lock);
}

void
host_set_busy(struct host *h, size_t busy)
{
	pthread_mutex_lock(&h->srv->lock);
	h->busy = busy;
	pthread_mutex_unlock(&h->srv->lock);
}

/* ---- create ----------------------------------------------------------- */

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
static void
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

static void
host_delete(struct host *h, struct job *j)
{
	const char *role = agora_json_str(agora_json_get(j->op, "role"));
	agora_err rv;

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

static void
host_delete_all(struct host *h)
{
	const char **roles;
	size_t n;

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
}

static void
host_memory(struct host *h, struct job *j)
{
	const char *role = agora_json_str(agora_json_get(j->op, "role"));
	int64_t limit = 100;
	agora_msgs ms = { 0 };
	agora_buf out;
	agora_err rv;

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

/* ---- the thread ------------------------------------------------------- */

/* Take the next job, or a run of creates. */
static size_t
host_take(struct host *h, struct job ***batch, size_t *cap)
{
	size_t n = 0;

	pthread_mutex_lock(&h->srv->lock);
	while (h->head == NULL && !h->quit) {
		pthread_cond_wait(&h->cv, &h->srv->lock);
	}
	while (h->head != NULL) {
		struct job *j = h->head;
		if (n > 0 && (j->type != (*batch)[0]->type ||
		              (j->type != JOB_CREATE && j->type != JOB_CALL))) {
			break;
		}
		if (n == *cap) {
			*cap = *cap ? 2 * *cap : 64;
			*batch =
			    agora_realloc(*batch, *cap * sizeof(struct job *));
		}
		(*batch)[n++] = j;
		h->head = j->next;
		h->queued--;
	}
	if (h->head == NULL) {
		h->tail = NULL;
	}
	pthread_mutex_unlock(&h->srv->lock);
	return n;
}

static agora_err
host_open(struct host *h, char *err, size_t errlen)
{
	agora_config cfg;
	agora_err rv;

	agora_config_init(&cfg);
	(void)agora_config_set(&cfg, "redis.url", h->redis_url, err, errlen);
	(void)agora_config_set(&cfg, "session", h->session, err, errlen);
	rv = agora_center_new(&h->c, &cfg, err, errlen);
	agora_config_fini(&cfg);
	if (rv == AGORA_OK) {
		agora_center_set_location(h->c, h->srv->url);
	}
	return rv;
}

static void
host_run_job(struct host *h, struct job *j)
{
	switch (j->type) {
	case JOB_DELETE:
		host_delete(h, j);
		break;
	case JOB_DELETE_ALL:
		host_delete_all(h);
		break;
	case JOB_MEMORY:
		host_memory(h, j);
		break;
	case JOB_STEP:
		host_step(h, j);
		break;
	case JOB_CREATE:
	case JOB_CALL:
		break;
	}
}

/* The session could not be opened: every job fails, saying why. */
static void
host_refuse(struct host *h, struct job **batch, size_t n, agora_err rv,
            const char *err)
{
	char why[700];

	snprintf(why, sizeof(why), "session %s: %s", h->session, err);
	for (size_t i = 0; i < n; i++) {
		if (batch[i]->type == JOB_CALL) {
			pthread_mutex_lock(&h->srv->lock);
			task_finish(h->srv, batch[i]->task, false, why,
			            strlen(why));
			pthread_mutex_unlock(&h->srv->lock);
		} else if (batch[i]->p != NULL) {
			srv_error(batch[i]->p, batch[i]->idx, rv, "%s", why);
		}
	}
}

static void *
host_main(void *arg)
{
	struct host *h = arg;
	struct job **batch = NULL;
	size_t cap = 0, n;
	char err[512] = "";
	agora_err open_rv = host_open(h, err, sizeof(err));

	while ((n = host_take(h, &batch, &cap)) > 0) {
		if (open_rv != AGORA_OK) {
			host_refuse(h, batch, n, open_rv, err);
		} else if (batch[0]->type == JOB_CREATE) {
			host_create(h, batch, n);
		} else if (batch[0]->type == JOB_CALL) {
			host_calls(h, batch, n);
		} else {
			host_run_job(h, batch[0]);
		}
		for (size_t i = 0; i < n; i++) {
			agora_free(batch[i]);
		}
	}
	agora_free(batch);
	return NULL;
}

struct host *
host_get(struct server *srv, const char *redis_url, const char *session)
{
	struct host *h;

	pthread_mutex_lock(&srv->lock);
	h = host_get_locked(srv, redis_url, session);
	pthread_mutex_unlock(&srv->lock);
	return h;
}

struct host *
host_get_locked(struct server *srv, const char *redis_url, const char *session)
{
	struct host *h = NULL;

	for (size_t i = 0; i < srv->nhosts && h == NULL; i++) {
		if (strcmp(srv->hosts[i]->session, session) == 0 &&
		    strcmp(srv->hosts[i]->redis_url, redis_url) == 0) {
			h = srv->hosts[i];
		}
	}
	if (h == NULL && !srv->stopping) {
		h = agora_calloc(1, sizeof(*h));
		h->srv = srv;
		h->redis_url = agora_strdup(redis_url);
		h->session = agora_strdup(session);
		pthread_cond_init(&h->cv, NULL);
		if (pthread_create(&h->thread, NULL, host_main, h) != 0) {
			pthread_cond_destroy(&h->cv);
			agora_free(h->redis_url);
			agora_free(h->session);
			agora_free(h);
			h = NULL;
		} else {
			srv->hosts = agora_realloc(srv->hosts,
			                           (srv->nhosts + 1) *
			                               sizeof(struct host *));
			srv->hosts[srv->nhosts++] = h;
		}
	}
	return h;
}

void
host_push(struct host *h, struct job *j)
{
	pthread_mutex_lock(&h->srv->lock);
	host_push_locked(h, j);
	pthread_mutex_unlock(&h->srv->lock);
}

void
host_push_locked(struct host *h, struct job *j)
{
	if (h->tail != NULL) {
		h->tail->next = j;
	} else {
		h->head = j;
	}
	h->tail = j;
	h->queued++;
	pthread_cond_signal(&h->cv);
}

/* The server is stopping: its agents are offline in their registries. */
static void
host_offline(struct host *h)
{
	if (h->c != NULL && h->roles.n > 0 &&
	    agora_registry_mark_many(
	        agora_center_registry(h->c), (const char *const *)h->roles.v,
	        h->roles.n, AGORA_AGENT_OFFLINE, false) != AGORA_OK) {
		agora_log(AGORA_LOG_WARN, "server", "session %s: %s",
		          h->session,
		          agora_registry_errstr(agora_center_registry(h->c)));
	}
}

void
host_stop_all(struct server *srv)
{
	pthread_mutex_lock(&srv->lock);
	for (size_t i = 0; i < srv->nhosts; i++) {
		srv->hosts[i]->quit = true;
		if (srv->hosts[i]->st != NULL) {
			agora_step_interrupt(srv->hosts[i]->st);
		}
		pthread_cond_signal(&srv->hosts[i]->cv);
	}
	pthread_mutex_unlock(&srv->lock);
	/* A host interrupts what runs (its messages go back), finishes its
	 * queue, and marks its agents offline before it quits. */
	for (size_t i = 0; i < srv->nhosts; i++) {
		struct host *h = srv->hosts[i];
		pthread_join(h->thread, NULL);
		host_offline(h);
		agora_center_free(h->c);
		pthread_cond_destroy(&h->cv);
		agora_strv_clear(&h->roles);
		agora_strv_clear(&h->kinds);
		agora_free(h->redis_url);
		agora_free(h->session);
		agora_free(h);
	}
	agora_free(srv->hosts);
	srv->hosts = NULL;
	srv->nhosts = 0;
}
