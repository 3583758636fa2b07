/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kestrel's volatile write cache and the "lie" and "powercut" fault
 * actions in the real QEMU (issue 14; datasheet 6.9 and 10.3).
 *
 * The backing file is the truth these tests check: it is what survives a
 * killed QEMU.  A WRITE with write-cache=on completes, yet the file does
 * not hold its data until a FLUSH; a lying FLUSH succeeds and leaves the
 * file as it was; a power cut stops the machine with the cache lost; a
 * snapshot or migration carries the cache; a hostile stream's cache is
 * refused with its reason.  write-cache=off is checked unchanged.
 *
 * Run under the ASan+UBSan QEMU too (device_asan.cache*).
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kdev.h"

#define MS (1000 * 1000ll)
#define DISK_BLOCKS 4096
#define WC "write-cache=on"

static Kdev *k;

/* Quit QEMU: it must exit cleanly, with no sanitizer report. */
static void stop_checked(void)
{
    KDEV_QUIT_CHECKED(&k);
}

static void teardown(void)
{
    stop_checked();
}

static void start(const char *dev_opts)
{
    char err[2048];

    k = kdev_start(dev_opts, DISK_BLOCKS, true, err, sizeof(err));
    ck_assert_msg(k, "QEMU did not start: %s", err);
    ck_assert_int_eq(kdev_enable(k, 16, 16), 0);
}

/* A recognisable pattern for block lba of a write numbered gen. */
static void pattern(uint8_t *p, uint64_t lba, uint32_t n, unsigned gen)
{
    uint32_t i;

    for (i = 0; i < n * 512; i++) {
        p[i] = (uint8_t)(gen * 37 + (lba + i / 512) * 11 +
                         i % 512 % 251 + 1);
    }
}

/* WRITE n blocks of generation gen at lba through the device. */
static int write_gen(uint64_t lba, uint32_t n, unsigned gen)
{
    uint8_t *p = malloc(n * 512);
    uint64_t buf = qt_galloc(k->qt, n * 512, 4096);
    int st;

    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ne(buf, 0);
    pattern(p, lba, n, gen);
    qt_memwrite(k->qt, buf, p, n * 512);
    free(p);
    st = kdev_rw(k, KESTREL_OP_WRITE, lba, n, buf, 1);
    return st;
}

/* READ n blocks at lba through the device into out. */
static void device_read(uint64_t lba, uint32_t n, uint8_t *out)
{
    uint64_t buf = qt_galloc(k->qt, n * 512, 4096);

    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_READ, lba, n, buf, 1),
                     KESTREL_SC_SUCCESS);
    qt_memread(k->qt, buf, out, n * 512);
}

/* Does the device READ back generation gen at lba? */
static bool device_has(uint64_t lba, uint32_t n, unsigned gen)
{
    uint8_t *p = malloc(n * 512), *want = malloc(n * 512);
    bool same;

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(want);
    device_read(lba, n, p);
    pattern(want, lba, n, gen);
    same = !memcmp(p, want, n * 512);
    free(p);
    free(want);
    return same;
}

/* Poll (wall time, 3 s) until stat name is at most max; its last value. */
static int64_t stat_settles(const char *name, int64_t max);

/* Does the backing file hold generation gen at lba (all n blocks)? */
static bool file_has(const char *img, uint64_t lba, uint32_t n, unsigned gen)
{
    uint8_t *p = malloc(n * 512), *want = malloc(n * 512);
    int fd = open(img, O_RDONLY);
    bool same;

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(want);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, p, n * 512, (off_t)lba * 512),
                     (ssize_t)(n * 512));
    close(fd);
    pattern(want, lba, n, gen);
    same = !memcmp(p, want, n * 512);
    free(p);
    free(want);
    return same;
}

/* Is every byte of the n blocks at lba zero in the backing file? */
static bool file_zero(const char *img, uint64_t lba, uint32_t n)
{
    uint8_t *p = malloc(n * 512);
    int fd = open(img, O_RDONLY);
    uint32_t i;
    bool zero = true;

    ck_assert_ptr_nonnull(p);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, p, n * 512, (off_t)lba * 512),
                     (ssize_t)(n * 512));
    close(fd);
    for (i = 0; i < n * 512; i++) {
        zero &= !p[i];
    }
    free(p);
    return zero;
}

