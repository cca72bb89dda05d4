/* SPDX-License-Identifier: MIT */
/* The Environment: the message hub of one session, kept in Redis
 * (DESIGN.md section 3). Every operation is one atomic Lua script, and the
 * *_many forms do many roles or messages in one round trip. Roles keep
 * registration order; a store checks sender and recipients before it
 * writes anything; a drain never returns a message twice (unless it was
 * requeued, and then it is marked redelivered). Not thread-safe: one
 * agora_env per thread. */
#ifndef AGORA_ENV_H
#define AGORA_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agora/err.h"
#include "agora/msg.h"
#include "agora/redis.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agora_env agora_env;

typedef struct agora_env_opts {
	int64_t drain_max;    /* messages per drain; 0: 10000 */
	int64_t memory_max;   /* memory entries per role; 0: 10000 */
	int64_t owner_ttl_ms; /* an owner is alive this long after it beats;
	                         0: 10000 */
	int64_t call_work;    /* list entries one script call writes at most
	                         (more takes several calls); 0: 100000 */
} agora_env_opts;

/* Open the environment of session (1..64 bytes, no braces or spaces) on r,
 * which is borrowed and must outlive env. opts may be NULL. */
AGORA_API agora_err agora_env_open(agora_env **envp, agora_redis *r,
                                   const char *session,
                                   const agora_env_opts *opts);
AGORA_API void agora_env_close(agora_env *env);
AGORA_API const char *agora_env_session(const agora_env *env);
/* The detail of the last error ("unknown recipient role ghost" ...). */
AGORA_API const char *agora_env_errstr(const agora_env *env);
AGORA_API agora_redis *agora_env_redis(agora_env *env);

/* Register roles in order. Invalid names: AGORA_EINVAL, nothing written.
 * An already registered role is a no-op. */
AGORA_API agora_err agora_env_register_roles(agora_env *env,
                                             const char *const *roles,
                                             size_t n);
/* All roles in registration order (into out, which is cleared first). */
AGORA_API agora_err agora_env_roles(agora_env *env, agora_strv *out);
/* Whether role is registered in the session (one SISMEMBER, whatever the
 * number of roles). */
AGORA_API agora_err agora_env_has_role(agora_env *env, const char *role,
                                       bool *yes);

/* Store msg from its sent_from (a role or user_requirement): validate, then
 * atomically give it an id (set in msg->id), add it to the history, deliver
 * it and publish an event. An unknown sender or recipient is
 * AGORA_ENOTFOUND and nothing is written. msg stays the caller's. */
AGORA_API agora_err agora_env_store(agora_env *env, agora_msg *msg);
/* Store n messages in one round trip, all or nothing. acks[i] true first
 * moves the sender's in-flight messages to its memory (a turn's reply);
 * acks may be NULL. */
AGORA_API agora_err agora_env_store_many(agora_env *env, agora_msg *const *msgs,
                                         const bool *acks, size_t n);

/* Flags of agora_env_store_flagged, per message. */
/* The sender drained for this reply: ack what it drained. */
#define AGORA_ENV_ACK 1u
/* The sender's kind is memoryless (keeps nothing of a turn): the message
 * enters neither its view nor its memory, and its ack only drops the
 * in-flight list and the lease, remembering nothing. */
#define AGORA_ENV_LIGHT 2u

/* agora_env_store_many with flags[i] (AGORA_ENV_*, may be NULL: none) for
 * msgs[i]. */
AGORA_API agora_err agora_env_store_flagged(agora_env *env,
                                            agora_msg *const *msgs,
                                            const uint8_t *flags, size_t n);

/* Move role's pending messages into its view (and in-flight list) and
 * return them in delivery order (appended to out). */
AGORA_API agora_err agora_env_drain(agora_env *env, const char *role,
                                    agora_msgs *out);
/* Drain n roles in one round trip; outs[i] receives roles[i]'s messages
 * (appended): one page, at most drain_max a role; drain again for more.
 * What is drained is leased to this env until it is acked, stored with a
 * reply or requeued: if this process dies, or the lease (set_lease) runs
 * out, the next drain of the role by anyone else, or a reclaim, puts it
 * back in the inbox. */
AGORA_API agora_err agora_env_drain_many(agora_env *env,
                                         const char *const *roles, size_t n,
                                         agora_msgs *outs);
/* agora_env_drain_many where light[i] (light may be NULL: none) says
 * roles[i]'s kind is memoryless: what it drains enters no view (it is in
 * flight and leased all the same). */
