/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * keyfile.c - secret files kept next to the database (the pseudonymisation key, the audit
 * key): created with O_EXCL and mode 0600 whatever the umask, synced; read only when they
 * are regular files (not symbolic links) that no group or other user may read or write.
 */
#include "governance/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int dh__secret_file_write(const char *path, const void *buf, size_t len, dh_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return dh_error_set(err, DH_EXISTS, "clé « %s » déjà présente", path);
		return dh_error_set(err, DH_IO, "clé « %s » : création impossible : %s", path, strerror(errno));
	}
	int rc = DH_OK;
	/* fchmod: the mode given to open() is reduced by the umask. */
	if (fchmod(fd, 0600) != 0 || write(fd, buf, len) != (ssize_t)len || fsync(fd) != 0)
		rc = dh_error_set(err, DH_IO, "clé « %s » : écriture impossible : %s", path, strerror(errno));
	if (close(fd) != 0 && rc == DH_OK)
		rc = dh_error_set(err, DH_IO, "clé « %s » : écriture impossible : %s", path, strerror(errno));
	if (rc != DH_OK)
		unlink(path);
	return rc;
}

int dh__secret_file_read(const char *path, const char *what, char *buf, size_t size, size_t *len, dh_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return dh_error_set(err, DH_NOTFOUND, "%s « %s » introuvable", what, path);
		if (errno == ELOOP)
			return dh_error_set(err, DH_DENIED, "clé « %s » : lien symbolique refusé", path);
		return dh_error_set(err, DH_IO, "clé « %s » : lecture impossible : %s", path, strerror(errno));
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return dh_error_set(err, DH_DENIED, "clé « %s » : pas un fichier ordinaire", path);
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return dh_error_set(err, DH_DENIED,
				    "clé « %s » accessible à d'autres utilisateurs (mode %03o) : refusée, "
				    "restreignez-la avec « chmod 600 »",
				    path, (unsigned)(sb.st_mode & 0777));
	}
	ssize_t n = read(fd, buf, size - 1);
	int saved = errno;
	close(fd);
	if (n < 0)
		return dh_error_set(err, DH_IO, "clé « %s » : lecture impossible : %s", path, strerror(saved));
	buf[n] = '\0';
	*len = (size_t)n;
	return DH_OK;
}

int dh__sibling_path(dh_store *store, const char *suffix, char *buf, size_t size, dh_error *err)
{
	const char *path = dh_store_file_path(store);
	if (!path || !*path)
		return dh_error_set(err, DH_INVAL, "les clés ne sont gérées que pour une base fichier");
	int n = snprintf(buf, size, "%s%s", path, suffix);
	if (n < 0 || (size_t)n >= size)
		return dh_error_set(err, DH_TOOBIG, "chemin de la clé trop long");
	return DH_OK;
}
