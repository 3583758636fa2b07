/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scenario parser tests: good files (struct fields, defaults, nesting,
 * dump round trip), bad inputs (exact line:col and a distinctive message
 * fragment), limits, and a mutation smoke test for memory safety (run
 * under -DGAUNTLET_HARNESS_SANITIZE=ON).
 */
#define _GNU_SOURCE
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario.h"

#ifndef GS_TEST_DIR
#error "GS_TEST_DIR must name tests/harness/scenarios"
#endif

Suite *scenario_suite(void);

static GsScenario *parse_ok(const char *text)
{
    GsScenario *s = NULL;
    GsError e;
    int rc = gs_parse_string("t.yaml", text, strlen(text), &s, &e);

    ck_assert_msg(rc == 0, "unexpected error: %s", e.text);
    ck_assert_ptr_nonnull(s);
    return s;
}

static char *dump_to_string(const GsScenario *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(f);
    gs_dump(s, f);
    fclose(f);
    return buf;
}

/* dump -> parse -> dump must be a fixed point */
static void check_round_trip(const GsScenario *s)
{
    char *d1 = dump_to_string(s);
    GsScenario *s2 = parse_ok(d1);
    char *d2 = dump_to_string(s2);

    ck_assert_str_eq(d1, d2);
    ck_assert_uint_eq(s->total_steps, s2->total_steps);
    ck_assert_int_eq(s->nrules, s2->nrules);
    free(d1);
    free(d2);
    gs_free(s2);
}

/* ---- good files ------------------------------------------------------- */

static const struct {
    const char *file;
    const char *name;
    const char *target;     /* "": none named */
    GsKernel kernel;
    int64_t timeout;
    size_t nsteps, total_steps, ntags;
    int nrules;
    bool allow_all;
} good_files[] = {
    { "cq-drop-third.yaml", "cq-drop-third", "", GS_KERNEL_STOCK, 300, 10, 10,
      2, 1, false },
    { "surprise-removal-under-io.yaml", "surprise-removal-under-io", "",
      GS_KERNEL_DEBUG, 900, 12, 12, 3, 0, false },
    { "suspend-resume-loop.yaml", "suspend-resume-loop", "", GS_KERNEL_STOCK,
      1800, 7, 15, 1, 1, true },
    { "probe-alloc-failure.yaml", "probe-alloc-failure", "kestrel",
      GS_KERNEL_DEBUG, 600, 10, 10, 2, 0, false },
};

START_TEST(test_good_file)
{
    char path[512];
    GsScenario *s = NULL;
    GsError e;
    int rc;

    snprintf(path, sizeof(path), "%s/good/%s", GS_TEST_DIR,
             good_files[_i].file);
    rc = gs_parse_file(path, &s, &e);
    ck_assert_msg(rc == 0, "%s", e.text);
    ck_assert_str_eq(s->name, good_files[_i].name);
    ck_assert_str_eq(s->target, good_files[_i].target);
    ck_assert_int_eq(s->kernel, good_files[_i].kernel);
    ck_assert_int_eq(s->timeout, good_files[_i].timeout);
    ck_assert_uint_eq(s->nsteps, good_files[_i].nsteps);
    ck_assert_uint_eq(s->total_steps, good_files[_i].total_steps);
    ck_assert_uint_eq(s->ntags, good_files[_i].ntags);
    ck_assert_int_eq(s->nrules, good_files[_i].nrules);
    ck_assert(s->allow_unfired_all == good_files[_i].allow_all);
    ck_assert(strlen(s->description) > 10);
    ck_assert_str_eq(s->file, path);
    check_round_trip(s);
    gs_free(s);
}
END_TEST

START_TEST(test_cq_drop_fields)
{
    char path[512];
    GsScenario *s = NULL;
    GsError e;
    const GsStep *st;

    snprintf(path, sizeof(path), "%s/good/cq-drop-third.yaml", GS_TEST_DIR);
    ck_assert_msg(gs_parse_file(path, &s, &e) == 0, "%s", e.text);
    ck_assert_str_eq(s->description, "Drop the third completion; the driver "
                     "must time out, reset and retry, and the I/O must still "
                     "succeed.\n");
    ck_assert_str_eq(s->tags[0], "timeouts");
    ck_assert_str_eq(s->tags[1], "quick");
    st = s->steps;
    ck_assert_int_eq(st[0].type, GS_STEP_BOOT);
    ck_assert_int_eq(st[0].line, 12);
    ck_assert_int_eq(st[0].col, 5);
    ck_assert_int_eq(st[1].type, GS_STEP_LOAD);
    ck_assert_str_eq(st[1].u.load.params, "timeout_ms=2000");
    ck_assert_int_eq(st[2].type, GS_STEP_FAULTS);
    ck_assert_int_eq(st[2].u.faults.op, GS_FAULTS_SET);
    ck_assert_str_eq(st[2].u.faults.rules, "cq.post:drop:nth=3");
    ck_assert_int_eq(st[2].u.faults.first_rule, 0);
    ck_assert_int_eq(st[2].u.faults.nrules, 1);
    ck_assert_int_eq(st[3].type, GS_STEP_RUN);
    ck_assert_str_eq(st[3].u.run.cmd,
                     "kestrelctl read --lba 0 --count 16 --verify");
    ck_assert(st[3].u.run.timeout == 30.0);
    ck_assert_ptr_null(st[3].u.run.expect_stdout);
    ck_assert_int_eq(st[4].type, GS_STEP_EXPECT_LOG);
    ck_assert(st[4].u.expect_log.timeout == 10.0);
    ck_assert(st[5].u.expect_log.timeout == 10.0);     /* default */
    ck_assert_int_eq(st[6].type, GS_STEP_COUNTER);
    ck_assert_int_eq(st[6].u.counter.source, GS_SRC_FAULT);
    ck_assert_int_eq(st[6].u.counter.rule, 0);
    ck_assert_int_eq(st[6].u.counter.op, GS_OP_EQ);
    ck_assert_int_eq(st[6].u.counter.value, 1);
    ck_assert_int_eq(st[7].u.counter.source, GS_SRC_DRIVER);
    ck_assert_str_eq(st[7].u.counter.name, "resets");
    ck_assert_int_eq(st[7].u.counter.op, GS_OP_GE);
    ck_assert_int_eq(st[8].u.faults.op, GS_FAULTS_CLEAR);
    ck_assert_int_eq(st[9].type, GS_STEP_UNLOAD);       /* "- unload" */
    ck_assert_int_eq(st[9].u.unload.expect, GS_EXPECT_OK);
    ck_assert_int_eq(st[9].line, 24);
    gs_free(s);
}
END_TEST

