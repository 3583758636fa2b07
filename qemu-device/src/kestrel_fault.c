/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kestrel's fault vocabulary: its points, actions, corrupt() fields and
 * filter keys, declared for the shared engine (gfault.c), and the
 * kestrel_fault_* wrappers the core, the QEMU glue and the tests use.
 * The grammar is documented in docs/kestrel-datasheet.md section 10.
 *
 * Uses only the C library: it is built inside QEMU and standalone.
 */
#include "kestrel_env.h"
#include "kestrel_fault.h"
#include "kestrel_hw.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define STR_(x) #x
#define STR(x) STR_(x)

#define PBIT(p) (1ull << (p))
#define ABIT(a) (1u << (a))
#define KBIT(k) (1u << (k))

/* Actions every point accepts. */
#define ACTIONS_ANY (ABIT(KFA_DROP) | ABIT(KFA_SPURIOUS) | ABIT(KFA_STORM) | \
                     ABIT(KFA_FATAL) | ABIT(KFA_ALLONES) | ABIT(KFA_POWERCUT))
#define ACTIONS_TIME (ABIT(KFA_DELAY) | ABIT(KFA_STALL))
#define ACTIONS_DATA (ABIT(KFA_CORRUPT) | ABIT(KFA_FLIP))

#define DMA_POINTS (PBIT(KFP_DMA_READ) | PBIT(KFP_DMA_WRITE))
#define DMA_FIELDS ((1u << KFF_DMA_OFFSET) | (1u << KFF_DMA_VALUE))
#define DMA_NEED "both offset=N and value=N"

/* Points with the [op=X] filter (command points). */
#define OP_POINT(n, acts) \
    { .name = (n), .actions = (acts), .keys = KBIT(KFK_OP) }

static const GFaultPointInfo kestrel_points[KFP__MAX] = {
    [KFP_CTRL_ENABLE] = { .name = "ctrl.enable",
                          .actions = ACTIONS_ANY | ACTIONS_TIME },
    [KFP_REG_READ] = { .name = "reg.read",
                       .actions = ACTIONS_ANY | ACTIONS_DATA,
                       .keys = KBIT(KFK_REG) },
    [KFP_SQ_FETCH] = OP_POINT("sq.fetch", ACTIONS_ANY | ACTIONS_TIME |
                              ACTIONS_DATA | ABIT(KFA_DMA_ERROR) |
                              ABIT(KFA_LIE)),
    [KFP_SGL_FETCH] = {
        .name = "sgl.fetch",
        .actions = ACTIONS_ANY | ACTIONS_TIME | ACTIONS_DATA |
                   ABIT(KFA_DMA_ERROR),
        .keys = KBIT(KFK_OP),
        .corrupt_not_alone = 1u << KFF_SG_INDEX,
        .corrupt_not_alone_msg = "a field to corrupt besides index "
                                 "(addr, len, flags)",
    },
    [KFP_DMA_READ] = {
        .name = "dma.read",
        .actions = ACTIONS_ANY | ACTIONS_TIME | ACTIONS_DATA |
                   ABIT(KFA_DMA_ERROR),
        .keys = KBIT(KFK_OP),
        .corrupt_need_all = DMA_FIELDS,
        .corrupt_need_all_msg = DMA_NEED,
    },
    [KFP_DMA_WRITE] = {
        .name = "dma.write",
        .actions = ACTIONS_ANY | ACTIONS_TIME | ACTIONS_DATA |
                   ABIT(KFA_DMA_ERROR),
        .keys = KBIT(KFK_OP),
        .corrupt_need_all = DMA_FIELDS,
        .corrupt_need_all_msg = DMA_NEED,
    },
    [KFP_CQ_POST] = OP_POINT("cq.post", ACTIONS_ANY | ACTIONS_TIME |
                             ACTIONS_DATA | ABIT(KFA_DUPLICATE) |
                             ABIT(KFA_DMA_ERROR)),
    [KFP_IRQ] = { .name = "irq", .actions = ACTIONS_ANY | ACTIONS_TIME },
    [KFP_RESET] = { .name = "reset", .actions = ACTIONS_ANY | ACTIONS_TIME },
    [KFP_POWER] = { .name = "power", .actions = ACTIONS_ANY | ACTIONS_TIME },
};

