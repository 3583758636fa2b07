/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Booting the scenario's VM (or restoring it from a snapshot): backing
 * files, the QEMU command line of the devices, and bounded host commands
 * (cp, rm).
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
#include "proc.h"
#include "qmp.h"
#include "verdict.h"

/* ---- boot ------------------------------------------------------------------- */

static int make_backing(Run *r, Device *d)
{
    int fd = open(d->backing, O_RDWR | O_CREAT | O_TRUNC, 0644);

    if (fd < 0 || ftruncate(fd, (off_t)r->t->drive_size_mb << 20)) {
        if (fd >= 0) {
            close(fd);
        }
        return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "backing file %s: %s", d->backing,
                     strerror(errno));
    }
    close(fd);
    return 0;
}


int gr_copy_file(Run *r, const char *from, const char *to);

/* Start the VM: boot it, or restore it from sn (then the backing files
 * are copies of the snapshot's and the accelerator is the snapshot's). */
int gr_boot_vm(Run *r, const GsStep *st, const Snapshot *sn)
{
    GvmOptions o = { 0 };
    char err[8192];
    char **extra = calloc(4 * MAX_DEVICES + 8, sizeof(char *));
    int n = 0, k = r->s->kernel;

    for (int i = 0; i < r->ndev; i++) {
        Device *d = &r->dev[i];
        char *arg;

        if (sn) {
            char from[4300];

            snprintf(from, sizeof(from), "%s/disk-%s.img", sn->dir, d->id);
            if (gr_copy_file(r, from, d->backing) < 0) {
                goto out;
            }
        } else if (r->power_cuts) {
            /* booting again after a power cut: the disks as the cut left them */
        } else if (make_backing(r, d) < 0) {
            goto out;
        }
        extra[n++] = strdup("-blockdev");
        if (asprintf(&extra[n++], "driver=raw,node-name=drive-%s,file.driver=file,"
                     "file.filename=%s,cache.direct=off", d->id, d->backing) < 0) {
            abort();
        }
        if (d->present) {
            arg = gr_device_arg(r, d, err, sizeof(err));
            if (!arg) {
                gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "target %s: %s", r->t->name, err);
                goto out;
            }
            extra[n++] = strdup("-device");
            extra[n++] = arg;
        }
    }
    if (!r->cfg->kernel[k] || !r->cfg->initrd[k]) {
        gr_fail(r, GR_SKIP, GR_FAIL_SKIP, "no %s kernel configured",
              k == GS_KERNEL_DEBUG ? "debug" : "stock");
        goto out;
    }
    o.qemu = r->cfg->qemu;
    o.kernel = r->cfg->kernel[k];
    o.initrd = r->cfg->initrd[k];
    o.cmdline = st ? st->u.boot.cmdline : NULL;
    o.fw_dirs = r->cfg->fw_dirs;
    o.dir = r->dir;
    o.accel = sn ? sn->accel : r->cfg->accel;
    o.mem_mb = st ? (int)st->u.boot.memory_mb : 512;
    o.smp = st ? (int)st->u.boot.smp : 1;
    o.extra = (const char *const *)extra;
    /* a restored agent is up at once; allow for a loaded host */
    o.boot_timeout_ms = sn ? 60000 : 180000;
    o.incoming = sn ? sn->mig : NULL;
    o.qmp_transcript = r->qmp_tx;
    o.interactive = r->cfg->shell;
    o.agent_transcript = r->agent_tx;
    o.ledger = r->ledger_path;
    o.append_console = r->power_cuts > 0;
    o.root_port = r->t->root_port;
    o.iommu = gr_iommu(r);
    if (sn && sn->ram[0]) {
        /* the saved RAM, copy-on-write: the file never changes */
        o.ram_file = sn->ram;
    } else if (!sn && r->save_ram[0]) {
        o.ram_file = r->save_ram;
        o.ram_shared = true;
        o.ram_unlink = true;
    }
    if (sn) {
        gr_log(r, "restore: %s (saved by %s)%s%s, kernel %s, initrd %s", sn->mig,
               sn->built_by, o.ram_file ? ", RAM copy-on-write from " : "",
               o.ram_file ? o.ram_file : "", o.kernel, o.initrd);
    } else {
        gr_log(r, "boot: kernel %s, initrd %s%s", o.kernel, o.initrd,
               strcmp(o.iommu, "none") ? ", IOMMU intel-iommu (strict)" : "");
    }
    r->vm = gvm_start(&o, err, sizeof(err));
    r->save_ram[0] = 0;         /* one boot only (not a power cut's next) */
    r->qemu_starts++;           /* its fault engines count from 0 again */
    if (!r->vm && sn) {
        /* the harness's own trouble (a damaged or stale snapshot), never
         * the driver's */
        gr_fail(r, GR_ERROR, GR_FAIL_SNAPSHOT, "snapshot restore failed: %s", err);
    } else if (!r->vm) {
        /* a guest that does not come up is the kernel's (or driver's) fault
         * only if QEMU itself started */
        gr_fail(r, strstr(err, "QEMU did not come up") ? GR_ERROR : GR_FAIL,
              strstr(err, "QEMU did not come up") ? GR_FAIL_ERROR : GR_FAIL_BOOT,
              "boot failed: %s", err);
    } else if (sn) {
        gr_log(r, "restored in %.2f s, agent ready after %.2f s (accel %s, guest %s)",
              r->vm->restore_s, r->vm->boot_s, r->vm->accel,
              ga_agent_uname(r->vm->agent));
    } else {
        gr_log(r, "booted in %.1f s (accel %s, guest %s)", r->vm->boot_s,
              r->vm->accel, ga_agent_uname(r->vm->agent));
    }
