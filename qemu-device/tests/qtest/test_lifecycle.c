/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kestrel's lifecycle in the real QEMU (issue 13): what happens to the
 * command engine when the device is unplugged, when the VM stops and
 * migrates, and when a migration stream lies.
 *
 * The load: READs of 256 KiB against a backend throttled to 10 IOPS.
 * Under qtest the throttle runs on the virtual clock, which these tests do
 * not advance: every READ the device starts stays in flight until a drain
 * lifts the throttle.  With a 256-entry SQ the device fetches 255 READs
 * (batch A, in flight) and the guest queues 255 more (batch B, waiting in
 * the SQ).  A drain then completes batch A, and a device that keeps its
 * engine running through the drain fetches batch B inside it.
 *
 * Run them under the ASan+UBSan QEMU too (device_asan.lifecycle_*).
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kdev.h"

#define MS (1000 * 1000ll)
#define QD 256
#define XFER_BLOCKS 512                 /* 256 KiB */
#define DISK_BLOCKS (16 * XFER_BLOCKS)  /* 4 MiB */
#define NCMDS (2 * (QD - 1))
#define THROTTLE "throttling.iops-read=10"

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

static void start(bool root_port, const char *drive_opts)
{
    KdevOpts o = {
        .drive_opts = drive_opts, .blocks = DISK_BLOCKS, .msix = true,
        .root_port = root_port,
    };
    char err[2048];

    k = kdev_start_opts(&o, err, sizeof(err));
    ck_assert_msg(k, "QEMU did not start: %s", err);
}

static double wall_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* SQ_HEAD once the device stopped fetching (wall time; no clock steps). */
static uint32_t settled_sq_head(void)
{
    uint32_t head = kdev_rd(k, KESTREL_REG_SQ_HEAD), prev;
    double end = wall_s() + 10;

    do {
        prev = head;
        usleep(50 * 1000);
        head = kdev_rd(k, KESTREL_REG_SQ_HEAD);
    } while (head != prev && wall_s() < end);
    return head;
}

/* Queue tags first..first+n-1 as 256 KiB READs of one shared buffer. */
static void queue_reads(uint16_t first, unsigned n, uint64_t buf,
                        uint64_t sgl)
{
    struct kestrel_sqe *ring = calloc(n, sizeof(*ring));
    unsigned i, pos = k->sq_tail;

    ck_assert_ptr_nonnull(ring);
    for (i = 0; i < n; i++) {
        ring[i].opcode = KESTREL_OP_READ;
        ring[i].tag = (uint16_t)(first + i);
        ring[i].lba = (uint64_t)(i % 16) * XFER_BLOCKS;
        ring[i].nblocks = XFER_BLOCKS;
        ring[i].nsegs = 1;
        ring[i].sgl_addr = sgl;
        ring[i].sgl_len = 16;
    }
    for (i = 0; i < n; i++) {
        qt_memwrite(k->qt, k->sq + (uint64_t)pos * 64, &ring[i], 64);
        pos = (pos + 1) % k->sq_size;
    }
    free(ring);
    k->sq_tail = pos;
    kdev_wr(k, KESTREL_REG_SQ_TAIL_DB, k->sq_tail);
    (void)buf;
}

/*
 * Batch A (tags 1..255) in flight, batch B (256..510) waiting in the SQ.
 * Returns how many commands wait in the SQ.
 */
static unsigned load_two_batches(void)
{
    uint64_t buf, sgl;
    struct kestrel_sg_desc d = { 0 };
    uint32_t head, cq_tail, waiting;

    ck_assert_int_eq(kdev_enable(k, QD, QD), 0);
    buf = qt_galloc(k->qt, XFER_BLOCKS * 512, 4096);
    sgl = qt_galloc(k->qt, 16, 16);
    ck_assert(buf && sgl);
    d.addr = buf;
    d.len = XFER_BLOCKS * 512;
    d.flags = KESTREL_SG_DATA;
    qt_memwrite(k->qt, sgl, &d, sizeof(d));

    queue_reads(1, QD - 1, buf, sgl);
    head = settled_sq_head();
    ck_assert_msg(head == QD - 1, "batch A: the device fetched %u of %u",
                  head, QD - 1);
    queue_reads(QD, QD - 1, buf, sgl);
    head = settled_sq_head();
    cq_tail = kdev_rd(k, KESTREL_REG_CQ_TAIL);
    waiting = (k->sq_tail + QD - head) % QD;
    /* the throttle lets a burst through; the rest is in flight */
    ck_assert_msg(waiting >= 200, "only %u commands wait in the SQ",
                  waiting);
    ck_assert_msg(cq_tail <= 20, "%u READs completed under the throttle",
                  cq_tail);
    return waiting;
}

