/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_snapshot.c - the cube saved as a file (<db>.cube) and opened again with mmap.
 *
 * Format (version DH__SNAP_VERSION, native byte order, checked by an endianness marker):
 * a fixed header (magic, version, marker, file size, the store state stamp the cube was built
 * from, and a table of SNAP_COUNT sections: offset, size, hash), then the sections, each
 * aligned to 64 bytes. Columns (one per cube column, with their CUBE_PAD rows), the static
 * cache and bitmaps and the per-date commune counters of the latest date are stored exactly
 * as the engine reads them: opening is mmap, checksum verification and pointer setup; only
 * the small territory tables (communes, areas) are rebuilt on the heap, with their strings
 * pointing into the mapping. Every section is hashed (64-bit, 1 MiB chunks hashed in
 * parallel and then combined), and so is the header; a file whose sizes, hashes or
 * structure do not hold is refused (DH_CORRUPT), never used.
 */
#include "cube/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAP_MAGIC "DHCUBE\r\n"
#define SNAP_ENDIAN 0x01020304u
#define SNAP_ALIGN 64
#define SNAP_CHUNK ((size_t)1 << 20)

enum snap_section {
	S_META, S_DICT, S_DATES, S_STRINGS, S_COMMUNES, S_EPCIS, S_DEPARTEMENTS, S_REGIONS,
	S_QPVS, S_LANDLORDS, S_COMMUNE_ORDER, S_EPCI_COMMUNES, S_EPCI_FIRST,
	S_VALID_LO, S_VALID_SPAN, S_LANDLORD, S_QPV_CODE, S_CAT, S_NBPIECE, S_FLAGS,
	S_CONSTRUCT, S_LOCAT, S_BAIL, S_REMLOC, S_RENT, S_SURF,
	S_CACHE_ENTRIES, S_CACHE_LUTS, S_CACHE_COLS, S_MASK_BITS,
	S_BITS_PREDS, S_BITS_WORDS, S_SUM_RENT, S_SUM_SURF, S_SUM_CONSTRUCT,
	S_DATEPLAN,
	SNAP_COUNT
};

typedef struct snap_sect {
	uint64_t offset, size, hash;
} snap_sect;

typedef struct snap_header {
	char magic[8];
	uint32_t version, endian;
	uint64_t file_size;
	uint8_t stamp[DH_CUBE_STAMP_SIZE];
	uint32_t nsections, header_size;
	uint64_t header_hash; /* of the header with this field zero */
	snap_sect sect[SNAP_COUNT];
} snap_header;

typedef struct snap_meta {
	uint64_t nrows, ncommunes, nepcis, ndepartements, nregions, nqpvs, nlandlords, ndates;
	uint64_t nwords;
	int32_t nkeys, nmasks, nbits, dateplan_date;
	uint64_t dateplan_block; /* counters per commune, 0: no dateplan stored */
} snap_meta;

typedef struct snap_commune {
	uint32_t code, name; /* offsets in S_STRINGS */
	int32_t epci, departement, region;
	uint32_t row_begin, row_end;
} snap_commune;

typedef struct snap_area {
	uint32_t code, name;
	uint32_t row_begin, row_end, nrows;
} snap_area;

typedef struct snap_cache_entry {
	int32_t n, bit, is_mask, pad;
	int32_t dims[CUBE_CACHE_FIELDS];
	uint32_t domains[CUBE_CACHE_FIELDS];
	uint64_t luts[CUBE_CACHE_FIELDS]; /* offsets in S_CACHE_LUTS */
} snap_cache_entry;

typedef struct snap_pred {
	int32_t dim, op, lo, hi;
	uint32_t set; /* offset in S_STRINGS, UINT32_MAX: NULL */
	uint32_t pad;
} snap_pred;

/* ---------------------------------------------------------------- hashing */

#define P1 11400714785074694791ull
#define P2 14029467366897019727ull
#define P3 1609587929392839161ull
#define P4 9650029242287828579ull
#define P5 2870177450012600261ull

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t round64(uint64_t acc, uint64_t in)
{
	return rotl64(acc + in * P2, 31) * P1;
}

static inline uint64_t merge64(uint64_t h, uint64_t v)
{
	return (h ^ round64(0, v)) * P1 + P4;
}

