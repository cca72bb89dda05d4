/* SPDX-License-Identifier: MIT */
/* libFuzzer: the message decoder, and encode/decode round trips of
 * whatever it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agora/agora.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	agora_msg *m = NULL, *again = NULL;
	char err[256];
	agora_buf b;

	if (agora_msg_decode(&m, (const char *)data, size, err, sizeof(err)) !=
	    AGORA_OK) {
		return 0;
	}
	agora_buf_init(&b, 0);
	if (agora_msg_validate(m, err, sizeof(err)) == AGORA_OK &&
	    agora_msg_encode(m, true, &b) == AGORA_OK) {
		/* What we write, we must read back the same. */
		if (agora_msg_decode(&again, b.data, b.len, err, sizeof(err)) !=
		        AGORA_OK ||
		    strcmp(again->content, m->content) != 0 ||
		    again->id != m->id) {
			abort();
		}
	}
	agora_msg_free(again);
	agora_msg_free(m);
	agora_buf_fini(&b);
	return 0;
}
