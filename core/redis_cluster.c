/* SPDX-License-Identifier: MIT */
/* Every command of core/redis_cmd.h enters here (at the end): a handle on
 * a single Redis goes straight to its connection (core/redis.c), one on a
 * Redis Cluster is routed. A handle opened on a cluster node keeps a
 * slot map (CLUSTER SLOTS) and one connection per master, dialled when
 * first needed, each a single-node handle of core/redis.c with its own
 * script cache. A keyed command goes to the master of its key's slot; keyless
 * ones (INFO, SCAN, PUBSUB, SUBSCRIBE ...) to the node the handle was
 * opened on, the seed. MOVED updates the slot, reads the map again (at
 * most every CLUSTER_REFRESH_MS) and retries; ASK is followed with ASKING
 * for plain commands. A script is never sent after an ASK: it reads and
 * writes keys of its session it does not declare, and during a migration
 * some of them would be on each node. Its declared key is the session's
 * prefix, which is never a key, so the source of a migrating slot always
 * answers ASK: the script waits (10 to 100 ms pauses, for at most the
 * command's time limit) until the slot has moved, then runs where the
 * whole session is. TRYAGAIN and CLUSTERDOWN are waited out the same way.
 * A pipeline goes to the node of its first key (one session); replies from
 * the first redirected one on are read, and each redirected command is
 * sent again on its own. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "redis_int.h"

#define CLUSTER_SLOTS      16384
#define CLUSTER_NONE       0xffff
#define CLUSTER_REFRESH_MS 100 /* the map is read at most this often */
#define CLUSTER_MAX_NODES  1024

struct cluster_node {
	char *host;
	int port;
	bool master;    /* owns slots in the last map read */
	agora_redis *h; /* NULL until first needed */
};

/* A command of the pipeline being read, kept to send it again. */
struct cluster_cmd {
	int argc;
	char **argv;
	size_t *lens;
};

struct redis_cluster {
	struct cluster_node *nodes;
	int nnodes;
	uint16_t owner[CLUSTER_SLOTS]; /* node index, CLUSTER_NONE */
	int64_t read_ms;               /* when the map was last read */
	/* The pipeline: where it went, its commands, the next reply. */
	agora_redis *ph;
	struct cluster_cmd *pc;
	size_t pn, pcap, pnext;
	redisReply **saved; /* once redirected: the replies read ahead */
};

/* ---- slots ---- */

static uint16_t
cluster_crc16(const char *buf, size_t len)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)((uint16_t)(unsigned char)buf[i] << 8);
		for (int b = 0; b < 8; b++) {
			unsigned next = (unsigned)crc << 1;

			if ((crc & 0x8000) != 0) {
				next ^= 0x1021;
			}
			crc = (uint16_t)(next & 0xffff);
		}
	}
	return crc;
}

unsigned
agora__redis_slot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len);

	if (open != NULL) {
		size_t s = (size_t)(open - key) + 1;
		const char *close = memchr(key + s, '}', len - s);
		if (close != NULL && close > key + s) {
			return cluster_crc16(key + s,
			                     (size_t)(close - (key + s))) &
			       (CLUSTER_SLOTS - 1);
		}
	}
	return cluster_crc16(key, len) & (CLUSTER_SLOTS - 1);
}

/* The key a command is routed by; false for a keyless one, sent to the
 * seed (MIGRATE too: its keys are where the caller sent it). */
