/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Campaign vocabularies (campaign_vocab.h): a target's campaign.yaml read
 * with libyaml's document loader and checked before any run is drawn.
 *
 * The loader never trusts its input: every error is "file:line:col:
 * message" (the position of the offending node), nothing is truncated
 * silently, and every list is bounded.  Everything is allocated in one
 * arena, freed at once, also when a check fails half-way (the checks
 * leave through longjmp).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "campaign_vocab.h"

#define CV_MAX_LIST  256            /* entries of any list */
#define CV_MAX_VARS  8              /* variables of one template */

const char *const cv_kfault_names[] = { "failslab", "fail_page_alloc", NULL };
const char *const cv_pm_levels[] = {
    "", "freezer", "devices", "platform", "processors", "core", NULL,
};

/* ---- the arena ---------------------------------------------------------- */

typedef struct Block { struct Block *next; max_align_t data[]; } Block;

typedef struct Parser {
    const char *path;
    yaml_document_t doc;
    Block *arena;
    jmp_buf fail;
    char *err;
    size_t errlen;
} Parser;

static void *cv_alloc(Parser *P, size_t n)
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

static char *cv_strdup(Parser *P, const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(cv_alloc(P, n), s, n);
}

static void arena_free(Block *b)
{
    while (b) {
        Block *next = b->next;

        free(b);
        b = next;
    }
}

/* ---- errors and nodes ------------------------------------------------------- */

static void fail_at(Parser *P, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
static void fail_at(Parser *P, const yaml_node_t *n, const char *fmt, ...)
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

static yaml_node_t *node(Parser *P, int id)
{
    return yaml_document_get_node(&P->doc, id);
}

static const char *type_name(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE ? "a mapping" :
           n->type == YAML_SEQUENCE_NODE ? "a list" : "a scalar";
}

static const char *scalar(Parser *P, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE) {
        fail_at(P, n, "%s wants a scalar, got %s", what, type_name(n));
    }
    if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
        fail_at(P, n, "%s holds a NUL byte", what);
    }
    return (const char *)n->data.scalar.value;
}

/* A mapping's keys must be among allowed (NULL-terminated), each once. */
static void map_check(Parser *P, const yaml_node_t *m, const char *what,
                      const char *const *allowed)
{
    if (m->type != YAML_MAPPING_NODE) {
        fail_at(P, m, "%s wants a mapping, got %s", what, type_name(m));
    }
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(P, p->key);
        const char *key = scalar(P, k, "a key");
        bool known = false;
        char list[512] = "";
        size_t l = 0;

        for (const char *const *a = allowed; *a; a++) {
            known |= !strcmp(*a, key);
            l += (size_t)snprintf(list + l, l < sizeof(list) ? sizeof(list) - l : 0,
                                  "%s%s", a == allowed ? "" : ", ", *a);
        }
        if (!known) {
            fail_at(P, k, "unknown key '%s' in %s (expected one of: %s)", key, what, list);
        }
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
            if (!strcmp((const char *)node(P, q->key)->data.scalar.value, key)) {
                fail_at(P, k, "duplicate key '%s' in %s", key, what);
            }
        }
    }
}

static yaml_node_t *map_get(Parser *P, const yaml_node_t *m, const char *key)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        if (!strcmp((const char *)node(P, p->key)->data.scalar.value, key)) {
            return node(P, p->value);
        }
    }
    return NULL;
}

static yaml_node_t *map_need(Parser *P, const yaml_node_t *m, const char *key,
                             const char *what)
{
    yaml_node_t *v = map_get(P, m, key);

    if (!v) {
        fail_at(P, m, "%s needs '%s'", what, key);
    }
    return v;
}

static yaml_node_t *map_key_node(Parser *P, const yaml_node_t *m, const char *key)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        if (!strcmp((const char *)node(P, p->key)->data.scalar.value, key)) {
            return node(P, p->key);
        }
    }
    return NULL;
}

static int seq_len(Parser *P, const yaml_node_t *n, const char *what)
{
    long len;

    if (n->type != YAML_SEQUENCE_NODE) {
        fail_at(P, n, "%s wants a list, got %s", what, type_name(n));
    }
    len = n->data.sequence.items.top - n->data.sequence.items.start;
    if (len > CV_MAX_LIST) {
        fail_at(P, n, "%s has %ld entries, at most %d", what, len, CV_MAX_LIST);
    }
    return (int)len;
}

