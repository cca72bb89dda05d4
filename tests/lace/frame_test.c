/* SPDX-License-Identifier: MIT */
/* The lace frame (lace/frame.c) on its own: arrays worth packing are packed
 * and come back the same, and a frame read in two steps has read nothing
 * past its envelope until it is finished (a server checks the token in
 * between). Cases the fuzzer (tests/fuzz/fuzz_lace.c) found go here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "frame.h"
#include "test.h"

/* The pieces in one buffer, at offset skew (a misaligned copy when odd). */
static unsigned char *
flat(const struct lace_enc *e, size_t skew, size_t *len)
{
	unsigned char *buf = agora_malloc(lace_enc_len(e) + skew);
	size_t at = skew;

	for (size_t i = 0; i < e->niov; i++) {
		memcpy(buf + at, e->iov[i].data, e->iov[i].len);
		at += e->iov[i].len;
	}
	*len = lace_enc_len(e);
	return buf;
}

static void
compressible_arrays_are_packed_and_come_back(void **state)
{
	static double w[2048];
	static const char hello[] = "hello";
	agora_lace_array a[2] = {
		{ .dtype = AGORA_LACE_F64, .ndim = 2, .shape = { 32, 64 } },
		{ .dtype = AGORA_LACE_U8, .ndim = 1, .shape = { 5 } },
	};
	agora_lace_payload p = {
		.json = "{\"v\":1}", .json_len = 7, .arrays = a, .narrays = 2
	};
	struct lace_enc e;
	struct lace_frame f;
	unsigned char *buf;
	size_t len;
	char err[256];

	(void)state;
	for (int i = 0; i < 2048; i++) {
		w[i] = (double)(i % 17) * 0.5;
	}
	a[0].data = w;
	a[1].data = hello;
	AGORA_PASS(
	    lace_enc_build(&e, "\"op\":\"x\"", &p, true, err, sizeof(err)));
	buf = flat(&e, 3, &len);
	/* Before the fix LZ4F_compressBound counted a whole 64 KiB block per
	 * call, the bounds never fitted and nothing this size was packed. */
	assert_int_equal(buf[3 + 4], 1);
	assert_true(len < sizeof(w));
	AGORA_PASS(
	    lace_frame_decode(&f, buf + 3, len, 1 << 20, err, sizeof(err)));
	assert_int_equal(f.payload.narrays, 2);
	assert_memory_equal(f.payload.arrays[0].data, w, sizeof(w));
	assert_memory_equal(f.payload.arrays[1].data, hello, 5);
	assert_int_equal(f.payload.json_len, 7);
	assert_memory_equal(f.payload.json, "{\"v\":1}", 7);
	lace_frame_fini(&f);
	agora_free(buf);
	lace_enc_fini(&e);
	/* Not asked to: not packed. */
	AGORA_PASS(lace_enc_build(&e, "", &p, false, err, sizeof(err)));
	buf = flat(&e, 0, &len);
	assert_int_equal(buf[4], 0);
	agora_free(buf);
	lace_enc_fini(&e);
}

static void
open_reads_the_envelope_only(void **state)
{
	static unsigned char z[8192];
	agora_lace_array a = { .dtype = AGORA_LACE_U8,
		               .ndim = 1,
		               .shape = { sizeof(z) },
		               .data = z };
	agora_lace_payload p = { .json = "{{{", .json_len = 3 };
	struct lace_enc e;
	struct lace_frame f;
	unsigned char *buf;
	size_t len;
	char err[256];

	(void)state;
	/* A body that is not JSON. */
	AGORA_PASS(lace_enc_build(&e, "\"op\":\"hello\"", &p, false, err,
	                          sizeof(err)));
	buf = flat(&e, 0, &len);
	AGORA_PASS(lace_frame_open(&f, buf, len, 1 << 20, err, sizeof(err)));
	assert_string_equal(lace_head_str(&f, "op"), "hello");
	assert_null(f.payload.json);
	AGORA_FAIL(lace_frame_finish(&f, err, sizeof(err)), AGORA_EPROTO);
	assert_null(f.head); /* finished */
	AGORA_FAIL(lace_frame_decode(&f, buf, len, 1 << 20, err, sizeof(err)),
	           AGORA_EPROTO);
	agora_free(buf);
	lace_enc_fini(&e);
	/* Packed arrays whose LZ4 data is broken: not unpacked by open. */
	p.json = "{}";
	p.json_len = 2;
	p.arrays = &a;
	p.narrays = 1;
	AGORA_PASS(
	    lace_enc_build(&e, "\"op\":\"hello\"", &p, true, err, sizeof(err)));
	buf = flat(&e, 0, &len);
	assert_int_equal(buf[4], 1);
	memset(buf + len - 16, 0xa5, 16);
	AGORA_PASS(lace_frame_open(&f, buf, len, 1 << 20, err, sizeof(err)));
	assert_null(f.own);
	assert_int_equal(f.payload.narrays, 0);
	AGORA_FAIL(lace_frame_finish(&f, err, sizeof(err)), AGORA_EPROTO);
	assert_non_null(strstr(err, "LZ4"));
	/* The header's size checks stay in open: over max is refused there. */
	AGORA_FAIL(lace_frame_open(&f, buf, len, 4096, err, sizeof(err)),
	           AGORA_ETOOBIG);
	agora_free(buf);
	lace_enc_fini(&e);
}

/* The header's body length is 32 bits: a longer body is refused, not
 * sent with its length cut (the bytes are never read). */
static void
a_body_over_4_gib_is_refused(void **state)
{
	agora_lace_payload p = { .json = "{}",
		                 .json_len = (size_t)UINT32_MAX + 1 };
	struct lace_enc e;
	char err[256];

	(void)state;
	AGORA_FAIL(lace_enc_build(&e, "", &p, false, err, sizeof(err)),
	           AGORA_ETOOBIG);
	lace_enc_fini(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compressible_arrays_are_packed_and_come_back),
		cmocka_unit_test(open_reads_the_envelope_only),
		cmocka_unit_test(a_body_over_4_gib_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
