/* SPDX-License-Identifier: MIT */
/* Messages: construction, validation and the JSON codec. Encoding writes
 * JSON by hand; decoding goes through the capped parser of json.c. Unknown
 * keys are ignored on decode, so newer peers can add fields. */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/json.h"
#include "agora/msg.h"

void
agora_strv_push(agora_strv *sv, const char *s)
{
	/* Grow by doubling; sv->n is the count, capacity follows powers of 2.
	 */
	if ((sv->n & (sv->n - 1)) == 0) {
		size_t cap = sv->n == 0 ? 4 : sv->n * 2;
		if (cap < 4) {
			cap = 4;
		}
		sv->v = agora_realloc(sv->v, cap * sizeof(char *));
	}
	sv->v[sv->n++] = agora_strdup(s);
}

bool
agora_strv_has(const agora_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++) {
		if (strcmp(sv->v[i], s) == 0) {
			return true;
		}
	}
	return false;
}

void
agora_strv_clear(agora_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++) {
		agora_free(sv->v[i]);
	}
	agora_free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

void
agora_strv_split(agora_strv *sv, const char *csv)
{
	const char *p = csv;

	while (p != NULL && *p != '\0') {
		const char *comma = strchr(p, ',');
		const char *end = comma != NULL ? comma : p + strlen(p);
		const char *s = p;

		while (s < end && (*s == ' ' || *s == '\t')) {
			s++;
		}
		while (end > s && (end[-1] == ' ' || end[-1] == '\t')) {
			end--;
		}
		if (end > s) {
			char *item = agora_strndup(s, (size_t)(end - s));
			agora_strv_push(sv, item);
			agora_free(item);
		}
		p = comma != NULL ? comma + 1 : NULL;
	}
}

agora_msg *
agora_msg_new(const char *from, const char *to, const char *content)
{
	agora_msg *m = agora_calloc(1, sizeof(*m));

	m->sent_from =
	    agora_strdup(from != NULL ? from : AGORA_USER_REQUIREMENT);
	agora_strv_split(&m->send_to, to != NULL ? to : AGORA_ALL);
	if (m->send_to.n == 0) {
		agora_strv_push(&m->send_to, AGORA_ALL);
	}
	m->content = agora_strdup(content != NULL ? content : "");
	m->role = AGORA_ROLE_USER;
	return m;
}

agora_msg *
agora_msg_dup(const agora_msg *m)
{
	agora_msg *d = agora_calloc(1, sizeof(*d));

	*d = *m;
	d->sent_from = agora_strdup(m->sent_from);
	d->content = agora_strdup(m->content);
	d->meta = m->meta != NULL ? agora_strdup(m->meta) : NULL;
	d->send_to.v = NULL;
	d->send_to.n = 0;
	d->refs = 0;
	for (size_t i = 0; i < m->send_to.n; i++) {
		agora_strv_push(&d->send_to, m->send_to.v[i]);
	}
	return d;
}

agora_msg *
agora_msg_ref(agora_msg *m)
{
	__atomic_fetch_add(&m->refs, 1, __ATOMIC_RELAXED);
	return m;
}

void
agora_msg_free(agora_msg *m)
{
	if (m == NULL) {
		return;
	}
	/* refs counts the other holders: while there are any, this free
	 * only drops one. */
	if (__atomic_fetch_sub(&m->refs, 1, __ATOMIC_ACQ_REL) != 0) {
		return;
	}
	agora_free(m->sent_from);
	agora_free(m->content);
	agora_free(m->meta);
	agora_strv_clear(&m->send_to);
	agora_free(m);
}

const char *
agora_msg_role_name(agora_msg_role r)
{
	switch (r) {
	case AGORA_ROLE_USER:
		return "user";
	case AGORA_ROLE_ASSISTANT:
		return "assistant";
	case AGORA_ROLE_SYSTEM:
		return "system";
	}
	return "user";
}

bool
agora_role_valid(const char *name)
{
	size_t n;

	if (name == NULL) {
		return false;
	}
	n = strlen(name);
	if (n == 0 || n > AGORA_ROLE_MAX || !agora_utf8_valid(name, n)) {
		return false;
	}
	if (strcmp(name, AGORA_ALL) == 0 ||
	    strcmp(name, AGORA_USER_REQUIREMENT) == 0) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= 0x20 || c == 0x7f || strchr("<>:,\"'\\/", c) != NULL) {
			return false;
		}
	}
	return true;
}

static bool
msg_sender_valid(const char *s)
{
	return s != NULL &&
	       (strcmp(s, AGORA_USER_REQUIREMENT) == 0 || agora_role_valid(s));
}

