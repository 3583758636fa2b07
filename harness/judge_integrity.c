/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Data integrity: the acknowledged writes of the integrity region read
 * back in the guest (integrity-guest) and found in the host's backing file
 * once QEMU has stopped (integrity-host).
 */
#define _GNU_SOURCE
#include "judge.h"

#include <stdlib.h>
#include <string.h>

#include "agent_proto.h"
#include "proc.h"
#include "vm.h"
#include <stdio.h>

/* the host check of a backing file: it reads at most the drive */
#define INTEGRITY_HOST_TIMEOUT_S 300.0

static void integrity_guest_done(Judge *j, GrGuestCmd *c)
{
    Run *r = j->r;

    if (!c->ran) {
        gr_verdict(r, "integrity-guest", GR_SKIP, "the VM is gone");
    } else if (c->rc < 0) {
        return;     /* the run's failure says what became of it */
    } else if (c->not_ready) {
        gr_verdict(r, "integrity-guest", GR_SKIP, "device not ready at the end "
                    "(as the scenario left it); checked on the host only");
    } else if (ga_result_ok(&c->res)) {
        gr_verdict(r, "integrity-guest", GR_PASS, "%ld blocks read back "
                    "intact", r->t->integrity_blocks);
    } else {
        gr_verdict(r, "integrity-guest", GR_FAIL, "read-back of the "
                    "acknowledged writes failed: %s",
                    gr_tail(c->res.err_len ? c->res.err : c->res.out, 400));
    }
}

/* integrity-guest: read back in the guest, when the driver and device are
 * still there, once the device is ready (as gr_wait_ready) */
void gr_judge_integrity_guest(Judge *j)
{
    Run *r = j->r;
    char *v;

    if (!r->integrity_written) {
        gr_verdict(r, "integrity-guest", GR_SKIP, "no integrity region was "
                    "written (the driver never loaded with faults off)");
    } else if (!gr_judge_alive(j)) {
        gr_verdict(r, "integrity-guest", GR_SKIP, "the VM is gone");
    } else if (!r->module_loaded || !r->ndev || !r->dev[0].present) {
        gr_verdict(r, "integrity-guest", GR_SKIP, "driver unloaded or device "
                    "removed; checked on the host only");
    } else if ((v = gr_expand_integrity(r, r->t->integrity_verify, NULL)) != NULL) {
        gr_judge_queue(j, v, 300, 0, integrity_guest_done)->ready = true;
    }
}

/* integrity-host: the target's host check of the backing file */
void gr_judge_integrity_host(Judge *j)
{
    Run *r = j->r;

    char out[4200], *cmd;
    GpResult res;
    int st;

    if (!r->integrity_written) {
        gr_verdict(r, "integrity-host", GR_SKIP, "no integrity region was written");
        return;
    }
    cmd = gr_expand_integrity(r, r->t->integrity_host_verify, r->dev[0].backing);
    if (!cmd) {
        return;
    }
    snprintf(out, sizeof(out), "%s/integrity-host.txt", r->dir);
    {
        /* the target's command line, so through the shell */
        GpSpec sp = { .shell = cmd, .output = GP_OUT_FILE, .out_path = out,
                      .timeout_s = INTEGRITY_HOST_TIMEOUT_S };

        gr_log(r, "host$ %s", cmd);
        st = gp_run(&sp, &res) < 0 ? -1 : res.timed_out ? -2 : res.status;
        if (st == -1) {
            gr_log(r, "host: %s", res.why);
        }
        gp_result_free(&res);
    }
    if (st == -2) {
        gr_verdict(r, "integrity-host", GR_FAIL, "backing file check killed at "
                   "its deadline (%.0f s)", INTEGRITY_HOST_TIMEOUT_S);
    } else if (st == 0) {
        gr_verdict(r, "integrity-host", GR_PASS, "%ld blocks intact in %s",
                   r->t->integrity_blocks, r->dev[0].backing);
    } else {
        char *t = gvm_file_tail(out, 400);

        gr_verdict(r, "integrity-host", GR_FAIL, "backing file check failed: %s",
                   t ? t : "");
        free(t);
    }
    free(cmd);
}
