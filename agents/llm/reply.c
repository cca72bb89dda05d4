/* SPDX-License-Identifier: MIT */
/* Decoding an OpenAI-compatible chat completion reply: each streamed event
 * is a JSON chunk whose delta.content, in the choice of index 0, is passed
 * on as text, and whose finish_reason (of that choice) and usage are kept; an
 * "error" object in the stream, or an event named "error" (llama.cpp's "error:"
 * line), ends it with the server's words. A reply that was not streamed is one
 * JSON object with message.content in the choice of index 0. No HTTP here:
 * client.c feeds the bytes. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "agora/json.h"
#include "reply.h"
#include "text.h"

void
llm_excerpt(const char *s, size_t n, char *out, size_t outlen)
{
	size_t k = 0;

	if (s == NULL) {
		n = 0;
	}
	for (size_t i = 0; i < n && k + 4 < outlen && i < 160; i++) {
		unsigned char c = (unsigned char)s[i];
		out[k++] = (char)(c >= 0x20 && c < 0x7f ? c : ' ');
	}
	if (n > 160 && k + 4 < outlen) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

void
llm_server_message(const char *body, size_t n, char *out, size_t outlen)
{
	agora_json *doc = NULL;
	const char *msg = NULL;

	if (n > 0 && agora_json_parse(&doc, body, n, LLM_ERR_MAX, 16, NULL,
	                              0) == AGORA_OK) {
		const agora_json *e = agora_json_get(doc, "error");
		msg = agora_json_str(agora_json_get(e, "message"));
		if (msg == NULL) {
			msg = agora_json_str(e);
		}
		if (msg == NULL) {
			msg = agora_json_str(agora_json_get(doc, "message"));
		}
	}
	if (msg != NULL) {
		llm_excerpt(msg, strlen(msg), out, outlen);
	} else if (n > 0) {
		llm_excerpt(body, n, out, outlen);
	} else {
		snprintf(out, outlen, "no message");
	}
	agora_json_free(doc);
}

/* ---- which kind of body ------------------------------------------------ */

static const char llm_bom[3] = { '\xef', '\xbb', '\xbf' };

/* A case-insensitive search for word in s[0..n). */
static bool
llm_has_word(const char *s, size_t n, const char *word)
{
	size_t k = strlen(word);

	for (size_t i = 0; i + k <= n; i++) {
		if (strncasecmp(s + i, word, k) == 0) {
			return true;
		}
	}
	return false;
}

enum llm_body
llm_body_from_type(const char *type)
{
	size_t n;

	if (type == NULL) {
		return LLM_BODY_UNKNOWN;
	}
	n = strcspn(type, ";"); /* the media type, not its parameters */
	if (llm_has_word(type, n, "event-stream")) {
		return LLM_BODY_SSE;
	}
	if (llm_has_word(type, n, "json")) {
		return LLM_BODY_JSON;
	}
	return LLM_BODY_UNKNOWN;
}

