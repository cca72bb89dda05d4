/* SPDX-License-Identifier: MIT */
/* Reading JSON: a parsed, read-only document with size and depth caps, and
 * errors that say where (line and column) or which key is wrong. Writing
 * JSON is done with agora_buf_json_* (buf.h). No foreign type shows here. */
#ifndef AGORA_JSON_H
#define AGORA_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agora/buf.h"
#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agora_json agora_json; /* a node; the document is its root */

typedef enum agora_json_type {
	AGORA_JSON_NULL,
	AGORA_JSON_BOOL,
	AGORA_JSON_NUMBER,
	AGORA_JSON_STRING,
	AGORA_JSON_ARRAY,
	AGORA_JSON_OBJECT,
} agora_json_type;

#define AGORA_JSON_MAX_DEPTH 64

/* Parse text[0..len) (need not be NUL-terminated). Over max_bytes gives
 * AGORA_ETOOBIG, nesting over max_depth or bad syntax AGORA_EPROTO; the
 * reason, with line and column, goes to err (if not NULL). On success the
 * caller owns *docp and frees it with agora_json_free. */
AGORA_API agora_err agora_json_parse(agora_json **docp, const char *text,
                                     size_t len, size_t max_bytes,
                                     int max_depth, char *err, size_t errlen);
/* The same for a document that must be valid UTF-8 throughout, as a file
 * must (RFC 8259): the first bad byte is an error at its line and column.
 * (agora_json_parse takes any bytes inside strings, for callers that
 * repair text themselves.) */
AGORA_API agora_err agora_json_parse_utf8(agora_json **docp, const char *text,
                                          size_t len, size_t max_bytes,
                                          int max_depth, char *err,
                                          size_t errlen);
/* Read and parse a whole file (UTF-8, as agora_json_parse_utf8); errors
 * start with the path. */
AGORA_API agora_err agora_json_parse_file(agora_json **docp, const char *path,
                                          size_t max_bytes, char *err,
                                          size_t errlen);
/* Free a document (only a root). NULL is fine. */
AGORA_API void agora_json_free(agora_json *doc);

AGORA_API agora_json_type agora_json_typeof(const agora_json *j);
AGORA_API const char *agora_json_type_name(agora_json_type t);
/* Member of an object, or NULL (also when j is not an object or NULL). */
AGORA_API agora_json *agora_json_get(const agora_json *j, const char *key);
/* Array or object size and items (object items carry their key). */
AGORA_API size_t agora_json_size(const agora_json *j);
AGORA_API agora_json *agora_json_at(const agora_json *j, size_t i);
/* Iteration in O(1) a step (agora_json_at and agora_json_size walk the
 * list: O(n) each): the first item of an array or object, or NULL; the
 * item after item, or NULL. */
AGORA_API agora_json *agora_json_first(const agora_json *j);
AGORA_API agora_json *agora_json_next(const agora_json *item);
AGORA_API const char *agora_json_key(const agora_json *j);
/* Scalars: NULL / false / 0 when of another type. */
AGORA_API const char *agora_json_str(const agora_json *j);
AGORA_API double agora_json_num(const agora_json *j);
AGORA_API bool agora_json_bool(const agora_json *j);
/* True, and *out set, if j is an integral number in [lo, hi]. */
AGORA_API bool agora_json_int(const agora_json *j, int64_t lo, int64_t hi,
                              int64_t *out);
/* Compact text of j, appended to b. */
AGORA_API agora_err agora_json_print(const agora_json *j, agora_buf *b);

#ifdef __cplusplus
}
#endif
#endif
