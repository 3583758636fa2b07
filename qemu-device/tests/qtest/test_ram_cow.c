/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest RAM in a file mapped copy-on-write at restore: what the harness's
 * snapshots (harness/run_snapshot.c, --snapshot-ram file) ask of QEMU.
 *
 * A source machine has its RAM in a shared file (memory-backend-file,
 * share=on); a pattern is written into guest RAM; the machine is saved
 * with x-ignore-shared, which leaves shared RAM out of the stream; the
 * file is copied.  A destination maps the copy private (share=off) and
 * loads the stream with x-ignore-shared: it must read the pattern (the
 * RAM comes from the file, not the stream), its own writes must not reach
 * the file, and the source's writes after the copy must not reach it.
 * QEMU 7.2 does this without a patch: a private destination block is
 * allowed since 4.1 (upstream b17fbbe55cba, "migration: allow private
 * destination ram with x-ignore-shared").
 *
 * Controls: the same save from a private source (share=off) puts the RAM
 * in the stream (the size check can fail), and a destination that does
 * not set x-ignore-shared cannot load the stream.  No guest CPU runs
 * (-accel qtest).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qtest_client.h"

#define MEM_MB          256
#define PAT_ADDR        (16u << 20)
#define PAT_LEN         (8u << 20)      /* 2048 pages, nonzero */
#define PAT_BYTE        0xa5
#define MARK_ADDR       (PAT_ADDR + 4096)

static char dir[64];

static void path_of(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

/* A q35 machine whose RAM is the file `ram`, shared or private. */
static QtClient *start(const char *ram, bool share, bool incoming)
{
    QtOptions o = { 0 };
    char obj[1024], err[4096], ram_path[512];
    const char *argv[5] = { "-object", obj, NULL, NULL, NULL };
    QtClient *c;

    path_of(ram_path, sizeof(ram_path), ram);
    snprintf(obj, sizeof(obj), "memory-backend-file,id=gram,size=%uM,"
             "mem-path=%s,share=%s", MEM_MB, ram_path, share ? "on" : "off");
    if (incoming) {
        argv[2] = "-incoming";
        argv[3] = "defer";
    }
    o.qemu_binary = getenv("GAUNTLET_QEMU");
    ck_assert_msg(o.qemu_binary && *o.qemu_binary, "GAUNTLET_QEMU is not set");
    o.machine = "q35,memory-backend=gram";
    o.mem_mb = MEM_MB;
    o.extra_argv = argv;
    o.timeout_ms = 20000;
    c = qt_start(&o, err, sizeof(err));
    ck_assert_msg(c, "QEMU did not start: %s", err);
    return c;
}

static int ignore_shared(QtClient *c)
{
    return qt_qmp_ok(c, "{'execute':'migrate-set-capabilities','arguments':"
                     "{'capabilities':[{'capability':'x-ignore-shared',"
                     "'state':true}]}}");
}

/* query-migrate until completed or failed: its final status */
static const char *migration_end(QtClient *c, char *st, size_t len)
{
    for (int i = 0; i < 1000; i++) {
        QtQmpReply *r = qt_qmp(c, "{'execute':'query-migrate'}");
        json_object *v;

        snprintf(st, len, "%s", r->rc ? "qmp-error" : "none");
        if (r->ret && json_object_object_get_ex(r->ret, "status", &v)) {
            snprintf(st, len, "%s", json_object_get_string(v));
        }
        qt_qmp_free(r);
        if (strcmp(st, "none") && strcmp(st, "setup") && strcmp(st, "active")) {
            return st;
        }
        usleep(10 * 1000);
    }
    return st;
}

/* Save a machine with the pattern in RAM into vm.mig; returns its size. */
static off_t save(bool share)
{
    char uri[600], st[64], mig[512];
    QtClient *c = start("src-ram", share, false);
    struct stat sb;

    ck_assert_int_eq(qt_memset(c, PAT_ADDR, PAT_BYTE, PAT_LEN), QT_OK);
    ck_assert_int_eq(qt_writeq(c, MARK_ADDR, 0x1122334455667788ull), QT_OK);
    ck_assert_msg(ignore_shared(c) == QT_OK, "%s", qt_error(c));
    path_of(mig, sizeof(mig), "vm.mig");
    snprintf(uri, sizeof(uri), "{'execute':'migrate','arguments':"
             "{'uri':'exec:cat > %s'}}", mig);
    ck_assert_msg(qt_qmp_ok(c, "%s", uri) == QT_OK, "%s", qt_error(c));
    ck_assert_str_eq(migration_end(c, st, sizeof(st)), "completed");
    if (share) {
        char from[512], to[512], cmd[1200];

        path_of(from, sizeof(from), "src-ram");
        path_of(to, sizeof(to), "ram.img");
        snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s'", from, to);
        ck_assert_int_eq(system(cmd), 0);
        /* the source goes on: nothing of it may reach the copy */
        ck_assert_int_eq(qt_writeq(c, MARK_ADDR, 0xdeadull), QT_OK);
    }
    qt_stop(c);
    ck_assert_int_eq(stat(mig, &sb), 0);
    return sb.st_size;
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/gauntlet-ram-cow-XXXXXX");
    ck_assert_msg(mkdtemp(dir), "mkdtemp");
}

static void teardown(void)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd)) {
        /* best effort */
    }
}

