/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kestrel-demo: Gauntlet's main job until the scenario harness lands.
 *
 * Boots our QEMU with one Kestrel, drives it like a driver over qtest,
 * injects faults over QMP and checks that each one fired and had its
 * documented effect, then writes a JSON report.  Exit status 0 only when
 * every step passed.
 *
 *   kestrel-demo --qemu PATH [--report FILE]
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kdev.h"

#define MS (1000 * 1000ll)

static json_object *steps;
static int failures;

static void step(bool ok, const char *name, const char *fmt, ...)
{
    json_object *s = json_object_new_object();
    char detail[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    printf("%-4s %-28s %s\n", ok ? "ok" : "FAIL", name, detail);
    json_object_object_add(s, "step", json_object_new_string(name));
    json_object_object_add(s, "result",
                           json_object_new_string(ok ? "pass" : "fail"));
    json_object_object_add(s, "detail", json_object_new_string(detail));
    json_object_array_add(steps, s);
    failures += !ok;
}

/* IDENTIFY strings are space padded and not NUL-terminated. */
static int padded_len(const char *s, int n)
{
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\0')) {
        n--;
    }
    return n;
}

static int backing_equal(Kdev *k, uint64_t off, const void *want, size_t n)
{
    char *got = malloc(n);
    int fd = open(k->img, O_RDONLY), same;

    same = got && fd >= 0 && pread(fd, got, n, (off_t)off) == (ssize_t)n &&
           !memcmp(got, want, n);
    if (fd >= 0) {
        close(fd);
    }
    free(got);
    return same;
}

static void demo(Kdev *k)
{
    enum { NB = 16, LEN = NB * 512 };
    static uint8_t out[LEN], in[LEN];
    struct kestrel_identify id;
    struct kestrel_cqe cqe;
    uint64_t buf = qt_galloc(k->qt, LEN, 4096);
    uint64_t rbuf = qt_galloc(k->qt, LEN, 4096);
    char err[512];
    int st, i;

    step(kdev_enable(k, 32, 32) == 0, "enable", "ready after the handshake");
    st = kdev_identify(k, &id);
    step(st == 0 && id.magic == KESTREL_IDENTIFY_MAGIC, "identify",
         "%.*s, serial %.*s, %llu blocks of %u bytes",
         padded_len(id.model, sizeof(id.model)), id.model,
         padded_len(id.serial, sizeof(id.serial)), id.serial,
         (unsigned long long)id.capacity, id.block_size);

    for (i = 0; i < LEN; i++) {
        out[i] = (uint8_t)(i * 13 + 7);
    }
    qt_memwrite(k->qt, buf, out, LEN);
    st = kdev_rw(k, KESTREL_OP_WRITE, 64, NB, buf, 4);
    step(st == 0 && backing_equal(k, 64 * 512, out, LEN), "write",
         "%d blocks in 4 segments, backing file matches", NB);
    st = kdev_rw(k, KESTREL_OP_READ, 64, NB, rbuf, 3);
    qt_memread(k->qt, rbuf, in, LEN);
    step(st == 0 && !memcmp(in, out, LEN), "read", "data verified");

    st = kdev_set_faults(k, "cq.post:corrupt(tag=0xffff):nth=2", err,
                         sizeof(err));
    step(st == 0, "fault: set rule", "cq.post:corrupt(tag=0xffff):nth=2");
    for (i = 0; i < 3; i++) {
        kdev_rw(k, KESTREL_OP_READ, 0, 1, rbuf, 1);
    }
    step(kdev_fault_fired(k, 0) == 1, "fault: fired once",
         "fault-stats fired=%lld", (long long)kdev_fault_fired(k, 0));

    st = kdev_set_faults(k, "cq.post:corrupt(tag=0x10000)", err, sizeof(err));
    step(st != 0 && strstr(err, "column"), "fault: bad rule rejected", "%s",
         err);

    kdev_set_faults(k, "cq.post:drop:once", NULL, 0);
    {
        struct kestrel_sqe sqe = { .opcode = KESTREL_OP_READ, .tag = 900,
                                   .nblocks = 1 };

        kdev_sgl(k, &sqe, rbuf, 512, 1);
        kdev_submit(k, &sqe);
        step(!kdev_reap(k, &cqe, 20 * MS) && kdev_fault_fired(k, 0) == 1,
             "fault: dropped completion", "no CQE within 20 ms virtual time");
    }
    kdev_set_faults(k, "", NULL, 0);
    kdev_wr(k, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    step(kdev_enable(k, 32, 32) == 0 &&
         kdev_rw(k, KESTREL_OP_READ, 64, NB, rbuf, 2) == 0,
         "recover: reset", "controller reset, I/O works again");
    step(qt_alive(k->qt) == 1, "qemu alive", "pid %d", (int)qt_pid(k->qt));
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "qemu", required_argument, NULL, 'q' },
        { "report", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *report = "kestrel-demo-report.json";
    json_object *root;
    char err[2048];
    Kdev *k;
    int c, total;

    while ((c = getopt_long(argc, argv, "q:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'q':
            setenv("GAUNTLET_QEMU", optarg, 1);
            break;
        case 'r':
            report = optarg;
            break;
        default:
            fprintf(stderr, "usage: %s --qemu PATH [--report FILE]\n",
                    argv[0]);
            return c == 'h' ? 0 : 2;
        }
    }
    steps = json_object_new_array();
    k = kdev_start(NULL, 4096, true, err, sizeof(err));
    if (!k) {
        fprintf(stderr, "kestrel-demo: cannot start QEMU: %s\n", err);
        return 1;
    }
    demo(k);
    kdev_stop(k);
    total = (int)json_object_array_length(steps);

    root = json_object_new_object();
    json_object_object_add(root, "suite", json_object_new_string("demo"));
    json_object_object_add(root, "failures", json_object_new_int(failures));
    json_object_object_add(root, "steps", steps);
    if (json_object_to_file_ext(report, root, JSON_C_TO_STRING_PRETTY)) {
        fprintf(stderr, "kestrel-demo: cannot write %s\n", report);
        failures++;
    } else {
        printf("report: %s\n", report);
    }
    json_object_put(root);
    printf("%d passed, %d failed\n", total - failures, failures);
    return failures ? 1 : 0;
}
