/* SPDX-License-Identifier: MIT */
/* What an agent server's words may not carry to the page: the server
 * token the studio sends and the password of its Redis URL (as written,
 * and decoded). Servers redact their own errors; the Server Manager checks
 * again here before passing one on. */
#include <string.h>

#include "studio_int.h"

/* Whether text holds s[0..n) (n > 0). */
static bool
secret_holds(const char *text, const char *s, size_t n)
{
	for (const char *p = strchr(text, s[0]); p != NULL;
	     p = strchr(p + 1, s[0])) {
		if (strncmp(p, s, n) == 0) {
			return true;
		}
	}
	return false;
}

/* A hex digit's value, or -1. */
static int
secret_hex(char c)
{
	const char *digits = "0123456789abcdef";
	const char *p = c != '\0' ? strchr(digits, c | 0x20) : NULL;

	return p != NULL ? (int)(p - digits) : -1;
}

/* Whether text holds s[0..n) once its %XX escapes are decoded. */
static bool
secret_holds_decoded(const char *text, const char *s, size_t n)
{
	char plain[512];
	size_t k = 0;

	for (size_t i = 0; i < n && k < sizeof(plain) - 1; i++) {
		int hi = i + 2 < n ? secret_hex(s[i + 1]) : -1;
		int lo = i + 2 < n ? secret_hex(s[i + 2]) : -1;

		if (s[i] == '%' && hi >= 0 && lo >= 0) {
			plain[k++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			plain[k++] = s[i];
		}
	}
	return k > 0 && secret_holds(text, plain, k);
}

/* Whether text holds the server token or the Redis URL's password: a
 * server's words are redacted by the server, and checked here again. */
bool
studio_secret_in(const struct studio_ctx *ctx, const char *text)
{
	const char *u = strstr(ctx->redis_url, "://");
	const char *at = u != NULL ? strchr(u + 3, '@') : NULL;
	const char *pw = u != NULL ? u + 3 : NULL;
	const char *colon;

	if (ctx->server_token != NULL && ctx->server_token[0] != '\0' &&
	    secret_holds(text, ctx->server_token, strlen(ctx->server_token))) {
		return true;
	}
	if (at == NULL) {
		return false;
	}
	colon = memchr(pw, ':', (size_t)(at - pw));
	if (colon != NULL) {
		pw = colon + 1;
	}
	if (at <= pw) {
		return false;
	}
	/* As written in the URL, and as a server would say it (decoded). */
	return secret_holds(text, pw, (size_t)(at - pw)) ||
	       secret_holds_decoded(text, pw, (size_t)(at - pw));
}
