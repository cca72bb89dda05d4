/* SPDX-License-Identifier: MIT */
/* Encoding and checking lace frames (frame.h, docs/lace.md). A frame is
 * read from a peer we do not trust: every length is checked against the
 * bytes that are there before anything is read, and arrays are described
 * by the envelope, never by the application's JSON. */
#include <lz4frame.h>
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "frame.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "lace frames carry arrays in little-endian order");

static const unsigned char lace_magic[4] = { 'A', 'G', 'L', 1 };
static const char lace_zeros[8];
#define FLAG_LZ4 1u

static size_t
align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (unsigned char)(v >> (8 * i));
	}
}

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (unsigned char)(v >> (8 * i));
	}
}

static uint32_t
get32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		v |= (uint32_t)p[i] << (8 * i);
	}
	return v;
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++) {
		v |= (uint64_t)p[i] << (8 * i);
	}
	return v;
}

/* ---- encoding ---------------------------------------------------------- */

static agora_err
iov_add(struct lace_enc *e, const void *p, size_t n)
{
	if (n == 0) {
		return AGORA_OK;
	}
	e->iov[e->niov].data = p;
	e->iov[e->niov].len = n;
	e->niov++;
	return AGORA_OK;
}

/* The arrays as one LZ4 frame into e->packed; false when that is not
 * smaller (then they go as they are). */
static bool
pack(struct lace_enc *e, const agora_lace_payload *p, size_t raw)
{
	LZ4F_preferences_t prefs;
	LZ4F_cctx *cx = NULL;
	size_t cap = LZ4F_HEADER_SIZE_MAX, n, at = 0;
	char *dst;
	bool ok = false;

	memset(&prefs, 0, sizeof(prefs));
	/* Each update's output at once: without it LZ4F_compressBound
	 * counts a whole buffered block (64 KiB) for every call, the bounds
	 * below never fit and nothing under ~170 KiB was ever packed. */
	prefs.autoFlush = 1;
	for (size_t i = 0; i < p->narrays; i++) {
		size_t b = agora_lace_array_bytes(&p->arrays[i]);
		cap += LZ4F_compressBound(align8(b), &prefs);
	}
	cap += LZ4F_compressBound(0, &prefs);
	if (cap > raw + raw / 2 + 4096) {
		cap = raw + raw / 2 + 4096;
	}
	if (LZ4F_isError(LZ4F_createCompressionContext(&cx, LZ4F_VERSION))) {
		goto out;
	}
	dst = agora_malloc(cap);
	n = LZ4F_compressBegin(cx, dst, cap, &prefs);
	if (LZ4F_isError(n)) {
		agora_free(dst);
		goto out;
	}
	at = n;
	for (size_t i = 0; i < p->narrays; i++) {
		size_t b = agora_lace_array_bytes(&p->arrays[i]);
		const agora_lace_array *a = &p->arrays[i];
		if (cap - at < LZ4F_compressBound(b, &prefs) ||
		    LZ4F_isError(n = LZ4F_compressUpdate(cx, dst + at, cap - at,
		                                         a->data, b, NULL))) {
			agora_free(dst);
			goto out;
		}
		at += n;
		if (align8(b) > b) {
			if (cap - at < LZ4F_compressBound(8, &prefs) ||
			    LZ4F_isError(n = LZ4F_compressUpdate(
			                     cx, dst + at, cap - at, lace_zeros,
			                     align8(b) - b, NULL))) {
				agora_free(dst);
				goto out;
			}
			at += n;
		}
	}
	if (cap - at < LZ4F_compressBound(0, &prefs) ||
	    LZ4F_isError(n = LZ4F_compressEnd(cx, dst + at, cap - at, NULL))) {
		agora_free(dst);
		goto out;
	}
	at += n;
	ok = at < raw;
	if (ok) {
		agora_buf_reset(&e->packed);
		ok = agora_buf_add(&e->packed, dst, at) == AGORA_OK;
	}
	agora_free(dst);
out:
	LZ4F_freeCompressionContext(cx);
	return ok;
}

static agora_err
head_arrays(agora_buf *b, const agora_lace_payload *p, size_t *raw, char *err,
            size_t errlen)
{
	agora_err rv = agora_buf_adds(b, "\"a\":[");

	*raw = 0;
	for (size_t i = 0; i < p->narrays && rv == AGORA_OK; i++) {
		const agora_lace_array *a = &p->arrays[i];
		const char *dt = agora_lace_dtype_name(a->dtype);
		size_t bytes = agora_lace_array_bytes(a);
		if (dt == NULL || a->ndim > AGORA_LACE_MAX_DIM ||
		    (bytes == 0 && agora_lace_array_count(a) != 0) ||
		    (bytes > 0 && a->data == NULL)) {
			snprintf(err, errlen,
			         "array %zu: bad dtype, shape or data", i);
			return AGORA_EINVAL;
		}
		rv = agora_buf_addf(b, "%s[\"%s\",[", i > 0 ? "," : "", dt);
		for (uint32_t d = 0; d < a->ndim && rv == AGORA_OK; d++) {
			rv = agora_buf_addf(b, "%s%llu", d > 0 ? "," : "",
			                    (unsigned long long)a->shape[d]);
		}
		if (rv == AGORA_OK) {
			rv = agora_buf_adds(b, "]]");
		}
		*raw += align8(bytes);
	}
	return rv == AGORA_OK ? agora_buf_adds(b, "]}") : rv;
}

