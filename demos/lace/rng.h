/* SPDX-License-Identifier: MIT */
/* A small seeded random generator for the lace demos: splitmix64 (Steele,
 * Lea and Flood), which passes BigCrush and needs one word of state. Each
 * object owns its own generator, so runs are reproducible from their seeds
 * and no code touches rand()'s hidden global state. Header-only because it
 * is three short functions. */
#ifndef LACE_RNG_H
#define LACE_RNG_H

#include <stdint.h>

struct lace_rng {
	uint64_t s;
};

static inline void
lace_rng_seed(struct lace_rng *r, uint64_t seed)
{
	r->s = seed;
}

static inline uint64_t
lace_rng_next(struct lace_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1), with the 53 bits a double holds. */
static inline double
lace_rng_uniform(struct lace_rng *r)
{
	return (double)(lace_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n), n > 0, by Lemire's multiply-shift: no division, and a
 * bias below n / 2^32, nothing for buffer indices and action counts. */
static inline uint32_t
lace_rng_below(struct lace_rng *r, uint32_t n)
{
	return (uint32_t)((lace_rng_next(r) >> 32) * n >> 32);
}

#endif
