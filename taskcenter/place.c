/* SPDX-License-Identifier: MIT */
/* Placement: which agent server each remote agent lives on, starting child
 * servers (one per agent, or a pool of server.children) and creating the
 * agents there in as few requests as the server's size limit allows. Child
 * servers are `agora server
 * --ipc` processes started with fork+exec (nng is not fork-safe) that die
 * with this process; readiness is their answer to `alive`, which waits
 * for them to listen. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agora/alloc.h"
#include "agora/log.h"
#include "agora/registry.h"
#include "agora/server.h"
#include "server_link.h"

#define AUTO_HELLO_MS 500
/* How long a child whose connection ended gets to exit on SIGTERM. */
#define CHILD_STOP_GRACE_MS 2000

static uint64_t place_nchildren;
static char *(*_Atomic place_models)(void);

void
agora_center_set_child_models(char *(*fn)(void))
{
	place_models = fn;
}

/* A child gets this process's model configs (its own copy of them). */
static agora_err
place_child_models(struct server_link *s, char *err, size_t errlen)
{
	char *(*fn)(void) = place_models;
	char *list = fn != NULL ? fn() : NULL;
	agora_json *doc = NULL;
	const agora_json *res = NULL;
	agora_err rv = AGORA_OK;

	if (list != NULL && strcmp(list, "[]") != 0) {
		char *op = agora_sprintf(
		    "{\"op\":\"set_models\",\"models\":%s}", list);
		rv = link_call(s, op, 1, &doc, &res, err, errlen);
		if (rv == AGORA_OK && !agora_json_bool(agora_json_get(
		                          agora_json_first(res), "ok"))) {
			snprintf(err, errlen, "agent server %s: models: %s",
			         s->url,
			         agora_json_str(agora_json_get(
			             agora_json_first(res), "error")));
			rv = AGORA_EINVAL;
		}
		agora_free(op);
	}
	agora_json_free(doc);
	agora_free(list);
	return rv;
}

/* The agora program for children: the configured one, else the agora
 * beside this program, else agora in PATH. */
static const char *
place_program(agora_center *c, char *buf, size_t len)
{
	ssize_t n;
	char *slash;

	if (c->server_program != NULL && c->server_program[0] != '\0') {
		return c->server_program;
	}
	n = readlink("/proc/self/exe", buf, len - 8);
	if (n > 0) {
		buf[n] = '\0';
		slash = strrchr(buf, '/');
		if (slash != NULL && strcmp(slash + 1, "agora") == 0) {
			return buf;
		}
		if (slash != NULL) {
			snprintf(slash + 1, len - (size_t)(slash + 1 - buf),
			         "agora");
			if (access(buf, X_OK) == 0) {
				return buf;
			}
		}
	}
	return "agora";
}

/* Children listen in a directory only our user may enter, made once per
 * center with an unguessable name: another local user can neither listen
 * there first nor connect, and no child replaces another's socket. */
static agora_err
place_ipc_dir(agora_center *c, char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR"); /* NOLINT(concurrency-mt-unsafe) */
	char *dir;

	if (c->ipc_dir != NULL) {
		return AGORA_OK;
	}
	dir = agora_sprintf("%s/agora-XXXXXX",
	                    tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		snprintf(err, errlen,
		         "cannot make a directory for child "
		         "servers' sockets in $TMPDIR or /tmp");
		agora_free(dir);
		return AGORA_ESYS;
	}
	c->ipc_dir = dir;
	return AGORA_OK;
}

