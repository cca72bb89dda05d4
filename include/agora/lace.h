/* SPDX-License-Identifier: MIT */
/* Agentlace in agora: servers and clients for agents that are policies
 * (robots, RL actors), over nng (docs/lace.md).
 *
 *   action     a server (an environment, a robot) answers obs(keys) and
 *              act(key, payload) and publishes observations;
 *   inference  a server registers named interfaces; clients call them;
 *   trainer    clients push their datastores' new items exactly once and
 *              make custom requests; the server publishes networks.
 *
 * A payload is JSON text plus typed binary arrays, which the JSON names as
 * {"$array": i}. Arrays travel as raw bytes (no base64), optionally
 * compressed with LZ4. Every call has a deadline; a timeout is
 * AGORA_ETIMEDOUT, never an empty answer. Servers listen on loopback or a
 * local socket unless given a token; every request but the handshake must
 * carry that token.
 *
 * Datastores (queued, replay, trajectory) hold rows of typed fields and are
 * thread-safe. */
#ifndef AGORA_LACE_H
#define AGORA_LACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agora/buf.h"
#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The wire protocol's version; a peer with another is refused. */
#define AGORA_LACE_PROTOCOL 1

/* ---- arrays and payloads ---------------------------------------------- */

typedef enum agora_lace_dtype {
	AGORA_LACE_F32,
	AGORA_LACE_F64,
	AGORA_LACE_I32,
	AGORA_LACE_I64,
	AGORA_LACE_U8,
	AGORA_LACE_NDTYPES
} agora_lace_dtype;

#define AGORA_LACE_MAX_DIM 8

/* An n-dimensional array: nbytes = size of dtype x every shape[i]. The data
 * is lent: the owner keeps it alive (and unchanged) for as long as the
 * structure is in use. A scalar has ndim 0. */
typedef struct agora_lace_array {
	agora_lace_dtype dtype;
	uint32_t ndim;
	uint64_t shape[AGORA_LACE_MAX_DIM];
	const void *data;
} agora_lace_array;

/* "float32", "float64", "int32", "int64", "uint8"; NULL if out of range. */
AGORA_API const char *agora_lace_dtype_name(agora_lace_dtype t);
/* The dtype named so, or AGORA_EINVAL. */
AGORA_API agora_err agora_lace_dtype_parse(const char *name,
                                           agora_lace_dtype *t);
AGORA_API size_t agora_lace_dtype_size(agora_lace_dtype t);
/* Elements and bytes of a; 0 (and false) when they overflow size_t. */
AGORA_API size_t agora_lace_array_count(const agora_lace_array *a);
AGORA_API size_t agora_lace_array_bytes(const agora_lace_array *a);

/* What is sent or received: JSON text (NULL or empty: null) and arrays,
 * which the JSON refers to as {"$array": i}. Lent, like the arrays. */
typedef struct agora_lace_payload {
	const char *json;
	size_t json_len;
	const agora_lace_array *arrays;
	size_t narrays;
} agora_lace_payload;

/* A payload received by a client: owned; its arrays point into it. */
typedef struct agora_lace_msg agora_lace_msg;
AGORA_API const agora_lace_payload *
agora_lace_msg_payload(const agora_lace_msg *m);
/* Array i of the payload, or NULL. */
AGORA_API const agora_lace_array *agora_lace_msg_array(const agora_lace_msg *m,
                                                       size_t i);
AGORA_API void agora_lace_msg_free(agora_lace_msg *m);

/* A server's answer, built by a callback: its JSON and arrays. The answer
 * is sent after the callback returns. */
typedef struct agora_lace_out agora_lace_out;
/* Set the reply's JSON (copied). Not valid JSON: AGORA_EINVAL. */
AGORA_API agora_err agora_lace_out_json(agora_lace_out *o, const char *json,
                                        size_t len);
/* Add an array, copied (its data may be on the callback's stack); *index
 * (may be NULL) gets the number to name it by in the JSON. */
AGORA_API agora_err agora_lace_out_array(agora_lace_out *o,
                                         const agora_lace_array *a,
                                         size_t *index);
/* The same without the copy, for data that stays alive and unchanged
 * after the callback returns, until the server has sent the answer (a
 * buffer the server owns and changes only between calls, under the
 * caller's own lock): one copy less for big arrays. */
AGORA_API agora_err agora_lace_out_array_lent(agora_lace_out *o,
                                              const agora_lace_array *a,
                                              size_t *index);

/* ---- servers ----------------------------------------------------------- */

