/* SPDX-License-Identifier: MIT */
/* agora_strerror, agora_errname and agora_err_parse, generated from
 * AGORA_ERR_MAP. */
#include <string.h>

#include "agora/err.h"

const char *
agora_strerror(agora_err err)
{
	switch (err) {
#define AGORA_ERR_TEXT(name, text) \
	case AGORA_##name:         \
		return text;
		AGORA_ERR_MAP(AGORA_ERR_TEXT)
#undef AGORA_ERR_TEXT
	}
	return "unknown error";
}

const char *
agora_errname(agora_err err)
{
	switch (err) {
#define AGORA_ERR_NAME(name, text) \
	case AGORA_##name:         \
		return #name;
		AGORA_ERR_MAP(AGORA_ERR_NAME)
#undef AGORA_ERR_NAME
	}
	return "EUNKNOWN";
}

agora_err
agora_err_parse(const char *name, agora_err fallback)
{
#define AGORA_ERR_FIND(code, text)                      \
	if (name != NULL && strcmp(name, #code) == 0) { \
		return AGORA_##code;                    \
	}
	AGORA_ERR_MAP(AGORA_ERR_FIND)
#undef AGORA_ERR_FIND
	return fallback;
}
