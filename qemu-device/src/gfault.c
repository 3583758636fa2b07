/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gfault: Gauntlet's device-neutral fault engine (see gfault.h).
 *
 * The parser is a small hand-written recursive-descent parser over a
 * NUL-terminated string whose length is taken once; every access is
 * checked against that length, so any input is safe.  Rules are parsed
 * into a temporary array and only committed when the whole text is
 * valid, so a failed gfault_set/add leaves the engine untouched.  Every
 * name, list and limit that depends on the device comes from the
 * engine's vocabulary (GFaultVocab).
 *
 * Uses only the C library: it is built inside QEMU and standalone.
 * "kestrel_env.h" is the build environment (qemu/osdep.h inside QEMU,
 * the C library outside), not Kestrel's code.
 */
#include "kestrel_env.h"
#include "gfault.h"

#include <stdarg.h>

#define PROB_ONE                UINT32_MAX
#define STORM_DEFAULT_COUNT     1000
#define STORM_DEFAULT_INTERVAL  10000ull        /* 10 us */
#define ERR_TOKEN_SHOW          32              /* bytes of a token shown */
#define LIST_MAX                256             /* a list in a message */

#define PBIT(p) (1ull << (p))
#define ABIT(a) (1u << (a))
#define KBIT(k) (1u << (k))

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define TRIGGER_LIST "always, once, nth=N, every=N, prob=P, after=N, " \
    "max=N, seed=N"

/* ---- Names --------------------------------------------------------------- */

const char *gfault_point_name(const GFaultVocab *v, unsigned point)
{
    if (!v || point >= v->npoints || !v->points[point].name) {
        return "?";
    }
    return v->points[point].name;
}

const char *gfault_action_name(const GFaultVocab *v, unsigned action)
{
    if (!v || action >= v->nactions || !v->actions[action].name) {
        return "?";
    }
    return v->actions[action].name;
}

/* ---- Vocabulary check ---------------------------------------------------- */

static bool name_ok(const char *n)
{
    const char *c;

    if (!n || !*n) {
        return false;
    }
    for (c = n; *c; c++) {
        if (*c >= 'A' && *c <= 'Z') {
            return false;
        }
    }
    return true;
}

#define VOCAB_BAD(...) do {                             \
        if (err && errlen) {                            \
            snprintf(err, errlen, __VA_ARGS__);         \
        }                                               \
        return -1;                                      \
    } while (0)

int gfault_vocab_check(const GFaultVocab *v, char *err, size_t errlen)
{
    unsigned i, j;

    if (!v || !v->points || !v->actions || !v->npoints || !v->nactions) {
        VOCAB_BAD("no points or no actions");
    }
    if (v->npoints > GFAULT_MAX_POINTS || v->nactions > GFAULT_MAX_ACTIONS ||
        v->nfields > GFAULT_MAX_FIELDS || v->nkeys > GFAULT_MAX_KEYS ||
        (v->nfields && !v->fields) || (v->nkeys && !v->keys)) {
        VOCAB_BAD("a count over the engine's limits, or a missing table");
    }
    if (v->after != GFAULT_AFTER_UNITS && v->after != GFAULT_AFTER_EVENTS) {
        VOCAB_BAD("after= counts neither units nor events");
    }
    for (i = 0; i < v->npoints; i++) {
        const GFaultPointInfo *pi = &v->points[i];
        uint32_t fields = 0;

        if (!name_ok(pi->name)) {
            VOCAB_BAD("point %u: no lower-case name", i);
        }
        for (j = 0; j < i; j++) {
            if (strcmp(pi->name, v->points[j].name) == 0) {
                VOCAB_BAD("point %u: '%s' twice", i, pi->name);
            }
        }
        if (!pi->actions || (v->nactions < 32 &&
                             (pi->actions >> v->nactions))) {
            VOCAB_BAD("point %s: no actions, or one out of the table",
                      pi->name);
        }
        if (v->nkeys < 32 && (pi->keys >> v->nkeys)) {
            VOCAB_BAD("point %s: a filter key out of the table", pi->name);
        }
        for (j = 0; j < v->nfields; j++) {
            if (v->fields[j].name && (v->fields[j].points & PBIT(i))) {
                fields |= 1u << j;
            }
        }
        if ((pi->corrupt_need_all & ~fields) ||
            (pi->corrupt_not_alone & ~fields)) {
            VOCAB_BAD("point %s: corrupt() rules name fields it lacks",
                      pi->name);
        }
        for (j = 0; j < v->nactions; j++) {
            if ((pi->actions & ABIT(j)) &&
                v->actions[j].args == GFAULT_ARGS_CORRUPT && !fields) {
                VOCAB_BAD("point %s: corrupt without fields", pi->name);
            }
        }
        for (j = 0; j < v->nfields; j++) {
            unsigned k;

            if (!(fields & (1u << j))) {
                continue;
            }
            for (k = 0; k < j; k++) {
                if ((fields & (1u << k)) &&
                    strcmp(v->fields[j].name, v->fields[k].name) == 0) {
                    VOCAB_BAD("point %s: field '%s' twice", pi->name,
                              v->fields[j].name);
                }
            }
        }
    }
    for (i = 0; i < v->nactions; i++) {
        const GFaultActionInfo *ai = &v->actions[i];

        if (!name_ok(ai->name)) {
            VOCAB_BAD("action %u: no lower-case name", i);
        }
        for (j = 0; j < i; j++) {
            if (strcmp(ai->name, v->actions[j].name) == 0) {
                VOCAB_BAD("action %u: '%s' twice", i, ai->name);
            }
        }
        if ((unsigned)ai->args > GFAULT_ARGS_STORM) {
            VOCAB_BAD("action %s: unknown arguments", ai->name);
        }
        if (ai->need_filter && (ai->need_key >= v->nkeys ||
                                ai->need_value > v->keys[ai->need_key].max)) {
            VOCAB_BAD("action %s: needs a filter that cannot be written",
                      ai->name);
        }
    }
    for (i = 0; i < v->nfields; i++) {
        const GFaultFieldInfo *fi = &v->fields[i];

        if (!fi->name) {
            continue;
        }
        if (!name_ok(fi->name) || fi->bits < 1 || fi->bits > 64 ||
            (v->npoints < 64 && (fi->points >> v->npoints))) {
            VOCAB_BAD("field %u: bad name, width or points", i);
        }
    }
    for (i = 0; i < v->nkeys; i++) {
        const GFaultKeyInfo *ki = &v->keys[i];
        const GFaultName *n;

        if (!name_ok(ki->name)) {
            VOCAB_BAD("key %u: no lower-case name", i);
        }
        for (j = 0; j < i; j++) {
            if (strcmp(ki->name, v->keys[j].name) == 0) {
                VOCAB_BAD("key %u: '%s' twice", i, ki->name);
            }
        }
        for (n = ki->names; n && n->name; n++) {
            if (!name_ok(n->name) || n->value > ki->max ||
                (ki->align > 1 && n->value % ki->align)) {
                VOCAB_BAD("key %s: bad value name", ki->name);
            }
        }
    }
    return 0;
}

