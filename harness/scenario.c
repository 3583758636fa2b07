/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet scenario parser: YAML (libyaml event API) -> a small node tree
 * -> validated, typed GsScenario.  See docs/scenarios.md for the format.
 *
 * Errors are raised with fail(), which fills the GsError and longjmps back
 * to gs_parse_string(); everything allocated on the way lives in one of two
 * arenas (the node tree's, freed on return, and the scenario's, freed by
 * gs_free() or on error), so an error anywhere cannot leak.  The only
 * other resources (the libyaml parser and its current event, a compiled
 * regex) are released before any fail() can happen or tracked in the
 * context.
 */
#define _POSIX_C_SOURCE 200809L

#include "scenario.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "kestrel_fault.h"
#include "yaml_writer.h"

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
    bool kestrel;
    int nrules;
    size_t total_steps;
    Running *running;
    size_t nrunning;
    bool ok;
} Ctx;

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

static _Noreturn void __attribute__((format(printf, 4, 5)))
fail(Ctx *c, int line, int col, const char *fmt, ...)
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
        fail(c, 0, 0, "out of memory");
    }
    return p;
}

static void *out_alloc(Ctx *c, size_t n)
{
    void *p = arena_try_alloc(c->out, n);

    if (!p) {
        fail(c, 0, 0, "out of memory");
    }
    return p;
}

static const char *out_strdup(Ctx *c, const char *s, size_t len)
{
    char *p = out_alloc(c, len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* Show a string in a message: quoted, truncated, control bytes escaped. */
static const char *show(const char *s, size_t len, char *buf, size_t bufsz)
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
        fail(c, 1, 1, "empty file: expected a scenario (a mapping with "
             "name, description and steps)");
    }
    if (c->len > GS_MAX_FILE_SIZE) {
        fail(c, 0, 0, "file is %zu bytes: larger than the limit of %d bytes "
             "(1 MiB)", c->len, GS_MAX_FILE_SIZE);
    }
    while (i < c->len) {
        size_t l;

        if (t[i] == 0) {
            fail(c, line, col, "NUL byte: binary data, expected UTF-8 text");
        }
        l = utf8_len(t + i, c->len - i);
        if (l == 0) {
            fail(c, line, col, "invalid UTF-8 byte 0x%02x: expected UTF-8 "
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
                fail(c, line, col, "tab character in indentation: YAML "
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
            fail(c, n->line, n->col, "found %s as a mapping key: expected "
                 "a plain key name", node_kind_name(n));
        }
        if (parent->n / 2 >= MAX_MAP_KEYS) {
            fail(c, n->line, n->col, "mapping has more than %d keys",
                 MAX_MAP_KEYS);
        }
        for (k = parent->first; k; k = k->next ? k->next->next : NULL) {
            char b[64];

            if (k->len == n->len && memcmp(k->val, n->val, n->len) == 0) {
                fail(c, n->line, n->col, "duplicate key %s (first at "
                     "line %d, column %d): expected each key at most once",
                     show(n->val, n->len, b, sizeof(b)), k->line, k->col);
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
        fail(c, (int)m.line + 1, (int)m.column + 1, "anchor '&%.40s': "
             "anchors and aliases are not supported (aliases can expand "
             "into huge documents); write the value out",
             (const char *)anchor);
    }
    if (tag && strcmp((const char *)tag, ok_tag) != 0) {
        const char *t = (const char *)tag;

        fail(c, (int)m.line + 1, (int)m.column + 1, "tag %s is not "
             "supported: expected an untagged value",
             show(t, strlen(t), b, sizeof(b)));
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
        fail(c, 0, 0, "out of memory");
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
                fail(c, 0, 0, "out of memory");
            }
            if (p->context) {
                fail(c, (int)p->problem_mark.line + 1,
                     (int)p->problem_mark.column + 1,
                     "YAML syntax error: %s (%s at line %d, column %d)",
                     problem, p->context, (int)p->context_mark.line + 1,
                     (int)p->context_mark.column + 1);
            }
            fail(c, (int)p->problem_mark.line + 1,
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
                fail(c, (int)sm.line + 1, (int)sm.column + 1, "a second "
                     "YAML document: expected exactly one scenario per file");
            }
            break;
        case YAML_ALIAS_EVENT:
            fail(c, (int)sm.line + 1, (int)sm.column + 1, "alias '*%.40s': "
                 "anchors and aliases are not supported (aliases can expand "
                 "into huge documents); write the value out",
                 (const char *)ev->data.alias.anchor);
        case YAML_SCALAR_EVENT:
            check_tag(c, ev->data.scalar.tag, ev->data.scalar.anchor, sm,
                      YAML_STR_TAG);
            n = new_node(c, N_SCALAR, sm, em);
            n->len = ev->data.scalar.length;
            if (memchr(ev->data.scalar.value, 0, n->len)) {
                fail(c, n->line, n->col, "string contains a NUL character");
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
                    fail(c, n->line, n->col, "YAML nesting is deeper than "
                         "%d levels", GS_MAX_YAML_DEPTH);
                }
                stack[depth++] = n;
            }
        }
    }
}

/* ---- scalar typing ---------------------------------------------------- */

static bool is_plain(const Node *n)
{
    return n->kind == N_SCALAR && n->style == YAML_PLAIN_SCALAR_STYLE;
}

static bool is_null(const Node *n)
{
    return is_plain(n) && (n->len == 0 || !strcmp(n->val, "~") ||
                           !strcmp(n->val, "null") || !strcmp(n->val, "Null") ||
                           !strcmp(n->val, "NULL"));
}

static bool parse_bool(const Node *n, bool *v)
{
    static const char *const t[] = { "true", "True", "TRUE" };
    static const char *const f[] = { "false", "False", "FALSE" };
    int i;

    if (!is_plain(n)) {
        return false;
    }
    for (i = 0; i < 3; i++) {
        if (!strcmp(n->val, t[i])) {
            *v = true;
            return true;
        }
        if (!strcmp(n->val, f[i])) {
            *v = false;
            return true;
        }
    }
    return false;
}

/* Returns 1 ok, 0 not an integer, -1 integer out of int64 range. */
static int parse_int(const Node *n, int64_t *v)
{
    const char *s = n->val;
    char *end;
    int base = 10;
    bool neg = false;
    size_t i = 0;
    unsigned long long u;

    if (!is_plain(n) || n->len == 0) {
        return 0;
    }
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
    }
    if (s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        base = 16;
        i += 2;
        if (!s[i]) {
            return 0;
        }
        for (size_t j = i; s[j]; j++) {
            if (!strchr("0123456789abcdefABCDEF", s[j])) {
                return 0;
            }
        }
    } else {
        if (!s[i]) {
            return 0;
        }
        for (size_t j = i; s[j]; j++) {
            if (s[j] < '0' || s[j] > '9') {
                return 0;
            }
        }
    }
    errno = 0;
    u = strtoull(s + i, &end, base);
    if (errno == ERANGE || *end) {
        return -1;
    }
    if (neg) {
        if (u > (unsigned long long)INT64_MAX + 1) {
            return -1;
        }
        *v = u == (unsigned long long)INT64_MAX + 1 ? INT64_MIN
                                                    : -(int64_t)u;
    } else {
        if (u > (unsigned long long)INT64_MAX) {
            return -1;
        }
        *v = (int64_t)u;
    }
    return 1;
}

