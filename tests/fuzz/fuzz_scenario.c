/* SPDX-License-Identifier: MIT */
/* libFuzzer: scenario files (and the model configs inside them). */
#include <stdint.h>

#include "agora/agora.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	agora_scenario *s = NULL;
	char err[512];

	if (agora_scenario_parse(&s, "fuzz.json", (const char *)data, size, err,
	                         sizeof(err)) == AGORA_OK) {
		agora_scenario_free(s);
	}
	agora_models_clear();
	return 0;
}
