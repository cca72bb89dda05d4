/* SPDX-License-Identifier: MIT */
/* One Redis connection (with core/redis_cluster.c, the only files that
 * include hiredis; commands enter there, and a handle on a Redis Cluster
 * is routed to one of these per node). Synchronous
 * hiredis with a per-command timeout (0.14 has no timeout in its async
 * API). A broken connection is re-dialled at the next command, with
 * backoff for as long as one command may take (redis.timeout_ms), so a
 * Redis being restarted is waited for and a dead one fails with a clear
 * message instead of hanging. A command whose bytes never left (the write
 * failed: the server cannot have run it) is sent again on the new
 * connection; one that may have run is not, and its caller hears of the
 * lost connection. Messages name the URL with its password hidden
 * (url_shown): the password goes to AUTH and nowhere else. At the end, a
 * reader with no connection, for tests and fuzzing. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "agora/alloc.h"
#include "agora/buf.h"
#include "agora/clock.h"
#include "agora/url.h"
#include "redis_int.h"

/* The most items an array reply may announce. hiredis 0.14 allocates an
 * array's item pointers as soon as it reads the count, before any item
 * has come (and has no maxelements), so the 13 bytes "*2000000000\r\n"
 * would have it ask for 16 GB. The cap is above any reply our configs
 * allow: a drain's bodies, 2 x (env.call_work + env.drain_max) items, are
 * 22 million at those keys' maximums. */
#define REDIS_MAX_ELEMENTS (1 << 25)

void
agora__redis_set_err(agora_redis *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->errstr, sizeof(r->errstr), fmt, ap);
	va_end(ap);
}

const char *
agora_redis_errstr(const agora_redis *r)
{
	return r->errstr;
}

const char *
agora_redis_url(const agora_redis *r)
{
	return r->url;
}

/* A URL's user-info may hold any byte percent-encoded (RFC 3986): %40 for
 * '@'. A '%' not followed by two hex digits stays as it is. */
