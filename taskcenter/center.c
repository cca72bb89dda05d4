/* SPDX-License-Identifier: MIT */
/* The TaskCenter: owns a session's Environment, Registry and agents, and
 * stores tasks. Each agent gets its backend here: local when its kind is
 * in this process, remote when it lives on an agent server (placed by
 * place.c). Steps live in step.c. With no Redis URL it starts a private
 * redis-server for its lifetime (the embedded default). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "agora/server.h"
#include "agora/transport.h"
#include "agora/url.h"
#include "tc.h"

const char *
agora_center_errstr(const agora_center *c)
{
	return c->errstr;
}

agora_agent *
agora_center_agent(agora_center *c, const char *role)
{
	return agora__roles_find(&c->map, role);
}

static void
center_new_session(char *out, size_t outlen)
{
	unsigned char rnd[6] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	uint64_t mix = (uint64_t)agora_now_us() ^ ((uint64_t)getpid() << 32);

	if (fd >= 0) {
		(void)!read(fd, rnd, sizeof(rnd));
		close(fd);
	}
	for (size_t i = 0; i < sizeof(rnd); i++) {
		rnd[i] ^= (unsigned char)(mix >> (8 * i));
	}
	snprintf(out, outlen, "s%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
	         rnd[2], rnd[3], rnd[4], rnd[5]);
}

/* What agent servers need: the program for children, the token. */
static agora_err
center_servers_config(agora_center *c, const agora_config *cfg, char *err,
                      size_t errlen)
{
	char token[AGORA_TOKEN_MAX + 1];

	c->server_timeout_ms = cfg->server_timeout_ms;
	c->redis_timeout_ms = cfg->redis_timeout_ms;
	c->children = cfg->server_children;
	if (cfg->server_program != NULL && cfg->server_program[0] != '\0') {
		c->server_program = agora_strdup(cfg->server_program);
	}
	if (cfg->server_tls_ca != NULL && cfg->server_tls_ca[0] != '\0') {
		agora_tls_set(cfg->server_tls_ca, NULL); /* process-wide */
	}
	if (cfg->server_log != NULL && cfg->server_log[0] != '\0') {
		c->server_log = agora_strdup(cfg->server_log);
	}
	if (cfg->server_plugins != NULL && cfg->server_plugins[0] != '\0') {
		agora_strv_split(&c->plugins, cfg->server_plugins);
	}
	if (cfg->server_token_file != NULL &&
	    cfg->server_token_file[0] != '\0') {
		agora_err rv = agora_token_read(cfg->server_token_file, token,
		                                sizeof(token), err, errlen);
		if (rv != AGORA_OK) {
			return rv;
		}
		c->token = agora_strdup(token);
	}
	return AGORA_OK;
}

agora_err
agora_center_new(agora_center **cp, const agora_config *cfg, char *err,
                 size_t errlen)
{
	agora_center *c;
	agora_env_opts eo;
	const char *url;
	char *auth_url = NULL;
	char session[80];
	agora_err rv = AGORA_OK;

	*cp = NULL;
	c = agora_calloc(1, sizeof(*c));
	pthread_mutex_init(&c->active_lock, NULL);
	c->deadline_ms = cfg->step_deadline_ms;
	c->drain_max = cfg->drain_max > 0 ? cfg->drain_max : 10000;
	c->turn_max = cfg->turn_max > 0 ? cfg->turn_max : 1000000;
	c->fanout_max = cfg->fanout_max > 0 ? cfg->fanout_max : 10000000;
	c->beat_ms = (cfg->owner_ttl_ms > 0 ? cfg->owner_ttl_ms : 10000) / 3;
	rv = center_servers_config(c, cfg, err, errlen);
	url = cfg->redis_url;
	if (rv == AGORA_OK && (url == NULL || url[0] == '\0')) {
		rv = agora_redis_server_start(&c->embedded, cfg->redis_server,
		                              err, errlen);
		url = c->embedded != NULL ? agora_redis_server_url(c->embedded)
		                          : NULL;
	} else if (url != NULL) {
		/* In the URL, the password reaches the agent servers that
		 * the center sends it to, as a password in redis.url would;
		 * the private server has none. */
		auth_url = agora_redis_url_auth(url, cfg->redis_password);
		url = auth_url;
	}
	if (rv == AGORA_OK) {
		rv = agora_redis_open(&c->redis, url, cfg->redis_timeout_ms,
		                      err, errlen);
	}
	agora_free(auth_url);
	if (rv == AGORA_OK && cfg->session != NULL && cfg->session[0] != '\0') {
		snprintf(session, sizeof(session), "%s", cfg->session);
	} else {
		center_new_session(session, sizeof(session));
	}
	eo.drain_max = cfg->drain_max;
	eo.memory_max = cfg->memory_max;
	eo.owner_ttl_ms = cfg->owner_ttl_ms;
	eo.call_work = cfg->call_work;
	if (rv == AGORA_OK) {
		rv = agora_env_open(&c->env, c->redis, session, &eo);
		if (rv != AGORA_OK) {
			snprintf(err, errlen,
			         "invalid session id '%.70s' (1-64 of A-Z a-z "
			         "0-9 _ - .)",
			         session);
		}
	}
	if (rv == AGORA_OK) {
		rv = agora_registry_open(&c->reg, c->redis, session);
	}
	if (rv != AGORA_OK) {
		agora_center_free(c);
		return rv;
	}
	c->session = agora_strdup(session);
	if (agora_log_threshold >= AGORA_LOG_INFO) {
		char shown[512];
		agora_log(AGORA_LOG_INFO, "center", "session %s on %s",
		          c->session,
		          agora_url_redact(agora_redis_url(c->redis), shown,
		                           sizeof(shown)));
	}
	*cp = c;
	return AGORA_OK;
}

