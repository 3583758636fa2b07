/*
 * Self-test of the qtest client against a real qemu-system-x86_64.
 *
 * The QEMU binary comes from $GAUNTLET_QEMU; without it only the tests that
 * need no QEMU run, and a SKIP line says so.  Devices used (all in QEMU 7.2):
 * q35 host bridge, nvme (MSI-X, DMA) and edu (MSI, INTx, DMA, timer).
 *
 * Build: gcc -std=gnu11 -Wall -Wextra qtest_client.c test_qtest_client.c
 *            $(pkg-config --cflags --libs check json-c)
 */
#define _GNU_SOURCE
#include "qtest_client.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *qemu_bin;
/* NULL = qtest accelerator; "tcg" when the binary lacks it (Debian's) */
static const char *test_accel;

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Assert a QtErr-returning call succeeded; on failure show the client's
 * error (which carries command, reply, QEMU status and log tail). */
#define OK(c, expr)                                                        \
    do {                                                                   \
        int rc_ = (expr);                                                  \
        if (rc_ != QT_OK) {                                                \
            fprintf(stderr, "%s:%d: %s -> %s\n%s\n", __FILE__, __LINE__,   \
                    #expr, qt_strerr(rc_), qt_error(c));                   \
        }                                                                  \
        ck_assert_msg(rc_ == QT_OK, "%s -> %s: %.600s", #expr,             \
                      qt_strerr(rc_), qt_error(c));                        \
    } while (0)

static QtClient *start_qemu(const char *extra)
{
    char err[4096];
    QtOptions o = { 0 };
    o.qemu_binary = qemu_bin;
    o.accel = test_accel;
    o.extra_args = extra;
    QtClient *c = qt_start(&o, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "qt_start failed: %s\n", err);
    }
    ck_assert_msg(c != NULL, "qt_start: %.800s", err);
    return c;
}

static void stop_qemu(QtClient *c)
{
    int rc = qt_stop(c);
    ck_assert_msg(rc == QT_OK, "qt_stop -> %s", qt_strerr(rc));
}

/* let some (virtual if possible) time pass */
static void advance(QtClient *c)
{
    if (qt_has_clock(c)) {
        OK(c, qt_clock_step(c, 100000, NULL));
    } else {
        usleep(1000);
    }
}

/* deterministic pseudo-random bytes */
static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

/* ------------------------------------------------------------------ */
/* no QEMU needed                                                       */
/* ------------------------------------------------------------------ */

START_TEST(t_bogus_binary)
{
    char err[2048];
    QtOptions o = { 0 };
    o.qemu_binary = "/nonexistent/qemu-system-x86_64";
    o.timeout_ms = 5000;
    long long t0 = mono_ms();
    QtClient *c = qt_start(&o, err, sizeof(err));
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err, "cannot execute") &&
                  strstr(err, "No such file"), "err: %s", err);
    ck_assert_int_lt(mono_ms() - t0, 3000);

    o.qemu_binary = NULL;
    ck_assert_ptr_null(qt_start(&o, err, sizeof(err)));
    ck_assert_msg(strstr(err, "no QEMU binary"), "err: %s", err);

    /* a binary that runs but never connects: must time out, not hang */
    o.qemu_binary = "/bin/sleep";
    o.extra_args = NULL;
    o.timeout_ms = 300;
    static const char *const argv[] = { NULL };
    o.extra_argv = argv;
    t0 = mono_ms();
    c = qt_start(&o, err, sizeof(err));
    ck_assert_ptr_null(c);
    /* /bin/sleep rejects QEMU's options and exits, or never connects */
    ck_assert_msg(strstr(err, "exited") || strstr(err, "did not connect"),
                  "err: %s", err);
    ck_assert_int_lt(mono_ms() - t0, 3000);
}
END_TEST

/* ------------------------------------------------------------------ */
/* with QEMU                                                            */
/* ------------------------------------------------------------------ */

