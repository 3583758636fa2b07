/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scenario's devices (k1...), each on its own root port, and their
 * fault engines over QMP: the QOM properties a target names (fault_set,
 * fault_add, fault_stats), the live rules of each device and their
 * harvested fire counts.
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

char *gr_device_arg(Run *r, Device *d, char *err, size_t errlen)
{
    char drive[80], bus[16], *arg, *wc;
    const char *vars[] = { "id", d->id, "drive", drive, "bus", bus, NULL };

    snprintf(drive, sizeof(drive), "drive-%s", d->id);
    snprintf(bus, sizeof(bus), "rp%d", (int)(d - r->dev) + 1);
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

/* Add the device's live rules' fire counts to the harvest and forget them
 * (before the rules are replaced or the device goes away). */
/* Add the fire counts of d's live rules into acc (indexed by scenario
 * rule), read from the device now. */
static int live_fired(Run *r, Device *d, uint64_t *acc)
{
    json_object *list = NULL;

    if (!gt_has_faults(r->t) || !d->present || !r->vm || d->nlive == 0) {
        return 0;
    }
    if (gq_qom_get(r->vm->qmp, gr_qom_path(d), r->t->fault_stats, &list) != GQ_OK) {
        gr_log(r, "fault-stats of %s: %s", d->id, gq_error(r->vm->qmp));
        return -1;
    }
    for (int i = 0; i < d->nlive && i < (int)json_object_array_length(list); i++) {
        json_object *f;

        if (d->live[i] >= 0 &&
            json_object_object_get_ex(json_object_array_get_idx(list, i),
                                      "fired", &f)) {
            acc[d->live[i]] += (uint64_t)json_object_get_int64(f);
        }
    }
    json_object_put(list);
    return 0;
}

/* Add the device's live rules' fire counts to the harvest and forget them
 * (before the rules are replaced or the device goes away). */
int gr_harvest(Run *r, Device *d, bool forget)
{
    if (live_fired(r, d, r->fired) < 0) {
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
        live_fired(r, &r->dev[i], now);
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
    int rc = gq_qom_set(r->vm->qmp, gr_qom_path(d), prop, v);

    json_object_put(v);
    gr_log(r, "qom-set %s %s '%s': %s", d->id, prop, rules,
          rc == GQ_OK ? "ok" : gq_error(r->vm->qmp));
    return rc;
}
