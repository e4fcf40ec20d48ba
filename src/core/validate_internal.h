/*
 * validate_internal.h - test hooks of the validator (src/core/validate.c), not public API.
 *
 * Tests and the fuzz target use them to force the block-parallel path on small inputs with
 * tiny blocks, so that records, quoted line breaks, CRLF and multi-byte characters straddle
 * block boundaries.
 */
#ifndef DH_VALIDATE_INTERNAL_H
#define DH_VALIDATE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Block-parallel validation (validate.c): enabled or not (1 by default; 2: enabled, and every
 * block starts with the encoding undecided, so that the correction of blocks that decide
 * differently from the file is tested deterministically), block size in bytes
 * (0: the default, 4 MiB), and the input size in bytes from which it is used (0: the default,
 * 16 MiB; 1: every rereadable input). Process-wide setting: call it before validations start,
 * never while one runs (not thread-safe).
 */
void dh__validate_set_parallel(int enabled, size_t block_size, uint64_t min_input);

/* Validations that took the block-parallel path, and blocks parsed again because the guessed
 * boundary or encoding was wrong, since the process started (thread-safe). */
void dh__validate_parallel_counts(uint64_t *runs, uint64_t *reparsed);

#endif