static bool
cluster_key(int argc, const char *const *argv, const size_t *lens,
            const char **key, size_t *klen)
{
	static const char *const keyless[] = {
		"PING",      "INFO",         "SCRIPT",   "PUBSUB",   "SCAN",
		"SUBSCRIBE", "PSUBSCRIBE",   "PUBLISH",  "CLUSTER",  "CONFIG",
		"SLOWLOG",   "UNSUBSCRIBE",  "DBSIZE",   "FLUSHALL", "FLUSHDB",
		"RESET",     "PUNSUBSCRIBE", "SAVE",     "BGSAVE",   "KEYS",
		"AUTH",      "SELECT",       "CLIENT",   "ECHO",     "TIME",
		"COMMAND",   "WAIT",         "READONLY", "MIGRATE"
	};
	int at = 1;

	if (argc < 2) {
		return false;
	}
	if (strcasecmp(argv[0], "EVALSHA") == 0 ||
	    strcasecmp(argv[0], "EVAL") == 0) {
		if (argc < 4 || strtol(argv[2], NULL, 10) < 1) {
			return false;
		}
		at = 3;
	} else {
		for (size_t i = 0; i < sizeof(keyless) / sizeof(*keyless);
		     i++) {
			if (strcasecmp(argv[0], keyless[i]) == 0) {
				return false;
			}
		}
	}
	*key = argv[at];
	*klen = lens != NULL ? lens[at] : strlen(argv[at]);
	return true;
}

/* ---- nodes and the map ---- */

static int
cluster_node(struct redis_cluster *c, const char *host, size_t hlen, int port)
{
	struct cluster_node *n;

	for (int i = 0; i < c->nnodes; i++) {
		if (c->nodes[i].port == port &&
		    strlen(c->nodes[i].host) == hlen &&
		    memcmp(c->nodes[i].host, host, hlen) == 0) {
			return i;
		}
	}
	if (c->nnodes >= CLUSTER_MAX_NODES) {
		return -1;
	}
	c->nodes = agora_realloc(c->nodes,
	                         (size_t)(c->nnodes + 1) * sizeof(*c->nodes));
	n = &c->nodes[c->nnodes];
	memset(n, 0, sizeof(*n));
	n->host = agora_strndup(host, hlen);
	n->port = port;
	return c->nnodes++;
}

/* Node i's connection, dialled now if it has none; NULL with r's errstr
 * set if it cannot be. It speaks as the seed does: same password and
 * time limit. */
static agora_redis *
cluster_handle(agora_redis *r, int i)
{
	struct cluster_node *n = &r->cluster->nodes[i];

	if (n->h == NULL) {
		char *base = agora_sprintf("redis://%s:%d", n->host, n->port);
		char *url = agora_redis_url_auth(base, r->password);
		char err[256];

		if (agora__redis_open_one(&n->h, url, agora__redis_budget_ms(r),
		                          err, sizeof(err)) != AGORA_OK) {
			agora__redis_set_err(r, "cluster node: %s", err);
		} else {
			n->h->kind = REDIS_NODE;
		}
		agora_free(url);
		agora_free(base);
	}
	return n->h;
}

/* One range of CLUSTER SLOTS: [start, end, [host, port, id], replicas...]
 * into the map. */
static void
cluster_map_range(agora_redis *r, const redisReply *x)
{
	struct redis_cluster *c = r->cluster;
	const redisReply *m;
	const char *host;
	size_t hlen;
	int node;

	if (x->type != REDIS_REPLY_ARRAY || x->elements < 3 ||
	    x->element[2]->type != REDIS_REPLY_ARRAY ||
	    x->element[2]->elements < 2) {
		return;
	}
	m = x->element[2];
	host = m->element[0]->str;
	hlen = m->element[0]->len;
	if (host == NULL || hlen == 0) { /* "": the seed's address */
		host = r->host != NULL ? r->host : "127.0.0.1";
		hlen = strlen(host);
	}
	node = cluster_node(c, host, hlen, (int)m->element[1]->integer);
	if (node < 0) {
		return;
	}
	c->nodes[node].master = true;
	for (long long s = x->element[0]->integer;
	     s <= x->element[1]->integer && s < CLUSTER_SLOTS; s++) {
		if (s >= 0) {
			c->owner[s] = (uint16_t)node;
		}
	}
}

/* Read the slot map (CLUSTER SLOTS) from the seed, or from any master
 * when the seed does not answer; at most every CLUSTER_REFRESH_MS unless
 * forced. */
