/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The device side of fuzz_ioctl (see fuzz_ioctl_dev.h). */
#include <stdio.h>
#include <stdlib.h>

#include "kestrel_host.h"
#include "fuzz_ioctl_dev.h"

struct fdev *fdev_new(uint32_t qdepth, uint32_t block_size, uint32_t max_segs,
                      uint64_t capacity, size_t ram_size)
{
    KestrelConfig cfg = kh_default_config();
    KestrelHost *h;
    char err[128];

    cfg.queue_depth = qdepth;
    cfg.block_size = block_size;
    cfg.max_segments = max_segs;
    cfg.capacity_blocks = capacity;
    cfg.ready_delay_us = 0;
    cfg.reset_delay_us = 0;
    h = kh_new(&cfg, ram_size, err, sizeof(err));
    if (!h) {
        fprintf(stderr, "kh_new: %s\n", err);
        abort();
    }
    return (struct fdev *)h;
}

uint32_t fdev_read(struct fdev *d, uint64_t reg)
{
    return kh_read((KestrelHost *)d, reg);
}

void fdev_write(struct fdev *d, uint64_t reg, uint32_t val)
{
    kh_write((KestrelHost *)d, reg, val);
}

void fdev_run(struct fdev *d)
{
    kh_run((KestrelHost *)d);
}

uint8_t *fdev_ram(struct fdev *d)
{
    return ((KestrelHost *)d)->ram;
}

uint8_t *fdev_disk(struct fdev *d)
{
    return ((KestrelHost *)d)->disk;
}

void fdev_set_io(struct fdev *d, int async, int error)
{
    KestrelHost *h = (KestrelHost *)d;

    h->async_io = async;
    h->io_error = error;
}

int fdev_io_error(struct fdev *d)
{
    return ((KestrelHost *)d)->io_error;
}

int fdev_rewind(struct fdev *d)
{
    KestrelHost *h = (KestrelHost *)d;
    KestrelCore *c = &h->core;
    uint32_t i;

    if (!(c->status & KESTREL_STATUS_RDY) || c->status != KESTREL_STATUS_RDY ||
        c->npending || h->nio || h->kicked || c->sq_head != c->sq_tail ||
        c->cq_head != c->cq_tail || c->stall_sq || c->stall_cq ||
        c->sq_resume_at != KESTREL_NO_DEADLINE ||
        c->irq_delayed_at != KESTREL_NO_DEADLINE || c->storm_left) {
        return -1;
    }
    for (i = 0; i < c->cfg.queue_depth; i++) {
        if (c->cmds[i].state != KESTREL_CMD_FREE) {
            return -1;
        }
    }
    c->sq_head = c->sq_tail = c->cq_head = c->cq_tail = 0;
    c->cq_phase = 1;
    c->intr_status = c->intr_delivered = 0;
    h->intx = false;
    return 0;
}
