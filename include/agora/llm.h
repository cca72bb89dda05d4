/* SPDX-License-Identifier: MIT */
/* The LLM client: OpenAI-compatible chat completions over HTTP (OpenAI,
 * vLLM, Ollama, llama.cpp's server, DashScope's compatible mode). One
 * client runs one I/O thread that drives every request through libcurl's
 * multi interface, so a thousand concurrent streams hold one thread.
 * Streams are Server-Sent Events, parsed as they arrive. Failures before
 * the first chunk (connection errors, 429, 5xx) are retried with jittered
 * exponential backoff, honouring Retry-After; after it, a failure ends the
 * request with an error that says what happened. */
#ifndef AGORA_LLM_H
#define AGORA_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agora_llm agora_llm;
typedef struct agora_llm_req agora_llm_req;

/* Where and how to send one request. Strings are copied. */
typedef struct agora_llm_endpoint {
	const char *base_url;       /* ".../v1"; /chat/completions is added */
	const char *api_key;        /* sent as a Bearer token; NULL: none */
	const char *organization;   /* OpenAI-Organization; NULL: none */
	const char *pool;           /* requests sharing a concurrency limit */
	int max_concurrency;        /* in flight per pool; 0: no limit */
	int64_t connect_timeout_ms; /* 0: 10000 */
	int64_t timeout_ms;         /* the whole request, retries included; 0:
	                               120000 */
	int max_retries;            /* before the first chunk; -1: 3 */
} agora_llm_endpoint;

/* Tokens of one request as the server counted them, from its last usage
 * object (a stream's usually comes in a final chunk with no choices, and
 * only if the request asked, e.g. "stream_options"); all 0 if it sent
 * none. With n > 1 they cover every choice. */
typedef struct agora_llm_usage {
	int64_t prompt_tokens;
	int64_t completion_tokens;
	int64_t total_tokens; /* the server's; if it gave none, the sum */
} agora_llm_usage;

/* Called on the client's thread. on_chunk for each piece of text (valid
 * UTF-8 without NUL, of choice 0); then exactly one of on_done and
 * on_error, unless the request is cancelled first. on_done's finish_reason
 * is choice 0's ("stop", "length" when cut by max_tokens ...; NULL if the
 * server gave none). None is called after agora_llm_cancel returns. */
typedef struct agora_llm_handler {
	void (*on_chunk)(void *arg, const char *text, size_t len);
	void (*on_done)(void *arg, const char *finish_reason,
	                const agora_llm_usage *usage);
	void (*on_error)(void *arg, agora_err code, const char *message);
	void *arg;
} agora_llm_handler;

/* The process's shared client (made on first use, lives until exit). */
AGORA_API agora_llm *agora_llm_shared(void);

/* Start the client and its thread. */
AGORA_API agora_err agora_llm_new(agora_llm **lp);
/* Cancel everything, stop the thread, free. NULL is fine. */
AGORA_API void agora_llm_free(agora_llm *l);

/* Send body (a chat-completions JSON object; its "stream" decides the
 * mode) to ep. Returns at once; *reqp is the caller's, to free with
 * agora_llm_release once done or error has been called, or to cancel.
 * AGORA_EINVAL (no callback runs) for a missing argument, or an api_key
 * or organization with a control character (it would inject headers).
 * Thread-safe. */
AGORA_API agora_err agora_llm_start(agora_llm *l, const agora_llm_endpoint *ep,
                                    const char *body,
                                    const agora_llm_handler *h,
                                    agora_llm_req **reqp);
/* Stop a request: when this returns, no callback of it runs or will run.
 * Then free it. Thread-safe; not from inside a callback. */
AGORA_API void agora_llm_cancel(agora_llm *l, agora_llm_req *req);
/* Free a request that has finished (after on_done or on_error). */
AGORA_API void agora_llm_release(agora_llm *l, agora_llm_req *req);

/* Requests running or waiting, for `info`. */
AGORA_API size_t agora_llm_active(agora_llm *l);

#ifdef __cplusplus
}
#endif
#endif
