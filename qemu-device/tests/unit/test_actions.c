/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kestrel fault actions: what every action does at each point, checked
 * through its observable effect and the rule's counters, plus triggers
 * in context and determinism.
 */
#include "unit.h"

static KestrelHost *h;

static void setup(void)
{
    h = ut_host();
    ut_enable(h, 16, 16);
}

static void teardown(void)
{
    kh_free(h);
    h = NULL;
}

static void ctrl_reset_and_enable(uint32_t sq, uint32_t cq)
{
    kh_write(h, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    memset(h->ram + KH_CQ_BASE, 0, 4096);
    ut_enable(h, sq, cq);
}

static void submit_flush(uint16_t tag)
{
    struct kestrel_sqe s = ut_flush(tag);

    kh_submit(h, &s);
}

static struct kestrel_cqe reap(void)
{
    struct kestrel_cqe e;

    ck_assert_msg(kh_reap(h, &e), "no completion");
    return e;
}

static void no_completion(void)
{
    struct kestrel_cqe e;

    ck_assert_msg(!kh_reap(h, &e), "unexpected completion, tag %u", e.tag);
}

/* ---- cq.post ---------------------------------------------------------- */

START_TEST(test_cq_drop)
{
    struct kestrel_cqe e;

    ut_faults(h, "cq.post:drop:once");
    submit_flush(1);
    no_completion();
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 0);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    ck_assert_uint_eq(h->core.npending, 0);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    /* the next completion takes the slot the dropped one did not */
    submit_flush(2);
    e = reap();
    ck_assert_uint_eq(e.tag, 2);
    ck_assert_uint_eq(e.sq_head, 2);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 1);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    ck_assert_uint_eq(h->core.faults.rules[0].hits, 2);
}
END_TEST

START_TEST(test_cq_delay)
{
    ut_faults(h, "cq.post:delay(10us)");
    submit_flush(1);
    no_completion();
    kh_advance(h, 10 * UT_US - 1);
    no_completion();
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    kh_advance(h, 1);
    ck_assert_uint_eq(reap().tag, 1);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 1);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

START_TEST(test_cq_delay_into_full_cq)
{
    unsigned i;

    /* delayed completions that fall due while the CQ is full wait for the
     * host, without the device spinning on its timer */
    ut_reenable(h, 8, 4);
    ut_faults(h, "cq.post:delay(10us)");
    for (i = 0; i < 5; i++) {
        submit_flush((uint16_t)(i + 1));
    }
    kh_advance(h, 10 * UT_US);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 3);
    ck_assert_uint_eq(h->core.npending, 2);
    kh_advance(h, 1 * UT_MS);
    ck_assert_uint_eq(h->timer_deadline, KESTREL_NO_DEADLINE);
    for (i = 0; i < 5; i++) {
        ck_assert_uint_eq(reap().tag, i + 1);
    }
    no_completion();
    ck_assert_uint_eq(ut_fired(h, 0), 5);
}
END_TEST

START_TEST(test_cq_stall)
{
    ut_faults(h, "cq.post:stall:once");
    submit_flush(1);
    submit_flush(2);
    kh_advance(h, 10 * UT_MS);
    no_completion();
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 2);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 0);
    ck_assert_uint_eq(h->core.npending, 2);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    /* the CQ head doorbell does not unstick it either */
    kh_write(h, KESTREL_REG_CQ_HEAD_DB, 0);
    no_completion();
    /* a controller reset does: the stalled completions are gone */
    ctrl_reset_and_enable(16, 16);
    submit_flush(3);
    ck_assert_uint_eq(reap().tag, 3);
    no_completion();
}
END_TEST

START_TEST(test_cq_corrupt_tag)
{
    struct kestrel_cqe e;

    ut_faults(h, "cq.post:corrupt(tag=0xffff)");
    submit_flush(5);
    e = reap();
    ck_assert_uint_eq(e.tag, 0xffff);
    ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(e.sq_head, 1);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

START_TEST(test_cq_corrupt_phase)
{
    struct kestrel_cqe raw;

    ut_faults(h, "cq.post:corrupt(phase):once");
    submit_flush(5);
    raw = ut_cq_entry(h, 0);
    ck_assert_uint_eq(raw.tag, 5);
    ck_assert_uint_eq(raw.status & KESTREL_CQE_PHASE, 0);
    ck_assert_uint_eq(KESTREL_CQE_STATUS(raw.status), KESTREL_SC_SUCCESS);
    /* posted (tail moved, interrupt sent) but invisible to the host */
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 1);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 1);
    no_completion();
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    submit_flush(6);
    raw = ut_cq_entry(h, 1);
    ck_assert_uint_eq(raw.tag, 6);
    ck_assert_uint_eq(raw.status & KESTREL_CQE_PHASE, 1);
}
END_TEST

START_TEST(test_cq_corrupt_status)
{
    struct kestrel_cqe e;

    ut_faults(h, "cq.post:corrupt(status=0x3)");
    submit_flush(1);
    e = reap();
    ck_assert_uint_eq(e.tag, 1);
    ck_assert_uint_eq(ut_status(&e), KESTREL_SC_LBA_RANGE);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    /* without a value: every bit inverted, the phase left alone */
    ut_faults(h, "cq.post:corrupt(status)");
    submit_flush(2);
    e = reap();
    ck_assert_uint_eq(ut_status(&e), 0x7fff);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

START_TEST(test_cq_corrupt_sqhead_result)
{
    struct kestrel_cqe e;
    struct kestrel_sqe s;

    ut_faults(h, "cq.post:corrupt(sqhead=0x1234)");
    submit_flush(1);
    e = reap();
    ck_assert_uint_eq(e.sq_head, 0x1234);
    ck_assert_uint_eq(e.tag, 1);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    /* several fields at once; the status stays */
    ut_faults(h, "cq.post:corrupt(result=7,tag=9)");
    s = ut_rw(h, KESTREL_OP_WRITE, 2, 0, 1);
    s.opcode = 0x66;
    kh_submit(h, &s);
    e = reap();
    ck_assert_uint_eq(e.tag, 9);
    ck_assert_uint_eq(le32_to_cpu(e.result), 7);
    ck_assert_uint_eq(ut_status(&e), KESTREL_SC_INVALID_OPCODE);
    ck_assert_uint_eq(e.sq_head, 2);
}
END_TEST

START_TEST(test_cq_duplicate)
{
    struct kestrel_cqe a, b;

    ut_faults(h, "cq.post:duplicate:once");
    submit_flush(8);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 2);
    a = reap();
    b = reap();
    no_completion();
    ck_assert_uint_eq(a.tag, 8);
    ck_assert_uint_eq(a.sq_head, 1);
    ck_assert_uint_eq(ut_status(&a), KESTREL_SC_SUCCESS);
    ck_assert_mem_eq(&a, &b, sizeof(a));
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    /* once: the next command completes once */
    submit_flush(9);
    ck_assert_uint_eq(reap().tag, 9);
    no_completion();
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 3);
}
END_TEST

