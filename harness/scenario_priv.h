/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scenario parser's private header (scenario.h is the public one): the
 * arenas, the node tree libyaml's events are loaded into, the parse
 * context, key specs (how a mapping's keys are typed and checked) and the
 * helpers the parser's files share:
 *
 *   scenario.c         input checks, YAML -> node tree, the top level, API
 *   scenario_values.c  scalar typing, suggestions, regex checks, key specs
 *   scenario_steps.c   every step's keys and checks (the step table)
 *   scenario_dump.c    gs_dump(), the canonical form
 *   scenario_capture.c captured values: names, ${NAME} expansion, checks
 */
#ifndef GAUNTLET_SCENARIO_PRIV_H
#define GAUNTLET_SCENARIO_PRIV_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "scenario.h"

/* ---- arena ------------------------------------------------------------ */

typedef struct Chunk {
    struct Chunk *next;
    size_t used, cap;
} Chunk;

#define CHUNK_HDR   ((sizeof(Chunk) + 15) & ~(size_t)15)
#define CHUNK_SIZE  (64 * 1024)

typedef struct Arena {
    Chunk *head;
} Arena;

/* ---- node tree -------------------------------------------------------- */

typedef enum NodeKind { N_SCALAR, N_SEQ, N_MAP } NodeKind;

typedef struct Node {
    NodeKind kind;
    int line, col;              /* 1-based */
    size_t off;                 /* byte offset of the start mark */
    size_t end_off;
    yaml_scalar_style_t style;
    char *val;                  /* scalars: NUL-terminated */
    size_t len;
    struct Node *first, *last, *next;
    size_t n;                   /* children; a map's are key, value, ... */
} Node;

/* ---- context and errors ---------------------------------------------- */

typedef struct Running {
    const char *name;
    int line, col;
    int depth;
} Running;

typedef struct Ctx {
    jmp_buf jb;
    const char *name;
    const unsigned char *text;
    size_t len;
    GsError *err;
    Arena tmp;
    Arena *out;
    yaml_parser_t parser;
    bool parser_live;
    yaml_event_t ev;
    bool ev_live;
    GsScenario *sc;
    int nrules;
    size_t total_steps;
    Running *running;
    size_t nrunning;
    Running *captures;          /* capture names visible here (depth: the
                                   step list that captured them) */
    size_t ncaptures;
    bool ok;
} Ctx;

/* ---- key specs -------------------------------------------------------- */

typedef enum KType {
    K_STR,      /* any scalar as text; imin/imax: length bounds (0 = none) */
    K_IDENT,    /* [a-z0-9][a-z0-9._-]*, at most GS_MAX_NAME */
    K_INT,      /* imin..imax */
    K_FLOAT,    /* fmin..fmax, integers accepted */
    K_BOOL,
    K_ENUM,     /* names[] -> int (index + ebase) */
    K_REGEX,    /* string that compiles as a POSIX ERE */
    K_ANY,      /* checked by the step's own code */
} KType;

#define NOSTORE ((size_t)-1)

typedef struct KeySpec {
    const char *name;
    KType type;
    size_t off;                 /* into GsStep, or NOSTORE */
    bool required;
    int64_t imin, imax;
    double fmin, fmax;
    const char *const *names;   /* K_ENUM, NULL-terminated */
    int ebase;
    int64_t di;                 /* defaults */
    double df;
    const char *ds;
} KeySpec;

#define MAX_KEYS 16

/* ---- names of enumerated values (scenario_steps.c) ------------------------- */

extern const char *const gsp_expect_names[];
extern const char *const gsp_kernel_names[];
extern const char *const gsp_iommu_names[];
extern const char *const gsp_hotplug_names[];
extern const char *const gsp_suspend_names[];
extern const char *const gsp_level_names[];
extern const char *const gsp_kfault_names[];
extern const char *const gsp_source_names[];
extern const char *const gsp_cut_names[];
extern const char *const gsp_op_names[];
extern const char *const gsp_op_words[];

/* ---- captured values (scenario_capture.c) ------------------------------- */

/* A run step's capture (v: its value): a good name, now visible. */
void gsp_run_capture(Ctx *c, GsStep *st, const Node *v, int depth);
/* A step list at depth+1 ended: its captures are no longer visible. */
void gsp_end_captures(Ctx *c, int depth);
/* A faults step's ${NAME}s: each captured before; sets check_text. */
void gsp_faults_captures(Ctx *c, GsStep *st, const Node *v);
size_t gsp_source_col(const char *src, size_t col);

/* ---- shared helpers --------------------------------------------------------- */

void gsp_apply_map(Ctx *c, const Node *map, const KeySpec *specs,
    void *base, const Node **found, const char *what,
    int line, int col);
const char *gsp_describe(const Node *n, char *buf, size_t bufsz);
/* Raise a parse error at line:col (1-based): fills the GsError and
 * longjmps back to gs_parse_string(). */
_Noreturn void gsp_fail(Ctx *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool gsp_is_ident(const char *s, size_t len);
bool gsp_is_null(const Node *n);
bool gsp_is_plain(const Node *n);
void gsp_join_names(const char *const *names, size_t n, char *buf,
    size_t bufsz);
void *gsp_out_alloc(Ctx *c, size_t n);
const char *gsp_out_strdup(Ctx *c, const char *s, size_t len);
bool gsp_parse_bool(const Node *n, bool *v);
int gsp_parse_int(const Node *n, int64_t *v);
void gsp_parse_steps(Ctx *c, const Node *seq, int depth, GsStep **out,
    size_t *nout, const char *where);
const char *gsp_show(const char *s, size_t len, char *buf, size_t bufsz);
const Node *gsp_spec_found(const KeySpec *specs, const Node **found,
    const char *name);
const char *gsp_suggest(const char *s, size_t len, const char *const *names,
    size_t n);

#endif /* GAUNTLET_SCENARIO_PRIV_H */
