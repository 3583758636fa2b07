/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scenario parser's steps: the step table (each step's name and keys),
 * the checks that need more than one key or the steps around it, and the
 * step lists (repeat bodies included).  Adding a step: scenario.h (the
 * type and its fields), its keys and checks here, gs_dump() in
 * scenario_dump.c, and its executor (harness/step_*.c, the table in run.c).
 */
#define _POSIX_C_SOURCE 200809L

#include "scenario_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const gsp_expect_names[] = { "ok", "fail", NULL };
const char *const gsp_kernel_names[] = { "stock", "debug", NULL };
/* GsIommu from GS_IOMMU_NONE on (GS_IOMMU_TARGET: the key is absent) */
const char *const gsp_iommu_names[] = { "none", "intel", NULL };
const char *const gsp_hotplug_names[] = { "add", "remove", "surprise",
                                             NULL };
const char *const gsp_suspend_names[] = { "s3", "pm_test", NULL };
const char *const gsp_level_names[] = { "freezer", "devices", "platform",
                                           "processors", "core", NULL };
const char *const gsp_kfault_names[] = { "failslab", "fail_page_alloc",
                                            "fail_function", NULL };
const char *const gsp_cut_names[] = { "now", "device", NULL };
const char *const gsp_source_names[] = { "driver", "fault", "device",
                                            NULL };
const char *const gsp_op_names[] = { "==", "!=", "<", "<=", ">", ">=",
                                        NULL };
const char *const gsp_op_words[] = { "eq", "ne", "lt", "le", "gt", "ge",
                                        NULL };
/* ---- steps ------------------------------------------------------------ */

#define OFF(field) offsetof(GsStep, u.field)
#define I64MAX INT64_MAX
#define I64MIN INT64_MIN

static const KeySpec boot_keys[] = {
    { .name = "cmdline", .type = K_STR, .off = OFF(boot.cmdline), .imax = 4096,
      .ds = "" },
    { .name = "memory", .type = K_INT, .off = OFF(boot.memory_mb), .imin = 128,
      .imax = 65536, .di = 512 },
    { .name = "smp", .type = K_INT, .off = OFF(boot.smp), .imin = 1,
      .imax = 64, .di = 1 },
    { 0 }
};

static const KeySpec load_keys[] = {
    { .name = "params", .type = K_STR, .off = OFF(load.params), .imax = 4096,
      .ds = "" },
    { .name = "expect", .type = K_ENUM, .off = OFF(load.expect),
      .names = gsp_expect_names },
    { 0 }
};

static const KeySpec unload_keys[] = {
    { .name = "expect", .type = K_ENUM, .off = OFF(unload.expect),
      .names = gsp_expect_names },
    { 0 }
};

static const KeySpec run_keys[] = {
    { .name = "cmd", .type = K_STR, .off = OFF(run.cmd), .required = true,
      .imin = 1, .imax = 4096 },
    { .name = "expect_exit", .type = K_INT, .off = OFF(run.expect_exit),
      .imin = 0, .imax = 255, .di = 0 },
    { .name = "expect_stdout", .type = K_REGEX, .off = OFF(run.expect_stdout) },
    { .name = "expect_stderr", .type = K_REGEX, .off = OFF(run.expect_stderr) },
    { .name = "timeout", .type = K_FLOAT, .off = OFF(run.timeout),
      .fmin = 0.001, .fmax = 7200, .df = 60 },
    { .name = "capture", .type = K_STR, .off = OFF(run.capture),
      .imin = 1, .imax = 256, .ds = NULL },
    { 0 }
};

static const KeySpec workload_keys[] = {
    { .name = "name", .type = K_IDENT, .off = OFF(workload.name),
      .required = true },
    { .name = "cmd", .type = K_STR, .off = OFF(workload.cmd), .required = true,
      .imin = 1, .imax = 4096 },
    { 0 }
};

