/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kestrel device tests through the real QEMU binary over qtest.
 *
 * Each test starts its own QEMU (GAUNTLET_QEMU) with one Kestrel on a fresh
 * backing file, programs it like a driver would, and checks registers,
 * completions, interrupts, guest memory and the host backing file.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kdev.h"

#define MS (1000 * 1000ll)
#define BLOCKS 2048

static Kdev *k;

static void start_with(const char *opts, bool msix)
{
    char err[2048];

    k = kdev_start(opts, BLOCKS, msix, err, sizeof(err));
    ck_assert_msg(k, "QEMU did not start: %s", err);
}

static void setup(void)
{
    start_with(NULL, true);
}

static void teardown(void)
{
    if (k) {
        ck_assert_msg(qt_alive(k->qt) == 1, "QEMU died: %s", qt_error(k->qt));
        kdev_stop(k);
        k = NULL;
    }
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    size_t i;

    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 9));
    }
}

static void read_backing(uint64_t off, void *buf, size_t len)
{
    int fd = open(k->img, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
    close(fd);
}

/* ---- basic operation -------------------------------------------------- */

START_TEST(device_listed)
{
    char cmd[512], line[512];
    const char *q = getenv("GAUNTLET_QEMU");
    bool found = false;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "%s -device help 2>&1", q ? q : "false");
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p)) {
        found |= strstr(line, "name \"kestrel\"") != NULL;
    }
    pclose(p);
    ck_assert_msg(found, "'-device help' does not list kestrel");
}
END_TEST

START_TEST(capabilities_and_identify)
{
    struct kestrel_identify id;

    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_CAP_QDEPTH),
                      KESTREL_DEFAULT_QDEPTH);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_CAP_BLKSZ), 512);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_CAP_CAPACITY_LO), BLOCKS);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_CAP_CAPACITY_HI), 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_CAP_NVEC), KESTREL_NVEC);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_STATUS), 0);
    ck_assert_int_eq(kdev_enable(k, 16, 16), 0);
    ck_assert_int_eq(kdev_identify(k, &id), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(id.magic, KESTREL_IDENTIFY_MAGIC);
    ck_assert_uint_eq(id.capacity, BLOCKS);
    ck_assert_uint_eq(id.block_size, 512);
    ck_assert_uint_eq(id.max_qdepth, KESTREL_DEFAULT_QDEPTH);
    ck_assert_int_eq(memcmp(id.serial, "QT-SERIAL", 9), 0);
    ck_assert_int_eq(qt_msix_fired(k->pci, KESTREL_VEC_CQ), 1);
}
END_TEST

START_TEST(ready_takes_virtual_time)
{
    uint64_t sq = qt_galloc(k->qt, 4096, 4096), cq = qt_galloc(k->qt, 4096,
                                                               4096);

    kdev_wr(k, KESTREL_REG_SQ_BASE_LO, (uint32_t)sq);
    kdev_wr(k, KESTREL_REG_SQ_SIZE, 8);
    kdev_wr(k, KESTREL_REG_CQ_BASE_LO, (uint32_t)cq);
    kdev_wr(k, KESTREL_REG_CQ_SIZE, 8);
    kdev_wr(k, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
    /* ready-delay-us=5000 for this test */
    qt_clock_step(k->qt, 4 * MS, NULL);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_STATUS) & KESTREL_STATUS_RDY, 0);
    qt_clock_step(k->qt, 2 * MS, NULL);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_STATUS) & KESTREL_STATUS_RDY,
                      KESTREL_STATUS_RDY);
}
END_TEST

START_TEST(write_read_backing_file)
{
    enum { NB = 24, LEN = NB * 512 };
    uint8_t out[LEN], in[LEN], disk[LEN];
    uint64_t wbuf = qt_galloc(k->qt, LEN, 4096);
    uint64_t rbuf = qt_galloc(k->qt, LEN, 4096);

    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    fill(out, LEN, 3);
    qt_memwrite(k->qt, wbuf, out, LEN);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_WRITE, 100, NB, wbuf, 5),
                     KESTREL_SC_SUCCESS);
    read_backing(100 * 512, disk, LEN);
    ck_assert_int_eq(memcmp(disk, out, LEN), 0);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_READ, 100, NB, rbuf, 7),
                     KESTREL_SC_SUCCESS);
    qt_memread(k->qt, rbuf, in, LEN);
    ck_assert_int_eq(memcmp(in, out, LEN), 0);
}
END_TEST

