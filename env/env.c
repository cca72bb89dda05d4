/* SPDX-License-Identifier: MIT */
/* The Environment on Redis. Each operation is one Lua script run with
 * EVALSHA (the .lua files in env/lua, embedded at build time), so it is atomic,
 * and the batch forms cover many roles or messages in one round trip: a step of
 * 1,000 agents costs a handful of round trips, not thousands.
 *
 * Keys, all under "agora:{<session>}:" (the braces are a Redis Cluster hash
 * tag, keeping a session on one slot): seq, roles, roleset, msg (a hash of
 * id -> message JSON), history, inbox:<role>, inflight:<role>, view:<role>,
 * mem:<role> and req (lists of ids); events on the channel <prefix>events.
 * Lists hold ids, so a message sent to all is stored once, and a drain
 * fetches all its bodies with one HMGET. See docs/environment.md. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/env.h"
#include "agora/random.h"
#include "env_decode.h"
#include "redis_cmd.h"

extern const char agora_lua_register[], agora_lua_store[], agora_lua_drain[],
    agora_lua_ack[], agora_lua_requeue[], agora_lua_notified[],
    agora_lua_bodies[], agora_lua_reset[], agora_lua_memadd[],
    agora_lua_reclaim[], agora_lua_page[];

static const agora_script script_register = { "register", agora_lua_register };
static const agora_script script_store = { "store", agora_lua_store };
static const agora_script script_drain = { "drain", agora_lua_drain };
static const agora_script script_ack = { "ack", agora_lua_ack };
static const agora_script script_requeue = { "requeue", agora_lua_requeue };
static const agora_script script_notified = { "notified", agora_lua_notified };
static const agora_script script_bodies = { "bodies", agora_lua_bodies };
static const agora_script script_reset = { "reset", agora_lua_reset };
static const agora_script script_memadd = { "memadd", agora_lua_memadd };
static const agora_script script_reclaim = { "reclaim", agora_lua_reclaim };
static const agora_script script_page = { "page", agora_lua_page };

/* A lease when none was set: a step's default deadline and a margin. */
#define ENV_LEASE_MS (300000 + 5000)
/* List entries one script call may write by default, so no call holds
 * Redis for long (about 30 ms here; others' commands wait that long at
 * most). */
#define ENV_CALL_WORK 100000

struct agora_env {
	agora_redis *r;
	char *session;
	char *prefix; /* "agora:{session}:" */
	char memory_max[24];
	char drain_max[24];
	char owner[33];     /* this env's lease owner id, random */
	char lease_ms[24];  /* how long a drain's lease lasts */
	char owner_ttl[24]; /* how long owner:<id> lives after a beat */
	char call_work[24]; /* list entries one script call writes at most */
	size_t work;        /* the same, as a number */
	bool owner_set;     /* owner:<id> written at least once */
	char errstr[256];
};

/* An argument vector that grows; strings are borrowed or owned. */
struct argv_builder {
	const char **v;
	size_t *lens;
	char **owned;
	size_t n, cap, nowned;
};

static void
ab_push(struct argv_builder *ab, const char *s, size_t len)
{
	if (ab->n == ab->cap) {
		ab->cap = ab->cap == 0 ? 16 : ab->cap * 2;
		ab->v = agora_realloc(ab->v, ab->cap * sizeof(char *));
		ab->lens = agora_realloc(ab->lens, ab->cap * sizeof(size_t));
		ab->owned = agora_realloc(ab->owned, ab->cap * sizeof(char *));
	}
	ab->v[ab->n] = s;
	ab->lens[ab->n] = len;
	ab->n++;
}

static void
ab_pushs(struct argv_builder *ab, const char *s)
{
	ab_push(ab, s, strlen(s));
}

/* Push a string the builder will free. */
static void
ab_take(struct argv_builder *ab, char *s, size_t len)
{
	ab_push(ab, s, len);
	ab->owned[ab->nowned++] = s;
}

