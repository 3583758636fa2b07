/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kestrel register interface: reset values, access rules, interrupts
 * registers, enable/reset handshakes, power states and the error log.
 */
#include "unit.h"

static KestrelHost *h;

static void setup(void)
{
    h = ut_host();
}

static void teardown(void)
{
    kh_free(h);
    h = NULL;
}

static void replace_host(const KestrelConfig *cfg)
{
    kh_free(h);
    h = ut_host_cfg(cfg);
}

static void set_queues(uint64_t sq_base, uint32_t sq_size, uint64_t cq_base,
                       uint32_t cq_size)
{
    kh_write(h, KESTREL_REG_SQ_BASE_LO, (uint32_t)sq_base);
    kh_write(h, KESTREL_REG_SQ_BASE_HI, (uint32_t)(sq_base >> 32));
    kh_write(h, KESTREL_REG_SQ_SIZE, sq_size);
    kh_write(h, KESTREL_REG_CQ_BASE_LO, (uint32_t)cq_base);
    kh_write(h, KESTREL_REG_CQ_BASE_HI, (uint32_t)(cq_base >> 32));
    kh_write(h, KESTREL_REG_CQ_SIZE, cq_size);
}

/* Registers that must read 0 right after a reset of the controller. */
static const uint32_t zero_after_reset[] = {
    KESTREL_REG_CTRL, KESTREL_REG_STATUS, KESTREL_REG_INTR_STATUS,
    KESTREL_REG_INTR_MASK, KESTREL_REG_SQ_BASE_LO, KESTREL_REG_SQ_BASE_HI,
    KESTREL_REG_SQ_SIZE, KESTREL_REG_CQ_BASE_LO, KESTREL_REG_CQ_BASE_HI,
    KESTREL_REG_CQ_SIZE, KESTREL_REG_SQ_HEAD, KESTREL_REG_CQ_TAIL,
};

static void check_reset_state(void)
{
    unsigned i;

    for (i = 0; i < sizeof(zero_after_reset) / sizeof(zero_after_reset[0]);
         i++) {
        ck_assert_msg(kh_read(h, zero_after_reset[i]) == 0,
                      "reg 0x%x = 0x%x after reset", zero_after_reset[i],
                      kh_read(h, zero_after_reset[i]));
    }
}

static void check_caps(const KestrelConfig *cfg)
{
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CAP_QDEPTH), cfg->queue_depth);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CAP_BLKSZ), cfg->block_size);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CAP_CAPACITY_LO),
                      (uint32_t)cfg->capacity_blocks);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CAP_CAPACITY_HI),
                      (uint32_t)(cfg->capacity_blocks >> 32));
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CAP_NVEC), KESTREL_NVEC);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CAP_MAXSEG), cfg->max_segments);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CAP_TIMEOUT_MS), cfg->timeout_ms);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CAP_MAXXFER),
                      KESTREL_MAX_XFER_BYTES / cfg->block_size);
}

START_TEST(test_reset_values_default)
{
    KestrelConfig cfg = kh_default_config();
    unsigned i;

    check_caps(&cfg);
    check_reset_state();
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 0);
    for (i = 0; i < KESTREL_ERR_LOG_LEN * 4; i++) {
        ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_LOG + 4 * i), 0);
    }
    /* write-only and reserved registers read as 0 */
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_RESET), 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_TAIL_DB), 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_HEAD_DB), 0);
    ck_assert_uint_eq(kh_read(h, 0x004), 0);
    ck_assert_uint_eq(kh_read(h, 0x3ffc), 0);
    ck_assert_uint_eq(h->irqs[0] + h->irqs[1], 0);
    ck_assert(!h->intx);
}
END_TEST

START_TEST(test_reset_values_config)
{
    KestrelConfig cfg = kh_default_config();

    cfg.queue_depth = 1000;
    cfg.block_size = 4096;
    cfg.max_segments = 1024;
    cfg.capacity_blocks = 777;
    cfg.timeout_ms = 12345;
    cfg.ready_delay_us = 7;
    replace_host(&cfg);
    check_caps(&cfg);
    check_reset_state();
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CAP_MAXXFER), 256);
}
END_TEST

