/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared helpers of the Kestrel core unit tests.
 *
 * Every test drives the real kestrel_core.c through the in-process host
 * double (standalone/kestrel_host.c): guest RAM is h->ram, the disk is
 * h->disk, time moves only through kh_advance().
 */
#ifndef KESTREL_UNIT_H
#define KESTREL_UNIT_H

#include <check.h>

#include "kestrel_env.h"
#include "kestrel_host.h"

Suite *regs_suite(void);
Suite *rings_suite(void);
Suite *commands_suite(void);
Suite *actions_suite(void);
Suite *fault_suite(void);
Suite *gport_suite(void);
Suite *faultlog_suite(void);

#define UT_RAM_SIZE     (4u << 20)      /* 4 MiB of guest RAM */
#define UT_LIST_BASE    0x40000u        /* per-tag segment lists */
#define UT_LIST_STRIDE  0x200u          /* room for 32 descriptors */
#define UT_BUF_BASE     0x200000u       /* per-tag data buffers */
#define UT_BUF_STRIDE   0x4000u
#define UT_OUTSIDE_RAM  0x80000000ull   /* no RAM there */
#define UT_US           1000ll          /* ns */
#define UT_MS           1000000ll

static inline KestrelHost *ut_host_cfg(const KestrelConfig *cfg)
{
    char err[256] = "";
    KestrelHost *h = kh_new(cfg, UT_RAM_SIZE, err, sizeof(err));

    ck_assert_msg(h != NULL, "kh_new failed: %s", err);
    return h;
}

static inline KestrelHost *ut_host(void)
{
    KestrelConfig cfg = kh_default_config();

    return ut_host_cfg(&cfg);
}

static inline void ut_enable(KestrelHost *h, uint32_t sq, uint32_t cq)
{
    ck_assert_msg(kh_enable(h, sq, cq) == 0,
                  "controller not ready, STATUS 0x%x",
                  kh_read(h, KESTREL_REG_STATUS));
}

/* Replace the fault rules; the rule set must parse. */
static inline void ut_faults(KestrelHost *h, const char *rules)
{
    char err[KESTREL_FAULT_ERR_MAX] = "";
    int ret = kestrel_core_set_faults(&h->core, rules, err, sizeof(err));

    ck_assert_msg(ret >= 0, "rules '%s' rejected: %s", rules, err);
}

/* Guest RAM [off, off + len) is untouched (all zero). */
static inline bool ut_ram_is_zero(KestrelHost *h, uint64_t off, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (h->ram[off + i]) {
            return false;
        }
    }
    return true;
}

static inline uint64_t ut_fired(KestrelHost *h, unsigned rule)
{
    return h->core.faults.rules[rule].fired;
}

/* ---- error log ------------------------------------------------------- */

typedef struct UtErr {
    uint16_t code;
    uint16_t tag;
    uint32_t info;
    uint64_t addr;
} UtErr;

static inline UtErr ut_err_entry(KestrelHost *h, unsigned idx)
{
    uint64_t base = KESTREL_REG_ERR_LOG + idx * KESTREL_ERR_LOG_ENTRY_SIZE;
    uint32_t w0 = kh_read(h, base + KESTREL_ERR_ENTRY_CODE);
    UtErr e = {
        .code = (uint16_t)w0,
        .tag = (uint16_t)(w0 >> 16),
        .info = kh_read(h, base + KESTREL_ERR_ENTRY_INFO),
        .addr = kh_read(h, base + KESTREL_ERR_ENTRY_ADDR_LO) |
                (uint64_t)kh_read(h, base + KESTREL_ERR_ENTRY_ADDR_HI) << 32,
    };

    return e;
}

static inline UtErr ut_err_newest(KestrelHost *h)
{
    uint32_t n = kh_read(h, KESTREL_REG_ERR_COUNT);

    ck_assert_msg(n > 0, "error log is empty");
    return ut_err_entry(h, (n - 1) % KESTREL_ERR_LOG_LEN);
}

/* ---- commands -------------------------------------------------------- */

static inline uint64_t ut_list(uint16_t tag)
{
    return UT_LIST_BASE + (uint64_t)(tag % 64) * UT_LIST_STRIDE;
}

static inline uint64_t ut_buf(uint16_t tag)
{
    return UT_BUF_BASE + (uint64_t)(tag % 64) * UT_BUF_STRIDE;
}