static yaml_node_t *seq_at(Parser *P, const yaml_node_t *n, int i)
{
    return node(P, n->data.sequence.items.start[i]);
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

static unsigned get_uint(Parser *P, const yaml_node_t *n, const char *what,
                         unsigned lo, unsigned hi)
{
    const char *s = scalar(P, n, what);
    long long v;

    if (!parse_ll(s, &v, NULL) || v < lo || v > hi) {
        fail_at(P, n, "%s wants an integer in %u..%u, got '%s'", what, lo, hi, s);
    }
    return (unsigned)v;
}

static bool get_bool(Parser *P, const yaml_node_t *n, const char *what)
{
    const char *s = scalar(P, n, what);

    if (!strcmp(s, "true")) {
        return true;
    }
    if (!strcmp(s, "false")) {
        return false;
    }
    fail_at(P, n, "%s wants true or false, got '%s'", what, s);
}

/* "N" or "N..M" (integers, N <= M), within lo..hi. */
static CvRange get_range(Parser *P, const yaml_node_t *n, const char *what,
                         long long lo, long long hi)
{
    const char *s = scalar(P, n, what), *dots = strstr(s, "..");
    char a[64];
    CvRange g;

    snprintf(a, sizeof(a), "%.*s", dots ? (int)(dots - s) : (int)strlen(s), s);
    if (!parse_ll(a, &g.lo, NULL) || (dots ? !parse_ll(dots + 2, &g.hi, NULL) :
                                      ((g.hi = g.lo), false))) {
        fail_at(P, n, "%s wants an integer or a range LO..HI, got '%s'", what, s);
    }
    if (g.lo > g.hi) {
        fail_at(P, n, "%s: the range %s is empty (LO > HI)", what, s);
    }
    if (g.lo < lo || g.hi > hi) {
        fail_at(P, n, "%s wants values in %lld..%lld, got '%s'", what, lo, hi, s);
    }
    return g;
}

/* Seconds: "S" or "S..T", drawn in tenths. */
static CvSecs get_secs(Parser *P, const yaml_node_t *n, const char *what)
{
    const char *s = scalar(P, n, what), *dots = strstr(s, "..");
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
    if (!(lo >= 0 && hi <= 600 && lo <= hi)) {
        fail_at(P, n, "%s wants seconds in 0..600 with LO <= HI, got '%s'", what, s);
    }
    g.lo_ds = (unsigned)(lo * 10 + 0.5);
    g.hi_ds = (unsigned)(hi * 10 + 0.5);
    return g;
bad:
    fail_at(P, n, "%s wants seconds or a range LO..HI (e.g. 0.5..1.5), got '%s'", what, s);
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

static CvVar *parse_vars(Parser *P, const yaml_node_t *m, int *n)
{
    CvVar *vars;
    long cnt;

    if (m->type != YAML_MAPPING_NODE) {
        fail_at(P, m, "vars wants a mapping of NAME: LO..HI or NAME: [choices], got %s",
                type_name(m));
    }
    cnt = m->data.mapping.pairs.top - m->data.mapping.pairs.start;
    if (cnt > CV_MAX_VARS) {
        fail_at(P, m, "vars has %ld variables, at most %d", cnt, CV_MAX_VARS);
    }
    vars = cv_alloc(P, (size_t)(cnt ? cnt : 1) * sizeof(*vars));
    for (long i = 0; i < cnt; i++) {
        yaml_node_pair_t *p = &m->data.mapping.pairs.start[i];
        yaml_node_t *k = node(P, p->key), *v = node(P, p->value);
        const char *name = scalar(P, k, "a variable name");
        CvVar *x = &vars[i];

        if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name) ||
            strlen(name) > 31) {
            fail_at(P, k, "variable name '%s' wants [a-z0-9_], 1-31 chars", name);
        }
        for (long j = 0; j < i; j++) {
            if (!strcmp(vars[j].name, name)) {
                fail_at(P, k, "duplicate variable '%s'", name);
            }
        }
        x->name = cv_strdup(P, name);
        if (v->type == YAML_SEQUENCE_NODE) {
            int nc = seq_len(P, v, "a variable's choices");

            if (!nc) {
                fail_at(P, v, "variable '%s' has no choices", name);
            }
            x->choices = cv_alloc(P, (size_t)nc * sizeof(*x->choices));
            for (int c = 0; c < nc; c++) {
                const char *s = scalar(P, seq_at(P, v, c), "a choice");

                if (strlen(s) >= CS_TEXT) {
                    fail_at(P, seq_at(P, v, c), "choice longer than %d characters", CS_TEXT - 1);
                }
                x->choices[c] = cv_strdup(P, s);
            }
            x->nchoices = nc;
        } else {
            const char *s = scalar(P, v, "a variable"), *dots = strstr(s, "..");
            char a[64];
            bool hexhi;

            snprintf(a, sizeof(a), "%.*s", dots ? (int)(dots - s) : 0, s);
            if (!dots || !parse_ll(a, &x->lo, &x->hex) || !parse_ll(dots + 2, &x->hi, &hexhi)) {
                fail_at(P, v, "variable '%s' wants a range LO..HI (e.g. 50..900, 0x1..0x7fff) "
                        "or a list of choices ([a, b]), got '%s'", name, s);
            }
            if (x->lo > x->hi) {
                fail_at(P, v, "variable '%s': the range %s is empty (LO > HI)", name, s);
            }
            if (x->hex && x->lo < 0) {
                fail_at(P, v, "variable '%s': a hex range cannot be negative", name);
            }
            x->range = true;
        }
    }
    *n = (int)cnt;
    return vars;
}

