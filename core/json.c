/* SPDX-License-Identifier: MIT */
/* Reading JSON through cJSON, the only file that includes it. An agora_json
 * is a cJSON node seen through a read-only API. Parsing is bounded: a size
 * cap before cJSON sees the text and a depth cap after; errors give the line
 * and column, taken from cJSON's per-call parse end (its global error
 * pointer is not thread-safe). cJSON allocates through agora_malloc, so a
 * NULL from it always means bad input. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agora/alloc.h"
#include "agora/buf.h"
#include "agora/json.h"

static pthread_once_t json_once = PTHREAD_ONCE_INIT;

static void
json_install_hooks(void)
{
	cJSON_Hooks hooks = { agora_malloc, agora_free };

	cJSON_InitHooks(&hooks);
}

static cJSON *
as_cjson(const agora_json *j)
{
	/* agora_json is only ever a cJSON node under another name. */
	return (cJSON *)(uintptr_t)j;
}

static int
json_depth(const cJSON *j, int depth, int max)
{
	int deepest = depth;

	if (depth > max) {
		return depth;
	}
	for (const cJSON *c = j->child; c != NULL; c = c->next) {
		int d = json_depth(c, depth + 1, max);
		if (d > deepest) {
			deepest = d;
		}
		if (deepest > max) {
			break;
		}
	}
	return deepest;
}

static void
json_where(const char *text, size_t len, size_t off, char *err, size_t errlen,
           const char *what)
{
	size_t line = 1, col = 1;

	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	if (err != NULL) {
		snprintf(err, errlen, "line %zu, column %zu: %s", line, col,
		         what);
	}
}

agora_err
agora_json_parse(agora_json **docp, const char *text, size_t len,
                 size_t max_bytes, int max_depth, char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON *doc;

	*docp = NULL;
	pthread_once(&json_once, json_install_hooks);
	if (len > max_bytes) {
		if (err != NULL) {
			snprintf(err, errlen,
			         "%zu bytes is over the %zu-byte limit", len,
			         max_bytes);
		}
		return AGORA_ETOOBIG;
	}
	doc = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (doc == NULL) {
		size_t off =
		    end != NULL && end >= text ? (size_t)(end - text) : 0;
		json_where(text, len, off, err, errlen,
		           off >= len ? "unexpected end of JSON"
		                      : "invalid JSON");
		return AGORA_EPROTO;
	}
	/* A NUL in a string (raw, or \u0000) would cut it short here, where
	 * strings are C strings: refused, never truncated. */
	for (size_t off = 0; off < (size_t)(end - text); off++) {
		size_t at = off;
		bool nul = text[off] == '\0';
		if (text[off] == '\\' && off + 1 < len) {
			nul = text[off + 1] == 'u' && off + 5 < len &&
			      strncmp(text + off + 2, "0000", 4) == 0;
			off++; /* the escaped character */
		}
		if (nul) {
			json_where(text, len, at, err, errlen,
			           "a NUL character (\\u0000) in a string, "
			           "which agora's text cannot hold");
			cJSON_Delete(doc);
			return AGORA_EPROTO;
		}
	}
	/* Only white space may follow the value. */
	for (size_t off = (size_t)(end - text); off < len; off++) {
		if (text[off] != ' ' && text[off] != '\n' &&
		    text[off] != '\t' && text[off] != '\r' &&
		    text[off] != '\0') {
			json_where(text, len, off, err, errlen,
			           "unexpected text after the JSON value");
			cJSON_Delete(doc);
			return AGORA_EPROTO;
		}
	}
	if (json_depth(doc, 1, max_depth) > max_depth) {
		if (err != NULL) {
			snprintf(err, errlen, "nesting deeper than %d levels",
			         max_depth);
		}
		cJSON_Delete(doc);
		return AGORA_EPROTO;
	}
	*docp = (agora_json *)doc;
	return AGORA_OK;
}

agora_err
agora_json_parse_utf8(agora_json **docp, const char *text, size_t len,
                      size_t max_bytes, int max_depth, char *err, size_t errlen)
{
	size_t ok;

	*docp = NULL;
	/* A trailing NUL (a C string's) is the end, not text. */
	while (len > 0 && text[len - 1] == '\0') {
		len--;
	}
	ok = len <= max_bytes ? agora_utf8_valid_prefix(text, len) : len;
	if (ok < len) {
		json_where(text, len, ok, err, errlen,
		           text[ok] == '\0' ? "a NUL byte" : "invalid UTF-8");
		return AGORA_EPROTO;
	}
	return agora_json_parse(docp, text, len, max_bytes, max_depth, err,
	                        errlen);
}