START_TEST(test_cq_duplicate_write)
{
    struct kestrel_cqe a, b;
    struct kestrel_sqe s;

    ut_faults(h, "cq.post:duplicate");
    memset(h->ram + ut_buf(9), 0x42, 512);
    s = ut_rw(h, KESTREL_OP_WRITE, 9, 4, 1);
    kh_submit(h, &s);
    a = reap();
    b = reap();
    no_completion();
    ck_assert_uint_eq(a.tag, 9);
    ck_assert_uint_eq(ut_status(&a), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(le32_to_cpu(a.result), 512);
    ck_assert_mem_eq(&a, &b, sizeof(a));
    ck_assert_uint_eq(h->disk[4 * 512], 0x42);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

START_TEST(test_cq_flip)
{
    uint64_t seed;

    for (seed = 1; seed <= 16; seed++) {
        char rule[64];
        struct kestrel_cqe want = {
            .tag = 0x21, .sq_head = 1, .status = 1, .result = 0,
        };
        struct kestrel_cqe raw;

        kh_free(h);
        h = ut_host();
        ut_enable(h, 4, 4);
        snprintf(rule, sizeof(rule), "cq.post:flip:seed=%" PRIu64, seed);
        ut_faults(h, rule);
        submit_flush(0x21);
        raw = ut_cq_entry(h, 0);
        ck_assert_msg(ut_popcount_diff(&raw, &want, sizeof(raw)) == 1,
                      "seed %" PRIu64 ": %u bits differ", seed,
                      ut_popcount_diff(&raw, &want, sizeof(raw)));
        ck_assert_uint_eq(ut_fired(h, 0), 1);
        ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 1);
    }
}
END_TEST

/*
 * cq.post:corrupt(addr=V): the entry goes to V, not its slot; the tail
 * moves on and the interrupt is sent, so the driver sees nothing in the
 * slot it reads next.  Unreachable V fails the DMA: fatal CQ_POST with V.
 */
START_TEST(test_cq_corrupt_addr)
{
    struct kestrel_cqe raw;
    UtErr err;

    ut_faults(h, "cq.post:corrupt(addr=0x30000):once");
    submit_flush(4);
    memcpy(&raw, h->ram + 0x30000, sizeof(raw));
    ck_assert_uint_eq(raw.tag, 4);
    ck_assert_uint_eq(raw.status & KESTREL_CQE_PHASE, 1);
    ck_assert(ut_ram_is_zero(h, KH_CQ_BASE, 16 * 16));
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 1);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 1);
    no_completion();
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    /* the next one lands in its own slot (1) */
    submit_flush(5);
    raw = ut_cq_entry(h, 1);
    ck_assert_uint_eq(raw.tag, 5);

    ut_faults(h, "cq.post:corrupt(addr=0xfff00000000):once");
    submit_flush(6);
    ck_assert(kh_read(h, KESTREL_REG_STATUS) & KESTREL_STATUS_FATAL);
    err = ut_err_newest(h);
    ck_assert_uint_eq(err.code, KESTREL_ERR_CQ_POST);
    ck_assert_uint_eq(err.tag, 6);
    ck_assert_uint_eq(err.addr, 0xfff00000000ull);
    ck_assert_uint_ge(h->dma_refused, 1);
}
END_TEST

START_TEST(test_cq_dma_error)
{
    UtErr err;

    ut_faults(h, "cq.post:dma_error");
    submit_flush(3);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS),
                      KESTREL_STATUS_RDY | KESTREL_STATUS_FATAL);
    err = ut_err_newest(h);
    ck_assert_uint_eq(err.code, KESTREL_ERR_CQ_POST);
    ck_assert_uint_eq(err.tag, 3);
    ck_assert_uint_eq(err.addr, KH_CQ_BASE);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_ERROR], 1);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    ck_assert(ut_ram_is_zero(h, KH_CQ_BASE, 16 * 16));
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 0);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

START_TEST(test_cq_op_filter)
{
    struct kestrel_sqe s;

    ut_faults(h, "cq.post[op=write]:drop");
    submit_flush(1);
    ck_assert_uint_eq(reap().tag, 1);
    s = ut_rw(h, KESTREL_OP_WRITE, 2, 0, 1);
    kh_submit(h, &s);
    no_completion();
    s = ut_rw(h, KESTREL_OP_READ, 3, 0, 1);
    kh_submit(h, &s);
    ck_assert_uint_eq(reap().tag, 3);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    ck_assert_uint_eq(h->core.faults.rules[0].hits, 1);
}
END_TEST

/* ---- sq.fetch --------------------------------------------------------- */

START_TEST(test_sq_drop)
{
    struct kestrel_cqe e;

    ut_faults(h, "sq.fetch:drop:once");
    submit_flush(1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 1);
    no_completion();
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    submit_flush(2);
    e = reap();
    ck_assert_uint_eq(e.tag, 2);
    ck_assert_uint_eq(e.sq_head, 2);
    no_completion();
}
END_TEST

START_TEST(test_sq_delay)
{
    struct kestrel_cqe e;

    ut_faults(h, "sq.fetch:delay(10us)");
    submit_flush(1);
    submit_flush(2);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 0);
    kh_advance(h, 10 * UT_US - 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 0);
    no_completion();
    kh_advance(h, 1);
    /* the first entry is fetched, the second waits its own delay */
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 1);
    e = reap();
    ck_assert_uint_eq(e.tag, 1);
    no_completion();
    kh_advance(h, 10 * UT_US - 1);
    no_completion();
    kh_advance(h, 1);
    ck_assert_uint_eq(reap().tag, 2);
    ck_assert_uint_eq(ut_fired(h, 0), 2);
}
END_TEST

