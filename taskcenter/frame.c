/* SPDX-License-Identifier: MIT */
/* Frames: the text rendering ModelScope users know ("<role>: chunk"), the
 * JSON form for scripts and UIs, and parsing of both (a frame from outside
 * is input like any other: capped and checked). */
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/json.h"
#include "agora/taskcenter.h"

#define FRAME_MAX_BYTES (1u << 20)

static const char *const frame_types[] = { "chunk", "end", "error",
	                                   "awaiting_input" };

const char *
agora_frame_type_name(agora_frame_type t)
{
	return (unsigned)t < 4 ? frame_types[t] : "unknown";
}

agora_err
agora_frame_render(const agora_frame *f, agora_buf *b)
{
	switch (f->type) {
	case AGORA_FRAME_CHUNK:
		return agora_buf_addf(b, "<%s>: %.*s", f->role, (int)f->len,
		                      f->content);
	case AGORA_FRAME_END:
		return agora_buf_addf(b, "<%s>: [end]", f->role);
	case AGORA_FRAME_ERROR:
		return agora_buf_addf(b, "<%s>: [error] %.*s", f->role,
		                      (int)f->len, f->content);
	case AGORA_FRAME_AWAITING_INPUT:
		return agora_buf_addf(b, "<%s>: [awaiting input]", f->role);
	}
	return AGORA_EINVAL;
}

agora_err
agora_frame_json(const agora_frame *f, agora_buf *b)
{
	agora_err rv = agora_buf_adds(b, "{\"role\":");

	if (rv == AGORA_OK) {
		rv = agora_buf_json_str(b, f->role, strlen(f->role));
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_addf(
		    b, ",\"type\":\"%s\",\"seq\":%u,\"round\":%u,\"content\":",
		    agora_frame_type_name(f->type), (unsigned)f->seq,
		    (unsigned)f->round);
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_json_str(b, f->content, f->len);
	}
	if (rv == AGORA_OK && f->finish[0] != '\0') {
		rv = agora_buf_adds(b, ",\"finish_reason\":");
		if (rv == AGORA_OK) {
			rv =
			    agora_buf_json_str(b, f->finish, strlen(f->finish));
		}
	}
	if (rv == AGORA_OK && f->type == AGORA_FRAME_END &&
	    (f->prompt_tokens >= 0 || f->completion_tokens >= 0)) {
		rv = agora_buf_addf(
		    b,
		    ",\"usage\":{\"prompt_tokens\":%lld,"
		    "\"completion_tokens\":%lld,\"total_tokens\":"
		    "%lld}",
		    (long long)f->prompt_tokens,
		    (long long)f->completion_tokens,
		    (long long)f->total_tokens);
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_adds(b, "}");
	}
	return rv;
}

/* An end frame's finish_reason and usage, if it has them. */
static void
frame_decode_usage(agora_frame *f, const agora_json *doc)
{
	const agora_json *u = agora_json_get(doc, "usage");
	const char *finish =
	    agora_json_str(agora_json_get(doc, "finish_reason"));

	f->prompt_tokens = f->completion_tokens = f->total_tokens = -1;
	if (finish != NULL) {
		snprintf(f->finish, sizeof(f->finish), "%s", finish);
	}
	(void)agora_json_int(agora_json_get(u, "prompt_tokens"), 0,
	                     INT64_MAX / 4, &f->prompt_tokens);
	(void)agora_json_int(agora_json_get(u, "completion_tokens"), 0,
	                     INT64_MAX / 4, &f->completion_tokens);
	(void)agora_json_int(agora_json_get(u, "total_tokens"), 0,
	                     INT64_MAX / 4, &f->total_tokens);
}

agora_err
agora_frame_decode(agora_frame *f, const char *text, size_t len, char *err,
                   size_t errlen)
{
	agora_json *doc = NULL;
	const char *role, *type, *content;
	int64_t seq = 0, round = 0;
	char why[160];
	agora_err rv;
	int t = -1;

	memset(f, 0, sizeof(*f));
	rv = agora_json_parse(&doc, text, len, FRAME_MAX_BYTES, 8, why,
	                      sizeof(why));
	if (rv != AGORA_OK) {
		snprintf(err, errlen, "frame: %s", why);
		return rv;
	}
	role = agora_json_str(agora_json_get(doc, "role"));
	type = agora_json_str(agora_json_get(doc, "type"));
	content = agora_json_str(agora_json_get(doc, "content"));
	for (int i = 0; i < 4 && type != NULL; i++) {
		if (strcmp(type, frame_types[i]) == 0) {
			t = i;
		}
	}
	if (role == NULL || !agora_role_valid(role) || t < 0 ||
	    content == NULL ||
	    !agora_json_int(agora_json_get(doc, "seq"), 0, UINT32_MAX, &seq) ||
	    !agora_json_int(agora_json_get(doc, "round"), 0, UINT32_MAX,
	                    &round)) {
		snprintf(
		    err, errlen,
		    "frame: want role (a role name), type (chunk, end, error, "
		    "awaiting_input), seq, round and content");
		agora_json_free(doc);
		return AGORA_EPROTO;
	}
	f->role = agora_strdup(role);
	f->type = (agora_frame_type)t;
	f->seq = (uint32_t)seq;
	f->round = (uint32_t)round;
	f->content = agora_strdup(content);
	f->len = strlen(content);
	frame_decode_usage(f, doc);
	agora_json_free(doc);
	return AGORA_OK;
}

agora_err
agora_frame_extract(const char *text, char **role, char **content)
{
	const char *sep = strstr(text, ": ");
	const char *start = text;
	const char *end;

	*role = NULL;
	*content = NULL;
	if (sep == NULL) {
		return AGORA_EPROTO;
	}
	end = sep;
	if (*start == '<') {
		start++;
	}
	if (end > start && end[-1] == '>') {
		end--;
	}
	*role = agora_strndup(start, (size_t)(end - start));
	*content = agora_strdup(sep + 2);
	return AGORA_OK;
}

void
agora_frame_fini(agora_frame *f)
{
	if (f == NULL) {
		return;
	}
	agora_free(f->role);
	agora_free(f->content);
	memset(f, 0, sizeof(*f));
}
