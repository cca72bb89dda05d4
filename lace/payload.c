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

agora_err
agora_lace_out_array(agora_lace_out *o, const agora_lace_array *a,
                     size_t *index)
{
	if (a == NULL || o->narrays >= LACE_MAX_ARRAYS) {
		return AGORA_EINVAL;
	}
	if (o->narrays == o->cap) {
		o->cap = o->cap > 0 ? o->cap * 2 : 4;
		o->arrays = agora_realloc(o->arrays, o->cap * sizeof(*a));
	}
	o->arrays[o->narrays] = *a;
	if (index != NULL) {
		*index = o->narrays;
	}
	o->narrays++;
	return AGORA_OK;
}
