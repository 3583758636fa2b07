/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The write ledger (docs/ledger.md): every write a verified workload saw
 * acknowledged left the guest as it happened, on the ledger's serial port,
 * into the run's ledger.log.  Once QEMU has stopped, the ledger verdict
 * checks every block the ledger names in the backing file with the host
 * checker (gauntlet-ledger): the last acknowledged content or a later
 * write that was in flight, never older, never torn.
 *
 * How much must hold at the end: at an orderly end (the device answered
 * the target's flush command, or it has no volatile cache) every
 * acknowledged write; when a volatile write cache may have been lost at
 * the end (the scenario turned it on and the final flush did not happen:
 * the device was removed, the VM died), only the flushed ones, the others
 * old or new.  A power cut's mark (P, step_power.c) relaxes the writes
 * before it the same way.
 */
#define _GNU_SOURCE
#include "judge.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_proto.h"
#include "proc.h"
#include "vm.h"

#define LEDGER_CHECK_TIMEOUT_S 300.0    /* reads at most the drive */
#define LEDGER_FLUSH_TIMEOUT_S 60.0

/* The ledger holds at least one session (a verified workload ran). */
static bool ledger_has_session(Run *r)
{
    FILE *f = fopen(r->ledger_path, "r");
    char line[512];
    bool any = false;

    while (f && !any && fgets(line, sizeof(line), f)) {
        any = !strncmp(line, "GLEDGER1 S ", 11);
    }
    if (f) {
        fclose(f);
    }
    return any;
}

static void final_flush_done(Judge *j, GrGuestCmd *c)
{
    Run *r = j->r;

    if (!c->ran) {
        return;     /* the VM died first: no orderly end */
    }
    if (c->not_ready) {
        gr_log(r, "ledger: device not ready at the end: no final flush");
        r->final_flush = -1;
        return;
    }
    r->final_flush = c->rc == 0 && ga_result_ok(&c->res) ? 1 : -1;
    gr_log(r, "ledger: final flush %s", r->final_flush == 1 ? "done" : "failed");
}

/*
 * The orderly end of a run that wrote through the ledger: the target's
 * flush command, while the device and its driver are there (once it is
 * ready, as gr_wait_ready), so that a volatile write cache holds nothing
 * acknowledged when QEMU stops.  The first command of the guest phase.
 */
void gr_ledger_final_flush(Judge *j)
{
    Run *r = j->r;

    r->final_flush = 0;
    if (!r->t->flush[0] || !gr_judge_alive(j) || !r->module_loaded ||
        !r->ndev || !r->dev[0].present || !ledger_has_session(r)) {
        return;
    }
    gr_judge_queue(j, strdup(r->t->flush), LEDGER_FLUSH_TIMEOUT_S, 0,
                   final_flush_done)->ready = true;
}

/* The host checker: next to the host data tool unless given. */
static void ledger_tool(Run *r, char *out, size_t len)
{
    char *copy;

    if (r->cfg->ledger_tool) {
        snprintf(out, len, "%s", r->cfg->ledger_tool);
        return;
    }
    copy = strdup(r->cfg->host_tool ? r->cfg->host_tool : "./gauntlet-data");
    snprintf(out, len, "%s/gauntlet-ledger", dirname(copy));
    free(copy);
}

static int64_t count(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

void gr_judge_ledger(Judge *j)
{
    Run *r = j->r;
    char tool[4200], json[4200], out[4200];
    bool relaxed;
    json_object *o, *list, *v0;
    GpResult res;
    int st;

    if (!ledger_has_session(r)) {
        gr_verdict(r, "ledger", GR_SKIP, "no command wrote through the "
                   "ledger");
        return;
    }
    /* a volatile cache that was on and not flushed at the end may be lost */
    relaxed = r->s->write_cache && r->final_flush != 1;
    ledger_tool(r, tool, sizeof(tool));
    snprintf(json, sizeof(json), "%s/ledger.json", r->dir);
    snprintf(out, sizeof(out), "%s/ledger-check.txt", r->dir);
    {
        char *argv[] = { tool, "check", r->ledger_path, "--backing",
                         r->dev[0].backing, "--end", relaxed ? "relaxed" : "strict",
                         "--json", json, NULL };
        GpSpec sp = { .argv = argv, .output = GP_OUT_FILE, .out_path = out,
                      .timeout_s = LEDGER_CHECK_TIMEOUT_S };

        gr_log(r, "host$ %s check %s --backing %s --end %s --json %s", tool,
               r->ledger_path, r->dev[0].backing, argv[6], json);
        unlink(json);
        st = gp_run(&sp, &res) < 0 ? -1 : res.timed_out ? -2 : res.status;
        if (st == -1) {
            gr_log(r, "host: %s", res.why);
        }
        gp_result_free(&res);
    }
    o = json_object_from_file(json);
    if (st < 0 || st > 1 || !o) {
        char *t = gvm_file_tail(out, 400);

        gr_verdict(r, "ledger", GR_FAIL, "the ledger check did not complete "
                   "(%s): %s", st == -2 ? "killed at its deadline" :
                   st == -1 ? "could not run" : "exit status", t ? t : "");
        free(t);
        json_object_put(o);
        return;
    }
    json_object_put(r->ledger);
    r->ledger = o;
    if (st == 0 && count(o, "violations") == 0) {
        gr_verdict(r, "ledger", GR_PASS, "%" PRId64 " blocks checked: %" PRId64
                   " acknowledged writes (%" PRId64 " checked, %" PRId64
                   " flushed, %" PRId64 " failed, %" PRId64 " fixed-pattern), %d "
                   "power cut(s), end %s, 0 violations", count(o, "blocks_checked"),
                   count(o, "writes_acknowledged"), count(o, "writes_checked"),
                   count(o, "writes_flushed"), count(o, "writes_failed"),
                   count(o, "pattern_writes"),
                   r->power_cuts, relaxed ? "relaxed (volatile cache not "
                   "flushed at the end)" : "strict");
        return;
    }
    list = NULL;
    v0 = json_object_object_get_ex(o, "violation_list", &list) &&
         json_object_array_length(list) ? json_object_array_get_idx(list, 0) : NULL;
    {
        json_object *lba = NULL, *exp = NULL, *found = NULL;

        if (v0) {
            json_object_object_get_ex(v0, "lba", &lba);
            json_object_object_get_ex(v0, "expected", &exp);
            json_object_object_get_ex(v0, "found", &found);
        }
        gr_verdict(r, "ledger", GR_FAIL, "%" PRId64 " violation(s) in %" PRId64
                   " blocks checked (%" PRId64 " acknowledged writes, %" PRId64
                   " flushed, end %s); first: lba %s: expected %s, found %s",
                   count(o, "violations"), count(o, "blocks_checked"),
                   count(o, "writes_acknowledged"), count(o, "writes_flushed"),
                   relaxed ? "relaxed" : "strict",
                   lba ? json_object_get_string(lba) : "?",
                   exp ? json_object_get_string(exp) : "?",
                   found ? json_object_get_string(found) : "?");
    }
}
