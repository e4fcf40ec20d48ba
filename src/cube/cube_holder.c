/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_holder.c - the current cube snapshot, swapped atomically after a rebuild.
 *
 * Readers take a reference under a read lock held only for a pointer copy and an atomic
 * increment; the writer holds the write lock only to replace the pointer. A build happens
 * entirely outside the lock, so readers never wait for it and never see a half-built cube;
 * the previous cube is freed when its last reader releases it.
 */
#include "cube/internal.h"

#include <pthread.h>
#include <stdlib.h>

struct dh_cube_holder {
	pthread_rwlock_t lock;
	dh_cube *current; /* holder's reference, may be NULL */
};

int dh_cube_holder_new(dh_cube_holder **out)
{
	dh_cube_holder *h = calloc(1, sizeof(*h));
	if (!h)
		return DH_NOMEM;
	if (pthread_rwlock_init(&h->lock, NULL) != 0) {
		free(h);
		return DH_NOMEM;
	}
	*out = h;
	return DH_OK;
}

void dh_cube_holder_free(dh_cube_holder *h)
{
	if (!h)
		return;
	dh_cube_release(h->current);
	pthread_rwlock_destroy(&h->lock);
	free(h);
}

dh_cube *dh_cube_holder_acquire(dh_cube_holder *h)
{
	pthread_rwlock_rdlock(&h->lock);
	dh_cube *c = h->current;
	dh_cube_retain(c);
	pthread_rwlock_unlock(&h->lock);
	return c;
}

void dh_cube_holder_swap(dh_cube_holder *h, dh_cube *cube)
{
	pthread_rwlock_wrlock(&h->lock);
	dh_cube *old = h->current;
	h->current = cube;
	pthread_rwlock_unlock(&h->lock);
	dh_cube_release(old);
}