typedef enum agora_lace_kind {
	AGORA_LACE_ACTION,
	AGORA_LACE_INFERENCE,
	AGORA_LACE_TRAINER,
} agora_lace_kind;

/* A callback's answer: return AGORA_OK with `out` filled (no JSON: null),
 * or an error with a message in err; the client gets the error with the
 * message, and the server goes on. Callbacks run on the server's worker
 * threads, several at once: they must be thread-safe. */
typedef agora_err (*agora_lace_fn)(void *arg, const char *name,
                                   const agora_lace_payload *in,
                                   agora_lace_out *out, char *err,
                                   size_t errlen);

/* What a server is: its kind and the config clients must match. */
typedef struct agora_lace_config {
	agora_lace_kind kind;
	const char *version; /* the application's; NULL: "" */
	/* action: the keys obs and act take */
	const char *const *obs_keys;
	size_t nobs_keys;
	const char *const *act_keys;
	size_t nact_keys;
	/* trainer: the custom request types */
	const char *const *request_types;
	size_t nrequest_types;
} agora_lace_config;

typedef struct agora_lace_server_opts {
	const char *url;   /* tcp://127.0.0.1:5555, ipc:///path, tls+tcp:// */
	const char *token; /* the shared secret; NULL: none (local only) */
	bool insecure;     /* listen off loopback without a token */
	size_t workers;    /* callbacks at once (0: 4) */
	/* Run callbacks on the transport's own threads instead of handing
	 * them to the workers: about one thread wake-up less per call, for
	 * callbacks that never block (a slow one then delays others). */
	bool inline_calls;
	size_t max_msg;   /* largest request taken (0: 64 MiB) */
	size_t max_conns; /* connections at once (0: 256) */
	bool compress;    /* LZ4 for replies and publications with arrays */
	/* action: obs(keys) (name: NULL; in: {"keys": [...]}) and act (name:
	 * the key; in: the payload). inference: unused. trainer: custom
	 * requests (name: the type). */
	agora_lace_fn obs;
	agora_lace_fn act;
	agora_lace_fn request;
	/* trainer: called after items were added to a store (name: the
	 * store; in: {"client": ..., "first": id, "n": n}). May be NULL. */
	agora_lace_fn on_data;
	void *arg;
} agora_lace_server_opts;

typedef struct agora_lace_server agora_lace_server;

/* Make a server (not yet listening). The config is copied. */
AGORA_API agora_err agora_lace_server_new(agora_lace_server **sp,
                                          const agora_lace_config *cfg,
                                          const agora_lace_server_opts *o,
                                          char *err, size_t errlen);
/* Listen; an address in use or not allowed is an error naming it. */
AGORA_API agora_err agora_lace_server_start(agora_lace_server *s, char *err,
                                            size_t errlen);
/* Stop listening, close every connection and end long polls; requests in
 * flight get no answer (clients see a timeout or retry). May be started
 * again. */
AGORA_API void agora_lace_server_stop(agora_lace_server *s);
AGORA_API void agora_lace_server_free(agora_lace_server *s);
/* The address it listens on (with the port chosen for tcp://...:0). */
AGORA_API const char *agora_lace_server_url(const agora_lace_server *s);

/* inference: add or replace an interface, before or after start. */
AGORA_API agora_err agora_lace_server_register(agora_lace_server *s,
                                               const char *name,
                                               agora_lace_fn fn, void *arg);

/* Publish to every subscriber (observations, networks, frames): each gets
 * the newest publication it has not seen; a slow one skips older ones. */
AGORA_API agora_err agora_lace_server_publish(agora_lace_server *s,
                                              const agora_lace_payload *p);

typedef struct agora_lace_store agora_lace_store;

/* trainer: a named store clients push into. The server holds a reference;
 * the store must outlive it. */
AGORA_API agora_err agora_lace_server_add_store(agora_lace_server *s,
                                                const char *name,
                                                agora_lace_store *st);
/* trainer: {"stores": [{"name", "size", "capacity", "clients": [{"client",
 * "cursor", "received", "gaps"}]}]} into out. */
AGORA_API agora_err agora_lace_server_stores_json(agora_lace_server *s,
                                                  agora_buf *out);

/* ---- clients ----------------------------------------------------------- */

typedef struct agora_lace_client_opts {
	const char *url;
	const char *token;
	const char *name;   /* trainer: this client's name; NULL: random */
	int64_t timeout_ms; /* each call's deadline (0: 5000) */
	size_t max_msg;     /* largest reply taken (0: 64 MiB) */
	bool compress;      /* LZ4 for requests with arrays */
	/* trainer: the least time between two requests (custom requests and
	 * pushes), in ms; 0: no limit. A call too soon is AGORA_EAGAIN and
	 * sends nothing. */
	int64_t min_interval_ms;
} agora_lace_client_opts;