START_TEST(chained_segment_list)
{
    enum { NB = 8, LEN = NB * 512 };
    uint8_t out[LEN], disk[LEN];
    uint64_t buf = qt_galloc(k->qt, LEN, 4096);
    uint64_t l1 = qt_galloc(k->qt, 64, 16), l2 = qt_galloc(k->qt, 64, 16);
    struct kestrel_sg_desc a[3] = {
        { buf, 1024, KESTREL_SG_DATA, 0 },
        { buf + 1024, 1024, KESTREL_SG_DATA, 0 },
        { l2, 32, KESTREL_SG_CHAIN, 0 },
    };
    struct kestrel_sg_desc b[2] = {
        { buf + 2048, 1536, KESTREL_SG_DATA, 0 },
        { buf + 3584, 512, KESTREL_SG_DATA, 0 },
    };
    struct kestrel_sqe sqe = { .opcode = KESTREL_OP_WRITE, .tag = 77,
                               .nsegs = 4, .lba = 7, .nblocks = NB,
                               .sgl_addr = l1, .sgl_len = sizeof(a) };
    struct kestrel_cqe cqe;

    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    fill(out, LEN, 9);
    qt_memwrite(k->qt, buf, out, LEN);
    qt_memwrite(k->qt, l1, a, sizeof(a));
    qt_memwrite(k->qt, l2, b, sizeof(b));
    kdev_submit(k, &sqe);
    ck_assert(kdev_reap(k, &cqe, 10 * MS));
    ck_assert_uint_eq(cqe.tag, 77);
    ck_assert_uint_eq(KESTREL_CQE_STATUS(cqe.status), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(cqe.result, LEN);
    read_backing(7 * 512, disk, LEN);
    ck_assert_int_eq(memcmp(disk, out, LEN), 0);
}
END_TEST

START_TEST(ring_wraps_many_laps)
{
    uint64_t buf = qt_galloc(k->qt, 512, 4096);
    struct kestrel_cqe cqe;
    unsigned i;

    ck_assert_int_eq(kdev_enable(k, 4, 4), 0);
    for (i = 0; i < 13; i++) {
        struct kestrel_sqe sqe = { .opcode = KESTREL_OP_WRITE,
                                   .tag = (uint16_t)(500 + i),
                                   .lba = i, .nblocks = 1 };

        kdev_sgl(k, &sqe, buf, 512, 1);
        kdev_submit(k, &sqe);
        ck_assert_msg(kdev_reap(k, &cqe, 10 * MS), "no CQE for %u", i);
        ck_assert_uint_eq(cqe.tag, 500 + i);
        ck_assert_uint_eq(cqe.sq_head, (i + 1) % 4);
    }
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_SQ_HEAD), 13 % 4);
}
END_TEST

START_TEST(reset_clears_state)
{
    uint64_t buf = qt_galloc(k->qt, 512, 4096);

    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_WRITE, 0, 1, buf, 1), 0);
    kdev_wr(k, KESTREL_REG_INTR_MASK, KESTREL_INTR_ERROR);
    kdev_wr(k, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_STATUS), 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_CTRL), 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_SQ_SIZE), 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_SQ_BASE_LO), 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_SQ_HEAD), 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_CQ_TAIL), 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_INTR_MASK), 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_INTR_STATUS), 0);
    /* and it comes back */
    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_READ, 0, 1, buf, 1), 0);
}
END_TEST