out:
    for (int i = 0; i < n; i++) {
        free(extra[i]);
    }
    free(extra);
    return r->vm ? 0 : -1;
}

const char *gr_iommu(const Run *r)
{
    switch (r->s->iommu) {
    case GS_IOMMU_NONE:
        return "none";
    case GS_IOMMU_INTEL:
        return "intel";
    case GS_IOMMU_TARGET:
        break;
    }
    return r->t->iommu;
}

int gr_boot(Run *r, const GsStep *st)
{
    return gr_boot_vm(r, st, NULL);
}


/* Bounded host command (cp, rm): 0 on exit status 0. */
int gr_host_cmd(Run *r, char *const argv[], int timeout_ms, char *err,
                size_t errlen)
{
    GpSpec sp = { .argv = argv, .timeout_s = timeout_ms / 1000.0,
                  .output = GP_OUT_CAPTURE, .cap = 1000 };
    GpResult res;
    int rc = 0;

    if (gp_run(&sp, &res) < 0) {
        snprintf(err, errlen, "%s", res.why);
        rc = -1;
    } else if (res.timed_out) {
        snprintf(err, errlen, "%s %s: killed after %d ms", argv[0],
                 argv[1] ? argv[1] : "", timeout_ms);
        rc = -1;
    } else if (gp_failed(&res)) {
        snprintf(err, errlen, "%s %s ... failed (%s)%s%s", argv[0],
                 argv[1] ? argv[1] : "", res.why, res.out_len ? ": " : "",
                 res.out_len ? res.out : "");
        rc = -1;
    }
    gp_result_free(&res);
    return rc;
}

/* Copy a (sparse) file: a reflink where the file system has them. */
int gr_copy_file_err(Run *r, const char *from, const char *to, char *err,
                         size_t errlen)
{
    char *argv[] = { "cp", "--reflink=auto", "--sparse=always", "--",
                     (char *)from, (char *)to, NULL };

    return gr_host_cmd(r, argv, 120000, err, errlen);
}

/* The same, a failure of the run (the harness's: error). */
int gr_copy_file(Run *r, const char *from, const char *to)
{
    char err[512];

    if (gr_copy_file_err(r, from, to, err, sizeof(err)) < 0) {
        return gr_fail(r, GR_ERROR, GR_FAIL_SNAPSHOT, "copying %s to %s: %s", from, to,
                     err);
    }
    return 0;
}

void gr_remove_tree(Run *r, const char *path)
{
    char *argv[] = { "rm", "-rf", "--", (char *)path, NULL };
    char err[512];

    if (gr_host_cmd(r, argv, 120000, err, sizeof(err)) < 0) {
        gr_log(r, "snapshot: removing %s: %s", path, err);
    }
}
