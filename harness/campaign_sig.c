/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Failure signatures of campaign runs (campaign_sig.h).
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_sig.h"
#include "verdict.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, r;

    if (!f) {
        return NULL;
    }
    for (;;) {
        if (n + 65536 > cap) {
            cap = (cap + 65536) * 2;
            buf = realloc(buf, cap);
            if (!buf) {
                abort();
            }
        }
        r = fread(buf + n, 1, cap - n, f);
        if (!r) {
            break;
        }
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* The first kernel report in the run's log, or NULL. */
static bool kernel_signature(const char *artifacts, char *sig, size_t len)
{
    static const char *const logs[] = { "console.log", "kernel.log" };

    for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
        char path[4200], *log;
        size_t n = 0;
        GvReport *rep;
        bool found = false;

        snprintf(path, sizeof(path), "%s/%s", artifacts, logs[i]);
        log = slurp(path, &n);
        if (!log) {
            continue;
        }
        rep = gv_judge(log, n, NULL, NULL);
        if (rep && rep->n > 0 && rep->findings[0].signature) {
            snprintf(sig, len, "%s", rep->findings[0].signature);
            found = true;
        }
        gv_report_free(rep);
        free(log);
        return found;   /* the console log is the whole log: no fallback */
    }
    return false;
}

bool cs_report_before_load(const char *artifacts, const char *module)
{
    char path[4200], *log;
    size_t n = 0, mlen = strlen(module);
    unsigned line = 1, module_line = 0;
    GvReport *rep;
    bool before = false;

    snprintf(path, sizeof(path), "%s/console.log", artifacts);
    log = slurp(path, &n);
    if (!log || !mlen) {
        free(log);
        return false;
    }
    /* the first message of the module itself, its load or its probe:
     * "[   1.23] kestrel: loading ..." or "[   1.24] kestrel 0000:01:00.0: ..."
     * (not the command line, which may name it too) */
    for (size_t i = 0; i < n && !module_line; line++) {
        const char *eol = memchr(log + i, '\n', n - i);
        size_t l = eol ? (size_t)(eol - (log + i)) : n - i;

        for (size_t k = 0; k + mlen + 3 <= l; k++) {
            const char *p = log + i + k;

            if (p[0] == ']' && p[1] == ' ' && !memcmp(p + 2, module, mlen) &&
                (p[2 + mlen] == ':' || p[2 + mlen] == ' ')) {
                module_line = line;
                break;
            }
        }
        i += l + 1;
    }
    rep = gv_judge(log, n, NULL, NULL);
    if (rep && rep->n > 0) {
        before = !module_line || rep->findings[0].line < module_line;
    }
    gv_report_free(rep);
    free(log);
    return before;
}

bool cs_host_starved(const char *artifacts, const char *module)
{
    char path[4200], frame[160], *log;
    size_t n = 0;
    GvReport *rep;
    bool starved = false;

    snprintf(path, sizeof(path), "%s/console.log", artifacts);
    log = slurp(path, &n);
    if (!log) {
        return false;
    }
    snprintf(frame, sizeof(frame), "[%s]", module);
    rep = gv_judge(log, n, NULL, NULL);
    if (rep && rep->n > 0 && rep->findings[0].kind == GV_RCU_STALL &&
        rep->findings[0].block) {
        const char *b = rep->findings[0].block;

        starved = (strstr(b, "starved for") || strstr(b, "timer wakeup didn't happen")) &&
                  !strstr(b, frame);
    }
    gv_report_free(rep);
    free(log);
    return starved;
}

static bool is(const char *s, const char *what)
{
    return s && !strcmp(s, what);
}

bool cs_boot_failure(const CsFailure *f)
{
    return is(f->status, "fail") && (is(f->kind, "boot") || is(f->step, "boot"));
}

void cs_signature(const CsFailure *f, const char *artifacts, char *sig,
                  size_t len)
{
    const char *kind = f->kind && *f->kind ? f->kind : "unknown";

    if (is(f->status, "fail") && artifacts && kernel_signature(artifacts, sig, len)) {
        return;
    }
    if (is(f->status, "pass")) {
        snprintf(sig, len, "pass");
    } else if (!is(f->status, "fail")) {
        snprintf(sig, len, "%s:%s", f->status ? f->status : "unknown", kind);
    } else if (is(kind, "verdict")) {
        snprintf(sig, len, "verdict:%s", f->verdict && *f->verdict ? f->verdict :
                 "unknown");
    } else {
        snprintf(sig, len, "%s%s%s", kind, f->step && *f->step ? ":" : "",
                 f->step ? f->step : "");
    }
}

void cs_signature_id(const char *sig, char *id, size_t len)
{
    uint32_t h = 2166136261u;
    char slug[32];
    size_t n = 0;
    bool dash = false;

    for (const char *p = sig; *p; p++) {
        h = (h ^ (unsigned char)*p) * 16777619u;
    }
    for (const char *p = sig; *p && n < sizeof(slug) - 1; p++) {
        char c = *p;

        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            slug[n++] = c;
            dash = false;
        } else if (!dash && n) {
            slug[n++] = '-';
            dash = true;
        }
    }
    while (n && slug[n - 1] == '-') {
        n--;
    }
    slug[n] = 0;
    snprintf(id, len, "sig-%08x%s%s", h, n ? "-" : "", slug);
}
