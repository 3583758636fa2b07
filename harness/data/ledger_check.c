// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The write ledger's check (ledger_check.h): the backing files against the
 * records that ledger_parse.c read, by the rules of docs/ledger.md (each
 * block holds its last acknowledged content or a later write that was in
 * flight, never older, never torn; flushed writes survive power cuts).
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

#define GL_MAX_ENTRIES  (1ull << 28)    /* (block, write) pairs in memory */

/* ---- checking --------------------------------------------------------------- */

struct gl_backing {
    const char *path;
    int fd;
    uint32_t bs;                /* 0 until a session with writes uses it */
};

/* A (block, write) pair; sorted, the pairs of a block are its history. */
struct gl_entry {
    uint32_t backing;
    uint32_t rec;
    uint64_t lba;
};

enum gl_src { GL_SRC_BAD, GL_SRC_WRITE, GL_SRC_INFLIGHT, GL_SRC_ORIGINAL };

/* One checked block, for the atomic-unit pass. */
struct gl_block {
    size_t first, end;          /* its entries */
    enum gl_src src;
    size_t src_rec;             /* GL_SRC_WRITE */
};

struct gl_ctx {
    const struct gl_log *log;
    const struct gl_check_opts *o;
    struct gl_result *r;
    struct gl_backing *backings;
    size_t nbackings;
    int *sess_backing;          /* per session, or -1 */
    uint8_t *held, *flushed;    /* per record (W) */
    uint8_t *floor_of;          /* per record: the floor of some block */
    struct gl_entry *e;
    size_t ne;
    uint8_t *got, *exp;
};

static int gl_cmp_entry(const void *a, const void *b)
{
    const struct gl_entry *x = a, *y = b;

    if (x->backing != y->backing) {
        return x->backing < y->backing ? -1 : 1;
    }
    if (x->lba != y->lba) {
        return x->lba < y->lba ? -1 : 1;
    }
    return x->rec < y->rec ? -1 : x->rec > y->rec;
}

static const char *gl_backing_for(const struct gl_check_opts *o, const char *dev)
{
    for (size_t i = 0; i < o->nmaps; i++) {
        if (!strcmp(o->maps[i].dev, dev)) {
            return o->maps[i].file;
        }
    }
    return o->backing;
}

static void gl_violation(struct gl_ctx *c, uint64_t lba, uint32_t backing,
                         const char *device, const char *kind, char *expected,
                         char *found)
{
    struct gl_result *r = c->r;

    r->violations++;
    if (r->nlist < c->o->max_violations) {
        struct gl_violation *v;

        if ((r->nlist & (r->nlist - 1)) == 0) {
            r->list = gl_xrealloc(r->list, r->nlist ? r->nlist * 2 : 16, sizeof(*r->list));
        }
        v = &r->list[r->nlist++];
        v->lba = lba;
        v->device = gl_xstrdup(device);
        v->backing = gl_xstrdup(c->backings[backing].path);
        v->kind = kind;
        v->expected = expected;
        v->found = found;
    } else {
        free(expected);
        free(found);
    }
}

static bool gl_all_zero(const uint8_t *b, uint32_t bs)
{
    for (uint32_t i = 0; i < bs; i++) {
        if (b[i]) {
            return false;
        }
    }
    return true;
}

static bool gl_seed_of_session(const struct gl_log *log, uint64_t seed)
{
    for (size_t i = 0; i < log->nsessions; i++) {
        if (log->sessions[i].seed == seed) {
            return true;
        }
    }
    return false;
}

/*
 * The thread of session s that owns lba (both tools split their range so:
 * thread t has blocks [lba + t * per, lba + (t + 1) * per) with per =
 * blocks / threads, the last thread the rest), or UINT32_MAX outside it.
 */
static uint32_t gl_owner(const struct gl_session *s, uint64_t lba)
{
    uint64_t per = s->blocks / s->threads, t;

    if (lba < s->lba || lba - s->lba >= s->blocks || !per) {
        return UINT32_MAX;
    }
    t = (lba - s->lba) / per;
    return t >= s->threads ? s->threads - 1 : (uint32_t)t;
}