static void
ab_free(struct argv_builder *ab)
{
	for (size_t i = 0; i < ab->nowned; i++) {
		agora_free(ab->owned[i]);
	}
	agora_free(ab->v);
	agora_free(ab->lens);
	agora_free(ab->owned);
}

static agora_err
env_eval(agora_env *env, const agora_script *s, struct argv_builder *ab,
         agora_reply **out)
{
	agora_err rv =
	    agora__redis_eval(env->r, s, out, 1, (int)ab->n, ab->v, ab->lens);

	if (rv != AGORA_OK) {
		snprintf(env->errstr, sizeof(env->errstr), "%s",
		         agora_redis_errstr(env->r));
	}
	return rv;
}

static bool
env_session_valid(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > 64) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.')) {
			return false;
		}
	}
	return true;
}

agora_err
agora_env_open(agora_env **envp, agora_redis *r, const char *session,
               const agora_env_opts *opts)
{
	agora_env *env;
	int64_t drain_max =
	    opts != NULL && opts->drain_max > 0 ? opts->drain_max : 10000;
	int64_t memory_max =
	    opts != NULL && opts->memory_max > 0 ? opts->memory_max : 10000;

	*envp = NULL;
	if (r == NULL || !env_session_valid(session)) {
		return AGORA_EINVAL;
	}
	env = agora_calloc(1, sizeof(*env));
	env->r = r;
	env->session = agora_strdup(session);
	env->prefix = agora_sprintf("agora:{%s}:", session);
	snprintf(env->drain_max, sizeof(env->drain_max), "%lld",
	         (long long)drain_max);
	snprintf(env->memory_max, sizeof(env->memory_max), "%lld",
	         (long long)memory_max);
	snprintf(env->lease_ms, sizeof(env->lease_ms), "%lld",
	         (long long)ENV_LEASE_MS);
	env->work = opts != NULL && opts->call_work > 0
	                ? (size_t)opts->call_work
	                : ENV_CALL_WORK;
	snprintf(env->call_work, sizeof(env->call_work), "%zu", env->work);
	snprintf(env->owner_ttl, sizeof(env->owner_ttl), "%lld",
	         (long long)(opts != NULL && opts->owner_ttl_ms > 0
	                         ? opts->owner_ttl_ms
	                         : 10000));
	if (agora_random_hex(env->owner, sizeof(env->owner), 16) != AGORA_OK) {
		agora_env_close(env);
		return AGORA_ESYS;
	}
	*envp = env;
	return AGORA_OK;
}

void
agora_env_set_lease(agora_env *env, int64_t lease_ms)
{
	snprintf(env->lease_ms, sizeof(env->lease_ms), "%lld",
	         (long long)(lease_ms > 0 ? lease_ms : ENV_LEASE_MS));
}

const char *
agora_env_owner(const agora_env *env)
{
	return env->owner;
}

agora_err
agora_env_heartbeat(agora_env *env)
{
	char key[160];
	agora_err rv;

	snprintf(key, sizeof(key), "%sowner:%s", env->prefix, env->owner);
	rv = agora__redis_cmdv(env->r, NULL, "SET", key, "1", "PX",
	                       env->owner_ttl, NULL);
	if (rv != AGORA_OK) {
		snprintf(env->errstr, sizeof(env->errstr), "%s",
		         agora_redis_errstr(env->r));
	}
	env->owner_set = env->owner_set || rv == AGORA_OK;
	return rv;
}

agora_err
agora_env_reclaim(agora_env *env, size_t *moved)
{
	struct argv_builder ab = { 0 };
	agora_reply *rep = NULL;
	agora_err rv;

	ab_pushs(&ab, env->prefix);
	ab_pushs(&ab, env->owner);
	rv = env_eval(env, &script_reclaim, &ab, &rep);
	if (moved != NULL) {
		*moved = rv == AGORA_OK ? (size_t)agora__reply_int(rep) : 0;
	}
	agora__reply_free(rep);
	ab_free(&ab);
	return rv;
}

