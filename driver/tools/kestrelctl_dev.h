/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kestrelctl's device seam: a path is either a character device of the
 * kernel driver (/dev/kestrelN, its ioctls) or "vfio:BDF", the user-space
 * driver libkvfio (driver/vfio) running in this process on a function
 * bound to vfio-pci.  Every command talks through kdev_ioctl(), so read,
 * write, flush, stress and the ledger work the same on both.
 */
#ifndef KESTRELCTL_DEV_H
#define KESTRELCTL_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KDEV_VFIO_PREFIX	"vfio:"
#define KDEV_SYSFS_PREFIX	"/sys/bus/pci/devices/"

bool kdev_is_vfio(const char *path);
/* The test mode of the unplug scenarios' negative control. */
void kdev_set_ignore_unplug_request(bool on);
/* A file descriptor to pass to kdev_ioctl() and close(), or -errno. */
int kdev_open(const char *path, char *err, size_t errlen);
/* ioctl(2)'s contract: 0, or -1 with errno. */
int kdev_ioctl(int fd, unsigned long req, void *arg);
/*
 * fail-nth over the calling thread's ioctls (gauntlet enumerate --kfault,
 * docs/enumerate.md): with GAUNTLET_FAIL_NTH=N (1..1000000000) in the
 * environment, kdev_fail_nth_begin() arms the thread so that the N-th
 * fault-injection site its driver ioctls reach fails (Linux's
 * /proc/thread-self/fail-nth, written before each ioctl with what is left
 * and disarmed after it, so nothing but the ioctls counts).  1 when the
 * thread is armed, 0 when GAUNTLET_FAIL_NTH is unset, -1 (message printed)
 * when it is bad or the kernel has no fail-nth.  kdev_fail_nth_end() gives
 * the sites counted (up to and including the injected one) and whether
 * the injection happened: 0, or -1 when fail-nth failed to be written or
 * read on the way (message printed; the count is void).
 */
int kdev_fail_nth_begin(void);
int kdev_fail_nth_end(uint64_t *calls, bool *injected);
/*
 * vfio: wait up to ms with the device held and idle, honouring the
 * device request: 0, or -ENODEV once the device was given back.
 */
int kdev_idle(uint32_t ms);
/* vfio: the counters directory of a path, or NULL for /dev paths. */
const char *kdev_counters_dir(const char *path, char *buf, size_t len);

#endif /* KESTRELCTL_DEV_H */
