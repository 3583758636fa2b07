/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Captured values: a run step's `capture: NAME` keeps its trimmed stdout
 * as NAME, and a later faults step's rule text names it as ${NAME}
 * (docs/scenarios.md).  Here: the names, the expansion (the runner's at
 * run time, the parser's with GS_CAPTURE_PLACEHOLDER for the checks before
 * any VM), and the parser's checks of both keys.
 */
#define _POSIX_C_SOURCE 200809L

#include "scenario_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool gs_is_capture_name(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > GS_MAX_NAME) {
        return false;
    }
    for (i = 0; i < len; i++) {
        char ch = s[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              ch == '_' || (i > 0 && ch >= '0' && ch <= '9'))) {
            return false;
        }
    }
    return true;
}

int gs_count_rules(const char *s)
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

/* At s (a "${"): the name's length, and *end just past the '}'; 0 when
 * there is no well-formed ${NAME} here. */
static size_t ref_at(const char *s, const char **end)
{
    const char *close = strchr(s + 2, '}');

    if (!close || !gs_is_capture_name(s + 2, (size_t)(close - s - 2))) {
        return 0;
    }
    *end = close + 1;
    return (size_t)(close - s - 2);
}

int gs_expand(const char *text, GsCaptureLookup lookup, void *ctx, char **out,
              char *err, size_t errlen)
{
    size_t cap = strlen(text) + 1, len = 0;
    char *buf = malloc(cap);
    const char *p = text;

    *out = NULL;
    if (!buf) {
        abort();
    }
    while (*p) {
        const char *add = p, *next = p + 1, *val;
        size_t addlen = 1, nlen;

        if (p[0] == '$' && p[1] == '{') {
            nlen = ref_at(p, &next);
            if (!nlen) {
                snprintf(err, errlen, "column %zu: '${' starts no reference: "
                         "expected ${NAME}, NAME from [A-Za-z_][A-Za-z0-9_]* "
                         "(at most %d characters)", (size_t)(p - text) + 1,
                         GS_MAX_NAME);
                free(buf);
                return -1;
            }
            val = lookup(ctx, p + 2, nlen);
            if (!val) {
                snprintf(err, errlen, "column %zu: ${%.*s} has no value: no "
                         "run step before this one captures '%.*s'",
                         (size_t)(p - text) + 1, (int)nlen, p + 2, (int)nlen,
                         p + 2);
                free(buf);
                return -1;
            }
            add = val;
            addlen = strlen(val);
        }
        if (len + addlen + 1 > cap) {
            cap = (len + addlen + 1) * 2;
            buf = realloc(buf, cap);
            if (!buf) {
                abort();
            }
        }
        memcpy(buf + len, add, addlen);
        len += addlen;
        p = next;
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

/* The 1-based column in src of column col of src expanded with the
 * placeholder (a column inside a placeholder is its '$'). */
size_t gsp_source_col(const char *src, size_t col)
{
    const size_t ph = strlen(GS_CAPTURE_PLACEHOLDER);
    size_t x = 1;               /* column in the expansion */
    const char *p = src, *next;

    while (*p) {
        if (p[0] == '$' && p[1] == '{' && ref_at(p, &next)) {
            if (col < x + ph) {
                return (size_t)(p - src) + 1;
            }
            x += ph;
            p = next;
            continue;
        }
        if (col == x) {
            return (size_t)(p - src) + 1;
        }
        x++;
        p++;
    }
    return (size_t)(p - src) + 1 + (col > x ? col - x : 0);
}

/* ---- the parser's checks ------------------------------------------------ */

static const char *known_capture(void *ctx, const char *name, size_t len)
{
    Ctx *c = ctx;

    for (size_t i = 0; i < c->ncaptures; i++) {
        if (strlen(c->captures[i].name) == len &&
            !memcmp(c->captures[i].name, name, len)) {
            return GS_CAPTURE_PLACEHOLDER;
        }
    }
    return NULL;
}

void gsp_run_capture(Ctx *c, GsStep *st, const Node *v, int depth)
{
    char b[72];
    size_t i;

    if (!st->u.run.capture) {
        return;
    }
    if (!gs_is_capture_name(v->val, v->len)) {
        gsp_fail(c, v->line, v->col, "'capture': found %s, expected a name of 1 "
                 "to %d characters from [A-Za-z0-9_], starting with a letter or "
                 "'_'", gsp_show(v->val, v->len, b, sizeof(b)), GS_MAX_NAME);
    }
    for (i = 0; i < c->ncaptures; i++) {
        if (!strcmp(c->captures[i].name, st->u.run.capture)) {
            return;             /* captured again: the newest value wins */
        }
    }
    if (c->ncaptures >= GS_MAX_CAPTURES) {
        gsp_fail(c, v->line, v->col, "too many capture names: at most %d",
                 GS_MAX_CAPTURES);
    }
    c->captures[c->ncaptures].name = st->u.run.capture;
    c->captures[c->ncaptures].line = st->line;
    c->captures[c->ncaptures].col = st->col;
    c->captures[c->ncaptures].depth = depth;
    c->ncaptures++;
}

void gsp_end_captures(Ctx *c, int depth)
{
    size_t i = 0;

    while (i < c->ncaptures) {
        if (c->captures[i].depth > depth) {
            c->captures[i] = c->captures[--c->ncaptures];
        } else {
            i++;
        }
    }
}

/* The faults step's text (v: its scalar) against the names captured so
 * far; the text checked before any VM goes to check_text. */
void gsp_faults_captures(Ctx *c, GsStep *st, const Node *v)
{
    char err[512];
    char *out;
    unsigned long col = 0;
    const char *what = err, *p;

    st->u.faults.captures = strstr(st->u.faults.rules, "${") != NULL;
    if (!st->u.faults.captures) {
        st->u.faults.check_text = st->u.faults.rules;
        return;
    }
    if (gs_expand(st->u.faults.rules, known_capture, c, &out, err,
                  sizeof(err)) == 0) {
        st->u.faults.check_text = gsp_out_strdup(c, out, strlen(out));
        free(out);
        return;
    }
    sscanf(err, "column %lu:", &col);
    p = strstr(err, ": ");
    if (p) {
        what = p + 2;
    }
    if (st->u.faults.text_verbatim && col >= 1) {
        size_t k, chars = 0;

        for (k = 0; k + 1 < col; k++) {
            chars += ((unsigned char)st->u.faults.rules[k] & 0xc0) != 0x80;
        }
        gsp_fail(c, st->u.faults.text_line, st->u.faults.text_col + (int)chars,
                 "%s", what);
    }
    gsp_fail(c, v->line, v->col, "%s (column %lu of the rule text)", what, col);
}