/* Every step type, every key given explicitly. */
static const char all_steps[] =
    "name: all-steps\n"
    "description: every step\n"
    "target: kestrel\n"
    "kernel: debug\n"
    "timeout: 7200\n"
    "tags: [a, b.c, d-e_f]\n"
    "allow_unfired: [1, 0]\n"
    "steps:\n"
    "  - boot: {cmdline: \"quiet loglevel=7\", memory: 2048, smp: 4}\n"
    "  - load: {params: \"a=1 b=2\", expect: fail}\n"
    "  - unload: {expect: fail}\n"
    "  - run: {cmd: \"echo hi\", expect_exit: 3, expect_stdout: \"^hi$\",\n"
    "          expect_stderr: \"warn(ing)?\", timeout: 2.5}\n"
    "  - workload: {name: w1, cmd: \"sleep 100\"}\n"
    "  - workload_stop: {name: w1, expect_exit: 143, timeout: 9, wait: true}\n"
    "  - faults: {set: \"irq:drop;cq.post:corrupt(tag=0xffff):nth=3\"}\n"
    "  - faults: {add: \"reg.read[reg=STATUS]:allones:once\"}\n"
    "  - faults: {clear: true}\n"
    "  - hotplug: {action: remove, device: k2}\n"
    "  - suspend: {mode: pm_test, level: processors, cycles: 7}\n"
    "  - kfault: {type: fail_function, function: kestrel_probe,\n"
    "             probability: 50, times: -1, interval: 3, space: 4096,\n"
    "             require: true}\n"
    "  - expect_log: {pattern: \"x+\", timeout: 0}\n"
    "  - forbid_log: {pattern: \"Oops\"}\n"
    "  - counter: {source: fault, name: all, op: ne, value: -5}\n"
    "  - counter: {source: fault, name: \"2\", op: \"<\", value: 0x10}\n"
    "  - wait: {ms: 1500}\n"
    "  - repeat: {count: 10000, steps: [boot, {wait: {seconds: 1e-3}}]}\n";

START_TEST(test_all_steps)
{
    GsScenario *s = parse_ok(all_steps);
    const GsStep *st = s->steps;

    ck_assert_int_eq(s->kernel, GS_KERNEL_DEBUG);
    ck_assert_int_eq(s->timeout, 7200);
    ck_assert_uint_eq(s->ntags, 3);
    ck_assert_str_eq(s->tags[2], "d-e_f");
    ck_assert_uint_eq(s->nallow_unfired, 2);
    ck_assert_int_eq(s->allow_unfired[0], 1);
    ck_assert_int_eq(s->allow_unfired[1], 0);
    ck_assert_uint_eq(s->nsteps, 18);
    ck_assert_uint_eq(s->total_steps, 20);
    ck_assert_int_eq(s->nrules, 3);

    ck_assert_str_eq(st[0].u.boot.cmdline, "quiet loglevel=7");
    ck_assert_int_eq(st[0].u.boot.memory_mb, 2048);
    ck_assert_int_eq(st[0].u.boot.smp, 4);
    ck_assert_str_eq(st[1].u.load.params, "a=1 b=2");
    ck_assert_int_eq(st[1].u.load.expect, GS_EXPECT_FAIL);
    ck_assert_int_eq(st[2].u.unload.expect, GS_EXPECT_FAIL);
    ck_assert_str_eq(st[3].u.run.cmd, "echo hi");
    ck_assert_int_eq(st[3].u.run.expect_exit, 3);
    ck_assert_str_eq(st[3].u.run.expect_stdout, "^hi$");
    ck_assert_str_eq(st[3].u.run.expect_stderr, "warn(ing)?");
    ck_assert(st[3].u.run.timeout == 2.5);
    ck_assert_str_eq(st[4].u.workload.name, "w1");
    ck_assert_str_eq(st[4].u.workload.cmd, "sleep 100");
    ck_assert_str_eq(st[5].u.workload_stop.name, "w1");
    ck_assert_int_eq(st[5].u.workload_stop.expect_exit, 143);
    ck_assert(st[5].u.workload_stop.timeout == 9.0);
    ck_assert(st[5].u.workload_stop.wait);
    ck_assert_int_eq(st[6].u.faults.op, GS_FAULTS_SET);
    ck_assert_int_eq(st[6].u.faults.nrules, 2);
    ck_assert_int_eq(st[6].u.faults.first_rule, 0);
    ck_assert_int_eq(st[7].u.faults.op, GS_FAULTS_ADD);
    ck_assert_int_eq(st[7].u.faults.nrules, 1);
    ck_assert_int_eq(st[7].u.faults.first_rule, 2);
    ck_assert_int_eq(st[8].u.faults.op, GS_FAULTS_CLEAR);
    ck_assert_int_eq(st[8].u.faults.nrules, 0);
    ck_assert_int_eq(st[9].u.hotplug.action, GS_HOTPLUG_REMOVE);
    ck_assert_str_eq(st[9].u.hotplug.device, "k2");
    ck_assert(!st[9].u.hotplug.fast);
    ck_assert_int_eq(st[10].u.suspend.mode, GS_SUSPEND_PM_TEST);
    ck_assert_int_eq(st[10].u.suspend.level, GS_PM_PROCESSORS);
    ck_assert_int_eq(st[10].u.suspend.cycles, 7);
    ck_assert_int_eq(st[11].u.kfault.type, GS_KFAULT_FAIL_FUNCTION);
    ck_assert_str_eq(st[11].u.kfault.function, "kestrel_probe");
    ck_assert_int_eq(st[11].u.kfault.probability, 50);
    ck_assert_int_eq(st[11].u.kfault.times, -1);
    ck_assert_int_eq(st[11].u.kfault.interval, 3);
    ck_assert_int_eq(st[11].u.kfault.space, 4096);
    ck_assert(st[11].u.kfault.require);
    ck_assert_str_eq(st[12].u.expect_log.pattern, "x+");
    ck_assert(st[12].u.expect_log.timeout == 0.0);
    ck_assert_str_eq(st[13].u.forbid_log.pattern, "Oops");
    ck_assert_int_eq(st[14].u.counter.rule, -1);
    ck_assert_int_eq(st[14].u.counter.op, GS_OP_NE);
    ck_assert_int_eq(st[14].u.counter.value, -5);
    ck_assert_int_eq(st[15].u.counter.rule, 2);
    ck_assert_int_eq(st[15].u.counter.op, GS_OP_LT);
    ck_assert_int_eq(st[15].u.counter.value, 16);
    ck_assert(fabs(st[16].u.wait.seconds - 1.5) < 1e-12);
    ck_assert_int_eq(st[17].type, GS_STEP_REPEAT);
    ck_assert_int_eq(st[17].u.repeat.count, 10000);
    ck_assert_uint_eq(st[17].u.repeat.nsteps, 2);
    ck_assert_int_eq(st[17].u.repeat.steps[0].type, GS_STEP_BOOT);
    ck_assert(st[17].u.repeat.steps[1].u.wait.seconds == 0.001);
    for (size_t i = 0; i < s->nsteps; i++) {
        ck_assert_str_ne(gs_step_name(st[i].type), "?");
    }
    check_round_trip(s);
    gs_free(s);
}
END_TEST

