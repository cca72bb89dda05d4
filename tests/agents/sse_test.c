/* SPDX-License-Identifier: MIT */
/* The SSE parser alone: events split across feeds at every byte, several
 * events in one feed, comments, \r\n and \r line ends, multi-line data,
 * a leading byte-order mark, llama.cpp's error lines, and the line cap. */
#include <string.h>

#include "../../agents/llm/sse.h"
#include "test.h"

struct seen {
	agora_buf all; /* "event|data;" per event */
	int n;
};

static int
on_event(void *arg, const char *event, const char *data, size_t len)
{
	struct seen *s = arg;

	agora_buf_addf(&s->all, "%s|%.*s;", event, (int)len, data);
	s->n++;
	return 0;
}

static void
parse_in_pieces(const char *text, size_t piece, struct seen *s)
{
	struct sse_parser p;
	size_t n = strlen(text);

	agora_buf_init(&s->all, 0);
	agora_buf_adds(&s->all, "");
	s->n = 0;
	sse_init(&p, 0, on_event, s);
	for (size_t i = 0; i < n; i += piece) {
		assert_int_equal(
		    sse_feed(&p, text + i, n - i < piece ? n - i : piece), 0);
	}
	sse_fini(&p);
}

static void
events_split_anywhere_come_out_whole(void **state)
{
	const char *text = ": keep-alive\n\n"
	                   "data: {\"a\":1}\n\n"
	                   "event: message\r\ndata: two\r\ndata: lines\r\n\r\n"
	                   "data:no-space\r\r"
	                   "id: 7\nretry: 10\n\n" /* no data: no event */
	                   "data: [DONE]\n\n";
	struct seen whole, bytes;

	(void)state;
	parse_in_pieces(text, strlen(text), &whole);
	assert_string_equal(whole.all.data, "|{\"a\":1};message|two\nlines;"
	                                    "|no-space;|[DONE];");
	for (size_t piece = 1; piece < 8; piece++) {
		parse_in_pieces(text, piece, &bytes);
		assert_string_equal(bytes.all.data, whole.all.data);
		agora_buf_fini(&bytes.all);
	}
	agora_buf_fini(&whole.all);
}

/* One leading U+FEFF is skipped (split across feeds too); a second one, or
 * one later in the stream, is data like any other byte. */
static void
a_leading_byte_order_mark_is_skipped(void **state)
{
	const char *text = "\xef\xbb\xbf"
	                   "data: one\n\n"
	                   "data: \xef\xbb\xbftwo\n\n";
	struct seen s;

	(void)state;
	for (size_t piece = 1; piece <= strlen(text); piece++) {
		parse_in_pieces(text, piece, &s);
		assert_string_equal(s.all.data, "|one;|\xef\xbb\xbftwo;");
		agora_buf_fini(&s.all);
	}
	parse_in_pieces("\xef\xbb\xbf\xef\xbb\xbf"
	                "data: x\n\n",
	                2, &s);
	assert_int_equal(s.n, 0); /* the second mark starts a field name */
	agora_buf_fini(&s.all);
	parse_in_pieces("\xef\xbb"
	                "data: x\n\n",
	                1, &s);
	assert_int_equal(s.n, 0); /* half a mark is not one */
	agora_buf_fini(&s.all);
}

/* llama.cpp's "error: {json}" line is an event named "error" at once, even
 * in the middle of another event, which goes on as it was. */
static void
an_error_line_is_an_event_of_its_own(void **state)
{
	const char *text = "data: one\n"
	                   "error: {\"code\":500}\n"
	                   "data: two\n\n"
	                   "error:\n"
	                   "errors: not this\n\n";
	struct seen s;

	(void)state;
	for (size_t piece = 1; piece <= strlen(text); piece++) {
		parse_in_pieces(text, piece, &s);
		assert_string_equal(s.all.data,
		                    "error|{\"code\":500};|one\ntwo;error|;");
		agora_buf_fini(&s.all);
	}
}

static void
an_unended_event_waits(void **state)
{
	struct seen s;

	(void)state;
	parse_in_pieces("data: half", 4, &s);
	assert_int_equal(s.n, 0);
	agora_buf_fini(&s.all);
}

static void
lines_are_capped(void **state)
{
	struct sse_parser p;
	struct seen s = { 0 };
	char big[300];

	(void)state;
	memset(big, 'x', sizeof(big));
	agora_buf_init(&s.all, 0);
	sse_init(&p, 256, on_event, &s);
	assert_int_equal(sse_feed(&p, "data: ", 6), 0);
	assert_int_equal(sse_feed(&p, big, sizeof(big)), -1);
	sse_fini(&p);
	agora_buf_fini(&s.all);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(events_split_anywhere_come_out_whole),
		cmocka_unit_test(a_leading_byte_order_mark_is_skipped),
		cmocka_unit_test(an_error_line_is_an_event_of_its_own),
		cmocka_unit_test(an_unended_event_waits),
		cmocka_unit_test(lines_are_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
