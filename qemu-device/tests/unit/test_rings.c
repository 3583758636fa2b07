/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kestrel submission and completion rings: wrap-around and phase, the
 * doorbell checks, a full completion queue, asynchronous backend I/O.
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

/* Put an entry in the SQ without ringing the doorbell. */
static void sq_put(const struct kestrel_sqe *s)
{
    memcpy(h->ram + KH_SQ_BASE + (uint64_t)h->drv_sq_tail * sizeof(*s), s,
           sizeof(*s));
    h->drv_sq_tail = (h->drv_sq_tail + 1) % h->drv_sq_size;
}

static void sq_ring(void)
{
    kh_write(h, KESTREL_REG_SQ_TAIL_DB, h->drv_sq_tail);
}

START_TEST(test_wrap_one_by_one)
{
    unsigned i;

    ut_enable(h, 4, 4);
    for (i = 0; i < 14; i++) {
        struct kestrel_cqe raw, e;
        unsigned phase = (i / 4) % 2 == 0 ? 1 : 0;

        kh_submit(h, &(struct kestrel_sqe){ .opcode = KESTREL_OP_FLUSH,
                                            .tag = (uint16_t)(100 + i) });
        raw = ut_cq_entry(h, i % 4);
        ck_assert_uint_eq(raw.tag, 100 + i);
        ck_assert_msg((raw.status & KESTREL_CQE_PHASE) == phase,
                      "cqe %u: phase %u, expected %u", i,
                      raw.status & KESTREL_CQE_PHASE, phase);
        ck_assert_uint_eq(raw.sq_head, (i + 1) % 4);
        ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), (i + 1) % 4);
        ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), (i + 1) % 4);
        ck_assert(kh_reap(h, &e));
        ck_assert_uint_eq(e.tag, 100 + i);
        ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
        ck_assert(!kh_reap(h, &e));
    }
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 14);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 0);
}
END_TEST

START_TEST(test_wrap_batches)
{
    unsigned round, i, tag = 0, want = 0;
    int64_t cq_size = 5;

    /* SQ of 4 (3 usable) and CQ of 5: the two rings wrap out of step */
    ut_enable(h, 4, (uint32_t)cq_size);
    for (round = 0; round < 7; round++) {
        struct kestrel_cqe e;

        for (i = 0; i < 3; i++) {
            struct kestrel_sqe s = ut_rw(h, KESTREL_OP_WRITE, (uint16_t)tag,
                                         tag, 1);

            memset(h->ram + ut_buf((uint16_t)tag), (int)(0x40 + tag), 512);
            sq_put(&s);
            tag++;
        }
        sq_ring();
        ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD),
                          (round + 1) * 3 % 4);
        for (i = 0; i < 3; i++) {
            ck_assert_msg(kh_reap(h, &e), "round %u entry %u missing",
                          round, i);
            ck_assert_uint_eq(e.tag, want);
            ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
            ck_assert_uint_eq(le32_to_cpu(e.result), 512);
            ck_assert_uint_eq(e.sq_head, (want + 1) % 4);
            want++;
        }
        ck_assert(!kh_reap(h, &e));
    }
    /* 21 completions in a ring of 5: four laps and a bit */
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 21 % 5);
    ck_assert_uint_eq(h->core.cq_phase, 1 ^ ((21 / 5) & 1));
    for (i = 0; i < 21; i++) {
        ck_assert_uint_eq(h->disk[i * 512], 0x40 + i);
        ck_assert_uint_eq(h->disk[i * 512 + 511], 0x40 + i);
    }
}
END_TEST

