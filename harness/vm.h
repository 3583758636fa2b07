/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet VM control: start our QEMU on a q35 machine with PCIe root ports
 * (hotplug), S3 enabled and -nodefaults; the serial console goes to a file,
 * QMP and the guest agent (second UART) to unix sockets in the run's
 * directory.  QEMU is never waited for without a bound, and always killed
 * in the end.
 */
#ifndef GAUNTLET_VM_H
#define GAUNTLET_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "agent_client.h"
#include "qmp.h"

#define GVM_ROOT_PORTS 4

typedef struct GvmOptions {
    const char *qemu;           /* qemu-system-x86_64 */
    const char *kernel, *initrd;
    const char *cmdline;        /* extra kernel arguments (may be NULL) */
    const char *const *fw_dirs; /* -L dirs, NULL-terminated (NULL: Debian's) */
    const char *dir;            /* run directory (sockets, logs) */
    const char *accel;          /* "auto" (default), "kvm" or "tcg" */
    int mem_mb, smp;
    const char *const *extra;   /* more QEMU arguments, NULL-terminated */
    int boot_timeout_ms;        /* QEMU start to agent ready */
    FILE *qmp_transcript, *agent_transcript;
    bool interactive;           /* exec QEMU with the console on stdio */
    /* Restore instead of boot: a migration stream saved by gvm_save() from
     * a VM with the same options.  QEMU starts with -incoming defer, loads
     * the stream (bounded by incoming_timeout_ms, default 60 s), continues
     * the guest and reconnects the agent.  accel must then be the saved
     * VM's ("auto" is refused), and the console log is appended to, not
     * started afresh (the caller puts the saved VM's log there first). */
    const char *incoming;
    int incoming_timeout_ms;
    /* The guest's write ledger (GVM_LEDGER_TTY): a third serial port whose
     * bytes QEMU appends to this host file as they are sent, so a record
     * that left the guest survives a panic or a killed QEMU.  NULL: none. */
    const char *ledger;
    /* Append to the console log (a second boot in the same run: a power
     * cut's boot_again), as a restore does. */
    bool append_console;
    /* The QEMU device type of the root ports rp1..rp4 (NULL:
     * pcie-root-port); any type with pcie-root-port's properties. */
    const char *root_port;
    /* The guest's IOMMU: NULL or "none", or "intel": QEMU's intel-iommu
     * with interrupt remapping, before the root ports (under KVM with a
     * split irqchip), the guest kernel told to use it in strict mode, and
     * QEMU's DMA-fault trace events on (GVM_IOMMU_TRACE, in qemu.log). */
    const char *iommu;
    /* Guest RAM in a file instead of anonymous memory (NULL: anonymous):
     * a memory-backend-file of mem_mb on ram_file, mapped shared
     * (ram_shared: the guest writes into the file; gvm_save() then leaves
     * RAM out of the stream, x-ignore-shared, and the file is the saved
     * RAM) or private (a restore: the pages are copy-on-write, the file
     * never changes, and the stream loaded with x-ignore-shared holds the
     * device state only).  With ram_unlink, the file is removed when the
     * VM is released (a shared file that is this VM's own). */
    const char *ram_file;
    bool ram_shared, ram_unlink;
} GvmOptions;

/* The QEMU trace events an "intel" IOMMU turns on: a DMA-remapping fault
 * (reported to the guest) and one its context entry keeps quiet (FPD).
 * QEMU 7.2 has no trace event for an interrupt-remapping fault; it says
 * each kind once per process on stderr (error_report_once, "vtd_irte_get:",
 * "vtd_interrupt_remap_msi:"). */
#define GVM_IOMMU_TRACE { "vtd_dmar_fault", "vtd_fault_disabled", NULL }
#define GVM_IOMMU_CMDLINE "intel_iommu=on iommu.strict=1"

/* The guest's end of GvmOptions.ledger: COM3, on an IRQ of its own (5), so
 * that it shares no interrupt line with the console or the agent. */