START_TEST(t_bogus_arg)
{
    char err[4096];
    QtOptions o = { 0 };
    o.qemu_binary = qemu_bin;
    o.accel = test_accel;
    o.extra_args = "-device no-such-device-xyz";
    long long t0 = mono_ms();
    QtClient *c = qt_start(&o, err, sizeof(err));
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err, "exited with status 1"), "err: %s", err);
    ck_assert_msg(strstr(err, "no-such-device-xyz"), "err: %s", err);
    ck_assert_int_lt(mono_ms() - t0, 5000);

    /* a named log file is kept and holds QEMU's complaint */
    char logp[] = "/tmp/gqt-test-log-XXXXXX";
    int fd = mkstemp(logp);
    ck_assert_int_ge(fd, 0);
    close(fd);
    o.log_path = logp;
    o.extra_args = "-bogus-option";
    c = qt_start(&o, err, sizeof(err));
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err, "exited with status 1") &&
                  strstr(err, "bogus-option"), "err: %s", err);
    FILE *f = fopen(logp, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    line[n] = 0;
    fclose(f);
    unlink(logp);
    ck_assert_msg(strstr(line, "bogus-option"), "log: %s", line);
}
END_TEST

START_TEST(t_ram_patterns)
{
    QtClient *c = start_qemu(NULL);
    static const size_t sizes[] = { 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 255,
                                    4095, 4096, 4097, 65536 + 13, 300001 };
    static const uint64_t bases[] = { 0x1000000, 0x1000003, 0x2345671 };
    uint8_t *w = malloc(400000), *r = malloc(400000);
    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_nonnull(r);
    for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            size_t n = sizes[i];
            fill_pattern(w, n, (uint32_t)(b * 100 + i));
            memset(r, 0xa5, n);
            OK(c, qt_memwrite(c, bases[b], w, n));
            OK(c, qt_memread(c, bases[b], r, n));
            ck_assert_msg(memcmp(w, r, n) == 0, "mismatch size %zu base "
                          "0x%" PRIx64, n, bases[b]);
        }
    }
    /* scalar accessors agree with the byte view (little endian) */
    uint64_t base = 0x3000001;
    fill_pattern(w, 64, 7);
    OK(c, qt_memwrite(c, base, w, 64));
    uint8_t v8;
    uint16_t v16;
    uint32_t v32;
    uint64_t v64, e64;
    OK(c, qt_readb(c, base + 5, &v8));
    ck_assert_uint_eq(v8, w[5]);
    OK(c, qt_readw(c, base + 1, &v16));
    ck_assert_uint_eq(v16, (uint16_t)(w[1] | w[2] << 8));
    OK(c, qt_readl(c, base + 3, &v32));
    ck_assert_uint_eq(v32, (uint32_t)w[3] | (uint32_t)w[4] << 8 |
                      (uint32_t)w[5] << 16 | (uint32_t)w[6] << 24);
    OK(c, qt_readq(c, base + 9, &v64));
    memcpy(&e64, w + 9, 8);
    ck_assert_uint_eq(v64, e64);

    OK(c, qt_writeb(c, base, 0x5a));
    OK(c, qt_writew(c, base + 1, 0xbeef));
    OK(c, qt_writel(c, base + 3, 0xdeadc0de));
    OK(c, qt_writeq(c, base + 7, 0x0123456789abcdefULL));
    OK(c, qt_memread(c, base, r, 15));
    static const uint8_t exp[15] = { 0x5a, 0xef, 0xbe, 0xde, 0xc0, 0xad,
                                     0xde, 0xef, 0xcd, 0xab, 0x89, 0x67,
                                     0x45, 0x23, 0x01 };
    ck_assert_mem_eq(r, exp, 15);

    OK(c, qt_memset(c, base + 1, 0x3c, 5000));
    OK(c, qt_memread(c, base, r, 5002));
    ck_assert_uint_eq(r[0], 0x5a);
    for (size_t i = 1; i <= 5000; i++) {
        ck_assert_uint_eq(r[i], 0x3c);
    }
    ck_assert_uint_eq(r[5001], 0);            /* untouched RAM */
    OK(c, qt_memread(c, base, r, 0));     /* zero-length is a no-op */
    OK(c, qt_memwrite(c, base, w, 0));

    /* allocator: aligned, zeroed, bounded */
    uint64_t a1 = qt_galloc(c, 100, 0), a2 = qt_galloc(c, 10, 64);
    ck_assert_uint_eq(a1 & 4095, 0);
    ck_assert_uint_ge(a1, 16u << 20);
    ck_assert_uint_eq(a2 & 63, 0);
    ck_assert_uint_ge(a2, a1 + 100);
    ck_assert_uint_eq(qt_galloc(c, 1ULL << 30, 0), 0);
    ck_assert_msg(strstr(qt_error(c), "cannot allocate"), "%s", qt_error(c));

    /* I/O ports: CMOS RTC index/data (register 0x0e is plain NVRAM) */
    uint8_t cm;
    OK(c, qt_outb(c, 0x70, 0x0e));
    OK(c, qt_outb(c, 0x71, 0x42));
    OK(c, qt_outb(c, 0x70, 0x0e));
    OK(c, qt_inb(c, 0x71, &cm));
    ck_assert_uint_eq(cm, 0x42);

    /* raw command escape hatch and qtest FAIL reporting */
    char reply[64];
    OK(c, qt_qtest_cmd(c, reply, sizeof(reply), "endianness"));
    ck_assert_str_eq(reply, "little");
    int rc = qt_qtest_cmd(c, NULL, 0, "no_such_qtest_command");
    ck_assert_int_eq(rc, QT_ERR_FAIL);
    ck_assert_msg(strstr(qt_error(c), "no_such_qtest_command") &&
                  strstr(qt_error(c), "FAIL"), "%s", qt_error(c));
    rc = qt_irq_intercept_in(c, "/machine/no/such/device");
    ck_assert_int_eq(rc, QT_ERR_FAIL);
    ck_assert_msg(strstr(qt_error(c), "Unknown device"), "%s", qt_error(c));
    ck_assert_int_eq(qt_alive(c), 1);      /* still in sync */

    free(w);
    free(r);
    stop_qemu(c);
}
END_TEST

