/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: Kestrel's migration load path (issue 13).
 *
 * Everything vmstate_kestrel carries is the source's word, and a hostile
 * or corrupt stream may say anything.  Each input:
 *   1. drives a source device a few steps (enable, submissions, faults,
 *      time) to a realistic state, completes its backend I/O (the drain
 *      before a save) and takes the saved fields, as kestrel_pci.c's
 *      vmstate does;
 *   2. overwrites up to 32 of those fields with input bytes (registers,
 *      engine and storm state, pending[], every field of every command,
 *      also past the queue depth);
 *   3. loads them into a fresh device of the same configuration, with the
 *      fault rules restored as kestrel_post_load() does, and calls
 *      kestrel_core_post_load();
 *      With write-cache (config bit 0x10, 16 blocks) the cache subsection
 *      too: its count, block size, power-cut flag, and each block's LBA,
 *      sequence and data (kestrel_core_cache_load() checks them);
 *   4. refused: the device must be in its reset state and safe to use;
 *      accepted: the invariants fuzz_device checks hold
 *      (fuzz_core_invariants.h), and the device then runs (time, doorbells,
 *      reaping, backend completions) with the invariants checked after
 *      every step.  ASan and UBSan watch every access.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel_host.h"
#include "fuzz_input.h"
#include "fuzz_core_invariants.h"

#define GUEST_RAM       (KH_DATA_BASE + 0x10000u)
#define DISK_BLOCKS     64
#define HISTORY_STEPS   24
#define RUN_STEPS       24
#define MAX_MUTATIONS   32

static const char *const fault_table[] = {
    "",
    "cq.post:delay(50us)",
    "cq.post:stall:once",
    "cq.post:drop:prob=0.3,seed=2",
    "sq.fetch:delay(20us):once",
    "sq.fetch:stall:nth=2",
    "irq:storm(count=20,interval=1us):once",
    "irq:delay(10us)",
    "reset:stall:once",
    "power:delay(1ms)",
    "cq.post:duplicate:nth=2;cq.post:corrupt(phase):nth=3",
    "sq.fetch[op=flush]:lie:every=2",
    "sq.fetch[op=flush]:powercut:nth=2",
};
#define NFAULTS (sizeof(fault_table) / sizeof(fault_table[0]))

/* The saved fields of KestrelCore (vmstate_kestrel, in its order). */
typedef struct Field {
    size_t off;
    unsigned size;
} Field;

#define CF(f) { offsetof(KestrelCore, f), sizeof(((KestrelCore *)0)->f) }
static const Field core_fields[] = {
    CF(ctrl), CF(status), CF(intr_status), CF(intr_mask), CF(intr_delivered),
    CF(sq_base), CF(sq_size), CF(cq_base), CF(cq_size), CF(sq_head),
    CF(sq_tail), CF(cq_head), CF(cq_tail), CF(cq_phase), CF(err_count),
    CF(err_log), CF(generation), CF(power_state), CF(link_down),
    CF(stall_sq), CF(stall_cq), CF(stall_irq), CF(stall_reset),
    CF(stall_power), CF(sq_delayed), CF(sq_delay_mask), CF(ready_at),
    CF(reset_done_at), CF(sq_resume_at), CF(irq_delayed_at),
    CF(irq_delayed_causes), CF(storm_left), CF(storm_interval_ns),
    CF(storm_next_at), CF(power_delay_ns), CF(seq), CF(npending),
    CF(faults.next_id), CF(faults.seed), CF(faults.units),
};
#define NCORE (sizeof(core_fields) / sizeof(core_fields[0]))

#define MF(f) { offsetof(KestrelCmd, f), sizeof(((KestrelCmd *)0)->f) }
static const Field cmd_fields[] = {
    MF(state), MF(generation), MF(opcode), MF(cqe_faulted), MF(duplicate),
    MF(wrong_phase), MF(tag), MF(sq_head), MF(status), MF(cqe_rsvd0),
    MF(result), MF(cqe_rsvd1), MF(deadline), MF(seq), MF(delay_ns),
};
#define NCMD (sizeof(cmd_fields) / sizeof(cmd_fields[0]))

static KestrelHost *h;
static const KestrelCoreOps *host_ops;
static KestrelCore saved;               /* the "stream" */
static uint64_t saved_rule_state[KESTREL_FAULT_MAX_RULES][4];
static uint32_t saved_rule_prob[KESTREL_FAULT_MAX_RULES];

