/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vocabulary loader's tools (campaign_vocab_parse.h): nodes, values,
 * templates and weighted lists of a campaign.yaml, each checked with its
 * position.  The loader never trusts its input: nothing is truncated
 * silently, and every list is bounded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_vocab_parse.h"

/* ---- the arena ---------------------------------------------------------- */

void *cvp_alloc(Parser *P, size_t n)
{
    Block *b = calloc(1, sizeof(*b) + n);

    if (!b) {
        snprintf(P->err, P->errlen, "%s: out of memory", P->path);
        longjmp(P->fail, 1);
    }
    b->next = P->arena;
    P->arena = b;
    return b->data;
}

char *cvp_strdup(Parser *P, const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(cvp_alloc(P, n), s, n);
}

void cvp_arena_free(Block *b)
{
    while (b) {
        Block *next = b->next;

        free(b);
        b = next;
    }
}

/* ---- errors and nodes ------------------------------------------------------- */

void cvp_fail(Parser *P, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    int l;

    if (n) {
        l = snprintf(P->err, P->errlen, "%s:%zu:%zu: ", P->path, n->start_mark.line + 1,
                     n->start_mark.column + 1);
    } else {
        l = snprintf(P->err, P->errlen, "%s: ", P->path);
    }
    if (l >= 0 && (size_t)l < P->errlen) {
        va_start(ap, fmt);
        vsnprintf(P->err + l, P->errlen - (size_t)l, fmt, ap);
        va_end(ap);
    }
    longjmp(P->fail, 1);
}

yaml_node_t *cvp_node(Parser *P, int id)
{
    return yaml_document_get_node(&P->doc, id);
}

const char *cvp_type_name(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE ? "a mapping" :
           n->type == YAML_SEQUENCE_NODE ? "a list" : "a scalar";
}

const char *cvp_scalar(Parser *P, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE) {
        cvp_fail(P, n, "%s wants a scalar, got %s", what, cvp_type_name(n));
    }
    if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
        cvp_fail(P, n, "%s holds a NUL byte", what);
    }
    return (const char *)n->data.scalar.value;
}

/* A mapping's keys must be among allowed (NULL-terminated), each once. */
void cvp_map_check(Parser *P, const yaml_node_t *m, const char *what,
                      const char *const *allowed)
{
    if (m->type != YAML_MAPPING_NODE) {
        cvp_fail(P, m, "%s wants a mapping, got %s", what, cvp_type_name(m));
    }
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cvp_node(P, p->key);
        const char *key = cvp_scalar(P, k, "a key");
        bool known = false;
        char list[512] = "";
        size_t l = 0;

        for (const char *const *a = allowed; *a; a++) {
            known |= !strcmp(*a, key);
            l += (size_t)snprintf(list + l, l < sizeof(list) ? sizeof(list) - l : 0,
                                  "%s%s", a == allowed ? "" : ", ", *a);
        }
        if (!known) {
            cvp_fail(P, k, "unknown key '%s' in %s (expected one of: %s)", key, what, list);
        }
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
            if (!strcmp((const char *)cvp_node(P, q->key)->data.scalar.value, key)) {
                cvp_fail(P, k, "duplicate key '%s' in %s", key, what);
            }
        }
    }
}

yaml_node_t *cvp_map_get(Parser *P, const yaml_node_t *m, const char *key)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        if (!strcmp((const char *)cvp_node(P, p->key)->data.scalar.value, key)) {
            return cvp_node(P, p->value);
        }
    }
    return NULL;
}

yaml_node_t *cvp_map_need(Parser *P, const yaml_node_t *m, const char *key,
                             const char *what)
{
    yaml_node_t *v = cvp_map_get(P, m, key);

    if (!v) {
        cvp_fail(P, m, "%s needs '%s'", what, key);
    }
    return v;
}

yaml_node_t *cvp_map_key_node(Parser *P, const yaml_node_t *m, const char *key)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        if (!strcmp((const char *)cvp_node(P, p->key)->data.scalar.value, key)) {
            return cvp_node(P, p->key);
        }
    }
    return NULL;
}

int cvp_seq_len(Parser *P, const yaml_node_t *n, const char *what)
{
    long len;

    if (n->type != YAML_SEQUENCE_NODE) {
        cvp_fail(P, n, "%s wants a list, got %s", what, cvp_type_name(n));
    }
    len = n->data.sequence.items.top - n->data.sequence.items.start;
    if (len > CV_MAX_LIST) {
        cvp_fail(P, n, "%s has %ld entries, at most %d", what, len, CV_MAX_LIST);
    }
    return (int)len;
}

yaml_node_t *cvp_seq_at(Parser *P, const yaml_node_t *n, int i)
{
    return cvp_node(P, n->data.sequence.items.start[i]);
}

