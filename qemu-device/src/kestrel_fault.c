/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kestrel fault engine: rule grammar, triggers and counters.
 *
 * The parser is a small hand-written recursive-descent parser over a
 * NUL-terminated string whose length is taken once; every access is
 * checked against that length, so any input is safe.  Rules are parsed
 * into a temporary array and only committed when the whole text is
 * valid, so a failed kestrel_fault_set/add leaves the engine untouched.
 *
 * Uses only the C library: it is built inside QEMU and standalone.
 */
#include "kestrel_env.h"
#include "kestrel_fault.h"
#include "kestrel_hw.h"

#include <stdarg.h>

#define PROB_ONE                UINT32_MAX
#define STORM_DEFAULT_COUNT     1000
#define STORM_DEFAULT_INTERVAL  10000ull        /* 10 us */
#define ERR_TOKEN_SHOW          32              /* bytes of a token shown */

/* ---- Names ------------------------------------------------------------ */

static const char *const point_names[KFP__MAX] = {
    [KFP_CTRL_ENABLE] = "ctrl.enable",
    [KFP_REG_READ] = "reg.read",
    [KFP_SQ_FETCH] = "sq.fetch",
    [KFP_SGL_FETCH] = "sgl.fetch",
    [KFP_DMA_READ] = "dma.read",
    [KFP_DMA_WRITE] = "dma.write",
    [KFP_CQ_POST] = "cq.post",
    [KFP_IRQ] = "irq",
    [KFP_RESET] = "reset",
    [KFP_POWER] = "power",
};

static const char *const action_names[KFA__MAX] = {
    [KFA_DROP] = "drop",
    [KFA_DELAY] = "delay",
    [KFA_STALL] = "stall",
    [KFA_CORRUPT] = "corrupt",
    [KFA_FLIP] = "flip",
    [KFA_DUPLICATE] = "duplicate",
    [KFA_SPURIOUS] = "spurious",
    [KFA_STORM] = "storm",
    [KFA_FATAL] = "fatal",
    [KFA_ALLONES] = "allones",
    [KFA_DMA_ERROR] = "dma_error",
    [KFA_LIE] = "lie",
    [KFA_POWERCUT] = "powercut",
};

#define POINT_LIST "ctrl.enable, reg.read, sq.fetch, sgl.fetch, dma.read, " \
    "dma.write, cq.post, irq, reset, power"
#define ACTION_LIST "drop, delay, stall, corrupt, flip, duplicate, " \
    "spurious, storm, fatal, allones, dma_error, lie, powercut"
#define TRIGGER_LIST "always, once, nth=N, every=N, prob=P, after=N, " \
    "max=N, seed=N"

#define PBIT(p) (1u << (p))
#define ABIT(a) (1u << (a))

/* Actions every point accepts. */
#define ACTIONS_ANY (ABIT(KFA_DROP) | ABIT(KFA_SPURIOUS) | ABIT(KFA_STORM) | \
                     ABIT(KFA_FATAL) | ABIT(KFA_ALLONES) | ABIT(KFA_POWERCUT))
#define ACTIONS_TIME (ABIT(KFA_DELAY) | ABIT(KFA_STALL))
#define ACTIONS_DATA (ABIT(KFA_CORRUPT) | ABIT(KFA_FLIP))

static const uint32_t point_actions[KFP__MAX] = {
    [KFP_CTRL_ENABLE] = ACTIONS_ANY | ACTIONS_TIME,
    [KFP_REG_READ] = ACTIONS_ANY | ACTIONS_DATA,
    [KFP_SQ_FETCH] = ACTIONS_ANY | ACTIONS_TIME | ACTIONS_DATA |
                     ABIT(KFA_DMA_ERROR) | ABIT(KFA_LIE),
    [KFP_SGL_FETCH] = ACTIONS_ANY | ACTIONS_TIME | ACTIONS_DATA |
                      ABIT(KFA_DMA_ERROR),
    [KFP_DMA_READ] = ACTIONS_ANY | ACTIONS_TIME | ACTIONS_DATA |
                     ABIT(KFA_DMA_ERROR),
    [KFP_DMA_WRITE] = ACTIONS_ANY | ACTIONS_TIME | ACTIONS_DATA |
                      ABIT(KFA_DMA_ERROR),
    [KFP_CQ_POST] = ACTIONS_ANY | ACTIONS_TIME | ACTIONS_DATA |
                    ABIT(KFA_DUPLICATE) | ABIT(KFA_DMA_ERROR),
    [KFP_IRQ] = ACTIONS_ANY | ACTIONS_TIME,
    [KFP_RESET] = ACTIONS_ANY | ACTIONS_TIME,
    [KFP_POWER] = ACTIONS_ANY | ACTIONS_TIME,
};

