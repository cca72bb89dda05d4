/* SPDX-License-Identifier: MIT */
/* The reply decoder alone (agents/llm/reply.c, no HTTP): which kind of body
 * a 200 is, by its Content-Type or its first bytes; which choice is the
 * reply; its usage and finish_reason; surrogates, NULs and invalid UTF-8
 * in the text (and text.c alone). */
#include <string.h>

#include "../../agents/llm/reply.h"
#include "../../agents/llm/text.h"
#include "test.h"

/* A chunk whose delta.content is the JSON string text (escapes as sent). */
#define CHUNK(text)                                                       \
	"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" text \
	"\"}}]}\n\n"
#define NOTEXT "data: {\"choices\":[{\"delta\":{}}]}\n\n"
#define DONE   "data: [DONE]\n\n"
#define FFFD   "\xef\xbf\xbd"

/* Sniff text fed a byte at a time, as a slow server would send it. */
static enum llm_body
sniff_bytewise(const char *text)
{
	size_t n = strlen(text), from = 0;
	enum llm_body kind = LLM_BODY_UNKNOWN;

	for (size_t i = 1; i <= n && kind == LLM_BODY_UNKNOWN; i++) {
		kind = llm_body_sniff(text, i, &from);
	}
	return kind;
}

static void
the_content_type_decides_when_it_says(void **state)
{
	(void)state;
	assert_int_equal(llm_body_from_type("text/event-stream"), LLM_BODY_SSE);
	assert_int_equal(llm_body_from_type("Text/Event-Stream; charset=utf-8"),
	                 LLM_BODY_SSE);
	assert_int_equal(llm_body_from_type("application/json"), LLM_BODY_JSON);
	assert_int_equal(llm_body_from_type("APPLICATION/JSON;charset=UTF-8"),
	                 LLM_BODY_JSON);
	assert_int_equal(llm_body_from_type(NULL), LLM_BODY_UNKNOWN);
	assert_int_equal(llm_body_from_type("text/plain"), LLM_BODY_UNKNOWN);
	/* Only the media type counts, not its parameters. */
	assert_int_equal(llm_body_from_type("text/plain; x=json"),
	                 LLM_BODY_UNKNOWN);
}

static void
else_the_first_bytes_decide(void **state)
{
	static const struct {
		const char *text;
		enum llm_body kind;
	} cases[] = {
		{ "{\"choices\":[]}", LLM_BODY_JSON },
		{ "\n\r\n \t{}", LLM_BODY_JSON },
		{ "\xef\xbb\xbf{}", LLM_BODY_JSON },
		{ "\xef\xbb\xbf\n data: x", LLM_BODY_SSE },
		{ "data: {}\n\n", LLM_BODY_SSE },
		{ "data:{}", LLM_BODY_SSE },
		{ "event: message\n", LLM_BODY_SSE },
		{ ": keep-alive\n\n", LLM_BODY_SSE },
		{ "id: 1\n", LLM_BODY_SSE },
		{ "retry: 100\n", LLM_BODY_SSE },
		{ "this is not json", LLM_BODY_OTHER },
		{ "<html>", LLM_BODY_OTHER },
		{ "[1]", LLM_BODY_OTHER },
		{ "datum: x", LLM_BODY_OTHER },
		{ "\xef\xbb{}", LLM_BODY_OTHER }, /* half a BOM */
		{ "dat", LLM_BODY_UNKNOWN },      /* too few bytes yet */
		{ "  \n", LLM_BODY_UNKNOWN },
		{ "\xef\xbb", LLM_BODY_UNKNOWN },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t from = 0;
		const char *t = cases[i].text;
		if (llm_body_sniff(t, strlen(t), &from) != cases[i].kind ||
		    sniff_bytewise(t) != cases[i].kind) {
			fail_msg("case %zu (%s)", i, t);
		}
	}
}

/* What a decoder passed on and kept. */
struct decoded {
	agora_buf text;
	int pieces;
	bool ok;       /* every feed (or the plain body) was taken */
	bool complete; /* llm_reply_complete at the end */
	char finish[32];
	agora_llm_usage usage;
	char error[512];
};

static void
on_text(void *arg, const char *text, size_t len)
{
	struct decoded *d = arg;

	assert_int_equal(strlen(text), len);
	agora_buf_add(&d->text, text, len);
	d->pieces++;
}

static void
decoded_init(struct decoded *d)
{
	memset(d, 0, sizeof(*d));
	agora_buf_init(&d->text, 0);
	agora_buf_adds(&d->text, "");
	d->ok = true;
}