/* FLUSH: its status, or -1 when no completion came. */
static int flush(void)
{
    struct kestrel_sqe sqe = { 0 };
    struct kestrel_cqe cqe;

    sqe.opcode = KESTREL_OP_FLUSH;
    sqe.tag = ++k->next_tag;
    kdev_submit(k, &sqe);
    if (!kdev_reap(k, &cqe, 50 * MS)) {
        return -1;
    }
    return KESTREL_CQE_STATUS(cqe.status);
}

/* A member of the stats property (integers and booleans), or -1. */
static int64_t stat(const char *name)
{
    json_object *o = NULL, *v;
    int64_t r = -1;

    if (qt_qom_get(k->qt, KDEV_QOM, "stats", &o)) {
        return -1;
    }
    if (json_object_object_get_ex(o, name, &v)) {
        r = json_object_is_type(v, json_type_boolean)
            ? json_object_get_boolean(v) : json_object_get_int64(v);
    }
    json_object_put(o);
    return r;
}

static int64_t stat_settles(const char *name, int64_t max)
{
    int64_t v = stat(name);
    int i;

    for (i = 0; i < 300 && v > max; i++) {
        usleep(10 * 1000);
        v = stat(name);
    }
    return v;
}

static void run_status(char *st, size_t len)
{
    QtQmpReply *r = qt_qmp(k->qt, "{'execute':'query-status'}");
    json_object *s;

    st[0] = '\0';
    if (r->ret && json_object_object_get_ex(r->ret, "status", &s)) {
        snprintf(st, len, "%s", json_object_get_string(s));
    }
    qt_qmp_free(r);
}

/* ---- the cache --------------------------------------------------------- */

START_TEST(cache_write_durable_only_after_flush)
{
    struct kestrel_identify id;

    start(WC);
    ck_assert_int_eq(kdev_identify(k, &id), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(id.features, KESTREL_ID_FEAT_VWC);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_CAP_FEATURES),
                      KESTREL_CAP_FEAT_VWC);
    ck_assert_int_eq(stat("write-cache"), 1);

    ck_assert_int_eq(write_gen(10, 8, 1), KESTREL_SC_SUCCESS);
    /* completed, and the media does not hold it */
    ck_assert_msg(file_zero(k->img, 10, 8),
                  "a cached WRITE reached the backing file before FLUSH");
    ck_assert_int_eq(stat("cached-writes"), 1);
    ck_assert_int_eq(stat("cache-blocks"), 8);
    /* the device reads its cache over the media */
    ck_assert(device_has(10, 8, 1));
    ck_assert_int_eq(write_gen(2, 8, 2), KESTREL_SC_SUCCESS);
    ck_assert(device_has(2, 8, 2));

    ck_assert_int_eq(flush(), KESTREL_SC_SUCCESS);
    ck_assert_msg(file_has(k->img, 2, 8, 2) && file_has(k->img, 10, 8, 1),
                  "FLUSH completed, and the backing file lacks the data");
    ck_assert_int_eq(stat("cache-blocks"), 0);
    ck_assert_int_eq(stat("cache-writebacks"), 16);
    ck_assert_int_eq(stat("flushes"), 1);
    ck_assert(device_has(10, 8, 1));

    /* a partial hit: 12..13 from the cache, 8..11 and 14..15 the media */
    {
        uint8_t got[8 * 512], want[8 * 512];

        ck_assert_int_eq(write_gen(12, 2, 3), KESTREL_SC_SUCCESS);
        pattern(want, 8, 2, 2);
        pattern(want + 2 * 512, 10, 2, 1);
        pattern(want + 4 * 512, 12, 2, 3);
        pattern(want + 6 * 512, 14, 2, 1);
        device_read(8, 8, got);
        ck_assert_msg(!memcmp(got, want, sizeof(got)),
                      "a READ across cached and uncached blocks");
        ck_assert(file_has(k->img, 12, 2, 1));
    }
}
END_TEST

START_TEST(cache_off_unchanged)
{
    struct kestrel_identify id;

    start(NULL);
    ck_assert_int_eq(kdev_identify(k, &id), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(id.features, 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_CAP_FEATURES), 0);
    ck_assert_int_eq(stat("write-cache"), 0);
    ck_assert_int_eq(write_gen(10, 8, 1), KESTREL_SC_SUCCESS);
    ck_assert_msg(file_has(k->img, 10, 8, 1),
                  "write-cache=off: a completed WRITE is not in the file");
    ck_assert_int_eq(stat("cached-writes"), 0);
    ck_assert_int_eq(flush(), KESTREL_SC_SUCCESS);
    ck_assert_int_eq(stat("flushes"), 1);
    ck_assert_int_eq(stat("cache-writebacks"), 0);
}
END_TEST

