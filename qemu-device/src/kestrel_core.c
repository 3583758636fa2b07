/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kestrel core: registers, rings, command engine and fault actions.
 *
 * The behaviour implemented here is specified in docs/kestrel-datasheet.md;
 * section numbers in comments refer to it.  Rules of this file:
 *  - every guest-controlled value is range-checked before use, and a bad
 *    one is logged (KESTREL_LOG_GUEST_ERROR, a kestrel_ub_* trace event and
 *    the device error log) and rejected, never asserted;
 *  - guest memory is touched only through ops->dma_read/dma_write with a
 *    length the core bounded;
 *  - nothing here blocks: delays are deadlines on the single core timer.
 */
#include "kestrel_env.h"
#include "kestrel_core.h"
#include "trace.h"

#define NS_PER_US 1000ull

static void kestrel_update_timer(KestrelCore *c);
static void kestrel_post_pending(KestrelCore *c);
static void kestrel_finish(KestrelCore *c, KestrelCmd *cmd, unsigned status,
                           uint32_t result);

static int64_t now(KestrelCore *c)
{
    return c->ops->now_ns(c->opaque);
}

static int64_t deadline_after(KestrelCore *c, uint64_t ns)
{
    int64_t t = now(c);

    if (ns >= (uint64_t)(KESTREL_NO_DEADLINE - t)) {
        return KESTREL_NO_DEADLINE - 1;
    }
    return t + (int64_t)ns;
}

/* ---- error log and fatal errors (datasheet 8) ------------------------ */

static void kestrel_log_error(KestrelCore *c, unsigned code, uint16_t tag,
                              uint32_t info, uint64_t addr)
{
    uint32_t *e = c->err_log[c->err_count % KESTREL_ERR_LOG_LEN];

    e[0] = (code & 0xffff) | ((uint32_t)tag << 16);
    e[1] = info;
    e[2] = (uint32_t)addr;
    e[3] = (uint32_t)(addr >> 32);
    if (c->err_count != UINT32_MAX) {
        c->err_count++;
    }
}

static bool kestrel_link_ok(KestrelCore *c)
{
    return !c->link_down && !c->power_cut && c->power_state == 0;
}

static void kestrel_update_level(KestrelCore *c)
{
    bool level = kestrel_link_ok(c) &&
        (c->intr_status & c->intr_delivered & ~c->intr_mask);

    c->ops->irq_level(c->opaque, level);
}

static void kestrel_deliver(KestrelCore *c, uint32_t causes, bool faults);

/*
 * irq_faults: whether the "irq" rules see the error interrupt.  A fatal
 * raised by an "irq" rule itself must not: the rule would fire again on
 * its own interrupt and recurse without end.
 */
static void kestrel_raise_fatal_ex(KestrelCore *c, unsigned code,
                                   uint16_t tag, uint32_t info,
                                   uint64_t addr, bool irq_faults)
{
    trace_kestrel_err_fatal(code);
    kestrel_log_error(c, code, tag, info, addr);
    c->status |= KESTREL_STATUS_FATAL;
    c->intr_status |= KESTREL_INTR_ERROR;
    kestrel_deliver(c, KESTREL_INTR_ERROR, irq_faults);
}

static void kestrel_raise_fatal(KestrelCore *c, unsigned code, uint16_t tag,
                                uint32_t info, uint64_t addr)
{
    kestrel_raise_fatal_ex(c, code, tag, info, addr, true);
}

/* A guest mistake that the device rejects without failing (datasheet 9). */
#define KESTREL_GUEST_ERROR(c, code, tag, info, addr, fmt, ...) do {    \
        KESTREL_LOG_GUEST_ERROR(fmt, ## __VA_ARGS__);                   \
        kestrel_log_error(c, code, tag, info, addr);                   \
    } while (0)

/* ---- fault actions shared by every point (datasheet 10.3) ------------ */

typedef struct FaultHit {
    uint32_t mask;              /* rules that fired */
    bool drop;
    bool stall;
    bool dma_error;
    bool duplicate;
    bool lie;
    uint64_t delay_ns;
} FaultHit;

static void kestrel_power_cut(KestrelCore *c);

static void kestrel_storm_start(KestrelCore *c, const KestrelFaultRule *r)
{
    c->storm_left = r->storm_count;
    c->storm_interval_ns = r->storm_interval_ns;
    c->storm_next_at = now(c);
    kestrel_update_timer(c);
}

/*
 * Evaluate the rules of one point and apply the actions that do not
 * depend on the data at hand; report the others in *hit for the caller.
 * Every rule that fires goes into the fault log, at the virtual time,
 * with the event's detail (fmt: tag, opcode, address, register...).
 */
static FaultHit __attribute__((format(printf, 5, 6)))
kestrel_fault_point(KestrelCore *c, KestrelFaultPoint p, int reg, int op,
                    const char *fmt, ...)
{
    FaultHit hit = { 0 };
    char detail[GFAULT_LOG_DETAIL];
    uint64_t t;
    va_list ap;
    unsigned i;

    if (!kestrel_fault_watches(&c->faults, p)) {
        return hit;
    }
    hit.mask = kestrel_fault_eval(&c->faults, p, reg, op);
    if (!hit.mask) {
        return hit;
    }
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    t = now(c);
    for (i = 0; i < c->faults.nrules; i++) {
        const KestrelFaultRule *r = &c->faults.rules[i];

        if (!(hit.mask & (1u << i))) {
            continue;
        }
        trace_kestrel_fault_fired(r->id, kestrel_fault_point_name(p),
                                  kestrel_fault_action_name(r->action));
        gfault_log(&c->faults, t, i, "%s", detail);
        switch (r->action) {
        case KFA_DROP:
            hit.drop = true;
            break;
        case KFA_DELAY:
            hit.delay_ns += r->delay_ns;
            break;
        case KFA_STALL:
            hit.stall = true;
            break;
        case KFA_DUPLICATE:
            hit.duplicate = true;
            break;
        case KFA_DMA_ERROR:
            hit.dma_error = true;
            break;
        case KFA_SPURIOUS:
            kestrel_deliver(c, 0, false);
            break;
        case KFA_STORM:
            kestrel_storm_start(c, r);
            break;
        case KFA_FATAL:
            kestrel_raise_fatal_ex(c, KESTREL_ERR_INJECTED_FATAL, 0, r->id, 0,
                                   p != KFP_IRQ);
            break;
        case KFA_ALLONES:
            c->link_down = 1;
            kestrel_update_level(c);
            break;
        case KFA_LIE:
            hit.lie = true;
            break;
        case KFA_POWERCUT:
            kestrel_power_cut(c);
            break;
        case KFA_CORRUPT:
        case KFA_FLIP:
            /* Applied by the caller, which owns the data. */
            break;
        case KFA__MAX:
            break;
        }
    }
    return hit;
}

/*
 * The data-independent flags of rules that already fired (their counters
 * and side effects are not repeated), for an event that resumes later.
 */
static FaultHit kestrel_fault_replay(KestrelCore *c, uint32_t mask)
{
    FaultHit hit = { .mask = mask };
    unsigned i;

    for (i = 0; i < c->faults.nrules; i++) {
        if (!(mask & (1u << i))) {
            continue;
        }
        switch (c->faults.rules[i].action) {
        case KFA_DROP:
            hit.drop = true;
            break;
        case KFA_STALL:
            hit.stall = true;
            break;
        case KFA_DMA_ERROR:
            hit.dma_error = true;
            break;
        case KFA_DUPLICATE:
            hit.duplicate = true;
            break;
        case KFA_LIE:
            hit.lie = true;
            break;
        default:
            break;
        }
    }
    return hit;
}

