/* SPDX-License-Identifier: MIT */
/* Answering a request: a request of many ops is answered once, when the
 * last op's result is in. Ops finish on any thread (nng's, a host's, the
 * ticker's), so the count of results still missing is atomic and whoever
 * brings the last one sends the reply. A result is a JSON object; an
 * error is {"ok":false,"code":NAME,"error":TEXT} (docs/protocol.md). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "server_int.h"

struct pending *
pending_new(struct server *srv, agora_request *rq, agora_json *doc, size_t nops)
{
	struct pending *p = agora_calloc(1, sizeof(*p));

	p->srv = srv;
	p->rq = rq;
	p->doc = doc;
	p->nops = nops;
	p->results = agora_calloc(nops == 0 ? 1 : nops, sizeof(char *));
	/* One extra count held while the ops are handed out, so a reply
	 * cannot go before the last op has been looked at. */
	atomic_init(&p->left, nops + 1);
	return p;
}

static void
pending_reply(struct pending *p)
{
	agora_buf out;

	agora_buf_init(&out, 0);
	(void)agora_buf_addf(&out, "{\"v\":%d,\"results\":[",
	                     AGORA_PROTOCOL_VERSION);
	for (size_t i = 0; i < p->nops; i++) {
		(void)agora_buf_addf(&out, "%s%s", i ? "," : "", p->results[i]);
		agora_free(p->results[i]);
	}
	(void)agora_buf_adds(&out, "]}");
	agora_request_reply(p->rq, out.data, out.len);
	agora_buf_fini(&out);
	agora_free(p->results);
	agora_json_free(p->doc);
	agora_free(p);
}

void
pending_release(struct pending *p)
{
	if (atomic_fetch_sub(&p->left, 1) == 1) {
		pending_reply(p);
	}
}

void
srv_result(struct pending *p, size_t i, char *json)
{
	p->results[i] = json;
	pending_release(p);
}

void
srv_error(struct pending *p, size_t i, agora_err code, const char *fmt, ...)
{
	char detail[512];
	agora_buf out;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	agora_buf_init(&out, 0);
	(void)agora_buf_addf(&out, "{\"ok\":false,\"code\":\"%s\",\"error\":",
	                     agora_errname(code));
	(void)agora_buf_json_str(&out, detail, strlen(detail));
	(void)agora_buf_adds(&out, "}");
	srv_result(p, i, agora_buf_steal(&out));
}

void
sweep_done(struct sweep *sw, size_t n)
{
	atomic_fetch_add(&sw->deleted, n);
	if (atomic_fetch_sub(&sw->left, 1) != 1) {
		return;
	}
	srv_result(sw->p, sw->op,
	           agora_sprintf("{\"ok\":true,\"sessions\":%zu,"
	                         "\"deleted\":%zu}",
	                         sw->sessions, atomic_load(&sw->deleted)));
	agora_free(sw);
}

void
envelope_error(agora_request *rq, agora_err code, const char *detail)
{
	agora_buf out;

	agora_buf_init(&out, 0);
	(void)agora_buf_addf(&out, "{\"v\":%d,\"code\":\"%s\",\"error\":",
	                     AGORA_PROTOCOL_VERSION, agora_errname(code));
	(void)agora_buf_json_str(&out, detail, strlen(detail));
	(void)agora_buf_adds(&out, "}");
	agora_request_reply(rq, out.data, out.len);
	agora_buf_fini(&out);
}