/* ---- Character classes (ASCII only, no locale) --------------------------- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int hex_value(char c)
{
    if (is_digit(c)) {
        return c - '0';
    }
    c = to_lower(c);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
           c == '_' || c == '.' || c == '%' || c == '-' || c == '+' ||
           (unsigned char)c >= 0x80;
}

static bool is_punct(char c)
{
    return c == ';' || c == '[' || c == ']' || c == ':' || c == '(' ||
           c == ')' || c == '=' || c == ',';
}

/* s[0..n) equals the lower-case word name, ignoring case. */
static bool word_eq(const char *s, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (name[i] == '\0' || to_lower(s[i]) != name[i]) {
            return false;
        }
    }
    return name[n] == '\0';
}

/* ---- Output buffer with snprintf semantics ------------------------------- */

typedef struct OutBuf {
    char *buf;
    size_t size;
    size_t len;         /* length the full output needs */
} OutBuf;

static void out_init(OutBuf *o, char *buf, size_t size)
{
    o->buf = buf;
    o->size = buf ? size : 0;
    o->len = 0;
    if (o->size) {
        o->buf[0] = '\0';
    }
}

static void out_str(OutBuf *o, const char *s)
{
    size_t n = strlen(s);

    if (o->len + 1 < o->size) {
        size_t room = o->size - o->len - 1;
        size_t k = n < room ? n : room;

        memcpy(o->buf + o->len, s, k);
        o->buf[o->len + k] = '\0';
    }
    o->len += n;
}

static void __attribute__((format(printf, 2, 3)))
out_printf(OutBuf *o, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    out_str(o, tmp);
}

/* ---- Lexer and errors ---------------------------------------------------- */

typedef enum TokKind {
    TOK_END,
    TOK_WORD,
    TOK_PUNCT,
    TOK_OTHER,
} TokKind;

typedef struct Token {
    TokKind kind;
    size_t start;
    size_t end;
} Token;

typedef struct Parser {
    const GFaultVocab *v;
    const char *s;
    size_t len;
    size_t pos;
    char *err;
    size_t errlen;
    bool failed;
} Parser;

static void lex_peek(Parser *p, Token *t)
{
    size_t i = p->pos;

    while (i < p->len && is_blank(p->s[i])) {
        i++;
    }
    p->pos = i;
    t->start = i;
    if (i >= p->len) {
        t->kind = TOK_END;
        t->end = i;
    } else if (is_punct(p->s[i])) {
        t->kind = TOK_PUNCT;
        t->end = i + 1;
    } else if (is_word_char(p->s[i])) {
        t->kind = TOK_WORD;
        while (i < p->len && is_word_char(p->s[i])) {
            i++;
        }
        t->end = i;
    } else {
        t->kind = TOK_OTHER;
        t->end = i + 1;
    }
}

static void lex_next(Parser *p, Token *t)
{
    lex_peek(p, t);
    p->pos = t->end;
}

static bool tok_is(const Parser *p, const Token *t, char c)
{
    return t->kind == TOK_PUNCT && p->s[t->start] == c;
}

static bool tok_word(const Parser *p, const Token *t, const char *name)
{
    return t->kind == TOK_WORD &&
           word_eq(p->s + t->start, t->end - t->start, name);
}

/* Quote s[start..end) for a message, escaping non-printable bytes. */
static void show_token(const Parser *p, size_t start, size_t end,
                       char *buf, size_t size)
{
    OutBuf o;
    size_t i, n = end - start;

    out_init(&o, buf, size);
    if (start >= p->len) {
        out_str(&o, "'end of input'");
        return;
    }
    out_str(&o, "'");
    for (i = 0; i < n && i < ERR_TOKEN_SHOW; i++) {
        unsigned char c = (unsigned char)p->s[start + i];

        if (c < 0x20 || c >= 0x7f || c == '\\') {
            out_printf(&o, "\\x%02x", c);
        } else {
            char ch[2] = { (char)c, '\0' };

            out_str(&o, ch);
        }
    }
    if (n > ERR_TOKEN_SHOW) {
        out_str(&o, "...");
    }
    out_str(&o, "'");
}

static int __attribute__((format(printf, 4, 5)))
perr_span(Parser *p, size_t start, size_t end, const char *fmt, ...)
{
    char tok[ERR_TOKEN_SHOW * 4 + 8];
    char what[GFAULT_ERR_MAX];
    va_list ap;

    if (p->failed) {
        return -1;
    }
    p->failed = true;
    if (start > p->len) {
        start = p->len;
    }
    if (end < start || end > p->len) {
        end = start;
    }
    show_token(p, start, end, tok, sizeof(tok));
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (p->err && p->errlen) {
        snprintf(p->err, p->errlen, "column %zu: found %s, expected %s",
                 start + 1, tok, what);
    }
    return -1;
}

#define perr(p, t, ...) perr_span((p), (t)->start, (t)->end, __VA_ARGS__)

static int expect_punct(Parser *p, char c, const char *why)
{
    Token t;

    lex_next(p, &t);
    if (!tok_is(p, &t, c)) {
        return perr(p, &t, "'%c'%s", c, why);
    }
    return 0;
}

/* ---- Numbers ------------------------------------------------------------- */

/*
 * Scan a decimal or 0x-hex number at s[0..n).  Return the bytes used (0 if
 * there is no number); *ovf is set if it does not fit 64 bits.
 */
static size_t scan_number(const char *s, size_t n, uint64_t *val, bool *ovf)
{
    uint64_t v = 0;
    size_t i = 0;
    int d;

    *ovf = false;
    if (n >= 3 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
        hex_value(s[2]) >= 0) {
        for (i = 2; i < n && (d = hex_value(s[i])) >= 0; i++) {
            if (v > (UINT64_MAX >> 4)) {
                *ovf = true;
            }
            v = (v << 4) | (uint64_t)d;
        }
    } else {
        for (i = 0; i < n && is_digit(s[i]); i++) {
            d = s[i] - '0';
            if (v > (UINT64_MAX - (uint64_t)d) / 10) {
                *ovf = true;
            }
            v = v * 10 + (uint64_t)d;
        }
    }
    *val = v;
    return i;
}

/* The whole token t is a number. */
static int tok_number(Parser *p, const Token *t, uint64_t *val)
{
    size_t n = t->end - t->start;
    bool ovf;

    if (t->kind != TOK_WORD ||
        scan_number(p->s + t->start, n, val, &ovf) != n) {
        return perr(p, t, "a number (decimal or 0x-hex)");
    }
    if (ovf) {
        return perr(p, t, "a number that fits 64 bits");
    }
    return 0;
}

/* Next token is a number in lo..hi; what names it in the message. */
static int parse_number(Parser *p, uint64_t lo, uint64_t hi,
                        const char *what, uint64_t *val)
{
    Token t;

    lex_next(p, &t);
    if (tok_number(p, &t, val) < 0) {
        return -1;
    }
    if (*val < lo || *val > hi) {
        if (hi == UINT64_MAX) {
            return perr(p, &t, "%s >= %" PRIu64, what, lo);
        }
        return perr(p, &t, "%s %" PRIu64 "..%" PRIu64, what, lo, hi);
    }
    return 0;
}

static const struct {
    const char *name;
    uint64_t ns;
} time_units[] = {
    { "s", 1000000000ull },
    { "ms", 1000000ull },
    { "us", 1000ull },
    { "ns", 1ull },
};

