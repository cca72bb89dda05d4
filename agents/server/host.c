/* SPDX-License-Identifier: MIT */
/* Hosts: the agents of one session on this server, with the thread that
 * owns their center. Jobs run in arrival order, so an agent's requests are
 * served first come, first served (its mailbox). A job says what runs it
 * (manage.c, step.c, call_run.c); consecutive jobs that batch (creates,
 * calls) run together. This file knows no job's content: it only queues
 * and runs them, and refuses them when the session cannot be opened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/config.h"
#include "agora/log.h"
#include "server_int.h"

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
		if (n > 0 && (j->run != (*batch)[0]->run || !j->batch)) {
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
		h->steps_queued -= j->step != NULL;
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
	if (h->srv->o.redis_timeout_ms > 0) {
		cfg.redis_timeout_ms = h->srv->o.redis_timeout_ms;
	}
	rv = agora_center_new(&h->c, &cfg, err, errlen);
	agora_config_fini(&cfg);
	if (rv == AGORA_OK) {
		agora_center_set_location(h->c, h->srv->url);
	}
	return rv;
}

/* The session could not be opened: the jobs fail, saying why (a bad URL
 * for good; Redis away until it answers again, see host_main). */
static void
host_refuse(struct host *h, struct job **batch, size_t n, agora_err rv,
            const char *err)
{
	char why[700];

	snprintf(why, sizeof(why), "session %s: %s", h->session, err);
	for (size_t i = 0; i < n; i++) {
		if (batch[i]->sweep != NULL) {
			sweep_done(batch[i]->sweep, 0);
		} else if (batch[i]->task != NULL) {
			pthread_mutex_lock(&h->srv->lock);
			task_finish(h->srv, batch[i]->task, false, why,
			            strlen(why));
			pthread_mutex_unlock(&h->srv->lock);
		} else if (batch[i]->refuse != NULL) {
			batch[i]->refuse(batch[i], why);
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
	agora_err open_rv = host_open(h, h->open_err, sizeof(h->open_err));

	while ((n = host_take(h, &batch, &cap)) > 0) {
		if (open_rv != AGORA_OK && open_rv != AGORA_EINVAL) {
			/* Redis was away (restarting, say): it may be back,
			 * and this session is not lost for good. */
			open_rv =
			    host_open(h, h->open_err, sizeof(h->open_err));
		}
		if (open_rv != AGORA_OK) {
			host_refuse(h, batch, n, open_rv, h->open_err);
		} else {
			batch[0]->run(h, batch, n);
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

bool
host_steps_full(struct host *h)
{
	bool full;

	pthread_mutex_lock(&h->srv->lock);
	full = h->steps_queued >= HOST_STEPS_QUEUED_MAX;
	pthread_mutex_unlock(&h->srv->lock);
	return full;
}

void
host_push(struct host *h, struct job *j)
{
	pthread_mutex_lock(&h->srv->lock);
	host_push_locked(h, j);
	pthread_mutex_unlock(&h->srv->lock);
}

void
host_unshift(struct host *h, struct job **jobs, size_t n)
{
	pthread_mutex_lock(&h->srv->lock);
	for (size_t i = n; i-- > 0;) {
		jobs[i]->next = h->head;
		h->head = jobs[i];
		if (h->tail == NULL) {
			h->tail = jobs[i];
		}
		h->queued++;
		h->steps_queued += jobs[i]->step != NULL;
	}
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
	h->steps_queued += j->step != NULL;
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