/* Flip rule->flip_bits random bits of buf (positions from the rule). */
static void kestrel_flip_bits(KestrelFaultRule *r, void *buf, size_t len)
{
    uint8_t *p = buf;
    uint32_t i;

    if (!len) {
        return;
    }
    for (i = 0; i < r->flip_bits; i++) {
        uint64_t bit = kestrel_fault_rand(r) % (len * 8);

        p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}

static uint64_t corrupt_value(const KestrelFaultCorrupt *k, uint64_t old,
                              uint64_t width_mask)
{
    return (k->invert ? ~old : k->value) & width_mask;
}

typedef void KestrelCorruptFn(const KestrelFaultRule *r, void *obj,
                              size_t len);

/*
 * Apply the flip() and corrupt() rules among those that fired (mask) to
 * obj: flip acts on all len bytes, corrupt through the point's own
 * field setter.
 */
static void kestrel_fault_mangle(KestrelCore *c, uint32_t mask, void *obj,
                                 size_t len, KestrelCorruptFn *corrupt)
{
    unsigned i;

    for (i = 0; mask && i < c->faults.nrules; i++) {
        KestrelFaultRule *r = &c->faults.rules[i];

        if (!(mask & (1u << i))) {
            continue;
        }
        if (r->action == KFA_FLIP) {
            kestrel_flip_bits(r, obj, len);
        } else if (r->action == KFA_CORRUPT) {
            corrupt(r, obj, len);
        }
    }
}

/* dma.*: byte "offset" (mod length) becomes "value", or is inverted. */
static void kestrel_corrupt_data(const KestrelFaultRule *r, void *obj,
                                 size_t len)
{
    uint8_t *buf = obj;
    uint64_t off = 0, val = 0;
    bool have_val = false;
    unsigned j;

    if (!len) {
        return;
    }
    for (j = 0; j < r->ncorrupt; j++) {
        if (r->corrupt[j].field == KFF_DMA_OFFSET) {
            off = r->corrupt[j].value;
        } else if (r->corrupt[j].field == KFF_DMA_VALUE) {
            val = r->corrupt[j].value;
            have_val = true;
        }
    }
    off %= len;
    buf[off] = have_val ? (uint8_t)val : (uint8_t)~buf[off];
}

/* reg.read: the value read. */
static void kestrel_corrupt_reg(const KestrelFaultRule *r, void *obj,
                                size_t len)
{
    uint32_t *val = obj;

    *val = (uint32_t)corrupt_value(&r->corrupt[0], *val, UINT32_MAX);
}

/* ---- interrupts (datasheet 7) ---------------------------------------- */

static void kestrel_deliver_now(KestrelCore *c, uint32_t causes)
{
    unsigned vector = (causes & KESTREL_INTR_ERROR) ? KESTREL_VEC_ERROR
                                                    : KESTREL_VEC_CQ;

    c->intr_delivered |= causes;
    c->stat_irqs++;
    trace_kestrel_irq(vector);
    c->ops->irq_notify(c->opaque, vector);
    if (!causes) {
        /* A spurious INTx: a pulse with nothing in INTR_STATUS. */
        c->ops->irq_level(c->opaque, true);
    }
    kestrel_update_level(c);
}

/*
 * Deliver an interrupt for causes (0: a spurious one).  faults says
 * whether the "irq" rules see this delivery; delayed deliveries and
 * storms have been through them already.
 */
static void kestrel_deliver(KestrelCore *c, uint32_t causes, bool faults)
{
    if (!kestrel_link_ok(c) || c->stall_irq) {
        return;
    }
    if (causes && !(causes & ~c->intr_mask)) {
        kestrel_update_level(c);
        return;
    }
    if (faults) {
        FaultHit hit = kestrel_fault_point(
            c, KFP_IRQ, -1, -1, "vector=%u causes=0x%x",
            (causes & KESTREL_INTR_ERROR) ? KESTREL_VEC_ERROR : KESTREL_VEC_CQ,
            (unsigned)causes);

        if (hit.stall) {
            c->stall_irq = 1;
            return;
        }
        if (hit.drop || !kestrel_link_ok(c)) {
            return;     /* dropped, or "allones" took the link down */
        }
        if (hit.delay_ns) {
            c->irq_delayed_causes |= causes ? causes : KESTREL_INTR_CQ;
            if (c->irq_delayed_at == KESTREL_NO_DEADLINE) {
                c->irq_delayed_at = deadline_after(c, hit.delay_ns);
            }
            kestrel_update_timer(c);
            return;
        }
    }
    kestrel_deliver_now(c, causes);
}

/* ---- controller reset and enable (datasheet 5) ----------------------- */

static void kestrel_cmd_alloc_buf(KestrelCmd *cmd, uint32_t len)
{
    cmd->buf = kestrel_zalloc(len);
    cmd->buf_len = len;
    cmd->core->buf_bytes += len;
}

static void kestrel_cmd_free_bufs(KestrelCmd *cmd)
{
    kestrel_free(cmd->segs);
    kestrel_free(cmd->buf);
    kestrel_free(cmd->ovl);
    cmd->segs = NULL;
    cmd->buf = NULL;
    cmd->ovl = NULL;
    if (cmd->core) {
        cmd->core->buf_bytes -= cmd->buf_len + cmd->ovl_len;
    }
    cmd->buf_len = 0;
    cmd->ovl_len = 0;
}

static void kestrel_free_cmd(KestrelCmd *cmd)
{
    kestrel_cmd_free_bufs(cmd);
    cmd->state = KESTREL_CMD_FREE;
}

/*
 * Forget every command; those with backend I/O in flight become orphans.
 * Only the first cfg.queue_depth slots are ever handed out
 * (kestrel_alloc_cmd), so the others are always free.
 */
static void kestrel_abort_all(KestrelCore *c)
{
    unsigned i;

    c->generation++;
    for (i = 0; i < c->cfg.queue_depth; i++) {
        if (c->cmds[i].state != KESTREL_CMD_IO) {
            kestrel_free_cmd(&c->cmds[i]);
        }
    }
    c->npending = 0;
}

/* Registers and queues back to their reset values; the error log stays. */
static void kestrel_reset_registers(KestrelCore *c)
{
    kestrel_abort_all(c);
    c->ctrl = 0;
    c->status &= KESTREL_STATUS_RESETTING;
    c->intr_status = 0;
    c->intr_mask = 0;
    c->intr_delivered = 0;
    c->sq_base = c->cq_base = 0;
    c->sq_size = c->cq_size = 0;
    c->sq_head = c->sq_tail = c->cq_head = c->cq_tail = 0;
    c->cq_phase = 1;
    c->stall_sq = c->stall_cq = c->stall_irq = 0;
    c->sq_delayed = 0;
    c->sq_delay_mask = 0;
    c->ready_at = KESTREL_NO_DEADLINE;
    c->sq_resume_at = KESTREL_NO_DEADLINE;
    c->irq_delayed_at = KESTREL_NO_DEADLINE;
    c->irq_delayed_causes = 0;
    c->storm_left = 0;
    c->storm_next_at = KESTREL_NO_DEADLINE;
    kestrel_update_level(c);
}

static void kestrel_reset_complete(KestrelCore *c)
{
    c->status &= ~KESTREL_STATUS_RESETTING;
    c->reset_done_at = KESTREL_NO_DEADLINE;
    trace_kestrel_reset_done();
}

static void kestrel_controller_reset(KestrelCore *c, const char *why)
{
    FaultHit hit = kestrel_fault_point(c, KFP_RESET, -1, -1, "%s", why);
    uint64_t delay = c->cfg.reset_delay_us * NS_PER_US + hit.delay_ns;

    if (hit.drop) {
        return;
    }
    trace_kestrel_reset_begin(why);
    c->status |= KESTREL_STATUS_RESETTING;
    c->status &= ~(KESTREL_STATUS_RDY | KESTREL_STATUS_FATAL);
    kestrel_reset_registers(c);
    if (hit.stall) {
        c->stall_reset = 1;
    }
    if (c->stall_reset) {
        c->reset_done_at = KESTREL_NO_DEADLINE;
    } else if (delay) {
        c->reset_done_at = deadline_after(c, delay);
    } else {
        kestrel_reset_complete(c);
    }
    kestrel_update_timer(c);
}

static bool kestrel_queue_config_ok(KestrelCore *c)
{
    uint32_t qd = c->cfg.queue_depth;

    /* A ring must not wrap past 2^64 (datasheet 4.2, queue registers). */
    return c->sq_size >= KESTREL_MIN_QDEPTH && c->sq_size <= qd &&
           c->cq_size >= KESTREL_MIN_QDEPTH && c->cq_size <= qd &&
           c->sq_base && !(c->sq_base % KESTREL_QUEUE_ALIGN) &&
           c->cq_base && !(c->cq_base % KESTREL_QUEUE_ALIGN) &&
           c->sq_base - 1 <= UINT64_MAX - (uint64_t)c->sq_size *
                                         sizeof(struct kestrel_sqe) &&
           c->cq_base - 1 <= UINT64_MAX - (uint64_t)c->cq_size *
                                         sizeof(struct kestrel_cqe);
}

static void kestrel_enable(KestrelCore *c)
{
    FaultHit hit;
    uint64_t delay;

    if (!kestrel_queue_config_ok(c)) {
        trace_kestrel_ub_queue_config(c->sq_base, c->sq_size, c->cq_base,
                                      c->cq_size);
        KESTREL_LOG_GUEST_ERROR("enable with a bad queue configuration");
        kestrel_raise_fatal(c, KESTREL_ERR_BAD_QUEUE_CONFIG, 0,
                            c->sq_size | (c->cq_size << 16), c->sq_base);
        return;
    }
    hit = kestrel_fault_point(c, KFP_CTRL_ENABLE, -1, -1,
                              "sq_size=%u cq_size=%u", (unsigned)c->sq_size,
                              (unsigned)c->cq_size);
    if (hit.drop || hit.stall || c->stall_power) {
        /* RDY never rises; only clearing EN (a controller reset) helps. */
        return;
    }
    delay = c->cfg.ready_delay_us * NS_PER_US + hit.delay_ns +
            c->power_delay_ns;
    c->power_delay_ns = 0;
    c->sq_head = c->sq_tail = c->cq_head = c->cq_tail = 0;
    c->cq_phase = 1;
    c->ready_at = deadline_after(c, delay);
    trace_kestrel_enable(c->sq_size, c->cq_size, delay);
    kestrel_update_timer(c);
}

static void kestrel_ready(KestrelCore *c)
{
    c->ready_at = KESTREL_NO_DEADLINE;
    if (!(c->ctrl & KESTREL_CTRL_EN) || (c->status & KESTREL_STATUS_FATAL)) {
        return;
    }
    c->status |= KESTREL_STATUS_RDY;
    trace_kestrel_ready();
    c->ops->kick(c->opaque);
}

/* ---- volatile write cache (datasheet 6.9) ---------------------------- */

static uint32_t cache_hash_of(const KestrelCore *c, uint64_t lba)
{
    return (uint32_t)((lba * 0x9e3779b97f4a7c15ull) >> 32) &
           c->cache_hash_mask;
}

/* The entry holding lba, or KESTREL_CACHE_NIL. */
static uint32_t kestrel_cache_find(const KestrelCore *c, uint64_t lba)
{
    uint32_t h;

    if (!c->cache_count) {
        return KESTREL_CACHE_NIL;
    }
    for (h = cache_hash_of(c, lba); c->cache_hash[h];
         h = (h + 1) & c->cache_hash_mask) {
        uint32_t i = c->cache_hash[h] - 1;

        if (c->cache[i].lba == lba) {
            return i;
        }
    }
    return KESTREL_CACHE_NIL;
}

static uint8_t *cache_block(const KestrelCore *c, uint32_t i)
{
    return c->cache_data + (size_t)i * c->cfg.block_size;
}

static void cache_fifo_unlink(KestrelCore *c, uint32_t i)
{
    KestrelCacheEntry *e = &c->cache[i];

    if (e->prev != KESTREL_CACHE_NIL) {
        c->cache[e->prev].next = e->next;
    } else {
        c->cache_head = e->next;
    }
    if (e->next != KESTREL_CACHE_NIL) {
        c->cache[e->next].prev = e->prev;
    } else {
        c->cache_tail = e->prev;
    }
}

static void cache_fifo_append(KestrelCore *c, uint32_t i)
{
    KestrelCacheEntry *e = &c->cache[i];

    e->prev = c->cache_tail;
    e->next = KESTREL_CACHE_NIL;
    if (c->cache_tail != KESTREL_CACHE_NIL) {
        c->cache[c->cache_tail].next = i;
    } else {
        c->cache_head = i;
    }
    c->cache_tail = i;
}

/*
 * Put data at lba: a new block at the FIFO's tail, or new data over the
 * cached block in place, keeping its seq (KestrelCacheEntry).
 */
static void kestrel_cache_put(KestrelCore *c, uint64_t lba, const void *data)
{
    uint32_t i = kestrel_cache_find(c, lba), h;

    if (i != KESTREL_CACHE_NIL) {
        c->cache[i].ver = ++c->cache_ver;
        memcpy(cache_block(c, i), data, c->cfg.block_size);
        return;
    } else {
        i = c->cache_free;
        c->cache_free = c->cache[i].next;
        c->cache[i].lba = lba;
        for (h = cache_hash_of(c, lba); c->cache_hash[h];
             h = (h + 1) & c->cache_hash_mask) {
            /* the table has twice the entries: a free bucket exists */
        }
        c->cache_hash[h] = i + 1;
        c->cache_count++;
    }
    c->cache[i].seq = ++c->cache_seq;
    c->cache[i].ver = ++c->cache_ver;
    memcpy(cache_block(c, i), data, c->cfg.block_size);
    cache_fifo_append(c, i);
}

/* Forget entry i (linear probing: shift the run after it back). */
static void kestrel_cache_remove(KestrelCore *c, uint32_t i)
{
    uint32_t mask = c->cache_hash_mask;
    uint32_t h = cache_hash_of(c, c->cache[i].lba), j;

    while (c->cache_hash[h] != i + 1) {
        h = (h + 1) & mask;
    }
    c->cache_hash[h] = 0;
    for (j = (h + 1) & mask; c->cache_hash[j]; j = (j + 1) & mask) {
        uint32_t home = cache_hash_of(c, c->cache[c->cache_hash[j] - 1].lba);

        /* move j's entry to the hole unless its home lies in (h, j] */
        if (((j - home) & mask) >= ((j - h) & mask)) {
            c->cache_hash[h] = c->cache_hash[j];
            c->cache_hash[j] = 0;
            h = j;
        }
    }
    cache_fifo_unlink(c, i);
    c->cache[i].next = c->cache_free;
    c->cache_free = i;
    c->cache_count--;
}

/* Empty the cache; lost: the blocks count as lost (power went away). */
static void kestrel_cache_clear(KestrelCore *c, bool lost)
{
    uint32_t i, n = c->cfg.cache_blocks;

    if (!c->cache) {
        return;
    }
    if (lost) {
        c->stat_cache_lost += c->cache_count;
    }
    c->cache_count = 0;
    c->cache_head = c->cache_tail = KESTREL_CACHE_NIL;
    c->cache_free = 0;
    for (i = 0; i < n; i++) {
        c->cache[i].next = i + 1 < n ? i + 1 : KESTREL_CACHE_NIL;
    }
    memset(c->cache_hash, 0, (size_t)(c->cache_hash_mask + 1) *
                             sizeof(c->cache_hash[0]));
    c->cache_destage = false;
}

static uint32_t kestrel_cache_missing(const KestrelCore *c, uint64_t lba,
                                      uint32_t n)
{
    uint32_t i, missing = 0;

    for (i = 0; i < n; i++) {
        missing += kestrel_cache_find(c, lba + i) == KESTREL_CACHE_NIL;
    }
    return missing;
}

/*
 * Blocks one write-back takes at most: a run of cached blocks, so no more
 * than the cache holds, and no more than one transfer.  Its buffers are
 * sized by it (a 16-block cache of 512-byte blocks needs 8 KiB, not the
 * 1 MiB of a transfer: the fuzzers create a device for every input, and
 * under ASan every allocation above 128 KiB is an mmap, page faults and
 * an munmap).
 */
static uint32_t kestrel_cache_wb_blocks(const KestrelConfig *cfg)
{
    return MIN(cfg->cache_blocks, KESTREL_MAX_XFER_BYTES / cfg->block_size);
}

static bool kestrel_cache_idle_wb(const KestrelCore *c)
{
    return c->wb.state != KESTREL_CMD_IO;
}

/*
 * The device lost power at a "powercut" fault: nothing more reaches the
 * guest or the backend from this device, the cache is gone, and the
 * machine is asked to stop (datasheet 10.3).
 */
static void kestrel_power_cut(KestrelCore *c)
{
    if (c->power_cut) {
        return;
    }
    trace_kestrel_power_cut(c->cache_count);
    c->power_cut = 1;
    kestrel_cache_clear(c, true);
    kestrel_update_level(c);
    if (c->ops->power_cut) {
        c->ops->power_cut(c->opaque);
    }
}

/*
 * Move the write cache on: start the FLUSHes whose blocks are all written
 * back, and write back the oldest run of blocks when a FLUSH waits or the
 * cache filled up.  Starts no backend I/O while the engine is paused (a
 * stopped VM, a drain): a waiting FLUSH is then saved as it is.
 */
static void kestrel_cache_run(KestrelCore *c)
{
    uint32_t qd = c->cfg.queue_depth, bs = c->cfg.block_size, i, first;
    uint64_t oldest, newest_wait = 0;
    bool waiting = false;

    if (!c->cfg.write_cache || c->power_cut || c->paused ||
        !kestrel_link_ok(c)) {
        return;
    }
    oldest = c->cache_head == KESTREL_CACHE_NIL ? UINT64_MAX
                                                : c->cache[c->cache_head].seq;
    for (i = 0; i < qd; i++) {
        KestrelCmd *cmd = &c->cmds[i];

        if (cmd->state != KESTREL_CMD_FLUSH_WAIT) {
            continue;
        }
        if (cmd->seq < oldest) {
            /* everything it covers is on the backend: flush that */
            cmd->state = KESTREL_CMD_IO;
            c->ops->blk_io(c->opaque, cmd, KESTREL_IO_FLUSH, 0, NULL, 0);
            if (c->power_cut || c->paused) {
                return;
            }
        } else {
            waiting = true;
            newest_wait = MAX(newest_wait, cmd->seq);
        }
    }
    if (c->cache_destage &&
        c->cache_count <= c->cfg.cache_blocks - c->cfg.cache_blocks / 4) {
        c->cache_destage = false;   /* down to the low-water mark */
    }
    if ((!waiting && !c->cache_destage) || !kestrel_cache_idle_wb(c) ||
        c->cache_head == KESTREL_CACHE_NIL) {
        return;
    }
    /* the oldest block and the cached blocks that follow it on the media */
    first = c->cache_head;
    c->wb_lba = c->cache[first].lba;
    c->wb_n = 0;
    while (c->wb_n < kestrel_cache_wb_blocks(&c->cfg) &&
           c->wb_lba + c->wb_n < c->cfg.capacity_blocks) {
        uint32_t e = kestrel_cache_find(c, c->wb_lba + c->wb_n);

        if (e == KESTREL_CACHE_NIL) {
            break;
        }
        c->wb_seq[c->wb_n] = c->cache[e].ver;
        memcpy(c->wb.buf + (size_t)c->wb_n * bs, cache_block(c, e), bs);
        c->wb_n++;
    }
    c->wb.state = KESTREL_CMD_IO;
    c->wb.generation = c->generation;
    trace_kestrel_cache_writeback(c->wb_lba, c->wb_n);
    c->ops->blk_io(c->opaque, &c->wb, KESTREL_IO_WRITE, c->wb_lba * bs,
                   c->wb.buf, (size_t)c->wb_n * bs);
}

/* The write-back's backend I/O ended. */
static void kestrel_cache_wb_done(KestrelCore *c, int ret)
{
    uint32_t j, qd = c->cfg.queue_depth;

    c->wb.state = KESTREL_CMD_FREE;
    if (ret < 0) {
        /*
         * The blocks stay cached (dirty); the FLUSHes that wait for them
         * fail, and the cache stops destaging until it fills up again.
         */
        trace_kestrel_err_backend(0, ret);
        kestrel_log_error(c, KESTREL_ERR_BACKEND, 0, (uint32_t)-ret,
                          c->wb_lba);
        c->cache_destage = false;
        for (j = 0; c->wb.generation == c->generation && j < qd; j++) {
            if (c->cmds[j].state == KESTREL_CMD_FLUSH_WAIT) {
                kestrel_finish(c, &c->cmds[j], KESTREL_SC_MEDIA_ERROR, 0);
            }
        }
    } else {
        for (j = 0; j < c->wb_n; j++) {
            uint32_t e = kestrel_cache_find(c, c->wb_lba + j);

            /* a block written again meanwhile stays: it holds newer data */
            if (e != KESTREL_CACHE_NIL && c->cache[e].ver == c->wb_seq[j]) {
                kestrel_cache_remove(c, e);
                c->stat_cache_writebacks++;
            }
        }
    }
    c->wb_n = 0;
    c->ops->kick(c->opaque);    /* the next run, outside this call */
}

/* A WRITE's data is in cmd->buf: keep it in the cache.  false: no room. */
static bool kestrel_cache_write(KestrelCore *c, KestrelCmd *cmd)
{
    uint32_t bs = c->cfg.block_size, i;
    uint32_t room = c->cfg.cache_blocks - c->cache_count;

    if (kestrel_cache_missing(c, cmd->lba, cmd->nblocks) <= room) {
        for (i = 0; i < cmd->nblocks; i++) {
            kestrel_cache_put(c, cmd->lba + i, cmd->buf + (size_t)i * bs);
        }
        c->stat_cached_writes++;
        return true;
    }
    /*
     * Full: the command goes on to the media, and the cache starts
     * writing back its oldest blocks.  Blocks of this range that are
     * cached get the new data too, so that the cache never holds data
     * older than the media's.
     */
    for (i = 0; i < cmd->nblocks; i++) {
        if (kestrel_cache_find(c, cmd->lba + i) != KESTREL_CACHE_NIL) {
            kestrel_cache_put(c, cmd->lba + i, cmd->buf + (size_t)i * bs);
        }
    }
    c->stat_write_through++;
    c->cache_destage = true;
    kestrel_cache_run(c);
    return false;
}

/*
 * A READ starts: note the cached blocks of its range and their data, to
 * be laid over what the backend returns.  true: every block is cached.
 */
static bool kestrel_cache_read(KestrelCore *c, KestrelCmd *cmd)
{
    uint32_t bs = c->cfg.block_size, i, hits = 0;

    for (i = 0; i < cmd->nblocks; i++) {
        uint32_t e = kestrel_cache_find(c, cmd->lba + i);

        if (e == KESTREL_CACHE_NIL) {
            continue;
        }
        if (!cmd->ovl) {
            cmd->ovl_len = cmd->nblocks + cmd->len;
            cmd->ovl = kestrel_zalloc(cmd->ovl_len);
            c->buf_bytes += cmd->ovl_len;
        }
        cmd->ovl[i] = 1;
        memcpy(cmd->ovl + cmd->nblocks + (size_t)i * bs, cache_block(c, e),
               bs);
        hits++;
    }
    return hits == cmd->nblocks;
}

static void kestrel_cache_overlay(KestrelCore *c, KestrelCmd *cmd)
{
    uint32_t bs = c->cfg.block_size, i;

    for (i = 0; cmd->ovl && i < cmd->nblocks; i++) {
        if (cmd->ovl[i]) {
            memcpy(cmd->buf + (size_t)i * bs,
                   cmd->ovl + cmd->nblocks + (size_t)i * bs, bs);
        }
    }
}

/* ---- command engine (datasheet 6) ------------------------------------ */

static bool kestrel_running(KestrelCore *c)
{
    return kestrel_link_ok(c) && (c->status & KESTREL_STATUS_RDY) &&
           !(c->status & (KESTREL_STATUS_FATAL | KESTREL_STATUS_RESETTING));
}

static KestrelCmd *kestrel_alloc_cmd(KestrelCore *c)
{
    unsigned i;

    for (i = 0; i < c->cfg.queue_depth; i++) {
        if (c->cmds[i].state == KESTREL_CMD_FREE) {
            KestrelCmd *cmd = &c->cmds[i];

            memset(cmd, 0, sizeof(*cmd));
            cmd->core = c;
            cmd->generation = c->generation;
            return cmd;
        }
    }
    return NULL;
}

/* DMA with the data-transfer fault point and error handling. */
static int kestrel_dma(KestrelCore *c, bool to_guest, uint64_t addr,
                       void *buf, size_t len)
{
    int ret;

    if (!kestrel_link_ok(c)) {
        return -1;
    }
    if (addr + len < addr) {
        ret = -1;
    } else if (to_guest) {
        ret = c->ops->dma_write(c->opaque, addr, buf, len);
    } else {
        ret = c->ops->dma_read(c->opaque, addr, buf, len);
    }
    if (ret) {
        trace_kestrel_err_dma(addr, (uint32_t)len);
    }
    return ret;
}

/* sgl.fetch: fields of descriptor "index" (default 0) of the list. */
static void kestrel_corrupt_sgl(const KestrelFaultRule *r, void *obj,
                                size_t len)
{
    struct kestrel_sg_desc *d = obj, *t = d;
    unsigned ndesc = len / sizeof(*d), j;

    for (j = 0; j < r->ncorrupt; j++) {
        if (r->corrupt[j].field == KFF_SG_INDEX) {
            t = &d[r->corrupt[j].value % ndesc];
        }
    }
    for (j = 0; j < r->ncorrupt; j++) {
        const KestrelFaultCorrupt *k = &r->corrupt[j];

        switch (k->field) {
        case KFF_SG_ADDR:
            t->addr = cpu_to_le64(corrupt_value(k, le64_to_cpu(t->addr),
                                                UINT64_MAX));
            break;
        case KFF_SG_LEN:
            t->len = cpu_to_le32(corrupt_value(k, le32_to_cpu(t->len),
                                               UINT32_MAX));
            break;
        case KFF_SG_FLAGS:
            t->flags = cpu_to_le16(corrupt_value(k, le16_to_cpu(t->flags),
                                                 UINT16_MAX));
            break;
        default:
            break;
        }
    }
}

/*
 * Walk the chained segment list of cmd (datasheet 6.4) into cmd->segs.
 * Returns a status code; *lost is set when a fault made the command
 * vanish or hang.
 */
static unsigned kestrel_walk_sgl(KestrelCore *c, KestrelCmd *cmd,
                                 const struct kestrel_sqe *sqe,
                                 uint32_t expect, bool *lost)
{
    struct kestrel_sg_desc list[KESTREL_SG_LIST_MAX_BYTES /
                                sizeof(struct kestrel_sg_desc)];
    uint64_t addr = le64_to_cpu(sqe->sgl_addr);
    uint32_t len = le32_to_cpu(sqe->sgl_len);
    uint32_t nsegs = le32_to_cpu(sqe->nsegs);
    uint64_t total = 0;
    unsigned lists = 0, n = 0;

    if (nsegs == 0 || nsegs > c->cfg.max_segments) {
        trace_kestrel_ub_cmd(cmd->tag, "nsegs out of range");
        return KESTREL_SC_SGL_INVALID;
    }
    cmd->segs = kestrel_zalloc(nsegs * sizeof(*cmd->segs));
    for (;;) {
        unsigned ndesc, i;
        FaultHit hit;

        if (!len || len % sizeof(list[0]) || len > sizeof(list) ||
            addr % sizeof(list[0])) {
            trace_kestrel_ub_cmd(cmd->tag, "bad segment list address/length");
            return KESTREL_SC_SGL_INVALID;
        }
        if (++lists > c->cfg.max_segments) {
            trace_kestrel_ub_cmd(cmd->tag, "segment list chain too long");
            return KESTREL_SC_SGL_INVALID;
        }
        ndesc = len / sizeof(list[0]);
        hit = kestrel_fault_point(c, KFP_SGL_FETCH, -1, cmd->opcode,
                                  "tag=%u op=0x%x list=0x%" PRIx64 " len=%u",
                                  cmd->tag, cmd->opcode, addr, (unsigned)len);
        cmd->delay_ns += hit.delay_ns;
        if (hit.drop || hit.stall) {
            c->stall_sq |= hit.stall;
            *lost = true;
            return KESTREL_SC_SUCCESS;
        }
        if (hit.dma_error || kestrel_dma(c, false, addr, list, len)) {
            kestrel_log_error(c, KESTREL_ERR_DMA, cmd->tag, len, addr);
            return KESTREL_SC_DATA_XFER_ERROR;
        }
        kestrel_fault_mangle(c, hit.mask, list, len, kestrel_corrupt_sgl);

        for (i = 0; i < ndesc; i++) {
            uint64_t daddr = le64_to_cpu(list[i].addr);
            uint32_t dlen = le32_to_cpu(list[i].len);
            uint16_t flags = le16_to_cpu(list[i].flags);

            if (list[i].rsvd || (flags & ~KESTREL_SG_FLAGS_MASK)) {
                trace_kestrel_ub_cmd(cmd->tag, "reserved descriptor bits");
                return KESTREL_SC_SGL_INVALID;
            }
            if (flags & KESTREL_SG_CHAIN) {
                if (i != ndesc - 1) {
                    trace_kestrel_ub_cmd(cmd->tag, "chain not last in list");
                    return KESTREL_SC_SGL_INVALID;
                }
                addr = daddr;
                len = dlen;
                break;
            }
            if (!dlen) {
                trace_kestrel_ub_cmd(cmd->tag, "zero-length segment");
                return KESTREL_SC_SGL_INVALID;
            }
            if (n == nsegs) {
                trace_kestrel_ub_cmd(cmd->tag, "more segments than nsegs");
                return KESTREL_SC_SGL_INVALID;
            }
            total += dlen;
            if (total > expect) {
                trace_kestrel_ub_cmd(cmd->tag, "segments exceed transfer");
                return KESTREL_SC_SGL_INVALID;
            }
            cmd->segs[n].addr = daddr;
            cmd->segs[n].len = dlen;
            n++;
        }
        if (i == ndesc) {
            break;      /* the list ended without a chain */
        }
    }
    if (n != nsegs || total != expect) {
        trace_kestrel_ub_cmd(cmd->tag, "segments do not match the command");
        return KESTREL_SC_SGL_INVALID;
    }
    cmd->nsegs = n;
    return KESTREL_SC_SUCCESS;
}

/* Move cmd->buf to or from the segments, through the dma.* fault point. */
static unsigned kestrel_transfer(KestrelCore *c, KestrelCmd *cmd,
                                 bool to_guest, bool *lost)
{
    KestrelFaultPoint p = to_guest ? KFP_DMA_WRITE : KFP_DMA_READ;
    FaultHit hit = kestrel_fault_point(c, p, -1, cmd->opcode,
                                       "tag=%u op=0x%x lba=%" PRIu64
                                       " len=%u", cmd->tag, cmd->opcode,
                                       cmd->lba, (unsigned)cmd->len);
    uint32_t off = 0;
    unsigned i;

    cmd->delay_ns += hit.delay_ns;
    if (hit.stall) {
        c->stall_sq = 1;
        *lost = true;
        return KESTREL_SC_SUCCESS;
    }
    if (hit.dma_error) {
        kestrel_log_error(c, KESTREL_ERR_DMA, cmd->tag, 0, 0);
        return KESTREL_SC_DATA_XFER_ERROR;
    }
    if (hit.drop) {
        return KESTREL_SC_SUCCESS;      /* the device lies: no transfer */
    }
    if (to_guest) {
        kestrel_fault_mangle(c, hit.mask, cmd->buf, cmd->len,
                             kestrel_corrupt_data);
    }
    for (i = 0; i < cmd->nsegs; i++) {
        KestrelSeg *s = &cmd->segs[i];

        if (kestrel_dma(c, to_guest, s->addr, cmd->buf + off, s->len)) {
            kestrel_log_error(c, KESTREL_ERR_DMA, cmd->tag, s->len, s->addr);
            return KESTREL_SC_DATA_XFER_ERROR;
        }
        off += s->len;
    }
    if (!to_guest) {
        kestrel_fault_mangle(c, hit.mask, cmd->buf, cmd->len,
                             kestrel_corrupt_data);
    }
    return KESTREL_SC_SUCCESS;
}

static void kestrel_fill_identify(KestrelCore *c, struct kestrel_identify *id)
{
    memset(id, 0, sizeof(*id));
    id->magic = cpu_to_le32(KESTREL_IDENTIFY_MAGIC);
    id->version = cpu_to_le32(KESTREL_VERSION_1_0);
    id->capacity = cpu_to_le64(c->cfg.capacity_blocks);
    id->block_size = cpu_to_le32(c->cfg.block_size);
    id->max_qdepth = cpu_to_le32(c->cfg.queue_depth);
    id->max_segs = cpu_to_le32(c->cfg.max_segments);
    id->max_xfer_blocks = cpu_to_le32(KESTREL_MAX_XFER_BYTES /
                                      c->cfg.block_size);
    id->nvec = cpu_to_le32(KESTREL_NVEC);
    id->features = cpu_to_le32(c->cfg.write_cache ? KESTREL_ID_FEAT_VWC : 0);
    memset(id->serial, ' ', sizeof(id->serial));
    memcpy(id->serial, c->cfg.serial,
           MIN(strlen(c->cfg.serial), sizeof(id->serial)));
    memset(id->model, ' ', sizeof(id->model));
    memcpy(id->model, "Gauntlet Kestrel reference controller", 37);
    memcpy(id->firmware, "1.0     ", sizeof(id->firmware));
}

static bool sqe_reserved_clear(const struct kestrel_sqe *sqe)
{
    unsigned i;

    if (sqe->flags || sqe->rsvd0) {
        return false;
    }
    for (i = 0; i < sizeof(sqe->rsvd1) / sizeof(sqe->rsvd1[0]); i++) {
        if (sqe->rsvd1[i]) {
            return false;
        }
    }
    return true;
}

/* Validate and start one fetched command (datasheet 6.3). */
static void kestrel_execute(KestrelCore *c, KestrelCmd *cmd,
                            const struct kestrel_sqe *sqe, bool lie)
{
    uint32_t bs = c->cfg.block_size;
    uint32_t nblocks = le32_to_cpu(sqe->nblocks);
    uint64_t lba = le64_to_cpu(sqe->lba);
    unsigned status;
    bool lost = false;

    cmd->lba = lba;
    cmd->nblocks = nblocks;
    if (!sqe_reserved_clear(sqe)) {
        trace_kestrel_ub_cmd(cmd->tag, "reserved field set");
        kestrel_finish(c, cmd, KESTREL_SC_INVALID_FIELD, 0);
        return;
    }
    switch (cmd->opcode) {
    case KESTREL_OP_IDENTIFY: {
        struct kestrel_identify id;

        if (lba || nblocks) {
            kestrel_finish(c, cmd, KESTREL_SC_INVALID_FIELD, 0);
            return;
        }
        status = kestrel_walk_sgl(c, cmd, sqe, sizeof(id), &lost);
        if (lost) {
            goto lost;
        }
        if (status == KESTREL_SC_SUCCESS) {
            kestrel_fill_identify(c, &id);
            kestrel_cmd_alloc_buf(cmd, sizeof(id));
            memcpy(cmd->buf, &id, sizeof(id));
            cmd->len = sizeof(id);
            status = kestrel_transfer(c, cmd, true, &lost);
            if (lost) {
                goto lost;
            }
        }
        kestrel_finish(c, cmd, status, status ? 0 : sizeof(id));
        return;
    }
    case KESTREL_OP_READ:
    case KESTREL_OP_WRITE:
        if (!nblocks || nblocks > KESTREL_MAX_XFER_BYTES / bs) {
            trace_kestrel_ub_cmd(cmd->tag, "block count out of range");
            kestrel_finish(c, cmd, KESTREL_SC_INVALID_FIELD, 0);
            return;
        }
        if (lba >= c->cfg.capacity_blocks ||
            nblocks > c->cfg.capacity_blocks - lba) {
            trace_kestrel_ub_cmd(cmd->tag, "LBA range beyond capacity");
            kestrel_finish(c, cmd, KESTREL_SC_LBA_RANGE, 0);
            return;
        }
        cmd->len = nblocks * bs;
        status = kestrel_walk_sgl(c, cmd, sqe, cmd->len, &lost);
        if (lost) {
            goto lost;
        }
        if (status != KESTREL_SC_SUCCESS) {
            kestrel_finish(c, cmd, status, 0);
            return;
        }
        kestrel_cmd_alloc_buf(cmd, cmd->len);
        if (cmd->opcode == KESTREL_OP_WRITE) {
            status = kestrel_transfer(c, cmd, false, &lost);
            if (lost) {
                goto lost;
            }
            if (status != KESTREL_SC_SUCCESS) {
                kestrel_finish(c, cmd, status, 0);
                return;
            }
            if (c->cfg.write_cache && kestrel_cache_write(c, cmd)) {
                kestrel_finish(c, cmd, KESTREL_SC_SUCCESS, cmd->len);
                return;
            }
        } else if (c->cfg.write_cache && kestrel_cache_read(c, cmd)) {
            /* every block is in the cache: no backend read */
            cmd->state = KESTREL_CMD_IO;
            kestrel_core_io_done(c, cmd, 0);
            return;
        }
        cmd->state = KESTREL_CMD_IO;
        c->ops->blk_io(c->opaque, cmd,
                       cmd->opcode == KESTREL_OP_WRITE ? KESTREL_IO_WRITE
                                                       : KESTREL_IO_READ,
                       lba * bs, cmd->buf, cmd->len);
        return;
    case KESTREL_OP_FLUSH:
        if (lba || nblocks || sqe->nsegs || sqe->sgl_addr || sqe->sgl_len) {
            kestrel_finish(c, cmd, KESTREL_SC_INVALID_FIELD, 0);
            return;
        }
        if (lie) {
            /* "lie": success, and nothing written back or flushed */
            trace_kestrel_flush_lie(cmd->tag, c->cache_count);
            c->stat_flush_lies++;
            kestrel_finish(c, cmd, KESTREL_SC_SUCCESS, 0);
            return;
        }
        if (c->cfg.write_cache) {
            /* it covers every write completed so far */
            cmd->seq = c->cache_seq;
            cmd->state = KESTREL_CMD_FLUSH_WAIT;
            kestrel_cache_run(c);
            return;
        }
        cmd->state = KESTREL_CMD_IO;
        c->ops->blk_io(c->opaque, cmd, KESTREL_IO_FLUSH, 0, NULL, 0);
        return;
    default:
        trace_kestrel_ub_cmd(cmd->tag, "invalid opcode");
        kestrel_finish(c, cmd, KESTREL_SC_INVALID_OPCODE, 0);
        return;
    }

lost:
    /* A fault made this command vanish (drop) or hang (stall). */
    if (c->stall_sq) {
        cmd->state = KESTREL_CMD_HUNG;
    } else {
        kestrel_free_cmd(cmd);
    }
}

void kestrel_core_io_done(KestrelCore *c, KestrelCmd *cmd, int ret)
{
    unsigned status = KESTREL_SC_SUCCESS;
    bool lost = false;

    c->depth++;
    if (cmd == &c->wb) {
        kestrel_cache_wb_done(c, ret);
        goto out;
    }
    if (cmd->generation != c->generation) {
        /* The controller was reset while the backend worked: forget it. */
        kestrel_free_cmd(cmd);
        c->ops->kick(c->opaque);        /* its buffer may let fetch go on */
        goto out;
    }
    if (ret < 0) {
        trace_kestrel_err_backend(cmd->tag, ret);
        kestrel_log_error(c, KESTREL_ERR_BACKEND, cmd->tag, (uint32_t)-ret,
                          cmd->lba);
        status = KESTREL_SC_MEDIA_ERROR;
    } else if (cmd->opcode == KESTREL_OP_READ) {
        kestrel_cache_overlay(c, cmd);
        status = kestrel_transfer(c, cmd, true, &lost);
        if (lost) {
            if (c->stall_sq) {
                cmd->state = KESTREL_CMD_HUNG;
            } else {
                kestrel_free_cmd(cmd);
            }
            goto out;
        }
    }
    if (cmd->opcode == KESTREL_OP_FLUSH && status == KESTREL_SC_SUCCESS) {
        c->stat_flushes++;
    }
    kestrel_finish(c, cmd, status, status ? 0 : cmd->len);
    c->ops->kick(c->opaque);
out:
    c->depth--;
}

/* The command is done: queue its completion (datasheet 6.2). */
static void kestrel_finish(KestrelCore *c, KestrelCmd *cmd, unsigned status,
                           uint32_t result)
{
    trace_kestrel_cmd_done(cmd->tag, status, result);
    if (status) {
        trace_kestrel_err_cmd(cmd->tag, status);
    }
    switch (status) {
    case KESTREL_SC_INVALID_OPCODE:
    case KESTREL_SC_INVALID_FIELD:
    case KESTREL_SC_LBA_RANGE:
        KESTREL_GUEST_ERROR(c, KESTREL_ERR_BAD_CMD, cmd->tag, status,
                            cmd->lba, "tag %u: invalid command (status %u)",
                            cmd->tag, status);
        break;
    case KESTREL_SC_SGL_INVALID:
        KESTREL_GUEST_ERROR(c, KESTREL_ERR_SGL, cmd->tag, status, cmd->lba,
                            "tag %u: malformed segment list", cmd->tag);
        break;
    }
    kestrel_cmd_free_bufs(cmd);
    cmd->status = status;
    cmd->result = result;
    cmd->state = KESTREL_CMD_PENDING;
    cmd->deadline = cmd->delay_ns ? deadline_after(c, cmd->delay_ns) : 0;
    cmd->seq = c->seq++;
    c->pending[c->npending++] = (uint16_t)(cmd - c->cmds);
    kestrel_post_pending(c);
}

/*
 * What cq.post's corrupt() acts on: the entry, then where it goes.  flip
 * is given only the entry's 16 bytes.
 */
typedef struct KestrelCqePost {
    struct kestrel_cqe e;
    bool redirect;
    uint64_t addr;
} KestrelCqePost;

/* cq.post: fields of the completion entry, and its address. */
static void kestrel_corrupt_cqe(const KestrelFaultRule *r, void *obj,
                                size_t len)
{
    KestrelCqePost *p = obj;
    struct kestrel_cqe *e = &p->e;
    unsigned j;

    for (j = 0; j < r->ncorrupt; j++) {
        const KestrelFaultCorrupt *k = &r->corrupt[j];
        uint16_t st = le16_to_cpu(e->status);

        switch (k->field) {
        case KFF_CQ_TAG:
            e->tag = cpu_to_le16(corrupt_value(k, le16_to_cpu(e->tag),
                                               UINT16_MAX));
            break;
        case KFF_CQ_SQHEAD:
            e->sq_head = cpu_to_le16(corrupt_value(
                             k, le16_to_cpu(e->sq_head), UINT16_MAX));
            break;
        case KFF_CQ_STATUS:
            st = (st & KESTREL_CQE_PHASE) |
                 (uint16_t)(corrupt_value(k, st >> 1, 0x7fff) << 1);
            e->status = cpu_to_le16(st);
            break;
        case KFF_CQ_PHASE:
            st = (st & ~KESTREL_CQE_PHASE) |
                 (uint16_t)corrupt_value(k, st & 1, 1);
            e->status = cpu_to_le16(st);
            break;
        case KFF_CQ_RESULT:
            e->result = cpu_to_le32(corrupt_value(
                            k, le32_to_cpu(e->result), UINT32_MAX));
            break;
        case KFF_CQ_ADDR:
            /* a value is required: the slot's address is not known yet */
            p->redirect = true;
            p->addr = corrupt_value(k, 0, UINT64_MAX);
            break;
        default:
            break;
        }
    }
}

static bool kestrel_cq_full(KestrelCore *c)
{
    return (c->cq_tail + 1) % c->cq_size == c->cq_head;
}

static void kestrel_pending_remove(KestrelCore *c, unsigned idx)
{
    memmove(&c->pending[idx], &c->pending[idx + 1],
            (c->npending - idx - 1) * sizeof(c->pending[0]));
    c->npending--;
}

/* Post every due completion that fits in the CQ, oldest first. */
static void kestrel_post_pending(KestrelCore *c)
{
    unsigned i = 0;
    bool posted = false;

    while (!c->paused && i < c->npending && kestrel_running(c) &&
           !c->stall_cq) {
        KestrelCmd *cmd = &c->cmds[c->pending[i]];
        struct kestrel_cqe e;
        uint64_t addr;

        if (cmd->deadline > now(c)) {
            i++;
            continue;
        }
        memset(&e, 0, sizeof(e));
        e.tag = cpu_to_le16(cmd->tag);
        e.sq_head = cpu_to_le16(cmd->sq_head);
        e.status = cpu_to_le16((uint16_t)(cmd->status << 1));
        e.rsvd0 = cpu_to_le16(cmd->cqe_rsvd0);
        e.result = cpu_to_le32(cmd->result);
        e.rsvd1 = cpu_to_le32(cmd->cqe_rsvd1);
        if (!cmd->cqe_faulted) {
            FaultHit hit = kestrel_fault_point(
                c, KFP_CQ_POST, -1, cmd->opcode,
                "tag=%u op=0x%x status=0x%x cq_tail=%u", cmd->tag,
                cmd->opcode, (unsigned)cmd->status, (unsigned)c->cq_tail);

            cmd->cqe_faulted = 1;
            if (hit.stall) {
                c->stall_cq = 1;
                break;
            }
            if (hit.drop) {
                kestrel_pending_remove(c, i);
                kestrel_free_cmd(cmd);
                continue;
            }
            if (hit.dma_error) {
                kestrel_raise_fatal(c, KESTREL_ERR_CQ_POST, cmd->tag, 0,
                                    c->cq_base);
                break;
            }
            {
                KestrelCqePost post = { .e = e };

                kestrel_fault_mangle(c, hit.mask, &post, sizeof(post.e),
                                     kestrel_corrupt_cqe);
                e = post.e;
                cmd->cqe_redirect = post.redirect;
                cmd->cqe_addr = post.addr;
            }
            /* Keep the corrupted entry for the duplicate and for vmstate */
            cmd->tag = le16_to_cpu(e.tag);
            cmd->sq_head = le16_to_cpu(e.sq_head);
            cmd->status = le16_to_cpu(e.status) >> 1;
            cmd->cqe_rsvd0 = le16_to_cpu(e.rsvd0);
            cmd->result = le32_to_cpu(e.result);
            cmd->cqe_rsvd1 = le32_to_cpu(e.rsvd1);
            /* e.status has phase 0 here: a 1 means "post a wrong phase" */
            cmd->wrong_phase = le16_to_cpu(e.status) & KESTREL_CQE_PHASE;
            cmd->duplicate = hit.duplicate;
            if (hit.delay_ns) {
                cmd->deadline = deadline_after(c, hit.delay_ns);
                i++;
                continue;
            }
            if (!kestrel_running(c)) {
                break;
            }
        }
        if (kestrel_cq_full(c)) {
            break;
        }
        e.status = cpu_to_le16((uint16_t)(cmd->status << 1) |
                               ((c->cq_phase ^ cmd->wrong_phase) & 1));
        /* A redirected entry misses its slot; the tail moves on all the
         * same, as a device that got the address wrong would. */
        addr = cmd->cqe_redirect ? cmd->cqe_addr :
               c->cq_base + (uint64_t)c->cq_tail * sizeof(e);
        if (kestrel_dma(c, true, addr, &e, sizeof(e))) {
            kestrel_raise_fatal(c, KESTREL_ERR_CQ_POST, cmd->tag, c->cq_tail,
                                cmd->cqe_redirect ? addr : c->cq_base);
            break;
        }
        trace_kestrel_cqe_post(cmd->tag, c->cq_tail, c->cq_phase);
        c->stat_cqes++;
        c->cq_tail++;
        if (c->cq_tail == c->cq_size) {
            c->cq_tail = 0;
            c->cq_phase ^= 1;
        }
        posted = true;
        if (cmd->duplicate) {
            cmd->duplicate = 0;         /* post the same entry once more */
            continue;
        }
        kestrel_pending_remove(c, i);
        kestrel_free_cmd(cmd);
    }
    if (posted) {
        c->intr_status |= KESTREL_INTR_CQ;
        kestrel_deliver(c, KESTREL_INTR_CQ, true);
    }
    kestrel_update_timer(c);
}

/* sq.fetch: fields of the device's copy of the entry. */
static void kestrel_corrupt_sqe(const KestrelFaultRule *r, void *obj,
                                size_t len)
{
    struct kestrel_sqe *s = obj;
    unsigned j;

    for (j = 0; j < r->ncorrupt; j++) {
        const KestrelFaultCorrupt *k = &r->corrupt[j];

        switch (k->field) {
        case KFF_SQ_OPCODE:
            s->opcode = corrupt_value(k, s->opcode, UINT8_MAX);
            break;
        case KFF_SQ_FLAGS:
            s->flags = corrupt_value(k, s->flags, UINT8_MAX);
            break;
        case KFF_SQ_TAG:
            s->tag = cpu_to_le16(corrupt_value(k, le16_to_cpu(s->tag),
                                               UINT16_MAX));
            break;
        case KFF_SQ_NSEGS:
            s->nsegs = cpu_to_le32(corrupt_value(
                           k, le32_to_cpu(s->nsegs), UINT32_MAX));
            break;
        case KFF_SQ_LBA:
            s->lba = cpu_to_le64(corrupt_value(k, le64_to_cpu(s->lba),
                                               UINT64_MAX));
            break;
        case KFF_SQ_NBLOCKS:
            s->nblocks = cpu_to_le32(corrupt_value(
                             k, le32_to_cpu(s->nblocks), UINT32_MAX));
            break;
        case KFF_SQ_SGL_ADDR:
            s->sgl_addr = cpu_to_le64(corrupt_value(
                              k, le64_to_cpu(s->sgl_addr), UINT64_MAX));
            break;
        case KFF_SQ_SGL_LEN:
            s->sgl_len = cpu_to_le32(corrupt_value(
                             k, le32_to_cpu(s->sgl_len), UINT32_MAX));
            break;
        default:
            break;
        }
    }
}

/* Fetch and start commands while the SQ has entries (datasheet 6.1). */
static void kestrel_fetch(KestrelCore *c)
{
    unsigned budget = KESTREL_FETCH_BUDGET;

    while (!c->paused && kestrel_running(c) && !c->stall_sq &&
           c->sq_head != c->sq_tail && c->sq_resume_at == KESTREL_NO_DEADLINE) {
        uint64_t addr = c->sq_base + (uint64_t)c->sq_head * 64;
        struct kestrel_sqe sqe;
        KestrelCmd *cmd;
        FaultHit hit = { 0 };

        if (!budget--) {
            c->ops->kick(c->opaque);    /* more next time: yield */
            break;
        }
        if (c->buf_bytes >= KESTREL_MAX_BUF_BYTES) {
            break;      /* resumes when backend I/O completes (it kicks) */
        }
        cmd = kestrel_alloc_cmd(c);
        if (!cmd) {
            break;      /* resumes when a completion frees a slot */
        }
        if (kestrel_dma(c, false, addr, &sqe, sizeof(sqe))) {
            kestrel_raise_fatal(c, KESTREL_ERR_SQ_FETCH, 0, c->sq_head, addr);
            break;
        }
        if (c->sq_delayed) {
            /* The rules fired on this entry before its delay: replay them */
            hit = kestrel_fault_replay(c, c->sq_delay_mask);
            c->sq_delayed = 0;
        } else {
            hit = kestrel_fault_point(c, KFP_SQ_FETCH, -1, sqe.opcode,
                                      "tag=%u op=0x%x sq_head=%u addr=0x%"
                                      PRIx64, le16_to_cpu(sqe.tag),
                                      sqe.opcode, (unsigned)c->sq_head, addr);
            if (hit.delay_ns) {
                c->sq_delayed = 1;
                c->sq_delay_mask = hit.mask;
                c->sq_resume_at = deadline_after(c, hit.delay_ns);
                kestrel_update_timer(c);
                break;
            }
        }
        if (hit.stall) {
            c->stall_sq = 1;
            break;
        }
        if (hit.dma_error) {
            kestrel_raise_fatal(c, KESTREL_ERR_SQ_FETCH, 0, c->sq_head, addr);
            break;
        }
        if (!kestrel_running(c)) {
            break;      /* fatal or allones fired */
        }
        c->sq_head = (c->sq_head + 1) % c->sq_size;
        kestrel_fault_count_command(&c->faults);
        c->stat_cmds++;
        if (hit.drop) {
            continue;   /* consumed, never executed, never completed */
        }
        kestrel_fault_mangle(c, hit.mask, &sqe, sizeof(sqe),
                             kestrel_corrupt_sqe);
        cmd->opcode = sqe.opcode;
        cmd->tag = le16_to_cpu(sqe.tag);
        cmd->sq_head = (uint16_t)c->sq_head;
        cmd->state = KESTREL_CMD_HUNG;  /* owned until execute decides */
        trace_kestrel_cmd_fetch(cmd->tag, cmd->opcode, c->sq_head);
        kestrel_execute(c, cmd, &sqe, hit.lie);
    }
}

void kestrel_core_process(KestrelCore *c)
{
    c->depth++;
    kestrel_cache_run(c);
    kestrel_post_pending(c);
    kestrel_fetch(c);
    c->depth--;
}

/* ---- the core timer: every delayed event ---------------------------- */

static void kestrel_update_timer(KestrelCore *c)
{
    int64_t next = KESTREL_NO_DEADLINE;
    unsigned i;

    next = MIN(next, c->ready_at);
    next = MIN(next, c->reset_done_at);
    next = MIN(next, c->sq_resume_at);
    next = MIN(next, c->irq_delayed_at);
    if (c->storm_left) {
        next = MIN(next, c->storm_next_at);
    }
    for (i = 0; i < c->npending; i++) {
        KestrelCmd *cmd = &c->cmds[c->pending[i]];

        /*
         * Only deadlines still ahead: a due completion that is still
         * pending waits for CQ space or a reset, which kick the core;
         * re-arming the timer in the past for it would spin.
         */
        if (cmd->deadline > now(c)) {
            next = MIN(next, cmd->deadline);
        }
    }
    c->ops->timer_mod(c->opaque, next);
}

void kestrel_core_timer(KestrelCore *c)
{
    int64_t t = now(c);

    c->depth++;
    if (c->reset_done_at <= t) {
        kestrel_reset_complete(c);
    }
    if (c->ready_at <= t) {
        kestrel_ready(c);
    }
    if (c->sq_resume_at <= t) {
        c->sq_resume_at = KESTREL_NO_DEADLINE;
        c->ops->kick(c->opaque);
    }
    if (c->irq_delayed_at <= t) {
        uint32_t causes = c->irq_delayed_causes;

        c->irq_delayed_at = KESTREL_NO_DEADLINE;
        c->irq_delayed_causes = 0;
        /* Causes masked meanwhile stay pending and fire on unmask. */
        if (kestrel_link_ok(c) && !c->stall_irq &&
            (causes & ~c->intr_mask)) {
            kestrel_deliver_now(c, causes & ~c->intr_mask);
        }
    }
    if (c->storm_left && c->storm_next_at <= t) {
        c->storm_left--;
        c->intr_status |= KESTREL_INTR_CQ;
        if (kestrel_link_ok(c) && !c->stall_irq &&
            !(c->intr_mask & KESTREL_INTR_CQ)) {
            kestrel_deliver_now(c, KESTREL_INTR_CQ);
        }
        c->storm_next_at = c->storm_left ?
            deadline_after(c, c->storm_interval_ns) : KESTREL_NO_DEADLINE;
    }
    kestrel_post_pending(c);    /* also re-arms the timer */
    if (c->sq_head != c->sq_tail) {
        c->ops->kick(c->opaque);        /* posting may have freed slots */
    }
    c->depth--;
}

/* ---- register interface (datasheet 4) -------------------------------- */

uint32_t kestrel_core_mmio_read(KestrelCore *c, uint64_t addr)
{
    uint32_t val = 0;
    FaultHit hit;

    if (!kestrel_link_ok(c)) {
        return UINT32_MAX;
    }
    switch (addr) {
    case KESTREL_REG_VERSION:
        val = KESTREL_VERSION_1_0;
        break;
    case KESTREL_REG_CAP_QDEPTH:
        val = c->cfg.queue_depth;
        break;
    case KESTREL_REG_CAP_BLKSZ:
        val = c->cfg.block_size;
        break;
    case KESTREL_REG_CAP_CAPACITY_LO:
        val = (uint32_t)c->cfg.capacity_blocks;
        break;
    case KESTREL_REG_CAP_CAPACITY_HI:
        val = (uint32_t)(c->cfg.capacity_blocks >> 32);
        break;
    case KESTREL_REG_CAP_NVEC:
        val = KESTREL_NVEC;
        break;
    case KESTREL_REG_CAP_MAXSEG:
        val = c->cfg.max_segments;
        break;
    case KESTREL_REG_CAP_TIMEOUT_MS:
        val = c->cfg.timeout_ms;
        break;
    case KESTREL_REG_CAP_MAXXFER:
        val = KESTREL_MAX_XFER_BYTES / c->cfg.block_size;
        break;
    case KESTREL_REG_CAP_FEATURES:
        val = c->cfg.write_cache ? KESTREL_CAP_FEAT_VWC : 0;
        break;
    case KESTREL_REG_CTRL:
        val = c->ctrl;
        break;
    case KESTREL_REG_STATUS:
        val = c->status;
        break;
    case KESTREL_REG_INTR_STATUS:
        val = c->intr_status;
        break;
    case KESTREL_REG_INTR_MASK:
        val = c->intr_mask;
        break;
    case KESTREL_REG_SQ_BASE_LO:
        val = (uint32_t)c->sq_base;
        break;
    case KESTREL_REG_SQ_BASE_HI:
        val = (uint32_t)(c->sq_base >> 32);
        break;
    case KESTREL_REG_SQ_SIZE:
        val = c->sq_size;
        break;
    case KESTREL_REG_CQ_BASE_LO:
        val = (uint32_t)c->cq_base;
        break;
    case KESTREL_REG_CQ_BASE_HI:
        val = (uint32_t)(c->cq_base >> 32);
        break;
    case KESTREL_REG_CQ_SIZE:
        val = c->cq_size;
        break;
    case KESTREL_REG_SQ_HEAD:
        val = c->sq_head;
        break;
    case KESTREL_REG_CQ_TAIL:
        val = c->cq_tail;
        break;
    case KESTREL_REG_ERR_COUNT:
        val = c->err_count;
        break;
    default:
        if (addr >= KESTREL_REG_ERR_LOG &&
            addr < KESTREL_REG_ERR_LOG +
                   KESTREL_ERR_LOG_LEN * KESTREL_ERR_LOG_ENTRY_SIZE) {
            uint64_t off = addr - KESTREL_REG_ERR_LOG;

            val = c->err_log[off / KESTREL_ERR_LOG_ENTRY_SIZE]
                            [(off % KESTREL_ERR_LOG_ENTRY_SIZE) / 4];
        }
        break;  /* reserved and write-only registers read as 0 */
    }

    c->depth++;
    hit = kestrel_fault_point(c, KFP_REG_READ, (int)addr, -1,
                              "reg=0x%x value=0x%x", (unsigned)addr,
                              (unsigned)val);
    kestrel_fault_mangle(c, hit.mask, &val, sizeof(val), kestrel_corrupt_reg);
    if (hit.drop) {
        val = 0;
    }
    if (!kestrel_link_ok(c)) {
        val = UINT32_MAX;       /* this very read took the link down */
    }
    c->depth--;
    trace_kestrel_mmio_read(addr, val);
    return val;
}

static void kestrel_bad_write(KestrelCore *c, uint64_t addr, uint32_t val,
                              const char *why)
{
    trace_kestrel_ub_reg_write(addr, val, why);
    KESTREL_GUEST_ERROR(c, KESTREL_ERR_BAD_REG_WRITE, 0, val, addr,
                        "write 0x%x to 0x%" PRIx64 ": %s", val, addr, why);
}

static void kestrel_write_ctrl(KestrelCore *c, uint32_t val)
{
    uint32_t old = c->ctrl;

    if (val & ~KESTREL_CTRL_EN) {
        kestrel_bad_write(c, KESTREL_REG_CTRL, val, "reserved CTRL bits");
        val &= KESTREL_CTRL_EN;
    }
    if (c->status & KESTREL_STATUS_RESETTING) {
        kestrel_bad_write(c, KESTREL_REG_CTRL, val, "CTRL during reset");
        return;
    }
    if ((old & KESTREL_CTRL_EN) && !(val & KESTREL_CTRL_EN)) {
        kestrel_controller_reset(c, "CTRL.EN cleared");
        return;
    }
    c->ctrl = val;
    if (!(old & KESTREL_CTRL_EN) && (val & KESTREL_CTRL_EN)) {
        kestrel_enable(c);
    }
}

static void kestrel_write_queue_reg(KestrelCore *c, uint64_t addr,
                                    uint32_t val)
{
    if (c->ctrl & KESTREL_CTRL_EN) {
        kestrel_bad_write(c, addr, val, "queue register while enabled");
        return;
    }
    switch (addr) {
    case KESTREL_REG_SQ_BASE_LO:
        c->sq_base = (c->sq_base & ~0xffffffffull) | val;
        break;
    case KESTREL_REG_SQ_BASE_HI:
        c->sq_base = (c->sq_base & 0xffffffffull) | ((uint64_t)val << 32);
        break;
    case KESTREL_REG_SQ_SIZE:
        c->sq_size = val;
        break;
    case KESTREL_REG_CQ_BASE_LO:
        c->cq_base = (c->cq_base & ~0xffffffffull) | val;
        break;
    case KESTREL_REG_CQ_BASE_HI:
        c->cq_base = (c->cq_base & 0xffffffffull) | ((uint64_t)val << 32);
        break;
    case KESTREL_REG_CQ_SIZE:
        c->cq_size = val;
        break;
    }
}

static void kestrel_sq_doorbell(KestrelCore *c, uint32_t val)
{
    if (!(c->status & KESTREL_STATUS_RDY)) {
        trace_kestrel_ub_doorbell("sq", val, c->sq_size);
        KESTREL_GUEST_ERROR(c, KESTREL_ERR_NOT_READY, 0, val,
                            KESTREL_REG_SQ_TAIL_DB,
                            "SQ doorbell while not ready");
        return;
    }
    if (val >= c->sq_size) {
        trace_kestrel_ub_doorbell("sq", val, c->sq_size);
        KESTREL_GUEST_ERROR(c, KESTREL_ERR_SQ_DOORBELL, 0, val,
                            KESTREL_REG_SQ_TAIL_DB,
                            "SQ tail %u past the ring (size %u)", val,
                            c->sq_size);
        return;
    }
    c->sq_tail = val;
    c->ops->kick(c->opaque);
}

static void kestrel_cq_doorbell(KestrelCore *c, uint32_t val)
{
    uint32_t used, consumed;

    if (!(c->status & KESTREL_STATUS_RDY)) {
        trace_kestrel_ub_doorbell("cq", val, c->cq_size);
        KESTREL_GUEST_ERROR(c, KESTREL_ERR_NOT_READY, 0, val,
                            KESTREL_REG_CQ_HEAD_DB,
                            "CQ doorbell while not ready");
        return;
    }
    used = (c->cq_tail + c->cq_size - c->cq_head) % c->cq_size;
    consumed = val < c->cq_size ?
               (val + c->cq_size - c->cq_head) % c->cq_size : UINT32_MAX;
    if (consumed > used) {
        trace_kestrel_ub_doorbell("cq", val, c->cq_size);
        KESTREL_GUEST_ERROR(c, KESTREL_ERR_CQ_DOORBELL, 0, val,
                            KESTREL_REG_CQ_HEAD_DB,
                            "CQ head %u past the posted entries", val);
        return;
    }
    c->cq_head = val;
    c->ops->kick(c->opaque);
}

void kestrel_core_mmio_write(KestrelCore *c, uint64_t addr, uint32_t val)
{
    if (!kestrel_link_ok(c)) {
        return;         /* the device is gone or in D3hot */
    }
    if (c->depth) {
        trace_kestrel_ub_reentrant(addr);
        KESTREL_GUEST_ERROR(c, KESTREL_ERR_BAD_REG_WRITE, 0, val, addr,
                            "register write 0x%" PRIx64
                            " during the device's own DMA, ignored", addr);
        return;
    }
    trace_kestrel_mmio_write(addr, val);
    c->depth++;
    switch (addr) {
    case KESTREL_REG_CTRL:
        kestrel_write_ctrl(c, val);
        break;
    case KESTREL_REG_RESET:
        if (val == KESTREL_RESET_MAGIC) {
            kestrel_controller_reset(c, "RESET register");
        } else {
            kestrel_bad_write(c, addr, val, "RESET without the magic value");
        }
        break;
    case KESTREL_REG_INTR_STATUS:
        c->intr_status &= ~val;
        c->intr_delivered &= ~val;
        kestrel_update_level(c);
        break;
    case KESTREL_REG_INTR_MASK: {
        uint32_t unmasked = c->intr_mask & ~val;

        if (val & ~KESTREL_INTR_ALL) {
            kestrel_bad_write(c, addr, val, "reserved INTR_MASK bits");
        }
        c->intr_mask = val & KESTREL_INTR_ALL;
        if (unmasked & c->intr_status & ~c->intr_delivered) {
            /* A cause that arrived while masked fires on unmask. */
            kestrel_deliver(c, unmasked & c->intr_status, true);
        }
        kestrel_update_level(c);
        break;
    }
    case KESTREL_REG_SQ_BASE_LO:
    case KESTREL_REG_SQ_BASE_HI:
    case KESTREL_REG_SQ_SIZE:
    case KESTREL_REG_CQ_BASE_LO:
    case KESTREL_REG_CQ_BASE_HI:
    case KESTREL_REG_CQ_SIZE:
        kestrel_write_queue_reg(c, addr, val);
        break;
    case KESTREL_REG_SQ_TAIL_DB:
        kestrel_sq_doorbell(c, val);
        break;
    case KESTREL_REG_CQ_HEAD_DB:
        kestrel_cq_doorbell(c, val);
        break;
    default:
        kestrel_bad_write(c, addr, val, "read-only or reserved register");
        break;
    }
    c->depth--;
}

/* ---- power management (datasheet 11) -------------------------------- */

void kestrel_core_set_power(KestrelCore *c, unsigned dstate)
{
    unsigned old = c->power_state;
    FaultHit hit;

    dstate = dstate == 0 ? 0 : 3;       /* D1/D2 unsupported: as D3hot */
    if (dstate == old) {
        return;
    }
    c->depth++;
    hit = kestrel_fault_point(c, KFP_POWER, -1, -1, "D%u->D%u", old,
                              dstate);
    if (hit.drop) {
        c->depth--;
        return;         /* the device ignores the change, keeps state */
    }
    trace_kestrel_power(old, dstate);
    c->power_state = dstate;
    c->power_delay_ns += hit.delay_ns;
    if (hit.stall) {
        c->stall_power = 1;
    }
    if (dstate == 3) {
        /* D3hot loses all controller state (No_Soft_Reset = 0). */
        c->status = 0;
        kestrel_reset_registers(c);
        c->stall_reset = 0;
        c->reset_done_at = KESTREL_NO_DEADLINE;
    }
    kestrel_update_level(c);
    kestrel_update_timer(c);
    c->depth--;
}

/* ---- lifecycle ------------------------------------------------------- */

/*
 * Power-on reset: PCI function reset, system reset and S3 resume (QEMU
 * resets the machine on wakeup).  The effects of power:delay and
 * power:stall survive it on purpose: they model a device that comes back
 * late or never, and only replacing the fault rules clears them.
 */
void kestrel_core_hard_reset(KestrelCore *c)
{
    /* power goes off and on: the write cache is lost (datasheet 6.9) */
    kestrel_cache_clear(c, true);
    c->power_cut = 0;
    c->status = 0;
    c->power_state = 0;
    c->link_down = 0;
    c->stall_reset = 0;
    c->reset_done_at = KESTREL_NO_DEADLINE;
    c->err_count = 0;
    memset(c->err_log, 0, sizeof(c->err_log));
    kestrel_reset_registers(c);
    kestrel_update_timer(c);
}

int kestrel_core_init(KestrelCore *c, const KestrelConfig *cfg,
                      const KestrelCoreOps *ops, void *opaque,
                      char *err, size_t errlen)
{
    const char *bad = NULL;

    if (cfg->queue_depth < KESTREL_MIN_QDEPTH ||
        cfg->queue_depth > KESTREL_MAX_QDEPTH) {
        bad = "queue-depth must be 2..1024";
    } else if (cfg->block_size != 512 && cfg->block_size != 4096) {
        bad = "block-size must be 512 or 4096";
    } else if (!cfg->max_segments || cfg->max_segments > KESTREL_MAX_MAXSEG) {
        bad = "max-segments must be 1..1024";
    } else if (!cfg->timeout_ms) {
        bad = "timeout-ms must be > 0";
    } else if ((uint64_t)cfg->ready_delay_us / 1000 >= cfg->timeout_ms) {
        bad = "ready-delay-us must be below timeout-ms";
    } else if ((uint64_t)cfg->reset_delay_us / 1000 >= cfg->timeout_ms) {
        bad = "reset-delay-us must be below timeout-ms";
    } else if (cfg->write_cache &&
               (cfg->cache_blocks < KESTREL_CACHE_MIN_BLOCKS ||
                cfg->cache_blocks > KESTREL_CACHE_MAX_BLOCKS ||
                (uint64_t)cfg->cache_blocks * cfg->block_size >
                KESTREL_CACHE_MAX_BYTES)) {
        bad = "write-cache-blocks must be 16..65536 and hold at most "
              "64 MiB";
    }
    if (bad) {
        snprintf(err, errlen, "%s", bad);
        return -1;
    }
    /*
     * All but the fault engine, which kestrel_fault_init() sets up below
     * without zeroing its log's entries (3/4 of it, and held by nobody
     * until written): the fuzzers create a device for every input.
     */
    memset(c, 0, offsetof(KestrelCore, faults));
    memset((char *)&c->faults + sizeof(c->faults), 0,
           sizeof(*c) - offsetof(KestrelCore, faults) - sizeof(c->faults));
    c->cfg = *cfg;
    c->ops = ops;
    c->opaque = opaque;
    c->wb.core = c;
    if (cfg->write_cache) {
        uint32_t hsize = 1;

        while (hsize < 2 * cfg->cache_blocks) {
            hsize <<= 1;
        }
        c->cache = kestrel_zalloc(cfg->cache_blocks * sizeof(*c->cache));
        c->cache_data = kestrel_zalloc((size_t)cfg->cache_blocks *
                                       cfg->block_size);
        c->cache_hash = kestrel_zalloc(hsize * sizeof(*c->cache_hash));
        c->cache_hash_mask = hsize - 1;
        c->wb.buf = kestrel_zalloc((size_t)kestrel_cache_wb_blocks(cfg) *
                                   cfg->block_size);
        c->wb_seq = kestrel_zalloc(kestrel_cache_wb_blocks(cfg) *
                                   sizeof(*c->wb_seq));
    }
    c->cache_head = c->cache_tail = KESTREL_CACHE_NIL;
    kestrel_fault_init(&c->faults, 0);
    kestrel_core_hard_reset(c);
    return 0;
}

void kestrel_core_cleanup(KestrelCore *c)
{
    unsigned i;

    for (i = 0; i < KESTREL_MAX_QDEPTH; i++) {
        kestrel_free(c->cmds[i].segs);
        kestrel_free(c->cmds[i].buf);
        c->cmds[i].segs = NULL;
        c->cmds[i].buf = NULL;
        c->cmds[i].buf_len = 0;
        kestrel_free(c->cmds[i].ovl);
        c->cmds[i].ovl = NULL;
        c->cmds[i].ovl_len = 0;
    }
    c->buf_bytes = 0;
    kestrel_free(c->cache);
    kestrel_free(c->cache_data);
    kestrel_free(c->cache_hash);
    kestrel_free(c->wb.buf);
    kestrel_free(c->wb_seq);
    c->cache = NULL;
    c->cache_data = NULL;
    c->cache_hash = NULL;
    c->wb.buf = NULL;
    c->wb_seq = NULL;
    c->cache_count = 0;
}

void kestrel_core_power_off(KestrelCore *c)
{
    trace_kestrel_power_off(c->cache_count);
    kestrel_cache_clear(c, true);
}

void kestrel_core_cache_load_begin(KestrelCore *c)
{
    kestrel_cache_clear(c, false);
    c->power_cut = 0;
}

int kestrel_core_cache_load(KestrelCore *c, uint64_t lba, uint64_t seq,
                            const void *data, char *err, size_t errlen)
{
    uint64_t top;

    if (!c->cfg.write_cache) {
        snprintf(err, errlen, "a write cache, and write-cache is off here");
        return -1;
    }
    if (c->cache_count >= c->cfg.cache_blocks) {
        snprintf(err, errlen, "more than %u cached blocks",
                 c->cfg.cache_blocks);
        return -1;
    }
    if (c->power_cut) {
        /* a power cut empties the cache: the source cannot send both */
        snprintf(err, errlen, "cached block %" PRIu64 " after a power cut",
                 lba);
        return -1;
    }
    if (lba >= c->cfg.capacity_blocks) {
        snprintf(err, errlen, "cached block %" PRIu64 " past the capacity "
                 "(%" PRIu64 " blocks)", lba, c->cfg.capacity_blocks);
        return -1;
    }
    if (kestrel_cache_find(c, lba) != KESTREL_CACHE_NIL) {
        snprintf(err, errlen, "block %" PRIu64 " cached twice", lba);
        return -1;
    }
    if (seq <= (c->cache_tail == KESTREL_CACHE_NIL ? 0 :
                c->cache[c->cache_tail].seq) || seq > c->cache_seq) {
        snprintf(err, errlen, "cached block %" PRIu64 " with seq %" PRIu64
                 " out of order (last %" PRIu64 ")", lba, seq,
                 c->cache_seq);
        return -1;
    }
    top = c->cache_seq;
    kestrel_cache_put(c, lba, data);
    c->cache[c->cache_tail].seq = seq;
    c->cache_seq = top;
    return 0;
}

uint32_t kestrel_core_cache_first(const KestrelCore *c)
{
    return c->cache_head;
}

uint32_t kestrel_core_cache_next(const KestrelCore *c, uint32_t i)
{
    return c->cache[i].next;
}

const uint8_t *kestrel_core_cache_block(const KestrelCore *c, uint32_t i)
{
    return cache_block(c, i);
}

static int kestrel_faults_changed(KestrelCore *c, int ret, const char *err)
{
    char text[KESTREL_FAULT_TEXT_MAX];

    if (ret < 0) {
        trace_kestrel_err_bad_fault_rule(err);
        return ret;
    }
    /*
     * A new rule set re-plugs the link ("allones") and forgets power
     * faults; a reset stalled by reset:stall still needs a power-on reset.
     * Rule indices change, so a delayed fetch's fired rules are forgotten.
     */
    c->sq_delay_mask = 0;
    c->link_down = 0;
    c->stall_power = 0;
    c->power_delay_ns = 0;
    kestrel_update_level(c);
    c->ops->kick(c->opaque);    /* post what waited for the link */
    kestrel_fault_format(&c->faults, text, sizeof(text));
    trace_kestrel_faults_set(text);
    return ret;
}

int kestrel_core_set_faults(KestrelCore *c, const char *rules,
                            char *err, size_t errlen)
{
    return kestrel_faults_changed(c, kestrel_fault_set(&c->faults, rules,
                                                       err, errlen), err);
}

int kestrel_core_add_faults(KestrelCore *c, const char *rules,
                            char *err, size_t errlen)
{
    int ret = kestrel_fault_add(&c->faults, rules, err, errlen);

    if (ret < 0) {
        trace_kestrel_err_bad_fault_rule(err);
    }
    return ret;
}

void kestrel_core_pause(KestrelCore *c, uint32_t why)
{
    c->paused |= why;
}

void kestrel_core_resume(KestrelCore *c, uint32_t why)
{
    uint32_t was = c->paused;

    c->paused &= ~why;
    if (was && !c->paused) {
        c->ops->kick(c->opaque);        /* what waited for the engine */
    }
}

unsigned kestrel_core_inflight(const KestrelCore *c)
{
    unsigned i, n = 0;

    for (i = 0; i < KESTREL_MAX_QDEPTH; i++) {
        n += c->cmds[i].state == KESTREL_CMD_IO;
    }
    return n + (c->wb.state == KESTREL_CMD_IO);
}

#define LOAD_CHECK(cond, ...)                                           \
    do {                                                                \
        if (!(cond)) {                                                  \
            snprintf(err, errlen, __VA_ARGS__);                         \
            return -1;                                                  \
        }                                                               \
    } while (0)

/* Every saved field against what the core itself could have produced. */
static int kestrel_check_loaded(KestrelCore *c, char *err, size_t errlen)
{
    uint32_t qd = c->cfg.queue_depth;
    uint8_t seen[KESTREL_MAX_QDEPTH] = { 0 };
    unsigned i, npend = 0;

    LOAD_CHECK(!(c->ctrl & ~KESTREL_CTRL_EN), "CTRL 0x%x", c->ctrl);
    LOAD_CHECK(!(c->status & ~(KESTREL_STATUS_RDY | KESTREL_STATUS_FATAL |
                               KESTREL_STATUS_RESETTING)),
               "STATUS 0x%x", c->status);
    LOAD_CHECK(!(c->intr_status & ~KESTREL_INTR_ALL) &&
               !(c->intr_mask & ~KESTREL_INTR_ALL) &&
               !(c->intr_delivered & ~KESTREL_INTR_ALL) &&
               !(c->irq_delayed_causes & ~KESTREL_INTR_ALL),
               "interrupt cause bits outside 0x%x", KESTREL_INTR_ALL);
    LOAD_CHECK(c->cq_phase <= 1, "CQ phase %u", c->cq_phase);
    LOAD_CHECK(c->power_state == 0 || c->power_state == 3,
               "power state D%u", c->power_state);
    LOAD_CHECK(c->power_cut <= 1, "power-cut flag %u", c->power_cut);
    LOAD_CHECK(c->link_down <= 1 && c->stall_sq <= 1 && c->stall_cq <= 1 &&
               c->stall_irq <= 1 && c->stall_reset <= 1 &&
               c->stall_power <= 1 && c->sq_delayed <= 1,
               "a stall/link flag is neither 0 nor 1");
    LOAD_CHECK(c->faults.nrules <= KESTREL_FAULT_MAX_RULES &&
               (c->faults.nrules >= 32 ||
                !(c->sq_delay_mask >> c->faults.nrules)),
               "delayed-fetch rule mask 0x%x for %u rules", c->sq_delay_mask,
               c->faults.nrules);
    LOAD_CHECK(c->storm_left <= KESTREL_FAULT_MAX_STORM &&
               c->storm_interval_ns <= KESTREL_FAULT_MAX_DELAY_NS,
               "interrupt storm of %u at %" PRIu64 " ns (at most %u, %llu ns)",
               c->storm_left, c->storm_interval_ns, KESTREL_FAULT_MAX_STORM,
               (unsigned long long)KESTREL_FAULT_MAX_DELAY_NS);
    if (c->status & KESTREL_STATUS_RDY) {
        LOAD_CHECK((c->ctrl & KESTREL_CTRL_EN) && c->power_state == 0,
                   "RDY without CTRL.EN in D0");
    }
    if (((c->ctrl & KESTREL_CTRL_EN) && !(c->status & KESTREL_STATUS_FATAL)) ||
        (c->status & KESTREL_STATUS_RDY)) {
        /* enabled and not failed, or ready (a fatal error keeps RDY): the
         * rings passed kestrel_enable() */
        LOAD_CHECK(kestrel_queue_config_ok(c),
                   "enabled with SQ %u at 0x%" PRIx64 ", CQ %u at 0x%" PRIx64
                   " (queue depth %u)", c->sq_size, c->sq_base, c->cq_size,
                   c->cq_base, qd);
        LOAD_CHECK(c->sq_head < c->sq_size && c->sq_tail < c->sq_size &&
                   c->cq_head < c->cq_size && c->cq_tail < c->cq_size,
                   "ring index past its ring: SQ %u/%u of %u, CQ %u/%u of %u",
                   c->sq_head, c->sq_tail, c->sq_size, c->cq_head, c->cq_tail,
                   c->cq_size);
    }
    LOAD_CHECK(c->npending <= qd, "%u pending completions, queue depth %u",
               c->npending, qd);
    for (i = 0; i < c->npending; i++) {
        unsigned slot = c->pending[i];

        LOAD_CHECK(slot < qd, "pending[%u] = %u, queue depth %u", i, slot,
                   qd);
        LOAD_CHECK(!seen[slot], "slot %u pending twice", slot);
        seen[slot] = 1;
        LOAD_CHECK(c->cmds[slot].state == KESTREL_CMD_PENDING,
                   "pending slot %u in state %u", slot, c->cmds[slot].state);
    }
    for (i = 0; i < KESTREL_MAX_QDEPTH; i++) {
        const KestrelCmd *cmd = &c->cmds[i];

        LOAD_CHECK(cmd->state == KESTREL_CMD_FREE || i < qd,
                   "slot %u in use, queue depth %u", i, qd);
        /* the source refuses to save backend I/O in flight (pre_save) */
        LOAD_CHECK(cmd->state == KESTREL_CMD_FREE ||
                   cmd->state == KESTREL_CMD_HUNG ||
                   cmd->state == KESTREL_CMD_PENDING ||
                   (cmd->state == KESTREL_CMD_FLUSH_WAIT &&
                    c->cfg.write_cache),
                   "slot %u in state %u", i, cmd->state);
        LOAD_CHECK(cmd->state != KESTREL_CMD_FLUSH_WAIT ||
                   (cmd->opcode == KESTREL_OP_FLUSH &&
                    cmd->seq <= c->cache_seq),
                   "slot %u: a waiting FLUSH (opcode 0x%x) covers cache seq "
                   "%" PRIu64 ", the cache is at %" PRIu64, i, cmd->opcode,
                   cmd->seq, c->cache_seq);
        LOAD_CHECK(cmd->state == KESTREL_CMD_FREE ||
                   cmd->generation == c->generation,
                   "slot %u from generation %u, controller at %u", i,
                   cmd->generation, c->generation);
        LOAD_CHECK(cmd->cqe_faulted <= 1 && cmd->duplicate <= 1 &&
                   cmd->wrong_phase <= 1 && cmd->cqe_redirect <= 1 &&
                   cmd->status <= 0x7fff,
                   "slot %u: completion flags out of range", i);
        npend += cmd->state == KESTREL_CMD_PENDING;
    }
    LOAD_CHECK(npend == c->npending,
               "%u commands wait to post, %u listed as pending", npend,
               c->npending);
    return 0;
}

/* Never run on a refused state: a VM that goes on finds a reset device. */
void kestrel_core_load_refused(KestrelCore *c)
{
    unsigned i;

    for (i = 0; i < KESTREL_MAX_QDEPTH; i++) {
        c->cmds[i].core = c;
        c->cmds[i].segs = NULL;
        c->cmds[i].buf = NULL;
        c->cmds[i].buf_len = 0;
        c->cmds[i].ovl = NULL;
        c->cmds[i].ovl_len = 0;
        c->cmds[i].state = KESTREL_CMD_FREE;
    }
    c->buf_bytes = 0;
    c->npending = 0;
    c->faults.nrules = MIN(c->faults.nrules, KESTREL_FAULT_MAX_RULES);
    kestrel_core_hard_reset(c);
}

int kestrel_core_post_load(KestrelCore *c, char *err, size_t errlen)
{
    unsigned i;

    for (i = 0; i < KESTREL_MAX_QDEPTH; i++) {
        c->cmds[i].core = c;
        c->cmds[i].segs = NULL;
        c->cmds[i].buf = NULL;
        c->cmds[i].buf_len = 0;
        c->cmds[i].ovl = NULL;
        c->cmds[i].ovl_len = 0;
    }
    c->buf_bytes = 0;
    if (kestrel_check_loaded(c, err, errlen) < 0) {
        kestrel_core_load_refused(c);
        return -1;
    }
    kestrel_update_timer(c);
    kestrel_update_level(c);
    c->ops->kick(c->opaque);
    return 0;
}