static const KeySpec workload_stop_keys[] = {
    { .name = "name", .type = K_IDENT, .off = OFF(workload_stop.name),
      .required = true },
    { .name = "expect_exit", .type = K_INT, .off = OFF(workload_stop.expect_exit),
      .imin = 0, .imax = 255, .di = 0 },
    { .name = "timeout", .type = K_FLOAT, .off = OFF(workload_stop.timeout),
      .fmin = 0.001, .fmax = 7200, .df = 60 },
    { .name = "wait", .type = K_BOOL, .off = OFF(workload_stop.wait) },
    { 0 }
};

static const KeySpec faults_keys[] = {
    { .name = "set", .type = K_STR, .off = NOSTORE, .imax = 4096 },
    { .name = "add", .type = K_STR, .off = NOSTORE, .imax = 4096 },
    { .name = "clear", .type = K_BOOL, .off = NOSTORE },
    { 0 }
};

static const KeySpec hotplug_keys[] = {
    { .name = "action", .type = K_ENUM, .off = OFF(hotplug.action),
      .required = true, .names = gsp_hotplug_names },
    { .name = "device", .type = K_IDENT, .off = OFF(hotplug.device),
      .ds = "k1" },
    { .name = "fast", .type = K_BOOL, .off = OFF(hotplug.fast) },
    { 0 }
};

static const KeySpec suspend_keys[] = {
    { .name = "mode", .type = K_ENUM, .off = OFF(suspend.mode),
      .names = gsp_suspend_names },
    { .name = "level", .type = K_ENUM, .off = OFF(suspend.level),
      .names = gsp_level_names, .ebase = 1, .di = GS_PM_NONE },
    { .name = "cycles", .type = K_INT, .off = OFF(suspend.cycles), .imin = 1,
      .imax = 1000, .di = 1 },
    { 0 }
};

static const KeySpec kfault_keys[] = {
    { .name = "type", .type = K_ENUM, .off = OFF(kfault.type),
      .required = true, .names = gsp_kfault_names },
    { .name = "function", .type = K_STR, .off = OFF(kfault.function),
      .imin = 1, .imax = 128, .ds = NULL },
    { .name = "probability", .type = K_INT, .off = OFF(kfault.probability),
      .imin = 1, .imax = 100, .di = 100 },
    { .name = "times", .type = K_INT, .off = OFF(kfault.times), .imin = -1,
      .imax = 1000000, .di = 1 },
    { .name = "interval", .type = K_INT, .off = OFF(kfault.interval),
      .imin = 1, .imax = 1000000, .di = 1 },
    { .name = "space", .type = K_INT, .off = OFF(kfault.space), .imin = 0,
      .imax = INT32_MAX, .di = 0 },
    { .name = "require", .type = K_BOOL, .off = OFF(kfault.require) },
    { 0 }
};

static const KeySpec expect_log_keys[] = {
    { .name = "pattern", .type = K_REGEX, .off = OFF(expect_log.pattern),
      .required = true },
    { .name = "timeout", .type = K_FLOAT, .off = OFF(expect_log.timeout),
      .fmin = 0, .fmax = 7200, .df = 10 },
    { 0 }
};

static const KeySpec forbid_log_keys[] = {
    { .name = "pattern", .type = K_REGEX, .off = OFF(forbid_log.pattern),
      .required = true },
    { 0 }
};

static const KeySpec counter_keys[] = {
    { .name = "source", .type = K_ENUM, .off = OFF(counter.source),
      .required = true, .names = gsp_source_names },
    { .name = "name", .type = K_STR, .off = OFF(counter.name),
      .required = true, .imin = 1, .imax = 128 },
    { .name = "op", .type = K_STR, .off = NOSTORE, .ds = ">=" },
    { .name = "value", .type = K_INT, .off = OFF(counter.value),
      .required = true, .imin = I64MIN, .imax = I64MAX },
    { 0 }
};

static const KeySpec wait_keys[] = {
    { .name = "seconds", .type = K_FLOAT, .off = OFF(wait.seconds),
      .fmin = 0.001, .fmax = 7200 },
    { .name = "ms", .type = K_INT, .off = NOSTORE, .imin = 1,
      .imax = 7200000 },
    { 0 }
};

