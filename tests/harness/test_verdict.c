/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of the kernel-log verdict rules (verdict.h) on real kernel logs:
 * tests/kernel-logs/ holds serial consoles of the pinned Debian guest
 * kernel made to WARN, oops, BUG, hang, lock up, stall RCU and corrupt a
 * list by tests/splat/gauntlet_splat.ko (tests/splat/capture.sh), plus the
 * example reports quoted by the kernel's documentation (KASAN, UBSAN,
 * lockdep-RCU, RCU stall, kmemleak).  See tests/kernel-logs/README.
 *
 * Suite "verdict": Suite *verdict_suite(void).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "verdict.h"

#ifndef GV_LOG_DIR
#define GV_LOG_DIR "tests/harness/kernel-logs"
#endif

#define SPLAT_MOD "[gauntlet_splat]"

typedef struct Buf {
    char *p;
    size_t n;
} Buf;

static Buf load(const char *name)
{
    char path[512];
    Buf b = { 0 };
    FILE *f;
    long n;

    snprintf(path, sizeof(path), "%s/%s", GV_LOG_DIR, name);
    f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open fixture %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    b.p = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(b.p);
    b.n = fread(b.p, 1, (size_t)n, f);
    ck_assert_uint_eq(b.n, (size_t)n);
    b.p[b.n] = '\0';
    fclose(f);
    return b;
}

static GvReport *judge_file(const char *name, const char *marker, const GvOptions *opt)
{
    Buf b = load(name);
    GvReport *r = gv_judge(b.p, b.n, marker, opt);

    free(b.p);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_null(r->error);
    return r;
}

static GvReport *judge_str(const char *s, const char *marker, const GvOptions *opt)
{
    GvReport *r = gv_judge(s, strlen(s), marker, opt);

    ck_assert_ptr_nonnull(r);
    return r;
}

static void expect(const GvReport *r, size_t i, GvKind kind, unsigned line, const char *sig,
                   bool truncated)
{
    const GvFinding *f;

    ck_assert_msg(i < r->n, "finding %zu missing (have %zu)", i, r->n);
    f = &r->findings[i];
    ck_assert_msg(f->kind == kind, "finding %zu: kind %s, want %s", i, gv_kind_name(f->kind),
                  gv_kind_name(kind));
    ck_assert_uint_eq(f->line, line);
    ck_assert_str_eq(f->signature, sig);
    ck_assert_msg(f->truncated == truncated, "finding %zu: truncated %d", i, f->truncated);
    ck_assert_uint_le(f->block_first, f->line);
    ck_assert_uint_ge(f->block_last, f->line);
    ck_assert_ptr_null(strchr(f->text, '\r'));
}

/* ---- real logs from the VM -------------------------------------------------------- */

#define MARK "gauntlet: scenario splat-"

START_TEST(clean_boot_has_no_finding)
{
    GvReport *r = judge_file("clean.log", MARK "clean start", NULL);

    ck_assert_uint_eq(r->n, 0);
    ck_assert(r->marker_found);
    ck_assert_uint_eq(r->marker_line, 322);
    ck_assert(!gv_failed(r));
    gv_report_free(r);
    /* the whole boot, no marker, is clean too */
    r = judge_file("clean.log", NULL, NULL);
    ck_assert_uint_eq(r->n, 0);
    ck_assert(!r->marker_given);
    gv_report_free(r);
}
END_TEST

START_TEST(innocent_warning_words)
{
    GvOptions blk = { .any_warning = true };
    GvReport *r = judge_file("innocent.log", MARK "innocent start", NULL);

    /* "WARNING: ..." echoed into /dev/kmsg: no stack, not a kernel WARN */
    ck_assert_uint_eq(r->n, 0);
    gv_report_free(r);
    /* blktests' rule counts it (and only it: the other lines do not start
     * with "WARNING:") */
    r = judge_file("innocent.log", MARK "innocent start", &blk);
    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_WARNING, 323, "WARNING", false);
    ck_assert_str_eq(r->findings[0].text,
                     "WARNING: this line was written by userspace to /dev/kmsg");
    gv_report_free(r);
}
END_TEST

