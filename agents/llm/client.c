/* SPDX-License-Identifier: MIT */
/* The LLM client on libcurl's multi interface: the only file that includes
 * curl. One I/O thread owns the multi handle and every easy handle (libcurl
 * handles are not shared between threads); other threads hand it requests
 * and cancellations under the client lock and wake it with
 * curl_multi_wakeup. Callbacks run on the I/O thread with the lock held, so
 * a cancel that has taken the lock knows no callback is running, and one
 * that has returned knows none will.
 *
 * A request is tried again, with jittered exponential backoff or as
 * Retry-After says, while nothing has been streamed: after a connection
 * error, a 429 or a 5xx. Once a chunk is out, a failure is final. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/json.h"
#include "agora/llm.h"
#include "agora/log.h"
#include "agora/url.h"
#include "reply.h"

#define LLM_BACKOFF_MS     250
#define LLM_BACKOFF_CAP_MS 20000

enum req_state { REQ_WAITING, REQ_RUNNING, REQ_BACKOFF, REQ_FINISHED };

struct agora_llm_req {
	struct agora_llm *l;
	enum req_state state;
	bool cancel;
	char *url;      /* base_url + /chat/completions, user-info hidden:
	                 * every message names this one */
	char *url_curl; /* the real URL, user-info and all: curl's only */
	char *body;
	char *pool;
	struct llm_pool *pool_entry; /* its pool's running count */
	char *auth;                  /* "Authorization: Bearer ..." or NULL */
	char *org;
	int max_concurrency;
	int max_retries;
	int attempt;
	int64_t connect_timeout_ms;
	int64_t timeout_ms;
	int64_t deadline; /* monotonic ms */
	int64_t retry_at;
	agora_llm_handler h;
	CURL *easy;
	struct curl_slist *headers;
	/* This attempt. */
	long status;
	bool status_known;
	struct llm_reply reply;     /* the body, and what it said */
	int64_t retry_after_ms;     /* -1: none given */
	struct agora_llm_req *next; /* in the client's list */
};

/* Requests in flight per pool, for max_concurrency: kept as a count so a
 * queue of waiting requests costs nothing to check. */
struct llm_pool {
	char *name;
	int running;
	struct llm_pool *next;
};

struct agora_llm {
	struct llm_pool *pools;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t finished; /* a request finished (for cancel) */
	CURLM *multi;
	bool stopping;
	struct agora_llm_req *reqs; /* not finished */
	size_t nreqs;
	uint64_t rng;
};

static pthread_once_t llm_once = PTHREAD_ONCE_INIT;

static void
llm_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- finishing (lock held) ------------------------------------------- */

/* Every change of state goes through here, to keep the pool counts. */
static void
llm_set_state(struct agora_llm_req *r, enum req_state state)
{
	if (r->state == REQ_RUNNING && state != REQ_RUNNING) {
		r->pool_entry->running--;
	} else if (r->state != REQ_RUNNING && state == REQ_RUNNING) {
		r->pool_entry->running++;
	}
	r->state = state;
}

static struct llm_pool *
llm_pool_find(agora_llm *l, const char *name)
{
	struct llm_pool *p;

	for (p = l->pools; p != NULL; p = p->next) {
		if (strcmp(p->name, name) == 0) {
			return p;
		}
	}
	p = agora_calloc(1, sizeof(*p));
	p->name = agora_strdup(name);
	p->next = l->pools;
	l->pools = p;
	return p;
}

static void
llm_unlink(agora_llm *l, struct agora_llm_req *r)
{
	for (struct agora_llm_req **pp = &l->reqs; *pp != NULL;
	     pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			l->nreqs--;
			break;
		}
	}
	r->next = NULL;
}

