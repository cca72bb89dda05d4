/* SPDX-License-Identifier: MIT */
/* fake_llm: a small HTTP server that speaks the OpenAI chat-completions
 * protocol, streaming with Server-Sent Events over chunked HTTP/1.1, and
 * misbehaves on request. The request's "model" picks the behaviour:
 *
 *   echo        the last message's words, one chunk each, then usage, [DONE]
 *   request     the raw request body, as one chunk (to inspect prompts)
 *   split       echo, its bytes cut into 3-byte writes
 *   merged      echo, every event in one write
 *   comments    echo with ": keep-alive" comments, event: lines and \r\n
 *   cut         two chunks, then the connection is dropped mid-stream
 *   nodone      echo without finish_reason or [DONE], ended cleanly
 *   finishnodone  "hello brave new world" with finish_reason and usage but
 *               no [DONE], ended cleanly
 *   length      "one two", cut by max_tokens: finish_reason "length", usage
 *               11+2=13 (streamed: in a last chunk with no choices)
 *   bom         echo, the body starting with a UTF-8 byte-order mark
 *   notype      echo with no Content-Type
 *   textplain   echo as Content-Type: text/plain
 *   mixedcase   echo as Content-Type: Text/Event-Stream; charset=utf-8
 *               (with "stream": false, Application/JSON; charset=utf-8)
 *   429once     the first request: 429 with Retry-After: 1; then echo
 *   500once     the first request: 500; then echo
 *   500         always 500 {"error":{"message":"internal boom"}}
 *   notjson     200 text/plain "this is not json"
 *   badevent    one chunk, then "data: {oops"
 *   errorevent  one chunk, then {"error":{"message":"context length exceeded"}}
 *   llamaerror  one chunk, then llama.cpp's line error: {"code":500,...},
 *               ended cleanly
 *   choices2    two choices (n=2) interleaved, index 0 "first choice" cut
 *               by max_tokens ("length"), index 1 "second choice" ("stop")
 *               finishing after it, then usage 9+8=17 in a chunk of its own;
 *               not streamed, the choices listed index 1 first
 *   surrogates  "a\ud83d" then "\ude00b": a UTF-16 surrogate pair cut in two
 *               (Node-based servers do); not streamed, the pair whole
 *   lonesurrogates  "x\ud83d", "y\ude00z", "\ud83d": surrogates that never
 *               pair; not streamed, "x\ud83dy\ude00z\ud83d"
 *   nul         "a\u0000b", "\u0000": NULs in the text, streamed or not
 *   endless     "tick " every 50 ms until the client goes
 *   flood       64 KiB chunks as fast as the client reads, until it goes
 *   slow        wait 400 ms before the headers, then echo
 *   auth        401 unless "Authorization: Bearer sk-test-secret"; then echo
 *   count:N     N chunks "x" as fast as it can (benchmarks)
 *   stamp:N:G   N chunks G ms apart, each the CLOCK_MONOTONIC time (us) it
 *               was sent at (benchmarks of chunk-to-frame latency)
 *   concurrent  waits 100 ms, then answers how many requests it was
 *               serving at once at the peak of this one
 *   guess       "I pick N." with N in [0, 100], a hash of the request
 *               and of how many it served (agora sim's LLM participants)
 *   nonumber    "I would rather not say." (no number in it)
 *
 * With "stream": false, echo and request answer one JSON object.
 * Binds 127.0.0.1:0 and prints "PORT <n>" on stdout. A thread per
 * connection; every response closes its connection but guess's and
 * nonumber's (kept alive, as real servers do). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agora/agora.h"

#define REQ_MAX (8u << 20)

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static int seen_429, seen_500;
static int serving, peak;

struct request {
	int fd;
	agora_buf head;
	agora_buf body;
	agora_json *doc;
	const char *model;
	bool stream;
	const char *type; /* a Content-Type for echo; NULL: the usual */
};

static bool
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static bool
write_str(int fd, const char *s)
{
	return write_all(fd, s, strlen(s));
}

/* The behaviours of agora sim's participants keep their connection, as
 * vLLM and OpenAI do; the others close it after each response. */
static __thread bool keep_alive;

static const char *
connection_header(void)
{
	return keep_alive ? "Connection: keep-alive\r\n"
	                  : "Connection: close\r\n";
}