/* Check text's placeholders against its own variables and the scope's;
 * every own variable must be used.  Sets t->maxlen. */
static void parse_template(Parser *P, CvText *t, const yaml_node_t *tn, const char *text,
                           const yaml_node_t *vn, const CvVar *scope, int nscope)
{
    bool used[CV_MAX_VARS] = { false };
    size_t max = 0;

    t->text = cv_strdup(P, text);
    t->line = (int)tn->start_mark.line + 1;
    t->col = (int)tn->start_mark.column + 1;
    if (vn) {
        t->vars = parse_vars(P, vn, &t->nvars);
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
            fail_at(P, tn, "'}' without '{' in '%s' (write '}}' for a literal brace)", text);
        }
        if (*p != '{') {
            max++;
            continue;
        }
        close = strchr(p, '}');
        if (!close) {
            fail_at(P, tn, "'{' without '}' in '%s' (write '{{' for a literal brace)", text);
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
            fail_at(P, tn, "'{%s}' in '%s' names no variable (give it in vars)", name, text);
        }
        max += var_maxlen(v);
        p = close;
    }
    for (int i = 0; i < t->nvars; i++) {
        if (!used[i]) {
            fail_at(P, node(P, vn->data.mapping.pairs.start[i].key),
                    "variable '%s' is not used in '%s'", t->vars[i].name, text);
        }
    }
    if (max >= CS_TEXT) {
        fail_at(P, tn, "'%s' may expand to %zu characters, at most %d", text, max, CS_TEXT - 1);
    }
    t->maxlen = max;
}

/* ---- items -------------------------------------------------------------------- */

enum {
    IT_WEIGHT = 1 << 0, IT_CHANCE = 1 << 1, IT_DROP = 1 << 2, IT_BENIGN = 1 << 3,
    IT_TRIGGERS = 1 << 4, IT_SURE = 1 << 5, IT_BENIGN_ONLY = 1 << 6,
};
#define IT_TRIGGER (IT_WEIGHT | IT_SURE | IT_BENIGN_ONLY)

static void parse_list(Parser *P, CvList *l, const yaml_node_t *n, const char *what,
                       const char *key, unsigned flags, bool drop_default,
                       const CvVar *scope, int nscope);

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
        parse_template(P, &it->t, n, scalar(P, n, what), NULL, scope, nscope);
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
    if (flags & IT_SURE) {
        allowed[na++] = "sure";
    }
    if (flags & IT_BENIGN_ONLY) {
        allowed[na++] = "benign_only";
        allowed[na++] = "otherwise";
    }
    allowed[na] = NULL;
    map_check(P, n, what, allowed);
    tn = map_need(P, n, key, what);
    parse_template(P, &it->t, tn, scalar(P, tn, key), map_get(P, n, "vars"), scope, nscope);
    if ((v = map_get(P, n, "weight"))) {
        it->weight = get_uint(P, v, "weight", 0, 1000000);
    }
    if ((v = map_get(P, n, "chance"))) {
        it->chance = get_uint(P, v, "chance", 0, 100);
    }
    if ((v = map_get(P, n, "droppable"))) {
        it->droppable = get_bool(P, v, "droppable");
    }
    if ((v = map_get(P, n, "benign"))) {
        it->benign = get_bool(P, v, "benign");
    }
    if ((v = map_get(P, n, "sure"))) {
        it->sure = get_bool(P, v, "sure");
    }
    if ((v = map_get(P, n, "benign_only"))) {
        it->benign_only = get_bool(P, v, "benign_only");
    }
    if ((v = map_get(P, n, "otherwise"))) {
        if (!it->benign_only) {
            fail_at(P, v, "otherwise is the text for actions that are not benign: "
                    "it needs benign_only: true");
        }
        parse_template(P, &it->otherwise, v, scalar(P, v, "otherwise"), NULL, NULL, 0);
        it->has_otherwise = true;
    }
    if ((v = map_get(P, n, "triggers"))) {
        parse_list(P, &it->triggers, v, "a trigger", "trigger", IT_TRIGGER, false, NULL, 0);
        it->has_triggers = true;
    }
}