static agora_err
cluster_read_map(agora_redis *r, bool force)
{
	const char *argv[] = { "CLUSTER", "SLOTS" };
	const size_t lens[] = { 7, 5 };
	struct redis_cluster *c = r->cluster;
	int64_t now = agora_now_ms();
	agora_reply *out = NULL;
	const redisReply *rep;
	agora_err rv;

	if (!force && now - c->read_ms < CLUSTER_REFRESH_MS) {
		return AGORA_OK;
	}
	c->read_ms = now;
	rv = agora__redis_cmd_one(r, &out, 2, argv, lens);
	for (int i = 0; i < c->nnodes && rv != AGORA_OK; i++) {
		if (c->nodes[i].h != NULL) {
			rv = agora__redis_cmd_one(c->nodes[i].h, &out, 2, argv,
			                          lens);
		}
	}
	rep = (const redisReply *)out;
	if (rv != AGORA_OK || rep->type != REDIS_REPLY_ARRAY) {
		agora__reply_free(out);
		return rv != AGORA_OK ? rv : AGORA_EREDIS;
	}
	memset(c->owner, 0xff, sizeof(c->owner));
	for (int i = 0; i < c->nnodes; i++) {
		c->nodes[i].master = false;
	}
	for (size_t e = 0; e < rep->elements; e++) {
		cluster_map_range(r, rep->element[e]);
	}
	agora__reply_free(out);
	return AGORA_OK;
}

static void
cluster_pipe_reset(struct redis_cluster *c)
{
	for (size_t i = 0; i < c->pn; i++) {
		for (int k = 0; k < c->pc[i].argc; k++) {
			agora_free(c->pc[i].argv[k]);
		}
		agora_free(c->pc[i].argv);
		agora_free(c->pc[i].lens);
		if (c->saved != NULL) {
			freeReplyObject(c->saved[i]);
		}
	}
	agora_free(c->saved);
	c->saved = NULL;
	c->pn = 0;
	c->pnext = 0;
	c->ph = NULL;
}

static void
cluster_free(agora_redis *r)
{
	struct redis_cluster *c = r->cluster;

	if (c == NULL) {
		return;
	}
	r->kind = REDIS_UNKNOWN;
	cluster_pipe_reset(c);
	agora_free(c->pc);
	for (int i = 0; i < c->nnodes; i++) {
		agora_redis_close(c->nodes[i].h);
		agora_free(c->nodes[i].host);
	}
	agora_free(c->nodes);
	agora_free(c);
	r->cluster = NULL;
}

/* For a handle of kind REDIS_UNKNOWN, ask the server whether it is a
 * cluster node (INFO cluster, one round trip per handle); if so, give r a
 * cluster and read its slot map. An error only when the server could not
 * be asked (the connection, NOAUTH): r stays unknown; a server that
 * refuses INFO is taken for a single Redis. */
static agora_err
cluster_detect(agora_redis *r)
{
	const char *argv[] = { "INFO", "cluster" };
	const size_t lens[] = { 4, 7 };
	agora_reply *out = NULL;
	const char *info;
	agora_err rv;

	if (r->kind != REDIS_UNKNOWN) {
		return AGORA_OK;
	}
	rv = agora__redis_cmd_one(r, &out, 2, argv, lens);
	if (rv != AGORA_OK) {
		/* Refused (an ACL without INFO): a single Redis. */
		bool asked = r->ctx != NULL && r->ctx->err == 0 &&
		             strncmp(r->errstr, "NOAUTH", 6) != 0;
		r->kind = asked ? REDIS_SINGLE : REDIS_UNKNOWN;
		return asked ? AGORA_OK : rv;
	}
	info = agora__reply_str(out, NULL);
	r->kind = REDIS_SINGLE;
	if (info != NULL && strstr(info, "cluster_enabled:1") != NULL) {
		r->cluster = agora_calloc(1, sizeof(*r->cluster));
		memset(r->cluster->owner, 0xff, sizeof(r->cluster->owner));
		r->kind = REDIS_CLUSTER;
		rv = cluster_read_map(r, true);
		if (rv != AGORA_OK) {
			char why[sizeof(r->errstr)];
			memcpy(why, r->errstr, sizeof(why));
			agora__redis_set_err(
			    r, "reading the cluster's slots: %s", why);
			cluster_free(r);
		}
	}
	agora__reply_free(out);
	return rv;
}