START_TEST(test_defaults)
{
    GsScenario *s = parse_ok(
        "name: d\n"
        "description: defaults\n"
        "steps:\n"
        "  - boot: {}\n"
        "  - load\n"
        "  - unload:\n"
        "  - run: {cmd: ls}\n"
        "  - workload: {name: w, cmd: x}\n"
        "  - workload_stop: {name: w}\n"
        "  - hotplug: {action: surprise}\n"
        "  - suspend: {}\n"
        "  - kfault: {type: failslab}\n"
        "  - counter: {source: device, name: irqs, value: 1}\n"
        "  - expect_log: {pattern: x}\n");
    const GsStep *st = s->steps;

    ck_assert_str_eq(s->target, "");   /* none named: the runner's default */
    ck_assert_int_eq(s->kernel, GS_KERNEL_STOCK);
    ck_assert_int_eq(s->timeout, 600);
    ck_assert_uint_eq(s->ntags, 0);
    ck_assert(!s->allow_unfired_all);
    ck_assert_uint_eq(s->nallow_unfired, 0);
    ck_assert_str_eq(st[0].u.boot.cmdline, "");
    ck_assert_int_eq(st[0].u.boot.memory_mb, 512);
    ck_assert_int_eq(st[0].u.boot.smp, 1);
    ck_assert_str_eq(st[1].u.load.params, "");
    ck_assert_int_eq(st[1].u.load.expect, GS_EXPECT_OK);
    ck_assert_int_eq(st[2].type, GS_STEP_UNLOAD);
    ck_assert_int_eq(st[3].u.run.expect_exit, 0);
    ck_assert(st[3].u.run.timeout == 60.0);
    ck_assert_ptr_null(st[3].u.run.expect_stderr);
    ck_assert_int_eq(st[5].u.workload_stop.expect_exit, 0);
    ck_assert(st[5].u.workload_stop.timeout == 60.0);
    ck_assert(!st[5].u.workload_stop.wait);
    ck_assert_str_eq(st[6].u.hotplug.device, "k1");
    ck_assert_int_eq(st[7].u.suspend.mode, GS_SUSPEND_S3);
    ck_assert_int_eq(st[7].u.suspend.level, GS_PM_NONE);
    ck_assert_int_eq(st[7].u.suspend.cycles, 1);
    ck_assert_ptr_null(st[8].u.kfault.function);
    ck_assert_int_eq(st[8].u.kfault.probability, 100);
    ck_assert_int_eq(st[8].u.kfault.times, 1);
    ck_assert_int_eq(st[8].u.kfault.interval, 1);
    ck_assert_int_eq(st[8].u.kfault.space, 0);
    ck_assert(!st[8].u.kfault.require);
    ck_assert_int_eq(st[9].u.counter.op, GS_OP_GE);
    ck_assert_int_eq(st[9].u.counter.rule, -1);
    ck_assert(st[10].u.expect_log.timeout == 10.0);
    check_round_trip(s);
    gs_free(s);
}
END_TEST

START_TEST(test_nested_repeat)
{
    GsScenario *s = parse_ok(
        "name: n\n"
        "description: nesting\n"
        "steps:\n"
        "  - repeat:\n"
        "      count: 2\n"
        "      steps:\n"
        "        - repeat:\n"
        "            count: 3\n"
        "            steps:\n"
        "              - repeat:\n"
        "                  count: 4\n"
        "                  steps:\n"
        "                    - repeat:\n"
        "                        count: 5\n"
        "                        steps:\n"
        "                          - workload: {name: w, cmd: x}\n"
        "                          - workload_stop: {name: w}\n"
        "  - workload: {name: w, cmd: y}\n");
    const GsStep *r = &s->steps[0];

    ck_assert_uint_eq(s->total_steps, 7);
    ck_assert_int_eq(r->u.repeat.count, 2);
    r = &r->u.repeat.steps[0];
    ck_assert_int_eq(r->u.repeat.count, 3);
    r = &r->u.repeat.steps[0];
    ck_assert_int_eq(r->u.repeat.count, 4);
    r = &r->u.repeat.steps[0];
    ck_assert_int_eq(r->type, GS_STEP_REPEAT);
    ck_assert_int_eq(r->u.repeat.count, 5);
    ck_assert_uint_eq(r->u.repeat.nsteps, 2);
    ck_assert_int_eq(r->u.repeat.steps[1].type, GS_STEP_WORKLOAD_STOP);
    ck_assert_int_eq(r->u.repeat.steps[1].line, 17);
    ck_assert_int_eq(r->u.repeat.steps[1].col, 29);
    check_round_trip(s);
    gs_free(s);
}
END_TEST

/* reboot: its timeout (default 60 s), and the dump round trip. */
START_TEST(test_reboot)
{
    GsScenario *s = parse_ok(
        "name: r\ndescription: d\nsteps:\n  - boot: {}\n  - reboot: {}\n");

    ck_assert_int_eq(s->steps[1].type, GS_STEP_REBOOT);
    ck_assert(s->steps[1].u.reboot.timeout == 60);
    check_round_trip(s);
    gs_free(s);
    s = parse_ok("name: r\ndescription: d\nsteps:\n  - reboot: {timeout: 5.5}\n");
    ck_assert(s->steps[0].u.reboot.timeout == 5.5);
    check_round_trip(s);
    gs_free(s);
}
END_TEST

