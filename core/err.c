/* SPDX-License-Identifier: MIT */
/* agora_strerror and agora_errname, generated from AGORA_ERR_MAP. */
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