static void
llm_drop_easy(agora_llm *l, struct agora_llm_req *r)
{
	if (r->easy != NULL) {
		curl_multi_remove_handle(l->multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	curl_slist_free_all(r->headers);
	r->headers = NULL;
}

/* Finish r; the callback runs last, and r is not touched after it (the
 * owner may free it as soon as the lock is released). */
static void
llm_finish(agora_llm *l, struct agora_llm_req *r, agora_err code,
           const char *message)
{
	agora_llm_handler h = r->h;
	char finish[32];
	agora_llm_usage usage = r->reply.usage;
	bool cancelled = r->cancel;

	memcpy(finish, r->reply.finish, sizeof(finish));
	llm_drop_easy(l, r);
	llm_unlink(l, r);
	llm_set_state(r, REQ_FINISHED);
	pthread_cond_broadcast(&l->finished);
	if (cancelled) {
		return;
	}
	if (code == AGORA_OK) {
		if (h.on_done != NULL) {
			h.on_done(h.arg, finish[0] != '\0' ? finish : NULL,
			          &usage);
		}
	} else if (h.on_error != NULL) {
		h.on_error(h.arg, code, message);
	}
}

static void llm_fail(agora_llm *l, struct agora_llm_req *r, agora_err code,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
llm_fail(agora_llm *l, struct agora_llm_req *r, agora_err code, const char *fmt,
         ...)
{
	char msg[768];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	if (r->attempt > 0 && n < sizeof(msg)) {
		snprintf(msg + n, sizeof(msg) - n, " (after %d %s)", r->attempt,
		         r->attempt == 1 ? "retry" : "retries");
	}
	agora_log(AGORA_LOG_INFO, "llm", "%s", msg);
	llm_finish(l, r, code, msg);
}

/* ---- streaming (inside curl_multi_perform; takes the lock) ------------ */

static void
llm_on_text(void *arg, const char *text, size_t len)
{
	struct agora_llm_req *r = arg;

	if (r->h.on_chunk != NULL) {
		r->h.on_chunk(r->h.arg, text, len);
	}
}

static size_t
llm_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct agora_llm_req *r = arg;
	size_t n = size * nmemb;

	if (!r->status_known) {
		char *type = NULL;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
		curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &type);
		llm_reply_begin(&r->reply, r->status == 200, type);
		r->status_known = true;
	}
	if (r->cancel) {
		return n; /* the I/O loop removes it next */
	}
	return llm_reply_body(&r->reply, data, n) ? n : 0; /* 0 aborts */
}

static size_t
llm_on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct agora_llm_req *r = arg;
	size_t n = size * nmemb;

	if (n > 12 && strncasecmp(data, "retry-after:", 12) == 0) {
		char value[64];
		size_t k = 0;
		for (size_t i = 12; i < n && k + 1 < sizeof(value); i++) {
			if (data[i] != '\r' && data[i] != '\n') {
				value[k++] = data[i];
			}
		}
		value[k] = '\0';
		char *end = NULL;
		long secs = strtol(value, &end, 10);
		if (end != value && secs >= 0) {
			r->retry_after_ms = (int64_t)secs * 1000;
		} else {
			time_t when =
			    curl_getdate(value + strspn(value, " "), NULL);
			if (when > 0) {
				int64_t ms =
				    ((int64_t)when * 1000) - agora_wall_ms();
				r->retry_after_ms = ms > 0 ? ms : 0;
			}
		}
	}
	return n;
}

/* curl calls these during perform, without our lock; take it around
 * anything that reads cancel or calls the owner. */
static size_t
llm_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct agora_llm_req *r = arg;
	size_t rv;

	pthread_mutex_lock(&r->l->lock);
	rv = llm_on_body(data, size, nmemb, r);
	pthread_mutex_unlock(&r->l->lock);
	return rv;
}

/* ---- attempts (I/O thread, lock held) ---------------------------------- */

static void
llm_attempt_reset(struct agora_llm_req *r)
{
	r->status = 0;
	r->status_known = false;
	llm_reply_reset(&r->reply);
	r->retry_after_ms = -1;
}

static agora_err
llm_attempt_start(agora_llm *l, struct agora_llm_req *r, int64_t now)
{
	CURL *e = curl_easy_init();
	int64_t left = r->deadline - now;

	if (e == NULL) {
		return AGORA_EHTTP;
	}
	llm_attempt_reset(r);
	r->headers = curl_slist_append(NULL, "Content-Type: application/json");
	r->headers = curl_slist_append(r->headers, "Accept: text/event-stream, "
	                                           "application/json");
	if (r->auth != NULL) {
		r->headers = curl_slist_append(r->headers, r->auth);
	}
	if (r->org != NULL) {
		r->headers = curl_slist_append(r->headers, r->org);
	}
	curl_easy_setopt(e, CURLOPT_URL, r->url_curl);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	                 (curl_off_t)strlen(r->body));
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, llm_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, llm_on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(r->connect_timeout_ms < left
	                            ? r->connect_timeout_ms
	                            : left));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(left > 1 ? left : 1));
	r->easy = e;
	llm_set_state(r, REQ_RUNNING);
	curl_multi_add_handle(l->multi, e);
	return AGORA_OK;
}