/* The header (lengths left for later), the envelope and the body, padded
 * to 8 bytes, into e->front; *raw gets the arrays' unpacked size. */
static agora_err
front_build(struct lace_enc *e, const char *head_members,
            const agora_lace_payload *p, size_t *raw, size_t *head_len,
            char *err, size_t errlen)
{
	static const unsigned char hdr[LACE_HDR_LEN];
	size_t body_len = p->json != NULL ? p->json_len : 0, padded;
	agora_err rv;

	rv = agora_buf_add(&e->front, hdr, sizeof(hdr));
	if (rv == AGORA_OK) {
		rv = agora_buf_addf(&e->front, "{%s%s", head_members,
		                    head_members[0] != '\0' ? "," : "");
	}
	if (rv == AGORA_OK) {
		rv = head_arrays(&e->front, p, raw, err, errlen);
	}
	if (rv != AGORA_OK) {
		return rv;
	}
	*head_len = e->front.len - LACE_HDR_LEN;
	if (*head_len > LACE_MAX_HEAD) {
		snprintf(err, errlen, "envelope of %zu bytes", *head_len);
		return AGORA_ETOOBIG;
	}
	if (body_len > 0) {
		rv = agora_buf_add(&e->front, p->json, body_len);
	}
	padded = align8(e->front.len);
	if (rv == AGORA_OK && padded > e->front.len) {
		rv =
		    agora_buf_add(&e->front, lace_zeros, padded - e->front.len);
	}
	return rv;
}

agora_err
lace_enc_build(struct lace_enc *e, const char *head_members,
               const agora_lace_payload *p, bool compress, char *err,
               size_t errlen)
{
	static const agora_lace_payload none = { 0 };
	unsigned char *hdr;
	size_t raw = 0, head_len = 0;
	bool packed;
	agora_err rv;

	memset(e, 0, sizeof(*e));
	agora_buf_init(&e->front, 0);
	agora_buf_init(&e->packed, 0);
	p = p != NULL ? p : &none;
	if (p->narrays > LACE_MAX_ARRAYS) {
		snprintf(err, errlen, "%zu arrays: at most %d", p->narrays,
		         LACE_MAX_ARRAYS);
		return AGORA_EINVAL;
	}
	if (p->json != NULL && p->json_len > UINT32_MAX) {
		/* The header holds 32 bits: more would be cut, not sent. */
		snprintf(err, errlen, "a body of %zu bytes: at most 4 GiB",
		         p->json_len);
		return AGORA_ETOOBIG;
	}
	rv = front_build(e, head_members, p, &raw, &head_len, err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	packed = compress && raw >= LACE_COMPRESS_MIN && pack(e, p, raw);
	hdr = (unsigned char *)e->front.data;
	memcpy(hdr, lace_magic, 4);
	put32(hdr + 4, packed ? FLAG_LZ4 : 0);
	put32(hdr + 8, (uint32_t)head_len);
	put32(hdr + 12, (uint32_t)(p->json != NULL ? p->json_len : 0));
	put64(hdr + 16, raw);
	put64(hdr + 24, packed ? e->packed.len : raw);

	e->iov = agora_calloc(2 + 2 * p->narrays, sizeof(*e->iov));
	iov_add(e, e->front.data, e->front.len);
	if (packed) {
		iov_add(e, e->packed.data, e->packed.len);
		return AGORA_OK;
	}
	for (size_t i = 0; i < p->narrays; i++) {
		size_t b = agora_lace_array_bytes(&p->arrays[i]);
		iov_add(e, p->arrays[i].data, b);
		iov_add(e, lace_zeros, align8(b) - b);
	}
	return AGORA_OK;
}

size_t
lace_enc_len(const struct lace_enc *e)
{
	size_t n = 0;

	for (size_t i = 0; i < e->niov; i++) {
		n += e->iov[i].len;
	}
	return n;
}

void
lace_enc_fini(struct lace_enc *e)
{
	agora_buf_fini(&e->front);
	agora_buf_fini(&e->packed);
	agora_free(e->iov);
	e->iov = NULL;
	e->niov = 0;
}

/* ---- decoding ---------------------------------------------------------- */

static agora_err
bad(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "malformed lace frame: %s", why);
	return AGORA_EPROTO;
}