enum llm_body
llm_body_sniff(const char *s, size_t n, size_t *from)
{
	static const char *const sse[] = { "data:", "event:", "id:", "retry:",
		                           ":" };
	size_t i = *from;
	bool maybe = false;

	if (n == 0) {
		return LLM_BODY_UNKNOWN;
	}
	if (i == 0 && n < sizeof(llm_bom) && memcmp(s, llm_bom, n) == 0) {
		return LLM_BODY_UNKNOWN; /* perhaps a BOM still coming */
	}
	if (i == 0 && memcmp(s, llm_bom, sizeof(llm_bom)) == 0) {
		i = sizeof(llm_bom);
	}
	while (i < n &&
	       (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) {
		i++;
	}
	*from = i;
	if (i == n) {
		return LLM_BODY_UNKNOWN;
	}
	if (s[i] == '{') {
		return LLM_BODY_JSON;
	}
	for (size_t k = 0; k < sizeof(sse) / sizeof(sse[0]); k++) {
		size_t len = strlen(sse[k]);
		size_t have = n - i < len ? n - i : len;
		if (memcmp(s + i, sse[k], have) == 0) {
			if (have == len) {
				return LLM_BODY_SSE;
			}
			maybe = true;
		}
	}
	return maybe ? LLM_BODY_UNKNOWN : LLM_BODY_OTHER;
}

/* ---- streamed ---------------------------------------------------------- */

/* The choice that is the turn's reply: index 0, a choice without an index
 * (or with a null one) counting as 0. With n > 1 a server sends the other
 * choices too, interleaved in the stream or in any order in the list. */
static const agora_json *
reply_choice0(const agora_json *doc)
{
	const agora_json *c = agora_json_first(agora_json_get(doc, "choices"));
	int64_t index;

	for (; c != NULL; c = agora_json_next(c)) {
		const agora_json *i = agora_json_get(c, "index");
		if (agora_json_typeof(i) == AGORA_JSON_NULL ||
		    agora_json_int(i, 0, 0, &index)) {
			return c;
		}
	}
	return NULL;
}

/* Parse JSON text from the server, its lone surrogate escapes first
 * rewritten (text.c) so that cJSON takes them. */
static agora_err
reply_parse(struct llm_reply *r, const char *data, size_t len, size_t max,
            agora_json **docp)
{
	*docp = NULL;
	agora_buf_reset(&r->json);
	if (len > max || llm_json_unlone(data, len, &r->json) != AGORA_OK) {
		return AGORA_ETOOBIG;
	}
	return agora_json_parse(docp, r->json.data != NULL ? r->json.data : "",
	                        r->json.len, max, 32, NULL, 0);
}

/* Pass on text (NULL: none) of the reply, made valid UTF-8 (text.c); end:
 * the reply's text is over, so nothing may be held back for later. */
static bool
reply_text(struct llm_reply *r, const char *text, bool end)
{
	agora_err rv = AGORA_OK;

	agora_buf_reset(&r->out);
	if (text != NULL) {
		rv = llm_text_add(&r->text, text, strlen(text), &r->out);
	}
	if (rv == AGORA_OK && end) {
		rv = llm_text_end(&r->text, &r->out);
	}
	if (rv != AGORA_OK) {
		snprintf(r->error, sizeof(r->error),
		         "reply text from %s over %zu bytes", r->url,
		         r->out.max);
		r->failed = true;
		return false;
	}
	if (r->out.len > 0) {
		r->chunks++;
		r->on_text(r->arg, r->out.data, r->out.len);
	}
	return true;
}

/* An "error" object in a chunk: the model's own failure. */
static bool
reply_error_object(struct llm_reply *r, const agora_json *doc)
{
	const agora_json *err = agora_json_get(doc, "error");
	const char *m;
	char excerpt[200];

	if (agora_json_typeof(err) == AGORA_JSON_NULL) {
		return false;
	}
	m = agora_json_str(agora_json_get(err, "message"));
	m = m != NULL ? m : agora_json_str(err);
	llm_excerpt(m != NULL ? m : "unknown", m != NULL ? strlen(m) : 7,
	            excerpt, sizeof(excerpt));
	snprintf(r->error, sizeof(r->error), "the model reported an error: %s",
	         excerpt);
	r->failed = true;
	return true;
}

/* The usage object of a chunk or body, if it has one. Each replaces the
 * last: servers that report usage in every chunk count from the start. */
static void
reply_usage(struct llm_reply *r, const agora_json *doc)
{
	const agora_json *u = agora_json_get(doc, "usage");
	agora_llm_usage got = { 0, 0, 0 };

	if (agora_json_typeof(u) != AGORA_JSON_OBJECT) {
		return; /* none, or null in the chunks before the last */
	}
	/* Capped so that the sum cannot overflow. */
	(void)agora_json_int(agora_json_get(u, "prompt_tokens"), 0,
	                     INT64_MAX / 4, &got.prompt_tokens);
	(void)agora_json_int(agora_json_get(u, "completion_tokens"), 0,
	                     INT64_MAX / 4, &got.completion_tokens);
	if (!agora_json_int(agora_json_get(u, "total_tokens"), 0, INT64_MAX / 4,
	                    &got.total_tokens)) {
		got.total_tokens = got.prompt_tokens + got.completion_tokens;
	}
	r->usage = got;
}

/* The choice's finish_reason, or NULL while it goes on: null in the
 * chunks before the last, but also "" or the string "null" from some
 * servers (DashScope's own API sends "null"), neither of which ends it. */
static const char *
reply_finish(const agora_json *choice)
{
	const char *f = agora_json_str(agora_json_get(choice, "finish_reason"));

	if (f == NULL || f[0] == '\0' || strcmp(f, "null") == 0) {
		return NULL;
	}
	return f;
}

static int
reply_event(void *arg, const char *event, const char *data, size_t len)
{
	struct llm_reply *r = arg;
	agora_json *doc = NULL;
	const agora_json *choice;
	const char *text, *finish;
	char excerpt[200];
	bool ok;

	if (strcmp(event, "error") == 0) {
		/* llama.cpp's "error: {json}" line (sse.c), or an event named
		 * "error": either way its data is the failure, not a chunk. */
		llm_server_message(data, len, excerpt, sizeof(excerpt));
		snprintf(r->error, sizeof(r->error),
		         "the model reported an error: %s", excerpt);
		r->failed = true;
		return 1;
	}
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		r->done_seen = true;
		return reply_text(r, NULL, true) ? 0 : 1;
	}
	if (reply_parse(r, data, len, LLM_EVENT_MAX, &doc) != AGORA_OK) {
		llm_excerpt(data, len, excerpt, sizeof(excerpt));
		snprintf(r->error, sizeof(r->error),
		         "bad stream event from %s: not JSON: %s", r->url,
		         excerpt);
		r->failed = true;
		return 1;
	}
	if (reply_error_object(r, doc)) {
		agora_json_free(doc);
		return 1;
	}
	reply_usage(r, doc);
	choice = reply_choice0(doc);
	text = agora_json_str(
	    agora_json_get(agora_json_get(choice, "delta"), "content"));
	finish = reply_finish(choice);
	if (finish != NULL) {
		snprintf(r->finish, sizeof(r->finish), "%s", finish);
	}
	/* After its finish_reason the choice says no more: a surrogate
	 * held back for a partner will not get one. */
	ok = reply_text(r, text, finish != NULL);
	agora_json_free(doc);
	return ok ? 0 : 1;
}

