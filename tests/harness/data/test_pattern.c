/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of the pattern library (pattern.h).  The golden hashes were taken
 * from files written by kestrelctl's own pattern code before it moved here
 * (write-file, lba 5..41, seed 123456789) and from its stress_fill(): the
 * library must produce the same bytes, or data written by an older tool,
 * or by the guest, would no longer verify.
 *
 * Suite "pattern": Suite *pattern_suite(void).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "pattern.h"

static uint64_t fnv1a(const uint8_t *b, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static struct gd_pattern pattern(const char *name, uint64_t seed)
{
    struct gd_pattern p = { .seed = seed };
    char err[128];

    ck_assert_msg(gd_pattern_parse(name, &p, err, sizeof(err)) == 0,
                  "%s: %s", name, err);
    ck_assert_uint_eq(p.seed, seed);
    return p;
}

static const struct {
    const char *name;
    uint32_t bs;
    uint64_t fnv;
} golden[] = {
    { "seq", 8, 0x02591b251521f67aull },
    { "seq", 512, 0x777478e8263fbae5ull },
    { "seq", 4096, 0x8d930f0da91c2225ull },
    { "random", 8, 0x8c01b1291c8a7530ull },
    { "random", 512, 0x5557e20028a218fcull },
    { "random", 4096, 0x874fe5f2aeca4d63ull },
    { "zero", 8, 0x5350442c19447045ull },
    { "zero", 512, 0xb5566ccc4d76eb25ull },
    { "zero", 4096, 0xb19734de59c86325ull },
    { "0x5a", 8, 0x5c26d422f5bc7ee5ull },
    { "0x5a", 512, 0x00588c0127775325ull },
    { "0x5a", 4096, 0xe38ad0cc10cba325ull },
    { "0xff", 8, 0xf5c038e3eeb6ff9dull },
    { "0xff", 512, 0xb3e48028bb4d0525ull },
    { "0xff", 4096, 0x3722cbe3c2393325ull },
};

START_TEST(test_patterns_match_the_old_bytes)
{
    size_t i = (size_t)_i;
    struct gd_pattern p = pattern(golden[i].name, 123456789);
    uint32_t bs = golden[i].bs;
    uint8_t *buf = malloc((size_t)37 * bs);

    for (uint32_t k = 0; k < 37; k++) {
        gd_pattern_fill(&p, 5 + k, bs, buf + (size_t)k * bs);
    }
    ck_assert_msg(fnv1a(buf, (size_t)37 * bs) == golden[i].fnv,
                  "pattern %s bs %u: hash %016llx, the old tool wrote %016llx",
                  golden[i].name, bs, (unsigned long long)fnv1a(buf, (size_t)37 * bs),
                  (unsigned long long)golden[i].fnv);
    free(buf);
}
END_TEST

START_TEST(test_seq_is_the_tagged_address)
{
    struct gd_pattern p = pattern("seq", 0x1234567);
    uint8_t b[512];

    gd_pattern_fill(&p, 17, sizeof(b), b);
    for (uint32_t o = 0; o < sizeof(b); o += 8) {
        ck_assert_uint_eq(gd_get_le64(b + o),
                          (0x234567ull << 40) | (17 * 512 + o));
    }
    /* the byte the mismatch test flips: absolute byte 8728 = lba 17 + 24 */
    p.seed = 7;
    gd_pattern_fill(&p, 17, sizeof(b), b);
    ck_assert_uint_eq(b[24], 0x18);
}
END_TEST

START_TEST(test_seed_and_lba_change_the_data)
{
    const char *names[] = { "seq", "random" };

    for (size_t i = 0; i < 2; i++) {
        struct gd_pattern p = pattern(names[i], 1), q = pattern(names[i], 2);
        uint8_t a[512], b[512];

        gd_pattern_fill(&p, 3, sizeof(a), a);
        gd_pattern_fill(&q, 3, sizeof(b), b);
        ck_assert_msg(memcmp(a, b, sizeof(a)), "%s: seed ignored", names[i]);
        gd_pattern_fill(&p, 4, sizeof(b), b);
        ck_assert_msg(memcmp(a, b, sizeof(a)), "%s: lba ignored", names[i]);
    }
}
END_TEST

START_TEST(test_parse_and_name)
{
    static const struct {
        const char *in, *name;
    } ok[] = {
        { "seq", "seq" }, { "random", "random" }, { "zero", "zero" },
        { "0x5a", "0x5a" }, { "0X5A", "0x5a" }, { "0x0", "0x00" },
        { "0xff", "0xff" },
    };
    static const char *bad[] = {
        "", "Seq", "rand", "0x", "0x100", "0xzz", "0x-1", "0x 5", "0x0x5",
        "5a", "0x5a ",
    };
    char err[128], buf[GD_PATTERN_NAME_LEN];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct gd_pattern p = pattern(ok[i].in, 42);

        ck_assert_str_eq(gd_pattern_name(&p, buf), ok[i].name);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct gd_pattern p = { .kind = GD_PAT_RANDOM, .seed = 9 };

        err[0] = 0;
        ck_assert_msg(gd_pattern_parse(bad[i], &p, err, sizeof(err)) == -1,
                      "'%s' accepted", bad[i]);
        ck_assert_msg(strstr(err, "--pattern:") && strstr(err, bad[i]),
                      "'%s': message '%s' does not name it", bad[i], err);
        ck_assert_int_eq(p.kind, GD_PAT_RANDOM);
        ck_assert_uint_eq(p.seed, 9);
    }
}
END_TEST

