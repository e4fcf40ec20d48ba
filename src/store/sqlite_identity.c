/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * sqlite_identity.c - SQLite storage of users, API tokens and sharing agreements
 * (identity_backend.h): tables app_user, api_token and agreement created by the migration
 * DH_SQLITE_IDENTITY_MIGRATION. Arguments are already checked by identity.c; prepared
 * statements only.
 */
#include "store/internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static int sq_fail(sqlite3 *db, dh_error *err, const char *what)
{
	int code = sqlite3_errcode(db);
	int rc = code == SQLITE_NOMEM ? DH_NOMEM : code == SQLITE_CORRUPT ? DH_CORRUPT : DH_STORE;
	return dh_error_set(err, rc, "base de données : %s : %s", what, sqlite3_errmsg(db));
}

static int sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, dh_error *err)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return sq_fail(db, err, "préparation d'une requête");
	}
	return DH_OK;
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	dh_strlcpy(dst, size, t ? (const char *)t : "");
}

static void read_territory(dh_territory *t, sqlite3_stmt *st, int col)
{
	const unsigned char *lv = sqlite3_column_text(st, col);
	int level = lv ? dh_level_find((dh_str){ (const char *)lv, strlen((const char *)lv) }) : -1;
	t->level = level < 0 ? DH_LEVEL_ALL : (dh_level)level;
	copy_text(t->code, sizeof(t->code), st, col + 1);
}

/* Step a statement that returns no row; DH_OK, or `conflict` on a constraint violation. */
static int step_done(sqlite3 *db, sqlite3_stmt *st, int conflict, dh_error *err, const char *what)
{
	int s = sqlite3_step(st);
	if (s == SQLITE_DONE)
		return DH_OK;
	if (s == SQLITE_CONSTRAINT && conflict != DH_OK)
		return dh_error_set(err, conflict, "%s : %s", what, dh_result_message(conflict));
	return sq_fail(db, err, what);
}

/* ---- users ---- */

#define USER_COLS "id, login, role, org_siren, territory_level, territory_code, disabled, created_at"

static void read_user(sqlite3_stmt *st, dh_user *u)
{
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(st, 0);
	copy_text(u->login, sizeof(u->login), st, 1);
	const unsigned char *role = sqlite3_column_text(st, 2);
	int r = role ? dh_role_parse((const char *)role) : -1;
	u->role = r < 0 ? DH_ROLE_PUBLIC : (dh_role)r;
	copy_text(u->org_siren, sizeof(u->org_siren), st, 3);
	read_territory(&u->territory, st, 4);
	u->disabled = sqlite3_column_int(st, 6) != 0;
	copy_text(u->created_at, sizeof(u->created_at), st, 7);
}

static int sq_user_insert(void *state, dh_user *user, const char *pwhash, dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	sqlite3_stmt *st;
	int rc = sq_prepare(db,
			    "INSERT INTO app_user(login, role, org_siren, territory_level, territory_code,"
			    " pwhash, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
			    &st, err);
	if (rc != DH_OK)
		return rc;
	dh_store_now_utc(user->created_at, sizeof(user->created_at));
	sqlite3_bind_text(st, 1, user->login, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dh_role_name(user->role), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, user->org_siren, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, dh_level_name(user->territory.level), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, user->territory.code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, pwhash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, user->created_at, -1, SQLITE_STATIC);
	rc = step_done(db, st, DH_EXISTS, err, "ajout de l'utilisateur");
	if (rc == DH_OK)
		user->id = sqlite3_last_insert_rowid(db);
	else if (rc == DH_EXISTS)
		dh_error_set(err, DH_EXISTS, "l'utilisateur « %s » existe déjà", user->login);
	sqlite3_finalize(st);
	return rc;
}

static int sq_user_get(void *state, const char *login, dh_user *out, char pwhash[DH_PWHASH_SIZE],
		       dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	sqlite3_stmt *st;
	int rc = sq_prepare(db, "SELECT " USER_COLS ", pwhash FROM app_user WHERE login = ?", &st, err);
	if (rc != DH_OK)
		return rc;
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		read_user(st, out);
		if (pwhash)
			copy_text(pwhash, DH_PWHASH_SIZE, st, 8);
	} else if (s == SQLITE_DONE) {
		rc = dh_error_set(err, DH_NOTFOUND, "utilisateur « %s » inconnu", login);
	} else {
		rc = sq_fail(db, err, "lecture d'un utilisateur");
	}
	sqlite3_finalize(st);
	return rc;
}