START_TEST(test_sq_delay_keeps_other_rules)
{
    /* Regression: a delay used to lose the other rules of the same fetch */
    ut_faults(h, "sq.fetch:delay(10us):once;sq.fetch:drop:once");
    submit_flush(1);
    kh_advance(h, 10 * UT_US);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 1);
    no_completion();            /* dropped after its delay */
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    ck_assert_uint_eq(ut_fired(h, 1), 1);
    submit_flush(2);
    ck_assert_uint_eq(reap().tag, 2);
}
END_TEST

START_TEST(test_sq_stall)
{
    ut_faults(h, "sq.fetch:stall:once");
    submit_flush(1);
    submit_flush(2);
    kh_advance(h, 10 * UT_MS);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 0);
    no_completion();
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    /* more doorbells do not help */
    submit_flush(3);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 0);
    ctrl_reset_and_enable(16, 16);
    submit_flush(4);
    ck_assert_uint_eq(reap().tag, 4);
}
END_TEST

START_TEST(test_sq_corrupt)
{
    struct kestrel_sqe s;
    struct kestrel_cqe e;

    memset(h->ram + ut_buf(1), 0x31, 512);
    ut_faults(h, "sq.fetch:corrupt(opcode=0x7f)");
    s = ut_rw(h, KESTREL_OP_WRITE, 1, 0, 1);
    kh_submit(h, &s);
    e = reap();
    ck_assert_uint_eq(e.tag, 1);
    ck_assert_uint_eq(ut_status(&e), KESTREL_SC_INVALID_OPCODE);
    ck_assert_uint_eq(h->disk[0], 0);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    /* the guest's SQ entry is not modified */
    ck_assert_uint_eq(h->ram[KH_SQ_BASE], KESTREL_OP_WRITE);

    ut_faults(h, "sq.fetch:corrupt(lba=0x800,tag=0x77)");
    kh_submit(h, &s);
    e = reap();
    ck_assert_uint_eq(e.tag, 0x77);
    ck_assert_uint_eq(ut_status(&e), KESTREL_SC_LBA_RANGE);
}
END_TEST

START_TEST(test_sq_flip)
{
    uint64_t seed;

    /* any single flipped bit of a WRITE is visible somewhere */
    for (seed = 1; seed <= 24; seed++) {
        char rule[64];
        uint8_t pat[512];
        struct kestrel_sqe s;
        struct kestrel_cqe e;

        kh_free(h);
        h = ut_host();
        ut_enable(h, 4, 4);
        snprintf(rule, sizeof(rule), "sq.fetch:flip:seed=%" PRIu64, seed);
        ut_faults(h, rule);
        ut_fill(pat, sizeof(pat), 0x80);
        memcpy(h->ram + ut_buf(0x100), pat, sizeof(pat));
        s = ut_rw(h, KESTREL_OP_WRITE, 0x100, 1, 1);
        kh_submit(h, &s);
        ck_assert_msg(kh_reap(h, &e), "seed %" PRIu64 ": no completion",
                      seed);
        ck_assert_uint_eq(ut_fired(h, 0), 1);
        ck_assert_msg(ut_status(&e) != KESTREL_SC_SUCCESS ||
                      e.tag != 0x100 ||
                      memcmp(h->disk + 512, pat, sizeof(pat)) != 0,
                      "seed %" PRIu64 ": flip had no effect", seed);
    }
}
END_TEST

START_TEST(test_sq_dma_error)
{
    UtErr err;

    ut_faults(h, "sq.fetch:dma_error");
    submit_flush(1);
    ck_assert(kh_read(h, KESTREL_REG_STATUS) & KESTREL_STATUS_FATAL);
    err = ut_err_newest(h);
    ck_assert_uint_eq(err.code, KESTREL_ERR_SQ_FETCH);
    ck_assert_uint_eq(err.info, 0);
    ck_assert_uint_eq(err.addr, KH_SQ_BASE);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_ERROR], 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 0);
    no_completion();
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

/* ---- sgl.fetch -------------------------------------------------------- */

START_TEST(test_sgl_corrupt)
{
    struct kestrel_sqe s;

    memset(h->ram + ut_buf(1), 0x31, 4096);
    ut_faults(h, "sgl.fetch:corrupt(len=0)");
    s = ut_rw(h, KESTREL_OP_WRITE, 1, 0, 1);
    ut_expect(h, s, KESTREL_SC_SGL_INVALID);
    ck_assert_uint_eq(h->disk[0], 0);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    /* the guest's list is not modified */
    ck_assert_uint_eq(le32_to_cpu(((struct kestrel_sg_desc *)
                                   (h->ram + ut_list(1)))->len), 512);

    /* a chosen descriptor */
    ut_faults(h, "sgl.fetch:corrupt(index=1,addr=0x80000000)");
    ut_desc(h, ut_list(2), ut_buf(1), 256, KESTREL_SG_DATA);
    ut_desc(h, ut_list(2) + 16, ut_buf(1) + 256, 256, KESTREL_SG_DATA);
    s = ut_sqe(KESTREL_OP_WRITE, 2);
    s.nblocks = 1;
    s.nsegs = 2;
    s.sgl_addr = ut_list(2);
    s.sgl_len = 32;
    ut_expect(h, s, KESTREL_SC_DATA_XFER_ERROR);
    ck_assert_uint_eq(ut_err_newest(h).addr, 0x80000000u);
}
END_TEST

START_TEST(test_sgl_drop)
{
    struct kestrel_sqe s;
    unsigned i;

    memset(h->ram + ut_buf(1), 0x31, 512);
    ut_faults(h, "sgl.fetch:drop:once");
    s = ut_rw(h, KESTREL_OP_WRITE, 1, 0, 1);
    kh_submit(h, &s);
    no_completion();
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 1);
    ck_assert_uint_eq(h->disk[0], 0);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    for (i = 0; i < KESTREL_MAX_QDEPTH; i++) {
        ck_assert_uint_eq(h->core.cmds[i].state, KESTREL_CMD_FREE);
    }
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(h->disk[0], 0x31);
}
END_TEST