bool
agora__redis_is_cluster(agora_redis *r)
{
	(void)cluster_detect(r);
	return r->cluster != NULL;
}

int
agora__redis_masters(agora_redis *r)
{
	int n = 0;

	(void)cluster_detect(r);
	if (r->cluster == NULL) {
		return 1;
	}
	(void)cluster_read_map(r, agora_now_ms() - r->cluster->read_ms > 1000);
	for (int i = 0; i < r->cluster->nnodes; i++) {
		n += r->cluster->nodes[i].master;
	}
	return n;
}

agora_redis *
agora__redis_master(agora_redis *r, int i)
{
	if (r->cluster == NULL) {
		return i == 0 ? r : NULL;
	}
	for (int k = 0; k < r->cluster->nnodes; k++) {
		if (r->cluster->nodes[k].master && i-- == 0) {
			return cluster_handle(r, k);
		}
	}
	agora__redis_set_err(r, "no cluster master %d", i);
	return NULL;
}

/* ---- redirections ---- */

enum cluster_redirect {
	REDIRECT_NONE,
	REDIRECT_MOVED, /* the slot has a new owner: *node */
	REDIRECT_ASK,   /* the key is being migrated to *node */
	REDIRECT_WAIT,  /* TRYAGAIN, CLUSTERDOWN: try again shortly */
};

/* What an error text says to do. "MOVED 3999 127.0.0.1:6381". */
static enum cluster_redirect
cluster_redirect(struct redis_cluster *c, const char *err, int *node)
{
	bool moved = strncmp(err, "MOVED ", 6) == 0;
	const char *addr, *colon;

	if (strncmp(err, "TRYAGAIN", 8) == 0 ||
	    strncmp(err, "CLUSTERDOWN", 11) == 0) {
		return REDIRECT_WAIT;
	}
	if (!moved && strncmp(err, "ASK ", 4) != 0) {
		return REDIRECT_NONE;
	}
	addr = strchr(err, ' ');
	addr = addr != NULL ? strchr(addr + 1, ' ') : NULL; /* after the slot */
	colon = addr != NULL ? strrchr(addr, ':') : NULL;
	if (colon == NULL) {
		return REDIRECT_NONE;
	}
	addr++;
	*node = cluster_node(c, addr, (size_t)(colon - addr),
	                     (int)strtol(colon + 1, NULL, 10));
	if (*node < 0) {
		return REDIRECT_NONE;
	}
	return moved ? REDIRECT_MOVED : REDIRECT_ASK;
}

/* One command or script, as the caller gave it. */
struct cluster_call {
	const agora_script *script; /* NULL: a plain command */
	int nkeys;
	int argc;
	const char *const *argv;
	const size_t *lens;
};

static agora_err
cluster_send(agora_redis *h, const struct cluster_call *k, agora_reply **out,
             bool asking)
{
	static const char *const ask[] = { "ASKING" };
	static const size_t asklen[] = { 6 };
	agora_err rv;

	if (k->script != NULL) {
		return agora__redis_eval_one(h, k->script, out, k->nkeys,
		                             k->argc, k->argv, k->lens);
	}
	if (!asking) {
		return agora__redis_cmd_one(h, out, k->argc, k->argv, k->lens);
	}
	/* ASKING holds for the next command on the same connection. */
	rv = agora__redis_append_one(h, 1, ask, asklen);
	if (rv == AGORA_OK) {
		rv = agora__redis_append_one(h, k->argc, k->argv, k->lens);
		if (rv == AGORA_OK) {
			rv = agora__redis_get_one(h, NULL);
			agora_err r2 = agora__redis_get_one(h, out);
			rv = rv == AGORA_OK ? r2 : rv;
		} else {
			(void)agora__redis_get_one(h, NULL);
		}
	}
	return rv;
}

