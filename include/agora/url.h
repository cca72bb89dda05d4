/* SPDX-License-Identifier: MIT */
/* URLs as the security model sees them (DESIGN.md section 11): whether an
 * address reaches this machine only, for listeners that may go without a
 * token on loopback (agent servers, and any listener after them), and a
 * URL with its user-info hidden, for every log line and error that shows a
 * URL. */
#ifndef AGORA_URL_H
#define AGORA_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Whether url reaches this machine only: a local socket (ipc://, unix://,
 * inproc://, abstract://) or a host every address of which is loopback
 * (127.0.0.0/8, ::1), decided on what getaddrinfo resolves the host to,
 * never on its text. A wildcard host ("", "*", 0.0.0.0, ::) is not local.
 * AGORA_OK sets *localp; a host that does not resolve is AGORA_ENOTFOUND
 * and a URL without a host AGORA_EINVAL, err saying which. May wait for a
 * DNS answer: call it when a listener starts, not per request. */
AGORA_API agora_err agora_url_check_local(const char *url, bool *localp,
                                          char *err, size_t errlen);
/* The same as a yes or no: anything that is not surely local is not. */
AGORA_API bool agora_url_is_local(const char *url);

/* url with its user-info ("user:password@") replaced by "***@", into out
 * (truncated to outlen), for logs and errors; returns out. A URL without
 * user-info is copied as it is. Thread-safe. */
AGORA_API const char *agora_url_redact(const char *url, char *out,
                                       size_t outlen);

#ifdef __cplusplus
}
#endif
#endif
