/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * In-process environment for the Kestrel core (see kestrel_host.h).
 */
#include "kestrel_env.h"
#include "kestrel_host.h"

unsigned long kestrel_guest_errors;
int kestrel_log_verbose;

static bool kh_range_ok(KestrelHost *h, uint64_t addr, size_t len)
{
    return addr <= h->ram_size && len <= h->ram_size - addr;
}

/* Copy through the IOMMU hook, chunk by chunk; -1 at the first fault. */
static int kh_iommu_copy(KestrelHost *h, uint64_t addr, void *buf,
                         size_t len, bool write)
{
    uint8_t *p = buf;

    while (len) {
        void *host = NULL;
        size_t n = h->iommu(h->iommu_opaque, addr, write, &host);

        if (!n || !host) {
            h->dma_refused++;
            return -1;
        }
        n = MIN(n, len);
        if (write) {
            memcpy(host, p, n);
        } else {
            memcpy(p, host, n);
        }
        p += n;
        addr += n;
        len -= n;
    }
    return 0;
}

static int kh_dma_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
    KestrelHost *h = opaque;

    if (h->iommu) {
        return kh_iommu_copy(h, addr, buf, len, false);
    }
    if (!kh_range_ok(h, addr, len)) {
        h->dma_refused++;
        return -1;
    }
    memcpy(buf, h->ram + addr, len);
    return 0;
}

static int kh_dma_write(void *opaque, uint64_t addr, const void *buf,
                        size_t len)
{
    KestrelHost *h = opaque;

    if (h->iommu) {
        return kh_iommu_copy(h, addr, (void *)buf, len, true);
    }
    if (!kh_range_ok(h, addr, len)) {
        h->dma_refused++;
        return -1;
    }
    memcpy(h->ram + addr, buf, len);
    return 0;
}

static void kh_irq_notify(void *opaque, unsigned vector)
{
    KestrelHost *h = opaque;

    if (vector < KESTREL_NVEC) {
        h->irqs[vector]++;
    }
}

static void kh_irq_level(void *opaque, bool level)
{
    KestrelHost *h = opaque;

    if (level && !h->intx) {
        h->intx_rises++;
    }
    h->intx = level;
}

static int64_t kh_now(void *opaque)
{
    KestrelHost *h = opaque;

    return h->clock_ns;
}

static void kh_timer_mod(void *opaque, int64_t deadline)
{
    KestrelHost *h = opaque;

    h->timer_deadline = deadline;
}

static void kh_kick(void *opaque)
{
    KestrelHost *h = opaque;

    h->kicked = true;
}

static void kh_do_io(KestrelHost *h, KestrelHostIo *io)
{
    int ret = 0;

    if (h->io_error < 0) {
        ret = h->io_error;
    } else if (io->kind != KESTREL_IO_FLUSH) {
        if (io->offset > h->disk_size || io->len > h->disk_size - io->offset) {
            ret = -5;   /* -EIO: the core must never ask for this */
        } else if (io->kind == KESTREL_IO_READ) {
            memcpy(io->buf, h->disk + io->offset, io->len);
        } else {
            memcpy(h->disk + io->offset, io->buf, io->len);
        }
    }
    kestrel_core_io_done(&h->core, io->cmd, ret);
}

static void kh_blk_io(void *opaque, KestrelCmd *cmd, KestrelIoKind kind,
                      uint64_t offset, void *buf, size_t len)
{
    KestrelHost *h = opaque;
    KestrelHostIo io = { cmd, kind, offset, buf, len };

    if (!h->async_io || h->nio == KH_MAX_IO) {
        kh_do_io(h, &io);
        return;
    }
    h->io[h->nio++] = io;
}

static const KestrelCoreOps kh_ops = {
    .dma_read = kh_dma_read,
    .dma_write = kh_dma_write,
    .irq_notify = kh_irq_notify,
    .irq_level = kh_irq_level,
    .now_ns = kh_now,
    .timer_mod = kh_timer_mod,
    .kick = kh_kick,
    .blk_io = kh_blk_io,
};

KestrelConfig kh_default_config(void)
{
    KestrelConfig cfg = {
        .queue_depth = 64,
        .block_size = 512,
        .max_segments = 32,
        .capacity_blocks = 2048,
        .ready_delay_us = 100,
        .reset_delay_us = 0,
        .timeout_ms = 2000,
        .serial = "KH-TEST",
    };

    return cfg;
}

KestrelHost *kh_new(const KestrelConfig *cfg, size_t ram_size,
                    char *err, size_t errlen)
{
    KestrelHost *h = kestrel_zalloc(sizeof(*h));

    h->ram = kestrel_zalloc(ram_size);
    h->ram_size = ram_size;
    h->disk_size = cfg->capacity_blocks * cfg->block_size;
    h->disk = kestrel_zalloc(h->disk_size);
    h->timer_deadline = KESTREL_NO_DEADLINE;
    if (kestrel_core_init(&h->core, cfg, &kh_ops, h, err, errlen) < 0) {
        kh_free(h);
        return NULL;
    }
    return h;
}

