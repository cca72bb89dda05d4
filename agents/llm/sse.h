/* SPDX-License-Identifier: MIT */
/* Private: an incremental parser of Server-Sent Events (the WHATWG
 * event-stream format). Bytes go in as they arrive, split anywhere; each
 * complete event comes out through a callback with its data lines joined
 * by "\n". An "error:" line (not in the spec; llama.cpp sends one) is
 * reported at once as an event named "error" whose data is the line's
 * value. Comment lines (":" first) and events without data are skipped;
 * one leading byte-order mark is skipped. Lines are capped, so a peer
 * cannot make it grow without bound. */
#ifndef AGORA_SSE_H
#define AGORA_SSE_H

#include <stddef.h>

#include "agora/buf.h"
#include "agora/err.h"

struct sse_parser {
	agora_buf line;  /* the line being read */
	agora_buf data;  /* data lines of the event being read */
	agora_buf event; /* its event: field */
	int saw_cr;      /* the last byte was \r (a \n after it is skipped) */
	int has_data;
	int bom; /* bytes of a leading BOM seen; -1 past the start */
	/* One complete event. Returning non-zero stops the feed (with that
	 * value from sse_feed). */
	int (*on_event)(void *arg, const char *event, const char *data,
	                size_t len);
	void *arg;
};

/* max_line caps a line and an event's data (0: 1 MiB). */
void sse_init(struct sse_parser *p, size_t max_line,
              int (*on_event)(void *, const char *, const char *, size_t),
              void *arg);
void sse_fini(struct sse_parser *p);
/* Feed bytes. Returns 0, the callback's non-zero value, or -1 when a line
 * or an event is over the cap. */
int sse_feed(struct sse_parser *p, const char *bytes, size_t n);

#endif