void
agora_env_close(agora_env *env)
{
	if (env == NULL) {
		return;
	}
	if (env->owner_set) {
		/* Gone on purpose: anything of ours still in flight (a put-back
		 * that could not reach Redis) is reclaimable at once. */
		char key[160];
		snprintf(key, sizeof(key), "%sowner:%s", env->prefix,
		         env->owner);
		(void)agora__redis_cmdv(env->r, NULL, "DEL", key, NULL);
	}
	agora_free(env->session);
	agora_free(env->prefix);
	agora_free(env);
}

const char *
agora_env_session(const agora_env *env)
{
	return env->session;
}

const char *
agora_env_errstr(const agora_env *env)
{
	return env->errstr;
}

agora_redis *
agora_env_redis(agora_env *env)
{
	return env->r;
}

agora_err
agora_env_register_roles(agora_env *env, const char *const *roles, size_t n)
{
	struct argv_builder ab = { 0 };
	agora_err rv;

	for (size_t i = 0; i < n; i++) {
		if (!agora_role_valid(roles[i])) {
			snprintf(
			    env->errstr, sizeof(env->errstr),
			    "invalid role name '%.80s' (1-%d bytes; no spaces, "
			    "<>:,\"'\\/; not 'all' or 'user_requirement')",
			    roles[i] != NULL ? roles[i] : "(null)",
			    AGORA_ROLE_MAX);
			return AGORA_EINVAL;
		}
	}
	if (n == 0) {
		return AGORA_OK;
	}
	ab_pushs(&ab, env->prefix);
	for (size_t i = 0; i < n; i++) {
		ab_pushs(&ab, roles[i]);
	}
	rv = env_eval(env, &script_register, &ab, NULL);
	ab_free(&ab);
	return rv;
}

agora_err
agora_env_roles(agora_env *env, agora_strv *out)
{
	agora_reply *rep = NULL;
	char *key = agora_sprintf("%sroles", env->prefix);
	agora_err rv;

	agora_strv_clear(out);
	rv = agora__redis_cmdv(env->r, &rep, "LRANGE", key, "0", "-1", NULL);
	if (rv == AGORA_OK) {
		env_decode_strings(rep, out);
	} else {
		snprintf(env->errstr, sizeof(env->errstr), "%s",
		         agora_redis_errstr(env->r));
	}
	agora__reply_free(rep);
	agora_free(key);
	return rv;
}

agora_err
agora_env_has_role(agora_env *env, const char *role, bool *yes)
{
	agora_reply *rep = NULL;
	char *key = agora_sprintf("%sroleset", env->prefix);
	agora_err rv;

	*yes = false;
	rv = agora__redis_cmdv(env->r, &rep, "SISMEMBER", key, role, NULL);
	if (rv == AGORA_OK) {
		*yes = agora__reply_int(rep) == 1;
	} else {
		snprintf(env->errstr, sizeof(env->errstr), "%s",
		         agora_redis_errstr(env->r));
	}
	agora__reply_free(rep);
	agora_free(key);
	return rv;
}

/* The check of a whole batch, as store.lua's arguments: the senders, then
 * the recipients (one of a run of messages to the same role is enough: a
 * round's replies to one moderator name it once), not the messages. */
static void
check_args(agora_env *env, struct argv_builder *ab, agora_msg *const *msgs,
           size_t n)
{
	char *count = agora_sprintf("%zu", n);
	const char *last = NULL;

	ab_pushs(ab, env->prefix);
	ab_pushs(ab, env->memory_max);
	ab_pushs(ab, "check");
	ab_take(ab, count, strlen(count));
	for (size_t i = 0; i < n; i++) {
		ab_pushs(ab, msgs[i]->sent_from);
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < msgs[i]->send_to.n; k++) {
			const char *r = msgs[i]->send_to.v[k];
			if (last == NULL || strcmp(r, last) != 0) {
				ab_pushs(ab, r);
				last = r;
			}
		}
	}
}

/* Messages i0..i1-1 of a batch as store.lua's arguments; mode "check":
 * check_args for the whole batch. */