static bool parse_float(const Node *n, double *v)
{
    const char *s = n->val;
    size_t i = 0;
    bool digits = false;
    char *end;
    int64_t iv;

    if (parse_int(n, &iv) == 1) {
        *v = (double)iv;
        return true;
    }
    if (!is_plain(n) || n->len == 0) {
        return false;
    }
    /* [-+]? digits [. digits] [e [-+] digits], at least one digit */
    if (s[i] == '-' || s[i] == '+') {
        i++;
    }
    while (s[i] >= '0' && s[i] <= '9') {
        i++;
        digits = true;
    }
    if (s[i] == '.') {
        i++;
        while (s[i] >= '0' && s[i] <= '9') {
            i++;
            digits = true;
        }
    }
    if (!digits) {
        return false;
    }
    if (s[i] == 'e' || s[i] == 'E') {
        i++;
        if (s[i] == '-' || s[i] == '+') {
            i++;
        }
        if (!(s[i] >= '0' && s[i] <= '9')) {
            return false;
        }
        while (s[i] >= '0' && s[i] <= '9') {
            i++;
        }
    }
    if (s[i]) {
        return false;
    }
    errno = 0;
    *v = strtod(s, &end);
    return *end == '\0' && isfinite(*v);
}

/* "found ..." text for a node of the wrong type. */
static const char *describe(const Node *n, char *buf, size_t bufsz)
{
    char b[72];
    int64_t iv;
    double dv;
    bool bv;

    if (n->kind == N_MAP) {
        return "a mapping";
    }
    if (n->kind == N_SEQ) {
        return "a list";
    }
    if (is_null(n)) {
        return "nothing (null)";
    }
    if (parse_int(n, &iv)) {
        snprintf(buf, bufsz, "integer %s", show(n->val, n->len, b, sizeof(b)));
    } else if (parse_float(n, &dv)) {
        snprintf(buf, bufsz, "number %s", show(n->val, n->len, b, sizeof(b)));
    } else if (parse_bool(n, &bv)) {
        snprintf(buf, bufsz, "boolean %s", show(n->val, n->len, b, sizeof(b)));
    } else {
        snprintf(buf, bufsz, "string %s", show(n->val, n->len, b, sizeof(b)));
    }
    return buf;
}

/* ---- suggestions ------------------------------------------------------ */

