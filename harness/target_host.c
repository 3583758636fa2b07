/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the host does for a target before any VM starts (target.h): run
 * its fault-rule checker on a scenario's rules, and compose its guest
 * image, the base image plus a cached overlay of the target's files.
 */
#define _GNU_SOURCE
#include "target.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"

#define CHECK_TIMEOUT_S     10.0
#define IMAGE_TIMEOUT_S     300.0
#define OUTPUT_MAX          8192

/* ---- fault-rule checkers ------------------------------------------------ */

int gt_check_rules(const GtTarget *t, const char *build, const char *text,
                   int *nrules, char *msg, size_t msglen)
{
    const char *base[] = { "target_dir", t->dir, build ? "build" : NULL, build, NULL };
    char **vars, *cmd, e[1024], *out, *end;
    GpResult res;
    long n;

    *nrules = -1;
    if (!t->fault_check[0]) {
        return 0;
    }
    vars = gt_tool_vars(t, build, base, e, sizeof(e));
    if (!vars) {
        snprintf(msg, msglen, "%s", e);
        return -1;
    }
    cmd = gt_expand(t->fault_check, (const char *const *)vars, e, sizeof(e));
    gt_vars_free(vars);
    if (!cmd) {
        snprintf(msg, msglen, "%s: fault_check: %s", t->file, e);
        return -1;
    }
    {
        GpSpec sp = { .shell = cmd, .input = text, .output = GP_OUT_CAPTURE,
                      .cap = OUTPUT_MAX, .timeout_s = CHECK_TIMEOUT_S };

        if (gp_run(&sp, &res) < 0) {
            snprintf(msg, msglen, "target %s: fault checker '%s': %s", t->name,
                     cmd, res.why);
            gp_result_free(&res);
            free(cmd);
            return -1;
        }
    }
    out = res.out ? res.out : "";
    out[strcspn(out, "\n")] = 0;
    if (res.timed_out || res.signo || res.status > 1) {
        gp_failed(&res);
        snprintf(msg, msglen, "target %s: fault checker '%s' failed (%s)%s%s",
                 t->name, cmd, res.why, out[0] ? ": " : "", out);
        gp_result_free(&res);
        free(cmd);
        return -1;
    }
    free(cmd);
    if (res.status == 1) {
        snprintf(msg, msglen, "%s", out[0] ? out : "refused (the checker said "
                 "nothing)");
        gp_result_free(&res);
        return 1;
    }
    errno = 0;
    n = strtol(out, &end, 10);
    if (!out[0] || *end || errno || n < 0) {
        snprintf(msg, msglen, "target %s: fault checker accepted the rules but "
                 "printed '%s', expected the number of rules", t->name, out);
        gp_result_free(&res);
        return -1;
    }
    gp_result_free(&res);
    *nrules = (int)n;
    return 0;
}

/* ---- guest images --------------------------------------------------------- */

uint64_t gt_fnv1a(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ s[i]) * 0x100000001b3ULL;
    }
    return h;
}

/* Hash a file's content into h; -1 when it cannot be read. */
static int hash_file(const char *path, uint64_t *h)
{
    char buf[65536];
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f) {
        return -1;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        *h = gt_fnv1a(buf, n, *h);
    }
    n = ferror(f);
    fclose(f);
    return n ? -1 : 0;
}

static void argv_push(char ***v, size_t *n, const char *s)
{
    *v = realloc(*v, (*n + 2) * sizeof(**v));
    if (!*v || !((*v)[*n] = strdup(s))) {
        abort();
    }
    (*n)++;
    (*v)[*n] = NULL;
}