START_TEST(warn_on)
{
    GvReport *r = judge_file("warn.log", MARK "warn start", NULL);
    const char *sig = "WARNING in gauntlet_splat_warn " SPLAT_MOD;
    char *s;

    /* the console, then the same report in the `dmesg -r` and /dev/kmsg
     * dumps that capture.sh prints: three findings, one signature */
    ck_assert_uint_eq(r->n, 3);
    ck_assert_uint_eq(r->n_unique, 1);
    expect(r, 0, GV_WARNING, 327, sig, false);
    expect(r, 1, GV_WARNING, 700, sig, false);
    expect(r, 2, GV_WARNING, 1132, sig, false);
    ck_assert_int_eq(r->findings[0].dup_of, -1);
    ck_assert_int_eq(r->findings[1].dup_of, 0);
    ck_assert_int_eq(r->findings[2].dup_of, 0);
    /* from "cut here" to the registers after "---[ end trace" */
    ck_assert_uint_eq(r->findings[0].block_first, 326);
    ck_assert_uint_eq(r->findings[0].block_last, 362);
    ck_assert_str_eq(r->findings[0].frame, "gauntlet_splat_warn " SPLAT_MOD);
    ck_assert_ptr_nonnull(strstr(r->findings[0].block, "---[ end trace"));
    ck_assert_ptr_nonnull(strstr(r->findings[0].block, "[ cut here ]"));
    s = gv_format(&r->findings[0]);
    ck_assert_str_eq(s, "WARNING in gauntlet_splat_warn [gauntlet_splat] at line 327");
    free(s);
    s = gv_format_summary(r);
    ck_assert_ptr_nonnull(strstr(s, "kernel log: FAIL: 3 reports, 1 distinct"));
    ck_assert_ptr_nonnull(strstr(s, "judged after the marker at line 322"));
    ck_assert_ptr_nonnull(strstr(s, "WARNING: WARNING in gauntlet_splat_warn [gauntlet_splat] "
                                    "at line 327 (lines 326-362) x3"));
    free(s);
    gv_report_free(r);
}
END_TEST

START_TEST(warn_dmesg_r_level_prefixes)
{
    /* "<4>[    3.070369] WARNING: ..."; the marker line is "<12>" (user) */
    GvReport *r = judge_file("warn-dmesg-r.log", MARK "warn start", NULL);

    ck_assert_uint_eq(r->marker_line, 332);
    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_WARNING, 337, "WARNING in gauntlet_splat_warn " SPLAT_MOD, false);
    ck_assert_str_eq(r->findings[0].text,
                     "WARNING: CPU: 0 PID: 98 at /tmp/gauntlet-splat.rm8P7e/gauntlet_splat.c:37 "
                     "gauntlet_splat_warn+0x5/0xc [gauntlet_splat]");
    gv_report_free(r);
}
END_TEST

START_TEST(warn_kmsg_records)
{
    /* raw /dev/kmsg: "4,339,3070369,-;WARNING: ..." */
    GvReport *r = judge_file("warn-kmsg.log", MARK "warn start", NULL);

    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_WARNING, 395, "WARNING in gauntlet_splat_warn " SPLAT_MOD, false);
    ck_assert_uint_eq(r->findings[0].block_first, 394);
    ck_assert_uint_eq(r->findings[0].block_last, 430);
    gv_report_free(r);
}
END_TEST

START_TEST(null_deref_oops_in_work)
{
    GvReport *r = judge_file("oops.log", MARK "oops start", NULL);

    ck_assert_uint_eq(r->n, 1);   /* the "Oops: 0002 [#1]" line is the same report */
    expect(r, 0, GV_OOPS, 328,
           "BUG: kernel NULL pointer dereference in gauntlet_splat_oops_work " SPLAT_MOD, false);
    ck_assert_uint_eq(r->findings[0].block_last, 369);
    gv_report_free(r);
}
END_TEST

START_TEST(bug_in_kthread)
{
    GvReport *r = judge_file("bug.log", MARK "bug start", NULL);

    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_BUG, 329, "kernel BUG in gauntlet_splat_bug_thread " SPLAT_MOD, false);
    ck_assert_uint_eq(r->findings[0].block_first, 328);
    ck_assert_uint_eq(r->findings[0].block_last, 362);
    gv_report_free(r);
}
END_TEST

START_TEST(hung_task)
{
    GvReport *r = judge_file("hung.log", MARK "hung start", NULL);
    const char *sig = "INFO: task hung in gauntlet_splat_hung_thread " SPLAT_MOD;

    /* reported every 2 s while it sleeps: 4 reports, 1 signature */
    ck_assert_uint_eq(r->n, 4);
    ck_assert_uint_eq(r->n_unique, 1);
    expect(r, 0, GV_HUNG_TASK, 328, sig, false);
    expect(r, 1, GV_HUNG_TASK, 344, sig, false);
    expect(r, 3, GV_HUNG_TASK, 376, sig, false);
    ck_assert_uint_eq(r->findings[0].block_last, 343);
    gv_report_free(r);
}
END_TEST

START_TEST(soft_lockup)
{
    GvReport *r = judge_file("lockup.log", MARK "lockup start", NULL);

    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_LOCKUP, 327, "BUG: soft lockup in gauntlet_splat_spin " SPLAT_MOD, false);
    gv_report_free(r);
}
END_TEST

START_TEST(rcu_stall)
{
    GvReport *r = judge_file("rcustall.log", MARK "rcustall start", NULL);

    /* the GP kthread's own stack (rcu_gp_fqs_loop) is not the culprit */
    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_RCU_STALL, 327, "INFO: rcu detected stall in gauntlet_splat_spin " SPLAT_MOD,
           false);
    ck_assert_uint_eq(r->findings[0].block_last, 368);
    gv_report_free(r);
}
END_TEST