static bool gl_is_write(uint8_t kind)
{
    return kind == GL_REC_W || kind == GL_REC_X || kind == GL_REC_WP ||
           kind == GL_REC_XP;
}

static bool gl_is_pattern(uint8_t kind)
{
    return kind == GL_REC_WP || kind == GL_REC_XP;
}

/* Does the block hold exactly write rec's bytes? */
static bool gl_holds(struct gl_ctx *c, const struct gl_rec *w, uint64_t lba, uint32_t bs)
{
    const struct gl_session *s = &c->log->sessions[w->session];

    if (gl_is_pattern(w->kind)) {
        gd_pattern_fill(&w->pat, lba, bs, c->exp);
    } else {
        gd_block_fill(c->exp, bs, lba, w->gen, s->seed, w->thread);
    }
    return !memcmp(c->exp, c->got, bs);
}

/* Does the block hold write rec's bytes (a stress write: by its header h)? */
static bool gl_matches(struct gl_ctx *c, const struct gl_rec *w, uint64_t lba,
                       uint32_t bs, bool ours, const struct gd_block_hdr *h)
{
    if (gl_is_pattern(w->kind)) {
        return gl_holds(c, w, lba, bs);
    }
    return ours && h->csum_ok && w->gen == h->gen && w->thread == h->thread &&
           c->log->sessions[w->session].seed == h->seed && gl_holds(c, w, lba, bs);
}

/* A write, in words: "session S thread T gen G" or "session S pattern P seed N". */
static char *gl_describe_write(const struct gl_log *log, const struct gl_rec *w)
{
    char name[GD_PATTERN_NAME_LEN];

    if (gl_is_pattern(w->kind)) {
        return gl_xasprintf("session %s pattern %s seed %" PRIu64,
                            log->sessions[w->session].sid,
                            gd_pattern_name(&w->pat, name), w->pat.seed);
    }
    return gl_xasprintf("session %s thread %u gen %" PRIu64,
                        log->sessions[w->session].sid, w->thread, w->gen);
}

/* What the block holds, in words, for a violation. */
static char *gl_describe_found(struct gl_ctx *c, const struct gl_block *b,
                               uint64_t lba, uint32_t bs)
{
    const struct gl_log *log = c->log;
    struct gd_block_hdr h;

    for (size_t k = b->end; k-- > b->first;) {
        const struct gl_rec *w = &log->recs[c->e[k].rec];
        char name[GD_PATTERN_NAME_LEN];

        if (gl_is_pattern(w->kind) && gl_holds(c, w, lba, bs)) {
            return gl_xasprintf("pattern %s seed %" PRIu64 " (session %s, %s at "
                                "ledger line %u: older)", gd_pattern_name(&w->pat, name),
                                w->pat.seed, log->sessions[w->session].sid,
                                w->kind == GL_REC_WP ? "acknowledged" : "failed",
                                w->line);
        }
    }
    if (gl_all_zero(c->got, bs)) {
        return gl_xasprintf("zeros");
    }
    if (!gd_block_parse(c->got, bs, &h)) {
        return gl_xasprintf("foreign data (no stress header)");
    }
    if (h.lba != lba) {
        return gl_xasprintf("foreign data (a stress block of lba %" PRIu64 ")", h.lba);
    }
    if (!gl_seed_of_session(log, h.seed)) {
        return gl_xasprintf("foreign data (a stress block of seed %" PRIu64
                            ", no session's)", h.seed);
    }
    if (!h.csum_ok) {
        return gl_xasprintf("torn (header: seed %" PRIu64 " thread %u gen %" PRIu64
                            ", checksum bad)", h.seed, h.thread, h.gen);
    }
    for (size_t k = b->end; k-- > b->first;) {
        const struct gl_rec *w = &log->recs[c->e[k].rec];

        if (!gl_is_pattern(w->kind) && w->gen == h.gen && w->thread == h.thread &&
            log->sessions[w->session].seed == h.seed && gl_holds(c, w, lba, bs)) {
            return gl_xasprintf("gen %" PRIu64 " (session %s thread %u, %s at ledger "
                                "line %u: older)", h.gen, log->sessions[w->session].sid,
                                w->thread, w->kind == GL_REC_W ? "acknowledged" :
                                "failed", w->line);
        }
    }
    return gl_xasprintf("gen %" PRIu64 " (seed %" PRIu64 " thread %u; no write the "
                        "ledger allows here)", h.gen, h.seed, h.thread);
}

