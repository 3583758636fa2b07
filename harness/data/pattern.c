// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Data patterns and stress blocks (pattern.h): the single implementation
 * behind gauntlet-data and kestrelctl.  Nothing here allocates, exits or
 * prints except gd_report_mismatch().
 */
#include "pattern.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define GD_BLOCK_CSUM_OFF 40u

void gd_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

uint64_t gd_get_le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

bool gd_block_size_ok(uint64_t bs)
{
    return bs >= GD_BLOCK_SIZE_MIN && bs <= GD_BLOCK_SIZE_MAX && bs % 8 == 0;
}

/* ---- fixed patterns ------------------------------------------------------ */

int gd_pattern_parse(const char *s, struct gd_pattern *p, char *err,
                     size_t errlen)
{
    if (!strcmp(s, "seq")) {
        p->kind = GD_PAT_SEQ;
    } else if (!strcmp(s, "random")) {
        p->kind = GD_PAT_RANDOM;
    } else if (!strcmp(s, "zero")) {
        p->kind = GD_PAT_ZERO;
    } else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2]) {
        unsigned long v = 0;
        const char *d = s + 2;

        while (isxdigit((unsigned char)*d) && v <= 0xff) {
            v = v * 16 + (unsigned long)(isdigit((unsigned char)*d) ? *d - '0' :
                                         (tolower((unsigned char)*d) - 'a' + 10));
            d++;
        }
        if (*d || v > 0xff) {
            snprintf(err, errlen, "--pattern: bad byte '%s' (want 0x00..0xff)", s);
            return -1;
        }
        p->kind = GD_PAT_BYTE;
        p->byte = (uint8_t)v;
    } else {
        snprintf(err, errlen,
                 "--pattern: unknown pattern '%s' (seq|random|zero|0xNN)", s);
        return -1;
    }
    return 0;
}

const char *gd_pattern_name(const struct gd_pattern *p,
                            char buf[GD_PATTERN_NAME_LEN])
{
    switch (p->kind) {
    case GD_PAT_SEQ:
        return "seq";
    case GD_PAT_RANDOM:
        return "random";
    case GD_PAT_ZERO:
        return "zero";
    case GD_PAT_BYTE:
        snprintf(buf, GD_PATTERN_NAME_LEN, "0x%02x", p->byte);
        return buf;
    }
    return "?";
}

void gd_pattern_fill(const struct gd_pattern *p, uint64_t lba, uint32_t bs,
                     uint8_t *buf)
{
    uint64_t k;

    switch (p->kind) {
    case GD_PAT_ZERO:
        memset(buf, 0, bs);
        break;
    case GD_PAT_BYTE:
        memset(buf, p->byte, bs);
        break;
    case GD_PAT_SEQ:
        for (uint32_t o = 0; o < bs; o += 8) {
            gd_put_le64(buf + o, ((p->seed & 0xffffffull) << 40) |
                        ((lba * bs + o) & ((1ull << 40) - 1)));
        }
        break;
    case GD_PAT_RANDOM:
        k = gd_mix64(p->seed ^ gd_mix64(lba ^ 0xa0761d6478bd642full));
        for (uint32_t o = 0; o < bs; o += 8) {
            gd_put_le64(buf + o, gd_mix64(k + (o / 8) * 0x9e3779b97f4a7c15ull));
        }
        break;
    }
}

uint64_t gd_pattern_verify(FILE *out, const char *prog, const char *what,
                           const struct gd_pattern *p, uint64_t lba,
                           uint32_t nblocks, uint32_t bs, const uint8_t *buf,
                           uint8_t *scratch, uint64_t *reported,
                           uint64_t max_reports)
{
    char name[GD_PATTERN_NAME_LEN], desc[96];
    uint64_t bad = 0;

    for (uint32_t i = 0; i < nblocks; i++) {
        const uint8_t *got = buf + (size_t)i * bs;

        gd_pattern_fill(p, lba + i, bs, scratch);
        if (!memcmp(scratch, got, bs)) {
            continue;
        }
        bad++;
        if (*reported < max_reports) {
            snprintf(desc, sizeof(desc), "pattern %s seed %" PRIu64,
                     gd_pattern_name(p, name), p->seed);
            gd_report_mismatch(out, prog, what, lba + i, bs, scratch, got, desc);
        }
        (*reported)++;
    }
    return bad;
}

static size_t hex_line(char *s, size_t len, const char *label,
                       const uint8_t *b, uint32_t from, uint32_t to,
                       uint32_t mark)
{
    size_t n = (size_t)snprintf(s, len, "  %-8s @%-5u", label, from);

    for (uint32_t i = from; i < to && n < len; i++) {
        n += (size_t)snprintf(s + n, len - n, i == mark ? "[%02x]" : " %02x", b[i]);
    }
    if (n < len) {
        n += (size_t)snprintf(s + n, len - n, "\n");
    }
    return n < len ? n : len;
}