/*
 * The write cache's subsection (kestrel_pci.c, "kestrel/cache"): sent when
 * the cache holds blocks, a FLUSH waits, or a power cut happened.  The
 * stream's count may exceed the blocks saved (a lying stream): the loader
 * then reads the next blocks from the input.
 */
#define CACHE_BLOCKS    KESTREL_CACHE_MIN_BLOCKS
#define CACHE_SAVE_MAX  (CACHE_BLOCKS + 4)
static bool saved_cache_sent;
static uint32_t saved_cache_bs;
static uint32_t saved_cache_count;
static uint64_t saved_cache_seq;
static uint8_t saved_power_cut;
static uint64_t saved_cache_lba[CACHE_SAVE_MAX];
static uint64_t saved_cache_bseq[CACHE_SAVE_MAX];
static uint8_t saved_cache_data[CACHE_SAVE_MAX][4096];

static void check_invariants(void)
{
    fuzz_check_core(h, host_ops);
}

static void host_reset(void)
{
    memset(h->ram, 0, h->ram_size);
    memset(h->disk, 0, h->disk_size);
    h->clock_ns = 0;
    h->timer_deadline = KESTREL_NO_DEADLINE;
    h->kicked = false;
    memset(h->irqs, 0, sizeof(h->irqs));
    h->intx = false;
    h->intx_rises = 0;
    h->async_io = true;
    h->io_error = 0;
    h->nio = 0;
    h->dma_refused = 0;
}

static void new_device(const KestrelConfig *cfg)
{
    char err[128];

    if (kestrel_core_init(&h->core, cfg, host_ops, h, err, sizeof(err))) {
        fprintf(stderr, "kestrel_core_init: %s\n", err);
        abort();
    }
}

/* Complete every backend request, as the drain before a save does. */
static void drain(void)
{
    unsigned rounds = 0;

    while (h->nio && rounds++ < 4 * KH_MAX_IO) {
        KestrelHostIo io = h->io[--h->nio];

        kestrel_core_io_done(&h->core, io.cmd, 0);
    }
}

static void submit(FuzzIn *in)
{
    struct kestrel_sqe e = { 0 };
    uint8_t b = fin_u8(in);

    if (!(h->core.status & KESTREL_STATUS_RDY) ||
        h->core.sq_base != KH_SQ_BASE) {
        return;
    }
    e.opcode = 1 + b % 4;
    e.tag = fin_u16(in);
    if (e.opcode != KESTREL_OP_FLUSH) {
        e.lba = e.opcode == KESTREL_OP_IDENTIFY ? 0 : fin_u8(in) % 8;
        e.nblocks = e.opcode == KESTREL_OP_IDENTIFY ? 0 : 1 + (b >> 4) % 4;
        kh_sgl(h, &e, KH_DATA_BASE - 0x1000, KH_DATA_BASE, 1,
               e.opcode == KESTREL_OP_IDENTIFY ? KESTREL_IDENTIFY_SIZE
                                               : e.nblocks *
                                                 h->core.cfg.block_size);
    }
    kh_submit(h, &e);
}

