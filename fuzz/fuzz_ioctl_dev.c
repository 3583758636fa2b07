/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The device side of fuzz_ioctl (see fuzz_ioctl_dev.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel_host.h"
#include "fuzz_ioctl_dev.h"

/* Off while a device is made: its long-lived buffers are not kept here. */
static bool big_on = true;

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
    big_on = false;
    h = kh_new(&cfg, ram_size, err, sizeof(err));
    big_on = true;
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

/*
 * Large buffers kept for reuse (KESTREL_ENV_BIG_BUFS, standalone/
 * kestrel_env.h): the device core's bounce buffer of a transfer above ASan's
 * mmap threshold (128 KiB, up to the core's 1 MiB) comes from one of a few
 * kept 1 MiB allocations instead of an mmap, page faults and an munmap per
 * transfer (fuzz speed, bench/fuzz-speed.sh).  Only buffers asked for
 * while the harness drives a device are kept, not those a new device holds
 * for its life (fdev_new()).  ASan still sees what it
 * would: the bytes past the request and a whole buffer while it is kept are
 * poisoned, so an overflow or a use after free in the core is reported
 * (as use-after-poison).  Buffers handed out are zeroed, as calloc's.
 */
#define BIG_MIN     (128u << 10)
#define BIG_CAP     (1u << 20)
#define BIG_SLOTS   4

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BIG_ASAN 1
#endif
#endif
#ifdef BIG_ASAN
#include <sanitizer/asan_interface.h>
#define big_poison(p, n)    __asan_poison_memory_region((p), (n))
#define big_unpoison(p, n)  __asan_unpoison_memory_region((p), (n))
#else
#define big_poison(p, n)    ((void)(p), (void)(n))
#define big_unpoison(p, n)  ((void)(p), (void)(n))
#endif

static struct {
    uint8_t *p;
    bool live;
} big[BIG_SLOTS];

void *kestrel_env_big_zalloc(size_t n)
{
    unsigned i, pick = BIG_SLOTS;

    if (!big_on || n <= BIG_MIN || n > BIG_CAP) {
        return NULL;
    }
    for (i = 0; i < BIG_SLOTS; i++) {
        if (big[i].p && !big[i].live) {
            pick = i;
            break;
        }
        if (!big[i].p && pick == BIG_SLOTS) {
            pick = i;
        }
    }
    if (pick == BIG_SLOTS) {
        return NULL;                /* all in use: calloc() */
    }
    if (!big[pick].p) {
        big[pick].p = malloc(BIG_CAP);
        if (!big[pick].p) {
            abort();
        }
    }
    big_unpoison(big[pick].p, n);
    memset(big[pick].p, 0, n);
    big_poison(big[pick].p + n, BIG_CAP - n);
    big[pick].live = true;
    return big[pick].p;
}

bool kestrel_env_big_free(void *p)
{
    unsigned i;

    for (i = 0; i < BIG_SLOTS; i++) {
        if (big[i].live && big[i].p == p) {
            big[i].live = false;
            big_poison(big[i].p, BIG_CAP);
            return true;
        }
    }
    return false;
}
