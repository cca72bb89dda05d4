/* SPDX-License-Identifier: MIT */
/* Datastores, private: the store's layout and what its files share
 * (store.c common rows, ids and locking; store_traj.c the trajectory ring;
 * store_file.c save and load). Never installed.
 *
 * Every row added takes a position in the ring (slot = position mod
 * capacity) and an id. Queued and replay stores never go back, so a row's
 * id is its position. A trajectory store rolls its position back when a
 * trajectory ends shorter than the minimum (Agentlace's insert index);
 * ids still count every row added, so there each slot keeps its id. */
#ifndef AGORA_LACE_STORE_H
#define AGORA_LACE_STORE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>

#include "agora/lace.h"

/* The most a store may hold, columns and slot records together. */
#define AGORA__LACE_STORE_MAX_BYTES ((uint64_t)16 << 30)
/* A field name's longest length, in bytes. */
#define AGORA__LACE_NAME_MAX 255
/* The most fields a row may have. */
#define AGORA__LACE_MAX_FIELDS 1024

/* Per-slot record of a trajectory store (Agentlace's metadata). */
typedef struct agora__lace_slot {
	uint64_t id;       /* the id of the row in this slot */
	uint64_t ep_begin; /* position where its trajectory began */
	int64_t ep_end;    /* position where it ended; -1 while open */
	uint64_t traj;     /* the trajectory's number */
} agora__lace_slot;

struct agora_lace_store {
	pthread_mutex_t lock;
	agora_lace_store_kind kind;
	size_t capacity;
	size_t nfields;
	agora_lace_field *fields; /* their names point into names */
	char **names;
	size_t *row_bytes;    /* bytes of one row of each field */
	unsigned char **cols; /* capacity x row_bytes[f] each */
	uint64_t pos;         /* the next row's position */
	uint64_t lo;          /* the oldest position still held */
	uint64_t added;       /* rows ever added: the next id */
	uint64_t rng[4];      /* xoshiro256** state */
	/* trajectory only */
	agora__lace_slot *slots; /* capacity records */
	uint64_t min_len;
	uint64_t traj_begin;   /* where the trajectory in progress began */
	uint64_t traj_id;      /* its number */
	uint64_t sample_begin; /* the sampleable positions: [begin, end) */
	uint64_t sample_end;
};

/* Write a message into err (may be NULL) like snprintf. */
void agora__lace_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Seed the generator; a uniform draw in [0, bound) (bound > 0). Caller
 * holds the lock. */
void agora__lace_rng_seed(uint64_t *state, uint64_t seed);
uint64_t agora__lace_rng_below(uint64_t *state, uint64_t bound);

/* The id of the row at position p (held). Caller holds the lock. */
uint64_t agora__lace_id_at(const agora_lace_store *st, uint64_t p);
/* Copy the row at position p into row i of every column of out. */
void agora__lace_copy_out(const agora_lace_store *st, uint64_t p, size_t i,
                          void *const *out);

/* trajectory: add one row (row i of cols), and the sample of n rows for
 * agora_lace_store_sample. Caller holds the lock. */
void agora__lace_traj_insert_row(agora_lace_store *st, const void *const *cols,
                                 size_t i);
agora_err agora__lace_traj_sample_all(agora_lace_store *st, size_t n,
                                      void *const *cols);

#endif
