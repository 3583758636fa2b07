/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The harness's one way to start a host process (prefix gp_): an argv
 * (no shell unless asked for with .shell), stdin from /dev/null or a
 * given text, its
 * output captured (up to a size cap), written to a file or inherited, and
 * a deadline: on overrun the process's group is killed (and the groups of
 * its children, which may have made their own) and the result says so.
 *
 *   GpSpec sp = { .argv = (char *[]){ "cp", "--", a, b, NULL },
 *                 .timeout_s = 120 };
 *   GpResult res;
 *   if (gp_run(&sp, &res) < 0 || gp_failed(&res)) ... res.why ...
 *   gp_result_free(&res);
 *
 * gp_spawn() starts a process and returns without waiting (QEMU in vm.c);
 * gp_wait() waits for it with a deadline.
 */
#ifndef GAUNTLET_PROC_H
#define GAUNTLET_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef enum GpOutput {
    GP_OUT_NULL,        /* stdout and stderr to /dev/null (the default) */
    GP_OUT_CAPTURE,     /* stdout and stderr into GpResult.out (capped) */
    GP_OUT_FILE,        /* stdout and stderr into out_path (truncated) */
    GP_OUT_INHERIT,     /* this process's stdout and stderr */
} GpOutput;

typedef struct GpSpec {
    char *const *argv;          /* argv[0]: a path, or a name looked up in PATH */
    const char *shell;          /* instead of argv: /bin/sh -c shell */
    GpOutput output;
    const char *out_path;       /* GP_OUT_FILE */
    size_t cap;                 /* GP_OUT_CAPTURE: bytes kept (0: 64 KiB) */
    double timeout_s;           /* deadline from the start; <= 0: 3600 s */
    bool own_group;             /* setpgid(0, 0): its own process group */
    bool die_with_parent;       /* PR_SET_PDEATHSIG SIGKILL */
    const char *const *env;     /* "NAME=value" set in the child, NULL-ended */
    const char *input;          /* its stdin (NULL: /dev/null), any size */
} GpSpec;

typedef struct GpResult {
    int status;                 /* exit status, or 128 + signal; -1: not started */
    int signo;                  /* the signal that ended it, or 0 */
    bool timed_out;             /* killed at the deadline */
    char *out;                  /* GP_OUT_CAPTURE: NUL-terminated (malloc'd) */
    size_t out_len;
    bool truncated;             /* output beyond cap was dropped */
    double elapsed_s;
    char why[512];              /* what went wrong, for messages */
} GpResult;

/* Run to completion or the deadline.  0 when the process ran (whatever
 * its status), -1 when it could not be started (res->why says why: fork,
 * or exec's errno, e.g. "cannot run lcov: No such file or directory"). */
int gp_run(const GpSpec *spec, GpResult *res);

/* Did it fail: not started, killed at the deadline, by a signal or a
 * nonzero exit?  Fills res->why when it did. */
bool gp_failed(GpResult *res);

void gp_result_free(GpResult *res);

/* Start without waiting (output GP_OUT_NULL, GP_OUT_FILE or
 * GP_OUT_INHERIT).  The pid, or -1 with err filled in (exec failures are
 * reported here too). */
pid_t gp_spawn(const GpSpec *spec, char *err, size_t errlen);

/* Wait for pid up to timeout_s (<= 0: do not wait).  1 when it exited
 * (*status as waitpid's), 0 when it is still running, -1 on error.  Never
 * kills: see gp_kill_tree. */
int gp_wait(pid_t pid, double timeout_s, int *status);

/* Kill pid, its process group and the groups of its direct children
 * (SIGKILL); the caller still reaps pid. */
void gp_kill_tree(pid_t pid);

/* Monotonic seconds. */
double gp_now(void);

#endif /* GAUNTLET_PROC_H */
