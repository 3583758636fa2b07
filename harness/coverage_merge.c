/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet-coverage's records (coverage_priv.h): one record per (test name,
 * source file), read from lcov tracefiles with the sources' paths mapped
 * (--map, --root) and filtered (--keep), and the union of a file's records.
 */
#define _GNU_SOURCE
#include "coverage_priv.h"

#include <errno.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char **cov_tns, **cov_files;    /* test names, source files (interned) */
int cov_ntn, cov_nfile;
Rec *cov_recs;
int cov_nrec;

static int intern(char ***tab, int *n, const char *s)
{
    for (int i = 0; i < *n; i++) {
        if (!strcmp((*tab)[i], s)) {
            return i;
        }
    }
    *tab = cov_xrealloc(*tab, sizeof(**tab) * (size_t)(*n + 1));
    (*tab)[*n] = cov_xstrdup(s);
    return (*n)++;
}

static Rec *rec_for(int tn, int file)
{
    for (int i = 0; i < cov_nrec; i++) {
        if (cov_recs[i].tn == tn && cov_recs[i].file == file) {
            return &cov_recs[i];
        }
    }
    cov_recs = cov_xrealloc(cov_recs, sizeof(*cov_recs) * (size_t)(cov_nrec + 1));
    memset(&cov_recs[cov_nrec], 0, sizeof(cov_recs[cov_nrec]));
    cov_recs[cov_nrec].tn = tn;
    cov_recs[cov_nrec].file = file;
    return &cov_recs[cov_nrec++];
}

static Line *line_at(Rec *r, int no)
{
    if (no >= r->nlines) {
        int n = no + 64;

        r->lines = cov_xrealloc(r->lines, sizeof(*r->lines) * (size_t)n);
        memset(r->lines + r->nlines, 0, sizeof(*r->lines) * (size_t)(n - r->nlines));
        r->nlines = n;
    }
    return &r->lines[no];
}

static void add_line(Rec *r, int no, long long count)
{
    Line *l = line_at(r, no);

    l->instr = true;
    l->count += count;
}

static void add_branch(Rec *r, int no, int block, int branch, long long taken)
{
    Line *l = line_at(r, no);

    for (int i = 0; i < l->nbr; i++) {
        if (l->br[i].block == block && l->br[i].branch == branch) {
            if (taken >= 0) {
                l->br[i].taken = (l->br[i].taken < 0 ? 0 : l->br[i].taken) + taken;
            }
            return;
        }
    }
    l->br = cov_xrealloc(l->br, sizeof(*l->br) * (size_t)(l->nbr + 1));
    l->br[l->nbr].block = block;
    l->br[l->nbr].branch = branch;
    l->br[l->nbr].taken = taken;
    l->nbr++;
}

Func *cov_func_of(Rec *r, const char *name)
{
    for (int i = 0; i < r->nfn; i++) {
        if (!strcmp(r->fn[i].name, name)) {
            return &r->fn[i];
        }
    }
    return NULL;
}

static void add_func(Rec *r, const char *name, int line, long long count)
{
    Func *f = cov_func_of(r, name);

    if (!f) {
        r->fn = cov_xrealloc(r->fn, sizeof(*r->fn) * (size_t)(r->nfn + 1));
        f = &r->fn[r->nfn++];
        f->name = cov_xstrdup(name);
        f->line = line;
        f->count = 0;
    }
    if (line > 0 && f->line <= 0) {
        f->line = line;
    }
    f->count += count;
}

/* ---- reading tracefiles ------------------------------------------------ */

/* The path as the report names it: mapped, made relative to the root.
 * NULL when --keep excludes it. */
static char *report_path(const char *sf)
{
    static char buf[8192];
    const char *p = sf;

    buf[0] = 0;
    for (int i = 0; i < cov_nmap; i++) {
        size_t n = strlen(cov_maps_old[i]);

        if (!strncmp(sf, cov_maps_old[i], n)) {
            snprintf(buf, sizeof(buf), "%s%s", cov_maps_new[i], sf + n);
            p = buf;
            break;
        }
    }
    if (p != buf) {
        snprintf(buf, sizeof(buf), "%s", sf);
    }
    if (cov_root) {
        size_t n = strlen(cov_root);

        if (!strncmp(buf, cov_root, n) && buf[n] == '/') {
            memmove(buf, buf + n + 1, strlen(buf + n + 1) + 1);
        }
    }
    if (cov_nkeep) {
        bool ok = false;

        for (int i = 0; i < cov_nkeep && !ok; i++) {
            ok = !strncmp(buf, cov_keeps[i], strlen(cov_keeps[i]));
        }
        if (!ok) {
            return NULL;
        }
    }
    return buf;
}

static bool parse_ll(const char *s, long long *v)
{
    char *end;

    errno = 0;
    *v = strtoll(s, &end, 10);
    return s != end && !errno && (*end == 0 || *end == ',');
}