static int sq_user_list(void *state, dh_user_cb cb, void *ctx, dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	sqlite3_stmt *st;
	int rc = sq_prepare(db, "SELECT " USER_COLS " FROM app_user ORDER BY login", &st, err);
	if (rc != DH_OK)
		return rc;
	int s;
	while (rc == DH_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
		dh_user u;
		read_user(st, &u);
		rc = cb(ctx, &u);
	}
	if (rc == DH_OK && s != SQLITE_DONE)
		rc = sq_fail(db, err, "liste des utilisateurs");
	sqlite3_finalize(st);
	return rc;
}

static int sq_user_disable(void *state, const char *login, dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	sqlite3_stmt *st;
	int rc = sq_prepare(db, "UPDATE app_user SET disabled = 1 WHERE login = ?", &st, err);
	if (rc != DH_OK)
		return rc;
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	rc = step_done(db, st, DH_OK, err, "désactivation de l'utilisateur");
	if (rc == DH_OK && sqlite3_changes(db) == 0)
		rc = dh_error_set(err, DH_NOTFOUND, "utilisateur « %s » inconnu", login);
	sqlite3_finalize(st);
	return rc;
}

/* ---- tokens ---- */

#define TOKEN_SELECT                                                                               \
	"SELECT t.id, u.login, t.scope, t.created_at, t.expires_at, t.revoked"                    \
	" FROM api_token t JOIN app_user u ON u.id = t.user_id"

static void read_token(sqlite3_stmt *st, dh_token *t)
{
	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, 0);
	copy_text(t->login, sizeof(t->login), st, 1);
	copy_text(t->scope, sizeof(t->scope), st, 2);
	copy_text(t->created_at, sizeof(t->created_at), st, 3);
	copy_text(t->expires_at, sizeof(t->expires_at), st, 4);
	t->revoked = sqlite3_column_int(st, 5) != 0;
}

static int sq_token_insert(void *state, dh_token *token, const unsigned char hash[32], dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	sqlite3_stmt *st;
	int rc = sq_prepare(db,
			    "INSERT INTO api_token(user_id, hash, scope, created_at, expires_at, revoked)"
			    " SELECT id, ?, ?, ?, ?, 0 FROM app_user WHERE login = ?",
			    &st, err);
	if (rc != DH_OK)
		return rc;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, token->scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, token->created_at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, token->expires_at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, token->login, -1, SQLITE_STATIC);
	rc = step_done(db, st, DH_EXISTS, err, "création du jeton");
	if (rc == DH_OK && sqlite3_changes(db) == 0)
		rc = dh_error_set(err, DH_NOTFOUND, "utilisateur « %s » inconnu", token->login);
	if (rc == DH_OK)
		token->id = sqlite3_last_insert_rowid(db);
	sqlite3_finalize(st);
	return rc;
}

static int sq_token_find(void *state, const unsigned char hash[32], dh_token *out, dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	sqlite3_stmt *st;
	int rc = sq_prepare(db, TOKEN_SELECT " WHERE t.hash = ?", &st, err);
	if (rc != DH_OK)
		return rc;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		read_token(st, out);
	else if (s == SQLITE_DONE)
		rc = dh_error_set(err, DH_NOTFOUND, "jeton inconnu");
	else
		rc = sq_fail(db, err, "lecture d'un jeton");
	sqlite3_finalize(st);
	return rc;
}