/* Run k at the master of slot, following MOVED (and ASK for a plain
 * command), for at most the command's time limit. */
static agora_err
cluster_run(agora_redis *r, const struct cluster_call *k, unsigned slot,
            agora_reply **out)
{
	struct redis_cluster *c = r->cluster;
	int64_t until = agora_now_ms() + agora__redis_budget_ms(r);
	int64_t pause = 10;
	int ask = -1, moves = 0;

	for (;;) {
		int node = ask >= 0 ? ask : c->owner[slot];
		enum cluster_redirect what = REDIRECT_WAIT;
		agora_redis *h = NULL;
		agora_err rv = AGORA_EREDIS;

		if (node == CLUSTER_NONE) {
			(void)cluster_read_map(r, false);
			node = c->owner[slot];
			agora__redis_set_err(r, "%s: no node serves slot %u",
			                     r->url_shown, slot);
		}
		if (node != CLUSTER_NONE) {
			h = cluster_handle(r, node);
			if (h == NULL) {
				return AGORA_EREDIS;
			}
			rv = cluster_send(h, k, out, ask >= 0);
			ask = -1;
			if (rv == AGORA_OK) {
				return rv;
			}
			memcpy(r->errstr, h->errstr, sizeof(r->errstr));
			if (rv != AGORA_EREDIS) {
				return rv;
			}
			if (h->ctx == NULL || h->ctx->err != 0) {
				/* A lost node (failed over?): the next command
				 * finds the map as the cluster now says. */
				(void)cluster_read_map(r, false);
				return rv;
			}
			what = cluster_redirect(c, h->errstr, &node);
		}
		switch (what) {
		case REDIRECT_NONE:
			return rv;
		case REDIRECT_MOVED:
			/* The map as the cluster now says, then the word of
			 * the node that knows (the map may lag). */
			(void)cluster_read_map(r, false);
			c->owner[slot] = (uint16_t)node;
			if (++moves <= 3) {
				continue;
			}
			break;
		case REDIRECT_ASK:
			if (k->script == NULL) {
				ask = node;
				continue;
			}
			break;
		case REDIRECT_WAIT:
			break;
		}
		/* Wait for the migration or the cluster. */
		if (agora_now_ms() + pause >= until) {
			return AGORA_EREDIS; /* errstr says what was last */
		}
		agora_sleep_ms(pause);
		pause = pause * 2 > 100 ? 100 : pause * 2;
	}
}

static agora_err
cluster_cmd(agora_redis *r, agora_reply **out, int argc,
            const char *const *argv, const size_t *lens)
{
	struct cluster_call k = { NULL, 0, argc, argv, lens };
	const char *key;
	size_t klen;

	if (!cluster_key(argc, argv, lens, &key, &klen)) {
		return agora__redis_cmd_one(r, out, argc, argv, lens);
	}
	return cluster_run(r, &k, agora__redis_slot(key, klen), out);
}

static agora_err
cluster_eval(agora_redis *r, const agora_script *s, agora_reply **out,
             int nkeys, int argc, const char *const *argv, const size_t *lens)
{
	struct cluster_call k = { s, nkeys, argc, argv, lens };

	if (out != NULL) {
		*out = NULL;
	}
	if (nkeys < 1 || argc < 1) {
		return agora__redis_eval_one(r, s, out, nkeys, argc, argv,
		                             lens);
	}
	return cluster_run(r, &k,
	                   agora__redis_slot(argv[0], lens != NULL
	                                                  ? lens[0]
	                                                  : strlen(argv[0])),
	                   out);
}