/* power_cut: now by default, at a device event with a timeout, boot_again;
 * the scenario's write_cache; the dump round trip. */
START_TEST(test_power_cut)
{
    GsScenario *s = parse_ok(
        "name: p\ndescription: d\nsteps:\n  - load: {}\n  - power_cut: {}\n");

    ck_assert_int_eq(s->steps[1].type, GS_STEP_POWER_CUT);
    ck_assert_int_eq(s->steps[1].u.power_cut.at, GS_CUT_NOW);
    ck_assert(!s->steps[1].u.power_cut.boot_again);
    ck_assert(!s->write_cache);
    check_round_trip(s);
    gs_free(s);
    s = parse_ok("name: p\ndescription: d\nwrite_cache: true\n"
                 "expect_fail: [ledger, integrity-host]\nsteps:\n"
                 "  - power_cut: {at: device, timeout: 30, boot_again: true}\n"
                 "  - load: {}\n");
    ck_assert(s->write_cache);
    ck_assert_uint_eq(s->nexpect_fail, 2);
    ck_assert_str_eq(s->expect_fail[1], "integrity-host");
    ck_assert_int_eq(s->steps[0].u.power_cut.at, GS_CUT_DEVICE);
    ck_assert(s->steps[0].u.power_cut.timeout == 30);
    ck_assert(s->steps[0].u.power_cut.boot_again);
    check_round_trip(s);
    gs_free(s);
}
END_TEST

/* iommu (the target's by default) and iommu_faults (== 0 by default, op
 * >= when only a value is given); the dump round trip. */
START_TEST(test_iommu)
{
    GsScenario *s = parse_ok("name: i\ndescription: d\nsteps: [load]\n");

    ck_assert_int_eq(s->iommu, GS_IOMMU_TARGET);
    ck_assert_int_eq(s->iommu_faults_op, GS_OP_EQ);
    ck_assert_int_eq(s->iommu_faults_value, 0);
    check_round_trip(s);
    gs_free(s);
    s = parse_ok("name: i\ndescription: d\niommu: intel\n"
                 "iommu_faults: {value: 1}\nsteps: [load]\n");
    ck_assert_int_eq(s->iommu, GS_IOMMU_INTEL);
    ck_assert_int_eq(s->iommu_faults_op, GS_OP_GE);
    ck_assert_int_eq(s->iommu_faults_value, 1);
    check_round_trip(s);
    gs_free(s);
    s = parse_ok("name: i\ndescription: d\niommu: none\n"
                 "iommu_faults: {op: le, value: 3}\nsteps: [load]\n");
    ck_assert_int_eq(s->iommu, GS_IOMMU_NONE);
    ck_assert_int_eq(s->iommu_faults_op, GS_OP_LE);
    ck_assert_int_eq(s->iommu_faults_value, 3);
    check_round_trip(s);
    gs_free(s);
}
END_TEST

/* Other targets' fault rules are opaque: not checked, counted by ';'. */
START_TEST(test_opaque_faults)
{
    GsScenario *s = parse_ok(
        "name: o\ndescription: other target\ntarget: nvme-sim\n"
        "steps:\n  - faults: {set: \"anything goes; really\"}\n"
        "  - counter: {source: fault, name: 1, value: 0}\n");

    ck_assert_str_eq(s->target, "nvme-sim");
    ck_assert_int_eq(s->steps[0].u.faults.nrules, 2);
    ck_assert_int_eq(s->nrules, 2);
    gs_free(s);
}
END_TEST

/* Captured values: the names, what the checks before any VM see
 * (check_text: each ${NAME} as GS_CAPTURE_PLACEHOLDER), the rule count,
 * the canonical form, and a checker's column mapped back to the text as
 * written. */
START_TEST(test_capture)
{
    GsScenario *s = parse_ok(
        "name: c\ndescription: captures\nsteps:\n"
        "  - run: {cmd: \"echo 0x1000-0x1fff\", capture: USED}\n"
        "  - faults: {set: \"dma.write[addr=${USED}]:corrupt(offset=1,value=0x7f):once\"}\n"
        "  - repeat:\n      count: 2\n      steps:\n"
        "        - run: {cmd: x, capture: _v2}\n"
        "        - faults: {add: \"msi[vector=${_v2}]:drop; dma.read[addr=${USED}]:dma_error\"}\n"
        "  - faults: {set: \"no:captures\"}\n");
    const GsStep *f = &s->steps[1], *r = &s->steps[2].u.repeat.steps[1];
    char err[1200], *d;

    ck_assert_str_eq(s->steps[0].u.run.capture, "USED");
    ck_assert_str_eq(s->steps[2].u.repeat.steps[0].u.run.capture, "_v2");
    ck_assert(f->u.faults.captures);
    ck_assert_str_eq(f->u.faults.rules,
                     "dma.write[addr=${USED}]:corrupt(offset=1,value=0x7f):once");
    ck_assert_str_eq(f->u.faults.check_text,
                     "dma.write[addr=0]:corrupt(offset=1,value=0x7f):once");
    ck_assert_int_eq(f->u.faults.nrules, 1);
    /* inside the repeat body, both the outer name and its own one */
    ck_assert_str_eq(r->u.faults.check_text,
                     "msi[vector=0]:drop; dma.read[addr=0]:dma_error");
    ck_assert_int_eq(r->u.faults.nrules, 2);
    ck_assert(!s->steps[3].u.faults.captures);
    ck_assert_ptr_eq(s->steps[3].u.faults.check_text, s->steps[3].u.faults.rules);
    ck_assert_int_eq(s->nrules, 4);
    d = dump_to_string(s);
    ck_assert_ptr_nonnull(strstr(d, "capture: \"USED\""));
    free(d);
    check_round_trip(s);
    /* the checker saw "dma.write[addr=0]:corrupt(...)": its column 19 ('c')
     * is column 25 of the text as written, which starts at 5:20 */
    gs_rule_error(s, f, "column 19: found 'corrupt', expected X", err, sizeof(err));
    ck_assert_msg(strncmp(err, "t.yaml:5:44: ", 13) == 0, "%s", err);
    /* a column inside the placeholder is the '$' */
    gs_rule_error(s, f, "column 16: found '0', expected an address", err,
                  sizeof(err));
    ck_assert_msg(strncmp(err, "t.yaml:5:35: ", 13) == 0, "%s", err);
    gs_free(s);
}
END_TEST

