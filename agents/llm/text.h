/* SPDX-License-Identifier: MIT */
/* Private to agents/llm/: server text made fit for agora, whose text is C
 * strings of valid UTF-8 (text.c). A chunk's JSON is rewritten before
 * cJSON parses it, so that lone UTF-16 surrogate escapes do not fail it
 * and NULs do not cut a string short;
 * the content then goes through a converter that joins a surrogate pair
 * split across two chunks and turns anything invalid into U+FFFD. */
#ifndef AGORA_LLM_TEXT_H
#define AGORA_LLM_TEXT_H

#include <stddef.h>

#include "agora/buf.h"
#include "agora/err.h"

/* Rewrite the JSON text in[0..n) into out (appended) for cJSON: inside
 * strings, a lone surrogate escape (a high \uD800-\uDBFF not followed by a
 * low escape, a low \uDC00-\uDFFF not after a high one) becomes the 3 bytes
 * of its WTF-8 form, which cJSON copies as they are; a \u0000 escape
 * becomes \ufffd and a raw NUL the 3 bytes of U+FFFD, so no string is cut
 * short. Paired escapes are left to cJSON. out is at most 3n bytes (n if
 * there is no raw NUL). AGORA_ETOOBIG when out's cap is reached. */
agora_err llm_json_unlone(const char *in, size_t n, agora_buf *out);

/* The converter of one reply's text, piece by piece. */
struct llm_text {
	unsigned char held[8]; /* the unfinished end of the last piece */
	size_t nheld;
	agora_buf in; /* held + the new piece */
};

/* max caps a piece (its output is at most 3 * (max + 8) bytes). */
void llm_text_init(struct llm_text *t, size_t max);
void llm_text_fini(struct llm_text *t);
/* Forget what is held (a new attempt). */
void llm_text_reset(struct llm_text *t);
/* Append the piece s[0..n) (WTF-8: UTF-8 in which surrogates may be
 * encoded) to out as valid UTF-8 without NUL: a high surrogate followed by
 * a low one is one character, a sequence cut at the end of the piece is
 * held back to be joined with the next one, and anything else invalid
 * (a lone surrogate, a bad byte, a NUL) is U+FFFD. */
agora_err llm_text_add(struct llm_text *t, const char *s, size_t n,
                       agora_buf *out);
/* The text is over: what is held becomes U+FFFD, appended to out. */
agora_err llm_text_end(struct llm_text *t, agora_buf *out);

#endif