START_TEST(test_bad_config_rejected)
{
    static const struct {
        uint32_t qd, bs, maxseg, timeout, ready;
    } bad[] = {
        { 1, 512, 32, 2000, 100 },
        { 1025, 512, 32, 2000, 100 },
        { 64, 1024, 32, 2000, 100 },
        { 64, 512, 0, 2000, 100 },
        { 64, 512, 1025, 2000, 100 },
        { 64, 512, 32, 0, 100 },
        { 64, 512, 32, 2, 2000 },
    };
    unsigned i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        KestrelConfig cfg = kh_default_config();
        char err[128] = "";

        cfg.queue_depth = bad[i].qd;
        cfg.block_size = bad[i].bs;
        cfg.max_segments = bad[i].maxseg;
        cfg.timeout_ms = bad[i].timeout;
        cfg.ready_delay_us = bad[i].ready;
        ck_assert_msg(kh_new(&cfg, UT_RAM_SIZE, err, sizeof(err)) == NULL,
                      "config %u accepted", i);
        ck_assert_msg(err[0] != '\0', "config %u: no message", i);
    }
}
END_TEST

/* A write to a read-only register is ignored and logged. */
static void check_ro_write(uint32_t reg, uint32_t val)
{
    uint32_t before = kh_read(h, reg);
    uint32_t count = kh_read(h, KESTREL_REG_ERR_COUNT);
    unsigned long ge = kestrel_guest_errors;
    UtErr e;

    kh_write(h, reg, val);
    if (reg == KESTREL_REG_ERR_COUNT) {
        ck_assert_uint_eq(kh_read(h, reg), before + 1);
    } else {
        ck_assert_msg(kh_read(h, reg) == before,
                      "RO reg 0x%x changed to 0x%x", reg, kh_read(h, reg));
    }
    ck_assert_uint_eq(kestrel_guest_errors, ge + 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), count + 1);
    e = ut_err_newest(h);
    ck_assert_uint_eq(e.code, KESTREL_ERR_BAD_REG_WRITE);
    ck_assert_uint_eq(e.addr, reg);
    ck_assert_uint_eq(e.info, val);
}

START_TEST(test_ro_registers)
{
    static const uint32_t ro[] = {
        KESTREL_REG_VERSION, KESTREL_REG_CAP_QDEPTH, KESTREL_REG_CAP_BLKSZ,
        KESTREL_REG_CAP_CAPACITY_LO, KESTREL_REG_CAP_CAPACITY_HI,
        KESTREL_REG_CAP_NVEC, KESTREL_REG_CAP_MAXSEG,
        KESTREL_REG_CAP_TIMEOUT_MS, KESTREL_REG_CAP_MAXXFER,
        KESTREL_REG_STATUS, KESTREL_REG_SQ_HEAD, KESTREL_REG_CQ_TAIL,
        KESTREL_REG_ERR_COUNT, 0x004, 0x200,
    };
    unsigned i;

    for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
        check_ro_write(ro[i], 0xdead0000u | i);
    }
    /* also while the controller runs */
    ut_enable(h, 4, 4);
    check_ro_write(KESTREL_REG_STATUS, 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
    check_ro_write(KESTREL_REG_CAP_QDEPTH, 1);
}
END_TEST

START_TEST(test_err_log_ro)
{
    UtErr first;

    kh_write(h, KESTREL_REG_VERSION, 0x55);
    first = ut_err_entry(h, 0);
    ck_assert_uint_eq(first.code, KESTREL_ERR_BAD_REG_WRITE);
    /* writing the log itself is a bad write too, and does not change
     * entry 0 */
    kh_write(h, KESTREL_REG_ERR_LOG + KESTREL_ERR_ENTRY_INFO, 0x1234);
    ck_assert_uint_eq(ut_err_entry(h, 0).info, 0x55);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 2);
    ck_assert_uint_eq(ut_err_entry(h, 1).addr,
                      KESTREL_REG_ERR_LOG + KESTREL_ERR_ENTRY_INFO);
}
END_TEST