static const char *lookup_test(void *ctx, const char *name, size_t len)
{
    static const char *const vals[][2] = {
        { "USED", "0x2781244-0x2781a43" }, { "E", "" }, { "SEMI", "a;b" },
    };

    (void)ctx;
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        if (strlen(vals[i][0]) == len && !memcmp(vals[i][0], name, len)) {
            return vals[i][1];
        }
    }
    return NULL;
}

/* gs_expand: the substitution the runner makes before a faults step. */
START_TEST(test_expand)
{
    char *out, err[512];

    ck_assert_int_eq(gs_expand("dma.write[addr=${USED}]:drop:once", lookup_test,
                               NULL, &out, err, sizeof(err)), 0);
    ck_assert_str_eq(out, "dma.write[addr=0x2781244-0x2781a43]:drop:once");
    free(out);
    ck_assert_int_eq(gs_expand("${USED}${USED}x${E}$ {E} $USED ${", lookup_test,
                               NULL, &out, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "column 32: '${' starts no reference"), "%s", err);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(gs_expand("${USED}${USED}x${E}$ {E} $USED", lookup_test,
                               NULL, &out, err, sizeof(err)), 0);
    ck_assert_str_eq(out, "0x2781244-0x2781a430x2781244-0x2781a43x$ {E} $USED");
    free(out);
    ck_assert_int_eq(gs_expand("", lookup_test, NULL, &out, err, sizeof(err)), 0);
    ck_assert_str_eq(out, "");
    free(out);
    ck_assert_int_eq(gs_expand("ab${NOPE}", lookup_test, NULL, &out, err,
                               sizeof(err)), -1);
    ck_assert_msg(strstr(err, "column 3: ${NOPE} has no value"), "%s", err);
    /* a value with ';' makes two rules of one: the runner refuses that */
    ck_assert_int_eq(gs_expand("x:${SEMI}", lookup_test, NULL, &out, err,
                               sizeof(err)), 0);
    ck_assert_int_eq(gs_count_rules("x:0"), 1);
    ck_assert_int_eq(gs_count_rules(out), 2);
    free(out);
    ck_assert(gs_is_capture_name("_a9", 3));
    ck_assert(!gs_is_capture_name("9a", 2));
    ck_assert(!gs_is_capture_name("", 0));
    ck_assert(!gs_is_capture_name("a.b", 3));
}
END_TEST

/* A target checker's "column C: what" lands on the rule's own file:line:col
 * when the text stands verbatim in the file, else on the value with the
 * column of the text (gs_rule_error; the runner runs the real checker:
 * tests/harness/runner-bad-input.sh). */
static const struct {
    const char *text, *msg;
    int line, col;
    const char *frag;
} rule_errors[] = {
    { "name: t\ndescription: d\nsteps:\n  - faults: {set: cq.post:drp}\n",
      "column 9: found 'drp', expected an action", 4, 27,
      "bad fault rule in 'set': found 'drp', expected an action" },
    { "name: t\ndescription: d\nsteps:\n  - faults: {add: \"irq:drop;cq.post:drp\"}\n",
      "column 18: found 'drp', expected an action", 4, 37,
      "bad fault rule in 'add': found 'drp', expected an action" },
    { "name: t\ndescription: d\nsteps:\n  - faults:\n      set: >\n        cq.post:drp\n",
      "column 9: found 'drp', expected an action", 5, 12,
      "(column 9 of the rule text): found 'drp'" },
    { "name: t\ndescription: d\nsteps:\n  - faults: {set: 'sq.fetch[op=write]:drop:every=0'}\n",
      "column 31: found '0', expected a count >= 1", 4, 50,
      "bad fault rule in 'set': found '0'" },
    { "name: t\ndescription: d\nsteps:\n  - faults: {set: \"\u00e9t\u00e9;x\"}\n",
      "column 7: found 'x'", 4, 24, "bad fault rule in 'set': found 'x'" },
    { "name: t\ndescription: d\nsteps:\n  - faults: {set: \"a\\tb\"}\n",
      "column 3: found 'b'", 4, 19, "(column 3 of the rule text): found 'b'" },
};

START_TEST(test_rule_error_pos)
{
    GsScenario *s = NULL;
    GsError e;
    char err[1200], want[64];
    const char *t = rule_errors[_i].text;

    ck_assert_msg(gs_parse_string("r.yaml", t, strlen(t), &s, &e) == 0, "%s", e.text);
    gs_rule_error(s, &s->steps[0], rule_errors[_i].msg, err, sizeof(err));
    snprintf(want, sizeof(want), "r.yaml:%d:%d: ", rule_errors[_i].line,
             rule_errors[_i].col);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "case %d: want %s in %s",
                  _i, want, err);
    ck_assert_msg(strstr(err, rule_errors[_i].frag) != NULL, "case %d: %s", _i, err);
    gs_free(s);
}
END_TEST

/* ---- bad inputs ------------------------------------------------------- */

#define H "name: t\ndescription: d\nsteps:\n"

