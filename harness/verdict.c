/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet kernel-log verdict rules (verdict.h).
 *
 * The log is copied, sanitized (NUL and control bytes become '?', CR
 * before LF or at the end of a line is dropped, any other CR becomes a
 * space) and split into lines on LF.  Each line's prefixes (level "<4>",
 * /dev/kmsg record "4,12,345,-;", "[   1.234567]" timestamp, "[  T12]"
 * caller id) are stripped to get the message.  A report starts at a header
 * message (detect()); its block runs to its end marker ("---[ end trace",
 * KASAN/UBSAN's closing "====", the "</TASK>" of the last stack) or to the
 * next header, the first run of unrelated lines, the end of the log (the
 * block is then truncated) or the block cap.
 */
#define _GNU_SOURCE
#include "verdict.h"

#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GV_DEFAULT_CAP 400u
#define GV_FOREIGN_RUN 8      /* unrelated lines that end a report */
#define GV_TITLE_MAX 96

typedef struct Line {
    char *raw;          /* sanitized line */
    const char *msg;    /* raw with the prefixes stripped */
    bool has_ts;        /* had a "[ 1.234]" timestamp or a level prefix */
    bool user;          /* written by userspace (syslog facility != 0) */
} Line;

static const char *const kind_names[GV_NKINDS] = {
    [GV_OOPS] = "OOPS", [GV_BUG] = "BUG", [GV_WARNING] = "WARNING",
    [GV_LOCKDEP] = "LOCKDEP", [GV_KASAN] = "KASAN", [GV_UBSAN] = "UBSAN",
    [GV_HUNG_TASK] = "HUNG_TASK", [GV_RCU_STALL] = "RCU_STALL",
    [GV_LOCKUP] = "LOCKUP", [GV_GPF] = "GPF", [GV_PANIC] = "PANIC",
    [GV_KMEMLEAK] = "KMEMLEAK", [GV_LIST_CORRUPTION] = "LIST_CORRUPTION",
};

const char *gv_kind_name(GvKind k)
{
    return (unsigned)k < GV_NKINDS ? kind_names[k] : "?";
}

static bool starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* starts() after leading blanks: the stack markers "<TASK>", "</IRQ>" ... */
static bool starts_ws(const char *s, const char *p)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return starts(s, p);
}

static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

/* ---- prefixes ------------------------------------------------------------ */

/* "[" spaces digits "." digits "]": length, or 0 */
static size_t timestamp_len(const char *s)
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
static size_t caller_len(const char *s)
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

static void strip_prefixes(Line *l)
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
    n = timestamp_len(p);
    if (n) {
        l->has_ts = true;
        p += n;
        n = caller_len(p);
        p += n;
        if (*p == ' ') {
            p++;
        }
    }
    l->user = level >= 8;
    l->has_ts = l->has_ts || level >= 0;
    l->msg = p;
}

/* ---- header detection ------------------------------------------------------- */

typedef struct Header {
    GvKind kind;
    char title[GV_TITLE_MAX];
    bool oops_line;     /* "Oops: 0002 [#1]", "invalid opcode: 0000 [#1]" */
    bool kernel_bug;    /* "kernel BUG at" */
    bool weak_warning;  /* "WARNING: <prose>": counts only with a stack */
} Header;

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

static bool detect(const char *m0, Header *h, bool any_warning)
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

/* ---- line classes ----------------------------------------------------------- */

static bool is_end_trace(const char *m)
{
    return starts(m, "---[ end trace") || starts(m, "---[ end Kernel panic");
}

static bool is_rule(const char *m, char c)
{
    size_t n = 0;

    while (m[n] == c) {
        n++;
    }
    return n >= 20 && m[n] == '\0';
}

static bool is_cut_here(const char *m)
{
    return strstr(m, "[ cut here ]") != NULL;
}

/* register dump lines: "RIP: 0010:...", "RAX: ...", "R10: ...", "FS: ...",
 * "CS: ...", "CR2: ...", "Code: ...", "DR0: ...", "PKRU: ..." */