static const KeySpec repeat_keys[] = {
    { .name = "count", .type = K_INT, .off = OFF(repeat.count),
      .required = true, .imin = 1, .imax = 10000 },
    { .name = "steps", .type = K_ANY, .off = NOSTORE, .required = true },
    { 0 }
};

typedef struct StepSpec {
    const char *name;
    const KeySpec *keys;
} StepSpec;

static const KeySpec reboot_keys[] = {
    { .name = "timeout", .type = K_FLOAT, .off = OFF(reboot.timeout),
      .fmin = 1, .fmax = 600, .df = 60 },
    { 0 }
};

static const KeySpec power_cut_keys[] = {
    { .name = "at", .type = K_ENUM, .off = OFF(power_cut.at),
      .names = gsp_cut_names },
    { .name = "timeout", .type = K_FLOAT, .off = OFF(power_cut.timeout),
      .fmin = 1, .fmax = 3600, .df = 60 },
    { .name = "boot_again", .type = K_BOOL, .off = OFF(power_cut.boot_again) },
    { 0 }
};

/* indexed by GsStepType */
static const StepSpec step_specs[GS_STEP__MAX] = {
    [GS_STEP_BOOT] = { "boot", boot_keys },
    [GS_STEP_LOAD] = { "load", load_keys },
    [GS_STEP_UNLOAD] = { "unload", unload_keys },
    [GS_STEP_RUN] = { "run", run_keys },
    [GS_STEP_WORKLOAD] = { "workload", workload_keys },
    [GS_STEP_WORKLOAD_STOP] = { "workload_stop", workload_stop_keys },
    [GS_STEP_FAULTS] = { "faults", faults_keys },
    [GS_STEP_HOTPLUG] = { "hotplug", hotplug_keys },
    [GS_STEP_SUSPEND] = { "suspend", suspend_keys },
    [GS_STEP_KFAULT] = { "kfault", kfault_keys },
    [GS_STEP_EXPECT_LOG] = { "expect_log", expect_log_keys },
    [GS_STEP_FORBID_LOG] = { "forbid_log", forbid_log_keys },
    [GS_STEP_COUNTER] = { "counter", counter_keys },
    [GS_STEP_WAIT] = { "wait", wait_keys },
    [GS_STEP_REPEAT] = { "repeat", repeat_keys },
    [GS_STEP_REBOOT] = { "reboot", reboot_keys },
    [GS_STEP_POWER_CUT] = { "power_cut", power_cut_keys },
};

const char *gs_step_name(GsStepType t)
{
    return (unsigned)t < GS_STEP__MAX ? step_specs[t].name : "?";
}

void gsp_parse_steps(Ctx *c, const Node *seq, int depth, GsStep **out,
                        size_t *nout, const char *where);

/* Number of UTF-8 characters in the first n bytes of s. */
static int utf8_chars(const char *s, size_t n)
{
    int k = 0;
    size_t i;

    for (i = 0; i < n && s[i]; i++) {
        k += ((unsigned char)s[i] & 0xc0) != 0x80;
    }
    return k;
}

/* Where a faults step's rule text stands in the file, so that a checker's
 * "column C" can be shown at its file:line:col: the text is the source
 * verbatim when it is a one-line plain or quoted scalar without escapes. */
