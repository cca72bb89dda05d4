/* SPDX-License-Identifier: MIT */
/* The LLM client against a real HTTP server (tests/support/fake_llm.c)
 * that speaks the OpenAI streaming protocol and misbehaves on request.
 * Each failure mode is checked with the exact message a user sees. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* What the callbacks saw (they run on the client's thread). */
struct outcome {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	agora_buf text;
	int chunks;
	bool ended;
	agora_err code;
	char message[1024];
	char finish[32];
	agora_llm_usage usage;
};

static void
on_chunk(void *arg, const char *text, size_t len)
{
	struct outcome *o = arg;

	pthread_mutex_lock(&o->lock);
	agora_buf_add(&o->text, text, len);
	o->chunks++;
	pthread_mutex_unlock(&o->lock);
}

static void
on_done(void *arg, const char *finish, const agora_llm_usage *usage)
{
	struct outcome *o = arg;

	pthread_mutex_lock(&o->lock);
	o->ended = true;
	o->code = AGORA_OK;
	snprintf(o->finish, sizeof(o->finish), "%s",
	         finish != NULL ? finish : "");
	o->usage = *usage;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

static void
on_error(void *arg, agora_err code, const char *message)
{
	struct outcome *o = arg;

	pthread_mutex_lock(&o->lock);
	o->ended = true;
	o->code = code;
	snprintf(o->message, sizeof(o->message), "%s", message);
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

static agora_llm *client;

static void
outcome_init(struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->cond, NULL);
	agora_buf_init(&o->text, 0);
	agora_buf_adds(&o->text, "");
}

static void
outcome_wait(struct outcome *o)
{
	pthread_mutex_lock(&o->lock);
	while (!o->ended) {
		pthread_cond_wait(&o->cond, &o->lock);
	}
	pthread_mutex_unlock(&o->lock);
}

static int
setup(void **state)
{
	(void)state;
	(void)t_fake_llm();
	return agora_llm_new(&client) == AGORA_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	agora_llm_free(client);
	return 0;
}

static char *
body_for(const char *model, const char *text, bool stream)
{
	agora_buf b;

	agora_buf_init(&b, 0);
	agora_buf_addf(&b,
	               "{\"model\":\"%s\",\"stream\":%s,\"messages\":"
	               "[{\"role\":\"user\",\"content\":",
	               model, stream ? "true" : "false");
	agora_buf_json_str(&b, text, strlen(text));
	agora_buf_adds(&b, "}]}");
	return agora_buf_steal(&b);
}

/* Run one request to its end. */
static void
run(const char *model, bool stream, agora_llm_endpoint *ep, struct outcome *o)
{
	agora_llm_endpoint def = { 0 };
	agora_llm_handler h = { on_chunk, on_done, on_error, o };
	agora_llm_req *req = NULL;
	char *body = body_for(model, "hello brave new world", stream);

	outcome_init(o);
	if (ep == NULL) {
		def.max_retries = -1;
		ep = &def;
	}
	ep->base_url = t_fake_llm();
	AGORA_PASS(agora_llm_start(client, ep, body, &h, &req));
	outcome_wait(o);
	agora_llm_release(client, req);
	agora_free(body);
}

static void
done(struct outcome *o)
{
	agora_buf_fini(&o->text);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
}

/* An exact message: fmt takes the fake server's base URL, then rest. */
#define expect(fmt, rest) agora_sprintf(fmt, t_fake_llm(), rest)

static void
a_stream_arrives_in_chunks_with_usage(void **state)
{
	struct outcome o;

	(void)state;
	run("echo", true, NULL, &o);
	assert_int_equal(o.code, AGORA_OK);
	assert_string_equal(o.text.data, "hello brave new world");
	assert_int_equal(o.chunks, 4);
	assert_string_equal(o.finish, "stop");
	assert_int_equal(o.usage.prompt_tokens, 7);
	assert_int_equal(o.usage.completion_tokens, 3);
	/* No total_tokens from the server: the sum. */
	assert_int_equal(o.usage.total_tokens, 10);
	done(&o);
}

static void
events_split_merged_or_commented_parse_the_same(void **state)
{
	static const char *const modes[] = { "split", "merged", "comments" };

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct outcome o;
		run(modes[i], true, NULL, &o);
		assert_int_equal(o.code, AGORA_OK);
		assert_string_equal(o.text.data, "hello brave new world");
		assert_int_equal(o.chunks, 4);
		done(&o);
	}
}