/* One HTTP chunk. */
static bool
chunk(int fd, const char *data, size_t n)
{
	char size[32];

	snprintf(size, sizeof(size), "%zx\r\n", n);
	return write_str(fd, size) && write_all(fd, data, n) &&
	       write_str(fd, "\r\n");
}

/* The head of a streamed 200; type "" sends no Content-Type. */
static bool
sse_head_typed(int fd, const char *type)
{
	char head[256];

	snprintf(head, sizeof(head),
	         "HTTP/1.1 200 OK\r\n%s%s%sTransfer-Encoding: chunked\r\n"
	         "%s\r\n",
	         type[0] != '\0' ? "Content-Type: " : "", type,
	         type[0] != '\0' ? "\r\n" : "", connection_header());
	return write_str(fd, head);
}

static bool
sse_head(int fd)
{
	return sse_head_typed(fd, "text/event-stream");
}

static void
reply_plain(int fd, int status, const char *type, const char *body,
            const char *extra)
{
	char head[512];

	/* type "" sends no Content-Type. */
	snprintf(head, sizeof(head),
	         "HTTP/1.1 %d X\r\n%s%s%sContent-Length: %zu\r\n"
	         "%s%s\r\n",
	         status, type[0] != '\0' ? "Content-Type: " : "", type,
	         type[0] != '\0' ? "\r\n" : "", strlen(body),
	         extra != NULL ? extra : "", connection_header());
	if (write_str(fd, head)) {
		(void)write_str(fd, body);
	}
}

/* The SSE event text for a delta (or a final chunk when text is NULL). */
static void
event_delta(agora_buf *b, const char *text, size_t n)
{
	agora_buf_adds(b, "data: {\"object\":\"chat.completion.chunk\","
	                  "\"choices\":[{\"index\":0,\"delta\":");
	if (text != NULL) {
		agora_buf_adds(b, "{\"content\":");
		agora_buf_json_str(b, text, n);
		agora_buf_adds(b, "},\"finish_reason\":null}]}\n\n");
	} else {
		agora_buf_adds(b, "{},\"finish_reason\":\"stop\"}]}\n\n");
	}
}

/* The reply text for echo: the content of the last message. */
static const char *
last_content(const struct request *rq)
{
	const agora_json *msgs = agora_json_get(rq->doc, "messages");
	size_t n = agora_json_size(msgs);
	const char *s = n > 0 ? agora_json_str(agora_json_get(
	                            agora_json_at(msgs, n - 1), "content"))
	                      : NULL;

	return s != NULL ? s : "";
}

/* All the events of an echo of text, in b. */
static void
echo_events(agora_buf *b, const char *text, bool finish, bool comments)
{
	const char *p = text;

	while (*p != '\0') {
		size_t n = strcspn(p, " ");
		n += strspn(p + n, " ");
		if (comments) {
			agora_buf_adds(
			    b, ": keep-alive\r\n\r\nevent: message\r\n");
		}
		event_delta(b, p, n);
		p += n;
	}
	if (finish) {
		event_delta(b, NULL, 0);
		agora_buf_adds(b,
		               "data: {\"choices\":[],\"usage\":"
		               "{\"prompt_tokens\":7,\"completion_tokens\":3}}"
		               "\n\n");
		agora_buf_adds(b, "data: [DONE]\n\n");
	}
	if (comments) {
		/* \r\n line ends throughout. */
		agora_buf out;
		agora_buf_init(&out, 0);
		for (size_t i = 0; i < b->len; i++) {
			if (b->data[i] == '\n' &&
			    (i == 0 || b->data[i - 1] != '\r')) {
				agora_buf_add(&out, "\r", 1);
			}
			agora_buf_add(&out, b->data + i, 1);
		}
		agora_buf_reset(b);
		agora_buf_add(b, out.data, out.len);
		agora_buf_fini(&out);
	}
}

