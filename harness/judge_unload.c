/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The module unloads cleanly (unload).
 */
#define _GNU_SOURCE
#include "judge.h"

#include <stdlib.h>
#include <string.h>

#include "agent_proto.h"
#include "vm.h"

static void unload_done(Judge *j, GrGuestCmd *c)
{
    Run *r = j->r;

    if (!c->ran) {
        gr_verdict(r, "unload", GR_SKIP, "the VM is gone");
    } else if (c->rc < 0) {
        gr_verdict(r, "unload", GR_FAIL, "'%s' did not finish", r->t->unload);
    } else if (ga_result_ok(&c->res)) {
        r->module_loaded = false;
        gr_verdict(r, "unload", GR_PASS, "%s", r->t->unload);
    } else {
        gr_verdict(r, "unload", GR_FAIL, "'%s' exited %d: %s", r->t->unload,
                   gr_exit_status(&c->res), gr_tail(c->res.err, 300));
    }
}

/* unload: the target's unload command succeeds at the end */
void gr_judge_unload(Judge *j)
{
    Run *r = j->r;

    if (!gr_judge_alive(j)) {
        gr_verdict(r, "unload", GR_SKIP, "the VM is gone");
    } else if (!r->module_loaded) {
        gr_verdict(r, "unload", GR_SKIP, "module not loaded at the end");
    } else {
        gr_judge_queue(j, strdup(r->t->unload), 120, 0, unload_done);
    }
}