/* Per the event-stream spec a leading byte-order mark is not part of the
 * first line; read as one, it made the first event's field name unknown
 * and the first chunk was lost. */
static void
a_byte_order_mark_before_the_first_event(void **state)
{
	struct outcome o;

	(void)state;
	run("bom", true, NULL, &o);
	assert_int_equal(o.code, AGORA_OK);
	assert_string_equal(o.text.data, "hello brave new world");
	assert_int_equal(o.chunks, 4);
	done(&o);
}

/* Servers label streams carelessly: no Content-Type, text/plain, or
 * another case. The type decides when it says event-stream or json (in any
 * case); else the body's first bytes do. Only a case-sensitive
 * "text/event-stream" used to count as a stream. */
static void
a_stream_or_json_whatever_the_content_type(void **state)
{
	static const char *const modes[] = { "notype", "textplain", "mixedcase",
		                             "bom" };

	(void)state;
	for (int i = 0; i < 4; i++) {
		for (int stream = 0; stream < 2; stream++) {
			struct outcome o;
			run(modes[i], stream, NULL, &o);
			if (o.code != AGORA_OK) {
				fail_msg("%s, stream %d: %s", modes[i], stream,
				         o.message);
			}
			assert_string_equal(o.text.data,
			                    "hello brave new world");
			assert_int_equal(o.chunks, stream ? 4 : 1);
			assert_string_equal(o.finish, "stop");
			done(&o);
		}
	}
}

static void
a_plain_reply_works_too(void **state)
{
	struct outcome o;

	(void)state;
	run("echo", false, NULL, &o);
	assert_int_equal(o.code, AGORA_OK);
	assert_string_equal(o.text.data, "hello brave new world");
	assert_int_equal(o.chunks, 1);
	assert_string_equal(o.finish, "stop");
	assert_int_equal(o.usage.prompt_tokens, 7);
	assert_int_equal(o.usage.completion_tokens, 3);
	assert_int_equal(o.usage.total_tokens, 10);
	done(&o);
}

/* With n > 1 a server interleaves the choices' chunks; only index 0 is the
 * turn's reply, and its finish_reason is the reply's. Usage counts every
 * choice, as the server says. */
static void
only_choice_0_is_the_reply(void **state)
{
	(void)state;
	for (int stream = 0; stream < 2; stream++) {
		struct outcome o;
		run("choices2", stream, NULL, &o);
		assert_int_equal(o.code, AGORA_OK);
		assert_string_equal(o.text.data, "first choice");
		assert_string_equal(o.finish, "length");
		assert_int_equal(o.usage.prompt_tokens, 9);
		assert_int_equal(o.usage.completion_tokens, 8);
		assert_int_equal(o.usage.total_tokens, 17);
		done(&o);
	}
}

/* A surrogate pair cut between two chunks ("a\ud83d", "\ude00b") is one
 * character; cJSON rejected the lone escape and the reply failed. */
static void
a_surrogate_pair_split_across_chunks(void **state)
{
	(void)state;
	for (int stream = 0; stream < 2; stream++) {
		struct outcome o;
		run("surrogates", stream, NULL, &o);
		if (o.code != AGORA_OK) {
			fail_msg("stream %d: %s", stream, o.message);
		}
		assert_string_equal(o.text.data, "a\xf0\x9f\x98\x80"
		                                 "b");
		assert_string_equal(o.finish, "stop");
		done(&o);
	}
}