START_TEST(intx_fallback)
{
    uint64_t buf;
    int gsi;

    kdev_stop(k);
    start_with("msi=off", false);
    buf = qt_galloc(k->qt, 512, 4096);
    ck_assert_int_eq(qt_intx_setup(k->pci, &gsi), 0);
    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    ck_assert_int_eq(qt_intx_level(k->pci), 0);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_WRITE, 1, 1, buf, 1), 0);
    ck_assert_int_eq(qt_intx_level(k->pci), 1);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_INTR_STATUS), KESTREL_INTR_CQ);
    kdev_wr(k, KESTREL_REG_INTR_STATUS, KESTREL_INTR_CQ);
    ck_assert_int_eq(qt_intx_level(k->pci), 0);
    /* masked: the status bit sets but the line stays low */
    kdev_wr(k, KESTREL_REG_INTR_MASK, KESTREL_INTR_CQ);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_WRITE, 1, 1, buf, 1), 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_INTR_STATUS), KESTREL_INTR_CQ);
    ck_assert_int_eq(qt_intx_level(k->pci), 0);
    kdev_wr(k, KESTREL_REG_INTR_MASK, 0);
    ck_assert_int_eq(qt_intx_level(k->pci), 1);
}
END_TEST

START_TEST(msi_fallback)
{
    uint64_t buf;

    kdev_stop(k);
    start_with(NULL, false);
    buf = qt_galloc(k->qt, 512, 4096);
    ck_assert_int_eq(qt_msi_setup(k->pci, 0), 0);
    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    ck_assert_int_eq(qt_msi_fired(k->pci), 0);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_WRITE, 1, 1, buf, 1), 0);
    ck_assert_int_eq(qt_msi_fired(k->pci), 1);
}
END_TEST

START_TEST(d3hot_loses_state)
{
    uint8_t pm;
    uint32_t pmcsr;

    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    ck_assert_int_eq(qt_pci_find_cap(k->pci, 0x01, 0, &pm), 0);
    qt_pci_cfg_write(k->pci, pm + 4, 2, 3);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), 0xffffffff);
    qt_pci_cfg_write(k->pci, pm + 4, 2, 0);
    qt_pci_cfg_read(k->pci, pm + 4, 2, &pmcsr);
    ck_assert_uint_eq(pmcsr & 3, 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_STATUS), 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_SQ_SIZE), 0);
    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
}
END_TEST

