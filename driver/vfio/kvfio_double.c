// SPDX-License-Identifier: GPL-2.0
/*
 * libkvfio's in-process backend on the Kestrel host double
 * (kvfio_double.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel_host.h"
#include "kvfio_double.h"

#define KVFIO_DOUBLE_MAX_MAPS	4096
#define KVFIO_DOUBLE_STEP_NS	1000000		/* wait() advances 1 ms a step */
#define KVFIO_DOUBLE_REQ_REPEAT	10000		/* ms, vfio-pci's re-signal */

struct kvfio_double_map {
	uint64_t iova;
	uint8_t *vaddr;
	size_t len;
};

struct kvfio_double {
	KestrelHost *h;
	struct kvfio_double_map maps[KVFIO_DOUBLE_MAX_MAPS];
	unsigned nmaps;
	unsigned long seen_irqs[KESTREL_NVEC];
	bool bus_master;
	bool released;
	bool unplugged;
	bool no_reset;
	bool request_armed;
	uint64_t request_at;		/* ms */
	bool unplug_armed;
	uint64_t unplug_at;		/* ms */
	unsigned long function_resets;
};

static bool dbl_gone(struct kvfio_double *x);

static uint64_t dbl_now(void *be)
{
	struct kvfio_double *x = be;

	return (uint64_t)x->h->clock_ns / 1000000;
}

static size_t dbl_iommu(void *opaque, uint64_t addr, bool write, void **host)
{
	struct kvfio_double *x = opaque;
	unsigned i;

	(void)write;
	if (!x->bus_master || x->released || dbl_gone(x))
		return 0;
	for (i = 0; i < x->nmaps; i++) {
		struct kvfio_double_map *m = &x->maps[i];

		if (addr >= m->iova && addr - m->iova < m->len) {
			*host = m->vaddr + (addr - m->iova);
			return m->len - (addr - m->iova);
		}
	}
	return 0;
}

static int dbl_map_bar(void *be, char *err, size_t errlen)
{
	struct kvfio_double *x = be;

	return x->released ? -ENODEV : 0;
}

/* A scheduled surprise removal happens when its time has come. */
static bool dbl_gone(struct kvfio_double *x)
{
	if (x->unplug_armed && dbl_now(x) >= x->unplug_at)
		x->unplugged = true;
	return x->unplugged;
}

static uint32_t dbl_read32(void *be, uint32_t off)
{
	struct kvfio_double *x = be;

	dbl_gone(x);
	if (x->released || x->unplugged)
		return 0xffffffffu;
	return kh_read(x->h, off);
}

static void dbl_write32(void *be, uint32_t off, uint32_t val)
{
	struct kvfio_double *x = be;

	if (!x->released && !dbl_gone(x))
		kh_write(x->h, off, val);
}

static int dbl_dma_map(void *be, void *vaddr, uint64_t iova, size_t len)
{
	struct kvfio_double *x = be;
	unsigned i;

	if (x->released)
		return -ENODEV;
	if (x->nmaps == KVFIO_DOUBLE_MAX_MAPS || !len)
		return -ENOSPC;
	for (i = 0; i < x->nmaps; i++)
		if (iova < x->maps[i].iova + x->maps[i].len &&
		    x->maps[i].iova < iova + len)
			return -EEXIST;	/* as VFIO_IOMMU_MAP_DMA says */
	x->maps[x->nmaps].iova = iova;
	x->maps[x->nmaps].vaddr = vaddr;
	x->maps[x->nmaps].len = len;
	x->nmaps++;
	return 0;
}

static int dbl_dma_unmap(void *be, uint64_t iova, size_t len)
{
	struct kvfio_double *x = be;
	unsigned i;

	for (i = 0; i < x->nmaps; i++) {
		if (x->maps[i].iova == iova && x->maps[i].len == len) {
			x->maps[i] = x->maps[--x->nmaps];
			return 0;
		}
	}
	return -ENOENT;
}

static uint32_t dbl_events(struct kvfio_double *x)
{
	uint32_t ev = 0;

	if (x->h->irqs[KESTREL_VEC_CQ] != x->seen_irqs[KESTREL_VEC_CQ])
		ev |= KVFIO_EV_CQ;
	if (x->h->irqs[KESTREL_VEC_ERROR] != x->seen_irqs[KESTREL_VEC_ERROR])
		ev |= KVFIO_EV_ERROR;
	memcpy(x->seen_irqs, x->h->irqs, sizeof(x->seen_irqs));
	if (x->request_armed && !x->released && dbl_now(x) >= x->request_at) {
		ev |= KVFIO_EV_REQUEST;
		x->request_at = dbl_now(x) + KVFIO_DOUBLE_REQ_REPEAT;
	}
	return ev;
}