START_TEST(test_block_size_ok)
{
    ck_assert(gd_block_size_ok(8));
    ck_assert(gd_block_size_ok(512));
    ck_assert(gd_block_size_ok(1u << 20));
    ck_assert(!gd_block_size_ok(0));
    ck_assert(!gd_block_size_ok(12));
    ck_assert(!gd_block_size_ok((1u << 20) + 8));
}
END_TEST

/* Run gd_pattern_verify into a memory stream; returns what it printed. */
static char *verify_to_string(const struct gd_pattern *p, uint64_t lba,
                              uint32_t n, uint32_t bs, const uint8_t *buf,
                              uint64_t *bad, uint64_t *reported, uint64_t max)
{
    uint8_t *scratch = malloc(bs);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    ck_assert_ptr_nonnull(f);
    *bad = gd_pattern_verify(f, "prog", "disk.img", p, lba, n, bs, buf, scratch,
                             reported, max);
    fclose(f);
    free(scratch);
    return text;
}

START_TEST(test_verify_reports_the_first_difference)
{
    struct gd_pattern p = pattern("seq", 7);
    uint8_t buf[64 * 512];
    uint64_t bad, reported = 0;
    char *out;

    for (uint32_t i = 0; i < 64; i++) {
        gd_pattern_fill(&p, i, 512, buf + i * 512);
    }
    out = verify_to_string(&p, 0, 64, 512, buf, &bad, &reported, 10);
    ck_assert_uint_eq(bad, 0);
    ck_assert_str_eq(out, "");
    free(out);

    buf[8728] = 0x99;
    buf[8728 + 3] ^= 1;
    out = verify_to_string(&p, 0, 64, 512, buf, &bad, &reported, 10);
    ck_assert_uint_eq(bad, 1);
    ck_assert_uint_eq(reported, 1);
    ck_assert_msg(strstr(out, "prog: MISMATCH disk.img lba 17 byte offset 24 "
                         "(absolute byte 8728): expected 0x18 got 0x99; 2 of 512 "
                         "bytes differ; expected pattern seq seed 7\n") == out,
                  "report: %s", out);
    ck_assert_msg(strstr(out, "  expected @16    10 22 00 00 00 07 00 00[18] 22 "
                         "00 00 00 07 00 00\n"), "report: %s", out);
    ck_assert_msg(strstr(out, "  got      @16    10 22 00 00 00 07 00 00[99] 22 "
                         "00 01 00 07 00 00\n"), "report: %s", out);
    free(out);
}
END_TEST

START_TEST(test_verify_caps_reports_but_counts_all)
{
    struct gd_pattern p = pattern("random", 3), q = pattern("random", 4);
    uint8_t buf[20 * 64];
    uint64_t bad, reported = 0;
    char *out, *s;
    int lines = 0;

    for (uint32_t i = 0; i < 20; i++) {
        gd_pattern_fill(&q, 100 + i, 64, buf + i * 64);   /* wrong seed */
    }
    out = verify_to_string(&p, 100, 20, 64, buf, &bad, &reported, 3);
    ck_assert_uint_eq(bad, 20);
    ck_assert_uint_eq(reported, 20);
    for (s = out; (s = strstr(s, "MISMATCH")); s++) {
        lines++;
    }
    ck_assert_int_eq(lines, 3);
    free(out);
}
END_TEST