/* DURATION = NUMBER UNIT (blanks allowed between), 0 < d <= max delay. */
static int parse_duration(Parser *p, uint64_t *ns)
{
    Token t, u;
    const char *s;
    size_t n, used, unit_start, unit_len, i;
    uint64_t v;
    bool ovf;

    lex_next(p, &t);
    if (t.kind != TOK_WORD) {
        return perr(p, &t, "a duration (a number and ns, us, ms or s)");
    }
    s = p->s + t.start;
    n = t.end - t.start;
    used = scan_number(s, n, &v, &ovf);
    if (used == 0) {
        return perr(p, &t, "a duration (a number and ns, us, ms or s)");
    }
    unit_start = t.start + used;
    unit_len = n - used;
    if (unit_len == 0) {
        /* "1500 us": the unit is the next word */
        lex_peek(p, &u);
        if (u.kind == TOK_WORD) {
            unit_start = u.start;
            unit_len = u.end - u.start;
        }
    }
    for (i = 0; i < ARRAY_LEN(time_units); i++) {
        if (unit_len && word_eq(p->s + unit_start, unit_len,
                                time_units[i].name)) {
            break;
        }
    }
    if (i == ARRAY_LEN(time_units)) {
        return perr(p, &t, "a duration (a number and ns, us, ms or s)");
    }
    if (unit_start >= t.end) {
        p->pos = unit_start + unit_len;
    }
    if (ovf || v == 0 || v > GFAULT_MAX_DELAY_NS / time_units[i].ns) {
        return perr_span(p, t.start, unit_start + unit_len,
                         "a duration > 0 and <= %llus",
                         GFAULT_MAX_DELAY_NS / 1000000000ull);
    }
    *ns = v * time_units[i].ns;
    return 0;
}

/*
 * P = a decimal in (0, 1] or a percentage in (0, 100]%, scaled to
 * 0..2^32-1 (== 1.0).  Parsed digit by digit: exact, no locale.
 */
typedef struct DecDigits {
    const char *s;          /* integer digits, then fraction digits */
    size_t int_start, int_end, frac_start, frac_end;
    long point;             /* digits before the decimal point */
} DecDigits;

/* Digit number i (0-based) of the digit string, skipping the '.'. */
static int dec_digit(const DecDigits *d, long i)
{
    long nint = (long)(d->int_end - d->int_start);
    long nfrac = (long)(d->frac_end - d->frac_start);

    if (i < 0 || i >= nint + nfrac) {
        return 0;
    }
    if (i < nint) {
        return d->s[d->int_start + i] - '0';
    }
    return d->s[d->frac_start + (i - nint)] - '0';
}

static int parse_prob(Parser *p, uint32_t *out)
{
    Token t;
    DecDigits d;
    const char *s;
    size_t n, i;
    bool pct = false, frac_nonzero = false;
    uint64_t ip = 0, hi = 0, lo = 0, f, g;
    long k, ndig, nfrac;

    lex_next(p, &t);
    s = p->s + t.start;
    n = t.end - t.start;
    if (t.kind == TOK_WORD && n && s[n - 1] == '%') {
        pct = true;
        n--;
    }
    d.s = s;
    i = 0;
    d.int_start = 0;
    while (i < n && is_digit(s[i])) {
        i++;
    }
    d.int_end = i;
    d.frac_start = d.frac_end = i;
    if (i < n && s[i] == '.') {
        i++;
        d.frac_start = i;
        while (i < n && is_digit(s[i])) {
            i++;
        }
        d.frac_end = i;
    }
    if (t.kind != TOK_WORD || i != n ||
        (d.int_end == d.int_start && d.frac_end == d.frac_start)) {
        return perr(p, &t, "a probability in (0, 1], e.g. 0.25 or 25%%");
    }
    ndig = (long)(d.int_end - d.int_start + d.frac_end - d.frac_start);
    d.point = (long)(d.int_end - d.int_start) - (pct ? 2 : 0);

    /* integer part: must end up 0 or 1 */
    for (k = 0; k < d.point; k++) {
        ip = ip * 10 + (uint64_t)dec_digit(&d, k);
        if (ip > 1) {
            break;
        }
    }
    /* fraction, last digit first: F = (digit * 2^64 + F) / 10 */
    nfrac = ndig - d.point;
    for (k = d.point + nfrac - 1; k >= d.point; k--) {
        uint64_t x, digit = (uint64_t)dec_digit(&d, k);

        if (digit) {
            frac_nonzero = true;
        }
        x = (digit << 32) | hi;
        hi = x / 10;
        x = ((x % 10) << 32) | lo;
        lo = x / 10;
    }
    if (ip > 1 || (ip == 1 && frac_nonzero) || (ip == 0 && !frac_nonzero)) {
        return perr(p, &t, "a probability in (0, 1], e.g. 0.25 or 25%%");
    }
    if (ip == 1) {
        *out = PROB_ONE;
        return 0;
    }
    /* round(F * (2^32 - 1) / 2^64) */
    f = (hi << 32) | lo;
    g = f - (f >> 32);
    *out = (uint32_t)((g + 0x80000000ull) >> 32);
    if (*out == 0) {
        *out = 1;       /* the smallest probability there is */
    }
    return 0;
}

/* ---- Canonical text ------------------------------------------------------ */

static void format_number(OutBuf *o, uint64_t v, bool hex)
{
    if (hex) {
        out_printf(o, "0x%" PRIx64, v);
    } else {
        out_printf(o, "%" PRIu64, v);
    }
}

static void format_duration(OutBuf *o, uint64_t ns)
{
    size_t i;

    for (i = 0; i + 1 < ARRAY_LEN(time_units); i++) {
        if (ns && ns % time_units[i].ns == 0) {
            break;
        }
    }
    out_printf(o, "%" PRIu64 "%s", ns / time_units[i].ns, time_units[i].name);
}

/* prob as a decimal with 6 significant digits, no trailing zeros. */
static void format_prob(OutBuf *o, uint32_t prob)
{
    char dig[48];
    char txt[56];
    uint64_t r = prob;
    int nd = 0, first = -1, i, j;

    if (prob == PROB_ONE) {
        out_str(o, "1");
        return;
    }
    if (prob == 0) {
        out_str(o, "0");
        return;
    }
    /* 7 significant fraction digits of prob / (2^32 - 1) */
    while (nd < 40) {
        r *= 10;
        dig[nd] = (char)(r / PROB_ONE);
        r %= PROB_ONE;
        if (first < 0 && dig[nd]) {
            first = nd;
        }
        nd++;
        if (first >= 0 && nd - first == 7) {
            break;
        }
    }
    /* round to 6 */
    nd--;
    if (dig[nd] >= 5) {
        for (i = nd - 1; i >= 0; i--) {
            if (++dig[i] < 10) {
                break;
            }
            dig[i] = 0;
        }
        if (i < 0) {
            out_str(o, "1");
            return;
        }
    }
    while (nd > 0 && dig[nd - 1] == 0) {
        nd--;
    }
    j = 0;
    txt[j++] = '0';
    txt[j++] = '.';
    for (i = 0; i < nd; i++) {
        txt[j++] = (char)('0' + dig[i]);
    }
    txt[j] = '\0';
    out_str(o, txt);
}