void
llm_reply_init(struct llm_reply *r, const char *url,
               void (*on_text)(void *, const char *, size_t), void *arg)
{
	memset(r, 0, sizeof(*r));
	r->url = url;
	r->on_text = on_text;
	r->arg = arg;
	sse_init(&r->sse, LLM_EVENT_MAX, reply_event, r);
	/* Rewriting the JSON and converting the text each make at most 3
	 * bytes (U+FFFD) of one. */
	agora_buf_init(&r->json, 3 * (size_t)LLM_BODY_MAX);
	llm_text_init(&r->text, LLM_BODY_MAX);
	agora_buf_init(&r->out, 3 * (LLM_BODY_MAX + sizeof(r->text.held)));
	agora_buf_init(&r->raw, LLM_BODY_MAX);
}

void
llm_reply_reset(struct llm_reply *r)
{
	sse_fini(&r->sse);
	sse_init(&r->sse, LLM_EVENT_MAX, reply_event, r);
	llm_text_reset(&r->text);
	r->kind = LLM_BODY_UNKNOWN;
	r->sniffed = 0;
	agora_buf_reset(&r->raw);
	r->chunks = 0;
	r->done_seen = false;
	r->finish[0] = '\0';
	memset(&r->usage, 0, sizeof(r->usage));
	r->failed = false;
	r->error[0] = '\0';
}

