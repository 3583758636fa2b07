/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hotplug step: add, orderly remove (the attention button, or `fast`:
 * the guest powers the slot off) and surprise removal of a device on its
 * PCIe root port.
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

/*
 * The fast orderly unplug: the guest turns the slot off itself, as
 * `echo 0 > /sys/bus/pci/slots/N/power` does on real hardware (pciehp's
 * disable_slot: the driver's remove(), then Power Controller and Power
 * Indicator off), and the write returns when that is done.  QEMU's
 * device_del then finds the slot powered off and unplugs at once
 * (pcie_cap_slot_unplug_request_cb) instead of pressing the attention
 * button, whose 5 s grace pciehp would wait out.  The slot is the device's
 * root port: vm.c gives rpN the physical slot number N, pciehp's name for
 * it in sysfs.
 */
static int fast_power_off(Run *r, const Device *d)
{
    char cmd[256];
    ga_result res = { 0 };
    int slot = (int)(d - r->dev) + 1, st;

    snprintf(cmd, sizeof(cmd), "p=/sys/bus/pci/slots/%d/power; "
             "[ -w $p ] || { echo \"no $p: is pciehp driving the slot?\" >&2; "
             "exit 2; }; echo 0 > $p", slot);
    if (gr_guest(r, cmd, 60, &res) < 0) {
        return -1;
    }
    st = gr_exit_status(&res);
    if (st != 0) {
        gr_fail(r, GR_FAIL, GR_FAIL_STEP, "hotplug remove (fast): powering "
                "off slot %d for %s failed (exit %d): %s", slot, d->id, st,
                gr_tail(res.err ? res.err : "", 250));
        ga_result_free(&res);
        return -1;
    }
    ga_result_free(&res);
    return 0;
}

/* QEMU's DEVICE_DELETED for d, within seconds.  QEMU also reports the
 * deletion of the device's children (its MSI-X and such, by QOM path
 * only): wait for the one with d's id. */
static int wait_deleted(Run *r, const Device *d, double seconds)
{
    double end = gvm_now() + seconds;
    json_object *ev = NULL, *data, *dev;
    int rc;

    for (;;) {
        int left = (int)((end - gvm_now()) * 1000);

        rc = left > 0 ? gq_wait_event(r->vm->qmp, "DEVICE_DELETED", left, &ev) :
             GQ_ERR_TIMEOUT;
        if (rc != GQ_OK) {
            return rc;
        }
        if (json_object_object_get_ex(ev, "data", &data) &&
            json_object_object_get_ex(data, "device", &dev) &&
            !strcmp(json_object_get_string(dev), d->id)) {
            json_object_put(ev);
            return GQ_OK;
        }
        json_object_put(ev);
    }
}

