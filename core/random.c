/* SPDX-License-Identifier: MIT */
/* Random bytes for ids others must not guess, from getrandom(2): no file
 * to open (so no descriptor a chroot or a limit can take away), and no
 * mixing with the clock or the pid, which a peer could predict. */
#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#include "agora/random.h"

agora_err
agora_random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got <= 0) {
			return AGORA_ESYS;
		}
		p += got;
		n -= (size_t)got;
	}
	return AGORA_OK;
}

agora_err
agora_random_hex(char *out, size_t outlen, size_t nbytes)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char raw[64];
	agora_err rv;

	if (nbytes > sizeof(raw) || outlen < 2 * nbytes + 1) {
		return AGORA_EINVAL;
	}
	rv = agora_random_bytes(raw, nbytes);
	if (rv != AGORA_OK) {
		return rv;
	}
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = digits[raw[i] >> 4];
		out[2 * i + 1] = digits[raw[i] & 15];
	}
	out[2 * nbytes] = '\0';
	return AGORA_OK;
}
