/* SPDX-License-Identifier: MIT */
/* libFuzzer: the LLM reply path (agents/llm/reply.c, sse.c, text.c) with
 * the fuzzer choosing where the network cut the bytes. The input's first
 * byte picks a Content-Type (bits 0-1) and a number of cuts (bits 2-6);
 * that many bytes follow, each the size of a piece less one; the rest is
 * the body, fed after the pieces run out in one last piece. The body is
 * decoded as client.c does it (llm_reply_begin, llm_reply_body, then
 * llm_reply_plain if it was not a stream), whole and in those pieces: both
 * must pass on the same text, valid UTF-8 without NUL, and end the same
 * way. The body is also read as a plain reply, and cut the same way
 * through the UTF-8 converter alone, whose output must not depend on the
 * cuts either. A mismatch aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agents/llm/reply.h"
#include "../../agents/llm/text.h"
#include "agora/agora.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* How one decoding ended. */
struct outcome {
	agora_buf text;
	bool ok;
	bool complete;
	char finish[32];
	agora_llm_usage usage;
	char error[512];
};

static void
on_text(void *arg, const char *text, size_t len)
{
	struct outcome *o = arg;

	if (len == 0 || strlen(text) != len || !agora_utf8_valid(text, len)) {
		abort();
	}
	(void)agora_buf_add(&o->text, text, len);
}

/* The next piece: cuts[k] + 1 bytes while there are cuts, then the rest. */
static size_t
piece(const uint8_t *cuts, size_t ncuts, size_t k, size_t left)
{
	size_t len = k < ncuts ? (size_t)cuts[k] + 1 : left;

	return len < left ? len : left;
}

static void
decode(const char *body, size_t n, const uint8_t *cuts, size_t ncuts,
       const char *type, struct outcome *o)
{
	struct llm_reply r;
	size_t at = 0;
	bool ok = true;

	memset(o, 0, sizeof(*o));
	agora_buf_init(&o->text, 0);
	llm_reply_init(&r, "URL", on_text, o);
	llm_reply_begin(&r, true, type);
	for (size_t k = 0; ok && at < n; k++) {
		size_t len = piece(cuts, ncuts, k, n - at);
		ok = llm_reply_body(&r, body + at, len);
		at += len;
	}
	if (ok && r.kind != LLM_BODY_SSE) {
		ok = llm_reply_plain(&r, r.raw.data, r.raw.len);
	}
	o->ok = ok;
	o->complete = llm_reply_complete(&r);
	memcpy(o->finish, r.finish, sizeof(o->finish));
	o->usage = r.usage;
	memcpy(o->error, r.error, sizeof(o->error));
	llm_reply_fini(&r);
}

static bool
same(const struct outcome *a, const struct outcome *b)
{
	return a->ok == b->ok && a->complete == b->complete &&
	       a->text.len == b->text.len &&
	       (a->text.len == 0 ||
	        memcmp(a->text.data, b->text.data, a->text.len) == 0) &&
	       strcmp(a->finish, b->finish) == 0 &&
	       memcmp(&a->usage, &b->usage, sizeof(a->usage)) == 0 &&
	       strcmp(a->error, b->error) == 0;
}

/* The converter alone, the body cut as above: the same UTF-8 whatever
 * the cuts. */
static void
convert(const char *body, size_t n, const uint8_t *cuts, size_t ncuts)
{
	struct llm_text t;
	agora_buf whole, pieces;
	size_t at = 0;

	llm_text_init(&t, 1u << 16);
	agora_buf_init(&whole, 0);
	agora_buf_init(&pieces, 0);
	if (llm_text_add(&t, body, n, &whole) != AGORA_OK ||
	    llm_text_end(&t, &whole) != AGORA_OK) {
		abort();
	}
	for (size_t k = 0; at < n; k++) {
		size_t len = piece(cuts, ncuts, k, n - at);
		if (llm_text_add(&t, body + at, len, &pieces) != AGORA_OK) {
			abort();
		}
		at += len;
	}
	if (llm_text_end(&t, &pieces) != AGORA_OK || whole.len != pieces.len ||
	    (whole.len > 0 &&
	     (memcmp(whole.data, pieces.data, whole.len) != 0 ||
	      !agora_utf8_valid(whole.data, whole.len)))) {
		abort();
	}
	agora_buf_fini(&whole);
	agora_buf_fini(&pieces);
	llm_text_fini(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { NULL, "text/event-stream",
		                             "Application/JSON", "text/plain" };
	struct outcome whole, pieces, plain;
	const uint8_t *cuts;
	size_t ncuts;
	const char *type;
	struct llm_reply r;

	if (size < 1) {
		return 0;
	}
	type = types[data[0] & 3];
	ncuts = (size_t)(data[0] >> 2) & 31;
	data++;
	size--;
	ncuts = ncuts < size ? ncuts : size;
	cuts = data;
	data += ncuts;
	size -= ncuts;

	decode((const char *)data, size, NULL, 0, type, &whole);
	decode((const char *)data, size, cuts, ncuts, type, &pieces);
	if (!same(&whole, &pieces)) {
		abort();
	}
	agora_buf_fini(&whole.text);
	agora_buf_fini(&pieces.text);

	memset(&plain, 0, sizeof(plain));
	agora_buf_init(&plain.text, 0);
	llm_reply_init(&r, "URL", on_text, &plain);
	(void)llm_reply_plain(&r, (const char *)data, size);
	llm_reply_fini(&r);
	agora_buf_fini(&plain.text);

	convert((const char *)data, size, cuts, ncuts);
	return 0;
}