void kh_free(KestrelHost *h)
{
    if (!h) {
        return;
    }
    /* Backend I/O still queued completes into the core before it goes. */
    while (h->nio) {
        KestrelHostIo io = h->io[--h->nio];

        kestrel_core_io_done(&h->core, io.cmd, -5);
    }
    kestrel_core_cleanup(&h->core);
    kestrel_free(h->ram);
    kestrel_free(h->disk);
    kestrel_free(h);
}

void kh_run(KestrelHost *h)
{
    unsigned rounds;

    /* Bounded: a device that keeps kicking itself is a bug to report. */
    for (rounds = 0; rounds < 100000; rounds++) {
        if (h->nio) {
            KestrelHostIo io = h->io[0];

            memmove(&h->io[0], &h->io[1], (h->nio - 1) * sizeof(h->io[0]));
            h->nio--;
            kh_do_io(h, &io);
            continue;
        }
        if (h->kicked) {
            h->kicked = false;
            kestrel_core_process(&h->core);
            continue;
        }
        if (h->timer_deadline <= h->clock_ns) {
            h->timer_deadline = KESTREL_NO_DEADLINE;
            kestrel_core_timer(&h->core);
            continue;
        }
        return;
    }
}

void kh_advance(KestrelHost *h, int64_t ns)
{
    int64_t end = h->clock_ns + ns;

    kh_run(h);
    while (h->timer_deadline <= end) {
        if (h->timer_deadline > h->clock_ns) {
            h->clock_ns = h->timer_deadline;
        }
        kh_run(h);
    }
    h->clock_ns = end;
    kh_run(h);
}

uint32_t kh_read(KestrelHost *h, uint64_t reg)
{
    return kestrel_core_mmio_read(&h->core, reg);
}

void kh_write(KestrelHost *h, uint64_t reg, uint32_t val)
{
    kestrel_core_mmio_write(&h->core, reg, val);
    kh_run(h);
}

int kh_enable(KestrelHost *h, uint32_t sq_size, uint32_t cq_size)
{
    kh_write(h, KESTREL_REG_SQ_BASE_LO, KH_SQ_BASE);
    kh_write(h, KESTREL_REG_SQ_BASE_HI, 0);
    kh_write(h, KESTREL_REG_SQ_SIZE, sq_size);
    kh_write(h, KESTREL_REG_CQ_BASE_LO, KH_CQ_BASE);
    kh_write(h, KESTREL_REG_CQ_BASE_HI, 0);
    kh_write(h, KESTREL_REG_CQ_SIZE, cq_size);
    kh_write(h, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
    kh_advance(h, (int64_t)h->core.cfg.ready_delay_us * 1000);
    h->drv_sq_tail = 0;
    h->drv_sq_size = sq_size;
    h->drv_cq_head = 0;
    h->drv_cq_size = cq_size;
    h->drv_phase = 1;
    return (kh_read(h, KESTREL_REG_STATUS) & KESTREL_STATUS_RDY) ? 0 : -1;
}

void kh_submit(KestrelHost *h, const struct kestrel_sqe *sqe)
{
    memcpy(h->ram + KH_SQ_BASE + (uint64_t)h->drv_sq_tail * sizeof(*sqe), sqe,
           sizeof(*sqe));
    h->drv_sq_tail = (h->drv_sq_tail + 1) % h->drv_sq_size;
    kh_write(h, KESTREL_REG_SQ_TAIL_DB, h->drv_sq_tail);
}

bool kh_reap(KestrelHost *h, struct kestrel_cqe *cqe)
{
    uint64_t addr = KH_CQ_BASE + (uint64_t)h->drv_cq_head * sizeof(*cqe);

    memcpy(cqe, h->ram + addr, sizeof(*cqe));
    if ((le16_to_cpu(cqe->status) & KESTREL_CQE_PHASE) != h->drv_phase) {
        return false;
    }
    h->drv_cq_head++;
    if (h->drv_cq_head == h->drv_cq_size) {
        h->drv_cq_head = 0;
        h->drv_phase ^= 1;
    }
    kh_write(h, KESTREL_REG_CQ_HEAD_DB, h->drv_cq_head);
    return true;
}

void kh_sgl(KestrelHost *h, struct kestrel_sqe *sqe, uint64_t list_addr,
            uint64_t data_addr, uint32_t nsegs, uint32_t seg_len)
{
    uint32_t i;

    for (i = 0; i < nsegs; i++) {
        struct kestrel_sg_desc d = {
            .addr = cpu_to_le64(data_addr + (uint64_t)i * seg_len),
            .len = cpu_to_le32(seg_len),
            .flags = cpu_to_le16(KESTREL_SG_DATA),
        };

        memcpy(h->ram + list_addr + i * sizeof(d), &d, sizeof(d));
    }
    sqe->nsegs = cpu_to_le32(nsegs);
    sqe->sgl_addr = cpu_to_le64(list_addr);
    sqe->sgl_len = cpu_to_le32(nsegs * sizeof(struct kestrel_sg_desc));
}
