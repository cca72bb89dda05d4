/* SPDX-License-Identifier: MIT */
/* The reply decoder alone (agents/llm/reply.c, no HTTP): which kind of body
 * a 200 is, by its Content-Type or its first bytes; which choice is the
 * reply. */
#include <string.h>

#include "../../agents/llm/reply.h"
#include "test.h"

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

	memset(d, 0, sizeof(*d));
	agora_buf_init(&d->text, 0);
	agora_buf_adds(&d->text, "");
	d->ok = true;
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

	memset(d, 0, sizeof(*d));
	agora_buf_init(&d->text, 0);
	agora_buf_adds(&d->text, "");
	llm_reply_init(&r, "URL", on_text, d);
	d->ok = llm_reply_plain(&r, body, n);
	decoded_keep(d, &r);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_content_type_decides_when_it_says),
		cmocka_unit_test(else_the_first_bytes_decide),
		cmocka_unit_test(a_choice_without_an_index_is_index_0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