/* Step 1: a source device in some realistic state. */
static void history(FuzzIn *in)
{
    unsigned steps = fin_u8(in) % HISTORY_STEPS, i;
    char err[KESTREL_FAULT_ERR_MAX];

    for (i = 0; i < steps; i++) {
        uint8_t op = fin_u8(in);

        switch (op % 8) {
        case 0: {
            uint32_t qd = h->core.cfg.queue_depth;

            kh_enable(h, 2 + fin_u8(in) % (qd - 1), 2 + fin_u8(in) % (qd - 1));
            break;
        }
        case 1:
        case 2:
            submit(in);
            break;
        case 3:
            kh_advance(h, (int64_t)fin_u8(in) * 1000);
            break;
        case 4: {
            struct kestrel_cqe cqe;

            if (h->core.cq_base == KH_CQ_BASE &&
                h->drv_cq_size == h->core.cq_size) {
                (void)kh_reap(h, &cqe);
            }
            break;
        }
        case 5:
            (void)kestrel_core_set_faults(&h->core,
                                          fault_table[fin_u8(in) % NFAULTS],
                                          err, sizeof(err));
            break;
        case 6:
            h->async_io = !h->async_io;
            break;
        case 7:
            kh_write(h, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
            break;
        }
    }
}

static void mutate_field(FuzzIn *in, uint8_t *base, const Field *f)
{
    uint8_t kind = fin_u8(in);
    uint64_t v;

    switch (kind & 3) {
    case 0:
        v = kind >> 2;                  /* small values */
        break;
    case 1:
        v = fin_u16(in);
        break;
    case 2:
        v = ~(uint64_t)0 - (kind >> 2);   /* near the top */
        break;
    default:
        v = fin_u64(in);
        break;
    }
    if (f->size == 1 || f->size == 2 || f->size == 4 || f->size == 8) {
        memcpy(base + f->off, &v, f->size);    /* little-endian host */
    } else {
        base[f->off + fin_u8(in) % f->size] = (uint8_t)v;
    }
}

/* The source's cache subsection, as kestrel_cache_vm_put() writes it. */
static void save_cache(const KestrelCore *c)
{
    uint32_t e, n = 0, i;

    saved_cache_sent = c->cache_count || c->power_cut;
    for (i = 0; i < c->cfg.queue_depth; i++) {
        saved_cache_sent |= c->cmds[i].state == KESTREL_CMD_FLUSH_WAIT;
    }
    saved_cache_bs = c->cfg.block_size;
    saved_cache_count = c->cache_count;
    saved_cache_seq = c->cache_seq;
    saved_power_cut = c->power_cut;
    memset(saved_cache_data, 0, sizeof(saved_cache_data));
    for (e = kestrel_core_cache_first(c);
         e != KESTREL_CACHE_NIL && n < CACHE_SAVE_MAX;
         e = kestrel_core_cache_next(c, e), n++) {
        saved_cache_lba[n] = c->cache[e].lba;
        saved_cache_bseq[n] = c->cache[e].seq;
        memcpy(saved_cache_data[n], kestrel_core_cache_block(c, e),
               c->cfg.block_size);
    }
    for (; n < CACHE_SAVE_MAX; n++) {
        saved_cache_lba[n] = saved_cache_bseq[n] = 0;
    }
}

static void mutate_cache(FuzzIn *in)
{
    uint8_t what = fin_u8(in);
    unsigned b = fin_u8(in) % CACHE_SAVE_MAX;

    switch (what % 8) {
    case 0:
        saved_cache_count = fin_u8(in) & 1 ? fin_u32(in)
                                           : fin_u8(in) % CACHE_SAVE_MAX;
        break;
    case 1:
        saved_cache_lba[b] = fin_u8(in) & 1 ? fin_u64(in) : fin_u8(in);
        break;
    case 2:
        saved_cache_bseq[b] = fin_u8(in) & 1 ? fin_u64(in) : fin_u8(in);
        break;
    case 3:
        saved_cache_seq = fin_u8(in) & 1 ? fin_u64(in) : fin_u8(in);
        break;
    case 4:
        saved_power_cut = fin_u8(in);
        break;
    case 5:
        saved_cache_bs = fin_u8(in) & 1 ? 4096 : 512;
        break;
    case 6:
        saved_cache_sent = !saved_cache_sent;
        break;
    default:
        saved_cache_data[b][fin_u16(in) % 4096] = fin_u8(in);
        break;
    }
}

/* Step 2: what the stream says instead. */
static void mutate(FuzzIn *in)
{
    unsigned n = fin_u8(in) % (MAX_MUTATIONS + 1), i;

    for (i = 0; i < n; i++) {
        uint8_t what = fin_u8(in);

        if (what >= 0xf8) {
            mutate_cache(in);
        } else if (what < 0x60) {
            mutate_field(in, (uint8_t *)&saved, &core_fields[what % NCORE]);
        } else if (what < 0x80) {
            saved.pending[fin_u8(in) % KESTREL_MAX_QDEPTH] =
                (uint16_t)(fin_u8(in) % 8 ? fin_u8(in) : fin_u16(in));
        } else if (what < 0xf0) {
            /* a slot, mostly below the queue depth */
            uint16_t slot = what & 1 ? fin_u16(in) % KESTREL_MAX_QDEPTH
                                     : fin_u8(in) % saved.cfg.queue_depth;

            mutate_field(in, (uint8_t *)&saved.cmds[slot],
                         &cmd_fields[fin_u8(in) % NCMD]);
        } else {
            unsigned r = fin_u8(in) % KESTREL_FAULT_MAX_RULES;

            if (what & 1) {
                saved_rule_prob[r] = fin_u32(in);
            } else {
                saved_rule_state[r][fin_u8(in) % 4] = fin_u64(in);
            }
        }
    }
}

/*
 * The saved fields of all KESTREL_MAX_QDEPTH command slots, as the
 * vmstate array does: a fixed sweep, left untraced by coverage-ignore.txt
 * (traced, its loop comparisons were a third of this target's time), so
 * it is not inlined.
 */
static __attribute__((noinline)) void load_cmds(KestrelCore *c)
{
    unsigned i, j;

    for (i = 0; i < KESTREL_MAX_QDEPTH; i++) {
        for (j = 0; j < NCMD; j++) {
            memcpy((uint8_t *)&c->cmds[i] + cmd_fields[j].off,
                   (const uint8_t *)&saved.cmds[i] + cmd_fields[j].off,
                   cmd_fields[j].size);
        }
    }
}

/* Step 3: the destination, as kestrel_pci.c loads it. */
static int load(char *err, size_t errlen)
{
    KestrelCore *c = &h->core;
    KestrelFaultEngine *e = &c->faults;
    char text[KESTREL_FAULT_TEXT_MAX];
    unsigned i;

    /* the saved text is the source's own, so it parses */
    kestrel_fault_format(&saved.faults, text, sizeof(text));
    new_device(&saved.cfg);
    for (i = 0; i < NCORE; i++) {
        memcpy((uint8_t *)c + core_fields[i].off,
               (const uint8_t *)&saved + core_fields[i].off,
               core_fields[i].size);
    }
    memcpy(c->pending, saved.pending, sizeof(c->pending));
    load_cmds(c);
    /* pre_load empties the cache; the subsection, as kestrel_pci.c reads
     * it: the count checked before any block is read */
    kestrel_core_cache_load_begin(c);
    if (saved_cache_sent) {
        if (!c->cfg.write_cache || saved_cache_bs != c->cfg.block_size ||
            saved_cache_count > c->cfg.cache_blocks || saved_power_cut > 1) {
            kestrel_core_load_refused(c);
            return -1;
        }
        c->cache_seq = saved_cache_seq;
        c->power_cut = saved_power_cut;
        for (i = 0; i < saved_cache_count; i++) {
            if (i >= CACHE_SAVE_MAX) {
                kestrel_core_load_refused(c);   /* the stream ends early */
                return -1;
            }
            if (kestrel_core_cache_load(c, saved_cache_lba[i],
                                        saved_cache_bseq[i],
                                        saved_cache_data[i], err,
                                        errlen) < 0) {
                kestrel_core_load_refused(c);
                return -1;
            }
        }
    }
    {
        uint64_t commands = e->units, seed = e->seed;
        uint32_t next_id = e->next_id;

        if (kestrel_fault_set(e, text, err, errlen) < 0) {
            fprintf(stderr, "own rule text refused: %s: %s\n", text, err);
            __builtin_trap();
        }
        e->units = commands;
        e->seed = seed;
        e->next_id = next_id;
    }
    for (i = 0; i < e->nrules; i++) {
        e->rules[i].id = (uint32_t)saved_rule_state[i][0];
        e->rules[i].hits = saved_rule_state[i][1];
        e->rules[i].fired = saved_rule_state[i][2];
        e->rules[i].rng = saved_rule_state[i][3];
        if (e->rules[i].trigger == KFT_PROB) {
            if (!saved_rule_prob[i]) {
                return -2;      /* kestrel_post_load() refuses prob=0 */
            }
            e->rules[i].prob = saved_rule_prob[i];
        }
    }
    return kestrel_core_post_load(c, err, errlen);
}

/* Step 4: an accepted device must run like any other. */
static void run(FuzzIn *in)
{
    unsigned i;

    for (i = 0; i < RUN_STEPS && !fin_empty(in); i++) {
        uint8_t op = fin_u8(in);
        struct kestrel_cqe cqe;

        switch (op % 6) {
        case 0:
            kh_run(h);
            break;
        case 1:
            kh_advance(h, (int64_t)fin_u8(in) << (fin_u8(in) % 24));
            break;
        case 2:
            kh_write(h, KESTREL_REG_SQ_TAIL_DB, fin_u16(in));
            break;
        case 3:
            kh_write(h, KESTREL_REG_CQ_HEAD_DB, fin_u16(in));
            break;
        case 4:
            /* only on rings that passed post_load's checks */
            if ((h->core.status & KESTREL_STATUS_RDY) &&
                h->core.cq_base == KH_CQ_BASE &&
                h->drv_cq_size == h->core.cq_size &&
                h->drv_cq_head < h->drv_cq_size && h->drv_phase <= 1) {
                (void)kh_reap(h, &cqe);
            }
            break;
        case 5:
            kh_write(h, KESTREL_REG_INTR_MASK, fin_u8(in) & 3);
            break;
        }
        check_invariants();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t qds[] = { 2, 8, 64, 256 };
    KestrelConfig cfg = kh_default_config();
    char err[KESTREL_FAULT_ERR_MAX];
    FuzzIn in;
    uint8_t b;
    unsigned i;
    int ret;

    fin_init(&in, data, size);
    b = fin_u8(&in);
    cfg.queue_depth = qds[b & 3];
    cfg.block_size = (b & 4) ? 4096 : 512;
    cfg.capacity_blocks = DISK_BLOCKS;
    cfg.ready_delay_us = (b & 8) ? 0 : 100;
    cfg.write_cache = (b & 0x10) != 0;
    cfg.cache_blocks = CACHE_BLOCKS;
    if (!h) {
        KestrelConfig big = cfg;

        big.block_size = 4096;
        h = kh_new(&big, GUEST_RAM, err, sizeof(err));
        if (!h) {
            fprintf(stderr, "kh_new: %s\n", err);
            abort();
        }
        host_ops = h->core.ops;
        kestrel_core_cleanup(&h->core);
    }
    host_reset();
    h->disk_size = (size_t)cfg.capacity_blocks * cfg.block_size;

    /* 1. the source, drained and saved */
    new_device(&cfg);
    history(&in);
    kestrel_core_pause(&h->core, KESTREL_PAUSE_VM);    /* vm_stop() */
    drain();
    memcpy(&saved, &h->core, sizeof(saved));
    save_cache(&h->core);
    for (i = 0; i < KESTREL_FAULT_MAX_RULES; i++) {
        const KestrelFaultRule *r = &h->core.faults.rules[i];

        saved_rule_state[i][0] = r->id;
        saved_rule_state[i][1] = r->hits;
        saved_rule_state[i][2] = r->fired;
        saved_rule_state[i][3] = r->rng;
        saved_rule_prob[i] = r->prob;
    }
    for (i = 0; i < KESTREL_MAX_QDEPTH; i++) {
        saved.cmds[i].segs = NULL;      /* owned by the source */
        saved.cmds[i].buf = NULL;
        saved.cmds[i].ovl = NULL;
    }
    saved.cache = NULL;                 /* freed with the source */
    saved.cache_data = NULL;
    saved.cache_hash = NULL;
    saved.wb.buf = NULL;
    saved.wb_seq = NULL;
    kestrel_core_cleanup(&h->core);

    /* 2. the stream as the fuzzer tells it; 3. the destination */
    mutate(&in);
    host_reset();
    h->disk_size = (size_t)cfg.capacity_blocks * cfg.block_size;
    h->drv_sq_size = saved.sq_size;
    h->drv_cq_size = saved.cq_size;
    h->drv_sq_tail = saved.sq_tail;
    h->drv_cq_head = saved.cq_head;
    h->drv_phase = saved.cq_phase;
    ret = load(err, sizeof(err));
    if (ret == -2) {
        kestrel_core_load_refused(&h->core);    /* as kestrel_pci.c does */
    }
    if (ret < 0) {
        /* 4a. refused: the device is back at its reset state */
        FUZZ_ASSERT(h->core.npending == 0 &&
                    !(h->core.status & KESTREL_STATUS_RDY));
        check_invariants();
    } else if (ret == 0) {
        /* 4b. accepted: it runs */
        check_invariants();
        run(&in);
    }
    drain();
    check_invariants();
    kestrel_core_cleanup(&h->core);
    return 0;
}
