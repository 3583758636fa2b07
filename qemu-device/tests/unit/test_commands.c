/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kestrel command set: IDENTIFY, READ, WRITE, FLUSH, command validation,
 * segment lists, DMA and backend failures.
 */
#include "unit.h"

static KestrelHost *h;

#define L1      0x50000u        /* hand-built segment lists */
#define L2      0x51000u
#define L3      0x52000u
#define DA      0x300000u       /* data buffers */
#define DB      0x308000u
#define DC      0x310000u
#define DD      0x318000u

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

static struct kestrel_sqe cmd(uint8_t op, uint16_t tag, uint64_t lba,
                              uint32_t nblocks, uint32_t nsegs,
                              uint64_t list, uint32_t list_len)
{
    struct kestrel_sqe s = ut_sqe(op, tag);

    s.lba = cpu_to_le64(lba);
    s.nblocks = cpu_to_le32(nblocks);
    s.nsegs = cpu_to_le32(nsegs);
    s.sgl_addr = cpu_to_le64(list);
    s.sgl_len = cpu_to_le32(list_len);
    return s;
}

static bool disk_is_zero(uint64_t off, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (h->disk[off + i]) {
            return false;
        }
    }
    return true;
}

/* ---- IDENTIFY --------------------------------------------------------- */

START_TEST(test_identify)
{
    struct kestrel_identify id;
    struct kestrel_cqe e;
    struct kestrel_sqe s;
    uint8_t raw[512];

    /* scattered in two uneven segments */
    memset(h->ram + DA, 0xee, 1024);
    memset(h->ram + DB, 0xee, 1024);
    ut_desc(h, L1, DA, 200, KESTREL_SG_DATA);
    ut_desc(h, L1 + 16, DB, 312, KESTREL_SG_DATA);
    s = cmd(KESTREL_OP_IDENTIFY, 0x4242, 0, 0, 2, L1, 32);
    e = ut_exec(h, &s);
    ck_assert_uint_eq(e.tag, 0x4242);
    ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(le32_to_cpu(e.result), 512);
    memcpy(raw, h->ram + DA, 200);
    memcpy(raw + 200, h->ram + DB, 312);
    /* nothing beyond the segments was written */
    ck_assert_uint_eq(h->ram[DA + 200], 0xee);
    ck_assert_uint_eq(h->ram[DB + 312], 0xee);
    memcpy(&id, raw, sizeof(id));
    ck_assert_uint_eq(le32_to_cpu(id.magic), KESTREL_IDENTIFY_MAGIC);
    ck_assert_uint_eq(le32_to_cpu(id.version), KESTREL_VERSION_1_0);
    ck_assert_uint_eq(le64_to_cpu(id.capacity), 2048);
    ck_assert_uint_eq(le32_to_cpu(id.block_size), 512);
    ck_assert_uint_eq(le32_to_cpu(id.max_qdepth), 64);
    ck_assert_uint_eq(le32_to_cpu(id.max_segs), 32);
    ck_assert_uint_eq(le32_to_cpu(id.max_xfer_blocks),
                      kh_read(h, KESTREL_REG_CAP_MAXXFER));
    ck_assert_uint_eq(le32_to_cpu(id.nvec), KESTREL_NVEC);
    ck_assert_mem_eq(id.serial, "KH-TEST             ", 20);
    ck_assert_mem_eq(id.model, "Gauntlet Kestrel", 16);
    ck_assert_uint_eq(id.model[39], ' ');
    ck_assert_mem_eq(id.firmware, "1.0     ", 8);
    for (unsigned i = 0; i < 101; i++) {
        ck_assert_uint_eq(id.rsvd[i], 0);
    }
}
END_TEST

START_TEST(test_identify_config)
{
    KestrelConfig cfg = kh_default_config();
    struct kestrel_identify id;
    struct kestrel_sqe s;

    cfg.queue_depth = 300;
    cfg.block_size = 4096;
    cfg.capacity_blocks = 100;
    cfg.max_segments = 7;
    memcpy(cfg.serial, "ABCDEFGHIJKLMNOPQRST", 21);  /* exactly 20 */
    kh_free(h);
    h = ut_host_cfg(&cfg);
    ut_enable(h, 4, 4);
    ut_desc(h, L1, DA, 512, KESTREL_SG_DATA);
    s = cmd(KESTREL_OP_IDENTIFY, 1, 0, 0, 1, L1, 16);
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    memcpy(&id, h->ram + DA, sizeof(id));
    ck_assert_uint_eq(le32_to_cpu(id.magic), KESTREL_IDENTIFY_MAGIC);
    ck_assert_uint_eq(le64_to_cpu(id.capacity), 100);
    ck_assert_uint_eq(le32_to_cpu(id.block_size), 4096);
    ck_assert_uint_eq(le32_to_cpu(id.max_qdepth), 300);
    ck_assert_uint_eq(le32_to_cpu(id.max_segs), 7);
    ck_assert_uint_eq(le32_to_cpu(id.max_xfer_blocks), 256);
    ck_assert_mem_eq(id.serial, "ABCDEFGHIJKLMNOPQRST", 20);
}
END_TEST

START_TEST(test_identify_bad_fields)
{
    struct kestrel_sqe s;

    ut_desc(h, L1, DA, 512, KESTREL_SG_DATA);
    s = cmd(KESTREL_OP_IDENTIFY, 1, 1, 0, 1, L1, 16);
    ut_expect(h, s, KESTREL_SC_INVALID_FIELD);
    s = cmd(KESTREL_OP_IDENTIFY, 2, 0, 1, 1, L1, 16);
    ut_expect(h, s, KESTREL_SC_INVALID_FIELD);
    /* the list must describe exactly 512 bytes */
    ut_desc(h, L2, DA, 256, KESTREL_SG_DATA);
    s = cmd(KESTREL_OP_IDENTIFY, 3, 0, 0, 1, L2, 16);
    ut_expect(h, s, KESTREL_SC_SGL_INVALID);
    ut_desc(h, L3, DA, 4096, KESTREL_SG_DATA);
    s = cmd(KESTREL_OP_IDENTIFY, 4, 0, 0, 1, L3, 16);
    ut_expect(h, s, KESTREL_SC_SGL_INVALID);
    ck_assert(ut_ram_is_zero(h, DA, 4096));
}
END_TEST

/* ---- READ / WRITE ----------------------------------------------------- */