/* A surrogate that never gets its partner is U+FFFD, wherever it is. */
static void
a_lone_surrogate_is_a_replacement_character(void **state)
{
	(void)state;
	for (int stream = 0; stream < 2; stream++) {
		struct outcome o;
		run("lonesurrogates", stream, NULL, &o);
		if (o.code != AGORA_OK) {
			fail_msg("stream %d: %s", stream, o.message);
		}
		assert_string_equal(o.text.data, "x\xef\xbf\xbdy\xef\xbf\xbdz"
		                                 "\xef\xbf\xbd");
		done(&o);
	}
}

/* agora's text is C strings: a NUL in the content ("\u0000") is U+FFFD,
 * never the end of the text (it cut the reply short). */
static void
a_nul_in_the_text_is_a_replacement_character(void **state)
{
	(void)state;
	for (int stream = 0; stream < 2; stream++) {
		struct outcome o;
		run("nul", stream, NULL, &o);
		assert_int_equal(o.code, AGORA_OK);
		assert_string_equal(o.text.data, "a\xef\xbf\xbd"
		                                 "b\xef\xbf\xbd");
		assert_int_equal(o.text.len, 8);
		done(&o);
	}
}

/* A reply cut by max_tokens says so, with the server's usage, streamed
 * (usage in a last chunk with no choices) or not. */
static void
a_reply_cut_by_max_tokens_reports_length_and_usage(void **state)
{
	(void)state;
	for (int stream = 0; stream < 2; stream++) {
		struct outcome o;
		run("length", stream, NULL, &o);
		assert_int_equal(o.code, AGORA_OK);
		assert_string_equal(o.text.data, "one two");
		assert_string_equal(o.finish, "length");
		assert_int_equal(o.usage.prompt_tokens, 11);
		assert_int_equal(o.usage.completion_tokens, 2);
		assert_int_equal(o.usage.total_tokens, 13);
		done(&o);
	}
}

static void
a_stream_cut_off_mid_reply(void **state)
{
	struct outcome o;
	char *want;

	(void)state;
	run("cut", true, NULL, &o);
	want = expect("stream from %s/chat/completions cut off after 2 "
	              "chunks: %s",
	              "Transferred a partial file");
	assert_int_equal(o.code, AGORA_EHTTP);
	assert_string_equal(o.message, want);
	assert_string_equal(o.text.data, "one two ");
	agora_free(want);
	done(&o);
}

static void
a_stream_without_done(void **state)
{
	struct outcome o;
	char *want;

	(void)state;
	run("nodone", true, NULL, &o);
	want = expect("stream from %s/chat/completions ended before [DONE] "
	              "after 4 chunks%s",
	              "");
	assert_string_equal(o.message, want);
	agora_free(want);
	done(&o);
}

/* Some servers never send [DONE]: a stream that sent its text and a
 * finish_reason, then ended cleanly, is complete. */
static void
a_stream_with_a_finish_reason_but_no_done(void **state)
{
	struct outcome o;

	(void)state;
	run("finishnodone", true, NULL, &o);
	assert_int_equal(o.code, AGORA_OK);
	assert_string_equal(o.text.data, "hello brave new world");
	assert_int_equal(o.chunks, 4);
	assert_string_equal(o.finish, "stop");
	assert_int_equal(o.usage.prompt_tokens, 7);
	assert_int_equal(o.usage.completion_tokens, 3);
	assert_int_equal(o.usage.total_tokens, 10);
	done(&o);
}

static void
a_429_with_retry_after_then_success(void **state)
{
	struct outcome o;
	int64_t t0 = agora_now_ms();

	(void)state;
	run("429once", true, NULL, &o);
	assert_int_equal(o.code, AGORA_OK);
	assert_string_equal(o.text.data, "hello brave new world");
	/* Retry-After: 1 was honoured (a lower bound, not a speed check). */
	assert_true(agora_now_ms() - t0 >= 950);
	done(&o);
}