static bool
llm_retryable(const struct agora_llm_req *r, CURLcode res)
{
	if (r->reply.chunks > 0 || r->reply.failed ||
	    r->attempt >= r->max_retries) {
		return false;
	}
	switch (res) {
	case CURLE_OK:
		return r->status == 429 || r->status >= 500;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	case CURLE_OPERATION_TIMEDOUT:
		return !r->status_known; /* a connect timeout, not the total */
	default:
		return false;
	}
}

/* Backoff before try attempt+1: Retry-After if the server said, else
 * 250 ms * 2^attempt, jittered to 50-150%, capped at 20 s. */
static int64_t
llm_backoff(agora_llm *l, const struct agora_llm_req *r)
{
	int64_t base = (int64_t)LLM_BACKOFF_MS
	               << (r->attempt < 16 ? r->attempt : 16);
	uint64_t x = l->rng;

	if (r->retry_after_ms >= 0) {
		return r->retry_after_ms;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	l->rng = x;
	base = base / 2 +
	       (int64_t)((x * 2685821657736338717ull) >> 33) % (base + 1);
	return base < LLM_BACKOFF_CAP_MS ? base : LLM_BACKOFF_CAP_MS;
}

/* The transfer ended: finish, fail, or schedule another try. */
static void
llm_completed(agora_llm *l, struct agora_llm_req *r, CURLcode res)
{
	int64_t now = agora_now_ms();
	char msg[300];

	if (!r->status_known) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
		r->status_known = r->status != 0;
	}
	if (r->cancel) {
		llm_finish(l, r, AGORA_ECANCELED, "cancelled");
		return;
	}
	if (r->reply.failed) {
		llm_fail(l, r, AGORA_EHTTP, "%s", r->reply.error);
		return;
	}
	if (llm_retryable(r, res)) {
		int64_t wait = llm_backoff(l, r);
		if (now + wait < r->deadline) {
			llm_drop_easy(l, r);
			r->attempt++;
			llm_set_state(r, REQ_BACKOFF);
			r->retry_at = now + wait;
			agora_log(AGORA_LOG_INFO, "llm",
			          "%s: retry %d in %lld ms", r->url, r->attempt,
			          (long long)wait);
			return;
		}
	}
	if (res == CURLE_OPERATION_TIMEDOUT && now >= r->deadline - 5) {
		llm_fail(l, r, AGORA_ETIMEDOUT,
		         "no complete reply from %s within %lld ms%s", r->url,
		         (long long)r->timeout_ms,
		         r->reply.chunks > 0 ? " (the stream was still going)"
		                             : "");
	} else if (res != CURLE_OK && r->reply.chunks > 0) {
		llm_fail(l, r, AGORA_EHTTP,
		         "stream from %s cut off after %zu chunks: %s", r->url,
		         r->reply.chunks, curl_easy_strerror(res));
	} else if (res != CURLE_OK) {
		llm_fail(l, r, AGORA_EHTTP, "cannot reach %s: %s", r->url,
		         curl_easy_strerror(res));
	} else if (r->status != 200) {
		llm_server_message(r->reply.raw.data, r->reply.raw.len, msg,
		                   sizeof(msg));
		llm_fail(l, r, AGORA_EHTTP, "HTTP %ld from %s: %s", r->status,
		         r->url, msg);
	} else if (r->reply.kind != LLM_BODY_SSE) {
		/* JSON, or never known: either way it must parse as JSON. */
		if (llm_reply_plain(&r->reply, r->reply.raw.data,
		                    r->reply.raw.len)) {
			llm_finish(l, r, AGORA_OK, NULL);
		} else {
			llm_fail(l, r, AGORA_EHTTP, "%s", r->reply.error);
		}
	} else if (llm_reply_complete(&r->reply)) {
		llm_finish(l, r, AGORA_OK, NULL);
	} else {
		llm_fail(l, r, AGORA_EHTTP,
		         "stream from %s ended before [DONE] after %zu chunks",
		         r->url, r->reply.chunks);
	}
}