static int
redis_hex(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* The password of user-info "[user]:password" or "password" (the user is
 * not sent: AUTH takes the password alone), decoded. */
static void
redis_set_password(agora_redis *r, const char *p, const char *end)
{
	const char *colon = memchr(p, ':', (size_t)(end - p));
	char *out;
	size_t n = 0;

	p = colon != NULL ? colon + 1 : p;
	out = agora_malloc((size_t)(end - p) + 1);
	while (p < end) {
		if (*p == '%' && end - p >= 3 && redis_hex(p[1]) >= 0 &&
		    redis_hex(p[2]) >= 0) {
			out[n++] =
			    (char)(redis_hex(p[1]) * 16 + redis_hex(p[2]));
			p += 3;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	agora_free(r->password);
	r->password = out;
}

/* unix://[[user]:password@]/path[?db=N]: the user-info ends at the first
 * "@/", so the path may hold '@' and so may the password, unencoded. */
static agora_err
redis_parse_unix(agora_redis *r, const char *path)
{
	const char *q;
	char *end;

	if (*path != '/') {
		const char *at = strstr(path, "@/");
		if (at == NULL) {
			return AGORA_EINVAL;
		}
		redis_set_password(r, path, at);
		path = at + 1;
	}
	q = strchr(path, '?');
	r->path = q != NULL ? agora_strndup(path, (size_t)(q - path))
	                    : agora_strdup(path);
	if (q != NULL) {
		if (strncmp(q, "?db=", 4) != 0) {
			return AGORA_EINVAL;
		}
		r->db = (int)strtol(q + 4, &end, 10);
		if (*end != '\0' || r->db < 0) {
			return AGORA_EINVAL;
		}
	}
	return AGORA_OK;
}

/* redis://[[user]:password@]host[:port][/db] */
static agora_err
redis_parse_tcp(agora_redis *r, const char *p)
{
	const char *at = strchr(p, '@');
	const char *slash, *colon, *hend;
	char *end;

	if (at != NULL) {
		redis_set_password(r, p, at);
		p = at + 1;
	}
	slash = strchr(p, '/');
	colon = strchr(p, ':');
	if (colon != NULL && slash != NULL && colon > slash) {
		colon = NULL;
	}
	hend = colon != NULL ? colon : slash != NULL ? slash : p + strlen(p);
	if (hend == p) {
		return AGORA_EINVAL;
	}
	r->host = agora_strndup(p, (size_t)(hend - p));
	r->port = 6379;
	if (colon != NULL) {
		long port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || port < 1 || port > 65535 ||
		    (*end != '\0' && *end != '/')) {
			return AGORA_EINVAL;
		}
		r->port = (int)port;
	}
	if (slash != NULL && slash[1] != '\0') {
		r->db = (int)strtol(slash + 1, &end, 10);
		if (*end != '\0' || r->db < 0) {
			return AGORA_EINVAL;
		}
	}
	return AGORA_OK;
}

static agora_err
redis_parse_url(agora_redis *r, const char *url, char *err, size_t errlen)
{
	agora_err rv = AGORA_EINVAL;

	if (strncmp(url, "unix://", 7) == 0) {
		rv = redis_parse_unix(r, url + 7);
	} else if (strncmp(url, "redis://", 8) == 0) {
		rv = redis_parse_tcp(r, url + 8);
	}
	if (rv != AGORA_OK) {
		snprintf(err, errlen,
		         "bad Redis URL '%s' (want "
		         "redis://[:password@]host:port/db or "
		         "unix://[:password@]/path)",
		         r->url_shown);
	}
	return rv;
}

/* Whether url names a password (or user-info that is taken for one). */
static bool
redis_url_has_auth(const char *url)
{
	if (strncmp(url, "unix://", 7) == 0) {
		return url[7] != '/' && strstr(url + 7, "@/") != NULL;
	}
	return strncmp(url, "redis://", 8) == 0 && strchr(url + 8, '@');
}

char *
agora_redis_url_auth(const char *url, const char *password)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t skip;
	agora_buf b;

	if (password == NULL || password[0] == '\0' ||
	    redis_url_has_auth(url)) {
		return agora_strdup(url);
	}
	if (strncmp(url, "unix://", 7) == 0) {
		skip = 7;
	} else if (strncmp(url, "redis://", 8) == 0) {
		skip = 8;
	} else {
		return agora_strdup(url); /* not ours: open says so */
	}
	agora_buf_init(&b, 0);
	(void)agora_buf_add(&b, url, skip);
	(void)agora_buf_adds(&b, ":");
	/* Everything but unreserved characters encoded: the password may
	 * hold '@', '/', ':' or '%'. */
	for (const unsigned char *p = (const unsigned char *)password;
	     *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
			(void)agora_buf_add(&b, (const char *)p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			(void)agora_buf_add(&b, e, 3);
		}
	}
	(void)agora_buf_adds(&b, "@");
	(void)agora_buf_adds(&b, url + skip);
	return agora_buf_steal(&b);
}

static void *
redis_create_array(const redisReadTask *task, int elements)
{
	struct redis_cap *cap = task->privdata;

	if (elements > REDIS_MAX_ELEMENTS) {
		cap->refused = elements;
		return NULL; /* hiredis takes it for out of memory */
	}
	return cap->create_array(task, elements);
}

/* Put the cap on reader rd (cap must live as long as rd). */
static void
redis_cap_reader(struct redis_cap *cap, redisReader *rd)
{
	cap->fn = *rd->fn;
	cap->create_array = rd->fn->createArray;
	cap->fn.createArray = redis_create_array;
	cap->refused = 0;
	rd->fn = &cap->fn;
	rd->privdata = cap;
}

/* Why a reader failed, in why: hiredis' text, or the cap's. */
static void
redis_reader_why(const struct redis_cap *cap, const char *errstr, char *why,
                 size_t len)
{
	if (cap->refused > 0) {
		snprintf(why, len, "a reply of %lld items (at most %d)",
		         cap->refused, REDIS_MAX_ELEMENTS);
	} else {
		snprintf(why, len, "%s",
		         errstr[0] != '\0' ? errstr : "i/o error");
	}
}

static agora_err
redis_dial(agora_redis *r)
{
	struct timeval connect_timeout = r->timeout;
	redisReply *rep;

	redisFree(r->ctx);
	r->pending = 0;
	r->nscripts = 0;
	if (r->path != NULL) {
		r->ctx = redisConnectUnixWithTimeout(r->path, connect_timeout);
	} else {
		r->ctx =
		    redisConnectWithTimeout(r->host, r->port, connect_timeout);
	}
	r->refused = false;
	if (r->ctx == NULL || r->ctx->err != 0) {
		agora__redis_set_err(
		    r, "cannot connect to %s: %s", r->url_shown,
		    r->ctx != NULL ? r->ctx->errstr : "out of memory");
		/* Nothing listens (yet): a server being restarted. */
		r->refused = r->ctx != NULL &&
		             (strstr(r->ctx->errstr, "refused") != NULL ||
		              strstr(r->ctx->errstr, "No such file") != NULL);
		redisFree(r->ctx);
		r->ctx = NULL;
		return AGORA_EREDIS;
	}
	redis_cap_reader(&r->cap, r->ctx->reader);
	redisSetTimeout(r->ctx, r->timeout);
	if (r->password != NULL) {
		rep = redisCommand(r->ctx, "AUTH %s", r->password);
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
			agora__redis_set_err(
			    r, "%s: AUTH failed: %s", r->url_shown,
			    rep != NULL ? rep->str : r->ctx->errstr);
			freeReplyObject(rep);
			redisFree(r->ctx);
			r->ctx = NULL;
			return AGORA_EREDIS;
		}
		freeReplyObject(rep);
	}
	if (r->db != 0) {
		rep = redisCommand(r->ctx, "SELECT %d", r->db);
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
			agora__redis_set_err(r, "%s: SELECT %d failed",
			                     r->url_shown, r->db);
			freeReplyObject(rep);
			redisFree(r->ctx);
			r->ctx = NULL;
			return AGORA_EREDIS;
		}
		freeReplyObject(rep);
	}
	return AGORA_OK;
}

