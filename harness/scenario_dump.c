/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gs_dump(): a scenario in canonical form (every default filled in, keys
 * in documented order), which parses back to the same scenario.
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

/* ---- dump ------------------------------------------------------------- */

static void dump_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        switch (ch) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        default:
            if (ch < 0x20 || ch == 0x7f) {
                fprintf(f, "\\x%02x", ch);
            } else {
                fputc(ch, f);
            }
        }
    }
    fputc('"', f);
}

static void dump_num(FILE *f, double v)
{
    char buf[64];

    snprintf(buf, sizeof(buf), "%.17g", v);
    if (v == floor(v) && fabs(v) < 1e15) {
        fprintf(f, "%.0f", v);
        return;
    }
    /* shortest form that reads back to the same double */
    for (int p = 1; p <= 17; p++) {
        char t[64];

        snprintf(t, sizeof(t), "%.*g", p, v);
        if (strtod(t, NULL) == v) {
            memcpy(buf, t, sizeof(t));
            break;
        }
    }
    fputs(buf, f);
}

static void dump_steps(FILE *f, const GsStep *steps, size_t n, int indent)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const GsStep *s = &steps[i];

        fprintf(f, "%*s- %s:%s", indent, "", gs_step_name(s->type),
                s->type == GS_STEP_REPEAT ? "" : " ");
        switch (s->type) {
        case GS_STEP_BOOT:
            fputs("{cmdline: ", f);
            dump_str(f, s->u.boot.cmdline);
            fprintf(f, ", memory: %" PRId64 ", smp: %" PRId64 "}\n",
                    s->u.boot.memory_mb, s->u.boot.smp);
            break;
        case GS_STEP_LOAD:
            fputs("{params: ", f);
            dump_str(f, s->u.load.params);
            fprintf(f, ", expect: %s}\n", gsp_expect_names[s->u.load.expect]);
            break;
        case GS_STEP_UNLOAD:
            fprintf(f, "{expect: %s}\n", gsp_expect_names[s->u.unload.expect]);
            break;
        case GS_STEP_RUN:
            fputs("{cmd: ", f);
            dump_str(f, s->u.run.cmd);
            fprintf(f, ", expect_exit: %" PRId64, s->u.run.expect_exit);
            if (s->u.run.expect_stdout) {
                fputs(", expect_stdout: ", f);
                dump_str(f, s->u.run.expect_stdout);
            }
            if (s->u.run.expect_stderr) {
                fputs(", expect_stderr: ", f);
                dump_str(f, s->u.run.expect_stderr);
            }
            fputs(", timeout: ", f);
            dump_num(f, s->u.run.timeout);
            fputs("}\n", f);
            break;
        case GS_STEP_WORKLOAD:
            fputs("{name: ", f);
            dump_str(f, s->u.workload.name);
            fputs(", cmd: ", f);
            dump_str(f, s->u.workload.cmd);
            fputs("}\n", f);
            break;
        case GS_STEP_WORKLOAD_STOP:
            fputs("{name: ", f);
            dump_str(f, s->u.workload_stop.name);
            fprintf(f, ", expect_exit: %" PRId64 ", timeout: ",
                    s->u.workload_stop.expect_exit);
            dump_num(f, s->u.workload_stop.timeout);
            fprintf(f, ", wait: %s}\n",
                    s->u.workload_stop.wait ? "true" : "false");
            break;
        case GS_STEP_FAULTS:
            if (s->u.faults.op == GS_FAULTS_CLEAR) {
                fputs("{clear: true}\n", f);
            } else {
                fprintf(f, "{%s: ",
                        s->u.faults.op == GS_FAULTS_SET ? "set" : "add");
                dump_str(f, s->u.faults.rules);
                fputs("}\n", f);
            }
            break;
        case GS_STEP_HOTPLUG:
            fprintf(f, "{action: %s, device: ",
                    gsp_hotplug_names[s->u.hotplug.action]);
            dump_str(f, s->u.hotplug.device);
            fputs("}\n", f);
            break;
        case GS_STEP_SUSPEND:
            fprintf(f, "{mode: %s", gsp_suspend_names[s->u.suspend.mode]);
            if (s->u.suspend.mode == GS_SUSPEND_PM_TEST) {
                fprintf(f, ", level: %s",
                        gsp_level_names[s->u.suspend.level - 1]);
            }
            fprintf(f, ", cycles: %" PRId64 "}\n", s->u.suspend.cycles);
            break;
        case GS_STEP_KFAULT:
            fprintf(f, "{type: %s", gsp_kfault_names[s->u.kfault.type]);
            if (s->u.kfault.function) {
                fputs(", function: ", f);
                dump_str(f, s->u.kfault.function);
            }
            fprintf(f, ", probability: %" PRId64 ", times: %" PRId64
                    ", interval: %" PRId64 ", space: %" PRId64
                    ", require: %s}\n", s->u.kfault.probability,
                    s->u.kfault.times, s->u.kfault.interval,
                    s->u.kfault.space, s->u.kfault.require ? "true" : "false");
            break;
        case GS_STEP_EXPECT_LOG:
            fputs("{pattern: ", f);
            dump_str(f, s->u.expect_log.pattern);
            fputs(", timeout: ", f);
            dump_num(f, s->u.expect_log.timeout);
            fputs("}\n", f);
            break;
        case GS_STEP_FORBID_LOG:
            fputs("{pattern: ", f);
            dump_str(f, s->u.forbid_log.pattern);
            fputs("}\n", f);
            break;
        case GS_STEP_COUNTER:
            fprintf(f, "{source: %s, name: ",
                    gsp_source_names[s->u.counter.source]);
            dump_str(f, s->u.counter.name);
            fprintf(f, ", op: \"%s\", value: %" PRId64 "}\n",
                    gsp_op_names[s->u.counter.op], s->u.counter.value);
            break;
        case GS_STEP_WAIT:
            fputs("{seconds: ", f);
            dump_num(f, s->u.wait.seconds);
            fputs("}\n", f);
            break;
        case GS_STEP_REPEAT:
            fprintf(f, "\n%*scount: %" PRId64 "\n%*ssteps:\n", indent + 4, "",
                    s->u.repeat.count, indent + 4, "");
            dump_steps(f, s->u.repeat.steps, s->u.repeat.nsteps, indent + 6);
            break;
        default:
            fputs("{}\n", f);
            break;
        }
    }
}

void gs_dump(const GsScenario *s, FILE *f)
{
    size_t i;

    fputs("name: ", f);
    dump_str(f, s->name);
    fputs("\ndescription: ", f);
    dump_str(f, s->description);
    if (s->target[0]) {
        fputs("\ntarget: ", f);
        dump_str(f, s->target);
    }
    fprintf(f, "\nkernel: %s\ntimeout: %" PRId64 "\ntags: [",
            gsp_kernel_names[s->kernel], s->timeout);
    for (i = 0; i < s->ntags; i++) {
        fputs(i ? ", " : "", f);
        dump_str(f, s->tags[i]);
    }
    fputs("]\n", f);
    if (s->allow_unfired_all) {
        fputs("allow_unfired: all\n", f);
    } else {
        fputs("allow_unfired: [", f);
        for (i = 0; i < s->nallow_unfired; i++) {
            fprintf(f, "%s%d", i ? ", " : "", s->allow_unfired[i]);
        }
        fputs("]\n", f);
    }
    fputs("steps:\n", f);
    dump_steps(f, s->steps, s->nsteps, 2);
}
