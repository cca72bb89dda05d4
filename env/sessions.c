/* SPDX-License-Identifier: MIT */
/* The sessions of a Redis: every session S has the id counter
 * agora:{S}:seq once anything was stored or registered, so listing
 * sessions is a SCAN for those keys (SCAN, not KEYS: a big Redis is not
 * blocked while it answers). For UIs (agora studio); no session is
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

agora_err
agora_env_sessions(agora_redis *r, agora_strv *out)
{
	char cursor[32] = "0";
	agora_reply *rep = NULL;
	agora_err rv;
	size_t i;

	agora_strv_clear(out);
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
	/* SCAN may return a key twice: sort, then drop repeats. */
	qsort(out->v, out->n, sizeof(*out->v), sessions_cmp);
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