/* hiredis writes with write(2), so a server that dies would kill us with
 * SIGPIPE; the write should fail with EPIPE instead. Only a default
 * disposition is changed: a handler the program set stays. */
static void
redis_ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		signal(SIGPIPE, SIG_IGN);
	}
}

agora_err
agora__redis_open_one(agora_redis **rp, const char *url, int64_t timeout_ms,
                      char *err, size_t errlen)
{
	agora_redis *r;
	char shown[512];
	agora_err rv;

	*rp = NULL;
	if (url == NULL) {
		snprintf(err, errlen, "no Redis URL");
		return AGORA_EINVAL;
	}
	redis_ignore_sigpipe();
	r = agora_calloc(1, sizeof(*r));
	r->url = agora_strdup(url);
	r->url_shown =
	    agora_strdup(agora_url_redact(url, shown, sizeof(shown)));
	if (timeout_ms <= 0) {
		timeout_ms = 5000;
	}
	r->timeout.tv_sec = (time_t)(timeout_ms / 1000);
	r->timeout.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	rv = redis_parse_url(r, url, err, errlen);
	if (rv == AGORA_OK) {
		rv = redis_dial(r);
		if (rv != AGORA_OK) {
			snprintf(err, errlen, "%s", r->errstr);
		}
	}
	if (rv != AGORA_OK) {
		agora__redis_close_one(r);
		return rv;
	}
	*rp = r;
	return AGORA_OK;
}

agora_err
agora_redis_open(agora_redis **rp, const char *url, int64_t timeout_ms,
                 char *err, size_t errlen)
{
	/* Whether it is a cluster is asked at the first command (a handle
	 * that only PINGs never asks). */
	return agora__redis_open_one(rp, url, timeout_ms, err, errlen);
}

void
agora__redis_close_one(agora_redis *r)
{
	if (r == NULL) {
		return;
	}
	redisFree(r->ctx);
	agora_free(r->url);
	agora_free(r->url_shown);
	agora_free(r->host);
	agora_free(r->path);
	agora_free(r->password);
	agora_free(r);
}

/* Make sure there is a live context. A broken one is re-dialled, again
 * with backoff while the server refuses (it is being restarted), for at
 * most one command's time limit. */
