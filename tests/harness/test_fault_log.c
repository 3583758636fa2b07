/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Suite "fault_log": merging readings of fault engines' rings into one log
 * (harness/fault_log.c): every firing once, in order, what a ring dropped
 * counted, bad readings refused without a change; and the summary and the
 * step log's line.
 */
#define _GNU_SOURCE
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_log.h"

#define RP1 "/machine/peripheral/rp1"
#define RP2 "/machine/peripheral/rp2"

/* A reading: entries seq first..last, time-ns = t0 + 1000 * seq. */
static json_object *reading(int64_t first, int64_t last, int64_t t0)
{
    json_object *a = json_object_new_array();

    for (int64_t s = first; s <= last; s++) {
        json_object *e = json_object_new_object();
        char detail[64];

        snprintf(detail, sizeof(detail), "vector %" PRId64, s);
        json_object_object_add(e, "seq", json_object_new_int64(s));
        json_object_object_add(e, "time-ns", json_object_new_int64(t0 + 1000 * s));
        json_object_object_add(e, "id", json_object_new_int(1));
        json_object_object_add(e, "rule", json_object_new_string("msi:drop:every=2"));
        json_object_object_add(e, "point", json_object_new_string("msi"));
        json_object_object_add(e, "action", json_object_new_string("drop"));
        json_object_object_add(e, "detail", json_object_new_string(detail));
        json_object_array_add(a, e);
    }
    return a;
}

static int plug;        /* the plug-in merge() passes */

static int merge(json_object *acc, json_object *read, const char *dev,
                 const char *obj, int qemu, uint64_t *lost)
{
    char err[256] = "";
    int n = gfl_merge(acc, read, dev, obj, qemu, plug, lost, err, sizeof(err));

    ck_assert_msg(n >= 0, "%s", err);
    json_object_put(read);
    return n;
}

static int64_t get_int(json_object *a, size_t i, const char *key)
{
    json_object *v;

    ck_assert(json_object_object_get_ex(json_object_array_get_idx(a, i), key, &v));
    return json_object_get_int64(v);
}

static const char *get_str(json_object *a, size_t i, const char *key)
{
    json_object *v;

    ck_assert(json_object_object_get_ex(json_object_array_get_idx(a, i), key, &v));
    return json_object_get_string(v);
}

START_TEST(test_merge_dedup)
{
    json_object *acc = json_object_new_array();
    uint64_t lost = 0;

    ck_assert_int_eq(merge(acc, reading(0, 3, 0), "k1", RP1, 0, &lost), 4);
    ck_assert_uint_eq(json_object_array_length(acc), 4);
    ck_assert_str_eq(get_str(acc, 0, "device"), "k1");
    ck_assert_str_eq(get_str(acc, 0, "object"), RP1);
    ck_assert_int_eq(get_int(acc, 0, "qemu"), 0);
    ck_assert_str_eq(get_str(acc, 2, "detail"), "vector 2");
    /* the same ring read again: nothing new */
    ck_assert_int_eq(merge(acc, reading(0, 3, 0), "k1", RP1, 0, &lost), 0);
    /* the ring went on: only the newer ones */
    ck_assert_int_eq(merge(acc, reading(2, 6, 0), "k1", RP1, 0, &lost), 3);
    ck_assert_uint_eq(json_object_array_length(acc), 7);
    for (size_t i = 0; i < 7; i++) {
        ck_assert_int_eq(get_int(acc, i, "seq"), (int64_t)i);
    }
    ck_assert_uint_eq(lost, 0);
    /* an empty reading changes nothing */
    ck_assert_int_eq(merge(acc, json_object_new_array(), "k1", RP1, 0, &lost), 0);
    ck_assert_uint_eq(lost, 0);
    json_object_put(acc);
}
END_TEST

/* The negative control of the dedup: the same seq from another engine, or
 * from the same object in another QEMU (a power cut's second boot), is
 * another firing and is kept. */
START_TEST(test_merge_keeps_other_engines)
{
    json_object *acc = json_object_new_array();
    uint64_t lost = 0;

    ck_assert_int_eq(merge(acc, reading(0, 2, 0), "k1", RP1, 0, &lost), 3);
    ck_assert_int_eq(merge(acc, reading(0, 2, 500), "k2", RP2, 0, &lost), 3);
    ck_assert_int_eq(merge(acc, reading(0, 1, 0), "k1", RP1, 1, &lost), 2);
    ck_assert_uint_eq(json_object_array_length(acc), 8);
    ck_assert_uint_eq(lost, 0);
    /* order: qemu 0 interleaved by time (rp1 0, rp2 0 at 500, rp1 1 at
     * 1000, rp2 1 at 1500...), then qemu 1 */
    ck_assert_str_eq(get_str(acc, 0, "object"), RP1);
    ck_assert_str_eq(get_str(acc, 1, "object"), RP2);
    ck_assert_str_eq(get_str(acc, 1, "device"), "k2");
    ck_assert_str_eq(get_str(acc, 2, "object"), RP1);
    ck_assert_int_eq(get_int(acc, 2, "seq"), 1);
    ck_assert_int_eq(get_int(acc, 5, "seq"), 2);
    ck_assert_str_eq(get_str(acc, 5, "object"), RP2);
    ck_assert_int_eq(get_int(acc, 6, "qemu"), 1);
    ck_assert_int_eq(get_int(acc, 7, "qemu"), 1);
    /* a device plugged in again is a new engine on the same path: its seq
     * starts at 0 again (fails when the key leaves the plug-in out) */
    plug = 1;
    ck_assert_int_eq(merge(acc, reading(0, 1, 5000), "k1", RP1, 1, &lost), 2);
    plug = 0;
    ck_assert_uint_eq(json_object_array_length(acc), 10);
    ck_assert_int_eq(get_int(acc, 9, "plug"), 1);
    ck_assert_uint_eq(lost, 0);
    json_object_put(acc);
}
END_TEST