START_TEST(pmcsr_d1_d2_ignored_and_reset_to_d0)
{
    uint8_t pm;
    uint32_t pmcsr;

    ck_assert_int_eq(qt_pci_find_cap(k->pci, 0x01, 0, &pm), 0);
    qt_pci_cfg_write(k->pci, pm + 4, 2, 1);     /* D1: not advertised */
    qt_pci_cfg_read(k->pci, pm + 4, 2, &pmcsr);
    ck_assert_uint_eq(pmcsr & 3, 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    qt_pci_cfg_write(k->pci, pm + 4, 2, 3);
    ck_assert_int_eq(qt_qmp_ok(k->qt, "{'execute':'system_reset'}"), 0);
    ck_assert_int_eq(qt_qmp_wait_event(k->qt, "RESET", 5000, NULL), 0);
    qt_pci_cfg_read(k->pci, pm + 4, 2, &pmcsr);
    ck_assert_uint_eq(pmcsr & 3, 0);
    qt_pci_map_bars(k->pci);
    qt_pci_enable(k->pci);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
}
END_TEST

/* ---- fault engine over QMP ------------------------------------------ */

START_TEST(fault_add_at_startup)
{
    char err[2048], text[256];

    kdev_stop(k);
    start_with("fault-add=irq:drop:once", true);
    ck_assert_int_eq(qt_qom_get_str(k->qt, KDEV_QOM, "faults", text,
                                    sizeof(text)), 0);
    ck_assert_str_eq(text, "irq:drop:once");
    kdev_stop(k);
    k = kdev_start("faults=cq.post:drop,fault-add=reset:stall", BLOCKS, true,
                   err, sizeof(err));
    ck_assert_msg(k, "%s", err);
    ck_assert_int_eq(qt_qom_get_str(k->qt, KDEV_QOM, "faults", text,
                                    sizeof(text)), 0);
    ck_assert_str_eq(text, "cq.post:drop;reset:stall");
}
END_TEST

START_TEST(bad_rule_rejected_with_position)
{
    char err[512], text[512];

    ck_assert_int_eq(kdev_set_faults(k, "irq:drop:nth=5", err, sizeof(err)),
                     0);
    ck_assert_int_ne(kdev_set_faults(k, "cq.post:dorp", err, sizeof(err)), 0);
    ck_assert_msg(strstr(err, "column 9"), "error without position: %s", err);
    ck_assert_msg(strstr(err, "dorp"), "error without token: %s", err);
    ck_assert_int_eq(qt_qom_get_str(k->qt, KDEV_QOM, "faults", text,
                                    sizeof(text)), 0);
    ck_assert_str_eq(text, "irq:drop:nth=5");
    ck_assert_int_ne(kdev_set_faults(k, "cq.post:corrupt(tag=0x10000)", err,
                                     sizeof(err)), 0);
    ck_assert_int_ne(kdev_set_faults(k, "irq:duplicate", err, sizeof(err)), 0);
    ck_assert_int_eq(qt_qom_get_str(k->qt, KDEV_QOM, "faults", text,
                                    sizeof(text)), 0);
    ck_assert_str_eq(text, "irq:drop:nth=5");
}
END_TEST

START_TEST(bad_rule_at_startup_fails_cleanly)
{
    char err[2048];
    Kdev *bad;

    bad = kdev_start("faults=sq.fetch:explode", 64, true, err, sizeof(err));
    ck_assert_ptr_null(bad);
    ck_assert_msg(strstr(err, "explode"), "unclear error: %s", err);
}
END_TEST

START_TEST(corrupt_tag_fires_on_nth)
{
    uint64_t buf = qt_galloc(k->qt, 512, 4096);
    struct kestrel_cqe cqe;
    unsigned i;

    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    ck_assert_int_eq(kdev_set_faults(k, "cq.post:corrupt(tag=0xffff):nth=3",
                                     NULL, 0), 0);
    ck_assert_int_eq(kdev_fault_fired(k, 0), 0);
    for (i = 1; i <= 4; i++) {
        struct kestrel_sqe sqe = { .opcode = KESTREL_OP_READ,
                                   .tag = (uint16_t)i, .nblocks = 1 };

        kdev_sgl(k, &sqe, buf, 512, 1);
        kdev_submit(k, &sqe);
        ck_assert(kdev_reap(k, &cqe, 10 * MS));
        ck_assert_uint_eq(cqe.tag, i == 3 ? 0xffff : i);
    }
    ck_assert_int_eq(kdev_fault_fired(k, 0), 1);
}
END_TEST

static void submit_read(uint16_t tag, uint64_t buf)
{
    struct kestrel_sqe sqe = { .opcode = KESTREL_OP_READ, .tag = tag,
                               .nblocks = 1 };

    kdev_sgl(k, &sqe, buf, 512, 1);
    kdev_submit(k, &sqe);
}

START_TEST(drop_delay_and_stall_completions)
{
    uint64_t buf = qt_galloc(k->qt, 512, 4096);
    struct kestrel_cqe cqe;

    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    ck_assert_int_eq(kdev_set_faults(k, "cq.post:drop:once", NULL, 0), 0);
    submit_read(1, buf);
    ck_assert(!kdev_reap(k, &cqe, 5 * MS));
    ck_assert_int_eq(kdev_fault_fired(k, 0), 1);

    ck_assert_int_eq(kdev_set_faults(k, "cq.post:delay(20ms):once", NULL, 0),
                     0);
    submit_read(2, buf);
    ck_assert(!kdev_reap(k, &cqe, 15 * MS));
    ck_assert(kdev_reap(k, &cqe, 10 * MS));
    ck_assert_uint_eq(cqe.tag, 2);

    ck_assert_int_eq(kdev_set_faults(k, "cq.post:stall", NULL, 0), 0);
    submit_read(3, buf);
    ck_assert(!kdev_reap(k, &cqe, 20 * MS));
    ck_assert_int_eq(kdev_set_faults(k, "", NULL, 0), 0);
    ck_assert(!kdev_reap(k, &cqe, 5 * MS));     /* until reset */
    kdev_wr(k, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    submit_read(4, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    ck_assert_uint_eq(cqe.tag, 4);
}
END_TEST

START_TEST(duplicate_and_wrong_phase)
{
    uint64_t buf = qt_galloc(k->qt, 512, 4096);
    struct kestrel_cqe cqe;

    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    ck_assert_int_eq(kdev_set_faults(k, "cq.post:duplicate:once", NULL, 0), 0);
    submit_read(9, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    ck_assert_uint_eq(cqe.tag, 9);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    ck_assert_uint_eq(cqe.tag, 9);
    ck_assert_int_eq(kdev_set_faults(k, "cq.post:corrupt(phase):once", NULL,
                                     0), 0);
    submit_read(10, buf);
    ck_assert(!kdev_reap(k, &cqe, 5 * MS));
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_CQ_TAIL), 3);
    ck_assert_int_eq(kdev_fault_fired(k, 0), 1);
}
END_TEST

START_TEST(interrupt_faults)
{
    uint64_t buf = qt_galloc(k->qt, 512, 4096);
    struct kestrel_cqe cqe;
    int storms = 0, i;

    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    ck_assert_int_eq(kdev_set_faults(k, "irq:drop:once", NULL, 0), 0);
    submit_read(1, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));      /* posted ... */
    ck_assert_int_eq(qt_msix_fired(k->pci, KESTREL_VEC_CQ), 0); /* silent */
    submit_read(2, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    ck_assert_int_eq(qt_msix_fired(k->pci, KESTREL_VEC_CQ), 1);

    ck_assert_int_eq(kdev_set_faults(k, "sq.fetch:spurious:once", NULL, 0),
                     0);
    submit_read(3, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    ck_assert_int_eq(kdev_fault_fired(k, 0), 1);

    ck_assert_int_eq(kdev_set_faults(k,
                                     "sq.fetch:storm(count=20,interval=1ms)"
                                     ":once", NULL, 0), 0);
    submit_read(4, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    qt_msix_fired(k->pci, KESTREL_VEC_CQ);
    for (i = 0; i < 40; i++) {
        qt_clock_step(k->qt, 1 * MS, NULL);
        storms += qt_msix_fired(k->pci, KESTREL_VEC_CQ) == 1;
    }
    ck_assert_int_ge(storms, 15);
}
END_TEST

START_TEST(fatal_and_surprise_removal)
{
    uint64_t buf = qt_galloc(k->qt, 512, 4096);
    struct kestrel_cqe cqe;

    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    ck_assert_int_eq(kdev_set_faults(k, "sq.fetch:fatal:once", NULL, 0), 0);
    submit_read(1, buf);
    ck_assert(!kdev_reap(k, &cqe, 5 * MS));
    ck_assert(kdev_rd(k, KESTREL_REG_STATUS) & KESTREL_STATUS_FATAL);
    ck_assert_int_eq(qt_msix_fired(k->pci, KESTREL_VEC_ERROR), 1);
    ck_assert_uint_ge(kdev_rd(k, KESTREL_REG_ERR_COUNT), 1);
    kdev_wr(k, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);

    ck_assert_int_eq(kdev_set_faults(k, "sq.fetch:allones:once", NULL, 0), 0);
    submit_read(2, buf);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_STATUS), 0xffffffff);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), 0xffffffff);
    ck_assert(!kdev_reap(k, &cqe, 5 * MS));
    /* replacing the rules brings the link back */
    ck_assert_int_eq(kdev_set_faults(k, "", NULL, 0), 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
}
END_TEST

START_TEST(dma_faults)
{
    enum { LEN = 4 * 512 };
    uint64_t buf = qt_galloc(k->qt, LEN, 4096);
    uint8_t out[LEN], disk[LEN];

    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    fill(out, LEN, 5);
    qt_memwrite(k->qt, buf, out, LEN);
    ck_assert_int_eq(kdev_set_faults(k, "dma.read:corrupt(offset=3,value=0x5a)"
                                     ":once", NULL, 0), 0);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_WRITE, 20, 4, buf, 2), 0);
    read_backing(20 * 512, disk, LEN);
    ck_assert_uint_eq(disk[3], 0x5a);
    ck_assert_int_eq(memcmp(disk + 4, out + 4, LEN - 4), 0);

    ck_assert_int_eq(kdev_set_faults(k, "dma.write[op=read]:dma_error:once",
                                     NULL, 0), 0);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_READ, 20, 4, buf, 2),
                     KESTREL_SC_DATA_XFER_ERROR);
    ck_assert_int_eq(kdev_set_faults(k, "sgl.fetch:corrupt(len=0):once", NULL,
                                     0), 0);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_READ, 20, 4, buf, 2),
                     KESTREL_SC_SGL_INVALID);
    ck_assert_int_eq(kdev_fault_fired(k, 0), 1);
}
END_TEST

