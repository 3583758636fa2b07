/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet-coverage: merge lcov tracefiles and report on them.
 *
 *   gauntlet-coverage [OPTIONS] TRACEFILE...
 *
 * `gauntlet coverage` (scripts/coverage.sh) captures one lcov tracefile per
 * source of coverage -- the Check unit tests, the fuzz-corpus replay, the
 * QEMU device tests and every VM scenario (the module's gcov data from the
 * guest and Kestrel's from QEMU) -- each with its own test name (TN:).
 * This tool puts them together:
 *
 *   - source paths are rewritten (--map OLD=NEW, --root) so that the same
 *     file compiled in different places (the module's Kbuild copy, QEMU's
 *     hw/kestrel overlay, the unit-test build) is one file, named relative
 *     to the repository: tracefiles from other machines and CI shards merge;
 *   - --keep limits the report to our sources;
 *   - the merged tracefile (--info) keeps one record per test name, so it
 *     can be merged again and still tells the sources apart; genhtml reads it;
 *   - --gcovr writes the union in gcovr's JSON format (0.3), which gcovr
 *     turns into Cobertura XML (gcovr --add-tracefile F --cobertura X);
 *   - the summary (stdout, and --summary FILE) has a line per file, the
 *     goals (--goal), the contribution of each test name (lines, functions,
 *     the functions only it reaches, and the test names that add nothing),
 *     and every function nothing reaches, with the reason from --notes.
 *
 * Exit status: 0; 1 with --fail-under when a goal is missed; 2 on bad usage
 * or a malformed tracefile (file:line: what is wrong).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE_NO 1000000

typedef struct Br {
    int block, branch;
    long long taken;            /* -1: the block never ran ("-") */
} Br;

typedef struct Line {
    long long count;
    bool instr;
    Br *br;
    int nbr;
} Line;

typedef struct Func {
    char *name;
    int line;
    long long count;
} Func;

typedef struct Rec {
    int tn, file;               /* indices into names[] and files[] */
    Line *lines;
    int nlines;                 /* allocated: lines[0..nlines) */
    Func *fn;
    int nfn;
} Rec;

typedef struct Goal {
    char name[64];
    char *prefixes[8];
    int nprefix;
    double min_line, min_branch, min_func;   /* < 0: no goal */
} Goal;

typedef struct Note {
    char *file, *func, *why;
    bool used;
} Note;

static char **tns, **files;
static int ntn, nfile;
static Rec *recs;
static int nrec;
static char *maps_old[64], *maps_new[64];
static int nmap;
static char *keeps[64];
static int nkeep;
static const char *root;
static Goal goals[16];
static int ngoal;
static Note *notes;
static int nnote;

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "gauntlet-coverage: out of memory\n");
        exit(2);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);

    if (!d) {
        fprintf(stderr, "gauntlet-coverage: out of memory\n");
        exit(2);
    }
    return d;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;

    fputs("gauntlet-coverage: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static int intern(char ***tab, int *n, const char *s)
{
    for (int i = 0; i < *n; i++) {
        if (!strcmp((*tab)[i], s)) {
            return i;
        }
    }
    *tab = xrealloc(*tab, sizeof(**tab) * (size_t)(*n + 1));
    (*tab)[*n] = xstrdup(s);
    return (*n)++;
}

static Rec *rec_for(int tn, int file)
{
    for (int i = 0; i < nrec; i++) {
        if (recs[i].tn == tn && recs[i].file == file) {
            return &recs[i];
        }
    }
    recs = xrealloc(recs, sizeof(*recs) * (size_t)(nrec + 1));
    memset(&recs[nrec], 0, sizeof(recs[nrec]));
    recs[nrec].tn = tn;
    recs[nrec].file = file;
    return &recs[nrec++];
}

static Line *line_at(Rec *r, int no)
{
    if (no >= r->nlines) {
        int n = no + 64;

        r->lines = xrealloc(r->lines, sizeof(*r->lines) * (size_t)n);
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
    l->br = xrealloc(l->br, sizeof(*l->br) * (size_t)(l->nbr + 1));
    l->br[l->nbr].block = block;
    l->br[l->nbr].branch = branch;
    l->br[l->nbr].taken = taken;
    l->nbr++;
}

static Func *func_of(Rec *r, const char *name)
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
    Func *f = func_of(r, name);

    if (!f) {
        r->fn = xrealloc(r->fn, sizeof(*r->fn) * (size_t)(r->nfn + 1));
        f = &r->fn[r->nfn++];
        f->name = xstrdup(name);
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
    for (int i = 0; i < nmap; i++) {
        size_t n = strlen(maps_old[i]);

        if (!strncmp(sf, maps_old[i], n)) {
            snprintf(buf, sizeof(buf), "%s%s", maps_new[i], sf + n);
            p = buf;
            break;
        }
    }
    if (p != buf) {
        snprintf(buf, sizeof(buf), "%s", sf);
    }
    if (root) {
        size_t n = strlen(root);

        if (!strncmp(buf, root, n) && buf[n] == '/') {
            memmove(buf, buf + n + 1, strlen(buf + n + 1) + 1);
        }
    }
    if (nkeep) {
        bool ok = false;

        for (int i = 0; i < nkeep && !ok; i++) {
            ok = !strncmp(buf, keeps[i], strlen(keeps[i]));
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

static void read_tracefile(const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, tn[256] = "", base[256];
    size_t cap = 0;
    ssize_t len;
    long no = 0;
    Rec *r = NULL;
    bool skip = false;

    if (!f) {
        die("%s: %s", path, strerror(errno));
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
            die("%s:%ld: not a tracefile line: '%.80s'", path, no, line);
        }
        *v++ = 0;
        if (!strcmp(line, "TN")) {
            snprintf(tn, sizeof(tn), "%s", v);
            continue;
        }
        if (!strcmp(line, "SF")) {
            char *rp = report_path(v);

            skip = !rp;
            r = skip ? NULL : rec_for(intern(&tns, &ntn, *tn ? tn : base),
                                      intern(&files, &nfile, rp));
            continue;
        }
        if (skip) {
            continue;
        }
        if (!r && strcmp(line, "VER")) {
            die("%s:%ld: '%s' outside a record (no SF: before it)", path, no, line);
        }
        if (!strcmp(line, "DA")) {
            comma = strchr(v, ',');
            if (!comma || !parse_ll(v, &a) || !parse_ll(comma + 1, &b) ||
                a <= 0 || a > MAX_LINE_NO || b < 0) {
                die("%s:%ld: bad DA line '%.80s'", path, no, v);
            }
            add_line(r, (int)a, b);
        } else if (!strcmp(line, "FN")) {
            comma = strchr(v, ',');
            if (!comma || !parse_ll(v, &a) || a < 0 || a > MAX_LINE_NO || !comma[1]) {
                die("%s:%ld: bad FN line '%.80s'", path, no, v);
            }
            add_func(r, comma + 1, (int)a, 0);
        } else if (!strcmp(line, "FNDA")) {
            comma = strchr(v, ',');
            if (!comma || !parse_ll(v, &a) || a < 0 || !comma[1]) {
                die("%s:%ld: bad FNDA line '%.80s'", path, no, v);
            }
            add_func(r, comma + 1, 0, a);
        } else if (!strcmp(line, "BRDA")) {
            char *p1 = strchr(v, ','), *p2 = p1 ? strchr(p1 + 1, ',') : NULL;
            char *p3 = p2 ? strchr(p2 + 1, ',') : NULL;

            if (!p3 || !parse_ll(v, &a) || !parse_ll(p1 + 1, &b) ||
                !parse_ll(p2 + 1, &c) || a <= 0 || a > MAX_LINE_NO ||
                b < 0 || c < 0 || b > 1000000 || c > 1000000) {
                die("%s:%ld: bad BRDA line '%.80s'", path, no, v);
            }
            if (!strcmp(p3 + 1, "-")) {
                d = -1;
            } else if (!parse_ll(p3 + 1, &d) || d < 0) {
                die("%s:%ld: bad BRDA count '%.80s'", path, no, p3 + 1);
            }
            add_branch(r, (int)a, (int)b, (int)c, d);
        } else if (!strcmp(line, "FNF") || !strcmp(line, "FNH") ||
                   !strcmp(line, "LF") || !strcmp(line, "LH") ||
                   !strcmp(line, "BRF") || !strcmp(line, "BRH") ||
                   !strcmp(line, "VER")) {
            /* totals are recomputed */
        } else {
            die("%s:%ld: unknown tracefile key '%s'", path, no, line);
        }
    }
    if (r) {
        die("%s: last record has no end_of_record (truncated?)", path);
    }
    free(line);
    fclose(f);
}

/* ---- totals ------------------------------------------------------------ */

typedef struct Tot {
    long lf, lh, fnf, fnh, brf, brh;
} Tot;

static void rec_totals(const Rec *r, Tot *t)
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

/* The union of every test name's record of file f (caller frees). */
static Rec *union_of(int f, int except_tn)
{
    Rec *u = calloc(1, sizeof(*u));

    if (!u) {
        die("out of memory");
    }
    u->tn = -1;
    u->file = f;
    for (int i = 0; i < nrec; i++) {
        const Rec *r = &recs[i];

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

static void rec_free(Rec *r)
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

/* ---- outputs ----------------------------------------------------------- */

static int cmp_str_idx(const void *a, const void *b)
{
    return strcmp(files[*(const int *)a], files[*(const int *)b]);
}

static void write_rec(FILE *f, const Rec *r, const char *tn)
{
    Tot t;

    rec_totals(r, &t);
    fprintf(f, "TN:%s\nSF:%s\n", tn, files[r->file]);
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

static void write_info(const char *path)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        die("%s: %s", path, strerror(errno));
    }
    for (int t = 0; t < ntn; t++) {
        for (int i = 0; i < nrec; i++) {
            if (recs[i].tn == t) {
                write_rec(f, &recs[i], tns[t]);
            }
        }
    }
    if (fclose(f)) {
        die("%s: %s", path, strerror(errno));
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
static void write_gcovr(const char *path, const int *order)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        die("%s: %s", path, strerror(errno));
    }
    fputs("{\"gcovr/format_version\": \"0.3\", \"files\": [", f);
    for (int k = 0; k < nfile; k++) {
        Rec *u = union_of(order[k], -1);
        bool first = true;

        fprintf(f, "%s\n {\"file\": ", k ? "," : "");
        json_str(f, files[order[k]]);
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
        rec_free(u);
        free(u);
    }
    fputs("\n]}\n", f);
    if (fclose(f)) {
        die("%s: %s", path, strerror(errno));
    }
}

/* ---- the summary --------------------------------------------------------- */

static FILE *sum_f;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (sum_f) {
        va_start(ap, fmt);
        vfprintf(sum_f, fmt, ap);
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
    for (int i = 0; i < nnote; i++) {
        if (!strcmp(notes[i].file, file) && !strcmp(notes[i].func, func)) {
            notes[i].used = true;
            return &notes[i];
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
    for (int i = 0; i < nrec; i++) {
        if (recs[i].tn == tn && recs[i].file == file) {
            return &recs[i];
        }
    }
    return NULL;
}

static int report(const int *order, bool fail_under)
{
    Rec **u = calloc((size_t)nfile, sizeof(*u));
    Tot all = { 0 };
    int missed = 0;

    if (!u) {
        die("out of memory");
    }
    say("%-44s %-22s %-18s %s\n", "file", "   lines", "   functions", "   branches");
    for (int k = 0; k < nfile; k++) {
        int f = order[k];
        Tot t;

        u[f] = union_of(f, -1);
        rec_totals(u[f], &t);
        say_row(files[f], &t);
        tot_add(&all, &t);
    }
    say_row("total", &all);

    if (ngoal) {
        say("\ngoals\n");
    }
    for (int g = 0; g < ngoal; g++) {
        Tot t = { 0 };
        char buf[512];
        int n = 0;

        for (int f = 0; f < nfile; f++) {
            Tot x;

            if (!in_goal(&goals[g], files[f])) {
                continue;
            }
            rec_totals(u[f], &x);
            tot_add(&t, &x);
        }
        buf[0] = 0;
        missed += goal_part(buf, &n, sizeof(buf), "lines", t.lh, t.lf,
                            goals[g].min_line);
        missed += goal_part(buf, &n, sizeof(buf), "branches", t.brh, t.brf,
                            goals[g].min_branch);
        missed += goal_part(buf, &n, sizeof(buf), "functions", t.fnh, t.fnf,
                            goals[g].min_func);
        say("  %-14s%s\n", goals[g].name, buf);
    }

    /* what each test name contributes */
    say("\ncontribution (lines and functions each source reaches; 'only' = "
        "functions no other source reaches)\n");
    say("  %-40s %8s %6s %5s\n", "source", "lines", "funcs", "only");
    {
        int nothing = 0;

        for (int t = 0; t < ntn; t++) {
            long lh = 0, fh = 0, only = 0, new_lines = 0;
            char onlyl[1024] = "";
            size_t ol = 0;

            for (int f = 0; f < nfile; f++) {
                const Rec *r = find_rec(t, f);
                Rec *others;

                if (!r) {
                    continue;
                }
                others = union_of(f, t);
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
                    o = func_of(others, r->fn[i].name);
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
                rec_free(others);
                free(others);
            }
            if (only > 8) {
                snprintf(onlyl + ol, sizeof(onlyl) - ol, " (+%ld more)", only - 8);
            }
            say("  %-40s %8ld %6ld %5ld%s%s\n", tns[t], lh, fh, only,
                only ? "  " : "", onlyl);
            if (!new_lines) {
                nothing++;
                say("  %-40s   adds nothing: every line it reaches, another "
                    "source reaches too\n", "");
            }
        }
        say("  %d source(s), %d of which add nothing\n", ntn, nothing);
    }

    /* what nothing reaches */
    say("\nfunctions nothing reaches\n");
    {
        int n = 0;

        for (int k = 0; k < nfile; k++) {
            int f = order[k];

            for (int i = 0; i < u[f]->nfn; i++) {
                const Note *no;

                if (u[f]->fn[i].count > 0) {
                    continue;
                }
                n++;
                no = note_for(files[f], u[f]->fn[i].name);
                say("  %s:%d %s: %s\n", files[f], u[f]->fn[i].line,
                    u[f]->fn[i].name, no ? no->why : "(no note: not reached by "
                    "any test yet)");
            }
        }
        if (!n) {
            say("  none\n");
        }
    }
    for (int i = 0; i < nnote; i++) {
        if (!notes[i].used) {
            bool reached = false;

            for (int f = 0; f < nfile && !reached; f++) {
                const Func *fn;

                if (strcmp(files[f], notes[i].file)) {
                    continue;
                }
                fn = func_of(u[f], notes[i].func);
                reached = fn && fn->count > 0;
            }
            if (reached) {
                say("  note: %s:%s is now reached; its note in the notes file "
                    "is stale\n", notes[i].file, notes[i].func);
            }
        }
    }
    for (int f = 0; f < nfile; f++) {
        if (u[f]) {
            rec_free(u[f]);
            free(u[f]);
        }
    }
    free(u);
    return fail_under && missed ? 1 : 0;
}

/* ---- options ------------------------------------------------------------ */

/* NAME=PREFIX[,PREFIX...]:line>=N[,branch>=N][,functions>=N] */
static void parse_goal(const char *arg)
{
    Goal *g;
    char *s, *eq, *colon, *tok, *save = NULL;

    if (ngoal >= (int)(sizeof(goals) / sizeof(goals[0]))) {
        die("too many --goal");
    }
    g = &goals[ngoal];
    g->min_line = g->min_branch = g->min_func = -1;
    s = xstrdup(arg);
    eq = strchr(s, '=');
    colon = eq ? strchr(eq, ':') : NULL;
    if (!eq || !colon || eq == s || (size_t)(eq - s) >= sizeof(g->name)) {
        die("--goal '%s': expected NAME=PREFIX[,PREFIX]:line>=N[,branch>=N]", arg);
    }
    *eq = *colon = 0;
    snprintf(g->name, sizeof(g->name), "%s", s);
    for (tok = strtok_r(eq + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (g->nprefix >= 8) {
            die("--goal '%s': at most 8 prefixes", arg);
        }
        g->prefixes[g->nprefix++] = xstrdup(tok);
    }
    save = NULL;
    for (tok = strtok_r(colon + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *ge = strstr(tok, ">="), *end;
        double v;

        if (!ge) {
            die("--goal '%s': '%s' is not METRIC>=N", arg, tok);
        }
        *ge = 0;
        v = strtod(ge + 2, &end);
        if (end == ge + 2 || *end || v < 0 || v > 100) {
            die("--goal '%s': bad percentage '%s'", arg, ge + 2);
        }
        if (!strcmp(tok, "line")) {
            g->min_line = v;
        } else if (!strcmp(tok, "branch")) {
            g->min_branch = v;
        } else if (!strcmp(tok, "functions")) {
            g->min_func = v;
        } else {
            die("--goal '%s': unknown metric '%s' (line, branch, functions)", arg, tok);
        }
    }
    if (!g->nprefix) {
        die("--goal '%s': no prefix", arg);
    }
    ngoal++;
    free(s);
}

/* Lines "path:function: why"; '#' comments and blank lines ignored. */
static void read_notes(const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long no = 0;

    if (!f) {
        die("%s: %s", path, strerror(errno));
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        char *c1, *c2, *why;

        no++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' ')) {
            line[--len] = 0;
        }
        if (!len || line[0] == '#') {
            continue;
        }
        c1 = strchr(line, ':');
        c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || c1 == line || c2 == c1 + 1) {
            die("%s:%ld: expected 'path:function: why'", path, no);
        }
        *c1 = *c2 = 0;
        why = c2 + 1;
        while (*why == ' ') {
            why++;
        }
        if (!*why) {
            die("%s:%ld: a note needs its reason", path, no);
        }
        notes = xrealloc(notes, sizeof(*notes) * (size_t)(nnote + 1));
        notes[nnote].file = xstrdup(line);
        notes[nnote].func = xstrdup(c1 + 1);
        notes[nnote].why = xstrdup(why);
        notes[nnote].used = false;
        nnote++;
    }
    free(line);
    fclose(f);
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: gauntlet-coverage [OPTIONS] TRACEFILE...\n"
"  --root DIR          name sources relative to DIR (the repository)\n"
"  --map OLD=NEW       rewrite source paths starting with OLD (repeatable;\n"
"                      the first match wins; applied before --root)\n"
"  --keep PREFIX       report only sources whose relative path starts with\n"
"                      PREFIX (repeatable)\n"
"  --info FILE         write the merged tracefile (one record per test name)\n"
"  --gcovr FILE        write the union as gcovr JSON (for gcovr --cobertura)\n"
"  --summary FILE      also write the summary to FILE\n"
"  --goal NAME=PREFIX[,PREFIX]:line>=N[,branch>=N][,functions>=N]\n"
"  --notes FILE        why functions are not reached: 'path:function: why'\n"
"  --fail-under        exit 1 when a goal is missed\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "root", required_argument, NULL, 'r' },
        { "map", required_argument, NULL, 'm' },
        { "keep", required_argument, NULL, 'k' },
        { "info", required_argument, NULL, 'i' },
        { "gcovr", required_argument, NULL, 'g' },
        { "summary", required_argument, NULL, 's' },
        { "goal", required_argument, NULL, 'G' },
        { "notes", required_argument, NULL, 'n' },
        { "fail-under", no_argument, NULL, 'F' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *info = NULL, *gcovr = NULL, *summary = NULL;
    bool fail_under = false;
    int c, *order, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': {
            size_t n;

            root = xstrdup(optarg);
            n = strlen(root);
            while (n > 1 && root[n - 1] == '/') {
                ((char *)root)[--n] = 0;
            }
            break;
        }
        case 'm': {
            char *eq = strchr(optarg, '=');

            if (!eq || eq == optarg || nmap >= 64) {
                die("--map '%s': expected OLD=NEW (at most 64)", optarg);
            }
            maps_old[nmap] = xstrdup(optarg);
            maps_old[nmap][eq - optarg] = 0;
            maps_new[nmap] = xstrdup(eq + 1);
            nmap++;
            break;
        }
        case 'k':
            if (nkeep >= 64) {
                die("at most 64 --keep");
            }
            keeps[nkeep++] = xstrdup(optarg);
            break;
        case 'i':
            info = optarg;
            break;
        case 'g':
            gcovr = optarg;
            break;
        case 's':
            summary = optarg;
            break;
        case 'G':
            parse_goal(optarg);
            break;
        case 'n':
            read_notes(optarg);
            break;
        case 'F':
            fail_under = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    for (int i = optind; i < argc; i++) {
        read_tracefile(argv[i]);
    }
    if (!nfile) {
        die("no source file left in the tracefiles (check --keep and --map)");
    }
    order = xrealloc(NULL, sizeof(*order) * (size_t)nfile);
    for (int i = 0; i < nfile; i++) {
        order[i] = i;
    }
    qsort(order, (size_t)nfile, sizeof(*order), cmp_str_idx);
    if (summary && !(sum_f = fopen(summary, "w"))) {
        die("%s: %s", summary, strerror(errno));
    }
    if (info) {
        write_info(info);
    }
    if (gcovr) {
        write_gcovr(gcovr, order);
    }
    rc = report(order, fail_under);
    if (sum_f && fclose(sum_f)) {
        die("%s: %s", summary, strerror(errno));
    }
    free(order);
    return rc;
}
