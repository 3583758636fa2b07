/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Build environment of the Kestrel core outside QEMU (unit tests and
 * fuzzers): the handful of QEMU helpers the core uses, on the C library.
 */
#ifndef KESTREL_ENV_H
#define KESTREL_ENV_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "standalone Kestrel builds assume a little-endian host"
#endif
#define le16_to_cpu(x) ((uint16_t)(x))
#define le32_to_cpu(x) ((uint32_t)(x))
#define le64_to_cpu(x) ((uint64_t)(x))
#define cpu_to_le16(x) ((uint16_t)(x))
#define cpu_to_le32(x) ((uint32_t)(x))
#define cpu_to_le64(x) ((uint64_t)(x))

/* Counted so unit tests can assert that a guest error was reported. */
extern unsigned long kestrel_guest_errors;
extern int kestrel_log_verbose;
#define KESTREL_LOG_GUEST_ERROR(fmt, ...) do {                      \
        kestrel_guest_errors++;                                     \
        if (kestrel_log_verbose) {                                  \
            fprintf(stderr, "kestrel: " fmt "\n", ## __VA_ARGS__);  \
        }                                                           \
    } while (0)

/*
 * A build may define KESTREL_ENV_BIG_BUFS and supply these two: large
 * buffers (the core's bounce buffers of a transfer) from a few kept
 * allocations instead of calloc()/free().  Under ASan every allocation
 * above 128 KiB is a fresh mmap, page faults included, and freeing it an
 * munmap: fuzz_ioctl's oracle device (fuzz/fuzz_ioctl_dev.c) pays that on
 * every large transfer.  kestrel_env_big_zalloc() returns NULL when it does
 * not take the request; kestrel_env_big_free() returns false when p is not
 * one of its buffers.
 */
#ifdef KESTREL_ENV_BIG_BUFS
void *kestrel_env_big_zalloc(size_t n);
bool kestrel_env_big_free(void *p);
#endif

static inline void *kestrel_zalloc(size_t n)
{
    void *p;

#ifdef KESTREL_ENV_BIG_BUFS
    p = kestrel_env_big_zalloc(n);
    if (p) {
        return p;
    }
#endif
    p = calloc(1, n ? n : 1);

    if (!p) {
        abort();    /* as g_malloc0 does; sizes are bounded by the core */
    }
    return p;
}

static inline void kestrel_free(void *p)
{
    /* Skip free(NULL): ASan unwinds the stack even for it (fuzz speed). */
#ifdef KESTREL_ENV_BIG_BUFS
    if (p && kestrel_env_big_free(p)) {
        return;
    }
#endif
    if (p) {
        free(p);
    }
}

#endif /* KESTREL_ENV_H */
