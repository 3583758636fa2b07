/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel-log lines (verdict.h, verdict_priv.h): the prefixes stripped off
 * each line (level, /dev/kmsg record, timestamp, caller id) and the line
 * classes a report's block is measured with (end markers, rules, "cut
 * here", register dumps, stack tails, report-like lines).
 */
#include "verdict_priv.h"

#include <ctype.h>
#include <string.h>

/* ---- prefixes ------------------------------------------------------------ */

/* "[" spaces digits "." digits "]": length, or 0 */
size_t gv_timestamp_len(const char *s)
{
    const char *p = s;

    if (*p++ != '[') {
        return 0;
    }
    while (*p == ' ') {
        p++;
    }
    if (!isdigit((unsigned char)*p)) {
        return 0;
    }
    while (isdigit((unsigned char)*p)) {
        p++;
    }
    if (*p++ != '.' || !isdigit((unsigned char)*p)) {
        return 0;
    }
    while (isdigit((unsigned char)*p)) {
        p++;
    }
    if (*p++ != ']') {
        return 0;
    }
    return (size_t)(p - s);
}

/* "[" spaces ("T"|"C") digits "]" (CONFIG_PRINTK_CALLER) */
size_t gv_caller_len(const char *s)
{
    const char *p = s;

    if (*p++ != '[') {
        return 0;
    }
    while (*p == ' ') {
        p++;
    }
    if (*p != 'T' && *p != 'C') {
        return 0;
    }
    p++;
    if (!isdigit((unsigned char)*p)) {
        return 0;
    }
    while (isdigit((unsigned char)*p)) {
        p++;
    }
    return *p == ']' ? (size_t)(p + 1 - s) : 0;
}

void gv_strip_prefixes(Line *l)
{
    const char *p = l->raw;
    long level = -1;
    size_t n;

    if (p[0] == '<' && isdigit((unsigned char)p[1])) {
        const char *q = p + 1;
        long v = 0;

        while (isdigit((unsigned char)*q) && q - p < 5) {
            v = v * 10 + (*q++ - '0');
        }
        if (*q == '>') {
            level = v;
            p = q + 1;
        }
    } else if (isdigit((unsigned char)p[0])) {
        /* /dev/kmsg record: level,seq,usec,flags[,...];message */
        const char *q = p;
        long v = 0;
        int commas = 0;

        while (isdigit((unsigned char)*q) && q - p < 5) {
            v = v * 10 + (*q++ - '0');
        }
        if (*q == ',') {
            const char *r = q;

            while (*r && *r != ';' && *r != ' ' && r - q < 64) {
                commas += *r == ',';
                r++;
            }
            if (*r == ';' && commas >= 3) {
                level = v;
                p = r + 1;
            }
        }
    }
    n = gv_timestamp_len(p);
    if (n) {
        l->has_ts = true;
        p += n;
        n = gv_caller_len(p);
        p += n;
        if (*p == ' ') {
            p++;
        }
    }
    l->user = level >= 8;
    l->has_ts = l->has_ts || level >= 0;
    l->msg = p;
}

/* ---- line classes ----------------------------------------------------------- */

bool gv_is_end_trace(const char *m)
{
    return starts(m, "---[ end trace") || starts(m, "---[ end Kernel panic");
}

bool gv_is_rule(const char *m, char c)
{
    size_t n = 0;

    while (m[n] == c) {
        n++;
    }
    return n >= 20 && m[n] == '\0';
}

bool gv_is_cut_here(const char *m)
{
    return strstr(m, "[ cut here ]") != NULL;
}

/* register dump lines: "RIP: 0010:...", "RAX: ...", "R10: ...", "FS: ...",
 * "CS: ...", "CR2: ...", "Code: ...", "DR0: ...", "PKRU: ..." */
bool gv_is_register_line(const char *m)
{
    static const char *const p[] = { "RIP: ", "RSP: ", "Code: ", "FS: ", "CS: ",
                                     "CR2: ", "DR0: ", "DR3: ", "DR6: ", "PKRU: ",
                                     "EIP: ", "ESP: ", "EAX: ", "DS: ", NULL };
    size_t i;

    for (i = 0; p[i]; i++) {
        if (starts(m, p[i])) {
            return true;
        }
    }
    if (m[0] == 'R' && (isupper((unsigned char)m[1]) || isdigit((unsigned char)m[1]))) {
        size_t n = 1;

        while (isalnum((unsigned char)m[n]) && n < 4) {
            n++;
        }
        return m[n] == ':' && m[n + 1] == ' ';
    }
    return false;
}

/* Lines that a report's tail may hold after its last "</TASK>". */
bool gv_is_tail_line(const char *m, GvKind k)
{
    if ((k == GV_RCU_STALL || k == GV_LOCKUP) &&
        (starts(m, "rcu: ") || starts(m, "CPU: ") || starts(m, "NMI backtrace") ||
         starts(m, "Sending NMI") || starts(m, "task:") || starts(m, "Hardware name:"))) {
        return true;    /* the next CPU's or the GP kthread's dump */
    }
    return gv_is_end_trace(m) || gv_is_register_line(m) || starts(m, "Modules linked in:") ||
           starts_ws(m, "<TASK>") || starts_ws(m, "<IRQ>") || starts_ws(m, "</IRQ>") ||
           starts_ws(m, "<NMI>") || starts_ws(m, "</NMI>") || starts(m, "Call Trace:") ||
           starts(m, "Kernel Offset:") || starts(m, "Unloaded tainted modules:") ||
           (m[0] == ' ' && m[1] != ' ' && strstr(m, "+0x"));
}

/* Does a line look like part of a structured report (timestamps absent)? */
bool gv_is_reportish(const char *m)
{
    static const char *const p[] = {
        "Call Trace:", "Call trace:", "Modules linked in:", "CPU: ", "Hardware name:",
        "Workqueue:", "#PF: ", "PGD ", "Oops", "invalid opcode:", "kernel BUG at",
        "Kernel Offset:", "---[", "<TASK>", "</TASK>", "<IRQ>", "</IRQ>", "<NMI>",
        "</NMI>", "task:", "\"echo 0 >", "in_atomic()", "preempt_count:",
        "Preemption disabled at:", "irq event stamp:", "hardirqs last",
        "softirqs last", "Sending NMI", "NMI backtrace", "INFO: lockdep",
        "Tainted:", "Not tainted", "stack backtrace:", "note: ", "Unloaded tainted",
        "Showing busy", "------------[ cut here", "Read of size", "Write of size",
        "The buggy address", "Memory state around", "Allocated by task", "Freed by task",
        "Last potentially related", "raw: ", "page:", "flags: ", "page dumped",
        "other info that might help", "rcu: ", "(t=", "(detected by", "index ",
        "shift exponent", "signed integer overflow", "load of value", "hex dump",
        "backtrace", "comm \"", "Pid: ", NULL
    };
    size_t i;

    if (m[0] == ' ' || m[0] == '\t' || m[0] == '\0' || m[0] == '>' ||
        gv_is_register_line(m) || gv_is_rule(m, '=') || gv_is_rule(m, '-')) {
        return true;
    }
    for (i = 0; p[i]; i++) {
        if (starts(m, p[i])) {
            return true;
        }
    }
    return false;
}

/* kinds whose body is free-form text (lockdep, KASAN, ...): every line with
 * the report's timestamp style belongs to them until their end */
bool gv_lenient(GvKind k)
{
    return k == GV_LOCKDEP || k == GV_KASAN || k == GV_UBSAN || k == GV_RCU_STALL ||
           k == GV_HUNG_TASK || k == GV_BUG || k == GV_PANIC;
}