START_TEST(list_del_corruption)
{
    GvReport *r = judge_file("listdel.log", MARK "listdel start", NULL);

    /* CONFIG_BUG_ON_DATA_CORRUPTION: its "kernel BUG at lib/list_debug.c"
     * belongs to the same report; __list_del_entry_valid is skipped */
    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_LIST_CORRUPTION, 327,
           "list_del corruption in gauntlet_splat_listdel_thread " SPLAT_MOD, false);
    gv_report_free(r);
}
END_TEST

/* ---- the kernel documentation's example reports ---------------------------------- */

START_TEST(doc_kasan)
{
    GvReport *r = judge_file("doc-kasan.log", NULL, NULL);

    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_KASAN, 2, "KASAN: slab-out-of-bounds Write in kmalloc_oob_right [test_kasan]",
           false);
    ck_assert_uint_eq(r->findings[0].block_first, 1);
    ck_assert_uint_eq(r->findings[0].block_last, 70);
    gv_report_free(r);
}
END_TEST

START_TEST(doc_ubsan)
{
    GvReport *r = judge_file("doc-ubsan.log", NULL, NULL);

    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_UBSAN, 2, "UBSAN: Undefined behaviour in _mix_pool_bytes", false);
    ck_assert_uint_eq(r->findings[0].block_last, 27);
    gv_report_free(r);
}
END_TEST

START_TEST(doc_lockdep_rcu)
{
    GvReport *r = judge_file("doc-lockdep-rcu.log", NULL, NULL);

    /* an old (3.0) trace without "</TASK>": the log ends inside it */
    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_LOCKDEP, 2, "LOCKDEP: suspicious RCU usage in __cfq_exit_single_io_context",
           true);
    ck_assert_uint_eq(r->findings[0].block_first, 1);
    gv_report_free(r);
}
END_TEST

START_TEST(doc_rcu_stall)
{
    GvReport *r = judge_file("doc-rcu-stall.log", NULL, NULL);

    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_RCU_STALL, 1, "INFO: rcu detected stall", true);
    ck_assert_ptr_null(r->findings[0].frame);
    gv_report_free(r);
}
END_TEST

START_TEST(doc_kmemleak)
{
    GvReport *r = judge_file("doc-kmemleak.log", NULL, NULL);

    /* the leaking module's frame is a bare address: no frame */
    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_KMEMLEAK, 2, "memory leak", false);
    gv_report_free(r);
}
END_TEST

/* ---- marker, allow-list --------------------------------------------------------------- */

START_TEST(marker_not_found_judges_everything)
{
    GvReport *r = judge_file("warn.log", "no such marker", NULL);
    char *s;

    ck_assert(r->marker_given);
    ck_assert(!r->marker_found);
    ck_assert_uint_eq(r->n, 3);
    s = gv_format_summary(r);
    ck_assert_ptr_nonnull(strstr(s, "marker not found: the whole log was judged"));
    free(s);
    gv_report_free(r);
}
END_TEST

START_TEST(marker_after_report)
{
    /* the scenario's end marker comes after every report */
    GvReport *r = judge_file("warn.log", MARK "warn end", NULL);

    ck_assert(r->marker_found);
    ck_assert_uint_eq(r->n, 0);
    gv_report_free(r);
    /* another scenario's reports before our marker do not count */
    r = judge_file("hung.log", MARK "hung end", NULL);
    ck_assert_uint_eq(r->n, 0);
    gv_report_free(r);
}
END_TEST

START_TEST(allow_list)
{
    const char *allow[] = { "gauntlet_splat_warn", "^INFO: task hung in " };
    GvOptions opt = { .allow = allow, .n_allow = 2 };
    GvReport *r = judge_file("warn.log", MARK "warn start", &opt);
    char *s;

    ck_assert_uint_eq(r->n, 0);
    ck_assert_uint_eq(r->n_allowed, 3);
    ck_assert(!gv_failed(r));
    s = gv_format_summary(r);
    ck_assert_ptr_nonnull(strstr(s, "clean"));
    ck_assert_ptr_nonnull(strstr(s, "3 allowed reports"));
    free(s);
    gv_report_free(r);
    r = judge_file("hung.log", NULL, &opt);       /* matches the signature */
    ck_assert_uint_eq(r->n, 0);
    ck_assert_uint_eq(r->n_allowed, 4);
    gv_report_free(r);
    r = judge_file("oops.log", NULL, &opt);       /* others still count */
    ck_assert_uint_eq(r->n, 1);
    gv_report_free(r);
}
END_TEST

START_TEST(allow_list_bad_regex)
{
    const char *allow[] = { "(unclosed" };
    GvOptions opt = { .allow = allow, .n_allow = 1 };
    GvReport *r = judge_str("[ 1.0] hello\n", NULL, &opt);

    ck_assert_ptr_nonnull(r->error);
    ck_assert_ptr_nonnull(strstr(r->error, "(unclosed"));
    ck_assert(gv_failed(r));
    gv_report_free(r);
}
END_TEST

/* The shipped known-issues list (harness/known-kernel-issues.txt) lets
 * exactly the pciehp lockdep report through: a real log from a hot-plug
 * scenario on the debug kernel, and a lockdep report elsewhere still fails. */
