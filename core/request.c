/* SPDX-License-Identifier: MIT */
/* The client side of management: one request of ops to a server (`agora
 * ctl`, tests). */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/json.h"
#include "agora/server.h"
#include "agora/transport.h"

/* The server's request limit, from its alive; a request of len bytes over
 * it is refused here with the numbers. */
static agora_err
request_learn_max(agora_link *l, int64_t timeout_ms, size_t len, char *err,
                  size_t errlen)
{
	static const char alive[] = "{\"v\":1,\"ops\":[{\"op\":\"alive\"}]}";
	agora_json *doc = NULL;
	agora_buf reply;
	int64_t max = 0;
	agora_err rv;

	agora_buf_init(&reply, 1u << 16);
	rv = agora_link_call(l, alive, strlen(alive), timeout_ms, &reply);
	if (rv == AGORA_OK &&
	    agora_json_parse(&doc, reply.data, reply.len, 1u << 16, 8, NULL,
	                     0) == AGORA_OK &&
	    agora_json_int(
	        agora_json_get(agora_json_at(agora_json_get(doc, "results"), 0),
	                       "max_request"),
	        1, INT64_MAX, &max)) {
		agora_link_set_max(l, (size_t)max);
	}
	if (rv == AGORA_OK && max > 0 && len > (size_t)max) {
		snprintf(
		    err, errlen,
		    "%s: the request is %zu bytes, over the server's limit "
		    "of %lld (its --max-request)",
		    agora_link_url(l), len, (long long)max);
		rv = AGORA_ETOOBIG;
	}
	agora_json_free(doc);
	agora_buf_fini(&reply);
	return rv;
}

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
	err[0] = '\0';
	agora_buf_init(&req, AGORA_TP_MAX_MSG);
	(void)agora_buf_addf(&req, "{\"v\":%d,", AGORA_PROTOCOL_VERSION);
	if (token != NULL) {
		(void)agora_buf_adds(&req, "\"token\":");
		(void)agora_buf_json_str(&req, token, strlen(token));
		(void)agora_buf_adds(&req, ",");
	}
	rv = agora_buf_addf(&req, "\"ops\":%s}", ops);
	if (rv == AGORA_OK && req.len > AGORA_SERVER_REQUEST_MAX) {
		/* Over a server's default limit: ask it its own first (a
		 * server drops the connection over a request too big, and
		 * the request would be sent again until the deadline). */
		rv = request_learn_max(l, timeout_ms, req.len, err, errlen);
	}
	if (rv == AGORA_OK) {
		rv = agora_link_call(l, req.data, req.len, timeout_ms, reply);
	}
	if (rv == AGORA_ETOOBIG && err[0] == '\0') {
		snprintf(err, errlen, "%s: a request over its limit", url);
	} else if (rv == AGORA_ETOOBIG) {
		/* err says it */
	} else if (rv == AGORA_ETIMEDOUT) {
		snprintf(err, errlen, "%s: no answer within %lld ms", url,
		         (long long)timeout_ms);
	} else if (rv != AGORA_OK) {
		snprintf(err, errlen, "%s: %s", url, agora_strerror(rv));
	}
	agora_buf_fini(&req);
	agora_link_close(l);
	return rv;
}