START_TEST(test_write_read_single)
{
    uint8_t pat[2048];
    struct kestrel_cqe e;
    struct kestrel_sqe s;

    ut_fill(pat, sizeof(pat), 1);
    memcpy(h->ram + ut_buf(1), pat, sizeof(pat));
    s = ut_rw(h, KESTREL_OP_WRITE, 1, 33, 4);
    e = ut_exec(h, &s);
    ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(le32_to_cpu(e.result), 2048);
    ck_assert_mem_eq(h->disk + 33 * 512, pat, sizeof(pat));
    ck_assert(disk_is_zero(32 * 512, 512));
    ck_assert(disk_is_zero(37 * 512, 512));

    s = ut_rw(h, KESTREL_OP_READ, 2, 34, 2);
    e = ut_exec(h, &s);
    ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(le32_to_cpu(e.result), 1024);
    ck_assert_mem_eq(h->ram + ut_buf(2), pat + 512, 1024);
    ck_assert(ut_ram_is_zero(h, ut_buf(2) + 1024, 512));
}
END_TEST

START_TEST(test_write_read_multiseg)
{
    uint8_t pat[2048], back[2048];
    struct kestrel_sqe s;

    ut_fill(pat, sizeof(pat), 9);
    /* uneven pieces, out of address order */
    memcpy(h->ram + DC, pat, 100);
    memcpy(h->ram + DA, pat + 100, 1000);
    memcpy(h->ram + DB, pat + 1100, 948);
    ut_desc(h, L1, DC, 100, KESTREL_SG_DATA);
    ut_desc(h, L1 + 16, DA, 1000, KESTREL_SG_DATA);
    ut_desc(h, L1 + 32, DB, 948, KESTREL_SG_DATA);
    s = cmd(KESTREL_OP_WRITE, 7, 1000, 4, 3, L1, 48);
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    ck_assert_mem_eq(h->disk + 1000 * 512, pat, sizeof(pat));

    /* read back through four other segments */
    ut_desc(h, L2, DD + 3 * 512, 512, KESTREL_SG_DATA);
    ut_desc(h, L2 + 16, DD + 2 * 512, 512, KESTREL_SG_DATA);
    ut_desc(h, L2 + 32, DD + 1 * 512, 512, KESTREL_SG_DATA);
    ut_desc(h, L2 + 48, DD, 512, KESTREL_SG_DATA);
    s = cmd(KESTREL_OP_READ, 8, 1000, 4, 4, L2, 64);
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    memcpy(back, h->ram + DD + 3 * 512, 512);
    memcpy(back + 512, h->ram + DD + 2 * 512, 512);
    memcpy(back + 1024, h->ram + DD + 512, 512);
    memcpy(back + 1536, h->ram + DD, 512);
    ck_assert_mem_eq(back, pat, sizeof(pat));
}
END_TEST

START_TEST(test_write_read_chained)
{
    uint8_t pat[2048];
    struct kestrel_sqe s;

    ut_fill(pat, sizeof(pat), 77);
    memcpy(h->ram + DA, pat, 1024);
    memcpy(h->ram + DB, pat + 1024, 512);
    memcpy(h->ram + DC, pat + 1536, 512);
    /* L1: data, CHAIN -> L2; L2: data, data */
    ut_desc(h, L1, DA, 1024, KESTREL_SG_DATA);
    ut_desc(h, L1 + 16, L2, 32, KESTREL_SG_CHAIN);
    ut_desc(h, L2, DB, 512, KESTREL_SG_DATA);
    ut_desc(h, L2 + 16, DC, 512, KESTREL_SG_DATA);
    s = cmd(KESTREL_OP_WRITE, 1, 5, 4, 3, L1, 32);
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    ck_assert_mem_eq(h->disk + 5 * 512, pat, sizeof(pat));

    /* three lists, one of them holding only the chain */
    ut_desc(h, L3, L1, 32, KESTREL_SG_CHAIN);
    ut_desc(h, L1, DD, 1536, KESTREL_SG_DATA);
    ut_desc(h, L1 + 16, L2, 16, KESTREL_SG_CHAIN);
    ut_desc(h, L2, DD + 4096, 512, KESTREL_SG_DATA);
    s = cmd(KESTREL_OP_READ, 2, 5, 4, 2, L3, 16);
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    ck_assert_mem_eq(h->ram + DD, pat, 1536);
    ck_assert_mem_eq(h->ram + DD + 4096, pat + 1536, 512);
}
END_TEST

START_TEST(test_max_transfer)
{
    uint32_t max = kh_read(h, KESTREL_REG_CAP_MAXXFER);
    uint32_t bytes = max * 512;
    struct kestrel_sqe s;
    struct kestrel_cqe e;

    ck_assert_uint_eq(bytes, KESTREL_MAX_XFER_BYTES);
    ut_fill(h->ram + UT_BUF_BASE, bytes, 5);
    ut_desc(h, L1, UT_BUF_BASE, bytes, KESTREL_SG_DATA);
    s = cmd(KESTREL_OP_WRITE, 1, 0, max, 1, L1, 16);
    e = ut_exec(h, &s);
    ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(le32_to_cpu(e.result), bytes);
    ck_assert_mem_eq(h->disk, h->ram + UT_BUF_BASE, bytes);
    /* one block more is too much */
    s = cmd(KESTREL_OP_WRITE, 2, 0, max + 1, 1, L1, 16);
    ut_expect(h, s, KESTREL_SC_INVALID_FIELD);
}
END_TEST

START_TEST(test_maxseg_limit)
{
    struct kestrel_sqe s;
    unsigned i;

    /* CAP_MAXSEG (32) segments of 16 bytes: fine; 33: refused */
    ut_fill(h->ram + DA, 1024, 3);
    for (i = 0; i < 33; i++) {
        ut_desc(h, L1 + 16 * i, DA + 16 * i, 16, KESTREL_SG_DATA);
    }
    s = cmd(KESTREL_OP_WRITE, 1, 2, 1, 32, L1, 32 * 16);
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    ck_assert_mem_eq(h->disk + 1024, h->ram + DA, 512);
    ut_desc(h, L1 + 16 * 31, DA + 16 * 31, 8, KESTREL_SG_DATA);
    ut_desc(h, L1 + 16 * 32, DA + 16 * 32, 8, KESTREL_SG_DATA);
    s = cmd(KESTREL_OP_WRITE, 2, 4, 1, 33, L1, 33 * 16);
    ut_expect(h, s, KESTREL_SC_SGL_INVALID);
    ck_assert(disk_is_zero(4 * 512, 512));
}
END_TEST