START_TEST(test_sq_doorbell_out_of_range)
{
    static const uint32_t bad[] = { 4, 5, 0x10000, 0xffffffffu };
    unsigned i;

    ut_enable(h, 4, 4);
    for (i = 0; i < 4; i++) {
        unsigned long ge = kestrel_guest_errors;
        UtErr e;

        kh_write(h, KESTREL_REG_SQ_TAIL_DB, bad[i]);
        ck_assert_uint_eq(kestrel_guest_errors, ge + 1);
        e = ut_err_newest(h);
        ck_assert_uint_eq(e.code, KESTREL_ERR_SQ_DOORBELL);
        ck_assert_uint_eq(e.info, bad[i]);
        ck_assert_uint_eq(e.addr, KESTREL_REG_SQ_TAIL_DB);
        ck_assert_uint_eq(h->core.sq_tail, 0);
        ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 0);
        ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
    }
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 4);
    /* the ring still works, 3 (= size - 1) is a valid tail */
    ut_expect(h, ut_flush(1), KESTREL_SC_SUCCESS);
    ut_expect(h, ut_flush(2), KESTREL_SC_SUCCESS);
    ut_expect(h, ut_flush(3), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(h->core.sq_tail, 3);
    ut_expect(h, ut_flush(4), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(h->core.sq_tail, 0);
}
END_TEST

START_TEST(test_cq_doorbell_beyond_posted)
{
    unsigned long ge;

    ut_enable(h, 8, 8);
    kh_submit(h, &(struct kestrel_sqe){ .opcode = KESTREL_OP_FLUSH });
    kh_submit(h, &(struct kestrel_sqe){ .opcode = KESTREL_OP_FLUSH });
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 2);

    ge = kestrel_guest_errors;
    kh_write(h, KESTREL_REG_CQ_HEAD_DB, 3);     /* one past the posted */
    ck_assert_uint_eq(kestrel_guest_errors, ge + 1);
    ck_assert_uint_eq(ut_err_newest(h).code, KESTREL_ERR_CQ_DOORBELL);
    ck_assert_uint_eq(ut_err_newest(h).info, 3);
    ck_assert_uint_eq(ut_err_newest(h).addr, KESTREL_REG_CQ_HEAD_DB);
    ck_assert_uint_eq(h->core.cq_head, 0);
    kh_write(h, KESTREL_REG_CQ_HEAD_DB, 8);     /* outside the ring */
    ck_assert_uint_eq(kestrel_guest_errors, ge + 2);
    ck_assert_uint_eq(h->core.cq_head, 0);
    kh_write(h, KESTREL_REG_CQ_HEAD_DB, 7);     /* "behind" the head */
    ck_assert_uint_eq(kestrel_guest_errors, ge + 3);
    ck_assert_uint_eq(h->core.cq_head, 0);

    kh_write(h, KESTREL_REG_CQ_HEAD_DB, 1);
    ck_assert_uint_eq(h->core.cq_head, 1);
    kh_write(h, KESTREL_REG_CQ_HEAD_DB, 2);
    ck_assert_uint_eq(h->core.cq_head, 2);
    /* going back is consuming "more than posted" too */
    kh_write(h, KESTREL_REG_CQ_HEAD_DB, 1);
    ck_assert_uint_eq(kestrel_guest_errors, ge + 4);
    ck_assert_uint_eq(h->core.cq_head, 2);
    /* writing the current head again is harmless */
    kh_write(h, KESTREL_REG_CQ_HEAD_DB, 2);
    ck_assert_uint_eq(kestrel_guest_errors, ge + 4);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 4);
}
END_TEST

START_TEST(test_doorbell_not_ready)
{
    unsigned long ge = kestrel_guest_errors;
    UtErr e;

    kh_write(h, KESTREL_REG_SQ_TAIL_DB, 1);
    e = ut_err_newest(h);
    ck_assert_uint_eq(e.code, KESTREL_ERR_NOT_READY);
    ck_assert_uint_eq(e.addr, KESTREL_REG_SQ_TAIL_DB);
    kh_write(h, KESTREL_REG_CQ_HEAD_DB, 0);
    e = ut_err_newest(h);
    ck_assert_uint_eq(e.code, KESTREL_ERR_NOT_READY);
    ck_assert_uint_eq(e.addr, KESTREL_REG_CQ_HEAD_DB);
    ck_assert_uint_eq(kestrel_guest_errors, ge + 2);

    /* enabled but not ready yet: still refused */
    kh_write(h, KESTREL_REG_SQ_BASE_LO, KH_SQ_BASE);
    kh_write(h, KESTREL_REG_SQ_SIZE, 4);
    kh_write(h, KESTREL_REG_CQ_BASE_LO, KH_CQ_BASE);
    kh_write(h, KESTREL_REG_CQ_SIZE, 4);
    kh_write(h, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
    memcpy(h->ram + KH_SQ_BASE, &(struct kestrel_sqe){
               .opcode = KESTREL_OP_FLUSH }, 64);
    kh_write(h, KESTREL_REG_SQ_TAIL_DB, 1);
    ck_assert_uint_eq(ut_err_newest(h).code, KESTREL_ERR_NOT_READY);
    ck_assert_uint_eq(kestrel_guest_errors, ge + 3);
    ck_assert_uint_eq(h->core.sq_tail, 0);
    kh_advance(h, (int64_t)h->core.cfg.ready_delay_us * UT_US);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
    /* the refused doorbell did not sneak in */
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 0);
}
END_TEST

