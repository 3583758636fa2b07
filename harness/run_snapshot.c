/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Snapshot fast reset (--snapshot): save a VM right after boot + load,
 * and restore it for every later scenario with the same key.
 */
#define _GNU_SOURCE
#include "run_priv.h"

#include <dirent.h>
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

/* ---- snapshot fast reset ------------------------------------------------------ */
/*
 * With cfg->snapshot, a scenario whose steps start with boot (or none, the
 * default boot) and a load that must succeed does not boot.  The first
 * scenario with a given key boots and loads as usual (all its own
 * artifacts and verdicts), then saves the VM: QMP stop, migration into
 * vm.mig, a copy of every backing file and of the console log so far, and
 * goes on with its steps.  Every later scenario with that key starts QEMU
 * with the same command line and -incoming, loads vm.mig, continues the
 * guest, checks the driver is ready and goes on from the step after load,
 * on its own copy of the backing files.  Its console.log starts with the
 * saved boot log, so expect_log, forbid_log and the kernel-log verdict see
 * exactly what a cold run's log holds.
 *
 * Guest RAM (--snapshot-ram file, the default) is not in the stream: the
 * VM that saves runs with its RAM in a shared file on tmpfs
 * (memory-backend-file, share=on), the stream is saved with
 * x-ignore-shared (the device state only, RAM left out) and the RAM file
 * is copied into the snapshot as ram.img, once.  A restore maps ram.img
 * private (share=off: copy-on-write, the file never changes) and loads the
 * device state with x-ignore-shared; QEMU accepts a private destination
 * for an ignored block since 4.1 (commit b17fbbe55cba, "migration: allow
 * private destination ram with x-ignore-shared", VM templating).  With
 * --snapshot-ram stream, RAM is in vm.mig as before.
 *
 * The key is everything the saved state depends on: the QEMU binary, the
 * kernel and image, the target file, the boot options, the load
 * parameters, the devices present at boot, the IOMMU, the accelerator,
 * the integrity seed and where RAM is kept.  One snapshot is shared
 * read-only by every worker; a lock file makes the first one build it
 * while the others wait (bounded).
 */
#define SNAPSHOT_FORMAT 3    /* 2: the ledger's port; 3: RAM in ram.img */
#define SNAPSHOT_LOCK_WAIT_S 900.0

static bool snapshot_ram_file(const Run *r)
{
    return !r->cfg->snapshot_ram || !strcmp(r->cfg->snapshot_ram, "file");
}

/* "sec.nsec" of a file's mtime: a RAM file written after the save (or
 * replaced) no longer matches its meta.json. */
static void mtime_text(const struct stat *sb, char *buf, size_t len)
{
    snprintf(buf, len, "%lld.%09ld", (long long)sb->st_mtim.tv_sec,
             sb->st_mtim.tv_nsec);
}

/* How many leading steps a snapshot replaces (0: none, the scenario boots):
 * boot (optional: the default boot) and a load expected to succeed. */
static size_t snapshot_steps(const GsScenario *s, const GsStep **boot_st)
{
    size_t i = 0;

    *boot_st = NULL;
    if (s->nsteps && s->steps[0].type == GS_STEP_BOOT) {
        *boot_st = &s->steps[0];
        i = 1;
    }
    if (i >= s->nsteps || s->steps[i].type != GS_STEP_LOAD ||
        s->steps[i].u.load.expect != GS_EXPECT_OK) {
        return 0;
    }
    return i + 1;
}