/* ---- unplug (issue 13 item 1) ----------------------------------------- */

/*
 * The guest powers its own slot off (native PCIe hotplug) while hundreds
 * of large READs are in flight and hundreds more wait in the SQ.  QEMU
 * unrealizes Kestrel inside that config write.  The device must stop its
 * engine before it drains the backend: otherwise the completions of batch
 * A let it fetch batch B inside the drain, those requests are parked by
 * the drained backend, restart after it, and complete on freed state.
 */
START_TEST(unplug_with_reads_in_flight)
{
    uint32_t id = 0;
    int i;

    start(true, THROTTLE);
    load_two_batches();
    ck_assert_int_eq(kdev_slot_power_off(k), 0);
    /* Let whatever the unplug left behind run: throttled I/O, BHs. */
    for (i = 0; i < 20; i++) {
        ck_assert_msg(qt_clock_step(k->qt, 100 * MS, NULL) == 0,
                      "after unplug: %s", qt_error(k->qt));
        usleep(10 * 1000);
    }
    ck_assert_msg(qt_alive(k->qt) == 1, "QEMU died: %s", qt_error(k->qt));
    ck_assert_int_eq(qt_pci_cfg_read(k->pci, 0, 4, &id), 0);
    ck_assert_msg(id == 0xffffffff, "Kestrel still answers after unplug "
                  "(id 0x%08x)", id);
    stop_checked();
}
END_TEST

/* Negative control: the same unplug with nothing in flight. */
START_TEST(unplug_idle)
{
    uint32_t id = 0;

    start(true, NULL);
    ck_assert_int_eq(kdev_enable(k, QD, QD), 0);
    ck_assert_int_eq(kdev_slot_power_off(k), 0);
    ck_assert_int_eq(qt_clock_step(k->qt, 100 * MS, NULL), 0);
    ck_assert_int_eq(qt_pci_cfg_read(k->pci, 0, 4, &id), 0);
    ck_assert_uint_eq(id, 0xffffffff);
    stop_checked();
}
END_TEST

/* ---- migration under load (issue 13 item 2) --------------------------- */

/*
 * Reap completions until every tag 1..n came once, stepping virtual time;
 * then a while longer, to see no tag twice.  counts[] gets each tag's
 * number of completions.
 */
static unsigned reap_all(unsigned n, unsigned *counts, unsigned *bad_status)
{
    struct kestrel_cqe cq[QD];
    unsigned got = 0, idle = 0;
    double end = wall_s() + 60;

    while (wall_s() < end && idle < 50) {
        bool any = false;

        ck_assert_int_eq(qt_memread(k->qt, k->cq, cq, sizeof(cq[0]) *
                                    k->cq_size), 0);
        while ((cq[k->cq_head].status & KESTREL_CQE_PHASE) == k->phase) {
            uint16_t tag = cq[k->cq_head].tag;

            if (tag >= 1 && tag <= n) {
                counts[tag]++;
            }
            if (KESTREL_CQE_STATUS(cq[k->cq_head].status)) {
                (*bad_status)++;
            }
            got++;
            any = true;
            if (++k->cq_head == k->cq_size) {
                k->cq_head = 0;
                k->phase ^= 1;
            }
        }
        if (any) {
            kdev_wr(k, KESTREL_REG_CQ_HEAD_DB, k->cq_head);
            idle = 0;
        } else if (got >= n) {
            idle++;             /* all came: watch for duplicates */
        }
        ck_assert_int_eq(qt_clock_step(k->qt, 10 * MS, NULL), 0);
    }
    return got;
}

static void check_each_once(unsigned n)
{
    unsigned *counts = calloc(n + 1, sizeof(*counts));
    unsigned got, bad = 0, missing = 0, twice = 0, first_missing = 0, i;

    ck_assert_ptr_nonnull(counts);
    got = reap_all(n, counts, &bad);
    for (i = 1; i <= n; i++) {
        if (!counts[i]) {
            missing++;
            first_missing = first_missing ? first_missing : i;
        }
        twice += counts[i] > 1;
    }
    free(counts);
    ck_assert_msg(!missing && !twice && got == n && !bad,
                  "%u completions for %u commands: %u never completed "
                  "(first: tag %u), %u more than once, %u failed",
                  got, n, missing, first_missing, twice, bad);
}

