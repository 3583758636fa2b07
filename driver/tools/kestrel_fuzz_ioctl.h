/* SPDX-License-Identifier: GPL-2.0 */
/* kestrelctl fuzz-ioctl: see kestrel_fuzz_ioctl.c. */
#ifndef KESTREL_FUZZ_IOCTL_H
#define KESTREL_FUZZ_IOCTL_H

#include <stdio.h>

/* Runs `kestrelctl fuzz-ioctl ARGS` on @dev; returns the exit status. */
int kestrel_fuzz_ioctl_main(const char *dev, int argc, char **argv);
void kestrel_fuzz_ioctl_usage(FILE *f);

#endif /* KESTREL_FUZZ_IOCTL_H */
