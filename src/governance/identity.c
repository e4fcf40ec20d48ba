/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * identity.c - users, roles, API tokens and sharing agreements (identity.h): argument
 * checks, Argon2id password hashing and verification (libsodium crypto_pwhash_str), random
 * tokens stored as their BLAKE2b hash, audit logging of logins and administration, then
 * dispatch to the backend through identity_backend.h.
 */
#include "datahabitat/identity.h"

#include "datahabitat/audit.h"
#include "datahabitat/indicators.h"
#include "datahabitat/store_governance.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024

int dh_login_valid(const char *login)
{
	if (!login)
		return 0;
	size_t n = strlen(login);
	if (n == 0 || n > DH_LOGIN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = login[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int dh_territory_parse(const char *text, dh_territory *out, dh_error *err)
{
	memset(out, 0, sizeof(*out));
	out->level = DH_LEVEL_ALL;
	if (!text)
		return dh_error_set(err, DH_INVAL, "territoire manquant");
	if (strcmp(text, "all") == 0)
		return DH_OK;
	const char *colon = strchr(text, ':');
	if (!colon)
		return dh_error_set(err, DH_INVAL, "territoire « %s » : « all » ou NIVEAU:CODE attendu", text);
	int level = dh_level_find((dh_str){ text, (size_t)(colon - text) });
	if (level != DH_LEVEL_COMMUNE && level != DH_LEVEL_EPCI && level != DH_LEVEL_DEPARTEMENT &&
	    level != DH_LEVEL_REGION)
		return dh_error_set(err, DH_INVAL,
				    "territoire « %s » : niveau commune, epci, departement ou region attendu", text);
	size_t n = strlen(colon + 1);
	if (n == 0 || n >= sizeof(out->code))
		return dh_error_set(err, DH_INVAL, "territoire « %s » : code manquant ou trop long", text);
	for (size_t i = 0; i < n; i++) {
		char c = colon[1 + i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')))
			return dh_error_set(err, DH_INVAL, "territoire « %s » : code invalide", text);
	}
	out->level = (dh_level)level;
	memcpy(out->code, colon + 1, n + 1);
	return DH_OK;
}

void dh_territory_format(const dh_territory *t, char *buf, size_t size)
{
	if (t->level == DH_LEVEL_ALL)
		snprintf(buf, size, "all");
	else
		snprintf(buf, size, "%s:%s", dh_level_name(t->level), t->code);
}

void dh_identity_public(dh_identity *who)
{
	memset(who, 0, sizeof(*who));
	dh_strlcpy(who->login, sizeof(who->login), "public");
	who->role = DH_ROLE_PUBLIC;
	who->territory.level = DH_LEVEL_ALL;
}

int dh_identity_init(dh_error *err)
{
	if (sodium_init() < 0)
		return dh_error_set(err, DH_INTERNAL, "initialisation de libsodium impossible");
	return DH_OK;
}

/* ---- users ---- */

int dh_user_add(dh_store *store, dh_user *user, const char *password, size_t len,
		const dh_actor *actor, dh_error *err)
{
	if (!store || !user || !password)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (dh_actor_check(actor, err) != DH_OK) /* nothing done that could not be logged */
		return DH_INVAL;
	if (!dh_login_valid(user->login)) {
		if (err)
			dh_strlcpy(err->field, sizeof(err->field), "login");
		return dh_error_set(err, DH_INVAL,
				    "identifiant « %s » invalide : 1 à 64 caractères parmi a-z 0-9 . _ -",
				    user->login);
	}
	if (!dh_role_name(user->role))
		return dh_error_set(err, DH_INVAL, "rôle invalide");
	if (user->role == DH_ROLE_MEMBER) {
		if (!dh_siren_valid(user->org_siren))
			return dh_error_set(err, DH_INVAL, "un membre doit être rattaché à un organisme (SIREN valide)");
		dh_org org;
		int rc = dh_store_org_get(store, user->org_siren, &org, err);
		if (rc != DH_OK)
			return rc;
	} else if (user->org_siren[0]) {
		return dh_error_set(err, DH_INVAL, "seul un membre est rattaché à un organisme");
	}
	if (user->role == DH_ROLE_PARTNER) {
		if (user->territory.level == DH_LEVEL_ALL || !user->territory.code[0])
			return dh_error_set(err, DH_INVAL, "un partenaire doit être rattaché à un territoire");
	} else if (user->territory.level != DH_LEVEL_ALL) {
		return dh_error_set(err, DH_INVAL, "seul un partenaire est rattaché à un territoire");
	}
	if (len < PASSWORD_MIN || len > PASSWORD_MAX)
		return dh_error_set(err, DH_INVAL, "mot de passe de %d à %d octets attendu", PASSWORD_MIN,
				    PASSWORD_MAX);
	int rc = dh_identity_init(err);
	if (rc != DH_OK)
		return rc;
	int strong = user->role == DH_ROLE_ADMIN || user->role == DH_ROLE_DPO;
	char hash[DH_PWHASH_SIZE];
	if (crypto_pwhash_str(hash, password, len,
			      strong ? crypto_pwhash_OPSLIMIT_MODERATE : crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      strong ? crypto_pwhash_MEMLIMIT_MODERATE : crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return dh_error_set(err, DH_NOMEM, "calcul de l'empreinte du mot de passe impossible");
	user->disabled = 0;
	rc = dh_store_user_insert(store, user, hash, err);
	sodium_memzero(hash, sizeof(hash));
	char object[128];
	snprintf(object, sizeof(object), "user:%s", user->login);
	int arc = dh_audit_log(store, actor, "user-add", object, 0, "",
			       rc == DH_OK ? "ok" : "error", rc == DH_OK ? err : NULL);
	return rc != DH_OK ? rc : arc;
}

int dh_user_get(dh_store *store, const char *login, dh_user *out, dh_error *err)
{
	if (!store || !out || !dh_login_valid(login))
		return dh_error_set(err, DH_INVAL, "identifiant invalide");
	return dh_store_user_get(store, login, out, NULL, err);
}

int dh_user_list(dh_store *store, dh_user_cb cb, void *ctx, dh_error *err)
{
	if (!store || !cb)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return dh_store_user_list(store, cb, ctx, err);
}

int dh_user_disable(dh_store *store, const char *login, const dh_actor *actor, dh_error *err)
{
	if (!store || !dh_login_valid(login))
		return dh_error_set(err, DH_INVAL, "identifiant invalide");
	if (dh_actor_check(actor, err) != DH_OK) /* nothing done that could not be logged */
		return DH_INVAL;
	int rc = dh_store_user_disable(store, login, err);
	if (rc == DH_NOTFOUND)
		return rc;
	char object[128];
	snprintf(object, sizeof(object), "user:%s", login);
	int arc = dh_audit_log(store, actor, "user-disable", object, 0, "",
			       rc == DH_OK ? "ok" : "error", rc == DH_OK ? err : NULL);
	return rc != DH_OK ? rc : arc;
}

static void identity_from_user(dh_identity *who, const dh_user *u)
{
	memset(who, 0, sizeof(*who));
	dh_strlcpy(who->login, sizeof(who->login), u->login);
	who->role = u->role;
	dh_strlcpy(who->org_siren, sizeof(who->org_siren), u->org_siren);
	who->territory = u->territory;
}

int dh_user_authenticate(dh_store *store, const char *login, const char *password, size_t len,
			 dh_identity *who, dh_error *err)
{
	if (!store || !who || !password)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	int rc = dh_identity_init(err);
	if (rc != DH_OK)
		return rc;
	dh_user u;
	char hash[DH_PWHASH_SIZE];
	int found = 0;
	if (dh_login_valid(login) && len <= PASSWORD_MAX) {
		rc = dh_store_user_get(store, login, &u, hash, err);
		if (rc == DH_OK)
			found = 1;
		else if (rc != DH_NOTFOUND)
			return rc;
	}
	int ok;
	if (found) {
		ok = crypto_pwhash_str_verify(hash, password, len) == 0 && !u.disabled;
	} else {
		/* Same cost as a real verification, so that timing does not tell whether the
		 * login exists. */
		char fake[DH_PWHASH_SIZE];
		if (crypto_pwhash_str(fake, password, len > PASSWORD_MAX ? PASSWORD_MAX : len,
				      crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0)
			sodium_memzero(fake, sizeof(fake));
		ok = 0;
	}
	sodium_memzero(hash, sizeof(hash));
	char object[128];
	snprintf(object, sizeof(object), "user:%.64s", dh_login_valid(login) ? login : "?");
	dh_actor self = dh_actor_user(dh_login_valid(login) ? login : "?");
	rc = dh_audit_log(store, &self, ok ? "login" : "login-failed", object, 0, "", ok ? "ok" : "denied", err);
	if (rc != DH_OK)
		return rc; /* fail closed: no login without its audit entry */
	if (!ok)
		return dh_error_set(err, DH_AUTH, "identifiant ou mot de passe incorrect");
	identity_from_user(who, &u);
	return DH_OK;
}

int dh_identity_of_user(dh_store *store, const char *login, dh_identity *who, dh_error *err)
{
	dh_user u;
	int rc = dh_user_get(store, login, &u, err);
	if (rc != DH_OK)
		return rc;
	if (u.disabled)
		return dh_error_set(err, DH_AUTH, "utilisateur « %s » désactivé", login);
	identity_from_user(who, &u);
	return DH_OK;
}

/* ---- tokens ---- */

static const char *const scopes[] = { "read:indicators", "write:import", "admin" };

int dh_token_scope_valid(const char *scope)
{
	for (size_t i = 0; scope && i < sizeof(scopes) / sizeof(scopes[0]); i++)
		if (strcmp(scope, scopes[i]) == 0)
			return 1;
	return 0;
}

static void utc_text(time_t t, char *buf, size_t size)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int token_hash(const char *text, unsigned char hash[32])
{
	return crypto_generichash(hash, 32, (const unsigned char *)text, strlen(text), NULL, 0);
}

int dh_token_create(dh_store *store, const char *login, const char *scope, int days,
		    char text[DH_TOKEN_TEXT_SIZE], dh_token *meta, const dh_actor *actor, dh_error *err)
{
	if (!store || !text)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (dh_actor_check(actor, err) != DH_OK) /* nothing done that could not be logged */
		return DH_INVAL;
	if (!dh_token_scope_valid(scope))
		return dh_error_set(err, DH_INVAL, "portée « %s » inconnue (read:indicators, write:import, admin)",
				    scope ? scope : "");
	if (days < 1 || days > 3650)
		return dh_error_set(err, DH_INVAL, "durée de validité de 1 à 3650 jours attendue");
	int rc = dh_identity_init(err);
	if (rc != DH_OK)
		return rc;
	dh_identity who;
	rc = dh_identity_of_user(store, login, &who, err);
	if (rc != DH_OK)
		return rc;
	if (strcmp(scope, "admin") == 0 && who.role != DH_ROLE_ADMIN)
		return dh_error_set(err, DH_INVAL, "la portée « admin » est réservée aux administrateurs");
	unsigned char raw[32], hash[32];
	randombytes_buf(raw, sizeof(raw));
	memcpy(text, "dh_", 3);
	sodium_bin2base64(text + 3, DH_TOKEN_TEXT_SIZE - 3, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	token_hash(text, hash);
	dh_token t;
	memset(&t, 0, sizeof(t));
	dh_strlcpy(t.login, sizeof(t.login), login);
	dh_strlcpy(t.scope, sizeof(t.scope), scope);
	time_t now = time(NULL);
	utc_text(now, t.created_at, sizeof(t.created_at));
	utc_text(now + (time_t)days * 86400, t.expires_at, sizeof(t.expires_at));
	rc = dh_store_token_insert(store, &t, hash, err);
	if (rc != DH_OK) {
		sodium_memzero(text, DH_TOKEN_TEXT_SIZE);
		return rc;
	}
	if (meta)
		*meta = t;
	char object[128];
	snprintf(object, sizeof(object), "token:%lld:%s", (long long)t.id, login);
	rc = dh_audit_log(store, actor, "token-create", object, 0, "", "ok", err);
	if (rc != DH_OK) /* not logged: do not hand the token out */
		sodium_memzero(text, DH_TOKEN_TEXT_SIZE);
	return rc;
}

int dh_token_revoke(dh_store *store, int64_t id, const dh_actor *actor, dh_error *err)
{
	if (!store)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (dh_actor_check(actor, err) != DH_OK) /* nothing done that could not be logged */
		return DH_INVAL;
	int rc = dh_store_token_revoke(store, id, err);
	if (rc != DH_OK)
		return rc;
	char object[128];
	snprintf(object, sizeof(object), "token:%lld", (long long)id);
	return dh_audit_log(store, actor, "token-revoke", object, 0, "", "ok", err);
}

int dh_token_resolve(dh_store *store, const char *token, const char *now, dh_identity *who,
		     dh_error *err)
{
	if (!store || !who)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (!token || strlen(token) != DH_TOKEN_TEXT_LEN || strncmp(token, "dh_", 3) != 0)
		return dh_error_set(err, DH_AUTH, "jeton invalide");
	int rc = dh_identity_init(err);
	if (rc != DH_OK)
		return rc;
	unsigned char hash[32];
	token_hash(token, hash);
	dh_token t;
	rc = dh_store_token_find(store, hash, &t, err);
	if (rc == DH_NOTFOUND)
		return dh_error_set(err, DH_AUTH, "jeton invalide");
	if (rc != DH_OK)
		return rc;
	char now_buf[21];
	if (!now) {
		utc_text(time(NULL), now_buf, sizeof(now_buf));
		now = now_buf;
	}
	if (t.revoked || strcmp(now, t.expires_at) >= 0)
		return dh_error_set(err, DH_AUTH, "jeton révoqué ou expiré");
	dh_user u;
	rc = dh_store_user_get(store, t.login, &u, NULL, err);
	if (rc == DH_NOTFOUND || (rc == DH_OK && u.disabled))
		return dh_error_set(err, DH_AUTH, "jeton invalide");
	if (rc != DH_OK)
		return rc;
	identity_from_user(who, &u);
	dh_strlcpy(who->scope, sizeof(who->scope), t.scope);
	who->token_id = t.id;
	return DH_OK;
}

int dh_token_list(dh_store *store, const char *login, dh_token_cb cb, void *ctx, dh_error *err)
{
	if (!store || !cb)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return dh_store_token_list(store, login, cb, ctx, err);
}

/* ---- agreements ---- */

int dh_audience_parse(const char *text, dh_agreement *a, dh_error *err)
{
	memset(&a->partner, 0, sizeof(a->partner));
	a->partner.level = DH_LEVEL_ALL;
	if (text && strcmp(text, "public") == 0) {
		a->audience = DH_AUDIENCE_PUBLIC;
		return DH_OK;
	}
	if (text && strcmp(text, "members") == 0) {
		a->audience = DH_AUDIENCE_MEMBERS;
		return DH_OK;
	}
	if (text && strncmp(text, "partner:", 8) == 0) {
		dh_territory t;
		if (dh_territory_parse(text + 8, &t, NULL) != DH_OK || t.level == DH_LEVEL_ALL)
			return dh_error_set(err, DH_INVAL, "public « %s » : partner:NIVEAU:CODE attendu "
							   "(par exemple partner:departement:29)", text);
		a->audience = DH_AUDIENCE_PARTNER;
		a->partner = t;
		return DH_OK;
	}
	return dh_error_set(err, DH_INVAL, "public « %s » : public, members ou partner:NIVEAU:CODE attendu",
			    text ? text : "");
}

static int field_error(dh_error *err, const char *field, const char *msg)
{
	if (err)
		dh_strlcpy(err->field, sizeof(err->field), field);
	return dh_error_set(err, DH_INVAL, "%s", msg);
}

/* "all", "public" or known ids, each once (at most the registry). */
static int indicators_valid(const char *list)
{
	if (strcmp(list, "all") == 0 || strcmp(list, "public") == 0)
		return 1;
	int positions[DH_QUERY_MAX_INDICATORS];
	size_t n = 0;
	for (const char *p = list;;) {
		size_t len = strcspn(p, ",");
		int k = dh_indicator_find((dh_str){ p, len });
		if (len == 0 || k < 0 || n == DH_QUERY_MAX_INDICATORS)
			return 0;
		positions[n++] = k;
		if (!p[len])
			break;
		p += len + 1;
	}
	return dh_indicator_list_check(positions, n, NULL) == DH_OK;
}

int dh_agreement_add(dh_store *store, dh_agreement *a, const dh_actor *actor, dh_error *err)
{
	if (!store || !a)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (dh_actor_check(actor, err) != DH_OK) /* nothing done that could not be logged */
		return DH_INVAL;
	if ((unsigned)a->audience > DH_AUDIENCE_PARTNER)
		return field_error(err, "audience", "public de la convention invalide");
	if (a->audience == DH_AUDIENCE_PARTNER && (a->partner.level == DH_LEVEL_ALL || !a->partner.code[0]))
		return field_error(err, "audience", "convention avec un partenaire sans territoire de partenaire");
	if (!a->purpose[0])
		return field_error(err, "purpose", "la finalité de la convention est obligatoire");
	if (!a->legal_basis[0])
		return field_error(err, "legal_basis", "la base légale de la convention est obligatoire");
	if (dh_text_check(a->purpose, DH_PURPOSE_MAX, "finalité de la convention", err) != DH_OK ||
	    dh_text_check(a->legal_basis, DH_PURPOSE_MAX, "base légale de la convention", err) != DH_OK)
		return DH_INVAL;
	if (!dh_date_valid(a->start) || !dh_date_valid(a->end))
		return field_error(err, "dates", "dates de début et de fin AAAA-MM-JJ attendues");
	if (strcmp(a->start, a->end) > 0)
		return field_error(err, "dates", "la date de fin précède la date de début");
	if (!indicators_valid(a->indicators))
		return field_error(err, "indicators", "indicateurs : all, public ou liste d'identifiants connus, chacun une fois");
	int rc = dh_store_agreement_insert(store, a, err);
	if (rc != DH_OK)
		return rc;
	char object[128];
	snprintf(object, sizeof(object), "agreement:%lld", (long long)a->id);
	return dh_audit_log(store, actor, "agreement-add", object, a->id, a->purpose, "ok", err);
}

int dh_agreement_list(dh_store *store, dh_agreement_cb cb, void *ctx, dh_error *err)
{
	if (!store || !cb)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return dh_store_agreement_list(store, cb, ctx, err);
}

int dh_agreement_end(dh_store *store, int64_t id, const char *today, const dh_actor *actor,
		     dh_error *err)
{
	if (!store)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (dh_actor_check(actor, err) != DH_OK) /* nothing done that could not be logged */
		return DH_INVAL;
	char day[11];
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (today) {
		if (!dh_date_valid(today))
			return dh_error_set(err, DH_INVAL, "date « %s » invalide", today);
		tm.tm_year = (today[0] - '0') * 1000 + (today[1] - '0') * 100 + (today[2] - '0') * 10 +
			     (today[3] - '0') - 1900;
		tm.tm_mon = (today[5] - '0') * 10 + (today[6] - '0') - 1;
		tm.tm_mday = (today[8] - '0') * 10 + (today[9] - '0');
		tm.tm_hour = 12;
	} else {
		time_t now = time(NULL);
		gmtime_r(&now, &tm);
		tm.tm_hour = 12;
	}
	time_t t = timegm(&tm) - 86400; /* the day before: no longer valid from today on */
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	int rc = dh_store_agreement_set_end(store, id, day, err);
	if (rc != DH_OK)
		return rc;
	char object[128];
	snprintf(object, sizeof(object), "agreement:%lld", (long long)id);
	return dh_audit_log(store, actor, "agreement-end", object, id, "", "ok", err);
}
