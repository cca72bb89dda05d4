/* SPDX-License-Identifier: MIT */
/* Private to the two files that include hiredis: core/redis.c (one
 * connection to one Redis) and core/redis_cluster.c (where commands enter,
 * and a Redis Cluster: a slot map and one such connection per master),
 * which uses the first, never the other way round. The handle is the
 * same type for both; a handle with a cluster routes each command through
 * it, one without speaks to its own server. */
#ifndef AGORA_CORE_REDIS_INT_H
#define AGORA_CORE_REDIS_INT_H

#include <stdbool.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "redis_cmd.h"

#define REDIS_MAX_SCRIPTS 16

/* A reader's reply functions: hiredis' own, with arrays capped. */
struct redis_cap {
	redisReplyObjectFunctions fn;
	void *(*create_array)(const redisReadTask *task, int elements);
	long long refused; /* the count of an array refused, or 0 */
};

struct redis_cluster;

/* What a handle knows of its server. */
enum redis_kind {
	REDIS_UNKNOWN, /* not asked yet: at the first command but PING */
	REDIS_SINGLE,
	REDIS_CLUSTER, /* r->cluster routes */
	REDIS_NODE,    /* one node of a cluster handle: never asks */
};

struct agora_redis {
	redisContext *ctx;
	struct redis_cap cap; /* on ctx's reader */
	char *url;
	char *url_shown; /* url without its user-info, for messages */
	char *host;      /* NULL for unix */
	char *path;      /* unix socket path */
	int port;
	int db;
	char *password; /* NULL: no AUTH */
	struct timeval timeout;
	int pending;  /* pipelined commands without a reply yet */
	bool refused; /* the last dial found nothing listening */
	struct {
		const agora_script *script;
		char sha[48];
	} scripts[REDIS_MAX_SCRIPTS];
	int nscripts;
	/* NULL: a single Redis. Else this handle's own connection is the
	 * seed (keyless commands, pub/sub) and keyed ones go to masters. */
	struct redis_cluster *cluster;
	enum redis_kind kind;
	char errstr[256];
};

/* ---- redis.c: one connection, whatever r->cluster says ---- */

/* Open without asking whether the server is a cluster node. */
agora_err agora__redis_open_one(agora_redis **rp, const char *url,
                                int64_t timeout_ms, char *err, size_t errlen);
/* Close one connection (agora_redis_close closes a cluster's too). */
void agora__redis_close_one(agora_redis *r);
agora_err agora__redis_cmd_one(agora_redis *r, agora_reply **out, int argc,
                               const char *const *argv, const size_t *lens);
agora_err agora__redis_eval_one(agora_redis *r, const agora_script *s,
                                agora_reply **out, int nkeys, int argc,
                                const char *const *argv, const size_t *lens);
agora_err agora__redis_append_one(agora_redis *r, int argc,
                                  const char *const *argv, const size_t *lens);
agora_err agora__redis_get_one(agora_redis *r, agora_reply **out);
/* The next pipelined reply as it came, error replies included (AGORA_OK);
 * AGORA_EREDIS only for a broken connection. */
agora_err agora__redis_get_raw(agora_redis *r, redisReply **out);
/* Hand a raw reply to the caller as agora__redis_get does: an error reply
 * becomes its code with the text in r's errstr (and is freed). */
agora_err agora__redis_take(agora_redis *r, redisReply *rep, agora_reply **out);
/* One command's time limit (redis.timeout_ms). */
int64_t agora__redis_budget_ms(const agora_redis *r);

#endif