static void
decoded_keep(struct decoded *d, struct llm_reply *r)
{
	d->complete = llm_reply_complete(r);
	memcpy(d->finish, r->finish, sizeof(d->finish));
	d->usage = r->usage;
	memcpy(d->error, r->error, sizeof(d->error));
	llm_reply_fini(r);
}

/* A stream fed in pieces of the given size (0: whole). */
static void
decode_stream(const char *stream, size_t piece, struct decoded *d)
{
	struct llm_reply r;
	size_t n = strlen(stream);

	decoded_init(d);
	llm_reply_init(&r, "URL", on_text, d);
	piece = piece == 0 ? n : piece;
	for (size_t i = 0; i < n && d->ok; i += piece) {
		d->ok = llm_reply_feed(&r, stream + i,
		                       n - i < piece ? n - i : piece);
	}
	decoded_keep(d, &r);
}

static void
decode_plain(const char *body, size_t n, struct decoded *d)
{
	struct llm_reply r;

	decoded_init(d);
	llm_reply_init(&r, "URL", on_text, d);
	d->ok = llm_reply_plain(&r, body, n);
	decoded_keep(d, &r);
}

/* A body whose Content-Type does not say is held until its first bytes
 * do, then streamed or kept whole; bytes may come one at a time. */
static void
a_body_is_held_until_its_kind_is_known(void **state)
{
	static const char sse[] = "\xef\xbb\xbf\r\n" CHUNK("hi") DONE;
	static const char json[] =
	    "\xef\xbb\xbf {\"choices\":[{\"message\":{\"content\":\"hi\"}}]}";
	struct decoded d;
	struct llm_reply r;

	(void)state;
	decoded_init(&d);
	llm_reply_init(&r, "URL", on_text, &d);
	llm_reply_begin(&r, true, "text/plain");
	for (size_t i = 0; i < sizeof(sse) - 1; i++) {
		assert_true(llm_reply_body(&r, sse + i, 1));
	}
	assert_int_equal(r.kind, LLM_BODY_SSE);
	assert_true(llm_reply_complete(&r));
	assert_string_equal(d.text.data, "hi");
	llm_reply_reset(&r);
	agora_buf_reset(&d.text);
	llm_reply_begin(&r, true, NULL);
	for (size_t i = 0; i < sizeof(json) - 1; i++) {
		assert_true(llm_reply_body(&r, json + i, 1));
	}
	assert_int_equal(r.kind, LLM_BODY_JSON);
	assert_int_equal(r.raw.len, sizeof(json) - 1);
	assert_true(llm_reply_plain(&r, r.raw.data, r.raw.len));
	assert_string_equal(d.text.data, "hi");
	llm_reply_fini(&r);
	agora_buf_fini(&d.text);
}

static void
a_choice_without_an_index_is_index_0(void **state)
{
	struct decoded d;
	static const char body[] =
	    "{\"choices\":[{\"index\":2,\"message\":{\"content\":\"no\"}},"
	    "{\"message\":{\"content\":\"yes\"},\"finish_reason\":"
	    "\"stop\"}]}";

	(void)state;
	decode_stream("data: {\"choices\":[{\"index\":1,\"delta\":"
	              "{\"content\":\"no\"}},{\"delta\":{\"content\":"
	              "\"a\"}}]}\n\n"
	              "data: {\"choices\":[{\"index\":null,\"delta\":"
	              "{\"content\":\"b\"}}]}\n\n"
	              "data: {\"choices\":[{\"index\":\"0\",\"delta\":"
	              "{\"content\":\"no\"}}]}\n\n"
	              "data: {\"choices\":[{\"index\":1,\"delta\":{},"
	              "\"finish_reason\":\"stop\"}]}\n\n",
	              0, &d);
	assert_true(d.ok);
	assert_string_equal(d.text.data, "ab");
	assert_false(d.complete); /* index 1's finish is not the reply's */
	agora_buf_fini(&d.text);
	decode_plain(body, sizeof(body) - 1, &d);
	assert_true(d.ok);
	assert_string_equal(d.text.data, "yes");
	assert_string_equal(d.finish, "stop");
	agora_buf_fini(&d.text);
}