START_TEST(slow_and_stuck_reset)
{
    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    ck_assert_int_eq(kdev_set_faults(k, "reset:delay(10ms):once", NULL, 0), 0);
    kdev_wr(k, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    ck_assert(kdev_rd(k, KESTREL_REG_STATUS) & KESTREL_STATUS_RESETTING);
    qt_clock_step(k->qt, 5 * MS, NULL);
    ck_assert(kdev_rd(k, KESTREL_REG_STATUS) & KESTREL_STATUS_RESETTING);
    qt_clock_step(k->qt, 6 * MS, NULL);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_STATUS), 0);

    ck_assert_int_eq(kdev_set_faults(k, "reset:stall", NULL, 0), 0);
    kdev_wr(k, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    qt_clock_step(k->qt, 1000 * MS, NULL);
    ck_assert(kdev_rd(k, KESTREL_REG_STATUS) & KESTREL_STATUS_RESETTING);
    ck_assert_int_eq(kdev_fault_fired(k, 0), 1);
    /* a PCI-level (system) reset is the only way out */
    ck_assert_int_eq(qt_qmp_ok(k->qt, "{'execute':'system_reset'}"), 0);
    ck_assert_int_eq(qt_qmp_wait_event(k->qt, "RESET", 5000, NULL), 0);
    qt_pci_map_bars(k->pci);
    qt_pci_enable(k->pci);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_STATUS), 0);
}
END_TEST