/* One descriptor ["dtype", [d0, d1, ...]] into a. */
static agora_err
read_desc(const agora_json *d, agora_lace_array *a, char *err, size_t errlen)
{
	const agora_json *shape = agora_json_at(d, 1);
	const char *dt = agora_json_str(agora_json_at(d, 0));

	if (agora_json_size(d) != 2 || dt == NULL ||
	    agora_lace_dtype_parse(dt, &a->dtype) != AGORA_OK ||
	    agora_json_typeof(shape) != AGORA_JSON_ARRAY ||
	    agora_json_size(shape) > AGORA_LACE_MAX_DIM) {
		return bad(err, errlen, "an array's dtype or shape");
	}
	a->ndim = (uint32_t)agora_json_size(shape);
	for (uint32_t k = 0; k < a->ndim; k++) {
		const agora_json *v = agora_json_at(shape, k);
		double x = agora_json_num(v);
		if (agora_json_typeof(v) != AGORA_JSON_NUMBER || x < 0 ||
		    x > 9007199254740992.0 || x != (double)(uint64_t)x) {
			return bad(err, errlen, "an array's shape");
		}
		a->shape[k] = (uint64_t)x;
	}
	if (agora_lace_array_bytes(a) == 0 && agora_lace_array_count(a) != 0) {
		return bad(err, errlen, "an array's size overflows");
	}
	return AGORA_OK;
}

/* The arrays' section unpacked into f->own (LZ4). */
static agora_err
unpack(struct lace_frame *f, const unsigned char *src, size_t packed,
       size_t raw, char *err, size_t errlen)
{
	LZ4F_dctx *dx = NULL;
	size_t in_at = 0, out_at = 0, hint = 1;

	f->own = agora_malloc(raw > 0 ? raw : 1);
	if (LZ4F_isError(LZ4F_createDecompressionContext(&dx, LZ4F_VERSION))) {
		return AGORA_ESYS;
	}
	while (hint != 0 && in_at < packed) {
		size_t in = packed - in_at, out = raw - out_at;
		hint = LZ4F_decompress(dx, (char *)f->own + out_at, &out,
		                       src + in_at, &in, NULL);
		if (LZ4F_isError(hint)) {
			LZ4F_freeDecompressionContext(dx);
			return bad(err, errlen, "its LZ4 data is corrupt");
		}
		in_at += in;
		out_at += out;
		if (in == 0 && out == 0) {
			break; /* wants more room than the header said */
		}
	}
	LZ4F_freeDecompressionContext(dx);
	if (hint != 0 || in_at != packed || out_at != raw) {
		return bad(err, errlen,
		           "its LZ4 data does not match the sizes it gives");
	}
	return AGORA_OK;
}

static agora_err
read_header(struct lace_hdr *h, const unsigned char *p, size_t len, size_t max,
            char *err, size_t errlen)
{
	if (len < LACE_HDR_LEN || memcmp(p, lace_magic, 3) != 0) {
		return bad(err, errlen, "not a lace frame");
	}
	if (p[3] != lace_magic[3]) {
		snprintf(err, errlen,
		         "lace frame version %u: this end speaks version %u",
		         p[3], lace_magic[3]);
		return AGORA_EPROTO;
	}
	h->flags = get32(p + 4);
	h->head_len = get32(p + 8);
	h->body_len = get32(p + 12);
	h->raw = get64(p + 16);
	h->packed = get64(p + 24);
	if ((h->flags & ~FLAG_LZ4) != 0 || h->head_len > LACE_MAX_HEAD ||
	    h->head_len < 2) {
		return bad(err, errlen, "its header");
	}
	h->at = align8((size_t)LACE_HDR_LEN + h->head_len + h->body_len);
	if (h->at > len || h->packed != len - h->at ||
	    ((h->flags & FLAG_LZ4) == 0 && h->raw != h->packed) ||
	    h->raw % 8 != 0) {
		return bad(err, errlen, "its lengths do not add up");
	}
	if (h->raw > max) {
		snprintf(err, errlen,
		         "lace frame: %llu bytes of arrays, over the limit of "
		         "%zu",
		         (unsigned long long)h->raw, max);
		return AGORA_ETOOBIG;
	}
	return AGORA_OK;
}