static agora_err
store_args(agora_env *env, struct argv_builder *ab, const char *mode,
           agora_msg *const *msgs, const uint8_t *flags, size_t i0, size_t i1)
{
	static const char *const flag_arg[4] = { "0", "1", "2", "3" };
	char *count;
	agora_err rv = AGORA_OK;

	if (strcmp(mode, "check") == 0) {
		check_args(env, ab, msgs + i0, i1 - i0);
		return AGORA_OK;
	}
	count = agora_sprintf("%zu", i1 - i0);
	ab_pushs(ab, env->prefix);
	ab_pushs(ab, env->memory_max);
	ab_pushs(ab, mode);
	ab_take(ab, count, strlen(count));
	for (size_t i = i0; i < i1 && rv == AGORA_OK; i++) {
		agora_msg *m = msgs[i];
		agora_buf body;
		char *nto;

		ab_pushs(ab, m->sent_from);
		ab_pushs(ab, flag_arg[flags != NULL ? flags[i] & 3u : 0]);
		nto = agora_sprintf("%zu", m->send_to.n);
		ab_take(ab, nto, strlen(nto));
		for (size_t k = 0; k < m->send_to.n; k++) {
			ab_pushs(ab, m->send_to.v[k]);
		}
		agora_buf_init(&body, AGORA_MSG_MAX_BYTES);
		rv = agora_msg_encode(m, false, &body);
		if (rv != AGORA_OK) {
			snprintf(env->errstr, sizeof(env->errstr),
			         "message over %u bytes", AGORA_MSG_MAX_BYTES);
			agora_buf_fini(&body);
			break;
		}
		{
			size_t len = body.len;
			ab_take(ab, agora_buf_steal(&body), len);
		}
	}
	return rv;
}

static agora_err
store_call(agora_env *env, const char *mode, agora_msg *const *msgs,
           const uint8_t *flags, size_t i0, size_t i1)
{
	struct argv_builder ab = { 0 };
	agora_reply *rep = NULL;
	agora_err rv = store_args(env, &ab, mode, msgs, flags, i0, i1);

	if (rv == AGORA_OK) {
		rv = env_eval(env, &script_store, &ab, &rep);
	}
	if (rv == AGORA_OK && strcmp(mode, "check") != 0) {
		env_decode_ids(rep, msgs + i0, i1 - i0);
	}
	agora__reply_free(rep);
	ab_free(&ab);
	return rv;
}

/* Inbox entries message m makes: its recipients, or every role for "all"
 * (roles: the session's count, fetched once when needed). */
static size_t
store_deliveries(agora_env *env, const agora_msg *m, int64_t *roles)
{
	if (!agora_strv_has(&m->send_to, AGORA_ALL)) {
		return m->send_to.n;
	}
	if (*roles < 0) {
		agora_reply *rep = NULL;
		char *key = agora_sprintf("%sroles", env->prefix);
		*roles = 0;
		if (agora__redis_cmdv(env->r, &rep, "LLEN", key, NULL) ==
		    AGORA_OK) {
			*roles = agora__reply_int(rep);
		}
		agora__reply_free(rep);
		agora_free(key);
	}
	return (size_t)*roles + m->send_to.n;
}

agora_err
agora_env_store_many(agora_env *env, agora_msg *const *msgs, const bool *acks,
                     size_t n)
{
	uint8_t *flags = NULL;
	agora_err rv;

	if (acks != NULL) {
		flags = agora_calloc(n + 1, 1);
		for (size_t i = 0; i < n; i++) {
			flags[i] = acks[i] ? AGORA_ENV_ACK : 0;
		}
	}
	rv = agora_env_store_flagged(env, msgs, flags, n);
	agora_free(flags);
	return rv;
}

