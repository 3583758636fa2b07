/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host processes with bounded waits (proc.h).
 */
#define _GNU_SOURCE
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GP_DEFAULT_CAP (64 * 1024)
#define GP_DEFAULT_TIMEOUT_S 3600.0

double gp_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the child reports through the exec pipe when it cannot exec. */
typedef struct ChildErr {
    int stage;          /* 0: opening the output file, 1: exec */
    int err;
} ChildErr;

static const char *name_of(const GpSpec *sp)
{
    return sp->shell ? "/bin/sh" : sp->argv && sp->argv[0] ? sp->argv[0] : "(none)";
}

static void child(const GpSpec *sp, int in_fd, int out_fd, int errpipe,
                  bool own_group)
{
    ChildErr ce = { 0, 0 };
    int nul = open("/dev/null", O_RDWR);

    if (own_group) {
        setpgid(0, 0);
    }
    if (sp->die_with_parent) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    }
    if (in_fd >= 0) {
        dup2(in_fd, 0);
    } else if (nul >= 0) {
        dup2(nul, 0);
    }
    switch (sp->output) {
    case GP_OUT_CAPTURE:
        dup2(out_fd, 1);
        dup2(out_fd, 2);
        break;
    case GP_OUT_FILE: {
        int fd = open(sp->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0) {
            ce.err = errno;
            if (write(errpipe, &ce, sizeof(ce)) < 0) {
                /* nothing more to say */
            }
            _exit(127);
        }
        dup2(fd, 1);
        dup2(fd, 2);
        break;
    }
    case GP_OUT_INHERIT:
        break;
    case GP_OUT_NULL:
    default:
        if (nul >= 0) {
            dup2(nul, 1);
            dup2(nul, 2);
        }
        break;
    }
    for (const char *const *e = sp->env; e && *e; e++) {
        putenv((char *)*e);
    }
    signal(SIGPIPE, SIG_DFL);
    if (sp->shell) {
        execl("/bin/sh", "sh", "-c", sp->shell, (char *)NULL);
    } else {
        execvp(sp->argv[0], sp->argv);
    }
    ce.stage = 1;
    ce.err = errno;
    if (write(errpipe, &ce, sizeof(ce)) < 0) {
        /* nothing more to say */
    }
    _exit(127);
}

