/* SPDX-License-Identifier: MIT */
/* Private to agents/llm/: the decoder of an OpenAI-compatible chat
 * completion reply (reply.c), with no HTTP in it: stream bytes as they
 * arrive (server-sent events of JSON chunks, ending with [DONE]), or a
 * whole JSON body when the server did not stream, telling which by the
 * Content-Type or the first bytes. The client (client.c) feeds it what
 * curl delivers and asks it how the reply ended. */
#ifndef AGORA_LLM_REPLY_H
#define AGORA_LLM_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "agora/llm.h"
#include "sse.h"
#include "text.h"

#define LLM_EVENT_MAX (1u << 20)  /* one SSE line or event */
#define LLM_BODY_MAX  (4u << 20)  /* a non-streamed reply */
#define LLM_ERR_MAX   (64u << 10) /* an error body we keep to quote */

/* What a 200's body is: a stream of events, one JSON object, something
 * else (it will fail as not JSON), or not known yet. */
enum llm_body { LLM_BODY_UNKNOWN, LLM_BODY_SSE, LLM_BODY_JSON, LLM_BODY_OTHER };

/* By the Content-Type (NULL: none), in any case: SSE when it says
 * event-stream, JSON when it says json, else UNKNOWN (sniff the body). */
enum llm_body llm_body_from_type(const char *type);
/* By the body's first bytes s[0..n) (all of it so far): after an optional
 * byte-order mark and white space, "{" is JSON; "data:", "event:", "id:",
 * "retry:" or ":" is SSE; anything else OTHER; UNKNOWN while too few bytes
 * have come to tell. *from (0 at first) keeps where the last look
 * stopped, so a body of white space fed in small pieces is read once. */
enum llm_body llm_body_sniff(const char *s, size_t n, size_t *from);

struct llm_reply {
	const char *url; /* for messages; not owned */
	void (*on_text)(void *arg, const char *text, size_t len);
	void *arg;
	struct sse_parser sse;
	agora_buf json;       /* an event or body rewritten for cJSON */
	struct llm_text text; /* the reply's text, made valid UTF-8 */
	agora_buf out;        /* a piece of it to pass on */
	enum llm_body kind;   /* of the body */
	size_t sniffed;       /* llm_body_sniff's place in raw */
	agora_buf raw;        /* a body not streamed, or not known to be yet */
	size_t chunks;        /* text pieces passed on */
	bool done_seen;
	char finish[32];
	agora_llm_usage usage;
	bool failed;
	char error[512];
};

void llm_reply_init(struct llm_reply *r, const char *url,
                    void (*on_text)(void *, const char *, size_t), void *arg);
/* Forget what an earlier attempt decoded. */
void llm_reply_reset(struct llm_reply *r);
void llm_reply_fini(struct llm_reply *r);
/* A body starts: of a 200 (ok) whose Content-Type is type (NULL: none),
 * or of another status (kept in raw, to quote). */
void llm_reply_begin(struct llm_reply *r, bool ok, const char *type);
/* Body bytes as they come, split anywhere: a stream's go to
 * llm_reply_feed, others are kept in raw for llm_reply_plain. Once the
 * kind is SSE the body is a stream. False stops the transfer; r->error
 * says why. */
bool llm_reply_body(struct llm_reply *r, const char *data, size_t n);
/* Stream bytes, split anywhere. False stops the transfer; r->error says
 * why. */
bool llm_reply_feed(struct llm_reply *r, const char *data, size_t n);
/* A whole body of a 200 that was not a stream. False: r->error says why. */
bool llm_reply_plain(struct llm_reply *r, const char *body, size_t n);
/* The stream said it was complete ([DONE] or a finish_reason). */
bool llm_reply_complete(const struct llm_reply *r);

/* Up to 160 bytes of s, printable ASCII only (server text goes into our
 * error messages; never trust it to be clean). */
void llm_excerpt(const char *s, size_t n, char *out, size_t outlen);
/* The server's own words from an error body: error.message, error (a
 * string) or message; else an excerpt of the body. */
void llm_server_message(const char *body, size_t n, char *out, size_t outlen);

#endif
