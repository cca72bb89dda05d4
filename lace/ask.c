/* SPDX-License-Identifier: MIT */
/* The one way a client asks its server (client.h): a frame with the op
 * and token out, the answer checked back, an ok:false answer turned into
 * its error code and message, and the client's rate limit. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "client.h"
#include "payload.h"

agora_err
lace_ask(agora_lace_client *c, const char *op, const char *members,
         const agora_lace_payload *p, int64_t timeout_ms,
         agora_lace_msg **reply, char *err, size_t errlen)
{
	struct lace_enc e;
	agora_buf head;
	agora_lace_msg *m;
	agora_err rv;

	*reply = NULL;
	agora_buf_init(&head, 0);
	agora_buf_adds(&head, "\"op\":");
	agora_buf_json_str(&head, op, strlen(op));
	if (c->token != NULL) {
		agora_buf_adds(&head, ",\"token\":");
		agora_buf_json_str(&head, c->token, strlen(c->token));
	}
	if (members[0] != '\0') {
		agora_buf_addf(&head, ",%s", members);
	}
	rv = lace_enc_build(&e, head.data, p, c->o.compress, err, errlen);
	memset(head.data, 0, head.len); /* the token */
	agora_buf_fini(&head);
	if (rv != AGORA_OK) {
		lace_enc_fini(&e);
		return rv;
	}
	m = agora_calloc(1, sizeof(*m));
	agora_buf_init(&m->bytes, c->max_msg);
	rv = agora_link_callv(c->link, e.iov, e.niov, timeout_ms, &m->bytes);
	if (c->token != NULL && e.front.data != NULL) {
		memset(e.front.data, 0, e.front.len); /* the token's copy */
	}
	lace_enc_fini(&e);
	if (rv == AGORA_ETIMEDOUT) {
		snprintf(err, errlen,
		         "%s: no answer to %s within %" PRId64 " ms", c->url,
		         op, timeout_ms);
	} else if (rv == AGORA_ETOOBIG) {
		snprintf(err, errlen,
		         "%s: %s: the request or its answer is "
		         "over the message limit",
		         c->url, op);
	} else if (rv != AGORA_OK) {
		snprintf(err, errlen, "%s: %s: %s", c->url, op,
		         agora_strerror(rv));
	}
	if (rv == AGORA_OK) {
		rv = lace_frame_decode(&m->frame, m->bytes.data, m->bytes.len,
		                       c->max_msg, err, errlen);
	}
	if (rv == AGORA_OK &&
	    !agora_json_bool(agora_json_get(m->frame.head, "ok"))) {
		const char *why = lace_head_str(&m->frame, "error");
		rv = agora_err_parse(lace_head_str(&m->frame, "code"),
		                     AGORA_EPROTO);
		rv = rv == AGORA_OK ? AGORA_EPROTO : rv;
		snprintf(err, errlen, "%s", why != NULL ? why : "failed");
	}
	if (rv != AGORA_OK) {
		agora_lace_msg_free(m);
		return rv;
	}
	*reply = m;
	return AGORA_OK;
}

agora_err
lace_rate_take(agora_lace_client *c, char *err, size_t errlen)
{
	int64_t now = agora_now_ms();
	agora_err rv = AGORA_OK;

	pthread_mutex_lock(&c->lock);
	if (c->o.min_interval_ms > 0 && c->last_request_ms > 0 &&
	    now - c->last_request_ms < c->o.min_interval_ms) {
		snprintf(err, errlen,
		         "rate limit: %" PRId64 " ms since the last request, "
		         "at least %" PRId64 " wanted",
		         now - c->last_request_ms, c->o.min_interval_ms);
		rv = AGORA_EAGAIN;
	} else {
		c->last_request_ms = now;
	}
	pthread_mutex_unlock(&c->lock);
	return rv;
}