static void
serve_echo(struct request *rq, const char *text, int how)
{
	agora_buf b;

	if (!rq->stream) {
		agora_buf_init(&b, 0);
		if (how == 'b') {
			agora_buf_adds(&b, "\xef\xbb\xbf");
		}
		agora_buf_adds(&b,
		               "{\"object\":\"chat.completion\",\"choices\":"
		               "[{\"index\":0,\"message\":{\"role\":"
		               "\"assistant\",\"content\":");
		agora_buf_json_str(&b, text, strlen(text));
		agora_buf_adds(
		    &b, "},\"finish_reason\":\"stop\"}],\"usage\":"
		        "{\"prompt_tokens\":7,\"completion_tokens\":3}}");
		reply_plain(rq->fd, 200,
		            rq->type != NULL ? rq->type : "application/json",
		            b.data, NULL);
		agora_buf_fini(&b);
		return;
	}
	agora_buf_init(&b, 0);
	if (how == 'b') {
		agora_buf_adds(&b, "\xef\xbb\xbf");
	}
	echo_events(&b, text, how != 'n', how == 'c');
	if (!sse_head_typed(rq->fd, rq->type != NULL ? rq->type
	                                             : "text/event-stream")) {
		agora_buf_fini(&b);
		return;
	}
	if (how == 's') { /* split: 3-byte writes */
		for (size_t i = 0; i < b.len; i += 3) {
			size_t n = b.len - i < 3 ? b.len - i : 3;
			if (!chunk(rq->fd, b.data + i, n)) {
				break;
			}
			agora_sleep_ms(1);
		}
	} else if (how == 'm' || how == 'c' || how == 'n') { /* one write */
		(void)chunk(rq->fd, b.data, b.len);
	} else { /* an event per write */
		const char *p = b.data;
		while (p != NULL && *p != '\0') {
			const char *end = strstr(p, "\n\n");
			size_t n =
			    end != NULL ? (size_t)(end - p) + 2 : strlen(p);
			if (!chunk(rq->fd, p, n)) {
				break;
			}
			p += n;
		}
	}
	(void)write_str(rq->fd, "0\r\n\r\n");
	agora_buf_fini(&b);
}

static void
serve_broken(struct request *rq, const char *m)
{
	agora_buf b;

	agora_buf_init(&b, 0);
	if (!sse_head(rq->fd)) {
		agora_buf_fini(&b);
		return;
	}
	event_delta(&b, "one ", 4);
	if (strcmp(m, "cut") == 0) {
		event_delta(&b, "two ", 4);
		(void)chunk(rq->fd, b.data, b.len);
		/* Drop the connection: no final chunk. */
		shutdown(rq->fd, SHUT_RDWR);
	} else if (strcmp(m, "badevent") == 0) {
		agora_buf_adds(&b, "data: {oops\n\n");
		(void)chunk(rq->fd, b.data, b.len);
		(void)write_str(rq->fd, "0\r\n\r\n");
	} else if (strcmp(m, "llamaerror") == 0) {
		/* llama.cpp's server (server_sent_event(sink, "error", ...)) */
		agora_buf_adds(&b, "error: {\"code\":500,\"message\":\"the "
		                   "request exceeds the available context "
		                   "size\",\"type\":\"server_error\"}\n\n");
		(void)chunk(rq->fd, b.data, b.len);
		(void)write_str(rq->fd, "0\r\n\r\n");
	} else { /* errorevent */
		agora_buf_adds(&b, "data: {\"error\":{\"message\":\"context "
		                   "length exceeded\",\"code\":400}}\n\n");
		(void)chunk(rq->fd, b.data, b.len);
		(void)write_str(rq->fd, "0\r\n\r\n");
	}
	agora_buf_fini(&b);
}

/* Canned replies, written as raw text so a test gets exactly the bytes a
 * real server sent, escapes included: the stream (an event a write) and the
 * reply with "stream": false. */
#define DELTA(i, text)                                                         \
	"data: {\"choices\":[{\"index\":" #i ",\"delta\":{\"content\":\"" text \
	"\"},\"finish_reason\":null}]}\n\n"
#define FINISH(i, why)                                        \
	"data: {\"choices\":[{\"index\":" #i ",\"delta\":{}," \
	"\"finish_reason\":\"" why "\"}]}\n\n"
#define USAGE(p, c, t)                                        \
	"{\"prompt_tokens\":" #p ",\"completion_tokens\":" #c \
	",\"total_tokens\":" #t "}"
#define USAGE_EVENT(p, c, t) \
	"data: {\"choices\":[],\"usage\":" USAGE(p, c, t) "}\n\n"
#define DONE "data: [DONE]\n\n"

/* Two choices in one chunk, index 1 first. */
#define DELTA_1_0(text1, text0)                                            \
	"data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"" text1 \
	"\"}},{\"index\":0,\"delta\":{\"content\":\"" text0 "\"}}]}\n\n"
#define MESSAGE(i, text, why)                                      \
	"{\"index\":" #i                                           \
	",\"message\":{\"role\":\"assistant\",\"content\":\"" text \
	"\"},\"finish_reason\":\"" why "\"}"