/* ---- scalars ------------------------------------------------------------------ */

static bool parse_ll(const char *s, long long *v, bool *hex)
{
    char *end;

    if (!*s || (*s != '-' && (*s < '0' || *s > '9'))) {
        return false;
    }
    errno = 0;
    *v = strtoll(s, &end, 0);
    if (hex) {
        *hex = !strncmp(s, "0x", 2) || !strncmp(s, "0X", 2);
    }
    return !errno && !*end;
}

unsigned cvp_uint(Parser *P, const yaml_node_t *n, const char *what,
                         unsigned lo, unsigned hi)
{
    const char *s = cvp_scalar(P, n, what);
    long long v;

    if (!parse_ll(s, &v, NULL) || v < lo || v > hi) {
        cvp_fail(P, n, "%s wants an integer in %u..%u, got '%s'", what, lo, hi, s);
    }
    return (unsigned)v;
}

bool cvp_bool(Parser *P, const yaml_node_t *n, const char *what)
{
    const char *s = cvp_scalar(P, n, what);

    if (!strcmp(s, "true")) {
        return true;
    }
    if (!strcmp(s, "false")) {
        return false;
    }
    cvp_fail(P, n, "%s wants true or false, got '%s'", what, s);
}

/* "N" or "N..M" (integers, N <= M), within lo..hi. */
CvRange cvp_range(Parser *P, const yaml_node_t *n, const char *what,
                         long long lo, long long hi)
{
    const char *s = cvp_scalar(P, n, what), *dots = strstr(s, "..");
    char a[64];
    CvRange g;

    snprintf(a, sizeof(a), "%.*s", dots ? (int)(dots - s) : (int)strlen(s), s);
    if (!parse_ll(a, &g.lo, NULL) || (dots ? !parse_ll(dots + 2, &g.hi, NULL) :
                                      ((g.hi = g.lo), false))) {
        cvp_fail(P, n, "%s wants an integer or a range LO..HI, got '%s'", what, s);
    }
    if (g.lo > g.hi) {
        cvp_fail(P, n, "%s: the range %s is empty (LO > HI)", what, s);
    }
    if (g.lo < lo || g.hi > hi) {
        cvp_fail(P, n, "%s wants values in %lld..%lld, got '%s'", what, lo, hi, s);
    }
    return g;
}

/* Seconds: "S" or "S..T", drawn in tenths. */
CvSecs cvp_secs(Parser *P, const yaml_node_t *n, const char *what)
{
    const char *s = cvp_scalar(P, n, what), *dots = strstr(s, "..");
    char a[64], *end;
    double lo, hi;
    CvSecs g;

    snprintf(a, sizeof(a), "%.*s", dots ? (int)(dots - s) : (int)strlen(s), s);
    errno = 0;
    lo = strtod(a, &end);
    if (errno || *end || !a[0] || a[0] == '-') {
        goto bad;
    }
    hi = lo;
    if (dots) {
        hi = strtod(dots + 2, &end);
        if (errno || *end || !dots[2] || dots[2] == '-') {
            goto bad;
        }
    }
    if (!(lo >= 0.1 && hi <= 600 && lo <= hi)) {
        cvp_fail(P, n, "%s wants seconds in 0.1..600 with LO <= HI, got '%s'", what, s);
    }
    g.lo_ds = (unsigned)(lo * 10 + 0.5);
    g.hi_ds = (unsigned)(hi * 10 + 0.5);
    return g;
bad:
    cvp_fail(P, n, "%s wants seconds or a range LO..HI (e.g. 0.5..1.5), got '%s'", what, s);
}

/* ---- templates ---------------------------------------------------------------------- */

static size_t var_maxlen(const CvVar *v)
{
    size_t m = 0;
    char b[64];

    if (v->range) {
        for (int i = 0; i < 2; i++) {
            long long x = i ? v->hi : v->lo;
            int l = v->hex && x >= 0 ? snprintf(b, sizeof(b), "0x%llx", x) :
                    snprintf(b, sizeof(b), "%lld", x);

            m = (size_t)l > m ? (size_t)l : m;
        }
        return m;
    }
    for (int i = 0; i < v->nchoices; i++) {
        size_t l = strlen(v->choices[i]);

        m = l > m ? l : m;
    }
    return m;
}