START_TEST(test_cq_full_holds_completions)
{
    struct kestrel_cqe e;
    unsigned i;

    ut_enable(h, 8, 4);
    for (i = 0; i < 7; i++) {
        struct kestrel_sqe s = ut_rw(h, KESTREL_OP_WRITE, (uint16_t)(i + 1),
                                     i, 1);

        memset(h->ram + ut_buf((uint16_t)(i + 1)), 0xa0 + i, 512);
        kh_submit(h, &s);
    }
    /* everything was fetched and executed, 3 completions fit */
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 7);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 3);
    ck_assert_uint_eq(h->core.npending, 4);
    for (i = 0; i < 3; i++) {
        ck_assert_uint_eq(ut_cq_entry(h, i).tag, i + 1);
    }
    ck_assert_uint_eq(ut_cq_entry(h, 3).status, 0);
    /* time alone does not help, nor is anything logged */
    kh_advance(h, 10 * UT_MS);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 3);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 0);
    for (i = 0; i < 7; i++) {
        ck_assert_msg(kh_reap(h, &e), "completion %u lost", i);
        ck_assert_uint_eq(e.tag, i + 1);
        ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
        ck_assert_uint_eq(e.sq_head, i + 1);
        ck_assert_uint_eq(h->disk[i * 512], 0xa0 + i);
    }
    ck_assert(!kh_reap(h, &e));
    ck_assert_uint_eq(h->core.npending, 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 0);
}
END_TEST

START_TEST(test_cq_full_more_commands_than_slots)
{
    KestrelConfig cfg = kh_default_config();
    struct kestrel_cqe e;
    unsigned i, tag = 0, want = 0;

    /* 4 command slots, SQ 4, CQ 2 (1 usable): the SQ waits for slots */
    cfg.queue_depth = 4;
    kh_free(h);
    h = ut_host_cfg(&cfg);
    ut_enable(h, 4, 2);
    for (i = 0; i < 6; i++) {
        kh_submit(h, &(struct kestrel_sqe){ .opcode = KESTREL_OP_FLUSH,
                                            .tag = (uint16_t)tag++ });
        if (i == 2) {
            /* 1 posted, 2 waiting; the SQ is drained */
            ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 3);
        }
    }
    /* 1 posted, 4 slots full of completions, the 6th not fetched */
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 1);
    ck_assert_uint_eq(h->core.npending, 4);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 5 % 4);
    while (want < 14) {
        ck_assert_msg(kh_reap(h, &e), "completion %u lost", want);
        ck_assert_uint_eq(e.tag, want);
        ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
        want++;
        if (tag < 14) {
            kh_submit(h, &(struct kestrel_sqe){ .opcode = KESTREL_OP_FLUSH,
                                                .tag = (uint16_t)tag++ });
        }
    }
    ck_assert(!kh_reap(h, &e));
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 0);
}
END_TEST

START_TEST(test_async_io)
{
    uint8_t pattern[1024];
    struct kestrel_sqe s;
    struct kestrel_cqe e;

    h->async_io = true;
    ut_enable(h, 4, 4);
    ut_fill(pattern, sizeof(pattern), 3);
    memcpy(h->ram + ut_buf(1), pattern, sizeof(pattern));
    s = ut_rw(h, KESTREL_OP_WRITE, 1, 10, 2);
    memcpy(h->ram + KH_SQ_BASE, &s, sizeof(s));

    /* the doorbell only asks for processing */
    kestrel_core_mmio_write(&h->core, KESTREL_REG_SQ_TAIL_DB, 1);
    ck_assert(h->kicked);
    ck_assert_uint_eq(h->nio, 0);
    h->kicked = false;
    kestrel_core_process(&h->core);
    /* fetched, data read from the guest, backend busy: no completion */
    ck_assert_uint_eq(h->nio, 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 0);
    ck_assert_uint_eq(ut_cq_entry(h, 0).status, 0);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    ck_assert_uint_eq(h->disk[10 * 512], 0);
    /* the backend completes later, from the main loop */
    kh_run(h);
    ck_assert_uint_eq(h->nio, 0);
    ck_assert_mem_eq(h->disk + 10 * 512, pattern, sizeof(pattern));
    ck_assert(kh_reap(h, &e));
    ck_assert_uint_eq(e.tag, 1);
    ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(le32_to_cpu(e.result), 1024);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 1);

    /* a READ copies to the guest only when the backend is done */
    memset(h->ram + ut_buf(2), 0, sizeof(pattern));
    s = ut_rw(h, KESTREL_OP_READ, 2, 10, 2);
    memcpy(h->ram + KH_SQ_BASE + 64, &s, sizeof(s));
    kestrel_core_mmio_write(&h->core, KESTREL_REG_SQ_TAIL_DB, 2);
    kestrel_core_process(&h->core);
    ck_assert_uint_eq(h->nio, 1);
    ck_assert_uint_eq(h->ram[ut_buf(2)], 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 1);
    kh_run(h);
    ck_assert_mem_eq(h->ram + ut_buf(2), pattern, sizeof(pattern));
    ck_assert(kh_reap(h, &e));
    ck_assert_uint_eq(e.tag, 2);
    ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
}
END_TEST