static const GFaultActionInfo kestrel_actions[KFA__MAX] = {
    [KFA_DROP] = { .name = "drop" },
    [KFA_DELAY] = { .name = "delay", .args = GFAULT_ARGS_DELAY },
    [KFA_STALL] = { .name = "stall" },
    [KFA_CORRUPT] = { .name = "corrupt", .args = GFAULT_ARGS_CORRUPT },
    [KFA_FLIP] = { .name = "flip", .args = GFAULT_ARGS_FLIP },
    [KFA_DUPLICATE] = { .name = "duplicate" },
    [KFA_SPURIOUS] = { .name = "spurious" },
    [KFA_STORM] = { .name = "storm", .args = GFAULT_ARGS_STORM },
    [KFA_FATAL] = { .name = "fatal" },
    [KFA_ALLONES] = { .name = "allones" },
    [KFA_DMA_ERROR] = { .name = "dma_error" },
    /* only a FLUSH can lie: "lie" needs the [op=flush] filter */
    [KFA_LIE] = {
        .name = "lie",
        .need_filter = true,
        .need_key = KFK_OP,
        .need_value = KESTREL_OP_FLUSH,
        .need_msg = "an action valid for sq.fetch without [op=flush] "
                    "(lie needs sq.fetch[op=flush])",
    },
    [KFA_POWERCUT] = { .name = "powercut" },
};

#define F(n, pts, b, h, nv) { \
        .name = (n), .points = (pts), .bits = (b), .hex = (h), \
        .need_value = (nv) \
    }

static const GFaultFieldInfo kestrel_fields[KFF__MAX] = {
    [KFF_CQ_TAG] = F("tag", PBIT(KFP_CQ_POST), 16, true, false),
    [KFF_CQ_PHASE] = F("phase", PBIT(KFP_CQ_POST), 1, false, false),
    [KFF_CQ_STATUS] = F("status", PBIT(KFP_CQ_POST), 15, true, false),
    [KFF_CQ_SQHEAD] = F("sqhead", PBIT(KFP_CQ_POST), 16, true, false),
    [KFF_CQ_RESULT] = F("result", PBIT(KFP_CQ_POST), 32, false, false),
    [KFF_CQ_ADDR] = F("addr", PBIT(KFP_CQ_POST), 64, true, true),
    [KFF_SQ_OPCODE] = F("opcode", PBIT(KFP_SQ_FETCH), 8, true, false),
    [KFF_SQ_FLAGS] = F("flags", PBIT(KFP_SQ_FETCH), 8, true, false),
    [KFF_SQ_TAG] = F("tag", PBIT(KFP_SQ_FETCH), 16, true, false),
    [KFF_SQ_NSEGS] = F("nsegs", PBIT(KFP_SQ_FETCH), 32, false, false),
    [KFF_SQ_LBA] = F("lba", PBIT(KFP_SQ_FETCH), 64, true, false),
    [KFF_SQ_NBLOCKS] = F("nblocks", PBIT(KFP_SQ_FETCH), 32, false, false),
    [KFF_SQ_SGL_ADDR] = F("sgl_addr", PBIT(KFP_SQ_FETCH), 64, true, false),
    [KFF_SQ_SGL_LEN] = F("sgl_len", PBIT(KFP_SQ_FETCH), 32, false, false),
    [KFF_SG_ADDR] = F("addr", PBIT(KFP_SGL_FETCH), 64, true, false),
    [KFF_SG_LEN] = F("len", PBIT(KFP_SGL_FETCH), 32, false, false),
    [KFF_SG_FLAGS] = F("flags", PBIT(KFP_SGL_FETCH), 16, true, false),
    [KFF_SG_INDEX] = F("index", PBIT(KFP_SGL_FETCH), 32, false, true),
    [KFF_REG_VALUE] = F("value", PBIT(KFP_REG_READ), 32, true, false),
    [KFF_DMA_OFFSET] = F("offset", DMA_POINTS, 64, false, true),
    [KFF_DMA_VALUE] = F("value", DMA_POINTS, 8, true, true),
};

static const GFaultName reg_names[] = {
    { "version", KESTREL_REG_VERSION },
    { "cap_qdepth", KESTREL_REG_CAP_QDEPTH },
    { "cap_blksz", KESTREL_REG_CAP_BLKSZ },
    { "cap_capacity_lo", KESTREL_REG_CAP_CAPACITY_LO },
    { "cap_capacity_hi", KESTREL_REG_CAP_CAPACITY_HI },
    { "cap_nvec", KESTREL_REG_CAP_NVEC },
    { "cap_maxseg", KESTREL_REG_CAP_MAXSEG },
    { "cap_timeout_ms", KESTREL_REG_CAP_TIMEOUT_MS },
    { "cap_maxxfer", KESTREL_REG_CAP_MAXXFER },
    { "ctrl", KESTREL_REG_CTRL },
    { "status", KESTREL_REG_STATUS },
    { "reset", KESTREL_REG_RESET },
    { "intr_status", KESTREL_REG_INTR_STATUS },
    { "intr_mask", KESTREL_REG_INTR_MASK },
    { "sq_base_lo", KESTREL_REG_SQ_BASE_LO },
    { "sq_base_hi", KESTREL_REG_SQ_BASE_HI },
    { "sq_size", KESTREL_REG_SQ_SIZE },
    { "cq_base_lo", KESTREL_REG_CQ_BASE_LO },
    { "cq_base_hi", KESTREL_REG_CQ_BASE_HI },
    { "cq_size", KESTREL_REG_CQ_SIZE },
    { "sq_tail_db", KESTREL_REG_SQ_TAIL_DB },
    { "cq_head_db", KESTREL_REG_CQ_HEAD_DB },
    { "sq_head", KESTREL_REG_SQ_HEAD },
    { "cq_tail", KESTREL_REG_CQ_TAIL },
    { "err_count", KESTREL_REG_ERR_COUNT },
    { "err_log", KESTREL_REG_ERR_LOG },
    { NULL, 0 },
};