static void parse_list(Parser *P, CvList *l, const yaml_node_t *n, const char *what,
                       const char *key, unsigned flags, bool drop_default,
                       const CvVar *scope, int nscope)
{
    int cnt = seq_len(P, n, what);
    CvItem *items = cv_alloc(P, (size_t)(cnt ? cnt : 1) * sizeof(*items));

    for (int i = 0; i < cnt; i++) {
        parse_item(P, &items[i], seq_at(P, n, i), what, key, flags, drop_default,
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
static void need_weight(Parser *P, const CvList *l, const yaml_node_t *n, const char *what)
{
    if (!l->n || !list_weight(l)) {
        fail_at(P, n, "%s: no entry with a weight above 0", what);
    }
}

static size_t list_maxlen(const CvList *l)
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

/* "N" or "N+M+..." in 1..86400, else -1. */
long cv_sum(const char *s)
{
    long total = 0;

    while (*s) {
        char *end;
        long t;

        if (*s < '0' || *s > '9') {
            return -1;
        }
        errno = 0;
        t = strtol(s, &end, 10);
        if (errno || t > 86400) {
            return -1;
        }
        total += t;
        s = end;
        if (*s == '+') {
            s++;
            if (!*s) {
                return -1;
            }
        } else if (*s) {
            return -1;
        }
    }
    return total >= 1 && total <= 86400 ? total : -1;
}

/* ---- sections ----------------------------------------------------------------- */

static void parse_workload(Parser *P, CvVocab *V, const yaml_node_t *n)
{
    static const char *const keys[] = {
        "cmd", "vars", "options", "disturbed", "stop", NULL,
    };
    static const char *const stop_keys[] = { "wait", "timeout", NULL };
    yaml_node_t *v, *stop, *tn;
    char probe[CS_TEXT];

    map_check(P, n, "workload", keys);
    if ((v = map_get(P, n, "vars"))) {
        V->workload.vars = parse_vars(P, v, &V->workload.nvars);
    }
    tn = map_need(P, n, "cmd", "workload");
    parse_template(P, &V->workload.cmd, tn, scalar(P, tn, "cmd"), NULL,
                   V->workload.vars, V->workload.nvars);
    if ((v = map_get(P, n, "options"))) {
        parse_list(P, &V->workload.options, v, "a workload option", "opt",
                   IT_CHANCE | IT_DROP, true, V->workload.vars, V->workload.nvars);
    }
    if ((v = map_get(P, n, "disturbed"))) {
        parse_list(P, &V->workload.disturbed, v, "a disturbed option", "opt", 0, false,
                   V->workload.vars, V->workload.nvars);
    }
    if (V->workload.options.n + V->workload.disturbed.n > CS_MAX_OPTS) {
        fail_at(P, n, "workload: %d options and disturbed options, at most %d",
                V->workload.options.n + V->workload.disturbed.n, CS_MAX_OPTS);
    }
    stop = map_need(P, n, "stop", "workload");
    map_check(P, stop, "workload stop", stop_keys);
    V->workload.wait = get_bool(P, map_need(P, stop, "wait", "workload stop"), "wait");
    tn = map_need(P, stop, "timeout", "workload stop");
    parse_template(P, &V->workload.timeout, tn, scalar(P, tn, "timeout"), NULL,
                   V->workload.vars, V->workload.nvars);
    /* the timeout is N or N+M+...: its variables are integers (ranges from
     * 0, or choices that are all integers), and the shape holds with every
     * variable at its lowest and at its highest value */
    for (int i = 0; i < V->workload.nvars; i++) {
        const CvVar *x = &V->workload.vars[i];
        char ph[48];

        snprintf(ph, sizeof(ph), "{%s}", x->name);
        if (!strstr(V->workload.timeout.text, ph)) {
            continue;
        }
        for (int c = 0; c < x->nchoices; c++) {
            if (!x->choices[c][0] || strspn(x->choices[c], "0123456789") !=
                strlen(x->choices[c])) {
                fail_at(P, tn, "timeout uses '%s', whose choice '%s' is not a number",
                        x->name, x->choices[c]);
            }
        }
        if (x->range && (x->lo < 0 || x->hex)) {
            fail_at(P, tn, "timeout uses '%s', which is not a decimal range from 0", x->name);
        }
    }
    for (int hi = 0; hi < 2; hi++) {
        char *vals[CV_MAX_VARS];
        char store[CV_MAX_VARS][CS_TEXT];

        for (int i = 0; i < V->workload.nvars; i++) {
            const CvVar *x = &V->workload.vars[i];

            if (x->range) {
                snprintf(store[i], sizeof(store[i]), "%lld", hi ? x->hi : x->lo);
            } else {
                long long best = -1;

                for (int c = 0; c < x->nchoices; c++) {
                    long long y = strtoll(x->choices[c], NULL, 10);

                    best = best < 0 || (hi ? y > best : y < best) ? y : best;
                }
                snprintf(store[i], sizeof(store[i]), "%lld", best);
            }
            vals[i] = store[i];
        }
        cv_expand(&V->workload.timeout, V->workload.vars, vals, V->workload.nvars, NULL,
                  probe, sizeof(probe));
        if (cv_sum(probe) < 0) {
            fail_at(P, tn, "timeout wants seconds, 1..86400, written N or N+M with "
                    "workload variables (e.g. \"{duration}+120\"), got '%s' (as '%s')",
                    V->workload.timeout.text, probe);
        }
    }
}

static void parse_events(Parser *P, CvVocab *V, const yaml_node_t *n)
{
    static const char *const keys[] = { "count", "first_wait", "gap", "weights", NULL };
    static const char *const wkeys[] = { "faults", "clear", "suspend", "hotplug", NULL };
    yaml_node_t *w;
    unsigned total = 0;

    map_check(P, n, "events", keys);
    V->events.count = get_range(P, map_need(P, n, "count", "events"), "count", 0, 20);
    V->events.first_wait = get_secs(P, map_need(P, n, "first_wait", "events"), "first_wait");
    V->events.gap = get_secs(P, map_need(P, n, "gap", "events"), "gap");
    w = map_need(P, n, "weights", "events");
    map_check(P, w, "events weights", wkeys);
    for (int i = 0; i < CV_NEV; i++) {
        yaml_node_t *v = map_get(P, w, wkeys[i]);

        V->events.weight[i] = v ? get_uint(P, v, wkeys[i], 0, 1000000) : 0;
        total += V->events.weight[i];
    }
    if (V->events.count.hi > 0 && !(V->events.weight[CV_EV_FAULTS] +
                                    V->events.weight[CV_EV_SUSPEND] +
                                    V->events.weight[CV_EV_HOTPLUG])) {
        fail_at(P, w, "events: no event a run can start with has a weight above 0 "
                "(faults, suspend or hotplug)");
    }
    (void)total;
}

static void parse_faults(Parser *P, CvVocab *V, const yaml_node_t *n)
{
    static const char *const keys[] = {
        "rules", "add_chance", "points", "triggers", "suffixes", NULL,
    };
    static const char *const pkeys[] = {
        "point", "weight", "every_command", "filters", "actions", NULL,
    };
    yaml_node_t *pts, *v;
    CvPoint *points;
    size_t trig_max, suf_max = 0;
    unsigned wsum = 0;

    map_check(P, n, "faults", keys);
    V->faults.rules = get_range(P, map_need(P, n, "rules", "faults"), "rules", 1, CS_MAX_RULES);
    V->faults.add_chance = get_uint(P, map_need(P, n, "add_chance", "faults"), "add_chance",
                                    0, 100);
    v = map_need(P, n, "triggers", "faults");
    parse_list(P, &V->faults.triggers, v, "a trigger", "trigger", IT_TRIGGER, false, NULL, 0);
    need_weight(P, &V->faults.triggers, v, "faults triggers");
    trig_max = list_maxlen(&V->faults.triggers);
    if ((v = map_get(P, n, "suffixes"))) {
        parse_list(P, &V->faults.suffixes, v, "a suffix", "suffix", IT_CHANCE, false, NULL, 0);
        for (int i = 0; i < V->faults.suffixes.n; i++) {
            suf_max += V->faults.suffixes.v[i].t.maxlen;
        }
    }
    pts = map_need(P, n, "points", "faults");
    V->faults.npoints = seq_len(P, pts, "points");
    points = cv_alloc(P, (size_t)(V->faults.npoints ? V->faults.npoints : 1) * sizeof(*points));
    for (int i = 0; i < V->faults.npoints; i++) {
        yaml_node_t *pn = seq_at(P, pts, i), *t;
        CvPoint *pt = &points[i];
        size_t filt_max, act_max = 0;

        map_check(P, pn, "a fault point", pkeys);
        t = map_need(P, pn, "point", "a fault point");
        parse_template(P, &pt->name, t, scalar(P, t, "point"), NULL, NULL, 0);
        if (!pt->name.text[0]) {
            fail_at(P, t, "point is empty");
        }
        pt->weight = 1;
        if ((v = map_get(P, pn, "weight"))) {
            pt->weight = get_uint(P, v, "weight", 0, 1000000);
        }
        if ((v = map_get(P, pn, "every_command"))) {
            pt->every_command = get_bool(P, v, "every_command");
        }
        if ((v = map_get(P, pn, "filters"))) {
            parse_list(P, &pt->filters, v, "a filter", "filter", IT_WEIGHT, false, NULL, 0);
            need_weight(P, &pt->filters, v, "filters");
        }
        v = map_need(P, pn, "actions", "a fault point");
        parse_list(P, &pt->actions, v, "an action", "action",
                   IT_WEIGHT | IT_BENIGN | IT_TRIGGERS, false, NULL, 0);
        need_weight(P, &pt->actions, v, "actions");
        filt_max = list_maxlen(&pt->filters);
        for (int a = 0; a < pt->actions.n; a++) {
            const CvItem *ac = &pt->actions.v[a];
            size_t tm = ac->has_triggers ? list_maxlen(&ac->triggers) : trig_max;
            size_t l = ac->t.maxlen + tm;

            const CvList *tl = ac->has_triggers ? &ac->triggers : &V->faults.triggers;
            unsigned tw = 0;

            if (ac->has_triggers) {
                need_weight(P, &ac->triggers, map_get(P, seq_at(P, v, a), "triggers"),
                            "an action's triggers");
            }
            for (int k = 0; k < tl->n; k++) {
                tw += !tl->v[k].benign_only || tl->v[k].has_otherwise || ac->benign ?
                      tl->v[k].weight : 0;
            }
            if (!tw) {
                fail_at(P, seq_at(P, v, a), "action '%s' is not benign, and every trigger "
                        "it may take is benign_only", ac->t.text);
            }
            act_max = l > act_max ? l : act_max;
        }
        /* POINT FILTER ':' ACTION ':' TRIGGER SUFFIXES */
        if (pt->name.maxlen + filt_max + act_max + suf_max + 2 >= CS_TEXT) {
            fail_at(P, pn, "a rule at point '%s' may be %zu characters long, at most %d",
                    pt->name.text, pt->name.maxlen + filt_max + act_max + suf_max + 2,
                    CS_TEXT - 1);
        }
        wsum += pt->weight;
    }
    if (!wsum) {
        fail_at(P, pts, "faults points: no point with a weight above 0");
    }
    V->faults.points = points;
}

static void parse_suspend(Parser *P, CvVocab *V, const yaml_node_t *n)
{
    static const char *const keys[] = { "s3", "levels", "cycles", NULL };
    yaml_node_t *lv;
    int *levels;

    map_check(P, n, "suspend", keys);
    V->suspend.s3_chance = get_uint(P, map_need(P, n, "s3", "suspend"), "s3", 0, 100);
    lv = map_need(P, n, "levels", "suspend");
    V->suspend.nlevels = seq_len(P, lv, "levels");
    if (!V->suspend.nlevels) {
        fail_at(P, lv, "levels is empty (pm_test levels: freezer, devices, platform, "
                "processors, core)");
    }
    levels = cv_alloc(P, (size_t)V->suspend.nlevels * sizeof(*levels));
    for (int i = 0; i < V->suspend.nlevels; i++) {
        const char *s = scalar(P, seq_at(P, lv, i), "a level");

        levels[i] = 0;
        for (int k = 1; cv_pm_levels[k]; k++) {
            if (!strcmp(cv_pm_levels[k], s)) {
                levels[i] = k;
            }
        }
        if (!levels[i]) {
            fail_at(P, seq_at(P, lv, i), "unknown pm_test level '%s' (expected one of: "
                    "freezer, devices, platform, processors, core)", s);
        }
    }
    V->suspend.levels = levels;
    V->suspend.cycles = get_range(P, map_need(P, n, "cycles", "suspend"), "cycles", 1, 10);
}

static void parse_hotplug(Parser *P, CvVocab *V, const yaml_node_t *n)
{
    static const char *const keys[] = { "modes", "replug_after", "settle", NULL };
    static const char *const mkeys[] = { "remove", "surprise", NULL };
    yaml_node_t *m, *v;

    map_check(P, n, "hotplug", keys);
    m = map_need(P, n, "modes", "hotplug");
    map_check(P, m, "hotplug modes", mkeys);
    if ((v = map_get(P, m, "remove"))) {
        V->hotplug.remove_weight = get_uint(P, v, "remove", 0, 1000000);
    }
    if ((v = map_get(P, m, "surprise"))) {
        V->hotplug.surprise_weight = get_uint(P, v, "surprise", 0, 1000000);
    }
    if (!V->hotplug.remove_weight && !V->hotplug.surprise_weight) {
        fail_at(P, m, "hotplug modes: remove or surprise needs a weight above 0");
    }
    V->hotplug.replug_after = get_secs(P, map_need(P, n, "replug_after", "hotplug"),
                                       "replug_after");
    V->hotplug.settle = get_secs(P, map_need(P, n, "settle", "hotplug"), "settle");
}

static void parse_kfaults(Parser *P, CvVocab *V, const yaml_node_t *n)
{
    static const char *const keys[] = {
        "chance", "count", "types", "probability", "times", "interval", NULL,
    };
    yaml_node_t *tv;
    int *types;

    map_check(P, n, "kfaults", keys);
    V->kfaults.chance = get_uint(P, map_need(P, n, "chance", "kfaults"), "chance", 0, 100);
    V->kfaults.count = get_range(P, map_need(P, n, "count", "kfaults"), "count", 1, 4);
    tv = map_need(P, n, "types", "kfaults");
    V->kfaults.ntypes = seq_len(P, tv, "types");
    if (!V->kfaults.ntypes) {
        fail_at(P, tv, "types is empty (expected some of: failslab, fail_page_alloc)");
    }
    types = cv_alloc(P, (size_t)V->kfaults.ntypes * sizeof(*types));
    for (int i = 0; i < V->kfaults.ntypes; i++) {
        const char *s = scalar(P, seq_at(P, tv, i), "a kernel fault type");

        types[i] = -1;
        for (int k = 0; cv_kfault_names[k]; k++) {
            if (!strcmp(cv_kfault_names[k], s)) {
                types[i] = k;
            }
        }
        if (types[i] < 0) {
            fail_at(P, seq_at(P, tv, i), "unknown kernel fault type '%s' (expected one of: "
                    "failslab, fail_page_alloc)", s);
        }
    }
    V->kfaults.types = types;
    V->kfaults.probability = get_range(P, map_need(P, n, "probability", "kfaults"),
                                       "probability", 1, 100);
    V->kfaults.times = get_range(P, map_need(P, n, "times", "kfaults"), "times", -1, 1000000);
    if (!(V->kfaults.times.lo == -1 && V->kfaults.times.hi == -1) &&
        V->kfaults.times.lo < 1) {
        fail_at(P, map_get(P, n, "times"), "times wants -1 (no limit) or counts from 1 "
                "(0 would never fail anything)");
    }
    V->kfaults.interval = get_range(P, map_need(P, n, "interval", "kfaults"), "interval",
                                    1, 1000000);
}

static void parse_root(Parser *P, CvVocab *V, const yaml_node_t *root, const char *target)
{
    static const char *const keys[] = {
        "module", "settings", "workload", "events", "faults", "suspend", "hotplug",
        "kfaults", NULL,
    };
    static const char *const ev_section[CV_NEV] = { "faults", NULL, "suspend", "hotplug" };
    yaml_node_t *v, *ev;
    int steps;

    map_check(P, root, "a campaign vocabulary", keys);
    snprintf(V->module, sizeof(V->module), "%s", target);
    if ((v = map_get(P, root, "module"))) {
        const char *m = scalar(P, v, "module");

        if (!*m || strlen(m) >= sizeof(V->module) || strpbrk(m, " \t[]:")) {
            fail_at(P, v, "module wants the driver's module name (1-63 characters, "
                    "no blanks), got '%s'", m);
        }
        snprintf(V->module, sizeof(V->module), "%s", m);
    }
    if ((v = map_get(P, root, "settings"))) {
        parse_list(P, &V->settings, v, "a driver setting", "cmd", IT_CHANCE | IT_DROP, true,
                   NULL, 0);
        if (V->settings.n > CS_MAX_OPTS) {
            fail_at(P, v, "settings has %d entries, at most %d", V->settings.n, CS_MAX_OPTS);
        }
    }
    parse_workload(P, V, map_need(P, root, "workload", "a campaign vocabulary"));
    ev = map_need(P, root, "events", "a campaign vocabulary");
    parse_events(P, V, ev);
    if ((v = map_get(P, root, "faults"))) {
        parse_faults(P, V, v);
        V->has_faults = true;
    }
    if ((v = map_get(P, root, "suspend"))) {
        parse_suspend(P, V, v);
        V->has_suspend = true;
    }
    if ((v = map_get(P, root, "hotplug"))) {
        parse_hotplug(P, V, v);
        V->has_hotplug = true;
    }
    if ((v = map_get(P, root, "kfaults"))) {
        parse_kfaults(P, V, v);
        V->has_kfaults = true;
    }
    /* an event with a weight needs its section */
    for (int i = 0; i < CV_NEV; i++) {
        bool has = i == CV_EV_FAULTS ? V->has_faults : i == CV_EV_SUSPEND ? V->has_suspend :
                   i == CV_EV_HOTPLUG ? V->has_hotplug : V->has_faults;

        if (V->events.weight[i] && !has) {
            fail_at(P, map_key_node(P, map_get(P, ev, "weights"),
                                    i == CV_EV_CLEAR ? "clear" : ev_section[i]),
                    "events weight '%s' is above 0, but the file has no '%s' section",
                    i == CV_EV_CLEAR ? "clear" : ev_section[i],
                    ev_section[i] ? ev_section[i] : "faults");
        }
    }
    /* the most steps a run can have: kernel faults, the workload and its
     * first wait, per event a wait and at most four steps (an unplug, a
     * wait, the plug, a wait), the stop */
    steps = (V->has_kfaults ? (int)V->kfaults.count.hi : 0) + 3 + 5 * (int)V->events.count.hi;
    if (steps > CS_MAX_STEPS) {
        fail_at(P, map_get(P, ev, "count"), "a run could have %d steps, at most %d: fewer events or kernel "
                "faults", steps, CS_MAX_STEPS);
    }
}

/* libyaml's own message, at the problem, with where the construct began */
static void yaml_error(const yaml_parser_t *p, const char *path, char *err, size_t errlen)
{
    int l = snprintf(err, errlen, "%s:%zu:%zu: YAML: %s", path, p->problem_mark.line + 1,
                     p->problem_mark.column + 1, p->problem ? p->problem : "error");

    if (p->context && l >= 0 && (size_t)l < errlen) {
        snprintf(err + l, errlen - (size_t)l, " %s that starts at %zu:%zu", p->context,
                 p->context_mark.line + 1, p->context_mark.column + 1);
    }
}

int cv_load(const char *path, const char *target, CvVocab **out, char *err, size_t errlen)
{
    Parser P = { .path = path, .err = err, .errlen = errlen };
    yaml_parser_t parser;
    FILE *f;
    CvVocab *V;
    volatile bool have_doc = false;     /* set after setjmp, read after longjmp */
    yaml_node_t *root;

    *out = NULL;
    err[0] = 0;
    f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: no campaign vocabulary for target '%s' (%s); "
                 "docs/campaigns.md says how to write one", path, target, strerror(errno));
        return -1;
    }
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        snprintf(err, errlen, "%s: cannot initialise the YAML parser", path);
        return -1;
    }
    yaml_parser_set_input_file(&parser, f);
    if (setjmp(P.fail)) {
        if (have_doc) {
            yaml_document_delete(&P.doc);
        }
        yaml_parser_delete(&parser);
        fclose(f);
        arena_free(P.arena);
        return -1;
    }
    if (!yaml_parser_load(&parser, &P.doc)) {
        yaml_error(&parser, path, err, errlen);
        longjmp(P.fail, 1);
    }
    have_doc = true;
    root = yaml_document_get_root_node(&P.doc);
    if (!root) {
        fail_at(&P, NULL, "the file is empty (a campaign vocabulary needs at least "
                "workload and events)");
    }
    V = cv_alloc(&P, sizeof(*V));
    snprintf(V->path, sizeof(V->path), "%s", path);
    parse_root(&P, V, root, target);
    {
        /* one document only */
        yaml_document_t extra;

        if (!yaml_parser_load(&parser, &extra)) {
            yaml_error(&parser, path, err, errlen);
            longjmp(P.fail, 1);
        }
        if (yaml_document_get_root_node(&extra)) {
            yaml_node_t *x = yaml_document_get_root_node(&extra);

            snprintf(err, errlen, "%s:%zu:%zu: a second YAML document; a campaign "
                     "vocabulary is one document", path, x->start_mark.line + 1,
                     x->start_mark.column + 1);
            yaml_document_delete(&extra);
            longjmp(P.fail, 1);
        }
        yaml_document_delete(&extra);
    }
    yaml_document_delete(&P.doc);
    yaml_parser_delete(&parser);
    fclose(f);
    V->arena = P.arena;
    *out = V;
    return 0;
}

