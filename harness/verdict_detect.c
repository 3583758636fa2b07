/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Report headers (verdict.h, verdict_priv.h): gv_detect() tells whether a
 * kernel-log message starts a report (oops, BUG, WARNING, lockdep, KASAN,
 * UBSAN, hung task, RCU stall, lockup, GPF, panic, kmemleak, list
 * corruption), of which kind, and with which title.
 */
#define _GNU_SOURCE
#include "verdict_priv.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* ---- header detection ------------------------------------------------------- */

/* text up to the first of the STOP strings, at most max chars */
static void cut_title(char *dst, size_t dn, const char *prefix, const char *src,
                      const char *const *stop, size_t max)
{
    size_t n = strlen(src);
    size_t i;

    for (i = 0; stop[i]; i++) {
        const char *s = strstr(src, stop[i]);

        if (s && (size_t)(s - src) < n) {
            n = (size_t)(s - src);
        }
    }
    if (n > max) {
        n = max;
    }
    while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '.' || src[n - 1] == ',')) {
        n--;
    }
    snprintf(dst, dn, "%s%.*s", prefix, (int)n, src);
}

static const struct {
    const char *phrase;
    const char *title;
    bool anywhere;      /* substring of the message, not after a prefix */
} lockdep_phrases[] = {
    { "possible circular locking dependency detected", "possible circular locking dependency", false },
    { "possible recursive locking detected", "possible recursive locking", false },
    { "inconsistent lock state", "inconsistent lock state", false },
    { "suspicious RCU usage", "suspicious RCU usage", false },
    { "lock held when returning to user space", "lock held when returning to user space", false },
    { "possible irq lock inversion dependency detected", "possible irq lock inversion dependency", false },
    { "bad unlock balance detected", "bad unlock balance", false },
    { "bad contention detected", "bad contention", false },
    { "held lock freed", "held lock freed", false },
    { "nested lock was not taken", "nested lock was not taken", false },
    { "trying to register non-static key", "trying to register non-static key", false },
    { "-unsafe lock order detected", "irq-safe -> irq-unsafe lock order", true },
    { "still has locks held", "locks held at task exit", true },
};

/* "xxx: 0002 [#1]" */
static bool is_oops_line(const char *m)
{
    const char *c = strstr(m, ": ");
    const char *p;
    int i;

    if (!c || c == m || c - m > 40) {
        return false;
    }
    for (p = m; p < c; p++) {
        if (!islower((unsigned char)*p) && *p != ' ' && !isupper((unsigned char)*p)) {
            return false;
        }
    }
    p = c + 2;
    for (i = 0; i < 4; i++) {
        if (!isxdigit((unsigned char)p[i])) {
            return false;
        }
    }
    return starts(p + 4, " [#");
}

