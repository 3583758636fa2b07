/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_device: the Kestrel device core driven by a hostile guest.
 *
 * The core (qemu-device/src/kestrel_core.c, kestrel_fault.c) runs in the
 * in-process host double (qemu-device/standalone/kestrel_host.c): guest
 * RAM is one heap buffer of exactly GUEST_RAM bytes (ASan redzones on both
 * sides), the clock is manual, the disk is RAM.  The input is a sequence
 * of guest operations (see the OP_* list): MMIO reads and writes of any
 * offset and value, doorbells, SQ entries and segment lists written into
 * guest RAM, time advancing, backend I/O completing, controller and
 * function resets, D0/D3 changes, fault rules from a table, sync/async
 * backend and backend errors.  After every operation the core's
 * invariants are checked (__builtin_trap on a violation):
 *   - the core only reaches guest memory through the double's callbacks
 *     (its ops and opaque never change; ASan catches any access outside
 *     the exactly sized RAM buffer; every backend I/O stays on the disk);
 *   - no entry point is left half-way (depth == 0);
 *   - with RDY: sq_head, sq_tail < sq_size, cq_head, cq_tail < cq_size,
 *     and the configured sizes are within 2..queue depth;
 *   - npending <= queue depth, each pending slot is a PENDING command
 *     below the queue depth, no slot at or past the depth is in use;
 *   - registers hold only defined bits (INTR_MASK, CTRL, phase, power);
 *   - with write-cache (config bit 0x80, 16 blocks): at most 16 blocks,
 *     in write order, on the disk; a waiting FLUSH is one; the write-back
 *     stays on the disk; a power cut ("powercut") leaves the cache empty.
 * The KestrelHost (and its 100+ KiB core) is allocated once and reset for
 * every input (kestrel_core_init() again); LeakSanitizer sees every
 * per-input allocation freed by kestrel_core_cleanup().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel_host.h"
#include "fuzz_input.h"
#include "fuzz_core_invariants.h"

#define GUEST_RAM       0x10000u        /* 64 KiB */
#define DISK_BLOCKS     64
#define MAX_STEPS       512

enum {
    OP_MMIO_WRITE, OP_MMIO_READ, OP_SQ_DB, OP_CQ_DB, OP_SQE, OP_SGL,
    OP_ADVANCE, OP_RUN, OP_RESET, OP_POWER, OP_FAULTS, OP_ASYNC,
    OP_ENABLE, OP_REAP, OP_HARD_RESET, OP_IO_ERROR, OP_POKE, OP_SUBMIT,
    OP__MAX
};

/* Fault rules a guest may face; bounded so a storm cannot run forever. */
static const char *const fault_table[] = {
    "",
    "cq.post:drop:once",
    "cq.post:delay(10us)",
    "cq.post:stall:once",
    "cq.post:corrupt(tag=0xffff)",
    "cq.post:corrupt(phase):once",
    "cq.post:corrupt(status=0x3,sqhead=0x1234)",
    "cq.post:duplicate",
    "cq.post:flip:seed=7",
    "cq.post:dma_error",
    "sq.fetch:drop:once",
    "sq.fetch:delay(10us)",
    "sq.fetch:stall:once",
    "sq.fetch:corrupt(opcode=0x7f)",
    "sq.fetch:corrupt(lba=0x800,tag=0x77)",
    "sq.fetch:flip(bits=8):seed=3",
    "sq.fetch:dma_error",
    "sgl.fetch:corrupt(len=0)",
    "sgl.fetch:corrupt(index=1,addr=0x80000000)",
    "sgl.fetch:drop:once",
    "sgl.fetch:delay(5us)",
    "sgl.fetch:dma_error",
    "dma.read:corrupt(offset=0,value=0xaa)",
    "dma.read:drop",
    "dma.write:flip",
    "dma.write:stall:once",
    "irq:drop:once",
    "irq:delay(10us):once",
    "irq:spurious:every=2",
    "irq:storm(count=50,interval=1us):once",
    "ctrl.enable:delay(50us)",
    "ctrl.enable:stall:once",
    "reg.read[reg=status]:corrupt(value=0xffffffff):nth=2",
    "reg.read:allones:after=3",
    "reset:stall:once",
    "reset:delay(20us)",
    "power:stall:once",
    "power:delay(1ms)",
    "sq.fetch:fatal:nth=2",
    "cq.post:drop:prob=0.5,seed=1;irq:delay(1us):every=3,max=2",
    "sq.fetch[op=read]:corrupt(nblocks=0):once;cq.post[op=write]:duplicate",
    "sq.fetch[op=flush]:lie:every=2",
    "sq.fetch[op=flush]:powercut:nth=2",
    "dma.read[op=write]:powercut:nth=3",
    "cq.post:powercut:prob=0.1,seed=4",
};
#define NFAULTS (sizeof(fault_table) / sizeof(fault_table[0]))

