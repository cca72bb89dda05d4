/* SPDX-License-Identifier: MIT */
/* Configs and the handshake's comparison (config.h). Keys and request
 * types are sets: their order does not matter, a missing or extra name
 * does, and the error says which name and on which side. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "config.h"

static const char *const kind_names[] = { "action", "inference", "trainer" };

const char *
lace_kind_name(agora_lace_kind k)
{
	return (unsigned)k < 3 ? kind_names[k] : "unknown";
}

bool
lace_strs_has(const struct lace_strs *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->v[i], name) == 0) {
			return true;
		}
	}
	return false;
}

static agora_err
strs_copy(struct lace_strs *dst, const char *const *v, size_t n,
          const char *what, char *err, size_t errlen)
{
	dst->v = agora_calloc(n > 0 ? n : 1, sizeof(char *));
	dst->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (v == NULL || v[i] == NULL || v[i][0] == '\0' ||
		    strlen(v[i]) > 256) {
			snprintf(err, errlen, "%s %zu: empty or over 256 bytes",
			         what, i);
			return AGORA_EINVAL;
		}
		if (lace_strs_has(dst, v[i])) {
			snprintf(err, errlen, "%s \"%s\" given twice", what,
			         v[i]);
			return AGORA_EINVAL;
		}
		dst->v[dst->n++] = agora_strdup(v[i]);
	}
	return AGORA_OK;
}

static void
strs_free(struct lace_strs *s)
{
	for (size_t i = 0; i < s->n; i++) {
		agora_free(s->v[i]);
	}
	agora_free(s->v);
	s->v = NULL;
	s->n = 0;
}

agora_err
lace_cfg_copy(struct lace_cfg *dst, const agora_lace_config *src, char *err,
              size_t errlen)
{
	agora_err rv;

	memset(dst, 0, sizeof(*dst));
	if ((unsigned)src->kind > AGORA_LACE_TRAINER) {
		snprintf(err, errlen, "unknown lace kind %d", (int)src->kind);
		return AGORA_EINVAL;
	}
	dst->kind = src->kind;
	dst->version = agora_strdup(src->version != NULL ? src->version : "");
	rv = strs_copy(&dst->obs_keys, src->obs_keys, src->nobs_keys,
	               "observation key", err, errlen);
	if (rv == AGORA_OK) {
		rv = strs_copy(&dst->act_keys, src->act_keys, src->nact_keys,
		               "action key", err, errlen);
	}
	if (rv == AGORA_OK) {
		rv =
		    strs_copy(&dst->request_types, src->request_types,
		              src->nrequest_types, "request type", err, errlen);
	}
	if (rv != AGORA_OK) {
		lace_cfg_free(dst);
	}
	return rv;
}

void
lace_cfg_free(struct lace_cfg *c)
{
	agora_free(c->version);
	strs_free(&c->obs_keys);
	strs_free(&c->act_keys);
	strs_free(&c->request_types);
	c->version = NULL;
}

static agora_err
strs_json(agora_buf *b, const char *key, const struct lace_strs *s)
{
	agora_err rv = agora_buf_addf(b, ",\"%s\":[", key);

	for (size_t i = 0; i < s->n && rv == AGORA_OK; i++) {
		if (i > 0) {
			rv = agora_buf_adds(b, ",");
		}
		if (rv == AGORA_OK) {
			rv = agora_buf_json_str(b, s->v[i], strlen(s->v[i]));
		}
	}
	return rv == AGORA_OK ? agora_buf_adds(b, "]") : rv;
}

agora_err
lace_cfg_json(const struct lace_cfg *c, agora_buf *out)
{
	agora_err rv =
	    agora_buf_addf(out,
	                   "{\"protocol\":%d,\"kind\":\"%s\","
	                   "\"version\":",
	                   AGORA_LACE_PROTOCOL, lace_kind_name(c->kind));

	if (rv == AGORA_OK) {
		rv = agora_buf_json_str(out, c->version, strlen(c->version));
	}
	if (rv == AGORA_OK) {
		rv = strs_json(out, "obs_keys", &c->obs_keys);
	}
	if (rv == AGORA_OK) {
		rv = strs_json(out, "act_keys", &c->act_keys);
	}
	if (rv == AGORA_OK) {
		rv = strs_json(out, "request_types", &c->request_types);
	}
	return rv == AGORA_OK ? agora_buf_adds(out, "}") : rv;
}

/* Each name on one side and not the other, said as such. */
static bool
strs_same(const struct lace_strs *ours, const agora_json *theirs,
          const char *what, char *err, size_t errlen)
{
	size_t n = agora_json_size(theirs);

	if (agora_json_typeof(theirs) != AGORA_JSON_ARRAY) {
		snprintf(err, errlen, "the client sent no %s list", what);
		return false;
	}
	for (const agora_json *j = agora_json_first(theirs); j != NULL;
	     j = agora_json_next(j)) {
		const char *s = agora_json_str(j);
		if (s == NULL || !lace_strs_has(ours, s)) {
			snprintf(err, errlen,
			         "the client has %s \"%s\" and the server "
			         "does not",
			         what, s != NULL ? s : "(not a string)");
			return false;
		}
	}
	for (size_t i = 0; i < ours->n; i++) {
		bool found = false;
		for (const agora_json *j = agora_json_first(theirs);
		     j != NULL && !found; j = agora_json_next(j)) {
			const char *s = agora_json_str(j);
			found = s != NULL && strcmp(s, ours->v[i]) == 0;
		}
		if (!found) {
			snprintf(err, errlen,
			         "the server has %s \"%s\" and the client "
			         "does not",
			         what, ours->v[i]);
			return false;
		}
	}
	return n == ours->n;
}

bool
lace_cfg_same(const struct lace_cfg *ours, const agora_json *theirs, char *err,
              size_t errlen)
{
	const char *kind = agora_json_str(agora_json_get(theirs, "kind"));
	const char *version = agora_json_str(agora_json_get(theirs, "version"));
	double proto = agora_json_num(agora_json_get(theirs, "protocol"));

	if (proto != AGORA_LACE_PROTOCOL) {
		snprintf(err, errlen,
		         "protocol: the client speaks %g, the server %d", proto,
		         AGORA_LACE_PROTOCOL);
		return false;
	}
	if (kind == NULL || strcmp(kind, lace_kind_name(ours->kind)) != 0) {
		snprintf(err, errlen,
		         "kind: the client is for a%s %s server, this is a%s "
		         "%s server",
		         kind != NULL && kind[0] == 'a' ? "n" : "",
		         kind != NULL ? kind : "(none)",
		         ours->kind == AGORA_LACE_ACTION ||
		                 ours->kind == AGORA_LACE_INFERENCE
		             ? "n"
		             : "",
		         lace_kind_name(ours->kind));
		return false;
	}
	if (version == NULL || strcmp(version, ours->version) != 0) {
		snprintf(err, errlen,
		         "version: the client has \"%.100s\", the server "
		         "\"%.100s\"",
		         version != NULL ? version : "", ours->version);
		return false;
	}
	return strs_same(&ours->obs_keys, agora_json_get(theirs, "obs_keys"),
	                 "observation key", err, errlen) &&
	       strs_same(&ours->act_keys, agora_json_get(theirs, "act_keys"),
	                 "action key", err, errlen) &&
	       strs_same(&ours->request_types,
	                 agora_json_get(theirs, "request_types"),
	                 "request type", err, errlen);
}
