/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the fault log (gfault.c): an ordered ring of the last
 * GFAULT_LOG_LEN firings with virtual time, rule and detail; its
 * validation in post_load; and Kestrel's core logging every firing with
 * the event's detail at the core's virtual time.
 */
#include <check.h>

#include "kestrel_env.h"
#include "gport_fault.h"
#include "kestrel_core.h"
#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static GFaultEngine eng;
static GFaultEngine saved;
static char err[GFAULT_ERR_MAX];

static void setup(void)
{
    gfault_init(&eng, &gport_fault_vocab, 1);
    ck_assert_int_eq(gfault_set(&eng, "msi[vector=3]:drop;link:allones",
                                err, sizeof(err)), 2);
}

START_TEST(test_empty)
{
    ck_assert_uint_eq(gfault_log_count(&eng), 0);
    ck_assert_ptr_null(gfault_log_entry(&eng, 0));
    ck_assert_uint_eq(eng.log_seq, 0);

    /* gfault_init does not zero the entries; a dirty engine still starts
     * with an empty log, and what it logs is whole */
    memset(&eng, 0xa5, sizeof(eng));
    gfault_init(&eng, &gport_fault_vocab, 1);
    ck_assert_uint_eq(gfault_log_count(&eng), 0);
    ck_assert_ptr_null(gfault_log_entry(&eng, 0));
    ck_assert_int_eq(gfault_post_load(&eng), 0);
    ck_assert_int_eq(gfault_set(&eng, "link:allones", err, sizeof(err)), 1);
    gfault_log(&eng, 9, 0, "d");
    ck_assert_uint_eq(gfault_log_count(&eng), 1);
    ck_assert_uint_eq(gfault_log_entry(&eng, 0)->seq, 0);
    ck_assert_uint_eq(gfault_log_entry(&eng, 0)->time_ns, 9);
    ck_assert_str_eq(gfault_log_entry(&eng, 0)->rule, "link:allones");
    ck_assert_str_eq(gfault_log_entry(&eng, 0)->detail, "d");
    ck_assert_int_eq(gfault_post_load(&eng), 0);
}
END_TEST

START_TEST(test_entries)
{
    const GFaultLogEntry *le;

    gfault_log(&eng, 1000, 0, "vector=%u addr=0x%x", 3u, 0xfee00000u);
    gfault_log(&eng, 2500, 1, "cfg read off=0x%x", 0x10u);
    ck_assert_uint_eq(gfault_log_count(&eng), 2);
    le = gfault_log_entry(&eng, 0);
    ck_assert_ptr_nonnull(le);
    ck_assert_uint_eq(le->seq, 0);
    ck_assert_uint_eq(le->time_ns, 1000);
    ck_assert_uint_eq(le->rule_id, eng.rules[0].id);
    ck_assert_uint_eq(le->point, GPF_MSI);
    ck_assert_uint_eq(le->action, GPA_DROP);
    ck_assert_str_eq(le->rule, "msi[vector=3]:drop");
    ck_assert_str_eq(le->detail, "vector=3 addr=0xfee00000");
    le = gfault_log_entry(&eng, 1);
    ck_assert_uint_eq(le->seq, 1);
    ck_assert_uint_eq(le->time_ns, 2500);
    ck_assert_uint_eq(le->rule_id, eng.rules[1].id);
    ck_assert_uint_eq(le->point, GPF_LINK);
    ck_assert_uint_eq(le->action, GPA_ALLONES);
    ck_assert_str_eq(le->rule, "link:allones");
    ck_assert_str_eq(le->detail, "cfg read off=0x10");
    ck_assert_ptr_null(gfault_log_entry(&eng, 2));
}
END_TEST

