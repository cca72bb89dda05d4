/* SPDX-License-Identifier: MIT */
/* The sessions of a Redis: every session S has the id counter
 * agora:{S}:seq once anything was stored or registered, so listing
 * sessions is a SCAN for those keys (SCAN, not KEYS: a big Redis is not
 * blocked while it answers), on every master of a Redis Cluster (each
 * holds the sessions of its slots). For UIs (agora studio); no session is
 * opened. */
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/env.h"
#include "redis_cmd.h"

#define SESSIONS_SCAN_MAX 100000 /* sessions listed at most */

static int
sessions_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "agora:{S}:seq" -> S, pushed if it is one. */
static void
sessions_push(agora_strv *out, const char *key, size_t len)
{
	const char pre[] = "agora:{";
	const char post[] = "}:seq";
	size_t np = sizeof(pre) - 1;
	size_t nq = sizeof(post) - 1;
	char *s;

	if (len <= np + nq || memcmp(key, pre, np) != 0 ||
	    memcmp(key + len - nq, post, nq) != 0) {
		return;
	}
	s = agora_malloc(len - np - nq + 1);
	memcpy(s, key + np, len - np - nq);
	s[len - np - nq] = '\0';
	agora_strv_push(out, s);
	agora_free(s);
}

/* Add the sessions of one node to out. */
static agora_err
sessions_scan(agora_redis *r, agora_strv *out)
{
	char cursor[32] = "0";
	agora_reply *rep = NULL;
	agora_err rv;
	size_t i;

	do {
		const agora_reply *keys;
		const char *c;
		size_t clen;

		rv = agora__redis_cmdv(r, &rep, "SCAN", cursor, "MATCH",
		                       "agora:{*}:seq", "COUNT", "1000", NULL);
		if (rv != AGORA_OK) {
			return rv;
		}
		if (agora__reply_type(rep) != AGORA_REPLY_ARRAY ||
		    agora__reply_len(rep) != 2) {
			agora__reply_free(rep);
			return AGORA_EREDIS;
		}
		c = agora__reply_str(agora__reply_at(rep, 0), &clen);
		if (c == NULL || clen >= sizeof(cursor)) {
			agora__reply_free(rep);
			return AGORA_EREDIS;
		}
		memcpy(cursor, c, clen);
		cursor[clen] = '\0';
		keys = agora__reply_at(rep, 1);
		for (i = 0;
		     i < agora__reply_len(keys) && out->n < SESSIONS_SCAN_MAX;
		     i++) {
			size_t klen;
			const char *k =
			    agora__reply_str(agora__reply_at(keys, i), &klen);

			if (k != NULL) {
				sessions_push(out, k, klen);
			}
		}
		agora__reply_free(rep);
	} while (strcmp(cursor, "0") != 0 && out->n < SESSIONS_SCAN_MAX);
	return AGORA_OK;
}

agora_err
agora_env_sessions(agora_redis *r, agora_strv *out)
{
	int nodes = agora__redis_masters(r);
	size_t i;

	agora_strv_clear(out);
	for (int k = 0; k < nodes; k++) {
		agora_redis *node = agora__redis_master(r, k);
		agora_err rv =
		    node != NULL ? sessions_scan(node, out) : AGORA_EREDIS;

		if (rv != AGORA_OK) {
			if (node != NULL && node != r) {
				agora__redis_set_err(r, "%s",
				                     agora_redis_errstr(node));
			}
			return rv;
		}
	}
	/* SCAN may return a key twice: sort, then drop repeats. */
	if (out->n > 1) { /* qsort wants a non-NULL base, even for none */
		qsort(out->v, out->n, sizeof(*out->v), sessions_cmp);
	}
	for (i = 1; i < out->n;) {
		if (strcmp(out->v[i], out->v[i - 1]) == 0) {
			agora_free(out->v[i]);
			memmove(&out->v[i], &out->v[i + 1],
			        (out->n - i - 1) * sizeof(*out->v));
			out->n--;
		} else {
			i++;
		}
	}
	return AGORA_OK;
}

/* An integer reply (LLEN), or 0. */
static uint64_t
sessions_int(const agora_reply *rep)
{
	if (rep == NULL || agora__reply_type(rep) != AGORA_REPLY_INTEGER ||
	    agora__reply_int(rep) < 0) {
		return 0;
	}
	return (uint64_t)agora__reply_int(rep);
}

agora_err
agora_env_session_info_get(agora_redis *r, const char *session,
                           agora_env_session_info *out)
{
	char *hist = agora_sprintf("agora:{%s}:history", session);
	char *roles = agora_sprintf("agora:{%s}:roles", session);
	char *msg = agora_sprintf("agora:{%s}:msg", session);
	const char *a1[] = { "LLEN", hist };
	const char *a2[] = { "LLEN", roles };
	const char *a3[] = { "LINDEX", hist, "-1" };
	agora_reply *rep[3] = { NULL, NULL, NULL };
	agora_reply *body = NULL;
	agora_err first_err = AGORA_OK;
	agora_err rv;
	size_t i;

	memset(out, 0, sizeof(*out));
	rv = agora__redis_append(r, 2, a1, NULL);
	if (rv == AGORA_OK) {
		rv = agora__redis_append(r, 2, a2, NULL);
	}
	if (rv == AGORA_OK) {
		rv = agora__redis_append(r, 3, a3, NULL);
	}
	/* Every reply is read, so none is left for the next command (after
	 * a broken connection the rest fail at once: nothing is pending). */
	for (i = 0; i < 3; i++) {
		agora_err e = agora__redis_get(r, &rep[i]);

		first_err = first_err == AGORA_OK ? e : first_err;
	}
	rv = rv == AGORA_OK ? first_err : rv;
	if (rv == AGORA_OK) {
		out->messages = sessions_int(rep[0]);
		out->roles = (size_t)sessions_int(rep[1]);
	}
	if (rv == AGORA_OK && agora__reply_type(rep[2]) == AGORA_REPLY_STRING) {
		size_t len;
		const char *id = agora__reply_str(rep[2], &len);
		char idz[32];

		if (len < sizeof(idz)) {
			memcpy(idz, id, len);
			idz[len] = '\0';
			rv =
			    agora__redis_cmdv(r, &body, "HGET", msg, idz, NULL);
		}
	}
	if (rv == AGORA_OK && body != NULL &&
	    agora__reply_type(body) == AGORA_REPLY_STRING) {
		size_t len;
		const char *text = agora__reply_str(body, &len);
		agora_msg *m = NULL;
		char err[64];

		if (agora_msg_decode(&m, text, len, err, sizeof(err)) ==
		    AGORA_OK) {
			out->last_ms = m->ts_ms;
		}
		agora_msg_free(m);
	}
	agora__reply_free(body);
	for (i = 0; i < 3; i++) {
		agora__reply_free(rep[i]);
	}
	agora_free(hist);
	agora_free(roles);
	agora_free(msg);
	return rv;
}