static void format_key_value(const GFaultKeyInfo *ki, uint64_t lo,
                             uint64_t hi, OutBuf *o)
{
    const GFaultName *n;

    if (ki->format_names && ki->names && lo == hi) {
        for (n = ki->names; n->name; n++) {
            if (n->value == lo) {
                out_str(o, n->name);
                return;
            }
        }
    }
    format_number(o, lo, ki->hex);
    if (hi != lo) {
        out_str(o, "-");
        format_number(o, hi, ki->hex);
    }
}

static void format_rule(const GFaultVocab *v, const GFaultRule *r,
                        OutBuf *o)
{
    uint32_t i;
    unsigned k;
    const char *sep = ":";

    out_str(o, gfault_point_name(v, r->point));
    if (r->filter_mask) {
        sep = "[";
        for (k = 0; k < v->nkeys && k < GFAULT_MAX_KEYS; k++) {
            if (!(r->filter_mask & KBIT(k))) {
                continue;
            }
            out_str(o, sep);
            out_str(o, v->keys[k].name);
            out_str(o, "=");
            format_key_value(&v->keys[k], r->filter_lo[k], r->filter_hi[k],
                             o);
            sep = ",";
        }
        out_str(o, "]");
        sep = ":";
    }
    out_str(o, ":");
    out_str(o, gfault_action_name(v, r->action));
    switch (r->action < v->nactions ? v->actions[r->action].args
                                    : GFAULT_ARGS_NONE) {
    case GFAULT_ARGS_DELAY:
        out_str(o, "(");
        format_duration(o, r->delay_ns);
        out_str(o, ")");
        break;
    case GFAULT_ARGS_CORRUPT:
        out_str(o, "(");
        for (i = 0; i < r->ncorrupt && i < GFAULT_MAX_CORRUPT; i++) {
            const GFaultCorrupt *c = &r->corrupt[i];
            bool valid = c->field < v->nfields && v->fields[c->field].name;

            if (i) {
                out_str(o, ",");
            }
            out_str(o, valid ? v->fields[c->field].name : "?");
            if (!c->invert) {
                out_str(o, "=");
                format_number(o, c->value, valid && v->fields[c->field].hex);
            }
        }
        out_str(o, ")");
        break;
    case GFAULT_ARGS_FLIP:
        if (r->flip_bits != 1) {
            out_printf(o, "(bits=%" PRIu32 ")", r->flip_bits);
        }
        break;
    case GFAULT_ARGS_STORM:
        if (r->storm_count != STORM_DEFAULT_COUNT ||
            r->storm_interval_ns != STORM_DEFAULT_INTERVAL) {
            out_str(o, "(");
            if (r->storm_count != STORM_DEFAULT_COUNT) {
                out_printf(o, "count=%" PRIu32, r->storm_count);
            }
            if (r->storm_interval_ns != STORM_DEFAULT_INTERVAL) {
                if (r->storm_count != STORM_DEFAULT_COUNT) {
                    out_str(o, ",");
                }
                out_str(o, "interval=");
                format_duration(o, r->storm_interval_ns);
            }
            out_str(o, ")");
        }
        break;
    default:
        break;
    }

    switch (r->trigger) {
    case GFAULT_TRIG_NTH:
        if (r->trigger_n == 1) {
            out_str(o, ":once");
        } else {
            out_printf(o, ":nth=%" PRIu64, r->trigger_n);
        }
        sep = ",";
        break;
    case GFAULT_TRIG_EVERY:
        out_printf(o, ":every=%" PRIu64, r->trigger_n);
        sep = ",";
        break;
    case GFAULT_TRIG_PROB:
        out_str(o, ":prob=");
        format_prob(o, r->prob);
        sep = ",";
        break;
    default:
        break;
    }
    if (r->after) {
        out_printf(o, "%safter=%" PRIu64, sep, r->after);
        sep = ",";
    }
    if (r->max) {
        out_printf(o, "%smax=%" PRIu64, sep, r->max);
        sep = ",";
    }
    if (r->seed_set) {
        out_printf(o, "%sseed=0x%" PRIx64, sep, r->seed);
    }
}

/* ---- Lists of names, for messages ---------------------------------------- */

static void list_points(const GFaultVocab *v, char *buf, size_t size)
{
    OutBuf o;
    unsigned i;

    out_init(&o, buf, size);
    for (i = 0; i < v->npoints; i++) {
        if (o.len) {
            out_str(&o, ", ");
        }
        out_str(&o, v->points[i].name);
    }
}

/* The actions in mask (all of them: ~0u). */
static void list_actions(const GFaultVocab *v, uint32_t mask, char *buf,
                         size_t size)
{
    OutBuf o;
    unsigned a;

    out_init(&o, buf, size);
    for (a = 0; a < v->nactions && a < GFAULT_MAX_ACTIONS; a++) {
        if (mask & ABIT(a)) {
            if (o.len) {
                out_str(&o, ", ");
            }
            out_str(&o, v->actions[a].name);
        }
    }
}

static void list_fields(const GFaultVocab *v, unsigned pt, char *buf,
                        size_t size)
{
    OutBuf o;
    unsigned f;

    out_init(&o, buf, size);
    for (f = 0; f < v->nfields && f < GFAULT_MAX_FIELDS; f++) {
        if (v->fields[f].name && (v->fields[f].points & PBIT(pt))) {
            if (o.len) {
                out_str(&o, ", ");
            }
            out_str(&o, v->fields[f].name);
        }
    }
}

/* "k1=, k2=" for the keys in mask. */
static void list_keys(const GFaultVocab *v, uint32_t mask, char *buf,
                      size_t size)
{
    OutBuf o;
    unsigned k;

    out_init(&o, buf, size);
    for (k = 0; k < v->nkeys && k < GFAULT_MAX_KEYS; k++) {
        if (mask & KBIT(k)) {
            if (o.len) {
                out_str(&o, ", ");
            }
            out_str(&o, v->keys[k].name);
            out_str(&o, "=");
        }
    }
}

static unsigned popcount32(uint32_t x)
{
    unsigned n = 0;

    for (; x; x &= x - 1) {
        n++;
    }
    return n;
}

/* ---- Rule parser --------------------------------------------------------- */

static void rule_defaults(GFaultRule *r)
{
    memset(r, 0, sizeof(*r));
    r->flip_bits = 1;
    r->storm_count = STORM_DEFAULT_COUNT;
    r->storm_interval_ns = STORM_DEFAULT_INTERVAL;
    r->trigger = GFAULT_TRIG_ALWAYS;
}