agora_err
agora_env_store_flagged(agora_env *env, agora_msg *const *msgs,
                        const uint8_t *flags, size_t n)
{
	/* In a cluster a batch always publishes (store.lua says why). */
	const char *store =
	    agora__redis_is_cluster(env->r) ? "publish" : "store";
	int64_t now = agora_wall_ms(), roles = -1;
	size_t total = 0, i0 = 0, work = 0;
	agora_err rv = AGORA_OK;

	if (n == 0) {
		return AGORA_OK;
	}
	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		rv = agora_msg_validate(msgs[i], env->errstr,
		                        sizeof(env->errstr));
		if (msgs[i]->ts_ms == 0) {
			msgs[i]->ts_ms = now;
		}
		total += n > 1 ? store_deliveries(env, msgs[i], &roles) : 0;
	}
	if (rv != AGORA_OK || total <= env->work) {
		return rv != AGORA_OK
		           ? rv
		           : store_call(env, store, msgs, flags, 0, n);
	}
	/* Many calls: all the roles are checked first, so an unknown one
	 * still leaves Redis as it was. Each message is stored whole, with
	 * the ack of what its sender drained, in one of the calls. */
	rv = store_call(env, "check", msgs, flags, 0, n);
	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		work += store_deliveries(env, msgs[i], &roles) + 1;
		if (work >= env->work || i + 1 == n) {
			rv = store_call(env, store, msgs, flags, i0, i + 1);
			i0 = i + 1;
			work = 0;
		}
	}
	return rv;
}

agora_err
agora_env_store(agora_env *env, agora_msg *msg)
{
	return agora_env_store_many(env, &msg, NULL, 1);
}

/* One drain call for roles[0..n-1]; *done says how many it reached (it
 * stops after env->work entries). */
static agora_err
drain_call(agora_env *env, const char *const *roles, const bool *light,
           size_t n, agora_msgs *outs, size_t *done)
{
	struct argv_builder ab = { 0 };
	agora_reply *rep = NULL;
	char why[128];
	agora_err rv;

	ab_pushs(&ab, env->prefix);
	ab_pushs(&ab, env->drain_max);
	ab_pushs(&ab, env->owner);
	ab_pushs(&ab, env->lease_ms);
	ab_pushs(&ab, env->owner_ttl);
	ab_pushs(&ab, env->call_work);
	if (light != NULL) {
		/* One character a role: "1" light. */
		char *s = agora_malloc(n + 1);
		for (size_t i = 0; i < n; i++) {
			s[i] = light[i] ? '1' : '0';
		}
		s[n] = '\0';
		ab_take(&ab, s, n);
	} else {
		ab_pushs(&ab, "");
	}
	for (size_t i = 0; i < n; i++) {
		ab_pushs(&ab, roles[i]);
	}
	rv = env_eval(env, &script_drain, &ab, &rep);
	env->owner_set = env->owner_set || rv == AGORA_OK;
	*done = 0;
	if (rv == AGORA_OK) {
		rv = env_decode_drain(rep, n, outs, done, env->session, why,
		                      sizeof(why));
		if (rv != AGORA_OK) {
			agora__redis_set_err(env->r, "%s", why);
			snprintf(env->errstr, sizeof(env->errstr), "%s", why);
		}
	}
	agora__reply_free(rep);
	ab_free(&ab);
	return rv;
}

agora_err
agora_env_drain_flagged(agora_env *env, const char *const *roles,
                        const bool *light, size_t n, agora_msgs *outs)
{
	agora_err rv = AGORA_OK;
	size_t at = 0;

	/* As many calls as it takes for each to stay short. */
	while (at < n && rv == AGORA_OK) {
		size_t done = 0;
		rv = drain_call(env, roles + at,
		                light != NULL ? light + at : NULL, n - at,
		                outs + at, &done);
		at += done;
	}
	return rv;
}

agora_err
agora_env_drain_many(agora_env *env, const char *const *roles, size_t n,
                     agora_msgs *outs)
{
	return agora_env_drain_flagged(env, roles, NULL, n, outs);
}

agora_err
agora_env_drain(agora_env *env, const char *role, agora_msgs *out)
{
	return agora_env_drain_many(env, &role, 1, out);
}

