/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scenario parser's values: scalar typing (bool, integer, float,
 * durations), suggestions for misspelt names, the regular-expression cost
 * check, and key specs applied to a mapping.
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

bool gsp_parse_bool(const Node *n, bool *v)
{
    static const char *const t[] = { "true", "True", "TRUE" };
    static const char *const f[] = { "false", "False", "FALSE" };
    int i;

    if (!gsp_is_plain(n)) {
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
int gsp_parse_int(const Node *n, int64_t *v)
{
    const char *s = n->val;
    char *end;
    int base = 10;
    bool neg = false;
    size_t i = 0;
    unsigned long long u;

    if (!gsp_is_plain(n) || n->len == 0) {
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

    if (gsp_parse_int(n, &iv) == 1) {
        *v = (double)iv;
        return true;
    }
    if (!gsp_is_plain(n) || n->len == 0) {
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
const char *gsp_describe(const Node *n, char *buf, size_t bufsz)
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
    if (gsp_is_null(n)) {
        return "nothing (null)";
    }
    if (gsp_parse_int(n, &iv)) {
        snprintf(buf, bufsz, "integer %s", gsp_show(n->val, n->len, b, sizeof(b)));
    } else if (parse_float(n, &dv)) {
        snprintf(buf, bufsz, "number %s", gsp_show(n->val, n->len, b, sizeof(b)));
    } else if (gsp_parse_bool(n, &bv)) {
        snprintf(buf, bufsz, "boolean %s", gsp_show(n->val, n->len, b, sizeof(b)));
    } else {
        snprintf(buf, bufsz, "string %s", gsp_show(n->val, n->len, b, sizeof(b)));
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
const char *gsp_suggest(const char *s, size_t len, const char *const *names,
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

void gsp_join_names(const char *const *names, size_t n, char *buf,
                       size_t bufsz)
{
    size_t i, o = 0;

    buf[0] = '\0';
    for (i = 0; i < n && o < bufsz; i++) {
        o += (size_t)snprintf(buf + o, bufsz - o, "%s%s", i ? ", " : "",
                              names[i]);
    }
}

static size_t count_names(const char *const *names)
{
    size_t n = 0;

    while (names[n]) {
        n++;
    }
    return n;
}

bool gsp_is_ident(const char *s, size_t len)
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

        gsp_fail(c, v->line, v->col, "regular expression %s has repetition "
             "operators in a row (expected one of *, +, ?, {n,m} after an "
             "atom: several in a row are undefined in POSIX; group them, "
             "as in (a+)*)", gsp_show(v->val, v->len, b, sizeof(b)));
    }
    if (too_deep || cost > RE_MAX_COST) {
        char b[72];

        gsp_fail(c, v->line, v->col, "regular expression %s is too complex: %s "
             "(expected at most %d nested groups and at most %d elements "
             "once repetitions are expanded; stacked or nested repetitions "
             "such as (a+)+ or a{100}{100} multiply)",
             gsp_show(v->val, v->len, b, sizeof(b)),
             too_deep ? "groups nested too deep" : "repetitions expand too far",
             RE_MAX_DEPTH, RE_MAX_COST);
    }
    rc = regcomp(&re, v->val, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[256], b[72];

        regerror(rc, &re, msg, sizeof(msg));
        /* regfree after a failed regcomp is not portable: glibc frees
         * everything on failure */
        gsp_fail(c, v->line, v->col, "bad regular expression %s: %s "
             "(expected a POSIX extended regular expression)",
             gsp_show(v->val, v->len, b, sizeof(b)), msg);
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

    if (v->kind != N_SCALAR || gsp_is_null(v)) {
        gsp_fail(c, v->line, v->col, "'%s': found %s, expected %s", key,
             gsp_describe(v, d, sizeof(d)), what);
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
            gsp_fail(c, v->line, v->col, "'%s' is empty: expected a non-empty "
                 "string", k->name);
        }
        if (k->imax > 0 && v->len > (size_t)k->imax) {
            gsp_fail(c, v->line, v->col, "'%s' is %zu bytes long: expected at "
                 "most %" PRId64, k->name, v->len, k->imax);
        }
        s = gsp_out_strdup(c, v->val, v->len);
        store(base, k->off, &s, sizeof(s));
        break;
    }
    case K_IDENT: {
        const char *s;

        expect_scalar(c, v, k->name, "a name");
        if (!gsp_is_ident(v->val, v->len)) {
            char b[72];

            gsp_fail(c, v->line, v->col, "'%s': found %s, expected a name of "
                 "1 to %d characters from [a-z0-9._-], starting with a "
                 "letter or digit", k->name, gsp_show(v->val, v->len, b,
                                                  sizeof(b)), GS_MAX_NAME);
        }
        s = gsp_out_strdup(c, v->val, v->len);
        store(base, k->off, &s, sizeof(s));
        break;
    }
    case K_INT: {
        int64_t iv;
        int r = v->kind == N_SCALAR ? gsp_parse_int(v, &iv) : 0;

        if (r == 0) {
            gsp_fail(c, v->line, v->col, "'%s': found %s, expected an integer",
                 k->name, gsp_describe(v, d, sizeof(d)));
        }
        if (r < 0 || iv < k->imin || iv > k->imax) {
            gsp_fail(c, v->line, v->col, "'%s': %s is out of range: expected "
                 "%" PRId64 "..%" PRId64, k->name, v->val, k->imin, k->imax);
        }
        store(base, k->off, &iv, sizeof(iv));
        break;
    }
    case K_FLOAT: {
        double fv;

        if (v->kind != N_SCALAR || !parse_float(v, &fv)) {
            gsp_fail(c, v->line, v->col, "'%s': found %s, expected a number",
                 k->name, gsp_describe(v, d, sizeof(d)));
        }
        if (!(fv >= k->fmin && fv <= k->fmax)) {
            gsp_fail(c, v->line, v->col, "'%s': %s is out of range: expected "
                 "%g..%g", k->name, v->val, k->fmin, k->fmax);
        }
        store(base, k->off, &fv, sizeof(fv));
        break;
    }
    case K_BOOL: {
        bool bv;

        if (v->kind != N_SCALAR || !gsp_parse_bool(v, &bv)) {
            gsp_fail(c, v->line, v->col, "'%s': found %s, expected a boolean "
                 "(true or false)", k->name, gsp_describe(v, d, sizeof(d)));
        }
        store(base, k->off, &bv, sizeof(bv));
        break;
    }
    case K_ENUM: {
        size_t n = count_names(k->names), i;
        char all[256], b[72];
        const char *sug;
        int ev;

        gsp_join_names(k->names, n, all, sizeof(all));
        expect_scalar(c, v, k->name, "one of the names listed below");
        for (i = 0; i < n; i++) {
            if (!strcmp(v->val, k->names[i])) {
                ev = (int)i + k->ebase;
                store(base, k->off, &ev, sizeof(ev));
                return;
            }
        }
        sug = gsp_suggest(v->val, v->len, k->names, n);
        if (sug) {
            gsp_fail(c, v->line, v->col, "'%s': unknown value %s (did you mean "
                 "'%s'?); expected one of: %s", k->name,
                 gsp_show(v->val, v->len, b, sizeof(b)), sug, all);
        }
        gsp_fail(c, v->line, v->col, "'%s': unknown value %s; expected one of: "
             "%s", k->name, gsp_show(v->val, v->len, b, sizeof(b)), all);
    }
    case K_REGEX: {
        const char *s;

        expect_scalar(c, v, k->name, "a regular expression");
        check_regex(c, v);
        s = gsp_out_strdup(c, v->val, v->len);
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
void gsp_apply_map(Ctx *c, const Node *map, const KeySpec *specs,
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
            const char *sug = gsp_suggest(k->val, k->len, names, nspecs);

            gsp_join_names(names, nspecs, all, sizeof(all));
            if (sug) {
                gsp_fail(c, k->line, k->col, "unknown key %s in %s (did you "
                     "mean '%s'?); expected one of: %s",
                     gsp_show(k->val, k->len, b, sizeof(b)), what, sug, all);
            }
            gsp_fail(c, k->line, k->col, "unknown key %s in %s; expected one "
                 "of: %s", gsp_show(k->val, k->len, b, sizeof(b)), what, all);
        }
        found[i] = v;
        apply_value(c, &specs[i], v, base);
    }
    for (i = 0; i < nspecs; i++) {
        if (specs[i].required && !found[i]) {
            gsp_fail(c, line, col, "%s is missing required key '%s'", what,
                 specs[i].name);
        }
    }
}

const Node *gsp_spec_found(const KeySpec *specs, const Node **found,
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
