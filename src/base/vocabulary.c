/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * vocabulary.c - the names the whole platform shares: territory levels (cube.h), roles and
 * audiences (identity.h). They live in the base layer because every layer speaks them, the
 * store included (it stores roles, audiences and levels as text); the subsystems that give
 * them meaning (cube, governance) sit above the store.
 */
#include "datahabitat/cube.h"
#include "datahabitat/identity.h"

#include <string.h>

/* Territory levels, by dh_level. */
static const char *const level_names[] = { "all", "commune", "epci", "departement", "region",
					   "qpv", "bailleur" };

const char *dh_level_name(dh_level level)
{
	return (unsigned)level < sizeof(level_names) / sizeof(level_names[0]) ? level_names[level]
									      : "?";
}

int dh_level_find(dh_str name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (dh_str_eq(name, level_names[i]))
			return (int)i;
	if (dh_str_eq(name, "landlord"))
		return DH_LEVEL_LANDLORD;
	if (dh_str_eq(name, "département"))
		return DH_LEVEL_DEPARTEMENT;
	if (dh_str_eq(name, "région"))
		return DH_LEVEL_REGION;
	if (dh_str_eq(name, "france") || dh_str_eq(name, "tout"))
		return DH_LEVEL_ALL;
	return -1;
}

/* Roles and audiences. */
static const char *const role_names[DH_ROLE_COUNT] = { "member", "analyst", "partner",
						       "public", "admin",   "dpo" };

const char *dh_role_name(dh_role role)
{
	return (unsigned)role < DH_ROLE_COUNT ? role_names[role] : NULL;
}

int dh_role_parse(const char *name)
{
	for (int i = 0; name && i < DH_ROLE_COUNT; i++)
		if (strcmp(name, role_names[i]) == 0)
			return i;
	return -1;
}

const char *dh_audience_name(dh_audience a)
{
	static const char *const names[] = { "public", "members", "partner" };
	return (unsigned)a < 3 ? names[a] : NULL;
}
