/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * validate_idset.c - the duplicate-id sets of the validator: open addressing over 64-bit
 * hashes of the id values, sized once from the input size.
 */
#include "datahabitat/validate.h"

#include "ingest/internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>


/*
 * Open addressing with linear probing over `cap` slots of 12 bytes: the 64-bit hash of a
 * value (0 = empty) and the line where the value was first seen, packed so that a probe
 * touches one cache line (about 17 bytes per row at the 0.7 load the sets are sized for).
 * The hash below is a bijection of the value for a given length, so only values of
 * different lengths can collide (probability 2^-64 per pair).
 */
#define IDSET_MIN 1024
#define HUGE_PAGE ((size_t)2 << 20)

uint64_t dh__hash_value(const char *p, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15u ^ ((uint64_t)n * 0xD6E8FEB86659FD93u);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xBF58476D1CE4E5B9u;
		h ^= h >> 29;
		p += 8;
		n -= 8;
	}
	/* The last 1-7 bytes as one word without a variable-length copy: two overlapping 4-byte
	 * loads, or bytes 0, n/2 and n-1; either holds every byte, so it stays a bijection. */
	uint64_t w = 0;
	if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		w = a | (uint64_t)b << 32;
	} else if (n) {
		w = (uint64_t)(unsigned char)p[0] | (uint64_t)(unsigned char)p[n / 2] << 8 |
		    (uint64_t)(unsigned char)p[n - 1] << 16;
	}
	h = (h ^ w) * 0x94D049BB133111EBu;
	h ^= h >> 31;
	h *= 0xBF58476D1CE4E5B9u;
	h ^= h >> 32;
	return h ? h : 1;
}

static uint64_t slot_key(const uint32_t *slot)
{
	uint64_t k;
	memcpy(&k, slot, 8);
	return k;
}

static void free_slots(uint32_t *slots, size_t bytes)
{
#if defined(MADV_HUGEPAGE)
	if (slots && bytes >= HUGE_PAGE) {
		munmap(slots, bytes);
		return;
	}
#endif
	(void)bytes;
	free(slots);
}

/* Zeroed slots; big tables are mapped with transparent huge pages where available, since
 * random probes into hundreds of megabytes otherwise miss the TLB on most rows. */
static uint32_t *alloc_slots(size_t bytes)
{
#if defined(MADV_HUGEPAGE)
	if (bytes >= HUGE_PAGE) {
		void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		madvise(p, bytes, MADV_HUGEPAGE);
		return p;
	}
#endif
	return calloc(bytes / 4, 4);
}

static int idset_alloc(idset *s, size_t cap)
{
	if (cap > SIZE_MAX / 12)
		return DH_NOMEM;
	size_t bytes = cap * 12;
	uint32_t *slots = alloc_slots(bytes);
	if (!slots)
		return DH_NOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		const uint32_t *old = s->slots + 3 * i;
		uint64_t k = slot_key(old);
		if (!k)
			continue;
		size_t j = dh__slot_of(k, cap);
		while (slot_key(slots + 3 * j))
			j = j + 1 == cap ? 0 : j + 1;
		memcpy(slots + 3 * j, old, 12);
	}
	free_slots(s->slots, s->bytes);
	s->slots = slots;
	s->bytes = bytes;
	s->cap = cap;
	s->limit = cap / 10 * 8;
	return DH_OK;
}

/* Make room for `rows` values in total (load 0.7) when it is more than the current room. */
int dh__idset_reserve(idset *s, uint64_t rows)
{
	uint64_t cap = rows + rows * 3 / 7 + IDSET_MIN;
	if (cap <= s->cap || cap > SIZE_MAX / 12)
		return DH_OK;
	return idset_alloc(s, (size_t)cap);
}

/* Add h first seen at `line`; if already there, return 1 and its first line in *first. */
int dh__idset_add(idset *s, uint64_t h, uint64_t line, uint64_t *first, int *nomem)
{
	if (s->count >= s->limit && idset_alloc(s, s->cap ? s->cap * 2 : IDSET_MIN) != DH_OK) {
		*nomem = 1;
		return 0;
	}
	size_t j = dh__slot_of(h, s->cap);
	uint64_t k;
	while ((k = slot_key(s->slots + 3 * j)) != 0) {
		if (k == h) {
			*first = s->slots[3 * j + 2];
			return 1;
		}
		j = j + 1 == s->cap ? 0 : j + 1;
	}
	memcpy(s->slots + 3 * j, &h, 8);
	s->slots[3 * j + 2] = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
	s->count++;
	return 0;
}

void dh__idset_release(idset *s)
{
	free_slots(s->slots, s->bytes);
	memset(s, 0, sizeof(*s));
}