static void
a_500_is_retried_then_reported(void **state)
{
	agora_llm_endpoint ep = { 0 };
	struct outcome o;
	char *want;

	(void)state;
	run("500once", true, NULL, &o);
	assert_int_equal(o.code, AGORA_OK);
	done(&o);
	ep.max_retries = 2;
	run("500", true, &ep, &o);
	want = expect("HTTP 500 from %s/chat/completions: internal boom%s",
	              " (after 2 retries)");
	assert_int_equal(o.code, AGORA_EHTTP);
	assert_string_equal(o.message, want);
	agora_free(want);
	done(&o);
}

static void
a_body_that_is_not_json(void **state)
{
	struct outcome o;
	char *want;

	(void)state;
	run("notjson", true, NULL, &o);
	want = expect("bad response from %s/chat/completions: not JSON: %s",
	              "this is not json");
	assert_string_equal(o.message, want);
	agora_free(want);
	done(&o);
}

static void
a_garbage_event_in_the_stream(void **state)
{
	struct outcome o;
	char *want;

	(void)state;
	run("badevent", true, NULL, &o);
	want = expect("bad stream event from %s/chat/completions: not JSON: "
	              "%s",
	              "{oops");
	assert_string_equal(o.message, want);
	assert_string_equal(o.text.data, "one ");
	agora_free(want);
	done(&o);
}

static void
an_error_object_in_the_stream(void **state)
{
	struct outcome o;

	(void)state;
	run("errorevent", true, NULL, &o);
	assert_string_equal(o.message,
	                    "the model reported an error: context length "
	                    "exceeded");
	done(&o);
}

/* llama.cpp reports a failure mid-stream as an "error:" line, not data;
 * dropped, it left the user with "ended before [DONE]". */
static void
a_llama_cpp_error_line_in_the_stream(void **state)
{
	struct outcome o;

	(void)state;
	run("llamaerror", true, NULL, &o);
	assert_int_equal(o.code, AGORA_EHTTP);
	assert_string_equal(o.message,
	                    "the model reported an error: the request exceeds "
	                    "the available context size");
	assert_string_equal(o.text.data, "one ");
	done(&o);
}

static void
an_endless_stream_is_stopped_by_the_deadline(void **state)
{
	agora_llm_endpoint ep = { 0 };
	struct outcome o;
	char *want;

	(void)state;
	ep.timeout_ms = 300;
	ep.max_retries = -1;
	run("endless", true, &ep, &o);
	want = expect("no complete reply from %s/chat/completions within 300 "
	              "ms%s",
	              " (the stream was still going)");
	assert_int_equal(o.code, AGORA_ETIMEDOUT);
	assert_string_equal(o.message, want);
	assert_true(o.chunks >= 1);
	agora_free(want);
	done(&o);
}

static void
a_slow_first_byte_waits_or_times_out(void **state)
{
	agora_llm_endpoint ep = { 0 };
	struct outcome o;
	char *want;

	(void)state;
	ep.max_retries = -1;
	run("slow", true, &ep, &o);
	assert_int_equal(o.code, AGORA_OK);
	assert_string_equal(o.text.data, "hello brave new world");
	done(&o);
	ep.timeout_ms = 150;
	run("slow", true, &ep, &o);
	want = expect("no complete reply from %s/chat/completions within 150 "
	              "ms%s",
	              "");
	assert_int_equal(o.code, AGORA_ETIMEDOUT);
	assert_string_equal(o.message, want);
	agora_free(want);
	done(&o);
}

static void
an_unreachable_server_is_retried_then_reported(void **state)
{
	agora_llm_endpoint ep = { 0 };
	agora_llm_handler h = { on_chunk, on_done, on_error, NULL };
	agora_llm_req *req = NULL;
	struct outcome o;

	(void)state;
	outcome_init(&o);
	h.arg = &o;
	ep.base_url = "http://127.0.0.1:1/v1";
	ep.max_retries = 1;
	AGORA_PASS(agora_llm_start(client, &ep, "{\"model\":\"x\"}", &h, &req));
	outcome_wait(&o);
	agora_llm_release(client, req);
	assert_string_equal(
	    o.message, "cannot reach http://127.0.0.1:1/v1/chat/completions: "
	               "Couldn't connect to server (after 1 retry)");
	done(&o);
}

