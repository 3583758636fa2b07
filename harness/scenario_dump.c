/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gs_dump(): a scenario in canonical form (every default filled in, keys
 * in documented order), which parses back to the same scenario.
 */
#define _POSIX_C_SOURCE 200809L

#include "scenario_priv.h"
#include "yaml_writer.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void dump_steps(GyWriter *w, const GsStep *steps, size_t n)
{
    size_t i;

    gy_seq(w, GY_BLOCK);
    for (i = 0; i < n; i++) {
        const GsStep *s = &steps[i];

        gy_map(w, GY_BLOCK);
        gy_key(w, gs_step_name(s->type));
        gy_map(w, s->type == GS_STEP_REPEAT ? GY_BLOCK : GY_FLOW);
        switch (s->type) {
        case GS_STEP_BOOT:
            gy_key(w, "cmdline");
            gy_str(w, s->u.boot.cmdline);
            gy_key(w, "memory");
            gy_int(w, s->u.boot.memory_mb);
            gy_key(w, "smp");
            gy_int(w, s->u.boot.smp);
            break;
        case GS_STEP_LOAD:
            gy_key(w, "params");
            gy_str(w, s->u.load.params);
            gy_key(w, "expect");
            gy_plain(w, gsp_expect_names[s->u.load.expect]);
            break;
        case GS_STEP_UNLOAD:
            gy_key(w, "expect");
            gy_plain(w, gsp_expect_names[s->u.unload.expect]);
            break;
        case GS_STEP_RUN:
            gy_key(w, "cmd");
            gy_str(w, s->u.run.cmd);
            gy_key(w, "expect_exit");
            gy_int(w, s->u.run.expect_exit);
            if (s->u.run.expect_stdout) {
                gy_key(w, "expect_stdout");
                gy_str(w, s->u.run.expect_stdout);
            }
            if (s->u.run.expect_stderr) {
                gy_key(w, "expect_stderr");
                gy_str(w, s->u.run.expect_stderr);
            }
            gy_key(w, "timeout");
            gy_num(w, s->u.run.timeout);
            if (s->u.run.capture) {
                gy_key(w, "capture");
                gy_str(w, s->u.run.capture);
            }
            break;
        case GS_STEP_WORKLOAD:
            gy_key(w, "name");
            gy_str(w, s->u.workload.name);
            gy_key(w, "cmd");
            gy_str(w, s->u.workload.cmd);
            break;
        case GS_STEP_WORKLOAD_STOP:
            gy_key(w, "name");
            gy_str(w, s->u.workload_stop.name);
            gy_key(w, "expect_exit");
            gy_int(w, s->u.workload_stop.expect_exit);
            gy_key(w, "timeout");
            gy_num(w, s->u.workload_stop.timeout);
            gy_key(w, "wait");
            gy_bool(w, s->u.workload_stop.wait);
            break;
        case GS_STEP_FAULTS:
            if (s->u.faults.op == GS_FAULTS_CLEAR) {
                gy_key(w, "clear");
                gy_bool(w, true);
            } else {
                gy_key(w, s->u.faults.op == GS_FAULTS_SET ? "set" : "add");
                gy_str(w, s->u.faults.rules);
            }
            break;
        case GS_STEP_HOTPLUG:
            gy_key(w, "action");
            gy_plain(w, gsp_hotplug_names[s->u.hotplug.action]);
            gy_key(w, "device");
            gy_str(w, s->u.hotplug.device);
            if (s->u.hotplug.fast) {
                gy_key(w, "fast");
                gy_bool(w, true);
            }
            break;
        case GS_STEP_SUSPEND:
            gy_key(w, "mode");
            gy_plain(w, gsp_suspend_names[s->u.suspend.mode]);
            if (s->u.suspend.mode == GS_SUSPEND_PM_TEST) {
                gy_key(w, "level");
                gy_plain(w, gsp_level_names[s->u.suspend.level - 1]);
            }
            gy_key(w, "cycles");
            gy_int(w, s->u.suspend.cycles);
            break;
        case GS_STEP_KFAULT:
            gy_key(w, "type");
            gy_plain(w, gsp_kfault_names[s->u.kfault.type]);
            if (s->u.kfault.function) {
                gy_key(w, "function");
                gy_str(w, s->u.kfault.function);
            }
            gy_key(w, "probability");
            gy_int(w, s->u.kfault.probability);
            gy_key(w, "times");
            gy_int(w, s->u.kfault.times);
            gy_key(w, "interval");
            gy_int(w, s->u.kfault.interval);
            gy_key(w, "space");
            gy_int(w, s->u.kfault.space);
            gy_key(w, "require");
            gy_bool(w, s->u.kfault.require);
            break;
        case GS_STEP_EXPECT_LOG:
            gy_key(w, "pattern");
            gy_str(w, s->u.expect_log.pattern);
            gy_key(w, "timeout");
            gy_num(w, s->u.expect_log.timeout);
            break;
        case GS_STEP_FORBID_LOG:
            gy_key(w, "pattern");
            gy_str(w, s->u.forbid_log.pattern);
            break;
        case GS_STEP_COUNTER:
            gy_key(w, "source");
            gy_plain(w, gsp_source_names[s->u.counter.source]);
            gy_key(w, "name");
            gy_str(w, s->u.counter.name);
            gy_key(w, "op");
            gy_str(w, gsp_op_names[s->u.counter.op]);
            gy_key(w, "value");
            gy_int(w, s->u.counter.value);
            break;
        case GS_STEP_WAIT:
            gy_key(w, "seconds");
            gy_num(w, s->u.wait.seconds);
            break;
        case GS_STEP_REBOOT:
            gy_key(w, "timeout");
            gy_num(w, s->u.reboot.timeout);
            break;
        case GS_STEP_POWER_CUT:
            gy_key(w, "at");
            gy_plain(w, gsp_cut_names[s->u.power_cut.at]);
            if (s->u.power_cut.at == GS_CUT_DEVICE) {
                gy_key(w, "timeout");
                gy_num(w, s->u.power_cut.timeout);
            }
            gy_key(w, "boot_again");
            gy_bool(w, s->u.power_cut.boot_again);
            break;
        case GS_STEP_REPEAT:
            gy_key(w, "count");
            gy_int(w, s->u.repeat.count);
            gy_key(w, "steps");
            dump_steps(w, s->u.repeat.steps, s->u.repeat.nsteps);
            break;
        default:
            break;
        }
        gy_end(w);
        gy_end(w);
    }
    gy_end(w);
}