START_TEST(test_sgl_dma_error)
{
    struct kestrel_sqe s;
    unsigned long refused = h->dma_refused;
    UtErr err;

    ut_faults(h, "sgl.fetch:dma_error");
    s = ut_rw(h, KESTREL_OP_WRITE, 4, 0, 1);
    ut_expect(h, s, KESTREL_SC_DATA_XFER_ERROR);
    err = ut_err_newest(h);
    ck_assert_uint_eq(err.code, KESTREL_ERR_DMA);
    ck_assert_uint_eq(err.tag, 4);
    ck_assert_uint_eq(err.addr, ut_list(4));
    ck_assert_uint_eq(err.info, 16);
    ck_assert_uint_eq(h->dma_refused, refused);  /* injected, not real */
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    ck_assert(!(kh_read(h, KESTREL_REG_STATUS) & KESTREL_STATUS_FATAL));
}
END_TEST

START_TEST(test_sgl_delay)
{
    struct kestrel_sqe s;

    memset(h->ram + ut_buf(1), 0x31, 512);
    ut_faults(h, "sgl.fetch:delay(5us)");
    s = ut_rw(h, KESTREL_OP_WRITE, 1, 0, 1);
    kh_submit(h, &s);
    no_completion();
    kh_advance(h, 5 * UT_US - 1);
    no_completion();
    kh_advance(h, 1);
    ck_assert_uint_eq(reap().tag, 1);
    ck_assert_uint_eq(h->disk[0], 0x31);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

/* ---- dma.read / dma.write -------------------------------------------- */

START_TEST(test_dma_read_corrupt)
{
    uint8_t pat[1024];
    struct kestrel_sqe s;

    ut_fill(pat, sizeof(pat), 0x11);
    memcpy(h->ram + ut_buf(1), pat, sizeof(pat));
    ut_faults(h, "dma.read:corrupt(offset=0,value=0xaa)");
    s = ut_rw(h, KESTREL_OP_WRITE, 1, 6, 2);
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(h->disk[6 * 512], 0xaa);
    ck_assert_mem_eq(h->disk + 6 * 512 + 1, pat + 1, sizeof(pat) - 1);
    ck_assert_mem_eq(h->ram + ut_buf(1), pat, sizeof(pat));
    ck_assert_uint_eq(ut_fired(h, 0), 1);

    ut_faults(h, "dma.read:corrupt(offset=700,value=0x5)");
    s = ut_rw(h, KESTREL_OP_WRITE, 1, 6, 2);
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(h->disk[6 * 512 + 700], 0x5);
    ck_assert_uint_eq(h->disk[6 * 512], pat[0]);
    /* READs do not pass through dma.read */
    s = ut_rw(h, KESTREL_OP_READ, 2, 6, 2);
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

START_TEST(test_dma_read_drop)
{
    struct kestrel_sqe s;

    memset(h->disk, 0x66, 512);
    memset(h->ram + ut_buf(1), 0x31, 512);
    ut_faults(h, "dma.read:drop");
    s = ut_rw(h, KESTREL_OP_WRITE, 1, 0, 1);
    /* the device claims success without moving the data */
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(h->disk[0], 0);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

START_TEST(test_dma_read_dma_error)
{
    struct kestrel_sqe s;

    memset(h->ram + ut_buf(1), 0x31, 512);
    ut_faults(h, "dma.read:dma_error");
    s = ut_rw(h, KESTREL_OP_WRITE, 1, 0, 1);
    ut_expect(h, s, KESTREL_SC_DATA_XFER_ERROR);
    ck_assert_uint_eq(h->disk[0], 0);
    ck_assert_uint_eq(ut_err_newest(h).code, KESTREL_ERR_DMA);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

START_TEST(test_dma_write_flip)
{
    struct kestrel_sqe s;
    struct kestrel_cqe e;

    ut_fill(h->disk + 8 * 512, 1024, 0x22);
    ut_faults(h, "dma.write:flip");
    s = ut_rw(h, KESTREL_OP_READ, 1, 8, 2);
    e = ut_exec(h, &s);
    ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(ut_popcount_diff(h->ram + ut_buf(1),
                                       h->disk + 8 * 512, 1024), 1);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    /* IDENTIFY data goes through dma.write too */
    {
        uint8_t clean[512];
        unsigned n;
        KestrelHost *y = ut_host();

        ut_enable(y, 4, 4);
        ut_desc(y, ut_list(2), ut_buf(2), 512, KESTREL_SG_DATA);
        ut_desc(h, ut_list(2), ut_buf(2), 512, KESTREL_SG_DATA);
        s = ut_sqe(KESTREL_OP_IDENTIFY, 2);
        s.nsegs = 1;
        s.sgl_addr = ut_list(2);
        s.sgl_len = 16;
        ut_expect(y, s, KESTREL_SC_SUCCESS);
        memcpy(clean, y->ram + ut_buf(2), sizeof(clean));
        kh_free(y);
        ut_faults(h, "dma.write:flip(bits=8)");
        ut_expect(h, s, KESTREL_SC_SUCCESS);
        ck_assert_uint_eq(ut_fired(h, 0), 1);
        n = ut_popcount_diff(h->ram + ut_buf(2), clean, sizeof(clean));
        ck_assert_uint_ge(n, 1);
        ck_assert_uint_le(n, 8);
    }
}
END_TEST

START_TEST(test_dma_write_dma_error)
{
    struct kestrel_sqe s;

    memset(h->disk, 0x66, 512);
    ut_faults(h, "dma.write:dma_error");
    s = ut_rw(h, KESTREL_OP_READ, 1, 0, 1);
    ut_expect(h, s, KESTREL_SC_DATA_XFER_ERROR);
    ck_assert(ut_ram_is_zero(h, ut_buf(1), 512));
    ck_assert_uint_eq(ut_err_newest(h).code, KESTREL_ERR_DMA);
    ck_assert_uint_eq(ut_err_newest(h).tag, 1);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    /* WRITEs do not pass through dma.write */
    s = ut_rw(h, KESTREL_OP_WRITE, 2, 0, 1);
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

START_TEST(test_dma_write_stall)
{
    struct kestrel_sqe s;

    memset(h->disk, 0x66, 512);
    ut_faults(h, "dma.write:stall:once");
    s = ut_rw(h, KESTREL_OP_READ, 1, 0, 1);
    kh_submit(h, &s);
    submit_flush(2);
    kh_advance(h, 10 * UT_MS);
    no_completion();
    ck_assert(ut_ram_is_zero(h, ut_buf(1), 512));
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 1);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    ctrl_reset_and_enable(16, 16);
    ut_expect(h, ut_rw(h, KESTREL_OP_READ, 3, 0, 1), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(h->ram[ut_buf(3)], 0x66);
}
END_TEST

/* ---- irq -------------------------------------------------------------- */

START_TEST(test_irq_drop)
{
    ut_faults(h, "irq:drop:once");
    submit_flush(1);
    ck_assert_uint_eq(reap().tag, 1);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    ck_assert(!h->intx);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    submit_flush(2);
    ck_assert_uint_eq(reap().tag, 2);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 1);
}
END_TEST

START_TEST(test_irq_delay)
{
    ut_faults(h, "irq:delay(10us):once");
    submit_flush(1);
    ck_assert_uint_eq(reap().tag, 1);       /* the entry is there at once */
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    ck_assert(!h->intx);
    kh_advance(h, 10 * UT_US - 1);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    kh_advance(h, 1);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 1);
    ck_assert(h->intx);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

START_TEST(test_irq_delay_respects_mask)
{
    /* A cause masked while its interrupt was delayed fires on unmask */
    ut_faults(h, "irq:delay(10us):once");
    submit_flush(1);
    ck_assert_uint_eq(reap().tag, 1);
    kh_write(h, KESTREL_REG_INTR_MASK, KESTREL_INTR_CQ);
    kh_advance(h, 20 * UT_US);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    ck_assert(!h->intx);
    kh_write(h, KESTREL_REG_INTR_MASK, 0);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 1);
    ck_assert(h->intx);
}
END_TEST

START_TEST(test_irq_stall)
{
    ut_faults(h, "irq:stall:once");
    submit_flush(1);
    submit_flush(2);
    kh_advance(h, 10 * UT_MS);
    ck_assert_uint_eq(reap().tag, 1);
    ck_assert_uint_eq(reap().tag, 2);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    ctrl_reset_and_enable(16, 16);
    submit_flush(3);
    ck_assert_uint_eq(reap().tag, 3);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 1);
}
END_TEST

START_TEST(test_irq_spurious)
{
    ut_faults(h, "irq:spurious:once");
    submit_flush(1);
    ck_assert_uint_eq(reap().tag, 1);
    no_completion();
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 2);
    ck_assert_uint_eq(ut_fired(h, 0), 1);

    /* an interrupt out of nothing */
    ut_faults(h, "reg.read[reg=VERSION]:spurious");
    kh_write(h, KESTREL_REG_INTR_STATUS, KESTREL_INTR_ALL);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 3);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_STATUS), 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 1);
    no_completion();
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

