/* SPDX-License-Identifier: MIT */
/* URLs as the security model sees them. Loopback is decided on the
 * addresses a host resolves to, every one of them, never on the text of
 * the name: "127.evil.example" is a name like any other and may resolve
 * anywhere, and a name that resolves to loopback and to another address
 * would let the listener be reached from outside. Redaction hides the
 * user-info of a URL for printing. Neither parses a URL for use: nng and
 * hiredis do that; this only finds the host and the user-info. */
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "agora/url.h"

/* A DNS name is at most 253 bytes; anything longer is not a host. */
#define URL_HOST_MAX 256

static bool
url_scheme_is_socket(const char *url)
{
	static const char *const local[] = { "ipc://", "unix://", "inproc://",
		                             "abstract://" };

	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		if (strncmp(url, local[i], strlen(local[i])) == 0) {
			return true;
		}
	}
	return false;
}

/* The host of scheme://[userinfo@]host[:port][/...], brackets of an IPv6
 * literal removed, into out. False if it does not fit. */
static bool
url_host(const char *url, char *out, size_t outlen)
{
	const char *h = strstr(url, "://") + 3;
	const char *end = h + strcspn(h, "/?#");
	const char *at = NULL;
	const char *colon;

	for (const char *p = h; p < end; p++) {
		at = *p == '@' ? p : at;
	}
	h = at != NULL ? at + 1 : h;
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));
		if (close == NULL) {
			return false;
		}
		h++;
		end = close;
	} else {
		colon = NULL;
		for (const char *p = h; p < end; p++) {
			colon = *p == ':' ? p : colon;
		}
		end = colon != NULL ? colon : end;
	}
	if ((size_t)(end - h) >= outlen) {
		return false;
	}
	memcpy(out, h, (size_t)(end - h));
	out[end - h] = '\0';
	return true;
}

static bool
addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		const unsigned char *b = (const void *)&in->sin_addr;
		return b[0] == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		const struct in6_addr *a = &in6->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

agora_err
agora_url_check_local(const char *url, bool *localp, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char host[URL_HOST_MAX];
	bool local = true;
	int rc;

	*localp = false;
	if (url == NULL) {
		snprintf(err, errlen, "no address");
		return AGORA_EINVAL;
	}
	if (url_scheme_is_socket(url)) {
		*localp = true;
		return AGORA_OK;
	}
	if (strstr(url, "://") == NULL || !url_host(url, host, sizeof(host))) {
		snprintf(err, errlen, "%.300s: not an address with a host",
		         url);
		return AGORA_EINVAL;
	}
	if (host[0] == '\0' || strcmp(host, "*") == 0) {
		return AGORA_OK; /* every interface */
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM; /* one entry per address */
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve host '%s': %s", host,
		         gai_strerror(rc));
		return AGORA_ENOTFOUND;
	}
	for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		local = local && addr_is_loopback(ai->ai_addr);
	}
	freeaddrinfo(res);
	*localp = local;
	return AGORA_OK;
}

bool
agora_url_is_local(const char *url)
{
	char err[64];
	bool local = false;

	return agora_url_check_local(url, &local, err, sizeof(err)) ==
	           AGORA_OK &&
	       local;
}

const char *
agora_url_redact(const char *url, char *out, size_t outlen)
{
	const char *rest, *at;

	if (outlen == 0) {
		return out;
	}
	if (url == NULL) {
		out[0] = '\0';
		return out;
	}
	rest = strstr(url, "://");
	/* The last '@': a password may hold '@' or '/' unencoded, and
	 * hiding too much is better than showing a part of it. */
	at = rest != NULL ? strrchr(rest, '@') : NULL;
	if (at == NULL) {
		snprintf(out, outlen, "%s", url);
	} else {
		snprintf(out, outlen, "%.*s***%s", (int)(rest + 3 - url), url,
		         at);
	}
	return out;
}