struct canned {
	const char *model;
	const char *events;
	const char *plain;
};

/* clang-format off */
static const struct canned canned[] = {
	{ "choices2",
	  DELTA(0, "first ")
	  DELTA(1, "second ")
	  DELTA_1_0("choice", "choice")
	  FINISH(0, "length")
	  FINISH(1, "stop")
	  USAGE_EVENT(9, 8, 17)
	  DONE,
	  "{\"choices\":[" MESSAGE(1, "second choice", "stop") ","
	  MESSAGE(0, "first choice", "length") "],"
	  "\"usage\":" USAGE(9, 8, 17) "}" },
	{ "surrogates",
	  DELTA(0, "a\\ud83d")
	  DELTA(0, "\\ude00b")
	  FINISH(0, "stop")
	  DONE,
	  "{\"choices\":[" MESSAGE(0, "a\\ud83d\\ude00b", "stop") "]}" },
	{ "lonesurrogates",
	  DELTA(0, "x\\ud83d")
	  DELTA(0, "y\\ude00z")
	  DELTA(0, "\\ud83d")
	  FINISH(0, "stop")
	  DONE,
	  "{\"choices\":[" MESSAGE(0, "x\\ud83dy\\ude00z\\ud83d", "stop")
	  "]}" },
	{ "finishnodone",
	  DELTA(0, "hello ")
	  DELTA(0, "brave ")
	  DELTA(0, "new ")
	  DELTA(0, "world")
	  FINISH(0, "stop")
	  USAGE_EVENT(7, 3, 10),
	  NULL },
	{ "length",
	  DELTA(0, "one ")
	  DELTA(0, "two")
	  FINISH(0, "length")
	  USAGE_EVENT(11, 2, 13)
	  DONE,
	  "{\"choices\":[" MESSAGE(0, "one two", "length") "],"
	  "\"usage\":" USAGE(11, 2, 13) "}" },
	{ "nul",
	  DELTA(0, "a\\u0000b")
	  DELTA(0, "\\u0000")
	  FINISH(0, "stop")
	  DONE,
	  "{\"choices\":[" MESSAGE(0, "a\\u0000b\\u0000", "stop") "]}" },
};
/* clang-format on */

static const struct canned *
canned_find(const char *model)
{
	for (size_t i = 0; i < sizeof(canned) / sizeof(canned[0]); i++) {
		if (strcmp(canned[i].model, model) == 0) {
			return &canned[i];
		}
	}
	return NULL;
}

static void
serve_canned(struct request *rq, const struct canned *c)
{
	const char *p = c->events;

	if (!rq->stream) {
		if (c->plain != NULL) {
			reply_plain(rq->fd, 200, "application/json", c->plain,
			            NULL);
		} else {
			reply_plain(rq->fd, 400, "application/json",
			            "{\"error\":{\"message\":\"stream only\"}}",
			            NULL);
		}
		return;
	}
	if (!sse_head(rq->fd)) {
		return;
	}
	while (*p != '\0') {
		const char *end = strstr(p, "\n\n");
		size_t n = end != NULL ? (size_t)(end - p) + 2 : strlen(p);
		if (!chunk(rq->fd, p, n)) {
			return;
		}
		p += n;
	}
	(void)write_str(rq->fd, "0\r\n\r\n");
}

/* n chunks gap_ms apart: "x", or with stamp the CLOCK_MONOTONIC time (us)
 * each was sent at. */
static void
serve_ticks(struct request *rq, long n, long gap_ms, bool stamp)
{
	agora_buf b;
	char text[32] = "x";

	agora_buf_init(&b, 0);
	if (!sse_head(rq->fd)) {
		agora_buf_fini(&b);
		return;
	}
	for (long i = 0; i < n; i++) {
		agora_sleep_ms(gap_ms);
		agora_buf_reset(&b);
		if (stamp) {
			snprintf(text, sizeof(text), "%lld ",
			         (long long)agora_now_us());
		}
		event_delta(&b, text, strlen(text));
		if (!chunk(rq->fd, b.data, b.len)) {
			agora_buf_fini(&b);
			return;
		}
	}
	agora_buf_reset(&b);
	event_delta(&b, NULL, 0);
	agora_buf_adds(&b, "data: [DONE]\n\n");
	(void)chunk(rq->fd, b.data, b.len);
	(void)write_str(rq->fd, "0\r\n\r\n");
	agora_buf_fini(&b);
}