START_TEST(t_pci_host_bridge)
{
    QtClient *c = start_qemu(NULL);
    QtPciDev *d;
    uint32_t v;
    OK(c, qt_pci_find(c, 0x8086, 0x29c0, 0, &d));
    ck_assert_uint_eq(d->devfn, 0);
    OK(c, qt_pci_cfg_read(d, 0x00, 2, &v));
    ck_assert_uint_eq(v, 0x8086);
    OK(c, qt_pci_cfg_read(d, 0x02, 2, &v));
    ck_assert_uint_eq(v, 0x29c0);
    OK(c, qt_pci_cfg_read(d, 0x00, 4, &v));
    ck_assert_uint_eq(v, 0x29c08086);
    OK(c, qt_pci_cfg_read(d, 0x0b, 1, &v));
    ck_assert_uint_eq(v, 0x06);                    /* bridge */
    OK(c, qt_pci_cfg_read(d, 0x0a, 1, &v));
    ck_assert_uint_eq(v, 0x00);                    /* host bridge */
    OK(c, qt_pci_cfg_read(d, 0x0e, 1, &v));
    ck_assert_uint_eq(v & 0x7f, 0);

    /* second lookup returns the same object */
    QtPciDev *d2;
    OK(c, qt_pci_find(c, 0x8086, 0x29c0, 0, &d2));
    ck_assert_ptr_eq(d, d2);
    /* ICH9 LPC is on slot 31 function 0 */
    OK(c, qt_pci_find(c, 0x8086, 0x2918, 0, &d2));
    ck_assert_uint_eq(d2->devfn, 31 << 3);

    ck_assert_int_eq(qt_pci_find(c, 0x8086, 0x29c0, 1, &d2), QT_ERR_NOTFOUND);
    ck_assert_int_eq(qt_pci_find(c, 0x1234, 0x5678, 0, &d2), QT_ERR_NOTFOUND);
    ck_assert_int_eq(qt_pci_cfg_read(d, 0x01, 2, &v), QT_ERR_INVAL);
    stop_qemu(c);
}
END_TEST