START_TEST(test_async_many_in_flight)
{
    struct kestrel_cqe e;
    unsigned i;

    h->async_io = true;
    ut_enable(h, 16, 16);
    for (i = 0; i < 10; i++) {
        struct kestrel_sqe s = ut_rw(h, KESTREL_OP_WRITE, (uint16_t)i, i, 1);

        memset(h->ram + ut_buf((uint16_t)i), 0x10 + i, 512);
        memcpy(h->ram + KH_SQ_BASE + i * 64, &s, sizeof(s));
    }
    kestrel_core_mmio_write(&h->core, KESTREL_REG_SQ_TAIL_DB, 10);
    kestrel_core_process(&h->core);
    ck_assert_uint_eq(h->nio, 10);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 0);
    h->drv_sq_tail = 10;
    kh_run(h);
    for (i = 0; i < 10; i++) {
        ck_assert(kh_reap(h, &e));
        ck_assert_uint_eq(e.tag, i);
        ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
        ck_assert_uint_eq(h->disk[i * 512 + 100], 0x10 + i);
    }
    ck_assert(!kh_reap(h, &e));
}
END_TEST

/*
 * Host resources per doorbell (issue 13, datasheet 6.8): one doorbell for
 * 200 READs of 1 MiB.  One run of the engine fetches at most
 * KESTREL_FETCH_BUDGET of them and asks to run again; the data buffers of
 * commands in flight stay within KESTREL_MAX_BUF_BYTES, the rest waits in
 * the SQ until I/O completes; every command still completes.
 */
START_TEST(test_doorbell_work_bounded)
{
    KestrelConfig cfg = kh_default_config();
    const uint32_t n = 200, blocks = KESTREL_MAX_XFER_BYTES / 512;
    struct kestrel_cqe e;
    unsigned i, runs = 0, seen = 0;

    cfg.queue_depth = 256;
    cfg.capacity_blocks = 2 * blocks;
    kh_free(h);
    h = ut_host_cfg(&cfg);
    h->async_io = true;
    ut_enable(h, 256, 256);
    ut_desc(h, UT_LIST_BASE, UT_BUF_BASE, KESTREL_MAX_XFER_BYTES, 0);
    for (i = 0; i < n; i++) {
        struct kestrel_sqe s = ut_sqe(KESTREL_OP_READ, (uint16_t)i);

        s.lba = cpu_to_le64(i % 2 ? blocks : 0);
        s.nblocks = cpu_to_le32(blocks);
        s.nsegs = cpu_to_le32(1);
        s.sgl_addr = cpu_to_le64(UT_LIST_BASE);
        s.sgl_len = cpu_to_le32(16);
        memcpy(h->ram + KH_SQ_BASE + i * 64, &s, sizeof(s));
    }
    kestrel_core_mmio_write(&h->core, KESTREL_REG_SQ_TAIL_DB, n);
    h->kicked = false;
    kestrel_core_process(&h->core);
    ck_assert_msg(h->nio <= KESTREL_FETCH_BUDGET,
                  "one run of the engine started %u commands", h->nio);
    ck_assert_msg(h->kicked, "the engine stopped with work left");
    while (h->kicked && runs++ < 1000) {
        h->kicked = false;
        kestrel_core_process(&h->core);
    }
    ck_assert_msg((uint64_t)h->nio * KESTREL_MAX_XFER_BYTES <=
                  KESTREL_MAX_BUF_BYTES && h->core.buf_bytes <=
                  KESTREL_MAX_BUF_BYTES,
                  "%u READs of 1 MiB in flight, %llu buffer bytes", h->nio,
                  (unsigned long long)h->core.buf_bytes);
    ck_assert_uint_gt(h->nio, 0);
    /* the backend completes: the rest is fetched, all complete once */
    h->drv_sq_tail = n;
    kh_run(h);
    while (kh_reap(h, &e)) {
        ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
        ck_assert_uint_eq(le16_to_cpu(e.tag), seen);
        seen++;
        kh_run(h);
    }
    ck_assert_uint_eq(seen, n);
    ck_assert_uint_eq(h->core.buf_bytes, 0);
}
END_TEST

