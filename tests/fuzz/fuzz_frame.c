/* SPDX-License-Identifier: MIT */
/* libFuzzer: the frame decoder and the "<role>: chunk" splitter. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agora/agora.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	agora_frame f;
	char err[256];
	char *text = agora_strndup((const char *)data, size);
	char *role = NULL, *content = NULL;

	if (agora_frame_decode(&f, (const char *)data, size, err,
	                       sizeof(err)) == AGORA_OK) {
		agora_buf b;
		agora_buf_init(&b, 0);
		(void)agora_frame_render(&f, &b);
		(void)agora_frame_json(&f, &b);
		agora_buf_fini(&b);
		agora_frame_fini(&f);
	}
	(void)agora_frame_extract(text, &role, &content);
	agora_free(role);
	agora_free(content);
	agora_free(text);
	return 0;
}
