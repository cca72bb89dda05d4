/* SPDX-License-Identifier: MIT */
/* Direct calls and futures (the seeds' placeholders). Calling an agent on
 * an agent server returns a future at once; reading it waits, with a
 * deadline. A future can be the input of another call: that agent's
 * server fetches the value straight from the producing server. Any number
 * of holders may read one future, in this process (the same object) or
 * elsewhere (agora_future_open on its id). Calls to one server made while
 * earlier ones are in flight go out together in one request. */
#ifndef AGORA_FUTURE_H
#define AGORA_FUTURE_H

#include <stdint.h>

#include "agora/err.h"
#include "agora/taskcenter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agora_future agora_future;

/* Call role (an agent on a server) with content as its input; it reads
 * it as a message from "user" and replies to no one. Not a step: its
 * inbox is not touched. A kind that reads memory remembers the call. */
AGORA_API agora_err agora_center_call(agora_center *c, const char *role,
                                      const char *content, agora_future **fp);
/* The same with another call's result as the input. */
AGORA_API agora_err agora_center_call_future(agora_center *c, const char *role,
                                             agora_future *input,
                                             agora_future **fp);
/* Wait up to timeout_ms for the result: AGORA_OK and *content (lent until
 * the future is freed), AGORA_ETIMEDOUT (ask again later), or the call's
 * failure (detail in agora_future_errstr). */
AGORA_API agora_err agora_future_wait(agora_future *f, int64_t timeout_ms,
                                      const char **content);
/* "<task>@<server address>": what another process needs to read it. */
AGORA_API const char *agora_future_id(const agora_future *f);
AGORA_API const char *agora_future_errstr(const agora_future *f);
/* Another holder of a future, from its id (token: the server's, or
 * NULL). */
AGORA_API agora_err agora_future_open(const char *id, const char *token,
                                      agora_future **fp);
AGORA_API void agora_future_free(agora_future *f);

#ifdef __cplusplus
}
#endif
#endif