bool gv_detect(const char *m0, Header *h, bool any_warning)
{
    static const char *const bug_stop[] = { ":", " at ", " in process", "!", " for ",
                                            ",", " - ", NULL };
    static const char *const in_stop[] = { " in ", ":", NULL };
    static const char *const kasan_stop[] = { " in ", NULL };
    static const char *const oops_stop[] = { ",", " at ", " for ", NULL };
    static const char *const panic_stop[] = { "!", " exitcode", " - ", NULL };
    const char *m = m0;
    const char *q;
    size_t i;

    memset(h, 0, sizeof(*h));
    if (starts(m, "NMI watchdog: ")) {
        m += 14;
    } else if (starts(m, "watchdog: ")) {
        m += 10;
    } else if (starts(m, "rcu: ")) {
        m += 5;
    }

    /* KASAN and friends */
    if (starts(m, "BUG: KASAN: ") || starts(m, "BUG: KFENCE: ") || starts(m, "BUG: KMSAN: ")) {
        h->kind = GV_KASAN;
        cut_title(h->title, sizeof(h->title), "", m + 5, kasan_stop, 60);
        return true;
    }
    /* lockdep, with its "WARNING: " / "BUG: " / "INFO: " / "[ INFO: " head */
    q = m;
    if (starts(q, "WARNING: ")) {
        q += 9;
    } else if (starts(q, "BUG: ")) {
        q += 5;
    } else if (starts(q, "INFO: ")) {
        q += 6;
    } else if (starts(q, "[ INFO: ")) {
        q += 8;
    } else {
        q = NULL;
    }
    for (i = 0; i < sizeof(lockdep_phrases) / sizeof(lockdep_phrases[0]); i++) {
        bool hit = lockdep_phrases[i].anywhere
            ? (q && strstr(q, lockdep_phrases[i].phrase))
            : (q && starts(q, lockdep_phrases[i].phrase));

        if (hit) {
            h->kind = GV_LOCKDEP;
            snprintf(h->title, sizeof(h->title), "LOCKDEP: %s", lockdep_phrases[i].title);
            return true;
        }
    }
    if (starts(m, "UBSAN: ")) {
        h->kind = GV_UBSAN;
        cut_title(h->title, sizeof(h->title), "UBSAN: ", m + 7, in_stop, 60);
        return true;
    }
    if (starts(m, "INFO: task ") && strstr(m, " blocked for more than ")) {
        h->kind = GV_HUNG_TASK;
        snprintf(h->title, sizeof(h->title), "INFO: task hung");
        return true;
    }
    if (starts(m, "INFO: ") && strstr(m, "rcu") &&
        (strstr(m, "detected stall") || strstr(m, "detected expedited stall"))) {
        h->kind = GV_RCU_STALL;
        snprintf(h->title, sizeof(h->title), "INFO: rcu detected stall");
        return true;
    }
    if (starts(m, "BUG: soft lockup")) {
        h->kind = GV_LOCKUP;
        snprintf(h->title, sizeof(h->title), "BUG: soft lockup");
        return true;
    }
    if (strstr(m, "Watchdog detected hard LOCKUP")) {
        h->kind = GV_LOCKUP;
        snprintf(h->title, sizeof(h->title), "BUG: hard lockup");
        return true;
    }
    if (starts(m, "BUG: workqueue lockup")) {
        h->kind = GV_LOCKUP;
        snprintf(h->title, sizeof(h->title), "BUG: workqueue lockup");
        return true;
    }
    if (m != m0) {
        return false;   /* "watchdog: " etc. only prefix the ones above */
    }
    if (starts(m, "list_add corruption") || starts(m, "list_del corruption") ||
        starts(m, "list_add double add")) {
        h->kind = GV_LIST_CORRUPTION;
        snprintf(h->title, sizeof(h->title), "%.19s", m);
        return true;
    }
    if (starts(m, "general protection fault")) {
        h->kind = GV_GPF;
        h->oops_line = true;
        snprintf(h->title, sizeof(h->title), "general protection fault");
        return true;
    }
    if (starts(m, "Kernel panic")) {
        const char *r = strstr(m, "not syncing: ");

        h->kind = GV_PANIC;
        if (r) {
            cut_title(h->title, sizeof(h->title), "Kernel panic: ", r + 13, panic_stop, 60);
        } else {
            snprintf(h->title, sizeof(h->title), "Kernel panic");
        }
        return true;
    }
    if (starts(m, "unreferenced object 0x") ||
        (starts(m, "kmemleak: ") && strstr(m, "new suspected memory leak"))) {
        h->kind = GV_KMEMLEAK;
        snprintf(h->title, sizeof(h->title), "memory leak");
        return true;
    }
    if (starts(m, "BUG: kernel NULL pointer dereference") ||
        starts(m, "BUG: unable to handle") || starts(m, "Unable to handle kernel")) {
        h->kind = GV_OOPS;
        cut_title(h->title, sizeof(h->title), "", m, oops_stop, 70);
        return true;
    }
    if (starts(m, "Internal error: Oops")) {
        h->kind = GV_OOPS;
        h->oops_line = true;
        snprintf(h->title, sizeof(h->title), "Oops");
        return true;
    }
    if (is_oops_line(m)) {
        h->kind = GV_OOPS;
        h->oops_line = true;
        snprintf(h->title, sizeof(h->title), "%.*s", (int)(strstr(m, ": ") - m), m);
        return true;
    }
    if (starts(m, "kernel BUG at ")) {
        h->kind = GV_BUG;
        h->kernel_bug = true;
        snprintf(h->title, sizeof(h->title), "kernel BUG");
        return true;
    }
    if (starts(m, "BUG: ")) {
        h->kind = GV_BUG;
        cut_title(h->title, sizeof(h->title), "BUG: ", m + 5, bug_stop, 60);
        return true;
    }
    if (starts(m, "WARNING: ")) {
        h->kind = GV_WARNING;
        snprintf(h->title, sizeof(h->title), "WARNING");
        if (!starts(m, "WARNING: CPU: ") && !starts(m, "WARNING: at ") && !any_warning) {
            h->weak_warning = true;
        }
        return true;
    }
    return false;
}