static void note_rule_pos(Ctx *c, const Node *v, GsStep *st)
{
    size_t q = v->style == YAML_PLAIN_SCALAR_STYLE ? 0 : 1;

    st->u.faults.text_line = v->line;
    st->u.faults.text_col = v->col + (int)q;
    st->u.faults.text_verbatim =
        !memchr(v->val, '\n', v->len) &&
        (v->style == YAML_PLAIN_SCALAR_STYLE ||
         v->style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
         v->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
        v->off + q + v->len <= c->len &&
        memcmp(c->text + v->off + q, v->val, v->len) == 0;
    if (!st->u.faults.text_verbatim) {
        st->u.faults.text_col = v->col;
    }
}

void gs_rule_error(const GsScenario *s, const GsStep *st, const char *msg,
                   char *err, size_t errlen)
{
    unsigned long col = 0;
    const char *what = msg, *p = strstr(msg, ": ");
    const char *key = st->u.faults.op == GS_FAULTS_ADD ? "add" : "set";
    size_t len = strlen(st->u.faults.rules);

    if (sscanf(msg, "column %lu:", &col) == 1 && p) {
        what = p + 2;
    }
    if (col >= 1 && st->u.faults.captures) {
        /* the checker saw check_text: its column in the text as written */
        col = gsp_source_col(st->u.faults.rules, col);
    }
    if (col >= 1 && col <= len + 1 && st->u.faults.text_verbatim) {
        snprintf(err, errlen, "%s:%d:%d: bad fault rule in '%s': %.*s", s->file,
                 st->u.faults.text_line, st->u.faults.text_col +
                 utf8_chars(st->u.faults.rules, col - 1), key,
                 (int)strcspn(what, "\n"), what);
    } else if (col >= 1) {
        snprintf(err, errlen, "%s:%d:%d: bad fault rule in '%s' (column %lu of "
                 "the rule text): %.*s", s->file, st->u.faults.text_line,
                 st->u.faults.text_col, key, col, (int)strcspn(what, "\n"), what);
    } else {
        snprintf(err, errlen, "%s:%d:%d: bad fault rule in '%s': %.*s", s->file,
                 st->u.faults.text_line, st->u.faults.text_col, key,
                 (int)strcspn(what, "\n"), what);
    }
}

static Running *find_running(Ctx *c, const char *name)
{
    size_t i;

    for (i = 0; i < c->nrunning; i++) {
        if (!strcmp(c->running[i].name, name)) {
            return &c->running[i];
        }
    }
    return NULL;
}

static void step_checks(Ctx *c, GsStep *st, const Node *map,
                        const KeySpec *keys, const Node **found, int depth)
{
    char b[72];

    switch (st->type) {
    case GS_STEP_WORKLOAD: {
        Running *r = find_running(c, st->u.workload.name);
        const Node *v = gsp_spec_found(keys, found, "name");

        if (r) {
            gsp_fail(c, v->line, v->col, "workload '%s' is already running "
                 "(started at line %d, column %d): expected a new name or "
                 "a workload_stop first", st->u.workload.name, r->line,
                 r->col);
        }
        r = &c->running[c->nrunning++];
        r->name = st->u.workload.name;
        r->line = st->line;
        r->col = st->col;
        r->depth = depth;
        break;
    }
    case GS_STEP_WORKLOAD_STOP: {
        Running *r = find_running(c, st->u.workload_stop.name);
        const Node *v = gsp_spec_found(keys, found, "name");

        if (!r) {
            const char *names[GS_MAX_STEPS];
            const char *sug;
            size_t i;

            if (c->nrunning == 0) {
                gsp_fail(c, v->line, v->col, "workload_stop of unknown workload "
                     "'%s': no workload is running here",
                     st->u.workload_stop.name);
            }
            for (i = 0; i < c->nrunning; i++) {
                names[i] = c->running[i].name;
            }
            sug = gsp_suggest(v->val, v->len, names, c->nrunning);
            gsp_fail(c, v->line, v->col, "workload_stop of unknown workload "
                 "'%s'%s%s%s; running here: %s%s",
                 st->u.workload_stop.name, sug ? " (did you mean '" : "",
                 sug ? sug : "", sug ? "'?)" : "", names[0],
                 c->nrunning > 1 ? ", ..." : "");
        }
        if (r->depth != depth) {
            gsp_fail(c, v->line, v->col, "workload_stop of '%s' inside a repeat "
                 "body, but it was started outside it (line %d): expected "
                 "start and stop in the same step list", r->name, r->line);
        }
        *r = c->running[--c->nrunning];
        break;
    }
    case GS_STEP_FAULTS: {
        const Node *set = gsp_spec_found(keys, found, "set");
        const Node *add = gsp_spec_found(keys, found, "add");
        const Node *clr = gsp_spec_found(keys, found, "clear");
        int n = (set != NULL) + (add != NULL) + (clr != NULL);
        const Node *v;

        if (n == 0) {
            gsp_fail(c, st->line, st->col, "step 'faults' needs one of 'set', "
                 "'add' or 'clear'");
        }
        if (n > 1) {
            const Node *k = map->first->next->next;     /* second key */

            gsp_fail(c, k->line, k->col, "step 'faults' takes exactly one of "
                 "'set', 'add' or 'clear', found %d", n);
        }
        if (clr) {
            bool bv = false;

            gsp_parse_bool(clr, &bv);
            if (!bv) {
                gsp_fail(c, clr->line, clr->col, "'clear: false' does nothing: "
                     "expected 'clear: true'");
            }
            st->u.faults.op = GS_FAULTS_CLEAR;
            st->u.faults.rules = "";
            st->u.faults.check_text = "";
            st->u.faults.first_rule = c->nrules;
            break;
        }
        v = set ? set : add;
        st->u.faults.op = set ? GS_FAULTS_SET : GS_FAULTS_ADD;
        st->u.faults.rules = gsp_out_strdup(c, v->val, v->len);
        note_rule_pos(c, v, st);
        gsp_faults_captures(c, st, v);
        st->u.faults.nrules = gs_count_rules(st->u.faults.check_text);
        st->u.faults.first_rule = c->nrules;
        c->nrules += st->u.faults.nrules;
        break;
    }
    case GS_STEP_RUN:
        gsp_run_capture(c, st, gsp_spec_found(keys, found, "capture"), depth);
        break;
    case GS_STEP_HOTPLUG: {
        const Node *fast = gsp_spec_found(keys, found, "fast");

        if (fast && st->u.hotplug.action != GS_HOTPLUG_REMOVE) {
            gsp_fail(c, fast->line, fast->col, "'fast' is only valid with "
                 "'action: remove' (an orderly unplug)");
        }
        break;
    }
    case GS_STEP_SUSPEND: {
        const Node *lv = gsp_spec_found(keys, found, "level");

        if (st->u.suspend.mode == GS_SUSPEND_PM_TEST && !lv) {
            gsp_fail(c, st->line, st->col, "suspend mode 'pm_test' needs "
                 "'level' (one of: freezer, devices, platform, processors, "
                 "core)");
        }
        if (st->u.suspend.mode != GS_SUSPEND_PM_TEST && lv) {
            gsp_fail(c, lv->line, lv->col, "'level' is only valid with "
                 "'mode: pm_test'");
        }
        break;
    }
    case GS_STEP_POWER_CUT: {
        const Node *to = gsp_spec_found(keys, found, "timeout");

        if (st->u.power_cut.at != GS_CUT_DEVICE && to) {
            gsp_fail(c, to->line, to->col, "'timeout' is only valid with "
                 "'at: device' (a cut now does not wait)");
        }
        break;
    }
    case GS_STEP_KFAULT: {
        const Node *fn = gsp_spec_found(keys, found, "function");
        const Node *tv = gsp_spec_found(keys, found, "times");
        size_t i;

        if (st->u.kfault.type == GS_KFAULT_FAIL_FUNCTION && !fn) {
            gsp_fail(c, st->line, st->col, "kfault type 'fail_function' needs "
                 "'function' (the kernel function to fail)");
        }
        if (st->u.kfault.type != GS_KFAULT_FAIL_FUNCTION && fn) {
            gsp_fail(c, fn->line, fn->col, "'function' is only valid with "
                 "'type: fail_function'");
        }
        if (fn) {
            for (i = 0; i < fn->len; i++) {
                char ch = fn->val[i];

                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      ch == '_' || (i > 0 && ch >= '0' && ch <= '9'))) {
                    gsp_fail(c, fn->line, fn->col, "'function': found %s, "
                         "expected a C identifier (a kernel function name)",
                         gsp_show(fn->val, fn->len, b, sizeof(b)));
                }
            }
        }
        if (tv && st->u.kfault.times == 0) {
            gsp_fail(c, tv->line, tv->col, "'times': 0 would never inject: "
                 "expected -1 (no limit) or 1..1000000");
        }
        break;
    }
    case GS_STEP_COUNTER: {
        const Node *nv = gsp_spec_found(keys, found, "name");
        const Node *ov = gsp_spec_found(keys, found, "op");
        const char *op = ov ? ov->val : ">=";
        int i;

        st->u.counter.rule = -1;
        for (i = 0; gsp_op_names[i]; i++) {
            if (!strcmp(op, gsp_op_names[i]) || !strcmp(op, gsp_op_words[i])) {
                break;
            }
        }
        if (!gsp_op_names[i]) {
            gsp_fail(c, ov->line, ov->col, "'op': unknown operator %s; expected "
                 "one of: ==, !=, <, <=, >, >= (quoted) or eq, ne, lt, le, "
                 "gt, ge", gsp_show(ov->val, ov->len, b, sizeof(b)));
        }
        st->u.counter.op = (GsCmpOp)i;
        if (st->u.counter.source == GS_SRC_FAULT) {
            int64_t idx;

            if (!strcmp(nv->val, "all")) {
                break;
            }
            if (nv->len == 0 || nv->len > 9 ||
                strspn(nv->val, "0123456789") != nv->len) {
                gsp_fail(c, nv->line, nv->col, "'name': found %s, expected a "
                     "fault rule index (0, 1, ...) or 'all' for source "
                     "fault", gsp_show(nv->val, nv->len, b, sizeof(b)));
            }
            idx = strtoll(nv->val, NULL, 10);
            if (idx >= c->nrules) {
                gsp_fail(c, nv->line, nv->col, "'name': fault rule %" PRId64
                     " does not exist: %d rule(s) are defined before this "
                     "step", idx, c->nrules);
            }
            st->u.counter.rule = (int)idx;
        } else {
            for (size_t j = 0; j < nv->len; j++) {
                char ch = nv->val[j];

                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
                      ch == '-' || ch == '/')) {
                    gsp_fail(c, nv->line, nv->col, "'name': found %s, expected "
                         "a counter name from [A-Za-z0-9_./-]",
                         gsp_show(nv->val, nv->len, b, sizeof(b)));
                }
            }
        }
        break;
    }
    case GS_STEP_WAIT: {
        const Node *sv = gsp_spec_found(keys, found, "seconds");
        const Node *mv = gsp_spec_found(keys, found, "ms");
        int64_t ms;

        if (!sv && !mv) {
            gsp_fail(c, st->line, st->col, "step 'wait' needs 'seconds' or "
                 "'ms'");
        }
        if (sv && mv) {
            const Node *k = map->first->next->next;

            gsp_fail(c, k->line, k->col, "step 'wait' takes one of 'seconds' "
                 "or 'ms', not both");
        }
        if (mv) {
            gsp_parse_int(mv, &ms);
            st->u.wait.seconds = (double)ms / 1000.0;
        }
        break;
    }
    case GS_STEP_REPEAT: {
        const Node *sv = gsp_spec_found(keys, found, "steps");
        size_t i;

        if (depth + 1 > GS_MAX_REPEAT_DEPTH) {
            gsp_fail(c, st->line, st->col, "repeat nested too deeply: at most "
                 "%d levels of repeat", GS_MAX_REPEAT_DEPTH);
        }
        gsp_parse_steps(c, sv, depth + 1, &st->u.repeat.steps,
                    &st->u.repeat.nsteps, "'repeat' steps");
        gsp_end_captures(c, depth);
        for (i = 0; i < c->nrunning; i++) {
            if (c->running[i].depth > depth) {
                gsp_fail(c, c->running[i].line, c->running[i].col, "workload "
                     "'%s' is started in a repeat body but not stopped "
                     "there: expected a workload_stop in the same body",
                     c->running[i].name);
            }
        }
        break;
    }
    default:
        break;
    }
}