static void key_file(FILE *f, const char *what, const char *path)
{
    struct stat sb;

    if (path && !stat(path, &sb)) {
        fprintf(f, "%s %s size %lld mtime %lld.%09ld\n", what, path,
                (long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
                sb.st_mtim.tv_nsec);
    } else {
        fprintf(f, "%s %s missing\n", what, path ? path : "(none)");
    }
}

/* The key text (malloc'd) and its hash, which names the snapshot. */
static char *snapshot_key(Run *r, const GsStep *boot_st, const GsStep *load_st,
                          char hex[17])
{
    char *text = NULL, *target;
    size_t len = 0, tlen;
    FILE *f = open_memstream(&text, &len);
    int k = r->s->kernel;

    fprintf(f, "gauntlet snapshot format %d\n", SNAPSHOT_FORMAT);
    key_file(f, "qemu", r->cfg->qemu);
    key_file(f, "kernel", r->cfg->kernel[k]);
    key_file(f, "initrd", r->cfg->initrd[k]);
    target = gvm_file_read(r->t->file, 0, &tlen);
    fprintf(f, "target %s %s fnv %016" PRIx64 "\n", r->t->name, r->t->file,
            gt_fnv1a(target, tlen, 0xcbf29ce484222325ULL));
    free(target);
    fprintf(f, "boot memory %d smp %d cmdline \"%s\"\n",
            boot_st ? (int)boot_st->u.boot.memory_mb : 512,
            boot_st ? (int)boot_st->u.boot.smp : 1,
            boot_st && boot_st->u.boot.cmdline ? boot_st->u.boot.cmdline : "");
    fprintf(f, "load params \"%s\"\n", load_st->u.load.params ?
            load_st->u.load.params : "");
    fprintf(f, "devices");
    for (int i = 0; i < r->ndev; i++) {
        fprintf(f, " %s:%s", r->dev[i].id, r->dev[i].present ? "present" : "absent");
    }
    fprintf(f, "\nwrite_cache %d", r->s->write_cache);
    fprintf(f, "\niommu %s", gr_iommu(r));
    fprintf(f, "\naccel %s\nseed %" PRIu64 "\n", r->cfg->accel ? r->cfg->accel :
            "auto", r->seed);
    fprintf(f, "ram %s\n", snapshot_ram_file(r) ? "file" : "stream");
    fclose(f);
    snprintf(hex, 17, "%016" PRIx64, gt_fnv1a(text, len, 0xcbf29ce484222325ULL));
    return text;
}

/* Take the lock file, waiting at most until deadline: fd, or -1. */
static int snapshot_lock(const char *path, double deadline)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0) {
        return -1;
    }
    while (flock(fd, LOCK_EX | LOCK_NB)) {
        if (errno != EWOULDBLOCK || gvm_now() > deadline) {
            close(fd);
            return -1;
        }
        usleep(100000);
    }
    return fd;
}

/* Is the RAM file not the one saved (missing, another size, written to
 * since)?  Then why. */
static bool snapshot_ram_changed(json_object *m, const char *ram, char *why,
                                 size_t len)
{
    json_object *bytes, *mtime;
    struct stat sb;
    char now[64];

    if (stat(ram, &sb)) {
        snprintf(why, len, "ram.img: %s", strerror(errno));
        return true;
    }
    if (!json_object_object_get_ex(m, "ram_bytes", &bytes) ||
        !json_object_object_get_ex(m, "ram_mtime", &mtime)) {
        snprintf(why, len, "meta.json lacks ram_bytes or ram_mtime");
        return true;
    }
    if (sb.st_size != json_object_get_int64(bytes)) {
        snprintf(why, len, "ram.img has %lld bytes, %" PRId64 " were saved "
                 "(truncated or damaged)", (long long)sb.st_size,
                 json_object_get_int64(bytes));
        return true;
    }
    mtime_text(&sb, now, sizeof(now));
    if (strcmp(now, json_object_get_string(mtime))) {
        snprintf(why, len, "ram.img was modified after the save (mtime %s, "
                 "saved %s)", now, json_object_get_string(mtime));
        return true;
    }
    return false;
}

/* A complete snapshot for this key in dir: 1 (sn filled), else 0; -1 when
 * it is damaged (sn filled to discard it). */
