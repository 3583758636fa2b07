/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet-coverage's files (coverage_priv.h): the merged tracefile
 * (--info, one record per test name) and the union in gcovr's JSON format
 * (--gcovr).
 */
#define _GNU_SOURCE
#include "coverage_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- outputs ----------------------------------------------------------- */
static void write_rec(FILE *f, const Rec *r, const char *tn)
{
    Tot t;

    cov_rec_totals(r, &t);
    fprintf(f, "TN:%s\nSF:%s\n", tn, cov_files[r->file]);
    for (int i = 0; i < r->nfn; i++) {
        fprintf(f, "FN:%d,%s\n", r->fn[i].line, r->fn[i].name);
    }
    for (int i = 0; i < r->nfn; i++) {
        fprintf(f, "FNDA:%lld,%s\n", r->fn[i].count, r->fn[i].name);
    }
    fprintf(f, "FNF:%ld\nFNH:%ld\n", t.fnf, t.fnh);
    for (int no = 0; no < r->nlines; no++) {
        for (int j = 0; j < r->lines[no].nbr; j++) {
            const Br *b = &r->lines[no].br[j];

            if (b->taken < 0) {
                fprintf(f, "BRDA:%d,%d,%d,-\n", no, b->block, b->branch);
            } else {
                fprintf(f, "BRDA:%d,%d,%d,%lld\n", no, b->block, b->branch, b->taken);
            }
        }
    }
    fprintf(f, "BRF:%ld\nBRH:%ld\n", t.brf, t.brh);
    for (int no = 0; no < r->nlines; no++) {
        if (r->lines[no].instr) {
            fprintf(f, "DA:%d,%lld\n", no, r->lines[no].count);
        }
    }
    fprintf(f, "LF:%ld\nLH:%ld\nend_of_record\n", t.lf, t.lh);
}

void cov_write_info(const char *path)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        cov_die("%s: %s", path, strerror(errno));
    }
    for (int t = 0; t < cov_ntn; t++) {
        for (int i = 0; i < cov_nrec; i++) {
            if (cov_recs[i].tn == t) {
                write_rec(f, &cov_recs[i], cov_tns[t]);
            }
        }
    }
    if (fclose(f)) {
        cov_die("%s: %s", path, strerror(errno));
    }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
        } else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
        } else {
            fputc(c, f);
        }
    }
    fputc('"', f);
}

/* gcovr's JSON format 0.3 (gcovr/writer/json.py), the union of all. */
void cov_write_gcovr(const char *path, const int *order)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        cov_die("%s: %s", path, strerror(errno));
    }
    fputs("{\"gcovr/format_version\": \"0.3\", \"files\": [", f);
    for (int k = 0; k < cov_nfile; k++) {
        Rec *u = cov_union_of(order[k], -1);
        bool first = true;

        fprintf(f, "%s\n {\"file\": ", k ? "," : "");
        json_str(f, cov_files[order[k]]);
        fputs(", \"functions\": [", f);
        for (int i = 0; i < u->nfn; i++) {
            fprintf(f, "%s{\"name\": ", i ? ", " : "");
            json_str(f, u->fn[i].name);
            fprintf(f, ", \"lineno\": %d, \"execution_count\": %lld}",
                    u->fn[i].line, u->fn[i].count);
        }
        fputs("], \"lines\": [", f);
        for (int no = 0; no < u->nlines; no++) {
            const Line *l = &u->lines[no];

            if (!l->instr) {
                continue;
            }
            fprintf(f, "%s\n  {\"line_number\": %d, \"count\": %lld, "
                    "\"gcovr/noncode\": false, \"gcovr/excluded\": false, "
                    "\"branches\": [", first ? "" : ",", no, l->count);
            first = false;
            for (int j = 0; j < l->nbr; j++) {
                fprintf(f, "%s{\"count\": %lld, \"fallthrough\": false, "
                        "\"throw\": false}", j ? ", " : "",
                        l->br[j].taken < 0 ? 0 : l->br[j].taken);
            }
            fputs("]}", f);
        }
        fputs("]}", f);
        cov_rec_free(u);
        free(u);
    }
    fputs("\n]}\n", f);
    if (fclose(f)) {
        cov_die("%s: %s", path, strerror(errno));
    }
}