/* Points that take an [op=X] filter. */
#define OP_FILTER_POINTS (PBIT(KFP_SQ_FETCH) | PBIT(KFP_SGL_FETCH) | \
                          PBIT(KFP_DMA_READ) | PBIT(KFP_DMA_WRITE) | \
                          PBIT(KFP_CQ_POST))

typedef struct FieldInfo {
    const char *name;
    uint32_t points;            /* PBIT mask of points that have it */
    uint8_t bits;               /* width of a value */
    bool hex;                   /* canonical value in 0x-hex */
    bool need_value;            /* "field" alone (invert) not allowed */
} FieldInfo;

#define DMA_POINTS (PBIT(KFP_DMA_READ) | PBIT(KFP_DMA_WRITE))

static const FieldInfo field_info[KFF__MAX] = {
    [KFF_CQ_TAG] = { "tag", PBIT(KFP_CQ_POST), 16, true, false },
    [KFF_CQ_PHASE] = { "phase", PBIT(KFP_CQ_POST), 1, false, false },
    [KFF_CQ_STATUS] = { "status", PBIT(KFP_CQ_POST), 15, true, false },
    [KFF_CQ_SQHEAD] = { "sqhead", PBIT(KFP_CQ_POST), 16, true, false },
    [KFF_CQ_RESULT] = { "result", PBIT(KFP_CQ_POST), 32, false, false },
    [KFF_SQ_OPCODE] = { "opcode", PBIT(KFP_SQ_FETCH), 8, true, false },
    [KFF_SQ_FLAGS] = { "flags", PBIT(KFP_SQ_FETCH), 8, true, false },
    [KFF_SQ_TAG] = { "tag", PBIT(KFP_SQ_FETCH), 16, true, false },
    [KFF_SQ_NSEGS] = { "nsegs", PBIT(KFP_SQ_FETCH), 32, false, false },
    [KFF_SQ_LBA] = { "lba", PBIT(KFP_SQ_FETCH), 64, true, false },
    [KFF_SQ_NBLOCKS] = { "nblocks", PBIT(KFP_SQ_FETCH), 32, false, false },
    [KFF_SQ_SGL_ADDR] = { "sgl_addr", PBIT(KFP_SQ_FETCH), 64, true, false },
    [KFF_SQ_SGL_LEN] = { "sgl_len", PBIT(KFP_SQ_FETCH), 32, false, false },
    [KFF_SG_ADDR] = { "addr", PBIT(KFP_SGL_FETCH), 64, true, false },
    [KFF_SG_LEN] = { "len", PBIT(KFP_SGL_FETCH), 32, false, false },
    [KFF_SG_FLAGS] = { "flags", PBIT(KFP_SGL_FETCH), 16, true, false },
    [KFF_SG_INDEX] = { "index", PBIT(KFP_SGL_FETCH), 32, false, true },
    [KFF_REG_VALUE] = { "value", PBIT(KFP_REG_READ), 32, true, false },
    [KFF_DMA_OFFSET] = { "offset", DMA_POINTS, 64, false, true },
    [KFF_DMA_VALUE] = { "value", DMA_POINTS, 8, true, true },
};

typedef struct RegName {
    const char *name;
    uint32_t offset;
} RegName;