typedef struct agora_lace_client agora_lace_client;

/* Connect and do the handshake: a server of another kind, protocol,
 * version, key set or request types refuses with a message naming the
 * difference (AGORA_EINVAL); no server answering within timeout_ms is
 * AGORA_ETIMEDOUT. cfg may be NULL to take whatever the server is (the
 * CLI does this). */
AGORA_API agora_err agora_lace_client_open(agora_lace_client **cp,
                                           const agora_lace_config *cfg,
                                           const agora_lace_client_opts *o,
                                           char *err, size_t errlen);
AGORA_API void agora_lace_client_close(agora_lace_client *c);
/* The server's config as it said it in the handshake (JSON). */
AGORA_API const char *agora_lace_client_server_config(agora_lace_client *c);
/* Change the deadline of later calls. */
AGORA_API void agora_lace_client_set_timeout(agora_lace_client *c,
                                             int64_t timeout_ms);

/* action: the observations for keys (all when nkeys is 0). An unknown key
 * is AGORA_ENOTFOUND naming it. */
AGORA_API agora_err agora_lace_obs(agora_lace_client *c,
                                   const char *const *keys, size_t nkeys,
                                   agora_lace_msg **reply, char *err,
                                   size_t errlen);
AGORA_API agora_err agora_lace_act(agora_lace_client *c, const char *key,
                                   const agora_lace_payload *p,
                                   agora_lace_msg **reply, char *err,
                                   size_t errlen);

/* inference: the interfaces' names, as a JSON array, into out. */
AGORA_API agora_err agora_lace_interfaces(agora_lace_client *c, agora_buf *out,
                                          char *err, size_t errlen);
AGORA_API agora_err agora_lace_call(agora_lace_client *c, const char *name,
                                    const agora_lace_payload *p,
                                    agora_lace_msg **reply, char *err,
                                    size_t errlen);

/* trainer: a custom request of one of the config's types (another type is
 * AGORA_ENOTFOUND, sent nowhere). */
AGORA_API agora_err agora_lace_request(agora_lace_client *c, const char *type,
                                       const agora_lace_payload *p,
                                       agora_lace_msg **reply, char *err,
                                       size_t errlen);
/* trainer: push into the server's store `name` what st holds past the
 * server's cursor for this client and store. Exactly once: a request or
 * reply lost is sent again and the server takes each id once. */
AGORA_API agora_err agora_lace_client_add_store(agora_lace_client *c,
                                                const char *name,
                                                agora_lace_store *st);
/* Push every store's new items now. Items the client's store overwrote
 * before they were sent are counted in *gaps (may be NULL) and logged. */
AGORA_API agora_err agora_lace_update(agora_lace_client *c, uint64_t *gaps,
                                      char *err, size_t errlen);
/* Push on a thread every interval_ms until the client closes. */
AGORA_API agora_err agora_lace_start_updates(agora_lace_client *c,
                                             int64_t interval_ms);
/* trainer: the server's stores, as agora_lace_server_stores_json. */
AGORA_API agora_err agora_lace_stores(agora_lace_client *c, agora_buf *out,
                                      char *err, size_t errlen);

/* Subscribe to the server's publications: fn gets each newer one on the
 * client's thread (lent for the call), skipping any it was too slow for.
 * One subscription per client. */
typedef void (*agora_lace_sub_fn)(void *arg, uint64_t seq,
                                  const agora_lace_payload *p);
AGORA_API agora_err agora_lace_subscribe(agora_lace_client *c,
                                         agora_lace_sub_fn fn, void *arg);

/* ---- datastores -------------------------------------------------------- */

/* One field of a row: each row holds one array of this dtype and shape. */
typedef struct agora_lace_field {
	const char *name;
	agora_lace_dtype dtype;
	uint32_t ndim;
	uint64_t shape[AGORA_LACE_MAX_DIM];
} agora_lace_field;

/* queued: a bounded FIFO; each row gets the next id (0, 1, ...); the
 *         oldest row goes when it is full.
 * replay: a fixed-capacity ring with uniform sampling.
 * trajectory: a ring of episodes (see agora_lace_traj_*). */
typedef enum agora_lace_store_kind {
	AGORA_LACE_QUEUED,
	AGORA_LACE_REPLAY,
	AGORA_LACE_TRAJECTORY,
} agora_lace_store_kind;

