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
 * The files: coverage.c (options, main), coverage_merge.c (the records,
 * reading tracefiles, path mapping), coverage_output.c (the merged
 * tracefile, gcovr JSON) and coverage_summary.c (totals, goals, the
 * summary); coverage_priv.h holds what they share.
 *
 * Exit status: 0; 1 with --fail-under when a goal is missed; 2 on bad usage
 * or a malformed tracefile (file:line: what is wrong).
 */
#define _GNU_SOURCE
#include "coverage_priv.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the options (see usage()) */
char *cov_maps_old[64], *cov_maps_new[64];
int cov_nmap;
char *cov_keeps[64];
int cov_nkeep;
const char *cov_root;
Goal cov_goals[16];
int cov_ngoal;
Note *cov_notes;
int cov_nnote;

void *cov_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "gauntlet-coverage: out of memory\n");
        exit(2);
    }
    return p;
}

char *cov_xstrdup(const char *s)
{
    char *d = strdup(s);

    if (!d) {
        fprintf(stderr, "gauntlet-coverage: out of memory\n");
        exit(2);
    }
    return d;
}

void cov_die(const char *fmt, ...)
{
    va_list ap;

    fputs("gauntlet-coverage: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* ---- options ------------------------------------------------------------ */

static int cmp_str_idx(const void *a, const void *b)
{
    return strcmp(cov_files[*(const int *)a], cov_files[*(const int *)b]);
}

/* NAME=PREFIX[,PREFIX...]:line>=N[,branch>=N][,functions>=N] */
static void parse_goal(const char *arg)
{
    Goal *g;
    char *s, *eq, *colon, *tok, *save = NULL;

    if (cov_ngoal >= (int)(sizeof(cov_goals) / sizeof(cov_goals[0]))) {
        cov_die("too many --goal");
    }
    g = &cov_goals[cov_ngoal];
    g->min_line = g->min_branch = g->min_func = -1;
    s = cov_xstrdup(arg);
    eq = strchr(s, '=');
    colon = eq ? strchr(eq, ':') : NULL;
    if (!eq || !colon || eq == s || (size_t)(eq - s) >= sizeof(g->name)) {
        cov_die("--goal '%s': expected NAME=PREFIX[,PREFIX]:line>=N[,branch>=N]", arg);
    }
    *eq = *colon = 0;
    snprintf(g->name, sizeof(g->name), "%s", s);
    for (tok = strtok_r(eq + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (g->nprefix >= 8) {
            cov_die("--goal '%s': at most 8 prefixes", arg);
        }
        g->prefixes[g->nprefix++] = cov_xstrdup(tok);
    }
    save = NULL;
    for (tok = strtok_r(colon + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *ge = strstr(tok, ">="), *end;
        double v;

        if (!ge) {
            cov_die("--goal '%s': '%s' is not METRIC>=N", arg, tok);
        }
        *ge = 0;
        v = strtod(ge + 2, &end);
        if (end == ge + 2 || *end || v < 0 || v > 100) {
            cov_die("--goal '%s': bad percentage '%s'", arg, ge + 2);
        }
        if (!strcmp(tok, "line")) {
            g->min_line = v;
        } else if (!strcmp(tok, "branch")) {
            g->min_branch = v;
        } else if (!strcmp(tok, "functions")) {
            g->min_func = v;
        } else {
            cov_die("--goal '%s': unknown metric '%s' (line, branch, functions)", arg, tok);
        }
    }
    if (!g->nprefix) {
        cov_die("--goal '%s': no prefix", arg);
    }
    cov_ngoal++;
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
        cov_die("%s: %s", path, strerror(errno));
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
            cov_die("%s:%ld: expected 'path:function: why'", path, no);
        }
        *c1 = *c2 = 0;
        why = c2 + 1;
        while (*why == ' ') {
            why++;
        }
        if (!*why) {
            cov_die("%s:%ld: a note needs its reason", path, no);
        }
        cov_notes = cov_xrealloc(cov_notes, sizeof(*cov_notes) * (size_t)(cov_nnote + 1));
        cov_notes[cov_nnote].file = cov_xstrdup(line);
        cov_notes[cov_nnote].func = cov_xstrdup(c1 + 1);
        cov_notes[cov_nnote].why = cov_xstrdup(why);
        cov_notes[cov_nnote].used = false;
        cov_nnote++;
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

            cov_root = cov_xstrdup(optarg);
            n = strlen(cov_root);
            while (n > 1 && cov_root[n - 1] == '/') {
                ((char *)cov_root)[--n] = 0;
            }
            break;
        }
        case 'm': {
            char *eq = strchr(optarg, '=');

            if (!eq || eq == optarg || cov_nmap >= 64) {
                cov_die("--map '%s': expected OLD=NEW (at most 64)", optarg);
            }
            cov_maps_old[cov_nmap] = cov_xstrdup(optarg);
            cov_maps_old[cov_nmap][eq - optarg] = 0;
            cov_maps_new[cov_nmap] = cov_xstrdup(eq + 1);
            cov_nmap++;
            break;
        }
        case 'k':
            if (cov_nkeep >= 64) {
                cov_die("at most 64 --keep");
            }
            cov_keeps[cov_nkeep++] = cov_xstrdup(optarg);
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
        cov_read_tracefile(argv[i]);
    }
    if (!cov_nfile) {
        cov_die("no source file left in the tracefiles (check --keep and --map)");
    }
    order = cov_xrealloc(NULL, sizeof(*order) * (size_t)cov_nfile);
    for (int i = 0; i < cov_nfile; i++) {
        order[i] = i;
    }
    qsort(order, (size_t)cov_nfile, sizeof(*order), cmp_str_idx);
    if (summary && !(cov_sum_f = fopen(summary, "w"))) {
        cov_die("%s: %s", summary, strerror(errno));
    }
    if (info) {
        cov_write_info(info);
    }
    if (gcovr) {
        cov_write_gcovr(gcovr, order);
    }
    rc = cov_report(order, fail_under);
    if (cov_sum_f && fclose(cov_sum_f)) {
        cov_die("%s: %s", summary, strerror(errno));
    }
    free(order);
    return rc;
}