static agora_err
place_spawn(agora_center *c, struct server_link **out, char *err, size_t errlen)
{
	char prog[4096], path[256], url[300], timeout[24];
	static const char *const levels[] = { "error", "warn", "info",
		                              "debug" };
	const char **argv = agora_calloc(12 + 2 * c->plugins.n, sizeof(char *));
	size_t k = 8;
	agora_proc_opts po = { 0 };
	struct server_link *s;
	agora_err rv;

	rv = place_ipc_dir(c, err, errlen);
	if (rv != AGORA_OK) {
		agora_free(argv);
		return rv;
	}
	snprintf(path, sizeof(path), "%s/child-%llu.sock", c->ipc_dir,
	         (unsigned long long)__atomic_add_fetch(&place_nchildren, 1,
	                                                __ATOMIC_RELAXED));
	snprintf(url, sizeof(url), "ipc://%s", path);
	argv[0] = place_program(c, prog, sizeof(prog));
	argv[1] = "server";
	argv[2] = "--ipc";
	argv[3] = path;
	/* A child logs as its parent does. */
	argv[4] = "--log-level";
	argv[5] =
	    levels[agora_log_threshold <= AGORA_LOG_DEBUG ? agora_log_threshold
	                                                  : AGORA_LOG_DEBUG];
	/* ... and waits on Redis as long as its parent. */
	snprintf(timeout, sizeof(timeout), "%lld",
	         (long long)c->redis_timeout_ms);
	argv[6] = "--redis-timeout-ms";
	argv[7] = timeout;
	/* No --redis: a child is its parent's alone, not in the registry
	 * where `auto` would hand it to other applications. */
	for (size_t i = 0; i < c->plugins.n; i++) {
		argv[k++] = "--plugin";
		argv[k++] = c->plugins.v[i];
	}
	argv[k] = NULL;
	po.argv = argv;
	po.die_with_parent = true;
	/* SIGTERM, not SIGKILL: a child whose parent died stops as it
	 * would on `stop`, taking its socket (and our directory, once
	 * empty) with it. */
	po.death_signal = SIGTERM;
	po.log_path = c->server_log;
	s = link_new(c, url, false, err, errlen);
	if (s == NULL) {
		agora_free(argv);
		return AGORA_ETRANSPORT;
	}
	s->ipc_path = agora_strdup(path);
	rv = agora_proc_spawn(&s->proc, &po, err, errlen);
	agora_free(argv);
	if (rv != AGORA_OK) {
		link_mark_down(s, err);
		snprintf(s->why, sizeof(s->why), "%s", err);
	}
	*out = s;
	return rv;
}

/* Ask a server whether it is alive (waiting for it to listen). */
static agora_err
place_hello(struct server_link *s, char *err, size_t errlen)
{
	agora_json *doc = NULL;
	const agora_json *res = NULL;
	agora_err rv =
	    link_call(s, "{\"op\":\"alive\"}", 1, &doc, &res, err, errlen);

	if (rv == AGORA_OK) {
		link_hello(s, agora_json_at(res, 0));
	}
	agora_json_free(doc);
	if (rv == AGORA_OK && s->proc != NULL) {
		rv = place_child_models(s, err, errlen);
	}
	return rv;
}

static void
create_op(agora_center *c, const agora_agent *a, agora_buf *b)
{
	(void)agora_buf_adds(b, "{\"op\":\"create\",\"role\":");
	(void)agora_buf_json_str(b, a->role, strlen(a->role));
	(void)agora_buf_adds(b, ",\"kind\":");
	(void)agora_buf_json_str(b, a->kind_name, strlen(a->kind_name));
	(void)agora_buf_adds(b, ",\"session\":");
	(void)agora_buf_json_str(b, c->session, strlen(c->session));
	(void)agora_buf_adds(b, ",\"redis\":");
	(void)agora_buf_json_str(b, agora_redis_url(c->redis),
	                         strlen(agora_redis_url(c->redis)));
	if (a->watcher) {
		(void)agora_buf_adds(b, ",\"watcher\":true");
	}
	if (a->options != NULL) {
		(void)agora_buf_addf(b, ",\"options\":%s", a->options);
	}
	(void)agora_buf_adds(b, "}");
}

