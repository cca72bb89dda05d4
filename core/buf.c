/* SPDX-License-Identifier: MIT */
/* Capped growable buffers (curl's dynbuf idea) and the JSON writer used for
 * every message and frame we emit: writing by hand is simpler and about
 * twice as fast as building a cJSON tree and printing it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "agora/alloc.h"
#include "agora/buf.h"

void
agora_buf_init(agora_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max == 0 ? SIZE_MAX / 2 : max;
}

void
agora_buf_fini(agora_buf *b)
{
	agora_free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
agora_buf_reset(agora_buf *b)
{
	b->len = 0;
	if (b->data != NULL) {
		b->data[0] = '\0';
	}
}

char *
agora_buf_steal(agora_buf *b)
{
	char *p = b->data != NULL ? b->data : agora_strdup("");

	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

static agora_err
buf_reserve(agora_buf *b, size_t n)
{
	size_t need;

	if (n > b->max - b->len) {
		return AGORA_ETOOBIG;
	}
	need = b->len + n + 1;
	if (need > b->cap) {
		size_t cap = b->cap < 64 ? 64 : b->cap;
		while (cap < need) {
			cap *= 2;
		}
		b->data = agora_realloc(b->data, cap);
		b->cap = cap;
	}
	return AGORA_OK;
}

agora_err
agora_buf_add(agora_buf *b, const void *p, size_t n)
{
	agora_err rv = buf_reserve(b, n);

	if (rv != AGORA_OK) {
		return rv;
	}
	if (n > 0) {
		memcpy(b->data + b->len, p, n);
	}
	b->len += n;
	b->data[b->len] = '\0';
	return AGORA_OK;
}

agora_err
agora_buf_adds(agora_buf *b, const char *s)
{
	return agora_buf_add(b, s, strlen(s));
}

agora_err
agora_buf_addf(agora_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	agora_err rv;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		return AGORA_EINVAL;
	}
	rv = buf_reserve(b, (size_t)n);
	if (rv != AGORA_OK) {
		return rv;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return AGORA_OK;
}

agora_err
agora_buf_json_str(agora_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = b->len;
	size_t run = 0;
	agora_err rv;

	rv = agora_buf_add(b, "\"", 1);
	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7] = { '\\', 0, 0, 0, 0, 0, 0 };
		size_t elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\') {
			run++;
			continue;
		}
		/* Flush the plain run before this character, then escape. */
		rv = agora_buf_add(b, s + i - run, run);
		run = 0;
		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
			break;
		}
		if (rv == AGORA_OK) {
			rv = agora_buf_add(b, esc, elen);
		}
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_add(b, s + n - run, run);
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_add(b, "\"", 1);
	}
	if (rv != AGORA_OK) {
		/* Never leave half a string behind. */
		b->len = start;
		if (b->data != NULL) {
			b->data[start] = '\0';
		}
	}
	return rv;
}

agora_err
agora_buf_json_key(agora_buf *b, const char *key)
{
	agora_err rv = AGORA_OK;
	char last = '{';

	if (b->len > 0) {
		last = b->data[b->len - 1];
	}
	if (last != '{' && last != '[') {
		rv = agora_buf_add(b, ",", 1);
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_json_str(b, key, strlen(key));
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_add(b, ":", 1);
	}
	return rv;
}

size_t
agora_utf8_valid_prefix(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		size_t extra;
		uint32_t cp;

		if (c == 0) {
			return i;
		}
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			extra = 1;
			cp = c & 0x1fu;
		} else if ((c & 0xf0) == 0xe0) {
			extra = 2;
			cp = c & 0x0fu;
		} else if ((c & 0xf8) == 0xf0) {
			extra = 3;
			cp = c & 0x07u;
		} else {
			return i;
		}
		if (n - i <= extra) {
			return i;
		}
		for (size_t k = 1; k <= extra; k++) {
			if ((p[i + k] & 0xc0) != 0x80) {
				return i;
			}
			cp = (cp << 6) | (p[i + k] & 0x3fu);
		}
		/* Overlong forms, surrogates and values past U+10FFFF. */
		if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
		    (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			return i;
		}
		i += extra + 1;
	}
	return n;
}

bool
agora_utf8_valid(const char *s, size_t n)
{
	return agora_utf8_valid_prefix(s, n) == n;
}

agora_err
agora_buf_read_file(agora_buf *b, const char *path, char *err, size_t errlen)
{
	char chunk[8192];
	agora_err rv = AGORA_OK;
	FILE *f = fopen(path, "rb");
	struct stat st;

	if (f == NULL) {
		int e = errno;
		char why[128];
		(void)strerror_r(e, why, sizeof(why));
		snprintf(err, errlen, "%s: %s", path, why);
		return e == ENOENT ? AGORA_ENOTFOUND : AGORA_ESYS;
	}
	if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s, not a file", path,
		         S_ISDIR(st.st_mode) ? "a directory"
		                             : "a device, pipe or socket");
		fclose(f);
		return AGORA_EINVAL;
	}
	for (;;) {
		size_t n = fread(chunk, 1, sizeof(chunk), f);
		if (n > 0) {
			rv = agora_buf_add(b, chunk, n);
		}
		if (rv != AGORA_OK || n < sizeof(chunk)) {
			break;
		}
	}
	if (rv == AGORA_OK && ferror(f)) {
		char why[128];
		(void)strerror_r(errno, why, sizeof(why));
		snprintf(err, errlen, "%s: cannot read: %s", path, why);
		rv = AGORA_ESYS;
	} else if (rv != AGORA_OK) {
		snprintf(err, errlen, "%s: over the %zu-byte limit", path,
		         b->max);
	}
	fclose(f);
	return rv;
}
