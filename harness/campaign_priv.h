/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet-campaign's private header: a campaign, its runs and their
 * signatures, and what its files share:
 *
 *   campaign.c         options, the shard's runs, batches, the outcome
 *   campaign_run.c     running gauntlet-runner on a batch, reading results
 *   campaign_shrink.c  shrinking a signature's first failing run
 *   campaign_report.c  campaign.json, junit.xml, the summary
 */
#ifndef GAUNTLET_CAMPAIGN_PRIV_H
#define GAUNTLET_CAMPAIGN_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "campaign.h"
#include "campaign_gen.h"
#include "campaign_sig.h"
#include "campaign_vocab.h"
#include "target.h"

typedef struct Run {
    uint64_t index;
    char name[80];
    char file[4200];
    bool ran;
    char status[16];            /* pass fail skip error */
    char kind[64];
    char fkind[32], fverdict[64], fstep[32];    /* result.json "failure" */
    char *reason;
    char artifacts[4200];
    char start[16];             /* "snapshot" / "cold" when the runner says */
    double duration;
    char sig[512];
    int boot_retries;           /* runs again once when its guest did not boot */
} Run;

typedef struct Sig {
    char sig[512];
    char id[64];
    size_t count;
    size_t first;               /* index into runs */
    char shrunk[4200];
    int size_before, size_after, attempts;
    bool shrunk_done, reproduced, confirmed_run;
    char shrink_note[256];
} Sig;

typedef struct Campaign {
    /* options */
    const char *tool;           /* NULL: a campaign; "enumerate" */
    uint64_t seed, nruns;
    unsigned shard_k, shard_m;
    double time_limit;          /* 0: none */
    bool debug;
    const char *target;
    const char *targets_dir;
    CvVocab *vocab;             /* targets_dir/target/campaign.yaml */
    GtTarget *checker;          /* targets_dir/target/target.yaml, if any */
    bool pass_target_dir;       /* give the runner --target-dir targets_dir */
    int jobs, batch;
    const char *out;
    const char *runner;
    const char **runner_args;
    size_t nrunner_args;
    bool snapshot;
    char snapshot_dir[4200];    /* "" when the runner has no --snapshot-dir */
    bool shrink;
    int shrink_attempts;
    double shrink_time;
    /* state */
    Run *runs;
    CsSchedule *scheds;         /* the runs' schedules (enumerate); NULL:
                                   drawn again from (seed, index) */
    size_t nruns_sel;
    Sig *sigs;
    size_t nsigs;
    int nbatch;
    double t0, run_wall;
    bool stopped_by_time;
} Campaign;

/* One scenario's result from a batch's report.json (or its result.json). */
typedef struct Result {
    char status[16], kind[64], start[16];
    char fkind[32], fverdict[64], fstep[32];    /* result.json "failure" */
    char *reason;
    char artifacts[4200];
    double duration;
    bool found;
} Result;

double cp_now(void);
char *cp_strdup(const char *s);
int cp_mkdir_p(const char *path);

double cp_batch_deadline(size_t n, int jobs);
void cp_read_result(const char *dir, const char *name, Result *r);
int cp_run_runner(const Campaign *c, const char *dir, char **files, size_t n,
                  int jobs, double deadline_s);
bool cp_runner_has_option(const char *runner, const char *option);
void cp_shrink_signature(Campaign *c, Sig *g, const CsGenOptions *go);
void cp_count_status(const Campaign *c, size_t counts[4], size_t *ran);
void cp_print_summary(const Campaign *c);
void cp_write_reports(const Campaign *c);
json_object *cp_fired_by_point(const Campaign *c, uint64_t tot[3]);
int cp_prepare_runner(Campaign *c, const char *longest);

/*
 * The options campaigns and enumerations share (campaign_opts.c): their
 * getopt ids, their long-option entries, and their parsing into the
 * Campaign: 1 when opt was one of them, 0 when not, -1 on a bad value
 * (said on stderr, prefixed with prog).  -j is 'j'.  A program's own
 * option ids start at CP_O__END.
 */
enum {
    CP_O_SHARD = 256, CP_O_TIME, CP_O_KERNEL, CP_O_TARGET, CP_O_TARGETS, CP_O_OUT,
    CP_O_RUNNER, CP_O_RUNNER_ARG, CP_O_NO_SHRINK, CP_O_SHRINK_ATTEMPTS,
    CP_O_SHRINK_TIME, CP_O_BATCH, CP_O__END,
};
#define CP_COMMON_LONG_OPTIONS \
    { "shard", required_argument, NULL, CP_O_SHARD }, \
    { "time", required_argument, NULL, CP_O_TIME }, \
    { "kernel", required_argument, NULL, CP_O_KERNEL }, \
    { "target", required_argument, NULL, CP_O_TARGET }, \
    { "targets", required_argument, NULL, CP_O_TARGETS }, \
    { "target-dir", required_argument, NULL, CP_O_TARGETS }, \
    { "out", required_argument, NULL, CP_O_OUT }, \
    { "runner", required_argument, NULL, CP_O_RUNNER }, \
    { "runner-arg", required_argument, NULL, CP_O_RUNNER_ARG }, \
    { "no-shrink", no_argument, NULL, CP_O_NO_SHRINK }, \
    { "shrink-attempts", required_argument, NULL, CP_O_SHRINK_ATTEMPTS }, \
    { "shrink-time", required_argument, NULL, CP_O_SHRINK_TIME }, \
    { "batch", required_argument, NULL, CP_O_BATCH }
int cp_parse_u64(const char *prog, const char *opt, const char *s, uint64_t lo,
                 uint64_t hi, uint64_t *out);
int cp_common_opt(Campaign *c, int opt, const char *arg, const char *prog,
                  bool *batch_given);
int cp_run_all(Campaign *c, const CsGenOptions *go);

#endif /* GAUNTLET_CAMPAIGN_PRIV_H */
