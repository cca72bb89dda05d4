/* SPDX-License-Identifier: MIT */
/* The client side of management: one request of ops to a server (`agora
 * ctl`, tests). */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/server.h"
#include "agora/transport.h"

agora_err
agora_server_request(const char *url, const char *token, const char *ops,
                     int64_t timeout_ms, agora_buf *reply, char *err,
                     size_t errlen)
{
	agora_link *l = NULL;
	agora_buf req;
	agora_err rv = agora_link_open_now(&l, url, 0, err, errlen);

	if (rv != AGORA_OK) {
		return rv;
	}
	agora_buf_init(&req, AGORA_TP_MAX_MSG);
	(void)agora_buf_addf(&req, "{\"v\":%d,", AGORA_PROTOCOL_VERSION);
	if (token != NULL) {
		(void)agora_buf_adds(&req, "\"token\":");
		(void)agora_buf_json_str(&req, token, strlen(token));
		(void)agora_buf_adds(&req, ",");
	}
	rv = agora_buf_addf(&req, "\"ops\":%s}", ops);
	if (rv == AGORA_OK) {
		rv = agora_link_call(l, req.data, req.len, timeout_ms, reply);
	}
	if (rv == AGORA_ETIMEDOUT) {
		snprintf(err, errlen, "%s: no answer within %lld ms", url,
		         (long long)timeout_ms);
	} else if (rv != AGORA_OK) {
		snprintf(err, errlen, "%s: %s", url, agora_strerror(rv));
	}
	agora_buf_fini(&req);
	agora_link_close(l);
	return rv;
}