static size_t edit_distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b);
    size_t row[65];
    size_t i, j;

    if (la > 64 || lb > 64) {
        return SIZE_MAX;
    }
    for (j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (i = 1; i <= la; i++) {
        size_t prev = row[0];

        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev + cost;

            if (row[j] + 1 < best) {
                best = row[j] + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

/* The closest of names[0..n) to s, or NULL if none is close. */
static const char *suggest(const char *s, size_t len, const char *const *names,
                           size_t n)
{
    const char *best = NULL;
    size_t bestd = SIZE_MAX, i;

    for (i = 0; i < n; i++) {
        size_t d = edit_distance(s, len, names[i]);
        size_t lim = strlen(names[i]) <= 3 ? 1 : 2;

        if (d <= lim && d < bestd && d < strlen(names[i])) {
            best = names[i];
            bestd = d;
        }
    }
    return best;
}

static void join_names(const char *const *names, size_t n, char *buf,
                       size_t bufsz)
{
    size_t i, o = 0;

    buf[0] = '\0';
    for (i = 0; i < n && o < bufsz; i++) {
        o += (size_t)snprintf(buf + o, bufsz - o, "%s%s", i ? ", " : "",
                              names[i]);
    }
}

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

static size_t count_names(const char *const *names)
{
    size_t n = 0;

    while (names[n]) {
        n++;
    }
    return n;
}

static bool is_ident(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > GS_MAX_NAME) {
        return false;
    }
    for (i = 0; i < len; i++) {
        char ch = s[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              (i > 0 && (ch == '.' || ch == '_' || ch == '-')))) {
            return false;
        }
    }
    return true;
}

/*
 * glibc's regcomp() builds its tree by copying what a repetition repeats
 * (E+ becomes E E*, E{n,m} m copies of E), so stacked or nested
 * repetitions grow exponentially: "a+++...+" with 130 '+' asks for 2^130
 * nodes (fuzz/fuzz_scenario found it: the parser ran out of memory on a
 * 518-byte file, fuzz/regressions/fuzz_scenario/regex-stacked-plus), and
 * even a small stack of them over something optional takes minutes
 * ("6????????????????????+++++": 117 s, regex-stacked-optional).
 * re_cost() checks the text before regcomp() sees it:
 *   - repetition operators in a row ("a+*", "a?+", "a{2}{3}") are refused:
 *     POSIX leaves them undefined in an ERE, and a group says what is
 *     meant ("(a+)*");
 *   - the number of nodes the pattern expands to is bounded (RE_MAX_COST);
 *   - parentheses nest at most RE_MAX_DEPTH deep (both this scanner and
 *     regcomp() recurse on them).
 */
#define RE_MAX_COST     4096
#define RE_MAX_DEPTH    32

typedef struct ReScan {
    const char *p, *end;
    int depth;
    bool too_deep;
    bool stacked;           /* two repetition operators in a row */
} ReScan;

static uint64_t re_sat(uint64_t v)
{
    return v > RE_MAX_COST ? RE_MAX_COST + 1 : v;
}

static uint64_t re_alt(ReScan *r);

/* "{n}", "{n,}" or "{n,m}" after the '{': the copies made, or -1. */
static long re_interval(ReScan *r)
{
    const char *q = r->p;
    long n = 0, m;

    if (q >= r->end || *q < '0' || *q > '9') {
        return -1;
    }
    while (q < r->end && *q >= '0' && *q <= '9') {
        int d = *q++ - '0';

        n = n > 100000 ? n : n * 10 + d;    /* saturates, never wraps */
    }
    m = n;
    if (q < r->end && *q == ',') {
        q++;
        m = n + 1;                      /* {n,}: n copies and a star */
        if (q < r->end && *q >= '0' && *q <= '9') {
            m = 0;
            while (q < r->end && *q >= '0' && *q <= '9') {
                int d = *q++ - '0';

                m = m > 100000 ? m : m * 10 + d;
            }
        }
    }
    if (q >= r->end || *q != '}') {
        return -1;
    }
    r->p = q + 1;
    return m > n ? m : n;
}

/* A group, a bracket expression, an escaped or a plain character. */
static uint64_t re_atom(ReScan *r)
{
    char ch = *r->p++;
    uint64_t c;

    if (ch == '(') {
        if (++r->depth > RE_MAX_DEPTH) {
            r->too_deep = true;
            r->p = r->end;
            return RE_MAX_COST + 1;
        }
        c = re_alt(r);
        if (r->p < r->end && *r->p == ')') {
            r->p++;
        }
        r->depth--;
        return re_sat(c + 1);
    }
    if (ch == '[') {
        /* a leading ']' (after an optional '^') is literal */
        if (r->p < r->end && *r->p == '^') {
            r->p++;
        }
        if (r->p < r->end && *r->p == ']') {
            r->p++;
        }
        while (r->p < r->end && *r->p != ']') {
            if (*r->p == '[' && r->p + 1 < r->end &&
                (r->p[1] == ':' || r->p[1] == '.' || r->p[1] == '=')) {
                char close = r->p[1];

                r->p += 2;
                while (r->p + 1 < r->end &&
                       !(r->p[0] == close && r->p[1] == ']')) {
                    r->p++;
                }
                r->p = r->p + 2 < r->end ? r->p + 2 : r->end;
            } else {
                r->p++;
            }
        }
        if (r->p < r->end) {
            r->p++;
        }
        return 1;
    }
    if (ch == '\\' && r->p < r->end) {
        r->p++;
    }
    return 1;
}

/* An atom and its repetitions. */
static uint64_t re_piece(ReScan *r)
{
    uint64_t c = re_atom(r);
    int ops = 0;
    long k;

    while (r->p < r->end) {
        if (ops++ == 1) {
            const char *q = r->p;

            /* a second operator (a '{' that is no interval is a literal) */
            if (*q == '{') {
                r->p++;
                k = re_interval(r);
                r->p = q;
                if (k < 0) {
                    break;
                }
            } else if (*q != '*' && *q != '?' && *q != '+') {
                break;
            }
            r->stacked = true;
        }
        if (*r->p == '*' || *r->p == '?') {
            c = re_sat(c + 1);
        } else if (*r->p == '+') {
            c = re_sat(2 * c + 1);
        } else if (*r->p == '{') {
            r->p++;
            k = re_interval(r);
            if (k < 0) {
                r->p--;                 /* a literal '{' */
                break;
            }
            c = re_sat(c * (uint64_t)(k + 1) + 1);
            continue;
        } else {
            break;
        }
        r->p++;
    }
    return c;
}

static uint64_t re_branch(ReScan *r)
{
    uint64_t c = 0;

    while (r->p < r->end && *r->p != '|' && *r->p != ')') {
        c = re_sat(c + re_piece(r));
    }
    return c;
}

static uint64_t re_alt(ReScan *r)
{
    uint64_t c = re_branch(r);

    while (r->p < r->end && *r->p == '|') {
        r->p++;
        c = re_sat(c + re_branch(r) + 1);
    }
    return c;
}

static uint64_t re_cost(const char *s, bool *too_deep, bool *stacked)
{
    ReScan r = { s, s + strlen(s), 0, false, false };
    uint64_t c = 0;

    while (r.p < r.end) {
        c = re_sat(c + re_alt(&r));
        if (r.p < r.end) {
            r.p++;                      /* a ')' without its '(' */
        }
    }
    *too_deep = r.too_deep;
    *stacked = r.stacked;
    return c;
}

static void check_regex(Ctx *c, const Node *v)
{
    regex_t re;
    bool too_deep, stacked;
    uint64_t cost = re_cost(v->val, &too_deep, &stacked);
    int rc;

    if (stacked) {
        char b[72];

        fail(c, v->line, v->col, "regular expression %s has repetition "
             "operators in a row (expected one of *, +, ?, {n,m} after an "
             "atom: several in a row are undefined in POSIX; group them, "
             "as in (a+)*)", show(v->val, v->len, b, sizeof(b)));
    }
    if (too_deep || cost > RE_MAX_COST) {
        char b[72];

        fail(c, v->line, v->col, "regular expression %s is too complex: %s "
             "(expected at most %d nested groups and at most %d elements "
             "once repetitions are expanded; stacked or nested repetitions "
             "such as (a+)+ or a{100}{100} multiply)",
             show(v->val, v->len, b, sizeof(b)),
             too_deep ? "groups nested too deep" : "repetitions expand too far",
             RE_MAX_DEPTH, RE_MAX_COST);
    }
    rc = regcomp(&re, v->val, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[256], b[72];

        regerror(rc, &re, msg, sizeof(msg));
        /* regfree after a failed regcomp is not portable: glibc frees
         * everything on failure */
        fail(c, v->line, v->col, "bad regular expression %s: %s "
             "(expected a POSIX extended regular expression)",
             show(v->val, v->len, b, sizeof(b)), msg);
    }
    regfree(&re);
}

static void store(void *base, size_t off, const void *v, size_t sz)
{
    if (off != NOSTORE) {
        memcpy((char *)base + off, v, sz);
    }
}

static void expect_scalar(Ctx *c, const Node *v, const char *key,
                          const char *what)
{
    char d[128];

    if (v->kind != N_SCALAR || is_null(v)) {
        fail(c, v->line, v->col, "'%s': found %s, expected %s", key,
             describe(v, d, sizeof(d)), what);
    }
}

static void apply_value(Ctx *c, const KeySpec *k, const Node *v, void *base)
{
    char d[128];

    switch (k->type) {
    case K_STR: {
        const char *s;

        expect_scalar(c, v, k->name, "a string");
        if (k->imin > 0 && v->len < (size_t)k->imin) {
            fail(c, v->line, v->col, "'%s' is empty: expected a non-empty "
                 "string", k->name);
        }
        if (k->imax > 0 && v->len > (size_t)k->imax) {
            fail(c, v->line, v->col, "'%s' is %zu bytes long: expected at "
                 "most %" PRId64, k->name, v->len, k->imax);
        }
        s = out_strdup(c, v->val, v->len);
        store(base, k->off, &s, sizeof(s));
        break;
    }
    case K_IDENT: {
        const char *s;

        expect_scalar(c, v, k->name, "a name");
        if (!is_ident(v->val, v->len)) {
            char b[72];

            fail(c, v->line, v->col, "'%s': found %s, expected a name of "
                 "1 to %d characters from [a-z0-9._-], starting with a "
                 "letter or digit", k->name, show(v->val, v->len, b,
                                                  sizeof(b)), GS_MAX_NAME);
        }
        s = out_strdup(c, v->val, v->len);
        store(base, k->off, &s, sizeof(s));
        break;
    }
    case K_INT: {
        int64_t iv;
        int r = v->kind == N_SCALAR ? parse_int(v, &iv) : 0;

        if (r == 0) {
            fail(c, v->line, v->col, "'%s': found %s, expected an integer",
                 k->name, describe(v, d, sizeof(d)));
        }
        if (r < 0 || iv < k->imin || iv > k->imax) {
            fail(c, v->line, v->col, "'%s': %s is out of range: expected "
                 "%" PRId64 "..%" PRId64, k->name, v->val, k->imin, k->imax);
        }
        store(base, k->off, &iv, sizeof(iv));
        break;
    }
    case K_FLOAT: {
        double fv;

        if (v->kind != N_SCALAR || !parse_float(v, &fv)) {
            fail(c, v->line, v->col, "'%s': found %s, expected a number",
                 k->name, describe(v, d, sizeof(d)));
        }
        if (!(fv >= k->fmin && fv <= k->fmax)) {
            fail(c, v->line, v->col, "'%s': %s is out of range: expected "
                 "%g..%g", k->name, v->val, k->fmin, k->fmax);
        }
        store(base, k->off, &fv, sizeof(fv));
        break;
    }
    case K_BOOL: {
        bool bv;

        if (v->kind != N_SCALAR || !parse_bool(v, &bv)) {
            fail(c, v->line, v->col, "'%s': found %s, expected a boolean "
                 "(true or false)", k->name, describe(v, d, sizeof(d)));
        }
        store(base, k->off, &bv, sizeof(bv));
        break;
    }
    case K_ENUM: {
        size_t n = count_names(k->names), i;
        char all[256], b[72];
        const char *sug;
        int ev;

        join_names(k->names, n, all, sizeof(all));
        expect_scalar(c, v, k->name, "one of the names listed below");
        for (i = 0; i < n; i++) {
            if (!strcmp(v->val, k->names[i])) {
                ev = (int)i + k->ebase;
                store(base, k->off, &ev, sizeof(ev));
                return;
            }
        }
        sug = suggest(v->val, v->len, k->names, n);
        if (sug) {
            fail(c, v->line, v->col, "'%s': unknown value %s (did you mean "
                 "'%s'?); expected one of: %s", k->name,
                 show(v->val, v->len, b, sizeof(b)), sug, all);
        }
        fail(c, v->line, v->col, "'%s': unknown value %s; expected one of: "
             "%s", k->name, show(v->val, v->len, b, sizeof(b)), all);
    }
    case K_REGEX: {
        const char *s;

        expect_scalar(c, v, k->name, "a regular expression");
        check_regex(c, v);
        s = out_strdup(c, v->val, v->len);
        store(base, k->off, &s, sizeof(s));
        break;
    }
    case K_ANY:
        break;
    }
}

/*
 * Apply a mapping of options (or NULL for none) to base using specs:
 * defaults first, then each key.  found[i] receives the value node of
 * specs[i] (or NULL).  what names the mapping in messages.
 */
static void apply_map(Ctx *c, const Node *map, const KeySpec *specs,
                      void *base, const Node **found, const char *what,
                      int line, int col)
{
    const char *names[MAX_KEYS];
    size_t nspecs = 0, i;
    const Node *k;

    for (nspecs = 0; specs[nspecs].name; nspecs++) {
        const KeySpec *s = &specs[nspecs];

        names[nspecs] = s->name;
        found[nspecs] = NULL;
        switch (s->type) {
        case K_STR:
        case K_IDENT:
        case K_REGEX:
            store(base, s->off, &s->ds, sizeof(s->ds));
            break;
        case K_INT:
            store(base, s->off, &s->di, sizeof(s->di));
            break;
        case K_FLOAT:
            store(base, s->off, &s->df, sizeof(s->df));
            break;
        case K_BOOL: {
            bool b = s->di != 0;

            store(base, s->off, &b, sizeof(b));
            break;
        }
        case K_ENUM: {
            int e = (int)s->di;

            store(base, s->off, &e, sizeof(e));
            break;
        }
        case K_ANY:
            break;
        }
    }
    for (k = map ? map->first : NULL; k && k->next; k = k->next->next) {
        const Node *v = k->next;

        for (i = 0; i < nspecs; i++) {
            if (!strcmp(k->val, specs[i].name)) {
                break;
            }
        }
        if (i == nspecs) {
            char all[256], b[72];
            const char *sug = suggest(k->val, k->len, names, nspecs);

            join_names(names, nspecs, all, sizeof(all));
            if (sug) {
                fail(c, k->line, k->col, "unknown key %s in %s (did you "
                     "mean '%s'?); expected one of: %s",
                     show(k->val, k->len, b, sizeof(b)), what, sug, all);
            }
            fail(c, k->line, k->col, "unknown key %s in %s; expected one "
                 "of: %s", show(k->val, k->len, b, sizeof(b)), what, all);
        }
        found[i] = v;
        apply_value(c, &specs[i], v, base);
    }
    for (i = 0; i < nspecs; i++) {
        if (specs[i].required && !found[i]) {
            fail(c, line, col, "%s is missing required key '%s'", what,
                 specs[i].name);
        }
    }
}

static const Node *spec_found(const KeySpec *specs, const Node **found,
                              const char *name)
{
    size_t i;

    for (i = 0; specs[i].name; i++) {
        if (!strcmp(specs[i].name, name)) {
            return found[i];
        }
    }
    return NULL;
}

/* ---- steps ------------------------------------------------------------ */

#define OFF(field) offsetof(GsStep, u.field)
#define I64MAX INT64_MAX
#define I64MIN INT64_MIN

static const char *const expect_names[] = { "ok", "fail", NULL };
static const char *const kernel_names[] = { "stock", "debug", NULL };
static const char *const hotplug_names[] = { "add", "remove", "surprise",
                                             NULL };
static const char *const suspend_names[] = { "s3", "pm_test", NULL };
static const char *const level_names[] = { "freezer", "devices", "platform",
                                           "processors", "core", NULL };
static const char *const kfault_names[] = { "failslab", "fail_page_alloc",
                                            "fail_function", NULL };
static const char *const source_names[] = { "driver", "fault", "device",
                                            NULL };
static const char *const op_names[] = { "==", "!=", "<", "<=", ">", ">=",
                                        NULL };
static const char *const op_words[] = { "eq", "ne", "lt", "le", "gt", "ge",
                                        NULL };

static const KeySpec boot_keys[] = {
    { .name = "cmdline", .type = K_STR, .off = OFF(boot.cmdline), .imax = 4096,
      .ds = "" },
    { .name = "memory", .type = K_INT, .off = OFF(boot.memory_mb), .imin = 128,
      .imax = 65536, .di = 512 },
    { .name = "smp", .type = K_INT, .off = OFF(boot.smp), .imin = 1,
      .imax = 64, .di = 1 },
    { 0 }
};

static const KeySpec load_keys[] = {
    { .name = "params", .type = K_STR, .off = OFF(load.params), .imax = 4096,
      .ds = "" },
    { .name = "expect", .type = K_ENUM, .off = OFF(load.expect),
      .names = expect_names },
    { 0 }
};

static const KeySpec unload_keys[] = {
    { .name = "expect", .type = K_ENUM, .off = OFF(unload.expect),
      .names = expect_names },
    { 0 }
};

static const KeySpec run_keys[] = {
    { .name = "cmd", .type = K_STR, .off = OFF(run.cmd), .required = true,
      .imin = 1, .imax = 4096 },
    { .name = "expect_exit", .type = K_INT, .off = OFF(run.expect_exit),
      .imin = 0, .imax = 255, .di = 0 },
    { .name = "expect_stdout", .type = K_REGEX, .off = OFF(run.expect_stdout) },
    { .name = "expect_stderr", .type = K_REGEX, .off = OFF(run.expect_stderr) },
    { .name = "timeout", .type = K_FLOAT, .off = OFF(run.timeout),
      .fmin = 0.001, .fmax = 7200, .df = 60 },
    { 0 }
};

static const KeySpec workload_keys[] = {
    { .name = "name", .type = K_IDENT, .off = OFF(workload.name),
      .required = true },
    { .name = "cmd", .type = K_STR, .off = OFF(workload.cmd), .required = true,
      .imin = 1, .imax = 4096 },
    { 0 }
};

static const KeySpec workload_stop_keys[] = {
    { .name = "name", .type = K_IDENT, .off = OFF(workload_stop.name),
      .required = true },
    { .name = "expect_exit", .type = K_INT, .off = OFF(workload_stop.expect_exit),
      .imin = 0, .imax = 255, .di = 0 },
    { .name = "timeout", .type = K_FLOAT, .off = OFF(workload_stop.timeout),
      .fmin = 0.001, .fmax = 7200, .df = 60 },
    { .name = "wait", .type = K_BOOL, .off = OFF(workload_stop.wait) },
    { 0 }
};

static const KeySpec faults_keys[] = {
    { .name = "set", .type = K_STR, .off = NOSTORE, .imax = 4096 },
    { .name = "add", .type = K_STR, .off = NOSTORE, .imax = 4096 },
    { .name = "clear", .type = K_BOOL, .off = NOSTORE },
    { 0 }
};

static const KeySpec hotplug_keys[] = {
    { .name = "action", .type = K_ENUM, .off = OFF(hotplug.action),
      .required = true, .names = hotplug_names },
    { .name = "device", .type = K_IDENT, .off = OFF(hotplug.device),
      .ds = "k1" },
    { 0 }
};

static const KeySpec suspend_keys[] = {
    { .name = "mode", .type = K_ENUM, .off = OFF(suspend.mode),
      .names = suspend_names },
    { .name = "level", .type = K_ENUM, .off = OFF(suspend.level),
      .names = level_names, .ebase = 1, .di = GS_PM_NONE },
    { .name = "cycles", .type = K_INT, .off = OFF(suspend.cycles), .imin = 1,
      .imax = 1000, .di = 1 },
    { 0 }
};

static const KeySpec kfault_keys[] = {
    { .name = "type", .type = K_ENUM, .off = OFF(kfault.type),
      .required = true, .names = kfault_names },
    { .name = "function", .type = K_STR, .off = OFF(kfault.function),
      .imin = 1, .imax = 128, .ds = NULL },
    { .name = "probability", .type = K_INT, .off = OFF(kfault.probability),
      .imin = 1, .imax = 100, .di = 100 },
    { .name = "times", .type = K_INT, .off = OFF(kfault.times), .imin = -1,
      .imax = 1000000, .di = 1 },
    { .name = "interval", .type = K_INT, .off = OFF(kfault.interval),
      .imin = 1, .imax = 1000000, .di = 1 },
    { .name = "space", .type = K_INT, .off = OFF(kfault.space), .imin = 0,
      .imax = INT32_MAX, .di = 0 },
    { .name = "require", .type = K_BOOL, .off = OFF(kfault.require) },
    { 0 }
};

static const KeySpec expect_log_keys[] = {
    { .name = "pattern", .type = K_REGEX, .off = OFF(expect_log.pattern),
      .required = true },
    { .name = "timeout", .type = K_FLOAT, .off = OFF(expect_log.timeout),
      .fmin = 0, .fmax = 7200, .df = 10 },
    { 0 }
};

static const KeySpec forbid_log_keys[] = {
    { .name = "pattern", .type = K_REGEX, .off = OFF(forbid_log.pattern),
      .required = true },
    { 0 }
};

static const KeySpec counter_keys[] = {
    { .name = "source", .type = K_ENUM, .off = OFF(counter.source),
      .required = true, .names = source_names },
    { .name = "name", .type = K_STR, .off = OFF(counter.name),
      .required = true, .imin = 1, .imax = 128 },
    { .name = "op", .type = K_STR, .off = NOSTORE, .ds = ">=" },
    { .name = "value", .type = K_INT, .off = OFF(counter.value),
      .required = true, .imin = I64MIN, .imax = I64MAX },
    { 0 }
};

static const KeySpec wait_keys[] = {
    { .name = "seconds", .type = K_FLOAT, .off = OFF(wait.seconds),
      .fmin = 0.001, .fmax = 7200 },
    { .name = "ms", .type = K_INT, .off = NOSTORE, .imin = 1,
      .imax = 7200000 },
    { 0 }
};

static const KeySpec repeat_keys[] = {
    { .name = "count", .type = K_INT, .off = OFF(repeat.count),
      .required = true, .imin = 1, .imax = 10000 },
    { .name = "steps", .type = K_ANY, .off = NOSTORE, .required = true },
    { 0 }
};

typedef struct StepSpec {
    const char *name;
    const KeySpec *keys;
} StepSpec;

/* indexed by GsStepType */
static const StepSpec step_specs[GS_STEP__MAX] = {
    [GS_STEP_BOOT] = { "boot", boot_keys },
    [GS_STEP_LOAD] = { "load", load_keys },
    [GS_STEP_UNLOAD] = { "unload", unload_keys },
    [GS_STEP_RUN] = { "run", run_keys },
    [GS_STEP_WORKLOAD] = { "workload", workload_keys },
    [GS_STEP_WORKLOAD_STOP] = { "workload_stop", workload_stop_keys },
    [GS_STEP_FAULTS] = { "faults", faults_keys },
    [GS_STEP_HOTPLUG] = { "hotplug", hotplug_keys },
    [GS_STEP_SUSPEND] = { "suspend", suspend_keys },
    [GS_STEP_KFAULT] = { "kfault", kfault_keys },
    [GS_STEP_EXPECT_LOG] = { "expect_log", expect_log_keys },
    [GS_STEP_FORBID_LOG] = { "forbid_log", forbid_log_keys },
    [GS_STEP_COUNTER] = { "counter", counter_keys },
    [GS_STEP_WAIT] = { "wait", wait_keys },
    [GS_STEP_REPEAT] = { "repeat", repeat_keys },
};

const char *gs_step_name(GsStepType t)
{
    return (unsigned)t < GS_STEP__MAX ? step_specs[t].name : "?";
}

static void parse_steps(Ctx *c, const Node *seq, int depth, GsStep **out,
                        size_t *nout, const char *where);

/* Number of rules in an opaque (non-kestrel) rule text: ';'-separated,
 * non-blank parts. */
static int count_opaque_rules(const char *s)
{
    int n = 0;
    bool content = false;

    for (; *s; s++) {
        if (*s == ';') {
            n += content;
            content = false;
        } else if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') {
            content = true;
        }
    }
    return n + content;
}