START_TEST(same_rules_same_seed_same_faults)
{
    uint64_t buf;
    char pattern[2][64];
    struct kestrel_cqe cqe;
    int run, i;

    for (run = 0; run < 2; run++) {
        if (run) {
            kdev_stop(k);
            start_with(NULL, true);
        }
        buf = qt_galloc(k->qt, 512, 4096);
        ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
        ck_assert_int_eq(kdev_set_faults(k, "cq.post:corrupt(status=0x33)"
                                         ":prob=0.5,seed=42", NULL, 0), 0);
        for (i = 0; i < 40; i++) {
            submit_read((uint16_t)i, buf);
            ck_assert(kdev_reap(k, &cqe, 5 * MS));
            pattern[run][i] = KESTREL_CQE_STATUS(cqe.status) ? 'x' : '.';
        }
        pattern[run][40] = '\0';
    }
    ck_assert_str_eq(pattern[0], pattern[1]);
    ck_assert(strchr(pattern[0], 'x') && strchr(pattern[0], '.'));
}
END_TEST

/* ---- hostile guest ---------------------------------------------------- */

START_TEST(guest_errors_leave_qemu_alive)
{
    uint64_t buf = qt_galloc(k->qt, 8192, 4096), list = qt_galloc(k->qt, 64,
                                                                  16);
    uint64_t bar0 = k->pci->bar[KESTREL_BAR_REGS].addr;
    struct kestrel_identify id;
    struct kestrel_cqe cqe;
    uint32_t errs;
    unsigned i;

    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    errs = kdev_rd(k, KESTREL_REG_ERR_COUNT);
    /* doorbells past the rings */
    kdev_wr(k, KESTREL_REG_SQ_TAIL_DB, 8);
    kdev_wr(k, KESTREL_REG_SQ_TAIL_DB, 0xffffffff);
    kdev_wr(k, KESTREL_REG_CQ_HEAD_DB, 5);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_ERR_COUNT), errs + 3);
    /* data outside RAM, zero length, and DMA aimed at our own BAR */
    {
        struct kestrel_sg_desc bad[3] = {
            { 0xfffffffff000ull, 512, KESTREL_SG_DATA, 0 },
            { buf, 0, KESTREL_SG_DATA, 0 },
            { bar0 + KESTREL_REG_RESET, 512, KESTREL_SG_DATA, 0 },
        };
        uint16_t want[3] = { KESTREL_SC_DATA_XFER_ERROR,
                             KESTREL_SC_SGL_INVALID, KESTREL_SC_SUCCESS };

        for (i = 0; i < 3; i++) {
            struct kestrel_sqe sqe = { .opcode = KESTREL_OP_READ,
                                       .tag = (uint16_t)(30 + i),
                                       .nblocks = 1, .nsegs = 1,
                                       .sgl_addr = list, .sgl_len = 16 };

            qt_memwrite(k->qt, list, &bad[i], 16);
            kdev_submit(k, &sqe);
            ck_assert(kdev_reap(k, &cqe, 5 * MS));
            ck_assert_uint_eq(cqe.tag, 30 + i);
            if (i < 2) {
                ck_assert_uint_eq(KESTREL_CQE_STATUS(cqe.status), want[i]);
            }
        }
    }
    /* a self-referencing chain terminates */
    {
        struct kestrel_sg_desc loop = { list, 16, KESTREL_SG_CHAIN, 0 };
        struct kestrel_sqe sqe = { .opcode = KESTREL_OP_WRITE, .tag = 40,
                                   .nblocks = 1, .nsegs = 1,
                                   .sgl_addr = list, .sgl_len = 16 };

        qt_memwrite(k->qt, list, &loop, 16);
        kdev_submit(k, &sqe);
        ck_assert(kdev_reap(k, &cqe, 5 * MS));
        ck_assert_uint_eq(KESTREL_CQE_STATUS(cqe.status),
                          KESTREL_SC_SGL_INVALID);
    }
    /* byte and unaligned accesses, random writes over all of BAR0 */
    qt_writeb(k->qt, bar0 + KESTREL_REG_CTRL, 0xff);
    qt_writel(k->qt, bar0 + KESTREL_REG_CTRL + 1, 0xffffffff);
    srand(1);
    for (i = 0; i < 2000; i++) {
        uint32_t off = (uint32_t)(rand() % KESTREL_BAR_REGS_SIZE) & ~3u;

        kdev_wr(k, off, (uint32_t)rand());
        if (i % 100 == 0) {
            qt_clock_step(k->qt, 1 * MS, NULL);
        }
    }
    ck_assert_int_eq(qt_alive(k->qt), 1);
    /* after a reset the device works again */
    kdev_wr(k, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    qt_clock_step(k->qt, 1 * MS, NULL);
    kdev_wr(k, KESTREL_REG_CTRL, 0);
    qt_clock_step(k->qt, 1 * MS, NULL);
    kdev_set_faults(k, "", NULL, 0);
    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    ck_assert_int_eq(kdev_identify(k, &id), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(id.magic, KESTREL_IDENTIFY_MAGIC);
}
END_TEST

START_TEST(sq_outside_ram_is_fatal)
{
    kdev_wr(k, KESTREL_REG_SQ_BASE_LO, 0);
    kdev_wr(k, KESTREL_REG_SQ_BASE_HI, 0xfff0);
    kdev_wr(k, KESTREL_REG_SQ_SIZE, 8);
    kdev_wr(k, KESTREL_REG_CQ_BASE_LO, (uint32_t)qt_galloc(k->qt, 4096,
                                                            4096));
    kdev_wr(k, KESTREL_REG_CQ_SIZE, 8);
    kdev_wr(k, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
    qt_clock_step(k->qt, 5 * MS, NULL);
    ck_assert(kdev_rd(k, KESTREL_REG_STATUS) & KESTREL_STATUS_RDY);
    kdev_wr(k, KESTREL_REG_SQ_TAIL_DB, 1);
    qt_clock_step(k->qt, 1 * MS, NULL);
    ck_assert(kdev_rd(k, KESTREL_REG_STATUS) & KESTREL_STATUS_FATAL);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_ERR_LOG) & 0xffff,
                      KESTREL_ERR_SQ_FETCH);
}
END_TEST

