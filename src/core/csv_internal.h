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

#endif
