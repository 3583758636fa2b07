/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libkvfio: a user-space Kestrel driver (docs/vfio.md).
 *
 * It speaks the kernel driver's UAPI structures (uapi/kestrel.h), so a
 * tool written against /dev/kestrelN (kestrelctl) drives it unchanged:
 * kvfio_submit() is KESTREL_IOC_SUBMIT, kvfio_get_info() GET_INFO and so
 * on, with the same validation (driver/kestrel_lib.c, compiled unchanged)
 * and the same results.  Buffers are plain process memory; the driver
 * copies through bounce buffers it maps for the device itself.
 *
 * Every call is serialised by one mutex: a batch runs to its end (each
 * request completes, fails or is retried within its bounds) before the
 * next thread's batch starts.
 */
#ifndef KVFIO_H
#define KVFIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kvfio_backend.h"
#include "uapi/kestrel.h"

struct kvfio_dev;

struct kvfio_opts {
	uint32_t timeout_ms;	/* command timeout, 10..600000 (5000) */
	uint32_t max_retries;	/* resubmissions after resets, 0..10 (2) */
	uint32_t qdepth;	/* queue entries wanted, 0 = 64 */
	/*
	 * Test mode, the negative control of the unplug scenarios: the
	 * device-request interrupt is counted but not honoured, so the
	 * device is never released.
	 */
	bool ignore_unplug_request;
	/*
	 * A directory where the counters are kept across processes, one file
	 * a counter holding its decimal value (what the harness's counter
	 * steps read); NULL: none.  Written at open, at every recovery, the
	 * device request, at most a second apart during I/O, and at close.
	 */
	const char *counters_path;
};

/*
 * The driver's statistics: kestrel_stats' counters, with the same
 * meaning as the kernel driver's (timeouts, missed_irqs = completions
 * found by polling, resets, retries...), then libkvfio's own.
 */
#define KVFIO_COUNTERS(X)				\
	X(submitted) X(completed) X(failed)		\
	X(bytes_read) X(bytes_written)			\
	X(timeouts) X(missed_irqs) X(resets)		\
	X(bad_completions) X(spurious_irqs) X(retries)	\
	X(fatal_errors) X(cache_flushes) X(flush_errors)	\
	X(dead) X(gone) X(function_resets)		\
	X(unplug_requests) X(unplug_ignored) X(released) \
	X(dma_maps) X(dma_unmaps) X(dma_map_errors)	\
	X(opens)

struct kvfio_counters {
#define KVFIO_FIELD(n) uint64_t n;
	KVFIO_COUNTERS(KVFIO_FIELD)
#undef KVFIO_FIELD
};

void kvfio_default_opts(struct kvfio_opts *o);

/* Open a Kestrel behind a backend; err gets the reason on failure. */
int kvfio_open(struct kvfio_dev **out, const struct kvfio_backend_ops *ops,
	       void *be, const struct kvfio_opts *opts,
	       char *err, size_t errlen);
/* The real thing: "0000:01:00.0" bound to vfio-pci. */
int kvfio_open_vfio(struct kvfio_dev **out, const char *bdf,
		    const struct kvfio_opts *opts, char *err, size_t errlen);
void kvfio_close(struct kvfio_dev *d);

/*
 * The ioctls of /dev/kestrelN, as functions: 0 or -errno.  The statistics
 * are the counters directory's totals (opts.counters_path) plus this
 * process's, as the kernel driver's outlive the processes that use it.
 */
int kvfio_get_info(struct kvfio_dev *d, struct kestrel_info *info);
int kvfio_submit(struct kvfio_dev *d, struct kestrel_submit *s);
int kvfio_reset(struct kvfio_dev *d);
int kvfio_get_stats(struct kvfio_dev *d, struct kestrel_stats *st);
int kvfio_get_timeout(struct kvfio_dev *d, struct kestrel_timeout *t);
int kvfio_set_timeout(struct kvfio_dev *d, const struct kestrel_timeout *t);

/* This process's counters since kvfio_open(). */
void kvfio_get_counters(struct kvfio_dev *d, struct kvfio_counters *c);
/* KESTREL_STATE_*. */
uint32_t kvfio_state(struct kvfio_dev *d);
/*
 * Wait up to timeout_ms for device events with no I/O of our own (an idle
 * holder): honours the device request.  0, or -ENODEV once released.
 */
int kvfio_idle(struct kvfio_dev *d, uint32_t timeout_ms);

/* Counters kept in a directory across processes (one file a counter). */
int kvfio_counters_load(const char *dir, struct kvfio_counters *c);
int kvfio_counters_store(const char *dir, const struct kvfio_counters *c);
void kvfio_counters_print(FILE *f, const struct kvfio_counters *c, bool json);
/* The counters directory of a BDF: ${KVFIO_STATE_DIR:-/run/kvfio}/BDF. */
void kvfio_counters_path(const char *bdf, char *buf, size_t len);

#endif /* KVFIO_H */