agora_err
agora_env_ack_many(agora_env *env, const char *const *roles, size_t n)
{
	struct argv_builder ab = { 0 };
	agora_err rv;

	if (n == 0) {
		return AGORA_OK;
	}
	ab_pushs(&ab, env->prefix);
	ab_pushs(&ab, env->memory_max);
	for (size_t i = 0; i < n; i++) {
		ab_pushs(&ab, roles[i]);
	}
	rv = env_eval(env, &script_ack, &ab, NULL);
	ab_free(&ab);
	return rv;
}

agora_err
agora_env_requeue_many(agora_env *env, const char *const *roles, size_t n,
                       size_t *moved)
{
	struct argv_builder ab = { 0 };
	agora_reply *rep = NULL;
	agora_err rv;

	if (moved != NULL) {
		*moved = 0;
	}
	if (n == 0) {
		return AGORA_OK;
	}
	ab_pushs(&ab, env->prefix);
	for (size_t i = 0; i < n; i++) {
		ab_pushs(&ab, roles[i]);
	}
	rv = env_eval(env, &script_requeue, &ab, &rep);
	if (rv == AGORA_OK && moved != NULL) {
		*moved = (size_t)agora__reply_int(rep);
	}
	agora__reply_free(rep);
	ab_free(&ab);
	return rv;
}

agora_err
agora_env_notified_roles(agora_env *env, agora_strv *out)
{
	struct argv_builder ab = { 0 };
	agora_reply *rep = NULL;
	agora_err rv;

	agora_strv_clear(out);
	ab_pushs(&ab, env->prefix);
	rv = env_eval(env, &script_notified, &ab, &rep);
	if (rv == AGORA_OK) {
		env_decode_strings(rep, out);
	}
	agora__reply_free(rep);
	ab_free(&ab);
	return rv;
}

/* The bodies behind n id lists (key suffixes), in one round trip. */
static agora_err
env_bodies_many(agora_env *env, const char *const *suffixes, size_t n,
                size_t limit, agora_msgs *outs)
{
	struct argv_builder ab = { 0 };
	agora_reply *rep = NULL;
	char lim[24];
	agora_err rv;

	if (n == 0) {
		return AGORA_OK;
	}
	snprintf(lim, sizeof(lim), "%zu", limit);
	ab_pushs(&ab, env->prefix);
	ab_pushs(&ab, lim);
	for (size_t i = 0; i < n; i++) {
		ab_pushs(&ab, suffixes[i]);
	}
	rv = env_eval(env, &script_bodies, &ab, &rep);
	if (rv == AGORA_OK) {
		env_decode_bodies(rep, n, outs, env->session);
	}
	agora__reply_free(rep);
	ab_free(&ab);
	return rv;
}

static agora_err
env_bodies(agora_env *env, const char *list_suffix, size_t limit,
           agora_msgs *out)
{
	return env_bodies_many(env, &list_suffix, 1, limit, out);
}

agora_err
agora_env_history(agora_env *env, size_t limit, agora_msgs *out)
{
	return env_bodies(env, "history", limit, out);
}

agora_err
agora_env_history_after(agora_env *env, uint64_t after, size_t limit,
                        agora_msgs *out)
{
	struct argv_builder ab = { 0 };
	agora_reply *rep = NULL;
	char a[24];
	char lim[24];
	agora_err rv;

	snprintf(a, sizeof(a), "%llu", (unsigned long long)after);
	snprintf(lim, sizeof(lim), "%zu", limit > 0 ? limit : 1);
	ab_pushs(&ab, env->prefix);
	ab_pushs(&ab, a);
	ab_pushs(&ab, lim);
	rv = env_eval(env, &script_page, &ab, &rep);
	if (rv == AGORA_OK) {
		env_decode_bodies(rep, 1, out, env->session);
	}
	agora__reply_free(rep);
	ab_free(&ab);
	return rv;
}

