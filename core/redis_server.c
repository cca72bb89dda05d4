/* SPDX-License-Identifier: MIT */
/* The embedded default: a private redis-server on a unix socket in a fresh
 * temporary directory, with no persistence, that dies with us. Used when no
 * Redis URL is given, and by the tests, so they never touch a developer's
 * Redis. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "agora/proc.h"
#include "agora/redis.h"

#define SERVER_READY_MS 10000

struct agora_redis_server {
	agora_proc *proc;
	char *dir;
	char *url;
};

/* The last line of the server's log, to explain a failed start. */
static void
server_log_tail(const char *dir, char *out, size_t outlen)
{
	char *path = agora_sprintf("%s/redis.log", dir);
	FILE *f = fopen(path, "r");
	char line[256];

	out[0] = '\0';
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] != '\0') {
			/* The tail of a long line is cut: a hint, not a log. */
			snprintf(out, outlen, "%.*s", (int)(outlen - 1), line);
		}
	}
	if (f != NULL) {
		fclose(f);
	}
	agora_free(path);
}

static void
server_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	/* readdir is safe on a DIR only this thread uses. */
	while (d != NULL &&
	       (e = readdir(d)) != NULL) { /* NOLINT(concurrency-mt-unsafe) */
		if (strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0) {
			char *p = agora_sprintf("%s/%s", dir, e->d_name);
			unlink(p);
			agora_free(p);
		}
	}
	if (d != NULL) {
		closedir(d);
	}
	rmdir(dir);
}

static agora_err
server_wait_ready(agora_redis_server *s, char *err, size_t errlen)
{
	int64_t deadline = agora_now_ms() + SERVER_READY_MS;
	char why[256];

	for (;;) {
		agora_redis *r = NULL;
		agora_err rv =
		    agora_redis_open(&r, s->url, 1000, why, sizeof(why));
		if (rv == AGORA_OK) {
			rv = agora_redis_ping(r);
			agora_redis_close(r);
			if (rv == AGORA_OK) {
				return AGORA_OK;
			}
		}
		if (!agora_proc_alive(s->proc)) {
			char tail[200];
			server_log_tail(s->dir, tail, sizeof(tail));
			snprintf(err, errlen,
			         "redis-server exited at start: %s",
			         tail[0] != '\0' ? tail : "no message");
			return AGORA_EREDIS;
		}
		if (agora_now_ms() > deadline) {
			snprintf(err, errlen,
			         "redis-server did not answer within %d ms: %s",
			         SERVER_READY_MS, why);
			return AGORA_ETIMEDOUT;
		}
		agora_sleep_ms(5);
	}
}

agora_err
agora_redis_server_start(agora_redis_server **sp, const char *program,
                         char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR"); /* NOLINT(concurrency-mt-unsafe) */
	agora_redis_server *s;
	char *sock, *log;
	agora_err rv;

	*sp = NULL;
	if (program == NULL || program[0] == '\0') {
		program = "redis-server";
	}
	s = agora_calloc(1, sizeof(*s));
	s->dir = agora_sprintf("%s/agora-XXXXXX",
	                       tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(s->dir) == NULL) {
		snprintf(err, errlen, "cannot make a directory for redis: %s",
		         s->dir);
		agora_free(s->dir);
		agora_free(s);
		return AGORA_ESYS;
	}
	sock = agora_sprintf("%s/redis.sock", s->dir);
	log = agora_sprintf("%s/redis.log", s->dir);
	s->url = agora_sprintf("unix://%s", sock);
	{
		const char *argv[] = {
			program,        "--port",      "0",
			"--unixsocket", sock,          "--unixsocketperm",
			"700",          "--save",      "",
			"--appendonly", "no",          "--dir",
			s->dir,         "--daemonize", "no",
			"--loglevel",   "warning",     NULL
		};
		/* SIGTERM if we die: Redis then removes its socket. */
		agora_proc_opts opts = { .argv = argv,
			                 .log_path = log,
			                 .die_with_parent = true,
			                 .death_signal = SIGTERM };
		char why[256];

		rv = agora_proc_spawn(&s->proc, &opts, why, sizeof(why));
		if (rv == AGORA_ENOTFOUND) {
			snprintf(
			    err, errlen,
			    "%s not found: install it (apt-get install "
			    "redis-server) or give the URL of a running Redis "
			    "with --redis URL",
			    program);
		} else if (rv != AGORA_OK) {
			snprintf(err, errlen, "%s", why);
		}
	}
	if (rv == AGORA_OK) {
		rv = server_wait_ready(s, err, errlen);
	}
	agora_free(sock);
	agora_free(log);
	if (rv != AGORA_OK) {
		agora_redis_server_stop(s);
		return rv;
	}
	agora_log(AGORA_LOG_INFO, "redis", "private redis-server pid %d at %s",
	          agora_proc_pid(s->proc), s->url);
	*sp = s;
	return AGORA_OK;
}

const char *
agora_redis_server_url(const agora_redis_server *s)
{
	return s->url;
}

int
agora_redis_server_pid(const agora_redis_server *s)
{
	return s->proc != NULL ? agora_proc_pid(s->proc) : 0;
}

const char *
agora_redis_server_dir(const agora_redis_server *s)
{
	return s->dir;
}

void
agora_redis_server_stop(agora_redis_server *s)
{
	if (s == NULL) {
		return;
	}
	agora_proc_free(s->proc);
	server_rmdir(s->dir);
	agora_free(s->dir);
	agora_free(s->url);
	agora_free(s);
}