static const struct {
    const char *text;
    int line, col;
    const char *frag;
} bad[] = {
    /* 0 */ { H "  - boot: {}\n  - hotplg: {action: add}\n", 5, 5,
              "unknown step 'hotplg' (did you mean 'hotplug'?)" },
    { H "  - frobnicate: {}\n", 4, 5,
      "unknown step 'frobnicate'; expected one of: boot, load" },
    { H "  - run: {cmnd: ls}\n", 4, 11,
      "unknown key 'cmnd' in step 'run' (did you mean 'cmd'?)" },
    { H "  - run: {}\n", 4, 5, "step 'run' is missing required key 'cmd'" },
    { H "  - boot: {memory: lots}\n", 4, 20,
      "'memory': found string 'lots', expected an integer" },
    /* 5 */ { H "  - boot: {smp: \"2\"}\n", 4, 17,
              "'smp': found string '2', expected an integer" },
    { H "  - boot: {smp: 65}\n", 4, 17,
      "'smp': 65 is out of range: expected 1..64" },
    { "name: t\ndescription: d\ntimeout: 7201\nsteps: [boot]\n", 3, 10,
      "'timeout': 7201 is out of range: expected 1..7200" },
    { H "  - hotplug: {action: yank}\n", 4, 23,
      "'action': unknown value 'yank'; expected one of: add, remove, "
      "surprise" },
    { "name: t\ndescription: d\nkernel: debgu\nsteps: [boot]\n", 3, 9,
      "unknown value 'debgu' (did you mean 'debug'?)" },
    /* 10 */ { H "  - expect_log: {pattern: \"a(b\"}\n", 4, 27,
               "bad regular expression 'a(b'" },
    { H "  - run: {cmd: ls, expect_stdout: \"[z-a]\"}\n", 4, 35,
      "bad regular expression '[z-a]'" },
    /* 12 */ { H "  - workload: {name: w1, cmd: x}\n"
               "  - workload_stop: {name: w2}\n", 5, 27,
               "workload_stop of unknown workload 'w2' (did you mean 'w1'?)" },
    { H "  - workload_stop: {name: w1}\n", 4, 27, "no workload is running" },
    { H "  - workload: {name: w1, cmd: x}\n  - workload: {name: w1, cmd: y}\n",
      5, 22, "workload 'w1' is already running (started at line 4" },
    { H "  - run: {cmd: ls, cmd: pwd}\n", 4, 20,
      "duplicate key 'cmd' (first at line 4, column 11)" },
    { "name: t\nname: u\n", 2, 1, "duplicate key 'name'" },
    /* 17 */ { "name: &n t\n", 1, 7, "anchor '&n': anchors and aliases are "
               "not supported" },
    { "name: t\ndescription: *d\n", 2, 14, "alias '*d': anchors and aliases" },
    { H "  - boot: {\n", 5, 1, "YAML syntax error: did not find expected "
      "node content" },
    { "", 1, 1, "empty file" },
    { "# only a comment\n\n", 1, 1, "empty scenario" },
    /* 22 */ { H "\t- boot: {}\n", 4, 1, "tab character in indentation" },
    { H "  - repeat:\n"
        "      count: 2\n"
        "      steps:\n"
        "        - repeat:\n"
        "            count: 2\n"
        "            steps:\n"
        "              - repeat:\n"
        "                  count: 2\n"
        "                  steps:\n"
        "                    - repeat:\n"
        "                        count: 2\n"
        "                        steps:\n"
        "                          - repeat: {count: 2, steps: [boot]}\n",
      16, 29, "repeat nested too deeply: at most 4 levels" },
    { "name: t\ndescri\xc3\xa9ption: caf\xe9\n", 2, 18,
      "invalid UTF-8 byte 0xe9" },
    { "- boot: {}\n", 1, 1, "found a list at the top level" },
    { "name: t\ndescription: d\nsetps: [boot]\n", 3, 1,
      "unknown key 'setps' in the scenario (did you mean 'steps'?)" },
    /* 27 */ { "description: d\nsteps: [boot]\n", 1, 1,
               "the scenario is missing required key 'name'" },
    { "name: Big Name\ndescription: d\nsteps: [boot]\n", 1, 7,
      "'name': found 'Big Name', expected a name" },
    { "name: t\ndescription: d\nsteps: []\n", 3, 8,
      "the list is empty, expected at least one step" },
    { H "  - run:\n    cmd: ls\n", 5, 5,
      "step has more than one key ('run' and 'cmd')" },
    { H "  - wait: {seconds: 1, ms: 5}\n", 4, 24, "not both" },
    /* 32 */ { H "  - faults: {}\n", 4, 5,
               "step 'faults' needs one of 'set', 'add' or 'clear'" },
    { H "  - faults: {clear: false}\n", 4, 21, "'clear: false' does nothing" },
    { H "  - suspend: {mode: pm_test}\n", 4, 5,
      "suspend mode 'pm_test' needs 'level'" },
    { H "  - suspend: {mode: s3, level: core}\n", 4, 32,
      "'level' is only valid with 'mode: pm_test'" },
    { H "  - kfault: {type: fail_function}\n", 4, 5,
      "kfault type 'fail_function' needs 'function'" },
    /* 37 */ { H "  - faults: {set: 'irq:drop'}\n"
               "  - counter: {source: fault, name: 1, op: '>=', value: 1}\n",
               5, 36, "fault rule 1 does not exist: 1 rule(s) are defined" },
    { "name: t\ndescription: d\nallow_unfired: [0, 3]\n"
      "steps:\n  - faults: {set: 'irq:drop'}\n", 3, 20,
      "'allow_unfired': fault rule 3 does not exist" },
    { H "  - kfault: {type: failslab, require: yes}\n", 4, 39,
      "'require': found string 'yes', expected a boolean (true or false)" },
    { "name: t\ndescription: d\nsteps: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
      "[[[[[[[[[[[]]]\n", 3, 39, "YAML nesting is deeper than 32 levels" },
    { "name: t\ndescription: d\nsteps: [boot]\n---\nname: u\n", 4, 1,
      "a second YAML document" },
    /* 42 */ { H "  - [boot]\n", 4, 5, "found a list as a step" },
    { H "  - run: ls\n", 4, 10, "step 'run' takes a mapping of options: "
      "found string 'ls'" },
    { H "  - repeat: {count: 0, steps: [boot]}\n", 4, 21,
      "'count': 0 is out of range: expected 1..10000" },
    { H "  - repeat:\n      count: 2\n      steps:\n"
        "        - workload: {name: bg, cmd: x}\n", 7, 11,
      "workload 'bg' is started in a repeat body but not stopped there" },
    { "name: t\ndescription: d\ntags: quick\nsteps: [boot]\n", 3, 7,
      "'tags': found string 'quick', expected a list of names" },
    /* 47 */ { H "  - wait: {ms: 0}\n", 4, 16,
               "'ms': 0 is out of range: expected 1..7200000" },
    { H "  - counter: {source: driver, name: x, op: '=~', value: 1}\n", 4, 44,
      "'op': unknown operator '=~'" },
    { H "  - load: {params: [a, b]}\n", 4, 20,
      "'params': found a list, expected a string" },
    { "name: t\ndescription: \"\"\nsteps: [boot]\n", 2, 14,
      "'description' is empty" },
    /* 51 */ { H "  - boot: {memory: !!int 5}\n", 4, 20,
               "tag 'tag:yaml.org,2002:int' is not supported" },
    { H "  - kfault: {type: failslab, times: 0}\n", 4, 37,
      "'times': 0 would never inject" },
    { "name: t\ndescription: d\nsteps:\n  - boot: {}\n  - { }\n", 5, 5,
      "found a mapping as a step" },
    { "name: t\ndescription: d\ntags: [a, b, a]\nsteps: [boot]\n", 3, 14,
      "'tags': duplicate tag 'a'" },
    { H "  - boot: {cmdline: \"x\\0y\"}\n", 4, 21,
      "string contains a NUL character" },
    { "name: t\ndescription: d\nsteps: [boot]\ntimeout: 10.5\n", 4, 10,
      "'timeout': found number '10.5', expected an integer" },
    { H "  - power_cut: {timeout: 5}\n", 4, 26,
      "'timeout' is only valid with 'at: device'" },
    { H "  - power_cut: {at: later}\n", 4, 21,
      "'at': unknown value 'later'; expected one of: now, device" },
    { "name: t\ndescription: d\nexpect_fail: [ledger, ledger]\nsteps: [boot]\n",
      3, 23, "'expect_fail': duplicate verdict 'ledger'" },
    { "name: t\ndescription: d\nwrite_cache: maybe\nsteps: [boot]\n", 3, 14,
      "'write_cache': found string 'maybe', expected a boolean" },
    { "name: t\ndescription: d\niommu: amd\nsteps: [boot]\n", 3, 8,
      "'iommu': unknown value 'amd'; expected one of: none, intel" },
    { "name: t\ndescription: d\niommu_faults: 1\nsteps: [boot]\n", 3, 15,
      "'iommu_faults': found integer '1', expected a mapping {op: OP, value: N}" },
    { "name: t\ndescription: d\niommu_faults: {op: \"=>\", value: 1}\n"
      "steps: [boot]\n", 3, 20, "'op': unknown operator '=>'" },
    { "name: t\ndescription: d\niommu_faults: {op: \">=\"}\nsteps: [boot]\n",
      3, 15, "missing required key 'value'" },
    { "name: t\ndescription: d\niommu_faults: {value: -1}\nsteps: [boot]\n",
      3, 23, "'value': -1 is out of range" },
    /* 10: captured values (capture: NAME, ${NAME}) */
    { H "  - run: {cmd: x, capture: A}\n"
        "  - faults: {set: \"dma.write[addr=${B}]:drop\"}\n", 5, 35,
      "${B} has no value: no run step before this one captures 'B'" },
    { H "  - load: {capture: X}\n", 4, 12,
      "unknown key 'capture' in step 'load'" },
    { H "  - run: {cmd: x, capture: 1A}\n", 4, 28,
      "'capture': found '1A', expected a name of 1 to 64 characters" },
    { H "  - run: {cmd: x, capture: a-b}\n", 4, 28, "'capture': found 'a-b'" },
    { H "  - faults: {set: \"x:${A}\"}\n  - run: {cmd: x, capture: A}\n", 4,
      22, "${A} has no value" },
    /* 15 */ { H "  - repeat:\n      count: 2\n      steps:\n"
        "        - run: {cmd: x, capture: A}\n"
        "        - faults: {set: \"a:${A}\"}\n"
        "  - faults: {set: \"b:${A}\"}\n", 9, 22, "${A} has no value" },
    { H "  - run: {cmd: x, capture: A}\n  - faults: {set: \"x:${A\"}\n", 5,
      22, "'${' starts no reference: expected ${NAME}" },
    { H "  - run: {cmd: x, capture: A}\n  - faults: {set: \"x:${}\"}\n", 5,
      22, "'${' starts no reference" },
    { H "  - run: {cmd: x, capture: A}\n  - faults:\n      set: >\n"
        "        x:${C}\n", 6, 12, "${C} has no value: no run step before this one captures 'C' (column 3 of "
      "the rule text)" },
    /* the fast orderly unplug: only an orderly one */
    { H "  - hotplug: {action: surprise, fast: true}\n", 4, 39,
      "'fast' is only valid with 'action: remove'" },
    { H "  - hotplug: {action: remove, fast: maybe}\n", 4, 37,
      "'fast': found" },
};

