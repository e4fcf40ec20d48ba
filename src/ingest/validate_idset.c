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
#define HUGE_PAGE ((size_t)2 << 20)



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

int dh__idset_alloc(idset *s, size_t cap)
{
	if (cap > SIZE_MAX / 12)
		return DH_NOMEM;
	size_t bytes = cap * 12;
	uint32_t *slots = alloc_slots(bytes);
	if (!slots)
		return DH_NOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		const uint32_t *old = s->slots + 3 * i;
		uint64_t k = dh__slot_key(old);
		if (!k)
			continue;
		size_t j = dh__slot_of(k, cap);
		while (dh__slot_key(slots + 3 * j))
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
	uint64_t cap = rows + rows * 3 / 7 + DH__IDSET_MIN;
	if (cap <= s->cap || cap > SIZE_MAX / 12)
		return DH_OK;
	return dh__idset_alloc(s, (size_t)cap);
}


void dh__idset_release(idset *s)
{
	free_slots(s->slots, s->bytes);
	memset(s, 0, sizeof(*s));
}