void
agora_center_free(agora_center *c)
{
	if (c == NULL) {
		return;
	}
	if (c->active != NULL) {
		agora_step_free(c->active);
	}
	for (size_t i = 0; i < c->nagents; i++) {
		agora_agent_free(c->agents[i]);
	}
	agora__links_close_all(c);
	agora__calls_free_all(c);
	agora__links_free_all(c);
	if (c->ipc_dir != NULL) {
		rmdir(
		    c->ipc_dir); /* the children took their sockets with them */
		agora_free(c->ipc_dir);
	}
	agora_free(c->server_program);
	agora_free(c->server_log);
	agora_strv_clear(&c->plugins);
	agora_free(c->token);
	agora_free(c->agents);
	agora__roles_fini(&c->map);
	agora_registry_close(c->reg);
	agora_env_close(c->env);
	agora_redis_close(c->redis);
	agora_redis_server_stop(c->embedded);
	agora_free(c->session);
	agora_free(c->location);
	pthread_mutex_destroy(&c->active_lock);
	agora_free(c);
}

/* Replace agent old by new in the table and the map, same place. */
static void
center_swap(agora_center *c, agora_agent *old, agora_agent *new)
{
	new->index = old->index;
	c->agents[old->index] = new;
	for (size_t i = 0; i < c->map.cap; i++) {
		if (c->map.slots[i] == old) {
			c->map.slots[i] = new;
		}
	}
}

agora_err
agora_center_move_agent(agora_center *c, const char *role,
                        const char *placement)
{
	agora_agent *old = agora__roles_find(&c->map, role);
	agora_agent_spec spec = { 0 };
	agora_json *opts = NULL;
	agora_agent *a = NULL;
	char err[512];
	agora_err rv;

	if (old == NULL || old->kind == NULL || c->active != NULL) {
		tc_set_err(c, "%s: %s", role != NULL ? role : "",
		           old == NULL         ? "no such agent"
		           : c->active != NULL ? "a step is running"
		                               : "already on a server");
		return old == NULL ? AGORA_ENOTFOUND : AGORA_EINVAL;
	}
	if (old->options != NULL) {
		(void)agora_json_parse(
		    &opts, old->options, strlen(old->options),
		    AGORA_MSG_MAX_BYTES, AGORA_JSON_MAX_DEPTH, NULL, 0);
	}
	spec.role = old->role;
	spec.kind = old->kind->name;
	spec.options = opts;
	spec.human = old->human;
	spec.watcher = old->watcher;
	spec.placement = placement;
	rv = agora_agent_new(&a, &spec, err, sizeof(err));
	agora_json_free(opts);
	if (rv == AGORA_OK && a->kind != NULL) {
		snprintf(err, sizeof(err), "placement '%s' is not a server",
		         placement != NULL ? placement : "local");
		rv = AGORA_EINVAL;
	}
	if (rv != AGORA_OK) {
		tc_set_err(c, "%s", err);
		agora_agent_free(a);
		return rv;
	}
	/* Its memory is in Redis under this session: the server's agent
	 * reads the same; only the config travels. */
	a->backend = &agora__remote_backend;
	rv = agora__place_agents(c, &a, 1); /* the server records it */
	if (rv != AGORA_OK) {
		agora_agent_free(a);
		return rv;
	}
	center_swap(c, old, a);
	agora_agent_free(old);
	return AGORA_OK;
}

void
agora_center_set_location(agora_center *c, const char *where)
{
	agora_free(c->location);
	c->location = agora_strdup(where);
}

agora_err
agora_center_remove_agents(agora_center *c, const char *const *roles, size_t n)
{
	const char **gone = agora_calloc(n + 1, sizeof(char *));
	size_t ngone = 0, kept = 0;
	agora_err rv = AGORA_OK;

	if (c->active != NULL) {
		tc_set_err(c, "a step is running");
		agora_free(gone);
		return AGORA_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		agora_agent *a = agora__roles_find(&c->map, roles[i]);
		if (a != NULL && a->picked != UINT64_MAX) {
			a->picked = UINT64_MAX; /* marks it for removal */
			gone[ngone++] = roles[i];
		}
	}
	if (ngone > 0) {
		rv = agora_registry_mark_many(c->reg, gone, ngone,
		                              AGORA_AGENT_OFFLINE, false);
	}
	agora_free(gone);
	/* Keep the others in order and rebuild the map (no tombstones). */
	agora__roles_fini(&c->map);
	for (size_t i = 0; i < c->nagents; i++) {
		agora_agent *a = c->agents[i];
		if (a->picked == UINT64_MAX) {
			agora_agent_free(a);
			continue;
		}
		a->index = kept;
		c->agents[kept++] = a;
		agora__roles_insert(&c->map, a);
	}
	c->nagents = kept;
	if (rv != AGORA_OK) {
		tc_set_err(c, "%s", agora_registry_errstr(c->reg));
	}
	return rv;
}

