/* SPDX-License-Identifier: MIT */
/* The kind table and agent objects. Kinds are found by name in a small
 * table under a mutex (registration happens at start-up and when plugins
 * load; lookups happen when agents are made, never per step). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "tc.h"

#define KINDS_MAX 128

static pthread_mutex_t kinds_lock = PTHREAD_MUTEX_INITIALIZER;
static const agora_kind *kinds[KINDS_MAX];
static size_t nkinds;

agora_err
agora_kind_register(const agora_kind *kind)
{
	agora_err rv = AGORA_OK;

	if (kind == NULL || kind->name == NULL || kind->act == NULL ||
	    kind->create == NULL) {
		return AGORA_EINVAL;
	}
	pthread_mutex_lock(&kinds_lock);
	for (size_t i = 0; i < nkinds; i++) {
		if (strcmp(kinds[i]->name, kind->name) == 0) {
			rv = AGORA_EEXIST;
		}
	}
	if (rv == AGORA_OK && nkinds == KINDS_MAX) {
		rv = AGORA_ETOOBIG;
	}
	if (rv == AGORA_OK) {
		kinds[nkinds++] = kind;
	}
	pthread_mutex_unlock(&kinds_lock);
	return rv;
}

const agora_kind *
agora_kind_find(const char *name)
{
	const agora_kind *found = NULL;

	pthread_mutex_lock(&kinds_lock);
	for (size_t i = 0; i < nkinds && name != NULL; i++) {
		if (strcmp(kinds[i]->name, name) == 0) {
			found = kinds[i];
		}
	}
	pthread_mutex_unlock(&kinds_lock);
	return found;
}

static int
kind_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
agora_kind_names(agora_strv *out)
{
	agora_strv_clear(out);
	pthread_mutex_lock(&kinds_lock);
	for (size_t i = 0; i < nkinds; i++) {
		agora_strv_push(out, kinds[i]->name);
	}
	pthread_mutex_unlock(&kinds_lock);
	if (out->n > 1) {
		qsort(out->v, out->n, sizeof(char *), kind_cmp);
	}
}

static bool
agent_is_remote(const char *placement)
{
	return placement != NULL &&
	       (strcmp(placement, "child") == 0 ||
	        strcmp(placement, "auto") == 0 || strstr(placement, "://"));
}

/* An agent whose kind runs on an agent server: checked and created there
 * (the kind may be a plugin only the server has); kept here is what it
 * takes to create it there again. */
static agora_err
agent_new_remote(agora_agent **ap, const agora_agent_spec *spec, char *err,
                 size_t errlen)
{
	agora_agent *a;
	agora_buf opts;

	if (spec->kind == NULL || spec->kind[0] == '\0') {
		snprintf(err, errlen, "%s: no kind", spec->role);
		return AGORA_EINVAL;
	}
	if (spec->human) {
		snprintf(err, errlen,
		         "%s: human agents run in the main process (placement "
		         "local), where the person answers",
		         spec->role);
		return AGORA_EINVAL;
	}
	a = agora_calloc(1, sizeof(*a));
	a->role = agora_strdup(spec->role);
	a->kind_name = agora_strdup(spec->kind);
	a->placement = agora_strdup(spec->placement);
	a->watcher = spec->watcher;
	if (spec->options != NULL) {
		agora_buf_init(&opts, 0);
		(void)agora_json_print(spec->options, &opts);
		a->options = agora_buf_steal(&opts);
	}
	*ap = a;
	return AGORA_OK;
}

agora_err
agora_agent_new(agora_agent **ap, const agora_agent_spec *spec, char *err,
                size_t errlen)
{
	const agora_kind *kind;
	agora_agent *a;
	void *state = NULL;
	agora_err rv;

	*ap = NULL;
	if (spec == NULL || !agora_role_valid(spec->role)) {
		snprintf(err, errlen,
		         "invalid role name '%.80s' (1-%d bytes; no spaces or "
		         "<>:,\"'\\/; not 'all' or 'user_requirement')",
		         spec != NULL && spec->role != NULL ? spec->role : "",
		         AGORA_ROLE_MAX);
		return AGORA_EINVAL;
	}
	if (agent_is_remote(spec->placement)) {
		return agent_new_remote(ap, spec, err, errlen);
	}
	if (spec->placement != NULL && strcmp(spec->placement, "local") != 0) {
		snprintf(
		    err, errlen,
		    "%s: placement '%.60s' is not local, child, auto or an "
		    "address (tcp://host:port, ipc:///path)",
		    spec->role, spec->placement);
		return AGORA_EINVAL;
	}
	kind = agora_kind_find(spec->kind);
	if (kind == NULL) {
		agora_strv names = { 0 };
		agora_buf list;
		agora_kind_names(&names);
		agora_buf_init(&list, 1024);
		for (size_t i = 0; i < names.n; i++) {
			(void)agora_buf_addf(&list, "%s%s", i > 0 ? ", " : "",
			                     names.v[i]);
		}
		snprintf(err, errlen, "%s: unknown kind '%.40s' (known: %s)",
		         spec->role, spec->kind != NULL ? spec->kind : "",
		         list.data != NULL ? list.data : "none");
		agora_buf_fini(&list);
		agora_strv_clear(&names);
		return AGORA_ENOTFOUND;
	}
	rv = kind->create(&state, spec, err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	a = agora_calloc(1, sizeof(*a));
	a->role = agora_strdup(spec->role);
	a->kind = kind;
	a->state = state;
	a->human = spec->human;
	a->watcher = spec->watcher;
	if (spec->options != NULL) {
		/* Kept so the agent can move to a server with its config. */
		agora_buf opts;
		agora_buf_init(&opts, 0);
		(void)agora_json_print(spec->options, &opts);
		a->options = agora_buf_steal(&opts);
	}
	*ap = a;
	return AGORA_OK;
}

void
agora_agent_free(agora_agent *a)
{
	if (a == NULL) {
		return;
	}
	if (a->kind != NULL && a->kind->destroy != NULL) {
		a->kind->destroy(a->state);
	}
	agora_free(a->kind_name);
	agora_free(a->options);
	agora_free(a->placement);
	agora_free(a->role);
	agora_free(a);
}

const char *
agora_agent_role(const agora_agent *a)
{
	return a->role;
}

const char *
agora_agent_kind(const agora_agent *a)
{
	return a->kind != NULL ? a->kind->name : a->kind_name;
}

bool
agora_agent_is_human(const agora_agent *a)
{
	return a->human;
}

bool
agora_agent_is_watcher(const agora_agent *a)
{
	return a->watcher;
}

void
agora_agent_set_human(agora_agent *a, bool human)
{
	a->human = human;
}
