/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Gauntlet fault port's fault vocabulary (gport_fault.h): its points,
 * actions, corrupt() fields and filter keys, as tables for gfault.c.
 * What each action does at each point is the port's (gauntlet_port.c).
 *
 * Uses only the C library: it is built inside QEMU and standalone.
 */
#include "kestrel_env.h"
#include "gport_fault.h"

#define PBIT(p) (1ull << (p))
#define ABIT(a) (1u << (a))
#define KBIT(k) (1u << (k))

#define DMA_FIELDS ((1u << GPFF_DMA_OFFSET) | (1u << GPFF_DMA_VALUE))
#define DMA_NEED "both offset=N and value=N"

static const GFaultPointInfo gport_points[GPF__MAX] = {
    [GPF_DMA_READ] = {
        .name = "dma.read",
        .actions = ABIT(GPA_DMA_ERROR) | ABIT(GPA_ALLONES) |
                   ABIT(GPA_CORRUPT) | ABIT(GPA_FLIP),
        .keys = KBIT(GPK_ADDR),
        .corrupt_need_all = DMA_FIELDS,
        .corrupt_need_all_msg = DMA_NEED,
    },
    [GPF_DMA_WRITE] = {
        .name = "dma.write",
        .actions = ABIT(GPA_DMA_ERROR) | ABIT(GPA_DROP) |
                   ABIT(GPA_CORRUPT) | ABIT(GPA_FLIP),
        .keys = KBIT(GPK_ADDR),
        .corrupt_need_all = DMA_FIELDS,
        .corrupt_need_all_msg = DMA_NEED,
    },
    [GPF_MSI] = {
        .name = "msi",
        .actions = ABIT(GPA_DROP) | ABIT(GPA_DELAY) | ABIT(GPA_DUPLICATE) |
                   ABIT(GPA_STORM),
        .keys = KBIT(GPK_ADDR) | KBIT(GPK_VECTOR),
    },
    [GPF_MMIO_READ] = {
        .name = "mmio.read",
        .actions = ABIT(GPA_ALLONES) | ABIT(GPA_CORRUPT) | ABIT(GPA_FLIP),
        .keys = KBIT(GPK_BAR) | KBIT(GPK_OFF),
    },
    [GPF_CFG_READ] = {
        .name = "cfg.read",
        .actions = ABIT(GPA_ALLONES) | ABIT(GPA_CORRUPT) | ABIT(GPA_FLIP),
        .keys = KBIT(GPK_OFF),
    },
    [GPF_LINK] = {
        .name = "link",
        .actions = ABIT(GPA_ALLONES),
    },
};

static const GFaultActionInfo gport_actions[GPA__MAX] = {
    [GPA_DROP] = { .name = "drop" },
    [GPA_DELAY] = { .name = "delay", .args = GFAULT_ARGS_DELAY },
    [GPA_CORRUPT] = { .name = "corrupt", .args = GFAULT_ARGS_CORRUPT },
    [GPA_FLIP] = { .name = "flip", .args = GFAULT_ARGS_FLIP },
    [GPA_DUPLICATE] = { .name = "duplicate" },
    [GPA_STORM] = { .name = "storm", .args = GFAULT_ARGS_STORM },
    [GPA_ALLONES] = { .name = "allones" },
    [GPA_DMA_ERROR] = { .name = "dma_error" },
};

#define DMA_POINTS (PBIT(GPF_DMA_READ) | PBIT(GPF_DMA_WRITE))

static const GFaultFieldInfo gport_fields[GPFF__MAX] = {
    /* 12 bits: an offset inside the access's 4 KiB page */
    [GPFF_DMA_OFFSET] = { .name = "offset", .points = DMA_POINTS,
                          .bits = 12, .need_value = true },
    [GPFF_DMA_VALUE] = { .name = "value", .points = DMA_POINTS, .bits = 8,
                         .hex = true, .need_value = true },
    [GPFF_MMIO_VALUE] = { .name = "value", .points = PBIT(GPF_MMIO_READ),
                          .bits = 64, .hex = true },
    [GPFF_CFG_VALUE] = { .name = "value", .points = PBIT(GPF_CFG_READ),
                         .bits = 32, .hex = true, .need_value = true },
};

static const GFaultKeyInfo gport_keys[GPK__MAX] = {
    [GPK_ADDR] = { .name = "addr", .range = true, .hex = true,
                   .max = UINT64_MAX },
    [GPK_BAR] = { .name = "bar", .max = GPORT_MAX_BAR,
                  .expect = "a BAR number 0..5",
                  .expect_bounds = "a BAR number 0..5" },
    [GPK_OFF] = { .name = "off", .range = true, .hex = true,
                  .max = UINT64_MAX },
    [GPK_VECTOR] = { .name = "vector", .max = GPORT_MAX_VECTOR,
                     .expect = "a vector number 0..2047",
                     .expect_bounds = "a vector number 0..2047" },
};

const GFaultVocab gport_fault_vocab = {
    .name = "port",
    .npoints = GPF__MAX,
    .nactions = GPA__MAX,
    .nfields = GPFF__MAX,
    .nkeys = GPK__MAX,
    .points = gport_points,
    .actions = gport_actions,
    .fields = gport_fields,
    .keys = gport_keys,
    .after = GFAULT_AFTER_EVENTS,
};