/* "error": null is no error, streamed or not; any other error is. */
static void
an_error_member_that_is_null_is_no_error(void **state)
{
	static const char ok[] =
	    "{\"error\":null,\"choices\":[{\"message\":{\"content\":\"a\"}}]}";
	static const char bad[] = "{\"error\":{\"message\":\"no\"}}";
	struct decoded d;

	(void)state;
	decode_plain(ok, sizeof(ok) - 1, &d);
	assert_true(d.ok);
	assert_string_equal(d.text.data, "a");
	agora_buf_fini(&d.text);
	decode_stream("data: {\"error\":null,\"choices\":[{\"delta\":"
	              "{\"content\":\"a\"}}]}\n\n",
	              0, &d);
	assert_true(d.ok);
	assert_string_equal(d.text.data, "a");
	agora_buf_fini(&d.text);
	decode_plain(bad, sizeof(bad) - 1, &d);
	assert_false(d.ok);
	assert_string_equal(d.error, "the model reported an error: no");
	agora_buf_fini(&d.text);
}

/* Node-based servers cut a surrogate pair between two chunks. */
static void
a_split_surrogate_pair_is_joined_at_any_feed_size(void **state)
{
	const char *stream = CHUNK("a\\ud83d") CHUNK("\\ude00b") DONE;

	(void)state;
	for (size_t piece = 0; piece <= strlen(stream); piece++) {
		struct decoded d;
		decode_stream(stream, piece, &d);
		assert_true(d.ok);
		assert_true(d.complete);
		assert_string_equal(d.text.data, "a\xf0\x9f\x98\x80"
		                                 "b");
		assert_int_equal(d.pieces, 2); /* "a", then the rest */
		agora_buf_fini(&d.text);
	}
}

static void
surrogates_in_every_position(void **state)
{
	static const struct {
		const char *stream;
		const char *text;
	} cases[] = {
		/* Never paired: U+FFFD, also at the end of the reply. */
		{ CHUNK("x\\ud83d") CHUNK("y\\ude00z") CHUNK("\\uD83D") DONE,
		  "x" FFFD "y" FFFD "z" FFFD },
		/* A chunk without text between the halves. */
		{ CHUNK("a\\ud83d") NOTEXT CHUNK("\\ude00") DONE,
		  "a\xf0\x9f\x98\x80" },
		/* Two highs, then a low: the first is alone. */
		{ CHUNK("\\ud83d\\ud83d") CHUNK("\\ude00") DONE,
		  FFFD "\xf0\x9f\x98\x80" },
		/* A pair in one string is cJSON's; an escaped backslash is
		 * not an escape. */
		{ CHUNK("\\ud83d\\ude00|\\\\ud83d") DONE,
		  "\xf0\x9f\x98\x80|\\ud83d" },
		/* The finish_reason ends the text: a held high is U+FFFD. */
		{ CHUNK("a\\ud83d") "data: {\"choices\":[{\"delta\":{},"
		                    "\"finish_reason\":\"stop\"}]}\n\n",
		  "a" FFFD },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct decoded d;
		decode_stream(cases[i].stream, 0, &d);
		if (!d.ok || strcmp(d.text.data, cases[i].text) != 0) {
			fail_msg("case %zu: %s", i,
			         d.ok ? d.text.data : d.error);
		}
		agora_buf_fini(&d.text);
	}
}

/* A NUL would end the C string: as an escape or raw (not JSON, but cJSON
 * takes it), streamed or not, it is U+FFFD. */
static void
nuls_are_replacement_characters(void **state)
{
	static const char raw[] = CHUNK("a\0b") DONE;
	static const char plain[] = "{\"choices\":[{\"message\":{\"content\":"
	                            "\"\\u0000a\0\\u0000\\udc00\"}}]}";
	struct decoded d;
	struct llm_reply r;

	(void)state;
	decode_stream(CHUNK("a\\u0000b") CHUNK("\\u0000") DONE, 1, &d);
	assert_true(d.ok);
	assert_string_equal(d.text.data, "a" FFFD "b" FFFD);
	agora_buf_fini(&d.text);
	decoded_init(&d);
	llm_reply_init(&r, "URL", on_text, &d);
	assert_true(llm_reply_feed(&r, raw, sizeof(raw) - 1));
	decoded_keep(&d, &r);
	assert_string_equal(d.text.data, "a" FFFD "b");
	agora_buf_fini(&d.text);
	decode_plain(plain, sizeof(plain) - 1, &d);
	assert_true(d.ok);
	assert_string_equal(d.text.data, FFFD "a" FFFD FFFD FFFD);
	agora_buf_fini(&d.text);
}

