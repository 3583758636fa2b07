/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scenario's devices (k1...), each on its own root port, and their
 * fault engines over QMP: the QOM properties a target names (fault_set,
 * fault_add, fault_stats, fault_log) on the device or on its root port
 * (fault_object), the live rules of each device, their harvested fire
 * counts and the run's fault log.
 */
#define _GNU_SOURCE
#include "run_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_proto.h"
#include "fault_log.h"
#include "guestfiles.h"
#include "qmp.h"
#include "verdict.h"

/* ---- devices and the fault engine ------------------------------------------ */

Device *gr_find_dev(Run *r, const char *id)
{
    for (int i = 0; i < r->ndev; i++) {
        if (!strcmp(r->dev[i].id, id)) {
            return &r->dev[i];
        }
    }
    return NULL;
}

static Device *add_dev(Run *r, const char *id)
{
    Device *d = gr_find_dev(r, id);

    if (d || r->ndev >= MAX_DEVICES) {
        return d;
    }
    d = &r->dev[r->ndev++];
    snprintf(d->id, sizeof(d->id), "%s", id);
    snprintf(d->backing, sizeof(d->backing), "%s/disk-%s.img", r->dir, id);
    d->present = true;
    return d;
}

static bool collect_device(const GsStep *st, bool not_first, void *ctx)
{
    Run *r = ctx;
    Device *d;

    if (st->type != GS_STEP_HOTPLUG) {
        return false;
    }
    d = add_dev(r, st->u.hotplug.device);
    /* a device first plugged in by the scenario is absent at boot */
    if (d && !d->hotplugged) {
        d->hotplugged = true;
        d->present = st->u.hotplug.action != GS_HOTPLUG_ADD;
    }
    return false;
}

/* k1, then every device a hotplug step names, with its state at boot. */
void gr_collect_devices(Run *r)
{
    add_dev(r, "k1");
    gr_walk_steps(r->s->steps, r->s->nsteps, true, collect_device, r);
}

/* The id of d's root port (vm.c creates rp1..rp4): one per device. */
static void port_id(Run *r, Device *d, char *buf, size_t len)
{
    snprintf(buf, len, "rp%d", (int)(d - r->dev) + 1);
}

char *gr_device_arg(Run *r, Device *d, char *err, size_t errlen)
{
    char drive[80], bus[16], *arg, *wc;
    const char *vars[] = { "id", d->id, "drive", drive, "bus", bus, NULL };

    snprintf(drive, sizeof(drive), "drive-%s", d->id);
    port_id(r, d, bus, sizeof(bus));
    arg = gt_expand(r->t->device, vars, err, errlen);
    /* the scenario's write_cache: the target's argument that turns the
     * device's volatile write cache on (gr_validate: the target has one) */
    if (arg && r->s->write_cache && r->t->write_cache[0]) {
        if (asprintf(&wc, "%s,%s", arg, r->t->write_cache) < 0) {
            abort();
        }
        free(arg);
        arg = wc;
    }
    return arg;
}

static char qom_path_buf[128];
const char *gr_qom_path(Device *d)
{
    snprintf(qom_path_buf, sizeof(qom_path_buf), "/machine/peripheral/%s", d->id);
    return qom_path_buf;
}

static char fault_path_buf[128];
const char *gr_fault_path(Run *r, Device *d)
{
    char port[16];

    if (!gt_faults_on_port(r->t)) {
        return gr_qom_path(d);
    }
    port_id(r, d, port, sizeof(port));
    snprintf(fault_path_buf, sizeof(fault_path_buf), "/machine/peripheral/%s",
             port);
    return fault_path_buf;
}

bool gr_fault_object_here(Run *r, Device *d)
{
    return d->present || gt_faults_on_port(r->t);
}

/* Add the fire counts of d's live rules into acc (indexed by scenario
 * rule), and their hit counts into hits (NULL: not wanted), read from the
 * fault object now. */