int gr_step_hotplug(Run *r, const GsStep *st)
{
    Device *d = gr_find_dev(r, st->u.hotplug.device);
    char err[512];
    double t0;
    int rc;

    if (!d) {
        return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "hotplug: unknown device %s",
                     st->u.hotplug.device);
    }
    if (st->u.hotplug.action == GS_HOTPLUG_ADD) {
        char *arg;
        json_object *args;
        GqReply *rep;

        if (d->present) {
            return gr_fail(r, GR_FAIL, GR_FAIL_STEP, "hotplug add: %s is already present",
                         d->id);
        }
        arg = gr_device_arg(r, d, err, sizeof(err));
        if (!arg) {
            return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "target %s: %s", r->t->name, err);
        }
        /* device_add takes the -device string as a QemuOpts-like dict */
        args = json_object_new_object();
        {
            char *save, *tok, *copy = strdup(arg);
            bool first = true;

            for (tok = strtok_r(copy, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(tok, '=');

                if (first) {
                    json_object_object_add(args, "driver",
                                           json_object_new_string(tok));
                    first = false;
                } else if (eq) {
                    *eq = 0;
                    json_object_object_add(args, tok, json_object_new_string(eq + 1));
                }
            }
            free(copy);
        }
        rep = gq_execute(r->vm->qmp, "device_add", args, 10000);
        json_object_put(args);
        free(arg);
        if (rep->rc != GQ_OK) {
            rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "device_add: %s", gq_error(r->vm->qmp));
            gq_reply_free(rep);
            return rc;
        }
        gq_reply_free(rep);
        d->present = true;
        d->nlive = 0;
        d->plugs++;
        if (r->module_loaded) {
            if (gr_wait_ready(r, (double)r->t->ready_timeout, false) < 0) {
                return -1;
            }
            return gr_write_integrity(r);
        }
        return 0;
    }

    if (!d->present) {
        return gr_fail(r, GR_FAIL, GR_FAIL_STEP, "hotplug remove: %s is not present", d->id);
    }
    gr_harvest(r, d, true);
    if (st->u.hotplug.action == GS_HOTPLUG_SURPRISE && r->t->surprise_rule[0]) {
        /* the link goes down: every register reads as all-ones */
        if (gr_set_faults(r, d, r->t->fault_add, r->t->surprise_rule) != GQ_OK) {
            return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "surprise removal: %s",
                         gq_error(r->vm->qmp));
        }
        usleep(200000);
        /* what the link's fall injected, before the device takes its fault
         * log away (a fault object of its own) */
        gr_read_fault_log(r, d);
    }
    gq_drop_events(r->vm->qmp);
    t0 = gvm_now();
    rc = GQ_ERR_TIMEOUT;
    if (st->u.hotplug.fast) {
        if (fast_power_off(r, d) < 0) {
            return -1;
        }
        /* QEMU detaches a card whose slot the guest powered off
         * (pcie_cap_slot_write_config): no device_del needed */
        rc = wait_deleted(r, d, 5);
        if (rc != GQ_OK) {
            gr_log(r, "hotplug remove (fast): %s still there 5 s after its "
                   "slot's power-off; asking with device_del", d->id);
        }
    }
    if (rc != GQ_OK) {
        json_object *args = json_object_new_object();
        GqReply *rep;

        json_object_object_add(args, "id", json_object_new_string(d->id));
        rep = gq_execute(r->vm->qmp, "device_del", args, 10000);
        json_object_put(args);
        if (rep->rc != GQ_OK) {
            rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "device_del: %s", gq_error(r->vm->qmp));
            gq_reply_free(rep);
            return rc;
        }
        gq_reply_free(rep);
        /* pciehp: attention button, 5 s grace, then the driver's remove() */
        rc = wait_deleted(r, d, 60);
    }
    if (rc != GQ_OK) {
        /* what the guest says about it (a driver or a process holding the
         * device: vfio-pci's "Relaying device request to user") */
        char *tail = gvm_file_tail(r->vm->console, 1500);

        /* The removal is under way (the slot is powered off) and finishes
         * whenever the holder lets go: the device is no longer usable, and
         * the verdicts must not wait for it to be ready again. */
        d->present = false;

        rc = gr_vm_trouble(r, GR_FAIL_STEP, "hot-unplug: the guest did not release %s "
                           "within 60 s (no DEVICE_DELETED); console tail: %s", d->id,
                           gr_tail(tail, 400));
        free(tail);
        return rc;
    }
    gr_log(r, "hotplug %s: %s gone %.2f s after the %s", st->u.hotplug.action ==
           GS_HOTPLUG_SURPRISE ? "surprise" : "remove", d->id, gvm_now() - t0,
           st->u.hotplug.fast ? "slot's power-off (fast)" : "unplug request");
    d->present = false;
    /* A port outlives its device: what it injected during the unplug goes
     * into the log, and its rules go, as the device's went with it (a
     * device plugged in later starts with none, link up). */
    if (gt_has_faults(r->t) && gt_faults_on_port(r->t)) {
        gr_harvest(r, d, true);
        if (gr_set_faults(r, d, r->t->fault_set, "") != GQ_OK) {
            return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "after the unplug of %s: "
                           "clearing the rules of its port: %s", d->id,
                           gq_error(r->vm->qmp));
        }
    }
    return 0;
}