static const GFaultName op_names[] = {
    { "identify", KESTREL_OP_IDENTIFY },
    { "read", KESTREL_OP_READ },
    { "write", KESTREL_OP_WRITE },
    { "flush", KESTREL_OP_FLUSH },
    { NULL, 0 },
};

static const GFaultKeyInfo kestrel_keys[KFK__MAX] = {
    [KFK_REG] = {
        .name = "reg",
        .hex = true,
        .max = KESTREL_BAR_REGS_SIZE - 1,
        .align = 4,
        .names = reg_names,
        .expect = "a register name (e.g. STATUS, CAP_QDEPTH) or a 4-aligned "
                  "offset below " STR(KESTREL_BAR_REGS_SIZE),
        .expect_bounds = "a 4-aligned register offset below "
                         STR(KESTREL_BAR_REGS_SIZE),
    },
    [KFK_OP] = {
        .name = "op",
        .hex = true,
        .max = 255,
        .names = op_names,
        .format_names = true,
        .expect = "an opcode (identify, read, write, flush) or a number "
                  "0..255",
        .expect_bounds = "an opcode 0..255",
    },
};

const GFaultVocab kestrel_fault_vocab = {
    .name = "kestrel",
    .npoints = KFP__MAX,
    .nactions = KFA__MAX,
    .nfields = KFF__MAX,
    .nkeys = KFK__MAX,
    .points = kestrel_points,
    .actions = kestrel_actions,
    .fields = kestrel_fields,
    .keys = kestrel_keys,
    .after = GFAULT_AFTER_UNITS,
};

/* ---- Wrappers ------------------------------------------------------------ */

static int32_t rule_key(const KestrelFaultRule *r, unsigned k)
{
    return (r->filter_mask & KBIT(k)) ? (int32_t)r->filter_lo[k] : -1;
}

int32_t kestrel_fault_rule_reg(const KestrelFaultRule *r)
{
    return rule_key(r, KFK_REG);
}

int32_t kestrel_fault_rule_op(const KestrelFaultRule *r)
{
    return rule_key(r, KFK_OP);
}

const char *kestrel_fault_point_name(KestrelFaultPoint p)
{
    return gfault_point_name(&kestrel_fault_vocab, (unsigned)p);
}

const char *kestrel_fault_action_name(KestrelFaultAction a)
{
    return gfault_action_name(&kestrel_fault_vocab, (unsigned)a);
}

void kestrel_fault_init(KestrelFaultEngine *e, uint64_t seed)
{
    gfault_init(e, &kestrel_fault_vocab, seed);
}

int kestrel_fault_set(KestrelFaultEngine *e, const char *text,
                      char *err, size_t errlen)
{
    return gfault_set(e, text, err, errlen);
}

int kestrel_fault_add(KestrelFaultEngine *e, const char *text,
                      char *err, size_t errlen)
{
    return gfault_add(e, text, err, errlen);
}

void kestrel_fault_clear(KestrelFaultEngine *e)
{
    gfault_clear(e);
}

size_t kestrel_fault_format(const KestrelFaultEngine *e, char *buf,
                            size_t len)
{
    return gfault_format(e, buf, len);
}

uint32_t kestrel_fault_eval(KestrelFaultEngine *e, KestrelFaultPoint p,
                            int reg, int op)
{
    GFaultEvent ev = { 0 };

    if (reg >= 0) {
        ev.known |= KBIT(KFK_REG);
        ev.key[KFK_REG] = (uint64_t)reg;
    }
    if (op >= 0) {
        ev.known |= KBIT(KFK_OP);
        ev.key[KFK_OP] = (uint64_t)op;
    }
    return gfault_eval(e, (unsigned)p, &ev);
}

bool kestrel_fault_watches(const KestrelFaultEngine *e, KestrelFaultPoint p)
{
    return gfault_watches(e, (unsigned)p);
}

void kestrel_fault_count_command(KestrelFaultEngine *e)
{
    gfault_count_unit(e);
}

uint64_t kestrel_fault_rand(KestrelFaultRule *r)
{
    return gfault_rand(r);
}

int kestrel_fault_post_load(KestrelFaultEngine *e)
{
    /* the vocabulary is code, not state: never taken from the stream */
    e->vocab = &kestrel_fault_vocab;
    return gfault_post_load(e);
}