/* Number of UTF-8 characters in the first n bytes of s. */
static int utf8_chars(const char *s, size_t n)
{
    int k = 0;
    size_t i;

    for (i = 0; i < n && s[i]; i++) {
        k += ((unsigned char)s[i] & 0xc0) != 0x80;
    }
    return k;
}

static int check_fault_rules(Ctx *c, const Node *v, const char *key)
{
    KestrelFaultEngine *e;
    char kerr[KESTREL_FAULT_ERR_MAX];
    unsigned long col = 0;
    const char *what = kerr;
    size_t q;
    int r;

    if (!c->kestrel) {
        return count_opaque_rules(v->val);
    }
    e = tmp_alloc(c, sizeof(*e));
    kestrel_fault_init(e, 0);
    kerr[0] = '\0';
    r = kestrel_fault_set(e, v->val, kerr, sizeof(kerr));
    if (r >= 0) {
        return r;
    }
    kerr[sizeof(kerr) - 1] = '\0';
    if (sscanf(kerr, "column %lu:", &col) == 1) {
        const char *p = strstr(kerr, ": ");

        what = p ? p + 2 : kerr;
    }
    /* Map column col of the value onto the file when the value's text is
     * the source text verbatim (no escapes, folding or line breaks). */
    q = v->style == YAML_PLAIN_SCALAR_STYLE ? 0 : 1;
    if (col >= 1 && col <= v->len + 1 && !memchr(v->val, '\n', v->len) &&
        (v->style == YAML_PLAIN_SCALAR_STYLE ||
         v->style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
         v->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
        v->off + q + v->len <= c->len &&
        memcmp(c->text + v->off + q, v->val, v->len) == 0) {
        fail(c, v->line, v->col + (int)q + utf8_chars(v->val, col - 1),
             "bad fault rule in '%s': %s", key, what);
    }
    fail(c, v->line, v->col, "bad fault rule in '%s' (column %lu of the "
         "rule text): %s", key, col, what);
}

static Running *find_running(Ctx *c, const char *name)
{
    size_t i;

    for (i = 0; i < c->nrunning; i++) {
        if (!strcmp(c->running[i].name, name)) {
            return &c->running[i];
        }
    }
    return NULL;
}

static void step_checks(Ctx *c, GsStep *st, const Node *map,
                        const KeySpec *keys, const Node **found, int depth)
{
    char b[72];

    switch (st->type) {
    case GS_STEP_WORKLOAD: {
        Running *r = find_running(c, st->u.workload.name);
        const Node *v = spec_found(keys, found, "name");

        if (r) {
            fail(c, v->line, v->col, "workload '%s' is already running "
                 "(started at line %d, column %d): expected a new name or "
                 "a workload_stop first", st->u.workload.name, r->line,
                 r->col);
        }
        r = &c->running[c->nrunning++];
        r->name = st->u.workload.name;
        r->line = st->line;
        r->col = st->col;
        r->depth = depth;
        break;
    }
    case GS_STEP_WORKLOAD_STOP: {
        Running *r = find_running(c, st->u.workload_stop.name);
        const Node *v = spec_found(keys, found, "name");

        if (!r) {
            const char *names[GS_MAX_STEPS];
            const char *sug;
            size_t i;

            if (c->nrunning == 0) {
                fail(c, v->line, v->col, "workload_stop of unknown workload "
                     "'%s': no workload is running here",
                     st->u.workload_stop.name);
            }
            for (i = 0; i < c->nrunning; i++) {
                names[i] = c->running[i].name;
            }
            sug = suggest(v->val, v->len, names, c->nrunning);
            fail(c, v->line, v->col, "workload_stop of unknown workload "
                 "'%s'%s%s%s; running here: %s%s",
                 st->u.workload_stop.name, sug ? " (did you mean '" : "",
                 sug ? sug : "", sug ? "'?)" : "", names[0],
                 c->nrunning > 1 ? ", ..." : "");
        }
        if (r->depth != depth) {
            fail(c, v->line, v->col, "workload_stop of '%s' inside a repeat "
                 "body, but it was started outside it (line %d): expected "
                 "start and stop in the same step list", r->name, r->line);
        }
        *r = c->running[--c->nrunning];
        break;
    }
    case GS_STEP_FAULTS: {
        const Node *set = spec_found(keys, found, "set");
        const Node *add = spec_found(keys, found, "add");
        const Node *clr = spec_found(keys, found, "clear");
        int n = (set != NULL) + (add != NULL) + (clr != NULL);
        const Node *v;

        if (n == 0) {
            fail(c, st->line, st->col, "step 'faults' needs one of 'set', "
                 "'add' or 'clear'");
        }
        if (n > 1) {
            const Node *k = map->first->next->next;     /* second key */

            fail(c, k->line, k->col, "step 'faults' takes exactly one of "
                 "'set', 'add' or 'clear', found %d", n);
        }
        if (clr) {
            bool bv = false;

            parse_bool(clr, &bv);
            if (!bv) {
                fail(c, clr->line, clr->col, "'clear: false' does nothing: "
                     "expected 'clear: true'");
            }
            st->u.faults.op = GS_FAULTS_CLEAR;
            st->u.faults.rules = "";
            st->u.faults.first_rule = c->nrules;
            break;
        }
        v = set ? set : add;
        st->u.faults.op = set ? GS_FAULTS_SET : GS_FAULTS_ADD;
        st->u.faults.rules = out_strdup(c, v->val, v->len);
        st->u.faults.nrules = check_fault_rules(c, v, set ? "set" : "add");
        st->u.faults.first_rule = c->nrules;
        c->nrules += st->u.faults.nrules;
        break;
    }
    case GS_STEP_SUSPEND: {
        const Node *lv = spec_found(keys, found, "level");

        if (st->u.suspend.mode == GS_SUSPEND_PM_TEST && !lv) {
            fail(c, st->line, st->col, "suspend mode 'pm_test' needs "
                 "'level' (one of: freezer, devices, platform, processors, "
                 "core)");
        }
        if (st->u.suspend.mode != GS_SUSPEND_PM_TEST && lv) {
            fail(c, lv->line, lv->col, "'level' is only valid with "
                 "'mode: pm_test'");
        }
        break;
    }
    case GS_STEP_KFAULT: {
        const Node *fn = spec_found(keys, found, "function");
        const Node *tv = spec_found(keys, found, "times");
        size_t i;

        if (st->u.kfault.type == GS_KFAULT_FAIL_FUNCTION && !fn) {
            fail(c, st->line, st->col, "kfault type 'fail_function' needs "
                 "'function' (the kernel function to fail)");
        }
        if (st->u.kfault.type != GS_KFAULT_FAIL_FUNCTION && fn) {
            fail(c, fn->line, fn->col, "'function' is only valid with "
                 "'type: fail_function'");
        }
        if (fn) {
            for (i = 0; i < fn->len; i++) {
                char ch = fn->val[i];

                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      ch == '_' || (i > 0 && ch >= '0' && ch <= '9'))) {
                    fail(c, fn->line, fn->col, "'function': found %s, "
                         "expected a C identifier (a kernel function name)",
                         show(fn->val, fn->len, b, sizeof(b)));
                }
            }
        }
        if (tv && st->u.kfault.times == 0) {
            fail(c, tv->line, tv->col, "'times': 0 would never inject: "
                 "expected -1 (no limit) or 1..1000000");
        }
        break;
    }
    case GS_STEP_COUNTER: {
        const Node *nv = spec_found(keys, found, "name");
        const Node *ov = spec_found(keys, found, "op");
        const char *op = ov ? ov->val : ">=";
        int i;

        st->u.counter.rule = -1;
        for (i = 0; op_names[i]; i++) {
            if (!strcmp(op, op_names[i]) || !strcmp(op, op_words[i])) {
                break;
            }
        }
        if (!op_names[i]) {
            fail(c, ov->line, ov->col, "'op': unknown operator %s; expected "
                 "one of: ==, !=, <, <=, >, >= (quoted) or eq, ne, lt, le, "
                 "gt, ge", show(ov->val, ov->len, b, sizeof(b)));
        }
        st->u.counter.op = (GsCmpOp)i;
        if (st->u.counter.source == GS_SRC_FAULT) {
            int64_t idx;

            if (!strcmp(nv->val, "all")) {
                break;
            }
            if (nv->len == 0 || nv->len > 9 ||
                strspn(nv->val, "0123456789") != nv->len) {
                fail(c, nv->line, nv->col, "'name': found %s, expected a "
                     "fault rule index (0, 1, ...) or 'all' for source "
                     "fault", show(nv->val, nv->len, b, sizeof(b)));
            }
            idx = strtoll(nv->val, NULL, 10);
            if (idx >= c->nrules) {
                fail(c, nv->line, nv->col, "'name': fault rule %" PRId64
                     " does not exist: %d rule(s) are defined before this "
                     "step", idx, c->nrules);
            }
            st->u.counter.rule = (int)idx;
        } else {
            for (size_t j = 0; j < nv->len; j++) {
                char ch = nv->val[j];

                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
                      ch == '-' || ch == '/')) {
                    fail(c, nv->line, nv->col, "'name': found %s, expected "
                         "a counter name from [A-Za-z0-9_./-]",
                         show(nv->val, nv->len, b, sizeof(b)));
                }
            }
        }
        break;
    }
    case GS_STEP_WAIT: {
        const Node *sv = spec_found(keys, found, "seconds");
        const Node *mv = spec_found(keys, found, "ms");
        int64_t ms;

        if (!sv && !mv) {
            fail(c, st->line, st->col, "step 'wait' needs 'seconds' or "
                 "'ms'");
        }
        if (sv && mv) {
            const Node *k = map->first->next->next;

            fail(c, k->line, k->col, "step 'wait' takes one of 'seconds' "
                 "or 'ms', not both");
        }
        if (mv) {
            parse_int(mv, &ms);
            st->u.wait.seconds = (double)ms / 1000.0;
        }
        break;
    }
    case GS_STEP_REPEAT: {
        const Node *sv = spec_found(keys, found, "steps");
        size_t i;

        if (depth + 1 > GS_MAX_REPEAT_DEPTH) {
            fail(c, st->line, st->col, "repeat nested too deeply: at most "
                 "%d levels of repeat", GS_MAX_REPEAT_DEPTH);
        }
        parse_steps(c, sv, depth + 1, &st->u.repeat.steps,
                    &st->u.repeat.nsteps, "'repeat' steps");
        for (i = 0; i < c->nrunning; i++) {
            if (c->running[i].depth > depth) {
                fail(c, c->running[i].line, c->running[i].col, "workload "
                     "'%s' is started in a repeat body but not stopped "
                     "there: expected a workload_stop in the same body",
                     c->running[i].name);
            }
        }
        break;
    }
    default:
        break;
    }
}