START_TEST(t_qmp)
{
    QtClient *c = start_qemu(NULL);
    QtQmpReply *r = qt_qmp(c, "{'execute': 'query-status'}");
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(r->rc == QT_OK, "%s", qt_error(c));
    json_object *st;
    ck_assert(json_object_object_get_ex(r->ret, "status", &st));
    /* without the qtest accelerator QEMU runs with -S: "prelaunch" */
    ck_assert_str_eq(json_object_get_string(st),
                     qt_has_clock(c) ? "running" : "prelaunch");
    ck_assert_ptr_nonnull(strstr(r->sent, "query-status"));
    ck_assert_ptr_nonnull(strstr(r->received, "running"));
    qt_qmp_free(r);

    char type[128];
    OK(c, qt_qom_get_str(c, "/machine", "type", type, sizeof(type)));
    ck_assert_msg(strncmp(type, "pc-q35-", 7) == 0, "type %s", type);

    json_object *any = NULL;
    OK(c, qt_qom_get(c, "/machine", "dump-guest-core", &any));
    ck_assert(json_object_is_type(any, json_type_boolean));
    bool old = json_object_get_boolean(any);
    json_object_put(any);
    OK(c, qt_qom_set_bool(c, "/machine", "dump-guest-core", !old));
    OK(c, qt_qom_get(c, "/machine", "dump-guest-core", &any));
    ck_assert_int_eq(json_object_get_boolean(any), !old);
    json_object_put(any);

    /* bad command: typed error with sent text and class */
    r = qt_qmp(c, "{'execute': 'no-such-command-%d'}", 42);
    ck_assert_int_eq(r->rc, QT_ERR_QMP);
    ck_assert_str_eq(r->err_class, "CommandNotFound");
    ck_assert_ptr_nonnull(r->err_desc);
    ck_assert_ptr_nonnull(strstr(r->sent, "no-such-command-42"));
    ck_assert_ptr_nonnull(strstr(r->received, "CommandNotFound"));
    ck_assert_msg(strstr(qt_error(c), "no-such-command-42") &&
                  strstr(qt_error(c), "CommandNotFound"), "%s", qt_error(c));
    qt_qmp_free(r);

    /* bad property: error class and desc */
    int rc = qt_qom_get_int(c, "/machine", "no-such-prop", NULL);
    ck_assert_int_eq(rc, QT_ERR_QMP);
    ck_assert_msg(strstr(qt_error(c), "no-such-prop"), "%s", qt_error(c));
    rc = qt_qom_set_int(c, "/machine", "type", 5);   /* read-only */
    ck_assert_int_eq(rc, QT_ERR_QMP);
    rc = qt_qom_get_int(c, "/machine", "type", NULL);   /* not an int */
    ck_assert_int_eq(rc, QT_ERR_PROTO);

    /* malformed command text never reaches QEMU */
    r = qt_qmp(c, "{'execute': ");
    ck_assert_int_eq(r->rc, QT_ERR_INVAL);
    qt_qmp_free(r);

    /* events are queued while waiting for replies ("cont" would start the
     * guest CPU when not under the qtest accelerator) */
    if (!qt_has_clock(c)) {
        goto skip_events;
    }
    OK(c, qt_qmp_ok(c, "{'execute':'stop'}"));
    json_object *ev = NULL;
    OK(c, qt_qmp_wait_event(c, "STOP", 2000, &ev));
    ck_assert_str_eq(json_object_get_string(
                         json_object_object_get(ev, "event")), "STOP");
    json_object_put(ev);
    OK(c, qt_qmp_ok(c, "{'execute':'cont'}"));
    OK(c, qt_qmp_ok(c, "{'execute':'query-status'}"));
    OK(c, qt_qmp_wait_event(c, "RESUME", 2000, NULL));
skip_events:

    /* deadline: an event that never comes */
    long long t0 = mono_ms();
    rc = qt_qmp_wait_event(c, "GAUNTLET_NEVER", 200, NULL);
    long long dt = mono_ms() - t0;
    ck_assert_int_eq(rc, QT_ERR_TIMEOUT);
    ck_assert_int_ge(dt, 150);
    ck_assert_int_lt(dt, 2000);
    ck_assert_msg(strstr(qt_error(c), "GAUNTLET_NEVER"), "%s", qt_error(c));
    ck_assert_int_eq(qt_alive(c), 1);
    stop_qemu(c);
}
END_TEST

START_TEST(t_clock)
{
    QtClient *c = start_qemu(NULL);
    int64_t t0, t1, t2;
    if (!qt_has_clock(c)) {
        ck_assert_int_eq(qt_clock_step(c, 1000, &t0), QT_ERR_INVAL);
        printf("NOTE: t_clock: no qtest accelerator, clock tests skipped\n");
        stop_qemu(c);
        return;
    }
    OK(c, qt_clock_step(c, 0, &t0));
    OK(c, qt_clock_step(c, 1000, &t1));
    ck_assert_int_eq(t1, t0 + 1000);
    OK(c, qt_clock_step(c, 123456789, &t2));
    ck_assert_int_eq(t2, t1 + 123456789);
    OK(c, qt_clock_set(c, t2 + 1000000, &t1));
    ck_assert_int_eq(t1, t2 + 1000000);
    OK(c, qt_clock_set(c, 5, &t2));            /* never goes backwards */
    ck_assert_int_eq(t2, t1);
    OK(c, qt_clock_step(c, -1, &t2));          /* to next deadline */
    ck_assert_int_ge(t2, t1);
    stop_qemu(c);
}
END_TEST