START_TEST(test_intr_status_w1c)
{
    struct kestrel_cqe e;

    ut_enable(h, 4, 4);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_STATUS), 0);
    kh_submit(h, &(struct kestrel_sqe){ .opcode = KESTREL_OP_FLUSH });
    ck_assert(kh_reap(h, &e));
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 1);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_ERROR], 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_STATUS), KESTREL_INTR_CQ);
    ck_assert(h->intx);
    /* writing 0s or other bits leaves the cause */
    kh_write(h, KESTREL_REG_INTR_STATUS, 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_STATUS), KESTREL_INTR_CQ);
    kh_write(h, KESTREL_REG_INTR_STATUS, KESTREL_INTR_ERROR);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_STATUS), KESTREL_INTR_CQ);
    ck_assert(h->intx);
    kh_write(h, KESTREL_REG_INTR_STATUS, KESTREL_INTR_CQ);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_STATUS), 0);
    ck_assert(!h->intx);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 0);
    /* a second completion sets it again */
    kh_submit(h, &(struct kestrel_sqe){ .opcode = KESTREL_OP_FLUSH });
    ck_assert(kh_reap(h, &e));
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_STATUS), KESTREL_INTR_CQ);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 2);
    ck_assert_uint_eq(h->intx_rises, 2);
}
END_TEST

START_TEST(test_intr_mask)
{
    struct kestrel_cqe e;
    unsigned long ge;

    ut_enable(h, 4, 4);
    kh_write(h, KESTREL_REG_INTR_MASK, KESTREL_INTR_CQ);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_MASK), KESTREL_INTR_CQ);
    kh_submit(h, &(struct kestrel_sqe){ .opcode = KESTREL_OP_FLUSH,
                                        .tag = 9 });
    /* the completion is there, the interrupt is not */
    ck_assert(kh_reap(h, &e));
    ck_assert_uint_eq(e.tag, 9);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    ck_assert_uint_eq(h->intx_rises, 0);
    ck_assert(!h->intx);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_STATUS), KESTREL_INTR_CQ);
    /* masking the other cause does not deliver it */
    kh_write(h, KESTREL_REG_INTR_MASK, KESTREL_INTR_ALL);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    kh_write(h, KESTREL_REG_INTR_MASK, KESTREL_INTR_CQ);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    /* unmask: the pending cause fires now */
    kh_write(h, KESTREL_REG_INTR_MASK, 0);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 1);
    ck_assert(h->intx);
    /* masking again lowers INTx without clearing the status */
    kh_write(h, KESTREL_REG_INTR_MASK, KESTREL_INTR_CQ);
    ck_assert(!h->intx);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_STATUS), KESTREL_INTR_CQ);
    /* reserved mask bits: guest error, ignored */
    ge = kestrel_guest_errors;
    kh_write(h, KESTREL_REG_INTR_MASK, 0xf0u | KESTREL_INTR_ERROR);
    ck_assert_uint_eq(kestrel_guest_errors, ge + 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_MASK), KESTREL_INTR_ERROR);
    ck_assert_uint_eq(ut_err_newest(h).code, KESTREL_ERR_BAD_REG_WRITE);
    ck_assert_uint_eq(ut_err_newest(h).addr, KESTREL_REG_INTR_MASK);
}
END_TEST

START_TEST(test_queue_regs_locked)
{
    static const uint32_t qregs[] = {
        KESTREL_REG_SQ_BASE_LO, KESTREL_REG_SQ_BASE_HI, KESTREL_REG_SQ_SIZE,
        KESTREL_REG_CQ_BASE_LO, KESTREL_REG_CQ_BASE_HI, KESTREL_REG_CQ_SIZE,
    };
    unsigned i;

    ut_enable(h, 8, 16);
    for (i = 0; i < 6; i++) {
        uint32_t before = kh_read(h, qregs[i]);
        unsigned long ge = kestrel_guest_errors;
        UtErr e;

        kh_write(h, qregs[i], 0x3000);
        ck_assert_uint_eq(kh_read(h, qregs[i]), before);
        ck_assert_uint_eq(kestrel_guest_errors, ge + 1);
        e = ut_err_newest(h);
        ck_assert_uint_eq(e.code, KESTREL_ERR_BAD_REG_WRITE);
        ck_assert_uint_eq(e.addr, qregs[i]);
        ck_assert_uint_eq(e.info, 0x3000);
    }
    ck_assert_uint_eq(h->core.sq_base, KH_SQ_BASE);
    ck_assert_uint_eq(h->core.cq_base, KH_CQ_BASE);
    ck_assert_uint_eq(h->core.sq_size, 8);
    ck_assert_uint_eq(h->core.cq_size, 16);
    /* still running fine */
    ut_expect(h, ut_flush(3), KESTREL_SC_SUCCESS);
    /* once disabled they are writable again */
    kh_write(h, KESTREL_REG_CTRL, 0);
    kh_write(h, KESTREL_REG_SQ_SIZE, 32);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_SIZE), 32);
}
END_TEST