/* The value of filter key ki: a name, a number or (range keys) N-M. */
static int parse_key_value(Parser *p, const GFaultKeyInfo *ki,
                           uint64_t *lo, uint64_t *hi)
{
    Token v;
    const GFaultName *nm;
    const char *s;
    size_t n, used, used2;
    uint64_t a, b;
    bool ovf, ovf2 = false;
    uint64_t align = ki->align > 1 ? ki->align : 1;

    lex_next(p, &v);
    if (ki->names) {
        for (nm = ki->names; nm->name; nm++) {
            if (tok_word(p, &v, nm->name)) {
                *lo = *hi = nm->value;
                return 0;
            }
        }
    }
    if (v.kind != TOK_WORD || !is_digit(p->s[v.start])) {
        if (ki->expect) {
            return perr(p, &v, "%s", ki->expect);
        }
        return perr(p, &v, "%s", ki->range ?
                    "a number or a range N-M (decimal or 0x-hex)" :
                    "a number (decimal or 0x-hex)");
    }
    if (!ki->range) {
        if (tok_number(p, &v, &a) < 0) {
            return -1;
        }
        b = a;
    } else {
        s = p->s + v.start;
        n = v.end - v.start;
        used = scan_number(s, n, &a, &ovf);
        b = a;
        if (used < n && s[used] == '-') {
            used2 = scan_number(s + used + 1, n - used - 1, &b, &ovf2);
            used = used2 ? used + 1 + used2 : 0;
        }
        if (used != n) {
            return perr(p, &v, "a number or a range N-M (decimal or 0x-hex)");
        }
        if (ovf || ovf2) {
            return perr(p, &v, "a number that fits 64 bits");
        }
        if (a > b) {
            return perr(p, &v, "a range N-M with N <= M");
        }
    }
    if (b > ki->max || a % align || b % align) {
        if (ki->expect_bounds) {
            return perr(p, &v, "%s", ki->expect_bounds);
        }
        if (ki->range) {
            return perr(p, &v, "a number or range within 0..0x%" PRIx64,
                        ki->max);
        }
        return perr(p, &v, "a number 0..%" PRIu64, ki->max);
    }
    *lo = a;
    *hi = b;
    return 0;
}

/* "[" key=value { "," key=value } "]", the keys the point takes. */
static int parse_filter(Parser *p, GFaultRule *r)
{
    const GFaultVocab *vo = p->v;
    const GFaultPointInfo *pi = &vo->points[r->point];
    uint32_t keys = pi->keys, seen = 0;
    Token key, t;
    char list[LIST_MAX];
    unsigned k;

    lex_next(p, &key);          /* '[' */
    if (!keys) {
        return perr(p, &key, "':' (%s takes no filter)", pi->name);
    }
    for (;;) {
        lex_next(p, &key);
        for (k = 0; k < vo->nkeys && k < GFAULT_MAX_KEYS; k++) {
            if ((keys & KBIT(k)) && tok_word(p, &key, vo->keys[k].name)) {
                break;
            }
        }
        if (k == vo->nkeys || k == GFAULT_MAX_KEYS) {
            if (popcount32(keys) == 1) {
                list_keys(vo, keys, list, sizeof(list));
                return perr(p, &key, "%s (the filter of %s)", list, pi->name);
            }
            list_keys(vo, keys, list, sizeof(list));
            return perr(p, &key, "a filter key of %s (%s)", pi->name, list);
        }
        if (seen & KBIT(k)) {
            return perr(p, &key, "a filter key not given before");
        }
        seen |= KBIT(k);
        if (expect_punct(p, '=', "") < 0 ||
            parse_key_value(p, &vo->keys[k], &r->filter_lo[k],
                            &r->filter_hi[k]) < 0) {
            return -1;
        }
        r->filter_mask |= KBIT(k);
        lex_next(p, &t);
        if (tok_is(p, &t, ']')) {
            return 0;
        }
        if (!(keys & ~seen)) {
            return perr(p, &t, "']'");
        }
        if (!tok_is(p, &t, ',')) {
            return perr(p, &t, "',' or ']'");
        }
    }
}

static int parse_corrupt(Parser *p, GFaultRule *r)
{
    const GFaultVocab *vo = p->v;
    const GFaultPointInfo *pi = &vo->points[r->point];
    Token t, v, end;
    uint32_t seen = 0, i, j;
    char list[LIST_MAX];
    uint64_t val;
    unsigned f;

    if (expect_punct(p, '(', " (corrupt needs fields)") < 0) {
        return -1;
    }
    for (;;) {
        GFaultCorrupt *c;
        const GFaultFieldInfo *fi;

        lex_next(p, &t);
        if (r->ncorrupt == GFAULT_MAX_CORRUPT) {
            return perr(p, &t, "')' (at most %d fields)", GFAULT_MAX_CORRUPT);
        }
        for (f = 0; f < vo->nfields && f < GFAULT_MAX_FIELDS; f++) {
            if (vo->fields[f].name && (vo->fields[f].points & PBIT(r->point)) &&
                tok_word(p, &t, vo->fields[f].name)) {
                break;
            }
        }
        if (f == vo->nfields || f == GFAULT_MAX_FIELDS) {
            list_fields(vo, r->point, list, sizeof(list));
            return perr(p, &t, "a field of %s (%s)", pi->name, list);
        }
        if (seen & (1u << f)) {
            return perr(p, &t, "a field not given before");
        }
        seen |= 1u << f;
        fi = &vo->fields[f];
        c = &r->corrupt[r->ncorrupt];
        c->field = f;
        lex_peek(p, &v);
        if (tok_is(p, &v, '=')) {
            p->pos = v.end;
            lex_next(p, &v);
            if (tok_number(p, &v, &val) < 0) {
                return -1;
            }
            if (fi->bits < 64 && (val >> fi->bits) != 0) {
                return perr_span(p, t.start, v.end,
                                 "a value that fits %u bit%s",
                                 fi->bits, fi->bits == 1 ? "" : "s");
            }
            c->value = val;
            c->invert = false;
        } else if (fi->need_value) {
            return perr(p, &v, "'=' and a value (%s needs one)", fi->name);
        } else {
            c->invert = true;
            c->value = 0;
        }
        r->ncorrupt++;
        lex_next(p, &end);
        if (tok_is(p, &end, ')')) {
            break;
        }
        if (!tok_is(p, &end, ',')) {
            return perr(p, &end, "',' or ')'");
        }
    }
    if (pi->corrupt_not_alone && !(seen & ~pi->corrupt_not_alone)) {
        return perr(p, &end, "%s", pi->corrupt_not_alone_msg ?
                    pi->corrupt_not_alone_msg : "another field");
    }
    if ((seen & pi->corrupt_need_all) != pi->corrupt_need_all) {
        return perr(p, &end, "%s", pi->corrupt_need_all_msg ?
                    pi->corrupt_need_all_msg : "more fields");
    }
    /* canonical order: by field */
    for (i = 1; i < r->ncorrupt; i++) {
        GFaultCorrupt tmp = r->corrupt[i];

        for (j = i; j > 0 && r->corrupt[j - 1].field > tmp.field; j--) {
            r->corrupt[j] = r->corrupt[j - 1];
        }
        r->corrupt[j] = tmp;
    }
    return 0;
}