void gd_report_mismatch(FILE *out, const char *prog, const char *what,
                        uint64_t lba, uint32_t bs, const uint8_t *exp,
                        const uint8_t *got, const char *desc)
{
    uint32_t first = bs, ndiff = 0, from, to;
    char msg[1536];
    size_t n;

    for (uint32_t i = 0; i < bs; i++) {
        if (exp[i] != got[i]) {
            if (first == bs) {
                first = i;
            }
            ndiff++;
        }
    }
    if (first == bs) {
        return;                         /* the blocks are equal */
    }
    n = (size_t)snprintf(msg, sizeof(msg),
                         "%s: MISMATCH %s lba %" PRIu64 " byte offset %u "
                         "(absolute byte %" PRIu64 "): expected 0x%02x got "
                         "0x%02x; %u of %u bytes differ; expected %s\n",
                         prog, what, lba, first, lba * bs + first, exp[first],
                         got[first], ndiff, bs, desc);
    if (n >= sizeof(msg) - 1) {
        n = sizeof(msg) - 2;            /* keep the newline */
        msg[n++] = '\n';
        msg[n] = 0;
    }
    from = first & ~15u;
    to = from + 16 > bs ? bs : from + 16;
    n += hex_line(msg + n, sizeof(msg) - n, "expected", exp, from, to, first);
    hex_line(msg + n, sizeof(msg) - n, "got", got, from, to, first);
    fputs(msg, out);
    fflush(out);
}

/* ---- stress blocks ------------------------------------------------------- */

uint64_t gd_block_csum(const uint8_t *b, uint32_t bs)
{
    uint64_t h = 0x6a09e667f3bcc908ull;

    for (uint32_t o = 0; o < bs; o += 8) {
        h = gd_mix64(h ^ (o == GD_BLOCK_CSUM_OFF ? 0 : gd_get_le64(b + o)));
    }
    return h;
}

uint64_t gd_block_csum_stored(const uint8_t *b)
{
    return gd_get_le64(b + GD_BLOCK_CSUM_OFF);
}

void gd_block_fill(uint8_t *b, uint32_t bs, uint64_t lba, uint64_t gen,
                   uint64_t seed, uint32_t thread)
{
    uint64_t k = gd_mix64(seed ^ gd_mix64(lba ^ 0x5bd1e9955bd1e995ull) ^
                          (gen << 32));

    memset(b, 0, GD_BLOCK_HDR);
    memcpy(b, GD_BLOCK_MAGIC, 8);
    gd_put_le64(b + 8, lba);
    gd_put_le64(b + 16, gen);
    gd_put_le64(b + 24, seed);
    gd_put_le64(b + 32, (uint64_t)thread << 32 | bs);
    for (uint32_t o = GD_BLOCK_HDR; o < bs; o += 8) {
        gd_put_le64(b + o, gd_mix64(k + o));
    }
    gd_put_le64(b + GD_BLOCK_CSUM_OFF, gd_block_csum(b, bs));
}

bool gd_block_parse(const uint8_t *b, uint32_t bs, struct gd_block_hdr *h)
{
    uint64_t v;

    memset(h, 0, sizeof(*h));
    if (bs < GD_BLOCK_HDR || memcmp(b, GD_BLOCK_MAGIC, 8)) {
        return false;
    }
    v = gd_get_le64(b + 32);
    h->lba = gd_get_le64(b + 8);
    h->gen = gd_get_le64(b + 16);
    h->seed = gd_get_le64(b + 24);
    h->bs = (uint32_t)v;
    h->thread = (uint32_t)(v >> 32);
    h->csum_ok = gd_block_csum(b, bs) == gd_get_le64(b + GD_BLOCK_CSUM_OFF);
    return true;
}

void gd_block_describe(const uint8_t *b, uint32_t bs, char *out, size_t len)
{
    struct gd_block_hdr h;

    if (!gd_block_parse(b, bs, &h)) {
        snprintf(out, len, "no stress header (foreign or corrupt data)");
        return;
    }
    snprintf(out, len, "header claims lba %" PRIu64 " gen %" PRIu64 " seed %"
             PRIu64 " thread %u bs %u, checksum %s", h.lba, h.gen, h.seed,
             h.thread, h.bs, h.csum_ok ? "ok" : "BAD");
}

uint64_t gd_bytes_csum(const uint8_t *b, uint32_t bs)
{
    uint64_t h = 0;

    for (uint32_t o = 0; o + 8 <= bs; o += 8) {
        h = gd_mix64(h ^ gd_get_le64(b + o));
    }
    return h;
}
