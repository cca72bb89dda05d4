/* SPDX-License-Identifier: MIT */
/* libFuzzer: model config lists, and resolving each entry inline. */
#include <stdint.h>

#include "agora/agora.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	agora_json *doc = NULL;
	char err[512];

	if (agora_json_parse(&doc, (const char *)data, size, 1u << 16, 32, err,
	                     sizeof(err)) != AGORA_OK) {
		return 0;
	}
	(void)agora_models_load_json(doc, "fuzz", err, sizeof(err));
	for (size_t i = 0; i < agora_json_size(doc); i++) {
		agora_model *m = NULL;
		if (agora_model_resolve(&m, agora_json_at(doc, i), "fuzz", err,
		                        sizeof(err)) == AGORA_OK) {
			agora_model_free(m);
		}
	}
	agora_models_clear();
	agora_json_free(doc);
	return 0;
}
