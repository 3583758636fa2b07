/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet-coverage's private header: the records, goals and notes, the
 * state the files share and their shared functions.  coverage.c maps the
 * files.
 */
#ifndef GAUNTLET_COVERAGE_PRIV_H
#define GAUNTLET_COVERAGE_PRIV_H

#include <stdbool.h>
#include <stdio.h>

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

typedef struct Tot {
    long lf, lh, fnf, fnh, brf, brh;
} Tot;

/* coverage_merge.c */
extern char **cov_tns, **cov_files;
extern int cov_ntn, cov_nfile;
extern Rec *cov_recs;
extern int cov_nrec;

/* coverage.c: the options */
extern char *cov_maps_old[64], *cov_maps_new[64];
extern int cov_nmap;
extern char *cov_keeps[64];
extern int cov_nkeep;
extern const char *cov_root;
extern Goal cov_goals[16];
extern int cov_ngoal;
extern Note *cov_notes;
extern int cov_nnote;

/* coverage_summary.c: the --summary file, or NULL */
extern FILE *cov_sum_f;

/* coverage.c */
void *cov_xrealloc(void *p, size_t n);
char *cov_xstrdup(const char *s);
void cov_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* coverage_merge.c */
Func *cov_func_of(Rec *r, const char *name);
void cov_read_tracefile(const char *path);
Rec *cov_union_of(int f, int except_tn);
void cov_rec_free(Rec *r);

/* coverage_output.c */
void cov_write_info(const char *path);
void cov_write_gcovr(const char *path, const int *order);

/* coverage_summary.c */
void cov_rec_totals(const Rec *r, Tot *t);
int cov_report(const int *order, bool fail_under);

#endif
