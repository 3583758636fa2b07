/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device side of fuzz_ioctl: the Kestrel core in the host double,
 * behind plain functions.  A separate file because the core's KestrelIoKind
 * (KESTREL_IO_READ...) and the driver UAPI's KESTREL_IO_* macros cannot
 * meet in one translation unit.
 */
#ifndef FUZZ_IOCTL_DEV_H
#define FUZZ_IOCTL_DEV_H

#include <stddef.h>
#include <stdint.h>

struct fdev;

struct fdev *fdev_new(uint32_t qdepth, uint32_t block_size, uint32_t max_segs,
                      uint64_t capacity, size_t ram_size);
uint32_t fdev_read(struct fdev *d, uint64_t reg);
void fdev_write(struct fdev *d, uint64_t reg, uint32_t val);
void fdev_run(struct fdev *d);
uint8_t *fdev_ram(struct fdev *d);
uint8_t *fdev_disk(struct fdev *d);
void fdev_set_io(struct fdev *d, int async, int error);
int fdev_io_error(struct fdev *d);
/*
 * Put an idle, ready device's rings back where a fresh enable leaves them
 * (heads, tails 0, phase 1, no interrupt cause) without a controller
 * reset, whose sweep of all 1024 command slots dominates an input.
 * Returns -1 (and changes nothing) when the device is not idle and ready.
 */
int fdev_rewind(struct fdev *d);

#endif