AGORA_API agora_err agora_env_drain_flagged(agora_env *env,
                                            const char *const *roles,
                                            const bool *light, size_t n,
                                            agora_msgs *outs);
/* How long a drain's lease lasts (a step's deadline and a margin); 0: the
 * default (305 s). */
AGORA_API void agora_env_set_lease(agora_env *env, int64_t lease_ms);
/* This env's owner id (random), which its leases name. */
AGORA_API const char *agora_env_owner(const agora_env *env);
/* Say this owner is alive for another owner_ttl_ms (drains say it too): a
 * working step beats at least every few seconds. */
AGORA_API agora_err agora_env_heartbeat(agora_env *env);
/* Put back, into their inboxes, the in-flight messages of every lease in
 * the session whose owner is gone or out of time, and of this env's own
 * leases (call it only with nothing of yours in flight: before a step);
 * *moved (may be NULL) counts them. */
AGORA_API agora_err agora_env_reclaim(agora_env *env, size_t *moved);
/* The drained messages were handled without a reply: into memory. */
AGORA_API agora_err agora_env_ack_many(agora_env *env, const char *const *roles,
                                       size_t n);
/* The drained messages were not handled (the agent failed): back to the
 * head of the inbox, to be delivered again. *moved (may be NULL) counts. */
AGORA_API agora_err agora_env_requeue_many(agora_env *env,
                                           const char *const *roles, size_t n,
                                           size_t *moved);

/* Roles with pending messages, in registration order. */
AGORA_API agora_err agora_env_notified_roles(agora_env *env, agora_strv *out);
/* The last limit messages of the history (0: all), oldest first. */
AGORA_API agora_err agora_env_history(agora_env *env, size_t limit,
                                      agora_msgs *out);
/* A page of the history: the first limit messages (at least 1) whose id
 * is over after, oldest first, found in O(log n) (ids only grow). */
AGORA_API agora_err agora_env_history_after(agora_env *env, uint64_t after,
                                            size_t limit, agora_msgs *out);
/* The messages role has seen: sent to it (drained), to all, or by it. */
AGORA_API agora_err agora_env_view(agora_env *env, const char *role,
                                   size_t limit, agora_msgs *out);
/* Role's memory: what it handled in its turns and what it said. */
AGORA_API agora_err agora_env_memory(agora_env *env, const char *role,
                                     size_t limit, agora_msgs *out);
/* The memories of n roles in one round trip (the last limit entries each,
 * 0: all); outs[i] receives roles[i]'s, with its own words marked as the
 * assistant's. */
AGORA_API agora_err agora_env_memory_many(agora_env *env,
                                          const char *const *roles, size_t n,
                                          size_t limit, agora_msgs *outs);
/* Put n messages into role's memory (not delivered, not in the history):
 * for memory loaded from a file. */
AGORA_API agora_err agora_env_memory_append(agora_env *env, const char *role,
                                            agora_msg *const *msgs, size_t n);
/* Save role's memory to path as a JSON list of messages (written to a
 * temporary file, then renamed), or load it from there into an empty
 * memory; a missing file loads nothing. The seeds' Memory(path=...). */
AGORA_API agora_err agora_env_memory_save(agora_env *env, const char *role,
                                          const char *path, char *err,
                                          size_t errlen);
AGORA_API agora_err agora_env_memory_load(agora_env *env, const char *role,
                                          const char *path, char *err,
                                          size_t errlen);
/* The messages sent from user_requirement. */
AGORA_API agora_err agora_env_requirements(agora_env *env, agora_msgs *out);
/* Pending inbox length of role. */
AGORA_API agora_err agora_env_pending(agora_env *env, const char *role,
                                      size_t *count);
/* Empty inboxes, views, memories, history and requirements; keep the roles
 * if keep_roles. Ids keep counting up. */
AGORA_API agora_err agora_env_reset(agora_env *env, bool keep_roles);

/* Every session of the Redis at r (those with an id counter, found with
 * SCAN), sorted, into out (cleared first); at most 100,000. */
AGORA_API agora_err agora_env_sessions(agora_redis *r, agora_strv *out);

/* What a UI lists about one session. */
typedef struct agora_env_session_info {
	uint64_t messages; /* in the history */
	size_t roles;      /* registered */
	int64_t last_ms;   /* wall clock of the last message; 0: none */
} agora_env_session_info;

/* Counts of session on r, in one round trip and one more for the last
 * message's time; no session is opened. */
AGORA_API agora_err agora_env_session_info_get(agora_redis *r,
                                               const char *session,
                                               agora_env_session_info *out);

#ifdef __cplusplus
}
#endif
#endif
