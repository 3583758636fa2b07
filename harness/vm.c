/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet VM control (vm.h).
 */
#define _GNU_SOURCE
#include "vm.h"
#include "proc.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double gvm_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

char *gvm_file_read(const char *path, long from, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long size = 0;
    size_t got = 0;

    if (f && !fseek(f, 0, SEEK_END)) {
        size = ftell(f);
    }
    if (from < 0) {
        from = size + from > 0 ? size + from : 0;
    }
    buf = malloc(size > from ? (size_t)(size - from) + 1 : 1);
    if (f && size > from && !fseek(f, from, SEEK_SET)) {
        got = fread(buf, 1, (size_t)(size - from), f);
    }
    buf[got] = 0;
    for (size_t i = 0; i < got; i++) {
        if (buf[i] == 0) {
            buf[i] = '.';
        }
    }
    if (f) {
        fclose(f);
    }
    if (len) {
        *len = got;
    }
    return buf;
}

char *gvm_file_tail(const char *path, size_t n)
{
    return gvm_file_read(path, -(long)n, NULL);
}

static bool kvm_usable(void)
{
    FILE *f;
    char line[1024];
    bool vm = false;

    if (access("/dev/kvm", R_OK | W_OK)) {
        return false;
    }
    /* A host that is itself a VM would need nested KVM, which hangs on the
     * machines we know; GAUNTLET_ACCEL=kvm forces it anyway. */
    f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "flags", 5) && strstr(line, " hypervisor")) {
            vm = true;
            break;
        }
    }
    if (f) {
        fclose(f);
    }
    return !vm;
}

bool gvm_running(Gvm *vm)
{
    pid_t r;

    if (vm->exited) {
        return false;
    }
    r = waitpid(vm->pid, &vm->status, WNOHANG);
    if (r == vm->pid || (r < 0 && errno == ECHILD)) {
        vm->exited = true;
        return false;
    }
    return true;
}

bool gvm_ended(Gvm *vm)
{
    if (!gvm_running(vm)) {
        return true;
    }
    /* QEMU says SHUTDOWN when the guest resets or powers off (then STOP) */
    if (!vm->shut_down && vm->qmp && !gq_is_closed(vm->qmp) &&
        gq_wait_event(vm->qmp, "SHUTDOWN", 1, NULL) == GQ_OK) {
        vm->shut_down = true;
    }
    return vm->shut_down;
}

/* the agent client's view: a machine that ended leaves the link open */
static int vm_ended_cb(void *opaque)
{
    return gvm_ended(opaque);
}

const char *gvm_describe_exit(Gvm *vm, char *buf, size_t len)
{
    if (gvm_running(vm) && vm->shut_down) {
        snprintf(buf, len, "stopped at the guest's reset, kept for reading");
    } else if (gvm_running(vm)) {
        snprintf(buf, len, "running");
    } else if (WIFEXITED(vm->status)) {
        snprintf(buf, len, "exit %d", WEXITSTATUS(vm->status));
    } else if (WIFSIGNALED(vm->status)) {
        snprintf(buf, len, "killed by signal %d", WTERMSIG(vm->status));
    } else {
        snprintf(buf, len, "status 0x%x", vm->status);
    }
    return buf;
}

static void reap_bounded(Gvm *vm, int timeout_ms)
{
    double end = gvm_now() + timeout_ms / 1000.0;

    while (gvm_running(vm) && gvm_now() < end) {
        usleep(20000);
    }
    if (gvm_running(vm)) {
        kill(vm->pid, SIGKILL);
        waitpid(vm->pid, &vm->status, 0);
        vm->exited = true;
    }
}

/* QEMU has exited: close its sockets and free vm. */
static void release(Gvm *vm)
{
    if (vm->agent) {
        ga_close(vm->agent);
    }
    gq_close(vm->qmp);
    unlink(vm->qmp_sock);
    unlink(vm->agent_sock);
    if (vm->ram_unlink) {
        unlink(vm->ram_file);
    }
    free(vm);
}