agora_err
agora_msg_validate(const agora_msg *m, char *err, size_t errlen)
{
	if (!msg_sender_valid(m->sent_from)) {
		snprintf(err, errlen, "invalid sender '%.80s'",
		         m->sent_from != NULL ? m->sent_from : "(none)");
		return AGORA_EINVAL;
	}
	if (m->send_to.n == 0 || m->send_to.n > AGORA_MSG_MAX_TO) {
		snprintf(err, errlen, "send_to must name 1 to %d roles",
		         AGORA_MSG_MAX_TO);
		return AGORA_EINVAL;
	}
	for (size_t i = 0; i < m->send_to.n; i++) {
		const char *r = m->send_to.v[i];
		if (strcmp(r, AGORA_ALL) != 0 && !agora_role_valid(r)) {
			snprintf(err, errlen, "invalid recipient '%.80s'", r);
			return AGORA_EINVAL;
		}
	}
	if (m->content == NULL ||
	    !agora_utf8_valid(m->content, strlen(m->content))) {
		snprintf(err, errlen, "content is not valid UTF-8");
		return AGORA_EINVAL;
	}
	if (strlen(m->content) > AGORA_MSG_MAX_BYTES / 2) {
		snprintf(err, errlen, "content over %u bytes",
		         AGORA_MSG_MAX_BYTES / 2);
		return AGORA_ETOOBIG;
	}
	if (m->meta != NULL) {
		agora_json *doc = NULL;
		char why[128];
		agora_err rv = agora_json_parse(&doc, m->meta, strlen(m->meta),
		                                AGORA_MSG_MAX_BYTES / 4, 16,
		                                why, sizeof(why));
		bool ok = rv == AGORA_OK &&
		          agora_json_typeof(doc) == AGORA_JSON_OBJECT;
		agora_json_free(doc);
		if (!ok) {
			snprintf(err, errlen, "meta is not a JSON object (%s)",
			         rv == AGORA_OK ? "wrong type" : why);
			return AGORA_EINVAL;
		}
	}
	return AGORA_OK;
}

agora_err
agora_msg_encode(const agora_msg *m, bool with_id, agora_buf *b)
{
	size_t start = b->len;
	agora_err rv;

	rv = agora_buf_add(b, "{", 1);
	if (with_id && rv == AGORA_OK) {
		rv =
		    agora_buf_addf(b, "\"id\":%llu", (unsigned long long)m->id);
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_json_key(b, "sent_from");
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_json_str(b, m->sent_from, strlen(m->sent_from));
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_json_key(b, "send_to");
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_add(b, "[", 1);
	}
	for (size_t i = 0; i < m->send_to.n && rv == AGORA_OK; i++) {
		if (i > 0) {
			rv = agora_buf_add(b, ",", 1);
		}
		if (rv == AGORA_OK) {
			rv = agora_buf_json_str(b, m->send_to.v[i],
			                        strlen(m->send_to.v[i]));
		}
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_addf(b, "],\"role\":\"%s\",\"content\":",
		                    agora_msg_role_name(m->role));
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_json_str(b, m->content, strlen(m->content));
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_addf(b, ",\"round\":%u,\"ts_ms\":%lld",
		                    (unsigned)m->round, (long long)m->ts_ms);
	}
	if (rv == AGORA_OK && m->meta != NULL) {
		rv = agora_buf_addf(b, ",\"meta\":%s", m->meta);
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_add(b, "}", 1);
	}
	if (rv != AGORA_OK) {
		b->len = start;
		if (b->data != NULL) {
			b->data[start] = '\0';
		}
	}
	return rv;
}

static agora_err
msg_decode_send_to(agora_msg *m, const agora_json *to, char *err, size_t errlen)
{
	if (agora_json_typeof(to) == AGORA_JSON_STRING) {
		agora_strv_push(&m->send_to, agora_json_str(to));
		return AGORA_OK;
	}
	if (agora_json_typeof(to) != AGORA_JSON_ARRAY) {
		snprintf(err, errlen, "'send_to' is missing or not a list");
		return AGORA_EPROTO;
	}
	for (size_t i = 0; i < agora_json_size(to); i++) {
		const char *r = agora_json_str(agora_json_at(to, i));
		if (r == NULL) {
			snprintf(err, errlen, "send_to[%zu] is not a string",
			         i);
			return AGORA_EPROTO;
		}
		agora_strv_push(&m->send_to, r);
	}
	return AGORA_OK;
}