/* Classify one block (entries [first, end)); records a violation. */
static void gl_check_block(struct gl_ctx *c, struct gl_block *b)
{
    const struct gl_log *log = c->log;
    const struct gl_entry *e0 = &c->e[b->first];
    const struct gl_rec *last = &log->recs[c->e[b->end - 1].rec];
    const char *device = log->sessions[last->session].dev;
    uint32_t bs = c->backings[e0->backing].bs;
    uint64_t lba = e0->lba;
    size_t floor = GL_NONE, from = b->first;
    struct gd_block_hdr h = { 0 };
    bool ours;
    ssize_t n;

    for (size_t k = b->end; k-- > b->first;) {
        if (c->held[c->e[k].rec]) {
            floor = k;
            from = k;
            c->floor_of[c->e[k].rec] = 1;
            break;
        }
    }
    c->r->blocks_checked++;
    n = pread(c->backings[e0->backing].fd, c->got, bs, (off_t)(lba * bs));
    if (n != (ssize_t)bs) {
        /* checked before: every block is inside the file */
        memset(c->got, 0, bs);
    }
    ours = gd_block_parse(c->got, bs, &h) && h.lba == lba &&
           gl_seed_of_session(log, h.seed);
    b->src = GL_SRC_BAD;
    for (size_t k = b->end; k-- > from;) {
        if (gl_matches(c, &log->recs[c->e[k].rec], lba, bs, ours, &h)) {
            b->src = GL_SRC_WRITE;
            b->src_rec = c->e[k].rec;
            return;
        }
    }
    /* a fixed-pattern write in flight: its session's pattern, never recorded */
    for (size_t i = 0; i < log->nsessions; i++) {
        const struct gl_session *s = &log->sessions[i];
        bool recorded = false;

        if (!s->has_pattern || s->ended || c->sess_backing[i] != (int)e0->backing ||
            s->bs != bs || lba < s->lba || lba - s->lba >= s->blocks ||
            (floor != GL_NONE && s->cut <= c->e[floor].rec)) {
            continue;
        }
        for (size_t k = b->first; k < b->end && !recorded; k++) {
            recorded = log->recs[c->e[k].rec].session == i;
        }
        if (recorded) {
            continue;
        }
        gd_pattern_fill(&s->pat, lba, bs, c->exp);
        if (!memcmp(c->exp, c->got, bs)) {
            b->src = GL_SRC_INFLIGHT;
            return;
        }
    }
    if (ours && h.csum_ok) {
        for (size_t i = 0; i < log->nsessions; i++) {
            const struct gl_session *s = &log->sessions[i];

            if (s->seed != h.seed || s->ended || h.thread != gl_owner(s, lba) ||
                c->sess_backing[i] != (int)e0->backing || s->bs != bs ||
                h.gen <= s->max_gen[h.thread] ||
                (floor != GL_NONE && s->cut <= c->e[floor].rec)) {
                continue;
            }
            gd_block_fill(c->exp, bs, lba, h.gen, h.seed, h.thread);
            if (!memcmp(c->exp, c->got, bs)) {
                b->src = GL_SRC_INFLIGHT;
                return;
            }
        }
    }
    if (!ours && floor == GL_NONE) {
        b->src = GL_SRC_ORIGINAL;
        return;
    }
    if (floor != GL_NONE) {
        const struct gl_rec *w = &log->recs[c->e[floor].rec];

        char *what = gl_describe_write(log, w);

        gl_violation(c, lba, e0->backing, device, ours && !h.csum_ok ? "torn" : "lost",
                     gl_xasprintf("%s (%s at ledger line %u) or later", what,
                                  c->flushed[c->e[floor].rec] ? "flushed" :
                                  "acknowledged", w->line),
                     gl_describe_found(c, b, lba, bs));
        free(what);
    } else {
        gl_violation(c, lba, e0->backing, device, h.csum_ok ? "unexpected" : "torn",
                     gl_xasprintf("its original content or one of the %zu writes the "
                                  "ledger records for it (from line %u)", b->end - b->first,
                                  log->recs[e0->rec].line),
                     gl_describe_found(c, b, lba, bs));
    }
}

