/* SPDX-License-Identifier: MIT */
/* The AgentRegistry in Redis: a hash per agent, "agora:{s}:agent:<role>",
 * with one field per attribute so that a status change or a step count is a
 * single HSET or HINCRBY from any process, never a read-modify-write; and a
 * sorted set "agora:{s}:agents" (score: the time of first registration) for
 * listing in order. Batches are pipelined. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/registry.h"
#include "registry_decode.h"

struct agora_registry {
	agora_redis *r;
	char *prefix;
	char errstr[256];
};

static agora_err
reg_fail(agora_registry *reg, agora_err rv)
{
	snprintf(reg->errstr, sizeof(reg->errstr), "%s",
	         agora_redis_errstr(reg->r));
	return rv;
}

/* Read n pipelined replies; the first error wins. A lost connection drops
 * the rest, so stop there and keep its message. */
static agora_err
reg_replies(agora_registry *reg, size_t n, agora_err rv)
{
	for (size_t i = 0; i < n; i++) {
		agora_err r2 = agora__redis_get(reg->r, NULL);
		if (rv == AGORA_OK) {
			rv = r2;
		}
		if (r2 == AGORA_EREDIS) {
			break;
		}
	}
	return rv;
}

agora_err
agora_registry_open(agora_registry **regp, agora_redis *r, const char *session)
{
	agora_registry *reg;

	*regp = NULL;
	if (r == NULL || session == NULL || session[0] == '\0') {
		return AGORA_EINVAL;
	}
	reg = agora_calloc(1, sizeof(*reg));
	reg->r = r;
	reg->prefix = agora_sprintf("agora:{%s}:", session);
	*regp = reg;
	return AGORA_OK;
}

void
agora_registry_close(agora_registry *reg)
{
	if (reg == NULL) {
		return;
	}
	agora_free(reg->prefix);
	agora_free(reg);
}

const char *
agora_registry_errstr(const agora_registry *reg)
{
	return reg->errstr;
}

/* Append the two commands that record one agent. */
static agora_err
reg_append_put(agora_registry *reg, const agora_agent_info *info,
               const char *seen, long long score)
{
	char *key = agora_sprintf("%sagent:%s", reg->prefix, info->role);
	char *set = agora_sprintf("%sagents", reg->prefix);
	char steps[24], sc[24];
	agora_err rv;

	snprintf(steps, sizeof(steps), "%llu", (unsigned long long)info->steps);
	snprintf(sc, sizeof(sc), "%lld", score);
	{
		const char *hset[] = {
			"HSET",
			key,
			"role",
			info->role,
			"kind",
			info->kind != NULL ? info->kind : "",
			"server",
			info->server != NULL ? info->server : "local",
			"status",
			agora_agent_status_name(info->status),
			"human",
			info->human ? "1" : "0",
			"watcher",
			info->watcher ? "1" : "0",
			"steps",
			steps,
			"last_seen",
			seen
		};
		const char *zadd[] = { "ZADD", set, "NX", sc, info->role };
		size_t hl[18], zl[5];
		for (int i = 0; i < 18; i++) {
			hl[i] = strlen(hset[i]);
		}
		for (int i = 0; i < 5; i++) {
			zl[i] = strlen(zadd[i]);
		}
		rv = agora__redis_append(reg->r, 18, hset, hl);
		if (rv == AGORA_OK) {
			rv = agora__redis_append(reg->r, 5, zadd, zl);
		}
	}
	agora_free(key);
	agora_free(set);
	return rv;
}

agora_err
agora_registry_put_many(agora_registry *reg, const agora_agent_info *infos,
                        size_t n)
{
	char seen[24];
	long long base = (long long)agora_now_us();
	size_t sent = 0;
	agora_err rv = AGORA_OK;

	snprintf(seen, sizeof(seen), "%lld", (long long)agora_wall_ms());
	/* Scores base + i keep a batch in its order (equal scores would sort
	 * by name). */
	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		rv = reg_append_put(reg, &infos[i], seen, base + (long long)i);
		sent += rv == AGORA_OK ? 2 : 0;
	}
	rv = reg_replies(reg, sent, rv);
	return rv == AGORA_OK ? rv : reg_fail(reg, rv);
}