void gvm_kill(Gvm *vm)
{
    if (!vm) {
        return;
    }
    reap_bounded(vm, 0);
    release(vm);
}

void gvm_stop(Gvm *vm, int timeout_ms)
{
    if (!vm) {
        return;
    }
    if (gvm_running(vm) && vm->qmp) {
        GqReply *r = gq_execute(vm->qmp, "quit", NULL, 2000);

        gq_reply_free(r);
    }
    reap_bounded(vm, timeout_ms);
    release(vm);
}

typedef struct Argv {
    char **v;
    size_t n, cap;
} Argv;

static void argv_add(Argv *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void argv_add(Argv *a, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) {
        abort();
    }
    va_end(ap);
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = realloc(a->v, a->cap * sizeof(*a->v));
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static void argv_free(Argv *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i]);
    }
    free(a->v);
}

/* ---- save and restore (migration to and from a file) ----------------------- */

/* Why QEMU is gone or stuck, for an error message: its exit and log tail. */
static void qemu_trouble(Gvm *vm, const char *what, char *err, size_t errlen)
{
    char how[64], *tail;

    for (double end = gvm_now() + 2; gvm_running(vm) && gvm_now() < end;) {
        usleep(20000);      /* a failed incoming migration exits QEMU */
    }
    tail = gvm_file_tail(vm->qemu_log, 1500);
    snprintf(err, errlen, "%s (QEMU %s)%s%s", what,
             gvm_describe_exit(vm, how, sizeof(how)), *tail ? "; qemu.log: " : "",
             tail);
    free(tail);
}

/* Poll query-migrate until the migration (outgoing or incoming) completes,
 * fails, QEMU exits or timeout_ms passes. */
static int migration_wait(Gvm *vm, const char *what, int timeout_ms, char *err,
                          size_t errlen)
{
    double end = gvm_now() + timeout_ms / 1000.0;
    char status[64] = "none";

    for (;;) {
        GqReply *rep = gq_execute(vm->qmp, "query-migrate", NULL, 5000);
        json_object *st;

        if (rep->rc != GQ_OK) {
            char msg[1024];
            bool closed = gq_is_closed(vm->qmp);

            /* QEMU gone is the news, not the QMP error it caused */
            snprintf(msg, sizeof(msg), "%s: %s%s", what, closed ?
                     "QEMU exited during the migration" : "query-migrate: ",
                     closed ? "" : gq_error(vm->qmp));
            gq_reply_free(rep);
            qemu_trouble(vm, msg, err, errlen);
            return -1;
        }
        if (rep->ret && json_object_object_get_ex(rep->ret, "status", &st)) {
            snprintf(status, sizeof(status), "%s", json_object_get_string(st));
        }
        gq_reply_free(rep);
        if (!strcmp(status, "completed")) {
            return 0;
        }
        if (!strcmp(status, "failed") || !strcmp(status, "cancelled")) {
            char msg[1024];

            snprintf(msg, sizeof(msg), "%s: migration %s", what, status);
            qemu_trouble(vm, msg, err, errlen);
            return -1;
        }
        if (gvm_now() >= end) {
            char msg[1024];

            snprintf(msg, sizeof(msg), "%s: migration not completed within "
                     "%d ms (status '%s')", what, timeout_ms, status);
            qemu_trouble(vm, msg, err, errlen);
            return -1;
        }
        usleep(10000);
    }
}

static int qmp_simple(Gvm *vm, const char *cmd, json_object *args,
                      const char *what, char *err, size_t errlen)
{
    GqReply *rep = gq_execute(vm->qmp, cmd, args, 10000);
    int rc = rep->rc;

    if (rc != GQ_OK) {
        char msg[1024];

        snprintf(msg, sizeof(msg), "%s: %s", what, gq_error(vm->qmp));
        qemu_trouble(vm, msg, err, errlen);
    }
    gq_reply_free(rep);
    json_object_put(args);
    return rc == GQ_OK ? 0 : -1;
}

/* Migrate RAM blocks backed by a shared file or not (x-ignore-shared):
 * set on both ends, before migrate or migrate-incoming. */
