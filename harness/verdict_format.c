/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Formatting kernel-log verdicts (verdict.h): kind names, one finding on a
 * line, and the summary of a report (the harness's kernel-log verdict text).
 */
#define _GNU_SOURCE
#include "verdict_priv.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const kind_names[GV_NKINDS] = {
    [GV_OOPS] = "OOPS", [GV_BUG] = "BUG", [GV_WARNING] = "WARNING",
    [GV_LOCKDEP] = "LOCKDEP", [GV_KASAN] = "KASAN", [GV_UBSAN] = "UBSAN",
    [GV_HUNG_TASK] = "HUNG_TASK", [GV_RCU_STALL] = "RCU_STALL",
    [GV_LOCKUP] = "LOCKUP", [GV_GPF] = "GPF", [GV_PANIC] = "PANIC",
    [GV_KMEMLEAK] = "KMEMLEAK", [GV_LIST_CORRUPTION] = "LIST_CORRUPTION",
};

const char *gv_kind_name(GvKind k)
{
    return (unsigned)k < GV_NKINDS ? kind_names[k] : "?";
}

char *gv_format(const GvFinding *f)
{
    if (!f) {
        return NULL;
    }
    return gv_xasprintf("%s at line %u%s", f->signature, f->line,
                        f->truncated ? " (truncated)" : "");
}

char *gv_format_summary(const GvReport *r)
{
    char *s = NULL;
    size_t sl = 0;
    FILE *fp;
    size_t i;

    if (!r) {
        return NULL;
    }
    fp = open_memstream(&s, &sl);
    if (!fp) {
        return NULL;
    }
    if (r->error) {
        fprintf(fp, "kernel log: ERROR: %s\n", r->error);
    } else if (r->n == 0) {
        fprintf(fp, "kernel log: clean (%u lines", r->n_lines);
        if (r->n_allowed) {
            fprintf(fp, ", %zu allowed report%s", r->n_allowed, r->n_allowed == 1 ? "" : "s");
        }
        fprintf(fp, ")\n");
    } else {
        fprintf(fp, "kernel log: FAIL: %zu report%s, %zu distinct", r->n, r->n == 1 ? "" : "s",
                r->n_unique);
        if (r->n_allowed) {
            fprintf(fp, ", %zu allowed", r->n_allowed);
        }
        fprintf(fp, "\n");
    }
    if (r->marker_given) {
        if (r->marker_found) {
            fprintf(fp, "  judged after the marker at line %u\n", r->marker_line);
        } else {
            fprintf(fp, "  marker not found: the whole log was judged\n");
        }
    }
    for (i = 0; i < r->n; i++) {
        const GvFinding *f = &r->findings[i];
        size_t c = 0, k;

        if (f->dup_of >= 0) {
            continue;
        }
        for (k = i; k < r->n; k++) {
            c += r->findings[k].dup_of == (int)i || k == i;
        }
        fprintf(fp, "  %s: %s at line %u (lines %u-%u%s)", gv_kind_name(f->kind), f->signature,
                f->line, f->block_first, f->block_last, f->truncated ? ", truncated" : "");
        if (c > 1) {
            fprintf(fp, " x%zu", c);
        }
        fprintf(fp, "\n    %s\n", f->text);
    }
    if (fclose(fp) != 0) {
        free(s);
        return NULL;
    }
    return s;
}
