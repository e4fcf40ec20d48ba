/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube.c - the one place where the server obtains its cube: the persisted snapshot next to
 * the database (rebuilt from the store and rewritten when missing, stale or corrupt).
 * The new cube replaces the current one in the holder; running queries keep the one they
 * acquired until they release it.
 */
#include "server/internal.h"

int srv_cube_refresh(srv_state *st, dh_error *err)
{
	srv_conn *conn = srv_store_get(st);
	int rc = dh_cube_holder_open_snapshot(st->cubes, conn->store, st->geo, NULL, NULL, err);
	srv_store_put(conn);
	if (rc != DH_OK)
		return rc;
	atomic_store(&st->cube_built, (int64_t)time(NULL));
	atomic_store(&st->ready, 1);
	return DH_OK;
}
