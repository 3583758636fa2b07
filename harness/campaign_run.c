/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A campaign's batches through gauntlet-runner (bounded, the tree killed
 * at its deadline) and their results.
 */
#define _GNU_SOURCE
#include "campaign_priv.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "junit.h"
#include "proc.h"

/* ---- running the runner ---------------------------------------------------- */

/* Run the runner on files with --out dir; returns its exit status, or -1
 * when it could not be started or was killed at the deadline. */
int cp_run_runner(const Campaign *c, const char *dir, char **files, size_t n,
                      int jobs, double deadline_s)
{
    size_t argc = 0, cap = c->nrunner_args + n + 16;
    char **argv = calloc(cap, sizeof(*argv));
    char jbuf[16];
    pid_t pid;
    int ws = 0;
    double end = cp_now() + deadline_s;

    argv[argc++] = (char *)c->runner;
    for (size_t i = 0; i < c->nrunner_args; i++) {
        argv[argc++] = (char *)c->runner_args[i];
    }
    snprintf(jbuf, sizeof(jbuf), "%d", jobs);
    argv[argc++] = "-j";
    argv[argc++] = jbuf;
    argv[argc++] = "--out";
    argv[argc++] = (char *)dir;
    if (c->pass_target_dir) {
        argv[argc++] = "--target-dir";
        argv[argc++] = (char *)c->targets_dir;
    }
    if (c->snapshot) {
        argv[argc++] = "--snapshot";
        if (c->snapshot_dir[0]) {
            /* one snapshot for the whole campaign, shrinking included */
            argv[argc++] = "--snapshot-dir";
            argv[argc++] = (char *)c->snapshot_dir;
        }
    }
    for (size_t i = 0; i < n; i++) {
        argv[argc++] = files[i];
    }
    argv[argc] = NULL;
    if (cp_mkdir_p(dir) < 0) {
        fprintf(stderr, "gauntlet-campaign: cannot create %s: %s\n", dir, strerror(errno));
        free(argv);
        return -1;
    }
    {
        /* the runner leads its own process group, and so does each of
         * its scenario processes (runner.c); their QEMUs die with them
         * (PR_SET_PDEATHSIG in vm.c): gp_kill_tree reaches them all */
        GpSpec sp = { .argv = argv, .output = GP_OUT_INHERIT, .own_group = true };
        char err[600];

        pid = gp_spawn(&sp, err, sizeof(err));
        free(argv);
        if (pid < 0) {
            fprintf(stderr, "gauntlet-campaign: %s\n", err);
            return -1;
        }
    }
    for (;;) {
        int w = gp_wait(pid, end - cp_now(), &ws);

        if (w == 1) {
            break;
        }
        if (w < 0 && errno != EINTR) {
            return -1;
        }
        if (w == 0) {
            fprintf(stderr, "gauntlet-campaign: the runner overran its deadline "
                    "(%.0f s); killing it\n", deadline_s);
            gp_kill_tree(pid);
            waitpid(pid, &ws, 0);
            return -1;
        }
    }
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* Does the runner's usage (--help) mention this option? */
bool cp_runner_has_option(const char *runner, const char *option)
{
    GpSpec sp = { .argv = (char *[]){ (char *)runner, "--help", NULL },
                  .output = GP_OUT_CAPTURE, .timeout_s = 20 };
    GpResult res;
    bool has = false;

    if (gp_run(&sp, &res) < 0) {
        gp_result_free(&res);
        return false;
    }
    for (const char *m = res.out; (m = strstr(m, option)); m++) {
        char after = m[strlen(option)];

        /* the whole option, not a prefix of a longer one */
        has |= after == ' ' || after == '\n' || after == ',' || after == '=';
    }
    gp_result_free(&res);
    return has;
}

/* One scenario's result from a batch's report.json (or its result.json). */

static void result_fill(Result *r, json_object *o)
{
    json_object *v;

    r->found = true;
    snprintf(r->status, sizeof(r->status), "%s",
             json_object_object_get_ex(o, "status", &v) ? json_object_get_string(v) : "error");
    snprintf(r->kind, sizeof(r->kind), "%s",
             json_object_object_get_ex(o, "kind", &v) ? json_object_get_string(v) : "");
    snprintf(r->start, sizeof(r->start), "%s",
             json_object_object_get_ex(o, "start", &v) ? json_object_get_string(v) : "");
    if (json_object_object_get_ex(o, "failure", &v) && json_object_is_type(v, json_type_object)) {
        json_object *k, *st;

        snprintf(r->fkind, sizeof(r->fkind), "%s", json_object_object_get_ex(v, "kind", &k) &&
                 json_object_is_type(k, json_type_string) ? json_object_get_string(k) : "");
        snprintf(r->fverdict, sizeof(r->fverdict), "%s",
                 json_object_object_get_ex(v, "verdict", &k) &&
                 json_object_is_type(k, json_type_string) ? json_object_get_string(k) : "");
        snprintf(r->fstep, sizeof(r->fstep), "%s",
                 json_object_object_get_ex(v, "step", &st) &&
                 json_object_is_type(st, json_type_object) &&
                 json_object_object_get_ex(st, "type", &k) ? json_object_get_string(k) : "");
    }
    r->reason = cp_strdup(json_object_object_get_ex(o, "reason", &v) ?
                        json_object_get_string(v) : "");
    snprintf(r->artifacts, sizeof(r->artifacts), "%s",
             json_object_object_get_ex(o, "artifacts", &v) ? json_object_get_string(v) : "");
    r->duration = json_object_object_get_ex(o, "duration_s", &v) ?
                  json_object_get_double(v) : 0;
}

void cp_read_result(const char *dir, const char *name, Result *r)
{
    char path[4300];
    json_object *root, *arr, *v;

    memset(r, 0, sizeof(*r));
    snprintf(path, sizeof(path), "%s/report.json", dir);
    root = json_object_from_file(path);
    if (root && json_object_object_get_ex(root, "scenarios", &arr) &&
        json_object_is_type(arr, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *o = json_object_array_get_idx(arr, i);

            if (json_object_object_get_ex(o, "name", &v) &&
                !strcmp(json_object_get_string(v), name)) {
                result_fill(r, o);
                break;
            }
        }
    }
    if (root) {
        json_object_put(root);
    }
    if (r->found) {
        return;
    }
    snprintf(path, sizeof(path), "%s/%s/result.json", dir, name);
    root = json_object_from_file(path);
    if (root) {
        result_fill(r, root);
        json_object_put(root);
        return;
    }
    snprintf(r->status, sizeof(r->status), "error");
    snprintf(r->kind, sizeof(r->kind), "no-result");
    r->reason = cp_strdup("the runner wrote no result for this run");
    snprintf(r->artifacts, sizeof(r->artifacts), "%s/%s", dir, name);
}

/* Per-runner-invocation deadline: every scenario may take its timeout
 * (600 s) plus the runner's 300 s grace, j at a time, plus slack. */
double cp_batch_deadline(size_t n, int jobs)
{
    return (double)((n + (size_t)jobs - 1) / (size_t)jobs) * 900.0 + 600.0;
}