static int sq_token_revoke(void *state, int64_t id, dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	sqlite3_stmt *st;
	int rc = sq_prepare(db, "UPDATE api_token SET revoked = 1 WHERE id = ?", &st, err);
	if (rc != DH_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = step_done(db, st, DH_OK, err, "révocation du jeton");
	if (rc == DH_OK && sqlite3_changes(db) == 0)
		rc = dh_error_set(err, DH_NOTFOUND, "jeton %lld inconnu", (long long)id);
	sqlite3_finalize(st);
	return rc;
}

static int sq_token_list(void *state, const char *login, dh_token_cb cb, void *ctx, dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	sqlite3_stmt *st;
	int rc = sq_prepare(db, TOKEN_SELECT " WHERE ?1 IS NULL OR u.login = ?1 ORDER BY t.id", &st, err);
	if (rc != DH_OK)
		return rc;
	if (login)
		sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	int s;
	while (rc == DH_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
		dh_token t;
		read_token(st, &t);
		rc = cb(ctx, &t);
	}
	if (rc == DH_OK && s != SQLITE_DONE)
		rc = sq_fail(db, err, "liste des jetons");
	sqlite3_finalize(st);
	return rc;
}

/* ---- agreements ---- */

static int sq_agreement_insert(void *state, dh_agreement *a, dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	sqlite3_stmt *st;
	int rc = sq_prepare(db,
			    "INSERT INTO agreement(audience, partner, territory_level, territory_code,"
			    " indicators, purpose, legal_basis, start_date, end_date, created_at,"
			    " partner_level) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			    &st, err);
	if (rc != DH_OK)
		return rc;
	dh_store_now_utc(a->created_at, sizeof(a->created_at));
	sqlite3_bind_text(st, 1, dh_audience_name(a->audience), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->partner.code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, dh_level_name(a->territory.level), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->territory.code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->indicators, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a->purpose, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, a->legal_basis, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, a->start, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, a->end, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, a->created_at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, a->audience == DH_AUDIENCE_PARTNER ? dh_level_name(a->partner.level) : "",
			  -1, SQLITE_STATIC);
	rc = step_done(db, st, DH_INVAL, err, "ajout de la convention");
	if (rc == DH_OK)
		a->id = sqlite3_last_insert_rowid(db);
	sqlite3_finalize(st);
	return rc;
}

static int sq_agreement_list(void *state, dh_agreement_cb cb, void *ctx, dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	sqlite3_stmt *st;
	int rc = sq_prepare(db,
			    "SELECT id, audience, partner, territory_level, territory_code, indicators,"
			    " purpose, legal_basis, start_date, end_date, created_at, partner_level, partner"
			    " FROM agreement ORDER BY id",
			    &st, err);
	if (rc != DH_OK)
		return rc;
	int s;
	while (rc == DH_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
		dh_agreement a;
		memset(&a, 0, sizeof(a));
		a.id = sqlite3_column_int64(st, 0);
		const unsigned char *aud = sqlite3_column_text(st, 1);
		a.audience = !aud || strcmp((const char *)aud, "public") == 0 ? DH_AUDIENCE_PUBLIC
			     : strcmp((const char *)aud, "members") == 0      ? DH_AUDIENCE_MEMBERS
									      : DH_AUDIENCE_PARTNER;
		read_territory(&a.partner, st, 11); /* partner_level, partner: level ALL if none */
		read_territory(&a.territory, st, 3);
		copy_text(a.indicators, sizeof(a.indicators), st, 5);
		copy_text(a.purpose, sizeof(a.purpose), st, 6);
		copy_text(a.legal_basis, sizeof(a.legal_basis), st, 7);
		copy_text(a.start, sizeof(a.start), st, 8);
		copy_text(a.end, sizeof(a.end), st, 9);
		copy_text(a.created_at, sizeof(a.created_at), st, 10);
		rc = cb(ctx, &a);
	}
	if (rc == DH_OK && s != SQLITE_DONE)
		rc = sq_fail(db, err, "liste des conventions");
	sqlite3_finalize(st);
	return rc;
}

static int sq_agreement_set_end(void *state, int64_t id, const char *end, dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	sqlite3_stmt *st;
	/* min(): ending an agreement that has already ended must not extend it */
	int rc = sq_prepare(db, "UPDATE agreement SET end_date = min(end_date, ?) WHERE id = ?", &st, err);
	if (rc != DH_OK)
		return rc;
	sqlite3_bind_text(st, 1, end, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	rc = step_done(db, st, DH_OK, err, "fin de la convention");
	if (rc == DH_OK && sqlite3_changes(db) == 0)
		rc = dh_error_set(err, DH_NOTFOUND, "convention %lld inconnue", (long long)id);
	sqlite3_finalize(st);
	return rc;
}

const dh_identity_ops dh__sqlite_identity_ops = {
	.user_insert = sq_user_insert,
	.user_get = sq_user_get,
	.user_list = sq_user_list,
	.user_disable = sq_user_disable,
	.token_insert = sq_token_insert,
	.token_find = sq_token_find,
	.token_revoke = sq_token_revoke,
	.token_list = sq_token_list,
	.agreement_insert = sq_agreement_insert,
	.agreement_list = sq_agreement_list,
	.agreement_set_end = sq_agreement_set_end,
};
