/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Campaign schedules: what one run of a fault-injection campaign does,
 * drawn from (seed, run index) and the target's campaign vocabulary
 * (campaign_vocab.h) alone, and written out as an ordinary scenario file.
 * docs/campaigns.md describes what a schedule contains.
 *
 * A schedule is kept in this small model (not as a GsScenario) because the
 * shrinker edits it: it drops steps, single fault rules of a faults step,
 * workload options, driver settings, the second boot after a power cut and
 * the volatile write cache, then writes the result again.
 * Every written file is checked with gs_parse_string(), which checks
 * every fault rule the way the runner does.
 */
#ifndef GAUNTLET_CAMPAIGN_GEN_H
#define GAUNTLET_CAMPAIGN_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CS_MAX_STEPS   32
#define CS_MAX_RULES   6       /* per faults step */
#define CS_MAX_OPTS    16      /* workload options, driver settings */
#define CS_TEXT        160     /* one rule or option, canonical size */

/* The stream of run i of seed s: splitmix64 over a state derived from
 * both, so runs are independent and any run can be drawn alone. */
typedef struct CsRng { uint64_t state; } CsRng;

void cs_rng_init(CsRng *r, uint64_t seed, uint64_t run);
uint64_t cs_rng_next(CsRng *r);
/* uniform in [lo, hi] */
uint64_t cs_rng_range(CsRng *r, uint64_t lo, uint64_t hi);

typedef enum CsStepKind {
    CS_WORKLOAD_START,
    CS_WORKLOAD_STOP,
    CS_WAIT,
    CS_FAULTS_SET,
    CS_FAULTS_ADD,
    CS_FAULTS_CLEAR,
    CS_HOTPLUG,
    CS_SUSPEND,
    CS_KFAULT,
    CS_POWER_CUT,       /* the last step: QEMU killed while the workload runs
                           (no workload_stop); with boot_again the file goes
                           on with `load: {}` in the new VM */
} CsStepKind;

typedef struct CsRule {
    char text[CS_TEXT];
    bool sure;              /* its trigger surely fires: faults-fired applies */
} CsRule;

/* An option of the workload command, or a driver setting (a guest shell
 * command run after the load): text is written as is ("--threads 3",
 * "echo 2 > /sys/module/DRIVER/parameters/max_retries"), as the
 * vocabulary's template expanded. */
typedef struct CsOpt {
    char text[CS_TEXT];
    bool droppable;         /* the shrinker may remove it */
} CsOpt;

typedef struct CsStep {
    CsStepKind kind;
    double seconds;                 /* wait */
    CsRule rules[CS_MAX_RULES];     /* faults set/add */
    int nrules;
    int hotplug;                    /* 0 add, 1 remove, 2 surprise, 3 remove fast */
    bool s3;                        /* suspend: s3, else pm_test at level */
    int level;                      /* index into cv_pm_levels: 1 freezer .. 5 core */
    int cycles;
    int kf_type;                    /* index into cv_kfault_names */
    int kf_probability, kf_times, kf_interval;
    char kf_function[64];           /* set: fail_function of it (kf_type unused) */
    int64_t kf_space;               /* > 0: written as space */
    bool boot_again;                /* power cut: a new VM, the driver loaded */
} CsStep;

typedef struct CsSchedule {
    uint64_t seed, run;
    bool debug;                     /* kernel: debug */
    char target[64];
    CsOpt params[CS_MAX_OPTS];      /* driver settings, one run step */
    int nparams;
    char workload_cmd[CS_TEXT + 256]; /* program and fixed arguments (+ room for
                                       gauntlet enumerate --kfault's additions) */
    CsOpt wopts[CS_MAX_OPTS];
    int nwopts;
    bool workload_wait;             /* workload_stop waits for its natural end */
    double workload_timeout;
    bool write_cache;               /* the scenario's write_cache: true */
    char boot_cmdline[256];         /* the boot step's cmdline ("": none); not
                                       a reduction: gauntlet enumerate --kfault
                                       failslab's cache marks (define n) */
    CsStep steps[CS_MAX_STEPS];     /* after boot and load */
    int nsteps;
    char origin[512];               /* for the description (shrunk files) */
} CsSchedule;

struct CvVocab;

typedef struct CsGenOptions {
    bool debug;                     /* generate for the debug kernel (kfault) */
    const char *target;             /* the scenarios' target: */
    const struct CvVocab *vocab;    /* its campaign vocabulary */
} CsGenOptions;

/* Draw run `run` of `seed` from o->vocab.  Depends on nothing else. */
void cs_generate(CsSchedule *s, uint64_t seed, uint64_t run, const CsGenOptions *o);

/* The scenario name of a run: "campaign-s<seed>-r<run>". */
void cs_run_name(char *buf, size_t len, uint64_t seed, uint64_t run);

/* Write the schedule as YAML scenario text (malloc'd, NUL-terminated). */
char *cs_to_yaml(const CsSchedule *s, const char *name);

/* The target whose fault-rule checker (target.h, fault_check) judges every
 * drawn rule in cs_write_scenario(); build is {build}.  NULL: none. */
struct GtTarget;
void cs_set_rule_checker(const struct GtTarget *t, const char *build);

/* Write the schedule to path once gs_parse_string() has accepted its text
 * (so every rule has passed the device's parser).  0, or -1 with a
 * message in err. */
int cs_write_scenario(const CsSchedule *s, const char *name, const char *path,
                      char *err, size_t errlen);

/* ---- shrinking: the reductions of a schedule --------------------------- */

typedef enum CsReduceKind {
    CS_RED_STEP,        /* drop step a (a workload start drops its stop, an
                           unplug the plug that follows it) */
    CS_RED_RULE,        /* drop rule b of step a */
    CS_RED_WOPT,        /* drop workload option a */
    CS_RED_PARAM,       /* drop driver setting a */
    CS_RED_BOOT_AGAIN,  /* the power cut (step a) no longer boots again: the
                           load after it goes */
    CS_RED_WRITE_CACHE, /* turn the volatile write cache off */
} CsReduceKind;

typedef struct CsReduction {
    CsReduceKind kind;
    int a, b;
} CsReduction;

/* All reductions of s, biggest first (steps, then rules, options,
 * parameters, the second boot, the write cache), in CsReduceKind's order.
 * Dropping the power cut gives the workload its stop back.  Returns how
 * many were written to out (at most max). */
int cs_reductions(const CsSchedule *s, CsReduction *out, int max);

/* Apply one: 0 on success, -1 when it would make the schedule invalid
 * (e.g. a faults step while the device is unplugged). */
int cs_reduce(const CsSchedule *in, const CsReduction *r, CsSchedule *out);

/* "drop step 3 (faults)", for the shrink log. */
void cs_reduction_describe(const CsSchedule *s, const CsReduction *r, char *buf,
                           size_t len);

/* Steps, rules, options and parameters in total, the load after a power
 * cut and the write cache: the size that shrinks. */
int cs_size(const CsSchedule *s);

#endif /* GAUNTLET_CAMPAIGN_GEN_H */