/* ---- migration ---------------------------------------------------- */

START_TEST(vmstate_round_trip)
{
    char err[2048], text[256];
    uint64_t buf = qt_galloc(k->qt, 512, 4096);
    struct kestrel_cqe cqe;

    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    ck_assert_int_eq(kdev_set_faults(k, "cq.post:corrupt(tag=0x4242):nth=2",
                                     NULL, 0), 0);
    submit_read(1, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    ck_assert_uint_eq(cqe.tag, 1);
    ck_assert_msg(kdev_migrate(k, err, sizeof(err)) == 0, "%s", err);
    ck_assert(kdev_rd(k, KESTREL_REG_STATUS) & KESTREL_STATUS_RDY);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_SQ_HEAD), 1);
    ck_assert_int_eq(qt_qom_get_str(k->qt, KDEV_QOM, "faults", text,
                                    sizeof(text)), 0);
    ck_assert_str_eq(text, "cq.post:corrupt(tag=0x4242):nth=2");
    /* the rule's hit counter came along: the next completion is the 2nd */
    submit_read(2, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    ck_assert_uint_eq(cqe.tag, 0x4242);
    ck_assert_int_eq(kdev_fault_fired(k, 0), 1);
}
END_TEST

static void timing_setup(void)
{
    start_with("ready-delay-us=5000", true);
}

