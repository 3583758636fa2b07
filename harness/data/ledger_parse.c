// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The write ledger's parser (ledger_check.h): takes the ledger's lines
 * into records and checks that they are consistent (per session:
 * sequence numbers, flush numbers, ranges, the E record's counts).  The
 * check of the backing files against the rules is ledger_check.c.
 */
#define _GNU_SOURCE
#include "ledger_check.h"
#include "ledger_check_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger.h"
#include "pattern.h"

#define GL_MAX_FIELDS   12
#define GL_MAX_THREADS  4096

/* ---- small helpers ---------------------------------------------------------- */

void *gl_xrealloc(void *p, size_t n, size_t size)
{
    void *q = n && size > SIZE_MAX / n ? NULL : realloc(p, n && size ? n * size : 1);

    if (!q) {
        fprintf(stderr, "gauntlet-ledger: out of memory\n");
        exit(2);
    }
    return q;
}

char *gl_xstrdup(const char *s)
{
    char *d = strdup(s);

    if (!d) {
        fprintf(stderr, "gauntlet-ledger: out of memory\n");
        exit(2);
    }
    return d;
}

char *gl_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "gauntlet-ledger: out of memory\n");
        exit(2);
    }
    return s;
}

/* A decimal number: digits only, no sign, no overflow. */
static bool gl_dec(const char *s, uint64_t *v)
{
    uint64_t x = 0;

    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) {
            return false;
        }
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *v = x;
    return true;
}

/* Exactly 16 hex digits. */
static bool gl_hex16(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    size_t i;

    for (i = 0; s[i]; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
                c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

        if (d < 0 || i >= 16) {
            return false;
        }
        x = x << 4 | (uint64_t)d;
    }
    if (i != 16) {
        return false;
    }
    if (v) {
        *v = x;
    }
    return true;
}

/* "key=value": the value, or NULL. */
static const char *gl_kv(const char *tok, const char *key)
{
    size_t n = strlen(key);

    return !strncmp(tok, key, n) && tok[n] == '=' ? tok + n + 1 : NULL;
}

const char *gl_end_name(enum gl_end_mode end)
{
    return end == GL_END_RELAXED ? "relaxed" : "strict";
}

int gl_end_parse(const char *s)
{
    if (!strcmp(s, "strict")) {
        return GL_END_STRICT;
    }
    if (!strcmp(s, "relaxed")) {
        return GL_END_RELAXED;
    }
    return -1;
}

/* ---- parsing ---------------------------------------------------------------- */

/* A line's fields and what its S record says, before anything is applied. */
struct gl_line {
    char *f[GL_MAX_FIELDS];
    int n;
    struct gl_rec rec;
    struct gl_session s;        /* S: its fields (tool and dev point into the line) */
};

static int gl_find_session(const struct gl_log *log, const char *sid)
{
    for (size_t i = log->nsessions; i-- > 0;) {
        if (!strcmp(log->sessions[i].sid, sid)) {
            return (int)i;
        }
    }
    return -1;
}

/*
 * Split and check one line (without its newline; it is modified).  Returns
 * NULL, or what is wrong.  Nothing in log changes.
 */
static const char *gl_line_check(const struct gl_log *log, char *text,
                                 struct gl_line *ln, char *why, size_t whylen)
{
    struct gl_rec *r = &ln->rec;
    const struct gl_session *s;
    const char *k = NULL;
    char *p = text;
    int si;