/* Usage: the last object wins whole (servers that send it in every
 * chunk count from the start); total_tokens is the server's, else the
 * sum; a null usage changes nothing. finish_reason "" or "null" is none. */
static void
usage_and_finish_reason(void **state)
{
	struct decoded d;

	(void)state;
	decode_stream("data: {\"choices\":[{\"delta\":{\"content\":\"a\"},"
	              "\"finish_reason\":\"null\"}],\"usage\":{"
	              "\"prompt_tokens\":5,\"completion_tokens\":1,"
	              "\"total_tokens\":99}}\n\n"
	              "data: {\"choices\":[{\"delta\":{\"content\":\"b\"},"
	              "\"finish_reason\":\"\"}],\"usage\":{"
	              "\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n"
	              "data: {\"choices\":[],\"usage\":null}\n\n",
	              0, &d);
	assert_true(d.ok);
	assert_string_equal(d.text.data, "ab");
	assert_false(d.complete);
	assert_string_equal(d.finish, "");
	assert_int_equal(d.usage.prompt_tokens, 5);
	assert_int_equal(d.usage.completion_tokens, 2);
	assert_int_equal(d.usage.total_tokens, 7);
	agora_buf_fini(&d.text);
	decode_stream("data: {\"choices\":[{\"delta\":{},\"finish_reason\":"
	              "\"length\"}],\"usage\":{\"prompt_tokens\":-1,"
	              "\"completion_tokens\":1e300,\"total_tokens\":"
	              "\"x\"}}\n\n",
	              0, &d);
	assert_true(d.complete);
	assert_string_equal(d.finish, "length");
	assert_int_equal(d.usage.prompt_tokens, 0); /* nonsense is 0 */
	assert_int_equal(d.usage.completion_tokens, 0);
	assert_int_equal(d.usage.total_tokens, 0);
	agora_buf_fini(&d.text);
}

/* The converter alone: each case's pieces (split at '|'), then the end. */
static void
text_is_made_valid_utf8_across_pieces(void **state)
{
	static const struct {
		const char *pieces;
		const char *text;
	} cases[] = {
		{ "\xe2\x82|\xac", "\xe2\x82\xac" }, /* a character cut short */
		{ "\xed\xa0\xbd\xed\xb8\x80", "\xf0\x9f\x98\x80" }, /* CESU-8 */
		{ "\xed\xa0\xbd|\xed|\xb8|\x80!", "\xf0\x9f\x98\x80!" },
		{ "\xed\xa0\xbd|x", FFFD "x" },
		{ "\xed\xb8\x80", FFFD }, /* a low alone */
		{ "\xe2\x82", FFFD },     /* cut at the end */
		{ "\xed\xa0\xbd|\xed\xb8", FFFD FFFD },
		{ "\xff|a", FFFD "a" },
		{ "\xc0\xaf", FFFD FFFD },                   /* overlong */
		{ "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD }, /* past U+10FFFF */
		{ "\xe2\x28\xa1", FFFD "(" FFFD },
		{ "h\xc3\xa9llo \xe2\x82\xac", "h\xc3\xa9llo \xe2\x82\xac" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct llm_text t;
		agora_buf out;
		const char *p = cases[i].pieces;
		llm_text_init(&t, 1024);
		agora_buf_init(&out, 0);
		agora_buf_adds(&out, "");
		for (;;) {
			size_t n = strcspn(p, "|");
			AGORA_PASS(llm_text_add(&t, p, n, &out));
			if (p[n] == '\0') {
				break;
			}
			p += n + 1;
		}
		AGORA_PASS(llm_text_end(&t, &out));
		if (strcmp(out.data, cases[i].text) != 0 ||
		    !agora_utf8_valid(out.data, out.len)) {
			fail_msg("case %zu", i);
		}
		agora_buf_fini(&out);
		llm_text_fini(&t);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_content_type_decides_when_it_says),
		cmocka_unit_test(else_the_first_bytes_decide),
		cmocka_unit_test(a_body_is_held_until_its_kind_is_known),
		cmocka_unit_test(a_choice_without_an_index_is_index_0),
		cmocka_unit_test(an_error_member_that_is_null_is_no_error),
		cmocka_unit_test(
		    a_split_surrogate_pair_is_joined_at_any_feed_size),
		cmocka_unit_test(surrogates_in_every_position),
		cmocka_unit_test(nuls_are_replacement_characters),
		cmocka_unit_test(usage_and_finish_reason),
		cmocka_unit_test(text_is_made_valid_utf8_across_pieces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