START_TEST(test_irq_storm)
{
    ut_faults(h, "irq:storm(count=50,interval=1us):once");
    submit_flush(1);
    ck_assert_uint_eq(reap().tag, 1);
    ck_assert_uint_lt(h->irqs[KESTREL_VEC_CQ], 51);
    kh_advance(h, 100 * UT_US);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 51);
    kh_advance(h, 10 * UT_MS);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 51);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_STATUS), KESTREL_INTR_CQ);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 1);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

START_TEST(test_storm_other_point)
{
    ut_faults(h, "reg.read[reg=VERSION]:storm(count=5,interval=2us):once");
    kh_read(h, KESTREL_REG_VERSION);
    kh_advance(h, 7 * UT_US);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 4);
    kh_advance(h, 1 * UT_MS);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 5);
    /* masked: the storm sets the status but stays silent */
    ut_faults(h, "reg.read[reg=VERSION]:storm(count=5,interval=2us):once");
    kh_write(h, KESTREL_REG_INTR_MASK, KESTREL_INTR_CQ);
    kh_read(h, KESTREL_REG_VERSION);
    kh_advance(h, 1 * UT_MS);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 5);
}
END_TEST

START_TEST(test_fatal)
{
    UtErr err;

    ut_faults(h, "cq.post:fatal:once");
    submit_flush(3);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS),
                      KESTREL_STATUS_RDY | KESTREL_STATUS_FATAL);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_ERROR], 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_STATUS),
                      KESTREL_INTR_ERROR);
    err = ut_err_newest(h);
    ck_assert_uint_eq(err.code, KESTREL_ERR_INJECTED_FATAL);
    ck_assert_uint_eq(err.info, h->core.faults.rules[0].id);
    no_completion();
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    /* fatal stops the engine: nothing more is fetched */
    submit_flush(4);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 1);
    ctrl_reset_and_enable(16, 16);
    ut_expect(h, ut_flush(5), KESTREL_SC_SUCCESS);
}
END_TEST

START_TEST(test_fatal_at_irq)
{
    /* fatal raised while an interrupt is delivered: the error interrupt
     * it sends must not run the irq rules again (endless recursion) */
    ut_faults(h, "irq:fatal");
    submit_flush(1);
    ck_assert(kh_read(h, KESTREL_REG_STATUS) & KESTREL_STATUS_FATAL);
    ck_assert_uint_eq(ut_err_newest(h).code, KESTREL_ERR_INJECTED_FATAL);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_ERROR], 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 1);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

START_TEST(test_fatal_at_reg_read)
{
    ut_faults(h, "reg.read[reg=VERSION]:fatal:once");
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    ck_assert(kh_read(h, KESTREL_REG_STATUS) & KESTREL_STATUS_FATAL);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_ERROR], 1);
    ck_assert_uint_eq(ut_err_newest(h).code, KESTREL_ERR_INJECTED_FATAL);
}
END_TEST

static void check_all_ones(void)
{
    uint32_t reg;

    for (reg = 0; reg < 0x200; reg += 4) {
        ck_assert_msg(kh_read(h, reg) == 0xffffffffu,
                      "reg 0x%x = 0x%x with the link down", reg,
                      kh_read(h, reg));
    }
}

START_TEST(test_allones)
{
    ut_faults(h, "irq:allones");
    submit_flush(1);
    /* the entry was written before the interrupt took the link down */
    ck_assert_uint_eq(ut_cq_entry(h, 0).tag, 1);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    ck_assert(!h->intx);
    check_all_ones();
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    /* writes go nowhere */
    kh_write(h, KESTREL_REG_CTRL, 0);
    kh_write(h, KESTREL_REG_INTR_MASK, KESTREL_INTR_ALL);
    submit_flush(2);
    kh_advance(h, 1 * UT_MS);
    ck_assert_uint_eq(ut_cq_entry(h, 1).status, 0);
    ck_assert_uint_eq(h->irqs[0] + h->irqs[1], 0);
    /* a new rule set plugs the link back in, state intact */
    ut_faults(h, "");
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CTRL), KESTREL_CTRL_EN);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_MASK), 0);
    ck_assert_uint_eq(h->core.faults.nrules, 0);
}
END_TEST