static void parse_step(Ctx *c, const Node *item, GsStep *st, int depth)
{
    const char *names[GS_STEP__MAX];
    const Node *key, *val = NULL;
    const KeySpec *keys;
    const Node *found[MAX_KEYS];
    char what[64], b[72], d[128];
    int t;

    for (t = 0; t < GS_STEP__MAX; t++) {
        names[t] = step_specs[t].name;
    }
    if (item->kind == N_SCALAR && !is_null(item)) {
        key = item;                     /* "- unload" shorthand */
    } else if (item->kind == N_MAP && item->n >= 2) {
        key = item->first;
        val = key->next;
        if (item->n > 2) {
            const Node *k2 = val->next;

            fail(c, k2->line, k2->col, "step has more than one key ('%s' "
                 "and '%s'): expected exactly one step type per list item "
                 "(are the step's options indented under it?)", key->val,
                 k2->val);
        }
    } else {
        fail(c, item->line, item->col, "found %s as a step: expected a "
             "mapping with one key, the step type (e.g. '- boot: {}')",
             describe(item, d, sizeof(d)));
    }
    for (t = 0; t < GS_STEP__MAX; t++) {
        if (!strcmp(key->val, names[t])) {
            break;
        }
    }
    if (t == GS_STEP__MAX) {
        const char *sug = suggest(key->val, key->len, names, GS_STEP__MAX);
        char all[256];

        if (sug) {
            fail(c, key->line, key->col, "unknown step %s (did you mean "
                 "'%s'?)", show(key->val, key->len, b, sizeof(b)), sug);
        }
        join_names(names, GS_STEP__MAX, all, sizeof(all));
        fail(c, key->line, key->col, "unknown step %s; expected one of: %s",
             show(key->val, key->len, b, sizeof(b)), all);
    }
    st->type = (GsStepType)t;
    st->line = key->line;
    st->col = key->col;
    if (val && is_null(val)) {
        val = NULL;
    }
    if (val && val->kind != N_MAP) {
        fail(c, val->line, val->col, "step '%s' takes a mapping of options: "
             "found %s, expected e.g. '%s: {}'", names[t],
             describe(val, d, sizeof(d)), names[t]);
    }
    keys = step_specs[t].keys;
    snprintf(what, sizeof(what), "step '%s'", names[t]);
    apply_map(c, val, keys, st, found, what, st->line, st->col);
    step_checks(c, st, val, keys, found, depth);
}