/* Full: the WRITE that does not fit goes to the media, the oldest blocks
 * are written back. */
START_TEST(cache_full_writes_back)
{
    start(WC ",write-cache-blocks=16");
    ck_assert_int_eq(write_gen(0, 16, 1), KESTREL_SC_SUCCESS);
    ck_assert(file_zero(k->img, 0, 16));
    ck_assert_int_eq(stat("cache-blocks"), 16);
    ck_assert_int_eq(write_gen(100, 8, 2), KESTREL_SC_SUCCESS);
    ck_assert_msg(file_has(k->img, 100, 8, 2),
                  "a WRITE past a full cache is not on the media");
    ck_assert_int_eq(stat("write-through"), 1);
    ck_assert(device_has(0, 16, 1));
    ck_assert(device_has(100, 8, 2));
    /* the write-back of the oldest run goes on in the background */
    ck_assert_msg(stat_settles("cache-blocks", 12) <= 12 &&
                  stat("cache-writebacks") >= 4,
                  "the full cache wrote nothing back: %lld blocks, %lld "
                  "written back", (long long)stat("cache-blocks"),
                  (long long)stat("cache-writebacks"));
    ck_assert(file_has(k->img, 0, 16, 1));
}
END_TEST

/* A controller reset keeps the cache; a system reset (power) loses it. */
START_TEST(cache_resets)
{
    start(WC);
    ck_assert_int_eq(write_gen(20, 4, 1), KESTREL_SC_SUCCESS);
    kdev_wr(k, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    ck_assert_int_eq(kdev_enable(k, 16, 16), 0);
    ck_assert_int_eq(stat("cache-blocks"), 4);
    ck_assert(device_has(20, 4, 1));

    ck_assert_int_eq(stat("cache-lost"), 0);

    ck_assert_int_eq(qt_qmp_ok(k->qt, "{'execute':'system_reset'}"), 0);
    ck_assert_int_eq(stat_settles("cache-blocks", 0), 0);
    ck_assert_int_eq(stat("cache-lost"), 4);
    ck_assert(file_zero(k->img, 20, 4));
}
END_TEST

/* Unplug: the device loses power with blocks cached; QEMU goes on. */
START_TEST(cache_lost_at_unplug)
{
    KdevOpts o = { .dev_opts = WC, .blocks = DISK_BLOCKS, .msix = true,
                   .root_port = true };
    char err[2048], img[256];

    k = kdev_start_opts(&o, err, sizeof(err));
    ck_assert_msg(k, "QEMU did not start: %s", err);
    ck_assert_int_eq(kdev_enable(k, 16, 16), 0);
    ck_assert_int_eq(write_gen(80, 4, 1), KESTREL_SC_SUCCESS);
    ck_assert_int_eq(stat("cache-blocks"), 4);
    snprintf(img, sizeof(img), "%s", k->img);
    ck_assert_int_eq(kdev_slot_power_off(k), 0);
    ck_assert_int_eq(qt_alive(k->qt), 1);
    ck_assert_int_ne(qt_qom_get_int(k->qt, KDEV_QOM, "queue-depth",
                                    &(int64_t){ 0 }), 0);   /* gone */
    ck_assert(file_zero(img, 80, 4));
}
END_TEST

START_TEST(cache_bad_capacity_refused)
{
    char err[2048];

    k = kdev_start(WC ",write-cache-blocks=8", DISK_BLOCKS, true, err,
                   sizeof(err));
    ck_assert_msg(!k, "write-cache-blocks=8 accepted");
    ck_assert_msg(strstr(err, "write-cache-blocks must be 16..65536"),
                  "no reason given: %s", err);
}
END_TEST

/* ---- faults: lie and powercut ------------------------------------------ */

START_TEST(flush_lie)
{
    char err[2048];

    start(WC);
    ck_assert_int_eq(kdev_set_faults(k, "sq.fetch[op=flush]:lie:once", err,
                                     sizeof(err)), 0);
    ck_assert_int_eq(write_gen(30, 8, 1), KESTREL_SC_SUCCESS);
    ck_assert_int_eq(flush(), KESTREL_SC_SUCCESS);
    ck_assert_int_eq(kdev_fault_fired(k, 0), 1);
    ck_assert_msg(file_zero(k->img, 30, 8),
                  "the lying FLUSH wrote the data back");
    ck_assert_int_eq(stat("flush-lies"), 1);
    ck_assert_int_eq(stat("flushes"), 0);
    /* the lying drive kept the data: it still reads it */
    ck_assert(device_has(30, 8, 1));
    /* control: the next FLUSH (the rule fired once) writes it back */
    ck_assert_int_eq(flush(), KESTREL_SC_SUCCESS);
    ck_assert_int_eq(kdev_fault_fired(k, 0), 1);
    ck_assert(file_has(k->img, 30, 8, 1));

    /* a rule the grammar refuses: lie without [op=flush] */
    ck_assert_int_ne(kdev_set_faults(k, "sq.fetch:lie", err, sizeof(err)),
                     0);
    ck_assert_msg(strstr(err, "column 10") &&
                  strstr(err, "lie needs sq.fetch[op=flush]"), "%s", err);
}
END_TEST

/* A power cut at a FLUSH: the machine stops, the cache is lost. */
START_TEST(powercut_at_flush)
{
    struct kestrel_sqe sqe = { 0 };
    struct kestrel_cqe cqe;
    char err[2048], st[64];

    start(WC);
    ck_assert_int_eq(write_gen(40, 8, 1), KESTREL_SC_SUCCESS);
    ck_assert_int_eq(kdev_set_faults(k, "sq.fetch[op=flush]:powercut:once",
                                     err, sizeof(err)), 0);
    qt_qmp_drop_events(k->qt);
    sqe.opcode = KESTREL_OP_FLUSH;
    sqe.tag = ++k->next_tag;
    kdev_submit(k, &sqe);
    ck_assert_msg(qt_qmp_wait_event(k->qt, "STOP", 5000, NULL) == 0,
                  "no STOP event after the power cut");
    run_status(st, sizeof(st));
    ck_assert_str_eq(st, "shutdown");
    ck_assert_int_eq(kdev_fault_fired(k, 0), 1);
    ck_assert_int_eq(stat("power-cut"), 1);
    ck_assert_int_eq(stat("cache-lost"), 8);
    ck_assert_int_eq(stat("flushes"), 0);
    ck_assert(file_zero(k->img, 40, 8));
    /* dead: registers read all ones, no completion was posted */
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_STATUS), 0xffffffffu);
    qt_memread(k->qt, k->cq + (uint64_t)k->cq_head * 16, &cqe, 16);
    ck_assert_uint_ne(cqe.status & KESTREL_CQE_PHASE, k->phase);
    /* only a reset brings power back: "cont" is refused */
    ck_assert_int_ne(qt_qmp_ok(k->qt, "{'execute':'cont'}"), 0);
}
END_TEST

