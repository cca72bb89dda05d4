/* SPDX-License-Identifier: MIT */
/* Element types and n-dimensional arrays: names as numpy spells them
 * ("float32"...), element sizes, and element and byte counts that refuse
 * to overflow. No array is ever allocated here. */
#include <string.h>

#include "agora/lace.h"

static const struct {
	const char *name;
	size_t size;
} dtype_table[AGORA_LACE_NDTYPES] = {
	[AGORA_LACE_F32] = { "float32", 4 },
	[AGORA_LACE_F64] = { "float64", 8 },
	[AGORA_LACE_I32] = { "int32", 4 },
	[AGORA_LACE_I64] = { "int64", 8 },
	[AGORA_LACE_U8] = { "uint8", 1 },
};

const char *
agora_lace_dtype_name(agora_lace_dtype t)
{
	if ((unsigned)t >= AGORA_LACE_NDTYPES) {
		return NULL;
	}
	return dtype_table[t].name;
}

agora_err
agora_lace_dtype_parse(const char *name, agora_lace_dtype *t)
{
	if (name == NULL || t == NULL) {
		return AGORA_EINVAL;
	}
	for (unsigned i = 0; i < AGORA_LACE_NDTYPES; i++) {
		if (strcmp(name, dtype_table[i].name) == 0) {
			*t = (agora_lace_dtype)i;
			return AGORA_OK;
		}
	}
	return AGORA_EINVAL;
}

size_t
agora_lace_dtype_size(agora_lace_dtype t)
{
	if ((unsigned)t >= AGORA_LACE_NDTYPES) {
		return 0;
	}
	return dtype_table[t].size;
}

size_t
agora_lace_array_count(const agora_lace_array *a)
{
	size_t n = 1;

	if (a == NULL || a->ndim > AGORA_LACE_MAX_DIM) {
		return 0;
	}
	for (uint32_t i = 0; i < a->ndim; i++) {
#if SIZE_MAX < UINT64_MAX
		if (a->shape[i] > SIZE_MAX) {
			return 0;
		}
#endif
		if (a->shape[i] != 0 && n > SIZE_MAX / (size_t)a->shape[i]) {
			return 0;
		}
		n *= (size_t)a->shape[i];
	}
	return n;
}

size_t
agora_lace_array_bytes(const agora_lace_array *a)
{
	size_t n = agora_lace_array_count(a);
	size_t size;

	if (n == 0) {
		return 0;
	}
	size = agora_lace_dtype_size(a->dtype);
	if (size == 0 || n > SIZE_MAX / size) {
		return 0;
	}
	return n * size;
}