void gs_dump(const GsScenario *s, FILE *f)
{
    GyWriter *w = gy_new();
    char err[300];
    size_t i;

    gy_map(w, GY_BLOCK);
    gy_key(w, "name");
    gy_str(w, s->name);
    gy_key(w, "description");
    gy_str(w, s->description);
    if (s->target[0]) {        /* "": none named */
        gy_key(w, "target");
        gy_str(w, s->target);
    }
    gy_key(w, "kernel");
    gy_plain(w, gsp_kernel_names[s->kernel]);
    gy_key(w, "timeout");
    gy_int(w, s->timeout);
    gy_key(w, "write_cache");
    gy_bool(w, s->write_cache);
    if (s->iommu != GS_IOMMU_TARGET) {      /* absent: the target's */
        gy_key(w, "iommu");
        gy_plain(w, gsp_iommu_names[s->iommu - GS_IOMMU_NONE]);
    }
    gy_key(w, "iommu_faults");
    gy_map(w, GY_FLOW);
    gy_key(w, "op");
    gy_str(w, gsp_op_names[s->iommu_faults_op]);
    gy_key(w, "value");
    gy_int(w, s->iommu_faults_value);
    gy_end(w);
    gy_key(w, "tags");
    gy_seq(w, GY_FLOW);
    for (i = 0; i < s->ntags; i++) {
        gy_str(w, s->tags[i]);
    }
    gy_end(w);
    gy_key(w, "expect_fail");
    gy_seq(w, GY_FLOW);
    for (i = 0; i < s->nexpect_fail; i++) {
        gy_str(w, s->expect_fail[i]);
    }
    gy_end(w);
    gy_key(w, "allow_unfired");
    if (s->allow_unfired_all) {
        gy_plain(w, "all");
    } else {
        gy_seq(w, GY_FLOW);
        for (i = 0; i < s->nallow_unfired; i++) {
            gy_int(w, s->allow_unfired[i]);
        }
        gy_end(w);
    }
    gy_key(w, "steps");
    dump_steps(w, s->steps, s->nsteps);
    gy_end(w);
    if (gy_finish_to(w, f, err, sizeof(err)) < 0) {
        /* a parsed scenario's strings are UTF-8 (libyaml's reader checks):
         * a failure here is a bug, said where the dump goes */
        fprintf(f, "# gs_dump: %s\n", err);
    }
}