static int live_fired(Run *r, Device *d, uint64_t *acc, uint64_t *hits)
{
    json_object *list = NULL;

    if (!gt_has_faults(r->t) || !d->present || !r->vm || d->nlive == 0) {
        return 0;
    }
    if (gq_qom_get(r->vm->qmp, gr_fault_path(r, d), r->t->fault_stats,
                   &list) != GQ_OK) {
        gr_log(r, "fault-stats of %s: %s", d->id, gq_error(r->vm->qmp));
        return -1;
    }
    for (int i = 0; i < d->nlive && i < (int)json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i), *f;

        if (d->live[i] < 0) {
            continue;
        }
        if (json_object_object_get_ex(e, "fired", &f)) {
            acc[d->live[i]] += (uint64_t)json_object_get_int64(f);
        }
        if (hits && json_object_object_get_ex(e, "hits", &f)) {
            hits[d->live[i]] += (uint64_t)json_object_get_int64(f);
        }
    }
    json_object_put(list);
    return 0;
}

/* Add the device's live rules' fire counts to the harvest and forget them
 * (before the rules are replaced or the device goes away). */
int gr_harvest(Run *r, Device *d, bool forget)
{
    gr_read_fault_log(r, d);
    if (live_fired(r, d, r->fired, r->hits) < 0) {
        return -1;
    }
    if (forget) {
        d->nlive = 0;
    }
    return 0;
}

/* Fire count of scenario rule idx now (harvested + live); -1 all. */
int64_t gr_rule_fired(Run *r, int idx)
{
    uint64_t *now = calloc((size_t)r->s->nrules + 1, sizeof(*now));
    int64_t sum = 0;

    memcpy(now, r->fired, (size_t)r->s->nrules * sizeof(*now));
    for (int i = 0; i < r->ndev; i++) {
        live_fired(r, &r->dev[i], now, NULL);
    }
    for (int k = 0; k < r->s->nrules; k++) {
        if (idx < 0 || idx == k) {
            sum += (int64_t)now[k];
        }
    }
    free(now);
    return sum;
}

int gr_set_faults(Run *r, Device *d, const char *prop, const char *rules)
{
    json_object *v = json_object_new_string(rules);
    int rc = gq_qom_set(r->vm->qmp, gr_fault_path(r, d), prop, v);

    json_object_put(v);
    gr_log(r, "qom-set %s%s%s %s '%s': %s", d->id,
           gt_faults_on_port(r->t) ? " on " : "",
           gt_faults_on_port(r->t) ? gr_fault_path(r, d) : "", prop, rules,
           rc == GQ_OK ? "ok" : gq_error(r->vm->qmp));
    return rc;
}

void gr_read_fault_log(Run *r, Device *d)
{
    json_object *list = NULL;
    char err[512];
    int n;

    if (!gt_has_faults(r->t) || !r->t->fault_log[0] || r->fault_log_off ||
        !r->vm || !gr_fault_object_here(r, d) || !gvm_running(r->vm)) {
        return;
    }
    if (!r->fault_log) {
        r->fault_log = json_object_new_array();
    }
    if (gq_qom_get(r->vm->qmp, gr_fault_path(r, d), r->t->fault_log,
                   &list) != GQ_OK) {
        /* a QEMU whose fault engine keeps no log: said once, not a failure */
        gr_log(r, "fault log of %s (%s %s): %s; no fault log read from this "
               "QEMU", d->id, gr_fault_path(r, d), r->t->fault_log,
               gq_error(r->vm->qmp));
        r->fault_log_off = true;
        return;
    }
    n = gfl_merge(r->fault_log, list, d->id, gr_fault_path(r, d),
                  r->qemu_starts - 1, gt_faults_on_port(r->t) ? 0 : d->plugs,
                  &r->fault_log_lost, err, sizeof(err));
    json_object_put(list);
    if (n < 0) {
        gr_log(r, "fault log of %s: %s; ignored", d->id, err);
        return;
    }
    r->fault_log_read = true;
    if (n > 0) {
        gr_log(r, "fault log of %s: %d new entr%s", d->id, n, n == 1 ? "y" : "ies");
    }
}

void gr_write_fault_log(Run *r)
{
    char path[4200], line[1024];

    if (!r->fault_log_read) {
        return;
    }
    snprintf(path, sizeof(path), "%s/fault-log.json", r->dir);
    if (json_object_to_file_ext(path, r->fault_log, JSON_C_TO_STRING_PRETTY) < 0) {
        gr_log(r, "fault log: cannot write %s: %s", path, json_util_get_last_err());
    }
    gfl_describe(r->fault_log, r->fault_log_lost, line, sizeof(line));
    gr_log(r, "fault log: %s", line);
}