START_TEST(known_issues_file)
{
    FILE *f = fopen(GV_KNOWN_ISSUES, "r");
    const char *allow[16];
    GvOptions opt = { .allow = allow };
    char line[512];
    GvReport *r;

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] && line[0] != '#') {
            ck_assert_uint_lt(opt.n_allow, 16);
            allow[opt.n_allow++] = strdup(line);
        }
    }
    fclose(f);
    ck_assert_uint_gt(opt.n_allow, 0);
    r = judge_file("pciehp-lockdep.log", NULL, NULL);
    ck_assert_uint_eq(r->n, 1);
    ck_assert_int_eq(r->findings[0].kind, GV_LOCKDEP);
    gv_report_free(r);
    r = judge_file("pciehp-lockdep.log", NULL, &opt);
    ck_assert_uint_eq(r->n, 0);
    ck_assert_uint_eq(r->n_allowed, 1);
    gv_report_free(r);
    r = judge_file("doc-lockdep-rcu.log", NULL, &opt);
    ck_assert_uint_gt(r->n, 0);
    gv_report_free(r);
    for (size_t i = 0; i < opt.n_allow; i++) {
        free((char *)allow[i]);
    }
}
END_TEST

/* ---- console artefacts ---------------------------------------------------------------- */

/* first N lines of a buffer */
static size_t prefix_lines(const Buf *b, unsigned n)
{
    size_t i;
    unsigned l = 0;

    for (i = 0; i < b->n; i++) {
        if (b->p[i] == '\n' && ++l == n) {
            return i + 1;
        }
    }
    return b->n;
}

START_TEST(truncated_log)
{
    Buf b = load("warn.log");
    GvReport *r;

    /* the log stops in the middle of the call trace */
    r = gv_judge(b.p, prefix_lines(&b, 347), MARK "warn start", NULL);
    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_WARNING, 327, "WARNING in gauntlet_splat_warn " SPLAT_MOD, true);
    ck_assert_uint_eq(r->findings[0].block_last, 347);
    gv_report_free(r);
    /* ... in the middle of a line, right after the header */
    r = gv_judge(b.p, prefix_lines(&b, 326) + 40, MARK "warn start", NULL);
    ck_assert_uint_eq(r->n, 1);
    ck_assert_int_eq(r->findings[0].kind, GV_WARNING);
    ck_assert(r->findings[0].truncated);
    gv_report_free(r);
    free(b.p);

    b = load("oops.log");
    r = gv_judge(b.p, prefix_lines(&b, 350), NULL, NULL);
    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_OOPS, 328,
           "BUG: kernel NULL pointer dereference in gauntlet_splat_oops_work " SPLAT_MOD, true);
    gv_report_free(r);
    free(b.p);
}
END_TEST

static char *without_cr(const Buf *b, size_t *n)
{
    char *o = malloc(b->n + 1);
    size_t i, k = 0;

    for (i = 0; i < b->n; i++) {
        if (b->p[i] != '\r') {
            o[k++] = b->p[i];
        }
    }
    o[k] = '\0';
    *n = k;
    return o;
}

START_TEST(lf_and_crlf_agree)
{
    static const char *const logs[] = { "warn.log", "oops.log", "hung.log", "listdel.log" };
    size_t i, k;

    for (i = 0; i < 4; i++) {
        Buf b = load(logs[i]);          /* the serial console: CRLF */
        size_t n;
        char *lf = without_cr(&b, &n);
        GvReport *a = gv_judge(b.p, b.n, MARK, NULL);
        GvReport *c = gv_judge(lf, n, MARK, NULL);

        ck_assert_uint_gt(a->n, 0);
        ck_assert_uint_eq(a->n, c->n);
        for (k = 0; k < a->n; k++) {
            ck_assert_uint_eq(a->findings[k].line, c->findings[k].line);
            ck_assert_str_eq(a->findings[k].signature, c->findings[k].signature);
            ck_assert_str_eq(a->findings[k].block, c->findings[k].block);
            ck_assert_int_eq(a->findings[k].truncated, c->findings[k].truncated);
        }
        gv_report_free(a);
        gv_report_free(c);
        free(lf);
        free(b.p);
    }
}
END_TEST

/* strip "[    1.234567] " timestamps (printk.time=0) */
static char *without_timestamps(const Buf *b, size_t *n)
{
    char *o = malloc(b->n + 1);
    size_t i = 0, k = 0;
    bool bol = true;

    while (i < b->n) {
        if (bol && b->p[i] == '[') {
            size_t j = i + 1;

            while (j < b->n && (b->p[j] == ' ' || b->p[j] == '.' ||
                                (b->p[j] >= '0' && b->p[j] <= '9'))) {
                j++;
            }
            if (j < b->n && b->p[j] == ']' && j + 1 < b->n && b->p[j + 1] == ' ') {
                i = j + 2;
            }
        }
        bol = b->p[i] == '\n';
        o[k++] = b->p[i++];
    }
    o[k] = '\0';
    *n = k;
    return o;
}