static int parse_args(Parser *p, GFaultRule *r)
{
    Token t, k;
    uint64_t v;
    bool have_count = false, have_interval = false;

    switch (p->v->actions[r->action].args) {
    case GFAULT_ARGS_DELAY:
        if (expect_punct(p, '(', " (delay needs a duration)") < 0 ||
            parse_duration(p, &r->delay_ns) < 0) {
            return -1;
        }
        return expect_punct(p, ')', "");
    case GFAULT_ARGS_CORRUPT:
        return parse_corrupt(p, r);
    case GFAULT_ARGS_FLIP:
        lex_peek(p, &t);
        if (!tok_is(p, &t, '(')) {
            return 0;
        }
        p->pos = t.end;
        lex_next(p, &k);
        if (!tok_word(p, &k, "bits")) {
            return perr(p, &k, "bits=N");
        }
        if (expect_punct(p, '=', "") < 0 ||
            parse_number(p, 1, 64, "a bit count", &v) < 0) {
            return -1;
        }
        r->flip_bits = (uint32_t)v;
        return expect_punct(p, ')', "");
    case GFAULT_ARGS_STORM:
        lex_peek(p, &t);
        if (!tok_is(p, &t, '(')) {
            return 0;
        }
        p->pos = t.end;
        for (;;) {
            lex_next(p, &k);
            if (tok_word(p, &k, "count") && !have_count) {
                have_count = true;
                if (expect_punct(p, '=', "") < 0 ||
                    parse_number(p, 1, GFAULT_MAX_STORM, "a count",
                                 &v) < 0) {
                    return -1;
                }
                r->storm_count = (uint32_t)v;
            } else if (tok_word(p, &k, "interval") && !have_interval) {
                have_interval = true;
                if (expect_punct(p, '=', "") < 0 ||
                    parse_duration(p, &r->storm_interval_ns) < 0) {
                    return -1;
                }
            } else if (!have_count && !have_interval) {
                return perr(p, &k, "count=N or interval=T");
            } else {
                return perr(p, &k, "%s", have_count ? "interval=T"
                                                     : "count=N");
            }
            lex_next(p, &t);
            if (tok_is(p, &t, ')')) {
                return 0;
            }
            if (!tok_is(p, &t, ',') || (have_count && have_interval)) {
                return perr(p, &t, "')'%s",
                            have_count && have_interval ? "" : " or ','");
            }
        }
    default:
        return 0;
    }
}

enum {
    TRIG_ALWAYS, TRIG_ONCE, TRIG_NTH, TRIG_EVERY, TRIG_PROB,
    TRIG_AFTER, TRIG_MAX, TRIG_SEED, TRIG__COUNT
};

static const char *const trigger_names[TRIG__COUNT] = {
    "always", "once", "nth", "every", "prob", "after", "max", "seed",
};

static int parse_triggers(Parser *p, GFaultRule *r)
{
    Token t;
    bool have_kind = false;
    uint32_t seen = 0;
    uint64_t v;
    int k;

    for (;;) {
        lex_next(p, &t);
        for (k = 0; k < TRIG__COUNT; k++) {
            if (tok_word(p, &t, trigger_names[k])) {
                break;
            }
        }
        if (k == TRIG__COUNT) {
            return perr(p, &t, "a trigger (" TRIGGER_LIST ")");
        }
        if (k <= TRIG_PROB) {
            if (have_kind) {
                return perr(p, &t, "at most one of always, once, nth, "
                            "every, prob");
            }
            have_kind = true;
        } else {
            if (seen & (1u << k)) {
                return perr(p, &t, "at most one %s=", trigger_names[k]);
            }
            seen |= 1u << k;
        }
        if (k != TRIG_ALWAYS && k != TRIG_ONCE &&
            expect_punct(p, '=', "") < 0) {
            return -1;
        }
        switch (k) {
        case TRIG_ALWAYS:
            r->trigger = GFAULT_TRIG_ALWAYS;
            break;
        case TRIG_ONCE:
            r->trigger = GFAULT_TRIG_NTH;
            r->trigger_n = 1;
            break;
        case TRIG_NTH:
        case TRIG_EVERY:
            if (parse_number(p, 1, UINT64_MAX, "a count", &v) < 0) {
                return -1;
            }
            r->trigger = k == TRIG_NTH ? GFAULT_TRIG_NTH : GFAULT_TRIG_EVERY;
            r->trigger_n = v;
            break;
        case TRIG_PROB:
            if (parse_prob(p, &r->prob) < 0) {
                return -1;
            }
            r->trigger = GFAULT_TRIG_PROB;
            break;
        case TRIG_AFTER:
            if (parse_number(p, 0, UINT64_MAX, "a count", &r->after) < 0) {
                return -1;
            }
            break;
        case TRIG_MAX:
            if (parse_number(p, 1, UINT64_MAX, "a count", &r->max) < 0) {
                return -1;
            }
            break;
        default: /* TRIG_SEED */
            if (parse_number(p, 0, UINT64_MAX, "a seed", &r->seed) < 0) {
                return -1;
            }
            r->seed_set = true;
            break;
        }
        lex_peek(p, &t);
        if (!tok_is(p, &t, ',')) {
            break;
        }
        p->pos = t.end;
    }
    if (t.kind != TOK_END && !tok_is(p, &t, ';')) {
        return perr(p, &t, "',', ';' or end of input");
    }
    return 0;
}

/* rule = point [ "[" filter "]" ] ":" action [ "(" args ")" ] [ ":" trig ] */
static int parse_rule(Parser *p, GFaultRule *r)
{
    const GFaultVocab *vo = p->v;
    const GFaultActionInfo *ai;
    Token t;
    char list[LIST_MAX];
    unsigned i;

    rule_defaults(r);
    lex_next(p, &t);
    for (i = 0; i < vo->npoints; i++) {
        if (tok_word(p, &t, vo->points[i].name)) {
            break;
        }
    }
    if (i == vo->npoints) {
        list_points(vo, list, sizeof(list));
        return perr(p, &t, "a point (%s)", list);
    }
    r->point = i;

    lex_peek(p, &t);
    if (tok_is(p, &t, '[')) {
        if (parse_filter(p, r) < 0) {
            return -1;
        }
        lex_peek(p, &t);
    }
    if (!tok_is(p, &t, ':')) {
        if (vo->points[r->point].keys) {
            return perr(p, &t, "'[' or ':'");
        }
        return perr(p, &t, "':'");
    }
    p->pos = t.end;

    lex_next(p, &t);
    for (i = 0; i < vo->nactions; i++) {
        if (tok_word(p, &t, vo->actions[i].name)) {
            break;
        }
    }
    if (i == vo->nactions) {
        list_actions(vo, ~0u, list, sizeof(list));
        return perr(p, &t, "an action (%s)", list);
    }
    if (!(vo->points[r->point].actions & ABIT(i))) {
        list_actions(vo, vo->points[r->point].actions, list, sizeof(list));
        return perr(p, &t, "an action valid for %s (%s)",
                    vo->points[r->point].name, list);
    }
    ai = &vo->actions[i];
    if (ai->need_filter &&
        (ai->need_key >= GFAULT_MAX_KEYS ||
         !(r->filter_mask & KBIT(ai->need_key)) ||
         r->filter_lo[ai->need_key] != ai->need_value ||
         r->filter_hi[ai->need_key] != ai->need_value)) {
        return perr(p, &t, "%s", ai->need_msg ? ai->need_msg :
                    "an action this filter allows");
    }
    r->action = i;
    if (parse_args(p, r) < 0) {
        return -1;
    }

    lex_peek(p, &t);
    if (tok_is(p, &t, ':')) {
        p->pos = t.end;
        return parse_triggers(p, r);
    }
    if (t.kind != TOK_END && !tok_is(p, &t, ';')) {
        return perr(p, &t, "':', ';' or end of input");
    }
    return 0;
}

/*
 * rules = [ rule { ";" rule } ] [ ";" ], at most room rules, whose
 * canonical texts joined by ";" add at most text_room characters.
 */
