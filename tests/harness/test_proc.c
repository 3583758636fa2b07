/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proc.h: exit status, capture with a cap, no shell unless asked, exec
 * failures named, and every wait bounded: a deadline kills the process
 * group (grandchildren included), and a grandchild holding the output
 * pipe does not keep gp_run waiting.
 */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

static GpResult run_capture(char *const *argv, const char *shell, double timeout)
{
    GpSpec sp = { .argv = argv, .shell = shell, .output = GP_OUT_CAPTURE,
                  .timeout_s = timeout };
    GpResult r;

    ck_assert_int_eq(gp_run(&sp, &r), 0);
    return r;
}

/* gone, or a zombie nobody reaped yet: not running */
static int running(pid_t pid)
{
    char path[64], buf[256], *rp;
    FILE *f;
    int alive = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    if (fgets(buf, sizeof(buf), f) && (rp = strrchr(buf, ')'))) {
        alive = rp[2] != 'Z' && rp[2] != 'X';
    }
    fclose(f);
    return alive;
}

START_TEST(status_and_capture)
{
    GpResult r = run_capture((char *[]){ "echo", "hello", NULL }, NULL, 10);

    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "hello\n");
    ck_assert(!gp_failed(&r));
    gp_result_free(&r);

    r = run_capture(NULL, "echo out; echo err >&2; exit 3", 10);
    ck_assert_int_eq(r.status, 3);
    ck_assert_str_eq(r.out, "out\nerr\n");
    ck_assert(gp_failed(&r));
    ck_assert_str_eq(r.why, "exit status 3");
    gp_result_free(&r);
}
END_TEST

START_TEST(no_shell_in_argv)
{
    GpResult r = run_capture((char *[]){ "echo", "$HOME;", "`id`", NULL }, NULL, 10);

    ck_assert_str_eq(r.out, "$HOME; `id`\n");
    gp_result_free(&r);
}
END_TEST

START_TEST(exec_failure_named)
{
    GpSpec sp = { .argv = (char *[]){ "/nonexistent/gauntlet-tool", NULL },
                  .timeout_s = 5 };
    GpResult r;

    ck_assert_int_eq(gp_run(&sp, &r), -1);
    ck_assert_msg(strstr(r.why, "cannot run /nonexistent/gauntlet-tool: No such file"),
                  "why: %s", r.why);
    ck_assert(gp_failed(&r));
    gp_result_free(&r);
}
END_TEST

START_TEST(capture_cap)
{
    GpSpec sp = { .argv = (char *[]){ "head", "-c", "300000", "/dev/zero", NULL },
                  .output = GP_OUT_CAPTURE, .cap = 1000, .timeout_s = 10 };
    GpResult r;

    ck_assert_int_eq(gp_run(&sp, &r), 0);
    ck_assert_int_eq(r.status, 0);              /* drained: head never blocks */
    ck_assert_uint_eq(r.out_len, 1000);
    ck_assert(r.truncated);
    gp_result_free(&r);
}
END_TEST

START_TEST(deadline_kills_group)
{
    /* a grandchild in the same group, then the shell itself waits */
    GpResult r = run_capture(NULL, "sleep 30 & echo $!; sleep 30; wait", 0.5);
    pid_t grandchild;

    ck_assert(r.timed_out);
    ck_assert(gp_failed(&r));
    ck_assert_msg(r.elapsed_s < 5, "took %.1f s", r.elapsed_s);
    ck_assert_msg(strstr(r.why, "deadline"), "why: %s", r.why);
    grandchild = (pid_t)atoi(r.out);
    ck_assert_int_gt(grandchild, 1);
    for (int i = 0; i < 100 && running(grandchild); i++) {
        usleep(10000);
    }
    ck_assert_msg(!running(grandchild), "grandchild %d survived", (int)grandchild);
    gp_result_free(&r);
}
END_TEST

START_TEST(deadline_kills_child_groups)
{
    /* a child that made a session and group of its own (as the runner's
     * scenario processes do) dies with its parent at the deadline */
    GpResult r = run_capture(NULL, "setsid sleep 30 & echo $!; sleep 30", 0.5);
    pid_t other = (pid_t)atoi(r.out);

    ck_assert(r.timed_out);
    ck_assert_int_gt(other, 1);
    for (int i = 0; i < 100 && running(other); i++) {
        usleep(10000);
    }
    ck_assert_msg(!running(other), "child in its own group %d survived", (int)other);
    gp_result_free(&r);
}
END_TEST

START_TEST(grandchild_holding_pipe)
{
    /* the shell exits at once; its background child keeps stdout open */
    double t0 = gp_now();
    GpResult r = run_capture(NULL, "echo started; sleep 20 & exit 0", 60);

    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "started\n");
    ck_assert_msg(gp_now() - t0 < 10, "waited %.1f s for a grandchild",
                  gp_now() - t0);
    gp_result_free(&r);
}
END_TEST

START_TEST(output_file)
{
    char path[] = "/tmp/gp-test-XXXXXX", buf[64] = "";
    int fd = mkstemp(path);
    GpSpec sp = { .shell = "echo to-file; echo e >&2", .output = GP_OUT_FILE,
                  .out_path = path, .timeout_s = 10 };
    GpResult r;
    FILE *f;

    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(gp_run(&sp, &r), 0);
    ck_assert_int_eq(r.status, 0);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(buf, 1, sizeof(buf) - 1, f), 10);
    fclose(f);
    ck_assert_str_eq(buf, "to-file\ne\n");
    unlink(path);
    gp_result_free(&r);

    sp.out_path = "/nonexistent/dir/out.txt";
    ck_assert_int_eq(gp_run(&sp, &r), -1);
    ck_assert_msg(strstr(r.why, "cannot write /nonexistent/dir/out.txt"), "why: %s", r.why);
    gp_result_free(&r);
}
END_TEST

START_TEST(spawn_wait_kill)
{
    char err[256];
    GpSpec sp = { .argv = (char *[]){ "sleep", "30", NULL }, .own_group = true,
                  .env = (const char *const[]){ "GP_TEST=1", NULL } };
    pid_t pid = gp_spawn(&sp, err, sizeof(err));
    int st = 0;

    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(gp_wait(pid, 0.2, &st), 0);      /* still running */
    gp_kill_tree(pid);
    ck_assert_int_eq(gp_wait(pid, 5, &st), 1);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

    sp.argv = (char *[]){ "gauntlet-no-such-tool", NULL };
    ck_assert_int_eq(gp_spawn(&sp, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "cannot run gauntlet-no-such-tool"), "err: %s", err);
}
END_TEST

Suite *proc_suite(void)
{
    Suite *s = suite_create("proc");
    TCase *tc = tcase_create("proc");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, status_and_capture);
    tcase_add_test(tc, no_shell_in_argv);
    tcase_add_test(tc, exec_failure_named);
    tcase_add_test(tc, capture_cap);
    tcase_add_test(tc, deadline_kills_group);
    tcase_add_test(tc, deadline_kills_child_groups);
    tcase_add_test(tc, grandchild_holding_pipe);
    tcase_add_test(tc, output_file);
    tcase_add_test(tc, spawn_wait_kill);
    suite_add_tcase(s, tc);
    return s;
}
