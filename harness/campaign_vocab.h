/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Campaign vocabularies: what a campaign may draw for one target, read
 * from the target's campaign.yaml (docs/campaigns.md, "Vocabulary files"),
 * in the spirit of syzkaller's descriptions.  The generator
 * (campaign_gen.c) knows no target: fault points, filters, actions,
 * triggers, driver settings, the workload and the weights of the events
 * all come from here.
 *
 * Texts are templates: "{name}" is replaced by a value drawn from the
 * item's variable `name` (a range lo..hi or a list of choices) or, for the
 * workload, from a variable drawn once per run; "{{" and "}}" are literal
 * braces.  cv_load() checks everything it can before any run is drawn
 * (every placeholder has a variable, every variable is used, every rule
 * fits CS_TEXT) and reports the first problem as "file:line:col: message".
 */
#ifndef GAUNTLET_CAMPAIGN_VOCAB_H
#define GAUNTLET_CAMPAIGN_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "campaign_gen.h"

typedef struct CvVar {
    const char *name;
    bool range;                     /* lo..hi, else one of choices */
    long long lo, hi;
    bool hex;                       /* the range was written in hex: 0x... */
    const char **choices;
    int nchoices;
} CvVar;

/* A template and the variables drawn for it. */
typedef struct CvText {
    const char *text;
    const CvVar *vars;
    int nvars;
    int line, col;                  /* of the text, for messages */
    size_t maxlen;                  /* longest expansion */
} CvText;

typedef struct CvItem CvItem;
typedef struct CvList { const CvItem *v; int n; } CvList;

/* One entry of a weighted list: a filter, an action, a trigger, a suffix,
 * a driver setting or a workload option. */
struct CvItem {
    CvText t;
    unsigned weight;                /* relative, within its list (default 1) */
    unsigned chance;                /* settings, options, suffixes: % (default 100) */
    bool droppable;                 /* settings, options: the shrinker may drop it */
    bool benign;                    /* action: harmless on every event */
    bool benign_only;               /* trigger: drawn only for benign actions, */
    bool has_otherwise;             /* or with this text instead for the others */
    CvText otherwise;
    bool sure;                      /* trigger: fires on a point's first events */
    bool has_triggers;              /* action: triggers replaces the file's */
    CvList triggers;
    uint64_t starves;               /* action: bit i set: once it fires, the
                                       workload brings no event to points[i]
                                       until the driver recovers (a stall, a
                                       command the workload waits out) */
};

typedef struct CvPoint {
    CvText name;                    /* no variables */
    unsigned weight;
    bool every_command;             /* every command passes this point */
    bool has_events;                /* events: given */
    unsigned events;                /* a known minimum of the workload's events
                                       here once rules are armed: a trigger must
                                       reach its first firing within it; 0: the
                                       workload never reaches the point, which
                                       is then never drawn */
    CvList filters;                 /* none: no filter */
    CvList actions;
} CvPoint;

typedef struct CvRange { long long lo, hi; } CvRange;
typedef struct CvSecs { unsigned lo_ds, hi_ds; } CvSecs;   /* tenths of s */

enum { CV_EV_FAULTS, CV_EV_CLEAR, CV_EV_SUSPEND, CV_EV_HOTPLUG, CV_NEV };

typedef struct CvVocab {
    char path[4096];
    char module[64];                /* the driver's kernel-log prefix */
    CvList settings;
    struct {
        CvText cmd;
        const CvVar *vars;          /* drawn once per run */
        int nvars;
        CvList options;
        CvList disturbed;           /* added when the run disturbs the device */
        bool wait;
        CvText timeout;             /* expands to N or N+M+... seconds */
        bool has_ends;
        CvText ends;                /* the workload ends by itself this long
                                       after its start (N or N+M seconds):
                                       fault events only before then */
    } workload;
    struct {
        CvRange count;
        CvSecs first_wait, gap;
        unsigned weight[CV_NEV];
    } events;
    bool has_faults;
    struct {
        CvRange rules;
        unsigned add_chance;
        const CvPoint *points;
        int npoints;
        CvList triggers;
        CvList suffixes;
        unsigned fire_within_ds;    /* 0, or tenths of a second after its
                                       arming by which a rule drawn within its
                                       point's events has fired while the
                                       workload runs: the next event waits
                                       that long, and rules are armed only
                                       that long before the workload's end */
    } faults;
    bool has_suspend;
    struct {
        unsigned s3_chance;
        const int *levels;          /* 1 freezer .. 5 core */
        int nlevels;
        CvRange cycles;
    } suspend;
    bool has_hotplug;
    struct {
        unsigned remove_weight, surprise_weight;
        unsigned remove_fast_weight;   /* an orderly unplug with `fast: true` */
        CvSecs replug_after, settle;
    } hotplug;
    bool has_kfaults;
    struct {
        unsigned chance;
        CvRange count;
        const int *types;           /* index into cv_kfault_names */
        int ntypes;
        CvRange probability, times, interval;
    } kfaults;
    bool has_power_cut;
    struct {
        unsigned chance;            /* % of runs that end in a power cut */
        unsigned boot_again;        /* % of those that boot again and load */
        unsigned write_cache;       /* % of those with the volatile cache on */
        CvSecs after;               /* from the last event kept to the cut */
        bool has_within;
        CvText within;              /* the cut's latest moment after the
                                       workload's start: N or N+M seconds
                                       over the workload's variables */
    } power_cut;
    void *arena;                    /* everything above is allocated here */
} CvVocab;

/* Kernel fault kinds and pm_test levels, as the scenario format names
 * them (index 0 of cv_pm_levels is unused: levels count from 1). */
extern const char *const cv_kfault_names[];
extern const char *const cv_pm_levels[];

/* Load dir/name/campaign.yaml ("name" is the target).  0, or -1 with
 * "file:line:col: message" (or "file: message") in err. */
int cv_load_target(const char *targets_dir, const char *target, CvVocab **out,
                   char *err, size_t errlen);
int cv_load(const char *path, const char *target, CvVocab **out, char *err,
            size_t errlen);
void cv_free(CvVocab *v);

/* Draw an expansion of t into buf (len >= t->maxlen + 1); scope holds the
 * values of the enclosing scope's variables (NULL for none). */
void cv_expand(const CvText *t, const CvVar *scope_vars, char *const *scope_vals,
               int nscope, CsRng *r, char *buf, size_t len);
/* Draw the value of one variable into buf. */
void cv_draw_var(const CvVar *v, CsRng *r, char *buf, size_t len);

/* Weighted choice among the items of l for which ok(item, arg) holds (all
 * when ok is NULL); -1 when none has weight. */
int cv_pick(const CvList *l, CsRng *r, bool (*ok)(const CvItem *, void *), void *arg);

/* A workload timeout's expansion, "N" or "N+M+...", summed: 1..7200
 * seconds, or -1. */
long cv_sum(const char *s);

long long cv_range(const CvRange *g, CsRng *r);
double cv_secs(const CvSecs *g, CsRng *r);

#endif /* GAUNTLET_CAMPAIGN_VOCAB_H */
