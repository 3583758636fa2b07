/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kmemleak finds no leak, where the kernel has it; the guest's dmesg
 * is saved as kernel.log on the way.
 */
#define _GNU_SOURCE
#include "judge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_proto.h"
#include "vm.h"

#define KMEMLEAK_ABSENT 3

static void kmemleak_done(Judge *j, GrGuestCmd *c)
{
    Run *r = j->r;
    const ga_result *res = &c->res;

    if (!c->ran) {
        gr_verdict(r, "kmemleak", GR_SKIP, "the VM is gone");
    } else if (c->rc < 0) {
        return;     /* the run's failure says what became of it */
    } else if (res->exit_kind == GA_EXIT_CODE && res->exit_code == KMEMLEAK_ABSENT) {
        gr_verdict(r, "kmemleak", GR_SKIP, "kernel without kmemleak");
    } else if (res->out_len) {
        gr_save_text(r, "kmemleak.txt", res->out, res->out_len);
        gr_verdict(r, "kmemleak", GR_FAIL, "kmemleak reports leaks (see "
                   "kmemleak.txt): %.200s", res->out);
    } else {
        gr_verdict(r, "kmemleak", GR_PASS, "no leaks reported");
    }
}

static void kernel_log_done(Judge *j, GrGuestCmd *c)
{
    if (c->ran && c->rc == 0 && c->res.out_len) {
        gr_save_text(j->r, "kernel.log", c->res.out, c->res.out_len);
    }
}

/* kmemleak: two scans, then the report; then the kernel log */
void gr_judge_kmemleak(Judge *j)
{
    Run *r = j->r;
    char *k;

    if (!gr_judge_alive(j)) {
        gr_verdict(r, "kmemleak", GR_SKIP, "the VM is gone");
        return;
    }
    if (asprintf(&k, "k=/sys/kernel/debug/kmemleak; [ -e $k ] || exit %d; "
                 "echo scan > $k; sleep 1; echo scan > $k; cat $k",
                 KMEMLEAK_ABSENT) < 0) {
        abort();
    }
    gr_judge_queue(j, k, 120, 0, kmemleak_done);
    gr_judge_queue(j, strdup("dmesg"), 60, 0, kernel_log_done);
}