static int snapshot_find(Run *r, const char *dir, const char *key, Snapshot *sn)
{
    char path[4300], why[512];
    char *have;
    json_object *m, *v;
    struct stat sb;
    int ok = 0;

    snprintf(path, sizeof(path), "%s/key.txt", dir);
    have = gvm_file_read(path, 0, NULL);
    snprintf(path, sizeof(path), "%s/meta.json", dir);
    m = strcmp(have, key) ? NULL : json_object_from_file(path);
    free(have);
    memset(sn, 0, sizeof(*sn));
    snprintf(sn->dir, sizeof(sn->dir), "%s", dir);
    snprintf(sn->mig, sizeof(sn->mig), "%s/vm.mig", dir);
    if (m && !stat(dir, &sb)) {
        sn->ino = sb.st_ino;
        if (json_object_object_get_ex(m, "accel", &v)) {
            snprintf(sn->accel, sizeof(sn->accel), "%s", json_object_get_string(v));
        }
        if (json_object_object_get_ex(m, "built_by", &v)) {
            snprintf(sn->built_by, sizeof(sn->built_by), "%s",
                     json_object_get_string(v));
        }
        sn->module_loaded = json_object_object_get_ex(m, "module_loaded", &v) &&
                            json_object_get_boolean(v);
        sn->integrity_written = json_object_object_get_ex(m, "integrity_written", &v) &&
                                json_object_get_boolean(v);
        if (json_object_object_get_ex(m, "ram", &v) &&
            !strcmp(json_object_get_string(v), "file")) {
            snprintf(sn->ram, sizeof(sn->ram), "%s/ram.img", dir);
        }
        /* a truncated stream is refused here, with a clear reason */
        if (json_object_object_get_ex(m, "mig_bytes", &v) && !stat(sn->mig, &sb) &&
            sb.st_size != json_object_get_int64(v)) {
            gr_log(r, "snapshot %s: vm.mig has %lld bytes, %" PRId64 " were "
                  "saved (truncated or damaged): discarded, saving a new one",
                  dir, (long long)sb.st_size, json_object_get_int64(v));
            snprintf(r->snapshot_note, sizeof(r->snapshot_note), "discarded "
                     "%s: vm.mig has %lld bytes, %" PRId64 " were saved; ", dir,
                     (long long)sb.st_size, json_object_get_int64(v));
            ok = -1;
        } else if (sn->ram[0] && snapshot_ram_changed(m, sn->ram, why,
                                                      sizeof(why))) {
            /* the RAM file is the saved RAM: any change, and it is not */
            gr_log(r, "snapshot %s: %s: discarded, saving a new one", dir, why);
            snprintf(r->snapshot_note, sizeof(r->snapshot_note), "discarded "
                     "%s: %s; ", dir, why);
            ok = -1;
        } else {
            ok = sn->accel[0] ? 1 : 0;
        }
    }
    json_object_put(m);
    return ok;
}

/* Move a bad or stale snapshot out of the way (only the one we saw). */
static void snapshot_discard(Run *r, const Snapshot *sn)
{
    char bad[4300];
    struct stat sb;

    if (stat(sn->dir, &sb) || (sn->ino && sb.st_ino != sn->ino)) {
        return;
    }
    snprintf(bad, sizeof(bad), "%s.bad-%d", sn->dir, (int)getpid());
    if (!rename(sn->dir, bad)) {
        gr_log(r, "snapshot %s discarded", sn->dir);
        gr_remove_tree(r, bad);
    }
}

/* Save the VM just booted and loaded into dir (under the lock), then let it
 * go on.  0 saved; 1 not saved (this run goes on cold; e.g. a device QEMU
 * cannot migrate); -1 when the VM could not be continued. */
