/* SPDX-License-Identifier: MIT */
/* The agent server (`agora server`, the seeds' as_server): a process that
 * hosts many agents of any number of sessions and runs their turns when a
 * TaskCenter asks, draining and publishing through Redis itself and
 * streaming chunks back. The wire protocol is docs/protocol.md. Also the
 * client side of management (`agora ctl`) and plugin loading. */
#ifndef AGORA_SERVER_H
#define AGORA_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agora/buf.h"
#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The protocol version this build speaks (docs/protocol.md). */
#define AGORA_PROTOCOL_VERSION 1
/* A token is 16 to 256 printable bytes. */
#define AGORA_TOKEN_MAX 256
/* The largest request a server decodes by default (--max-request): with
 * --max-connections, what a peer without a token can make it hold. Clients
 * keep their requests under a quarter of it (AGORA_CLIENT_REQUEST_MAX). */
#define AGORA_SERVER_REQUEST_MAX (1u << 20)
#define AGORA_CLIENT_REQUEST_MAX (256u << 10)

typedef struct agora_server_opts {
	const char *url;       /* tcp://host:port or ipc:///path */
	const char *token;     /* NULL: none (then only local addresses) */
	bool insecure;         /* allow a non-local address without token */
	const char *redis_url; /* the server registry; NULL: none */
	size_t max_agents;     /* 0: 1,000,000 */
	size_t workers;        /* requests handled at once; 0: 64 */
	size_t max_msg;   /* largest request; 0: AGORA_SERVER_REQUEST_MAX */
	size_t max_conns; /* connections at once; 0: 128 */
	int ready_fd;     /* >= 0: write "ready\n" there once listening */
	/* The time limit of one Redis command, for its sessions and the
	 * registry; 0: redis.timeout_ms's default. */
	int64_t redis_timeout_ms;
} agora_server_opts;

/* Run a server until a `stop` request or SIGTERM/SIGINT. Errors at start
 * (address in use, a non-local address without token) are returned with
 * err saying why; nothing is left listening. */
AGORA_API agora_err agora_server_run(const agora_server_opts *o, char *err,
                                     size_t errlen);

/* Load a plugin: a shared object exporting
 *   int agora_plugin_register(void);
 * which registers its kinds (agora_kind_register) and returns 0. The file
 * is checked first (agora_plugin_check): one that is not a plugin is an
 * error before any of its code runs. Start-up only, on one thread. */
#define AGORA_PLUGIN_SYMBOL "agora_plugin_register"
AGORA_API agora_err agora_plugin_load(const char *path, char *err,
                                      size_t errlen);
/* Whether path is a plugin, read without loading it: a regular file, a
 * 64-bit little-endian ELF shared object whose dynamic symbol table
 * defines the function AGORA_PLUGIN_SYMBOL. AGORA_ENOTFOUND (no such
 * definition, or no such file) or AGORA_EINVAL (not a plugin file), err
 * saying why. Reads are capped: a hostile file costs little to check. */
AGORA_API agora_err agora_plugin_check(const char *path, char *err,
                                       size_t errlen);
/* Load every plugin among the *.so files of dir. Dot-files are skipped
 * unread; other files that fail the check, or that dlopen refuses, are
 * skipped with a warning naming why; none of their code runs. A plugin
 * whose registration fails stops the load (an error). The names loaded are
 * appended to *loaded (one per line). */
AGORA_API agora_err agora_plugin_load_dir(const char *dir, agora_buf *loaded,
                                          char *err, size_t errlen);

/* Read a token file: its first line, 16-256 printable bytes. */
AGORA_API agora_err agora_token_read(const char *path, char *token,
                                     size_t tokenlen, char *err, size_t errlen);

/* One management request to the server at url: ops is a JSON array of
 * operations (docs/protocol.md); the reply's JSON goes to *reply. */
AGORA_API agora_err agora_server_request(const char *url, const char *token,
                                         const char *ops, int64_t timeout_ms,
                                         agora_buf *reply, char *err,
                                         size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
