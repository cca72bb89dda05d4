/* SPDX-License-Identifier: MIT */
/* One-line log records with a UTC timestamp and the pid. A whole line is
 * formatted first and written with one fputs under the stream's lock, so
 * lines from several threads never interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "agora/log.h"

agora_log_level agora_log_threshold = AGORA_LOG_WARN;
static FILE *log_stream;
static bool log_plain;

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

void
agora_log_set_level(agora_log_level level)
{
	agora_log_threshold = level;
}

agora_err
agora_log_parse_level(const char *s, agora_log_level *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++) {
		if (s != NULL && strcmp(s, names[i]) == 0) {
			*out = (agora_log_level)i;
			return AGORA_OK;
		}
	}
	return AGORA_EINVAL;
}

void
agora_log_set_plain(bool plain)
{
	log_plain = plain;
}

void
agora_log_set_stream(FILE *f)
{
	log_stream = f;
}

void
agora_log_write(agora_log_level level, const char *component, const char *fmt,
                ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int rv;
	va_list ap;

	if (log_plain) {
		static const char *const words[] = { "error", "warning", "info",
			                             "debug" };
		n = 0;
		rv = snprintf(line, sizeof(line),
		              "agora: %s: %s: ", words[(unsigned)level & 3u],
		              component);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		rv = snprintf(line + n, sizeof(line) - n,
		              ".%03ldZ pid=%ld %s %s: ", ts.tv_nsec / 1000000,
		              (long)getpid(), level_names[(unsigned)level & 3u],
		              component);
	}
	if (rv > 0 && (size_t)rv < sizeof(line) - n) {
		n += (size_t)rv;
	}
	va_start(ap, fmt);
	rv = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (rv > 0) {
		n += (size_t)rv < sizeof(line) - n - 1 ? (size_t)rv
		                                       : sizeof(line) - n - 2;
	}
	line[n++] = '\n';
	line[n] = '\0';
	fputs(line, log_stream != NULL ? log_stream : stderr);
}