int64_t
agora__redis_budget_ms(const agora_redis *r)
{
	return (int64_t)r->timeout.tv_sec * 1000 +
	       (int64_t)r->timeout.tv_usec / 1000;
}

static agora_err
redis_ready(agora_redis *r)
{
	int64_t until = agora_now_ms() + agora__redis_budget_ms(r);
	int64_t pause = 10;
	agora_err rv;

	if (r->ctx != NULL && r->ctx->err == 0) {
		return AGORA_OK;
	}
	for (;;) {
		rv = redis_dial(r);
		if (rv == AGORA_OK || !r->refused ||
		    agora_now_ms() + pause >= until) {
			return rv;
		}
		agora_sleep_ms(pause);
		pause = pause * 2 > 250 ? 250 : pause * 2;
	}
}

static agora_err
redis_io_error(agora_redis *r)
{
	const char *why = r->ctx->errstr;

	if (r->cap.refused > 0) {
		char what[128];
		redis_reader_why(&r->cap, why, what, sizeof(what));
		agora__redis_set_err(r, "%s: %s", r->url_shown, what);
	} else if (r->ctx->err == REDIS_ERR_EOF ||
	           strstr(why, "reset by peer") || strstr(why, "Broken pipe")) {
		agora__redis_set_err(
		    r, "%s: connection lost (%s)", r->url_shown,
		    r->ctx->err == REDIS_ERR_EOF ? "closed by the server"
		                                 : why);
	} else if (strstr(why, "temporarily unavailable") != NULL) {
		agora__redis_set_err(r, "%s: timed out waiting for a reply",
		                     r->url_shown);
	} else {
		agora__redis_set_err(r, "%s: %s", r->url_shown,
		                     why[0] != '\0' ? why : "i/o error");
	}
	/* Leave ctx with err set: the next command re-dials. */
	r->pending = 0;
	return AGORA_EREDIS;
}

/* Translate an error reply, keeping its text in why; our scripts say
 * "AGORA_ENOTFOUND detail". */
static agora_err
redis_reply_error(const redisReply *rep, char *why, size_t len)
{
	const char *s = rep->str;

	snprintf(why, len, "%s", s);
	if (strncmp(s, "AGORA_", 6) == 0) {
		const char *sp = strchr(s, ' ');
		size_t n = sp != NULL ? (size_t)(sp - s - 6) : strlen(s + 6);
		for (int e = 0; e <= (int)AGORA_EAGENT; e++) {
			const char *name = agora_errname((agora_err)e);
			if (strlen(name) == n && memcmp(name, s + 6, n) == 0) {
				snprintf(why, len, "%s",
				         sp != NULL ? sp + 1 : s);
				return (agora_err)e;
			}
		}
	}
	return AGORA_EREDIS;
}

agora_err
agora__redis_append_one(agora_redis *r, int argc, const char *const *argv,
                        const size_t *lens)
{
	agora_err rv = r->pending > 0 ? AGORA_OK : redis_ready(r);

	if (rv != AGORA_OK) {
		return rv;
	}
	if (redisAppendCommandArgv(r->ctx, argc, (const char **)(uintptr_t)argv,
	                           lens) != REDIS_OK) {
		return redis_io_error(r);
	}
	r->pending++;
	return AGORA_OK;
}

agora_err
agora__redis_get_raw(agora_redis *r, redisReply **out)
{
	void *reply = NULL;

	*out = NULL;
	if (r->ctx == NULL || r->pending <= 0) {
		agora__redis_set_err(r, "no reply pending");
		return AGORA_EINTERNAL;
	}
	if (redisGetReply(r->ctx, &reply) != REDIS_OK) {
		return redis_io_error(r);
	}
	r->pending--;
	*out = reply;
	return AGORA_OK;
}

agora_err
agora__redis_take(agora_redis *r, redisReply *rep, agora_reply **out)
{
	if (rep->type == REDIS_REPLY_ERROR) {
		agora_err rv =
		    redis_reply_error(rep, r->errstr, sizeof(r->errstr));
		freeReplyObject(rep);
		return rv;
	}
	if (out != NULL) {
		*out = (agora_reply *)rep;
	} else {
		freeReplyObject(rep);
	}
	return AGORA_OK;
}

