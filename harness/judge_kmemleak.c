/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kmemleak finds no leak, where the kernel has it; the guest's dmesg
 * is saved as kernel.log on the way.
 */
#define _GNU_SOURCE
#include "judge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "agent_proto.h"
#include "vm.h"

#define KMEMLEAK_ABSENT 3

static void kmemleak_done(Judge *j, GrGuestCmd *c)
{
    Run *r = j->r;
    const ga_result *res = &c->res;

    if (!c->ran) {
        gr_verdict(r, "kmemleak", GR_SKIP, "the VM is gone");
    } else if (c->rc < 0) {
        return;     /* the run's failure says what became of it */
    } else if (res->exit_kind == GA_EXIT_CODE && res->exit_code == KMEMLEAK_ABSENT) {
        gr_verdict(r, "kmemleak", GR_SKIP, "kernel without kmemleak");
    } else if (res->out_len) {
        gr_save_text(r, "kmemleak.txt", res->out, res->out_len);
        gr_verdict(r, "kmemleak", GR_FAIL, "kmemleak reports leaks (see "
                   "kmemleak.txt): %.200s", res->out);
    } else if (!ga_result_ok(res)) {
        /* a scan killed at its deadline (or failing) printed nothing: that
         * is no report, not a clean one */
        char how[256];

        gr_verdict(r, "kmemleak", GR_ERROR, "the kmemleak scan did not "
                   "complete: %s", ga_result_describe(res, how, sizeof(how)));
    } else {
        gr_verdict(r, "kmemleak", GR_PASS, "no leaks reported");
    }
}

/* The kernel log crosses the agent's UART gzip'd: 3 times fewer bytes, 10
 * (load 1) to 34 ms (load 3) less a run; a guest without gzip sends it
 * plain. */
#define KERNEL_LOG_CMD "if command -v gzip >/dev/null; then dmesg | gzip -1; " \
                       "else dmesg; fi"
#define KERNEL_LOG_MAX (64u << 20)

/* gzip data (one or more members) into a malloc'd buffer; NULL if broken */
static char *gunzip(const char *in, size_t len, size_t *out_len)
{
    z_stream zs = { 0 };
    size_t cap = len * 4 + 4096, n = 0;
    char *out = malloc(cap);
    int rc = Z_OK;

    if (!out || inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        free(out);
        return NULL;
    }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    while (rc != Z_STREAM_END || zs.avail_in) {
        if (rc == Z_STREAM_END && inflateReset(&zs) != Z_OK) {
            break;
        }
        if (n == cap) {
            char *bigger = cap < KERNEL_LOG_MAX ? realloc(out, cap * 2) : NULL;

            if (!bigger) {
                break;
            }
            out = bigger;
            cap *= 2;
        }
        zs.next_out = (Bytef *)out + n;
        zs.avail_out = (uInt)(cap - n);
        rc = inflate(&zs, Z_NO_FLUSH);
        n = cap - zs.avail_out;
        if (rc != Z_OK && rc != Z_STREAM_END) {
            break;
        }
    }
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || zs.avail_in) {
        free(out);
        return NULL;
    }
    *out_len = n;
    return out;
}

static void kernel_log_done(Judge *j, GrGuestCmd *c)
{
    const ga_result *res = &c->res;

    if (!c->ran || c->rc != 0 || !res->out_len) {
        return;
    }
    if (res->out_len >= 2 && (unsigned char)res->out[0] == 0x1f &&
        (unsigned char)res->out[1] == 0x8b) {
        size_t n;
        char *log = gunzip(res->out, res->out_len, &n);

        if (log) {
            gr_save_text(j->r, "kernel.log", log, n);
            free(log);
        } else {
            gr_log(j->r, "kernel log: the guest's gzip data is broken; "
                   "kept as kernel.log.gz");
            gr_save_text(j->r, "kernel.log.gz", res->out, res->out_len);
        }
    } else {
        gr_save_text(j->r, "kernel.log", res->out, res->out_len);
    }
}

/* kmemleak: two scans, then the report; then the kernel log */
void gr_judge_kmemleak(Judge *j)
{
    Run *r = j->r;
    char *k;

    if (!gr_judge_alive(j)) {
        gr_verdict(r, "kmemleak", GR_SKIP, "the VM is gone");
        return;
    }
    if (asprintf(&k, "k=/sys/kernel/debug/kmemleak; [ -e $k ] || exit %d; "
                 "echo scan > $k; sleep 1; echo scan > $k; cat $k",
                 KMEMLEAK_ABSENT) < 0) {
        abort();
    }
    gr_judge_queue(j, k, 120, 0, kmemleak_done);
    gr_judge_queue(j, strdup(KERNEL_LOG_CMD), 60, 0, kernel_log_done);
}