START_TEST(test_base_halves)
{
    kh_write(h, KESTREL_REG_SQ_BASE_LO, 0x12345000);
    kh_write(h, KESTREL_REG_SQ_BASE_HI, 0xabcdef01);
    kh_write(h, KESTREL_REG_CQ_BASE_HI, 0x00000007);
    kh_write(h, KESTREL_REG_CQ_BASE_LO, 0xfffff000);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_BASE_LO), 0x12345000);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_BASE_HI), 0xabcdef01);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_BASE_LO), 0xfffff000);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_BASE_HI), 0x7);
    ck_assert_uint_eq(h->core.sq_base, 0xabcdef0112345000ull);
    ck_assert_uint_eq(h->core.cq_base, 0x7fffff000ull);
    /* each half changes alone */
    kh_write(h, KESTREL_REG_SQ_BASE_LO, 0x1000);
    ck_assert_uint_eq(h->core.sq_base, 0xabcdef0100001000ull);
    kh_write(h, KESTREL_REG_SQ_BASE_HI, 0);
    ck_assert_uint_eq(h->core.sq_base, 0x1000ull);
    kh_write(h, KESTREL_REG_CQ_BASE_HI, 0x80000000u);
    ck_assert_uint_eq(h->core.cq_base, 0x80000000fffff000ull);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 0);
}
END_TEST

START_TEST(test_reset_needs_magic)
{
    unsigned long ge;
    UtErr e;

    ut_enable(h, 4, 4);
    ge = kestrel_guest_errors;
    kh_write(h, KESTREL_REG_RESET, 0);
    kh_write(h, KESTREL_REG_RESET, KESTREL_RESET_MAGIC + 1);
    ck_assert_uint_eq(kestrel_guest_errors, ge + 2);
    e = ut_err_newest(h);
    ck_assert_uint_eq(e.code, KESTREL_ERR_BAD_REG_WRITE);
    ck_assert_uint_eq(e.addr, KESTREL_REG_RESET);
    ck_assert_uint_eq(e.info, KESTREL_RESET_MAGIC + 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CTRL), KESTREL_CTRL_EN);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_SIZE), 4);
    kh_write(h, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    check_reset_state();
    ck_assert_uint_eq(kestrel_guest_errors, ge + 2);
}
END_TEST

START_TEST(test_ready_handshake)
{
    int64_t ready_ns = (int64_t)h->core.cfg.ready_delay_us * UT_US;
    unsigned long ge;

    ck_assert_int_gt(ready_ns, 1);
    set_queues(KH_SQ_BASE, 4, KH_CQ_BASE, 4);
    kh_write(h, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CTRL), KESTREL_CTRL_EN);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0);
    kh_advance(h, ready_ns - 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0);
    /* writing EN again changes nothing */
    ge = kestrel_guest_errors;
    kh_write(h, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
    ck_assert_uint_eq(kestrel_guest_errors, ge);
    kh_advance(h, 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
    kh_advance(h, 10 * UT_MS);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
    ck_assert_uint_eq(h->irqs[0] + h->irqs[1], 0);
}
END_TEST

START_TEST(test_ctrl_reserved_bits)
{
    unsigned long ge = kestrel_guest_errors;

    set_queues(KH_SQ_BASE, 4, KH_CQ_BASE, 4);
    kh_write(h, KESTREL_REG_CTRL, 0x80000000u | KESTREL_CTRL_EN);
    ck_assert_uint_eq(kestrel_guest_errors, ge + 1);
    ck_assert_uint_eq(ut_err_newest(h).addr, KESTREL_REG_CTRL);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CTRL), KESTREL_CTRL_EN);
    kh_advance(h, (int64_t)h->core.cfg.ready_delay_us * UT_US);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
}
END_TEST