START_TEST(test_merge_lost)
{
    json_object *acc = json_object_new_array();
    uint64_t lost = 0;

    /* the ring dropped seq 0..9 before the first reading */
    ck_assert_int_eq(merge(acc, reading(10, 12, 0), "k1", RP1, 0, &lost), 3);
    ck_assert_uint_eq(lost, 10);
    /* and 13..19 before the second */
    ck_assert_int_eq(merge(acc, reading(20, 21, 0), "k1", RP1, 0, &lost), 2);
    ck_assert_uint_eq(lost, 17);
    /* a contiguous reading loses nothing */
    ck_assert_int_eq(merge(acc, reading(21, 22, 0), "k1", RP1, 0, &lost), 1);
    ck_assert_uint_eq(lost, 17);
    /* another engine's first reading from 0 loses nothing */
    ck_assert_int_eq(merge(acc, reading(0, 0, 0), "k2", RP2, 0, &lost), 1);
    ck_assert_uint_eq(lost, 17);
    json_object_put(acc);
}
END_TEST

static const char *const bad_readings[] = {
    "{\"seq\": 1}",
    "\"fault-log\"",
    "[1, 2]",
    "[{\"seq\": 0}, {\"time-ns\": 5}]",
    "[{\"seq\": -1}]",
    "[{\"seq\": \"3\"}]",
    "[{\"seq\": 0.5}]",
    "[{\"seq\": 0}, null]",
};

/* A reading that is not a list of entries changes nothing. */
START_TEST(test_merge_bad)
{
    json_object *acc = json_object_new_array();
    json_object *bad = json_tokener_parse(bad_readings[_i]);
    uint64_t lost = 0;
    char err[256] = "";

    ck_assert_int_eq(merge(acc, reading(0, 1, 0), "k1", RP1, 0, &lost), 2);
    ck_assert_int_eq(gfl_merge(acc, bad, "k1", RP1, 0, 0, &lost, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, RP1), "%s", err);
    ck_assert_uint_eq(json_object_array_length(acc), 2);
    ck_assert_uint_eq(lost, 0);
    json_object_put(bad);
    json_object_put(acc);
}
END_TEST

START_TEST(test_summary)
{
    json_object *acc = json_object_new_array(), *s, *v, *last;
    uint64_t lost = 0;
    char line[512];

    gfl_describe(acc, 0, line, sizeof(line));
    ck_assert_str_eq(line, "0 entries");
    ck_assert_int_eq(merge(acc, reading(3, 14, 1000000), "k1", RP1, 0, &lost), 12);
    s = gfl_summary(acc, "fault-log.json", lost);
    ck_assert(json_object_object_get_ex(s, "entries", &v));
    ck_assert_int_eq(json_object_get_int(v), 12);
    ck_assert(json_object_object_get_ex(s, "lost", &v));
    ck_assert_int_eq(json_object_get_int(v), 3);
    ck_assert(json_object_object_get_ex(s, "path", &v));
    ck_assert_str_eq(json_object_get_string(v), "fault-log.json");
    ck_assert(json_object_object_get_ex(s, "last", &last));
    ck_assert_uint_eq(json_object_array_length(last), GFL_LAST);
    ck_assert_int_eq(get_int(last, 0, "seq"), 5);
    ck_assert_int_eq(get_int(last, GFL_LAST - 1, "seq"), 14);
    json_object_put(s);
    gfl_describe(acc, lost, line, sizeof(line));
    ck_assert_str_eq(line, "12 entries (3 more lost: the ring overflowed), last: "
                     "msi:drop:every=2 vector 14 (k1, seq 14, at 0.001014 s)");
    json_object_put(acc);
}
END_TEST

Suite *fault_log_suite(void)
{
    Suite *s = suite_create("fault_log");
    TCase *tc = tcase_create("merge");

    tcase_add_test(tc, test_merge_dedup);
    tcase_add_test(tc, test_merge_keeps_other_engines);
    tcase_add_test(tc, test_merge_lost);
    tcase_add_loop_test(tc, test_merge_bad, 0,
                        sizeof(bad_readings) / sizeof(bad_readings[0]));
    tcase_add_test(tc, test_summary);
    suite_add_tcase(s, tc);
    return s;
}
