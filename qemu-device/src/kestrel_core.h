/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kestrel core: registers, rings, command engine and fault actions.
 *
 * The core knows nothing of QEMU.  Everything it needs from the outside
 * world (guest memory, interrupts, the virtual clock, the block backend)
 * comes through KestrelCoreOps, implemented by kestrel_pci.c inside QEMU
 * and by an in-process double in the unit tests and fuzzers.
 *
 * Threading: every entry point runs in the caller's single thread (QEMU's
 * main loop).  Entry points never block and never recurse into each other:
 * a register write that arrives while the core is busy (a guest pointing
 * DMA at the device's own BAR) is rejected as a guest error.
 */
#ifndef KESTREL_CORE_H
#define KESTREL_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kestrel_hw.h"
#include "kestrel_fault.h"

#define KESTREL_MAX_XFER_BYTES  (1u << 20)
/*
 * Host resources a guest can make the device use (datasheet 6.8): data
 * buffers of commands in flight, at most KESTREL_MAX_BUF_BYTES together
 * (fetching waits for completions beyond), and at most
 * KESTREL_FETCH_BUDGET commands fetched per run of the engine (then it
 * yields to the main loop and runs again).
 */
#define KESTREL_MAX_BUF_BYTES   (64u << 20)
#define KESTREL_FETCH_BUDGET    32
#define KESTREL_NO_DEADLINE     INT64_MAX

/*
 * Why the command engine is paused (KestrelCore.paused, a mask).  While
 * paused the device fetches no command and posts no completion; backend
 * I/O already started still completes (its data reaches guest memory, its
 * completion waits in pending[]).
 */
#define KESTREL_PAUSE_VM        (1u << 0)       /* the VM is not running */
#define KESTREL_PAUSE_DRAIN     (1u << 1)       /* the block backend drains */
#define KESTREL_PAUSE_UNPLUG    (1u << 2)       /* the device is going away */

typedef struct KestrelCore KestrelCore;
typedef struct KestrelCmd KestrelCmd;

typedef enum KestrelIoKind {
    KESTREL_IO_READ,
    KESTREL_IO_WRITE,
    KESTREL_IO_FLUSH,
} KestrelIoKind;

typedef struct KestrelCoreOps {
    /* Guest memory.  Return 0, or -1 when the access fails (no RAM). */
    int (*dma_read)(void *opaque, uint64_t addr, void *buf, size_t len);
    int (*dma_write)(void *opaque, uint64_t addr, const void *buf,
                     size_t len);
    /* Edge interrupt on a vector (MSI-X, MSI). */
    void (*irq_notify)(void *opaque, unsigned vector);
    /* Level of the INTx line: (INTR_STATUS & delivered & ~INTR_MASK). */
    void (*irq_level)(void *opaque, bool level);
    /* Virtual clock, and the core's single timer (KESTREL_NO_DEADLINE
     * cancels it). */
    int64_t (*now_ns)(void *opaque);
    void (*timer_mod)(void *opaque, int64_t deadline_ns);
    /* Ask for kestrel_core_process() to run soon, outside this call. */
    void (*kick)(void *opaque);
    /*
     * Start backend I/O on buf.  Completion is reported by calling
     * kestrel_core_io_done(core, cmd, ret) later; calling it before
     * blk_io returns is allowed too.
     */
    void (*blk_io)(void *opaque, KestrelCmd *cmd, KestrelIoKind kind,
                   uint64_t offset, void *buf, size_t len);
    /*
     * A "powercut" fault fired: the device is dead; ask for the whole
     * machine to stop (may be NULL).  Called from within any entry point,
     * so it must only request, never stop synchronously.
     */
    void (*power_cut)(void *opaque);
} KestrelCoreOps;

typedef struct KestrelConfig {
    uint32_t queue_depth;       /* CAP_QDEPTH, 2..1024 */
    uint32_t block_size;        /* 512 or 4096 */
    uint32_t max_segments;      /* CAP_MAXSEG, 1..1024 */
    uint64_t capacity_blocks;   /* from the backend */
    uint32_t ready_delay_us;    /* EN -> RDY */
    uint32_t reset_delay_us;    /* reset -> done */
    uint32_t timeout_ms;        /* CAP_TIMEOUT_MS */
    bool write_cache;           /* volatile write cache (datasheet 6.9) */
    uint32_t cache_blocks;      /* its capacity in blocks */
    char serial[21];
} KestrelConfig;

/* Write-cache capacity bounds: blocks, and bytes (blocks x block size). */
#define KESTREL_CACHE_MIN_BLOCKS        16
#define KESTREL_CACHE_MAX_BLOCKS        65536
#define KESTREL_CACHE_MAX_BYTES         (64u << 20)
#define KESTREL_CACHE_DEFAULT_BLOCKS    4096
#define KESTREL_CACHE_NIL               UINT32_MAX

typedef enum KestrelCmdState {
    KESTREL_CMD_FREE,
    KESTREL_CMD_IO,             /* backend I/O in flight */
    KESTREL_CMD_HUNG,           /* stalled by a fault until reset */
    KESTREL_CMD_PENDING,        /* completion waits to be posted */
    KESTREL_CMD_FLUSH_WAIT,     /* FLUSH waits for the write-back (seq) */
} KestrelCmdState;

/*
 * One block in the write cache; FIFO order is the order in which blocks
 * entered it (oldest first).  A WRITE over a cached block replaces its
 * data in place and keeps its seq and place: a FLUSH that covered the
 * older data must still write the block back (the newer data satisfies
 * it), so a rewrite may not make the block younger than that FLUSH.
 */
typedef struct KestrelCacheEntry {
    uint64_t lba;
    uint64_t seq;               /* cache seq of the write that put it there */
    uint64_t ver;               /* changes with every write of its data */
    uint32_t prev, next;        /* FIFO links, or free list (next) */
} KestrelCacheEntry;

typedef struct KestrelSeg {
    uint64_t addr;
    uint32_t len;
} KestrelSeg;

struct KestrelCmd {
    /* Saved with the VM (a drained VM has no command in KESTREL_CMD_IO). */
    uint32_t state;             /* KestrelCmdState */
    uint32_t generation;        /* core->generation when fetched */
    uint8_t opcode;
    uint8_t cqe_faulted;        /* cq.post rules already evaluated */
    uint8_t duplicate;          /* post this completion twice */
    uint8_t wrong_phase;        /* post with the phase inverted */
    uint16_t tag;
    uint16_t sq_head;
    uint16_t status;            /* status code, before the phase bit */
    uint16_t cqe_rsvd0;         /* corrupted fields kept verbatim */
    uint32_t result;
    uint32_t cqe_rsvd1;
    int64_t deadline;           /* pending completion due at */
    uint64_t seq;               /* completion order; FLUSH_WAIT: cache seq */
    uint64_t delay_ns;          /* accumulated by delay faults */
    /* cq.post:corrupt(addr=V): the entry goes to cqe_addr, not its slot */
    uint8_t cqe_redirect;
    uint64_t cqe_addr;

    /* Not saved: only meaningful while the command executes. */
    uint64_t lba;
    uint32_t nblocks;
    uint32_t nsegs;
    KestrelSeg *segs;
    uint8_t *buf;
    uint32_t buf_len;           /* counted in core->buf_bytes */
    /*
     * READ with the write cache: the blocks cached when it started (a map
     * of nblocks bytes, then their data), laid over the backend's.
     */
    uint8_t *ovl;
    uint32_t ovl_len;           /* counted in core->buf_bytes */
    uint32_t len;
    KestrelCore *core;
};

struct KestrelCore {
    /* ---- configuration, fixed at realize ---- */
    KestrelConfig cfg;
    const KestrelCoreOps *ops;
    void *opaque;

    /* ---- registers (saved) ---- */
    uint32_t ctrl;
    uint32_t status;
    uint32_t intr_status;
    uint32_t intr_mask;
    uint32_t intr_delivered;    /* causes delivered, for the INTx level */
    uint64_t sq_base;
    uint32_t sq_size;
    uint64_t cq_base;
    uint32_t cq_size;
    uint32_t sq_head;
    uint32_t sq_tail;
    uint32_t cq_head;
    uint32_t cq_tail;
    uint32_t cq_phase;
    uint32_t err_count;
    uint32_t err_log[KESTREL_ERR_LOG_LEN][4];

    /* ---- engine state (saved) ---- */
    uint32_t generation;
    uint32_t power_state;       /* 0 = D0, 3 = D3hot */
    uint8_t link_down;          /* "allones": MMIO ~0, no DMA, no IRQ */
    uint8_t stall_sq;           /* fetch stalled until reset */
    uint8_t stall_cq;           /* completion posting stalled */
    uint8_t stall_irq;          /* interrupts stalled */
    uint8_t stall_reset;        /* reset never completes */
    uint8_t stall_power;        /* never ready again after power change */
    uint8_t sq_delayed;         /* the entry at sq_head was delayed */
    int64_t ready_at;           /* RDY rises then */
    int64_t reset_done_at;      /* RESETTING falls then */
    int64_t sq_resume_at;       /* fetch resumes then */
    int64_t irq_delayed_at;     /* delayed interrupt delivered then */
    uint32_t sq_delay_mask;     /* rules that fired on it */
    uint32_t irq_delayed_causes;
    uint32_t storm_left;
    uint64_t storm_interval_ns;
    int64_t storm_next_at;
    uint64_t power_delay_ns;    /* added to the next enable handshake */
    uint64_t seq;
    uint32_t npending;
    uint16_t pending[KESTREL_MAX_QDEPTH];   /* slot indices, FIFO */
    KestrelCmd cmds[KESTREL_MAX_QDEPTH];

    KestrelFaultEngine faults;

    /* ---- write cache (saved in a subsection when not empty) ---- */
    uint8_t power_cut;          /* a "powercut" fired: dead until power-on */
    uint32_t cache_count;       /* blocks held */
    uint64_t cache_seq;         /* last seq handed out, never goes back */
    KestrelCacheEntry *cache;   /* cfg.cache_blocks entries */
    uint8_t *cache_data;        /* block i at i * block_size */
    uint32_t cache_head;        /* oldest, or KESTREL_CACHE_NIL */
    uint32_t cache_tail;        /* newest */
    uint32_t cache_free;        /* free list */
    uint32_t *cache_hash;       /* open addressing: entry + 1, 0 = empty */
    uint32_t cache_hash_mask;
    bool cache_destage;         /* it filled up: write back to low water */
    KestrelCmd wb;              /* the write-back's backend I/O */
    uint64_t wb_lba;            /* its run of blocks */
    uint32_t wb_n;
    uint64_t *wb_seq;           /* ver of each block when it was copied */
    uint64_t cache_ver;         /* the last ver given (not saved) */

    /* ---- not saved ---- */
    int depth;                  /* >0 while inside the core */
    uint32_t paused;            /* KESTREL_PAUSE_* */
    uint64_t buf_bytes;         /* data buffers held by commands */
    uint64_t stat_cmds;
    uint64_t stat_cqes;
    uint64_t stat_irqs;
    uint64_t stat_cached_writes;    /* WRITEs completed into the cache */
    uint64_t stat_write_through;    /* WRITEs sent on: the cache was full */
    uint64_t stat_cache_writebacks; /* blocks written back */
    uint64_t stat_flushes;          /* FLUSHes completed with success */
    uint64_t stat_flush_lies;       /* FLUSHes a "lie" completed */
    uint64_t stat_cache_lost;       /* blocks lost: power cut/off, reset */
};

/* Lifecycle */
int kestrel_core_init(KestrelCore *c, const KestrelConfig *cfg,
                      const KestrelCoreOps *ops, void *opaque,
                      char *err, size_t errlen);
void kestrel_core_cleanup(KestrelCore *c);
/* Power-on / PCI function reset: everything but the fault rules. */
void kestrel_core_hard_reset(KestrelCore *c);

/* Guest accesses to BAR0 (4-byte aligned 32-bit accesses). */
uint32_t kestrel_core_mmio_read(KestrelCore *c, uint64_t addr);
void kestrel_core_mmio_write(KestrelCore *c, uint64_t addr, uint32_t val);

/* PCI power state change (PMCSR written): 0 = D0 ... 3 = D3hot. */
void kestrel_core_set_power(KestrelCore *c, unsigned dstate);

/* Callbacks from the environment. */
void kestrel_core_process(KestrelCore *c);
void kestrel_core_timer(KestrelCore *c);
void kestrel_core_io_done(KestrelCore *c, KestrelCmd *cmd, int ret);

/* Fault rules (QMP qom-set/qom-get). */
int kestrel_core_set_faults(KestrelCore *c, const char *rules,
                            char *err, size_t errlen);
int kestrel_core_add_faults(KestrelCore *c, const char *rules,
                            char *err, size_t errlen);

/* Stop and restart the command engine (KESTREL_PAUSE_* reasons). */
void kestrel_core_pause(KestrelCore *c, uint32_t why);
void kestrel_core_resume(KestrelCore *c, uint32_t why);
/* Number of commands (and write-backs) with backend I/O in flight. */
unsigned kestrel_core_inflight(const KestrelCore *c);

/*
 * The device loses power for good (unplug, unrealize): the write cache is
 * gone, counted in stat_cache_lost.  (A power-on reset loses it too.)
 */
void kestrel_core_power_off(KestrelCore *c);

/*
 * Write-cache migration (a vmstate subsection).  Before loading: empty
 * the cache.  Then one kestrel_core_cache_load() per block, oldest
 * first; it checks the block against the configuration and the blocks
 * already loaded and returns 0, or -1 with the reason in err.
 */
void kestrel_core_cache_load_begin(KestrelCore *c);
int kestrel_core_cache_load(KestrelCore *c, uint64_t lba, uint64_t seq,
                            const void *data, char *err, size_t errlen);
/* The cache's blocks, oldest first: entry index, or KESTREL_CACHE_NIL. */
uint32_t kestrel_core_cache_first(const KestrelCore *c);
uint32_t kestrel_core_cache_next(const KestrelCore *c, uint32_t i);
const uint8_t *kestrel_core_cache_block(const KestrelCore *c, uint32_t i);

/*
 * For vmstate, after the saved fields (and the fault rules) were loaded:
 * check everything that came from the stream against the invariants the
 * core keeps, then re-arm the timer.  Returns 0, or -1 with the first
 * violation in err; then the state must not be used.
 */
int kestrel_core_post_load(KestrelCore *c, char *err, size_t errlen);
/* The environment refused the loaded state for its own reasons: reset. */
void kestrel_core_load_refused(KestrelCore *c);

#endif /* KESTREL_CORE_H */