START_TEST(test_bad_queue_config)
{
    static const struct {
        uint64_t sq_base;
        uint32_t sq_size;
        uint64_t cq_base;
        uint32_t cq_size;
    } bad[] = {
        { KH_SQ_BASE, 1, KH_CQ_BASE, 4 },
        { KH_SQ_BASE, 4, KH_CQ_BASE, 1 },
        { KH_SQ_BASE, 0, KH_CQ_BASE, 4 },
        { KH_SQ_BASE, 65, KH_CQ_BASE, 4 },      /* > CAP_QDEPTH (64) */
        { KH_SQ_BASE, 4, KH_CQ_BASE, 65 },
        { KH_SQ_BASE, 4, KH_CQ_BASE, 0xffffffffu },
        { KH_SQ_BASE + 0x800, 4, KH_CQ_BASE, 4 },
        { KH_SQ_BASE, 4, KH_CQ_BASE + 16, 4 },
        { 0, 4, KH_CQ_BASE, 4 },
        { KH_SQ_BASE, 4, 0, 4 },
        { 0x100000000ull + 8, 4, KH_CQ_BASE, 4 },
    };
    unsigned i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned long ge;
        UtErr e;

        kh_free(h);
        h = ut_host();
        ge = kestrel_guest_errors;
        set_queues(bad[i].sq_base, bad[i].sq_size, bad[i].cq_base,
                   bad[i].cq_size);
        kh_write(h, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
        kh_advance(h, 10 * UT_MS);
        ck_assert_msg(kh_read(h, KESTREL_REG_STATUS) == KESTREL_STATUS_FATAL,
                      "case %u: STATUS 0x%x", i,
                      kh_read(h, KESTREL_REG_STATUS));
        ck_assert_uint_eq(kestrel_guest_errors, ge + 1);
        ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 1);
        e = ut_err_newest(h);
        ck_assert_uint_eq(e.code, KESTREL_ERR_BAD_QUEUE_CONFIG);
        ck_assert_uint_eq(e.addr, bad[i].sq_base);
        ck_assert_uint_eq(e.info, (bad[i].sq_size & 0xffff) |
                                  (bad[i].cq_size << 16));
        ck_assert_uint_eq(h->irqs[KESTREL_VEC_ERROR], 1);
        ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
        ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_STATUS),
                          KESTREL_INTR_ERROR);
        ck_assert(h->intx);
        /* EN 1->0 recovers, a good configuration then works */
        kh_write(h, KESTREL_REG_CTRL, 0);
        ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0);
        ck_assert(!h->intx);
        ut_enable(h, 4, 4);
        ut_expect(h, ut_flush(1), KESTREL_SC_SUCCESS);
    }
}
END_TEST

/*
 * A ring that would run past 2^64 (issue 13): its entries' addresses would
 * wrap to low memory.  Enable refuses it as a bad queue configuration.
 * The last ring that fits, ending exactly at 2^64, is fine.
 */
START_TEST(test_ring_base_wraps)
{
    KestrelConfig cfg = kh_default_config();
    static const struct {
        uint64_t sq_base, cq_base;
        bool ok;
    } cases[] = {
        { 0xfffffffffffff000ull, KH_CQ_BASE, false },   /* 64 KiB SQ */
        { KH_SQ_BASE, 0xfffffffffffff000ull, false },   /* 16 KiB CQ */
        { 0xffffffffffff0000ull, 0xffffffffffffc000ull, true },
    };
    unsigned i;

    cfg.queue_depth = 1024;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        UtErr e;

        replace_host(&cfg);
        set_queues(cases[i].sq_base, 1024, cases[i].cq_base, 1024);
        kh_write(h, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
        kh_advance(h, 10 * UT_MS);
        if (cases[i].ok) {
            ck_assert_msg(kh_read(h, KESTREL_REG_STATUS) ==
                          KESTREL_STATUS_RDY, "case %u: STATUS 0x%x", i,
                          kh_read(h, KESTREL_REG_STATUS));
            continue;
        }
        ck_assert_msg(kh_read(h, KESTREL_REG_STATUS) == KESTREL_STATUS_FATAL,
                      "case %u: a ring past 2^64 enabled (STATUS 0x%x)", i,
                      kh_read(h, KESTREL_REG_STATUS));
        e = ut_err_newest(h);
        ck_assert_uint_eq(e.code, KESTREL_ERR_BAD_QUEUE_CONFIG);
    }
}
END_TEST