/* ---- FLUSH ------------------------------------------------------------ */

START_TEST(test_flush)
{
    struct kestrel_sqe s = ut_flush(3);
    struct kestrel_cqe e = ut_exec(h, &s);

    ck_assert_uint_eq(e.tag, 3);
    ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(le32_to_cpu(e.result), 0);

    s = ut_flush(4);
    s.lba = 1;
    ut_expect(h, s, KESTREL_SC_INVALID_FIELD);
    s = ut_flush(5);
    s.nblocks = 1;
    ut_expect(h, s, KESTREL_SC_INVALID_FIELD);
    s = ut_flush(6);
    s.nsegs = 1;
    ut_expect(h, s, KESTREL_SC_INVALID_FIELD);
    s = ut_flush(7);
    s.sgl_addr = L1;
    ut_expect(h, s, KESTREL_SC_INVALID_FIELD);
    s = ut_flush(8);
    s.sgl_len = 16;
    ut_expect(h, s, KESTREL_SC_INVALID_FIELD);

    h->io_error = -5;
    ut_expect(h, ut_flush(9), KESTREL_SC_MEDIA_ERROR);
}
END_TEST

/* ---- validation ------------------------------------------------------- */

START_TEST(test_invalid_opcode)
{
    static const uint8_t ops[] = { 0x00, 0x05, 0x7f, 0x80, 0xff };
    unsigned i;

    for (i = 0; i < sizeof(ops); i++) {
        struct kestrel_sqe s = ut_rw(h, KESTREL_OP_WRITE, (uint16_t)i, 0, 1);

        s.opcode = ops[i];
        memset(h->ram + ut_buf((uint16_t)i), 0x5a, 512);
        ut_expect(h, s, KESTREL_SC_INVALID_OPCODE);
    }
    ck_assert(disk_is_zero(0, 512));
}
END_TEST

START_TEST(test_reserved_fields)
{
    static const uint8_t ops[] = {
        KESTREL_OP_IDENTIFY, KESTREL_OP_READ, KESTREL_OP_WRITE,
        KESTREL_OP_FLUSH, 0x33,
    };
    unsigned i, which;
    uint16_t tag = 0;

    memset(h->ram + ut_buf(0), 0x5a, 64 * UT_BUF_STRIDE);
    for (i = 0; i < sizeof(ops); i++) {
        for (which = 0; which < 4; which++) {
            struct kestrel_sqe s;

            if (ops[i] == KESTREL_OP_READ || ops[i] == KESTREL_OP_WRITE) {
                s = ut_rw(h, ops[i], tag, 0, 1);
            } else {
                s = ut_sqe(ops[i], tag);
            }
            switch (which) {
            case 0:
                s.flags = 0x80;
                break;
            case 1:
                s.rsvd0 = 1;
                break;
            case 2:
                s.rsvd1[0] = 0x100;
                break;
            default:
                s.rsvd1[6] = 0x80000000u;
                break;
            }
            ut_expect(h, s, KESTREL_SC_INVALID_FIELD);
            tag++;
        }
    }
    ck_assert(disk_is_zero(0, 512));
    ck_assert_uint_eq(h->ram[ut_buf(4)], 0x5a);   /* READs moved nothing */
}
END_TEST

START_TEST(test_nblocks_zero)
{
    struct kestrel_sqe s = ut_rw(h, KESTREL_OP_WRITE, 1, 0, 1);

    s.nblocks = 0;
    ut_expect(h, s, KESTREL_SC_INVALID_FIELD);
    s = ut_rw(h, KESTREL_OP_READ, 2, 0, 1);
    s.nblocks = 0;
    ut_expect(h, s, KESTREL_SC_INVALID_FIELD);
}
END_TEST

START_TEST(test_lba_range)
{
    static const struct {
        uint64_t lba;
        uint32_t n;
        unsigned want;
    } t[] = {
        { 2047, 1, KESTREL_SC_SUCCESS },        /* the last block */
        { 2048, 1, KESTREL_SC_LBA_RANGE },
        { 2047, 2, KESTREL_SC_LBA_RANGE },
        { 1, 2048, KESTREL_SC_LBA_RANGE },
        { 0, 2048, KESTREL_SC_SUCCESS },
        { UINT64_MAX, 1, KESTREL_SC_LBA_RANGE },
        { UINT64_MAX - 1, 2, KESTREL_SC_LBA_RANGE },    /* lba+n wraps */
        { UINT64_MAX - 2046, 2048, KESTREL_SC_LBA_RANGE },
        { 1ull << 63, 1, KESTREL_SC_LBA_RANGE },
        { 1ull << 32, 1, KESTREL_SC_LBA_RANGE },
    };
    unsigned i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct kestrel_sqe s;
        struct kestrel_cqe e;

        ut_desc(h, L1, UT_BUF_BASE, t[i].n * 512, KESTREL_SG_DATA);
        s = cmd(i % 2 ? KESTREL_OP_READ : KESTREL_OP_WRITE, (uint16_t)i,
                t[i].lba, t[i].n, 1, L1, 16);
        e = ut_exec(h, &s);
        ck_assert_msg(ut_status(&e) == t[i].want,
                      "lba %" PRIu64 " n %u: status %u", t[i].lba, t[i].n,
                      ut_status(&e));
    }
}
END_TEST

/* ---- segment lists ---------------------------------------------------- */

static void expect_sgl_invalid(struct kestrel_sqe s, const char *what)
{
    struct kestrel_cqe e;
    unsigned long refused = h->dma_refused;

    memset(h->disk, 0, 64 * 1024);
    e = ut_exec(h, &s);
    ck_assert_msg(ut_status(&e) == KESTREL_SC_SGL_INVALID,
                  "%s: status %u", what, ut_status(&e));
    ck_assert_uint_eq(le32_to_cpu(e.result), 0);
    ck_assert_msg(disk_is_zero(0, 64 * 1024), "%s: data written", what);
    ck_assert_uint_eq(h->dma_refused, refused);
}

