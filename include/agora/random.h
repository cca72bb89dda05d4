/* SPDX-License-Identifier: MIT */
/* Unguessable random bytes from the kernel (getrandom), for ids a peer
 * must not predict: session ids, owner ids, client ids, epochs. */
#ifndef AGORA_RANDOM_H
#define AGORA_RANDOM_H

#include <stddef.h>

#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fill buf with n random bytes. Blocks only until the kernel's pool is
 * ready at boot; fails only if the kernel refuses (AGORA_ESYS). */
AGORA_API agora_err agora_random_bytes(void *buf, size_t n);
/* nbytes random bytes as 2 * nbytes lower-case hex digits and a NUL in
 * out (outlen >= 2 * nbytes + 1). */
AGORA_API agora_err agora_random_hex(char *out, size_t outlen, size_t nbytes);

#ifdef __cplusplus
}
#endif
#endif