CvVar *cvp_vars(Parser *P, const yaml_node_t *m, int *n)
{
    CvVar *vars;
    long cnt;

    if (m->type != YAML_MAPPING_NODE) {
        cvp_fail(P, m, "vars wants a mapping of NAME: LO..HI or NAME: [choices], got %s",
                cvp_type_name(m));
    }
    cnt = m->data.mapping.pairs.top - m->data.mapping.pairs.start;
    if (cnt > CV_MAX_VARS) {
        cvp_fail(P, m, "vars has %ld variables, at most %d", cnt, CV_MAX_VARS);
    }
    vars = cvp_alloc(P, (size_t)(cnt ? cnt : 1) * sizeof(*vars));
    for (long i = 0; i < cnt; i++) {
        yaml_node_pair_t *p = &m->data.mapping.pairs.start[i];
        yaml_node_t *k = cvp_node(P, p->key), *v = cvp_node(P, p->value);
        const char *name = cvp_scalar(P, k, "a variable name");
        CvVar *x = &vars[i];

        if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name) ||
            strlen(name) > 31) {
            cvp_fail(P, k, "variable name '%s' wants [a-z0-9_], 1-31 chars", name);
        }
        for (long j = 0; j < i; j++) {
            if (!strcmp(vars[j].name, name)) {
                cvp_fail(P, k, "duplicate variable '%s'", name);
            }
        }
        x->name = cvp_strdup(P, name);
        if (v->type == YAML_SEQUENCE_NODE) {
            int nc = cvp_seq_len(P, v, "a variable's choices");

            if (!nc) {
                cvp_fail(P, v, "variable '%s' has no choices", name);
            }
            x->choices = cvp_alloc(P, (size_t)nc * sizeof(*x->choices));
            for (int c = 0; c < nc; c++) {
                const char *s = cvp_scalar(P, cvp_seq_at(P, v, c), "a choice");

                if (strlen(s) >= CS_TEXT) {
                    cvp_fail(P, cvp_seq_at(P, v, c), "choice longer than %d characters", CS_TEXT - 1);
                }
                x->choices[c] = cvp_strdup(P, s);
            }
            x->nchoices = nc;
        } else {
            const char *s = cvp_scalar(P, v, "a variable"), *dots = strstr(s, "..");
            char a[64];
            bool hexhi;

            snprintf(a, sizeof(a), "%.*s", dots ? (int)(dots - s) : 0, s);
            if (!dots || !parse_ll(a, &x->lo, &x->hex) || !parse_ll(dots + 2, &x->hi, &hexhi)) {
                cvp_fail(P, v, "variable '%s' wants a range LO..HI (e.g. 50..900, 0x1..0x7fff) "
                        "or a list of choices ([a, b]), got '%s'", name, s);
            }
            if (x->lo > x->hi) {
                cvp_fail(P, v, "variable '%s': the range %s is empty (LO > HI)", name, s);
            }
            if (x->hex && x->lo < 0) {
                cvp_fail(P, v, "variable '%s': a hex range cannot be negative", name);
            }
            x->range = true;
        }
    }
    *n = (int)cnt;
    return vars;
}

/* Check text's placeholders against its own variables and the scope's;
 * every own variable must be used.  Sets t->maxlen. */
void cvp_template(Parser *P, CvText *t, const yaml_node_t *tn, const char *text,
                           const yaml_node_t *vn, const CvVar *scope, int nscope)
{
    bool used[CV_MAX_VARS] = { false };
    size_t max = 0;

    t->text = cvp_strdup(P, text);
    t->line = (int)tn->start_mark.line + 1;
    t->col = (int)tn->start_mark.column + 1;
    if (vn) {
        t->vars = cvp_vars(P, vn, &t->nvars);
    }
    for (const char *p = text; *p; p++) {
        const char *close;
        char name[64];
        const CvVar *v = NULL;

        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            p++;
            max++;
            continue;
        }
        if (*p == '}') {
            cvp_fail(P, tn, "'}' without '{' in '%s' (write '}}' for a literal brace)", text);
        }
        if (*p != '{') {
            max++;
            continue;
        }
        close = strchr(p, '}');
        if (!close) {
            cvp_fail(P, tn, "'{' without '}' in '%s' (write '{{' for a literal brace)", text);
        }
        snprintf(name, sizeof(name), "%.*s", (int)(close - p - 1), p + 1);
        for (int i = 0; i < t->nvars && !v; i++) {
            if (!strcmp(t->vars[i].name, name)) {
                v = &t->vars[i];
                used[i] = true;
            }
        }
        for (int i = 0; i < nscope && !v; i++) {
            if (!strcmp(scope[i].name, name)) {
                v = &scope[i];
            }
        }
        if (!v) {
            cvp_fail(P, tn, "'{%s}' in '%s' names no variable (give it in vars)", name, text);
        }
        max += var_maxlen(v);
        p = close;
    }
    for (int i = 0; i < t->nvars; i++) {
        if (!used[i]) {
            cvp_fail(P, cvp_node(P, vn->data.mapping.pairs.start[i].key),
                    "variable '%s' is not used in '%s'", t->vars[i].name, text);
        }
    }
    if (max >= CS_TEXT) {
        cvp_fail(P, tn, "'%s' may expand to %zu characters, at most %d", text, max, CS_TEXT - 1);
    }
    t->maxlen = max;
}