START_TEST(no_timestamps)
{
    static const char *const logs[] = { "warn.log", "oops.log", "bug.log", "hung.log",
                                        "lockup.log", "rcustall.log", "listdel.log" };
    size_t i, k;

    for (i = 0; i < 7; i++) {
        Buf b = load(logs[i]);
        size_t n;
        char *nt = without_timestamps(&b, &n);
        GvReport *a = gv_judge(b.p, b.n, MARK, NULL);
        GvReport *c = gv_judge(nt, n, MARK, NULL);

        ck_assert_msg(a->n == c->n, "%s: %zu vs %zu findings", logs[i], a->n, c->n);
        for (k = 0; k < a->n; k++) {
            ck_assert_uint_eq(a->findings[k].line, c->findings[k].line);
            ck_assert_str_eq(a->findings[k].signature, c->findings[k].signature);
        }
        gv_report_free(a);
        gv_report_free(c);
        free(nt);
        free(b.p);
    }
}
END_TEST

START_TEST(interleaved_output)
{
    /* userspace output (no timestamp) inside the call trace, and a report
     * glued to the end of a userspace line */
    const char *log =
        "[    3.070219] ------------[ cut here ]------------\r\n"
        "[    3.070369] WARNING: CPU: 0 PID: 98 at drivers/kestrel/cq.c:812 "
        "kestrel_cq_reap_locked+0x5/0xc [kestrel]\r\n"
        "[    3.070898] Modules linked in: kestrel(OE+)\r\n"
        "GAUNTLET-STEP: stress pass\r\n"
        "[    3.074367] Call Trace:\r\n"
        "[    3.075118]  <TASK>\r\n"
        "stress: 1234 ops\r\n"
        "[    3.075343]  kestrel_irq+0x3e/0x100 [kestrel]\r\n"
        "[    3.078617]  </TASK>\r\n"
        "[    3.078617] ---[ end trace 0000000000000000 ]---\r\n"
        "[    3.100000] kestrel 0000:00:02.0: reset done\r\n"
        "progress 50%[    4.000000] BUG: kernel NULL pointer dereference, address: 0000000000000008\r\n"
        "[    4.000001] RIP: 0010:kestrel_sq_submit+0x12/0x50 [kestrel]\r\n";
    GvReport *r = judge_str(log, NULL, NULL);
    char *s;

    ck_assert_uint_eq(r->n, 2);
    expect(r, 0, GV_WARNING, 2, "WARNING in kestrel_cq_reap_locked [kestrel]", false);
    ck_assert_uint_eq(r->findings[0].block_first, 1);
    ck_assert_uint_eq(r->findings[0].block_last, 10);
    s = gv_format(&r->findings[0]);
    ck_assert_str_eq(s, "WARNING in kestrel_cq_reap_locked [kestrel] at line 2");
    free(s);
    expect(r, 1, GV_OOPS, 12, "BUG: kernel NULL pointer dereference in kestrel_sq_submit [kestrel]",
           true);
    gv_report_free(r);
}
END_TEST

START_TEST(caller_ids_and_userspace_levels)
{
    const char *log =
        "<12>[    1.000000][  T100] WARNING: CPU: 0 PID: 1 at x.c:1 fake+0x1/0x2\n"
        "12,5,1000000,-;BUG: kernel NULL pointer dereference, address: 0\n"
        "<4>[    2.000000][    T1] ------------[ cut here ]------------\n"
        "<4>[    2.000001][    T1] WARNING: CPU: 0 PID: 1 at drivers/kestrel/cq.c:812 "
        "kestrel_cq_reap_locked+0x5/0xc [kestrel]\n"
        "<4>[    2.000002][    T1] RIP: 0010:kestrel_cq_reap_locked+0x5/0xc [kestrel]\n"
        "<4>[    2.000003][    T1] ---[ end trace 0000000000000000 ]---\n";
    GvOptions blk = { .any_warning = true };
    GvReport *r = judge_str(log, NULL, &blk);

    /* "<12>" and "12,...;" were written by userspace: never a report */
    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_WARNING, 4, "WARNING in kestrel_cq_reap_locked [kestrel]", false);
    ck_assert_uint_eq(r->findings[0].block_first, 3);
    gv_report_free(r);
}
END_TEST

/* ---- report shapes the VM logs do not have -------------------------------------------- */