START_TEST(test_bad_input)
{
    const char *text = bad[_i].text;
    GsScenario *s = (GsScenario *)1;
    GsError e;
    int rc = gs_parse_string("bad.yaml", text, strlen(text), &s, &e);

    ck_assert_msg(rc == -1, "case %d parsed but should fail", _i);
    ck_assert_ptr_null(s);
    ck_assert_msg(e.line == bad[_i].line && e.col == bad[_i].col,
                  "case %d: expected %d:%d, got %s", _i, bad[_i].line,
                  bad[_i].col, e.text);
    ck_assert_msg(strstr(e.msg, bad[_i].frag) != NULL,
                  "case %d: expected '%s' in: %s", _i, bad[_i].frag, e.text);
    ck_assert_str_eq(e.file, "bad.yaml");
    {
        char want[64];

        snprintf(want, sizeof(want), "bad.yaml:%d:%d: ", bad[_i].line,
                 bad[_i].col);
        ck_assert_msg(strncmp(e.text, want, strlen(want)) == 0, "%s", e.text);
    }
}
END_TEST

/* Bad fixture files, through gs_parse_file. */
static const struct {
    const char *file;
    int line, col;
    const char *frag;
} bad_files[] = {
    { "hotplug-typo.yaml", 14, 5,
      "unknown step 'hotplg' (did you mean 'hotplug'?)" },
    { "tabs.yaml", 7, 1, "tab character in indentation" },
    { "binary.yaml", 2, 5, "NUL byte: binary data" },
    { "billion-laughs.yaml", 6, 10, "anchor '&a'" },
};

START_TEST(test_bad_file)
{
    char path[512], want[600];
    GsScenario *s = NULL;
    GsError e;

    snprintf(path, sizeof(path), "%s/bad/%s", GS_TEST_DIR,
             bad_files[_i].file);
    ck_assert_int_eq(gs_parse_file(path, &s, &e), -1);
    ck_assert_ptr_null(s);
    snprintf(want, sizeof(want), "%s:%d:%d: ", path, bad_files[_i].line,
             bad_files[_i].col);
    ck_assert_msg(strncmp(e.text, want, strlen(want)) == 0,
                  "expected %s..., got %s", want, e.text);
    ck_assert_msg(strstr(e.msg, bad_files[_i].frag), "%s", e.text);
}
END_TEST