agora_err
agora_registry_put(agora_registry *reg, const agora_agent_info *info)
{
	return agora_registry_put_many(reg, info, 1);
}

agora_err
agora_registry_get(agora_registry *reg, const char *role, agora_agent_info *out)
{
	char *key = agora_sprintf("%sagent:%s", reg->prefix, role);
	agora_reply *rep = NULL;
	agora_err rv;

	memset(out, 0, sizeof(*out));
	rv = agora__redis_cmdv(reg->r, &rep, "HGETALL", key, NULL);
	agora_free(key);
	if (rv != AGORA_OK) {
		return reg_fail(reg, rv);
	}
	if (agora__reply_len(rep) == 0) {
		snprintf(reg->errstr, sizeof(reg->errstr), "no agent '%s'",
		         role);
		agora__reply_free(rep);
		return AGORA_ENOTFOUND;
	}
	reg_agent_from_hash(out, rep);
	agora__reply_free(rep);
	return AGORA_OK;
}

agora_err
agora_registry_list(agora_registry *reg, agora_agent_info **out, size_t *n)
{
	char *set = agora_sprintf("%sagents", reg->prefix);
	agora_reply *roles = NULL;
	agora_agent_info *v = NULL;
	size_t count = 0;
	agora_err rv;

	*out = NULL;
	*n = 0;
	rv = agora__redis_cmdv(reg->r, &roles, "ZRANGE", set, "0", "-1", NULL);
	agora_free(set);
	if (rv != AGORA_OK) {
		return reg_fail(reg, rv);
	}
	count = agora__reply_len(roles);
	v = agora_calloc(count, sizeof(*v));
	/* One pipelined HGETALL per agent: one round trip for the list. */
	for (size_t i = 0; i < count && rv == AGORA_OK; i++) {
		size_t len;
		const char *role =
		    agora__reply_str(agora__reply_at(roles, i), &len);
		char *key = agora_sprintf("%sagent:%.*s", reg->prefix, (int)len,
		                          role != NULL ? role : "");
		const char *argv[] = { "HGETALL", key };
		size_t lens[] = { 7, strlen(key) };
		rv = agora__redis_append(reg->r, 2, argv, lens);
		agora_free(key);
	}
	for (size_t i = 0; i < count && rv == AGORA_OK; i++) {
		agora_reply *rep = NULL;
		rv = agora__redis_get(reg->r, &rep);
		if (rv == AGORA_OK) {
			reg_agent_from_hash(&v[i], rep);
		}
		agora__reply_free(rep);
	}
	agora__reply_free(roles);
	if (rv != AGORA_OK) {
		agora_agent_infos_free(v, count);
		return reg_fail(reg, rv);
	}
	*out = v;
	*n = count;
	return AGORA_OK;
}

/* Append HINCRBY key steps 1 (a turn taken) to the pipeline. */
static agora_err
reg_append_step(agora_registry *reg, const char *key)
{
	const char *inc[] = { "HINCRBY", key, "steps", "1" };
	size_t il[] = { 7, strlen(key), 5, 1 };

	return agora__redis_append(reg->r, 4, inc, il);
}

agora_err
agora_registry_mark_many(agora_registry *reg, const char *const *roles,
                         size_t n, agora_agent_status status, bool step_done)
{
	char seen[24];
	size_t sent = 0;
	agora_err rv = AGORA_OK;

	snprintf(seen, sizeof(seen), "%lld", (long long)agora_wall_ms());
	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		char *key = agora_sprintf("%sagent:%s", reg->prefix, roles[i]);
		const char *hset[] = {
			"HSET",      key,
			"status",    agora_agent_status_name(status),
			"last_seen", seen
		};
		size_t hl[6];
		for (int k = 0; k < 6; k++) {
			hl[k] = strlen(hset[k]);
		}
		rv = agora__redis_append(reg->r, 6, hset, hl);
		sent += rv == AGORA_OK;
		if (rv == AGORA_OK && step_done) {
			rv = reg_append_step(reg, key);
			sent += rv == AGORA_OK;
		}
		agora_free(key);
	}
	rv = reg_replies(reg, sent, rv);
	return rv == AGORA_OK ? rv : reg_fail(reg, rv);
}