START_TEST(test_allones_no_dma)
{
    struct kestrel_sqe s;
    unsigned long refused = h->dma_refused;

    h->async_io = true;
    memset(h->disk, 0x66, 1024);
    ut_faults(h, "reg.read[reg=VERSION]:allones:once");
    s = ut_rw(h, KESTREL_OP_READ, 1, 0, 2);
    ut_submit_raw(h, &s);
    ck_assert_uint_eq(h->nio, 1);
    /* this read takes the link down */
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_VERSION), 0xffffffffu);
    check_all_ones();
    kh_run(h);
    kh_advance(h, 1 * UT_MS);
    ck_assert_uint_eq(h->nio, 0);
    ck_assert(ut_ram_is_zero(h, ut_buf(1), 1024));
    ck_assert(ut_ram_is_zero(h, KH_CQ_BASE, 256));
    ck_assert_uint_eq(h->irqs[0] + h->irqs[1], 0);
    ck_assert_uint_eq(h->dma_refused, refused);
    ut_faults(h, "");
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
}
END_TEST

/* ---- reset ------------------------------------------------------------ */

START_TEST(test_reset_delay)
{
    ut_faults(h, "reset:delay(50us):once");
    kh_write(h, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS),
                      KESTREL_STATUS_RESETTING);
    kh_advance(h, 50 * UT_US - 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS),
                      KESTREL_STATUS_RESETTING);
    kh_advance(h, 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    /* only once: the next reset is immediate */
    ut_reenable(h, 4, 4);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    ut_expect(h, ut_flush(1), KESTREL_SC_SUCCESS);
}
END_TEST

START_TEST(test_reset_stall)
{
    unsigned long ge;

    ut_faults(h, "reset:stall:once");
    kh_write(h, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    kh_advance(h, 1000 * UT_MS);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS),
                      KESTREL_STATUS_RESETTING);
    ge = kestrel_guest_errors;
    kh_write(h, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
    ck_assert_uint_eq(kestrel_guest_errors, ge + 1);
    /* another reset does not finish either */
    kh_write(h, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    kh_advance(h, 1000 * UT_MS);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS),
                      KESTREL_STATUS_RESETTING);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    /* a PCI function reset does */
    kestrel_core_hard_reset(&h->core);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0);
    memset(h->ram + KH_CQ_BASE, 0, 4096);
    ut_enable(h, 4, 4);
    ut_expect(h, ut_flush(1), KESTREL_SC_SUCCESS);
}
END_TEST

START_TEST(test_reset_drop)
{
    ut_faults(h, "reset:drop");
    kh_write(h, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CTRL), KESTREL_CTRL_EN);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_SIZE), 16);
    kh_write(h, KESTREL_REG_CTRL, 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CTRL), KESTREL_CTRL_EN);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
    ck_assert_uint_eq(ut_fired(h, 0), 2);
    ut_expect(h, ut_flush(1), KESTREL_SC_SUCCESS);
}
END_TEST

/* ---- ctrl.enable ------------------------------------------------------ */

static void write_queues_and_enable(void)
{
    kh_write(h, KESTREL_REG_SQ_BASE_LO, KH_SQ_BASE);
    kh_write(h, KESTREL_REG_SQ_SIZE, 4);
    kh_write(h, KESTREL_REG_CQ_BASE_LO, KH_CQ_BASE);
    kh_write(h, KESTREL_REG_CQ_SIZE, 4);
    kh_write(h, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
}

START_TEST(test_enable_delay)
{
    int64_t ready = (int64_t)h->core.cfg.ready_delay_us * UT_US;

    kh_write(h, KESTREL_REG_CTRL, 0);
    ut_faults(h, "ctrl.enable:delay(50us)");
    write_queues_and_enable();
    kh_advance(h, ready + 50 * UT_US - 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0);
    kh_advance(h, 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

static void check_enable_never_ready(const char *rule)
{
    kh_write(h, KESTREL_REG_CTRL, 0);
    ut_faults(h, rule);
    write_queues_and_enable();
    kh_advance(h, 1000 * UT_MS);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CTRL), KESTREL_CTRL_EN);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    kh_write(h, KESTREL_REG_SQ_TAIL_DB, 1);
    ck_assert_uint_eq(ut_err_newest(h).code, KESTREL_ERR_NOT_READY);
    /* without the rule, EN 1->0->1 brings it up */
    ut_faults(h, "");
    ut_reenable(h, 4, 4);
    ut_expect(h, ut_flush(1), KESTREL_SC_SUCCESS);
}

START_TEST(test_enable_drop)
{
    check_enable_never_ready("ctrl.enable:drop");
}
END_TEST

START_TEST(test_enable_stall)
{
    check_enable_never_ready("ctrl.enable:stall");
}
END_TEST

/* ---- reg.read --------------------------------------------------------- */

START_TEST(test_reg_read_corrupt)
{
    ut_faults(h, "reg.read[reg=STATUS]:corrupt(value=0)");
    ck_assert_uint_eq(h->core.status, KESTREL_STATUS_RDY);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CTRL), KESTREL_CTRL_EN);
    ck_assert_uint_eq(ut_fired(h, 0), 2);
    /* the device itself is unaffected */
    ut_expect(h, ut_flush(1), KESTREL_SC_SUCCESS);

    ut_faults(h, "reg.read[reg=CAP_QDEPTH]:corrupt(value)");
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CAP_QDEPTH), ~64u);
}
END_TEST

START_TEST(test_reg_read_flip)
{
    unsigned i;

    ut_faults(h, "reg.read[reg=STATUS]:flip");
    for (i = 0; i < 8; i++) {
        uint32_t v = kh_read(h, KESTREL_REG_STATUS);

        ck_assert_uint_eq(__builtin_popcount(v ^ h->core.status), 1);
    }
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    ck_assert_uint_eq(ut_fired(h, 0), 8);
}
END_TEST

START_TEST(test_reg_read_drop)
{
    ut_faults(h, "reg.read[reg=VERSION]:drop:max=1");
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_VERSION), 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
}
END_TEST

/* ---- power ------------------------------------------------------------ */