START_TEST(test_file_errors)
{
    GsScenario *s = NULL;
    GsError e;
    char path[] = "/tmp/gs-test-XXXXXX";
    int fd = mkstemp(path);
    char *big;

    ck_assert_int_eq(gs_parse_file("/nonexistent/x.yaml", &s, &e), -1);
    ck_assert_int_eq(e.line, 0);
    ck_assert_str_eq(e.text, "/nonexistent/x.yaml: cannot open: No such "
                     "file or directory");

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(gs_parse_file(path, &s, &e), -1);      /* empty */
    ck_assert_int_eq(e.line, 1);
    ck_assert_ptr_nonnull(strstr(e.msg, "empty file"));

    big = malloc(GS_MAX_FILE_SIZE + 1);
    ck_assert_ptr_nonnull(big);
    memset(big, '#', GS_MAX_FILE_SIZE + 1);
    ck_assert_int_eq(write(fd, big, GS_MAX_FILE_SIZE + 1),
                     GS_MAX_FILE_SIZE + 1);
    close(fd);
    ck_assert_int_eq(gs_parse_file(path, &s, &e), -1);
    ck_assert_int_eq(e.line, 0);
    ck_assert_ptr_nonnull(strstr(e.msg, "larger than the limit"));
    ck_assert_int_eq(gs_parse_string("big", big, GS_MAX_FILE_SIZE + 1, &s, &e),
                     -1);
    ck_assert_ptr_nonnull(strstr(e.text, "big: file is 1048577 bytes"));
    unlink(path);
    free(big);

    ck_assert_int_eq(gs_parse_file("/", &s, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.text, "cannot read"));
}
END_TEST

static char *make_steps(size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    fputs("name: many\ndescription: many steps\nsteps:\n", f);
    for (size_t i = 0; i < n; i++) {
        fputs("  - wait: {ms: 1}\n", f);
    }
    fclose(f);
    return buf;
}

START_TEST(test_step_limit)
{
    char *ok = make_steps(GS_MAX_STEPS);
    char *over = make_steps(GS_MAX_STEPS + 1);
    GsScenario *s = parse_ok(ok);
    GsError e;

    ck_assert_uint_eq(s->total_steps, GS_MAX_STEPS);
    gs_free(s);
    ck_assert_int_eq(gs_parse_string("m", over, strlen(over), &s, &e), -1);
    ck_assert_int_eq(e.line, 4);        /* the list */
    ck_assert_int_eq(e.col, 3);
    ck_assert_ptr_nonnull(strstr(e.msg, "too many steps: 4097"));
    free(ok);
    free(over);

    /* nested: 2 + 4095 steps, the 4097th is inside the repeat body */
    {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        fputs("name: nest\ndescription: d\nsteps:\n  - boot\n"
              "  - repeat:\n      count: 10000\n      steps:\n", f);
        for (int i = 0; i < GS_MAX_STEPS - 1; i++) {
            fputs("        - wait: {ms: 1}\n", f);
        }
        fclose(f);
        ck_assert_int_eq(gs_parse_string("n", buf, len, &s, &e), -1);
        ck_assert_int_eq(e.line, 7 + GS_MAX_STEPS - 1);   /* body item 4095 */
        ck_assert_int_eq(e.col, 11);
        ck_assert_ptr_nonnull(strstr(e.msg, "too many steps: more than 4096"));
        free(buf);
    }
}
END_TEST

START_TEST(test_null_args)
{
    GsError e;

    ck_assert_int_eq(gs_parse_string(NULL, NULL, 0, NULL, &e), -1);
    ck_assert_str_eq(e.text, "<input>:1:1: empty file: expected a scenario "
                     "(a mapping with name, description and steps)");
    ck_assert_int_eq(gs_parse_string("x", "name: t\n", 8, NULL, NULL), -1);
    gs_free(NULL);
}
END_TEST

/*
 * Not a fuzzer (a later issue adds one) but a cheap smoke test: every
 * good file, truncated at each byte and with bytes flipped, must parse or
 * fail cleanly (ASan/UBSan make "cleanly" mean something).
 */
START_TEST(test_mutations)
{
    char path[512];
    FILE *f;
    char buf[8192];
    size_t n, i;
    unsigned seed = 12345;
    int parsed = 0, failed = 0;

    snprintf(path, sizeof(path), "%s/good/%s", GS_TEST_DIR,
             good_files[_i].file);
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    for (i = 0; i <= n; i++) {
        char *copy = malloc(i ? i : 1);
        GsScenario *s = NULL;
        GsError e;

        memcpy(copy, buf, i);       /* not NUL-terminated on purpose */
        if (gs_parse_string("m", copy, i, &s, &e) == 0) {
            parsed++;
            gs_free(s);
        } else {
            failed++;
            ck_assert(e.text[0] != '\0');
        }
        free(copy);
    }
    for (i = 0; i < 3000; i++) {
        static const char junk[] = "[]{}:,-&*!|>'\"#%@` \t\n\\x0aé\xff\0";
        char *copy = malloc(n);
        GsScenario *s = NULL;
        GsError e;

        memcpy(copy, buf, n);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % n] = junk[(seed >> 20) % (sizeof(junk) - 1)];
        }
        if (gs_parse_string("m", copy, n, &s, &e) == 0) {
            parsed++;
            gs_free(s);
        } else {
            failed++;
        }
        free(copy);
    }
    ck_assert_int_gt(parsed, 0);
    ck_assert_int_gt(failed, 0);
}
END_TEST

Suite *scenario_suite(void)
{
    Suite *s = suite_create("scenario");
    TCase *tc = tcase_create("good");

    tcase_add_loop_test(tc, test_good_file, 0,
                        sizeof(good_files) / sizeof(good_files[0]));
    tcase_add_test(tc, test_cq_drop_fields);
    tcase_add_test(tc, test_all_steps);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_nested_repeat);
    tcase_add_test(tc, test_opaque_faults);
    tcase_add_test(tc, test_reboot);
    tcase_add_test(tc, test_power_cut);
    tcase_add_test(tc, test_iommu);
    tcase_add_test(tc, test_capture);
    tcase_add_test(tc, test_expand);
    tcase_add_loop_test(tc, test_rule_error_pos, 0,
                        sizeof(rule_errors) / sizeof(rule_errors[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("bad");
    tcase_add_loop_test(tc, test_bad_input, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_loop_test(tc, test_bad_file, 0,
                        sizeof(bad_files) / sizeof(bad_files[0]));
    tcase_add_test(tc, test_file_errors);
    tcase_add_test(tc, test_step_limit);
    tcase_add_test(tc, test_null_args);
    suite_add_tcase(s, tc);

    tc = tcase_create("robust");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_mutations, 0,
                        sizeof(good_files) / sizeof(good_files[0]));
    suite_add_tcase(s, tc);
    return s;
}