START_TEST(t_hang_and_death)
{
    QtClient *c = start_qemu(NULL);
    pid_t pid = qt_pid(c);
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(qt_alive(c), 1);

    /* a frozen QEMU: bounded waits, channel marked broken, QMP recovers */
    qt_set_timeout(c, 300);
    ck_assert_int_eq(kill(pid, SIGSTOP), 0);
    long long t0 = mono_ms();
    uint32_t v;
    ck_assert_int_eq(qt_readl(c, 0x1000000, &v), QT_ERR_TIMEOUT);
    ck_assert_msg(strstr(qt_error(c), "readl"), "%s", qt_error(c));
    ck_assert_int_eq(qt_readl(c, 0x1000000, &v), QT_ERR_BROKEN);
    ck_assert_int_eq(qt_qmp_ok(c, "{'execute':'query-status'}"),
                     QT_ERR_TIMEOUT);
    ck_assert_int_lt(mono_ms() - t0, 3000);
    ck_assert_int_eq(kill(pid, SIGCONT), 0);
    qt_set_timeout(c, 10000);
    /* the late reply to the timed-out query-status is skipped by id */
    QtQmpReply *r = qt_qmp(c, "{'execute':'query-name'}");
    ck_assert_msg(r->rc == QT_OK, "%s", qt_error(c));
    ck_assert(json_object_is_type(r->ret, json_type_object));
    qt_qmp_free(r);

    /* death: calls fail with status and log tail */
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(qt_qmp_ok(c, "{'execute':'query-status'}"), QT_ERR_DIED);
    ck_assert_msg(strstr(qt_error(c), "signal 9"), "%s", qt_error(c));
    ck_assert_msg(strstr(qt_error(c), "tail of QEMU log"), "%s",
                  qt_error(c));
    ck_assert_int_eq(qt_alive(c), 0);
    ck_assert_int_eq(qt_stop(c), QT_ERR_DIED);
}
END_TEST

START_TEST(t_qtest_death)
{
    QtClient *c = start_qemu(NULL);
    ck_assert_int_eq(kill(qt_pid(c), SIGKILL), 0);
    uint8_t b;
    ck_assert_int_eq(qt_readb(c, 0, &b), QT_ERR_DIED);
    ck_assert_msg(strstr(qt_error(c), "readb") &&
                  strstr(qt_error(c), "killed by signal 9"), "%s",
                  qt_error(c));
    ck_assert_int_eq(qt_readb(c, 0, &b), QT_ERR_DIED);   /* stays failed */
    ck_assert_int_eq(qt_stop(c), QT_ERR_DIED);
}
END_TEST

/* --- nvme: BARs, capabilities, MSI-X programming and delivery --- */

#define NVME_CC 0x14
#define NVME_CSTS 0x1c
#define NVME_AQA 0x24
#define NVME_ASQ 0x28
#define NVME_ACQ 0x30

static char nvme_img[64];

static QtClient *start_nvme(void)
{
    snprintf(nvme_img, sizeof(nvme_img), "/tmp/gqt-nvme-XXXXXX");
    int fd = mkstemp(nvme_img);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
    close(fd);
    char args[256];
    snprintf(args, sizeof(args), "-drive if=none,id=d0,file=%s,format=raw "
             "-device nvme,serial=gauntlet1,drive=d0", nvme_img);
    return start_qemu(args);
}

typedef struct CsCtx {
    QtPciDev *d;
    uint32_t want;
} CsCtx;

static int csts_rdy(void *opaque)
{
    CsCtx *x = opaque;
    uint64_t v;
    int rc = qt_bar_read(x->d, 0, NVME_CSTS, 4, &v);
    return rc ? rc : ((v & 1) == x->want);
}