static KestrelHost *h;
static const KestrelCoreOps *host_ops;
static uint64_t disk_cap_bytes;

static void check_invariants(void)
{
    fuzz_check_core(h, host_ops);
}

/* Drain backend I/O, free what the core holds: nothing outlives an input */
static void finish_input(void)
{
    uint32_t i;

    for (i = h->core.cfg.queue_depth; i < KESTREL_MAX_QDEPTH; i++) {
        FUZZ_ASSERT(h->core.cmds[i].state == KESTREL_CMD_FREE);
    }
    while (h->nio) {
        KestrelHostIo io = h->io[--h->nio];

        kestrel_core_io_done(&h->core, io.cmd, -5);
    }
    kestrel_core_cleanup(&h->core);
}

static void start_input(FuzzIn *in)
{
    static const uint32_t qds[] = { 2, 3, 8, 64 };
    static const uint32_t segs[] = { 1, 2, 4, 32 };
    KestrelConfig cfg = kh_default_config();
    uint8_t b = fin_u8(in);
    char err[128];

    cfg.queue_depth = qds[b & 3];
    cfg.block_size = (b & 4) ? 4096 : 512;
    cfg.max_segments = segs[(b >> 3) & 3];
    cfg.capacity_blocks = DISK_BLOCKS;
    cfg.ready_delay_us = (b & 0x20) ? 0 : 100;
    cfg.reset_delay_us = (b & 0x40) ? 0 : 10;
    /* the volatile write cache, small so that it fills and writes back */
    cfg.write_cache = (b & 0x80) != 0;
    cfg.cache_blocks = KESTREL_CACHE_MIN_BLOCKS;
    if (!h) {
        KestrelConfig big = cfg;

        big.block_size = 4096;
        h = kh_new(&big, GUEST_RAM, err, sizeof(err));
        if (!h) {
            fprintf(stderr, "kh_new: %s\n", err);
            abort();
        }
        host_ops = h->core.ops;
        disk_cap_bytes = h->disk_size;
        kestrel_core_cleanup(&h->core);
    }
    memset(h->ram, 0, h->ram_size);
    h->disk_size = cfg.capacity_blocks * cfg.block_size;
    if (h->disk_size > disk_cap_bytes) {
        abort();
    }
    memset(h->disk, 0, h->disk_size);
    h->clock_ns = 0;
    h->timer_deadline = KESTREL_NO_DEADLINE;
    h->kicked = false;
    memset(h->irqs, 0, sizeof(h->irqs));
    h->intx = false;
    h->intx_rises = 0;
    h->async_io = false;
    h->io_error = 0;
    h->nio = 0;
    h->dma_refused = 0;
    h->drv_sq_tail = h->drv_cq_head = 0;
    h->drv_sq_size = h->drv_cq_size = 2;
    h->drv_phase = 1;
    if (kestrel_core_init(&h->core, &cfg, host_ops, h, err, sizeof(err))) {
        fprintf(stderr, "kestrel_core_init: %s\n", err);
        abort();
    }
}

