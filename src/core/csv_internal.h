/*
 * csv_internal.h - test hooks of the CSV reader (src/core/csv.c), not public API.
 *
 * Tests and the fuzz target use them to run the reader with a tiny read size, so that
 * records straddle buffer refills constantly.
 */
#ifndef DH_CSV_INTERNAL_H
#define DH_CSV_INTERNAL_H

#include "datahabitat/csv.h"

/*
 * Like dh_csv_open_mem() / dh_csv_open_fd(), but each refill asks for at most
 * `read_size` bytes (0: the default) and the buffer holds max_record + 1 + read_size bytes.
 */
int dh_csv_open_mem_sized(dh_csv **out, const void *data, size_t len, const char *name,
                          const dh_csv_options *opt, size_t read_size, dh_error *err);
int dh_csv_open_fd_sized(dh_csv **out, int fd, const char *name, const dh_csv_options *opt,
                         size_t read_size, dh_error *err);

/* Bytes allocated by the reader for its buffers (buffer, fields, scratch). */
size_t dh_csv_memory(const dh_csv *csv);

/*
 * Range readers, for the block-parallel validator (validate.c): several readers over one
 * input, each positioned at an offset. Not thread-safe on one reader; distinct readers over
 * one input may run concurrently (they read with pread, or from the borrowed memory).
 */

/* 1 when the input can be read again at any offset (memory input, or a regular file opened
 * by path): *size is then its total size in bytes. 0 for standard input, pipes... */
int dh_csv_rereadable(const dh_csv *csv, uint64_t *size);

/* 1-based physical line at the reader's position (the line of the next byte to consume). */
uint64_t dh_csv_line(const dh_csv *csv);

/* A new reader over the same input as `like` (which must be rereadable), with its options
 * and its delimiter (already detected): no BOM or delimiter detection. The descriptor stays
 * owned by `like`, which must outlive it. Position it with dh_csv_seek() before use.
 * read_size as for dh_csv_open_mem_sized(). Returns DH_OK, DH_NOMEM, DH_INVAL. */
int dh_csv_open_like(dh_csv **out, const dh_csv *like, size_t read_size, dh_error *err);

/* Restart the reader at input `offset`, counting lines from 1 there, with encoding `enc`
 * (DH_ENC_AUTO: decided again by the first non-ASCII field); clears a fatal state and the
 * non-ASCII flag. */
void dh_csv_seek(dh_csv *csv, uint64_t offset, dh_encoding enc);

/* Consume bytes up to and including the first line break (LF, CRLF or lone CR), quotes not
 * considered, then count lines from 1 again. Returns DH_OK (also at the end of input) or the
 * reader's fatal code (DH_IO). */
int dh_csv_skip_line(dh_csv *csv, dh_error *err);

#endif
