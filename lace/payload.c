/* SPDX-License-Identifier: MIT */
/* Payloads on either side of a call: a reply a client holds (its bytes and
 * the frame read from them) and the answer a server callback builds. */
#include <string.h>

#include "agora/alloc.h"
#include "payload.h"

const agora_lace_payload *
agora_lace_msg_payload(const agora_lace_msg *m)
{
	return &m->frame.payload;
}

const agora_lace_array *
agora_lace_msg_array(const agora_lace_msg *m, size_t i)
{
	return i < m->frame.payload.narrays ? &m->frame.arrays[i] : NULL;
}

void
agora_lace_msg_free(agora_lace_msg *m)
{
	if (m == NULL) {
		return;
	}
	lace_frame_fini(&m->frame);
	agora_buf_fini(&m->bytes);
	agora_free(m);
}

void
lace_out_init(agora_lace_out *o)
{
	memset(o, 0, sizeof(*o));
	agora_buf_init(&o->json, 0);
}

void
lace_out_fini(agora_lace_out *o)
{
	for (size_t i = 0; i < o->narrays; i++) {
		agora_free(o->owned[i]);
	}
	agora_free(o->owned);
	agora_buf_fini(&o->json);
	agora_free(o->arrays);
	memset(o, 0, sizeof(*o));
}

void
lace_out_payload(const agora_lace_out *o, agora_lace_payload *p)
{
	p->json = o->json.data;
	p->json_len = o->json.len;
	p->arrays = o->arrays;
	p->narrays = o->narrays;
}

agora_err
agora_lace_out_json(agora_lace_out *o, const char *json, size_t len)
{
	agora_json *doc = NULL;

	if (json == NULL ||
	    agora_json_parse(&doc, json, len, len, AGORA_JSON_MAX_DEPTH, NULL,
	                     0) != AGORA_OK) {
		return AGORA_EINVAL;
	}
	agora_json_free(doc);
	agora_buf_reset(&o->json);
	return agora_buf_add(&o->json, json, len);
}

/* One more array in o (its data as given). */
static agora_err
out_add(agora_lace_out *o, const agora_lace_array *a, const void *data,
        size_t *index)
{
	if (o->narrays == o->cap) {
		o->cap = o->cap > 0 ? o->cap * 2 : 4;
		o->arrays = agora_realloc(o->arrays, o->cap * sizeof(*a));
		o->owned = agora_realloc(o->owned, o->cap * sizeof(void *));
	}
	o->arrays[o->narrays] = *a;
	o->arrays[o->narrays].data = data;
	o->owned[o->narrays] = NULL;
	if (index != NULL) {
		*index = o->narrays;
	}
	o->narrays++;
	return AGORA_OK;
}

agora_err
agora_lace_out_array(agora_lace_out *o, const agora_lace_array *a,
                     size_t *index)
{
	size_t bytes;
	void *copy;
	agora_err rv;

	if (a == NULL || o->narrays >= LACE_MAX_ARRAYS ||
	    agora_lace_dtype_name(a->dtype) == NULL ||
	    a->ndim > AGORA_LACE_MAX_DIM) {
		return AGORA_EINVAL;
	}
	bytes = agora_lace_array_bytes(a);
	if ((bytes == 0 && agora_lace_array_count(a) != 0) ||
	    (bytes > 0 && a->data == NULL)) {
		return AGORA_EINVAL;
	}
	/* The answer is built after the callback returns: its arrays may
	 * have lived on its stack. */
	copy = agora_malloc(bytes > 0 ? bytes : 1);
	if (bytes > 0) {
		memcpy(copy, a->data, bytes);
	}
	rv = out_add(o, a, copy, index);
	o->owned[o->narrays - 1] = copy;
	return rv;
}

agora_err
agora_lace_out_array_lent(agora_lace_out *o, const agora_lace_array *a,
                          size_t *index)
{
	if (a == NULL || o->narrays >= LACE_MAX_ARRAYS) {
		return AGORA_EINVAL;
	}
	return out_add(o, a, a->data, index);
}