static int ignore_shared(Gvm *vm, const char *what, char *err, size_t errlen)
{
    json_object *args = json_object_new_object();
    json_object *caps = json_object_new_array();
    json_object *cap = json_object_new_object();

    json_object_object_add(cap, "capability",
                           json_object_new_string("x-ignore-shared"));
    json_object_object_add(cap, "state", json_object_new_boolean(true));
    json_object_array_add(caps, cap);
    json_object_object_add(args, "capabilities", caps);
    return qmp_simple(vm, "migrate-set-capabilities", args, what, err, errlen);
}

/* A path that goes into a shell command between single quotes. */
static bool shell_safe(const char *path, char *err, size_t errlen)
{
    if (strchr(path, '\'')) {
        snprintf(err, errlen, "snapshot path %s: a single quote is not "
                 "supported", path);
        return false;
    }
    return true;
}

int gvm_save(Gvm *vm, const char *file, int timeout_ms, char *err,
             size_t errlen)
{
    json_object *args;
    char uri[4200];

    if (!shell_safe(file, err, errlen)) {
        return -1;
    }
    /* QEMU's default limit (128 MiB/s) would throttle a stopped guest */
    args = json_object_new_object();
    json_object_object_add(args, "max-bandwidth",
                           json_object_new_int64(INT64_C(1) << 40));
    if (qmp_simple(vm, "migrate-set-parameters", args, "save", err, errlen) < 0 ||
        (vm->ram_in_file && ignore_shared(vm, "save: x-ignore-shared", err,
                                          errlen) < 0) ||
        qmp_simple(vm, "stop", NULL, "save: stop", err, errlen) < 0) {
        return -1;
    }
    snprintf(uri, sizeof(uri), "exec:cat > '%s'", file);
    args = json_object_new_object();
    json_object_object_add(args, "uri", json_object_new_string(uri));
    if (qmp_simple(vm, "migrate", args, "save: migrate", err, errlen) < 0) {
        return -1;
    }
    return migration_wait(vm, "save", timeout_ms, err, errlen);
}

int gvm_resume(Gvm *vm, char *err, size_t errlen)
{
    return qmp_simple(vm, "cont", NULL, "resume: cont", err, errlen);
}

/* Load the saved state into a QEMU started with -incoming defer, then let
 * the guest run.  A stream QEMU cannot load makes it exit (QEMU 7.2 has no
 * exit-on-error=false): that is reported with its log. */
static int restore_incoming(Gvm *vm, const GvmOptions *opt, char *err,
                            size_t errlen)
{
    json_object *args;
    char uri[4200], what[4200];
    int timeout = opt->incoming_timeout_ms > 0 ? opt->incoming_timeout_ms : 60000;

    if (!shell_safe(opt->incoming, err, errlen)) {
        return -1;
    }
    snprintf(what, sizeof(what), "restore from %s", opt->incoming);
    snprintf(uri, sizeof(uri), "exec:cat '%s'", opt->incoming);
    /* RAM mapped from the saved file: the stream has the devices only */
    if (opt->ram_file && ignore_shared(vm, what, err, errlen) < 0) {
        return -1;
    }
    args = json_object_new_object();
    json_object_object_add(args, "uri", json_object_new_string(uri));
    if (qmp_simple(vm, "migrate-incoming", args, what, err, errlen) < 0 ||
        migration_wait(vm, what, timeout, err, errlen) < 0) {
        return -1;
    }
    /* the saved guest was stopped: it stays paused until told */
    return qmp_simple(vm, "cont", NULL, what, err, errlen);
}

/* s with every comma doubled (a QemuOpts value), malloc'd. */
static char *qemu_opt_escape(const char *s)
{
    char *q = malloc(2 * strlen(s) + 1), *d = q;

    if (!q) {
        abort();
    }
    for (; *s; s++) {
        *d++ = *s;
        if (*s == ',') {
            *d++ = ',';
        }
    }
    *d = 0;
    return q;
}