/*
 * The engine gate (datasheet 12.1): while paused (VM stopped, backend
 * drained, unplug) nothing is fetched and nothing is posted; I/O already
 * started completes and its completion waits; resuming posts it and
 * fetches the rest.  Pause reasons are independent.
 */
START_TEST(test_engine_paused)
{
    struct kestrel_sqe s;
    struct kestrel_cqe e;

    h->async_io = true;
    ut_enable(h, 8, 8);
    s = ut_rw(h, KESTREL_OP_WRITE, 1, 0, 1);
    kh_submit(h, &s);
    kh_run(h);
    ck_assert_uint_eq(h->nio, 0);
    ck_assert(kh_reap(h, &e));
    /* one READ in flight, then the VM stops */
    s = ut_rw(h, KESTREL_OP_READ, 2, 0, 1);
    memcpy(h->ram + KH_SQ_BASE + 64, &s, sizeof(s));
    kestrel_core_mmio_write(&h->core, KESTREL_REG_SQ_TAIL_DB, 2);
    kestrel_core_process(&h->core);
    ck_assert_uint_eq(h->nio, 1);
    kestrel_core_pause(&h->core, KESTREL_PAUSE_VM);
    ck_assert_uint_eq(kestrel_core_inflight(&h->core), 1);
    /* a queued entry is not fetched; the READ completes, is not posted */
    s = ut_rw(h, KESTREL_OP_READ, 3, 0, 1);
    memcpy(h->ram + KH_SQ_BASE + 128, &s, sizeof(s));
    h->core.sq_tail = 3;        /* as if rung before the stop */
    h->kicked = true;
    kh_run(h);
    ck_assert_uint_eq(kestrel_core_inflight(&h->core), 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 2);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 1);
    ck_assert_uint_eq(h->core.npending, 1);
    kh_advance(h, 10 * UT_MS);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 1);
    /* a drain as well: resuming the VM alone does not restart it */
    kestrel_core_pause(&h->core, KESTREL_PAUSE_DRAIN);
    kestrel_core_resume(&h->core, KESTREL_PAUSE_VM);
    kh_run(h);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 1);
    kestrel_core_resume(&h->core, KESTREL_PAUSE_DRAIN);
    kh_run(h);
    h->drv_sq_tail = 3;
    ck_assert(kh_reap(h, &e));
    ck_assert_uint_eq(le16_to_cpu(e.tag), 2);
    ck_assert(kh_reap(h, &e));
    ck_assert_uint_eq(le16_to_cpu(e.tag), 3);
    ck_assert(!kh_reap(h, &e));
}
END_TEST

Suite *rings_suite(void)
{
    Suite *s = suite_create("rings");
    TCase *tc = tcase_create("rings");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_wrap_one_by_one);
    tcase_add_test(tc, test_wrap_batches);
    tcase_add_test(tc, test_sq_doorbell_out_of_range);
    tcase_add_test(tc, test_cq_doorbell_beyond_posted);
    tcase_add_test(tc, test_doorbell_not_ready);
    tcase_add_test(tc, test_cq_full_holds_completions);
    tcase_add_test(tc, test_cq_full_more_commands_than_slots);
    tcase_add_test(tc, test_async_io);
    tcase_add_test(tc, test_async_many_in_flight);
    tcase_add_test(tc, test_doorbell_work_bounded);
    tcase_add_test(tc, test_engine_paused);
    suite_add_tcase(s, tc);
    return s;
}
