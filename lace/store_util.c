/* SPDX-License-Identifier: MIT */
/* What every store file uses: error messages, the random generator
 * (splitmix64 seeding xoshiro256**) and reading a row out of the ring.
 * Calls nothing in the other store files. */
#include <stdio.h>
#include <string.h>

#include "store.h"

void
agora__lace_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- the generator: splitmix64 seeds xoshiro256** ---------------------- */

static uint64_t
rng_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t out = rng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rng_rotl(s[3], 45);
	return out;
}

void
agora__lace_rng_seed(uint64_t *state, uint64_t seed)
{
	for (int i = 0; i < 4; i++) {
		state[i] = rng_splitmix(&seed);
	}
}

uint64_t
agora__lace_rng_below(uint64_t *state, uint64_t bound)
{
	/* Reject the low values that would make some results likelier. */
	uint64_t floor = (0 - bound) % bound;
	uint64_t x;

	do {
		x = rng_next(state);
	} while (x < floor);
	return x % bound;
}

uint64_t
agora__lace_id_at(const agora_lace_store *st, uint64_t p)
{
	if (st->slots == NULL) {
		return p;
	}
	return st->slots[p % st->capacity].id;
}

void
agora__lace_copy_out(const agora_lace_store *st, uint64_t p, size_t i,
                     void *const *out)
{
	size_t slot = (size_t)(p % st->capacity);

	for (size_t f = 0; f < st->nfields; f++) {
		size_t rb = st->row_bytes[f];

		memcpy((unsigned char *)out[f] + i * rb,
		       st->cols[f] + slot * rb, rb);
	}
}