static void
the_key_is_sent_and_never_shown(void **state)
{
	agora_llm_endpoint ep = { 0 };
	struct outcome o;

	(void)state;
	ep.api_key = "sk-wrong-secret";
	ep.max_retries = -1;
	run("auth", true, &ep, &o);
	assert_int_equal(o.code, AGORA_EHTTP);
	assert_non_null(strstr(o.message, "HTTP 401 from"));
	assert_non_null(strstr(o.message, "invalid api key"));
	assert_null(strstr(o.message, "secret"));
	done(&o);
	ep.api_key = "sk-test-secret";
	run("auth", true, &ep, &o);
	assert_int_equal(o.code, AGORA_OK);
	done(&o);
}

/* One request to base_url, logging at debug into a file; the message and
 * the log must not show the URL's password. */
static void
run_hidden(const char *base_url, const char *model, struct outcome *o)
{
	agora_llm_endpoint ep = { 0 };
	agora_llm_handler h = { on_chunk, on_done, on_error, o };
	agora_llm_req *req = NULL;
	char *body = body_for(model, "hi", true);
	FILE *log = tmpfile();
	char line[2048];

	assert_non_null(log);
	agora_log_set_stream(log);
	agora_log_set_level(AGORA_LOG_DEBUG);
	outcome_init(o);
	ep.base_url = base_url;
	ep.max_retries = 1;
	AGORA_PASS(agora_llm_start(client, &ep, body, &h, &req));
	outcome_wait(o);
	agora_llm_release(client, req);
	agora_log_set_stream(NULL);
	agora_log_set_level(AGORA_LOG_WARN);
	rewind(log);
	while (fgets(line, sizeof(line), log) != NULL) {
		assert_null(strstr(line, "sekrit"));
	}
	fclose(log);
	assert_null(strstr(o->message, "sekrit"));
	agora_free(body);
}

static void
a_url_password_is_never_shown(void **state)
{
	/* The fake server's URL with user-info: http://u:sekrit@127.0.0.1:P */
	const char *fake = t_fake_llm();
	char *url = agora_sprintf("http://u:sekrit@%s", fake + 7);
	char *shown = agora_sprintf("http://***@%s", fake + 7);
	char *want;
	struct outcome o;

	(void)state;
	run_hidden(url, "500", &o);
	want = agora_sprintf("HTTP 500 from %s/chat/completions: internal "
	                     "boom (after 1 retry)",
	                     shown);
	assert_string_equal(o.message, want);
	agora_free(want);
	done(&o);
	run_hidden(url, "badevent", &o);
	want = agora_sprintf("bad stream event from %s/chat/completions: not "
	                     "JSON: {oops",
	                     shown);
	assert_string_equal(o.message, want);
	agora_free(want);
	done(&o);
	run_hidden("http://u:sekrit@127.0.0.1:1/v1", "x", &o);
	assert_string_equal(o.message,
	                    "cannot reach http://***@127.0.0.1:1/v1/chat/"
	                    "completions: Couldn't connect to server (after "
	                    "1 retry)");
	done(&o);
	agora_free(url);
	agora_free(shown);
}

/* A header value with CR or LF would add headers of its own. */
static void
a_key_that_would_inject_a_header_is_refused(void **state)
{
	agora_llm_endpoint ep = { 0 };
	agora_llm_handler h = { on_chunk, on_done, on_error, NULL };
	agora_llm_req *req = NULL;

	(void)state;
	ep.base_url = t_fake_llm();
	ep.api_key = "sk-test-secret\r\nX-Evil: 1";
	AGORA_FAIL(agora_llm_start(client, &ep, "{}", &h, &req), AGORA_EINVAL);
	assert_null(req);
	ep.api_key = "sk-test-secret";
	ep.organization = "org\nX-Evil: 1";
	AGORA_FAIL(agora_llm_start(client, &ep, "{}", &h, &req), AGORA_EINVAL);
	assert_null(req);
}