#define GVM_LEDGER_TTY "/dev/ttyS2"

typedef struct Gvm {
    pid_t pid;
    bool exited;
    bool shut_down;             /* the guest reset or powered off: QEMU
                                 * stopped and waits (gvm_ended) */
    int status;                 /* waitpid status once exited */
    char accel[8];              /* accelerator in use */
    char console[4096], qemu_log[4096], qmp_sock[4096], agent_sock[4096];
    GqQmp *qmp;
    ga_client *agent;
    double t_exec;              /* gvm_now() when QEMU was started */
    double boot_s;              /* QEMU start to agent ready */
    double restore_s;           /* QEMU start to restored guest running */
    char ram_file[4096];        /* GvmOptions.ram_file ("": none) */
    bool ram_in_file;           /* RAM is a shared file: saves leave it out */
    bool ram_unlink;            /* ram_file is removed at release */
} Gvm;

/* Start QEMU and wait for QMP and the agent.  With accel "auto", KVM is
 * used when /dev/kvm is usable and the host is not itself a VM (nested KVM
 * hangs there); if a KVM guest does not come up in time, the VM is started
 * again under TCG.  Returns NULL with a reason in err (QEMU's log tail and
 * the console tail included) and leaves no process behind. */
Gvm *gvm_start(const GvmOptions *opt, char *err, size_t errlen);

/* With opt->interactive, gvm_start() replaces the process with QEMU (the
 * console and monitor on the terminal) and returns only on failure. */

/* true while QEMU runs (reaps it when it has exited). */
bool gvm_running(Gvm *vm);

/*
 * true once the guest machine has ended: QEMU exited, or the guest reset
 * or powered off the machine.  QEMU runs with -no-reboot and
 * -action shutdown=pause, so a guest's reset (a panic with panic=-1, a
 * `reboot -f`, a triple fault) stops QEMU instead of ending it: its QMP
 * still answers, and the devices' fault logs and counters can be read
 * before gvm_stop().  Looks for QEMU's SHUTDOWN event (1 ms at most).
 */
bool gvm_ended(Gvm *vm);

/* A power cut: SIGKILL now, nothing flushed or saved.  Frees vm. */
void gvm_kill(Gvm *vm);

/* Quit over QMP, wait up to timeout_ms, then SIGKILL.  Frees vm. */
void gvm_stop(Gvm *vm, int timeout_ms);

/* Save the whole VM (RAM, CPU and device state) into file: stop the
 * guest, migrate to "exec:cat > file" without a bandwidth limit, and wait
 * (bounded) until QEMU reports the migration completed.  A VM whose RAM is
 * a shared file (GvmOptions.ram_shared) is saved without its RAM
 * (x-ignore-shared): the file, as it is now, is the saved RAM, and must be
 * copied before the guest runs again.  The VM is left
 * stopped with its block devices flushed and released: the backing files
 * can be copied now, then gvm_resume() or gvm_stop().  0, or -1 with a
 * reason in err (the VM is then in an unknown state: stop it). */
int gvm_save(Gvm *vm, const char *file, int timeout_ms, char *err,
             size_t errlen);

/* Continue a VM stopped by gvm_save() (it takes its block devices back). */
int gvm_resume(Gvm *vm, char *err, size_t errlen);

/* Describe how QEMU ended ("exit 0", "killed by signal 9", "running"). */
const char *gvm_describe_exit(Gvm *vm, char *buf, size_t len);

/* Monotonic clock, seconds (every deadline of the harness uses it). */
double gvm_now(void);

/* A file's bytes from offset from (negative: the last -from bytes) to its
 * end, as a malloc'd string with every NUL byte replaced by '.'; *len (may
 * be NULL) gets the length.  A missing file reads as "".  Never NULL. */
char *gvm_file_read(const char *path, long from, size_t *len);
/* Last n bytes of a file (gvm_file_read(path, -n, NULL)). */
char *gvm_file_tail(const char *path, size_t n);

#endif /* GAUNTLET_VM_H */
