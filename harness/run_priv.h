/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scenario run's private header (run.h is the public one): the state
 * of one run and the helpers its files share.  harness/README.md maps the
 * files: run.c (the run, outcomes, guest commands, the step loop),
 * run_devices.c, run_boot.c, run_snapshot.c, step_*.c (one file per kind
 * of step, behind the table in run.c) and judge*.c (the verdicts, behind
 * the table in judge.c).
 */
#ifndef GAUNTLET_RUN_PRIV_H
#define GAUNTLET_RUN_PRIV_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "agent_client.h"
#include "run.h"
#include "vm.h"

#define MAX_DEVICES     GVM_ROOT_PORTS
#define MAX_RULES_LIVE  64
#define MAX_WORKLOADS   32
#define MAX_FORBID      64
#define CMD_GRACE_MS    30000   /* host bound = guest deadline + this */
#define READY_CHECK_S   10      /* one try of a target's ready check */

typedef struct Device {
    char id[GS_MAX_NAME + 1];
    char backing[4096];
    bool present;
    bool hotplugged;            /* a hotplug step names it */
    int plugs;                  /* hotplug adds so far (a new device each) */
    int live[MAX_RULES_LIVE];   /* scenario rule index of each device rule */
    int nlive;
} Device;

typedef struct Workload {
    const char *name;
    uint32_t id;
    bool running;
} Workload;

typedef struct Verdict {
    char name[32];
    GrStatus status;
    char detail[1024];
} Verdict;

typedef struct Run {
    const GrConfig *cfg;
    const GsScenario *s;
    const GtTarget *t;
    char dir[4096];
    char ledger_path[4200];     /* the write ledger's host file (dir/ledger.log) */
    Gvm *vm;
    FILE *qmp_tx, *agent_tx, *steps_log;
    Device dev[MAX_DEVICES];
    int ndev;
    uint64_t *fired;            /* per scenario rule: harvested fire counts */
    uint64_t *hits;             /* per scenario rule: harvested hit counts (the
                                   events it matched while armed: what
                                   gauntlet enumerate counts) */
    struct json_object *fault_log;  /* the fault log so far (fault_log.h) */
    uint64_t fault_log_lost;    /* firings the rings dropped before a reading */
    bool fault_log_read;        /* a reading succeeded */
    bool fault_log_off;         /* this QEMU has no fault log: stop asking */
    int qemu_starts;            /* QEMU processes of this run (power cuts) */
    char **rule_text;
    /* values captured by run steps (capture: NAME), for ${NAME} */
    struct { char name[GS_MAX_NAME + 1]; char value[GS_MAX_CAPTURE_LEN + 1]; }
        capture[GS_MAX_CAPTURES];
    int ncapture;
    Workload wl[MAX_WORKLOADS];
    int nwl;
    struct { regex_t re; const char *pattern; long from; int line; } forbid[MAX_FORBID];
    int nforbid;
    long log_consumed;          /* console offset consumed by expect_log */
    bool module_loaded;
    bool kfault_armed;
    char kfault_dirs[4][64];
    long kfault_from[4];        /* console offset when each was armed */
    int nkfault;
    bool integrity_written;
    uint64_t seed;
    /* outcome */
    GrStatus status;
    char reason[2048];
    GrFailKind kind;            /* what failed first (GR_FAIL_NONE: nothing) */
    const GsStep *failed_step;  /* the step that failed, NULL: none */
    int failed_verdict;         /* index into verdicts[] (GR_FAIL_VERDICT) */
    Verdict verdicts[16];
    int nverdicts;
    int steps_done;
    double t0;
    double deadline;            /* the scenario's own timeout */
    const char *start;          /* "cold" or "snapshot" */
    bool vm_ended;              /* a reboot step ended the VM on purpose */
    int power_cuts;             /* power_cut steps done (ledger.log: P lines) */
    unsigned s3_suspends;       /* real S3: QMP SUSPEND events seen */
    unsigned s3_wakeups;        /* ... and WAKEUP events after system_wakeup */
    int final_flush;            /* the ledger's final flush: 1 done, -1 failed, 0 none */
    struct json_object *ledger; /* the ledger check's counts (result.json) */
    struct json_object *iommu;  /* the iommu verdict's counts (result.json) */
    double ready_s;             /* QEMU start to driver ready (0: never) */
    char snapshot_note[1024];   /* what --snapshot did, for result.json */
    /* The next boot puts guest RAM in this shared file (a boot that will
     * save a snapshot with its RAM in a file); gr_boot_vm() hands it to
     * the VM, which removes it at the end, and clears it. */
    char save_ram[4200];
} Run;