START_TEST(test_ram_cow_restore)
{
    char st[64], ram[512], cmd[600];
    QtClient *c;
    uint64_t v;
    uint8_t b;
    struct stat before, after;
    off_t mig = save(true);
    FILE *f;

    /* the stream holds the devices only: less than the pattern alone */
    ck_assert_msg(mig < PAT_LEN / 4, "vm.mig has %lld bytes: RAM is in it",
                  (long long)mig);
    path_of(ram, sizeof(ram), "ram.img");
    ck_assert_int_eq(stat(ram, &before), 0);
    ck_assert_int_eq(before.st_size, (off_t)MEM_MB << 20);

    c = start("ram.img", false, true);
    ck_assert_msg(ignore_shared(c) == QT_OK, "%s", qt_error(c));
    path_of(cmd, sizeof(cmd), "vm.mig");
    ck_assert_msg(qt_qmp_ok(c, "{'execute':'migrate-incoming','arguments':"
                            "{'uri':'exec:cat %s'}}", cmd) == QT_OK, "%s",
                  qt_error(c));
    ck_assert_str_eq(migration_end(c, st, sizeof(st)), "completed");
    ck_assert_int_eq(qt_readq(c, MARK_ADDR, &v), QT_OK);
    ck_assert_msg(v == 0x1122334455667788ull, "restored RAM reads %#llx",
                  (unsigned long long)v);
    ck_assert_int_eq(qt_readb(c, PAT_ADDR + PAT_LEN - 1, &b), QT_OK);
    ck_assert_int_eq(b, PAT_BYTE);
    /* the guest writes its own copy */
    ck_assert_int_eq(qt_writeq(c, MARK_ADDR, 0x99ull), QT_OK);
    ck_assert_int_eq(qt_readq(c, MARK_ADDR, &v), QT_OK);
    ck_assert_uint_eq(v, 0x99ull);
    qt_stop(c);

    /* the file is as saved */
    f = fopen(ram, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, MARK_ADDR, SEEK_SET), 0);
    ck_assert_int_eq(fread(&v, sizeof(v), 1, f), 1);
    fclose(f);
    ck_assert_msg(v == 0x1122334455667788ull, "ram.img holds %#llx after the "
                  "restore", (unsigned long long)v);
    ck_assert_int_eq(stat(ram, &after), 0);
    ck_assert_int_eq(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    ck_assert_int_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}
END_TEST

/* control: private RAM is not ignored, the stream carries it */
START_TEST(test_ram_cow_private_source)
{
    off_t mig = save(false);

    ck_assert_msg(mig >= PAT_LEN, "vm.mig of a private source has %lld "
                  "bytes, less than the pattern", (long long)mig);
}
END_TEST

/* control: without x-ignore-shared the destination cannot read the stream */
START_TEST(test_ram_cow_needs_capability)
{
    char st[64], mig[512];
    QtClient *c;

    save(true);
    c = start("ram.img", false, true);
    path_of(mig, sizeof(mig), "vm.mig");
    ck_assert_msg(qt_qmp_ok(c, "{'execute':'migrate-incoming','arguments':"
                            "{'uri':'exec:cat %s'}}", mig) == QT_OK, "%s",
                  qt_error(c));
    /* QEMU 7.2 exits on a failed incoming migration */
    ck_assert_str_ne(migration_end(c, st, sizeof(st)), "completed");
    qt_stop(c);
}
END_TEST

static Suite *ram_cow_suite(void)
{
    Suite *s = suite_create("ram_cow");
    TCase *t = tcase_create("ram_cow");

    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_ram_cow_restore);
    tcase_add_test(t, test_ram_cow_private_source);
    tcase_add_test(t, test_ram_cow_needs_capability);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ram_cow_suite());
    int failed;

    srunner_run_all(sr, CK_VERBOSE);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