/* Start what may start, cancel what was cancelled; returns ms until the
 * next backoff ends (or 1000). */
static int64_t
llm_schedule(agora_llm *l)
{
	int64_t now = agora_now_ms();
	int64_t next = 1000;
	struct agora_llm_req *r = l->reqs;

	while (r != NULL) {
		struct agora_llm_req *following = r->next;
		if (r->cancel) {
			llm_finish(l, r, AGORA_ECANCELED, "cancelled");
		} else if (r->state != REQ_RUNNING && now >= r->deadline) {
			llm_fail(l, r, AGORA_ETIMEDOUT,
			         "no reply from %s within %lld ms", r->url,
			         (long long)r->timeout_ms);
		} else if (r->state == REQ_BACKOFF && now < r->retry_at) {
			next =
			    r->retry_at - now < next ? r->retry_at - now : next;
		} else if (r->state != REQ_RUNNING &&
		           (r->max_concurrency <= 0 ||
		            r->pool_entry->running < r->max_concurrency)) {
			if (llm_attempt_start(l, r, now) != AGORA_OK) {
				llm_fail(l, r, AGORA_EHTTP,
				         "cannot set up a request to %s",
				         r->url);
			}
		}
		r = following;
	}
	return next;
}

static void *
llm_main(void *arg)
{
	agora_llm *l = arg;

	pthread_mutex_lock(&l->lock);
	while (!l->stopping) {
		int64_t wait = llm_schedule(l);
		int running = 0;
		CURLMsg *m;
		int left;

		pthread_mutex_unlock(&l->lock);
		curl_multi_perform(l->multi, &running);
		pthread_mutex_lock(&l->lock);
		while ((m = curl_multi_info_read(l->multi, &left)) != NULL) {
			struct agora_llm_req *r = NULL;
			if (m->msg != CURLMSG_DONE) {
				continue;
			}
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
			                  (char **)&r);
			llm_completed(l, r, m->data.result);
		}
		pthread_mutex_unlock(&l->lock);
		curl_multi_poll(l->multi, NULL, 0, (int)(wait > 0 ? wait : 1),
		                NULL);
		pthread_mutex_lock(&l->lock);
	}
	while (l->reqs != NULL) {
		l->reqs->cancel = true;
		llm_finish(l, l->reqs, AGORA_ECANCELED, "cancelled");
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* ---- the API ------------------------------------------------------------- */

agora_err
agora_llm_new(agora_llm **lp)
{
	agora_llm *l = agora_calloc(1, sizeof(*l));

	*lp = NULL;
	pthread_once(&llm_once, llm_global_init);
	l->multi = curl_multi_init();
	if (l->multi == NULL) {
		agora_free(l);
		return AGORA_EHTTP;
	}
	l->rng = (uint64_t)agora_now_us() | 1;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->finished, NULL);
	if (pthread_create(&l->thread, NULL, llm_main, l) != 0) {
		curl_multi_cleanup(l->multi);
		agora_free(l);
		return AGORA_ESYS;
	}
	*lp = l;
	return AGORA_OK;
}

void
agora_llm_free(agora_llm *l)
{
	if (l == NULL) {
		return;
	}
	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	pthread_mutex_unlock(&l->lock);
	curl_multi_wakeup(l->multi);
	pthread_join(l->thread, NULL);
	curl_multi_cleanup(l->multi);
	while (l->pools != NULL) {
		struct llm_pool *p = l->pools;
		l->pools = p->next;
		agora_free(p->name);
		agora_free(p);
	}
	pthread_cond_destroy(&l->finished);
	pthread_mutex_destroy(&l->lock);
	agora_free(l);
}

static void
llm_req_free(struct agora_llm_req *r)
{
	agora_free(r->url);
	agora_free(r->url_curl);
	agora_free(r->body);
	agora_free(r->pool);
	agora_free(r->auth);
	agora_free(r->org);
	llm_reply_fini(&r->reply);
	agora_free(r);
}