/* A guest-physical address, mostly inside RAM, sometimes anywhere. */
static uint64_t guest_addr(FuzzIn *in, unsigned align)
{
    uint8_t sel = fin_u8(in);
    uint64_t a;

    if (sel < 0xf0) {
        a = fin_u16(in) % GUEST_RAM;
    } else if (sel < 0xf8) {
        a = GUEST_RAM - (fin_u8(in) % 64);
    } else {
        a = fin_u64(in);
    }
    return a & ~(uint64_t)(align - 1);
}

static void write_ram(uint64_t addr, const void *buf, size_t len)
{
    if (addr < GUEST_RAM && len <= GUEST_RAM - addr) {
        memcpy(h->ram + addr, buf, len);
    }
}

static void build_sqe(FuzzIn *in, struct kestrel_sqe *e)
{
    uint8_t mode = fin_u8(in);

    if (mode & 1) {
        fin_bytes(in, e, sizeof(*e));
        return;
    }
    memset(e, 0, sizeof(*e));
    e->opcode = 1 + (mode >> 1) % 5;    /* 1..4 valid, 5 invalid */
    e->tag = fin_u16(in);
    e->nsegs = fin_u8(in) % 8;
    e->lba = fin_u8(in) % (DISK_BLOCKS + 4);
    e->nblocks = fin_u8(in) % 8;
    e->sgl_addr = guest_addr(in, 16);
    e->sgl_len = (fin_u8(in) % 9) * 16;
    if (mode & 0x80) {
        e->flags = fin_u8(in);
    }
    if (e->opcode == KESTREL_OP_FLUSH && !(mode & 0x40)) {
        e->nsegs = 0;
        e->lba = 0;
        e->nblocks = 0;
        e->sgl_addr = 0;
        e->sgl_len = 0;
    }
}

static void write_sgl(FuzzIn *in)
{
    uint64_t at = guest_addr(in, 16);
    unsigned n = 1 + fin_u8(in) % 8, i;

    for (i = 0; i < n; i++) {
        struct kestrel_sg_desc d;
        uint8_t kind = fin_u8(in);

        memset(&d, 0, sizeof(d));
        d.addr = guest_addr(in, 1);
        d.len = (kind & 0x80) ? fin_u32(in) : fin_u16(in) % 0x2000;
        d.flags = kind & 1;
        if (kind & 0x40) {
            d.rsvd = fin_u16(in);
        }
        write_ram(at + i * sizeof(d), &d, sizeof(d));
    }
}