static bool gl_has_rec(const struct gl_ctx *c, const struct gl_block *b, size_t rec)
{
    size_t lo = b->first, hi = b->end;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (c->e[mid].rec == rec) {
            return true;
        }
        if (c->e[mid].rec < rec) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}

/* The position of what a block holds, in ledger order. */
static size_t gl_src_pos(const struct gl_block *b)
{
    return b->src == GL_SRC_WRITE ? b->src_rec : b->src == GL_SRC_INFLIGHT ?
           GL_NONE : 0;
}

/* Blocks [u0, u1) of one atomic unit: a write landed on all or none. */
static void gl_check_unit(struct gl_ctx *c, const struct gl_block *bl, size_t u0,
                          size_t u1)
{
    const struct gl_log *log = c->log;

    for (size_t a = u0; a < u1; a++) {
        const struct gl_rec *w;

        if (bl[a].src != GL_SRC_WRITE) {
            continue;
        }
        w = &log->recs[bl[a].src_rec];
        for (size_t b = u0; b < u1; b++) {
            if (b == a || bl[b].src == GL_SRC_BAD || !gl_has_rec(c, &bl[b], bl[a].src_rec) ||
                !(bl[b].src == GL_SRC_ORIGINAL || gl_src_pos(&bl[b]) < bl[a].src_rec)) {
                continue;
            }
            gl_violation(c, c->e[bl[b].first].lba, c->e[bl[b].first].backing,
                         log->sessions[w->session].dev, "mixed",
                         gl_xasprintf("the unit of %u blocks at lba %" PRIu64 " from one "
                                      "write: session %s thread %u gen %" PRIu64 " (ledger "
                                      "line %u) holds lba %" PRIu64 ", so all of its blocks "
                                      "in the unit", c->o->atomic_unit,
                                      c->e[bl[u0].first].lba / c->o->atomic_unit *
                                      c->o->atomic_unit, log->sessions[w->session].sid,
                                      w->thread, w->gen, w->line, c->e[bl[a].first].lba),
                         gl_xasprintf("older content at lba %" PRIu64,
                                      c->e[bl[b].first].lba));
            return;             /* one violation a unit */
        }
    }
}

/* Every W record's csum against the data its fields describe. */
static int gl_check_csums(struct gl_ctx *c, char *err, size_t errlen)
{
    const struct gl_log *log = c->log;

    for (size_t i = 0; i < log->nrecs; i++) {
        const struct gl_rec *w = &log->recs[i];
        const struct gl_session *s = &log->sessions[w->session];
        uint64_t sum = 0;

        if (w->kind == GL_REC_WP) {
            for (uint64_t j = 0; j < w->nblocks; j++) {
                gd_pattern_fill(&w->pat, w->lba + j, s->bs, c->exp);
                sum = gd_mix64(sum ^ gd_bytes_csum(c->exp, s->bs));
            }
            if (sum != w->csum) {
                snprintf(err, errlen, "%s:%u: the WP record's csum %016" PRIx64 " is not "
                         "that of the pattern it describes (%016" PRIx64 "): a broken "
                         "ledger", log->name, w->line, w->csum, sum);
                return -1;
            }
            continue;
        }
        if (w->kind != GL_REC_W) {
            continue;
        }
        for (uint64_t j = 0; j < w->nblocks; j++) {
            gd_block_fill(c->exp, s->bs, w->lba + j, w->gen, s->seed, w->thread);
            sum = gd_mix64(sum ^ gd_block_csum(c->exp, s->bs));
        }
        if (sum != w->csum) {
            snprintf(err, errlen, "%s:%u: the W record's csum %016" PRIx64 " is not "
                     "that of the data it describes (%016" PRIx64 "): a broken ledger",
                     log->name, w->line, w->csum, sum);
            return -1;
        }
    }
    return 0;
}