/* A header value must not hold control characters: CR or LF would end
 * the header line and start one of the value's choosing. NULL is fine. */
static bool
llm_header_safe(const char *v)
{
	for (const char *p = v; p != NULL && *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			return false;
		}
	}
	return true;
}

agora_err
agora_llm_start(agora_llm *l, const agora_llm_endpoint *ep, const char *body,
                const agora_llm_handler *h, agora_llm_req **reqp)
{
	struct agora_llm_req *r;
	char shown[1024];
	size_t blen;

	*reqp = NULL;
	if (ep == NULL || ep->base_url == NULL || body == NULL || h == NULL ||
	    !llm_header_safe(ep->api_key) ||
	    !llm_header_safe(ep->organization)) {
		return AGORA_EINVAL;
	}
	blen = strlen(ep->base_url);
	r = agora_calloc(1, sizeof(*r));
	r->l = l;
	r->url_curl = agora_sprintf(
	    "%.*s/chat/completions",
	    (int)(blen > 0 && ep->base_url[blen - 1] == '/' ? blen - 1 : blen),
	    ep->base_url);
	r->url =
	    agora_strdup(agora_url_redact(r->url_curl, shown, sizeof(shown)));
	r->body = agora_strdup(body);
	r->pool = agora_strdup(ep->pool != NULL ? ep->pool : ep->base_url);
	r->auth = ep->api_key != NULL && ep->api_key[0] != '\0'
	              ? agora_sprintf("Authorization: Bearer %s", ep->api_key)
	              : NULL;
	r->org =
	    ep->organization != NULL && ep->organization[0] != '\0'
	        ? agora_sprintf("OpenAI-Organization: %s", ep->organization)
	        : NULL;
	r->max_concurrency = ep->max_concurrency;
	r->max_retries = ep->max_retries < 0 ? 3 : ep->max_retries;
	r->connect_timeout_ms =
	    ep->connect_timeout_ms > 0 ? ep->connect_timeout_ms : 10000;
	r->timeout_ms = ep->timeout_ms > 0 ? ep->timeout_ms : 120000;
	r->deadline = agora_now_ms() + r->timeout_ms;
	r->h = *h;
	r->state = REQ_WAITING;
	llm_reply_init(&r->reply, r->url, llm_on_text, r);
	pthread_mutex_lock(&l->lock);
	r->pool_entry = llm_pool_find(l, r->pool);
	r->next = l->reqs;
	l->reqs = r;
	l->nreqs++;
	pthread_mutex_unlock(&l->lock);
	curl_multi_wakeup(l->multi);
	*reqp = r;
	return AGORA_OK;
}

void
agora_llm_cancel(agora_llm *l, agora_llm_req *r)
{
	if (r == NULL) {
		return;
	}
	pthread_mutex_lock(&l->lock);
	if (r->state != REQ_FINISHED) {
		r->cancel = true;
		curl_multi_wakeup(l->multi);
		while (r->state != REQ_FINISHED) {
			pthread_cond_wait(&l->finished, &l->lock);
		}
	}
	pthread_mutex_unlock(&l->lock);
	llm_req_free(r);
}

void
agora_llm_release(agora_llm *l, agora_llm_req *r)
{
	/* Taking the lock waits out a callback still returning. */
	pthread_mutex_lock(&l->lock);
	pthread_mutex_unlock(&l->lock);
	if (r != NULL) {
		llm_req_free(r);
	}
}

static agora_llm *llm_shared;
static pthread_once_t llm_shared_once = PTHREAD_ONCE_INIT;

static void
llm_shared_init(void)
{
	if (agora_llm_new(&llm_shared) != AGORA_OK) {
		agora_log(AGORA_LOG_ERROR, "llm",
		          "cannot start the LLM client");
	}
}

agora_llm *
agora_llm_shared(void)
{
	pthread_once(&llm_shared_once, llm_shared_init);
	return llm_shared;
}

size_t
agora_llm_active(agora_llm *l)
{
	size_t n;

	pthread_mutex_lock(&l->lock);
	n = l->nreqs;
	pthread_mutex_unlock(&l->lock);
	return n;
}
