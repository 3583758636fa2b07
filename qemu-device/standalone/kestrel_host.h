/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An in-process environment for the Kestrel core: guest RAM in a host
 * buffer, a manual virtual clock, recorded interrupts and a RAM disk.
 * Unit tests and fuzzers drive the very same kestrel_core.c that QEMU
 * runs through this, instead of through kestrel_pci.c.
 */
#ifndef KESTREL_HOST_H
#define KESTREL_HOST_H

#include "kestrel_core.h"

#define KH_MAX_IO KESTREL_MAX_QDEPTH

typedef struct KestrelHostIo {
    KestrelCmd *cmd;
    KestrelIoKind kind;
    uint64_t offset;
    void *buf;
    size_t len;
} KestrelHostIo;

typedef struct KestrelHost {
    KestrelCore core;
    uint8_t *ram;               /* guest physical 0 .. ram_size */
    size_t ram_size;
    uint8_t *disk;
    size_t disk_size;
    int64_t clock_ns;
    int64_t timer_deadline;
    bool kicked;
    /* Interrupts seen. */
    unsigned long irqs[KESTREL_NVEC];
    bool intx;
    unsigned long intx_rises;
    /* Backend: complete I/O inside blk_io (sync) or from kh_run (async). */
    bool async_io;
    int io_error;               /* if < 0, every backend I/O fails so */
    KestrelHostIo io[KH_MAX_IO];
    unsigned nio;
    /* DMA outside guest RAM that the double refused. */
    unsigned long dma_refused;
    /*
     * Optional IOMMU (driver/vfio's double backend): when set, a device
     * address is translated by it instead of indexing ram.  It returns how
     * many bytes from addr are mapped contiguously at *host, 0 for a fault
     * (counted in dma_refused, and the DMA fails).
     */
    size_t (*iommu)(void *opaque, uint64_t addr, bool write, void **host);
    void *iommu_opaque;
    /* Driver-side ring state of the kh_enable/kh_submit/kh_reap helpers. */
    uint32_t drv_sq_tail, drv_sq_size, drv_cq_head, drv_cq_size, drv_phase;
} KestrelHost;

KestrelHost *kh_new(const KestrelConfig *cfg, size_t ram_size,
                    char *err, size_t errlen);
void kh_free(KestrelHost *h);
KestrelConfig kh_default_config(void);

/* Run bottom halves and backend completions until nothing is left. */
void kh_run(KestrelHost *h);
/* Advance the virtual clock by ns, firing the timer on the way. */
void kh_advance(KestrelHost *h, int64_t ns);

uint32_t kh_read(KestrelHost *h, uint64_t reg);
void kh_write(KestrelHost *h, uint64_t reg, uint32_t val);

/* Driver-like helpers for tests. */
#define KH_SQ_BASE      0x10000u
#define KH_CQ_BASE      0x20000u
#define KH_DATA_BASE    0x100000u
int kh_enable(KestrelHost *h, uint32_t sq_size, uint32_t cq_size);
void kh_submit(KestrelHost *h, const struct kestrel_sqe *sqe);
/* Next CQE if the device posted one (phase matches); advances head. */
bool kh_reap(KestrelHost *h, struct kestrel_cqe *cqe);
/* Build a one-list SGL at list_addr describing n equal segments. */
void kh_sgl(KestrelHost *h, struct kestrel_sqe *sqe, uint64_t list_addr,
            uint64_t data_addr, uint32_t nsegs, uint32_t seg_len);

#endif /* KESTREL_HOST_H */