/* ---- items -------------------------------------------------------------------- */


/* One entry: a plain string, or a mapping {KEY: text, vars: ..., flags}. */
static void parse_item(Parser *P, CvItem *it, const yaml_node_t *n, const char *what,
                       const char *key, unsigned flags, bool drop_default,
                       const CvVar *scope, int nscope)
{
    const char *allowed[12];
    int na = 0;
    yaml_node_t *tn, *v;

    it->weight = 1;
    it->chance = 100;
    it->droppable = drop_default;
    if (n->type == YAML_SCALAR_NODE) {
        cvp_template(P, &it->t, n, cvp_scalar(P, n, what), NULL, scope, nscope);
        return;
    }
    allowed[na++] = key;
    allowed[na++] = "vars";
    if (flags & IT_WEIGHT) {
        allowed[na++] = "weight";
    }
    if (flags & IT_CHANCE) {
        allowed[na++] = "chance";
    }
    if (flags & IT_DROP) {
        allowed[na++] = "droppable";
    }
    if (flags & IT_BENIGN) {
        allowed[na++] = "benign";
    }
    if (flags & IT_TRIGGERS) {
        allowed[na++] = "triggers";
    }
    if (flags & IT_STARVES) {
        allowed[na++] = "starves";
    }
    if (flags & IT_SURE) {
        allowed[na++] = "sure";
    }
    if (flags & IT_BENIGN_ONLY) {
        allowed[na++] = "benign_only";
        allowed[na++] = "otherwise";
    }
    allowed[na] = NULL;
    cvp_map_check(P, n, what, allowed);
    tn = cvp_map_need(P, n, key, what);
    cvp_template(P, &it->t, tn, cvp_scalar(P, tn, key), cvp_map_get(P, n, "vars"), scope, nscope);
    if ((v = cvp_map_get(P, n, "weight"))) {
        it->weight = cvp_uint(P, v, "weight", 0, 1000000);
    }
    if ((v = cvp_map_get(P, n, "chance"))) {
        it->chance = cvp_uint(P, v, "chance", 0, 100);
    }
    if ((v = cvp_map_get(P, n, "droppable"))) {
        it->droppable = cvp_bool(P, v, "droppable");
    }
    if ((v = cvp_map_get(P, n, "benign"))) {
        it->benign = cvp_bool(P, v, "benign");
    }
    if ((v = cvp_map_get(P, n, "sure"))) {
        it->sure = cvp_bool(P, v, "sure");
    }
    if ((v = cvp_map_get(P, n, "benign_only"))) {
        it->benign_only = cvp_bool(P, v, "benign_only");
    }
    if ((v = cvp_map_get(P, n, "otherwise"))) {
        if (!it->benign_only) {
            cvp_fail(P, v, "otherwise is the text for actions that are not benign: "
                    "it needs benign_only: true");
        }
        cvp_template(P, &it->otherwise, v, cvp_scalar(P, v, "otherwise"), NULL, NULL, 0);
        it->has_otherwise = true;
    }
    if ((v = cvp_map_get(P, n, "triggers"))) {
        cvp_list(P, &it->triggers, v, "a trigger", "trigger", IT_TRIGGER, false, NULL, 0);
        it->has_triggers = true;
    }
}

void cvp_list(Parser *P, CvList *l, const yaml_node_t *n, const char *what,
                       const char *key, unsigned flags, bool drop_default,
                       const CvVar *scope, int nscope)
{
    int cnt = cvp_seq_len(P, n, what);
    CvItem *items = cvp_alloc(P, (size_t)(cnt ? cnt : 1) * sizeof(*items));

    for (int i = 0; i < cnt; i++) {
        parse_item(P, &items[i], cvp_seq_at(P, n, i), what, key, flags, drop_default,
                   scope, nscope);
    }
    l->v = items;
    l->n = cnt;
}

static unsigned list_weight(const CvList *l)
{
    unsigned w = 0;

    for (int i = 0; i < l->n; i++) {
        w += l->v[i].weight;
    }
    return w;
}

/* A weighted list that must be able to give something. */
void cvp_need_weight(Parser *P, const CvList *l, const yaml_node_t *n, const char *what)
{
    if (!l->n || !list_weight(l)) {
        cvp_fail(P, n, "%s: no entry with a weight above 0", what);
    }
}

size_t cvp_list_maxlen(const CvList *l)
{
    size_t m = 0;

    for (int i = 0; i < l->n; i++) {
        m = l->v[i].t.maxlen > m ? l->v[i].t.maxlen : m;
        if (l->v[i].has_otherwise && l->v[i].otherwise.maxlen > m) {
            m = l->v[i].otherwise.maxlen;
        }
    }
    return m;
}
