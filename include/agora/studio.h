/* SPDX-License-Identifier: MIT */
/* agora studio: a web page and its JSON API served by this process: the
 * chat room (a scenario run in chatbot mode, its frames streamed to the
 * page over Server-Sent Events, the person's words taken from the page),
 * the sessions of a Redis and a Server Manager. Loopback unless a token
 * guards it. See docs/studio.md. */
#ifndef AGORA_STUDIO_H
#define AGORA_STUDIO_H

#include <stdbool.h>
#include <stddef.h>

#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agora_studio agora_studio;

typedef struct agora_studio_opts {
	const char *host;      /* NULL: 127.0.0.1 */
	int port;              /* 0: any free port */
	const char *redis_url; /* required: the Redis of runs and sessions */
	const char *scenarios; /* the directory of *.json scenario files */
	/* Required for a host that is not loopback (then a remote page must
	 * present it), and sent to agent servers that need one. NULL: none. */
	const char *token;
	/* How long a finished run keeps its events for a stream opened
	 * later, in ms; then only its `done` is kept. 0: 60 s. */
	int run_keep_ms;
} agora_studio_opts;

/* Start serving. A non-loopback host without a token is AGORA_EINVAL
 * (err says why); so are a missing redis_url or scenarios directory.
 * Nothing is left listening on error. */
AGORA_API agora_err agora_studio_open(agora_studio **sp,
                                      const agora_studio_opts *o, char *err,
                                      size_t errlen);
/* The bound port. */
AGORA_API int agora_studio_port(const agora_studio *s);
/* The access token every /api/ request must carry (X-Agora-Token, or ?t=):
 * the operator's (opts token) or one made at random at start, which the
 * URL to open carries as #token=... */
AGORA_API const char *agora_studio_page_token(const agora_studio *s);
/* Stop every run (their messages go back), end every stream, stop
 * serving. NULL is a no-op. */
AGORA_API void agora_studio_close(agora_studio *s);

#ifdef __cplusplus
}
#endif
#endif