static bool
first_time(int *counter)
{
	bool first;

	pthread_mutex_lock(&seen_lock);
	first = (*counter)++ == 0;
	pthread_mutex_unlock(&seen_lock);
	return first;
}

static void
serve(struct request *rq)
{
	const char *m = rq->model != NULL ? rq->model : "echo";

	if (canned_find(m) != NULL) {
		serve_canned(rq, canned_find(m));
	} else if (strcmp(m, "request") == 0) {
		serve_echo(rq, rq->body.data, 'm');
	} else if (strcmp(m, "split") == 0) {
		serve_echo(rq, last_content(rq), 's');
	} else if (strcmp(m, "merged") == 0) {
		serve_echo(rq, last_content(rq), 'm');
	} else if (strcmp(m, "comments") == 0) {
		serve_echo(rq, last_content(rq), 'c');
	} else if (strcmp(m, "nodone") == 0) {
		serve_echo(rq, last_content(rq), 'n');
	} else if (strcmp(m, "bom") == 0) {
		serve_echo(rq, last_content(rq), 'b');
	} else if (strcmp(m, "notype") == 0 || strcmp(m, "textplain") == 0 ||
	           strcmp(m, "mixedcase") == 0) {
		rq->type = m[0] == 'n'   ? ""
		           : m[0] == 't' ? "text/plain"
		           : rq->stream  ? "Text/Event-Stream; charset=utf-8"
		                         : "Application/JSON; charset=utf-8";
		serve_echo(rq, last_content(rq), 'e');
	} else if (strcmp(m, "cut") == 0 || strcmp(m, "badevent") == 0 ||
	           strcmp(m, "errorevent") == 0 ||
	           strcmp(m, "llamaerror") == 0) {
		serve_broken(rq, m);
	} else if (strcmp(m, "429once") == 0 && first_time(&seen_429)) {
		reply_plain(rq->fd, 429, "application/json",
		            "{\"error\":{\"message\":\"slow down\"}}",
		            "Retry-After: 1\r\n");
	} else if ((strcmp(m, "500once") == 0 && first_time(&seen_500)) ||
	           strcmp(m, "500") == 0) {
		reply_plain(rq->fd, 500, "application/json",
		            "{\"error\":{\"message\":\"internal boom\"}}",
		            NULL);
	} else if (strcmp(m, "notjson") == 0) {
		reply_plain(rq->fd, 200, "text/plain", "this is not json",
		            NULL);
	} else if (strcmp(m, "flood") == 0) {
		agora_buf b;
		char *big = agora_malloc(65537);
		memset(big, 'f', 65536);
		big[65536] = '\0';
		agora_buf_init(&b, 0);
		event_delta(&b, big, 65536);
		if (sse_head(rq->fd)) {
			while (chunk(rq->fd, b.data, b.len)) {
			}
		}
		agora_buf_fini(&b);
		agora_free(big);
	} else if (strcmp(m, "endless") == 0) {
		agora_buf b;
		agora_buf_init(&b, 0);
		event_delta(&b, "tick ", 5);
		if (sse_head(rq->fd)) {
			while (chunk(rq->fd, b.data, b.len)) {
				agora_sleep_ms(50);
			}
		}
		agora_buf_fini(&b);
	} else if (strcmp(m, "auth") == 0 &&
	           strstr(rq->head.data,
	                  "\r\nAuthorization: Bearer sk-test-secret\r\n") ==
	               NULL) {
		reply_plain(rq->fd, 401, "application/json",
		            "{\"error\":{\"message\":\"invalid api key\"}}",
		            NULL);
	} else if (strcmp(m, "concurrent") == 0) {
		char text[32];
		int mine;
		pthread_mutex_lock(&seen_lock);
		mine = ++serving;
		peak = 0;
		pthread_mutex_unlock(&seen_lock);
		agora_sleep_ms(100);
		pthread_mutex_lock(&seen_lock);
		mine = serving > mine ? serving : mine;
		serving--;
		pthread_mutex_unlock(&seen_lock);
		snprintf(text, sizeof(text), "%d", mine);
		serve_echo(rq, text, 'e');
	} else if (strcmp(m, "guess") == 0) {
		keep_alive = true;
		static atomic_uint served;
		char text[32];
		uint32_t h = 2166136261u ^ atomic_fetch_add(&served, 1);
		for (size_t i = 0; i < rq->body.len; i++) {
			h = (h ^ (unsigned char)rq->body.data[i]) * 16777619u;
		}
		snprintf(text, sizeof(text), "I pick %u.", h % 101);
		serve_echo(rq, text, 'e');
	} else if (strcmp(m, "nonumber") == 0) {
		keep_alive = true;
		serve_echo(rq, "I would rather not say.", 'e');
	} else if (strncmp(m, "stamp:", 6) == 0) {
		char *end = NULL;
		long n = strtol(m + 6, &end, 10);
		long gap =
		    end != NULL && *end == ':' ? strtol(end + 1, NULL, 10) : 1;
		serve_ticks(rq, n, gap, true);
	} else if (strncmp(m, "count:", 6) == 0) {
		serve_ticks(rq, strtol(m + 6, NULL, 10), 0, false);
	} else {
		if (strcmp(m, "slow") == 0) {
			agora_sleep_ms(400);
		}
		serve_echo(rq, last_content(rq), 'e');
	}
}