/* A VM saved right after boot + load (run_snapshot.c). */
typedef struct Snapshot {
    char dir[4096];
    char mig[4200];             /* the migration stream */
    char ram[4200];             /* guest RAM, mapped copy-on-write ("": in
                                 * the stream) */
    char accel[8];              /* the accelerator it was saved under */
    bool module_loaded, integrity_written;
    char built_by[256];         /* the scenario that saved it */
    ino_t ino;                  /* of dir, to discard only this one */
} Snapshot;

/* ---- outcomes (run.c) ------------------------------------------------------ */

void gr_log(Run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The first failure wins (status, kind, one-line reason); later ones only
 * go to the step log.  Returns -1. */
int gr_fail(Run *r, GrStatus st, GrFailKind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void gr_verdict(Run *r, const char *name, GrStatus st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void gr_one_line(char *s);
const char *gr_tail(const char *s, size_t n);

/* ---- the VM's health and guest commands (run.c) ------------------------------ */

/* After an agent or QMP failure: QEMU gone (panic?), a hung guest, or the
 * caller's own failure of the given kind (GR_FAIL_NONE: none).  -1. */
int gr_vm_trouble(Run *r, GrFailKind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool gr_vm_dead(Run *r);
/* The console log holds needle (its last MiB). */
bool gr_console_has(Run *r, const char *needle);
const char *const *gr_guest_env(Run *r);
char *gr_scoped(Run *r, const char *cmd);
/* A guest shell command with a deadline (seconds): 0 when an exit status
 * arrived (in res), -1 after recording a failure. */
int gr_guest(Run *r, const char *cmd, double timeout, ga_result *res);
int gr_exit_status(const ga_result *res);

/* One command of a list run in one round trip (gr_guest_list). */
#define GR_GUEST_LIST_MAX 16
typedef struct GrGuestCmd {
    const char *cmd;            /* a shell command (the caller's) */
    double timeout;             /* its deadline, s, from its own start */
    uint32_t output_limit;      /* bytes kept per stream; 0 = the default */
    bool ready;                 /* only once the target's ready check
                                 * passes, polled as gr_wait_ready does */
    /* out: */
    bool ran;                   /* its turn came (the VM was not dead) */
    bool not_ready;             /* ready: never, so it did not run (rc 0) */
    int rc;                     /* as gr_guest's: 0 an exit status in res */
    ga_result res;              /* the caller frees it */
} GrGuestCmd;
/* The commands one after the other, sent at once (the agent's
 * GA_FEAT_AFTER queue: one round trip), each logged and its failure
 * recorded as gr_guest does; once the VM is dead the rest do not run.
 * each(opaque, i) sees each command in order once its result is in. */
void gr_guest_list(Run *r, GrGuestCmd *cmds, int n,
                   void (*each)(void *opaque, int i), void *opaque);
/* 1: exit 0, 0: another status, -1: failure recorded */
int gr_guest_ok(Run *r, const char *cmd, double timeout);

/* ---- steps ------------------------------------------------------------------- */

typedef bool (*StepFn)(const GsStep *st, bool not_first, void *ctx);
/* Every step in file order, repeat bodies once; stops at the first step fn
 * returns true for, and returns it (NULL: none). */
const GsStep *gr_walk_steps(const GsStep *steps, size_t n, bool top, StepFn fn,
                            void *ctx);
int gr_run_steps(Run *r, const GsStep *steps, size_t n);

/* The executors, one file per kind (the table is in run.c). */
int gr_step_load(Run *r, const GsStep *st);             /* step_driver.c */
int gr_step_unload(Run *r, const GsStep *st);
int gr_step_run(Run *r, const GsStep *st);
int gr_step_workload(Run *r, const GsStep *st);
int gr_step_workload_stop(Run *r, const GsStep *st);
int gr_step_faults(Run *r, const GsStep *st);           /* step_faults.c */
int gr_step_kfault(Run *r, const GsStep *st);
int gr_step_hotplug(Run *r, const GsStep *st);          /* step_hotplug.c */
int gr_step_suspend(Run *r, const GsStep *st);          /* step_power.c */
int gr_step_reboot(Run *r, const GsStep *st);
int gr_step_power_cut(Run *r, const GsStep *st);
int gr_step_expect_log(Run *r, const GsStep *st);       /* step_log.c */
int gr_step_forbid_log(Run *r, const GsStep *st);
int gr_step_counter(Run *r, const GsStep *st);
int gr_step_wait(Run *r, const GsStep *st);

/* ---- the driver and its data (step_driver.c) ---------------------------------- */

int gr_wait_ready(Run *r, double timeout, bool quiet);

char *gr_expand_integrity(Run *r, const char *tmpl, const char *backing);
bool gr_any_present(Run *r);
int gr_write_integrity(Run *r);
int gr_unload(Run *r, GsExpect expect);
Workload *gr_find_workload(Run *r, const char *name);
int gr_stop_workload(Run *r, Workload *w, bool wait, double timeout,
                     int64_t expect, bool judge);

/* ---- devices and their fault engines (run_devices.c) ------------------------ */

Device *gr_find_dev(Run *r, const char *id);
void gr_collect_devices(Run *r);
char *gr_device_arg(Run *r, Device *d, char *err, size_t errlen);
const char *gr_qom_path(Device *d);
/* The QOM path of the object that holds d's faults (fault_object): the
 * device, or its root port, which outlives an unplug of the device. */
const char *gr_fault_path(Run *r, Device *d);
/* d's fault object exists now (the device is present, or it is the port). */
bool gr_fault_object_here(Run *r, Device *d);
/* Fire counts of d's live rules into the harvest (forget: and forget the
 * rules), and d's fault log into the run's. */
int gr_harvest(Run *r, Device *d, bool forget);
/* Read d's fault log into the run's (when the target names one, the QEMU
 * has it and the object exists); a failure is only logged. */
void gr_read_fault_log(Run *r, Device *d);
/* fault-log.json, and the step log's line about it (end of the run). */
void gr_write_fault_log(Run *r);
int64_t gr_rule_fired(Run *r, int idx);
int gr_set_faults(Run *r, Device *d, const char *prop, const char *rules);
/* Split a faults text (as sent) into the run's rule_text from rule first
 * on, one per rule, for faults.json. */
void gr_note_rule_text(Run *r, const char *text, int first, int n);

/* ---- captured values (step_driver.c) ----------------------------------------- */

/* A run step's stdout kept as name: trimmed of blanks around it, 1 to
 * GS_MAX_CAPTURE_LEN bytes without NUL; else -1 with why in err. */
int gr_capture(Run *r, const char *name, const char *out, size_t len,
               char *err, size_t errlen);
/* The value captured as name (len bytes), NULL: none (a GsCaptureLookup). */
const char *gr_captured(void *run, const char *name, size_t len);

/* ---- the console (step_log.c) ---------------------------------------------------- */

long gr_match_lines(const regex_t *re, const char *text);

/* ---- boot and host files (run_boot.c) ------------------------------------------- */

int gr_boot_vm(Run *r, const GsStep *st, const Snapshot *sn);
/* The guest's IOMMU: the scenario's iommu, else the target's ("none",
 * "intel"). */
const char *gr_iommu(const Run *r);
int gr_boot(Run *r, const GsStep *st);
/* A bounded host command (argv, no shell): 0 on exit status 0, else -1
 * with what happened in err; killed after timeout_ms. */
int gr_host_cmd(Run *r, char *const argv[], int timeout_ms, char *err,
                size_t errlen);
int gr_copy_file_err(Run *r, const char *from, const char *to, char *err,
                     size_t errlen);
int gr_copy_file(Run *r, const char *from, const char *to);
void gr_remove_tree(Run *r, const char *path);

/* ---- snapshot fast reset (run_snapshot.c) ------------------------------------- */

/* How many leading steps the snapshot replaced (0: the scenario boots), or
 * -1 after recording a failure. */
int gr_snapshot_start(Run *r);

/* ---- verdicts (judge.c) ------------------------------------------------------- */

void gr_judge(Run *r);
/* v op want (the iommu verdict's comparison, judge_iommu.c). */
bool gr_iommu_expect_ok(GsCmpOp op, int64_t v, int64_t want);

#endif /* GAUNTLET_RUN_PRIV_H */
