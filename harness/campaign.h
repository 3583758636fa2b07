/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet-campaign's parts that live in their own files.
 */
#ifndef GAUNTLET_CAMPAIGN_H
#define GAUNTLET_CAMPAIGN_H

#include <stddef.h>

#include <json-c/json.h>

/* `gauntlet-campaign merge DIR... --out DIR` (campaign_merge.c); argv[0]
 * is "merge".  Exit status 0, 1 (a write or lcov failed), 2 (bad input). */
int cs_merge_main(int argc, char **argv);

/* `gauntlet-campaign enumerate ...` (campaign_enum.c, docs/enumerate.md);
 * argv[0] is "enumerate".  Exit status 0, 1 (a run failed or errored, or
 * the clean run failed), 2 (bad usage or a harness problem). */
int ce_enumerate_main(int argc, char **argv);

/* enumerate.json's table, one line per (point, action) with its n values
 * survived and failed, ranges compressed, then the signatures
 * (campaign_enum_table.c).  malloc'd. */
char *ce_render_table(json_object *root);

/* One enumerate.json from the shards' (results concatenated, counts
 * summed, the table rendered again); NULL with a message in err when the
 * shards do not enumerate the same (point, action) pairs. */
json_object *ce_merge(json_object **in, size_t n, char *err, size_t errlen);

/* The driver's lines a run reached and its clean run did not
 * (campaign_enum_gcov.c, docs/enumerate.md): a run's gcov data read
 * with lcov (scripts/gcov-capture.sh), then compared. */
typedef struct CeCov CeCov;

/* ARTIFACTS/gcov/guest as a tracefile (ARTIFACTS/gcov/guest.info, test
 * name NAME), the driver's files of it; NULL with a message in err. */
CeCov *ce_cov_capture(const char *artifacts, const char *name, char *err, size_t errlen);
void ce_cov_free(CeCov *c);

/* The lines run reached and clean did not, per function: an array of
 * {file, function, lines, ranges}, and in *text (malloc'd) the compact
 * form "kestrel_submit_batch: lines 412-418 (driver/kestrel_io.c); ...",
 * "" for none. */
json_object *ce_cov_new_paths(const CeCov *clean, const CeCov *run, char **text);

#endif /* GAUNTLET_CAMPAIGN_H */