START_TEST(test_block_fill_matches_the_old_stress)
{
    static uint8_t b[4096];

    gd_block_fill(b, 512, 77, 5, 9, 2);
    ck_assert_uint_eq(fnv1a(b, 512), 0xeeec5456244977b9ull);
    gd_block_fill(b, 4096, 123456, 0x7fffffff, 0xdeadbeefcafef00dull, 63);
    ck_assert_uint_eq(fnv1a(b, 4096), 0x29dea0c07acc0f2cull);
    gd_block_fill(b, 64, 1, 1, 1, 0);
    ck_assert_uint_eq(fnv1a(b, 64), 0xdf1a0675b68e5b79ull);
}
END_TEST

START_TEST(test_block_parse_and_checksum)
{
    uint8_t b[512], c[512];
    struct gd_block_hdr h;
    char d[200];

    gd_block_fill(b, sizeof(b), 1000, 42, 77, 3);
    ck_assert(gd_block_parse(b, sizeof(b), &h));
    ck_assert_uint_eq(h.lba, 1000);
    ck_assert_uint_eq(h.gen, 42);
    ck_assert_uint_eq(h.seed, 77);
    ck_assert_uint_eq(h.thread, 3);
    ck_assert_uint_eq(h.bs, 512);
    ck_assert(h.csum_ok);
    ck_assert_uint_eq(gd_block_csum(b, sizeof(b)), gd_get_le64(b + 40));
    gd_block_describe(b, sizeof(b), d, sizeof(d));
    ck_assert_str_eq(d, "header claims lba 1000 gen 42 seed 77 thread 3 bs 512, "
                     "checksum ok");

    /* another generation of the same block differs in its payload */
    gd_block_fill(c, sizeof(c), 1000, 43, 77, 3);
    ck_assert(memcmp(b + GD_BLOCK_HDR, c + GD_BLOCK_HDR, sizeof(b) - GD_BLOCK_HDR));

    /* a torn block: the header survives, the checksum does not */
    memcpy(c, b, 256);
    ck_assert(gd_block_parse(c, sizeof(c), &h));
    ck_assert_uint_eq(h.gen, 42);
    ck_assert(!h.csum_ok);
    gd_block_describe(c, sizeof(c), d, sizeof(d));
    ck_assert_msg(strstr(d, "checksum BAD"), "%s", d);

    /* one flipped payload bit */
    b[300] ^= 0x10;
    ck_assert(gd_block_parse(b, sizeof(b), &h));
    ck_assert(!h.csum_ok);

    /* not a stress block */
    memset(b, 0, sizeof(b));
    ck_assert(!gd_block_parse(b, sizeof(b), &h));
    gd_block_describe(b, sizeof(b), d, sizeof(d));
    ck_assert_str_eq(d, "no stress header (foreign or corrupt data)");
    ck_assert(!gd_block_parse(c, 32, &h));      /* too small to hold one */
}
END_TEST

START_TEST(test_report_of_equal_blocks_prints_nothing)
{
    uint8_t a[64] = { 0 };
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    gd_report_mismatch(f, "p", "w", 0, sizeof(a), a, a, "same");
    fclose(f);
    ck_assert_str_eq(text, "");
    free(text);
}
END_TEST

Suite *pattern_suite(void)
{
    Suite *s = suite_create("pattern");
    TCase *tc = tcase_create("pattern");

    tcase_add_loop_test(tc, test_patterns_match_the_old_bytes, 0,
                        (int)(sizeof(golden) / sizeof(golden[0])));
    tcase_add_test(tc, test_seq_is_the_tagged_address);
    tcase_add_test(tc, test_seed_and_lba_change_the_data);
    tcase_add_test(tc, test_parse_and_name);
    tcase_add_test(tc, test_block_size_ok);
    tcase_add_test(tc, test_verify_reports_the_first_difference);
    tcase_add_test(tc, test_verify_caps_reports_but_counts_all);
    tcase_add_test(tc, test_block_fill_matches_the_old_stress);
    tcase_add_test(tc, test_block_parse_and_checksum);
    tcase_add_test(tc, test_report_of_equal_blocks_prints_nothing);
    suite_add_tcase(s, tc);
    return s;
}
