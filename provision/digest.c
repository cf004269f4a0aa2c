/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/digest.h"

#include "provision/util.h"

#include <nettle/sha2.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void sha256_hex_pieces(const struct iovec *pieces, size_t n, char out[65])
{
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    for (size_t i = 0; i < n; i++)
        sha256_update(&ctx, pieces[i].iov_len, pieces[i].iov_base);
    sha256_digest(&ctx, sizeof digest, digest);
    hex_into(out, digest, sizeof digest);
}

void sha256_hex(const void *data, size_t len, char out[65])
{
    struct iovec one = {.iov_base = (void *)data, .iov_len = len};
    sha256_hex_pieces(&one, 1, out);
}

struct sha256_job {
    struct iovec *pieces;
    size_t n;
    pthread_t thread;
    bool threaded;
    char hex[65];
};

static void *compute(void *arg)
{
    struct sha256_job *job = arg;
    sha256_hex_pieces(job->pieces, job->n, job->hex);
    return NULL;
}

struct sha256_job *sha256_start(const struct iovec *pieces, size_t n)
{
    struct sha256_job *job = xcalloc(1, sizeof *job);
    job->pieces = xmalloc((n ? n : 1) * sizeof *pieces);
    if (n)
        memcpy(job->pieces, pieces, n * sizeof *pieces);
    job->n = n;
    job->threaded = pthread_create(&job->thread, NULL, compute, job) == 0;
    if (!job->threaded)
        compute(job);
    return job;
}

void sha256_finish(struct sha256_job *job, char out[65])
{
    if (job->threaded)
        pthread_join(job->thread, NULL);
    memcpy(out, job->hex, 65);
    free(job->pieces);
    free(job);
}