typedef struct agora_lace_store_opts {
	agora_lace_store_kind kind;
	size_t capacity; /* rows */
	const agora_lace_field *fields;
	size_t nfields;
	uint64_t seed;       /* for sampling */
	size_t min_traj_len; /* trajectory: shorter ones are dropped
	                        (0: 2) */
} agora_lace_store_opts;

AGORA_API agora_err agora_lace_store_new(agora_lace_store **sp,
                                         const agora_lace_store_opts *o,
                                         char *err, size_t errlen);
AGORA_API void agora_lace_store_free(agora_lace_store *st);
AGORA_API agora_lace_store_kind agora_lace_store_kind_of(agora_lace_store *st);
AGORA_API size_t agora_lace_store_nfields(agora_lace_store *st);
AGORA_API const agora_lace_field *agora_lace_store_field(agora_lace_store *st,
                                                         size_t i);
/* The schema as JSON ([{"name","dtype","shape"}...]), for handshakes. */
AGORA_API agora_err agora_lace_store_schema(agora_lace_store *st,
                                            agora_buf *out);
/* Rows held now, and at most. */
AGORA_API size_t agora_lace_store_len(agora_lace_store *st);
AGORA_API size_t agora_lace_store_capacity(agora_lace_store *st);
/* The id of the newest row ever added (-1: none yet). Ids count every row
 * added, also ones since dropped. */
AGORA_API int64_t agora_lace_store_latest_id(agora_lace_store *st);

/* Add n rows: cols[f] holds n consecutive values of field f. */
AGORA_API agora_err agora_lace_store_insert(agora_lace_store *st, size_t n,
                                            const void *const *cols);

/* Rows with ids after `after`, oldest first, at most max_n: first id in
 * *first, count in *n, field f's values into cols[f] (room for max_n rows
 * each). *gap gets how many rows after `after` are gone already (dropped
 * before they were read). Taken in one step under the store's lock: the
 * ids and the rows agree. The rows are one run of consecutive ids, so the
 * next cursor is *first + *n - 1 (with *n 0, *first is the next id to
 * come). trajectory: the rows held, also of the trajectory in progress;
 * the ids of a trajectory dropped as too short are never given (gaps). */
AGORA_API agora_err agora_lace_store_since(agora_lace_store *st, int64_t after,
                                           size_t max_n, int64_t *first,
                                           size_t *n, uint64_t *gap,
                                           void *const *cols);

/* replay and trajectory: n rows drawn uniformly (with replacement) from
 * the rows that can be sampled, into cols (room for n rows each). No rows
 * yet: AGORA_ENOTFOUND. */
AGORA_API agora_err agora_lace_store_sample(agora_lace_store *st, size_t n,
                                            void *const *cols);

/* trajectory: the current trajectory ends with the last row added (a
 * trajectory shorter than the minimum is dropped). */
AGORA_API agora_err agora_lace_traj_end(agora_lace_store *st);

/* trajectory: a window sample. For each of n rows drawn uniformly from the
 * sampleable rows (ending trajectories of at least the minimum length, and
 * the one in progress when it is long enough), field `field` at offsets
 * begin..end-1 from it (end - begin values per row, in order) into out,
 * and valid[i * (end - begin) + k] says whether that offset lies inside
 * the same trajectory (out holds zeros where it does not). begin 0 and
 * end 1 is the latest sampler. rows (may be NULL) gets the slots drawn.
 * force (may be NULL): sample these slots instead of drawing (a position
 * as traj_window gives it is taken mod capacity); one outside the window
 * is AGORA_EINVAL. No field so named: AGORA_ENOTFOUND. */
AGORA_API agora_err agora_lace_traj_sample(agora_lace_store *st, size_t n,
                                           const char *field, int begin,
                                           int end, const size_t *force,
                                           void *out, bool *valid,
                                           size_t *rows);
/* trajectory: the sampleable slots are [*begin, *end) (mod capacity).
 * queued, replay: the rows held. */
AGORA_API void agora_lace_traj_window(agora_lace_store *st, uint64_t *begin,
                                      uint64_t *end);

/* Save every row and the bookkeeping (also the sampling window) to a file,
 * and load it into a store of the same kind, capacity and fields (another
 * is AGORA_EINVAL naming the difference). A file cut short or corrupted is
 * AGORA_EPROTO; a failed load leaves the store as it was. */
AGORA_API agora_err agora_lace_store_save(agora_lace_store *st,
                                          const char *path, char *err,
                                          size_t errlen);
AGORA_API agora_err agora_lace_store_load(agora_lace_store *st,
                                          const char *path, char *err,
                                          size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
