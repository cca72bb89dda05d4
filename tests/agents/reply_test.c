/* SPDX-License-Identifier: MIT */
/* The reply decoder alone (agents/llm/reply.c, no HTTP): which kind of body
 * a 200 is, by its Content-Type or its first bytes. */
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_content_type_decides_when_it_says),
		cmocka_unit_test(else_the_first_bytes_decide),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