static agora_err
msg_decode_role(agora_msg *m, const agora_json *role, char *err, size_t errlen)
{
	const char *r = agora_json_str(role);

	if (role == NULL || (r != NULL && strcmp(r, "user") == 0)) {
		m->role = AGORA_ROLE_USER;
	} else if (r != NULL && strcmp(r, "assistant") == 0) {
		m->role = AGORA_ROLE_ASSISTANT;
	} else if (r != NULL && strcmp(r, "system") == 0) {
		m->role = AGORA_ROLE_SYSTEM;
	} else {
		snprintf(err, errlen,
		         "'role' must be user, assistant or system");
		return AGORA_EPROTO;
	}
	return AGORA_OK;
}

/* The optional fields: id, round, ts_ms, meta. */
static agora_err
msg_decode_extras(agora_msg *m, const agora_json *doc, char *err, size_t errlen)
{
	const agora_json *id = agora_json_get(doc, "id");
	const agora_json *meta = agora_json_get(doc, "meta");
	int64_t v;

	if (id != NULL) {
		if (!agora_json_int(id, 0, (int64_t)1 << 53, &v)) {
			snprintf(err, errlen, "'id' is not a whole number");
			return AGORA_EPROTO;
		}
		m->id = (uint64_t)v;
	}
	if (agora_json_int(agora_json_get(doc, "round"), 0, UINT32_MAX, &v)) {
		m->round = (uint32_t)v;
	}
	if (agora_json_int(agora_json_get(doc, "ts_ms"), 0, INT64_MAX / 2,
	                   &v)) {
		m->ts_ms = v;
	}
	if (agora_json_typeof(meta) == AGORA_JSON_OBJECT) {
		agora_buf b;
		agora_buf_init(&b, AGORA_MSG_MAX_BYTES);
		if (agora_json_print(meta, &b) == AGORA_OK) {
			m->meta = agora_buf_steal(&b);
		}
		agora_buf_fini(&b);
	} else if (meta != NULL && agora_json_typeof(meta) != AGORA_JSON_NULL) {
		snprintf(err, errlen, "'meta' is not an object");
		return AGORA_EPROTO;
	}
	return AGORA_OK;
}

static agora_err
msg_decode_fields(agora_msg *m, const agora_json *doc, char *err, size_t errlen)
{
	const char *from = agora_json_str(agora_json_get(doc, "sent_from"));
	const char *content = agora_json_str(agora_json_get(doc, "content"));
	agora_err rv;

	if (from == NULL || content == NULL) {
		snprintf(err, errlen, "'%s' is missing or not a string",
		         from == NULL ? "sent_from" : "content");
		return AGORA_EPROTO;
	}
	m->sent_from = agora_strdup(from);
	m->content = agora_strdup(content);
	rv = msg_decode_send_to(m, agora_json_get(doc, "send_to"), err, errlen);
	if (rv == AGORA_OK) {
		rv = msg_decode_role(m, agora_json_get(doc, "role"), err,
		                     errlen);
	}
	if (rv == AGORA_OK) {
		rv = msg_decode_extras(m, doc, err, errlen);
	}
	return rv;
}

agora_err
agora_msg_decode(agora_msg **mp, const char *text, size_t len, char *err,
                 size_t errlen)
{
	agora_json *doc = NULL;
	agora_msg *m;
	char why[160];
	agora_err rv;

	*mp = NULL;
	rv = agora_json_parse(&doc, text, len, AGORA_MSG_MAX_BYTES, 16, why,
	                      sizeof(why));
	if (rv != AGORA_OK) {
		snprintf(err, errlen, "message: %s", why);
		return rv;
	}
	if (agora_json_typeof(doc) != AGORA_JSON_OBJECT) {
		snprintf(err, errlen, "message: not a JSON object");
		agora_json_free(doc);
		return AGORA_EPROTO;
	}
	m = agora_calloc(1, sizeof(*m));
	rv = msg_decode_fields(m, doc, why, sizeof(why));
	agora_json_free(doc);
	if (rv != AGORA_OK) {
		snprintf(err, errlen, "message: %s", why);
		agora_msg_free(m);
		return rv;
	}
	*mp = m;
	return AGORA_OK;
}

void
agora_msgs_push(agora_msgs *ms, agora_msg *m)
{
	if ((ms->n & (ms->n - 1)) == 0) {
		size_t cap = ms->n == 0 ? 4 : ms->n * 2;
		if (cap < 4) {
			cap = 4;
		}
		ms->v = agora_realloc(ms->v, cap * sizeof(agora_msg *));
	}
	ms->v[ms->n++] = m;
}

void
agora_msgs_clear(agora_msgs *ms)
{
	for (size_t i = 0; i < ms->n; i++) {
		agora_msg_free(ms->v[i]);
	}
	agora_free(ms->v);
	ms->v = NULL;
	ms->n = 0;
}