/* Backing files: one per distinct path, opened once, block sizes agreed. */
static int gl_open_backings(struct gl_ctx *c, char *err, size_t errlen)
{
    const struct gl_log *log = c->log;

    c->sess_backing = gl_xrealloc(NULL, log->nsessions ? log->nsessions : 1, sizeof(int));
    c->backings = gl_xrealloc(NULL, log->nsessions ? log->nsessions : 1,
                              sizeof(*c->backings));
    for (size_t i = 0; i < log->nsessions; i++) {
        const struct gl_session *s = &log->sessions[i];
        const char *path = gl_backing_for(c->o, s->dev);
        struct gl_backing *b = NULL;
        struct stat st;

        c->sess_backing[i] = -1;
        if (!path) {
            if (s->writes) {
                snprintf(err, errlen, "%s:%u: no backing file for device %s (session "
                         "%s): give --backing FILE or --map %s=FILE", log->name,
                         log->recs[s->start].line, s->dev, s->sid, s->dev);
                return -1;
            }
            continue;
        }
        for (size_t k = 0; k < c->nbackings; k++) {
            if (!strcmp(c->backings[k].path, path)) {
                b = &c->backings[k];
            }
        }
        if (!b) {
            b = &c->backings[c->nbackings++];
            b->path = path;
            b->bs = 0;
            b->fd = open(path, O_RDONLY | O_CLOEXEC);
            if (b->fd < 0) {
                snprintf(err, errlen, "cannot read the backing file %s (device %s): %s",
                         path, s->dev, strerror(errno));
                c->nbackings--;
                return -1;
            }
        }
        c->sess_backing[i] = (int)(b - c->backings);
        if (!s->writes) {
            continue;
        }
        if (b->bs && b->bs != s->bs) {
            snprintf(err, errlen, "%s:%u: session %s writes %s with %u-byte blocks, an "
                     "earlier session with %u-byte blocks: not supported", log->name,
                     log->recs[s->start].line, s->sid, path, s->bs, b->bs);
            return -1;
        }
        b->bs = s->bs;
        if (fstat(b->fd, &st) == 0 && S_ISREG(st.st_mode)) {
            for (size_t k = s->start; k < log->nrecs; k++) {
                const struct gl_rec *w = &log->recs[k];

                if (gl_is_write(w->kind) && w->session == i &&
                    (w->lba + w->nblocks) * s->bs > (uint64_t)st.st_size) {
                    snprintf(err, errlen, "%s:%u: lba %" PRIu64 " + %" PRIu64 " blocks "
                             "is beyond the end of the backing file %s (%lld bytes)",
                             log->name, w->line, w->lba, w->nblocks, path,
                             (long long)st.st_size);
                    return -1;
                }
            }
        }
    }
    return 0;
}

int gl_check(const struct gl_log *log, const struct gl_check_opts *o,
             struct gl_result *r, char *err, size_t errlen)
{
    struct gl_ctx c = { .log = log, .o = o, .r = r };
    struct gl_block *bl = NULL;
    size_t nbl = 0, next_b = GL_NONE, next_p = GL_NONE, nent = 0;
    uint32_t unit = o->atomic_unit > 1 ? o->atomic_unit : 1;
    int ret = -1;

    memset(r, 0, sizeof(*r));
    r->end = o->end;
    r->sessions = log->nsessions;
    r->power_cuts = log->power_cuts;
    r->partial_lines = log->partial_lines;

    c.held = calloc(log->nrecs + 1, 1);
    c.flushed = calloc(log->nrecs + 1, 1);
    c.floor_of = calloc(log->nrecs + 1, 1);
    c.got = malloc(GD_BLOCK_SIZE_MAX);
    c.exp = malloc(GD_BLOCK_SIZE_MAX);
    if (!c.held || !c.flushed || !c.floor_of || !c.got || !c.exp) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (gl_open_backings(&c, err, errlen) || gl_check_csums(&c, err, errlen)) {
        goto out;
    }