START_TEST(test_sgl_errors)
{
    ut_fill(h->ram + DA, 8192, 1);

    /* zero-length data segment */
    ut_desc(h, L1, DA, 0, KESTREL_SG_DATA);
    ut_desc(h, L1 + 16, DA, 512, KESTREL_SG_DATA);
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 1, 0, 1, 2, L1, 32),
                       "zero-length");

    /* nsegs says 3, the list has 2 */
    ut_desc(h, L1, DA, 256, KESTREL_SG_DATA);
    ut_desc(h, L1 + 16, DA + 256, 256, KESTREL_SG_DATA);
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 2, 0, 1, 3, L1, 32),
                       "nsegs > segments");
    /* nsegs says 1, the list has 2 */
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 3, 0, 1, 1, L1, 32),
                       "segments > nsegs");
    /* nsegs 0 and nsegs > CAP_MAXSEG */
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 4, 0, 1, 0, L1, 32), "nsegs 0");
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 5, 0, 1, 33, L1, 32),
                       "nsegs 33");
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 5, 0, 1, 0xffffffffu, L1, 32),
                       "nsegs ~0");

    /* CHAIN that is not the last descriptor */
    ut_desc(h, L1, L2, 16, KESTREL_SG_CHAIN);
    ut_desc(h, L1 + 16, DA, 512, KESTREL_SG_DATA);
    ut_desc(h, L2, DA, 512, KESTREL_SG_DATA);
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 6, 0, 1, 1, L1, 32),
                       "chain not last");

    /* list address and length */
    ut_desc(h, L1, DA, 512, KESTREL_SG_DATA);
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 7, 0, 1, 1, L1 + 8, 16),
                       "misaligned list");
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 8, 0, 1, 1, L1, 0),
                       "list len 0");
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 9, 0, 1, 1, L1, 24),
                       "list len 24");
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 10, 0, 1, 1, L1, 4096 + 16),
                       "list len 4112");
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 10, 0, 1, 1, L1, 0xfffffff0u),
                       "list len huge");

    /* total length does not match nblocks */
    ut_desc(h, L1, DA, 500, KESTREL_SG_DATA);
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 11, 0, 1, 1, L1, 16),
                       "total short");
    ut_desc(h, L1, DA, 600, KESTREL_SG_DATA);
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 12, 0, 1, 1, L1, 16),
                       "total long");
    ut_desc(h, L1, DA, 0xffffffffu, KESTREL_SG_DATA);
    expect_sgl_invalid(cmd(KESTREL_OP_READ, 12, 0, 1, 1, L1, 16),
                       "segment ~0");

    /* reserved descriptor bits */
    ut_desc(h, L1, DA, 512, 0x0002);
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 13, 0, 1, 1, L1, 16),
                       "descriptor flags");
    ut_desc(h, L1, DA, 512, KESTREL_SG_DATA);
    h->ram[L1 + 14] = 1;        /* rsvd */
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 14, 0, 1, 1, L1, 16),
                       "descriptor rsvd");

    /* bad chain targets */
    ut_desc(h, L1, DA, 256, KESTREL_SG_DATA);
    ut_desc(h, L1 + 16, L2, 0, KESTREL_SG_CHAIN);
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 15, 0, 1, 2, L1, 32),
                       "chain len 0");
    ut_desc(h, L1 + 16, L2 + 4, 16, KESTREL_SG_CHAIN);
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 16, 0, 1, 2, L1, 32),
                       "chain misaligned");
    ut_desc(h, L1 + 16, L2, 8192, KESTREL_SG_CHAIN);
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 17, 0, 1, 2, L1, 32),
                       "chain len 8192");
}
END_TEST

START_TEST(test_sgl_chain_loops)
{
    ut_fill(h->ram + DA, 8192, 1);

    /* a list that chains to itself, with data: too many segments */
    ut_desc(h, L1, DA, 256, KESTREL_SG_DATA);
    ut_desc(h, L1 + 16, L1, 32, KESTREL_SG_CHAIN);
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 1, 0, 1, 2, L1, 32),
                       "self loop with data");
    /* the same with a total that the loop could never reach */
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 2, 0, 4, 32, L1, 32),
                       "self loop, big transfer");
    /* a list holding only a chain to itself */
    ut_desc(h, L2, L2, 16, KESTREL_SG_CHAIN);
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 3, 0, 1, 1, L2, 16),
                       "empty self loop");
    /* two lists chaining to each other */
    ut_desc(h, L2, L3, 16, KESTREL_SG_CHAIN);
    ut_desc(h, L3, L2, 16, KESTREL_SG_CHAIN);
    expect_sgl_invalid(cmd(KESTREL_OP_READ, 4, 0, 1, 1, L2, 16),
                       "two-list loop");
    /* the controller is still healthy */
    ut_desc(h, L1, DA, 512, KESTREL_SG_DATA);
    ut_expect(h, cmd(KESTREL_OP_WRITE, 5, 0, 1, 1, L1, 16),
              KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
}
END_TEST

START_TEST(test_sgl_chain_loop_max_segments)
{
    KestrelConfig cfg = kh_default_config();
    unsigned i;

    /* the walk is bounded even with CAP_MAXSEG = 1024 and full lists */
    cfg.max_segments = KESTREL_MAX_MAXSEG;
    kh_free(h);
    h = ut_host_cfg(&cfg);
    ut_enable(h, 4, 4);
    /* a 4 KiB list of 255 two-byte segments that chains to itself */
    for (i = 0; i < 255; i++) {
        ut_desc(h, L1 + 16 * i, DA + 2 * i, 2, KESTREL_SG_DATA);
    }
    ut_desc(h, L1 + 16 * 255, L1, 4096, KESTREL_SG_CHAIN);
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 1, 0, 8, 1024, L1, 4096),
                       "self loop of full lists");
    /* a chain-only list looping 1024 times */
    ut_desc(h, L2, L2, 16, KESTREL_SG_CHAIN);
    expect_sgl_invalid(cmd(KESTREL_OP_WRITE, 2, 0, 1, 1024, L2, 16),
                       "empty self loop, 1024 lists");
    ut_expect(h, ut_flush(3), KESTREL_SC_SUCCESS);
}
END_TEST

/* ---- DMA and backend failures ---------------------------------------- */

