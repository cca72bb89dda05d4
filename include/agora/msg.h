/* SPDX-License-Identifier: MIT */
/* Messages (DESIGN.md section 2) and their JSON form, the wire and storage
 * form. A message is a plain struct whose strings it owns. */
#ifndef AGORA_MSG_H
#define AGORA_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agora/buf.h"
#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The pseudo-sender of tasks from outside, and the broadcast recipient. */
#define AGORA_USER_REQUIREMENT "user_requirement"
#define AGORA_ALL              "all"

/* Caps on what comes from outside. */
#define AGORA_ROLE_MAX      64         /* bytes in a role name */
#define AGORA_MSG_MAX_BYTES (1u << 20) /* JSON form of one message */
#define AGORA_MSG_MAX_TO    4096       /* recipients in send_to */

/* A list of owned strings. */
typedef struct agora_strv {
	char **v;
	size_t n;
} agora_strv;

AGORA_API void agora_strv_push(agora_strv *sv, const char *s);
AGORA_API bool agora_strv_has(const agora_strv *sv, const char *s);
AGORA_API void agora_strv_clear(agora_strv *sv);
/* Split a comma-separated list ("a,b, c") into sv, skipping empty items. */
AGORA_API void agora_strv_split(agora_strv *sv, const char *csv);

typedef enum agora_msg_role {
	AGORA_ROLE_USER,
	AGORA_ROLE_ASSISTANT,
	AGORA_ROLE_SYSTEM,
} agora_msg_role;

typedef struct agora_msg {
	uint64_t id;        /* 0 until stored; unique and ordered per session */
	char *sent_from;    /* a role or AGORA_USER_REQUIREMENT */
	agora_strv send_to; /* roles, or the single item AGORA_ALL */
	agora_msg_role role; /* chat role */
	char *content;       /* UTF-8, NUL-terminated */
	uint32_t round;
	int64_t ts_ms;    /* wall clock, ms since the epoch */
	char *meta;       /* JSON object text, or NULL */
	bool redelivered; /* set by drain: delivered before, not acked */
	/* Holders beyond the first (agora_msg_ref); a shared message is
	 * read-only. Atomic: holders may be on several threads. */
	uint32_t refs;
} agora_msg;

/* A new message from `from` to the comma-separated `to` (NULL means all).
 * Never fails (OOM aborts). */
AGORA_API agora_msg *agora_msg_new(const char *from, const char *to,
                                   const char *content);
AGORA_API agora_msg *agora_msg_dup(const agora_msg *m);
/* Share m: one more holder, who frees it with agora_msg_free like any
 * other; the last free frees it. A shared message must not be changed (a
 * drain hands the same message to every role it went to). */
AGORA_API agora_msg *agora_msg_ref(agora_msg *m);
AGORA_API void agora_msg_free(agora_msg *m);
AGORA_API const char *agora_msg_role_name(agora_msg_role r);

/* True if name can be a role: 1..AGORA_ROLE_MAX bytes of UTF-8 with no
 * space, control character or any of <>:,"'\/, and not "all" nor
 * "user_requirement". */
AGORA_API bool agora_role_valid(const char *name);

/* Check a message before it is stored: sender and recipients well formed,
 * content valid UTF-8, meta a JSON object. The reason goes to err. */
AGORA_API agora_err agora_msg_validate(const agora_msg *m, char *err,
                                       size_t errlen);

/* Append the JSON form of m to b. With with_id false the id is left out
 * (the store adds it). */
AGORA_API agora_err agora_msg_encode(const agora_msg *m, bool with_id,
                                     agora_buf *b);
/* Decode one message; over AGORA_MSG_MAX_BYTES is AGORA_ETOOBIG, anything
 * malformed AGORA_EPROTO with the reason in err. */
AGORA_API agora_err agora_msg_decode(agora_msg **mp, const char *text,
                                     size_t len, char *err, size_t errlen);

/* A list of owned messages. */
typedef struct agora_msgs {
	agora_msg **v;
	size_t n;
} agora_msgs;

AGORA_API void agora_msgs_push(agora_msgs *ms, agora_msg *m);
AGORA_API void agora_msgs_clear(agora_msgs *ms);

#ifdef __cplusplus
}
#endif
#endif
