/* SPDX-License-Identifier: MIT */
/* Logging: one line per event on stderr (or a chosen stream),
 * `2026-11-22T10:00:01.123Z pid=412 WARN env: redis timeout after 500 ms`.
 * The level is checked before the arguments are evaluated. Thread-safe. */
#ifndef AGORA_LOG_H
#define AGORA_LOG_H

#include <stdbool.h>
#include <stdio.h>

#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum agora_log_level {
	AGORA_LOG_ERROR,
	AGORA_LOG_WARN,
	AGORA_LOG_INFO,
	AGORA_LOG_DEBUG,
} agora_log_level;

/* Current threshold; lines above it are not formatted at all. */
AGORA_API extern agora_log_level agora_log_threshold;

AGORA_API void agora_log_set_level(agora_log_level level);
/* Parse "error", "warn", "info" or "debug"; AGORA_EINVAL otherwise. */
AGORA_API agora_err agora_log_parse_level(const char *s, agora_log_level *out);
/* Plain lines for a person at a terminal: "agora: warning: comp: text",
 * no timestamp or pid (the agora command uses it at warn and error). */
AGORA_API void agora_log_set_plain(bool plain);
/* Where lines go; NULL means stderr. The stream is borrowed. */
AGORA_API void agora_log_set_stream(FILE *f);

AGORA_API void agora_log_write(agora_log_level level, const char *component,
                               const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define agora_log(level, component, ...)                      \
	((level) <= agora_log_threshold                       \
	     ? agora_log_write(level, component, __VA_ARGS__) \
	     : (void)0)

#ifdef __cplusplus
}
#endif
#endif