/* ---- pipelines ---- */

static agora_err
cluster_append(agora_redis *r, int argc, const char *const *argv,
               const size_t *lens)
{
	struct redis_cluster *c = r->cluster;
	struct cluster_cmd *cmd;
	agora_err rv;

	if (c->pn == 0) {
		const char *key;
		size_t klen;
		unsigned slot;

		/* Keyless (a PING before reading pub/sub): the seed's. */
		if (!cluster_key(argc, argv, lens, &key, &klen)) {
			return agora__redis_append_one(r, argc, argv, lens);
		}
		slot = agora__redis_slot(key, klen);
		if (c->owner[slot] == CLUSTER_NONE) {
			(void)cluster_read_map(r, false);
		}
		if (c->owner[slot] == CLUSTER_NONE) {
			agora__redis_set_err(r, "%s: no node serves slot %u",
			                     r->url_shown, slot);
			return AGORA_EREDIS;
		}
		c->ph = cluster_handle(r, c->owner[slot]);
		if (c->ph == NULL) {
			return AGORA_EREDIS;
		}
	}
	rv = agora__redis_append_one(c->ph, argc, argv, lens);
	if (rv != AGORA_OK) {
		memcpy(r->errstr, c->ph->errstr, sizeof(r->errstr));
		return rv;
	}
	if (c->pn == c->pcap) {
		c->pcap = c->pcap == 0 ? 16 : c->pcap * 2;
		c->pc = agora_realloc(c->pc, c->pcap * sizeof(*c->pc));
	}
	cmd = &c->pc[c->pn++];
	cmd->argc = argc;
	cmd->argv = agora_malloc((size_t)argc * sizeof(char *));
	cmd->lens = agora_malloc((size_t)argc * sizeof(size_t));
	for (int i = 0; i < argc; i++) {
		cmd->lens[i] = lens != NULL ? lens[i] : strlen(argv[i]);
		cmd->argv[i] = agora_malloc(cmd->lens[i] + 1);
		memcpy(cmd->argv[i], argv[i], cmd->lens[i]);
		cmd->argv[i][cmd->lens[i]] = '\0';
	}
	return AGORA_OK;
}

static bool
cluster_is_redirect(const redisReply *rep)
{
	return rep != NULL && rep->type == REDIS_REPLY_ERROR &&
	       (strncmp(rep->str, "MOVED ", 6) == 0 ||
	        strncmp(rep->str, "ASK ", 4) == 0 ||
	        strncmp(rep->str, "TRYAGAIN", 8) == 0 ||
	        strncmp(rep->str, "CLUSTERDOWN", 11) == 0);
}

/* The first redirected reply came: read the rest of the pipeline now, so
 * its node's connection is free for the commands sent again. */
static void
cluster_read_ahead(struct redis_cluster *c, size_t i, redisReply *first)
{
	c->saved = agora_calloc(c->pn, sizeof(redisReply *));
	c->saved[i] = first;
	for (size_t j = i + 1; j < c->pn; j++) {
		if (agora__redis_get_raw(c->ph, &c->saved[j]) != AGORA_OK) {
			break; /* the rest: connection lost */
		}
	}
}

