/* SPDX-License-Identifier: MIT */
/* Replies of the Environment's scripts and commands, decoded into
 * messages and strings (env_decode.h). Pure: a reply in, structs out; the
 * only side effect is a log line for a body that is not a message. Every
 * reply is taken as untrusted, since a broken Redis or a proxy may send
 * any shape: items are looked up through agora__reply_at, which answers
 * NULL out of range, and strings are used with their lengths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/log.h"
#include "env_decode.h"

void
env_decode_strings(const agora_reply *rep, agora_strv *out)
{
	for (size_t i = 0; i < agora__reply_len(rep); i++) {
		size_t len;
		const char *s = agora__reply_str(agora__reply_at(rep, i), &len);
		if (s != NULL) {
			char *copy = agora_strndup(s, len);
			agora_strv_push(out, copy);
			agora_free(copy);
		}
	}
}

void
env_decode_ids(const agora_reply *rep, agora_msg *const *msgs, size_t n)
{
	if (agora__reply_len(rep) != n) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		msgs[i]->id =
		    (uint64_t)agora__reply_int(agora__reply_at(rep, i));
	}
}

/* Decode a body from Redis; a body we cannot read is logged and skipped,
 * never fatal (only our own encoder writes these keys). */
static void
decode_into(const char *session, const char *s, size_t len, agora_msgs *out)
{
	agora_msg *m = NULL;
	char why[160];

	if (agora_msg_decode(&m, s, len, why, sizeof(why)) != AGORA_OK) {
		agora_log(AGORA_LOG_WARN, "env", "session %s: skipping %s",
		          session, why);
		return;
	}
	agora_msgs_push(out, m);
}

/* A drained body, decoded once however many roles it went to, and shared
 * by them (one copy more, flagged, for the roles it was redelivered to). */
struct drained {
	const char *id;
	size_t idlen;
	agora_msg *m;
	agora_msg *again; /* m with redelivered set, made when needed */
};

static int
drained_cmp(const void *a, const void *b)
{
	const struct drained *x = a, *y = b;
	size_t n = x->idlen < y->idlen ? x->idlen : y->idlen;
	int c = memcmp(x->id, y->id, n);

	return c != 0 ? c : (x->idlen < y->idlen ? -1 : x->idlen > y->idlen);
}

/* Decode the distinct bodies (the reply's last list), sorted by id. */
static struct drained *
drain_bodies(const char *session, const agora_reply *list, size_t *nout)
{
	size_t n = agora__reply_len(list) / 2, m = 0;
	struct drained *v = agora_calloc(n + 1, sizeof(*v));

	for (size_t k = 0; k < n; k++) {
		size_t blen;
		const char *body =
		    agora__reply_str(agora__reply_at(list, 2 * k + 1), &blen);
		agora_msgs one = { 0 };
		v[m].id =
		    agora__reply_str(agora__reply_at(list, 2 * k), &v[m].idlen);
		if (v[m].id == NULL || body == NULL) {
			continue;
		}
		decode_into(session, body, blen, &one);
		if (one.n == 1) {
			v[m++].m = one.v[0];
		}
		agora_free(one.v);
	}
	qsort(v, m, sizeof(*v), drained_cmp);
	*nout = m;
	return v;
}

static void
drain_role(const agora_reply *list, struct drained *bodies, size_t nb,
           agora_msgs *out)
{
	for (size_t k = 0; k + 1 < agora__reply_len(list); k += 2) {
		size_t flen;
		const char *flag =
		    agora__reply_str(agora__reply_at(list, k), &flen);
		struct drained key = { 0 };
		struct drained *hit;

		key.id =
		    agora__reply_str(agora__reply_at(list, k + 1), &key.idlen);
		hit = key.id != NULL
		          ? bsearch(&key, bodies, nb, sizeof(key), drained_cmp)
		          : NULL;
		if (hit == NULL) {
			continue; /* its body is gone */
		}
		if (flag != NULL && flag[0] == 'r') {
			if (hit->again == NULL) {
				hit->again = agora_msg_dup(hit->m);
				hit->again->redelivered = true;
			}
			agora_msgs_push(out, agora_msg_ref(hit->again));
		} else {
			agora_msgs_push(out, agora_msg_ref(hit->m));
		}
	}
}

agora_err
env_decode_drain(const agora_reply *rep, size_t n, agora_msgs *outs,
                 size_t *done, const char *session, char *err, size_t errlen)
{
	size_t k = agora__reply_len(rep), nb = 0;
	struct drained *bodies;

	*done = 0;
	if (k < 2 || k > n + 1) {
		snprintf(err, errlen, "drain: a reply of %zu lists", k);
		return AGORA_EREDIS;
	}
	k--;
	bodies = drain_bodies(session, agora__reply_at(rep, k), &nb);
	for (size_t i = 0; i < k; i++) {
		drain_role(agora__reply_at(rep, i), bodies, nb, &outs[i]);
	}
	for (size_t b = 0; b < nb; b++) {
		agora_msg_free(bodies[b].m);
		agora_msg_free(bodies[b].again);
	}
	agora_free(bodies);
	*done = k;
	return AGORA_OK;
}

void
env_decode_bodies(const agora_reply *rep, size_t n, agora_msgs *outs,
                  const char *session)
{
	for (size_t i = 0; i < n; i++) {
		const agora_reply *list = agora__reply_at(rep, i);
		for (size_t k = 0; k < agora__reply_len(list); k++) {
			size_t len;
			const char *s =
			    agora__reply_str(agora__reply_at(list, k), &len);
			if (s != NULL) {
				decode_into(session, s, len, &outs[i]);
			}
		}
	}
}
