/* SPDX-License-Identifier: MIT */
/* Token files: the shared secret agent servers require (docs/protocol.md).
 * The first line only, printable, 16-256 bytes. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "agora/buf.h"
#include "agora/server.h"

#define TOKEN_MIN 16

agora_err
agora_token_read(const char *path, char *token, size_t tokenlen, char *err,
                 size_t errlen)
{
	agora_buf b;
	size_t n;
	agora_err rv;

	agora_buf_init(&b, 4096);
	rv = agora_buf_read_file(&b, path, err, errlen);
	if (rv != AGORA_OK) {
		agora_buf_fini(&b);
		return rv;
	}
	n = b.data != NULL ? strcspn(b.data, "\r\n") : 0;
	for (size_t i = 0; i < n && rv == AGORA_OK; i++) {
		if (!isgraph((unsigned char)b.data[i])) {
			rv = AGORA_EINVAL;
		}
	}
	if (rv != AGORA_OK || n < TOKEN_MIN || n > AGORA_TOKEN_MAX ||
	    n >= tokenlen) {
		snprintf(
		    err, errlen,
		    "token file %s: the first line must be %d-%d printable "
		    "characters without spaces",
		    path, TOKEN_MIN, AGORA_TOKEN_MAX);
		agora_buf_fini(&b);
		return AGORA_EINVAL;
	}
	memcpy(token, b.data, n);
	token[n] = '\0';
	agora_buf_fini(&b);
	return AGORA_OK;
}
