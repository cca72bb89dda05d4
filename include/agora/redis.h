/* SPDX-License-Identifier: MIT */
/* A connection to Redis or a Redis Cluster (only core/ speaks hiredis),
 * and the embedded default: a private redis-server on a unix socket in a
 * temporary directory, stopped on exit. A connection is not thread-safe:
 * one per thread. */
#ifndef AGORA_REDIS_H
#define AGORA_REDIS_H

#include <stdint.h>

#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agora_redis agora_redis;

/* Connect to url: redis://[[user]:password@]host[:port][/db] or
 * unix://[[user]:password@]/path[?db=N]. A node of a Redis Cluster is
 * found out at the first command and its cluster used: each key's
 * command goes to the master of its slot, MOVED and ASK are followed
 * (docs/environment.md, "Redis Cluster"). The password is sent with AUTH on
 * every connection and re-connection (the user is not), and may be
 * percent-encoded (%40 for '@'). Each command may take timeout_ms (0:
 * 5000). If SIGPIPE has its default disposition it is set to ignored, so a
 * dead server is an error, not the end of the process. */
AGORA_API agora_err agora_redis_open(agora_redis **rp, const char *url,
                                     int64_t timeout_ms, char *err,
                                     size_t errlen);
AGORA_API void agora_redis_close(agora_redis *r);
/* url with password in its user-info (percent-encoded), for a URL that
 * names none; a URL that names one, a NULL or empty password, or a URL
 * that is not redis:// or unix:// give a copy of url. Caller frees. The
 * result is a secret: print it only through agora_url_redact. */
AGORA_API char *agora_redis_url_auth(const char *url, const char *password);
/* One PING round trip. */
AGORA_API agora_err agora_redis_ping(agora_redis *r);
/* The last error's detail ("connection refused", the server's text ...);
 * it names the URL without its password. */
AGORA_API const char *agora_redis_errstr(const agora_redis *r);
/* The URL as given, password and all: for another process to connect
 * with, never for printing (print agora_url_redact's copy). */
AGORA_API const char *agora_redis_url(const agora_redis *r);

typedef struct agora_redis_server agora_redis_server;

/* Start a private redis-server (program: NULL means "redis-server" in
 * PATH) with no persistence, on a unix socket in a new temporary directory,
 * and wait until it answers. The child dies with this process. If the
 * program is missing, AGORA_ENOTFOUND and err says how to install it. */
AGORA_API agora_err agora_redis_server_start(agora_redis_server **sp,
                                             const char *program, char *err,
                                             size_t errlen);
/* unix:///tmp/agora-XXXXXX/redis.sock */
AGORA_API const char *agora_redis_server_url(const agora_redis_server *s);
AGORA_API int agora_redis_server_pid(const agora_redis_server *s);
/* Its temporary directory (holds redis.sock and redis.log). */
AGORA_API const char *agora_redis_server_dir(const agora_redis_server *s);
/* Stop the server and remove its directory. NULL is fine. */
AGORA_API void agora_redis_server_stop(agora_redis_server *s);

#ifdef __cplusplus
}
#endif
#endif