void
llm_reply_fini(struct llm_reply *r)
{
	sse_fini(&r->sse);
	agora_buf_fini(&r->json);
	llm_text_fini(&r->text);
	agora_buf_fini(&r->out);
	agora_buf_fini(&r->raw);
}

bool
llm_reply_feed(struct llm_reply *r, const char *data, size_t n)
{
	int rv = sse_feed(&r->sse, data, n);

	if (rv == -1) {
		snprintf(r->error, sizeof(r->error),
		         "stream event from %s over %u bytes", r->url,
		         LLM_EVENT_MAX);
		r->failed = true;
	}
	return rv == 0;
}

void
llm_reply_begin(struct llm_reply *r, bool ok, const char *type)
{
	/* Servers mislabel streams (no type, text/plain), so a type that
	 * does not say leaves it to the first bytes. */
	r->kind = ok ? llm_body_from_type(type) : LLM_BODY_OTHER;
}

bool
llm_reply_body(struct llm_reply *r, const char *data, size_t n)
{
	bool ok = true;

	if (r->kind == LLM_BODY_SSE) {
		return llm_reply_feed(r, data, n);
	}
	if (agora_buf_add(&r->raw, data, n) != AGORA_OK) {
		snprintf(r->error, sizeof(r->error),
		         "reply from %s over %zu bytes", r->url, r->raw.max);
		r->failed = true;
		return false;
	}
	if (r->kind == LLM_BODY_UNKNOWN) {
		r->kind = llm_body_sniff(r->raw.data, r->raw.len, &r->sniffed);
		if (r->kind == LLM_BODY_SSE) {
			/* What was held to sniff is the stream's start. */
			ok = llm_reply_feed(r, r->raw.data, r->raw.len);
			agora_buf_reset(&r->raw);
		}
	}
	return ok;
}

bool
llm_reply_complete(const struct llm_reply *r)
{
	return r->done_seen || r->finish[0] != '\0';
}

/* ---- not streamed --------------------------------------------------- */

bool
llm_reply_plain(struct llm_reply *r, const char *body, size_t n)
{
	agora_json *doc = NULL;
	const agora_json *choice;
	const char *text, *finish;
	char excerpt[200];
	bool ok;

	if (body == NULL) {
		body = "";
		n = 0;
	}
	if (n >= sizeof(llm_bom) &&
	    memcmp(body, llm_bom, sizeof(llm_bom)) == 0) {
		body += sizeof(llm_bom); /* cJSON does not skip it */
		n -= sizeof(llm_bom);
	}
	if (reply_parse(r, body, n, LLM_BODY_MAX, &doc) != AGORA_OK) {
		llm_excerpt(body, n, excerpt, sizeof(excerpt));
		snprintf(r->error, sizeof(r->error),
		         "bad response from %s: not JSON: %s", r->url, excerpt);
		return false;
	}
	if (agora_json_typeof(agora_json_get(doc, "error")) !=
	    AGORA_JSON_NULL) {
		/* "error": null is no error (as in a stream's chunks). */
		llm_server_message(body, n, excerpt, sizeof(excerpt));
		agora_json_free(doc);
		snprintf(r->error, sizeof(r->error),
		         "the model reported an error: %s", excerpt);
		return false;
	}
	choice = reply_choice0(doc);
	text = agora_json_str(
	    agora_json_get(agora_json_get(choice, "message"), "content"));
	if (text == NULL) {
		agora_json_free(doc);
		snprintf(r->error, sizeof(r->error),
		         "bad response from %s: no message.content in the "
		         "choice of index 0",
		         r->url);
		return false;
	}
	finish = reply_finish(choice);
	snprintf(r->finish, sizeof(r->finish), "%s",
	         finish != NULL ? finish : "");
	reply_usage(r, doc);
	ok = reply_text(r, text, true);
	agora_json_free(doc);
	return ok;
}