    memset(ln, 0, sizeof(*ln));
    if (*p == 'P' && (!p[1] || p[1] == ' ')) {
        r->kind = GL_REC_P;
        return NULL;
    }
    if (*p == 'C' && (!p[1] || p[1] == ' ')) {
        r->kind = GL_REC_C;
        return NULL;
    }
    while (*p) {
        if (ln->n == GL_MAX_FIELDS) {
            return "too many fields";
        }
        ln->f[ln->n++] = p;
        p = strchr(p, ' ');
        if (!p) {
            break;
        }
        *p++ = 0;
        if (!*p || *p == ' ') {
            return "an empty field (two blanks, or a blank at the end)";
        }
    }
    if (ln->n == 0) {
        return "an empty line";
    }
    if (!strcmp(ln->f[0], GL_MAGIC)) {
        struct gl_session *ns = &ln->s;
        uint64_t bs, th;

        if ((ln->n != 10 && ln->n != 11) || strcmp(ln->f[1], "S")) {
            return "a session record wants 'GLEDGER1 S SID tool= dev= seed= bs= "
                   "lba= blocks= threads= [pattern=]' (10 or 11 fields)";
        }
        if (!gl_hex16(ln->f[2], NULL)) {
            return "the session id is not 16 hex digits";
        }
        if (!(ns->tool = (char *)gl_kv(ln->f[3], "tool")) || !*ns->tool ||
            !(ns->dev = (char *)gl_kv(ln->f[4], "dev")) || !*ns->dev ||
            !(k = gl_kv(ln->f[5], "seed")) || !gl_dec(k, &ns->seed) ||
            !(k = gl_kv(ln->f[6], "bs")) || !gl_dec(k, &bs) ||
            !(k = gl_kv(ln->f[7], "lba")) || !gl_dec(k, &ns->lba) ||
            !(k = gl_kv(ln->f[8], "blocks")) || !gl_dec(k, &ns->blocks) ||
            !(k = gl_kv(ln->f[9], "threads")) || !gl_dec(k, &th)) {
            return "a session field is missing, out of order or not a number";
        }
        if (!gd_block_size_ok(bs) || bs < GD_BLOCK_HDR) {
            return "bs is not a stress block size (a multiple of 8, 64..1 MiB)";
        }
        if (ln->n == 11) {
            char perr[128];

            if (!(k = gl_kv(ln->f[10], "pattern")) ||
                gd_pattern_parse(k, &ns->pat, perr, sizeof(perr))) {
                return "the session's pattern= is not seq, random, zero or 0xNN";
            }
            ns->has_pattern = true;
            ns->pat.seed = ns->seed;
        }
        /* blocks=0: a session that writes nothing (a flush-only command) */
        if (th < 1 || th > GL_MAX_THREADS ||
            ns->lba > UINT64_MAX / bs - ns->blocks) {
            return "threads, lba or blocks out of range";
        }
        if (gl_find_session(log, ln->f[2]) >= 0) {
            return "a second start of the same session";
        }
        ns->bs = (uint32_t)bs;
        ns->threads = (uint32_t)th;
        snprintf(ns->sid, sizeof(ns->sid), "%s", ln->f[2]);
        r->kind = GL_REC_S;
        return NULL;
    }
    if (!strcmp(ln->f[0], "W")) {
        r->kind = GL_REC_W;
    } else if (!strcmp(ln->f[0], "X")) {
        r->kind = GL_REC_X;
    } else if (!strcmp(ln->f[0], "WP")) {
        r->kind = GL_REC_WP;
    } else if (!strcmp(ln->f[0], "XP")) {
        r->kind = GL_REC_XP;
    } else if (!strcmp(ln->f[0], "B")) {
        r->kind = GL_REC_B;
    } else if (!strcmp(ln->f[0], "F")) {
        r->kind = GL_REC_F;
    } else if (!strcmp(ln->f[0], "FX")) {
        r->kind = GL_REC_FX;
    } else if (!strcmp(ln->f[0], "E")) {
        r->kind = GL_REC_E;
    } else {
        return "an unknown record (want GLEDGER1 S, W, X, WP, XP, B, F, FX, E, P or C)";
    }
    if (ln->n < 2 || !gl_hex16(ln->f[1], NULL)) {
        return "the session id is not 16 hex digits";
    }
    si = gl_find_session(log, ln->f[1]);
    if (si < 0) {
        return "a record of a session that has no start record before it";
    }
    r->session = (uint32_t)si;
    s = &log->sessions[si];
    if (s->ended) {
        return "a record after its session's end (E) record";
    }
    switch (r->kind) {
    case GL_REC_W:
    case GL_REC_X: {
        uint64_t th;

        if (ln->n != (r->kind == GL_REC_W ? 8 : 7)) {
            return r->kind == GL_REC_W ? "a W record wants 'W SID SEQ THREAD LBA "
                   "NBLOCKS GEN CSUM' (8 fields)" : "an X record wants 'X SID SEQ "
                   "THREAD LBA NBLOCKS GEN' (7 fields)";
        }
        if (!gl_dec(ln->f[2], &r->num) || !gl_dec(ln->f[3], &th) ||
            !gl_dec(ln->f[4], &r->lba) || !gl_dec(ln->f[5], &r->nblocks) ||
            !gl_dec(ln->f[6], &r->gen) ||
            (r->kind == GL_REC_W && !gl_hex16(ln->f[7], &r->csum))) {
            return "a field is not a number (csum: 16 hex digits)";
        }
        if (r->num != s->writes + 1) {
            snprintf(why, whylen, "sequence number %" PRIu64 " where %" PRIu64
                     " was next (a record is missing or repeated)", r->num,
                     s->writes + 1);
            return why;
        }
        if (th >= s->threads) {
            return "the thread is not one of its session's";
        }
        r->thread = (uint32_t)th;
        if (r->nblocks < 1 || r->lba < s->lba ||
            r->lba - s->lba > s->blocks || r->nblocks > s->blocks - (r->lba - s->lba)) {
            return "the blocks are outside its session's range";
        }
        if (r->gen < 1) {
            return "generation 0 (a stress block's generations start at 1)";
        }
        return NULL;
    }
    case GL_REC_WP:
    case GL_REC_XP: {
        char perr[128];

        if (ln->n != (r->kind == GL_REC_WP ? 8 : 7)) {
            return r->kind == GL_REC_WP ? "a WP record wants 'WP SID SEQ LBA NBLOCKS "
                   "PATTERN SEED CSUM' (8 fields)" : "an XP record wants 'XP SID SEQ "
                   "LBA NBLOCKS PATTERN SEED' (7 fields)";
        }
        if (!gl_dec(ln->f[2], &r->num) || !gl_dec(ln->f[3], &r->lba) ||
            !gl_dec(ln->f[4], &r->nblocks) || !gl_dec(ln->f[6], &r->pat.seed) ||
            (r->kind == GL_REC_WP && !gl_hex16(ln->f[7], &r->csum))) {
            return "a field is not a number (csum: 16 hex digits)";
        }
        if (gd_pattern_parse(ln->f[5], &r->pat, perr, sizeof(perr))) {
            return "the pattern is not seq, random, zero or 0xNN";
        }
        if (r->num != s->writes + 1) {
            snprintf(why, whylen, "sequence number %" PRIu64 " where %" PRIu64
                     " was next (a record is missing or repeated)", r->num,
                     s->writes + 1);
            return why;
        }
        if (r->nblocks < 1 || r->lba < s->lba ||
            r->lba - s->lba > s->blocks || r->nblocks > s->blocks - (r->lba - s->lba)) {
            return "the blocks are outside its session's range";
        }
        return NULL;
    }
    case GL_REC_B:
    case GL_REC_F:
    case GL_REC_FX:
        if (ln->n != 3 || !gl_dec(ln->f[2], &r->num)) {
            return "a flush record wants 'B|F|FX SID N' (3 fields)";
        }
        if (r->kind == GL_REC_B && r->num != s->flushes + 1) {
            snprintf(why, whylen, "flush number %" PRIu64 " where %" PRIu64
                     " was next", r->num, s->flushes + 1);
            return why;
        }
        if (r->kind != GL_REC_B &&
            (r->num < 1 || r->num > s->flushes || s->flush_state[r->num - 1])) {
            return "the end of a flush that was not begun (B) or already ended";
        }
        return NULL;
    case GL_REC_E: {
        uint64_t w, f;

        if (ln->n != 4 || !(k = gl_kv(ln->f[2], "writes")) || !gl_dec(k, &w) ||
            !(k = gl_kv(ln->f[3], "flushes")) || !gl_dec(k, &f)) {
            return "an end record wants 'E SID writes=N flushes=N'";
        }
        if (w != s->writes || f != s->flushes) {
            snprintf(why, whylen, "the end record counts %" PRIu64 " writes and %"
                     PRIu64 " flushes, the ledger has %" PRIu64 " W/X and %" PRIu64
                     " B records of the session", w, f, s->writes, s->flushes);
            return why;
        }
        return NULL;
    }
    default:
        return "an unknown record";
    }
}