START_TEST(test_bad_index_and_detail)
{
    char longer[300];

    /* a rule index that does not exist logs nothing */
    gfault_log(&eng, 5, 2, "x");
    gfault_log(&eng, 5, 1000, "x");
    ck_assert_uint_eq(gfault_log_count(&eng), 0);
    /* a long detail is cut, terminated */
    memset(longer, 'd', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    gfault_log(&eng, 5, 0, "%s", longer);
    ck_assert_uint_eq(strlen(gfault_log_entry(&eng, 0)->detail),
                      GFAULT_LOG_DETAIL - 1);
    /* no format: an empty detail */
    gfault_log(&eng, 6, 0, NULL);
    ck_assert_str_eq(gfault_log_entry(&eng, 1)->detail, "");
}
END_TEST

START_TEST(test_ring)
{
    uint64_t i;

    for (i = 0; i < GFAULT_LOG_LEN + 44; i++) {
        gfault_log(&eng, 10 * i, (unsigned)(i % 2), "n=%" PRIu64, i);
    }
    ck_assert_uint_eq(eng.log_seq, GFAULT_LOG_LEN + 44);
    ck_assert_uint_eq(gfault_log_count(&eng), GFAULT_LOG_LEN);
    /* oldest held first, in order */
    for (i = 0; i < GFAULT_LOG_LEN; i++) {
        const GFaultLogEntry *le = gfault_log_entry(&eng, i);
        char want[32];

        ck_assert_uint_eq(le->seq, 44 + i);
        ck_assert_uint_eq(le->time_ns, 10 * (44 + i));
        snprintf(want, sizeof(want), "n=%" PRIu64, 44 + i);
        ck_assert_str_eq(le->detail, want);
    }
    ck_assert_ptr_null(gfault_log_entry(&eng, GFAULT_LOG_LEN));
}
END_TEST

START_TEST(test_time_never_goes_back)
{
    gfault_log(&eng, 100, 0, "a");
    gfault_log(&eng, 50, 0, "b");
    gfault_log(&eng, 70, 0, "c");
    gfault_log(&eng, 200, 0, "d");
    ck_assert_uint_eq(gfault_log_entry(&eng, 0)->time_ns, 100);
    ck_assert_uint_eq(gfault_log_entry(&eng, 1)->time_ns, 100);
    ck_assert_uint_eq(gfault_log_entry(&eng, 2)->time_ns, 100);
    ck_assert_uint_eq(gfault_log_entry(&eng, 3)->time_ns, 200);
}
END_TEST

/* The log is the history of a run: changing the rules does not clear it. */
START_TEST(test_survives_rule_changes)
{
    gfault_log(&eng, 1, 0, "first");
    ck_assert_int_eq(gfault_set(&eng, "cfg.read:allones", err, sizeof(err)),
                     1);
    gfault_log(&eng, 2, 0, "second");
    ck_assert_int_eq(gfault_add(&eng, "msi:duplicate", err, sizeof(err)), 1);
    ck_assert_int_eq(gfault_set(&eng, "msi:bogus", err, sizeof(err)), -1);
    gfault_clear(&eng);
    ck_assert_uint_eq(gfault_log_count(&eng), 2);
    /* each entry keeps the rule's text of its time */
    ck_assert_str_eq(gfault_log_entry(&eng, 0)->rule, "msi[vector=3]:drop");
    ck_assert_str_eq(gfault_log_entry(&eng, 1)->rule, "cfg.read:allones");
    gfault_log_clear(&eng);
    ck_assert_uint_eq(gfault_log_count(&eng), 0);
    ck_assert_ptr_null(gfault_log_entry(&eng, 0));
    /* a cleared log goes on numbering where it was, any time is fine */
    ck_assert_int_eq(gfault_set(&eng, "msi:drop", err, sizeof(err)), 1);
    gfault_log(&eng, 1, 0, "third");
    ck_assert_uint_eq(gfault_log_count(&eng), 1);
    ck_assert_uint_eq(gfault_log_entry(&eng, 0)->seq, 2);
    ck_assert_uint_eq(gfault_log_entry(&eng, 0)->time_ns, 1);
    ck_assert_str_eq(gfault_log_entry(&eng, 0)->detail, "third");
    ck_assert_int_eq(gfault_post_load(&eng), 0);
    gfault_log_clear(&eng);
    gfault_clear(&eng);
    /* gfault_init does clear it, and restarts the numbering */
    gfault_log(&eng, 3, 0, "x");
    ck_assert_uint_eq(gfault_log_count(&eng), 0);   /* no rules: nothing */
    ck_assert_int_eq(gfault_set(&eng, "link:allones", err, sizeof(err)), 1);
    gfault_log(&eng, 3, 0, "x");
    ck_assert_uint_eq(gfault_log_count(&eng), 1);
    gfault_init(&eng, &gport_fault_vocab, 1);
    ck_assert_uint_eq(gfault_log_count(&eng), 0);
    ck_assert_uint_eq(eng.log_seq, 0);
}
END_TEST

START_TEST(test_post_load)
{
    uint64_t i;

    for (i = 0; i < GFAULT_LOG_LEN + 3; i++) {
        gfault_log(&eng, 7 * i, (unsigned)(i % 2), "i=%" PRIu64, i);
    }
    memcpy(&saved, &eng, sizeof(saved));
    ck_assert_int_eq(gfault_post_load(&eng), 0);
    ck_assert(memcmp(&eng, &saved, sizeof(eng)) == 0);

#define BAD(stmt) do {                                          \
        memcpy(&eng, &saved, sizeof(eng));                      \
        stmt;                                                   \
        ck_assert_msg(gfault_post_load(&eng) == -1, #stmt);     \
    } while (0)
    /* the oldest entry held is in slot 3, the newest in slot 2 */
    BAD(eng.log[3].seq = 2);
    BAD(eng.log[2].seq++);
    BAD(eng.log_seq++);
    BAD(eng.log_seq--);
    BAD(eng.log[10].time_ns = eng.log[9].time_ns - 1);
    BAD(eng.log[2].time_ns = 0);
    BAD(memset(eng.log[5].rule, 'r', sizeof(eng.log[5].rule)));
    BAD(memset(eng.log[6].detail, 'd', sizeof(eng.log[6].detail)));
    BAD(eng.log[7].point = GPF__MAX);
    BAD(eng.log[8].action = GPA__MAX);
    BAD(eng.log_first = eng.log_seq + 1);
#undef BAD

    /* a partly cleared ring: only the entries after log_first count */
    memcpy(&eng, &saved, sizeof(eng));
    eng.log_first = eng.log_seq - 5;
    eng.log[3].seq = 12345;     /* no longer held */
    ck_assert_uint_eq(gfault_log_count(&eng), 5);
    ck_assert_uint_eq(gfault_log_entry(&eng, 0)->seq, eng.log_seq - 5);
    ck_assert_int_eq(gfault_post_load(&eng), 0);

    /* a short log: only the entries held are checked */
    gfault_init(&eng, &gport_fault_vocab, 1);
    ck_assert_int_eq(gfault_set(&eng, "link:allones", err, sizeof(err)), 1);
    gfault_log(&eng, 1, 0, "one");
    eng.log[1].seq = 99;        /* not held: ignored */
    ck_assert_int_eq(gfault_post_load(&eng), 0);
    eng.log[0].time_ns = UINT64_MAX;    /* one entry: any time */
    ck_assert_int_eq(gfault_post_load(&eng), 0);
    eng.log[0].seq = 1;
    ck_assert_int_eq(gfault_post_load(&eng), -1);
}
END_TEST

/* ---- Kestrel logs every firing, with the event's detail ------------------ */

static KestrelHost *h;

static void kestrel_setup(void)
{
    h = ut_host();
}

static void kestrel_teardown(void)
{
    kh_free(h);
}

START_TEST(test_kestrel_logs_firings)
{
    const GFaultLogEntry *le;
    char want[GFAULT_RULE_TEXT_MAX];
    int64_t t0;

    ut_enable(h, 8, 8);
    /* nothing fired yet: an empty log (negative control below) */
    ck_assert_uint_eq(gfault_log_count(&h->core.faults), 0);
    ut_faults(h, "reg.read[reg=status]:corrupt(value=0x5):once;"
              "cq.post[op=flush]:corrupt(tag=0x77):once");
    kh_advance(h, 3 * UT_MS);
    t0 = h->clock_ns;
    kh_read(h, KESTREL_REG_CAP_QDEPTH);         /* no match: not logged */
    ck_assert_uint_eq(gfault_log_count(&h->core.faults), 0);
    kh_read(h, KESTREL_REG_STATUS);
    ck_assert_uint_eq(gfault_log_count(&h->core.faults), 1);
    le = gfault_log_entry(&h->core.faults, 0);
    ck_assert_uint_eq(le->seq, 0);
    ck_assert_uint_eq(le->time_ns, (uint64_t)t0);
    ck_assert_uint_eq(le->rule_id, h->core.faults.rules[0].id);
    ck_assert_uint_eq(le->point, KFP_REG_READ);
    ck_assert_uint_eq(le->action, KFA_CORRUPT);
    snprintf(want, sizeof(want), "reg.read[reg=0x%x]:corrupt(value=0x5):once",
             KESTREL_REG_STATUS);
    ck_assert_str_eq(le->rule, want);
    snprintf(want, sizeof(want), "reg=0x%x value=0x", KESTREL_REG_STATUS);
    ck_assert_msg(strncmp(le->detail, want, strlen(want)) == 0,
                  "detail '%s'", le->detail);

    kh_advance(h, 1 * UT_MS);
    {
        struct kestrel_sqe s = ut_flush(0x123);

        kh_submit(h, &s);
    }
    ck_assert_uint_eq(gfault_log_count(&h->core.faults), 2);
    le = gfault_log_entry(&h->core.faults, 1);
    ck_assert_uint_eq(le->seq, 1);
    ck_assert_uint_ge(le->time_ns, (uint64_t)t0 + 1 * UT_MS);
    ck_assert_uint_eq(le->point, KFP_CQ_POST);
    ck_assert_msg(strncmp(le->detail, "tag=291 op=0x4 ", 15) == 0,
                  "detail '%s'", le->detail);
    /* once: no more entries, whatever happens next */
    kh_read(h, KESTREL_REG_STATUS);
    ck_assert_uint_eq(gfault_log_count(&h->core.faults), 2);
    /* the rule set replaced, the history stays */
    ut_faults(h, "");
    ck_assert_uint_eq(gfault_log_count(&h->core.faults), 2);
}
END_TEST

Suite *faultlog_suite(void)
{
    Suite *s = suite_create("faultlog");
    TCase *tc = tcase_create("log");
    TCase *tk = tcase_create("kestrel");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_entries);
    tcase_add_test(tc, test_bad_index_and_detail);
    tcase_add_test(tc, test_ring);
    tcase_add_test(tc, test_time_never_goes_back);
    tcase_add_test(tc, test_survives_rule_changes);
    tcase_add_test(tc, test_post_load);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(tk, kestrel_setup, kestrel_teardown);
    tcase_add_test(tk, test_kestrel_logs_firings);
    suite_add_tcase(s, tk);
    return s;
}
