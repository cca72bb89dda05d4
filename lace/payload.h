/* SPDX-License-Identifier: MIT */
/* The structures behind agora_lace_msg and agora_lace_out. Private to
 * lace/. */
#ifndef AGORA_LACE_PAYLOAD_H
#define AGORA_LACE_PAYLOAD_H

#include "frame.h"

struct agora_lace_msg {
	agora_buf bytes; /* the reply as received; the frame points in */
	struct lace_frame frame;
};

struct agora_lace_out {
	agora_buf json;
	agora_lace_array *arrays;
	void **owned; /* the copies agora_lace_out_array made (or NULL) */
	size_t narrays, cap;
};

void lace_out_init(agora_lace_out *o);
void lace_out_fini(agora_lace_out *o);
/* The answer as a payload to encode (lent from o). */
void lace_out_payload(const agora_lace_out *o, agora_lace_payload *p);

#endif
