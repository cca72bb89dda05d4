/* SPDX-License-Identifier: MIT */
/* A growable byte buffer with a mandatory cap (curl's dynbuf): appends past
 * the cap fail with AGORA_ETOOBIG and leave the buffer as it was. The data is
 * always NUL-terminated. Also a small JSON writer on top of it. */
#ifndef AGORA_BUF_H
#define AGORA_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agora_buf {
	char *data; /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap; /* allocated */
	size_t max; /* the cap on len */
} agora_buf;

/* Initialise in caller memory; cannot fail. max == 0 means SIZE_MAX / 2. */
AGORA_API void agora_buf_init(agora_buf *b, size_t max);
AGORA_API void agora_buf_fini(agora_buf *b);
AGORA_API void agora_buf_reset(agora_buf *b);
/* Hand the data to the caller (agora_free it); the buffer is left empty. */
AGORA_API char *agora_buf_steal(agora_buf *b);

AGORA_API agora_err agora_buf_add(agora_buf *b, const void *p, size_t n);
AGORA_API agora_err agora_buf_adds(agora_buf *b, const char *s);
AGORA_API agora_err agora_buf_addf(agora_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Append the whole file at path. Errors start with the path: a missing
 * file is AGORA_ENOTFOUND, over the cap AGORA_ETOOBIG. */
AGORA_API agora_err agora_buf_read_file(agora_buf *b, const char *path,
                                        char *err, size_t errlen);

/* JSON: append s (n bytes) as a quoted, escaped JSON string. */
AGORA_API agora_err agora_buf_json_str(agora_buf *b, const char *s, size_t n);
/* JSON: append `"key":` (with a leading comma unless b ends in '{' or '['). */
AGORA_API agora_err agora_buf_json_key(agora_buf *b, const char *key);

/* True if s[0..n) is valid UTF-8 without NUL bytes. */
AGORA_API bool agora_utf8_valid(const char *s, size_t n);
/* How many of the n bytes are valid UTF-8 before the first that is not
 * (n if all are). */
AGORA_API size_t agora_utf8_valid_prefix(const char *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