char *gt_image(const GtTarget *t, const GtImageConfig *c, GtKernel k,
               char *err, size_t errlen)
{
    const char *kname = k == GT_KERNEL_DEBUG ? "debug" : "stock";
    const char *vars[] = {
        "target_dir", t->dir, "kernel", kname, "kver", c->kver[k] ? c->kver[k] : "",
        c->build ? "build" : NULL, c->build, NULL
    };
    uint64_t h = 0xcbf29ce484222325ULL;
    char **argv = NULL, path[4096], tmp[4200], e[512];
    size_t argc = 0, nadd = 0;
    struct stat sb;
    char *result = NULL;

    if (!c->base[k]) {
        snprintf(err, errlen, "no %s guest image configured", kname);
        return NULL;
    }
    if (hash_file(c->base[k], &h) < 0) {
        snprintf(err, errlen, "base image %s: %s", c->base[k], strerror(errno));
        return NULL;
    }
    argv_push(&argv, &argc, c->mkinitramfs ? c->mkinitramfs : "mkinitramfs.sh");
    argv_push(&argv, &argc, "-o");
    argv_push(&argv, &argc, "");            /* the output, below */
    argv_push(&argv, &argc, "--append-to");
    argv_push(&argv, &argc, c->base[k]);
    for (size_t i = 0; i < t->nfiles; i++) {
        const GtFile *f = &t->files[i];
        char *src, *spec;

        if (f->kernel != GT_KERNEL_ANY && f->kernel != k) {
            continue;
        }
        src = gt_expand(f->src, vars, e, sizeof(e));
        if (!src) {
            snprintf(err, errlen, "%s:%d:%d: guest file: %s", t->file, f->line,
                     f->col, e);
            goto out;
        }
        if (stat(src, &sb) || !S_ISREG(sb.st_mode) || hash_file(src, &h) < 0) {
            snprintf(err, errlen, "%s:%d:%d: guest file %s (for %s): %s", t->file,
                     f->line, f->col, src, f->dest, errno ? strerror(errno) :
                     "not a regular file");
            free(src);
            goto out;
        }
        h = gt_fnv1a(f->dest, strlen(f->dest) + 1, h);
        h = gt_fnv1a(&sb.st_mode, sizeof(sb.st_mode), h);
        if (asprintf(&spec, "%s:%s", src, f->dest) < 0) {
            abort();
        }
        argv_push(&argv, &argc, "--add");
        argv_push(&argv, &argc, spec);
        free(spec);
        free(src);
        nadd++;
    }
    if (t->nkmods) {
        if (!c->kmod_dir[k] || stat(c->kmod_dir[k], &sb)) {
            snprintf(err, errlen, "target %s needs guest-kernel modules (%s...), "
                     "and the %s kernel has no modules folder%s%s", t->name,
                     t->kmods[0], kname, c->kmod_dir[k] ? " at " : "",
                     c->kmod_dir[k] ? c->kmod_dir[k] : "");
            goto out;
        }
        argv_push(&argv, &argc, "--kernel-modules");
        argv_push(&argv, &argc, c->kmod_dir[k]);
        h = gt_fnv1a(c->kmod_dir[k], strlen(c->kmod_dir[k]) + 1, h);
        h = gt_fnv1a(c->kver[k] ? c->kver[k] : "", strlen(c->kver[k] ? c->kver[k] : "") + 1, h);
        for (size_t i = 0; i < t->nkmods; i++) {
            argv_push(&argv, &argc, "--kmod-lazy");
            argv_push(&argv, &argc, t->kmods[i]);
            h = gt_fnv1a(t->kmods[i], strlen(t->kmods[i]) + 1, h);
        }
        nadd++;
    }
    if (!nadd) {
        result = strdup(c->base[k]);
        goto out;
    }
    if (c->mkinitramfs && hash_file(c->mkinitramfs, &h) < 0) {
        snprintf(err, errlen, "%s: %s", c->mkinitramfs, strerror(errno));
        goto out;
    }
    if (!c->cache_dir || (mkdir(c->cache_dir, 0755) && errno != EEXIST)) {
        snprintf(err, errlen, "image cache %s: %s", c->cache_dir ? c->cache_dir :
                 "(none given)", c->cache_dir ? strerror(errno) : "--image-cache");
        goto out;
    }
    snprintf(path, sizeof(path), "%s/%s-%s-%016" PRIx64 ".cpio.gz", c->cache_dir,
             t->name, kname, h);
    if (!stat(path, &sb) && sb.st_size > 0) {
        result = strdup(path);
        goto out;
    }
    /* made under a private name and renamed: concurrent runners make the
     * same bytes, and a reader never sees half an image */
    snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
    free(argv[2]);
    argv[2] = strdup(tmp);
    {
        GpSpec sp = { .argv = argv, .output = GP_OUT_CAPTURE, .cap = OUTPUT_MAX,
                      .timeout_s = IMAGE_TIMEOUT_S };
        GpResult res;
        bool bad = gp_run(&sp, &res) < 0 || gp_failed(&res);

        if (bad) {
            size_t l = res.out_len;

            while (l && res.out[l - 1] == '\n') {
                res.out[--l] = 0;
            }
            snprintf(err, errlen, "composing the %s image of target %s failed "
                     "(%s): %s", kname, t->name, res.why,
                     l ? res.out : "(no output)");
        }
        gp_result_free(&res);
        if (bad) {
            unlink(tmp);
            goto out;
        }
    }
    if (rename(tmp, path)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    result = strdup(path);
out:
    for (size_t i = 0; i < argc; i++) {
        free(argv[i]);
    }
    free(argv);
    return result;
}
