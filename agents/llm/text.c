/* SPDX-License-Identifier: MIT */
/* Server text made fit for agora (C strings of valid UTF-8), in two steps.
 *
 * Node-based servers cut a reply between the two halves of a UTF-16
 * surrogate pair, so one chunk's content ends in "\ud83d" and the next
 * starts with "\ude00". cJSON rejects a lone surrogate escape, which failed
 * the whole reply. So before a chunk is parsed, llm_json_unlone writes each
 * lone surrogate escape as its 3-byte generalised UTF-8 form (ED A0..BF
 * 80..BF, as WTF-8 does), which cJSON copies into the string untouched;
 * after the content is taken out, llm_text_add joins a high surrogate at
 * the end of one piece with a low one at the start of the next into the
 * 4-byte UTF-8 character, and makes every other surrogate U+FFFD.
 *
 * Why these bytes rather than markers made of the noncharacters
 * U+FDD0..U+FDEF: a marker must carry 11 bits (which surrogate, high or
 * low), so it takes three of them, and noncharacters may legitimately
 * occur in a server's text (Unicode Corrigendum #9), where they would be
 * mistaken for markers. An encoded surrogate carries its value in its own
 * 3 bytes and is never valid UTF-8, so nothing a server may rightly send is
 * mistaken for one; a server's own CESU-8 pairs are joined as well.
 *
 * A NUL would end the C string cJSON makes, cutting the text short, so a
 * \u0000 escape (or a raw NUL, which cJSON takes too) becomes U+FFFD in the
 * same rewrite.
 *
 * Since the converter decodes every sequence anyway, it also makes the rest
 * of the text valid (agora_msg_validate rejects a message that is not): a
 * bad byte or a NUL is U+FFFD, and a sequence cut at the end of a piece is
 * held back and joined with the next piece, as a pair is. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "text.h"

static const char text_fffd[3] = { '\xef', '\xbf', '\xbd' };

/* ---- the JSON, before cJSON -------------------------------------------- */

/* The value of the escape \uXXXX at in[i..n), or -1 if there is none. */
static long
json_escape_at(const char *in, size_t n, size_t i)
{
	long v = 0;

	if (i + 6 > n || in[i] != '\\' || in[i + 1] != 'u') {
		return -1;
	}
	for (size_t k = i + 2; k < i + 6; k++) {
		char c = in[k];
		int d;
		if (c >= '0' && c <= '9') {
			d = c - '0';
		} else if (c >= 'a' && c <= 'f') {
			d = c - 'a' + 10;
		} else if (c >= 'A' && c <= 'F') {
			d = c - 'A' + 10;
		} else {
			return -1;
		}
		v = v * 16 + d;
	}
	return v;
}

/* The bytes that replace the escape of v (a lone surrogate or a NUL) in a
 * string. */
static size_t
json_replacement(long v, char rep[6])
{
	static const char esc[6] = { '\\', 'u', 'f', 'f', 'f', 'd' };

	if (v == 0) {
		memcpy(rep, esc, sizeof(esc));
		return sizeof(esc);
	}
	rep[0] = (char)(0xe0 | (v >> 12));
	rep[1] = (char)(0x80 | ((v >> 6) & 0x3f));
	rep[2] = (char)(0x80 | (v & 0x3f));
	return 3;
}

agora_err
llm_json_unlone(const char *in, size_t n, agora_buf *out)
{
	bool in_string = false;
	size_t i = 0, start = 0;
	agora_err rv = AGORA_OK;

	while (i < n && rv == AGORA_OK) {
		char rep[6];
		size_t replen, took;

		if (in[i] == '"') {
			in_string = !in_string;
			i++;
			continue;
		}
		if (!in_string || (in[i] != '\\' && in[i] != '\0')) {
			i++;
			continue;
		}
		if (in[i] == '\0') {
			/* Not JSON, but cJSON takes it; it ends the string. */
			memcpy(rep, text_fffd, sizeof(text_fffd));
			replen = sizeof(text_fffd);
			took = 1;
		} else {
			/* A backslash in a string always starts an escape. */
			long v = json_escape_at(in, n, i);
			long w = json_escape_at(in, n, i + 6);
			if (v >= 0xd800 && v <= 0xdbff && w >= 0xdc00 &&
			    w <= 0xdfff) {
				i += 12; /* a pair: cJSON joins it */
				continue;
			}
			if (v != 0 && (v < 0xd800 || v > 0xdfff)) {
				i += v < 0 ? 2 : 6; /* not ours, or bad */
				continue;
			}
			replen = json_replacement(v, rep);
			took = 6;
		}
		rv = agora_buf_add(out, in + start, i - start);
		if (rv == AGORA_OK) {
			rv = agora_buf_add(out, rep, replen);
		}
		i += took;
		start = i;
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_add(out, in + start, n - start);
	}
	return rv;
}

/* ---- the text, after cJSON -------------------------------------------- */

void
llm_text_init(struct llm_text *t, size_t max)
{
	t->nheld = 0;
	agora_buf_init(&t->in, max + sizeof(t->held));
}

void
llm_text_fini(struct llm_text *t)
{
	agora_buf_fini(&t->in);
}