static int snapshot_save(Run *r, const char *dir, const char *key)
{
    char tmp[4200], path[4300], err[4096], ram_mtime[64] = "";
    json_object *m;
    struct stat sb;
    double t = gvm_now();
    int64_t ram_bytes = -1;
    int saved;

    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", dir, (int)getpid());
    gr_remove_tree(r, tmp);
    if (mkdir(tmp, 0755)) {
        gr_log(r, "snapshot: mkdir %s: %s", tmp, strerror(errno));
        snprintf(r->snapshot_note, sizeof(r->snapshot_note), "not saved: "
                 "mkdir %s: %s", tmp, strerror(errno));
        return 0;
    }
    snprintf(path, sizeof(path), "%s/vm.mig", tmp);
    saved = gvm_save(r->vm, path, 120000, err, sizeof(err));
    for (int i = 0; saved == 0 && i < r->ndev; i++) {
        char to[4300];

        snprintf(to, sizeof(to), "%s/disk-%s.img", tmp, r->dev[i].id);
        saved = gr_copy_file_err(r, r->dev[i].backing, to, err, sizeof(err));
    }
    if (saved == 0 && r->vm->ram_in_file) {
        /* the stream left RAM out: the file, now, is the saved RAM (the
         * guest is stopped).  A sparse copy: the pages the guest never
         * touched stay holes.  The VM goes on in its own file, which no
         * one needs any more: removed now, freed when QEMU exits. */
        snprintf(path, sizeof(path), "%s/ram.img", tmp);
        saved = gr_copy_file_err(r, r->vm->ram_file, path, err, sizeof(err));
        if (saved == 0 && !unlink(r->vm->ram_file)) {
            r->vm->ram_unlink = false;
        }
        if (saved == 0 && stat(path, &sb)) {
            snprintf(err, sizeof(err), "stat %s: %s", path, strerror(errno));
            saved = -1;
        }
        if (saved == 0) {
            ram_bytes = (int64_t)sb.st_size;
            mtime_text(&sb, ram_mtime, sizeof(ram_mtime));
        }
    }
    if (saved == 0) {
        snprintf(path, sizeof(path), "%s/console.log", tmp);
        saved = gr_copy_file_err(r, r->vm->console, path, err, sizeof(err));
    }
    if (saved == 0) {
        FILE *f;

        snprintf(path, sizeof(path), "%s/key.txt", tmp);
        f = fopen(path, "w");
        if (f) {
            fputs(key, f);
            fclose(f);
        }
        snprintf(path, sizeof(path), "%s/vm.mig", tmp);
        m = json_object_new_object();
        json_object_object_add(m, "format", json_object_new_int(SNAPSHOT_FORMAT));
        json_object_object_add(m, "accel", json_object_new_string(r->vm->accel));
        json_object_object_add(m, "built_by", json_object_new_string(r->s->name));
        json_object_object_add(m, "module_loaded",
                               json_object_new_boolean(r->module_loaded));
        json_object_object_add(m, "integrity_written",
                               json_object_new_boolean(r->integrity_written));
        json_object_object_add(m, "mig_bytes", json_object_new_int64(
                                   stat(path, &sb) ? -1 : (int64_t)sb.st_size));
        json_object_object_add(m, "ram", json_object_new_string(
                                   r->vm->ram_in_file ? "file" : "stream"));
        if (r->vm->ram_in_file) {
            json_object_object_add(m, "ram_bytes", json_object_new_int64(ram_bytes));
            json_object_object_add(m, "ram_mtime", json_object_new_string(ram_mtime));
        }
        json_object_object_add(m, "boot_ready_s", json_object_new_double(r->ready_s));
        json_object_object_add(m, "save_s", json_object_new_double(gvm_now() - t));
        snprintf(path, sizeof(path), "%s/meta.json", tmp);
        saved = json_object_to_file_ext(path, m, JSON_C_TO_STRING_PRETTY);
        json_object_put(m);
        if (saved) {
            snprintf(err, sizeof(err), "writing %s failed", path);
        }
    }
    if (saved == 0) {
        /* a stale snapshot of the same name (another key, a leftover) */
        if (!stat(dir, &sb)) {
            Snapshot old = { .ino = sb.st_ino };

            snprintf(old.dir, sizeof(old.dir), "%s", dir);
            snapshot_discard(r, &old);
        }
        if (rename(tmp, dir)) {
            snprintf(err, sizeof(err), "rename %s: %s", tmp, strerror(errno));
            saved = -1;
        }
    }
    {
        size_t l = strlen(r->snapshot_note);   /* keep a "discarded" note */

        if (saved == 0) {
            gr_log(r, "snapshot saved in %s (%.2f s)", dir, gvm_now() - t);
            snprintf(r->snapshot_note + l, sizeof(r->snapshot_note) - l,
                     "saved %s", dir);
        } else {
            gr_log(r, "snapshot not saved: %s", err);
            snprintf(r->snapshot_note + l, sizeof(r->snapshot_note) - l,
                     "not saved: %s", err);
            gr_remove_tree(r, tmp);
        }
    }
    if (r->vm && gvm_resume(r->vm, err, sizeof(err)) < 0) {
        return gr_fail(r, GR_ERROR, GR_FAIL_SNAPSHOT, "continuing the VM after saving "
                     "it: %s", err);
    }
    return saved == 0 ? 0 : 1;
}