/* Send the m create ops in ops and check every result. */
static agora_err
create_send(struct server_link *s, agora_buf *ops, size_t m, char *err,
            size_t errlen)
{
	agora_json *doc = NULL;
	const agora_json *res = NULL;
	agora_err rv = link_call(s, ops->data, m, &doc, &res, err, errlen);

	for (const agora_json *r = rv == AGORA_OK ? agora_json_first(res)
	                                          : NULL;
	     r != NULL && rv == AGORA_OK; r = agora_json_next(r)) {
		if (!agora_json_bool(agora_json_get(r, "ok"))) {
			snprintf(err, errlen, "agent server %s: %s", s->url,
			         agora_json_str(agora_json_get(r, "error")));
			/* The server's own code: its Redis being down is a
			 * runtime failure, a bad kind or option bad input. */
			rv = agora_err_parse(
			    agora_json_str(agora_json_get(r, "code")),
			    AGORA_EAGENT);
		}
	}
	agora_json_free(doc);
	agora_buf_reset(ops);
	return rv;
}

/* Create the agents of the n given that live on s, as many to a request
 * as fit under the server's request size. */
static agora_err
place_create(agora_center *c, struct server_link *s, agora_agent *const *a,
             size_t n, char *err, size_t errlen)
{
	size_t max = link_request_max(s);
	agora_buf ops, one;
	size_t m = 0;
	agora_err rv = AGORA_OK;

	agora_buf_init(&ops, 0);
	agora_buf_init(&one, 0);
	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		if (a[i]->srv != s) {
			continue;
		}
		agora_buf_reset(&one);
		create_op(c, a[i], &one);
		if (m > 0 && ops.len + one.len + 1 > max) {
			rv = create_send(s, &ops, m, err, errlen);
			m = 0;
		}
		(void)agora_buf_adds(&ops, m++ ? "," : "");
		(void)agora_buf_add(&ops, one.data, one.len);
	}
	if (rv == AGORA_OK && m > 0) {
		rv = create_send(s, &ops, m, err, errlen);
	}
	agora_buf_fini(&one);
	agora_buf_fini(&ops);
	return rv;
}

agora_err
agora__place_ready(struct server_link *s)
{
	agora_center *c = s->c;
	char err[512];
	bool down;
	bool closed;
	agora_err rv = AGORA_OK;

	pthread_mutex_lock(&s->lock);
	down = s->down;
	closed = s->closed;
	s->closed = false;
	pthread_mutex_unlock(&s->lock);
	if (!down) {
		return AGORA_OK;
	}
	if (s->proc != NULL && closed) {
		/* Its connection ended: the child died or is dying. A child
		 * killed with SIGKILL closes its sockets before it can be
		 * reaped, so it may still look alive here; without this wait
		 * it was not restarted and the hello below went to nobody. */
		agora_proc_stop(s->proc, CHILD_STOP_GRACE_MS);
	}
	if (s->proc != NULL && !agora_proc_alive(s->proc)) {
		agora_log(AGORA_LOG_WARN, "remote", "restarting %s", s->url);
		/* The last child to stop removes the directory. */
		(void)mkdir(c->ipc_dir, 0700);
		rv = agora_proc_restart(s->proc, err, sizeof(err));
	}
	if (rv == AGORA_OK) {
		rv = place_hello(s, err, sizeof(err));
	}
	if (rv == AGORA_OK) {
		rv =
		    place_create(c, s, c->agents, c->nagents, err, sizeof(err));
	}
	if (rv != AGORA_OK) {
		link_mark_down(s, err);
		snprintf(s->why, sizeof(s->why), "%s", err);
	}
	return rv;
}

static struct server_link *
place_by_url(agora_center *c, const char *url, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->nsrvs; i++) {
		if (strcmp(c->srvs[i]->url, url) == 0) {
			return c->srvs[i];
		}
	}
	return link_new(c, url, true, err, errlen);
}

static int
server_load_cmp(const void *a, const void *b)
{
	const agora_server_info *x = a, *y = b;

	return x->agents < y->agents ? -1 : x->agents > y->agents;
}

/* A server of the registry, if it answers within AUTO_HELLO_MS (one that
 * died since its last heartbeat does not). */