static int parse_rules(Parser *p, GFaultRule *out, uint32_t room,
                       size_t text_room, bool joined)
{
    Token t;
    OutBuf o;
    uint32_t n = 0;
    size_t len;

    lex_peek(p, &t);
    while (t.kind != TOK_END) {
        size_t start = t.start;

        if (n == room) {
            return perr(p, &t, "at most %d rules in all", GFAULT_MAX_RULES);
        }
        if (parse_rule(p, &out[n]) < 0) {
            return -1;
        }
        out_init(&o, out[n].text, sizeof(out[n].text));
        format_rule(p->v, &out[n], &o);
        if (o.len >= sizeof(out[n].text)) {
            return perr_span(p, start, p->pos, "a rule whose canonical form "
                             "fits %zu characters",
                             sizeof(out[n].text) - 1);
        }
        len = o.len + (joined ? 1 : 0);
        if (len > text_room) {
            return perr_span(p, start, p->pos, "a rule set whose canonical "
                             "form fits %d characters", GFAULT_TEXT_MAX - 1);
        }
        text_room -= len;
        joined = true;
        n++;

        lex_next(p, &t);    /* ';' or end, checked by parse_rule */
        if (t.kind == TOK_END) {
            break;
        }
        lex_peek(p, &t);
    }
    return (int)n;
}

/* ---- Engine -------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rule_rng_seed(uint64_t seed, uint32_t pos)
{
    uint64_t x = seed ^ (0x6a09e667f3bcc909ull * ((uint64_t)pos + 1));
    uint64_t v = splitmix64(&x);

    return v ? v : 0x9e3779b97f4a7c15ull;
}

uint64_t gfault_rand(GFaultRule *r)
{
    uint64_t x = r->rng;

    if (x == 0) {
        x = 0x9e3779b97f4a7c15ull;
    }
    /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

static void update_watch(GFaultEngine *e)
{
    uint32_t i;
    uint64_t mask = 0;
    unsigned np = e->vocab ? e->vocab->npoints : 0;

    for (i = 0; i < e->nrules && i < GFAULT_MAX_RULES; i++) {
        if (e->rules[i].point < np && e->rules[i].point < GFAULT_MAX_POINTS) {
            mask |= PBIT(e->rules[i].point);
        }
    }
    e->watch_mask = mask;
}

void gfault_init(GFaultEngine *e, const GFaultVocab *v, uint64_t seed)
{
    /*
     * Everything but the log's entries, which are 3/4 of the engine:
     * with log_seq == log_first none is held, none is read, and each is
     * written whole before it is held.  Devices are created for every
     * input of the fuzzers; zeroing 74 KiB more each time cost a fifth of
     * fuzz_ioctl's speed.
     */
    memset(e, 0, offsetof(GFaultEngine, log));
    e->log_seq = 0;
    e->log_first = 0;
    e->vocab = v;
    e->next_id = 1;
    e->seed = seed;
}

void gfault_clear(GFaultEngine *e)
{
    memset(e->rules, 0, sizeof(e->rules));
    e->nrules = 0;
    update_watch(e);
}

static size_t set_text_len(const GFaultEngine *e)
{
    size_t len = 0;
    uint32_t i;

    for (i = 0; i < e->nrules && i < GFAULT_MAX_RULES; i++) {
        len += (i ? 1 : 0) + strnlen(e->rules[i].text,
                                     sizeof(e->rules[i].text));
    }
    return len;
}

static int fault_load(GFaultEngine *e, const char *text, char *err,
                      size_t errlen, bool append)
{
    GFaultRule tmp[GFAULT_MAX_RULES];
    Parser p = {
        .v = e->vocab,
        .s = text ? text : "",
        .err = err,
        .errlen = errlen,
    };
    uint32_t base = 0, i;
    size_t used = 0;
    int n;

    if (err && errlen) {
        err[0] = '\0';
    }
    if (!e->vocab) {
        if (err && errlen) {
            snprintf(err, errlen, "column 1: no fault vocabulary");
        }
        return -1;
    }
    p.len = strlen(p.s);
    if (append) {
        base = e->nrules < GFAULT_MAX_RULES ? e->nrules : GFAULT_MAX_RULES;
        used = set_text_len(e);
    }
    if (used >= GFAULT_TEXT_MAX) {
        used = GFAULT_TEXT_MAX - 1;
    }
    n = parse_rules(&p, tmp, GFAULT_MAX_RULES - base,
                    GFAULT_TEXT_MAX - 1 - used, base > 0);
    if (n < 0) {
        return -1;
    }

    if (!append) {
        memset(e->rules, 0, sizeof(e->rules));
    }
    if (e->next_id == 0) {
        e->next_id = 1;
    }
    for (i = 0; i < (uint32_t)n; i++) {
        uint32_t pos = base + i;
        GFaultRule *r = &e->rules[pos];

        *r = tmp[i];
        r->id = e->next_id++;
        if (e->next_id == 0) {
            e->next_id = 1;
        }
        r->hits = 0;
        r->fired = 0;
        r->passed = 0;
        r->units_at_install = e->units;
        r->rng = rule_rng_seed(r->seed_set ? r->seed : e->seed, pos);
    }
    e->nrules = base + (uint32_t)n;
    update_watch(e);
    return n;
}

int gfault_set(GFaultEngine *e, const char *text, char *err, size_t errlen)
{
    return fault_load(e, text, err, errlen, false);
}

int gfault_add(GFaultEngine *e, const char *text, char *err, size_t errlen)
{
    return fault_load(e, text, err, errlen, true);
}

size_t gfault_format(const GFaultEngine *e, char *buf, size_t len)
{
    OutBuf o;
    uint32_t i;

    out_init(&o, buf, len);
    for (i = 0; i < e->nrules && i < GFAULT_MAX_RULES; i++) {
        char text[GFAULT_RULE_TEXT_MAX];

        /* never trust the stored text to be terminated */
        memcpy(text, e->rules[i].text, sizeof(text));
        text[sizeof(text) - 1] = '\0';
        if (i) {
            out_str(&o, ";");
        }
        out_str(&o, text);
    }
    return o.len;
}

/* The event's value of every key the rule filters overlaps the filter. */
static bool filter_match(const GFaultRule *r, const GFaultEvent *ev)
{
    unsigned k;

    for (k = 0; k < GFAULT_MAX_KEYS; k++) {
        uint64_t lo, hi;

        if (!(r->filter_mask & KBIT(k))) {
            continue;
        }
        if (!ev || !(ev->known & KBIT(k))) {
            return false;
        }
        lo = ev->key[k];
        hi = ev->len[k] > 1 ? lo + (ev->len[k] - 1) : lo;
        if (hi < lo) {
            hi = UINT64_MAX;        /* the event runs past the top */
        }
        if (hi < r->filter_lo[k] || lo > r->filter_hi[k]) {
            return false;
        }
    }
    return true;
}