agora_err
agora__redis_get_one(agora_redis *r, agora_reply **out)
{
	redisReply *rep = NULL;
	agora_err rv;

	if (out != NULL) {
		*out = NULL;
	}
	rv = agora__redis_get_raw(r, &rep);
	if (rv != AGORA_OK || rep == NULL) {
		return rv != AGORA_OK ? rv : AGORA_EREDIS;
	}
	return agora__redis_take(r, rep, out);
}

agora_err
agora__redis_read(agora_redis *r, agora_reply **out)
{
	if (r->ctx != NULL && r->pending == 0) {
		r->pending = 1;
	}
	return agora__redis_get_one(r, out);
}

agora_err
agora__redis_read_wait(agora_redis *r, agora_reply **out, int64_t wait_ms)
{
	void *reply = NULL;
	struct pollfd p;
	int done = 0;
	int n;

	*out = NULL;
	if (r->ctx == NULL || r->ctx->err != 0) {
		agora__redis_set_err(r, "%s: not connected", r->url_shown);
		return AGORA_EREDIS;
	}
	/* Commands appended (a PING) leave first. */
	while (r->pending > 0 && !done) {
		if (redisBufferWrite(r->ctx, &done) != REDIS_OK) {
			return redis_io_error(r);
		}
	}
	r->pending = 0;
	if (redisGetReplyFromReader(r->ctx, &reply) != REDIS_OK) {
		return redis_io_error(r);
	}
	if (reply == NULL) {
		p.fd = r->ctx->fd;
		p.events = POLLIN;
		p.revents = 0;
		n = poll(&p, 1, wait_ms < 0 ? 0 : (int)wait_ms);
		if (n == 0 || (n < 0 && errno == EINTR)) {
			return AGORA_ETIMEDOUT;
		}
		/* Readable (or hung up: the read then says so). */
		if (redisBufferRead(r->ctx) != REDIS_OK ||
		    redisGetReplyFromReader(r->ctx, &reply) != REDIS_OK) {
			return redis_io_error(r);
		}
		if (reply == NULL) {
			return AGORA_ETIMEDOUT; /* part of a reply came */
		}
	}
	if (((redisReply *)reply)->type == REDIS_REPLY_ERROR) {
		agora_err rv =
		    redis_reply_error(reply, r->errstr, sizeof(r->errstr));
		freeReplyObject(reply);
		return rv;
	}
	*out = reply;
	return AGORA_OK;
}

/* Wait, with backoff and for at most one command's time limit, until a
 * Redis that answered LOADING has read its files (PING answers PONG). */
static agora_err
redis_wait_loaded(agora_redis *r)
{
	int64_t until = agora_now_ms() + agora__redis_budget_ms(r);
	int64_t pause = 10;

	while (agora_now_ms() + pause < until) {
		redisReply *rep;
		agora_sleep_ms(pause);
		pause = pause * 2 > 250 ? 250 : pause * 2;
		rep = redisCommand(r->ctx, "PING");
		if (rep == NULL) {
			return redis_io_error(r);
		}
		if (rep->type != REDIS_REPLY_ERROR ||
		    strncmp(rep->str, "LOADING", 7) != 0) {
			freeReplyObject(rep);
			return AGORA_OK;
		}
		freeReplyObject(rep);
	}
	return AGORA_EREDIS; /* errstr still says LOADING */
}

/* The last command failed before all its bytes were written: the server
 * cannot have run it (an incomplete command is discarded), so it is safe
 * to send again on a new connection. */
static bool
redis_unsent(const agora_redis *r)
{
	return r->ctx != NULL && r->ctx->err == REDIS_ERR_IO &&
	       r->ctx->obuf != NULL && sdslen(r->ctx->obuf) > 0;
}

