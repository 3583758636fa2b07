/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Suite "target": target folders (target.c, docs/targets.md): every key,
 * the list-valued ones, placeholders, host tools, and bad input with its
 * file:line:col.  The shipped targets load and name their folders.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target.h"

#ifndef GT_TARGETS_DIR
#error "GT_TARGETS_DIR must name the repository's targets/"
#endif

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gt-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Write NAME/target.yaml under tmpdir; returns the folder. */
static const char *write_target(const char *name, const char *text)
{
    static char dir[512];
    char path[600];
    FILE *f;

    snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
    mkdir(dir, 0755);
    snprintf(path, sizeof(path), "%s/target.yaml", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return dir;
}

#define BASE "name: t\ndescription: d\ndevice: \"x,id={id}\"\ndrive_size_mb: 4\n" \
             "block_size: 512\nmodule: m\nload: l\nunload: u\nready: r\n"

START_TEST(test_shipped)
{
    static const char *const names[] = { "kestrel", "kestrel-iommu", "nvme",
                                         "virtio-blk" };
    char err[1024];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        GtTarget *t = gt_find(GT_TARGETS_DIR, names[i], err, sizeof(err));

        ck_assert_msg(t != NULL, "%s", err);
        ck_assert_str_eq(t->name, names[i]);
        ck_assert_ptr_nonnull(strstr(t->dir, names[i]));
        ck_assert_msg(t->nfiles || t->nkmods, "%s puts nothing into the image",
                      names[i]);
        ck_assert_str_eq(t->iommu, strstr(names[i], "-iommu") ? "intel" : "none");
        gt_free(t);
    }
}
END_TEST