static void parse_steps(Ctx *c, const Node *seq, int depth, GsStep **out,
                        size_t *nout, const char *where)
{
    const Node *it;
    char d[128];
    size_t i = 0;

    if (seq->kind != N_SEQ) {
        fail(c, seq->line, seq->col, "%s: found %s, expected a list of "
             "steps", where, describe(seq, d, sizeof(d)));
    }
    if (seq->n == 0) {
        fail(c, seq->line, seq->col, "%s: the list is empty, expected at "
             "least one step", where);
    }
    if (seq->n > GS_MAX_STEPS) {
        fail(c, seq->line, seq->col, "too many steps: %zu, expected at most "
             "%d", seq->n, GS_MAX_STEPS);
    }
    *out = out_alloc(c, seq->n * sizeof(GsStep));
    *nout = seq->n;
    for (it = seq->first; it; it = it->next, i++) {
        if (++c->total_steps > GS_MAX_STEPS) {
            fail(c, it->line, it->col, "too many steps: more than %d in "
                 "the scenario (a repeat's body counted once)", GS_MAX_STEPS);
        }
        parse_step(c, it, &(*out)[i], depth);
    }
}

/* ---- top level -------------------------------------------------------- */

typedef struct Top {
    const char *name, *description, *target;
    int kernel;
    int64_t timeout;
} Top;