static Gvm *start_once(const GvmOptions *opt, const char *accel, char *err,
                       size_t errlen, bool *boot_timed_out)
{
    static const char *const default_fw[] = {
        "/usr/share/seabios", "/usr/share/qemu", NULL
    };
    Gvm *vm = calloc(1, sizeof(*vm));
    Argv a = { 0 };
    const char *const *fw = opt->fw_dirs ? opt->fw_dirs : default_fw;
    bool iommu = opt->iommu && !strcmp(opt->iommu, "intel");
    char cerr[1024];
    FILE *cl;
    char path[4096];
    double t0;
    int rc;

    *boot_timed_out = false;
    snprintf(vm->accel, sizeof(vm->accel), "%s", accel);
    snprintf(vm->console, sizeof(vm->console), "%s/console.log", opt->dir);
    snprintf(vm->qemu_log, sizeof(vm->qemu_log), "%s/qemu.log", opt->dir);
    snprintf(vm->qmp_sock, sizeof(vm->qmp_sock), "%s/qmp.sock", opt->dir);
    snprintf(vm->agent_sock, sizeof(vm->agent_sock), "%s/agent.sock", opt->dir);
    unlink(vm->qmp_sock);
    unlink(vm->agent_sock);
    if (!opt->incoming && !opt->append_console) {
        unlink(vm->console);
    }

    argv_add(&a, "%s", opt->qemu);
    for (size_t i = 0; fw[i]; i++) {
        if (!access(fw[i], R_OK)) {
            argv_add(&a, "-L");
            argv_add(&a, "%s", fw[i]);
        }
    }
    argv_add(&a, "-machine");
    /* KVM's in-kernel IOAPIC cannot remap interrupts: intel-iommu's
     * intremap=on needs the split irqchip there (TCG has none) */
    argv_add(&a, "q35%s%s", iommu && !strcmp(accel, "kvm") ?
             ",kernel-irqchip=split" : "",
             opt->ram_file ? ",memory-backend=gauntlet-ram" : "");
    if (opt->ram_file) {
        /* QemuOpts: a comma in a value is doubled */
        char *q = qemu_opt_escape(opt->ram_file);

        argv_add(&a, "-object");
        argv_add(&a, "memory-backend-file,id=gauntlet-ram,size=%dM,"
                 "mem-path=%s,share=%s", opt->mem_mb > 0 ? opt->mem_mb : 512, q,
                 opt->ram_shared ? "on" : "off");
        free(q);
        snprintf(vm->ram_file, sizeof(vm->ram_file), "%s", opt->ram_file);
        vm->ram_in_file = opt->ram_shared;
        vm->ram_unlink = opt->ram_unlink;
    }
    argv_add(&a, "-nodefaults");
    argv_add(&a, "-display");
    argv_add(&a, "none");
    /* a guest reset (a panic: panic=-1) ends the machine, and QEMU stops
     * and waits to be read (gvm_ended) */
    argv_add(&a, "-no-reboot");
    argv_add(&a, "-action");
    argv_add(&a, "shutdown=pause");
    argv_add(&a, "-accel");
    argv_add(&a, "%s", accel);
    if (!strcmp(accel, "kvm")) {
        argv_add(&a, "-cpu");
        argv_add(&a, "host");
    }
    argv_add(&a, "-m");
    argv_add(&a, "%d", opt->mem_mb > 0 ? opt->mem_mb : 512);
    argv_add(&a, "-smp");
    argv_add(&a, "%d", opt->smp > 0 ? opt->smp : 1);
    /* S3 (suspend to RAM) is off by default on q35. */
    argv_add(&a, "-global");
    argv_add(&a, "ICH9-LPC.disable_s3=0");
    /* Native PCIe hotplug (pciehp, the attention button), as on real
     * hardware; QEMU 7.2's q35 defaults to ACPI hotplug instead. */
    argv_add(&a, "-global");
    argv_add(&a, "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off");
    if (iommu) {
        static const char *const trace[] = GVM_IOMMU_TRACE;

        /* before the root ports: a device created earlier than the IOMMU
         * would DMA around it */
        argv_add(&a, "-device");
        argv_add(&a, "intel-iommu,intremap=on");
        for (size_t i = 0; trace[i]; i++) {
            argv_add(&a, "-trace");
            argv_add(&a, "%s", trace[i]);
        }
    }
    for (int i = 1; i <= GVM_ROOT_PORTS; i++) {
        argv_add(&a, "-device");
        argv_add(&a, "%s,id=rp%d,bus=pcie.0,chassis=%d,slot=%d,addr=0x%x",
                 opt->root_port ? opt->root_port : "pcie-root-port", i, i, i,
                 0x10 + i);
    }
    if (opt->interactive) {
        /* the console and the monitor on this terminal (Ctrl-A C) */
        argv_add(&a, "-chardev");
        argv_add(&a, "stdio,id=con,mux=on,signal=off,logfile=%s", vm->console);
        argv_add(&a, "-mon");
        argv_add(&a, "chardev=con,mode=readline");
    } else {
        argv_add(&a, "-chardev");
        argv_add(&a, "file,id=con,path=%s%s", vm->console,
                 opt->incoming || opt->append_console ? ",append=on" : "");
    }
    argv_add(&a, "-serial");
    argv_add(&a, "chardev:con");
    argv_add(&a, "-chardev");
    argv_add(&a, "socket,id=agent,path=%s,server=on,wait=off", vm->agent_sock);
    argv_add(&a, "-device");
    argv_add(&a, "isa-serial,chardev=agent,index=1");
    if (opt->ledger) {
        /* appended to: a power cut's second boot goes on in the same file */
        argv_add(&a, "-chardev");
        argv_add(&a, "file,id=ledger,path=%s,append=on", opt->ledger);
        argv_add(&a, "-device");
        argv_add(&a, "isa-serial,chardev=ledger,index=2,iobase=0x3e8,irq=5");
    }
    argv_add(&a, "-qmp");
    argv_add(&a, "unix:%s,server=on,wait=off", vm->qmp_sock);
    argv_add(&a, "-kernel");
    argv_add(&a, "%s", opt->kernel);
    argv_add(&a, "-initrd");
    argv_add(&a, "%s", opt->initrd);
    argv_add(&a, "-append");
    argv_add(&a, "console=ttyS0 panic=-1 ignore_loglevel printk.devkmsg=on%s%s%s%s",
             iommu ? " " GVM_IOMMU_CMDLINE : "",
             opt->interactive ? "" :
             " gauntlet.run=\"while :; do sleep 3600; done\"",
             opt->cmdline && *opt->cmdline ? " " : "",
             opt->cmdline ? opt->cmdline : "");
    for (size_t i = 0; opt->extra && opt->extra[i]; i++) {
        argv_add(&a, "%s", opt->extra[i]);
    }
    if (opt->incoming) {
        /* the stream comes over QMP (migrate-incoming), after connecting */
        argv_add(&a, "-incoming");
        argv_add(&a, "defer");
    }

    /* The exact command, shell-quoted, for the artifacts. */
    snprintf(path, sizeof(path), "%s/qemu-cmdline.txt", opt->dir);
    cl = fopen(path, "w");
    for (size_t i = 0; cl && i < a.n; i++) {
        fputc('\'', cl);
        for (const char *s = a.v[i]; *s; s++) {
            if (*s == '\'') {
                fputs("'\\''", cl);
            } else {
                fputc(*s, cl);
            }
        }
        fputs(i + 1 < a.n ? "' " : "'\n", cl);
    }
    if (cl) {
        fclose(cl);
    }

    if (opt->interactive) {
        fprintf(stderr, "gauntlet shell: console on this terminal (Ctrl-A X "
                "quits, Ctrl-A C the monitor); QMP at %s, agent at %s, "
                "command in %s/qemu-cmdline.txt\n", vm->qmp_sock,
                vm->agent_sock, opt->dir);
        execv(a.v[0], a.v);
        snprintf(err, errlen, "exec %s: %s", a.v[0], strerror(errno));
        argv_free(&a);
        free(vm);
        return NULL;
    }
    /* Instrumented code in QEMU (Kestrel, qemu-device/qemu/cc-gcov) writes
     * its gcov data at exit under the run's directory, not into the build
     * tree: every run's device coverage stays its own. */
    snprintf(path, sizeof(path), "%s/gcov/qemu", opt->dir);
    t0 = vm->t_exec = gvm_now();
    {
        char gcov_env[sizeof(path) + 16];
        const char *env[] = { gcov_env, NULL };
        GpSpec sp = { .argv = a.v, .output = GP_OUT_FILE, .out_path = vm->qemu_log,
                      .die_with_parent = true, .env = env };

        snprintf(gcov_env, sizeof(gcov_env), "GCOV_PREFIX=%s", path);
        vm->pid = gp_spawn(&sp, err, errlen);
    }
    if (vm->pid < 0) {
        argv_free(&a);
        if (vm->ram_unlink) {
            unlink(vm->ram_file);
        }
        free(vm);
        return NULL;
    }
    argv_free(&a);

    vm->qmp = gq_connect_unix(vm->qmp_sock, 15000, cerr, sizeof(cerr));
    if (!vm->qmp) {
        char *tail = gvm_file_tail(vm->qemu_log, 2000);
        char how[64];

        reap_bounded(vm, 100);
        snprintf(err, errlen, "QEMU did not come up (%s): %s\nqemu.log:\n%s",
                 gvm_describe_exit(vm, how, sizeof(how)), cerr, tail);
        free(tail);
        if (vm->ram_unlink) {
            unlink(vm->ram_file);
        }
        free(vm);
        return NULL;
    }
    if (opt->qmp_transcript) {
        gq_set_transcript(vm->qmp, opt->qmp_transcript);
    }
    if (opt->incoming) {
        if (restore_incoming(vm, opt, err, errlen) < 0) {
            gvm_stop(vm, 3000);
            return NULL;
        }
        vm->restore_s = gvm_now() - t0;
    }
    vm->agent = ga_new();
    ga_set_ended_cb(vm->agent, vm_ended_cb, vm);
    if (opt->agent_transcript) {
        ga_set_transcript_file(vm->agent, opt->agent_transcript);
    }
    rc = ga_connect_unix(vm->agent, vm->agent_sock, 5000);
    if (rc == GA_OK) {
        rc = ga_wait_ready(vm->agent, opt->boot_timeout_ms > 0 ?
                           opt->boot_timeout_ms : 120000);
    }
    if (rc != GA_OK) {
        char *tail = gvm_file_tail(vm->console, 3000);
        char how[64];

        *boot_timed_out = rc == GA_ETIMEOUT;
        snprintf(err, errlen, "guest agent not ready (%s; QEMU %s); console "
                 "tail:\n%s", ga_last_error(vm->agent),
                 gvm_describe_exit(vm, how, sizeof(how)), tail);
        free(tail);
        gvm_stop(vm, 3000);
        return NULL;
    }
    vm->boot_s = gvm_now() - t0;
    return vm;
}

Gvm *gvm_start(const GvmOptions *opt, char *err, size_t errlen)
{
    const char *accel = opt->accel && *opt->accel ? opt->accel : "auto";
    bool timed_out;
    Gvm *vm;

    if (opt->incoming && !strcmp(accel, "auto")) {
        snprintf(err, errlen, "restoring %s needs the saved VM's accelerator, "
                 "not 'auto'", opt->incoming);
        return NULL;
    }
    if (!strcmp(accel, "auto")) {
        if (kvm_usable()) {
            GvmOptions o = *opt;

            if (!o.boot_timeout_ms || o.boot_timeout_ms > 60000) {
                o.boot_timeout_ms = 60000;
            }
            vm = start_once(&o, "kvm", err, errlen, &timed_out);
            if (vm) {
                return vm;
            }
            /* KVM that does not boot (nested KVM hangs): fall back. */
            fprintf(stderr, "gauntlet: KVM guest did not start; using TCG\n");
        }
        accel = "tcg";
    }
    return start_once(opt, accel, err, errlen, &timed_out);
}