static const RegName reg_names[] = {
    { "version", KESTREL_REG_VERSION },
    { "cap_qdepth", KESTREL_REG_CAP_QDEPTH },
    { "cap_blksz", KESTREL_REG_CAP_BLKSZ },
    { "cap_capacity_lo", KESTREL_REG_CAP_CAPACITY_LO },
    { "cap_capacity_hi", KESTREL_REG_CAP_CAPACITY_HI },
    { "cap_nvec", KESTREL_REG_CAP_NVEC },
    { "cap_maxseg", KESTREL_REG_CAP_MAXSEG },
    { "cap_timeout_ms", KESTREL_REG_CAP_TIMEOUT_MS },
    { "cap_maxxfer", KESTREL_REG_CAP_MAXXFER },
    { "ctrl", KESTREL_REG_CTRL },
    { "status", KESTREL_REG_STATUS },
    { "reset", KESTREL_REG_RESET },
    { "intr_status", KESTREL_REG_INTR_STATUS },
    { "intr_mask", KESTREL_REG_INTR_MASK },
    { "sq_base_lo", KESTREL_REG_SQ_BASE_LO },
    { "sq_base_hi", KESTREL_REG_SQ_BASE_HI },
    { "sq_size", KESTREL_REG_SQ_SIZE },
    { "cq_base_lo", KESTREL_REG_CQ_BASE_LO },
    { "cq_base_hi", KESTREL_REG_CQ_BASE_HI },
    { "cq_size", KESTREL_REG_CQ_SIZE },
    { "sq_tail_db", KESTREL_REG_SQ_TAIL_DB },
    { "cq_head_db", KESTREL_REG_CQ_HEAD_DB },
    { "sq_head", KESTREL_REG_SQ_HEAD },
    { "cq_tail", KESTREL_REG_CQ_TAIL },
    { "err_count", KESTREL_REG_ERR_COUNT },
    { "err_log", KESTREL_REG_ERR_LOG },
};

