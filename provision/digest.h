/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SHA-256 digests of bytes, as 64 lowercase hex digits: at once, or on
 * another core while the caller goes on (the journal records the digest
 * of a config before and after a write; over a 7 MB file each costs about
 * 5 ms, which the run then spends doing something else). */
#ifndef PROVISION_DIGEST_H
#define PROVISION_DIGEST_H

#include <stddef.h>
#include <sys/uio.h>

/* SHA-256 of data as 64 hex digits into out[65]. */
void sha256_hex(const void *data, size_t len, char out[65]);
/* The same over the concatenation of pieces. */
void sha256_hex_pieces(const struct iovec *pieces, size_t n, char out[65]);

/* A digest being computed on its own thread. The pieces array is copied;
 * the bytes it points at must stay unchanged until sha256_finish. Where no
 * thread can be started, the digest is computed at once: never fails. */
struct sha256_job;
struct sha256_job *sha256_start(const struct iovec *pieces, size_t n);
/* Waits for it, writes the digest into out[65] and frees the job. */
void sha256_finish(struct sha256_job *job, char out[65]);

#endif
