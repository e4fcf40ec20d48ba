/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube.c - the one place where the server obtains its cube: built from the store today;
 * the persisted snapshot (issue 11 point 3, another branch) will be opened here instead.
 * The new cube replaces the current one in the holder; running queries keep the one they
 * acquired until they release it.
 */
#include "server/internal.h"

int srv_cube_refresh(srv_state *st, dh_error *err)
{
	dh_cube *cube = NULL;
	srv_conn *conn = srv_store_get(st);
	int rc = dh_cube_build_from_store(conn->store, st->geo, &cube, NULL, err);
	srv_store_put(conn);
	if (rc != DH_OK)
		return rc;
	dh_cube_holder_swap(st->cubes, cube);
	atomic_store(&st->cube_built, (int64_t)time(NULL));
	atomic_store(&st->ready, 1);
	return DH_OK;
}