static Suite *device_suite(void)
{
    Suite *s = suite_create("device");
    TCase *t;

    t = tcase_create("basic");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, device_listed);
    tcase_add_test(t, capabilities_and_identify);
    tcase_add_test(t, write_read_backing_file);
    tcase_add_test(t, chained_segment_list);
    tcase_add_test(t, ring_wraps_many_laps);
    tcase_add_test(t, reset_clears_state);
    tcase_add_test(t, intx_fallback);
    tcase_add_test(t, msi_fallback);
    tcase_add_test(t, d3hot_loses_state);
    tcase_add_test(t, pmcsr_d1_d2_ignored_and_reset_to_d0);
    suite_add_tcase(s, t);

    t = tcase_create("timing");
    tcase_add_checked_fixture(t, timing_setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, ready_takes_virtual_time);
    suite_add_tcase(s, t);

    t = tcase_create("faults");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, bad_rule_rejected_with_position);
    tcase_add_test(t, bad_rule_at_startup_fails_cleanly);
    tcase_add_test(t, fault_add_at_startup);
    tcase_add_test(t, corrupt_tag_fires_on_nth);
    tcase_add_test(t, drop_delay_and_stall_completions);
    tcase_add_test(t, duplicate_and_wrong_phase);
    tcase_add_test(t, interrupt_faults);
    tcase_add_test(t, fatal_and_surprise_removal);
    tcase_add_test(t, dma_faults);
    tcase_add_test(t, slow_and_stuck_reset);
    tcase_add_test(t, same_rules_same_seed_same_faults);
    suite_add_tcase(s, t);

    t = tcase_create("hostile");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, guest_errors_leave_qemu_alive);
    tcase_add_test(t, sq_outside_ram_is_fatal);
    tcase_add_test(t, vmstate_round_trip);
    suite_add_tcase(s, t);
    return s;
}

int main(int argc, char **argv)
{
    SRunner *sr;
    Suite *s;
    int failed;

    if (!getenv("GAUNTLET_QEMU")) {
        fprintf(stderr, "GAUNTLET_QEMU must name the QEMU binary to test\n");
        return 1;
    }
    s = device_suite();
    sr = srunner_create(s);
    if (argc > 1) {
        srunner_run(sr, NULL, argv[1], CK_NORMAL);
    } else {
        srunner_run_all(sr, CK_NORMAL);
    }
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