static void do_enable(FuzzIn *in)
{
    uint32_t qd = h->core.cfg.queue_depth;
    uint32_t sqs = 2 + fin_u8(in) % (qd - 1);
    uint32_t cqs = 2 + fin_u8(in) % (qd - 1);

    kh_write(h, KESTREL_REG_SQ_BASE_LO, 0x1000);
    kh_write(h, KESTREL_REG_SQ_BASE_HI, 0);
    kh_write(h, KESTREL_REG_SQ_SIZE, sqs);
    kh_write(h, KESTREL_REG_CQ_BASE_LO, 0x2000);
    kh_write(h, KESTREL_REG_CQ_BASE_HI, 0);
    kh_write(h, KESTREL_REG_CQ_SIZE, cqs);
    kh_write(h, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
    kh_advance(h, (int64_t)h->core.cfg.ready_delay_us * 1000 + 1000);
    h->drv_sq_tail = 0;
    h->drv_sq_size = sqs;
    h->drv_cq_head = 0;
    h->drv_cq_size = cqs;
    h->drv_phase = 1;
}

/* Like kh_reap() (whose queues are at fixed addresses), on whatever queues the guest actually set up. */
static void do_reap(void)
{
    KestrelCore *c = &h->core;
    unsigned n;

    if (c->cq_size != h->drv_cq_size || c->cq_base != 0x2000 ||
        !(c->status & KESTREL_STATUS_RDY)) {
        return;
    }
    for (n = 0; n < h->drv_cq_size; n++) {
        struct kestrel_cqe e;

        memcpy(&e, h->ram + 0x2000 + h->drv_cq_head * sizeof(e), sizeof(e));
        if ((e.status & KESTREL_CQE_PHASE) != h->drv_phase) {
            break;
        }
        if (++h->drv_cq_head == h->drv_cq_size) {
            h->drv_cq_head = 0;
            h->drv_phase ^= 1;
        }
        kh_write(h, KESTREL_REG_CQ_HEAD_DB, h->drv_cq_head);
    }
}

/* A driver-like submission at the SQ tail the device will fetch next. */
static void do_submit(FuzzIn *in)
{
    KestrelCore *c = &h->core;
    struct kestrel_sqe e;

    build_sqe(in, &e);
    if (c->sq_size != h->drv_sq_size || c->sq_base != 0x1000 ||
        h->drv_sq_size > (GUEST_RAM - 0x1000) / 64) {
        return;
    }
    memcpy(h->ram + 0x1000 + h->drv_sq_tail * sizeof(e), &e, sizeof(e));
    h->drv_sq_tail = (h->drv_sq_tail + 1) % h->drv_sq_size;
    kh_write(h, KESTREL_REG_SQ_TAIL_DB, h->drv_sq_tail);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzIn in;
    unsigned steps = 0;

    fin_init(&in, data, size);
    start_input(&in);
    check_invariants();
    while (!fin_empty(&in) && steps++ < MAX_STEPS) {
        uint8_t op = fin_u8(&in) % OP__MAX;

        switch (op) {
        case OP_MMIO_WRITE: {
            uint64_t off = (fin_u16(&in) % KESTREL_BAR_REGS_SIZE) & ~3u;

            kh_write(h, off, fin_u32(&in));
            break;
        }
        case OP_MMIO_READ:
            (void)kh_read(h, (fin_u16(&in) % KESTREL_BAR_REGS_SIZE) & ~3u);
            break;
        case OP_SQ_DB:
            kh_write(h, KESTREL_REG_SQ_TAIL_DB, fin_u8(&in));
            break;
        case OP_CQ_DB:
            kh_write(h, KESTREL_REG_CQ_HEAD_DB, fin_u8(&in));
            break;
        case OP_SQE: {
            struct kestrel_sqe e;
            uint64_t slot = fin_u8(&in);

            build_sqe(&in, &e);
            write_ram(h->core.sq_base + slot * sizeof(e), &e, sizeof(e));
            break;
        }
        case OP_SGL:
            write_sgl(&in);
            break;
        case OP_ADVANCE: {
            uint8_t sh = fin_u8(&in) % 32;

            kh_advance(h, (int64_t)fin_u8(&in) << sh);
            break;
        }
        case OP_RUN:
            kh_run(h);
            break;
        case OP_RESET:
            kh_write(h, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
            break;
        case OP_POWER:
            kestrel_core_set_power(&h->core, fin_u8(&in) & 3);
            kh_run(h);
            break;
        case OP_FAULTS: {
            char err[KESTREL_FAULT_ERR_MAX];
            uint8_t k = fin_u8(&in);
            const char *rule = fault_table[(k & 0x7f) % NFAULTS];

            if (k & 0x80) {
                (void)kestrel_core_add_faults(&h->core, rule, err,
                                              sizeof(err));
            } else if (kestrel_core_set_faults(&h->core, rule, err,
                                               sizeof(err)) < 0) {
                fprintf(stderr, "table rule refused: %s: %s\n", rule, err);
                __builtin_trap();
            }
            kh_run(h);
            break;
        }
        case OP_ASYNC:
            h->async_io = !h->async_io;
            break;
        case OP_ENABLE:
            do_enable(&in);
            break;
        case OP_REAP:
            do_reap();
            break;
        case OP_HARD_RESET:
            kestrel_core_hard_reset(&h->core);
            kh_run(h);
            break;
        case OP_IO_ERROR:
            h->io_error = h->io_error ? 0 : -5;
            break;
        case OP_POKE: {
            uint8_t buf[32];
            uint64_t at = guest_addr(&in, 1);
            size_t n = 1 + fin_u8(&in) % sizeof(buf);

            fin_bytes(&in, buf, n);
            write_ram(at, buf, n);
            break;
        }
        case OP_SUBMIT:
            do_submit(&in);
            break;
        }
        check_invariants();
    }
    finish_input();
    return 0;
}