/* The source's arguments without the throttle. */
static void unthrottled_args(char *dest, size_t len)
{
    char *p;

    snprintf(dest, len, "%s", k->args);
    p = strstr(dest, "," THROTTLE);
    ck_assert_ptr_nonnull(p);
    memmove(p, p + strlen("," THROTTLE), strlen(p + strlen("," THROTTLE)) + 1);
}

/*
 * Live migration (no "stop" first: QEMU stops the VM at the end of
 * `migrate`, drains, and saves the device) with batch A in flight and
 * batch B in the SQ, into a second QEMU whose backend is not throttled.
 * Every command completes exactly once on the destination.
 */
START_TEST(live_migration_under_load)
{
    char err[2048], dest[sizeof(k->args)];

    start(false, THROTTLE);
    load_two_batches();
    unthrottled_args(dest, sizeof(dest));
    ck_assert_msg(kdev_migrate_ex(k, false, dest, err, sizeof(err)) == 0,
                  "%s", err);
    check_each_once(NCMDS);
}
END_TEST

/* The same with "stop" first, as the harness's snapshots do. */
START_TEST(stopped_migration_under_load)
{
    char err[2048], dest[sizeof(k->args)];

    start(false, THROTTLE);
    load_two_batches();
    unthrottled_args(dest, sizeof(dest));
    ck_assert_msg(kdev_migrate_ex(k, true, dest, err, sizeof(err)) == 0,
                  "%s", err);
    check_each_once(NCMDS);
}
END_TEST

/* ---- prob= across migration (issue 13 item 4) ------------------------ */

/*
 * A rule's probability is kept as a 32-bit fraction; its canonical text
 * has 6 digits.  With seed=1 the rule's first draw is 2474176199:
 *   prob=0.576064037293211 is 2474176200 (the first completion is dropped)
 *   prob=0.576064 (its canonical text) is 2474176040 (it is not).
 * (Found with the core's own kestrel_fault_set/kestrel_fault_rand.)  A
 * migration that restores the rule from its text drops nothing.
 */
#define PROB_EXACT "cq.post:drop:prob=0.576064037293211,seed=1"
#define PROB_TEXT "cq.post:drop:prob=0.576064,seed=1"

static bool first_flush_completes(void)
{
    struct kestrel_sqe sqe = { 0 };
    struct kestrel_cqe cqe;

    sqe.opcode = KESTREL_OP_FLUSH;
    sqe.tag = 77;
    kdev_submit(k, &sqe);
    return kdev_reap(k, &cqe, 10 * MS);
}