agora_err
agora_registry_count_steps(agora_registry *reg, const char *const *roles,
                           size_t n)
{
	size_t sent = 0;
	agora_err rv = AGORA_OK;

	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		char *key = agora_sprintf("%sagent:%s", reg->prefix, roles[i]);
		rv = reg_append_step(reg, key);
		sent += rv == AGORA_OK;
		agora_free(key);
	}
	rv = reg_replies(reg, sent, rv);
	return rv == AGORA_OK ? rv : reg_fail(reg, rv);
}

agora_err
agora_registry_add_usage(agora_registry *reg, const char *const *roles,
                         const int64_t *tokens, const char *const *finish,
                         size_t n)
{
	static const char *const fields[3] = { "prompt_tokens",
		                               "completion_tokens",
		                               "total_tokens" };
	size_t sent = 0;
	agora_err rv = AGORA_OK;

	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		char *key = agora_sprintf("%sagent:%s", reg->prefix, roles[i]);
		for (int f = 0; f < 3 && rv == AGORA_OK; f++) {
			char by[24];
			const char *inc[] = { "HINCRBY", key, fields[f], by };
			size_t il[4];
			if (tokens[3 * i + (size_t)f] < 0) {
				continue;
			}
			snprintf(by, sizeof(by), "%lld",
			         (long long)tokens[3 * i + (size_t)f]);
			for (int k = 0; k < 4; k++) {
				il[k] = strlen(inc[k]);
			}
			rv = agora__redis_append(reg->r, 4, inc, il);
			sent += rv == AGORA_OK;
		}
		if (rv == AGORA_OK && finish != NULL && finish[i] != NULL &&
		    finish[i][0] != '\0') {
			const char *hset[] = { "HSET", key, "last_finish",
				               finish[i] };
			size_t hl[4];
			for (int k = 0; k < 4; k++) {
				hl[k] = strlen(hset[k]);
			}
			rv = agora__redis_append(reg->r, 4, hset, hl);
			sent += rv == AGORA_OK;
		}
		agora_free(key);
	}
	rv = reg_replies(reg, sent, rv);
	return rv == AGORA_OK ? rv : reg_fail(reg, rv);
}

agora_err
agora_registry_set_human(agora_registry *reg, const char *role, bool human)
{
	char *key = agora_sprintf("%sagent:%s", reg->prefix, role);
	agora_err rv = agora__redis_cmdv(reg->r, NULL, "HSET", key, "human",
	                                 human ? "1" : "0", NULL);

	agora_free(key);
	return rv == AGORA_OK ? rv : reg_fail(reg, rv);
}

agora_err
agora_registry_clear(agora_registry *reg)
{
	agora_agent_info *v = NULL;
	size_t n = 0;
	agora_err rv = agora_registry_list(reg, &v, &n);

	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		char *key = agora_sprintf("%sagent:%s", reg->prefix,
		                          v[i].role != NULL ? v[i].role : "");
		rv = agora__redis_cmdv(reg->r, NULL, "DEL", key, NULL);
		agora_free(key);
	}
	agora_agent_infos_free(v, n);
	if (rv == AGORA_OK) {
		char *set = agora_sprintf("%sagents", reg->prefix);
		rv = agora__redis_cmdv(reg->r, NULL, "DEL", set, NULL);
		agora_free(set);
	}
	return rv == AGORA_OK ? rv : reg_fail(reg, rv);
}

void
agora_agent_info_fini(agora_agent_info *info)
{
	if (info == NULL) {
		return;
	}
	agora_free(info->role);
	agora_free(info->kind);
	agora_free(info->server);
	memset(info, 0, sizeof(*info));
}

void
agora_agent_infos_free(agora_agent_info *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		agora_agent_info_fini(&v[i]);
	}
	agora_free(v);
}
