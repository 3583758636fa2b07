/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Build environment of the Kestrel core inside QEMU.  The core sources
 * include "kestrel_env.h" first; inside QEMU that is this file, outside
 * QEMU (unit tests, fuzzers) it is standalone/kestrel_env.h.
 */
#ifndef KESTREL_ENV_H
#define KESTREL_ENV_H

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/bswap.h"

#define KESTREL_LOG_GUEST_ERROR(fmt, ...) \
    qemu_log_mask(LOG_GUEST_ERROR, "kestrel: " fmt "\n", ## __VA_ARGS__)

static inline void *kestrel_zalloc(size_t n)
{
    return g_malloc0(n);
}

static inline void kestrel_free(void *p)
{
    g_free(p);
}

#endif /* KESTREL_ENV_H */