START_TEST(t_nvme_msix)
{
    QtClient *c = start_nvme();
    QtPciDev *d;
    OK(c, qt_pci_find(c, 0x1b36, 0x0010, 0, &d));
    OK(c, qt_pci_map_bars(d));
    ck_assert(!d->bar[0].is_io);
    ck_assert(d->bar[0].is_64);
    ck_assert_uint_ge(d->bar[0].size, 0x2000);
    ck_assert_uint_eq(d->bar[0].addr & (d->bar[0].size - 1), 0);
    ck_assert_uint_ge(d->bar[0].addr, 0xe0000000u);
    uint32_t lo, hi;
    OK(c, qt_pci_cfg_read(d, 0x10, 4, &lo));
    OK(c, qt_pci_cfg_read(d, 0x14, 4, &hi));
    ck_assert_uint_eq(((uint64_t)hi << 32 | (lo & ~0xfu)), d->bar[0].addr);

    uint8_t cap, cap2;
    OK(c, qt_pci_find_cap(d, 0x11, 0, &cap));
    OK(c, qt_pci_find_cap(d, 0x10, 0, &cap2));      /* PCI Express */
    ck_assert_int_eq(qt_pci_find_cap(d, 0x11, cap, &cap2), QT_ERR_NOTFOUND);
    ck_assert_int_eq(qt_pci_find_cap(d, 0x09, 0, &cap2), QT_ERR_NOTFOUND);

    /* MMIO through the mapping, after enabling */
    OK(c, qt_pci_enable(d));
    uint64_t capreg, vs;
    OK(c, qt_bar_read(d, 0, 0x00, 8, &capreg));
    OK(c, qt_bar_read(d, 0, 0x08, 4, &vs));
    ck_assert_uint_ge(vs, 0x10000);                  /* NVMe >= 1.0 */
    ck_assert_int_eq(qt_bar_read(d, 0, d->bar[0].size, 4, &vs),
                     QT_ERR_INVAL);

    /* MSI-X table programming reads back */
    OK(c, qt_msix_enable(d));
    ck_assert_uint_ge(d->msix_nvec, 2);
    uint64_t ram0 = qt_galloc(c, 64, 64);
    ck_assert_uint_ne(ram0, 0);
    OK(c, qt_msix_vector_setup(d, 0, ram0));
    OK(c, qt_msix_vector_setup(d, 1, 0));
    for (unsigned vec = 0; vec < 2; vec++) {
        uint64_t e = d->msix_table_off + 16 * vec, a, ah, data, ctl;
        OK(c, qt_bar_read(d, d->msix_table_bar, e, 4, &a));
        OK(c, qt_bar_read(d, d->msix_table_bar, e + 4, 4, &ah));
        OK(c, qt_bar_read(d, d->msix_table_bar, e + 8, 4, &data));
        OK(c, qt_bar_read(d, d->msix_table_bar, e + 12, 4, &ctl));
        ck_assert_uint_eq(ah << 32 | a, d->msix_ram[vec]);
        ck_assert_uint_eq(data, QT_MSIX_DATA(vec));
        ck_assert_uint_eq(ctl & 1, 0);
    }
    ck_assert_uint_eq(d->msix_ram[0], ram0);
    uint32_t ctrl;
    OK(c, qt_pci_cfg_read(d, d->msix_cap + 2, 2, &ctrl));
    ck_assert_uint_eq(ctrl & 0xc000, 0x8000);        /* enabled, unmasked */
    ck_assert_int_eq(qt_msix_fired(d, 0), 0);
    ck_assert_int_eq(qt_msix_vector_setup(d, d->msix_nvec, 0), QT_ERR_INVAL);

    /* bring up the admin queue and run Identify: completion -> vector 0 */
    unsigned dstrd = (unsigned)(capreg >> 32) & 0xf;
    uint64_t db_stride = 4u << dstrd;
    uint64_t asq = qt_galloc(c, 4096, 0), acq = qt_galloc(c, 4096, 0);
    uint64_t idbuf = qt_galloc(c, 4096, 0);
    ck_assert(asq && acq && idbuf);
    CsCtx cs = { d, 0 };
    OK(c, qt_bar_write(d, 0, NVME_CC, 4, 0));
    OK(c, qt_wait_cond(c, csts_rdy, &cs, 100000, 5000));
    OK(c, qt_bar_write(d, 0, NVME_AQA, 4, 0x000f000f));
    OK(c, qt_bar_write(d, 0, NVME_ASQ, 4, (uint32_t)asq));
    OK(c, qt_bar_write(d, 0, NVME_ASQ + 4, 4, asq >> 32));
    OK(c, qt_bar_write(d, 0, NVME_ACQ, 4, (uint32_t)acq));
    OK(c, qt_bar_write(d, 0, NVME_ACQ + 4, 4, acq >> 32));
    OK(c, qt_bar_write(d, 0, NVME_CC, 4, 0x00460001));
    cs.want = 1;
    OK(c, qt_wait_cond(c, csts_rdy, &cs, 100000, 5000));

    uint8_t sqe[64] = { 0 };
    sqe[0] = 0x06;                    /* Identify */
    sqe[2] = 0x34;                    /* CID 0x1234 */
    sqe[3] = 0x12;
    for (int i = 0; i < 8; i++) {
        sqe[24 + i] = (uint8_t)(idbuf >> (8 * i));   /* PRP1 */
    }
    sqe[40] = 1;                      /* CNS = controller */
    OK(c, qt_memwrite(c, asq, sqe, sizeof(sqe)));
    OK(c, qt_bar_write(d, 0, 0x1000, 4, 1));         /* SQ0 tail = 1 */
    OK(c, qt_msix_wait(d, 0, 5000));
    ck_assert_int_eq(qt_msix_fired(d, 0), 0);        /* was cleared */
    ck_assert_int_eq(qt_msix_fired(d, 1), 0);

    uint32_t dw3;
    OK(c, qt_readl(c, acq + 12, &dw3));
    ck_assert_uint_eq(dw3 & 0xffff, 0x1234);         /* CID */
    ck_assert_uint_eq((dw3 >> 16) & 1, 1);           /* phase */
    ck_assert_uint_eq(dw3 >> 17, 0);                 /* success */
    uint16_t vid;
    OK(c, qt_readw(c, idbuf, &vid));
    ck_assert_uint_eq(vid, 0x1b36);
    char sn[21] = { 0 };
    OK(c, qt_memread(c, idbuf + 4, sn, 20));
    ck_assert_msg(strncmp(sn, "gauntlet1", 9) == 0, "serial '%s'", sn);
    OK(c, qt_bar_write(d, 0, 0x1000 + db_stride, 4, 1));   /* CQ0 head */

    /* masked vector: no message, pending bit set; unmask delivers it */
    OK(c, qt_msix_mask(d, 0, true));
    sqe[2] = 0x35;
    OK(c, qt_memwrite(c, asq + 64, sqe, sizeof(sqe)));
    OK(c, qt_bar_write(d, 0, 0x1000, 4, 2));
    for (int i = 0; i < 50; i++) {
        advance(c);
    }
    OK(c, qt_readl(c, acq + 16 + 12, &dw3));
    ck_assert_uint_eq(dw3 & 0xffff, 0x1235);
    ck_assert_int_eq(qt_msix_fired(d, 0), 0);
    ck_assert_int_eq(qt_msix_pending(d, 0), 1);
    OK(c, qt_msix_mask(d, 0, false));
    OK(c, qt_msix_wait(d, 0, 5000));
    ck_assert_int_eq(qt_msix_pending(d, 0), 0);

    OK(c, qt_msix_disable(d));
    stop_qemu(c);
    unlink(nvme_img);
}
END_TEST