static void
concurrency_is_limited_per_pool(void **state)
{
	enum { N = 6 };
	agora_llm_endpoint ep = { 0 };
	agora_llm_handler h = { on_chunk, on_done, on_error, NULL };
	agora_llm_req *req[N];
	struct outcome o[N];
	char *body = body_for("concurrent", "x", true);
	int most = 0;

	(void)state;
	ep.base_url = t_fake_llm();
	ep.pool = "limited";
	ep.max_concurrency = 2;
	ep.max_retries = -1;
	for (int i = 0; i < N; i++) {
		outcome_init(&o[i]);
		h.arg = &o[i];
		AGORA_PASS(agora_llm_start(client, &ep, body, &h, &req[i]));
	}
	for (int i = 0; i < N; i++) {
		outcome_wait(&o[i]);
		agora_llm_release(client, req[i]);
		assert_int_equal(o[i].code, AGORA_OK);
		int seen = (int)strtol(o[i].text.data, NULL, 10);
		most = seen > most ? seen : most;
		done(&o[i]);
	}
	/* The server never saw more than two at once. */
	assert_true(most >= 1 && most <= 2);
	agora_free(body);
}

static void
cancel_stops_callbacks(void **state)
{
	agora_llm_endpoint ep = { 0 };
	agora_llm_handler h = { on_chunk, on_done, on_error, NULL };
	agora_llm_req *req = NULL;
	struct outcome o;
	char *body = body_for("endless", "x", true);
	int chunks;

	(void)state;
	outcome_init(&o);
	h.arg = &o;
	ep.base_url = t_fake_llm();
	ep.max_retries = -1;
	AGORA_PASS(agora_llm_start(client, &ep, body, &h, &req));
	for (;;) {
		pthread_mutex_lock(&o.lock);
		chunks = o.chunks;
		pthread_mutex_unlock(&o.lock);
		if (chunks >= 2) {
			break;
		}
		agora_sleep_ms(10);
	}
	agora_llm_cancel(client, req);
	pthread_mutex_lock(&o.lock);
	chunks = o.chunks;
	pthread_mutex_unlock(&o.lock);
	agora_sleep_ms(150);
	assert_int_equal(o.chunks, chunks);
	assert_false(o.ended);
	assert_int_equal(agora_llm_active(client), 0);
	agora_free(body);
	done(&o);
}

int
main(void)
{
#define T(name) cmocka_unit_test(name)
	const struct CMUnitTest tests[] = {
		T(a_stream_arrives_in_chunks_with_usage),
		T(events_split_merged_or_commented_parse_the_same),
		T(a_byte_order_mark_before_the_first_event),
		T(a_stream_or_json_whatever_the_content_type),
		T(a_plain_reply_works_too),
		T(only_choice_0_is_the_reply),
		T(a_surrogate_pair_split_across_chunks),
		T(a_lone_surrogate_is_a_replacement_character),
		T(a_nul_in_the_text_is_a_replacement_character),
		T(a_reply_cut_by_max_tokens_reports_length_and_usage),
		T(a_stream_cut_off_mid_reply),
		T(a_stream_without_done),
		T(a_stream_with_a_finish_reason_but_no_done),
		T(a_429_with_retry_after_then_success),
		T(a_500_is_retried_then_reported),
		T(a_body_that_is_not_json),
		T(a_garbage_event_in_the_stream),
		T(an_error_object_in_the_stream),
		T(a_llama_cpp_error_line_in_the_stream),
		T(an_endless_stream_is_stopped_by_the_deadline),
		T(a_slow_first_byte_waits_or_times_out),
		T(an_unreachable_server_is_retried_then_reported),
		T(the_key_is_sent_and_never_shown),
		T(a_url_password_is_never_shown),
		T(a_key_that_would_inject_a_header_is_refused),
		T(concurrency_is_limited_per_pool),
		T(cancel_stops_callbacks),
	};
#undef T
	return cmocka_run_group_tests(tests, setup, teardown);
}