#define TOFF(f) offsetof(Top, f)

static const KeySpec top_keys[] = {
    { .name = "name", .type = K_IDENT, .off = TOFF(name), .required = true },
    { .name = "description", .type = K_STR, .off = TOFF(description),
      .required = true, .imin = 1, .imax = 65536 },
    { .name = "target", .type = K_IDENT, .off = TOFF(target),
      .ds = "kestrel" },
    { .name = "kernel", .type = K_ENUM, .off = TOFF(kernel),
      .names = kernel_names },
    { .name = "timeout", .type = K_INT, .off = TOFF(timeout), .imin = 1,
      .imax = 7200, .di = 600 },
    { .name = "tags", .type = K_ANY, .off = NOSTORE },
    { .name = "allow_unfired", .type = K_ANY, .off = NOSTORE },
    { .name = "steps", .type = K_ANY, .off = NOSTORE, .required = true },
    { 0 }
};

static void parse_top(Ctx *c, const Node *root)
{
    GsScenario *sc = c->sc;
    const Node *found[MAX_KEYS];
    const Node *tags, *au, *steps, *it;
    Top top;
    char d[128], b[72];
    size_t i;

    if (!root) {
        fail(c, 1, 1, "empty scenario (only comments or blank lines): "
             "expected a mapping with name, description and steps");
    }
    if (root->kind != N_MAP) {
        fail(c, root->line, root->col, "found %s at the top level: expected "
             "a mapping with name, description and steps",
             describe(root, d, sizeof(d)));
    }
    memset(&top, 0, sizeof(top));
    apply_map(c, root, top_keys, &top, found, "the scenario", root->line,
              root->col);
    sc->name = top.name;
    sc->description = top.description;
    sc->target = top.target;
    sc->kernel = (GsKernel)top.kernel;
    sc->timeout = top.timeout;
    c->kestrel = !strcmp(sc->target, "kestrel");

    tags = spec_found(top_keys, found, "tags");
    if (tags && !is_null(tags)) {
        if (tags->kind != N_SEQ) {
            fail(c, tags->line, tags->col, "'tags': found %s, expected a "
                 "list of names", describe(tags, d, sizeof(d)));
        }
        if (tags->n > GS_MAX_TAGS) {
            fail(c, tags->line, tags->col, "'tags': %zu tags, expected at "
                 "most %d", tags->n, GS_MAX_TAGS);
        }
        sc->tags = out_alloc(c, (tags->n + 1) * sizeof(*sc->tags));
        for (it = tags->first, i = 0; it; it = it->next, i++) {
            if (it->kind != N_SCALAR || !is_ident(it->val, it->len)) {
                fail(c, it->line, it->col, "'tags': found %s, expected a "
                     "name from [a-z0-9._-]", describe(it, d, sizeof(d)));
            }
            for (size_t j = 0; j < i; j++) {
                if (!strcmp(sc->tags[j], it->val)) {
                    fail(c, it->line, it->col, "'tags': duplicate tag %s",
                         show(it->val, it->len, b, sizeof(b)));
                }
            }
            sc->tags[i] = out_strdup(c, it->val, it->len);
        }
        sc->ntags = tags->n;
    }

    c->running = tmp_alloc(c, GS_MAX_STEPS * sizeof(Running));
    steps = spec_found(top_keys, found, "steps");
    parse_steps(c, steps, 0, &sc->steps, &sc->nsteps, "'steps'");
    sc->total_steps = c->total_steps;
    sc->nrules = c->nrules;

    au = spec_found(top_keys, found, "allow_unfired");
    if (au && au->kind == N_SCALAR && !strcmp(au->val, "all")) {
        sc->allow_unfired_all = true;
    } else if (au && !is_null(au)) {
        if (au->kind != N_SEQ) {
            fail(c, au->line, au->col, "'allow_unfired': found %s, expected "
                 "a list of fault rule indices or 'all'",
                 describe(au, d, sizeof(d)));
        }
        sc->allow_unfired = out_alloc(c, (au->n + 1) * sizeof(int));
        for (it = au->first, i = 0; it; it = it->next, i++) {
            int64_t idx;

            if (it->kind != N_SCALAR || parse_int(it, &idx) != 1 || idx < 0) {
                fail(c, it->line, it->col, "'allow_unfired': found %s, "
                     "expected a fault rule index (0, 1, ...)",
                     describe(it, d, sizeof(d)));
            }
            if (idx >= c->nrules) {
                fail(c, it->line, it->col, "'allow_unfired': fault rule %"
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
        sc = out_alloc(c, sizeof(*sc));
        sc->priv_arena = oa;
        sc->file = out_strdup(c, c->name, strlen(c->name));
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

/* ---- dump (yaml_writer.h) ---------------------------------------------- */

static void dump_steps(GyWriter *w, const GsStep *steps, size_t n)
{
    size_t i;

    gy_seq(w, GY_BLOCK);
    for (i = 0; i < n; i++) {
        const GsStep *s = &steps[i];

        gy_map(w, GY_BLOCK);
        gy_key(w, gs_step_name(s->type));
        gy_map(w, s->type == GS_STEP_REPEAT ? GY_BLOCK : GY_FLOW);
        switch (s->type) {
        case GS_STEP_BOOT:
            gy_key(w, "cmdline");
            gy_str(w, s->u.boot.cmdline);
            gy_key(w, "memory");
            gy_int(w, s->u.boot.memory_mb);
            gy_key(w, "smp");
            gy_int(w, s->u.boot.smp);
            break;
        case GS_STEP_LOAD:
            gy_key(w, "params");
            gy_str(w, s->u.load.params);
            gy_key(w, "expect");
            gy_plain(w, expect_names[s->u.load.expect]);
            break;
        case GS_STEP_UNLOAD:
            gy_key(w, "expect");
            gy_plain(w, expect_names[s->u.unload.expect]);
            break;
        case GS_STEP_RUN:
            gy_key(w, "cmd");
            gy_str(w, s->u.run.cmd);
            gy_key(w, "expect_exit");
            gy_int(w, s->u.run.expect_exit);
            if (s->u.run.expect_stdout) {
                gy_key(w, "expect_stdout");
                gy_str(w, s->u.run.expect_stdout);
            }
            if (s->u.run.expect_stderr) {
                gy_key(w, "expect_stderr");
                gy_str(w, s->u.run.expect_stderr);
            }
            gy_key(w, "timeout");
            gy_num(w, s->u.run.timeout);
            break;
        case GS_STEP_WORKLOAD:
            gy_key(w, "name");
            gy_str(w, s->u.workload.name);
            gy_key(w, "cmd");
            gy_str(w, s->u.workload.cmd);
            break;
        case GS_STEP_WORKLOAD_STOP:
            gy_key(w, "name");
            gy_str(w, s->u.workload_stop.name);
            gy_key(w, "expect_exit");
            gy_int(w, s->u.workload_stop.expect_exit);
            gy_key(w, "timeout");
            gy_num(w, s->u.workload_stop.timeout);
            gy_key(w, "wait");
            gy_bool(w, s->u.workload_stop.wait);
            break;
        case GS_STEP_FAULTS:
            if (s->u.faults.op == GS_FAULTS_CLEAR) {
                gy_key(w, "clear");
                gy_bool(w, true);
            } else {
                gy_key(w, s->u.faults.op == GS_FAULTS_SET ? "set" : "add");
                gy_str(w, s->u.faults.rules);
            }
            break;
        case GS_STEP_HOTPLUG:
            gy_key(w, "action");
            gy_plain(w, hotplug_names[s->u.hotplug.action]);
            gy_key(w, "device");
            gy_str(w, s->u.hotplug.device);
            break;
        case GS_STEP_SUSPEND:
            gy_key(w, "mode");
            gy_plain(w, suspend_names[s->u.suspend.mode]);
            if (s->u.suspend.mode == GS_SUSPEND_PM_TEST) {
                gy_key(w, "level");
                gy_plain(w, level_names[s->u.suspend.level - 1]);
            }
            gy_key(w, "cycles");
            gy_int(w, s->u.suspend.cycles);
            break;
        case GS_STEP_KFAULT:
            gy_key(w, "type");
            gy_plain(w, kfault_names[s->u.kfault.type]);
            if (s->u.kfault.function) {
                gy_key(w, "function");
                gy_str(w, s->u.kfault.function);
            }
            gy_key(w, "probability");
            gy_int(w, s->u.kfault.probability);
            gy_key(w, "times");
            gy_int(w, s->u.kfault.times);
            gy_key(w, "interval");
            gy_int(w, s->u.kfault.interval);
            gy_key(w, "space");
            gy_int(w, s->u.kfault.space);
            gy_key(w, "require");
            gy_bool(w, s->u.kfault.require);
            break;
        case GS_STEP_EXPECT_LOG:
            gy_key(w, "pattern");
            gy_str(w, s->u.expect_log.pattern);
            gy_key(w, "timeout");
            gy_num(w, s->u.expect_log.timeout);
            break;
        case GS_STEP_FORBID_LOG:
            gy_key(w, "pattern");
            gy_str(w, s->u.forbid_log.pattern);
            break;
        case GS_STEP_COUNTER:
            gy_key(w, "source");
            gy_plain(w, source_names[s->u.counter.source]);
            gy_key(w, "name");
            gy_str(w, s->u.counter.name);
            gy_key(w, "op");
            gy_str(w, op_names[s->u.counter.op]);
            gy_key(w, "value");
            gy_int(w, s->u.counter.value);
            break;
        case GS_STEP_WAIT:
            gy_key(w, "seconds");
            gy_num(w, s->u.wait.seconds);
            break;
        case GS_STEP_REPEAT:
            gy_key(w, "count");
            gy_int(w, s->u.repeat.count);
            gy_key(w, "steps");
            dump_steps(w, s->u.repeat.steps, s->u.repeat.nsteps);
            break;
        default:
            break;
        }
        gy_end(w);
        gy_end(w);
    }
    gy_end(w);
}

void gs_dump(const GsScenario *s, FILE *f)
{
    GyWriter *w = gy_new();
    char err[300];
    size_t i;

    gy_map(w, GY_BLOCK);
    gy_key(w, "name");
    gy_str(w, s->name);
    gy_key(w, "description");
    gy_str(w, s->description);
    gy_key(w, "target");
    gy_str(w, s->target);
    gy_key(w, "kernel");
    gy_plain(w, kernel_names[s->kernel]);
    gy_key(w, "timeout");
    gy_int(w, s->timeout);
    gy_key(w, "tags");
    gy_seq(w, GY_FLOW);
    for (i = 0; i < s->ntags; i++) {
        gy_str(w, s->tags[i]);
    }
    gy_end(w);
    gy_key(w, "allow_unfired");
    if (s->allow_unfired_all) {
        gy_plain(w, "all");
    } else {
        gy_seq(w, GY_FLOW);
        for (i = 0; i < s->nallow_unfired; i++) {
            gy_int(w, s->allow_unfired[i]);
        }
        gy_end(w);
    }
    gy_key(w, "steps");
    dump_steps(w, s->steps, s->nsteps);
    gy_end(w);
    if (gy_finish_to(w, f, err, sizeof(err)) < 0) {
        /* a parsed scenario's strings are UTF-8 (libyaml's reader checks):
         * a failure here is a bug, said where the dump goes */
        fprintf(f, "# gs_dump: %s\n", err);
    }
}