agora_err
agora_env_view(agora_env *env, const char *role, size_t limit, agora_msgs *out)
{
	char *suffix = agora_sprintf("view:%s", role);
	agora_err rv = env_bodies(env, suffix, limit, out);

	agora_free(suffix);
	return rv;
}

agora_err
agora_env_memory(agora_env *env, const char *role, size_t limit,
                 agora_msgs *out)
{
	char *suffix = agora_sprintf("mem:%s", role);
	agora_err rv = env_bodies(env, suffix, limit, out);

	/* In a role's memory its own words are the assistant's. */
	for (size_t i = 0; rv == AGORA_OK && i < out->n; i++) {
		if (strcmp(out->v[i]->sent_from, role) == 0) {
			out->v[i]->role = AGORA_ROLE_ASSISTANT;
		}
	}
	agora_free(suffix);
	return rv;
}

agora_err
agora_env_memory_many(agora_env *env, const char *const *roles, size_t n,
                      size_t limit, agora_msgs *outs)
{
	char **suffixes = agora_calloc(n + 1, sizeof(char *));
	agora_err rv;

	for (size_t i = 0; i < n; i++) {
		suffixes[i] = agora_sprintf("mem:%s", roles[i]);
	}
	rv =
	    env_bodies_many(env, (const char *const *)suffixes, n, limit, outs);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; rv == AGORA_OK && k < outs[i].n; k++) {
			if (strcmp(outs[i].v[k]->sent_from, roles[i]) == 0) {
				outs[i].v[k]->role = AGORA_ROLE_ASSISTANT;
			}
		}
		agora_free(suffixes[i]);
	}
	agora_free(suffixes);
	return rv;
}

agora_err
agora_env_memory_append(agora_env *env, const char *role,
                        agora_msg *const *msgs, size_t n)
{
	struct argv_builder ab = { 0 };
	agora_err rv = AGORA_OK;

	if (!agora_role_valid(role)) {
		snprintf(env->errstr, sizeof(env->errstr),
		         "invalid role name '%.80s'", role);
		return AGORA_EINVAL;
	}
	ab_pushs(&ab, env->prefix);
	ab_pushs(&ab, env->memory_max);
	ab_pushs(&ab, role);
	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		agora_buf body;
		rv = agora_msg_validate(msgs[i], env->errstr,
		                        sizeof(env->errstr));
		agora_buf_init(&body, AGORA_MSG_MAX_BYTES);
		if (rv == AGORA_OK) {
			rv = agora_msg_encode(msgs[i], false, &body);
		}
		if (rv == AGORA_OK) {
			size_t len = body.len;
			ab_take(&ab, agora_buf_steal(&body), len);
		}
		agora_buf_fini(&body);
	}
	if (rv == AGORA_OK) {
		rv = env_eval(env, &script_memadd, &ab, NULL);
	}
	ab_free(&ab);
	return rv;
}

agora_err
agora_env_requirements(agora_env *env, agora_msgs *out)
{
	return env_bodies(env, "req", 0, out);
}

agora_err
agora_env_pending(agora_env *env, const char *role, size_t *count)
{
	agora_reply *rep = NULL;
	char *key = agora_sprintf("%sinbox:%s", env->prefix, role);
	agora_err rv;

	rv = agora__redis_cmdv(env->r, &rep, "LLEN", key, NULL);
	*count = rv == AGORA_OK ? (size_t)agora__reply_int(rep) : 0;
	if (rv != AGORA_OK) {
		snprintf(env->errstr, sizeof(env->errstr), "%s",
		         agora_redis_errstr(env->r));
	}
	agora__reply_free(rep);
	agora_free(key);
	return rv;
}

agora_err
agora_env_reset(agora_env *env, bool keep_roles)
{
	struct argv_builder ab = { 0 };
	agora_err rv;

	ab_pushs(&ab, env->prefix);
	ab_pushs(&ab, keep_roles ? "1" : "0");
	rv = env_eval(env, &script_reset, &ab, NULL);
	ab_free(&ab);
	return rv;
}
