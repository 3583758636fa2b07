/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet scenario files: parse and validate a YAML scenario into typed
 * structs, before any VM starts.  The format is documented in
 * docs/scenarios.md.
 *
 * Every error carries the file name and the 1-based line:col of the
 * offending YAML node, and GsError.text holds the whole message in the
 * form "file:line:col: what was found, what was expected".
 *
 * The parser never trusts its input: gs_parse_string() may be given any
 * bytes (it is a fuzz target) and must not crash, leak or read out of
 * bounds.  Only the first error is reported.
 */
#ifndef GAUNTLET_SCENARIO_H
#define GAUNTLET_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GS_MAX_FILE_SIZE    (1024 * 1024)   /* bytes; larger files rejected */
#define GS_MAX_STEPS        4096    /* all steps, a repeat's body counted once */
#define GS_MAX_REPEAT_DEPTH 4       /* repeat inside repeat ... */
#define GS_MAX_YAML_DEPTH   32      /* nesting of YAML collections */
#define GS_MAX_NAME         64      /* scenario, workload, device, tag names */
#define GS_MAX_TAGS         64
#define GS_MAX_CAPTURES     64      /* capture names visible at one step */
#define GS_MAX_CAPTURE_LEN  256     /* bytes of a captured value */
/* What a ${NAME} stands for when a rule text is checked before any VM. */
#define GS_CAPTURE_PLACEHOLDER "0"

typedef struct GsError {
    char file[256];
    int line;               /* 1-based; 0 when the error has no position */
    int col;                /* 1-based, in characters */
    char msg[768];          /* without the position */
    char text[1100];        /* "file:line:col: msg" (or "file: msg") */
} GsError;

typedef enum GsStepType {
    GS_STEP_BOOT,
    GS_STEP_LOAD,
    GS_STEP_UNLOAD,
    GS_STEP_RUN,
    GS_STEP_WORKLOAD,
    GS_STEP_WORKLOAD_STOP,
    GS_STEP_FAULTS,
    GS_STEP_HOTPLUG,
    GS_STEP_SUSPEND,
    GS_STEP_KFAULT,
    GS_STEP_EXPECT_LOG,
    GS_STEP_FORBID_LOG,
    GS_STEP_COUNTER,
    GS_STEP_WAIT,
    GS_STEP_REPEAT,
    GS_STEP_REBOOT,
    GS_STEP_POWER_CUT,
    GS_STEP__MAX
} GsStepType;

typedef enum GsKernel { GS_KERNEL_STOCK, GS_KERNEL_DEBUG } GsKernel;
/* The scenario's IOMMU: the target's (iommu in its target.yaml), or its own. */
typedef enum GsIommu { GS_IOMMU_TARGET, GS_IOMMU_NONE, GS_IOMMU_INTEL } GsIommu;
typedef enum GsExpect { GS_EXPECT_OK, GS_EXPECT_FAIL } GsExpect;
typedef enum GsFaultsOp { GS_FAULTS_SET, GS_FAULTS_ADD, GS_FAULTS_CLEAR } GsFaultsOp;
typedef enum GsHotplugAction {
    GS_HOTPLUG_ADD, GS_HOTPLUG_REMOVE, GS_HOTPLUG_SURPRISE
} GsHotplugAction;
typedef enum GsSuspendMode { GS_SUSPEND_S3, GS_SUSPEND_PM_TEST } GsSuspendMode;
typedef enum GsPmTestLevel {
    GS_PM_NONE,             /* mode s3 */
    GS_PM_FREEZER, GS_PM_DEVICES, GS_PM_PLATFORM, GS_PM_PROCESSORS, GS_PM_CORE
} GsPmTestLevel;
/* power_cut: now (at this point of the scenario), or when the device's
 * fault engine cuts the power itself (a rule's power-cut action stops the
 * VM at that device event) */
typedef enum GsPowerCutAt { GS_CUT_NOW, GS_CUT_DEVICE } GsPowerCutAt;
typedef enum GsKfaultType {
    GS_KFAULT_FAILSLAB, GS_KFAULT_FAIL_PAGE_ALLOC, GS_KFAULT_FAIL_FUNCTION
} GsKfaultType;
typedef enum GsCounterSource {
    GS_SRC_DRIVER, GS_SRC_FAULT, GS_SRC_DEVICE
} GsCounterSource;
typedef enum GsCmpOp {
    GS_OP_EQ, GS_OP_NE, GS_OP_LT, GS_OP_LE, GS_OP_GT, GS_OP_GE
} GsCmpOp;

typedef struct GsStep GsStep;

