/* SPDX-License-Identifier: MIT */
/* The lace wire frame (docs/lace.md): a 32-byte header, the envelope (JSON
 * the protocol reads: op, token, names, the arrays' dtypes and shapes), the
 * body (the application's JSON, passed through) and the arrays' raw bytes,
 * each at an 8-byte boundary, optionally LZ4-compressed as one section.
 * Private to lace/. */
#ifndef AGORA_LACE_FRAME_H
#define AGORA_LACE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agora/buf.h"
#include "agora/json.h"
#include "agora/lace.h"
#include "agora/transport.h"

#define LACE_HDR_LEN    32
#define LACE_MAX_ARRAYS 1024
#define LACE_MAX_HEAD   (64u << 10)
/* Arrays smaller than this are not worth compressing. */
#define LACE_COMPRESS_MIN 4096

/* A frame to send, in pieces that the transport copies once into the
 * message: the header, envelope and body in `front`, then each array as
 * it lies in the caller's memory (or the compressed section). */
struct lace_enc {
	agora_buf front;
	agora_buf packed; /* the compressed arrays, when that is smaller */
	agora_iov *iov;
	size_t niov;
};

/* Build a frame: head_members is the envelope's members without braces
 * ("\"op\":\"call\",\"name\":\"f\"", may be ""), body the application's
 * JSON (NULL: none). A bad array (unknown dtype, ndim over the maximum,
 * size overflow, NULL data with bytes) is AGORA_EINVAL. */
agora_err lace_enc_build(struct lace_enc *e, const char *head_members,
                         const agora_lace_payload *p, bool compress, char *err,
                         size_t errlen);
size_t lace_enc_len(const struct lace_enc *e);
void lace_enc_fini(struct lace_enc *e);

/* A frame's header, as read. */
struct lace_hdr {
	uint32_t flags, head_len, body_len;
	uint64_t raw, packed, at; /* at: where the arrays' section starts */
};

/* A frame received: the envelope parsed, the body and arrays pointing into
 * the caller's bytes (which must outlive it) or into `own` when they had to
 * be decompressed or realigned. */
struct lace_frame {
	agora_json *head;
	agora_lace_payload payload;
	agora_lace_array *arrays;
	void *own;
	const unsigned char *data; /* the bytes given */
	struct lace_hdr h;
};

/* Check and read a frame of len bytes; every length is checked against
 * the others and against max (the most the arrays may take unpacked).
 * Anything wrong is AGORA_EPROTO (AGORA_ETOOBIG over max) with the reason
 * in err. */
agora_err lace_frame_decode(struct lace_frame *f, const void *data, size_t len,
                            size_t max, char *err, size_t errlen);
/* The same in two steps, so that a server checks the token before a
 * peer's body and arrays cost it anything (DESIGN.md 11): open reads the
 * header and the envelope only (at most LACE_MAX_HEAD bytes of JSON; the
 * payload is empty), finish the body and the arrays (LZ4 unpacked).
 * Either one fails with f finished. */
agora_err lace_frame_open(struct lace_frame *f, const void *data, size_t len,
                          size_t max, char *err, size_t errlen);
agora_err lace_frame_finish(struct lace_frame *f, char *err, size_t errlen);
void lace_frame_fini(struct lace_frame *f);

/* The envelope's string member key, or NULL. */
const char *lace_head_str(const struct lace_frame *f, const char *key);

#endif