START_TEST(lockdep_circular)
{
    /* constructed after kernel/locking/lockdep.c:print_circular_bug() */
    const char *log =
        "[   50.000000] gauntlet: scenario lockdep start\n"
        "[   50.100000] ======================================================\n"
        "[   50.100000] WARNING: possible circular locking dependency detected\n"
        "[   50.100000] 6.1.0-50-amd64 #1 Tainted: G           OE\n"
        "[   50.100000] ------------------------------------------------------\n"
        "[   50.100000] kworker/0:1/42 is trying to acquire lock:\n"
        "[   50.100000] ffff8880049c0a10 (&kdev->cq_lock){+.+.}-{2:2}, at: "
        "kestrel_cq_reap_locked+0x20/0x90 [kestrel]\n"
        "[   50.100000] \n"
        "               but task is already holding lock:\n"
        "[   50.100000] ffff8880049c0a50 (&kdev->sq_lock){+.+.}-{2:2}, at: "
        "kestrel_sq_submit+0x30/0x120 [kestrel]\n"
        "[   50.100000] \n"
        "               which lock already depends on the new lock.\n"
        "[   50.100000] -> #1 (&kdev->sq_lock){+.+.}-{2:2}:\n"
        "[   50.100000]        _raw_spin_lock+0x2c/0x40\n"
        "[   50.100000]        kestrel_sq_submit+0x30/0x120 [kestrel]\n"
        "[   50.100000] \n"
        "               other info that might help us debug this:\n"
        "[   50.100000]  Possible unsafe locking scenario:\n"
        "[   50.100000]        CPU0                    CPU1\n"
        "[   50.100000]        ----                    ----\n"
        "[   50.100000]   lock(&kdev->sq_lock);\n"
        "[   50.100000]  *** DEADLOCK ***\n"
        "[   50.100000] stack backtrace:\n"
        "[   50.100000] CPU: 0 PID: 42 Comm: kworker/0:1 Tainted: G           OE\n"
        "[   50.100000] Call Trace:\n"
        "[   50.100000]  <TASK>\n"
        "[   50.100000]  dump_stack_lvl+0x5b/0x77\n"
        "[   50.100000]  check_noncircular+0xfe/0x110\n"
        "[   50.100000]  __lock_acquire+0x11d6/0x1f20\n"
        "[   50.100000]  lock_acquire+0xc2/0x2b0\n"
        "[   50.100000]  ? kestrel_cq_reap_locked+0x20/0x90 [kestrel]\n"
        "[   50.100000]  _raw_spin_lock+0x2c/0x40\n"
        "[   50.100000]  kestrel_cq_reap_locked+0x20/0x90 [kestrel]\n"
        "[   50.100000]  kestrel_irq_work+0x44/0x80 [kestrel]\n"
        "[   50.100000]  process_one_work+0x1c7/0x380\n"
        "[   50.100000]  </TASK>\n"
        "[   50.200000] kestrel 0000:00:02.0: queue 1 idle\n";
    GvReport *r = judge_str(log, "scenario lockdep start", NULL);

    ck_assert_uint_eq(r->n, 1);
    expect(r, 0, GV_LOCKDEP, 3,
           "LOCKDEP: possible circular locking dependency in kestrel_cq_reap_locked [kestrel]",
           false);
    ck_assert_uint_eq(r->findings[0].block_first, 2);
    ck_assert_uint_eq(r->findings[0].block_last, 36);
    gv_report_free(r);
}
END_TEST

START_TEST(other_shapes)
{
    /* constructed from the kernel's printk formats (no debug kernel yet) */
    const char *log =
        /* 1 */ "[ 1.0] general protection fault, probably for non-canonical address "
                "0xdffffc0000000001: 0000 [#1] PREEMPT SMP KASAN NOPTI\n"
        /* 2 */ "[ 1.0] KASAN: null-ptr-deref in range [0x0000000000000008-0x000000000000000f]\n"
        /* 3 */ "[ 1.0] RIP: 0010:kestrel_reset_prepare+0x1c/0x80 [kestrel]\n"
        /* 4 */ "[ 1.0] ---[ end trace 0000000000000000 ]---\n"
        /* 5 */ "[ 2.0] Kernel panic - not syncing: Fatal exception\n"
        /* 6 */ "[ 2.0] ---[ end Kernel panic - not syncing: Fatal exception ]---\n"
        /* 7 */ "[ 3.0] NMI watchdog: Watchdog detected hard LOCKUP on cpu 1\n"
        /* 8 */ "[ 3.0] RIP: 0010:kestrel_poll+0x10/0x20 [kestrel]\n"
        /* 9 */ "[ 4.0] ------------[ cut here ]------------\n"
        /* 10 */ "[ 4.0] refcount_t: underflow; use-after-free.\n"
        /* 11 */ "[ 4.0] WARNING: CPU: 1 PID: 7 at lib/refcount.c:28 "
                 "refcount_warn_saturate+0xba/0x110\n"
        /* 12 */ "[ 4.0] RIP: 0010:refcount_warn_saturate+0xba/0x110\n"
        /* 13 */ "[ 4.0] Call Trace:\n"
        /* 14 */ "[ 4.0]  <TASK>\n"
        /* 15 */ "[ 4.0]  kestrel_put_cmd.isra.0+0x2f/0x40 [kestrel]\n"
        /* 16 */ "[ 4.0]  </TASK>\n"
        /* 17 */ "[ 4.0] ---[ end trace 0000000000000000 ]---\n"
        /* 18 */ "[ 5.0] BUG: sleeping function called from invalid context at "
                 "kernel/locking/mutex.c:580\n"
        /* 19 */ "[ 5.0] Call Trace:\n"
        /* 20 */ "[ 5.0]  __might_resched.cold+0xf4/0x12f\n"
        /* 21 */ "[ 5.0]  kestrel_ioctl+0x50/0x200 [kestrel]\n"
        /* 22 */ "[ 6.0] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)\n"
        /* 23 */ "[ 7.0] UBSAN: array-index-out-of-bounds in drivers/kestrel/ring.c:88:9\n"
        /* 24 */ "[ 7.0] ================================================================================\n"
        /* 25 */ "[ 8.0] kestrel: WARNING: firmware 1.2 is old\n";
    GvReport *r = judge_str(log, NULL, NULL);

    ck_assert_uint_eq(r->n, 7);
    expect(r, 0, GV_GPF, 1, "general protection fault in kestrel_reset_prepare [kestrel]", false);
    expect(r, 1, GV_PANIC, 5, "Kernel panic: Fatal exception", false);
    expect(r, 2, GV_LOCKUP, 7, "BUG: hard lockup in kestrel_poll [kestrel]", false);
    expect(r, 3, GV_WARNING, 11, "WARNING in kestrel_put_cmd [kestrel]", false);
    ck_assert_uint_eq(r->findings[3].block_first, 9);
    ck_assert_int_eq(r->findings[4].kind, GV_BUG);
    ck_assert_str_eq(r->findings[4].signature,
                     "BUG: sleeping function called from invalid context in __might_resched");
    expect(r, 5, GV_KMEMLEAK, 22, "memory leak", false);
    expect(r, 6, GV_UBSAN, 23, "UBSAN: array-index-out-of-bounds", false);
    gv_report_free(r);
}
END_TEST

