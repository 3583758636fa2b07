/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet-coverage's summary (coverage_priv.h): totals, a line per file,
 * the goals (--goal, --fail-under), each test name's contribution, and the
 * functions nothing reaches with their reasons (--notes); on stdout and in
 * --summary FILE.
 */
#define _GNU_SOURCE
#include "coverage_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

FILE *cov_sum_f;

/* ---- totals ------------------------------------------------------------ */

void cov_rec_totals(const Rec *r, Tot *t)
{
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < r->nlines; i++) {
        const Line *l = &r->lines[i];

        if (l->instr) {
            t->lf++;
            t->lh += l->count > 0;
        }
        for (int j = 0; j < l->nbr; j++) {
            t->brf++;
            t->brh += l->br[j].taken > 0;
        }
    }
    for (int i = 0; i < r->nfn; i++) {
        t->fnf++;
        t->fnh += r->fn[i].count > 0;
    }
}

static double pct(long hit, long found)
{
    return found ? 100.0 * (double)hit / (double)found : 100.0;
}

static void tot_add(Tot *a, const Tot *b)
{
    a->lf += b->lf;
    a->lh += b->lh;
    a->fnf += b->fnf;
    a->fnh += b->fnh;
    a->brf += b->brf;
    a->brh += b->brh;
}

/* ---- the summary --------------------------------------------------------- */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (cov_sum_f) {
        va_start(ap, fmt);
        vfprintf(cov_sum_f, fmt, ap);
        va_end(ap);
    }
}

static void say_row(const char *name, const Tot *t)
{
    say("%-44s %6.1f%% %6ld/%-7ld %6.1f%% %4ld/%-5ld %6.1f%% %5ld/%-6ld\n",
        name, pct(t->lh, t->lf), t->lh, t->lf, pct(t->fnh, t->fnf), t->fnh,
        t->fnf, pct(t->brh, t->brf), t->brh, t->brf);
}

/* Append "  what P% (goal G%) met|MISSED" to buf; 1 when missed, 0 when
 * met or when there is no goal (min < 0). */
static int goal_part(char *buf, int *n, size_t size, const char *what,
                     long hit, long found, double min)
{
    bool ok;

    if (min < 0 || (size_t)*n >= size) {
        return 0;
    }
    ok = found && pct(hit, found) >= min;
    *n += snprintf(buf + *n, size - (size_t)*n, "  %s %.1f%% (goal %.0f%%) %s",
                   what, pct(hit, found), min, ok ? "met" : "MISSED");
    return !ok;
}

static bool in_goal(const Goal *g, const char *file)
{
    for (int i = 0; i < g->nprefix; i++) {
        if (!strncmp(file, g->prefixes[i], strlen(g->prefixes[i]))) {
            return true;
        }
    }
    return false;
}

static const Note *note_for(const char *file, const char *func)
{
    for (int i = 0; i < cov_nnote; i++) {
        if (!strcmp(cov_notes[i].file, file) && !strcmp(cov_notes[i].func, func)) {
            cov_notes[i].used = true;
            return &cov_notes[i];
        }
    }
    return NULL;
}

static bool line_hit(const Rec *r, int no)
{
    return r && no < r->nlines && r->lines[no].instr && r->lines[no].count > 0;
}

static const Rec *find_rec(int tn, int file)
{
    for (int i = 0; i < cov_nrec; i++) {
        if (cov_recs[i].tn == tn && cov_recs[i].file == file) {
            return &cov_recs[i];
        }
    }
    return NULL;
}