START_TEST(test_data_outside_ram)
{
    struct kestrel_sqe s;
    unsigned long refused = h->dma_refused;
    UtErr err;

    ut_desc(h, L1, UT_OUTSIDE_RAM, 512, KESTREL_SG_DATA);
    s = cmd(KESTREL_OP_WRITE, 0x11, 3, 1, 1, L1, 16);
    ut_expect(h, s, KESTREL_SC_DATA_XFER_ERROR);
    ck_assert_uint_gt(h->dma_refused, refused);
    err = ut_err_newest(h);
    ck_assert_uint_eq(err.code, KESTREL_ERR_DMA);
    ck_assert_uint_eq(err.tag, 0x11);
    ck_assert_uint_eq(err.addr, UT_OUTSIDE_RAM);
    ck_assert_uint_eq(err.info, 512);
    ck_assert(disk_is_zero(3 * 512, 512));

    /* READ: the backend ran, the copy to the guest fails */
    refused = h->dma_refused;
    memset(h->disk + 3 * 512, 0x33, 512);
    s = cmd(KESTREL_OP_READ, 0x12, 3, 1, 1, L1, 16);
    ut_expect(h, s, KESTREL_SC_DATA_XFER_ERROR);
    ck_assert_uint_gt(h->dma_refused, refused);
    ck_assert_uint_eq(ut_err_newest(h).tag, 0x12);

    /* a segment that straddles the end of RAM */
    ut_desc(h, L1, UT_RAM_SIZE - 256, 512, KESTREL_SG_DATA);
    s = cmd(KESTREL_OP_READ, 0x13, 3, 1, 1, L1, 16);
    ut_expect(h, s, KESTREL_SC_DATA_XFER_ERROR);
    ck_assert_uint_eq(ut_err_newest(h).addr, UT_RAM_SIZE - 256);

    /* an address that wraps around 2^64 */
    ut_desc(h, L1, UINT64_MAX - 255, 512, KESTREL_SG_DATA);
    s = cmd(KESTREL_OP_WRITE, 0x14, 3, 1, 1, L1, 16);
    ut_expect(h, s, KESTREL_SC_DATA_XFER_ERROR);
    ck_assert_uint_eq(ut_err_newest(h).addr, UINT64_MAX - 255);

    /* the segment list itself outside RAM */
    refused = h->dma_refused;
    s = cmd(KESTREL_OP_WRITE, 0x15, 3, 1, 1, UT_OUTSIDE_RAM, 16);
    ut_expect(h, s, KESTREL_SC_DATA_XFER_ERROR);
    ck_assert_uint_gt(h->dma_refused, refused);
    err = ut_err_newest(h);
    ck_assert_uint_eq(err.code, KESTREL_ERR_DMA);
    ck_assert_uint_eq(err.addr, UT_OUTSIDE_RAM);

    ck_assert_uint_eq(h->disk[3 * 512], 0x33);     /* no WRITE got through */
    /* none of this is fatal */
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_ERROR], 0);
}
END_TEST

START_TEST(test_sq_outside_ram)
{
    struct kestrel_cqe e;
    UtErr err;

    kh_write(h, KESTREL_REG_CTRL, 0);
    kh_write(h, KESTREL_REG_SQ_BASE_LO, 0);
    kh_write(h, KESTREL_REG_SQ_BASE_HI, 1);     /* 4 GiB: no RAM */
    kh_write(h, KESTREL_REG_SQ_SIZE, 4);
    kh_write(h, KESTREL_REG_CQ_BASE_LO, KH_CQ_BASE);
    kh_write(h, KESTREL_REG_CQ_SIZE, 4);
    kh_write(h, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
    kh_advance(h, 1 * UT_MS);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
    kh_write(h, KESTREL_REG_SQ_TAIL_DB, 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS),
                      KESTREL_STATUS_RDY | KESTREL_STATUS_FATAL);
    err = ut_err_newest(h);
    ck_assert_uint_eq(err.code, KESTREL_ERR_SQ_FETCH);
    ck_assert_uint_eq(err.addr, 0x100000000ull);
    ck_assert_uint_eq(err.info, 0);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_ERROR], 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_INTR_STATUS),
                      KESTREL_INTR_ERROR);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_SQ_HEAD), 0);
    h->drv_cq_head = 0;
    h->drv_phase = 1;
    h->drv_cq_size = 4;
    ck_assert(!kh_reap(h, &e));
    /* fatal is sticky: more doorbells do nothing */
    kh_write(h, KESTREL_REG_SQ_TAIL_DB, 2);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_ERROR], 1);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_ERR_COUNT), 1);
}
END_TEST

START_TEST(test_cq_outside_ram)
{
    UtErr err;

    kh_write(h, KESTREL_REG_CTRL, 0);
    kh_write(h, KESTREL_REG_SQ_BASE_LO, KH_SQ_BASE);
    kh_write(h, KESTREL_REG_SQ_SIZE, 4);
    kh_write(h, KESTREL_REG_CQ_BASE_LO, (uint32_t)UT_OUTSIDE_RAM);
    kh_write(h, KESTREL_REG_CQ_SIZE, 4);
    kh_write(h, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
    kh_advance(h, 1 * UT_MS);
    h->drv_sq_tail = 0;
    h->drv_sq_size = 4;
    kh_submit(h, &(struct kestrel_sqe){ .opcode = KESTREL_OP_FLUSH,
                                        .tag = 6 });
    ck_assert(kh_read(h, KESTREL_REG_STATUS) & KESTREL_STATUS_FATAL);
    err = ut_err_newest(h);
    ck_assert_uint_eq(err.code, KESTREL_ERR_CQ_POST);
    ck_assert_uint_eq(err.tag, 6);
    ck_assert_uint_eq(err.addr, UT_OUTSIDE_RAM);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_ERROR], 1);
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 0);
}
END_TEST