/* --- edu: MSI, INTx, DMA with virtual-time timer --- */

START_TEST(t_edu_intx_msi)
{
    QtClient *c = start_qemu("-device edu,id=edu0");
    QtPciDev *d;
    OK(c, qt_pci_find(c, 0x1234, 0x11e8, 0, &d));
    OK(c, qt_pci_map_bars(d));
    ck_assert_uint_eq(d->bar[0].size, 1 << 20);
    OK(c, qt_pci_enable(d));
    uint64_t v;
    OK(c, qt_bar_read(d, 0, 0x00, 4, &v));
    ck_assert_uint_eq(v, 0x010000ed);
    OK(c, qt_bar_write(d, 0, 0x04, 4, 0x12345678));  /* liveness: ~value */
    OK(c, qt_bar_read(d, 0, 0x04, 4, &v));
    ck_assert_uint_eq(v, (uint32_t)~0x12345678u);

    /* INTx via intercepted IOAPIC input */
    int gsi;
    OK(c, qt_intx_setup(d, &gsi));
    int slot = d->devfn >> 3;
    ck_assert_int_eq(gsi, slot < 25 ? 20 + slot % 4 : 16);
    ck_assert_int_eq(qt_intx_level(d), 0);
    unsigned raises = qt_irq_raise_count(c, gsi);
    OK(c, qt_bar_write(d, 0, 0x60, 4, 0x1));          /* raise */
    ck_assert_int_eq(qt_intx_level(d), 1);
    ck_assert_uint_eq(qt_irq_raise_count(c, gsi), raises + 1);
    OK(c, qt_bar_read(d, 0, 0x24, 4, &v));
    ck_assert_uint_eq(v, 1);
    OK(c, qt_bar_write(d, 0, 0x64, 4, 0x1));          /* ack */
    ck_assert_int_eq(qt_intx_level(d), 0);
    OK(c, qt_intx_wait(d, false, 1000));
    /* interception of another device is refused by QEMU */
    ck_assert_int_eq(qt_irq_intercept_in(c, "/machine/q35"), QT_ERR_FAIL);

    /* MSI */
    OK(c, qt_msi_setup(d, 0));
    ck_assert_uint_ne(d->msi_cap, 0);
    ck_assert_int_eq(qt_msi_fired(d), 0);
    OK(c, qt_bar_write(d, 0, 0x60, 4, 0x1));
    ck_assert_int_eq(qt_msi_fired(d), 1);
    ck_assert_int_eq(qt_msi_fired(d), 0);
    ck_assert_int_eq(qt_intx_level(d), 0);            /* MSI replaces INTx */
    OK(c, qt_bar_write(d, 0, 0x64, 4, 0x1));

    /* DMA RAM -> device -> RAM, completion interrupt after 100 ms virtual */
    if (!qt_has_clock(c)) {
        printf("NOTE: t_edu_intx_msi: no qtest accelerator, DMA (timer) "
               "part skipped\n");
        stop_qemu(c);
        return;
    }
    uint8_t pat[64], back[64];
    fill_pattern(pat, sizeof(pat), 99);
    uint64_t src = qt_galloc(c, 64, 0), dst = qt_galloc(c, 64, 0);
    OK(c, qt_memwrite(c, src, pat, sizeof(pat)));
    OK(c, qt_bar_write(d, 0, 0x80, 8, src));
    OK(c, qt_bar_write(d, 0, 0x88, 8, 0x40000));
    OK(c, qt_bar_write(d, 0, 0x90, 8, sizeof(pat)));
    OK(c, qt_bar_write(d, 0, 0x98, 8, 0x1 | 0x4));    /* run, irq */
    ck_assert_int_eq(qt_msi_fired(d), 0);             /* not before time */
    OK(c, qt_msi_wait(d, 5000));
    OK(c, qt_bar_write(d, 0, 0x64, 4, 0x100));
    OK(c, qt_bar_write(d, 0, 0x80, 8, 0x40000));
    OK(c, qt_bar_write(d, 0, 0x88, 8, dst));
    OK(c, qt_bar_write(d, 0, 0x90, 8, sizeof(pat)));
    OK(c, qt_bar_write(d, 0, 0x98, 8, 0x1 | 0x2 | 0x4));
    OK(c, qt_msi_wait(d, 5000));
    OK(c, qt_memread(c, dst, back, sizeof(back)));
    ck_assert_mem_eq(back, pat, sizeof(pat));

    /* a wait that cannot succeed expires */
    long long t0 = mono_ms();
    ck_assert_int_eq(qt_msi_wait(d, 200), QT_ERR_TIMEOUT);
    ck_assert_int_lt(mono_ms() - t0, 2000);
    ck_assert_msg(strstr(qt_error(c), "MSI did not fire"), "%s", qt_error(c));
    stop_qemu(c);
}
END_TEST