static agora_err
cluster_get(agora_redis *r, agora_reply **out)
{
	struct redis_cluster *c = r->cluster;
	redisReply *rep = NULL;
	agora_err rv = AGORA_OK;
	size_t i;

	if (out != NULL) {
		*out = NULL;
	}
	if (c->pn == 0) {
		return agora__redis_get_one(r, out);
	}
	i = c->pnext++;
	if (c->saved == NULL) {
		rv = agora__redis_get_raw(c->ph, &rep);
		if (rv != AGORA_OK) {
			memcpy(r->errstr, c->ph->errstr, sizeof(r->errstr));
			cluster_pipe_reset(c);
			return rv;
		}
		if (cluster_is_redirect(rep)) {
			cluster_read_ahead(c, i, rep);
		}
	}
	if (c->saved != NULL) {
		rep = c->saved[i];
		c->saved[i] = NULL;
		if (rep == NULL) {
			agora__redis_set_err(r, "%s: connection lost",
			                     r->url_shown);
			rv = AGORA_EREDIS;
		} else if (cluster_is_redirect(rep)) {
			const char *const *argv =
			    (const char *const *)c->pc[i].argv;
			struct cluster_call k = { NULL, 0, c->pc[i].argc, argv,
				                  c->pc[i].lens };
			const char *key = argv[0];
			size_t klen = 0;

			freeReplyObject(rep);
			rep = NULL;
			(void)cluster_key(k.argc, argv, k.lens, &key, &klen);
			rv = cluster_run(r, &k, agora__redis_slot(key, klen),
			                 out);
		}
	}
	if (rep != NULL) {
		rv = agora__redis_take(r, rep, out);
	}
	if (c->pnext >= c->pn) {
		cluster_pipe_reset(c);
	}
	return rv;
}

/* ---- every command enters here ---- */

/* Whether r's commands go through a cluster, asked the first time (one
 * round trip per handle, none per command); an error only when the server
 * could not be asked. */
static agora_err
redis_route(agora_redis *r, bool *routed)
{
	agora_err rv = AGORA_OK;

	if (r->kind == REDIS_UNKNOWN) {
		rv = cluster_detect(r);
	}
	*routed = r->cluster != NULL;
	return rv;
}

agora_err
agora__redis_append(agora_redis *r, int argc, const char *const *argv,
                    const size_t *lens)
{
	bool routed = r->cluster != NULL;
	agora_err rv = r->pending == 0 ? redis_route(r, &routed) : AGORA_OK;

	if (rv != AGORA_OK) {
		return rv;
	}
	if (routed) {
		return cluster_append(r, argc, argv, lens);
	}
	return agora__redis_append_one(r, argc, argv, lens);
}

agora_err
agora__redis_get(agora_redis *r, agora_reply **out)
{
	if (r->cluster != NULL) {
		return cluster_get(r, out);
	}
	return agora__redis_get_one(r, out);
}

agora_err
agora__redis_cmd(agora_redis *r, agora_reply **out, int argc,
                 const char *const *argv, const size_t *lens)
{
	bool routed = false;
	agora_err rv = redis_route(r, &routed);

	if (out != NULL) {
		*out = NULL;
	}
	if (rv != AGORA_OK) {
		return rv;
	}
	if (routed) {
		return cluster_cmd(r, out, argc, argv, lens);
	}
	return agora__redis_cmd_one(r, out, argc, argv, lens);
}

agora_err
agora__redis_cmdv(agora_redis *r, agora_reply **out, ...)
{
	const char *argv[32];
	size_t lens[32];
	int argc = 0;
	const char *s;
	va_list ap;

	va_start(ap, out);
	while ((s = va_arg(ap, const char *)) != NULL && argc < 32) {
		argv[argc] = s;
		lens[argc] = strlen(s);
		argc++;
	}
	va_end(ap);
	return agora__redis_cmd(r, out, argc, argv, lens);
}

agora_err
agora__redis_eval(agora_redis *r, const agora_script *s, agora_reply **out,
                  int nkeys, int argc, const char *const *argv,
                  const size_t *lens)
{
	bool routed = false;
	agora_err rv = redis_route(r, &routed);

	if (out != NULL) {
		*out = NULL;
	}
	if (rv != AGORA_OK) {
		return rv;
	}
	if (routed) {
		return cluster_eval(r, s, out, nkeys, argc, argv, lens);
	}
	return agora__redis_eval_one(r, s, out, nkeys, argc, argv, lens);
}

void
agora_redis_close(agora_redis *r)
{
	if (r != NULL) {
		cluster_free(r);
	}
	agora__redis_close_one(r);
}