START_TEST(test_backend_error)
{
    struct kestrel_sqe s;
    UtErr err;

    h->io_error = -5;
    memset(h->ram + ut_buf(1), 0x11, 512);
    s = ut_rw(h, KESTREL_OP_WRITE, 1, 9, 1);
    ut_expect(h, s, KESTREL_SC_MEDIA_ERROR);
    err = ut_err_newest(h);
    ck_assert_uint_eq(err.code, KESTREL_ERR_BACKEND);
    ck_assert_uint_eq(err.tag, 1);
    ck_assert_uint_eq(err.info, 5);
    ck_assert_uint_eq(err.addr, 9);
    ck_assert(disk_is_zero(9 * 512, 512));

    memset(h->disk + 9 * 512, 0x77, 512);
    s = ut_rw(h, KESTREL_OP_READ, 2, 9, 1);
    ut_expect(h, s, KESTREL_SC_MEDIA_ERROR);
    ck_assert(ut_ram_is_zero(h, ut_buf(2), 512));

    /* asynchronously too; then the backend heals */
    h->async_io = true;
    h->io_error = -28;
    ut_expect(h, ut_rw(h, KESTREL_OP_READ, 3, 9, 1),
              KESTREL_SC_MEDIA_ERROR);
    ck_assert_uint_eq(ut_err_newest(h).info, 28);
    h->io_error = 0;
    ut_expect(h, ut_rw(h, KESTREL_OP_READ, 4, 9, 1), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(h->ram[ut_buf(4) + 511], 0x77);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
}
END_TEST

/* ---- reset with backend I/O in flight -------------------------------- */

/* Enable without running the host loop either. */
static void enable_raw(uint32_t sq, uint32_t cq)
{
    kestrel_core_mmio_write(&h->core, KESTREL_REG_SQ_BASE_LO, KH_SQ_BASE);
    kestrel_core_mmio_write(&h->core, KESTREL_REG_SQ_SIZE, sq);
    kestrel_core_mmio_write(&h->core, KESTREL_REG_CQ_BASE_LO, KH_CQ_BASE);
    kestrel_core_mmio_write(&h->core, KESTREL_REG_CQ_SIZE, cq);
    kestrel_core_mmio_write(&h->core, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
    h->clock_ns += (int64_t)h->core.cfg.ready_delay_us * UT_US;
    kestrel_core_timer(&h->core);
    h->kicked = false;
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), KESTREL_STATUS_RDY);
    h->drv_sq_tail = 0;
    h->drv_sq_size = sq;
    h->drv_cq_head = 0;
    h->drv_cq_size = cq;
    h->drv_phase = 1;
}

START_TEST(test_reset_orphans_io)
{
    struct kestrel_sqe s;
    struct kestrel_cqe e;

    h->async_io = true;
    memset(h->disk + 20 * 512, 0x99, 1024);
    s = ut_rw(h, KESTREL_OP_READ, 1, 20, 2);
    ut_submit_raw(h, &s);
    ck_assert_uint_eq(h->nio, 1);
    kestrel_core_mmio_write(&h->core, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_STATUS), 0);
    /* the backend finishes after the reset: nothing reaches the guest */
    kh_run(h);
    ck_assert_uint_eq(h->nio, 0);
    ck_assert(ut_ram_is_zero(h, ut_buf(1), 1024));
    ck_assert(ut_ram_is_zero(h, KH_CQ_BASE, 4096));
    ck_assert_uint_eq(h->irqs[KESTREL_VEC_CQ], 0);
    ck_assert_uint_eq(h->core.cmds[0].state, KESTREL_CMD_FREE);
    /* the slot is fine for the next command */
    ut_enable(h, 4, 4);
    s = ut_rw(h, KESTREL_OP_READ, 2, 20, 2);
    e = ut_exec(h, &s);
    ck_assert_uint_eq(e.tag, 2);
    ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(h->ram[ut_buf(2) + 1023], 0x99);
    ck_assert(!kh_reap(h, &e));
}
END_TEST

START_TEST(test_reset_orphan_completes_late)
{
    struct kestrel_sqe s;
    struct kestrel_cqe e;

    /* fresh, not yet enabled controller: everything below by hand */
    kh_free(h);
    h = ut_host();
    h->async_io = true;
    enable_raw(4, 4);
    memset(h->ram + ut_buf(1), 0x61, 512);
    s = ut_rw(h, KESTREL_OP_WRITE, 1, 30, 1);
    ut_submit_raw(h, &s);
    ck_assert_uint_eq(h->nio, 1);
    ck_assert_uint_eq(h->core.cmds[0].state, KESTREL_CMD_IO);

    /* EN 1->0 then enable again, with the old I/O still running */
    kestrel_core_mmio_write(&h->core, KESTREL_REG_CTRL, 0);
    enable_raw(4, 4);
    memset(h->ram + ut_buf(2), 0x62, 512);
    s = ut_rw(h, KESTREL_OP_WRITE, 2, 31, 1);
    ut_submit_raw(h, &s);
    ck_assert_uint_eq(h->nio, 2);
    /* the busy slot was not reused */
    ck_assert(h->io[0].cmd != h->io[1].cmd);

    kh_run(h);
    ck_assert_uint_eq(h->nio, 0);
    /* exactly one completion: the new command's, at the ring start */
    ck_assert(kh_reap(h, &e));
    ck_assert_uint_eq(e.tag, 2);
    ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(e.sq_head, 1);
    ck_assert(!kh_reap(h, &e));
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CQ_TAIL), 1);
    ck_assert_uint_eq(h->disk[31 * 512], 0x62);
    /* both slots are free again and reusable */
    ck_assert_uint_eq(h->core.cmds[0].state, KESTREL_CMD_FREE);
    ck_assert_uint_eq(h->core.cmds[1].state, KESTREL_CMD_FREE);
    h->async_io = false;
    for (unsigned i = 0; i < 6; i++) {
        ut_expect(h, ut_flush((uint16_t)(10 + i)), KESTREL_SC_SUCCESS);
    }
}
END_TEST

START_TEST(test_d3_orphans_io)
{
    struct kestrel_sqe s;

    h->async_io = true;
    memset(h->disk, 0x44, 512);
    s = ut_rw(h, KESTREL_OP_READ, 1, 0, 1);
    ut_submit_raw(h, &s);
    ck_assert_uint_eq(h->nio, 1);
    kestrel_core_set_power(&h->core, 3);
    kh_run(h);
    kestrel_core_set_power(&h->core, 0);
    kh_run(h);
    ck_assert(ut_ram_is_zero(h, ut_buf(1), 512));
    ck_assert(ut_ram_is_zero(h, KH_CQ_BASE, 4096));
    ck_assert_uint_eq(h->irqs[0] + h->irqs[1], 0);
}
END_TEST

START_TEST(test_free_with_io_in_flight)
{
    struct kestrel_sqe s;

    /* teardown frees the host with backend I/O still queued */
    h->async_io = true;
    s = ut_rw(h, KESTREL_OP_WRITE, 1, 0, 4);
    ut_submit_raw(h, &s);
    s = ut_rw(h, KESTREL_OP_READ, 2, 0, 4);
    ut_submit_raw(h, &s);
    ck_assert_uint_eq(h->nio, 2);
}
END_TEST

/* ---- volatile write cache (datasheet 6.9) ------------------------------ */

/*
 * Random WRITEs, READs and FLUSHes over 64 blocks with a 16-block cache,
 * against a model of what the device must return: every READ sees the
 * last WRITE; after each FLUSH the disk holds exactly the model.  Fills
 * the cache, writes through and writes back, so the cache's index is
 * exercised on inserts, overwrites and removals.  Sync and async backend.
 */
