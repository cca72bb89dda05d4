/* SPDX-License-Identifier: MIT */
/* libFuzzer: the SSE parser, fed the input whole and in pieces whose sizes
 * come from the input's first byte; both must give the same events. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agents/llm/sse.h"
#include "agora/agora.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
collect(void *arg, const char *event, const char *text, size_t len)
{
	agora_buf *b = arg;

	(void)agora_buf_addf(b, "%s|", event);
	(void)agora_buf_add(b, text, len);
	(void)agora_buf_add(b, ";", 1);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sse_parser p, q;
	agora_buf whole, pieces;
	size_t step;
	int a, b = 0;

	if (size < 1) {
		return 0;
	}
	step = (size_t)(data[0] % 16) + 1;
	data++;
	size--;
	agora_buf_init(&whole, 0);
	agora_buf_init(&pieces, 0);
	sse_init(&p, 4096, collect, &whole);
	sse_init(&q, 4096, collect, &pieces);
	a = sse_feed(&p, (const char *)data, size);
	for (size_t i = 0; i < size && b == 0; i += step) {
		b = sse_feed(&q, (const char *)data + i,
		             size - i < step ? size - i : step);
	}
	if ((a == 0) != (b == 0) ||
	    (a == 0 && (whole.len != pieces.len ||
	                (whole.len > 0 &&
	                 memcmp(whole.data, pieces.data, whole.len) != 0)))) {
		abort();
	}
	sse_fini(&p);
	sse_fini(&q);
	agora_buf_fini(&whole);
	agora_buf_fini(&pieces);
	return 0;
}