static inline struct kestrel_sqe ut_sqe(uint8_t opcode, uint16_t tag)
{
    struct kestrel_sqe s;

    memset(&s, 0, sizeof(s));
    s.opcode = opcode;
    s.tag = cpu_to_le16(tag);
    return s;
}

static inline struct kestrel_sqe ut_flush(uint16_t tag)
{
    return ut_sqe(KESTREL_OP_FLUSH, tag);
}

/* READ/WRITE of nblocks at lba, one segment at ut_buf(tag). */
static inline struct kestrel_sqe ut_rw(KestrelHost *h, uint8_t opcode,
                                       uint16_t tag, uint64_t lba,
                                       uint32_t nblocks)
{
    struct kestrel_sqe s = ut_sqe(opcode, tag);

    s.lba = cpu_to_le64(lba);
    s.nblocks = cpu_to_le32(nblocks);
    kh_sgl(h, &s, ut_list(tag), ut_buf(tag), 1,
           nblocks * h->core.cfg.block_size);
    return s;
}

/* Write one segment descriptor into guest RAM. */
static inline void ut_desc(KestrelHost *h, uint64_t at, uint64_t addr,
                           uint32_t len, uint16_t flags)
{
    struct kestrel_sg_desc d = {
        .addr = cpu_to_le64(addr),
        .len = cpu_to_le32(len),
        .flags = cpu_to_le16(flags),
    };

    memcpy(h->ram + at, &d, sizeof(d));
}

static inline void ut_fill(void *p, size_t len, uint8_t seed)
{
    uint8_t *b = p;
    size_t i;

    for (i = 0; i < len; i++) {
        b[i] = (uint8_t)(seed + i * 7 + (i >> 8));
    }
}

static inline unsigned ut_status(const struct kestrel_cqe *e)
{
    return KESTREL_CQE_STATUS(le16_to_cpu(e->status));
}

/* Raw CQ entry idx as it is in guest RAM (queue at KH_CQ_BASE). */
static inline struct kestrel_cqe ut_cq_entry(KestrelHost *h, unsigned idx)
{
    struct kestrel_cqe e;

    memcpy(&e, h->ram + KH_CQ_BASE + idx * sizeof(e), sizeof(e));
    return e;
}

/* Submit one command and reap its completion, which must be there. */
static inline struct kestrel_cqe ut_exec(KestrelHost *h,
                                         const struct kestrel_sqe *s)
{
    struct kestrel_cqe e;

    kh_submit(h, s);
    ck_assert_msg(kh_reap(h, &e), "no completion for tag %u",
                  le16_to_cpu(s->tag));
    return e;
}

/* Submit, reap, and check tag and status. */
#define ut_expect(h, sqe, want) do {                                      \
        struct kestrel_sqe ut_s_ = (sqe);                                 \
        struct kestrel_cqe ut_e_ = ut_exec((h), &ut_s_);                  \
        ck_assert_uint_eq(le16_to_cpu(ut_e_.tag), le16_to_cpu(ut_s_.tag)); \
        ck_assert_uint_eq(ut_status(&ut_e_), (want));                     \
    } while (0)

/* Submit without running the host loop: asynchronous backend I/O stays
 * queued in h->io until kh_run(). */
static inline void ut_submit_raw(KestrelHost *h, const struct kestrel_sqe *s)
{
    memcpy(h->ram + KH_SQ_BASE + (uint64_t)h->drv_sq_tail * sizeof(*s), s,
           sizeof(*s));
    h->drv_sq_tail = (h->drv_sq_tail + 1) % h->drv_sq_size;
    kestrel_core_mmio_write(&h->core, KESTREL_REG_SQ_TAIL_DB, h->drv_sq_tail);
    h->kicked = false;
    kestrel_core_process(&h->core);
}

/* Controller reset (EN 1->0), forget the old CQ contents, enable again. */
static inline void ut_reenable(KestrelHost *h, uint32_t sq, uint32_t cq)
{
    kh_write(h, KESTREL_REG_CTRL, 0);
    memset(h->ram + KH_CQ_BASE, 0, (size_t)KESTREL_MAX_QDEPTH *
           sizeof(struct kestrel_cqe));
    ut_enable(h, sq, cq);
}

static inline unsigned ut_popcount_diff(const void *a, const void *b,
                                        size_t len)
{
    const uint8_t *x = a, *y = b;
    unsigned n = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        n += (unsigned)__builtin_popcount(x[i] ^ y[i]);
    }
    return n;
}

#endif /* KESTREL_UNIT_H */