#define CLOCK_FAILED "gauntlet: the wall clock was not set"

/* Start from sn instead of booting and loading. */
static int snapshot_restore(Run *r, const GsStep *boot_st, const Snapshot *sn)
{
    char con[4300], path[4300];

    /* the saved boot log first: QEMU appends what follows */
    snprintf(con, sizeof(con), "%s/console.log", r->dir);
    snprintf(path, sizeof(path), "%s/console.log", sn->dir);
    r->start = "snapshot";
    if (gr_copy_file(r, path, con) < 0 || gr_boot_vm(r, boot_st, sn) < 0) {
        snapshot_discard(r, sn);
        return -1;
    }
    r->module_loaded = sn->module_loaded;
    r->integrity_written = sn->integrity_written;
    snprintf(r->snapshot_note, sizeof(r->snapshot_note), "restored %s (saved by "
             "%s)", sn->dir, sn->built_by);
    /* The guest's monotonic clocks go on from the save (QEMU migrates the
     * virtual clock and the TSC offset: no jump, so no hung-task or RCU
     * stall report), but its wall clock is as old as the snapshot.  Set it
     * to the host's, which a cold boot reads from the RTC (libvirt does
     * the same after a restore, with guest-set-time).  Where the restored
     * driver must be checked, the clock is set in the ready check's first
     * command: one agent round trip instead of two. */
    {
        char cmd[128], *both = NULL;
        struct timespec now;
        bool ready = r->module_loaded && gr_any_present(r);
        ga_result res;
        int ok;

        clock_gettime(CLOCK_REALTIME, &now);
        snprintf(cmd, sizeof(cmd), "date -u -s @%lld >/dev/null",
                 (long long)now.tv_sec);
        if (ready && asprintf(&both, "%s || echo '" CLOCK_FAILED "' >&2; %s",
                              cmd, r->t->ready) < 0) {
            both = NULL;
        }
        if (both) {
            /* the ready check, after the clock (whatever became of it) */
            ok = gr_guest(r, both, 10, &res);
            free(both);
            if (ok < 0) {
                ga_result_free(&res);
                return -1;
            }
            if (res.err_len && strstr(res.err, CLOCK_FAILED)) {
                gr_log(r, "restore: setting the guest's wall clock failed");
            }
            ready = !ga_result_ok(&res);    /* not ready yet: poll below */
            ga_result_free(&res);
        } else {
            ok = gr_guest_ok(r, cmd, 10);
            if (ok < 0) {
                return -1;
            }
            if (!ok) {
                gr_log(r, "restore: setting the guest's wall clock failed");
            }
        }
        /* the restored driver must really be live, as after a load step */
        if (ready && gr_wait_ready(r, (double)r->t->ready_timeout, false) < 0) {
            return -1;
        }
        if (r->module_loaded && gr_any_present(r)) {
            r->ready_s = gvm_now() - r->vm->t_exec;
        }
    }
    gr_log(r, "restored: driver ready %.2f s after QEMU started", r->ready_s);
    return 0;
}

/* Marker of a snapshot that could not be made in this runner invocation
 * (its boot or load failed, or the save did): later scenarios with the key
 * boot cold at once instead of queueing behind the lock to fail again. */
static bool snapshot_failed_here(const char *marker)
{
    char *text = gvm_file_read(marker, 0, NULL);
    long pid = atol(text);

    free(text);
    return pid == (long)getppid();
}

static void snapshot_mark_failed(const char *marker, const char *why)
{
    FILE *f = fopen(marker, "w");

    if (f) {
        fprintf(f, "%ld\n%s\n", (long)getppid(), why);
        fclose(f);
    }
}

#define RAM_PREFIX "gauntlet-ram-"

/* Where the VM that saves a snapshot keeps its RAM: on tmpfs (/dev/shm)
 * where there is one, as gauntlet-ram-PID-KEY; the files of a worker
 * that died before removing its own are removed first. */
