/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet enumerate's error paths (docs/enumerate.md): on the debug
 * kernel every run leaves the driver's gcov data in gcov/guest (judge.c
 * collect_gcov); lcov's geninfo turns it into a tracefile
 * (scripts/gcov-capture.sh, the same capture as `gauntlet coverage`), and
 * the driver's source lines a run reached that its clean run did not are
 * the error paths the run's fault drove the driver into:
 *
 *   kestrel_submit_batch: lines 412-418 (driver/kestrel_io.c)
 *
 * Only files whose path has a driver/ folder count (the module's sources
 * as Kbuild compiled them, named from that folder on).  Lines are grouped
 * by the function that holds them (the last lcov FN: record at or above
 * the line), and consecutive ones (no instrumented line between them that
 * is not new) are joined into ranges.
 */
#define _GNU_SOURCE
#include "campaign.h"
#include "proc.h"

#include <stdbool.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef GAUNTLET_GCOV_CAPTURE
#define GAUNTLET_GCOV_CAPTURE "gcov-capture.sh"
#endif

#define CE_MAX_LINE 200000

typedef struct CovFn {
    char *name;
    int line;
} CovFn;

typedef struct CovFile {
    char *path;                 /* "driver/kestrel_io.c" */
    long long *count;           /* [line]: -1 not instrumented */
    int nline;                  /* count[0..nline) */
    CovFn *fn;
    int nfn;
} CovFile;

struct CeCov {
    CovFile *f;
    int nf;
};

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        abort();
    }
    return p;
}

static CovFile *cov_file(CeCov *c, const char *path)
{
    for (int i = 0; i < c->nf; i++) {
        if (!strcmp(c->f[i].path, path)) {
            return &c->f[i];
        }
    }
    c->f = xrealloc(c->f, sizeof(*c->f) * (size_t)(c->nf + 1));
    memset(&c->f[c->nf], 0, sizeof(c->f[0]));
    c->f[c->nf].path = strdup(path);
    return &c->f[c->nf++];
}

static void set_line(CovFile *f, int line, long long count)
{
    if (line <= 0 || line >= CE_MAX_LINE) {
        return;
    }
    if (line >= f->nline) {
        int n = line + 64;

        f->count = xrealloc(f->count, sizeof(*f->count) * (size_t)n);
        for (int i = f->nline; i < n; i++) {
            f->count[i] = -1;
        }
        f->nline = n;
    }
    /* the same file from several objects (a header): the union */
    f->count[line] = (f->count[line] < 0 ? 0 : f->count[line]) + count;
}

void ce_cov_free(CeCov *c)
{
    if (!c) {
        return;
    }
    for (int i = 0; i < c->nf; i++) {
        free(c->f[i].path);
        free(c->f[i].count);
        for (int k = 0; k < c->f[i].nfn; k++) {
            free(c->f[i].fn[k].name);
        }
        free(c->f[i].fn);
    }
    free(c->f);
    free(c);
}

/* The driver's name of a source path: from its last "driver/" folder on;
 * NULL for every other file. */
static const char *driver_path(const char *sf)
{
    const char *p = NULL;

    for (const char *q = sf; (q = strstr(q, "driver/")); q++) {
        if (q == sf || q[-1] == '/') {
            p = q;
        }
    }
    return p;
}

/* Read an lcov tracefile's SF, FN and DA records (the driver's files). */
static CeCov *read_info(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    CeCov *c;
    CovFile *cur = NULL;
    char *line = NULL;
    size_t cap = 0;

    if (!f) {
        snprintf(err, errlen, "cannot read %s", path);
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        abort();
    }
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\r\n")] = 0;
        if (!strncmp(line, "SF:", 3)) {
            const char *d = driver_path(line + 3);

            cur = d ? cov_file(c, d) : NULL;
        } else if (!strcmp(line, "end_of_record")) {
            cur = NULL;
        } else if (cur && !strncmp(line, "FN:", 3)) {
            int ln = atoi(line + 3);
            const char *comma = strchr(line + 3, ',');

            if (comma && ln > 0) {
                cur->fn = xrealloc(cur->fn, sizeof(*cur->fn) * (size_t)(cur->nfn + 1));
                cur->fn[cur->nfn].name = strdup(comma + 1);
                cur->fn[cur->nfn++].line = ln;
            }
        } else if (cur && !strncmp(line, "DA:", 3)) {
            int ln = atoi(line + 3);
            const char *comma = strchr(line + 3, ',');

            if (comma) {
                set_line(cur, ln, strtoll(comma + 1, NULL, 10));
            }
        }
    }
    free(line);
    fclose(f);
    return c;
}

