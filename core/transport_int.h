/* SPDX-License-Identifier: MIT */
/* Private to the transport's files, the only ones that include nng:
 * transport.c (links), listener.c (listeners) and transport_common.c (what
 * both use). nng's defaults are unbounded sizes and infinite timeouts
 * (reference B.1): both are set on every socket and every aio there. */
#ifndef AGORA_TRANSPORT_INT_H
#define AGORA_TRANSPORT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <nng/nng.h>

#include "agora/transport.h"

/* tls+tcp://... */
bool agora__url_is_tls(const char *url);
/* Dial or listen on a tls+tcp:// address with the settings of
 * agora_tls_set; an nng error, said in err. */
int agora__dial_tls(nng_socket sock, const char *url, int flags, char *err,
                    size_t errlen);
int agora__listen_tls(nng_socket sock, const char *url, nng_listener *lp,
                      char *err, size_t errlen);
/* An nng error as agora's. */
agora_err agora__tp_err(int rv);
/* One nng message holding the pieces: the only copy (NULL: no memory). */
nng_msg *agora__msg_gather(const agora_iov *v, size_t n);

#endif