START_TEST(empty_and_degenerate)
{
    GvReport *r = gv_judge(NULL, 0, NULL, NULL);

    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->n, 0);
    gv_report_free(r);
    r = gv_judge("", 0, "m", NULL);
    ck_assert(!r->marker_found);
    gv_report_free(r);
    r = judge_str("\n\n\r\r\n", NULL, NULL);
    ck_assert_uint_eq(r->n, 0);
    gv_report_free(r);
    /* a NUL inside a header line does not hide it */
    r = gv_judge("x\nBUG: KASAN: use-after-free in f\0o+0x1/0x2\n", 43, NULL, NULL);
    ck_assert_uint_eq(r->n, 1);
    ck_assert_int_eq(r->findings[0].kind, GV_KASAN);
    ck_assert_uint_eq(r->findings[0].line, 2);
    gv_report_free(r);
    ck_assert_str_eq(gv_kind_name(GV_LIST_CORRUPTION), "LIST_CORRUPTION");
    ck_assert_str_eq(gv_kind_name((GvKind)99), "?");
    gv_report_free(NULL);
}
END_TEST

/* ---- robustness: 5000 random and mutated inputs ----------------------------------------- */

#ifndef GV_FUZZ_ITERS
#define GV_FUZZ_ITERS 5000
#endif

static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? (unsigned)(rng_state % n) : 0;
}

static void check_invariants(const GvReport *r, size_t len)
{
    size_t i;

    ck_assert_ptr_nonnull(r);
    for (i = 0; i < r->n; i++) {
        const GvFinding *f = &r->findings[i];
        char *s;

        ck_assert_int_lt(f->kind, GV_NKINDS);
        ck_assert_uint_ge(f->line, 1);
        ck_assert_uint_le(f->line, r->n_lines);
        ck_assert_uint_le(f->block_first, f->line);
        ck_assert_uint_ge(f->block_last, f->line);
        ck_assert_uint_le(f->block_last, r->n_lines);
        ck_assert_ptr_nonnull(f->signature);
        ck_assert_ptr_nonnull(f->block);
        ck_assert_uint_le(strlen(f->text), len);
        ck_assert_int_lt(f->dup_of, (int)i);
        s = gv_format(f);
        ck_assert_ptr_nonnull(s);
        free(s);
    }
    {
        char *s = gv_format_summary(r);

        ck_assert_ptr_nonnull(s);
        free(s);
    }
}