uint32_t gfault_eval(GFaultEngine *e, unsigned point, const GFaultEvent *ev)
{
    uint32_t i, fired = 0;
    bool count_events;

    if (!gfault_watches(e, point)) {
        return 0;
    }
    count_events = e->vocab->after == GFAULT_AFTER_EVENTS;
    for (i = 0; i < e->nrules && i < GFAULT_MAX_RULES; i++) {
        GFaultRule *r = &e->rules[i];
        bool fire;

        if (r->point != point || !filter_match(r, ev)) {
            continue;
        }
        if (count_events) {
            if (r->passed < r->after) {
                r->passed++;
                continue;
            }
        } else if (e->units - r->units_at_install < r->after) {
            continue;
        }
        r->hits++;
        switch (r->trigger) {
        case GFAULT_TRIG_NTH:
            fire = r->hits == r->trigger_n;
            break;
        case GFAULT_TRIG_EVERY:
            fire = r->trigger_n && r->hits % r->trigger_n == 0;
            break;
        case GFAULT_TRIG_PROB:
            fire = (uint32_t)(gfault_rand(r) >> 32) < r->prob ||
                   r->prob == PROB_ONE;
            break;
        default:
            fire = true;
            break;
        }
        if (fire && r->max && r->fired >= r->max) {
            fire = false;
        }
        if (fire) {
            r->fired++;
            fired |= 1u << i;
        }
    }
    return fired;
}

bool gfault_watches(const GFaultEngine *e, unsigned point)
{
    return e->vocab && point < e->vocab->npoints &&
           point < GFAULT_MAX_POINTS && (e->watch_mask & PBIT(point)) != 0;
}

void gfault_count_unit(GFaultEngine *e)
{
    e->units++;
}

/* ---- Fault log ----------------------------------------------------------- */

void gfault_logv(GFaultEngine *e, uint64_t time_ns, unsigned idx,
                 const char *fmt, va_list ap)
{
    GFaultLogEntry *ent;
    const GFaultRule *r;

    if (idx >= e->nrules || idx >= GFAULT_MAX_RULES) {
        return;
    }
    r = &e->rules[idx];
    if (gfault_log_count(e)) {
        const GFaultLogEntry *prev = &e->log[(e->log_seq - 1) % GFAULT_LOG_LEN];

        if (time_ns < prev->time_ns) {
            time_ns = prev->time_ns;
        }
    }
    ent = &e->log[e->log_seq % GFAULT_LOG_LEN];
    memset(ent, 0, sizeof(*ent));
    ent->seq = e->log_seq;
    ent->time_ns = time_ns;
    ent->rule_id = r->id;
    ent->point = r->point;
    ent->action = r->action;
    memcpy(ent->rule, r->text, sizeof(ent->rule));
    ent->rule[sizeof(ent->rule) - 1] = '\0';
    if (fmt) {
        vsnprintf(ent->detail, sizeof(ent->detail), fmt, ap);
    }
    e->log_seq++;
}

void gfault_log(GFaultEngine *e, uint64_t time_ns, unsigned idx,
                const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    gfault_logv(e, time_ns, idx, fmt, ap);
    va_end(ap);
}

uint64_t gfault_log_count(const GFaultEngine *e)
{
    uint64_t n = e->log_first <= e->log_seq ? e->log_seq - e->log_first : 0;

    return n < GFAULT_LOG_LEN ? n : GFAULT_LOG_LEN;
}

const GFaultLogEntry *gfault_log_entry(const GFaultEngine *e, uint64_t i)
{
    uint64_t n = gfault_log_count(e);

    if (i >= n) {
        return NULL;
    }
    return &e->log[(e->log_seq - n + i) % GFAULT_LOG_LEN];
}

void gfault_log_clear(GFaultEngine *e)
{
    memset(e->log, 0, sizeof(e->log));
    e->log_first = e->log_seq;
}

/* ---- Loaded state -------------------------------------------------------- */

/* The configuration (not the run-time state) of two rules is equal. */
static bool rule_config_equal(const GFaultRule *a, const GFaultRule *b)
{
    uint32_t i;

    if (a->point != b->point || a->filter_mask != b->filter_mask ||
        a->action != b->action ||
        a->delay_ns != b->delay_ns || a->flip_bits != b->flip_bits ||
        a->storm_count != b->storm_count ||
        a->storm_interval_ns != b->storm_interval_ns ||
        a->ncorrupt != b->ncorrupt || a->trigger != b->trigger ||
        a->trigger_n != b->trigger_n || a->prob != b->prob ||
        a->after != b->after || a->max != b->max ||
        a->seed_set != b->seed_set || a->seed != b->seed) {
        return false;
    }
    for (i = 0; i < GFAULT_MAX_KEYS; i++) {
        if (a->filter_lo[i] != b->filter_lo[i] ||
            a->filter_hi[i] != b->filter_hi[i]) {
            return false;
        }
    }
    for (i = 0; i < a->ncorrupt && i < GFAULT_MAX_CORRUPT; i++) {
        if (a->corrupt[i].field != b->corrupt[i].field ||
            a->corrupt[i].invert != b->corrupt[i].invert ||
            a->corrupt[i].value != b->corrupt[i].value) {
            return false;
        }
    }
    return true;
}

static int log_post_load(const GFaultEngine *e)
{
    const GFaultVocab *v = e->vocab;
    uint64_t n = gfault_log_count(e), i, prev_time = 0;

    if (e->log_first > e->log_seq) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        uint64_t seq = e->log_seq - n + i;
        const GFaultLogEntry *ent = &e->log[seq % GFAULT_LOG_LEN];

        if (ent->seq != seq || (i && ent->time_ns < prev_time) ||
            ent->point >= v->npoints || ent->action >= v->nactions ||
            !memchr(ent->rule, '\0', sizeof(ent->rule)) ||
            !memchr(ent->detail, '\0', sizeof(ent->detail))) {
            return -1;
        }
        prev_time = ent->time_ns;
    }
    return 0;
}

int gfault_post_load(GFaultEngine *e)
{
    const GFaultVocab *v = e->vocab;
    uint32_t i;

    if (!v || e->nrules > GFAULT_MAX_RULES) {
        return -1;
    }
    for (i = 0; i < e->nrules; i++) {
        GFaultRule *r = &e->rules[i];
        GFaultRule check;
        char text[GFAULT_RULE_TEXT_MAX];
        Parser p = { .v = v, .s = text };
        OutBuf o;

        /* A rule is valid iff its canonical text parses back to it. */
        if (r->point >= v->npoints || r->action >= v->nactions ||
            r->ncorrupt > GFAULT_MAX_CORRUPT ||
            (unsigned)r->trigger > GFAULT_TRIG_PROB) {
            return -1;
        }
        if (v->after == GFAULT_AFTER_EVENTS ? r->passed > r->after
                                            : r->passed != 0) {
            return -1;
        }
        memset(text, 0, sizeof(text));
        out_init(&o, text, sizeof(text));
        format_rule(v, r, &o);
        if (o.len >= sizeof(text)) {
            return -1;
        }
        p.len = o.len;
        if (parse_rule(&p, &check) < 0 || p.pos != p.len) {
            return -1;
        }
        if (r->trigger == GFAULT_TRIG_PROB && r->prob != 0) {
            /* the text shows 6 digits; the scaled value is finer */
            check.prob = r->prob;
        }
        if (!rule_config_equal(r, &check)) {
            return -1;
        }
        memcpy(r->text, text, sizeof(text));
        if (r->rng == 0) {
            r->rng = rule_rng_seed(r->seed_set ? r->seed : e->seed, i);
        }
    }
    if (set_text_len(e) >= GFAULT_TEXT_MAX || log_post_load(e) < 0) {
        return -1;
    }
    if (e->next_id == 0) {
        e->next_id = 1;
    }
    update_watch(e);
    return 0;
}
