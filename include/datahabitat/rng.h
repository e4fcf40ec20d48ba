/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * rng.h - a small deterministic pseudo-random generator (SplitMix64) for synthetic data,
 * benchmarks and tests.
 *
 * The same seed gives the same sequence on every platform: integer arithmetic only, no
 * floating point and no libc generator. Streams are cheap to derive from a seed and any
 * number of keys (dh_rng_derive), so that an item's values depend on its identity
 * (seed, landlord, program...) and not on the order in which items are produced.
 *
 * Thread safety: a dh_rng is a plain value; use one per thread.
 * Everything here is static inline: header-only, nothing to link.
 */
#ifndef DATAHABITAT_RNG_H
#define DATAHABITAT_RNG_H

#include <stdint.h>

typedef struct dh_rng {
	uint64_t state; /* SplitMix64 counter */
} dh_rng;

/* The SplitMix64 finaliser: a bijective 64-bit mix, good as a hash of an integer. */
static inline uint64_t dh_rng_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A generator seeded with `seed`. */
static inline dh_rng dh_rng_init(uint64_t seed)
{
	dh_rng r = { dh_rng_mix(seed ^ UINT64_C(0x6a09e667f3bcc908)) };
	return r;
}

/* A generator for the sub-stream `key` of `seed` (distinct keys give unrelated streams). */
static inline dh_rng dh_rng_derive(uint64_t seed, uint64_t key)
{
	return dh_rng_init(dh_rng_mix(seed + UINT64_C(0x9e3779b97f4a7c15) * (key + 1)));
}

/* Next 64 random bits. */
static inline uint64_t dh_rng_next(dh_rng *r)
{
	r->state += UINT64_C(0x9e3779b97f4a7c15);
	return dh_rng_mix(r->state);
}

/* Uniform integer in [0, n) (n > 0; bias below 2^-32 for n < 2^32). 0 when n is 0. */
static inline uint64_t dh_rng_below(dh_rng *r, uint64_t n)
{
	return n ? dh_rng_next(r) % n : 0;
}

/* Uniform integer in [lo, hi] (lo <= hi). */
static inline int64_t dh_rng_range(dh_rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t)dh_rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* 1 with probability per_million / 1,000,000, else 0. */
static inline int dh_rng_chance(dh_rng *r, uint32_t per_million)
{
	return (dh_rng_next(r) >> 32) % 1000000u < per_million;
}

#endif