int main(void)
{
    qemu_bin = getenv("GAUNTLET_QEMU");
    if (qemu_bin && !*qemu_bin) {
        qemu_bin = NULL;
    }
    if (qemu_bin) {
        /* Debian's QEMU package ships without the qtest accelerator */
        char err[4096];
        QtOptions o = { 0 };
        o.qemu_binary = qemu_bin;
        QtClient *c = qt_start(&o, err, sizeof(err));
        if (c) {
            qt_stop(c);
        } else if (strstr(err, "invalid accelerator qtest")) {
            test_accel = "tcg";
            printf("NOTE: %s has no qtest accelerator; testing with "
                   "-accel tcg -S (virtual-clock tests skipped)\n", qemu_bin);
        } else {
            printf("NOTE: probe start of %s failed:\n%s\n", qemu_bin, err);
        }
    }
    Suite *s = suite_create("qtest_client");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_bogus_binary);
    if (qemu_bin) {
        tcase_add_test(tc, t_bogus_arg);
        tcase_add_test(tc, t_ram_patterns);
        tcase_add_test(tc, t_pci_host_bridge);
        tcase_add_test(tc, t_qmp);
        tcase_add_test(tc, t_clock);
        tcase_add_test(tc, t_hang_and_death);
        tcase_add_test(tc, t_qtest_death);
        tcase_add_test(tc, t_nvme_msix);
        tcase_add_test(tc, t_edu_intx_msi);
    } else {
        printf("SKIP: GAUNTLET_QEMU is not set; the QEMU-based tests of the "
               "qtest client are skipped (set it to a qemu-system-x86_64)\n");
    }
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