static struct server_link *
place_try(agora_center *c, const char *url)
{
	struct server_link *s = NULL;
	agora_json *doc = NULL;
	const agora_json *res;
	char err[256];
	bool known = false;

	for (size_t i = 0; i < c->nsrvs && s == NULL; i++) {
		if (strcmp(c->srvs[i]->url, url) == 0) {
			s = c->srvs[i];
			known = true;
		}
	}
	if (s == NULL &&
	    (s = link_new(c, url, true, err, sizeof(err))) == NULL) {
		return NULL;
	}
	if (link_call_within(s, "{\"op\":\"alive\"}", 1, AUTO_HELLO_MS, &doc,
	                     &res, err, sizeof(err)) == AGORA_OK) {
		agora_json_free(doc);
		return s;
	}
	agora_json_free(doc);
	if (!known) {
		link_drop_last(c, s);
	}
	return NULL;
}

/* The least loaded live server of the registry that answers, or NULL. */
static struct server_link *
place_auto(agora_center *c)
{
	agora_server_info *v = NULL;
	struct server_link *s = NULL;
	size_t n = 0;

	if (agora_servers_list(c->redis, &v, &n) != AGORA_OK) {
		return NULL;
	}
	qsort(v, n, sizeof(*v), server_load_cmp);
	for (size_t i = 0; i < n && s == NULL; i++) {
		if (v[i].live) {
			s = place_try(c, v[i].url);
		}
	}
	agora_server_infos_free(v, n);
	return s;
}

/* A child server for one more agent: a new one, or the pool's least
 * loaded (the pool is started whole on first use). */
static struct server_link *
place_child(agora_center *c, char *err, size_t errlen)
{
	struct server_link *best = NULL;
	size_t nchild = 0;

	for (size_t i = 0; i < c->nsrvs; i++) {
		nchild += c->srvs[i]->proc != NULL;
	}
	if (c->children == 0 || nchild < (size_t)c->children) {
		size_t want =
		    c->children == 0 ? 1 : (size_t)c->children - nchild;
		for (size_t i = 0; i < want; i++) {
			struct server_link *s = NULL;
			if (place_spawn(c, &s, err, errlen) != AGORA_OK) {
				return NULL;
			}
			best = c->children == 0 ? s : best;
		}
		if (c->children == 0) {
			return best;
		}
	}
	for (size_t i = 0; i < c->nsrvs; i++) {
		struct server_link *s = c->srvs[i];
		if (s->proc != NULL &&
		    (best == NULL || s->nagents < best->nagents)) {
			best = s;
		}
	}
	return best;
}

static struct server_link *
place_one(agora_center *c, const agora_agent *a, char *err, size_t errlen)
{
	struct server_link *s = NULL;

	if (strcmp(a->placement, "auto") == 0) {
		s = place_auto(c);
		if (s == NULL) {
			agora_log(AGORA_LOG_INFO, "remote",
			          "%s: no live server registered; a child",
			          a->role);
		}
	}
	if (s == NULL && (strcmp(a->placement, "child") == 0 ||
	                  strcmp(a->placement, "auto") == 0)) {
		s = place_child(c, err, errlen);
	} else if (s == NULL) {
		s = place_by_url(c, a->placement, err, errlen);
	}
	return s;
}

agora_err
agora__place_agents(agora_center *c, agora_agent *const *agents, size_t n)
{
	size_t first_new = c->nsrvs;
	char err[512] = "";
	agora_err rv = AGORA_OK;

	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		if (agents[i]->placement == NULL) {
			continue;
		}
		agents[i]->srv = place_one(c, agents[i], err, sizeof(err));
		if (agents[i]->srv == NULL) {
			tc_set_err(c, "%s: %s", agents[i]->role, err);
			rv = AGORA_ETRANSPORT;
		} else {
			agents[i]->srv->nagents++;
		}
	}
	/* New servers start together; each hello waits for its own. */
	for (size_t k = first_new; k < c->nsrvs && rv == AGORA_OK; k++) {
		rv = place_hello(c->srvs[k], err, sizeof(err));
		if (rv != AGORA_OK) {
			tc_set_err(c, "%s", err);
		}
	}
	for (size_t k = 0; k < c->nsrvs && rv == AGORA_OK; k++) {
		rv = place_create(c, c->srvs[k], agents, n, err, sizeof(err));
		if (rv != AGORA_OK) {
			tc_set_err(c, "%s", err);
		}
	}
	return rv;
}