static const char *
find_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay != '\0'; hay++) {
		if (strncasecmp(hay, needle, n) == 0) {
			return hay;
		}
	}
	return NULL;
}

/* Read the head and the body (Content-Length). */
static bool
read_request(struct request *rq)
{
	char buf[65536];
	char *end;
	size_t want = 0;

	for (;;) {
		ssize_t n = recv(rq->fd, buf, sizeof(buf), 0);
		if (n <= 0 ||
		    agora_buf_add(&rq->head, buf, (size_t)n) != AGORA_OK) {
			return false;
		}
		end = strstr(rq->head.data, "\r\n\r\n");
		if (end != NULL) {
			break;
		}
	}
	{
		const char *cl =
		    find_nocase(rq->head.data, "\r\ncontent-length:");
		size_t have = rq->head.len - (size_t)(end + 4 - rq->head.data);
		if (cl != NULL) {
			want = strtoul(cl + 17, NULL, 10);
		}
		agora_buf_add(&rq->body, end + 4, have);
		end[2] = '\0'; /* keep the head's last \r\n for searching */
		rq->head.len = (size_t)(end + 2 - rq->head.data);
	}
	while (rq->body.len < want) {
		ssize_t n = recv(rq->fd, buf, sizeof(buf), 0);
		if (n <= 0 ||
		    agora_buf_add(&rq->body, buf, (size_t)n) != AGORA_OK) {
			return false;
		}
	}
	return true;
}

/* Serve one request; true if the connection stays open for another. */
static bool
connection_one(int fd)
{
	struct request rq = { 0 };
	bool read;

	rq.fd = fd;
	keep_alive = false;
	agora_buf_init(&rq.head, 1u << 16);
	agora_buf_init(&rq.body, REQ_MAX);
	read = read_request(&rq);
	if (read &&
	    agora_json_parse(&rq.doc, rq.body.data != NULL ? rq.body.data : "",
	                     rq.body.len, REQ_MAX, 64, NULL, 0) == AGORA_OK) {
		rq.model = agora_json_str(agora_json_get(rq.doc, "model"));
		rq.stream = agora_json_bool(agora_json_get(rq.doc, "stream"));
		serve(&rq);
	} else if (read) {
		reply_plain(rq.fd, 400, "application/json",
		            "{\"error\":{\"message\":\"bad request\"}}", NULL);
	}
	agora_json_free(rq.doc);
	agora_buf_fini(&rq.head);
	agora_buf_fini(&rq.body);
	return read && keep_alive;
}

static void *
connection(void *arg)
{
	int fd = (int)(intptr_t)arg, one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (connection_one(fd)) {
	}
	close(fd);
	return NULL;
}

int
main(void)
{
	struct sockaddr_in a = { 0 };
	socklen_t alen = sizeof(a);
	pthread_attr_t attr;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;

	signal(SIGPIPE, SIG_IGN);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(s, 4096) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &alen) != 0) {
		perror("fake_llm");
		return 1;
	}
	printf("PORT %d\n", ntohs(a.sin_port));
	fflush(stdout);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256u << 10);
	for (;;) {
		pthread_t t;
		int fd = accept(s, NULL, NULL);
		if (fd < 0) {
			continue;
		}
		if (pthread_create(&t, &attr, connection,
		                   (void *)(intptr_t)fd) != 0) {
			close(fd);
		}
	}
}
