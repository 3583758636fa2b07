/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iommu: no DMA fault the scenario did not expect.  With an IOMMU in the
 * guest (the target's or the scenario's iommu), the faults it caught are
 * counted on the host, in every QEMU log of the run (QEMU's fault trace
 * events and interrupt-remapping errors), and in the guest's kernel log
 * (iommu_faults.h), then compared with the scenario's iommu_faults
 * (default: == 0).  result.json's "iommu" holds the counts and the lines.
 */
#define _GNU_SOURCE
#include "judge.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iommu_faults.h"
#include "vm.h"

static const char *const op_names[] = { "==", "!=", "<", "<=", ">", ">=" };

bool gr_iommu_expect_ok(GsCmpOp op, int64_t v, int64_t want)
{
    switch (op) {
    case GS_OP_EQ: return v == want;
    case GS_OP_NE: return v != want;
    case GS_OP_LT: return v < want;
    case GS_OP_LE: return v <= want;
    case GS_OP_GT: return v > want;
    case GS_OP_GE: return v >= want;
    }
    return false;
}

/* QEMU's logs of this run, oldest first: one per power cut that booted
 * again (step_power.c keeps them), then the last QEMU's. */
static int count_host(Run *r, GioCounts *c)
{
    int logs = 0;

    for (int i = 1; i <= r->power_cuts + 1; i++) {
        char path[4200];
        char *text;
        size_t len;

        if (i <= r->power_cuts) {
            snprintf(path, sizeof(path), "%s/qemu-before-cut-%d.log", r->dir, i);
        } else {
            snprintf(path, sizeof(path), "%s/qemu.log", r->dir);
        }
        if (access(path, R_OK)) {
            continue;
        }
        text = gvm_file_read(path, 0, &len);
        gio_count_host(c, text, len);
        free(text);
        logs++;
    }
    return logs;
}

void gr_judge_iommu(Judge *j)
{
    Run *r = j->r;
    const GsScenario *s = r->s;
    const char *iommu = gr_iommu(r);
    GioCounts c = { 0 };
    json_object *o, *lines;
    int64_t total;
    int logs;
    bool ok;

    if (strcmp(iommu, "intel")) {
        gr_verdict(r, "iommu", GR_SKIP, "no IOMMU in the guest (iommu: %s)",
                   iommu);
        return;
    }
    logs = count_host(r, &c);
    gio_count_guest(&c, j->log, j->len);
    total = gio_total(&c);
    ok = gr_iommu_expect_ok(s->iommu_faults_op, total, s->iommu_faults_value);

    o = json_object_new_object();
    json_object_object_add(o, "iommu", json_object_new_string(iommu));
    json_object_object_add(o, "faults", json_object_new_int64(total));
    json_object_object_add(o, "expected", json_object_new_string(
                               op_names[s->iommu_faults_op]));
    json_object_object_add(o, "expected_value",
                           json_object_new_int64(s->iommu_faults_value));
    json_object_object_add(o, "host_dmar", json_object_new_int64(c.host_dmar));
    json_object_object_add(o, "host_events", json_object_new_int64(c.host_events));
    json_object_object_add(o, "host_ir", json_object_new_int64(c.host_ir));
    json_object_object_add(o, "guest_dmar", json_object_new_int64(c.guest_dmar));
    json_object_object_add(o, "guest_ir", json_object_new_int64(c.guest_ir));
    json_object_object_add(o, "qemu_logs", json_object_new_int(logs));
    lines = json_object_new_array();
    for (size_t i = 0; i < c.nlines; i++) {
        json_object_array_add(lines, json_object_new_string(c.lines[i]));
    }
    json_object_object_add(o, "lines", lines);
    json_object_put(r->iommu);
    r->iommu = o;

    gr_verdict(r, "iommu", ok ? GR_PASS : GR_FAIL, "%" PRId64 " DMA fault(s) "
               "caught (host: %" PRId64 " DMA-remapping in %" PRId64 " trace "
               "events, %" PRId64 " interrupt-remapping; guest log: %" PRId64 " DMA, %" PRId64
               " interrupt), expected %s %" PRId64 "%s%s%s", total, c.host_dmar,
               c.host_events, c.host_ir, c.guest_dmar, c.guest_ir,
               op_names[s->iommu_faults_op], s->iommu_faults_value,
               !logs ? "; no QEMU log read" : "", c.nlines ? "; first: " : "",
               c.nlines ? c.lines[0] : "");
    gio_free(&c);
}