static const char *const op_names[] = {
    [KESTREL_OP_IDENTIFY] = "identify",
    [KESTREL_OP_READ] = "read",
    [KESTREL_OP_WRITE] = "write",
    [KESTREL_OP_FLUSH] = "flush",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

const char *kestrel_fault_point_name(KestrelFaultPoint p)
{
    if ((unsigned)p >= KFP__MAX) {
        return "?";
    }
    return point_names[p];
}

const char *kestrel_fault_action_name(KestrelFaultAction a)
{
    if ((unsigned)a >= KFA__MAX) {
        return "?";
    }
    return action_names[a];
}

/* ---- Character classes (ASCII only, no locale) ------------------------ */

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

/* ---- Output buffer with snprintf semantics ---------------------------- */

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

/* ---- Lexer and errors ------------------------------------------------- */

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
    char what[KESTREL_FAULT_ERR_MAX];
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

/* ---- Numbers ------------------------------------------------------------ */

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
    if (ovf || v == 0 || v > KESTREL_FAULT_MAX_DELAY_NS / time_units[i].ns) {
        return perr_span(p, t.start, unit_start + unit_len,
                         "a duration > 0 and <= %llus",
                         KESTREL_FAULT_MAX_DELAY_NS / 1000000000ull);
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

static void format_rule(const KestrelFaultRule *r, OutBuf *o)
{
    uint32_t i;
    const char *sep = ":";

    out_str(o, kestrel_fault_point_name(r->point));
    if (r->filter_reg >= 0) {
        out_printf(o, "[reg=0x%" PRIx32 "]", (uint32_t)r->filter_reg);
    }
    if (r->filter_op >= 0) {
        if ((size_t)r->filter_op < ARRAY_LEN(op_names) &&
            op_names[r->filter_op]) {
            out_printf(o, "[op=%s]", op_names[r->filter_op]);
        } else {
            out_printf(o, "[op=0x%" PRIx32 "]", (uint32_t)r->filter_op);
        }
    }
    out_str(o, ":");
    out_str(o, kestrel_fault_action_name(r->action));
    switch (r->action) {
    case KFA_DELAY:
        out_str(o, "(");
        format_duration(o, r->delay_ns);
        out_str(o, ")");
        break;
    case KFA_CORRUPT:
        out_str(o, "(");
        for (i = 0; i < r->ncorrupt && i < KESTREL_FAULT_MAX_CORRUPT; i++) {
            const KestrelFaultCorrupt *c = &r->corrupt[i];
            bool valid = (unsigned)c->field < KFF__MAX &&
                         field_info[c->field].name;

            if (i) {
                out_str(o, ",");
            }
            out_str(o, valid ? field_info[c->field].name : "?");
            if (!c->invert) {
                out_str(o, "=");
                format_number(o, c->value, valid && field_info[c->field].hex);
            }
        }
        out_str(o, ")");
        break;
    case KFA_FLIP:
        if (r->flip_bits != 1) {
            out_printf(o, "(bits=%" PRIu32 ")", r->flip_bits);
        }
        break;
    case KFA_STORM:
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
    case KFT_NTH:
        if (r->trigger_n == 1) {
            out_str(o, ":once");
        } else {
            out_printf(o, ":nth=%" PRIu64, r->trigger_n);
        }
        sep = ",";
        break;
    case KFT_EVERY:
        out_printf(o, ":every=%" PRIu64, r->trigger_n);
        sep = ",";
        break;
    case KFT_PROB:
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

/* ---- Rule parser -------------------------------------------------------- */

static void rule_defaults(KestrelFaultRule *r)
{
    memset(r, 0, sizeof(*r));
    r->filter_reg = -1;
    r->filter_op = -1;
    r->flip_bits = 1;
    r->storm_count = STORM_DEFAULT_COUNT;
    r->storm_interval_ns = STORM_DEFAULT_INTERVAL;
    r->trigger = KFT_ALWAYS;
}

static int parse_filter(Parser *p, KestrelFaultRule *r)
{
    Token key, v;
    uint64_t n;
    size_t i;
    bool reg_ok = r->point == KFP_REG_READ;
    bool op_ok = (OP_FILTER_POINTS & PBIT(r->point)) != 0;

    lex_next(p, &key);          /* '[' */
    if (!reg_ok && !op_ok) {
        return perr(p, &key, "':' (%s takes no filter)",
                    point_names[r->point]);
    }
    lex_next(p, &key);
    if (reg_ok && !tok_word(p, &key, "reg")) {
        return perr(p, &key, "reg= (the filter of reg.read)");
    }
    if (op_ok && !tok_word(p, &key, "op")) {
        return perr(p, &key, "op= (the filter of %s)",
                    point_names[r->point]);
    }
    if (expect_punct(p, '=', "") < 0) {
        return -1;
    }
    lex_next(p, &v);
    if (reg_ok) {
        for (i = 0; i < ARRAY_LEN(reg_names); i++) {
            if (tok_word(p, &v, reg_names[i].name)) {
                break;
            }
        }
        if (i < ARRAY_LEN(reg_names)) {
            r->filter_reg = (int32_t)reg_names[i].offset;
        } else if (v.kind == TOK_WORD && is_digit(p->s[v.start])) {
            if (tok_number(p, &v, &n) < 0) {
                return -1;
            }
            if (n % 4 || n >= KESTREL_BAR_REGS_SIZE) {
                return perr(p, &v, "a 4-aligned register offset below 0x%x",
                            KESTREL_BAR_REGS_SIZE);
            }
            r->filter_reg = (int32_t)n;
        } else {
            return perr(p, &v, "a register name (e.g. STATUS, CAP_QDEPTH) "
                        "or a 4-aligned offset below 0x%x",
                        KESTREL_BAR_REGS_SIZE);
        }
    } else {
        for (i = 0; i < ARRAY_LEN(op_names); i++) {
            if (op_names[i] && tok_word(p, &v, op_names[i])) {
                break;
            }
        }
        if (i < ARRAY_LEN(op_names)) {
            r->filter_op = (int32_t)i;
        } else if (v.kind == TOK_WORD && is_digit(p->s[v.start])) {
            if (tok_number(p, &v, &n) < 0) {
                return -1;
            }
            if (n > 255) {
                return perr(p, &v, "an opcode 0..255");
            }
            r->filter_op = (int32_t)n;
        } else {
            return perr(p, &v, "an opcode (identify, read, write, flush) "
                        "or a number 0..255");
        }
    }
    return expect_punct(p, ']', "");
}

static void list_fields(KestrelFaultPoint pt, char *buf, size_t size)
{
    OutBuf o;
    int f;

    out_init(&o, buf, size);
    for (f = 0; f < KFF__MAX; f++) {
        if (field_info[f].name && (field_info[f].points & PBIT(pt))) {
            if (o.len) {
                out_str(&o, ", ");
            }
            out_str(&o, field_info[f].name);
        }
    }
}

static int parse_corrupt(Parser *p, KestrelFaultRule *r)
{
    Token t, v, end;
    uint32_t seen = 0, i, j;
    char list[128];
    uint64_t val;
    int f;

    if (expect_punct(p, '(', " (corrupt needs fields)") < 0) {
        return -1;
    }
    for (;;) {
        KestrelFaultCorrupt *c;
        const FieldInfo *fi;

        lex_next(p, &t);
        if (r->ncorrupt == KESTREL_FAULT_MAX_CORRUPT) {
            return perr(p, &t, "')' (at most %d fields)",
                        KESTREL_FAULT_MAX_CORRUPT);
        }
        for (f = 1; f < KFF__MAX; f++) {
            if ((field_info[f].points & PBIT(r->point)) &&
                tok_word(p, &t, field_info[f].name)) {
                break;
            }
        }
        if (f == KFF__MAX) {
            list_fields(r->point, list, sizeof(list));
            return perr(p, &t, "a field of %s (%s)", point_names[r->point],
                        list);
        }
        if (seen & (1u << f)) {
            return perr(p, &t, "a field not given before");
        }
        seen |= 1u << f;
        fi = &field_info[f];
        c = &r->corrupt[r->ncorrupt];
        c->field = (KestrelFaultField)f;
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
    if (r->point == KFP_SGL_FETCH && seen == (1u << KFF_SG_INDEX)) {
        return perr(p, &end, "a field to corrupt besides index "
                    "(addr, len, flags)");
    }
    if ((DMA_POINTS & PBIT(r->point)) &&
        seen != ((1u << KFF_DMA_OFFSET) | (1u << KFF_DMA_VALUE))) {
        return perr(p, &end, "both offset=N and value=N");
    }
    /* canonical order: by field */
    for (i = 1; i < r->ncorrupt; i++) {
        KestrelFaultCorrupt tmp = r->corrupt[i];

        for (j = i; j > 0 && r->corrupt[j - 1].field > tmp.field; j--) {
            r->corrupt[j] = r->corrupt[j - 1];
        }
        r->corrupt[j] = tmp;
    }
    return 0;
}

static int parse_args(Parser *p, KestrelFaultRule *r)
{
    Token t, k;
    uint64_t v;
    bool have_count = false, have_interval = false;

    switch (r->action) {
    case KFA_DELAY:
        if (expect_punct(p, '(', " (delay needs a duration)") < 0 ||
            parse_duration(p, &r->delay_ns) < 0) {
            return -1;
        }
        return expect_punct(p, ')', "");
    case KFA_CORRUPT:
        return parse_corrupt(p, r);
    case KFA_FLIP:
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
    case KFA_STORM:
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
                    parse_number(p, 1, KESTREL_FAULT_MAX_STORM, "a count",
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

static int parse_triggers(Parser *p, KestrelFaultRule *r)
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
            r->trigger = KFT_ALWAYS;
            break;
        case TRIG_ONCE:
            r->trigger = KFT_NTH;
            r->trigger_n = 1;
            break;
        case TRIG_NTH:
        case TRIG_EVERY:
            if (parse_number(p, 1, UINT64_MAX, "a count", &v) < 0) {
                return -1;
            }
            r->trigger = k == TRIG_NTH ? KFT_NTH : KFT_EVERY;
            r->trigger_n = v;
            break;
        case TRIG_PROB:
            if (parse_prob(p, &r->prob) < 0) {
                return -1;
            }
            r->trigger = KFT_PROB;
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

static void list_actions(KestrelFaultPoint pt, char *buf, size_t size)
{
    OutBuf o;
    int a;

    out_init(&o, buf, size);
    for (a = 0; a < KFA__MAX; a++) {
        if (point_actions[pt] & ABIT(a)) {
            if (o.len) {
                out_str(&o, ", ");
            }
            out_str(&o, action_names[a]);
        }
    }
}

/* rule = point [ "[" filter "]" ] ":" action [ "(" args ")" ] [ ":" trig ] */
static int parse_rule(Parser *p, KestrelFaultRule *r)
{
    Token t;
    char list[128];
    int i;

    rule_defaults(r);
    lex_next(p, &t);
    for (i = 0; i < KFP__MAX; i++) {
        if (tok_word(p, &t, point_names[i])) {
            break;
        }
    }
    if (i == KFP__MAX) {
        return perr(p, &t, "a point (" POINT_LIST ")");
    }
    r->point = (KestrelFaultPoint)i;

    lex_peek(p, &t);
    if (tok_is(p, &t, '[')) {
        if (parse_filter(p, r) < 0) {
            return -1;
        }
        lex_peek(p, &t);
    }
    if (!tok_is(p, &t, ':')) {
        if (r->point == KFP_REG_READ ||
            (OP_FILTER_POINTS & PBIT(r->point))) {
            return perr(p, &t, "'[' or ':'");
        }
        return perr(p, &t, "':'");
    }
    p->pos = t.end;

    lex_next(p, &t);
    for (i = 0; i < KFA__MAX; i++) {
        if (tok_word(p, &t, action_names[i])) {
            break;
        }
    }
    if (i == KFA__MAX) {
        return perr(p, &t, "an action (" ACTION_LIST ")");
    }
    if (!(point_actions[r->point] & ABIT(i))) {
        list_actions(r->point, list, sizeof(list));
        return perr(p, &t, "an action valid for %s (%s)",
                    point_names[r->point], list);
    }
    if (i == KFA_LIE && r->filter_op != KESTREL_OP_FLUSH) {
        /* only a FLUSH can lie: "lie" needs the [op=flush] filter */
        return perr(p, &t, "an action valid for sq.fetch without "
                    "[op=flush] (lie needs sq.fetch[op=flush])");
    }
    r->action = (KestrelFaultAction)i;
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
static int parse_rules(Parser *p, KestrelFaultRule *out, uint32_t room,
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
            return perr(p, &t, "at most %d rules in all",
                        KESTREL_FAULT_MAX_RULES);
        }
        if (parse_rule(p, &out[n]) < 0) {
            return -1;
        }
        out_init(&o, out[n].text, sizeof(out[n].text));
        format_rule(&out[n], &o);
        if (o.len >= sizeof(out[n].text)) {
            return perr_span(p, start, p->pos, "a rule whose canonical form "
                             "fits %zu characters",
                             sizeof(out[n].text) - 1);
        }
        len = o.len + (joined ? 1 : 0);
        if (len > text_room) {
            return perr_span(p, start, p->pos, "a rule set whose canonical "
                             "form fits %d characters",
                             KESTREL_FAULT_TEXT_MAX - 1);
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

/* ---- Engine ------------------------------------------------------------- */

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

uint64_t kestrel_fault_rand(KestrelFaultRule *r)
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

static void update_watch(KestrelFaultEngine *e)
{
    uint32_t i, mask = 0;

    for (i = 0; i < e->nrules && i < KESTREL_FAULT_MAX_RULES; i++) {
        if ((unsigned)e->rules[i].point < KFP__MAX) {
            mask |= PBIT(e->rules[i].point);
        }
    }
    e->watch_mask = mask;
}

void kestrel_fault_init(KestrelFaultEngine *e, uint64_t seed)
{
    memset(e, 0, sizeof(*e));
    e->next_id = 1;
    e->seed = seed;
}

void kestrel_fault_clear(KestrelFaultEngine *e)
{
    memset(e->rules, 0, sizeof(e->rules));
    e->nrules = 0;
    update_watch(e);
}

static size_t set_text_len(const KestrelFaultEngine *e)
{
    size_t len = 0;
    uint32_t i;

    for (i = 0; i < e->nrules && i < KESTREL_FAULT_MAX_RULES; i++) {
        len += (i ? 1 : 0) + strnlen(e->rules[i].text,
                                     sizeof(e->rules[i].text));
    }
    return len;
}

static int fault_load(KestrelFaultEngine *e, const char *text, char *err,
                      size_t errlen, bool append)
{
    KestrelFaultRule tmp[KESTREL_FAULT_MAX_RULES];
    Parser p = {
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
    p.len = strlen(p.s);
    if (append) {
        base = e->nrules < KESTREL_FAULT_MAX_RULES ? e->nrules
                                                   : KESTREL_FAULT_MAX_RULES;
        used = set_text_len(e);
    }
    if (used >= KESTREL_FAULT_TEXT_MAX) {
        used = KESTREL_FAULT_TEXT_MAX - 1;
    }
    n = parse_rules(&p, tmp, KESTREL_FAULT_MAX_RULES - base,
                    KESTREL_FAULT_TEXT_MAX - 1 - used, base > 0);
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
        KestrelFaultRule *r = &e->rules[pos];

        *r = tmp[i];
        r->id = e->next_id++;
        if (e->next_id == 0) {
            e->next_id = 1;
        }
        r->hits = 0;
        r->fired = 0;
        r->cmds_at_install = e->commands;
        r->rng = rule_rng_seed(r->seed_set ? r->seed : e->seed, pos);
    }
    e->nrules = base + (uint32_t)n;
    update_watch(e);
    return n;
}

int kestrel_fault_set(KestrelFaultEngine *e, const char *text,
                      char *err, size_t errlen)
{
    return fault_load(e, text, err, errlen, false);
}

int kestrel_fault_add(KestrelFaultEngine *e, const char *text,
                      char *err, size_t errlen)
{
    return fault_load(e, text, err, errlen, true);
}

size_t kestrel_fault_format(const KestrelFaultEngine *e, char *buf,
                            size_t len)
{
    OutBuf o;
    uint32_t i;

    out_init(&o, buf, len);
    for (i = 0; i < e->nrules && i < KESTREL_FAULT_MAX_RULES; i++) {
        char text[KESTREL_FAULT_RULE_TEXT_MAX];

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

uint32_t kestrel_fault_eval(KestrelFaultEngine *e, KestrelFaultPoint p,
                            int reg, int op)
{
    uint32_t i, fired = 0;

    if ((unsigned)p >= KFP__MAX || !(e->watch_mask & PBIT(p))) {
        return 0;
    }
    for (i = 0; i < e->nrules && i < KESTREL_FAULT_MAX_RULES; i++) {
        KestrelFaultRule *r = &e->rules[i];
        bool fire;

        if (r->point != p ||
            (r->filter_reg >= 0 && r->filter_reg != reg) ||
            (r->filter_op >= 0 && r->filter_op != op)) {
            continue;
        }
        if (e->commands - r->cmds_at_install < r->after) {
            continue;
        }
        r->hits++;
        switch (r->trigger) {
        case KFT_NTH:
            fire = r->hits == r->trigger_n;
            break;
        case KFT_EVERY:
            fire = r->trigger_n && r->hits % r->trigger_n == 0;
            break;
        case KFT_PROB:
            fire = (uint32_t)(kestrel_fault_rand(r) >> 32) < r->prob ||
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

bool kestrel_fault_watches(const KestrelFaultEngine *e, KestrelFaultPoint p)
{
    return (unsigned)p < KFP__MAX && (e->watch_mask & PBIT(p)) != 0;
}

void kestrel_fault_count_command(KestrelFaultEngine *e)
{
    e->commands++;
}

/* The configuration (not the run-time state) of two rules is equal. */
static bool rule_config_equal(const KestrelFaultRule *a,
                              const KestrelFaultRule *b)
{
    uint32_t i;

    if (a->point != b->point || a->filter_reg != b->filter_reg ||
        a->filter_op != b->filter_op || a->action != b->action ||
        a->delay_ns != b->delay_ns || a->flip_bits != b->flip_bits ||
        a->storm_count != b->storm_count ||
        a->storm_interval_ns != b->storm_interval_ns ||
        a->ncorrupt != b->ncorrupt || a->trigger != b->trigger ||
        a->trigger_n != b->trigger_n || a->prob != b->prob ||
        a->after != b->after || a->max != b->max ||
        a->seed_set != b->seed_set || a->seed != b->seed) {
        return false;
    }
    for (i = 0; i < a->ncorrupt && i < KESTREL_FAULT_MAX_CORRUPT; i++) {
        if (a->corrupt[i].field != b->corrupt[i].field ||
            a->corrupt[i].invert != b->corrupt[i].invert ||
            a->corrupt[i].value != b->corrupt[i].value) {
            return false;
        }
    }
    return true;
}

int kestrel_fault_post_load(KestrelFaultEngine *e)
{
    uint32_t i;

    if (e->nrules > KESTREL_FAULT_MAX_RULES) {
        return -1;
    }
    for (i = 0; i < e->nrules; i++) {
        KestrelFaultRule *r = &e->rules[i];
        KestrelFaultRule check;
        char text[KESTREL_FAULT_RULE_TEXT_MAX];
        Parser p = { .s = text };
        OutBuf o;

        /* A rule is valid iff its canonical text parses back to it. */
        if ((unsigned)r->point >= KFP__MAX ||
            (unsigned)r->action >= KFA__MAX ||
            r->ncorrupt > KESTREL_FAULT_MAX_CORRUPT ||
            (unsigned)r->trigger > KFT_PROB) {
            return -1;
        }
        memset(text, 0, sizeof(text));
        out_init(&o, text, sizeof(text));
        format_rule(r, &o);
        if (o.len >= sizeof(text)) {
            return -1;
        }
        p.len = o.len;
        if (parse_rule(&p, &check) < 0 || p.pos != p.len) {
            return -1;
        }
        if (r->trigger == KFT_PROB && r->prob != 0) {
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
    if (set_text_len(e) >= KESTREL_FAULT_TEXT_MAX) {
        return -1;
    }
    if (e->next_id == 0) {
        e->next_id = 1;
    }
    update_watch(e);
    return 0;
}