/* Apply a checked line to log. */
static void gl_line_apply(struct gl_log *log, struct gl_line *ln, uint32_t line)
{
    struct gl_rec *r = &ln->rec;
    struct gl_session *s;

    r->line = line;
    if (r->kind == GL_REC_C) {
        return;
    }
    if (r->kind == GL_REC_S) {
        log->sessions = gl_xrealloc(log->sessions, log->nsessions + 1,
                                    sizeof(*log->sessions));
        s = &log->sessions[log->nsessions];
        *s = ln->s;
        s->tool = gl_xstrdup(ln->s.tool);
        s->dev = gl_xstrdup(ln->s.dev);
        s->start = log->nrecs;
        s->cut = GL_NONE;
        s->max_gen = gl_xrealloc(NULL, s->threads, sizeof(*s->max_gen));
        memset(s->max_gen, 0, s->threads * sizeof(*s->max_gen));
        r->session = (uint32_t)log->nsessions++;
    }
    if ((log->nrecs & (log->nrecs - 1)) == 0) {
        log->recs = gl_xrealloc(log->recs, log->nrecs ? log->nrecs * 2 : 64,
                                sizeof(*log->recs));
    }
    log->recs[log->nrecs] = *r;
    s = &log->sessions[r->session];
    switch (r->kind) {
    case GL_REC_W:
    case GL_REC_X:
        s->writes++;
        if (r->gen > s->max_gen[r->thread]) {
            s->max_gen[r->thread] = r->gen;
        }
        break;
    case GL_REC_WP:
    case GL_REC_XP:
        s->writes++;
        break;
    case GL_REC_B:
        if ((s->flushes & (s->flushes - 1)) == 0) {
            size_t cap = s->flushes ? s->flushes * 2 : 16;

            s->flush_rec = gl_xrealloc(s->flush_rec, cap, sizeof(*s->flush_rec));
            s->flush_state = gl_xrealloc(s->flush_state, cap, 1);
        }
        s->flush_rec[s->flushes] = log->nrecs;
        s->flush_state[s->flushes++] = 0;
        break;
    case GL_REC_F:
    case GL_REC_FX:
        s->flush_state[r->num - 1] = r->kind == GL_REC_F ? 1 : 2;
        break;
    case GL_REC_E:
        s->ended = true;
        break;
    case GL_REC_P:
        log->power_cuts++;
        for (size_t i = 0; i < log->nsessions; i++) {
            if (log->sessions[i].cut == GL_NONE) {
                log->sessions[i].cut = log->nrecs;
            }
        }
        break;
    default:
        break;
    }
    log->nrecs++;
}

