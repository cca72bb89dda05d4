/* SPDX-License-Identifier: MIT */
/* Answers: a frame with {"ok":true,...} and the payload, or {"ok":false,
 * "code":..,"error":..}. An answer that cannot be encoded becomes an
 * error answer, so a request is always answered once. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agora/log.h"
#include "server.h"

void
lace_reply(agora_lace_server *s, agora_request *rq, const char *head_members,
           const agora_lace_payload *p)
{
	struct lace_enc e;
	char head[1024], err[256];
	agora_err rv;

	snprintf(head, sizeof(head), "\"ok\":true%s%s",
	         head_members[0] != '\0' ? "," : "", head_members);
	rv = lace_enc_build(&e, head, p, s->o.compress, err, sizeof(err));
	if (rv == AGORA_OK && lace_enc_len(&e) > s->max_msg) {
		snprintf(err, sizeof(err),
		         "the answer (%zu bytes) is over the "
		         "message limit (%zu)",
		         lace_enc_len(&e), s->max_msg);
		rv = AGORA_ETOOBIG;
	}
	if (rv != AGORA_OK) {
		lace_enc_fini(&e);
		lace_reply_err(s, rq, rv, "%s", err);
		return;
	}
	agora_request_replyv(rq, e.iov, e.niov);
	lace_enc_fini(&e);
}

void
lace_reply_err(agora_lace_server *s, agora_request *rq, agora_err code,
               const char *fmt, ...)
{
	char msg[512];
	agora_buf head;
	struct lace_enc e;
	char err[64];
	va_list ap;

	(void)s;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	agora_buf_init(&head, 0);
	agora_buf_addf(&head, "\"ok\":false,\"code\":\"%s\",\"error\":",
	               agora_errname(code));
	agora_buf_json_str(&head, msg, strlen(msg));
	if (lace_enc_build(&e, head.data, NULL, false, err, sizeof(err)) ==
	    AGORA_OK) {
		agora_request_replyv(rq, e.iov, e.niov);
	} else {
		agora_request_drop(rq);
	}
	lace_enc_fini(&e);
	agora_buf_fini(&head);
}