void cov_read_tracefile(const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, tn[256] = "", base[256];
    size_t cap = 0;
    ssize_t len;
    long no = 0;
    Rec *r = NULL;
    bool skip = false;

    if (!f) {
        cov_die("%s: %s", path, strerror(errno));
    }
    /* records without TN: take the file's base name (a valid lcov name) */
    {
        const char *b = strrchr(path, '/');
        size_t i = 0;

        for (b = b ? b + 1 : path; *b && *b != '.' && i + 1 < sizeof(base); b++) {
            base[i++] = isalnum((unsigned char)*b) ? *b : '_';
        }
        base[i] = 0;
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        long long a, b, c, d;
        char *v, *comma;

        no++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = 0;
        }
        if (!len) {
            continue;
        }
        v = strchr(line, ':');
        if (!strcmp(line, "end_of_record")) {
            r = NULL;
            skip = false;
            continue;
        }
        if (!v) {
            cov_die("%s:%ld: not a tracefile line: '%.80s'", path, no, line);
        }
        *v++ = 0;
        if (!strcmp(line, "TN")) {
            snprintf(tn, sizeof(tn), "%s", v);
            continue;
        }
        if (!strcmp(line, "SF")) {
            char *rp = report_path(v);

            skip = !rp;
            r = skip ? NULL : rec_for(intern(&cov_tns, &cov_ntn, *tn ? tn : base),
                                      intern(&cov_files, &cov_nfile, rp));
            continue;
        }
        if (skip) {
            continue;
        }
        if (!r && strcmp(line, "VER")) {
            cov_die("%s:%ld: '%s' outside a record (no SF: before it)", path, no, line);
        }
        if (!strcmp(line, "DA")) {
            comma = strchr(v, ',');
            if (!comma || !parse_ll(v, &a) || !parse_ll(comma + 1, &b) ||
                a <= 0 || a > MAX_LINE_NO || b < 0) {
                cov_die("%s:%ld: bad DA line '%.80s'", path, no, v);
            }
            add_line(r, (int)a, b);
        } else if (!strcmp(line, "FN")) {
            comma = strchr(v, ',');
            if (!comma || !parse_ll(v, &a) || a < 0 || a > MAX_LINE_NO || !comma[1]) {
                cov_die("%s:%ld: bad FN line '%.80s'", path, no, v);
            }
            add_func(r, comma + 1, (int)a, 0);
        } else if (!strcmp(line, "FNDA")) {
            comma = strchr(v, ',');
            if (!comma || !parse_ll(v, &a) || a < 0 || !comma[1]) {
                cov_die("%s:%ld: bad FNDA line '%.80s'", path, no, v);
            }
            add_func(r, comma + 1, 0, a);
        } else if (!strcmp(line, "BRDA")) {
            char *p1 = strchr(v, ','), *p2 = p1 ? strchr(p1 + 1, ',') : NULL;
            char *p3 = p2 ? strchr(p2 + 1, ',') : NULL;

            if (!p3 || !parse_ll(v, &a) || !parse_ll(p1 + 1, &b) ||
                !parse_ll(p2 + 1, &c) || a <= 0 || a > MAX_LINE_NO ||
                b < 0 || c < 0 || b > 1000000 || c > 1000000) {
                cov_die("%s:%ld: bad BRDA line '%.80s'", path, no, v);
            }
            if (!strcmp(p3 + 1, "-")) {
                d = -1;
            } else if (!parse_ll(p3 + 1, &d) || d < 0) {
                cov_die("%s:%ld: bad BRDA count '%.80s'", path, no, p3 + 1);
            }
            add_branch(r, (int)a, (int)b, (int)c, d);
        } else if (!strcmp(line, "FNF") || !strcmp(line, "FNH") ||
                   !strcmp(line, "LF") || !strcmp(line, "LH") ||
                   !strcmp(line, "BRF") || !strcmp(line, "BRH") ||
                   !strcmp(line, "VER")) {
            /* totals are recomputed */
        } else {
            cov_die("%s:%ld: unknown tracefile key '%s'", path, no, line);
        }
    }
    if (r) {
        cov_die("%s: last record has no end_of_record (truncated?)", path);
    }
    free(line);
    fclose(f);
}

/* The union of every test name's record of file f (caller frees). */
Rec *cov_union_of(int f, int except_tn)
{
    Rec *u = calloc(1, sizeof(*u));

    if (!u) {
        cov_die("out of memory");
    }
    u->tn = -1;
    u->file = f;
    for (int i = 0; i < cov_nrec; i++) {
        const Rec *r = &cov_recs[i];

        if (r->file != f || r->tn == except_tn) {
            continue;
        }
        for (int no = 0; no < r->nlines; no++) {
            const Line *l = &r->lines[no];

            if (l->instr) {
                add_line(u, no, l->count);
            }
            for (int j = 0; j < l->nbr; j++) {
                add_branch(u, no, l->br[j].block, l->br[j].branch, l->br[j].taken);
            }
        }
        for (int j = 0; j < r->nfn; j++) {
            add_func(u, r->fn[j].name, r->fn[j].line, r->fn[j].count);
        }
    }
    return u;
}

void cov_rec_free(Rec *r)
{
    for (int i = 0; i < r->nlines; i++) {
        free(r->lines[i].br);
    }
    free(r->lines);
    for (int i = 0; i < r->nfn; i++) {
        free(r->fn[i].name);
    }
    free(r->fn);
}