static bool gl_is_p_line(const char *p, const char *end)
{
    return p < end && *p == 'P' && (p + 1 == end || p[1] == ' ' || p[1] == '\n' ||
                                     p[1] == '\r');
}

struct gl_log *gl_log_parse(const char *text, size_t len, const char *name,
                            char *err, size_t errlen)
{
    struct gl_log *log = calloc(1, sizeof(*log));
    const char *p = text, *end = text + len;
    char *buf = NULL, why[200];
    size_t cap = 0;
    uint32_t line = 0;

    if (!log) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    log->name = gl_xstrdup(name);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n;
        struct gl_line ln;
        const char *bad;

        line++;
        if (!nl) {
            log->partial_lines++;       /* cut short: a power cut */
            break;
        }
        n = (size_t)(nl - p);
        if (n && p[n - 1] == '\r') {
            n--;
        }
        if (n + 1 > cap) {
            cap = n + 1;
            buf = gl_xrealloc(buf, cap, 1);
        }
        memcpy(buf, p, n);
        buf[n] = 0;
        if (memchr(buf, 0, n)) {
            bad = "a NUL byte";
        } else {
            bad = gl_line_check(log, buf, &ln, why, sizeof(why));
        }
        p = nl + 1;
        if (n == 0 && gl_is_p_line(p, end)) {
            continue;                   /* the harness ends a partial line before P */
        }
        if (bad && gl_is_p_line(p, end)) {
            log->partial_lines++;       /* a record cut by the power cut */
            continue;
        }
        if (bad) {
            snprintf(err, errlen, "%s:%u: %s", name, line, bad);
            free(buf);
            gl_log_free(log);
            return NULL;
        }
        gl_line_apply(log, &ln, line);
    }
    free(buf);
    return log;
}

struct gl_log *gl_log_read(const char *path, char *err, size_t errlen)
{
    struct gl_log *log;
    struct stat st;
    char *text;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st)) {
        snprintf(err, errlen, "cannot read the ledger %s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    text = gl_xrealloc(NULL, (size_t)st.st_size + 1, 1);
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, text + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            snprintf(err, errlen, "cannot read the ledger %s: %s", path, strerror(errno));
            close(fd);
            free(text);
            return NULL;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    log = gl_log_parse(text, got, path, err, errlen);
    free(text);
    return log;
}

void gl_log_free(struct gl_log *log)
{
    if (!log) {
        return;
    }
    for (size_t i = 0; i < log->nsessions; i++) {
        free(log->sessions[i].tool);
        free(log->sessions[i].dev);
        free(log->sessions[i].flush_rec);
        free(log->sessions[i].flush_state);
        free(log->sessions[i].max_gen);
    }
    free(log->sessions);
    free(log->recs);
    free(log->name);
    free(log);
}