static int dbl_wait(void *be, uint32_t timeout_ms, uint32_t *events)
{
	struct kvfio_double *x = be;
	int64_t end = x->h->clock_ns + (int64_t)timeout_ms * 1000000;

	for (;;) {
		*events = dbl_events(x);
		if (*events || x->h->clock_ns >= end)
			return 0;
		kh_advance(x->h, end - x->h->clock_ns < KVFIO_DOUBLE_STEP_NS ?
			   end - x->h->clock_ns : KVFIO_DOUBLE_STEP_NS);
	}
}

static int dbl_reset(void *be)
{
	struct kvfio_double *x = be;

	if (x->no_reset || x->released || x->unplugged)
		return -ENOTTY;
	kestrel_core_hard_reset(&x->h->core);
	kh_run(x->h);
	x->function_resets++;
	return 0;
}

static bool dbl_present(void *be)
{
	struct kvfio_double *x = be;

	return !dbl_gone(x) && !x->released;
}

static void dbl_bus_master(void *be, bool on)
{
	struct kvfio_double *x = be;

	x->bus_master = on;
}

static void dbl_release(void *be)
{
	struct kvfio_double *x = be;

	/* Closing the container: every mapping goes. */
	x->released = true;
	x->nmaps = 0;
	x->bus_master = false;
}

const struct kvfio_backend_ops kvfio_double_ops = {
	.name = "double",
	.map_bar = dbl_map_bar,
	.read32 = dbl_read32,
	.write32 = dbl_write32,
	.dma_map = dbl_dma_map,
	.dma_unmap = dbl_dma_unmap,
	.wait = dbl_wait,
	.now_ms = dbl_now,
	.reset = dbl_reset,
	.present = dbl_present,
	.bus_master = dbl_bus_master,
	.release = dbl_release,
	.destroy = NULL,
};

struct kvfio_double *kvfio_double_new(const struct kvfio_double_config *dc,
				      char *err, size_t errlen)
{
	struct kvfio_double *x = calloc(1, sizeof(*x));
	KestrelConfig kc = kh_default_config();
	const KestrelConfig *cfg = &kc;

	if (dc) {
		if (dc->queue_depth)
			kc.queue_depth = dc->queue_depth;
		if (dc->block_size)
			kc.block_size = dc->block_size;
		if (dc->max_segments)
			kc.max_segments = dc->max_segments;
		if (dc->capacity_blocks)
			kc.capacity_blocks = dc->capacity_blocks;
		if (dc->timeout_ms)
			kc.timeout_ms = dc->timeout_ms;
		kc.reset_delay_us = dc->reset_delay_us;
		kc.write_cache = dc->write_cache;
		kc.cache_blocks = KESTREL_CACHE_DEFAULT_BLOCKS;
	}
	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Guest RAM is unused: every DMA goes through the IOMMU hook. */
	x->h = kh_new(cfg, 4096, err, errlen);
	if (!x->h) {
		free(x);
		return NULL;
	}
	x->h->iommu = dbl_iommu;
	x->h->iommu_opaque = x;
	return x;
}

void kvfio_double_free(struct kvfio_double *x)
{
	if (!x)
		return;
	kh_free(x->h);
	free(x);
}

uint8_t *kvfio_double_disk(struct kvfio_double *x, size_t *len)
{
	*len = x->h->disk_size;
	return x->h->disk;
}

int kvfio_double_faults(struct kvfio_double *x, const char *rules, char *err,
			size_t errlen)
{
	return kestrel_core_set_faults(&x->h->core, rules, err, errlen);
}

uint64_t kvfio_double_fired(struct kvfio_double *x, unsigned i)
{
	return i < x->h->core.faults.nrules ? x->h->core.faults.rules[i].fired
					     : 0;
}

void kvfio_double_request(struct kvfio_double *x, uint64_t after_ms)
{
	x->request_armed = true;
	x->request_at = dbl_now(x) + after_ms;
}

void kvfio_double_unplug(struct kvfio_double *x)
{
	x->unplugged = true;
}

void kvfio_double_unplug_at(struct kvfio_double *x, uint64_t after_ms)
{
	x->unplug_armed = true;
	x->unplug_at = dbl_now(x) + after_ms;
}

void kvfio_double_set_reset(struct kvfio_double *x, bool supported)
{
	x->no_reset = !supported;
}

bool kvfio_double_released(struct kvfio_double *x)
{
	return x->released;
}

unsigned long kvfio_double_iommu_faults(struct kvfio_double *x)
{
	return x->h->dma_refused;
}

unsigned kvfio_double_mappings(struct kvfio_double *x)
{
	return x->nmaps;
}

unsigned long kvfio_double_function_resets(struct kvfio_double *x)
{
	return x->function_resets;
}

void kvfio_double_advance(struct kvfio_double *x, uint64_t ms)
{
	kh_advance(x->h, (int64_t)ms * 1000000);
}

uint64_t kvfio_double_now_ms(struct kvfio_double *x)
{
	return dbl_now(x);
}
