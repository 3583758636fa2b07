/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stack frames (verdict.h, verdict_priv.h): the frames that say nothing
 * about the culprit (reporting machinery, lockdep, waiting, allocators,
 * stack bottoms), "sym+0xOFF/0xLEN [mod]" parsing, and gv_find_frame(),
 * the first meaningful frame of a report, which ends its signature.
 */
#define _GNU_SOURCE
#include "verdict_priv.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* first meaningful frame of lines [a, b] of a report of kind K */
char *gv_find_frame(const Judge *j, unsigned hdr, unsigned a, unsigned b, GvKind k)
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
const char *gv_kasan_access(const Judge *j, unsigned i, unsigned b)
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