int cv_load_target(const char *targets_dir, const char *target, CvVocab **out,
                   char *err, size_t errlen)
{
    char path[4096];

    if (snprintf(path, sizeof(path), "%s/%s/campaign.yaml", targets_dir, target) >=
        (int)sizeof(path)) {
        snprintf(err, errlen, "%s: path too long", targets_dir);
        *out = NULL;
        return -1;
    }
    return cv_load(path, target, out, err, errlen);
}

void cv_free(CvVocab *v)
{
    if (v) {
        arena_free(v->arena);
    }
}

/* ---- drawing -------------------------------------------------------------------- */

void cv_draw_var(const CvVar *v, CsRng *r, char *buf, size_t len)
{
    if (v->range) {
        long long x = v->lo + (long long)cs_rng_range(r, 0, (uint64_t)(v->hi - v->lo));

        if (v->hex) {
            snprintf(buf, len, "0x%llx", x);
        } else {
            snprintf(buf, len, "%lld", x);
        }
    } else {
        snprintf(buf, len, "%s", v->choices[cs_rng_range(r, 0, (uint64_t)v->nchoices - 1)]);
    }
}

void cv_expand(const CvText *t, const CvVar *scope_vars, char *const *scope_vals,
               int nscope, CsRng *r, char *buf, size_t len)
{
    char own[CV_MAX_VARS][CS_TEXT];
    size_t l = 0;

    /* the item's own variables, in order, once each */
    for (int i = 0; i < t->nvars; i++) {
        if (r) {
            cv_draw_var(&t->vars[i], r, own[i], sizeof(own[i]));
        } else {
            own[i][0] = 0;
        }
    }
    for (const char *p = t->text; *p && l + 1 < len; p++) {
        const char *val = NULL, *close;
        size_t nl;

        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            buf[l++] = *p++;
            continue;
        }
        if (*p != '{' || !(close = strchr(p, '}'))) {
            buf[l++] = *p;
            continue;
        }
        nl = (size_t)(close - p - 1);
        for (int i = 0; i < t->nvars && !val; i++) {
            if (strlen(t->vars[i].name) == nl && !memcmp(t->vars[i].name, p + 1, nl)) {
                val = own[i];
            }
        }
        for (int i = 0; i < nscope && !val; i++) {
            if (strlen(scope_vars[i].name) == nl && !memcmp(scope_vars[i].name, p + 1, nl)) {
                val = scope_vals[i];
            }
        }
        for (; val && *val && l + 1 < len; val++) {
            buf[l++] = *val;
        }
        p = close;
    }
    buf[l] = 0;
}

int cv_pick(const CvList *l, CsRng *r, bool (*ok)(const CvItem *, void *), void *arg)
{
    uint64_t total = 0, x;

    for (int i = 0; i < l->n; i++) {
        total += !ok || ok(&l->v[i], arg) ? l->v[i].weight : 0;
    }
    if (!total) {
        return -1;
    }
    x = cs_rng_range(r, 0, total - 1);
    for (int i = 0; i < l->n; i++) {
        uint64_t w = !ok || ok(&l->v[i], arg) ? l->v[i].weight : 0;

        if (x < w) {
            return i;
        }
        x -= w;
    }
    return -1;
}

long long cv_range(const CvRange *g, CsRng *r)
{
    return g->lo + (long long)cs_rng_range(r, 0, (uint64_t)(g->hi - g->lo));
}

double cv_secs(const CvSecs *g, CsRng *r)
{
    return (double)cs_rng_range(r, g->lo_ds, g->hi_ds) / 10.0;
}
