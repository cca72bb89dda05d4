/* SPDX-License-Identifier: MIT */
/* The allocator: out of memory is logged and aborts (STYLE 2.6), so no
 * caller tests for NULL. The only file allowed raw malloc and free. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/log.h"

static void
alloc_oom(size_t n)
{
	agora_log_write(AGORA_LOG_ERROR, "alloc", "out of memory (%zu bytes)",
	                n);
	abort();
}

void *
agora_malloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL) {
		alloc_oom(n);
	}
	return p;
}

void *
agora_calloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL) {
		alloc_oom(n * size);
	}
	return p;
}

void *
agora_realloc(void *p, size_t n)
{
	void *q = realloc(p, n == 0 ? 1 : n);

	if (q == NULL) {
		alloc_oom(n);
	}
	return q;
}

char *
agora_strdup(const char *s)
{
	return agora_strndup(s, strlen(s));
}

char *
agora_strndup(const char *s, size_t n)
{
	char *p = agora_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
agora_sprintf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		return agora_strdup("");
	}
	p = agora_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
agora_free(void *p)
{
	free(p);
}