static void cache_model_run(bool async)
{
    enum { NB = 64, BS = 512 };
    static uint8_t model[NB * BS];
    KestrelConfig cfg = kh_default_config();
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    unsigned i, flushes = 0;

    kh_free(h);
    cfg.write_cache = true;
    cfg.cache_blocks = KESTREL_CACHE_MIN_BLOCKS;
    h = ut_host_cfg(&cfg);
    h->async_io = async;
    ut_enable(h, 16, 16);
    memset(model, 0, sizeof(model));
    for (i = 0; i < 3000; i++) {
        uint32_t r, lba, n;
        struct kestrel_sqe s;

        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        r = (uint32_t)(rng >> 16);
        n = 1 + r % 8;
        lba = (r >> 8) % (NB - n + 1);
        if (r % 16 < 9) {
            ut_fill(h->ram + ut_buf(1), n * BS, (uint8_t)(r >> 20));
            memcpy(model + lba * BS, h->ram + ut_buf(1), n * BS);
            s = ut_rw(h, KESTREL_OP_WRITE, 1, lba, n);
            ut_expect(h, s, KESTREL_SC_SUCCESS);
        } else if (r % 16 < 15) {
            memset(h->ram + ut_buf(2), 0xee, n * BS);
            s = ut_rw(h, KESTREL_OP_READ, 2, lba, n);
            ut_expect(h, s, KESTREL_SC_SUCCESS);
            ck_assert_msg(!memcmp(h->ram + ut_buf(2), model + lba * BS,
                                  n * BS),
                          "step %u: READ %u+%u differs from the last WRITE",
                          i, lba, n);
        } else {
            ut_expect(h, ut_flush(3), KESTREL_SC_SUCCESS);
            ck_assert_msg(!memcmp(h->disk, model, sizeof(model)),
                          "step %u: the disk after FLUSH is not the model",
                          i);
            ck_assert_uint_eq(h->core.cache_count, 0);
            flushes++;
        }
        ck_assert_uint_le(h->core.cache_count, KESTREL_CACHE_MIN_BLOCKS);
    }
    ck_assert_uint_gt(flushes, 50);
    ck_assert_uint_gt(h->core.stat_cached_writes, 100);
    ck_assert_uint_gt(h->core.stat_write_through, 10);
    ck_assert_uint_gt(h->core.stat_cache_writebacks, 100);
}

START_TEST(test_write_cache_model)
{
    cache_model_run(false);
}
END_TEST

START_TEST(test_write_cache_model_async)
{
    cache_model_run(true);
}
END_TEST

/*
 * A WRITE over a cached block while a FLUSH waits for the write-back: the
 * block stays covered by the FLUSH (it keeps its place), so the FLUSH
 * completes only once the block, with its newer data, is on the disk.  It
 * used to become younger than the FLUSH, which then completed without it.
 */
START_TEST(test_write_cache_rewrite_during_flush)
{
    KestrelConfig cfg = kh_default_config();
    struct kestrel_sqe s;
    struct kestrel_cqe e;
    bool flushed = false;

    kh_free(h);
    cfg.write_cache = true;
    cfg.cache_blocks = 64;
    h = ut_host_cfg(&cfg);
    ut_enable(h, 16, 16);
    ut_fill(h->ram + ut_buf(1), 512, 1);
    ut_expect(h, ut_rw(h, KESTREL_OP_WRITE, 1, 10, 1), KESTREL_SC_SUCCESS);
    ut_fill(h->ram + ut_buf(2), 512, 2);
    ut_expect(h, ut_rw(h, KESTREL_OP_WRITE, 2, 50, 1), KESTREL_SC_SUCCESS);
    /* the FLUSH starts the write-back of lba 10, which stays in flight */
    h->async_io = true;
    s = ut_flush(3);
    ut_submit_raw(h, &s);
    ck_assert_uint_eq(h->nio, 1);
    /* lba 50 is written again before its turn */
    ut_fill(h->ram + ut_buf(4), 512, 4);
    s = ut_rw(h, KESTREL_OP_WRITE, 4, 50, 1);
    ut_submit_raw(h, &s);
    kh_run(h);
    while (kh_reap(h, &e)) {
        ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
        flushed |= e.tag == 3;
    }
    ck_assert(flushed);
    ck_assert_uint_eq(h->disk[10 * 512], 1);
    ck_assert_msg(h->disk[50 * 512] == 4,
                  "the FLUSH completed and lba 50 is not on the disk "
                  "(0x%02x)", h->disk[50 * 512]);
}
END_TEST

/*
 * Take the write-back the device queued (asynchronous backend) and check
 * it: a WRITE of want_blocks from lba from the write-back buffer.  Then do
 * it on the disk and complete it.
 */
static void writeback_step(uint64_t lba, uint32_t want_blocks)
{
    uint32_t bs = h->core.cfg.block_size;
    KestrelHostIo io;

    ck_assert_uint_eq(h->nio, 1);
    io = h->io[0];
    h->nio = 0;
    ck_assert_ptr_eq(io.cmd, &h->core.wb);
    ck_assert_int_eq(io.kind, KESTREL_IO_WRITE);
    ck_assert_uint_eq(io.offset, lba * bs);
    ck_assert_uint_eq(io.len, (size_t)want_blocks * bs);
    memcpy(h->disk + io.offset, io.buf, io.len);
    kestrel_core_io_done(&h->core, io.cmd, 0);
    h->kicked = false;
    kestrel_core_process(&h->core);
}

/*
 * A write-back takes the run of cached blocks that follows the oldest, up
 * to what the cache holds and one transfer (KESTREL_MAX_XFER_BYTES): its
 * buffer is sized by that bound, so the runs that reach it are the ones
 * to check (under ASan, a byte past the buffer is a report).  A full
 * 16-block cache of one run is one write-back of 16 blocks; 512 blocks of
 * 4 KiB in one run are two write-backs of 256 (1 MiB each).
 */