static void snapshot_ram_path(Run *r, const char *hex)
{
    const char *dir = access("/dev/shm", W_OK) ? r->cfg->snapshot_dir : "/dev/shm";
    DIR *d = opendir(dir);
    struct dirent *e;

    while (d && (e = readdir(d))) {
        long pid;
        char old[4300];

        if (strncmp(e->d_name, RAM_PREFIX, strlen(RAM_PREFIX))) {
            continue;
        }
        pid = strtol(e->d_name + strlen(RAM_PREFIX), NULL, 10);
        if (pid > 0 && kill((pid_t)pid, 0) && errno == ESRCH) {
            snprintf(old, sizeof(old), "%s/%s", dir, e->d_name);
            if (!unlink(old)) {
                gr_log(r, "snapshot: removed %s (its worker is gone)", old);
            }
        }
    }
    if (d) {
        closedir(d);
    }
    snprintf(r->save_ram, sizeof(r->save_ram), "%s/" RAM_PREFIX "%d-%s", dir,
             (int)getpid(), hex);
    unlink(r->save_ram);
}

/*
 * Start the scenario from a snapshot where it can: restore one, or build
 * one with this scenario's own boot and load.  Returns how many leading
 * steps were done (0: none, boot as usual), or -1 after a failure.
 */
int gr_snapshot_start(Run *r)
{
    const GsStep *boot_st;
    size_t n = snapshot_steps(r->s, &boot_st);
    char hex[17], dir[4300], lockp[4400], failp[4400];
    char *key;
    Snapshot sn;
    int lock, found, rc = (int)n;

    if (!n) {
        snprintf(r->snapshot_note, sizeof(r->snapshot_note), "not used: the "
                 "steps do not start with boot and a load expected to succeed");
        return 0;
    }
    if (!r->cfg->kernel[r->s->kernel] || !r->cfg->snapshot_dir) {
        return 0;   /* the cold boot reports what is missing */
    }
    key = snapshot_key(r, boot_st, &r->s->steps[n - 1], hex);
    mkdir(r->cfg->snapshot_dir, 0755);
    snprintf(dir, sizeof(dir), "%s/%s-%s", r->cfg->snapshot_dir, r->t->name, hex);
    snprintf(lockp, sizeof(lockp), "%s.lock", dir);
    snprintf(failp, sizeof(failp), "%s.failed", dir);
    lock = snapshot_lock(lockp, fmin(gvm_now() + SNAPSHOT_LOCK_WAIT_S,
                                     r->deadline - 60));
    if (lock < 0) {
        gr_log(r, "snapshot %s: lock not taken in time; booting", dir);
        snprintf(r->snapshot_note, sizeof(r->snapshot_note), "not used: %s "
                 "busy", lockp);
        free(key);
        return 0;
    }
    found = snapshot_find(r, dir, key, &sn);
    if (found > 0) {
        close(lock);
        free(key);
        return snapshot_restore(r, boot_st, &sn) < 0 ? -1 : (int)n;
    }
    if (found < 0) {
        snapshot_discard(r, &sn);
    }
    if (snapshot_failed_here(failp)) {
        char *why = gvm_file_read(failp, 0, NULL);
        char *nl = strchr(why, '\n');

        gr_log(r, "snapshot %s: could not be made earlier in this run (%s); "
              "booting", dir, nl ? nl + 1 : "");
        snprintf(r->snapshot_note, sizeof(r->snapshot_note), "not used: could "
                 "not be made earlier in this run: %s", nl ? nl + 1 : "");
        gr_one_line(r->snapshot_note);
        free(why);
        close(lock);
        free(key);
        return 0;
    }
    /* Build it: this scenario's own boot and load, judged as usual. */
    gr_log(r, "snapshot %s: none yet; booting to save one", dir);
    if (snapshot_ram_file(r)) {
        snapshot_ram_path(r, hex);
    }
    if (gr_run_steps(r, r->s->steps, n) < 0) {
        snapshot_mark_failed(failp, r->reason);
        rc = -1;
    } else {
        int saved = snapshot_save(r, dir, key);

        if (saved > 0) {
            snapshot_mark_failed(failp, r->snapshot_note);
        }
        rc = saved < 0 ? -1 : (int)n;
    }
    close(lock);
    free(key);
    return rc;
}