agora_err
agora_json_parse_file(agora_json **docp, const char *path, size_t max_bytes,
                      char *err, size_t errlen)
{
	char inner[256];
	agora_buf b;
	agora_err rv;

	*docp = NULL;
	agora_buf_init(&b, max_bytes);
	rv = agora_buf_read_file(&b, path, err, errlen);
	if (rv == AGORA_OK) {
		rv = agora_json_parse_utf8(
		    docp, b.data != NULL ? b.data : "", b.len, max_bytes,
		    AGORA_JSON_MAX_DEPTH, inner, sizeof(inner));
		if (rv != AGORA_OK && err != NULL) {
			snprintf(err, errlen, "%s: %s", path, inner);
		}
	}
	agora_buf_fini(&b);
	return rv;
}

void
agora_json_free(agora_json *doc)
{
	cJSON_Delete(as_cjson(doc));
}

agora_json_type
agora_json_typeof(const agora_json *j)
{
	const cJSON *c = as_cjson(j);

	if (c == NULL || cJSON_IsNull(c)) {
		return AGORA_JSON_NULL;
	}
	if (cJSON_IsBool(c)) {
		return AGORA_JSON_BOOL;
	}
	if (cJSON_IsNumber(c)) {
		return AGORA_JSON_NUMBER;
	}
	if (cJSON_IsString(c)) {
		return AGORA_JSON_STRING;
	}
	if (cJSON_IsArray(c)) {
		return AGORA_JSON_ARRAY;
	}
	if (cJSON_IsObject(c)) {
		return AGORA_JSON_OBJECT;
	}
	return AGORA_JSON_NULL;
}

const char *
agora_json_type_name(agora_json_type t)
{
	static const char *const names[] = { "null",   "boolean", "number",
		                             "string", "array",   "object" };

	return (unsigned)t < 6 ? names[t] : "unknown";
}

agora_json *
agora_json_get(const agora_json *j, const char *key)
{
	const cJSON *c = as_cjson(j);

	if (c == NULL || !cJSON_IsObject(c)) {
		return NULL;
	}
	return (agora_json *)cJSON_GetObjectItemCaseSensitive(c, key);
}

size_t
agora_json_size(const agora_json *j)
{
	const cJSON *c = as_cjson(j);

	if (c == NULL || !(cJSON_IsArray(c) || cJSON_IsObject(c))) {
		return 0;
	}
	return (size_t)cJSON_GetArraySize(c);
}

agora_json *
agora_json_first(const agora_json *j)
{
	const cJSON *c = as_cjson(j);

	if (c == NULL || !(cJSON_IsArray(c) || cJSON_IsObject(c))) {
		return NULL;
	}
	return (agora_json *)(void *)c->child;
}

agora_json *
agora_json_next(const agora_json *item)
{
	const cJSON *c = as_cjson(item);

	return c != NULL ? (agora_json *)(void *)c->next : NULL;
}

agora_json *
agora_json_at(const agora_json *j, size_t i)
{
	const cJSON *c = as_cjson(j);
	cJSON *item;

	if (c == NULL || !(cJSON_IsArray(c) || cJSON_IsObject(c))) {
		return NULL;
	}
	item = c->child;
	while (item != NULL && i > 0) {
		item = item->next;
		i--;
	}
	return (agora_json *)item;
}

const char *
agora_json_key(const agora_json *j)
{
	const cJSON *c = as_cjson(j);

	return c != NULL ? c->string : NULL;
}

const char *
agora_json_str(const agora_json *j)
{
	const cJSON *c = as_cjson(j);

	return c != NULL && cJSON_IsString(c) ? c->valuestring : NULL;
}

double
agora_json_num(const agora_json *j)
{
	const cJSON *c = as_cjson(j);

	return c != NULL && cJSON_IsNumber(c) ? c->valuedouble : 0.0;
}

bool
agora_json_bool(const agora_json *j)
{
	const cJSON *c = as_cjson(j);

	return c != NULL && cJSON_IsTrue(c);
}

bool
agora_json_int(const agora_json *j, int64_t lo, int64_t hi, int64_t *out)
{
	const cJSON *c = as_cjson(j);
	double d;

	if (c == NULL || !cJSON_IsNumber(c)) {
		return false;
	}
	d = c->valuedouble;
	if (!(d >= (double)lo && d <= (double)hi) || floor(d) != d) {
		return false;
	}
	*out = (int64_t)d;
	return true;
}

agora_err
agora_json_print(const agora_json *j, agora_buf *b)
{
	char *text;
	agora_err rv;

	pthread_once(&json_once, json_install_hooks);
	text = cJSON_PrintUnformatted(as_cjson(j));
	if (text == NULL) {
		return AGORA_EINVAL;
	}
	rv = agora_buf_adds(b, text);
	agora_free(text);
	return rv;
}