agora_err
agora__redis_cmd_one(agora_redis *r, agora_reply **out, int argc,
                     const char *const *argv, const size_t *lens)
{
	agora_err rv = AGORA_EREDIS;

	if (out != NULL) {
		*out = NULL;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		bool alone = r->pending == 0; /* not behind pipelined ones */
		rv = agora__redis_append_one(r, argc, argv, lens);
		if (rv == AGORA_OK) {
			rv = agora__redis_get_one(r, out);
		}
		if (rv == AGORA_EREDIS && alone &&
		    strncmp(r->errstr, "LOADING", 7) == 0 && attempt < 1) {
			/* A restarted Redis reading its files refuses every
			 * command until done: wait for it as for a dial. */
			rv = redis_wait_loaded(r);
			if (rv == AGORA_OK) {
				continue;
			}
			break;
		}
		if (rv != AGORA_EREDIS || !alone || !redis_unsent(r)) {
			break;
		}
		/* The connection was dead before this command left (a Redis
		 * restart): the next attempt re-dials. */
		r->pending = 0;
	}
	return rv;
}

static const char *
redis_script_sha(agora_redis *r, const agora_script *s)
{
	for (int i = 0; i < r->nscripts; i++) {
		if (r->scripts[i].script == s) {
			return r->scripts[i].sha;
		}
	}
	return NULL;
}

static agora_err
redis_script_load(agora_redis *r, const agora_script *s)
{
	const char *argv[] = { "SCRIPT", "LOAD", s->src };
	size_t lens[] = { 6, 4, strlen(s->src) };
	agora_reply *rep = NULL;
	const char *sha;
	size_t n;
	int slot;
	agora_err rv;

	rv = agora__redis_cmd_one(r, &rep, 3, argv, lens);
	if (rv != AGORA_OK) {
		/* Not formatted into the buffer it reads. */
		char why[sizeof(r->errstr)];
		memcpy(why, r->errstr, sizeof(why));
		agora__redis_set_err(r, "loading script %s: %s", s->name, why);
		return rv;
	}
	sha = agora__reply_str(rep, &n);
	slot = -1;
	for (int i = 0; i < r->nscripts; i++) {
		if (r->scripts[i].script == s) {
			slot = i;
		}
	}
	if (slot < 0) {
		slot = r->nscripts < REDIS_MAX_SCRIPTS ? r->nscripts++ : 0;
	}
	r->scripts[slot].script = s;
	snprintf(r->scripts[slot].sha, sizeof(r->scripts[slot].sha), "%.*s",
	         (int)n, sha != NULL ? sha : "");
	agora__reply_free(rep);
	return AGORA_OK;
}

agora_err
agora__redis_eval_one(agora_redis *r, const agora_script *s, agora_reply **out,
                      int nkeys, int argc, const char *const *argv,
                      const size_t *lens)
{
	const char **args = agora_malloc((size_t)(argc + 3) * sizeof(char *));
	size_t *alens = agora_malloc((size_t)(argc + 3) * sizeof(size_t));
	char nk[16];
	agora_err rv = AGORA_OK;

	for (int attempt = 0; attempt < 2; attempt++) {
		const char *sha = NULL;

		rv = redis_ready(r);
		if (rv == AGORA_OK) {
			sha = redis_script_sha(r, s);
		}
		if (rv == AGORA_OK && sha == NULL) {
			rv = redis_script_load(r, s);
			sha = redis_script_sha(r, s);
		}
		if (rv != AGORA_OK) {
			break;
		}
		snprintf(nk, sizeof(nk), "%d", nkeys);
		args[0] = "EVALSHA";
		args[1] = sha;
		args[2] = nk;
		alens[0] = 7;
		alens[1] = strlen(sha);
		alens[2] = strlen(nk);
		for (int i = 0; i < argc; i++) {
			args[i + 3] = argv[i];
			alens[i + 3] = lens != NULL ? lens[i] : strlen(argv[i]);
		}
		rv = agora__redis_cmd_one(r, out, argc + 3, args, alens);
		/* After a Redis restart or SCRIPT FLUSH, load and try again. */
		if (rv == AGORA_EREDIS &&
		    strncmp(r->errstr, "NOSCRIPT", 8) == 0) {
			r->nscripts = 0;
			continue;
		}
		break;
	}
	agora_free(args);
	agora_free(alens);
	return rv;
}

agora_err
agora_redis_ping(agora_redis *r)
{
	const char *argv[] = { "PING" };
	const size_t lens[] = { 4 };

	/* Any node answers: no need to know which kind it is. */
	return agora__redis_cmd_one(r, NULL, 1, argv, lens);
}