    /* Backwards: the next successful flush's B and the next P after each W. */
    for (size_t i = log->nrecs; i-- > 0;) {
        const struct gl_rec *x = &log->recs[i];

        switch (x->kind) {
        case GL_REC_P:
            next_p = i;
            break;
        case GL_REC_B:
            if (log->sessions[x->session].flush_state[x->num - 1] == 1) {
                next_b = i;
            }
            break;
        case GL_REC_WP:
        case GL_REC_W:
            r->pattern_writes += x->kind == GL_REC_WP;
            r->writes_acknowledged++;
            c.flushed[i] = next_b != GL_NONE && (next_p == GL_NONE || next_b < next_p);
            c.held[i] = c.flushed[i] || (o->end == GL_END_STRICT && next_p == GL_NONE);
            r->writes_flushed += c.flushed[i];
            nent += x->nblocks;
            break;
        case GL_REC_XP:
        case GL_REC_X:
            r->pattern_writes += x->kind == GL_REC_XP;
            r->writes_failed++;
            nent += x->nblocks;
            break;
        default:
            break;
        }
        if (nent > GL_MAX_ENTRIES) {
            snprintf(err, errlen, "%s: the ledger's writes name more than %llu blocks "
                     "in all: too many to check in memory", log->name, GL_MAX_ENTRIES);
            goto out;
        }
    }

    c.e = gl_xrealloc(NULL, nent ? nent : 1, sizeof(*c.e));
    for (size_t i = 0; i < log->nrecs; i++) {
        const struct gl_rec *w = &log->recs[i];

        if (!gl_is_write(w->kind)) {
            continue;
        }
        for (uint64_t j = 0; j < w->nblocks; j++) {
            c.e[c.ne++] = (struct gl_entry){
                .backing = (uint32_t)c.sess_backing[w->session],
                .rec = (uint32_t)i, .lba = w->lba + j,
            };
        }
    }
    qsort(c.e, c.ne, sizeof(*c.e), gl_cmp_entry);

    for (size_t k = 0; k < c.ne;) {
        size_t end = k + 1;

        while (end < c.ne && c.e[end].backing == c.e[k].backing &&
               c.e[end].lba == c.e[k].lba) {
            end++;
        }
        if ((nbl & (nbl - 1)) == 0) {
            bl = gl_xrealloc(bl, nbl ? nbl * 2 : 64, sizeof(*bl));
        }
        bl[nbl] = (struct gl_block){ .first = k, .end = end };
        gl_check_block(&c, &bl[nbl]);
        nbl++;
        k = end;
    }
    for (size_t i = 0; i < log->nrecs; i++) {
        r->writes_checked += c.floor_of[i];
    }
    if (unit > 1) {
        for (size_t u0 = 0; u0 < nbl;) {
            size_t u1 = u0 + 1;
            const struct gl_entry *a = &c.e[bl[u0].first];

            while (u1 < nbl && c.e[bl[u1].first].backing == a->backing &&
                   c.e[bl[u1].first].lba / unit == a->lba / unit) {
                u1++;
            }
            gl_check_unit(&c, bl, u0, u1);
            u0 = u1;
        }
    }
    ret = 0;

out:
    for (size_t i = 0; i < c.nbackings; i++) {
        close(c.backings[i].fd);
    }
    free(c.backings);
    free(c.sess_backing);
    free(c.held);
    free(c.flushed);
    free(c.floor_of);
    free(c.e);
    free(c.got);
    free(c.exp);
    free(bl);
    return ret;
}

void gl_result_free(struct gl_result *r)
{
    for (size_t i = 0; i < r->nlist; i++) {
        free(r->list[i].device);
        free(r->list[i].backing);
        free(r->list[i].expected);
        free(r->list[i].found);
    }
    free(r->list);
    r->list = NULL;
    r->nlist = 0;
}