int cov_report(const int *order, bool fail_under)
{
    Rec **u = calloc((size_t)cov_nfile, sizeof(*u));
    Tot all = { 0 };
    int missed = 0;

    if (!u) {
        cov_die("out of memory");
    }
    say("%-44s %-22s %-18s %s\n", "file", "   lines", "   functions", "   branches");
    for (int k = 0; k < cov_nfile; k++) {
        int f = order[k];
        Tot t;

        u[f] = cov_union_of(f, -1);
        cov_rec_totals(u[f], &t);
        say_row(cov_files[f], &t);
        tot_add(&all, &t);
    }
    say_row("total", &all);

    if (cov_ngoal) {
        say("\ngoals\n");
    }
    for (int g = 0; g < cov_ngoal; g++) {
        Tot t = { 0 };
        char buf[512];
        int n = 0;

        for (int f = 0; f < cov_nfile; f++) {
            Tot x;

            if (!in_goal(&cov_goals[g], cov_files[f])) {
                continue;
            }
            cov_rec_totals(u[f], &x);
            tot_add(&t, &x);
        }
        buf[0] = 0;
        missed += goal_part(buf, &n, sizeof(buf), "lines", t.lh, t.lf,
                            cov_goals[g].min_line);
        missed += goal_part(buf, &n, sizeof(buf), "branches", t.brh, t.brf,
                            cov_goals[g].min_branch);
        missed += goal_part(buf, &n, sizeof(buf), "functions", t.fnh, t.fnf,
                            cov_goals[g].min_func);
        say("  %-14s%s\n", cov_goals[g].name, buf);
    }

    /* what each test name contributes */
    say("\ncontribution (lines and functions each source reaches; 'only' = "
        "functions no other source reaches)\n");
    say("  %-40s %8s %6s %5s\n", "source", "lines", "funcs", "only");
    {
        int nothing = 0;

        for (int t = 0; t < cov_ntn; t++) {
            long lh = 0, fh = 0, only = 0, new_lines = 0;
            char onlyl[1024] = "";
            size_t ol = 0;

            for (int f = 0; f < cov_nfile; f++) {
                const Rec *r = find_rec(t, f);
                Rec *others;

                if (!r) {
                    continue;
                }
                others = cov_union_of(f, t);
                for (int no = 0; no < r->nlines; no++) {
                    if (line_hit(r, no)) {
                        lh++;
                        new_lines += !line_hit(others, no);
                    }
                }
                for (int i = 0; i < r->nfn; i++) {
                    const Func *o;

                    if (r->fn[i].count <= 0) {
                        continue;
                    }
                    fh++;
                    o = cov_func_of(others, r->fn[i].name);
                    if (!o || o->count <= 0) {
                        only++;
                        if (only <= 8 &&
                            ol + strlen(r->fn[i].name) + 4 < sizeof(onlyl)) {
                            ol += (size_t)snprintf(onlyl + ol, sizeof(onlyl) - ol,
                                                   "%s%s", ol ? ", " : "",
                                                   r->fn[i].name);
                        }
                    }
                }
                cov_rec_free(others);
                free(others);
            }
            if (only > 8) {
                snprintf(onlyl + ol, sizeof(onlyl) - ol, " (+%ld more)", only - 8);
            }
            say("  %-40s %8ld %6ld %5ld%s%s\n", cov_tns[t], lh, fh, only,
                only ? "  " : "", onlyl);
            if (!new_lines) {
                nothing++;
                say("  %-40s   adds nothing: every line it reaches, another "
                    "source reaches too\n", "");
            }
        }
        say("  %d source(s), %d of which add nothing\n", cov_ntn, nothing);
    }

    /* what nothing reaches */
    say("\nfunctions nothing reaches\n");
    {
        int n = 0;

        for (int k = 0; k < cov_nfile; k++) {
            int f = order[k];

            for (int i = 0; i < u[f]->nfn; i++) {
                const Note *no;

                if (u[f]->fn[i].count > 0) {
                    continue;
                }
                n++;
                no = note_for(cov_files[f], u[f]->fn[i].name);
                say("  %s:%d %s: %s\n", cov_files[f], u[f]->fn[i].line,
                    u[f]->fn[i].name, no ? no->why : "(no note: not reached by "
                    "any test yet)");
            }
        }
        if (!n) {
            say("  none\n");
        }
    }
    for (int i = 0; i < cov_nnote; i++) {
        if (!cov_notes[i].used) {
            bool reached = false;

            for (int f = 0; f < cov_nfile && !reached; f++) {
                const Func *fn;

                if (strcmp(cov_files[f], cov_notes[i].file)) {
                    continue;
                }
                fn = cov_func_of(u[f], cov_notes[i].func);
                reached = fn && fn->count > 0;
            }
            if (reached) {
                say("  note: %s:%s is now reached; its note in the notes file "
                    "is stale\n", cov_notes[i].file, cov_notes[i].func);
            }
        }
    }
    for (int f = 0; f < cov_nfile; f++) {
        if (u[f]) {
            cov_rec_free(u[f]);
            free(u[f]);
        }
    }
    free(u);
    return fail_under && missed ? 1 : 0;
}