static bool is_register_line(const char *m)
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
static bool is_tail_line(const char *m, GvKind k)
{
    if ((k == GV_RCU_STALL || k == GV_LOCKUP) &&
        (starts(m, "rcu: ") || starts(m, "CPU: ") || starts(m, "NMI backtrace") ||
         starts(m, "Sending NMI") || starts(m, "task:") || starts(m, "Hardware name:"))) {
        return true;    /* the next CPU's or the GP kthread's dump */
    }
    return is_end_trace(m) || is_register_line(m) || starts(m, "Modules linked in:") ||
           starts_ws(m, "<TASK>") || starts_ws(m, "<IRQ>") || starts_ws(m, "</IRQ>") ||
           starts_ws(m, "<NMI>") || starts_ws(m, "</NMI>") || starts(m, "Call Trace:") ||
           starts(m, "Kernel Offset:") || starts(m, "Unloaded tainted modules:") ||
           (m[0] == ' ' && m[1] != ' ' && strstr(m, "+0x"));
}

/* Does a line look like part of a structured report (timestamps absent)? */
static bool is_reportish(const char *m)
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
        is_register_line(m) || is_rule(m, '=') || is_rule(m, '-')) {
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
static bool lenient(GvKind k)
{
    return k == GV_LOCKDEP || k == GV_KASAN || k == GV_UBSAN || k == GV_RCU_STALL ||
           k == GV_HUNG_TASK || k == GV_BUG || k == GV_PANIC;
}

/* ---- frames ---------------------------------------------------------------------- */

static const char *const skip_frames[] = {
    /* reporting machinery */
    "dump_stack*", "show_stack*", "__dump_stack", "show_regs", "__show_regs",
    "show_trace_log_lvl", "__warn*", "warn_slowpath*", "report_bug", "handle_bug",
    "exc_invalid_op", "asm_exc_*", "asm_sysvec_*", "asm_common_interrupt", "do_trap",
    "do_error_trap", "do_int3*", "exc_*", "fixup_exception", "die", "__die*",
    "oops_end", "make_task_dead", "do_exit", "panic", "__panic", "vpanic", "bust_spinlocks",
    "page_fault_oops", "kernelmode_fixup_or_oops", "__bad_area*", "bad_area*",
    "do_user_addr_fault", "handle_page_fault", "do_page_fault", "no_context",
    "kasan_*", "__kasan_*", "print_report", "print_address_description*",
    "describe_object*", "check_memory_region*", "__asan_*", "asan_*", "kmsan_*",
    "__msan_*", "kfence_*", "__kfence_*", "__ubsan_handle_*", "ubsan_*",
    "save_stack*", "stack_trace_save*", "set_track*", "__kmem_cache_free",
    /* lockdep */
    "lockdep_*", "__lockdep_*", "lock_acquire*", "lock_release", "lock_acquired",
    "__lock_acquire", "validate_chain", "check_prev_add", "check_prevs_add",
    "check_noncircular", "check_deadlock", "check_irq_usage", "mark_lock*",
    "mark_usage", "print_circular_bug*", "print_deadlock_bug", "print_usage_bug",
    "print_bad_irq_dependency", "valid_state", "lock_is_held*", "lock_sync",
    "rcu_lock_acquire", "rcu_read_lock_held*", "debug_lockdep_rcu_enabled",
    "_raw_spin_lock*", "_raw_read_lock*", "_raw_write_lock*", "_raw_spin_unlock*",
    "do_raw_spin_lock*", "queued_spin_lock_slowpath", "native_queued_spin_lock_slowpath",
    "mutex_lock*", "__mutex_lock*", "mutex_unlock", "down_read*", "down_write*",
    "up_read", "up_write", "__down*", "down", "down_interruptible", "down_killable",
    "rwsem_down_*", "percpu_down_*", "rt_mutex*", "__rt_mutex*",
    /* sleeping, waiting (hung tasks) */
    "__schedule", "schedule", "schedule_timeout*", "schedule_preempt_disabled",
    "schedule_hrtimeout*", "io_schedule*", "msleep*", "usleep_range*",
    "wait_for_completion*", "__wait_for_common", "wait_for_common*", "do_wait_for_common",
    "__wait_on_bit*", "out_of_line_wait_on_bit*", "bit_wait*", "folio_wait_*",
    "__folio_lock*", "wait_on_page*", "__lock_page*", "__flush_work", "flush_work",
    "__flush_workqueue", "flush_workqueue", "__cancel_work_timer", "cancel_work_sync",
    "synchronize_rcu*", "__synchronize_srcu", "synchronize_srcu", "wait_rcu_gp",
    "__wait_rcu_gp", "kthread_stop",
    /* busy waiting, timer interrupts (lockups, stalls) */
    "delay_tsc", "delay_halt*", "__const_udelay", "__udelay", "__delay", "native_safe_halt",
    "cpu_relax", "rep_nop", "watchdog_timer_fn", "rcu_dump_cpu_stacks", "print_cpu_stall*",
    "rcu_sched_clock_irq", "check_cpu_stall", "rcu_pending", "update_process_times",
    "tick_sched_*", "__hrtimer_run_queues", "hrtimer_interrupt", "__sysvec_*", "sysvec_*",
    "irq_exit_rcu", "__irq_exit_rcu", "__do_softirq", "nmi_cpu_backtrace*",
    "nmi_trigger_cpumask_backtrace", "arch_trigger_cpumask_backtrace",
    "trigger_single_cpu_backtrace", "dump_cpu_task", "sched_show_task", "show_state_filter",
    "check_hung_*", "watchdog", "hung_task*",
    /* list debugging, refcount, allocators (kmemleak) */
    "__list_add_valid*", "__list_del_entry_valid*", "__list_del_entry", "__list_add",
    "list_del", "list_add", "list_add_tail", "refcount_warn_saturate",
    "kmemleak_*", "__kmemleak_*", "create_object*", "kmem_cache_alloc*",
    "__kmem_cache_alloc*", "kmalloc", "kmalloc_node*", "kmalloc_array*",
    "kmalloc_large*", "kmalloc_order*", "kmalloc_slab", "__kmalloc*", "kzalloc*", "kcalloc*",
    "kmalloc_trace", "slab_post_alloc_hook", "slab_alloc*", "___slab_alloc",
    "__slab_alloc*", "kvmalloc*", "__kvmalloc*", "vmalloc*", "__vmalloc*", "vzalloc*",
    "krealloc*", "kmemdup*", "kstrdup*", "__alloc_pages*", "alloc_pages*",
    "kmem_cache_zalloc", "kfree", "kvfree", "vfree", "kmem_cache_free", "slab_free*",
    "__slab_free", "memcpy", "memmove", "memset", "__memcpy", "__memset",
    "__memmove", "memcpy_erms", "memset_erms", "strlen", "strcpy", "strncpy",
    "strnlen", "strcmp", "strscpy",
    /* the generic bottom of stacks */
    "ret_from_fork*", "kthread", "worker_thread", "process_one_work", "process_scheduled_works",
    "entry_SYSCALL_64*", "do_syscall_64", "do_syscall_x64", "__x64_sys_*", "__do_sys_*",
    "__se_sys_*", "x64_sys_call", "do_one_initcall", "do_init_module", "load_module",
    "start_kernel", "x86_64_start_*", "secondary_startup_64*", "cpu_startup_entry",
    "do_idle", "default_idle*", "rest_init", "kernel_init*",
    NULL
};

static bool skipped(const char *fn)
{
    size_t i;

    for (i = 0; skip_frames[i]; i++) {
        const char *p = skip_frames[i];
        size_t n = strlen(p);

        if (p[n - 1] == '*') {
            if (strncmp(fn, p, n - 1) == 0) {
                return true;
            }
        } else if (strcmp(fn, p) == 0) {
            return true;
        }
    }
    return false;
}

static bool symch(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$';
}

/* Parse "sym+0xOFF/0xLEN [mod]" at P: "sym [mod]" (suffixes ".cold",
 * ".isra.0" ... stripped) into OUT; false when P is not such a frame. */
static bool parse_sym(const char *p, char *out, size_t on, char *fn, size_t fnn)
{
    const char *s = p;
    const char *e;
    const char *dot;
    size_t n;

    while (symch(*p)) {
        p++;
    }
    if (p == s || !starts(p, "+0x") || isdigit((unsigned char)*s)) {
        return false;
    }
    e = p;
    dot = memchr(s, '.', (size_t)(e - s));
    n = (size_t)((dot ? dot : e) - s);
    if (n == 0) {
        return false;
    }
    p += 3;
    while (isxdigit((unsigned char)*p)) {
        p++;
    }
    if (*p == '/') {
        p++;
        if (starts(p, "0x")) {
            p += 2;
        }
        while (isxdigit((unsigned char)*p)) {
            p++;
        }
    }
    snprintf(fn, fnn, "%.*s", (int)n, s);
    while (*p == ' ') {
        p++;
    }
    if (*p == '[' && p[1] != '<') {
        const char *c = strchr(p, ']');

        if (c && c - p < 64) {
            snprintf(out, on, "%.*s %.*s", (int)n, s, (int)(c - p + 1), p);
            return true;
        }
    }
    snprintf(out, on, "%.*s", (int)n, s);
    return true;
}

/* A stack line "  [<ffff...>] ? sym+0x1/0x2 [mod]": sets *unreliable */
static bool parse_frame_line(const char *m, char *out, size_t on, char *fn, size_t fnn,
                             bool *unreliable)
{
    const char *p = m;

    *unreliable = false;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    while (starts(p, "[<")) {
        const char *c = strstr(p, ">]");

        if (!c) {
            return false;
        }
        p = c + 2;
        while (*p == ' ') {
            p++;
        }
    }
    if (starts(p, "? ")) {
        *unreliable = true;
        p += 2;
    }
    return parse_sym(p, out, on, fn, fnn);
}

/* ---- the judge --------------------------------------------------------------------- */

typedef struct Judge {
    Line *lines;
    unsigned n;
    const GvOptions *opt;
    bool ts_ctx;
} Judge;

static bool header_at(const Judge *j, unsigned i, Header *h)
{
    const Line *l = &j->lines[i];
    const char *m = l->msg;

    if (l->user) {
        return false;
    }
    if (detect(m, h, j->opt->any_warning)) {
        return true;
    }
    /* a report glued to the end of other output: "foo[  1.2] WARNING: ..." */
    for (m = strchr(l->msg[0] ? l->msg + 1 : l->msg, '['); m; m = strchr(m + 1, '[')) {
        size_t n = timestamp_len(m);

        if (n) {
            const char *r = m + n;

            r += caller_len(r);
            if (*r == ' ') {
                r++;
            }
            if (detect(r, h, j->opt->any_warning)) {
                return true;
            }
        }
    }
    return false;
}

/* A weak "WARNING: prose" counts when "cut here" precedes it or a
 * "Call Trace:" follows within a few lines. */
static bool weak_warning_counts(const Judge *j, unsigned i, unsigned lo)
{
    unsigned k;

    for (k = i; k > lo && k + 3 > i; k--) {
        if (is_cut_here(j->lines[k - 1].msg)) {
            return true;
        }
    }
    for (k = i + 1; k < j->n && k <= i + 12; k++) {
        Header h;

        if (starts(j->lines[k].msg, "Call Trace:") || starts(j->lines[k].msg, "Call trace:")) {
            return true;
        }
        if (!j->lines[k].user && detect(j->lines[k].msg, &h, false)) {
            return false;
        }
    }
    return false;
}

static bool foreign(const Judge *j, const Line *l, GvKind kind)
{
    if (l->user) {
        return true;
    }
    if (j->ts_ctx && !l->has_ts) {
        return l->msg[0] != '\0';
    }
    return !lenient(kind) && !is_reportish(l->msg);
}

static int add_finding(GvReport *r, size_t *cap, GvFinding *f)
{
    if (r->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        GvFinding *nf = realloc(r->findings, nc * sizeof(*nf));

        if (!nf) {
            return -1;
        }
        r->findings = nf;
        *cap = nc;
    }
    r->findings[r->n++] = *f;
    return 0;
}

static void free_finding(GvFinding *f)
{
    free(f->text);
    free(f->block);
    free(f->title);
    free(f->frame);
    free(f->signature);
}

/* first meaningful frame of lines [a, b] of a report of kind K */
static char *find_frame(const Judge *j, unsigned hdr, unsigned a, unsigned b, GvKind k)
{
    char sym[160], fn[128];
    bool in_trace = false, in_irq = false, unrel, ignore = false;
    unsigned i;

    for (i = a; i <= b; i++) {
        const char *m = j->lines[i].msg;
        const char *p;

        if (j->lines[i].user) {
            continue;
        }
        /* RCU stalls dump the grace-period kthread too: not the culprit */
        if (k == GV_RCU_STALL && strstr(m, "grace-period kthread stack dump")) {
            ignore = true;
            continue;
        }
        if (ignore && (strstr(m, "Stack dump where") || starts(m, "CPU: ") ||
                       starts(m, "NMI backtrace"))) {
            ignore = false;
        }
        if (ignore) {
            continue;
        }
        if (i == hdr && k == GV_WARNING && (p = strstr(m, " at ")) != NULL) {
            /* "WARNING: CPU: 0 PID: 1 at file.c:12 func+0x5/0xc [mod]" */
            const char *sp = strchr(p + 4, ' ');

            if (sp && parse_sym(sp + 1, sym, sizeof(sym), fn, sizeof(fn)) && !skipped(fn)) {
                return strdup(sym);
            }
            continue;
        }
        if (i == hdr && k == GV_KASAN && (p = strstr(m, " in ")) != NULL) {
            if (parse_sym(p + 4, sym, sizeof(sym), fn, sizeof(fn)) && !skipped(fn)) {
                return strdup(sym);
            }
            continue;
        }
        if (starts(m, "RIP: ") || starts(m, "EIP: ") || starts(m, "pc : ") ||
            starts(m, "PC is at ")) {
            p = strchr(m, ':');
            p = starts(m, "PC is at ") ? m + 9 : p + 1;
            while (*p == ' ') {
                p++;
            }
            if (starts(p, "0010:") || starts(p, "0060:")) {
                p += 5;
            }
            while (starts(p, "[<")) {       /* old "RIP: 0010:[<ffff>]  [<ffff>] f+0x" */
                const char *c = strstr(p, ">]");

                if (!c) {
                    break;
                }
                p = c + 2;
                while (*p == ' ') {
                    p++;
                }
            }
            if ((k == GV_LOCKUP || k == GV_RCU_STALL) && in_irq) {
                continue;
            }
            if (parse_sym(p, sym, sizeof(sym), fn, sizeof(fn)) && !skipped(fn)) {
                return strdup(sym);
            }
            continue;
        }
        if (strstr(m, "Call Trace:") || strstr(m, "Call trace:") || strstr(m, "backtrace:") ||
            starts(m, "Backtrace:")) {
            in_trace = true;
            continue;
        }
        if (strstr(m, "<IRQ>") || strstr(m, "<NMI>")) {
            in_irq = true;
            continue;
        }
        if (strstr(m, "</IRQ>") || strstr(m, "</NMI>")) {
            in_irq = false;
            continue;
        }
        if (!in_trace) {
            continue;
        }
        if (!parse_frame_line(m, sym, sizeof(sym), fn, sizeof(fn), &unrel)) {
            continue;
        }
        if (unrel || skipped(fn)) {
            continue;
        }
        if ((k == GV_LOCKUP || k == GV_RCU_STALL) && in_irq) {
            continue;
        }
        return strdup(sym);
    }
    return NULL;
}

/* KASAN: "Write of size 1 at addr" on the next lines -> " Write" */
static const char *kasan_access(const Judge *j, unsigned i, unsigned b)
{
    unsigned k;

    for (k = i + 1; k <= b && k <= i + 3; k++) {
        if (starts(j->lines[k].msg, "Read of size") || strstr(j->lines[k].msg, "Read at addr")) {
            return " Read";
        }
        if (starts(j->lines[k].msg, "Write of size") || strstr(j->lines[k].msg, "Write at addr")) {
            return " Write";
        }
    }
    return "";
}

static char *join_lines(const Judge *j, unsigned a, unsigned b)
{
    size_t len = 0;
    unsigned i;
    char *s, *p;

    for (i = a; i <= b; i++) {
        len += strlen(j->lines[i].raw) + 1;
    }
    s = malloc(len + 1);
    if (!s) {
        return NULL;
    }
    p = s;
    for (i = a; i <= b; i++) {
        size_t n = strlen(j->lines[i].raw);

        memcpy(p, j->lines[i].raw, n);
        p += n;
        *p++ = '\n';
    }
    *p = '\0';
    return s;
}

GvReport *gv_judge(const char *log, size_t len, const char *marker, const GvOptions *opt)
{
    static const GvOptions defaults;
    GvReport *r = calloc(1, sizeof(*r));
    Judge j = { 0 };
    char *buf = NULL;
    regex_t *res = NULL;
    size_t nres = 0, fcap = 0, i, nl = 1;
    unsigned start = 0, cap, li, lo;
    unsigned n_ts = 0, n_nonempty = 0;

    if (!r) {
        return NULL;
    }
    if (!opt) {
        opt = &defaults;
    }
    if (!log) {
        len = 0;
    }
    j.opt = opt;
    cap = opt->max_block_lines ? opt->max_block_lines : GV_DEFAULT_CAP;

    /* allow-list */
    if (opt->n_allow) {
        res = calloc(opt->n_allow, sizeof(*res));
        if (!res) {
            goto oom;
        }
        for (nres = 0; nres < opt->n_allow; nres++) {
            int rc;

            if (!opt->allow || !opt->allow[nres]) {
                r->error = xasprintf("allow-list entry %zu is NULL", nres);
                goto out;
            }
            rc = regcomp(&res[nres], opt->allow[nres], REG_EXTENDED | REG_NOSUB);
            if (rc != 0) {
                char eb[128];

                regerror(rc, &res[nres], eb, sizeof(eb));
                r->error = xasprintf("bad allow-list regex '%s': %s", opt->allow[nres], eb);
                goto out;
            }
        }
    }

    /* sanitize and split */
    buf = malloc(len + 1);
    if (!buf) {
        goto oom;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)log[i];

        if (c == '\n') {
            nl++;
            buf[i] = '\0';
        } else if (c == '\r') {
            buf[i] = (i + 1 >= len || log[i + 1] == '\n' || log[i + 1] == '\r') ? '\r' : ' ';
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            buf[i] = '?';
        } else {
            buf[i] = (char)c;
        }
    }
    buf[len] = '\0';
    if (len > 0 && log[len - 1] == '\n') {
        nl--;           /* a final newline does not start a line */
    }
    if (nl > 0xfffffff0u) {
        goto oom;
    }
    j.lines = calloc(nl ? nl : 1, sizeof(*j.lines));
    if (!j.lines) {
        goto oom;
    }
    {
        char *p = buf;
        char *end = buf + len;

        for (li = 0; li < nl; li++) {
            size_t n = strlen(p);
            char *q = p + n;

            while (q > p && q[-1] == '\r') {
                *--q = '\0';
            }
            for (q = p; *q; q++) {
                if (*q == '\r') {
                    *q = ' ';
                }
            }
            j.lines[li].raw = p;
            strip_prefixes(&j.lines[li]);
            if (j.lines[li].msg[0]) {
                n_nonempty++;
                n_ts += j.lines[li].has_ts;
            }
            p += n + 1;
            if (p > end) {
                p = end;
            }
        }
    }
    j.n = (unsigned)nl;
    r->n_lines = j.n;
    /* a log whose kernel lines mostly carry timestamps: lines without one
     * are someone else's output */
    j.ts_ctx = n_ts > 0 && n_ts * 2 >= n_nonempty;

    /* marker */
    if (marker && *marker) {
        r->marker_given = true;
        for (li = 0; li < j.n; li++) {
            if (strstr(j.lines[li].raw, marker)) {
                r->marker_found = true;
                r->marker_line = li + 1;
                start = li + 1;
                break;
            }
        }
    }

    /* reports */
    lo = start;
    for (li = start; li < j.n; li++) {
        Header h, h2;
        GvFinding f = { 0 };
        unsigned first = li, last = li, k, foreign_run = 0;
        bool ended = false, soft_end = false, capped = false;
        const char *acc = "";
        char *frame;

        if (!header_at(&j, li, &h)) {
            continue;
        }
        if (h.weak_warning && !weak_warning_counts(&j, li, lo)) {
            continue;
        }
        /* the report's preamble: "cut here", the "====" rule */
        for (k = li; k > lo && k + 3 > li; k--) {
            const char *m = j.lines[k - 1].msg;

            if (is_cut_here(m)) {
                first = k - 1;
                break;
            }
            if (is_rule(m, '=') && k == li) {
                first = k - 1;
                break;
            }
        }
        for (k = li + 1; k < j.n; k++) {
            const Line *l = &j.lines[k];

            if (k - first >= cap) {
                capped = true;
                break;
            }
            if (header_at(&j, k, &h2)) {
                bool absorb = false;

                if (h2.oops_line && k <= li + 8 &&
                    (h.kind == GV_OOPS || h.kind == GV_BUG || h.kind == GV_LIST_CORRUPTION ||
                     h.kind == GV_GPF || h.kind == GV_KASAN)) {
                    absorb = true;
                }
                if (h2.kernel_bug && h.kind == GV_LIST_CORRUPTION && k <= li + 4) {
                    absorb = true;
                }
                if (h2.weak_warning && !weak_warning_counts(&j, k, li)) {
                    absorb = true;
                }
                if (!absorb) {
                    break;
                }
            }
            /* "cut here" opens the next report (list corruption's own BUG
             * follows its message) */
            if (!l->user && is_cut_here(l->msg) &&
                !(h.kind == GV_LIST_CORRUPTION && k <= li + 2)) {
                break;
            }
            if (soft_end) {
                if (l->user || (j.ts_ctx && !l->has_ts) || !is_tail_line(l->msg, h.kind)) {
                    ended = true;
                    break;
                }
                soft_end = false;
            }
            if (!l->user && is_end_trace(l->msg)) {
                last = k;
                while (k + 1 < j.n && !j.lines[k + 1].user &&
                       is_register_line(j.lines[k + 1].msg)) {
                    last = ++k;
                }
                ended = true;
                break;
            }
            if (!l->user && (h.kind == GV_KASAN || h.kind == GV_UBSAN) && is_rule(l->msg, '=')) {
                last = k;
                ended = true;
                break;
            }
            if (!l->user && starts_ws(l->msg, "</TASK>")) {
                last = k;
                soft_end = true;
                foreign_run = 0;
                continue;
            }
            if (foreign(&j, l, h.kind)) {
                if (++foreign_run > GV_FOREIGN_RUN) {
                    break;      /* other output: the report is over */
                }
                continue;
            }
            foreign_run = 0;
            last = k;
        }
        if (k >= j.n && soft_end) {
            ended = true;           /* the log ends after the last stack */
        }
        {
            /* a __warn() WARNING ends with "---[ end trace"; a bare
             * "WARNING: prose" line (any_warning) has no end to miss */
            bool warn_full = h.kind == GV_WARNING &&
                             (strstr(j.lines[li].msg, "WARNING: CPU: ") ||
                              strstr(j.lines[li].msg, "WARNING: at "));
            bool strict = warn_full || h.kind == GV_OOPS || h.kind == GV_GPF ||
                          (h.kind == GV_BUG && h.kernel_bug) ||
                          h.kind == GV_LIST_CORRUPTION || h.kind == GV_KASAN ||
                          h.kind == GV_UBSAN;
            bool eof = k >= j.n;

            /* ended: an end marker, or the stack's end followed by other
             * output.  Otherwise a report with an end marker is truncated;
             * one without is truncated only when the log stops inside it. */
            f.truncated = capped ||
                          (!ended && (strict || (eof && foreign_run == 0 && h.kind != GV_KMEMLEAK)));
        }
        f.kind = h.kind;
        f.line = li + 1;
        f.block_first = first + 1;
        f.block_last = last + 1;
        f.text = strdup(j.lines[li].msg);
        f.block = join_lines(&j, first, last);
        if (h.kind == GV_KASAN) {
            acc = kasan_access(&j, li, last);
        }
        frame = find_frame(&j, li, li, last, h.kind);
        f.frame = frame;
        f.title = xasprintf("%s%s", h.title, acc);
        f.signature = frame ? xasprintf("%s%s in %s", h.title, acc, frame)
                            : xasprintf("%s%s", h.title, acc);
        f.dup_of = -1;
        if (!f.text || !f.block || !f.title || !f.signature) {
            free_finding(&f);
            goto oom;
        }
        /* allow-list */
        for (i = 0; i < nres; i++) {
            if (regexec(&res[i], f.text, 0, NULL, 0) == 0 ||
                regexec(&res[i], f.signature, 0, NULL, 0) == 0) {
                break;
            }
        }
        if (i < nres) {
            r->n_allowed++;
            free_finding(&f);
        } else {
            size_t d;

            for (d = 0; d < r->n; d++) {
                if (strcmp(r->findings[d].signature, f.signature) == 0) {
                    f.dup_of = (int)d;
                    break;
                }
            }
            if (f.dup_of < 0) {
                r->n_unique++;
            }
            if (add_finding(r, &fcap, &f) < 0) {
                free_finding(&f);
                goto oom;
            }
        }
        li = last > li ? last : li;
        lo = li + 1;
    }
    goto out;

oom:
    gv_report_free(r);
    r = NULL;
out:
    for (i = 0; i < nres; i++) {
        regfree(&res[i]);
    }
    free(res);
    free(j.lines);
    free(buf);
    return r;
}