START_TEST(test_power_stall)
{
    ut_faults(h, "power:stall");
    kestrel_core_set_power(&h->core, 3);
    kestrel_core_set_power(&h->core, 0);
    kestrel_core_hard_reset(&h->core);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    write_queues_and_enable();
    kh_advance(h, 1000 * UT_MS);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0);
    ck_assert_uint_eq(ut_fired(h, 0), 2);
    /* and again after another EN cycle */
    kh_write(h, KESTREL_REG_CTRL, 0);         /* also clears the queues */
    write_queues_and_enable();
    kh_advance(h, 1000 * UT_MS);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0);
    /* replacing the rules clears it */
    ut_faults(h, "");
    ut_reenable(h, 4, 4);
    ut_expect(h, ut_flush(1), KESTREL_SC_SUCCESS);
}
END_TEST

START_TEST(test_power_delay)
{
    int64_t ready = (int64_t)h->core.cfg.ready_delay_us * UT_US;

    ut_faults(h, "power:delay(200us):once");
    kestrel_core_set_power(&h->core, 3);
    kestrel_core_set_power(&h->core, 0);
    kestrel_core_hard_reset(&h->core);          /* survives it */
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    write_queues_and_enable();
    kh_advance(h, ready + 200 * UT_US - 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0);
    kh_advance(h, 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
    /* served once: the next enable takes the normal time */
    kh_write(h, KESTREL_REG_CTRL, 0);         /* also clears the queues */
    write_queues_and_enable();
    kh_advance(h, ready);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
}
END_TEST

START_TEST(test_power_delay_cleared)
{
    int64_t ready = (int64_t)h->core.cfg.ready_delay_us * UT_US;

    ut_faults(h, "power:delay(200us)");
    kestrel_core_set_power(&h->core, 3);
    kestrel_core_set_power(&h->core, 0);
    ck_assert_uint_eq(ut_fired(h, 0), 2);
    /* a new rule set forgets the pending power delay */
    ut_faults(h, "");
    write_queues_and_enable();
    kh_advance(h, ready);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
}
END_TEST

START_TEST(test_power_drop)
{
    ut_faults(h, "power:drop:once");
    kestrel_core_set_power(&h->core, 3);
    /* the change was ignored: still in D0, still running */
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
    ut_expect(h, ut_flush(1), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    kestrel_core_set_power(&h->core, 3);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0xffffffffu);
}
END_TEST

/* ---- triggers in context ---------------------------------------------- */

START_TEST(test_trigger_nth)
{
    unsigned i;

    ut_faults(h, "cq.post:corrupt(tag=0xffff):nth=3");
    for (i = 1; i <= 5; i++) {
        struct kestrel_cqe e;

        submit_flush((uint16_t)i);
        e = reap();
        ck_assert_uint_eq(e.tag, i == 3 ? 0xffff : i);
    }
    ck_assert_uint_eq(ut_fired(h, 0), 1);
    ck_assert_uint_eq(h->core.faults.rules[0].hits, 5);
}
END_TEST

START_TEST(test_trigger_every_max)
{
    unsigned i;

    ut_faults(h, "cq.post:corrupt(tag=0xffff):every=2,max=2");
    for (i = 1; i <= 7; i++) {
        struct kestrel_cqe e;

        submit_flush((uint16_t)i);
        e = reap();
        ck_assert_uint_eq(e.tag, (i == 2 || i == 4) ? 0xffff : i);
    }
    ck_assert_uint_eq(ut_fired(h, 0), 2);
}
END_TEST

START_TEST(test_trigger_after)
{
    unsigned i;

    /* commands fetched before the rule was installed do not count */
    submit_flush(100);
    submit_flush(101);
    reap();
    reap();
    ut_faults(h, "sq.fetch:corrupt(opcode=0x7f):after=2");
    for (i = 1; i <= 5; i++) {
        struct kestrel_cqe e;

        submit_flush((uint16_t)i);
        e = reap();
        ck_assert_uint_eq(e.tag, i);
        ck_assert_uint_eq(ut_status(&e), i <= 2 ? KESTREL_SC_SUCCESS
                                                : KESTREL_SC_INVALID_OPCODE);
    }
    ck_assert_uint_eq(ut_fired(h, 0), 3);
}
END_TEST

/* ---- determinism ------------------------------------------------------ */

static KestrelHost *run_prob_flip(uint64_t seed, uint8_t *ring,
                                  uint64_t *fired)
{
    KestrelHost *x = ut_host();
    char err[KESTREL_FAULT_ERR_MAX];
    unsigned i;

    ck_assert_int_eq(kh_enable(x, 32, 32), 0);
    x->core.faults.seed = seed;         /* the "fault-seed" property */
    ck_assert_int_ge(kestrel_core_set_faults(&x->core,
                     "cq.post:flip:prob=0.5", err, sizeof(err)), 0);
    for (i = 0; i < 24; i++) {
        struct kestrel_sqe s = ut_flush((uint16_t)(0x100 + i));

        kh_submit(x, &s);
    }
    memcpy(ring, x->ram + KH_CQ_BASE, 32 * sizeof(struct kestrel_cqe));
    *fired = x->core.faults.rules[0].fired;
    ck_assert_uint_eq(kh_read(x, KESTREL_REG_CQ_TAIL), 24);
    return x;
}

START_TEST(test_determinism)
{
    uint8_t a[512], b[512], c[512];
    uint64_t fa, fb, fc;
    KestrelHost *x, *y, *z;

    x = run_prob_flip(0x5eed, a, &fa);
    y = run_prob_flip(0x5eed, b, &fb);
    z = run_prob_flip(0x5eee, c, &fc);
    ck_assert_mem_eq(a, b, sizeof(a));
    ck_assert_uint_eq(fa, fb);
    /* prob=0.5 over 24 completions: some, not all */
    ck_assert_uint_gt(fa, 0);
    ck_assert_uint_lt(fa, 24);
    ck_assert_uint_eq(x->core.faults.rules[0].hits, 24);
    /* another seed gives another run */
    ck_assert(memcmp(a, c, sizeof(a)) != 0);
    kh_free(x);
    kh_free(y);
    kh_free(z);
}
END_TEST

/* ---- every action at every point it accepts --------------------------- */

static const char *const sweep_points[] = {
    "ctrl.enable", "reg.read", "sq.fetch", "sgl.fetch", "dma.read",
    "dma.write", "cq.post", "irq", "reset", "power",
};
static const char *const sweep_actions[] = {
    "drop", "delay(3us)", "stall", "flip", "duplicate", "spurious",
    "storm(count=20,interval=1us)", "fatal", "allones", "dma_error",
};

/* Run a bit of everything; the device must survive whatever the rule. */
static void sweep_workload(void)
{
    struct kestrel_cqe e;
    unsigned i;

    kh_write(h, KESTREL_REG_SQ_BASE_LO, KH_SQ_BASE);
    kh_write(h, KESTREL_REG_SQ_SIZE, 8);
    kh_write(h, KESTREL_REG_CQ_BASE_LO, KH_CQ_BASE);
    kh_write(h, KESTREL_REG_CQ_SIZE, 4);
    kh_write(h, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
    kh_advance(h, 1 * UT_MS);
    h->drv_sq_tail = 0;
    h->drv_sq_size = 8;
    h->drv_cq_head = 0;
    h->drv_cq_size = 4;
    h->drv_phase = 1;
    for (i = 0; i < 6; i++) {
        struct kestrel_sqe s;

        switch (i % 3) {
        case 0:
            s = ut_rw(h, KESTREL_OP_WRITE, (uint16_t)i, i, 2);
            break;
        case 1:
            s = ut_rw(h, KESTREL_OP_READ, (uint16_t)i, i, 2);
            break;
        default:
            s = ut_flush((uint16_t)i);
            break;
        }
        kh_submit(h, &s);
        kh_advance(h, 5 * UT_US);
        while (kh_reap(h, &e)) {
        }
        kh_read(h, KESTREL_REG_STATUS);
    }
    kh_advance(h, 1 * UT_MS);
    while (kh_reap(h, &e)) {
    }
    kh_write(h, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    kh_advance(h, 1 * UT_MS);
    kestrel_core_set_power(&h->core, 3);
    kh_advance(h, 1 * UT_MS);
    kestrel_core_set_power(&h->core, 0);
    kestrel_core_hard_reset(&h->core);
    kh_advance(h, 1 * UT_MS);
}

START_TEST(test_action_sweep)
{
    unsigned p, a, tried = 0;

    for (p = 0; p < sizeof(sweep_points) / sizeof(sweep_points[0]); p++) {
        for (a = 0; a < sizeof(sweep_actions) / sizeof(sweep_actions[0]);
             a++) {
            char rule[96], err[KESTREL_FAULT_ERR_MAX];

            kh_free(h);
            h = ut_host();
            h->async_io = (p + a) % 2;
            snprintf(rule, sizeof(rule), "%s:%s", sweep_points[p],
                     sweep_actions[a]);
            if (kestrel_core_set_faults(&h->core, rule, err,
                                        sizeof(err)) < 0) {
                continue;       /* not an action of this point */
            }
            sweep_workload();
            ck_assert_msg(ut_fired(h, 0) > 0, "%s never fired", rule);
            tried++;
        }
    }
    ck_assert_uint_ge(tried, 60);
}
END_TEST

Suite *actions_suite(void)
{
    Suite *s = suite_create("actions");
    TCase *tc = tcase_create("actions");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_cq_drop);
    tcase_add_test(tc, test_cq_corrupt_addr);
    tcase_add_test(tc, test_cq_delay);
    tcase_add_test(tc, test_cq_delay_into_full_cq);
    tcase_add_test(tc, test_cq_stall);
    tcase_add_test(tc, test_cq_corrupt_tag);
    tcase_add_test(tc, test_cq_corrupt_phase);
    tcase_add_test(tc, test_cq_corrupt_status);
    tcase_add_test(tc, test_cq_corrupt_sqhead_result);
    tcase_add_test(tc, test_cq_duplicate);
    tcase_add_test(tc, test_cq_duplicate_write);
    tcase_add_test(tc, test_cq_flip);
    tcase_add_test(tc, test_cq_dma_error);
    tcase_add_test(tc, test_cq_op_filter);
    tcase_add_test(tc, test_sq_drop);
    tcase_add_test(tc, test_sq_delay);
    tcase_add_test(tc, test_sq_delay_keeps_other_rules);
    tcase_add_test(tc, test_sq_stall);
    tcase_add_test(tc, test_sq_corrupt);
    tcase_add_test(tc, test_sq_flip);
    tcase_add_test(tc, test_sq_dma_error);
    tcase_add_test(tc, test_sgl_corrupt);
    tcase_add_test(tc, test_sgl_drop);
    tcase_add_test(tc, test_sgl_dma_error);
    tcase_add_test(tc, test_sgl_delay);
    tcase_add_test(tc, test_dma_read_corrupt);
    tcase_add_test(tc, test_dma_read_drop);
    tcase_add_test(tc, test_dma_read_dma_error);
    tcase_add_test(tc, test_dma_write_flip);
    tcase_add_test(tc, test_dma_write_dma_error);
    tcase_add_test(tc, test_dma_write_stall);
    tcase_add_test(tc, test_irq_drop);
    tcase_add_test(tc, test_irq_delay);
    tcase_add_test(tc, test_irq_delay_respects_mask);
    tcase_add_test(tc, test_irq_stall);
    tcase_add_test(tc, test_irq_spurious);
    tcase_add_test(tc, test_irq_storm);
    tcase_add_test(tc, test_storm_other_point);
    tcase_add_test(tc, test_fatal);
    tcase_add_test(tc, test_fatal_at_irq);
    tcase_add_test(tc, test_fatal_at_reg_read);
    tcase_add_test(tc, test_allones);
    tcase_add_test(tc, test_allones_no_dma);
    tcase_add_test(tc, test_reset_delay);
    tcase_add_test(tc, test_reset_stall);
    tcase_add_test(tc, test_reset_drop);
    tcase_add_test(tc, test_enable_delay);
    tcase_add_test(tc, test_enable_drop);
    tcase_add_test(tc, test_enable_stall);
    tcase_add_test(tc, test_reg_read_corrupt);
    tcase_add_test(tc, test_reg_read_flip);
    tcase_add_test(tc, test_reg_read_drop);
    tcase_add_test(tc, test_power_stall);
    tcase_add_test(tc, test_power_delay);
    tcase_add_test(tc, test_power_delay_cleared);
    tcase_add_test(tc, test_power_drop);
    tcase_add_test(tc, test_trigger_nth);
    tcase_add_test(tc, test_trigger_every_max);
    tcase_add_test(tc, test_trigger_after);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_action_sweep);
    suite_add_tcase(s, tc);
    return s;
}
