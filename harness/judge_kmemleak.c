/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kmemleak finds no leak, where the kernel has it; the guest's dmesg
 * is saved as kernel.log on the way.
 */
#define _GNU_SOURCE
#include "judge.h"

#include <stdlib.h>
#include <string.h>

#include "agent_proto.h"
#include "vm.h"

/* kmemleak: two scans, then the report */
void gr_judge_kmemleak(Judge *j)
{
    Run *r = j->r;

    if (gr_judge_alive(j)) {
        ga_result res;
        const char *k = "k=/sys/kernel/debug/kmemleak; [ -e $k ] || exit 3; "
                        "echo scan > $k; sleep 1; echo scan > $k; cat $k";

        if (gr_guest(r, k, 120, &res) == 0) {
            if (res.exit_kind == GA_EXIT_CODE && res.exit_code == 3) {
                gr_verdict(r, "kmemleak", GR_SKIP, "kernel without kmemleak");
            } else if (res.out_len) {
                gr_save_text(r, "kmemleak.txt", res.out, res.out_len);
                gr_verdict(r, "kmemleak", GR_FAIL, "kmemleak reports leaks (see "
                            "kmemleak.txt): %.200s", res.out);
            } else {
                gr_verdict(r, "kmemleak", GR_PASS, "no leaks reported");
            }
        }
        ga_result_free(&res);
        if (gr_guest(r, "dmesg", 60, &res) == 0 && res.out_len) {
            gr_save_text(r, "kernel.log", res.out, res.out_len);
        }
        ga_result_free(&res);
    } else {
        gr_verdict(r, "kmemleak", GR_SKIP, "the VM is gone");
    }
}
