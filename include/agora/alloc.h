/* SPDX-License-Identifier: MIT */
/* Allocation. Out of memory aborts the process with a log line (Redis'
 * zmalloc), so callers never test for NULL. Every free accepts NULL. */
#ifndef AGORA_ALLOC_H
#define AGORA_ALLOC_H

#include <stddef.h>

#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

AGORA_API void *agora_malloc(size_t n);
AGORA_API void *agora_calloc(size_t n, size_t size);
AGORA_API void *agora_realloc(void *p, size_t n);
AGORA_API char *agora_strdup(const char *s);
AGORA_API char *agora_strndup(const char *s, size_t n);
/* A newly allocated string formatted like printf. */
AGORA_API char *agora_sprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
AGORA_API void agora_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
