/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet-campaign's parts that live in their own files.
 */
#ifndef GAUNTLET_CAMPAIGN_H
#define GAUNTLET_CAMPAIGN_H

/* `gauntlet-campaign merge DIR... --out DIR` (campaign_merge.c); argv[0]
 * is "merge".  Exit status 0, 1 (a write or lcov failed), 2 (bad input). */
int cs_merge_main(int argc, char **argv);

#endif /* GAUNTLET_CAMPAIGN_H */
