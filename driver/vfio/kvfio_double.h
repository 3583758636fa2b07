/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libkvfio's in-process backend: Kestrel's device core (the same
 * kestrel_core.c QEMU runs) through the host double
 * (qemu-device/standalone), with
 *   - an IOMMU: the device reaches only what the driver mapped
 *     (dma_map/dma_unmap), and only while bus mastering is on; any other
 *     DMA fails and is counted (kvfio_double_iommu_faults);
 *   - a virtual clock: wait() advances it, so timeouts cost no real time;
 *   - the device request, raised at a virtual time and signalled again
 *     every 10 s until the driver releases the device, as vfio-pci does;
 *   - surprise removal: configuration space stops answering.
 * Faults come from the device's own engine (kvfio_double_faults, the
 * Kestrel rule grammar of docs/kestrel-datasheet.md section 10).
 */
#ifndef KVFIO_DOUBLE_H
#define KVFIO_DOUBLE_H

#include "kvfio_backend.h"

struct kvfio_double;

/*
 * The device's properties (datasheet 12); this header stays clear of the
 * core's headers, whose names clash with the UAPI's (KESTREL_IO_READ).
 */
struct kvfio_double_config {
	uint32_t queue_depth;		/* 0: the host double's default */
	uint32_t block_size;
	uint32_t max_segments;
	uint64_t capacity_blocks;
	uint32_t timeout_ms;		/* CAP_TIMEOUT_MS */
	uint32_t reset_delay_us;
	bool write_cache;		/* a volatile write cache (6.9) */
};

extern const struct kvfio_backend_ops kvfio_double_ops;

struct kvfio_double *kvfio_double_new(const struct kvfio_double_config *cfg,
				      char *err, size_t errlen);
void kvfio_double_free(struct kvfio_double *x);
/* The device's media. */
uint8_t *kvfio_double_disk(struct kvfio_double *x, size_t *len);
int kvfio_double_faults(struct kvfio_double *x, const char *rules,
			char *err, size_t errlen);
/* Times rule i of the current set fired. */
uint64_t kvfio_double_fired(struct kvfio_double *x, unsigned i);
/* Raise the device request at virtual time now + after_ms. */
void kvfio_double_request(struct kvfio_double *x, uint64_t after_ms);
/* Configuration space stops answering (the card is gone). */
void kvfio_double_unplug(struct kvfio_double *x);
/* The same at virtual time now + after_ms. */
void kvfio_double_unplug_at(struct kvfio_double *x, uint64_t after_ms);
/* Whether VFIO_DEVICE_RESET works (default yes). */
void kvfio_double_set_reset(struct kvfio_double *x, bool supported);

bool kvfio_double_released(struct kvfio_double *x);
unsigned long kvfio_double_iommu_faults(struct kvfio_double *x);
unsigned kvfio_double_mappings(struct kvfio_double *x);
unsigned long kvfio_double_function_resets(struct kvfio_double *x);
uint64_t kvfio_double_now_ms(struct kvfio_double *x);
/* Run the device alone for ms of virtual time (its timers fire). */
void kvfio_double_advance(struct kvfio_double *x, uint64_t ms);

#endif /* KVFIO_DOUBLE_H */
