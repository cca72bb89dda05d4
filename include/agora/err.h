/* SPDX-License-Identifier: MIT */
/* Error codes. One list (AGORA_ERR_MAP) gives the enum, agora_strerror() and
 * agora_errname(). Append only: never renumber or reuse a value. */
#ifndef AGORA_ERR_H
#define AGORA_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

#define AGORA_API __attribute__((visibility("default")))

#define AGORA_ERR_MAP(X)                                   \
	X(OK, "success")                                   \
	X(EINVAL, "invalid argument")                      \
	X(ETIMEDOUT, "timed out")                          \
	X(ECLOSED, "object closed")                        \
	X(ECANCELED, "operation canceled")                 \
	X(ENOTFOUND, "no such agent, role or key")         \
	X(ETOOBIG, "message or buffer over its limit")     \
	X(EPROTO, "malformed message")                     \
	X(ETRANSPORT, "transport failure")                 \
	X(EREDIS, "redis failure")                         \
	X(EHTTP, "http or llm failure")                    \
	X(EINTERNAL, "internal error")                     \
	X(EEXIST, "already exists")                        \
	X(ESYS, "system call failed")                      \
	X(EAGENT, "agent failed")                          \
	X(EAUTH, "not authorised: missing or wrong token") \
	X(EAGAIN, "not now: try again later")

typedef enum agora_err {
#define AGORA_ERR_ENUM(name, text) AGORA_##name,
	AGORA_ERR_MAP(AGORA_ERR_ENUM)
#undef AGORA_ERR_ENUM
} agora_err;

/* A static English description of err ("unknown error" if out of range). */
AGORA_API const char *agora_strerror(agora_err err);

/* The code's name without prefix, such as "ENOTFOUND". */
AGORA_API const char *agora_errname(agora_err err);
/* The code named name (as agora_errname gives it, e.g. a peer's "code"
 * field), or fallback for NULL or a name not known here. */
AGORA_API agora_err agora_err_parse(const char *name, agora_err fallback);

#ifdef __cplusplus
}
#endif
#endif