void gv_report_free(GvReport *r)
{
    size_t i;

    if (!r) {
        return;
    }
    for (i = 0; i < r->n; i++) {
        free_finding(&r->findings[i]);
    }
    free(r->findings);
    free(r->error);
    free(r);
}

bool gv_failed(const GvReport *r)
{
    return r && (r->n > 0 || r->error);
}

char *gv_format(const GvFinding *f)
{
    if (!f) {
        return NULL;
    }
    return xasprintf("%s at line %u%s", f->signature, f->line,
                     f->truncated ? " (truncated)" : "");
}

char *gv_format_summary(const GvReport *r)
{
    char *s = NULL;
    size_t sl = 0;
    FILE *fp;
    size_t i;

    if (!r) {
        return NULL;
    }
    fp = open_memstream(&s, &sl);
    if (!fp) {
        return NULL;
    }
    if (r->error) {
        fprintf(fp, "kernel log: ERROR: %s\n", r->error);
    } else if (r->n == 0) {
        fprintf(fp, "kernel log: clean (%u lines", r->n_lines);
        if (r->n_allowed) {
            fprintf(fp, ", %zu allowed report%s", r->n_allowed, r->n_allowed == 1 ? "" : "s");
        }
        fprintf(fp, ")\n");
    } else {
        fprintf(fp, "kernel log: FAIL: %zu report%s, %zu distinct", r->n, r->n == 1 ? "" : "s",
                r->n_unique);
        if (r->n_allowed) {
            fprintf(fp, ", %zu allowed", r->n_allowed);
        }
        fprintf(fp, "\n");
    }
    if (r->marker_given) {
        if (r->marker_found) {
            fprintf(fp, "  judged after the marker at line %u\n", r->marker_line);
        } else {
            fprintf(fp, "  marker not found: the whole log was judged\n");
        }
    }
    for (i = 0; i < r->n; i++) {
        const GvFinding *f = &r->findings[i];
        size_t c = 0, k;

        if (f->dup_of >= 0) {
            continue;
        }
        for (k = i; k < r->n; k++) {
            c += r->findings[k].dup_of == (int)i || k == i;
        }
        fprintf(fp, "  %s: %s at line %u (lines %u-%u%s)", gv_kind_name(f->kind), f->signature,
                f->line, f->block_first, f->block_last, f->truncated ? ", truncated" : "");
        if (c > 1) {
            fprintf(fp, " x%zu", c);
        }
        fprintf(fp, "\n    %s\n", f->text);
    }
    if (fclose(fp) != 0) {
        free(s);
        return NULL;
    }
    return s;
}