START_TEST(test_lists)
{
    char err[1024];
    GtTarget *t;

    write_target("t", BASE
                 "guest_files:\n"
                 "  - {src: \"{target_dir}/a.ko\", dest: /lib/a.ko, kernel: stock}\n"
                 "  - {src: \"{build}/b\", dest: /bin/b}\n"
                 "guest_kmods: [nvme, virtio_blk]\n"
                 "host_tools:\n  check: \"{target_dir}/check.sh\"\n"
                 "fault_check: \"{check} --strict\"\n");
    t = gt_find(tmpdir, "t", err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_uint_eq(t->nfiles, 2);
    ck_assert_str_eq(t->files[0].dest, "/lib/a.ko");
    ck_assert_int_eq(t->files[0].kernel, GT_KERNEL_STOCK);
    ck_assert_int_eq(t->files[1].kernel, GT_KERNEL_ANY);
    ck_assert_int_eq(t->files[1].line, 12);
    ck_assert_uint_eq(t->nkmods, 2);
    ck_assert_str_eq(t->kmods[1], "virtio_blk");
    ck_assert_uint_eq(t->ntools, 1);
    {
        const char *base[] = { "x", "1", NULL };
        char **v = gt_tool_vars(t, "/b", base, err, sizeof(err));
        char *cmd;

        ck_assert_msg(v != NULL, "%s", err);
        cmd = gt_expand(t->fault_check, (const char *const *)v, err, sizeof(err));
        ck_assert_msg(cmd != NULL, "%s", err);
        ck_assert_ptr_nonnull(strstr(cmd, "/t/check.sh --strict"));
        ck_assert_str_eq(cmd + strlen(cmd) - strlen("/t/check.sh --strict"),
                         "/t/check.sh --strict");
        free(cmd);
        gt_vars_free(v);
    }
    gt_free(t);
    /* one module may be a scalar */
    write_target("t", BASE "guest_kmods: nvme\n");
    t = gt_find(tmpdir, "t", err, sizeof(err));
    ck_assert_msg(t && t->nkmods == 1, "%s", err);
    gt_free(t);
}
END_TEST

static const struct {
    const char *extra;
    const char *want;       /* in the message, after "target.yaml" */
} bad[] = {
    { "guest_files: [{src: a}]\n", ":10:15: 'guest_files': an entry needs both src and dest" },
    { "guest_files: [{src: a, dest: rel}]\n", ":10:30: 'dest': found 'rel', expected an absolute" },
    { "guest_files: [{src: a, dest: /a/../b}]\n", "expected an absolute guest file path without '..'" },
    { "guest_files: [{src: a, dest: /b, kernel: old}]\n", ":10:42: 'kernel': found 'old', expected stock or debug" },
    { "guest_files: [{src: a, dest: /b, mode: 1}]\n", "unknown key 'mode'" },
    { "guest_files: {src: a}\n", ":10:14: 'guest_files': found a mapping, expected a list" },
    { "guest_kmods: {a: b}\n", "'guest_kmods': found a mapping" },
    { "guest_kmods: [\"a b\"]\n", "'guest_kmods': found 'a b', expected a module name" },
    { "host_tools: [a]\n", "'host_tools': found a list, expected a mapping" },
    { "host_tools: {a: x, a: y}\n", "duplicate tool 'a'" },
    { "host_tools: {\"a b\": x}\n", "bad tool name 'a b'" },
    { "fault_set: [a]\n", ":10:12: 'fault_set': found a list, expected a scalar" },
    { "drive_size_mb: 5\n", ":10:1: duplicate key 'drive_size_mb'" },
    { "colour: blue\n", ":10:1: unknown key 'colour'" },
    { "ready_timeout: -1\n", "expected a non-negative integer" },
    { "guest_files: [{src: a, dest: /b}\n", "YAML error" },
    { "fault_object: both\n", ":10:15: 'fault_object': found 'both', expected device or port" },
    { "fault_object: Port\n", ":10:15: 'fault_object': found 'Port', expected device or port" },
    { "fault_object: [port]\n", ":10:15: 'fault_object': found a list, expected a scalar" },
    /* the device of BASE has no {bus}: the port would hold no device */
    { "fault_object: port\n", ":10:15: 'fault_object: port' puts the faults on the device's root port, but 'device' does not plug it into one (no {bus})" },
    { "root_port: \"pcie-root-port,bus=x\"\n", ":10:12: 'root_port': found 'pcie-root-port,bus=x', expected a QEMU device type name" },
    { "root_port: \"\"\n", ":10:12: 'root_port': found '', expected a QEMU device type name" },
    { "root_port: Gauntlet-Port\n", "'root_port': found 'Gauntlet-Port'" },
    { "root_port: \"a b\"\n", "'root_port': found 'a b'" },
    { "iommu: amd\n", ":10:8: 'iommu': found 'amd', expected none (no IOMMU, the default) or intel" },
    { "iommu: Intel\n", ":10:8: 'iommu': found 'Intel', expected none" },
    { "iommu: [intel]\n", ":10:8: 'iommu': found a list, expected a scalar" },
};

START_TEST(test_bad)
{
    char err[1024], text[2048];
    GtTarget *t;


    snprintf(text, sizeof(text), "%s%s", BASE, bad[_i].extra);
    write_target("t", text);
    t = gt_find(tmpdir, "t", err, sizeof(err));
    ck_assert_msg(t == NULL, "case %d loaded", _i);
    ck_assert_msg(strstr(err, "t/target.yaml") && strstr(err, bad[_i].want),
                  "case %d: want '%s' in: %s", _i, bad[_i].want, err);
}
END_TEST

/* root_port and fault_object: their defaults, and good values kept. */
START_TEST(test_port_keys)
{
    char err[1024];
    GtTarget *t;

    write_target("t", BASE);
    t = gt_find(tmpdir, "t", err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_str_eq(t->root_port, "pcie-root-port");
    ck_assert_str_eq(t->fault_object, "device");
    ck_assert(!gt_faults_on_port(t));
    ck_assert_str_eq(t->fault_log, "");
    ck_assert_str_eq(t->iommu, "none");
    gt_free(t);
    write_target("t", BASE "iommu: intel\n");
    t = gt_find(tmpdir, "t", err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_str_eq(t->iommu, "intel");
    gt_free(t);
    write_target("t", "name: t\ndescription: d\ndevice: \"x,id={id},bus={bus}\"\n"
                 "drive_size_mb: 4\nblock_size: 512\nmodule: m\nload: l\n"
                 "unload: u\nready: r\nroot_port: gauntlet-port\n"
                 "fault_object: port\nfault_set: faults\nfault_stats: s\n"
                 "fault_log: fault-log\n");
    t = gt_find(tmpdir, "t", err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_str_eq(t->root_port, "gauntlet-port");
    ck_assert(gt_faults_on_port(t));
    ck_assert(gt_has_faults(t));
    ck_assert_str_eq(t->fault_log, "fault-log");
    gt_free(t);
    write_target("t", BASE "fault_object: device\nroot_port: x3130-upstream\n");
    t = gt_find(tmpdir, "t", err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert(!gt_faults_on_port(t));
    ck_assert_str_eq(t->root_port, "x3130-upstream");
    gt_free(t);
}
END_TEST

START_TEST(test_find)
{
    char err[1024];
    GtTarget *t;

    t = gt_find(tmpdir, "nosuch", err, sizeof(err));
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(strstr(err, "no target 'nosuch'"));
    write_target("t", BASE);
    write_target("u", BASE);       /* named t in folder u */
    t = gt_find(tmpdir, "u", err, sizeof(err));
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(strstr(err, "the target is named 't', not 'u'"));
    /* a folder path works too, whatever its name */
    {
        char dir[600];

        snprintf(dir, sizeof(dir), "%s/u", tmpdir);
        t = gt_find(tmpdir, dir, err, sizeof(err));
        ck_assert_msg(t != NULL, "%s", err);
        gt_free(t);
    }
}
END_TEST

Suite *target_suite(void)
{
    Suite *s = suite_create("target");
    TCase *tc = tcase_create("load");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_shipped);
    tcase_add_test(tc, test_lists);
    tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, test_find);
    tcase_add_test(tc, test_port_keys);
    suite_add_tcase(s, tc);
    return s;
}