START_TEST(test_queue_config_limits_ok)
{
    /* the boundaries themselves are valid */
    ut_enable(h, 2, 64);
    ut_expect(h, ut_flush(1), KESTREL_SC_SUCCESS);
    kh_write(h, KESTREL_REG_CTRL, 0);
    ut_enable(h, 64, 2);
    ut_expect(h, ut_flush(2), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 0);
}
END_TEST

static void dirty_controller(void)
{
    struct kestrel_cqe e;

    ut_enable(h, 4, 8);
    kh_write(h, KESTREL_REG_INTR_MASK, KESTREL_INTR_ERROR);
    kh_submit(h, &(struct kestrel_sqe){ .opcode = KESTREL_OP_FLUSH });
    ck_assert(kh_reap(h, &e));
    kh_submit(h, &(struct kestrel_sqe){ .opcode = KESTREL_OP_FLUSH });
    kh_write(h, KESTREL_REG_VERSION, 0x77);     /* one logged error */
    ck_assert_uint_ne(kh_read(h, KESTREL_REG_SQ_HEAD), 0);
    ck_assert_uint_ne(kh_read(h, KESTREL_REG_CQ_TAIL), 0);
    ck_assert_uint_ne(kh_read(h, KESTREL_REG_INTR_STATUS), 0);
    ck_assert(h->intx);
}

START_TEST(test_disable_resets)
{
    UtErr before;

    dirty_controller();
    before = ut_err_newest(h);
    kh_write(h, KESTREL_REG_CTRL, 0);
    check_reset_state();
    ck_assert(!h->intx);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 1);
    ck_assert_uint_eq(ut_err_newest(h).code, before.code);
    ck_assert_uint_eq(ut_err_newest(h).info, 0x77);
    ck_assert_uint_eq(h->core.cq_head, 0);
    ck_assert_uint_eq(h->core.sq_tail, 0);
    /* the controller works again from scratch */
    memset(h->ram + KH_CQ_BASE, 0, 4096);
    ut_enable(h, 4, 4);
    ut_expect(h, ut_flush(5), KESTREL_SC_SUCCESS);
}
END_TEST

START_TEST(test_reset_register_resets)
{
    dirty_controller();
    kh_write(h, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    check_reset_state();
    ck_assert(!h->intx);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 1);
    ck_assert_uint_eq(ut_err_newest(h).info, 0x77);
    memset(h->ram + KH_CQ_BASE, 0, 4096);
    ut_enable(h, 4, 4);
    ut_expect(h, ut_flush(5), KESTREL_SC_SUCCESS);
}
END_TEST

START_TEST(test_reset_delay)
{
    KestrelConfig cfg = kh_default_config();
    unsigned long ge;

    cfg.reset_delay_us = 50;
    replace_host(&cfg);
    ut_enable(h, 4, 4);
    kh_write(h, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS),
                      KESTREL_STATUS_RESETTING);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CTRL), 0);
    /* CTRL is refused while resetting */
    ge = kestrel_guest_errors;
    kh_write(h, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
    ck_assert_uint_eq(kestrel_guest_errors, ge + 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CTRL), 0);
    kh_advance(h, 50 * UT_US - 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS),
                      KESTREL_STATUS_RESETTING);
    kh_advance(h, 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0);
    /* EN 1->0 takes the same time */
    ut_enable(h, 4, 4);
    kh_write(h, KESTREL_REG_CTRL, 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS),
                      KESTREL_STATUS_RESETTING);
    kh_advance(h, 50 * UT_US);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0);
    ut_enable(h, 4, 4);
    ut_expect(h, ut_flush(1), KESTREL_SC_SUCCESS);
}
END_TEST