/* At a register read (a vCPU's access in a real guest). */
START_TEST(powercut_at_reg_read)
{
    char err[2048];

    start(WC);
    ck_assert_int_eq(write_gen(50, 2, 1), KESTREL_SC_SUCCESS);
    ck_assert_int_eq(kdev_set_faults(k, "reg.read[reg=STATUS]:powercut",
                                     err, sizeof(err)), 0);
    qt_qmp_drop_events(k->qt);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_STATUS), 0xffffffffu);
    ck_assert(qt_qmp_wait_event(k->qt, "STOP", 5000, NULL) == 0);
    ck_assert_int_eq(kdev_fault_fired(k, 0), 1);
    ck_assert_int_eq(stat("cache-lost"), 2);
    ck_assert(file_zero(k->img, 50, 2));
}
END_TEST

/* ---- migration ---------------------------------------------------------- */

START_TEST(cache_survives_migration)
{
    char err[2048];

    start(WC);
    ck_assert_int_eq(write_gen(60, 8, 1), KESTREL_SC_SUCCESS);
    ck_assert_int_eq(write_gen(1000, 3, 2), KESTREL_SC_SUCCESS);
    ck_assert_msg(kdev_migrate(k, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(stat("cache-blocks"), 11);
    ck_assert(file_zero(k->img, 60, 8));
    ck_assert(device_has(60, 8, 1));
    ck_assert(device_has(1000, 3, 2));
    ck_assert_int_eq(flush(), KESTREL_SC_SUCCESS);
    ck_assert(file_has(k->img, 60, 8, 1));
    ck_assert(file_has(k->img, 1000, 3, 2));
}
END_TEST

/*
 * A FLUSH that waits for the write-back when the VM stops is saved as
 * waiting and completes at the destination.  The backend is throttled on
 * the virtual clock, which this test does not advance: the write-back
 * stays in flight, and with it the FLUSH, until the drain of the stop.
 */
START_TEST(flush_waiting_across_migration)
{
    KdevOpts o = { .dev_opts = WC, .drive_opts = "throttling.iops-write=10",
                   .blocks = DISK_BLOCKS, .msix = true };
    struct kestrel_sqe sqe = { 0 };
    struct kestrel_cqe cqe;
    char err[2048];
    int i;

    k = kdev_start_opts(&o, err, sizeof(err));
    ck_assert_msg(k, "QEMU did not start: %s", err);
    ck_assert_int_eq(kdev_enable(k, 16, 16), 0);
    /* 20 runs of one block: 20 write-backs, more than the throttle's
     * burst lets through */
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(write_gen(200 + 2 * i, 1, 2), KESTREL_SC_SUCCESS);
    }
    sqe.opcode = KESTREL_OP_FLUSH;
    sqe.tag = ++k->next_tag;
    kdev_submit(k, &sqe);
    for (i = 0; i < 20; i++) {          /* wall time; no clock steps */
        usleep(10 * 1000);
        qt_memread(k->qt, k->cq + (uint64_t)k->cq_head * 16, &cqe, 16);
        ck_assert_msg((cqe.status & KESTREL_CQE_PHASE) != k->phase,
                      "the FLUSH completed before the stop (throttle off?)");
    }
    ck_assert_int_eq(stat("flushes"), 0);
    ck_assert(file_zero(k->img, 238, 1));
    ck_assert_msg(kdev_migrate(k, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(kdev_reap(k, &cqe, 50 * MS),
                  "the waiting FLUSH never completed after the migration");
    ck_assert_uint_eq(cqe.tag, sqe.tag);
    ck_assert_uint_eq(KESTREL_CQE_STATUS(cqe.status), KESTREL_SC_SUCCESS);
    for (i = 0; i < 20; i++) {
        ck_assert(file_has(k->img, 200 + 2 * i, 1, 2));
    }
    ck_assert_int_eq(stat("cache-blocks"), 0);
    ck_assert_int_eq(stat("flushes"), 1);
}
END_TEST

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
}

/* The migration stream of a VM with 5 cached blocks at lba 70. */
static uint8_t *save_cached(size_t *len, size_t *cache_at)
{
    static const char name[] = "kestrel/cache";
    uint8_t *p;
    size_t i;

    start(WC);
    ck_assert_int_eq(write_gen(70, 5, 1), KESTREL_SC_SUCCESS);
    {
        char err[256];
        size_t got;

        ck_assert_msg(kdev_save_stream(k, &p, &got, err, sizeof(err)) == 0,
                      "%s", err);
        *len = got;
    }
    *cache_at = 0;
    for (i = 0; i + sizeof(name) - 1 <= *len; i++) {
        /* the first: the JSON description at the end names it too */
        if (!memcmp(p + i, name, sizeof(name) - 1)) {
            /* name, be32 version: then the cache fields */
            *cache_at = i + sizeof(name) - 1 + 4;
            break;
        }
    }
    ck_assert_msg(*cache_at, "no cache subsection in the stream");
    stop_checked();
    return p;
}

/* 1: the stream loaded and the VM runs; 0: refused (QEMU exits). */
static int load_stream(const uint8_t *p, size_t len, const char *dev_opts,
                       char *log, size_t loglen)
{
    int loaded = kdev_load_stream(p, len, DISK_BLOCKS, dev_opts, log, loglen);

    ck_assert_msg(loaded >= 0, "QEMU neither loaded nor refused the stream, "
                  "or did not quit cleanly: %s", log);
    ck_assert_msg(!strstr(log, "AddressSanitizer") &&
                  !strstr(log, "runtime error:"),
                  "sanitizer report:\n%s", log);
    return loaded;
}

typedef struct CacheMutation {
    const char *what;
    size_t off;         /* from the first cache field */
    uint64_t val;
    unsigned size;
    const char *dev_opts;
    const char *expect;
} CacheMutation;

/* Offsets: be32 block size, be32 count, be64 seq, u8 power cut, blocks */
enum { C_BS = 0, C_COUNT = 4, C_SEQ = 8, C_CUT = 16, C_LBA0 = 17,
       C_SEQ0 = 25, C_LBA1 = 17 + 16 + 512 };

START_TEST(hostile_cache_stream_refused)
{
    static const CacheMutation m[] = {
        { "a count of 2^32-1", C_COUNT, 0xffffffffu, 4, WC,
          "4294967295 cached blocks, capacity 4096" },
        { "a count past a smaller cache", C_COUNT, 17, 4,
          WC ",write-cache-blocks=16", "17 cached blocks, capacity 16" },
        { "more blocks than the stream has", C_COUNT, 4000, 4, WC, NULL },
        { "a block past the capacity", C_LBA0, DISK_BLOCKS, 8, WC,
          "past the capacity" },
        { "a block cached twice", C_LBA1, 70, 8, WC, "cached twice" },
        { "a block newer than the cache", C_SEQ0, 1000, 8, WC,
          "out of order" },
        { "4096-byte blocks", C_BS, 4096, 4, WC, "4096-byte blocks" },
        { "a power-cut flag of 2", C_CUT, 2, 1, WC, "power-cut flag 2" },
        { "blocks after a power cut", C_CUT, 1, 1, WC,
          "cached block 70 after a power cut" },
        { "a cache where write-cache is off", C_COUNT, 5, 4, NULL,
          "write-cache is off here" },
    };
    char log[4096], report[8192] = "";
    size_t len, at, used = 0;
    uint8_t *p = save_cached(&len, &at);
    unsigned i, bad = 0;

    /* negative control: the stream as saved loads */
    ck_assert_msg(load_stream(p, len, WC, log, sizeof(log)) == 1,
                  "the unchanged stream was refused:\n%s", log);
    for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        uint8_t *q = p + at + m[i].off, saved[8];
        int loaded;

        ck_assert(at + m[i].off + m[i].size <= len);
        memcpy(saved, q, m[i].size);
        put_be(q, m[i].val, m[i].size);
        loaded = load_stream(p, len, m[i].dev_opts, log, sizeof(log));
        if (loaded ||
            !strstr(log, "kestrel: migrated device state refused") ||
            (m[i].expect && !strstr(log, m[i].expect))) {
            bad++;
            used += (size_t)snprintf(report + used, sizeof(report) - used,
                                     "  %s: %s\n%s\n", m[i].what,
                                     loaded ? "accepted"
                                            : "refused without the reason",
                                     log);
            used = used < sizeof(report) ? used : sizeof(report) - 1;
        }
        memcpy(q, saved, m[i].size);
    }
    free(p);
    ck_assert_msg(!bad, "%u of %zu hostile cache streams not refused:\n%s",
                  bad, sizeof(m) / sizeof(m[0]), report);
}
END_TEST

static Suite *cache_suite(void)
{
    Suite *s = suite_create("cache");
    TCase *t;

    t = tcase_create("cache");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_set_timeout(t, 300);
    tcase_add_test(t, cache_write_durable_only_after_flush);
    tcase_add_test(t, cache_off_unchanged);
    tcase_add_test(t, cache_full_writes_back);
    tcase_add_test(t, cache_resets);
    tcase_add_test(t, cache_lost_at_unplug);
    tcase_add_test(t, cache_bad_capacity_refused);
    suite_add_tcase(s, t);

    t = tcase_create("cache_faults");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_set_timeout(t, 300);
    tcase_add_test(t, flush_lie);
    tcase_add_test(t, powercut_at_flush);
    tcase_add_test(t, powercut_at_reg_read);
    suite_add_tcase(s, t);

    t = tcase_create("cache_migrate");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_set_timeout(t, 300);
    tcase_add_test(t, cache_survives_migration);
    tcase_add_test(t, flush_waiting_across_migration);
    tcase_add_test(t, hostile_cache_stream_refused);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cache_suite());
    int failed;

    srunner_run_all(sr, CK_VERBOSE);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