agora_reply_type
agora__reply_type(const agora_reply *rep)
{
	const redisReply *x = (const redisReply *)rep;

	switch (x->type) {
	case REDIS_REPLY_STRING:
		return AGORA_REPLY_STRING;
	case REDIS_REPLY_ARRAY:
		return AGORA_REPLY_ARRAY;
	case REDIS_REPLY_INTEGER:
		return AGORA_REPLY_INTEGER;
	case REDIS_REPLY_STATUS:
		return AGORA_REPLY_STATUS;
	case REDIS_REPLY_ERROR:
		return AGORA_REPLY_ERROR;
	default:
		return AGORA_REPLY_NIL;
	}
}

const char *
agora__reply_str(const agora_reply *rep, size_t *len)
{
	const redisReply *x = (const redisReply *)rep;

	if (x == NULL ||
	    (x->type != REDIS_REPLY_STRING && x->type != REDIS_REPLY_STATUS &&
	     x->type != REDIS_REPLY_ERROR)) {
		if (len != NULL) {
			*len = 0;
		}
		return NULL;
	}
	if (len != NULL) {
		*len = x->len;
	}
	return x->str;
}

long long
agora__reply_int(const agora_reply *rep)
{
	const redisReply *x = (const redisReply *)rep;

	if (x == NULL) {
		return 0;
	}
	if (x->type == REDIS_REPLY_STRING) {
		return strtoll(x->str, NULL, 10);
	}
	return x->type == REDIS_REPLY_INTEGER ? x->integer : 0;
}

size_t
agora__reply_len(const agora_reply *rep)
{
	const redisReply *x = (const redisReply *)rep;

	return x != NULL && x->type == REDIS_REPLY_ARRAY ? x->elements : 0;
}

const agora_reply *
agora__reply_at(const agora_reply *rep, size_t i)
{
	const redisReply *x = (const redisReply *)rep;

	if (x == NULL || x->type != REDIS_REPLY_ARRAY || i >= x->elements) {
		return NULL;
	}
	return (const agora_reply *)x->element[i];
}

void
agora__reply_free(agora_reply *rep)
{
	freeReplyObject(rep);
}

/* A reader with no connection: hiredis' reply parser alone, capped as a
 * connection's is, and a reply taken from it handled as agora__redis_get
 * handles one. */
struct agora_reply_reader {
	redisReader *rd;
	struct redis_cap cap;
	char errstr[256];
};

agora_reply_reader *
agora__reply_reader_new(void)
{
	agora_reply_reader *rd = agora_calloc(1, sizeof(*rd));

	rd->rd = redisReaderCreate();
	if (rd->rd == NULL) {
		agora_free(rd);
		return NULL;
	}
	redis_cap_reader(&rd->cap, rd->rd);
	return rd;
}

void
agora__reply_reader_free(agora_reply_reader *rd)
{
	if (rd == NULL) {
		return;
	}
	redisReaderFree(rd->rd);
	agora_free(rd);
}

agora_err
agora__reply_reader_feed(agora_reply_reader *rd, const char *buf, size_t len)
{
	if (redisReaderFeed(rd->rd, buf, len) != REDIS_OK) {
		redis_reader_why(&rd->cap, rd->rd->errstr, rd->errstr,
		                 sizeof(rd->errstr));
		return AGORA_EREDIS;
	}
	return AGORA_OK;
}

agora_err
agora__reply_reader_get(agora_reply_reader *rd, agora_reply **out)
{
	void *reply = NULL;
	redisReply *rep;

	*out = NULL;
	if (redisReaderGetReply(rd->rd, &reply) != REDIS_OK) {
		redis_reader_why(&rd->cap, rd->rd->errstr, rd->errstr,
		                 sizeof(rd->errstr));
		return AGORA_EREDIS;
	}
	rep = reply;
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR) {
		agora_err rv =
		    redis_reply_error(rep, rd->errstr, sizeof(rd->errstr));
		freeReplyObject(rep);
		return rv;
	}
	*out = (agora_reply *)rep;
	return AGORA_OK;
}

const char *
agora__reply_reader_errstr(const agora_reply_reader *rd)
{
	return rd->errstr;
}