START_TEST(test_d3hot)
{
    uint32_t reg;
    unsigned long ge;

    ut_enable(h, 4, 4);
    kh_submit(h, &(struct kestrel_sqe){ .opcode = KESTREL_OP_FLUSH });
    ck_assert(h->intx);
    kestrel_core_set_power(&h->core, 3);
    ck_assert(!h->intx);
    for (reg = 0; reg < 0x200; reg += 4) {
        ck_assert_msg(kh_read(h, reg) == 0xffffffffu,
                      "reg 0x%x = 0x%x in D3hot", reg, kh_read(h, reg));
    }
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_LOG), 0xffffffffu);
    ge = kestrel_guest_errors;
    kh_write(h, KESTREL_REG_SQ_SIZE, 8);
    kh_write(h, KESTREL_REG_SQ_BASE_LO, 0x5000);
    kh_write(h, KESTREL_REG_INTR_MASK, KESTREL_INTR_ALL);
    kh_write(h, KESTREL_REG_VERSION, 1);        /* not even an error */
    ck_assert_uint_eq(kestrel_guest_errors, ge);
    kh_advance(h, 10 * UT_MS);
    ck_assert_uint_eq(h->irqs[0], 1);
    kestrel_core_set_power(&h->core, 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    check_reset_state();
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 0);
    memset(h->ram + KH_CQ_BASE, 0, 4096);
    ut_enable(h, 4, 4);
    ut_expect(h, ut_flush(4), KESTREL_SC_SUCCESS);
}
END_TEST

START_TEST(test_d1_is_d3)
{
    ut_enable(h, 4, 4);
    kestrel_core_set_power(&h->core, 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_VERSION), 0xffffffffu);
    kestrel_core_set_power(&h->core, 0);
    check_reset_state();
}
END_TEST

START_TEST(test_err_log_wraps)
{
    unsigned i;

    for (i = 0; i < 10; i++) {
        kh_write(h, KESTREL_REG_VERSION, 100 + i);
    }
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 10);
    /* newest at (10 - 1) % 8 = 1, the oldest kept at 2 */
    ck_assert_uint_eq(ut_err_newest(h).info, 109);
    ck_assert_uint_eq(ut_err_entry(h, 1).info, 109);
    ck_assert_uint_eq(ut_err_entry(h, 0).info, 108);
    for (i = 2; i < 8; i++) {
        ck_assert_uint_eq(ut_err_entry(h, i).info, 100 + i);
        ck_assert_uint_eq(ut_err_entry(h, i).code, KESTREL_ERR_BAD_REG_WRITE);
    }
    /* a controller reset keeps the log */
    ut_enable(h, 4, 4);
    kh_write(h, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 10);
    ck_assert_uint_eq(ut_err_newest(h).info, 109);
    /* a hard (power-on) reset clears it */
    kestrel_core_hard_reset(&h->core);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 0);
    ck_assert_uint_eq(ut_err_entry(h, 1).info, 0);
}
END_TEST

Suite *regs_suite(void)
{
    Suite *s = suite_create("regs");
    TCase *tc = tcase_create("regs");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_reset_values_default);
    tcase_add_test(tc, test_reset_values_config);
    tcase_add_test(tc, test_bad_config_rejected);
    tcase_add_test(tc, test_ro_registers);
    tcase_add_test(tc, test_err_log_ro);
    tcase_add_test(tc, test_intr_status_w1c);
    tcase_add_test(tc, test_intr_mask);
    tcase_add_test(tc, test_queue_regs_locked);
    tcase_add_test(tc, test_base_halves);
    tcase_add_test(tc, test_reset_needs_magic);
    tcase_add_test(tc, test_ready_handshake);
    tcase_add_test(tc, test_ctrl_reserved_bits);
    tcase_add_test(tc, test_bad_queue_config);
    tcase_add_test(tc, test_ring_base_wraps);
    tcase_add_test(tc, test_queue_config_limits_ok);
    tcase_add_test(tc, test_disable_resets);
    tcase_add_test(tc, test_reset_register_resets);
    tcase_add_test(tc, test_reset_delay);
    tcase_add_test(tc, test_d3hot);
    tcase_add_test(tc, test_d1_is_d3);
    tcase_add_test(tc, test_err_log_wraps);
    suite_add_tcase(s, tc);
    return s;
}