/* XXH64 of len bytes with a seed (the published algorithm, written out here). */
static uint64_t hash64(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data, *end = p + len;
	uint64_t h;
	if (len >= 32) {
		uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
		const uint8_t *limit = end - 32;
		do {
			v1 = round64(v1, rd64(p));
			v2 = round64(v2, rd64(p + 8));
			v3 = round64(v3, rd64(p + 16));
			v4 = round64(v4, rd64(p + 24));
			p += 32;
		} while (p <= limit);
		h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
		h = merge64(h, v1);
		h = merge64(h, v2);
		h = merge64(h, v3);
		h = merge64(h, v4);
	} else {
		h = seed + P5;
	}
	h += (uint64_t)len;
	for (; p + 8 <= end; p += 8)
		h = rotl64(h ^ round64(0, rd64(p)), 27) * P1 + P4;
	if (p + 4 <= end) {
		uint32_t v;
		memcpy(&v, p, 4);
		h = rotl64(h ^ ((uint64_t)v * P1), 23) * P2 + P3;
		p += 4;
	}
	for (; p < end; p++)
		h = rotl64(h ^ (*p * P5), 11) * P1;
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

/* A section's hash: the hash of its 1 MiB chunk hashes (chunk k seeded with k), so that
 * the chunks of every section can be hashed on several threads. */
typedef struct hash_job {
	const uint8_t *base;
	const snap_sect *sect;
	uint64_t *chunk_hash; /* per section: first chunk index in first[s] */
	const size_t *first;
	size_t nchunks;
	atomic_size_t next;
} hash_job;

static void *hash_worker(void *arg)
{
	hash_job *j = arg;
	for (;;) {
		size_t c = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
		if (c >= j->nchunks)
			return NULL;
		int s = 0;
		while (s + 1 < SNAP_COUNT && j->first[s + 1] <= c)
			s++;
		size_t k = c - j->first[s];
		size_t off = k * SNAP_CHUNK, len = j->sect[s].size - off;
		if (len > SNAP_CHUNK)
			len = SNAP_CHUNK;
		j->chunk_hash[c] = hash64(j->base + j->sect[s].offset + off, len, k);
	}
}

/* hashes[s] for the sections sect[0..SNAP_COUNT) of the bytes at base. DH_OK or DH_NOMEM. */
static int hash_sections(const uint8_t *base, const snap_sect *sect, uint64_t *hashes)
{
	size_t first[SNAP_COUNT + 1];
	size_t total = 0;
	for (int s = 0; s < SNAP_COUNT; s++) {
		first[s] = total;
		total += (size_t)((sect[s].size + SNAP_CHUNK - 1) / SNAP_CHUNK);
	}
	first[SNAP_COUNT] = total;
	hash_job j = { .base = base, .sect = sect, .first = first, .nchunks = total };
	atomic_init(&j.next, 0);
	j.chunk_hash = malloc((total ? total : 1) * sizeof(uint64_t));
	if (!j.chunk_hash)
		return DH_NOMEM;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int nt = cpus > 1 ? (cpus > 4 ? 4 : (int)cpus) : 1;
	if (total < 16)
		nt = 1;
	pthread_t th[4];
	int started = 0;
	for (int t = 1; t < nt; t++)
		if (pthread_create(&th[started], NULL, hash_worker, &j) == 0)
			started++;
	hash_worker(&j);
	for (int t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	for (int s = 0; s < SNAP_COUNT; s++)
		hashes[s] = hash64(j.chunk_hash + first[s], (first[s + 1] - first[s]) * sizeof(uint64_t),
				   (uint64_t)s);
	free(j.chunk_hash);
	return DH_OK;
}

static uint64_t header_hash(const snap_header *h)
{
	snap_header copy = *h;
	copy.header_hash = 0;
	return hash64(&copy, sizeof(copy), 0x5eed);
}

/* ---------------------------------------------------------------- writing */

/* The bytes of each section, gathered before writing. Pieces point into the cube or into
 * buffers owned by the writer. */
#define MAX_PIECES 24

typedef struct piece {
	const void *data;
	size_t size;
} piece;

typedef struct wsect {
	piece p[MAX_PIECES];
	int n;
} wsect;

typedef struct writer {
	wsect s[SNAP_COUNT];
	char *pool;
	size_t pool_len, pool_cap;
	void *owned[16];           /* buffers of converted tables (owned_alloc) */
	size_t nowned;
	int failed;
} writer;

static void add(writer *w, int s, const void *data, size_t size)
{
	if (w->s[s].n == MAX_PIECES) {
		w->failed = 1;
		return;
	}
	w->s[s].p[w->s[s].n++] = (piece){ data, size };
}

static uint32_t pool_add(writer *w, const char *text)
{
	size_t len = strlen(text ? text : "") + 1;
	if (w->pool_len + len > w->pool_cap) {
		size_t cap = w->pool_cap ? w->pool_cap * 2 : 65536;
		while (cap < w->pool_len + len)
			cap *= 2;
		char *p = realloc(w->pool, cap);
		if (!p) {
			w->failed = 1;
			return 0;
		}
		w->pool = p;
		w->pool_cap = cap;
	}
	uint32_t off = (uint32_t)w->pool_len;
	memcpy(w->pool + off, text ? text : "", len);
	w->pool_len += len;
	if (w->pool_len > UINT32_MAX)
		w->failed = 1;
	return off;
}

/* Zeroed memory for n items, freed with the writer's other buffers; NULL (w->failed) on
 * failure. */
#define MAX_OWNED 16
static void *owned_alloc(writer *w, size_t n, size_t size)
{
	void *p = w->nowned < MAX_OWNED ? calloc(n ? n : 1, size) : NULL;
	if (!p)
		w->failed = 1;
	else
		w->owned[w->nowned++] = p;
	return p;
}

static snap_area *areas_out(writer *w, const cube_area *a, size_t n)
{
	snap_area *o = owned_alloc(w, n, sizeof(*o));
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++)
		o[i] = (snap_area){ pool_add(w, a[i].code), pool_add(w, a[i].name), a[i].row_begin,
				    a[i].row_end, a[i].nrows };
	return o;
}

static int write_all(int fd, const void *data, size_t size)
{
	const uint8_t *p = data;
	while (size) {
		ssize_t k = write(fd, p, size > ((size_t)1 << 30) ? ((size_t)1 << 30) : size);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		size -= (size_t)k;
	}
	return 0;
}

/* Write the gathered sections to fd after the header; fill h->sect offsets and sizes. */
static int write_sections(int fd, const writer *w, snap_header *h)
{
	static const uint8_t zeros[SNAP_ALIGN];
	uint64_t off = (sizeof(snap_header) + SNAP_ALIGN - 1) / SNAP_ALIGN * SNAP_ALIGN;
	if (lseek(fd, (off_t)off, SEEK_SET) < 0)
		return -1;
	for (int s = 0; s < SNAP_COUNT; s++) {
		h->sect[s].offset = off;
		uint64_t size = 0;
		for (int k = 0; k < w->s[s].n; k++) {
			if (w->s[s].p[k].size && write_all(fd, w->s[s].p[k].data, w->s[s].p[k].size) != 0)
				return -1;
			size += w->s[s].p[k].size;
		}
		h->sect[s].size = size;
		uint64_t pad = (SNAP_ALIGN - size % SNAP_ALIGN) % SNAP_ALIGN;
		if (pad && write_all(fd, zeros, pad) != 0)
			return -1;
		off += size + pad;
	}
	h->file_size = off;
	return 0;
}

/* Hash what was written (read back through a mapping of the file). */
static int hash_written(int fd, snap_header *h)
{
	void *map = mmap(NULL, h->file_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -1;
	uint64_t hashes[SNAP_COUNT];
	int rc = hash_sections(map, h->sect, hashes);
	munmap(map, h->file_size);
	if (rc != DH_OK)
		return -1;
	for (int s = 0; s < SNAP_COUNT; s++)
		h->sect[s].hash = hashes[s];
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Gather every section of cube into w (buffers for the converted tables in *owned). */
static void gather(writer *w, const dh_cube *c, snap_meta *m)
{
	size_t n = c->nrows, padded = n + CUBE_PAD;
	*m = (snap_meta){ .nrows = n, .ncommunes = c->ncommunes, .nepcis = c->nepcis,
			  .ndepartements = c->ndepartements, .nregions = c->nregions,
			  .nqpvs = c->nqpvs, .nlandlords = c->nlandlords, .ndates = c->ndates,
			  .nwords = c->bits.nwords, .nkeys = c->cache.nkeys,
			  .nmasks = c->cache.nmasks, .nbits = c->bits.n };
	add(w, S_META, m, sizeof(*m));
	add(w, S_DICT, c->dict, sizeof(c->dict));
	add(w, S_DATES, c->dates, c->ndates * sizeof(int32_t));

	snap_commune *sc = owned_alloc(w, c->ncommunes, sizeof(*sc));
	if (!sc)
		return;
	for (size_t i = 0; i < c->ncommunes; i++) {
		const cube_commune *cc = &c->communes[i];
		sc[i] = (snap_commune){ pool_add(w, cc->code), pool_add(w, cc->name), cc->epci,
					cc->departement, cc->region, cc->row_begin, cc->row_end };
	}
	add(w, S_COMMUNES, sc, c->ncommunes * sizeof(*sc));
	const cube_area *areas[5] = { c->epcis, c->departements, c->regions, c->qpvs, c->landlords };
	size_t counts[5] = { c->nepcis, c->ndepartements, c->nregions, c->nqpvs, c->nlandlords };
	for (int a = 0; a < 5; a++) {
		snap_area *o = areas_out(w, areas[a], counts[a]);
		if (o)
			add(w, S_EPCIS + a, o, counts[a] * sizeof(*o));
	}
	add(w, S_COMMUNE_ORDER, c->commune_order, c->ncommunes * sizeof(uint32_t));
	add(w, S_EPCI_COMMUNES, c->epci_communes, c->epci_first[c->nepcis] * sizeof(uint32_t));
	add(w, S_EPCI_FIRST, c->epci_first, (c->nepcis + 1) * sizeof(uint32_t));

	add(w, S_VALID_LO, c->valid_lo, padded * 2);
	add(w, S_VALID_SPAN, c->valid_span, padded * 2);
	add(w, S_LANDLORD, c->landlord, padded * 2);
	add(w, S_QPV_CODE, c->qpv_code, padded * 2);
	for (int k = 0; k < CAT_COUNT; k++)
		add(w, S_CAT, c->cat[k], padded);
	add(w, S_NBPIECE, c->nbpiece, padded);
	add(w, S_FLAGS, c->flags, padded);
	add(w, S_CONSTRUCT, c->construct, padded * 2);
	add(w, S_LOCAT, c->locat, padded * 2);
	add(w, S_BAIL, c->bail, padded * 2);
	add(w, S_REMLOC, c->remloc, padded * 2);
	add(w, S_RENT, c->rent, padded * 4);
	add(w, S_SURF, c->surf, padded * 4);

	/* static cache: entry descriptions, their tables (8-aligned), the key columns */
	int ne = c->cache.nkeys + c->cache.nmasks;
	snap_cache_entry *ce = owned_alloc(w, (size_t)ne, sizeof(*ce));
	if (!ce)
		return;
	size_t lut_total = 0;
	for (int e = 0; e < ne; e++) {
		const cube_cache_entry *src = e >= c->cache.nkeys ? &c->cache.masks[e - c->cache.nkeys] : &c->cache.keys[e];
		for (int f = 0; f < src->n; f++)
			lut_total += ((size_t)src->domains[f] * 2 + 7) / 8 * 8;
	}
	uint8_t *lut_buf = owned_alloc(w, lut_total + 8, 1);
	if (!lut_buf)
		return;
	uint64_t lut_off = 0;
	for (int e = 0; e < ne; e++) {
		int is_mask = e >= c->cache.nkeys;
		const cube_cache_entry *src = is_mask ? &c->cache.masks[e - c->cache.nkeys] : &c->cache.keys[e];
		ce[e] = (snap_cache_entry){ .n = src->n, .bit = src->bit, .is_mask = is_mask };
		for (int f = 0; f < src->n; f++) {
			size_t bytes = is_mask ? src->domains[f] : src->domains[f] * sizeof(uint16_t);
			ce[e].dims[f] = (int32_t)src->dims[f];
			ce[e].domains[f] = src->domains[f];
			ce[e].luts[f] = lut_off;
			memcpy(lut_buf + lut_off, src->luts[f], bytes);
			lut_off += (bytes + 7) / 8 * 8;
		}
		if (!is_mask)
			add(w, S_CACHE_COLS, src->col, padded);
	}
	add(w, S_CACHE_ENTRIES, ce, (size_t)ne * sizeof(*ce));
	add(w, S_CACHE_LUTS, lut_buf, (size_t)lut_off);
	if (c->cache.nmasks)
		add(w, S_MASK_BITS, c->cache.mask_bits, padded);

	snap_pred *sp = owned_alloc(w, (size_t)c->bits.n, sizeof(*sp));
	if (!sp)
		return;
	for (int k = 0; k < c->bits.n; k++) {
		const dh_predicate *pr = &c->bits.preds[k];
		sp[k] = (snap_pred){ (int32_t)pr->dim, (int32_t)pr->op, pr->lo, pr->hi,
				     pr->set ? pool_add(w, pr->set) : UINT32_MAX, 0 };
	}
	add(w, S_BITS_PREDS, sp, (size_t)c->bits.n * sizeof(*sp));
	size_t nw = c->bits.nwords;
	if (c->bits.words) {
		add(w, S_BITS_WORDS, c->bits.words, ((size_t)c->bits.n * nw + 1) * 8);
		add(w, S_SUM_RENT, c->bits.sum_rent, (nw + 1) * 8);
		add(w, S_SUM_SURF, c->bits.sum_surf, (nw + 1) * 8);
		add(w, S_SUM_CONSTRUCT, c->bits.sum_construct, (nw + 1) * 8);
	}
	/* the commune counters of the latest date, when the cube holds them */
	if (c->ndates) {
		size_t block = 0;
		const int64_t *blocks = dh__cube_dateplan_blocks(c, c->dates[c->ndates - 1], &block);
		if (blocks) {
			m->dateplan_date = c->dates[c->ndates - 1];
			m->dateplan_block = block;
			add(w, S_DATEPLAN, blocks, (c->ncommunes + 1) * block * sizeof(int64_t));
		}
	}
	add(w, S_STRINGS, w->pool, w->pool_len); /* last: every string is in */
}

int dh_cube_snapshot_write(const dh_cube *cube, const uint8_t stamp[DH_CUBE_STAMP_SIZE],
			   const char *path, dh_error *err)
{
	if (!cube || !stamp || !path || !*path)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (cube->map)
		return dh_error_set(err, DH_INVAL, "ce cube est déjà une image sur disque");
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
		return dh_error_set(err, DH_INVAL, "chemin trop long : %s", path);
	writer w;
	memset(&w, 0, sizeof(w));
	snap_meta meta;
	gather(&w, cube, &meta);
	int rc = DH_OK;
	int fd = -1;
	if (w.failed) {
		rc = dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
		goto done;
	}
	fd = mkstemp(tmp); /* 0600 whatever the umask */
	if (fd < 0) {
		rc = dh_error_set(err, DH_IO, "%s : création impossible (%s)", tmp, strerror(errno));
		goto done;
	}
	(void)fchmod(fd, 0600);
	snap_header h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, SNAP_MAGIC, 8);
	h.version = DH__SNAP_VERSION;
	h.endian = SNAP_ENDIAN;
	memcpy(h.stamp, stamp, DH_CUBE_STAMP_SIZE);
	h.nsections = SNAP_COUNT;
	h.header_size = sizeof(h);
	if (write_sections(fd, &w, &h) != 0 || hash_written(fd, &h) != 0) {
		rc = dh_error_set(err, DH_IO, "%s : écriture impossible (%s)", tmp, strerror(errno));
		goto done;
	}
	h.header_hash = header_hash(&h);
	if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || fsync(fd) != 0) {
		rc = dh_error_set(err, DH_IO, "%s : écriture impossible (%s)", tmp, strerror(errno));
		goto done;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = dh_error_set(err, DH_IO, "%s : écriture impossible (%s)", tmp, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = dh_error_set(err, DH_IO, "%s : remplacement impossible (%s)", path, strerror(errno));
		goto done;
	}
	tmp[0] = '\0';
	if (fsync_dir_of(path) != 0)
		rc = dh_error_set(err, DH_IO, "%s : synchronisation du répertoire impossible (%s)", path,
				  strerror(errno));
done:
	if (fd >= 0)
		close(fd);
	if (tmp[0] && rc != DH_OK)
		unlink(tmp);
	for (size_t i = 0; i < w.nowned; i++)
		free(w.owned[i]);
	free(w.pool);
	return rc;
}

/* ---------------------------------------------------------------- reading */

typedef struct reader {
	const uint8_t *base;
	const snap_header *h;
	const snap_meta *m;
	const char *pool;
	size_t pool_len;
} reader;

static const void *sect_ptr(const reader *r, int s)
{
	return r->base + r->h->sect[s].offset;
}

/* Section s holds exactly `size` bytes. */
static int sect_is(const reader *r, int s, uint64_t size)
{
	return r->h->sect[s].size == size;
}

static int str_ok(const reader *r, uint32_t off)
{
	return off < r->pool_len;
}

static int corrupt(dh_error *err, const char *path, const char *what)
{
	return dh_error_set(err, DH_CORRUPT, "%s : image du cube inutilisable (%s)", path, what);
}

/* Areas of section s (count n) on the heap; strings point into the mapping. */
static int areas_in(const reader *r, int s, size_t n, uint64_t nrows, cube_area **out)
{
	if (!sect_is(r, s, n * sizeof(snap_area)))
		return DH_CORRUPT;
	const snap_area *a = sect_ptr(r, s);
	cube_area *o = calloc(n ? n : 1, sizeof(*o));
	if (!o)
		return DH_NOMEM;
	*out = o;
	for (size_t i = 0; i < n; i++) {
		if (!str_ok(r, a[i].code) || !str_ok(r, a[i].name) || a[i].nrows > nrows ||
		    (a[i].row_begin != UINT32_MAX && (a[i].row_begin > a[i].row_end || a[i].row_end > nrows)))
			return DH_CORRUPT;
		o[i] = (cube_area){ (char *)(uintptr_t)(r->pool + a[i].code),
				    (char *)(uintptr_t)(r->pool + a[i].name), a[i].row_begin, a[i].row_end,
				    a[i].nrows };
	}
	return DH_OK;
}

/* Every index of the territory tables within bounds. */
static int territories_in(const reader *r, dh_cube *c)
{
	const snap_meta *m = r->m;
	size_t nc = c->ncommunes;
	if (!sect_is(r, S_COMMUNES, nc * sizeof(snap_commune)))
		return DH_CORRUPT;
	const snap_commune *sc = sect_ptr(r, S_COMMUNES);
	c->communes = calloc(nc ? nc : 1, sizeof(cube_commune));
	if (!c->communes)
		return DH_NOMEM;
	for (size_t i = 0; i < nc; i++) {
		const snap_commune *x = &sc[i];
		if (!str_ok(r, x->code) || !str_ok(r, x->name) || x->epci < -1 ||
		    x->epci >= (int64_t)m->nepcis || x->departement < 0 ||
		    x->departement >= (int64_t)m->ndepartements || x->region < 0 ||
		    x->region >= (int64_t)m->nregions || x->row_begin > x->row_end || x->row_end > m->nrows)
			return DH_CORRUPT;
		c->communes[i] = (cube_commune){ (char *)(uintptr_t)(r->pool + x->code),
						 (char *)(uintptr_t)(r->pool + x->name), x->epci,
						 x->departement, x->region, x->row_begin, x->row_end };
	}
	cube_area **areas[5] = { &c->epcis, &c->departements, &c->regions, &c->qpvs, &c->landlords };
	size_t counts[5] = { c->nepcis, c->ndepartements, c->nregions, c->nqpvs, c->nlandlords };
	for (int a = 0; a < 5; a++) {
		int rc = areas_in(r, S_EPCIS + a, counts[a], m->nrows, areas[a]);
		if (rc != DH_OK)
			return rc;
	}
	if (!sect_is(r, S_COMMUNE_ORDER, nc * 4) || !sect_is(r, S_EPCI_FIRST, (c->nepcis + 1) * 4))
		return DH_CORRUPT;
	c->commune_order = (uint32_t *)(uintptr_t)sect_ptr(r, S_COMMUNE_ORDER);
	c->epci_first = (uint32_t *)(uintptr_t)sect_ptr(r, S_EPCI_FIRST);
	for (size_t i = 0; i < nc; i++)
		if (c->commune_order[i] >= nc)
			return DH_CORRUPT;
	for (size_t e = 0; e < c->nepcis; e++)
		if (c->epci_first[e] > c->epci_first[e + 1])
			return DH_CORRUPT;
	uint32_t nec = c->epci_first[c->nepcis];
	if (c->epci_first[0] != 0 || nec > nc || !sect_is(r, S_EPCI_COMMUNES, (uint64_t)nec * 4))
		return DH_CORRUPT;
	c->epci_communes = (uint32_t *)(uintptr_t)sect_ptr(r, S_EPCI_COMMUNES);
	for (uint32_t i = 0; i < nec; i++)
		if (c->epci_communes[i] >= nc)
			return DH_CORRUPT;
	return DH_OK;
}

/* Column of `width`-byte cells, nrows + CUBE_PAD of them. */
static void *column_in(const reader *r, int s, size_t width, int *ok)
{
	if (!sect_is(r, s, (r->m->nrows + CUBE_PAD) * width))
		*ok = 0;
	return (void *)(uintptr_t)sect_ptr(r, s);
}

static int columns_in(const reader *r, dh_cube *c)
{
	int ok = 1;
	size_t padded = c->nrows + CUBE_PAD;
	c->valid_lo = column_in(r, S_VALID_LO, 2, &ok);
	c->valid_span = column_in(r, S_VALID_SPAN, 2, &ok);
	c->landlord = column_in(r, S_LANDLORD, 2, &ok);
	c->qpv_code = column_in(r, S_QPV_CODE, 2, &ok);
	if (!sect_is(r, S_CAT, padded * CAT_COUNT))
		ok = 0;
	for (int k = 0; k < CAT_COUNT; k++)
		c->cat[k] = (uint8_t *)(uintptr_t)sect_ptr(r, S_CAT) + (size_t)k * padded;
	c->nbpiece = column_in(r, S_NBPIECE, 1, &ok);
	c->flags = column_in(r, S_FLAGS, 1, &ok);
	c->construct = column_in(r, S_CONSTRUCT, 2, &ok);
	c->locat = column_in(r, S_LOCAT, 2, &ok);
	c->bail = column_in(r, S_BAIL, 2, &ok);
	c->remloc = column_in(r, S_REMLOC, 2, &ok);
	c->rent = column_in(r, S_RENT, 4, &ok);
	c->surf = column_in(r, S_SURF, 4, &ok);
	if (!ok || !sect_is(r, S_DICT, sizeof(c->dict)) ||
	    !sect_is(r, S_DATES, c->ndates * sizeof(int32_t)))
		return DH_CORRUPT;
	memcpy(c->dict, sect_ptr(r, S_DICT), sizeof(c->dict));
	for (int k = 0; k < CAT_COUNT; k++) {
		if (c->dict[k].count < 1 || c->dict[k].count > CUBE_DICT_MAX)
			return DH_CORRUPT;
		for (uint32_t i = 0; i < CUBE_DICT_MAX; i++)
			if (c->dict[k].text[i][CUBE_CODE_MAX] != '\0')
				return DH_CORRUPT;
	}
	c->dates = (int32_t *)(uintptr_t)sect_ptr(r, S_DATES);
	for (size_t i = 1; i < c->ndates; i++)
		if (c->dates[i - 1] >= c->dates[i])
			return DH_CORRUPT;
	return DH_OK;
}

static int cache_in(const reader *r, dh_cube *c)
{
	const snap_meta *m = r->m;
	size_t padded = c->nrows + CUBE_PAD;
	if (m->nkeys < 0 || m->nkeys > CUBE_CACHE_MAX || m->nmasks < 0 || m->nmasks > 8 ||
	    !sect_is(r, S_CACHE_ENTRIES, (uint64_t)(m->nkeys + m->nmasks) * sizeof(snap_cache_entry)) ||
	    !sect_is(r, S_CACHE_COLS, (uint64_t)m->nkeys * padded) ||
	    !sect_is(r, S_MASK_BITS, m->nmasks ? padded : 0))
		return DH_CORRUPT;
	const snap_cache_entry *ce = sect_ptr(r, S_CACHE_ENTRIES);
	const uint8_t *luts = sect_ptr(r, S_CACHE_LUTS);
	uint64_t luts_size = r->h->sect[S_CACHE_LUTS].size;
	c->cache.nkeys = m->nkeys;
	c->cache.nmasks = m->nmasks;
	for (int e = 0; e < m->nkeys + m->nmasks; e++) {
		int is_mask = e >= m->nkeys;
		cube_cache_entry *dst = is_mask ? &c->cache.masks[e - m->nkeys] : &c->cache.keys[e];
		const snap_cache_entry *x = &ce[e];
		if (x->is_mask != is_mask || x->n < 1 || x->n > CUBE_CACHE_FIELDS ||
		    (is_mask && (x->bit < 0 || x->bit >= 8)))
			return DH_CORRUPT;
		dst->n = x->n;
		dst->bit = x->bit;
		for (int f = 0; f < x->n; f++) {
			const void *col;
			int wide;
			uint32_t domain;
			if (x->dims[f] <= DH_DIM_NONE || x->dims[f] >= DH_DIM_COUNT)
				return DH_CORRUPT;
			dh__dim_column(c, (dh_dim)x->dims[f], &col, &wide, &domain);
			uint64_t bytes = is_mask ? x->domains[f] : (uint64_t)x->domains[f] * 2;
			if (!col || x->domains[f] != domain || x->luts[f] % 8 || x->luts[f] > luts_size ||
			    bytes > luts_size - x->luts[f])
				return DH_CORRUPT;
			dst->dims[f] = (dh_dim)x->dims[f];
			dst->domains[f] = x->domains[f];
			dst->luts[f] = (void *)(uintptr_t)(luts + x->luts[f]);
		}
		if (!is_mask)
			dst->col = (uint8_t *)(uintptr_t)sect_ptr(r, S_CACHE_COLS) + (size_t)e * padded;
	}
	c->cache.mask_bits = m->nmasks ? (uint8_t *)(uintptr_t)sect_ptr(r, S_MASK_BITS) : NULL;

	size_t nw = (c->nrows + 63) / 64;
	if (m->nbits < 0 || m->nbits > CUBE_BITS_MAX || m->nwords != nw ||
	    !sect_is(r, S_BITS_PREDS, (uint64_t)m->nbits * sizeof(snap_pred)) ||
	    !sect_is(r, S_BITS_WORDS, ((uint64_t)m->nbits * nw + 1) * 8) ||
	    !sect_is(r, S_SUM_RENT, (nw + 1) * 8) || !sect_is(r, S_SUM_SURF, (nw + 1) * 8) ||
	    !sect_is(r, S_SUM_CONSTRUCT, (nw + 1) * 8))
		return DH_CORRUPT;
	const snap_pred *sp = sect_ptr(r, S_BITS_PREDS);
	c->bits.n = m->nbits;
	c->bits.nwords = nw;
	for (int k = 0; k < m->nbits; k++) {
		if (sp[k].dim <= DH_DIM_NONE || sp[k].dim >= DH_DIM_COUNT ||
		    (sp[k].set != UINT32_MAX && !str_ok(r, sp[k].set)))
			return DH_CORRUPT;
		c->bits.preds[k] = (dh_predicate){ (dh_dim)sp[k].dim, (dh_op)sp[k].op,
						   sp[k].set == UINT32_MAX ? NULL : r->pool + sp[k].set,
						   sp[k].lo, sp[k].hi };
		if (!dh__pred_valid(&c->bits.preds[k]))
			return DH_CORRUPT;
	}
	c->bits.words = (uint64_t *)(uintptr_t)sect_ptr(r, S_BITS_WORDS);
	c->bits.sum_rent = (uint64_t *)(uintptr_t)sect_ptr(r, S_SUM_RENT);
	c->bits.sum_surf = (uint64_t *)(uintptr_t)sect_ptr(r, S_SUM_SURF);
	c->bits.sum_construct = (uint64_t *)(uintptr_t)sect_ptr(r, S_SUM_CONSTRUCT);
	return DH_OK;
}

static int header_ok(const snap_header *h, uint64_t size)
{
	if (h->file_size != size || h->nsections != SNAP_COUNT || h->header_size != sizeof(*h))
		return 0;
	for (int s = 0; s < SNAP_COUNT; s++) {
		const snap_sect *x = &h->sect[s];
		if (x->offset % SNAP_ALIGN || x->offset < sizeof(*h) || x->offset > size ||
		    x->size > size - x->offset)
			return 0;
	}
	return 1;
}

/* Free what a snapshot cube holds on the heap, and the cube itself (not the mapping). */
static void heap_free(dh_cube *cube)
{
	free(cube->communes);
	free(cube->epcis);
	free(cube->departements);
	free(cube->regions);
	free(cube->qpvs);
	free(cube->landlords);
	dh__cube_dateplans_free(cube);
	pthread_mutex_destroy(&cube->date_lock);
	free(cube);
}

void dh__cube_snapshot_unmap(dh_cube *cube)
{
	void *map = cube->map;
	size_t size = cube->map_size;
	heap_free(cube);
	munmap(map, size);
}

/* The cube of a verified mapping. */
static int cube_of_map(void *map, size_t size, dh_cube **out)
{
	reader r = { .base = map, .h = map };
	if (!sect_is(&r, S_META, sizeof(snap_meta)))
		return DH_CORRUPT;
	r.m = sect_ptr(&r, S_META);
	r.pool = sect_ptr(&r, S_STRINGS);
	r.pool_len = r.h->sect[S_STRINGS].size;
	const snap_meta *m = r.m;
	if (r.pool_len == 0 || r.pool[r.pool_len - 1] != '\0' || m->nrows > INT32_MAX ||
	    m->nlandlords > 65536 || m->nqpvs > 65536 || m->ndates > 65535 || m->nepcis > 65536 ||
	    m->ndepartements > 65536 || m->nregions > 65536 || m->ncommunes > UINT32_MAX / 2)
		return DH_CORRUPT;
	dh_cube *c = calloc(1, sizeof(*c));
	if (!c)
		return DH_NOMEM;
	atomic_init(&c->refs, 1);
	if (pthread_mutex_init(&c->date_lock, NULL) != 0) {
		free(c);
		return DH_NOMEM;
	}
	c->map = map;
	c->map_size = size;
	c->nrows = m->nrows;
	c->ncommunes = m->ncommunes;
	c->nepcis = m->nepcis;
	c->ndepartements = m->ndepartements;
	c->nregions = m->nregions;
	c->nqpvs = m->nqpvs;
	c->nlandlords = m->nlandlords;
	c->ndates = m->ndates;
	int rc = territories_in(&r, c);
	if (rc == DH_OK)
		rc = columns_in(&r, c);
	if (rc == DH_OK)
		rc = cache_in(&r, c);
	if (rc == DH_OK && m->dateplan_block) {
		if (!sect_is(&r, S_DATEPLAN, (c->ncommunes + 1) * m->dateplan_block * sizeof(int64_t)))
			rc = DH_CORRUPT;
		else
			rc = dh__cube_dateplan_adopt(c, m->dateplan_date, sect_ptr(&r, S_DATEPLAN),
						     m->dateplan_block);
	}
	if (rc != DH_OK) {
		heap_free(c); /* the caller unmaps */
		return rc;
	}
	c->memory = size + sizeof(*c) + c->ncommunes * sizeof(cube_commune) +
		    (c->nepcis + c->ndepartements + c->nregions + c->nqpvs + c->nlandlords) * sizeof(cube_area);
	*out = c;
	return DH_OK;
}

int dh_cube_snapshot_load(const char *path, const uint8_t stamp[DH_CUBE_STAMP_SIZE], dh_cube **out,
			  dh_error *err)
{
	if (!path || !out)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? dh_error_set(err, DH_NOTFOUND, "%s : pas d'image du cube", path)
				       : dh_error_set(err, DH_IO, "%s : %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return corrupt(err, path, "pas un fichier ordinaire");
	}
	size_t size = (size_t)st.st_size;
	if (size < sizeof(snap_header)) {
		close(fd);
		return corrupt(err, path, "fichier tronqué");
	}
	snap_header h;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		close(fd);
		return corrupt(err, path, "en-tête illisible");
	}
	if (memcmp(h.magic, SNAP_MAGIC, 8) != 0) {
		close(fd);
		return corrupt(err, path, "signature inconnue");
	}
	if (h.endian != SNAP_ENDIAN) {
		close(fd);
		return corrupt(err, path, "ordre des octets d'une autre machine");
	}
	if (h.version != DH__SNAP_VERSION) {
		close(fd);
		return corrupt(err, path, "version de format différente");
	}
	if (header_hash(&h) != h.header_hash) {
		close(fd);
		return corrupt(err, path, "somme de contrôle de l'en-tête");
	}
	if (!header_ok(&h, size)) {
		close(fd);
		return corrupt(err, path, "fichier tronqué ou tailles incohérentes");
	}
	if (stamp && memcmp(h.stamp, stamp, DH_CUBE_STAMP_SIZE) != 0) {
		close(fd);
		return dh_error_set(err, DH_CONFLICT, "%s : image du cube périmée (la base a changé)", path);
	}
	void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return dh_error_set(err, DH_IO, "%s : projection en mémoire impossible (%s)", path,
				    strerror(errno));
	uint64_t hashes[SNAP_COUNT];
	int rc = hash_sections(map, ((const snap_header *)map)->sect, hashes);
	if (rc != DH_OK) {
		munmap(map, size);
		return dh_error_set(err, rc, "mémoire insuffisante");
	}
	/* the mapping, not the copy read first: what the engine will read is what is checked */
	const snap_header *mh = map;
	int same = memcmp(mh, &h, sizeof(h)) == 0;
	for (int s = 0; s < SNAP_COUNT && same; s++)
		same = hashes[s] == mh->sect[s].hash;
	if (!same) {
		munmap(map, size);
		return corrupt(err, path, "somme de contrôle d'une section");
	}
	rc = cube_of_map(map, size, out);
	if (rc != DH_OK) {
		munmap(map, size);
		return rc == DH_NOMEM ? dh_error_set(err, rc, "mémoire insuffisante")
				      : corrupt(err, path, "structure incohérente");
	}
	return DH_OK;
}

int dh_cube_is_snapshot(const dh_cube *cube)
{
	return cube && cube->map != NULL;
}