static void parse_step(Ctx *c, const Node *item, GsStep *st, int depth)
{
    const char *names[GS_STEP__MAX];
    const Node *key, *val = NULL;
    const KeySpec *keys;
    const Node *found[MAX_KEYS];
    char what[64], b[72], d[128];
    int t;

    for (t = 0; t < GS_STEP__MAX; t++) {
        names[t] = step_specs[t].name;
    }
    if (item->kind == N_SCALAR && !gsp_is_null(item)) {
        key = item;                     /* "- unload" shorthand */
    } else if (item->kind == N_MAP && item->n >= 2) {
        key = item->first;
        val = key->next;
        if (item->n > 2) {
            const Node *k2 = val->next;

            gsp_fail(c, k2->line, k2->col, "step has more than one key ('%s' "
                 "and '%s'): expected exactly one step type per list item "
                 "(are the step's options indented under it?)", key->val,
                 k2->val);
        }
    } else {
        gsp_fail(c, item->line, item->col, "found %s as a step: expected a "
             "mapping with one key, the step type (e.g. '- boot: {}')",
             gsp_describe(item, d, sizeof(d)));
    }
    for (t = 0; t < GS_STEP__MAX; t++) {
        if (!strcmp(key->val, names[t])) {
            break;
        }
    }
    if (t == GS_STEP__MAX) {
        const char *sug = gsp_suggest(key->val, key->len, names, GS_STEP__MAX);
        char all[256];

        if (sug) {
            gsp_fail(c, key->line, key->col, "unknown step %s (did you mean "
                 "'%s'?)", gsp_show(key->val, key->len, b, sizeof(b)), sug);
        }
        gsp_join_names(names, GS_STEP__MAX, all, sizeof(all));
        gsp_fail(c, key->line, key->col, "unknown step %s; expected one of: %s",
             gsp_show(key->val, key->len, b, sizeof(b)), all);
    }
    st->type = (GsStepType)t;
    st->line = key->line;
    st->col = key->col;
    if (val && gsp_is_null(val)) {
        val = NULL;
    }
    if (val && val->kind != N_MAP) {
        gsp_fail(c, val->line, val->col, "step '%s' takes a mapping of options: "
             "found %s, expected e.g. '%s: {}'", names[t],
             gsp_describe(val, d, sizeof(d)), names[t]);
    }
    keys = step_specs[t].keys;
    snprintf(what, sizeof(what), "step '%s'", names[t]);
    gsp_apply_map(c, val, keys, st, found, what, st->line, st->col);
    step_checks(c, st, val, keys, found, depth);
}

void gsp_parse_steps(Ctx *c, const Node *seq, int depth, GsStep **out,
                        size_t *nout, const char *where)
{
    const Node *it;
    char d[128];
    size_t i = 0;

    if (seq->kind != N_SEQ) {
        gsp_fail(c, seq->line, seq->col, "%s: found %s, expected a list of "
             "steps", where, gsp_describe(seq, d, sizeof(d)));
    }
    if (seq->n == 0) {
        gsp_fail(c, seq->line, seq->col, "%s: the list is empty, expected at "
             "least one step", where);
    }
    if (seq->n > GS_MAX_STEPS) {
        gsp_fail(c, seq->line, seq->col, "too many steps: %zu, expected at most "
             "%d", seq->n, GS_MAX_STEPS);
    }
    *out = gsp_out_alloc(c, seq->n * sizeof(GsStep));
    *nout = seq->n;
    for (it = seq->first; it; it = it->next, i++) {
        if (++c->total_steps > GS_MAX_STEPS) {
            gsp_fail(c, it->line, it->col, "too many steps: more than %d in "
                 "the scenario (a repeat's body counted once)", GS_MAX_STEPS);
        }
        parse_step(c, it, &(*out)[i], depth);
    }
}