const char *
agora_center_session(const agora_center *c)
{
	return c->session;
}

agora_env *
agora_center_env(agora_center *c)
{
	return c->env;
}

agora_registry *
agora_center_registry(agora_center *c)
{
	return c->reg;
}

const char *
agora_center_redis_url(const agora_center *c)
{
	return agora_redis_url(c->redis);
}

/* Record n agents in the registry, in one round trip. */
static agora_err
center_register(agora_center *c, agora_agent *const *agents, size_t n)
{
	agora_agent_info *infos = agora_calloc(n + 1, sizeof(*infos));
	size_t m = 0;
	agora_err rv;

	for (size_t i = 0; i < n; i++) {
		if (agents[i]->srv != NULL) {
			continue; /* its server recorded it, with its address */
		}
		infos[m].role = agents[i]->role;
		infos[m].kind = (char *)(uintptr_t)agora_agent_kind(agents[i]);
		infos[m].server = c->location != NULL
		                      ? c->location
		                      : (char *)(uintptr_t) "local";
		infos[m].status = AGORA_AGENT_IDLE;
		infos[m].human = agents[i]->human;
		infos[m].watcher = agents[i]->watcher;
		m++;
	}
	rv = m > 0 ? agora_registry_put_many(c->reg, infos, m) : AGORA_OK;
	if (rv != AGORA_OK) {
		tc_set_err(c, "%s", agora_registry_errstr(c->reg));
	}
	agora_free(infos);
	return rv;
}

agora_err
agora_center_add_agents(agora_center *c, agora_agent *const *agents, size_t n)
{
	const char **roles = agora_calloc(n == 0 ? 1 : n, sizeof(char *));
	struct role_map batch = { 0 }; /* this call's roles, to find twins */
	agora_err rv = AGORA_OK;

	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		roles[i] = agents[i]->role;
		if (agora__roles_find(&c->map, roles[i]) != NULL) {
			tc_set_err(c, "role '%s' already has an agent",
			           roles[i]);
			rv = AGORA_EEXIST;
		} else if (agora__roles_find(&batch, roles[i]) != NULL) {
			tc_set_err(c, "role '%s' is given twice", roles[i]);
			rv = AGORA_EEXIST;
		} else {
			agora__roles_insert(&batch, agents[i]);
		}
	}
	agora__roles_fini(&batch);
	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		agents[i]->backend = agents[i]->kind != NULL
		                         ? &agora__local_backend
		                         : &agora__remote_backend;
	}
	if (rv == AGORA_OK) {
		rv = agora__place_agents(c, agents, n);
	}
	if (rv == AGORA_OK) {
		/* Agents on servers were registered there. */
		size_t nlocal = 0;
		for (size_t i = 0; i < n; i++) {
			if (agents[i]->srv == NULL) {
				roles[nlocal++] = agents[i]->role;
			}
		}
		rv = agora_env_register_roles(c->env, roles, nlocal);
		if (rv != AGORA_OK) {
			tc_set_err(c, "%s", agora_env_errstr(c->env));
		}
	}
	if (rv == AGORA_OK) {
		rv = center_register(c, agents, n);
	}
	if (rv == AGORA_OK) {
		c->agents = agora_realloc(c->agents, (c->nagents + n) *
		                                         sizeof(agora_agent *));
		for (size_t i = 0; i < n; i++) {
			agents[i]->index = c->nagents;
			c->agents[c->nagents++] = agents[i];
			agora__roles_insert(&c->map, agents[i]);
		}
	}
	agora_free(roles);
	return rv;
}

agora_err
agora_center_send_task_request(agora_center *c, const char *task,
                               const char *const *send_to, size_t n,
                               const char *send_from)
{
	agora_msg *m = agora_msg_new(send_from, NULL, task);
	agora_err rv;

	if (n > 0) {
		agora_strv_clear(&m->send_to);
		for (size_t i = 0; i < n; i++) {
			agora_strv_push(&m->send_to, send_to[i]);
		}
	}
	rv = agora_env_store(c->env, m);
	if (rv != AGORA_OK) {
		tc_set_err(c, "%s", agora_env_errstr(c->env));
	}
	agora_msg_free(m);
	return rv;
}

agora_err
agora_center_reset(agora_center *c, bool keep_roles)
{
	agora_err rv = agora_env_reset(c->env, keep_roles);

	if (rv != AGORA_OK) {
		tc_set_err(c, "%s", agora_env_errstr(c->env));
	}
	return rv;
}
