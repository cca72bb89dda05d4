/* SPDX-License-Identifier: MIT */
/* libFuzzer: the lace frame decoder (lace/frame.c), which reads frames from
 * untrusted peers, LZ4-compressed array sections included. A frame that
 * decodes has every array byte and its JSON read, then goes round: built
 * again with lace_enc_build (packed and not), decoded again (aligned and
 * not), and must come back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "frame.h"

#define FUZZ_MAX (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned
touch(const void *p, size_t n)
{
	const unsigned char *b = p;
	unsigned sum = 0;

	for (size_t i = 0; i < n; i++) {
		sum += b[i];
	}
	return sum;
}

static void
same(const agora_lace_payload *a, const agora_lace_payload *b)
{
	if (a->json_len != b->json_len ||
	    memcmp(a->json, b->json, a->json_len) != 0 ||
	    a->narrays != b->narrays) {
		abort();
	}
	for (size_t i = 0; i < a->narrays; i++) {
		const agora_lace_array *x = &a->arrays[i], *y = &b->arrays[i];
		size_t n = agora_lace_array_bytes(x);
		if (x->dtype != y->dtype || x->ndim != y->ndim ||
		    memcmp(x->shape, y->shape, x->ndim * sizeof(x->shape[0])) !=
		        0 ||
		    n != agora_lace_array_bytes(y) ||
		    (n > 0 && memcmp(x->data, y->data, n) != 0)) {
			abort();
		}
	}
}

/* p built again (packed or not), laid at offset `skew` of a fresh buffer,
 * decoded, and compared. */
static void
round_trip(const agora_lace_payload *p, bool compress, size_t skew)
{
	struct lace_enc e;
	struct lace_frame g;
	char err[256];
	unsigned char *buf;
	size_t len, at = skew;

	agora_err rv = lace_enc_build(&e, "\"op\":\"fuzz\"", p, compress, err,
	                              sizeof(err));

	if (rv == AGORA_ETOOBIG) {
		/* Shapes written short ("1e15") can come back longer than
		 * the envelope's limit; nothing else may fail. */
		lace_enc_fini(&e);
		return;
	}
	if (rv != AGORA_OK) {
		abort();
	}
	len = lace_enc_len(&e);
	buf = agora_malloc(len + skew);
	for (size_t i = 0; i < e.niov; i++) {
		memcpy(buf + at, e.iov[i].data, e.iov[i].len);
		at += e.iov[i].len;
	}
	if (lace_frame_decode(&g, buf + skew, len, FUZZ_MAX, err,
	                      sizeof(err)) != AGORA_OK) {
		abort();
	}
	if (lace_head_str(&g, "op") == NULL ||
	    strcmp(lace_head_str(&g, "op"), "fuzz") != 0) {
		abort();
	}
	same(p, &g.payload);
	lace_frame_fini(&g);
	agora_free(buf);
	lace_enc_fini(&e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lace_frame f;
	char err[256];
	volatile unsigned sink = 0;

	if (lace_frame_decode(&f, data, size, FUZZ_MAX, err, sizeof(err)) !=
	    AGORA_OK) {
		return 0;
	}
	sink += touch(f.payload.json, f.payload.json_len);
	for (size_t i = 0; i < f.payload.narrays; i++) {
		const agora_lace_array *a = &f.payload.arrays[i];
		sink += touch(a->data, agora_lace_array_bytes(a));
	}
	(void)lace_head_str(&f, "op");
	round_trip(&f.payload, false, 0);
	round_trip(&f.payload, true, 0);
	round_trip(&f.payload, false, 3);
	round_trip(&f.payload, true, 5);
	lace_frame_fini(&f);
	(void)sink;
	return 0;
}
