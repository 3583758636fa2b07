/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet-report DIR...: write DIR/report.html from a run's, a campaign's
 * or an enumeration's reports (report_html.h).  Exit 0 when every page was
 * written, 1 otherwise, 2 for bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "report_html.h"

int main(int argc, char **argv)
{
    int rc = 0;

    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: gauntlet-report DIR...   (a run's, campaign's or "
                "enumeration's output folder)\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        char err[1024];

        if (ghr_write(argv[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "gauntlet-report: %s\n", err);
            rc = 1;
        } else {
            printf("%s/report.html\n", argv[i]);
        }
    }
    return rc;
}
