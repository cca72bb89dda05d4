/* SPDX-License-Identifier: MIT */
/* Server-Sent Events, parsed incrementally: a line ends at \n, \r\n or \r
 * (a \r\n split across two feeds is one end); a blank line ends an event;
 * "data:" lines accumulate (one space after the colon is dropped), "event:"
 * names the event, ":" starts a comment, an "error:" line (llama.cpp) is
 * an event named "error" by itself, other fields are ignored. One
 * UTF-8 byte-order mark at the very start is skipped, as the WHATWG
 * event-stream spec says. */
#include <string.h>

#include "sse.h"

void
sse_init(struct sse_parser *p, size_t max_line,
         int (*on_event)(void *, const char *, const char *, size_t), void *arg)
{
	if (max_line == 0) {
		max_line = 1u << 20;
	}
	agora_buf_init(&p->line, max_line);
	agora_buf_init(&p->data, max_line);
	agora_buf_init(&p->event, 256);
	p->saw_cr = 0;
	p->has_data = 0;
	p->bom = 0;
	p->on_event = on_event;
	p->arg = arg;
}

void
sse_fini(struct sse_parser *p)
{
	agora_buf_fini(&p->line);
	agora_buf_fini(&p->data);
	agora_buf_fini(&p->event);
}

static int
sse_dispatch(struct sse_parser *p)
{
	int rv = 0;

	if (p->has_data) {
		rv = p->on_event(
		    p->arg, p->event.data != NULL ? p->event.data : "",
		    p->data.data != NULL ? p->data.data : "", p->data.len);
	}
	agora_buf_reset(&p->data);
	agora_buf_reset(&p->event);
	p->has_data = 0;
	return rv;
}

/* One whole line (without its end). */
static int
sse_line(struct sse_parser *p, const char *s, size_t n)
{
	const char *colon;
	size_t name_len;
	const char *value;
	size_t value_len;

	if (n == 0) {
		return sse_dispatch(p);
	}
	if (s[0] == ':') {
		return 0; /* a comment, often a keep-alive */
	}
	colon = memchr(s, ':', n);
	name_len = colon != NULL ? (size_t)(colon - s) : n;
	value = colon != NULL ? colon + 1 : s + n;
	value_len = colon != NULL ? n - name_len - 1 : 0;
	if (value_len > 0 && value[0] == ' ') {
		value++;
		value_len--;
	}
	if (name_len == 4 && memcmp(s, "data", 4) == 0) {
		if ((p->has_data &&
		     agora_buf_add(&p->data, "\n", 1) != AGORA_OK) ||
		    agora_buf_add(&p->data, value, value_len) != AGORA_OK) {
			return -1;
		}
		p->has_data = 1;
	} else if (name_len == 5 && memcmp(s, "event", 5) == 0) {
		agora_buf_reset(&p->event);
		if (agora_buf_add(&p->event, value, value_len) != AGORA_OK) {
			return -1;
		}
	} else if (name_len == 5 && memcmp(s, "error", 5) == 0) {
		/* Not a field of the spec: llama.cpp's server reports a failure
		 * mid-stream as an "error: {json}" line instead of data. It
		 * goes out at once as an event named "error", on its own,
		 * leaving any event being read as it was. */
		return p->on_event(p->arg, "error", value, value_len);
	}
	return 0;
}

static int
sse_feed_lines(struct sse_parser *p, const char *bytes, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		char c = bytes[i];
		int rv;

		if (c != '\n' && c != '\r') {
			p->saw_cr = 0;
			continue;
		}
		if (c == '\n' && p->saw_cr && i == start && p->line.len == 0) {
			/* The \n of a \r\n whose \r ended the last line. */
			p->saw_cr = 0;
			start = i + 1;
			continue;
		}
		p->saw_cr = c == '\r';
		if (agora_buf_add(&p->line, bytes + start, i - start) !=
		    AGORA_OK) {
			return -1;
		}
		rv = sse_line(p, p->line.data != NULL ? p->line.data : "",
		              p->line.len);
		agora_buf_reset(&p->line);
		start = i + 1;
		if (rv != 0) {
			return rv;
		}
	}
	if (start < n &&
	    agora_buf_add(&p->line, bytes + start, n - start) != AGORA_OK) {
		return -1;
	}
	return 0;
}

/* The byte-order mark may arrive split across feeds, so its bytes are held
 * back until it is whole; if it turns out not to be one, they are fed as
 * the start of the first line. */
int
sse_feed(struct sse_parser *p, const char *bytes, size_t n)
{
	static const char bom[3] = { '\xef', '\xbb', '\xbf' };
	size_t seen;

	if (p->bom < 0 || p->bom >= 3) {
		return sse_feed_lines(p, bytes, n);
	}
	seen = (size_t)p->bom;
	while (seen < sizeof(bom) && n > 0 && bytes[0] == bom[seen]) {
		seen++;
		bytes++;
		n--;
	}
	if (seen < sizeof(bom) && n == 0) {
		p->bom = (int)seen; /* all of it a BOM so far: wait */
		return 0;
	}
	p->bom = -1;
	if (seen < sizeof(bom) && seen > 0) {
		int rv = sse_feed_lines(p, bom, seen); /* it was not one */
		if (rv != 0) {
			return rv;
		}
	}
	return sse_feed_lines(p, bytes, n);
}