START_TEST(prob_exact_across_migration)
{
    char err[2048];

    /* control: the canonical text does not drop the first completion */
    start(false, NULL);
    ck_assert_int_eq(kdev_enable(k, 4, 4), 0);
    ck_assert_int_eq(kdev_set_faults(k, PROB_TEXT, err, sizeof(err)), 0);
    ck_assert_msg(first_flush_completes(), "control: dropped");
    ck_assert_int_eq(kdev_fault_fired(k, 0), 0);
    stop_checked();

    /* the exact rule, migrated before its first draw, drops it */
    start(false, NULL);
    ck_assert_int_eq(kdev_enable(k, 4, 4), 0);
    ck_assert_int_eq(kdev_set_faults(k, PROB_EXACT, err, sizeof(err)), 0);
    ck_assert_msg(kdev_migrate(k, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(!first_flush_completes(),
                  "after migration the rule fired as prob=0.576064");
    ck_assert_int_eq(kdev_fault_fired(k, 0), 1);
}
END_TEST

/*
 * A completion that cq.post:corrupt(addr=X) redirected, held by a delay,
 * crosses a migration: the subsection kestrel/cqe-redirect carries its
 * address, and on the destination it lands at X, not in its slot.
 */
START_TEST(redirected_completion_across_migration)
{
    struct kestrel_sqe sqe = { 0 };
    struct kestrel_cqe e;
    char err[2048], rules[160];
    uint64_t x;

    start(false, NULL);
    ck_assert_int_eq(kdev_enable(k, 4, 4), 0);
    x = qt_galloc(k->qt, 4096, 4096);
    snprintf(rules, sizeof(rules), "cq.post:delay(100ms):once;"
             "cq.post:corrupt(addr=0x%" PRIx64 "):once", x);
    ck_assert_int_eq(kdev_set_faults(k, rules, err, sizeof(err)), 0);
    sqe.opcode = KESTREL_OP_FLUSH;
    sqe.tag = 9;
    kdev_submit(k, &sqe);
    ck_assert_msg(!kdev_reap(k, &e, 10 * MS), "the delay did not hold it");
    ck_assert_int_eq(kdev_fault_fired(k, 1), 1);
    ck_assert_msg(kdev_migrate(k, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(!kdev_reap(k, &e, 300 * MS),
                  "the redirected completion came to its slot");
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_CQ_TAIL), 1);
    ck_assert_int_eq(qt_memread(k->qt, x, &e, sizeof(e)), 0);
    ck_assert_uint_eq(e.tag, 9);
    ck_assert_uint_eq(e.status & KESTREL_CQE_PHASE, 1);
}
END_TEST

/* ---- hostile migration streams (issue 13 item 3) ---------------------- */

/* Markers in the saved registers, to find the device's fields. */
#define MARK_SQ_BASE 0x1122334455660000ull
#define MARK_CQ_BASE 0x7766554433220000ull

typedef struct Blob {
    uint8_t *p;
    size_t len;
    size_t core;        /* offset of core.sq_base (big endian in vmstate) */
} Blob;

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
}

/* Field offsets after core.sq_base, in vmstate_kestrel's order. */
enum {
    OFF_SQ_SIZE = 8,
    OFF_CQ_BASE = 12,
    OFF_CQ_SIZE = 20,
    OFF_SQ_HEAD = 24,
    OFF_ERR_LOG = 48,   /* after sq/cq head/tail, cq_phase, err_count */
    OFF_GEN = OFF_ERR_LOG + KESTREL_ERR_LOG_LEN * 16,
    OFF_POWER = OFF_GEN + 4,
    OFF_LINK = OFF_POWER + 4,
    OFF_READY_AT = OFF_LINK + 1 + 5 + 1 + 4,
    OFF_STORM_LEFT = OFF_READY_AT + 4 * 8 + 4,
    OFF_STORM_IVAL = OFF_STORM_LEFT + 4,
    OFF_NPENDING = OFF_STORM_IVAL + 8 + 8 + 8 + 8,
    OFF_PENDING = OFF_NPENDING + 4,
    OFF_CMDS = OFF_PENDING + KESTREL_MAX_QDEPTH * 2,
    CMD_SIZE = 4 + 4 + 4 * 1 + 4 * 2 + 4 + 4 + 8 + 8 + 8,
};

/* Save a VM whose Kestrel holds the markers; read the stream. */
static void save_marked(Blob *b)
{
    uint8_t mark[8];
    size_t i;

    start(false, NULL);
    kdev_wr(k, KESTREL_REG_SQ_BASE_LO, (uint32_t)MARK_SQ_BASE);
    kdev_wr(k, KESTREL_REG_SQ_BASE_HI, (uint32_t)(MARK_SQ_BASE >> 32));
    kdev_wr(k, KESTREL_REG_SQ_SIZE, 64);
    kdev_wr(k, KESTREL_REG_CQ_BASE_LO, (uint32_t)MARK_CQ_BASE);
    kdev_wr(k, KESTREL_REG_CQ_BASE_HI, (uint32_t)(MARK_CQ_BASE >> 32));
    kdev_wr(k, KESTREL_REG_CQ_SIZE, 64);
    {
        char err[256];

        ck_assert_msg(kdev_save_stream(k, &b->p, &b->len, err, sizeof(err)) == 0,
                      "%s", err);
    }
    put_be(mark, MARK_SQ_BASE, 8);
    b->core = 0;
    for (i = 0; i + 8 <= b->len; i++) {
        if (!memcmp(b->p + i, mark, 8)) {
            ck_assert_msg(!b->core, "the marker is in the stream twice");
            b->core = i;
        }
    }
    ck_assert_msg(b->core, "the marker is not in the stream");
    put_be(mark, MARK_CQ_BASE, 8);
    ck_assert(!memcmp(b->p + b->core + OFF_CQ_BASE, mark, 8));
    stop_checked();
}

/*
 * Start a QEMU that loads the stream; returns 1 when it loaded and runs,
 * 0 when it refused (QEMU 7.2's destination then exits with status 1, a
 * clean exit; never a crash or a sanitizer report).  log gets its log.
 */
static int load_stream(const Blob *b, char *log, size_t loglen)
{
    int loaded = kdev_load_stream(b->p, b->len, DISK_BLOCKS, NULL, log, loglen);

    ck_assert_msg(loaded >= 0, "QEMU neither loaded nor refused the stream, "
                  "or did not quit cleanly: %s", log);
    ck_assert_msg(!strstr(log, "AddressSanitizer") &&
                  !strstr(log, "runtime error:"),
                  "sanitizer report:\n%s", log);
    return loaded;
}

typedef struct Mutation {
    const char *what;
    size_t off;
    uint64_t val;
    unsigned size;
    const char *expect;         /* in QEMU's error */
} Mutation;

/*
 * Each mutation of a valid stream must be refused, for its reason, with a
 * clean exit of the destination (QEMU 7.2 ends an incoming QEMU whose
 * load failed; the source keeps running).  The unchanged stream loads.
 */
START_TEST(hostile_streams_refused)
{
    static const Mutation m[] = {
        { "a pending slot that is free", OFF_NPENDING, 1, 4,
          "pending slot 0 in state 0" },
        { "a command in flight", OFF_CMDS + 3 * CMD_SIZE, 1, 4,
          "slot 3 in state 1" },
        { "a command state that does not exist", OFF_CMDS + 5 * CMD_SIZE,
          9, 4, "slot 5 in state 9" },
        { "a command past the queue depth", OFF_CMDS + 300 * CMD_SIZE, 3, 4,
          "slot 300 in use" },
        { "an endless interrupt storm", OFF_STORM_LEFT, 0xffffffff, 4,
          "interrupt storm" },
        { "a stall flag of 7", OFF_LINK + 1, 7, 1, "neither 0 nor 1" },
        { "power state D2", OFF_POWER, 2, 4, "power state D2" },
        { "npending past the queue depth", OFF_NPENDING, 5000, 4,
          "pending completions" },
    };
    Blob b;
    char log[4096], report[8192] = "";
    size_t used = 0;
    unsigned i, bad = 0;

    save_marked(&b);
    /* negative control: the unchanged stream loads */
    ck_assert_msg(load_stream(&b, log, sizeof(log)) == 1,
                  "the unchanged stream was refused:\n%s", log);
    for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        uint8_t *p = b.p + b.core + m[i].off;
        uint8_t saved[8];
        int loaded;

        ck_assert(b.core + m[i].off + m[i].size <= b.len);
        memcpy(saved, p, m[i].size);
        put_be(p, m[i].val, m[i].size);
        loaded = load_stream(&b, log, sizeof(log));
        if (loaded || !strstr(log, "kestrel: migrated device state refused") ||
            !strstr(log, m[i].expect)) {
            bad++;
            used += (size_t)snprintf(report + used, sizeof(report) - used,
                                     "  %s: %s\n", m[i].what,
                                     loaded ? "accepted"
                                            : "refused without the reason");
            used = used < sizeof(report) ? used : sizeof(report) - 1;
        }
        memcpy(p, saved, m[i].size);
    }
    free(b.p);
    ck_assert_msg(!bad, "%u of %zu hostile streams not refused:\n%s", bad,
                  sizeof(m) / sizeof(m[0]), report);
}
END_TEST