/* Fork and exec; the exec pipe tells whether exec worked. */
static pid_t start(const GpSpec *sp, int out_fd, bool own_group, char *err,
                   size_t errlen)
{
    int ep[2], in_fd = -1;
    pid_t pid;
    ChildErr ce;
    ssize_t n;

    if ((!sp->shell && (!sp->argv || !sp->argv[0])) ||
        (sp->output == GP_OUT_FILE && !sp->out_path)) {
        snprintf(err, errlen, "gp: nothing to run or no output file (a bug)");
        return -1;
    }
    if (sp->input) {
        /* a memory file, not a pipe: no input size can block either side */
        size_t len = strlen(sp->input), off = 0;

        in_fd = memfd_create("gp-input", MFD_CLOEXEC);
        while (in_fd >= 0 && off < len) {
            ssize_t w = write(in_fd, sp->input + off, len - off);

            if (w <= 0) {
                close(in_fd);
                in_fd = -1;
                break;
            }
            off += (size_t)w;
        }
        if (in_fd < 0 || lseek(in_fd, 0, SEEK_SET) < 0) {
            snprintf(err, errlen, "cannot run %s: its input: %s", name_of(sp),
                     strerror(errno));
            if (in_fd >= 0) {
                close(in_fd);
            }
            return -1;
        }
    }
    if (pipe2(ep, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot run %s: pipe: %s", name_of(sp), strerror(errno));
        if (in_fd >= 0) {
            close(in_fd);
        }
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot run %s: fork: %s", name_of(sp), strerror(errno));
        close(ep[0]);
        close(ep[1]);
        if (in_fd >= 0) {
            close(in_fd);
        }
        return -1;
    }
    if (pid == 0) {
        close(ep[0]);
        child(sp, in_fd, out_fd, ep[1], own_group);
    }
    close(ep[1]);
    if (in_fd >= 0) {
        close(in_fd);
    }
    if (own_group) {
        setpgid(pid, pid);      /* also here: no race with a kill(-pid) */
    }
    do {
        n = read(ep[0], &ce, sizeof(ce));
    } while (n < 0 && errno == EINTR);
    close(ep[0]);
    if (n == (ssize_t)sizeof(ce)) {
        int st;

        waitpid(pid, &st, 0);
        if (ce.stage == 0) {
            snprintf(err, errlen, "cannot run %s: cannot write %s: %s", name_of(sp),
                     sp->out_path, strerror(ce.err));
        } else {
            snprintf(err, errlen, "cannot run %s: %s", name_of(sp), strerror(ce.err));
        }
        return -1;
    }
    return pid;
}

pid_t gp_spawn(const GpSpec *spec, char *err, size_t errlen)
{
    if (spec->output == GP_OUT_CAPTURE) {
        snprintf(err, errlen, "gp_spawn: no capture without waiting (a bug)");
        return -1;
    }
    return start(spec, -1, spec->own_group, err, errlen);
}

int gp_wait(pid_t pid, double timeout_s, int *status)
{
    double end = gp_now() + (timeout_s > 0 ? timeout_s : 0);
    useconds_t nap = 1000;

    for (;;) {
        pid_t p = waitpid(pid, status, WNOHANG);

        if (p == pid) {
            return 1;
        }
        if (p < 0 && errno != EINTR) {
            return -1;
        }
        if (gp_now() >= end) {
            return 0;
        }
        usleep(nap);
        if (nap < 50000) {
            nap *= 2;
        }
    }
}

void gp_kill_tree(pid_t pid)
{
    DIR *d = opendir("/proc");
    struct dirent *e;

    /* the children first: a runner's scenario processes lead groups of
     * their own, and must not outlive it */
    while (d && (e = readdir(d))) {
        char path[300], buf[512], *rp;
        FILE *f;
        int ppid = 0;

        if (e->d_name[0] < '0' || e->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        f = fopen(path, "r");
        if (!f) {
            continue;
        }
        if (fgets(buf, sizeof(buf), f) && (rp = strrchr(buf, ')')) &&
            sscanf(rp + 1, " %*c %d", &ppid) == 1 && ppid == pid) {
            pid_t c = (pid_t)atoi(e->d_name);

            kill(-c, SIGKILL);
            kill(c, SIGKILL);
        }
        fclose(f);
    }
    if (d) {
        closedir(d);
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
}

static void keep(GpResult *res, size_t cap, const char *buf, size_t n)
{
    size_t room = cap > res->out_len ? cap - res->out_len : 0;

    if (n > room) {
        res->truncated = true;
        n = room;
    }
    memcpy(res->out + res->out_len, buf, n);
    res->out_len += n;
    res->out[res->out_len] = 0;
}

static void set_status(GpResult *res, int ws)
{
    res->status = WIFEXITED(ws) ? WEXITSTATUS(ws) :
                  WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
    res->signo = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
}

int gp_run(const GpSpec *spec, GpResult *res)
{
    double timeout = spec->timeout_s > 0 ? spec->timeout_s : GP_DEFAULT_TIMEOUT_S;
    size_t cap = spec->cap ? spec->cap : GP_DEFAULT_CAP;
    int op[2] = { -1, -1 }, ws = 0;
    double t0 = gp_now(), end = t0 + timeout;
    bool exited = false;
    pid_t pid;

    memset(res, 0, sizeof(*res));
    res->status = -1;
    if (spec->output == GP_OUT_CAPTURE) {
        res->out = malloc(cap + 1);
        if (!res->out || pipe2(op, O_CLOEXEC) < 0) {
            snprintf(res->why, sizeof(res->why), "cannot run %s: %s", name_of(spec),
                     strerror(errno));
            return -1;
        }
        res->out[0] = 0;
    }
    pid = start(spec, op[1], true, res->why, sizeof(res->why));
    if (op[1] >= 0) {
        close(op[1]);
    }
    if (pid < 0) {
        if (op[0] >= 0) {
            close(op[0]);
        }
        return -1;
    }
    while (!exited) {
        double left = end - gp_now();

        if (left <= 0) {
            gp_kill_tree(pid);
            waitpid(pid, &ws, 0);
            res->timed_out = true;
            break;
        }
        if (op[0] >= 0) {
            struct pollfd pfd = { .fd = op[0], .events = POLLIN };
            int ms = left > 0.05 ? 50 : (int)(left * 1000) + 1;

            if (poll(&pfd, 1, ms) > 0) {
                char buf[4096];
                ssize_t n = read(op[0], buf, sizeof(buf));

                if (n > 0) {
                    keep(res, cap, buf, (size_t)n);
                }
                if (n == 0) {           /* EOF: only the exit is left */
                    close(op[0]);
                    op[0] = -1;
                }
            }
            exited = waitpid(pid, &ws, WNOHANG) == pid;
        } else {
            exited = gp_wait(pid, left < 0.05 ? left : 0.05, &ws) == 1;
        }
    }
    if (op[0] >= 0) {
        /* exited (or killed): what is already in the pipe, without blocking
         * on a grandchild that still holds it open */
        char buf[4096];
        ssize_t n;

        fcntl(op[0], F_SETFL, O_NONBLOCK);
        while ((n = read(op[0], buf, sizeof(buf))) > 0) {
            keep(res, cap, buf, (size_t)n);
        }
        close(op[0]);
    }
    res->elapsed_s = gp_now() - t0;
    if (!res->timed_out) {
        set_status(res, ws);
    }
    return 0;
}

bool gp_failed(GpResult *res)
{
    if (res->timed_out) {
        snprintf(res->why, sizeof(res->why), "killed after %.0f s (its deadline)",
                 res->elapsed_s);
        return true;
    }
    if (res->status < 0) {
        if (!res->why[0]) {
            snprintf(res->why, sizeof(res->why), "not started");
        }
        return true;
    }
    if (res->signo) {
        snprintf(res->why, sizeof(res->why), "killed by signal %d", res->signo);
        return true;
    }
    if (res->status) {
        snprintf(res->why, sizeof(res->why), "exit status %d", res->status);
        return true;
    }
    return false;
}

void gp_result_free(GpResult *res)
{
    free(res->out);
    res->out = NULL;
    res->out_len = 0;
}