/* The envelope: at most LACE_MAX_HEAD bytes of JSON, 16 deep. */
static agora_err
read_head(struct lace_frame *f, const char *p, char *err, size_t errlen)
{
	const agora_json *descs;
	agora_err rv;

	rv = agora_json_parse(&f->head, p + LACE_HDR_LEN, f->h.head_len,
	                      LACE_MAX_HEAD, 16, err, errlen);
	if (rv != AGORA_OK) {
		f->head = NULL;
		return bad(err, errlen, "its envelope is not JSON");
	}
	descs = agora_json_get(f->head, "a");
	if (agora_json_typeof(f->head) != AGORA_JSON_OBJECT ||
	    agora_json_typeof(descs) != AGORA_JSON_ARRAY ||
	    agora_json_size(descs) > LACE_MAX_ARRAYS) {
		return bad(err, errlen, "its envelope");
	}
	return AGORA_OK;
}

/* The body, which must be JSON: the application gets nothing else. */
static agora_err
read_body(struct lace_frame *f, const char *p, char *err, size_t errlen)
{
	const struct lace_hdr *h = &f->h;
	agora_json *body = NULL;
	agora_err rv;

	if (h->body_len == 0) {
		f->payload.json = "null";
		f->payload.json_len = 4;
		return AGORA_OK;
	}
	rv =
	    agora_json_parse(&body, p + LACE_HDR_LEN + h->head_len, h->body_len,
	                     h->body_len, AGORA_JSON_MAX_DEPTH, err, errlen);
	agora_json_free(body);
	f->payload.json = p + LACE_HDR_LEN + h->head_len;
	f->payload.json_len = h->body_len;
	return rv == AGORA_OK ? AGORA_OK : AGORA_EPROTO;
}

/* Each described array, in turn, in the section. */
static agora_err
read_arrays(struct lace_frame *f, const unsigned char *section, char *err,
            size_t errlen)
{
	const struct lace_hdr *h = &f->h;
	const agora_json *descs = agora_json_get(f->head, "a");
	size_t n = agora_json_size(descs), i = 0;
	uint64_t at = 0;

	f->arrays = agora_calloc(n > 0 ? n : 1, sizeof(*f->arrays));
	for (const agora_json *d = agora_json_first(descs); d != NULL;
	     d = agora_json_next(d), i++) {
		agora_lace_array *a = &f->arrays[i];
		size_t b;
		agora_err rv = read_desc(d, a, err, errlen);
		if (rv != AGORA_OK) {
			return rv;
		}
		b = agora_lace_array_bytes(a);
		if (b > h->raw - at || align8(b) > h->raw - at) {
			return bad(err, errlen,
			           "its arrays need more bytes than it has");
		}
		a->data = section + at;
		at += align8(b);
	}
	if (at != h->raw) {
		return bad(err, errlen, "bytes left after its arrays");
	}
	f->payload.arrays = f->arrays;
	f->payload.narrays = n;
	return AGORA_OK;
}

agora_err
lace_frame_open(struct lace_frame *f, const void *data, size_t len, size_t max,
                char *err, size_t errlen)
{
	agora_err rv;

	memset(f, 0, sizeof(*f));
	f->data = data;
	rv = read_header(&f->h, data, len, max, err, errlen);
	if (rv == AGORA_OK) {
		rv = read_head(f, data, err, errlen);
	}
	if (rv != AGORA_OK) {
		lace_frame_fini(f);
	}
	return rv;
}

agora_err
lace_frame_finish(struct lace_frame *f, char *err, size_t errlen)
{
	const struct lace_hdr *h = &f->h;
	const unsigned char *section = f->data + h->at;
	agora_err rv;

	rv = read_body(f, (const char *)f->data, err, errlen);
	if (rv == AGORA_OK && (h->flags & FLAG_LZ4)) {
		rv = unpack(f, section, (size_t)h->packed, (size_t)h->raw, err,
		            errlen);
		section = f->own;
	} else if (rv == AGORA_OK && ((uintptr_t)section & 7) != 0 &&
	           h->raw > 0) {
		/* The bytes came unaligned: arrays must be usable in place. */
		f->own = agora_malloc((size_t)h->raw);
		memcpy(f->own, section, (size_t)h->raw);
		section = f->own;
	}
	if (rv == AGORA_OK) {
		rv = read_arrays(f, section, err, errlen);
	}
	if (rv != AGORA_OK) {
		lace_frame_fini(f);
	}
	return rv;
}

agora_err
lace_frame_decode(struct lace_frame *f, const void *data, size_t len,
                  size_t max, char *err, size_t errlen)
{
	agora_err rv = lace_frame_open(f, data, len, max, err, errlen);

	return rv == AGORA_OK ? lace_frame_finish(f, err, errlen) : rv;
}

void
lace_frame_fini(struct lace_frame *f)
{
	agora_json_free(f->head);
	agora_free(f->arrays);
	agora_free(f->own);
	memset(f, 0, sizeof(*f));
}

const char *
lace_head_str(const struct lace_frame *f, const char *key)
{
	return agora_json_str(agora_json_get(f->head, key));
}