/* ---- a hostile snapshot, loaded into a running QEMU ------------------- */

/* A 4 MiB qcow2 image (internal snapshots), made by QEMU itself. */
static void make_qcow2(const char *path)
{
    char err[2048];

    ck_assert_msg(!kdev_make_qcow2(path, 4 << 20, err, sizeof(err)), "%s",
                  err);
}

/* An HMP command; its output (malloc'ed). */
static char *hmp(const char *line)
{
    char *out = NULL;

    ck_assert_msg(kdev_hmp(k->qt, line, &out) == 0, "%s: %s", line,
                  qt_error(k->qt));
    return out;
}

/* The whole file, and where the marker (core.sq_base) is in it. */
static uint8_t *read_all(const char *path, long *len, long *mark_at)
{
    FILE *f = fopen(path, "rb");
    uint8_t mark[8], *p;
    long i;

    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)*len);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(fread(p, 1, (size_t)*len, f), (size_t)*len);
    fclose(f);
    put_be(mark, MARK_SQ_BASE, 8);
    *mark_at = -1;
    for (i = 0; i + 8 <= *len; i++) {
        if (!memcmp(p + i, mark, 8)) {
            ck_assert_msg(*mark_at < 0, "the marker is in the image twice");
            *mark_at = i;
        }
    }
    return p;
}