CeCov *ce_cov_capture(const char *artifacts, const char *name, char *err, size_t errlen)
{
    char root[4300], info[4300], log[4300];
    const char *script = getenv("GAUNTLET_GCOV_CAPTURE");
    const char *build = getenv("GAUNTLET_BUILD");
    GpResult res;
    CeCov *c;

    snprintf(root, sizeof(root), "%s/gcov/guest", artifacts);
    snprintf(info, sizeof(info), "%s/gcov/guest.info", artifacts);
    snprintf(log, sizeof(log), "%s/gcov/geninfo.log", artifacts);
    {
        char *argv[] = { (char *)(script && *script ? script : GAUNTLET_GCOV_CAPTURE), root,
                         (char *)name, info, (char *)(build && *build ? build : "/"), log,
                         NULL };
        GpSpec sp = { .argv = argv, .output = GP_OUT_CAPTURE, .cap = 4096,
                      .timeout_s = 300 };

        if (gp_run(&sp, &res) < 0 || gp_failed(&res)) {
            snprintf(err, errlen, "no gcov data read from %s: %s%s%s", root,
                     res.status == 1 ? "none there (a kernel without CONFIG_GCOV_KERNEL, or "
                     "a driver built without GCOV_PROFILE?)" : res.why,
                     res.out && *res.out ? ": " : "", res.out ? res.out : "");
            err[strcspn(err, "\n")] = 0;
            gp_result_free(&res);
            return NULL;
        }
        gp_result_free(&res);
    }
    c = read_info(info, err, errlen);
    if (c && !c->nf) {
        snprintf(err, errlen, "%s names no file of the driver (no driver/ folder)", info);
        ce_cov_free(c);
        return NULL;
    }
    return c;
}

static const CovFile *find_file(const CeCov *c, const char *path)
{
    for (int i = 0; i < c->nf; i++) {
        if (!strcmp(c->f[i].path, path)) {
            return &c->f[i];
        }
    }
    return NULL;
}

/* The function holding line ln: the last FN at or above it. */
static const char *fn_of(const CovFile *f, int ln)
{
    const char *best = NULL;
    int bl = 0;

    for (int i = 0; i < f->nfn; i++) {
        if (f->fn[i].line <= ln && f->fn[i].line >= bl) {
            best = f->fn[i].name;
            bl = f->fn[i].line;
        }
    }
    return best ? best : "(file scope)";
}

static void append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);

    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = xrealloc(*buf, *cap);
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

/* One function's new lines while they are gathered. */
typedef struct Group {
    json_object *o, *lines;
    const char *fn;
    char ranges[2048];
    int first, last, nl;
} Group;

static void close_range(Group *g)
{
    size_t rl = strlen(g->ranges);

    if (!g->first) {
        return;
    }
    if (g->first == g->last) {
        snprintf(g->ranges + rl, sizeof(g->ranges) - rl, "%s%d", rl ? ", " : "", g->first);
    } else {
        snprintf(g->ranges + rl, sizeof(g->ranges) - rl, "%s%d-%d", rl ? ", " : "", g->first,
                 g->last);
    }
    g->first = 0;
}

static void flush_group(Group *g, const char *path, json_object *arr, char **t, size_t *tlen,
                        size_t *tcap)
{
    char item[2600];

    close_range(g);
    if (!g->o) {
        return;
    }
    json_object_object_add(g->o, "ranges", json_object_new_string(g->ranges));
    json_object_object_add(g->o, "lines", g->lines);
    json_object_array_add(arr, g->o);
    snprintf(item, sizeof(item), "%s%s: line%s %s (%s)", *tlen ? "; " : "", g->fn,
             g->nl > 1 ? "s" : "", g->ranges, path);
    append(t, tlen, tcap, item);
    memset(g, 0, sizeof(*g));
}

json_object *ce_cov_new_paths(const CeCov *clean, const CeCov *run, char **text)
{
    json_object *arr = json_object_new_array();
    char *t = NULL;
    size_t tlen = 0, tcap = 0;

    append(&t, &tlen, &tcap, "");
    for (int i = 0; i < run->nf; i++) {
        const CovFile *f = &run->f[i];
        const CovFile *cf = find_file(clean, f->path);
        Group g;

        memset(&g, 0, sizeof(g));
        /* the instrumented lines in order; a new line is one this run
         * reached and the clean run did not */
        for (int ln = 1; ln < f->nline; ln++) {
            const char *fn;
            bool is_new;

            if (f->count[ln] < 0) {
                continue;
            }
            fn = fn_of(f, ln);
            is_new = f->count[ln] > 0 && !(cf && ln < cf->nline && cf->count[ln] > 0);
            if (g.o && strcmp(fn, g.fn)) {
                flush_group(&g, f->path, arr, &t, &tlen, &tcap);
            }
            if (!is_new) {
                close_range(&g);
                continue;
            }
            if (!g.o) {
                g.fn = fn;
                g.o = json_object_new_object();
                g.lines = json_object_new_array();
                json_object_object_add(g.o, "file", json_object_new_string(f->path));
                json_object_object_add(g.o, "function", json_object_new_string(fn));
            }
            json_object_array_add(g.lines, json_object_new_int(ln));
            g.nl++;
            if (!g.first) {
                g.first = ln;
            }
            g.last = ln;
        }
        flush_group(&g, f->path, arr, &t, &tlen, &tcap);
    }
    *text = t;
    return arr;
}