void
llm_text_reset(struct llm_text *t)
{
	t->nheld = 0;
	agora_buf_reset(&t->in);
}

/* The sequence at s[0..n) (n > 0) in WTF-8: UTF-8 by Unicode's Table 3-7,
 * except that ED may also lead a surrogate (second byte A0..BF). Returns
 * its length with *cp its value; 0 if s ends inside a sequence that more
 * bytes may complete; or -k for k invalid bytes (the maximal subpart, at
 * least 1), which are one U+FFFD. */
static long
text_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		lo = s[0] == 0xe0 ? 0xa0 : 0x80;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		lo = s[0] == 0xf0 ? 0x90 : 0x80;
		hi = s[0] == 0xf4 ? 0x8f : 0xbf;
	} else {
		return -1;
	}
	*cp = s[0] & (0xffu >> (len + 1));
	for (size_t k = 1; k < len; k++) {
		if (k >= n) {
			return 0;
		}
		if (s[k] < lo || s[k] > hi) {
			return -(long)k;
		}
		*cp = (*cp << 6) | (s[k] & 0x3fu);
		lo = 0x80;
		hi = 0xbf;
	}
	return (long)len;
}

/* After a high surrogate, s[0..n) is all there is: could the next piece
 * still make it a low surrogate? */
static bool
text_low_may_follow(const unsigned char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == 0xed) ||
	       (n == 2 && s[0] == 0xed && s[1] >= 0xb0 && s[1] <= 0xbf);
}

static agora_err
text_put_pair(agora_buf *out, uint32_t high, uint32_t low)
{
	uint32_t cp = 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
	char u[4];

	u[0] = (char)(0xf0 | (cp >> 18));
	u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	u[3] = (char)(0x80 | (cp & 0x3f));
	return agora_buf_add(out, u, sizeof(u));
}

/* One sequence at b[i..n) that is not plain valid UTF-8 (invalid, cut
 * short, a surrogate or a NUL): what it becomes in out. Returns the bytes
 * it took; 0 means b[i..n) is held for the next piece. */
static size_t
text_odd(struct llm_text *t, const unsigned char *b, size_t n, size_t i,
         bool final, agora_buf *out, agora_err *rv)
{
	uint32_t cp = 0, low = 0;
	long k = text_decode(b + i, n - i, &cp);
	bool high = k > 0 && cp >= 0xd800 && cp <= 0xdbff;

	/* Held: a sequence cut short, or a high surrogate whose low one may
	 * still come. */
	if (!final && ((k == 0 && n - i <= sizeof(t->held)) ||
	               (high && text_low_may_follow(b + i + 3, n - i - 3)))) {
		return 0;
	}
	if (high && n - i >= 6 &&
	    text_decode(b + i + 3, n - i - 3, &low) == 3 && low >= 0xdc00 &&
	    low <= 0xdfff) {
		*rv = text_put_pair(out, cp, low);
		return 6;
	}
	*rv = agora_buf_add(out, text_fffd, sizeof(text_fffd));
	/* Cut short at the end, invalid bytes, or a NUL or lone surrogate
	 * (a whole sequence). */
	return k == 0 ? n - i : k < 0 ? (size_t)-k : (size_t)k;
}

/* Convert b[0..n) to out; final: nothing more will come. */
static agora_err
text_convert(struct llm_text *t, const unsigned char *b, size_t n, bool final,
             agora_buf *out)
{
	size_t i = 0, start = 0;
	agora_err rv = AGORA_OK;

	while (i < n && rv == AGORA_OK) {
		uint32_t cp;
		long k = text_decode(b + i, n - i, &cp);
		size_t took;

		if (k > 0 && cp != 0 && (cp < 0xd800 || cp > 0xdfff)) {
			i += (size_t)k; /* valid: copied with its run */
			continue;
		}
		rv = agora_buf_add(out, b + start, i - start);
		if (rv != AGORA_OK) {
			break;
		}
		took = text_odd(t, b, n, i, final, out, &rv);
		if (took == 0) {
			t->nheld = n - i;
			memmove(t->held, b + i, t->nheld);
			return AGORA_OK;
		}
		i += took;
		start = i;
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_add(out, b + start, n - start);
	}
	return rv;
}

agora_err
llm_text_add(struct llm_text *t, const char *s, size_t n, agora_buf *out)
{
	agora_err rv;

	if (t->nheld == 0) {
		return text_convert(t, (const unsigned char *)s, n, false, out);
	}
	/* Join the held bytes and the new piece. */
	agora_buf_reset(&t->in);
	rv = agora_buf_add(&t->in, t->held, t->nheld);
	if (rv == AGORA_OK) {
		rv = agora_buf_add(&t->in, s, n);
	}
	t->nheld = 0;
	if (rv != AGORA_OK) {
		return rv;
	}
	return text_convert(t, (const unsigned char *)t->in.data, t->in.len,
	                    false, out);
}

agora_err
llm_text_end(struct llm_text *t, agora_buf *out)
{
	unsigned char held[sizeof(t->held)];
	size_t n = t->nheld;

	memcpy(held, t->held, n);
	t->nheld = 0;
	return text_convert(t, held, n, true, out);
}