/*
 * "QEMU refuses it and keeps running", literally: a running QEMU told to
 * load an internal snapshot (HMP loadvm) whose Kestrel state lists a free
 * slot as a waiting completion.  The load fails with the reason, QEMU
 * keeps running, and Kestrel is at its power-on state and works.
 */
START_TEST(hostile_snapshot_refused_qemu_runs)
{
    KdevOpts o = { .blocks = 8192, .msix = false, .format = "qcow2" };
    char img[64], err[2048], *out;
    struct kestrel_identify id;
    uint8_t *p;
    long len, at;
    FILE *f;

    snprintf(img, sizeof(img), "/tmp/kestrel-qcow2-%d.img", (int)getpid());
    make_qcow2(img);
    o.image = img;
    k = kdev_start_opts(&o, err, sizeof(err));
    ck_assert_msg(k, "QEMU did not start: %s", err);
    kdev_wr(k, KESTREL_REG_SQ_BASE_LO, (uint32_t)MARK_SQ_BASE);
    kdev_wr(k, KESTREL_REG_SQ_BASE_HI, (uint32_t)(MARK_SQ_BASE >> 32));
    out = hmp("savevm s1");
    free(out);
    /* negative control: the snapshot as saved loads */
    out = hmp("loadvm s1");
    ck_assert_msg(!strstr(out, "rror"), "the saved snapshot: %s", out);
    free(out);
    ck_assert_int_eq(qt_qmp_ok(k->qt, "{'execute':'cont'}"), 0);
    /* a hostile one: npending = 1, slot 0 free */
    ck_assert_int_eq(qt_qmp_ok(k->qt, "{'execute':'stop'}"), 0);
    p = read_all(img, &len, &at);
    ck_assert_msg(at >= 0, "the marker is not in the image");
    put_be(p + at + OFF_NPENDING, 1, 4);
    f = fopen(img, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, at + OFF_NPENDING, SEEK_SET);
    ck_assert_int_eq(fwrite(p + at + OFF_NPENDING, 1, 4, f), 4);
    fclose(f);
    free(p);
    out = hmp("loadvm s1");
    ck_assert_msg(strstr(out, "kestrel: migrated device state refused") &&
                  strstr(out, "pending slot 0 in state 0"),
                  "loadvm of the hostile snapshot said: %s", out);
    free(out);
    /* QEMU runs on, and Kestrel is a device after power-on */
    ck_assert_int_eq(qt_qmp_ok(k->qt, "{'execute':'cont'}"), 0);
    ck_assert_int_eq(qt_alive(k->qt), 1);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_STATUS), 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_SQ_BASE_LO), 0);
    ck_assert_int_eq(kdev_enable(k, 4, 4), 0);
    ck_assert_int_eq(kdev_identify(k, &id), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(id.magic, KESTREL_IDENTIFY_MAGIC);
    stop_checked();
}
END_TEST

static Suite *lifecycle_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *t;

    t = tcase_create("unplug");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_set_timeout(t, 300);
    tcase_add_test(t, unplug_idle);
    tcase_add_test(t, unplug_with_reads_in_flight);
    suite_add_tcase(s, t);

    t = tcase_create("migrate");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_set_timeout(t, 300);
    tcase_add_test(t, live_migration_under_load);
    tcase_add_test(t, stopped_migration_under_load);
    tcase_add_test(t, prob_exact_across_migration);
    tcase_add_test(t, redirected_completion_across_migration);
    suite_add_tcase(s, t);

    t = tcase_create("stream");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_set_timeout(t, 300);
    tcase_add_test(t, hostile_streams_refused);
    tcase_add_test(t, hostile_snapshot_refused_qemu_runs);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(lifecycle_suite());
    int failed;

    srunner_run_all(sr, CK_VERBOSE);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