START_TEST(fuzz_never_crashes)
{
    static const char *const fixtures[] = {
        "warn.log", "oops.log", "bug.log", "hung.log", "lockup.log", "rcustall.log",
        "listdel.log", "warn-kmsg.log", "doc-kasan.log", "doc-ubsan.log",
        "doc-lockdep-rcu.log", "doc-kmemleak.log",
    };
    static const char *const tokens[] = {
        "WARNING: ", "WARNING: CPU: 0 PID: 1 at ", "BUG: ", "BUG: KASAN: ", "UBSAN: ",
        "Oops: 0002 [#1]", "kernel BUG at ", "INFO: task ", " blocked for more than ",
        "rcu: INFO: rcu_sched detected stalls", "watchdog: BUG: soft lockup", "Call Trace:",
        " <TASK>", " </TASK>", "<IRQ>", "---[ end trace 0 ]---", "RIP: 0010:", " f+0x1/0x2",
        " [m]", " ? ", "[<ffffffff>] ", "[    1.000000] ", "[ T1]", "<4>", "<12>", "4,1,2,-;",
        "\n", "\r\n", "\r", "", "===================================", "------------[ cut here ]",
        "list_del corruption", "general protection fault", "Kernel panic - not syncing: ",
        "unreferenced object 0x", " in ", "possible circular locking dependency detected",
        "+0x", "[", "]", ":", "abc", "\t", "\xff\xfe", "gauntlet: scenario splat-",
    };
    Buf fx[12];
    size_t i;

    for (i = 0; i < 12; i++) {
        fx[i] = load(fixtures[i]);
    }
    if (getenv("GV_FUZZ_SEED")) {      /* reproduce or widen a run */
        rng_state = strtoull(getenv("GV_FUZZ_SEED"), NULL, 0) | 1;
    }
    for (i = 0; i < GV_FUZZ_ITERS; i++) {
        size_t cap = 1 << 16, n = 0, k;
        char *b = malloc(cap);
        unsigned mode = rnd(3);
        const char *allow[] = { "f", "kestrel" };
        GvOptions opt = { .allow = allow, .n_allow = rnd(3), .any_warning = rnd(2),
                          .max_block_lines = rnd(4) ? 0 : 1 + rnd(20) };
        GvReport *r;

        if (mode == 0) {                /* random token soup */
            unsigned t = 1 + rnd(200);

            while (t-- && n + 64 < cap) {
                const char *tok = tokens[rnd(sizeof(tokens) / sizeof(tokens[0]))];
                size_t tl = strlen(tok);

                memcpy(b + n, tok, tl);
                n += tl;
            }
        } else if (mode == 1) {         /* random bytes */
            n = rnd(4096);
            for (k = 0; k < n; k++) {
                b[k] = (char)rnd(256);
            }
        } else {                        /* a mutated real log */
            const Buf *src = &fx[rnd(12)];
            size_t off = rnd((unsigned)src->n);
            unsigned m;

            n = src->n - off < cap ? src->n - off : cap;
            if (rnd(2)) {
                n = rnd((unsigned)n + 1);
            }
            memcpy(b, src->p + off, n);
            for (m = rnd(40); m > 0 && n > 0; m--) {
                size_t at = rnd((unsigned)n);

                switch (rnd(4)) {
                case 0: b[at] = (char)rnd(256); break;
                case 1: b[at] = '\0'; break;
                case 2: b[at] = '\n'; break;
                default: b[at] = '\r'; break;
                }
            }
        }
        r = gv_judge(b, n, rnd(2) ? "gauntlet: scenario splat-" : NULL, &opt);
        check_invariants(r, n);
        gv_report_free(r);
        free(b);
    }
    for (i = 0; i < 12; i++) {
        free(fx[i].p);
    }
}
END_TEST

Suite *verdict_suite(void)
{
    Suite *s = suite_create("verdict");
    TCase *vm = tcase_create("vm-logs");
    TCase *doc = tcase_create("doc-logs");
    TCase *opt = tcase_create("options");
    TCase *con = tcase_create("console");
    TCase *shp = tcase_create("shapes");
    TCase *fz = tcase_create("fuzz");

    tcase_add_test(vm, clean_boot_has_no_finding);
    tcase_add_test(vm, innocent_warning_words);
    tcase_add_test(vm, warn_on);
    tcase_add_test(vm, warn_dmesg_r_level_prefixes);
    tcase_add_test(vm, warn_kmsg_records);
    tcase_add_test(vm, null_deref_oops_in_work);
    tcase_add_test(vm, bug_in_kthread);
    tcase_add_test(vm, hung_task);
    tcase_add_test(vm, soft_lockup);
    tcase_add_test(vm, rcu_stall);
    tcase_add_test(vm, list_del_corruption);
    suite_add_tcase(s, vm);

    tcase_add_test(doc, doc_kasan);
    tcase_add_test(doc, doc_ubsan);
    tcase_add_test(doc, doc_lockdep_rcu);
    tcase_add_test(doc, doc_rcu_stall);
    tcase_add_test(doc, doc_kmemleak);
    suite_add_tcase(s, doc);

    tcase_add_test(opt, marker_not_found_judges_everything);
    tcase_add_test(opt, marker_after_report);
    tcase_add_test(opt, allow_list);
    tcase_add_test(opt, allow_list_bad_regex);
    tcase_add_test(opt, known_issues_file);
    suite_add_tcase(s, opt);

    tcase_add_test(con, truncated_log);
    tcase_add_test(con, lf_and_crlf_agree);
    tcase_add_test(con, no_timestamps);
    tcase_add_test(con, interleaved_output);
    tcase_add_test(con, caller_ids_and_userspace_levels);
    suite_add_tcase(s, con);

    tcase_add_test(shp, lockdep_circular);
    tcase_add_test(shp, other_shapes);
    tcase_add_test(shp, empty_and_degenerate);
    suite_add_tcase(s, shp);

    tcase_set_timeout(fz, 240);
    tcase_add_test(fz, fuzz_never_crashes);
    suite_add_tcase(s, fz);
    return s;
}
