/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The invariants of the Kestrel core that the fuzz targets check after
 * every step (fuzz_device) and after every accepted migration stream
 * (fuzz_vmload): see fuzz_device.c's header for the list.
 * __builtin_trap() on a violation.
 */
#ifndef GAUNTLET_FUZZ_CORE_INVARIANTS_H
#define GAUNTLET_FUZZ_CORE_INVARIANTS_H

#include <stdio.h>

#include "kestrel_host.h"
#include "fuzz_input.h"

/*
 * Not inlined: coverage-ignore.txt leaves it out of coverage by name, and
 * fuzz.uninstrumented.* finds it by name to check that it is.
 */
static __attribute__((noinline)) void
fuzz_check_core(const KestrelHost *h, const KestrelCoreOps *host_ops)
{
    const KestrelCore *c = &h->core;
    uint32_t qd = c->cfg.queue_depth;
    uint32_t i, used = 0;

    FUZZ_ASSERT(c->ops == host_ops && c->opaque == h);
    FUZZ_ASSERT(c->depth == 0);
    FUZZ_ASSERT(h->nio <= KH_MAX_IO);
    FUZZ_ASSERT(c->npending <= qd);
    FUZZ_ASSERT((c->intr_mask & ~KESTREL_INTR_ALL) == 0);
    FUZZ_ASSERT((c->ctrl & ~KESTREL_CTRL_EN) == 0);
    FUZZ_ASSERT(c->cq_phase <= 1);
    FUZZ_ASSERT(c->power_state == 0 || c->power_state == 3);
    FUZZ_ASSERT(c->faults.nrules <= KESTREL_FAULT_MAX_RULES);
    if (c->status & KESTREL_STATUS_RDY) {
        FUZZ_ASSERT(c->ctrl & KESTREL_CTRL_EN);
        FUZZ_ASSERT(c->sq_size >= KESTREL_MIN_QDEPTH && c->sq_size <= qd);
        FUZZ_ASSERT(c->cq_size >= KESTREL_MIN_QDEPTH && c->cq_size <= qd);
        FUZZ_ASSERT(c->sq_head < c->sq_size && c->sq_tail < c->sq_size);
        FUZZ_ASSERT(c->cq_head < c->cq_size && c->cq_tail < c->cq_size);
    }
    for (i = 0; i < c->npending; i++) {
        uint32_t j;

        FUZZ_ASSERT(c->pending[i] < qd);
        FUZZ_ASSERT(c->cmds[c->pending[i]].state == KESTREL_CMD_PENDING);
        for (j = 0; j < i; j++) {
            FUZZ_ASSERT(c->pending[j] != c->pending[i]);     /* unique */
        }
    }
    /* slots at or past the queue depth: checked once per input (cheap) */
    for (i = 0; i < qd; i++) {
        const KestrelCmd *cmd = &c->cmds[i];

        FUZZ_ASSERT(cmd->state <= KESTREL_CMD_FLUSH_WAIT);
        if (cmd->state == KESTREL_CMD_FLUSH_WAIT) {
            /* only with the write cache, and for a FLUSH of the past */
            FUZZ_ASSERT(c->cfg.write_cache);
            FUZZ_ASSERT(cmd->opcode == KESTREL_OP_FLUSH);
            FUZZ_ASSERT(cmd->seq <= c->cache_seq);
        }
        if (cmd->state == KESTREL_CMD_FREE) {
            continue;
        }
        FUZZ_ASSERT(i < qd);
        if (cmd->state == KESTREL_CMD_PENDING) {
            used++;
        }
        /* a command waiting to post its completion owns no buffer */
        if (cmd->state == KESTREL_CMD_PENDING) {
            FUZZ_ASSERT(cmd->buf == NULL);
        }
    }
    FUZZ_ASSERT(used == c->npending);
    /* the write cache: bounded, FIFO in write order, on the disk */
    if (c->cfg.write_cache) {
        uint32_t e, n = 0;
        uint64_t last = 0;

        FUZZ_ASSERT(c->cache_count <= c->cfg.cache_blocks);
        for (e = kestrel_core_cache_first(c); e != KESTREL_CACHE_NIL;
             e = kestrel_core_cache_next(c, e)) {
            FUZZ_ASSERT(e < c->cfg.cache_blocks);
            FUZZ_ASSERT(++n <= c->cache_count);
            FUZZ_ASSERT(c->cache[e].seq > last &&
                        c->cache[e].seq <= c->cache_seq);
            FUZZ_ASSERT(c->cache[e].lba < c->cfg.capacity_blocks);
            last = c->cache[e].seq;
        }
        FUZZ_ASSERT(n == c->cache_count);
        if (c->power_cut) {
            FUZZ_ASSERT(c->cache_count == 0);
        }
    } else {
        FUZZ_ASSERT(c->cache_count == 0 && c->wb.state == KESTREL_CMD_FREE);
    }
    for (i = 0; i < h->nio; i++) {
        const KestrelHostIo *io = &h->io[i];

        if (io->cmd == &c->wb) {
            /* the cache's write-back: a run of cached blocks */
            FUZZ_ASSERT(c->wb.state == KESTREL_CMD_IO);
            FUZZ_ASSERT(io->kind == KESTREL_IO_WRITE);
            FUZZ_ASSERT(io->buf == c->wb.buf && io->len ==
                        (size_t)c->wb_n * c->cfg.block_size);
            FUZZ_ASSERT(io->offset <= h->disk_size &&
                        io->len <= h->disk_size - io->offset);
            continue;
        }
        FUZZ_ASSERT(io->cmd >= c->cmds && io->cmd < c->cmds + qd);
        FUZZ_ASSERT(io->cmd->state == KESTREL_CMD_IO);
        if (io->kind != KESTREL_IO_FLUSH) {
            FUZZ_ASSERT(io->offset <= h->disk_size &&
                        io->len <= h->disk_size - io->offset);
            FUZZ_ASSERT(io->len == io->cmd->len && io->buf == io->cmd->buf);
        }
    }
}

#endif /* GAUNTLET_FUZZ_CORE_INVARIANTS_H */