/* Strings are never NULL unless documented as "NULL = absent". */
struct GsStep {
    GsStepType type;
    int line, col;          /* position of the step's key (or scalar) */
    union {
        struct { const char *cmdline; int64_t memory_mb; int64_t smp; } boot;
        struct { const char *params; GsExpect expect; } load;
        struct { GsExpect expect; } unload;
        struct {
            const char *cmd;
            int64_t expect_exit;            /* 0..255 */
            const char *expect_stdout;      /* ERE, NULL = absent */
            const char *expect_stderr;      /* ERE, NULL = absent */
            double timeout;                 /* seconds */
            const char *capture;            /* NULL = absent: else the name
                                               its trimmed stdout is kept as */
        } run;
        struct { const char *name; const char *cmd; } workload;
        struct {
            const char *name;
            int64_t expect_exit;
            double timeout;
            bool wait;                      /* wait for the natural end */
        } workload_stop;
        struct {
            GsFaultsOp op;
            const char *rules;              /* as written; "" for clear */
            int first_rule;                 /* scenario-wide index of its first rule */
            int nrules;                     /* rules in the text (0 for clear) */
            int text_line, text_col;        /* where the text starts in the file */
            bool text_verbatim;             /* ... byte for byte (see gs_rule_error) */
            /* rules with each ${NAME} as GS_CAPTURE_PLACEHOLDER: the text
             * checked before any VM (== rules when it names no capture) */
            const char *check_text;
            bool captures;                  /* rules holds a ${NAME} */
        } faults;
        struct { GsHotplugAction action; const char *device; bool fast; } hotplug;
        struct { GsSuspendMode mode; GsPmTestLevel level; int64_t cycles; } suspend;
        struct {
            GsKfaultType type;
            const char *function;           /* fail_function only, else NULL */
            int64_t probability, times, interval, space;
            bool require;
        } kfault;
        struct { const char *pattern; double timeout; } expect_log;
        struct { const char *pattern; } forbid_log;
        struct {
            GsCounterSource source;
            const char *name;
            int rule;               /* source fault: rule index, -1 = "all" */
            GsCmpOp op;
            int64_t value;
        } counter;
        struct { double seconds; } wait;
        struct { int64_t count; GsStep *steps; size_t nsteps; } repeat;
        struct { double timeout; } reboot;  /* seconds for QEMU to exit */
        struct {
            GsPowerCutAt at;
            double timeout;                 /* at device: seconds to wait */
            bool boot_again;                /* a new VM on the same disks */
        } power_cut;
    } u;
};

typedef struct GsScenario {
    const char *file;       /* the name given to the parser */
    const char *name;
    const char *description;
    const char *target;     /* "" = none named (the runner's default) */
    GsKernel kernel;        /* default stock */
    int64_t timeout;        /* seconds, default 600 */
    bool write_cache;       /* the devices' volatile write cache on (the
                               target's write_cache argument) */
    GsIommu iommu;          /* default GS_IOMMU_TARGET */
    /* iommu_faults: the DMA faults the iommu verdict expects, "faults op
     * value" (default == 0: none) */
    GsCmpOp iommu_faults_op;
    int64_t iommu_faults_value;
    const char **tags;
    size_t ntags;
    /* verdicts that must fail (a shipped negative control): the run passes
     * only if each of them fails and nothing else does */
    const char **expect_fail;
    size_t nexpect_fail;
    bool allow_unfired_all;
    int *allow_unfired;     /* fault rule indices */
    size_t nallow_unfired;
    int nrules;             /* fault rules in the file (repeat bodies once) */
    GsStep *steps;
    size_t nsteps;          /* top level */
    size_t total_steps;     /* all levels, repeat bodies once */
    void *priv_arena;       /* owns every string and array above */
} GsScenario;

/* Parse a file (at most GS_MAX_FILE_SIZE bytes).  Returns 0 and sets *out,
 * or -1 with *out = NULL and err filled in. */
int gs_parse_file(const char *path, GsScenario **out, GsError *err);

/* Parse len bytes of text (need not be NUL-terminated).  name is used as
 * the file name in errors. */
int gs_parse_string(const char *name, const char *text, size_t len,
                    GsScenario **out, GsError *err);

void gs_free(GsScenario *s);

/* Print the scenario in canonical form (every default filled in, keys in
 * documented order).  The output parses back to the same scenario. */
void gs_dump(const GsScenario *s, FILE *f);

const char *gs_step_name(GsStepType t);

/* A target's fault-rule checker refused a faults step's text with msg,
 * "column C: what" (C: 1-based byte column in the text; without the
 * prefix, the whole text is meant).  Writes "file:line:col: bad fault rule
 * in 'set': what" to err, at the rule's own position in the file whenever
 * the text stands there verbatim. */
void gs_rule_error(const GsScenario *s, const GsStep *st, const char *msg,
                   char *err, size_t errlen);

/* Number of rules in a rule text: ';'-separated, non-blank parts (every
 * target's rule grammar separates rules with ';'). */
int gs_count_rules(const char *text);

/* A faults step's ${NAME} references: lookup gives NAME's value (name is
 * not NUL-terminated: len bytes), or NULL when it has none. */
typedef const char *(*GsCaptureLookup)(void *ctx, const char *name,
                                       size_t len);
/* text with each ${NAME} replaced by its value: 0 and a malloc'd *out, or
 * -1 with "column C: what" in err (C: 1-based byte column in text) for a
 * '${' without a name and '}', or a name lookup does not know. */
int gs_expand(const char *text, GsCaptureLookup lookup, void *ctx, char **out,
              char *err, size_t errlen);
/* A capture name: [A-Za-z_][A-Za-z0-9_]*, 1..GS_MAX_NAME bytes. */
bool gs_is_capture_name(const char *s, size_t len);

#endif /* GAUNTLET_SCENARIO_H */
