/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet scenario parser: YAML (libyaml event API) -> a small node tree
 * -> validated, typed GsScenario.  See docs/scenarios.md for the format.
 *
 * Errors are raised with gsp_fail(), which fills the GsError and longjmps
 * back to gs_parse_string(); everything allocated on the way lives in one
 * of two arenas (the node tree's, freed on return, and the scenario's,
 * freed by gs_free() or on error), so an error anywhere cannot leak.  The
 * only other resources (the libyaml parser and its current event, a
 * compiled regex) are released before any gsp_fail() can happen or
 * tracked in the context.
 *
 * This file: arenas, errors, input checks, the node tree, the top level
 * and the API.  scenario_priv.h maps the others.
 */
#define _POSIX_C_SOURCE 200809L

#include "scenario_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

static void *arena_try_alloc(Arena *a, size_t n)
{
    Chunk *c = a->head;

    n = (n + 15) & ~(size_t)15;
    if (n == 0) {
        n = 16;
    }
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK_SIZE ? n : CHUNK_SIZE;

        c = malloc(CHUNK_HDR + cap);
        if (!c) {
            return NULL;
        }
        c->used = 0;
        c->cap = cap;
        if (a->head && n > CHUNK_SIZE) {
            /* keep filling the current chunk after a big allocation */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    c->used += n;
    return memset((char *)c + CHUNK_HDR + c->used - n, 0, n);
}

static void arena_free(Arena *a)
{
    Chunk *c = a->head;

    while (c) {
        Chunk *next = c->next;

        free(c);
        c = next;
    }
    a->head = NULL;
}

static void set_error(GsError *err, const char *file, int line, int col,
                      const char *msg)
{
    if (!err) {
        return;
    }
    snprintf(err->file, sizeof(err->file), "%s", file ? file : "<input>");
    err->line = line;
    err->col = col;
    snprintf(err->msg, sizeof(err->msg), "%s", msg);
    if (line > 0) {
        snprintf(err->text, sizeof(err->text), "%s:%d:%d: %s", err->file,
                 line, col, err->msg);
    } else {
        snprintf(err->text, sizeof(err->text), "%s: %s", err->file, err->msg);
    }
}

_Noreturn void __attribute__((format(printf, 4, 5)))
gsp_fail(Ctx *c, int line, int col, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    set_error(c->err, c->name, line, col, msg);
    longjmp(c->jb, 1);
}

static void *tmp_alloc(Ctx *c, size_t n)
{
    void *p = arena_try_alloc(&c->tmp, n);

    if (!p) {
        gsp_fail(c, 0, 0, "out of memory");
    }
    return p;
}

void *gsp_out_alloc(Ctx *c, size_t n)
{
    void *p = arena_try_alloc(c->out, n);

    if (!p) {
        gsp_fail(c, 0, 0, "out of memory");
    }
    return p;
}

const char *gsp_out_strdup(Ctx *c, const char *s, size_t len)
{
    char *p = gsp_out_alloc(c, len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* Show a string in a message: quoted, truncated, control bytes escaped. */
const char *gsp_show(const char *s, size_t len, char *buf, size_t bufsz)
{
    size_t i, o = 0;
    const size_t max = 48;

    buf[o++] = '\'';
    for (i = 0; i < len && i < max && o + 6 < bufsz; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch < 0x20 || ch == 0x7f) {
            o += (size_t)snprintf(buf + o, bufsz - o, "\\x%02x", ch);
        } else {
            buf[o++] = (char)ch;
        }
    }
    if (i < len && o + 5 < bufsz) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

/* ---- input checks ----------------------------------------------------- */

/* Length of a valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char b = p[0];
    size_t len, i;
    uint32_t cp;

    if (b < 0x80) {
        return 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
        len = 2;
        cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
        len = 3;
        cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4;
        cp = b & 0x07;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return len;
}

static void check_input(Ctx *c)
{
    const unsigned char *t = c->text;
    size_t i = 0;
    int line = 1, col = 1;
    bool at_indent = true;      /* only blanks so far on this line */
    bool nonblank = false;

    if (c->len == 0) {
        gsp_fail(c, 1, 1, "empty file: expected a scenario (a mapping with "
             "name, description and steps)");
    }
    if (c->len > GS_MAX_FILE_SIZE) {
        gsp_fail(c, 0, 0, "file is %zu bytes: larger than the limit of %d bytes "
             "(1 MiB)", c->len, GS_MAX_FILE_SIZE);
    }
    while (i < c->len) {
        size_t l;

        if (t[i] == 0) {
            gsp_fail(c, line, col, "NUL byte: binary data, expected UTF-8 text");
        }
        l = utf8_len(t + i, c->len - i);
        if (l == 0) {
            gsp_fail(c, line, col, "invalid UTF-8 byte 0x%02x: expected UTF-8 "
                 "text", t[i]);
        }
        if (t[i] == '\n') {
            line++;
            col = 1;
            at_indent = true;
            i++;
            continue;
        }
        if (t[i] == '\t' && at_indent) {
            /* a tab before the first token of a line: reject it unless
             * the rest of the line is blank or a comment */
            size_t j = i;

            while (j < c->len && (t[j] == ' ' || t[j] == '\t')) {
                j++;
            }
            if (j < c->len && t[j] != '\n' && t[j] != '\r' && t[j] != '#') {
                gsp_fail(c, line, col, "tab character in indentation: YAML "
                     "indentation must use spaces");
            }
        }
        if (t[i] != ' ' && t[i] != '\t' && t[i] != '\r') {
            at_indent = false;
            nonblank = true;
        }
        i += l;
        col++;
    }
    (void)nonblank;
}

/* ---- YAML -> node tree ------------------------------------------------ */

#define MAX_MAP_KEYS 256

static const char *node_kind_name(const Node *n)
{
    return n->kind == N_MAP ? "a mapping" : n->kind == N_SEQ ? "a list"
                                                             : "a scalar";
}

static void attach(Ctx *c, Node *parent, Node *n)
{
    if (parent->kind == N_MAP && parent->n % 2 == 0) {
        Node *k;

        if (n->kind != N_SCALAR) {
            gsp_fail(c, n->line, n->col, "found %s as a mapping key: expected "
                 "a plain key name", node_kind_name(n));
        }
        if (parent->n / 2 >= MAX_MAP_KEYS) {
            gsp_fail(c, n->line, n->col, "mapping has more than %d keys",
                 MAX_MAP_KEYS);
        }
        for (k = parent->first; k; k = k->next ? k->next->next : NULL) {
            char b[64];

            if (k->len == n->len && memcmp(k->val, n->val, n->len) == 0) {
                gsp_fail(c, n->line, n->col, "duplicate key %s (first at "
                     "line %d, column %d): expected each key at most once",
                     gsp_show(n->val, n->len, b, sizeof(b)), k->line, k->col);
            }
        }
    }
    if (parent->last) {
        parent->last->next = n;
    } else {
        parent->first = n;
    }
    parent->last = n;
    parent->n++;
}

static void check_tag(Ctx *c, const yaml_char_t *tag, const yaml_char_t *anchor,
                      yaml_mark_t m, const char *ok_tag)
{
    char b[64];

    if (anchor) {
        gsp_fail(c, (int)m.line + 1, (int)m.column + 1, "anchor '&%.40s': "
             "anchors and aliases are not supported (aliases can expand "
             "into huge documents); write the value out",
             (const char *)anchor);
    }
    if (tag && strcmp((const char *)tag, ok_tag) != 0) {
        const char *t = (const char *)tag;

        gsp_fail(c, (int)m.line + 1, (int)m.column + 1, "tag %s is not "
             "supported: expected an untagged value",
             gsp_show(t, strlen(t), b, sizeof(b)));
    }
}

static Node *new_node(Ctx *c, NodeKind kind, yaml_mark_t s, yaml_mark_t e)
{
    Node *n = tmp_alloc(c, sizeof(*n));

    n->kind = kind;
    n->line = (int)s.line + 1;
    n->col = (int)s.column + 1;
    n->off = s.index;
    n->end_off = e.index;
    return n;
}

static Node *load_tree(Ctx *c)
{
    Node *stack[GS_MAX_YAML_DEPTH + 1];
    int depth = 0;
    Node *root = NULL;
    int ndocs = 0;

    if (!yaml_parser_initialize(&c->parser)) {
        gsp_fail(c, 0, 0, "out of memory");
    }
    c->parser_live = true;
    yaml_parser_set_input_string(&c->parser, c->text, c->len);
    yaml_parser_set_encoding(&c->parser, YAML_UTF8_ENCODING);

    for (;;) {
        yaml_event_t *ev = &c->ev;
        yaml_mark_t sm, em;
        Node *n = NULL;

        if (!yaml_parser_parse(&c->parser, ev)) {
            yaml_parser_t *p = &c->parser;
            const char *problem = p->problem ? p->problem : "unknown error";

            if (p->error == YAML_MEMORY_ERROR) {
                gsp_fail(c, 0, 0, "out of memory");
            }
            if (p->context) {
                gsp_fail(c, (int)p->problem_mark.line + 1,
                     (int)p->problem_mark.column + 1,
                     "YAML syntax error: %s (%s at line %d, column %d)",
                     problem, p->context, (int)p->context_mark.line + 1,
                     (int)p->context_mark.column + 1);
            }
            gsp_fail(c, (int)p->problem_mark.line + 1,
                 (int)p->problem_mark.column + 1, "YAML syntax error: %s",
                 problem);
        }
        c->ev_live = true;
        sm = ev->start_mark;
        em = ev->end_mark;

        switch (ev->type) {
        case YAML_STREAM_END_EVENT:
            yaml_event_delete(ev);
            c->ev_live = false;
            return root;
        case YAML_DOCUMENT_START_EVENT:
            if (++ndocs > 1) {
                gsp_fail(c, (int)sm.line + 1, (int)sm.column + 1, "a second "
                     "YAML document: expected exactly one scenario per file");
            }
            break;
        case YAML_ALIAS_EVENT:
            gsp_fail(c, (int)sm.line + 1, (int)sm.column + 1, "alias '*%.40s': "
                 "anchors and aliases are not supported (aliases can expand "
                 "into huge documents); write the value out",
                 (const char *)ev->data.alias.anchor);
        case YAML_SCALAR_EVENT:
            check_tag(c, ev->data.scalar.tag, ev->data.scalar.anchor, sm,
                      YAML_STR_TAG);
            n = new_node(c, N_SCALAR, sm, em);
            n->len = ev->data.scalar.length;
            if (memchr(ev->data.scalar.value, 0, n->len)) {
                gsp_fail(c, n->line, n->col, "string contains a NUL character");
            }
            n->val = tmp_alloc(c, n->len + 1);
            memcpy(n->val, ev->data.scalar.value, n->len);
            n->style = ev->data.scalar.tag ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                           : ev->data.scalar.style;
            /* a !!str tag makes the scalar a string like quoting does,
             * but keep the real style for column mapping */
            if (ev->data.scalar.tag &&
                ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
                n->style = ev->data.scalar.style;
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
            check_tag(c, ev->data.sequence_start.tag,
                      ev->data.sequence_start.anchor, sm, YAML_SEQ_TAG);
            n = new_node(c, N_SEQ, sm, em);
            break;
        case YAML_MAPPING_START_EVENT:
            check_tag(c, ev->data.mapping_start.tag,
                      ev->data.mapping_start.anchor, sm, YAML_MAP_TAG);
            n = new_node(c, N_MAP, sm, em);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0) {
                depth--;
            }
            break;
        default:
            break;
        }
        yaml_event_delete(ev);
        c->ev_live = false;

        if (n) {
            if (depth > 0) {
                attach(c, stack[depth - 1], n);
            } else {
                root = n;
            }
            if (n->kind != N_SCALAR) {
                if (depth >= GS_MAX_YAML_DEPTH) {
                    gsp_fail(c, n->line, n->col, "YAML nesting is deeper than "
                         "%d levels", GS_MAX_YAML_DEPTH);
                }
                stack[depth++] = n;
            }
        }
    }
}

/* ---- scalar typing ---------------------------------------------------- */

bool gsp_is_plain(const Node *n)
{
    return n->kind == N_SCALAR && n->style == YAML_PLAIN_SCALAR_STYLE;
}

bool gsp_is_null(const Node *n)
{
    return gsp_is_plain(n) && (n->len == 0 || !strcmp(n->val, "~") ||
                           !strcmp(n->val, "null") || !strcmp(n->val, "Null") ||
                           !strcmp(n->val, "NULL"));
}

/* ---- top level -------------------------------------------------------- */

typedef struct Top {
    const char *name, *description, *target;
    int kernel;
    int iommu;
    int64_t timeout;
    bool write_cache;
} Top;

#define TOFF(f) offsetof(Top, f)

static const KeySpec top_keys[] = {
    { .name = "name", .type = K_IDENT, .off = TOFF(name), .required = true },
    { .name = "description", .type = K_STR, .off = TOFF(description),
      .required = true, .imin = 1, .imax = 65536 },
    { .name = "target", .type = K_IDENT, .off = TOFF(target),
      .ds = "" },
    { .name = "kernel", .type = K_ENUM, .off = TOFF(kernel),
      .names = gsp_kernel_names },
    { .name = "timeout", .type = K_INT, .off = TOFF(timeout), .imin = 1,
      .imax = 7200, .di = 600 },
    { .name = "write_cache", .type = K_BOOL, .off = TOFF(write_cache) },
    { .name = "iommu", .type = K_ENUM, .off = TOFF(iommu),
      .names = gsp_iommu_names, .ebase = GS_IOMMU_NONE, .di = GS_IOMMU_TARGET },
    { .name = "iommu_faults", .type = K_ANY, .off = NOSTORE },
    { .name = "tags", .type = K_ANY, .off = NOSTORE },
    { .name = "expect_fail", .type = K_ANY, .off = NOSTORE },
    { .name = "allow_unfired", .type = K_ANY, .off = NOSTORE },
    { .name = "steps", .type = K_ANY, .off = NOSTORE, .required = true },
    { 0 }
};

/* iommu_faults: {op: OP, value: N}, as a counter step compares (op
 * default ">="). */
typedef struct IommuFaults {
    int64_t value;
} IommuFaults;

static const KeySpec iommu_faults_keys[] = {
    { .name = "op", .type = K_STR, .off = NOSTORE, .ds = ">=" },
    { .name = "value", .type = K_INT, .off = offsetof(IommuFaults, value),
      .required = true, .imin = 0, .imax = INT64_MAX },
    { 0 }
};

static void parse_iommu_faults(Ctx *c, const Node *v)
{
    const Node *found[MAX_KEYS], *ov;
    IommuFaults f = { 0 };
    char d[128], b[72];
    int i;

    c->sc->iommu_faults_op = GS_OP_EQ;
    if (!v) {
        return;
    }
    if (v->kind != N_MAP) {
        gsp_fail(c, v->line, v->col, "'iommu_faults': found %s, expected a "
                 "mapping {op: OP, value: N} (the DMA faults the iommu verdict "
                 "expects)", gsp_describe(v, d, sizeof(d)));
    }
    gsp_apply_map(c, v, iommu_faults_keys, &f, found, "'iommu_faults'",
                  v->line, v->col);
    ov = gsp_spec_found(iommu_faults_keys, found, "op");
    for (i = 0; gsp_op_names[i]; i++) {
        if (!ov || !strcmp(ov->val, gsp_op_names[i]) ||
            !strcmp(ov->val, gsp_op_words[i])) {
            break;
        }
    }
    if (!ov) {
        i = GS_OP_GE;
    } else if (!gsp_op_names[i]) {
        gsp_fail(c, ov->line, ov->col, "'op': unknown operator %s; expected "
                 "one of: ==, !=, <, <=, >, >= (quoted) or eq, ne, lt, le, "
                 "gt, ge", gsp_show(ov->val, ov->len, b, sizeof(b)));
    }
    c->sc->iommu_faults_op = (GsCmpOp)i;
    c->sc->iommu_faults_value = f.value;
}

/* A list of distinct names ([a-z0-9._-]) under key: tags, expect_fail. */
static size_t parse_names(Ctx *c, const Node *list, const char *key,
                          const char *what, const char ***out)
{
    const Node *it;
    char d[128], b[72];
    size_t i;

    if (!list || gsp_is_null(list)) {
        return 0;
    }
    if (list->kind != N_SEQ) {
        gsp_fail(c, list->line, list->col, "'%s': found %s, expected a "
             "list of names", key, gsp_describe(list, d, sizeof(d)));
    }
    if (list->n > GS_MAX_TAGS) {
        gsp_fail(c, list->line, list->col, "'%s': %zu %ss, expected at "
             "most %d", key, list->n, what, GS_MAX_TAGS);
    }
    *out = gsp_out_alloc(c, (list->n + 1) * sizeof(**out));
    for (it = list->first, i = 0; it; it = it->next, i++) {
        if (it->kind != N_SCALAR || !gsp_is_ident(it->val, it->len)) {
            gsp_fail(c, it->line, it->col, "'%s': found %s, expected a "
                 "name from [a-z0-9._-]", key, gsp_describe(it, d, sizeof(d)));
        }
        for (size_t j = 0; j < i; j++) {
            if (!strcmp((*out)[j], it->val)) {
                gsp_fail(c, it->line, it->col, "'%s': duplicate %s %s", key,
                     what, gsp_show(it->val, it->len, b, sizeof(b)));
            }
        }
        (*out)[i] = gsp_out_strdup(c, it->val, it->len);
    }
    return list->n;
}

static void parse_top(Ctx *c, const Node *root)
{
    GsScenario *sc = c->sc;
    const Node *found[MAX_KEYS];
    const Node *au, *steps, *it;
    Top top;
    char d[128];
    size_t i;

    if (!root) {
        gsp_fail(c, 1, 1, "empty scenario (only comments or blank lines): "
             "expected a mapping with name, description and steps");
    }
    if (root->kind != N_MAP) {
        gsp_fail(c, root->line, root->col, "found %s at the top level: expected "
             "a mapping with name, description and steps",
             gsp_describe(root, d, sizeof(d)));
    }
    memset(&top, 0, sizeof(top));
    gsp_apply_map(c, root, top_keys, &top, found, "the scenario", root->line,
              root->col);
    sc->name = top.name;
    sc->description = top.description;
    sc->target = top.target;
    sc->kernel = (GsKernel)top.kernel;
    sc->timeout = top.timeout;
    sc->write_cache = top.write_cache;
    sc->iommu = (GsIommu)top.iommu;
    parse_iommu_faults(c, gsp_spec_found(top_keys, found, "iommu_faults"));

    sc->ntags = parse_names(c, gsp_spec_found(top_keys, found, "tags"), "tags",
                            "tag", &sc->tags);
    sc->nexpect_fail = parse_names(c, gsp_spec_found(top_keys, found,
                                                     "expect_fail"),
                                   "expect_fail", "verdict", &sc->expect_fail);

    c->running = tmp_alloc(c, GS_MAX_STEPS * sizeof(Running));
    c->captures = tmp_alloc(c, GS_MAX_CAPTURES * sizeof(Running));
    steps = gsp_spec_found(top_keys, found, "steps");
    gsp_parse_steps(c, steps, 0, &sc->steps, &sc->nsteps, "'steps'");
    sc->total_steps = c->total_steps;
    sc->nrules = c->nrules;

    au = gsp_spec_found(top_keys, found, "allow_unfired");
    if (au && au->kind == N_SCALAR && !strcmp(au->val, "all")) {
        sc->allow_unfired_all = true;
    } else if (au && !gsp_is_null(au)) {
        if (au->kind != N_SEQ) {
            gsp_fail(c, au->line, au->col, "'allow_unfired': found %s, expected "
                 "a list of fault rule indices or 'all'",
                 gsp_describe(au, d, sizeof(d)));
        }
        sc->allow_unfired = gsp_out_alloc(c, (au->n + 1) * sizeof(int));
        for (it = au->first, i = 0; it; it = it->next, i++) {
            int64_t idx;

            if (it->kind != N_SCALAR || gsp_parse_int(it, &idx) != 1 || idx < 0) {
                gsp_fail(c, it->line, it->col, "'allow_unfired': found %s, "
                     "expected a fault rule index (0, 1, ...)",
                     gsp_describe(it, d, sizeof(d)));
            }
            if (idx >= c->nrules) {
                gsp_fail(c, it->line, it->col, "'allow_unfired': fault rule %"
                     PRId64 " does not exist: the scenario has %d rule(s)",
                     idx, c->nrules);
            }
            sc->allow_unfired[i] = (int)idx;
        }
        sc->nallow_unfired = au->n;
    }
}

/* ---- API -------------------------------------------------------------- */

int gs_parse_string(const char *name, const char *text, size_t len,
                    GsScenario **out, GsError *err)
{
    const char *const fname = name ? name : "<input>";
    Ctx *c;
    Arena *oa;
    GsScenario *sc;
    int rc;

    if (out) {
        *out = NULL;
    }
    if (err) {
        memset(err, 0, sizeof(*err));
    }
    if (!text && len) {
        set_error(err, fname, 0, 0, "no input");
        return -1;
    }
    c = calloc(1, sizeof(*c));
    oa = calloc(1, sizeof(*oa));
    if (!c || !oa) {
        free(c);
        free(oa);
        set_error(err, fname, 0, 0, "out of memory");
        return -1;
    }
    c->name = fname;
    c->text = (const unsigned char *)(text ? text : "");
    c->len = len;
    c->err = err;
    c->out = oa;

    if (setjmp(c->jb) == 0) {
        sc = gsp_out_alloc(c, sizeof(*sc));
        sc->priv_arena = oa;
        sc->file = gsp_out_strdup(c, c->name, strlen(c->name));
        c->sc = sc;
        check_input(c);
        parse_top(c, load_tree(c));
        c->ok = true;
    }
    rc = c->ok ? 0 : -1;
    if (c->ev_live) {
        yaml_event_delete(&c->ev);
    }
    if (c->parser_live) {
        yaml_parser_delete(&c->parser);
    }
    arena_free(&c->tmp);
    if (rc == 0 && out) {
        *out = c->sc;
    } else {
        arena_free(oa);
        free(oa);
    }
    free(c);
    return rc;
}

int gs_parse_file(const char *path, GsScenario **out, GsError *err)
{
    FILE *f;
    char *buf;
    size_t n;
    int rc;

    if (out) {
        *out = NULL;
    }
    if (err) {
        memset(err, 0, sizeof(*err));
    }
    f = fopen(path, "rb");
    if (!f) {
        char m[256];

        snprintf(m, sizeof(m), "cannot open: %s", strerror(errno));
        set_error(err, path, 0, 0, m);
        return -1;
    }
    buf = malloc(GS_MAX_FILE_SIZE + 1);
    if (!buf) {
        fclose(f);
        set_error(err, path, 0, 0, "out of memory");
        return -1;
    }
    n = fread(buf, 1, GS_MAX_FILE_SIZE + 1, f);
    if (ferror(f)) {
        char m[256];

        snprintf(m, sizeof(m), "cannot read: %s", strerror(errno));
        set_error(err, path, 0, 0, m);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    if (n > GS_MAX_FILE_SIZE) {
        char m[256];

        snprintf(m, sizeof(m), "file is larger than the limit of %d bytes "
                 "(1 MiB)", GS_MAX_FILE_SIZE);
        set_error(err, path, 0, 0, m);
        free(buf);
        return -1;
    }
    rc = gs_parse_string(path, buf, n, out, err);
    free(buf);
    return rc;
}

void gs_free(GsScenario *s)
{
    Arena *a;

    if (!s) {
        return;
    }
    a = s->priv_arena;
    arena_free(a);          /* s itself lives in the arena */
    free(a);
}