START_TEST(test_write_cache_writeback_bounds)
{
    static const struct {
        uint32_t block_size, cache_blocks, writes, per_write, per_wb;
    } cases[] = {
        { 512, KESTREL_CACHE_MIN_BLOCKS, 2, 8, KESTREL_CACHE_MIN_BLOCKS },
        { 4096, 512, 2, 256, KESTREL_MAX_XFER_BYTES / 4096 },
    };
    unsigned k, i;

    for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        KestrelConfig cfg = kh_default_config();
        uint32_t bs = cases[k].block_size, n = cases[k].per_write;
        uint32_t total = cases[k].writes * n;
        struct kestrel_sqe s;
        struct kestrel_cqe e;

        kh_free(h);
        cfg.block_size = bs;
        cfg.write_cache = true;
        cfg.cache_blocks = cases[k].cache_blocks;
        h = ut_host_cfg(&cfg);
        ut_enable(h, 16, 16);
        for (i = 0; i < cases[k].writes; i++) {
            /* one buffer for all: UT_BUF_STRIDE is smaller than 1 MiB */
            ut_fill(h->ram + ut_buf(1), (size_t)n * bs, (uint8_t)(10 + i));
            ut_expect(h, ut_rw(h, KESTREL_OP_WRITE, 1, (uint64_t)i * n, n),
                      KESTREL_SC_SUCCESS);
        }
        ck_assert_uint_eq(h->core.cache_count, total);
        ck_assert(disk_is_zero(0, (size_t)total * bs));
        h->async_io = true;
        s = ut_flush(3);
        ut_submit_raw(h, &s);
        for (i = 0; i < total; i += cases[k].per_wb) {
            writeback_step(i, cases[k].per_wb);
        }
        /* then only the FLUSH of the backend */
        ck_assert_uint_eq(h->nio, 1);
        ck_assert_int_eq(h->io[0].kind, KESTREL_IO_FLUSH);
        ck_assert_uint_eq(h->core.cache_count, 0);
        ck_assert_uint_eq(h->core.stat_cache_writebacks, total);
        kh_run(h);
        ck_assert(kh_reap(h, &e));
        ck_assert_uint_eq(le16_to_cpu(e.tag), 3);
        ck_assert_uint_eq(ut_status(&e), KESTREL_SC_SUCCESS);
        for (i = 0; i < cases[k].writes; i++) {
            ut_fill(h->ram + ut_buf(2), (size_t)n * bs, (uint8_t)(10 + i));
            ck_assert_msg(!memcmp(h->disk + (size_t)i * n * bs,
                                  h->ram + ut_buf(2), (size_t)n * bs),
                          "case %u: WRITE %u is not on the disk", k, i);
        }
    }
}
END_TEST

/* A cached WRITE is not on the disk; power-on reset loses it. */
START_TEST(test_write_cache_power_loss)
{
    KestrelConfig cfg = kh_default_config();
    struct kestrel_identify id;
    struct kestrel_sqe s;

    /* without the cache: no feature bit (the setup's default host) */
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CAP_FEATURES), 0);
    s = cmd(KESTREL_OP_IDENTIFY, 9, 0, 0, 1, ut_list(9), 16);
    ut_desc(h, ut_list(9), ut_buf(9), sizeof(id), KESTREL_SG_DATA);
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    memcpy(&id, h->ram + ut_buf(9), sizeof(id));
    ck_assert_uint_eq(le32_to_cpu(id.features), 0);

    kh_free(h);
    cfg.write_cache = true;
    cfg.cache_blocks = 64;
    h = ut_host_cfg(&cfg);
    ut_enable(h, 16, 16);
    ck_assert_uint_eq(kh_read(h, KESTREL_REG_CAP_FEATURES),
                      KESTREL_CAP_FEAT_VWC);
    s = cmd(KESTREL_OP_IDENTIFY, 9, 0, 0, 1, ut_list(9), 16);
    ut_desc(h, ut_list(9), ut_buf(9), sizeof(id), KESTREL_SG_DATA);
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    memcpy(&id, h->ram + ut_buf(9), sizeof(id));
    ck_assert_uint_eq(le32_to_cpu(id.features), KESTREL_ID_FEAT_VWC);

    ut_fill(h->ram + ut_buf(1), 4 * 512, 5);
    s = ut_rw(h, KESTREL_OP_WRITE, 1, 100, 4);
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    ck_assert(disk_is_zero(100 * 512, 4 * 512));
    /* a controller reset keeps it */
    kh_write(h, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    ut_enable(h, 16, 16);
    ck_assert_uint_eq(h->core.cache_count, 4);
    /* power goes */
    kestrel_core_hard_reset(&h->core);
    ck_assert_uint_eq(h->core.cache_count, 0);
    ck_assert_uint_eq(h->core.stat_cache_lost, 4);
    ut_enable(h, 16, 16);
    s = ut_rw(h, KESTREL_OP_READ, 2, 100, 4);
    ut_expect(h, s, KESTREL_SC_SUCCESS);
    ck_assert(ut_ram_is_zero(h, ut_buf(2), 4 * 512));
    ck_assert(disk_is_zero(100 * 512, 4 * 512));
}
END_TEST

Suite *commands_suite(void)
{
    Suite *s = suite_create("commands");
    TCase *tc = tcase_create("commands");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_identify);
    tcase_add_test(tc, test_identify_config);
    tcase_add_test(tc, test_identify_bad_fields);
    tcase_add_test(tc, test_write_read_single);
    tcase_add_test(tc, test_write_read_multiseg);
    tcase_add_test(tc, test_write_read_chained);
    tcase_add_test(tc, test_max_transfer);
    tcase_add_test(tc, test_maxseg_limit);
    tcase_add_test(tc, test_flush);
    tcase_add_test(tc, test_invalid_opcode);
    tcase_add_test(tc, test_reserved_fields);
    tcase_add_test(tc, test_nblocks_zero);
    tcase_add_test(tc, test_lba_range);
    tcase_add_test(tc, test_sgl_errors);
    tcase_add_test(tc, test_sgl_chain_loops);
    tcase_add_test(tc, test_sgl_chain_loop_max_segments);
    tcase_add_test(tc, test_data_outside_ram);
    tcase_add_test(tc, test_sq_outside_ram);
    tcase_add_test(tc, test_cq_outside_ram);
    tcase_add_test(tc, test_backend_error);
    tcase_add_test(tc, test_reset_orphans_io);
    tcase_add_test(tc, test_reset_orphan_completes_late);
    tcase_add_test(tc, test_d3_orphans_io);
    tcase_add_test(tc, test_free_with_io_in_flight);
    tcase_add_test(tc, test_write_cache_model);
    tcase_add_test(tc, test_write_cache_model_async);
    tcase_add_test(tc, test_write_cache_power_loss);
    tcase_add_test(tc, test_write_cache_rewrite_during_flush);
    tcase_add_test(tc, test_write_cache_writeback_bounds);
    suite_add_tcase(s, tc);
    return s;
}
