/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Gauntlet fault port's interposition logic (gport_interpose.h): the
 * decisions gauntlet_port.c makes for each access, on the C library and
 * the fault engine only, so that a fuzzer runs exactly them.
 */
#include "kestrel_env.h"
#include "gport_interpose.h"

void gpi_init(GPortInterpose *pi, GFaultEngine *e)
{
    memset(pi, 0, sizeof(*pi));
    pi->engine = e;
}

bool gpi_in_window(uint64_t addr)
{
    return addr >= GPORT_MSI_BASE && addr - GPORT_MSI_BASE < GPORT_MSI_SIZE;
}

static bool gpi_watches_msgs(const GPortInterpose *pi)
{
    return gfault_watches(pi->engine, GPF_MSI) ||
           gfault_watches(pi->engine, GPF_LINK);
}

void gpi_rules_changed(GPortInterpose *pi, bool replaced)
{
    GFaultEngine *e = pi->engine;

    if (replaced) {
        pi->link_down = false;  /* a new rule set brings the link back */
    }
    pi->dma_watch = gfault_watches(e, GPF_DMA_READ) ||
                    gfault_watches(e, GPF_DMA_WRITE) || gpi_watches_msgs(pi);
}

void gpi_access_drop(GPortAccess *a)
{
    if (a->pend) {
        a->pend = false;
        a->missed++;
    }
    a->cont = false;
}

void gpi_access_rules_changed(GPortAccess *a, bool replaced)
{
    a->cont = false;
    if (replaced) {
        /* the rule that armed a waiting corrupt() is gone with its set */
        gpi_access_drop(a);
    }
}

bool gpi_mmio_watched(const GPortInterpose *pi)
{
    return pi->link_down || gfault_watches(pi->engine, GPF_MMIO_READ) ||
           gfault_watches(pi->engine, GPF_LINK);
}

/* ---- the link ------------------------------------------------------- */

int gpi_link_event(GPortInterpose *pi, uint64_t now, const char *what,
                   uint64_t addr)
{
    GFaultEngine *e = pi->engine;
    uint32_t mask;
    unsigned i;

    if (pi->link_down) {
        return 1;
    }
    if (!gfault_watches(e, GPF_LINK)) {
        return 0;
    }
    mask = gfault_eval(e, GPF_LINK, NULL);
    for (i = 0; mask; i++, mask >>= 1) {
        if ((mask & 1) && e->rules[i].action == GPA_ALLONES) {
            pi->link_down = true;
            gfault_log(e, now, i, "link down at %s 0x%" PRIx64, what, addr);
        }
    }
    return pi->link_down ? 2 : 0;
}

/* ---- data faults ---------------------------------------------------- */

/* The value corrupt() gives field; *invert when it names the field alone. */
static bool gpi_corrupt_arg(const GFaultRule *r, unsigned field,
                            uint64_t *value, bool *invert)
{
    unsigned j;

    for (j = 0; j < r->ncorrupt && j < GFAULT_MAX_CORRUPT; j++) {
        if (r->corrupt[j].field == field) {
            *value = r->corrupt[j].value;
            *invert = r->corrupt[j].invert;
            return true;
        }
    }
    return false;
}

/* Arm the data fault of rule r for the translation [addr, page end). */
static void gpi_data_arm(GPortAccess *a, GFaultRule *r, uint64_t addr,
                         bool write)
{
    uint64_t end = (addr | (GPORT_PAGE - 1)) + 1;     /* 0: the last page */
    uint32_t bits, n;

    if (a->pend) {
        a->missed++;            /* replaced before its byte came */
    }
    a->armed++;
    a->pend = true;
    a->pend_write = write;
    a->pend_lo = addr;
    a->pend_hi = end;
    a->pend_is_flip = r->action == GPA_FLIP;
    if (!a->pend_is_flip) {
        uint64_t off = 0, value = 0;
        bool invert = false;

        gpi_corrupt_arg(r, GPFF_DMA_OFFSET, &off, &invert);
        a->pend_off = off;
        a->pend_tries = GPORT_PEND_TRIES;
        a->pend_addr = off < end - addr ? addr + off : end - 1;
        invert = false;
        a->pend_invert = !gpi_corrupt_arg(r, GPFF_DMA_VALUE, &value,
                                          &invert) || invert;
        a->pend_value = (uint8_t)value;
        return;
    }
    /* flip(bits=N): N distinct bits of the (at most) 8 bytes from addr */
    memset(a->pend_flip, 0, sizeof(a->pend_flip));
    a->pend_addr = addr;
    a->pend_tries = 0;
    n = (uint32_t)MIN(end - addr, 8) * 8;
    bits = MIN(r->flip_bits ? r->flip_bits : 1, n);
    while (bits) {
        uint32_t b = (uint32_t)(gfault_rand(r) % n);

        if (!(a->pend_flip[b / 8] & (1u << (b % 8)))) {
            a->pend_flip[b / 8] |= 1u << (b % 8);
            bits--;
        }
    }
}

void gpi_data_pass(GPortAccess *a, uint64_t addr, uint8_t *buf,
                   unsigned size)
{
    unsigned i;
    bool hit = false;

    a->cont_next = addr + size;
    if (!a->pend) {
        return;
    }
    for (i = 0; i < size; i++) {
        uint64_t b = addr + i;

        if (a->pend_is_flip) {
            if (b - a->pend_addr < 8 && a->pend_flip[b - a->pend_addr]) {
                buf[i] ^= a->pend_flip[b - a->pend_addr];
                a->pend_flip[b - a->pend_addr] = 0;
                hit = true;
            }
        } else if (b == a->pend_addr) {
            buf[i] = a->pend_invert ? (uint8_t)~buf[i] : a->pend_value;
            a->pend = false;
            a->applied++;
            return;
        }
    }
    if (hit) {
        for (i = 0; i < 8 && !a->pend_flip[i]; i++) {
        }
        if (i == 8) {
            a->pend = false;
            a->applied++;
        }
    }
}

void gpi_fail_pass(GPortAccess *a, uint64_t addr, unsigned size)
{
    a->cont_next = MAX(a->cont_next, addr + size);
}

/*
 * A new access in direction write at addr: a corrupt() the last access
 * ended before waits for the next access of the same direction that
 * reaches its offset (at most GPORT_PEND_TRIES of them), and true says
 * this is the one; anything else the last access never reached is missed.
 */
static bool gpi_data_retire(GPortAccess *a, bool write, uint64_t addr)
{
    uint64_t end = (addr | (GPORT_PAGE - 1)) + 1;

    if (!a->pend) {
        return false;
    }
    if (!a->pend_is_flip && a->pend_tries) {
        if (write != a->pend_write) {
            return false;
        }
        a->pend_tries--;
        if (a->pend_off < end - addr) {
            a->pend_lo = addr;
            a->pend_hi = end;
            a->pend_addr = addr + a->pend_off;
            return true;
        }
        if (a->pend_tries) {
            return false;
        }
    }
    a->pend = false;
    a->missed++;
    return false;
}

/* ---- DMA ------------------------------------------------------------ */

GPortRoute gpi_dma(GPortInterpose *pi, GPortAccess *a, uint64_t now,
                   bool write, uint64_t addr, uint8_t devfn,
                   GPortVectorAddr *vector_addr, void *opaque,
                   uint32_t *fired)
{
    GFaultEngine *e = pi->engine;
    unsigned point = write ? GPF_DMA_WRITE : GPF_DMA_READ;
    GPortRoute route = GPR_UPSTREAM;
    GFaultEvent ev = { 0 };
    uint32_t mask;
    unsigned i;

    *fired = 0;
    if (!pi->dma_watch && !pi->link_down) {
        return GPR_ALL;         /* nothing to see */
    }
    a->xlat_msg = false;
    if (a->cont) {
        /* the same access again (a map asking why it failed), or its next
         * piece */
        if (write == a->cont_write && addr >= a->cont_start &&
            addr <= a->cont_next && addr < a->cont_end) {
            return a->cont_route;
        }
        a->cont = false;
    }
    pi->translations++;
    if (write && (gpi_in_window(addr) ||
                  (gpi_watches_msgs(pi) && vector_addr &&
                   vector_addr(opaque, addr)))) {
        /*
         * A message, maybe: never a dma.write event; seen with its data by
         * gpi_msi() when a rule looks at messages.
         */
        if (pi->link_down) {
            return GPR_REFUSED;
        }
        if (gpi_watches_msgs(pi)) {
            a->xlat_msg = true;
            return GPR_MSG;
        }
        return GPR_UPSTREAM;
    }
    if (gpi_data_retire(a, write, addr)) {
        route = GPR_DATA;       /* a waiting corrupt() lands here */
    }
    if (gpi_link_event(pi, now, write ? "dma.write" : "dma.read", addr)) {
        pi->refused++;
        return GPR_REFUSED;
    }
    ev.known = 1u << GPK_ADDR;
    ev.key[GPK_ADDR] = addr;
    mask = gfault_watches(e, point) ? gfault_eval(e, point, &ev) : 0;
    *fired = mask;
    for (i = 0; mask; i++, mask >>= 1) {
        GFaultRule *r = &e->rules[i];

        if (!(mask & 1)) {
            continue;
        }
        gfault_log(e, now, i, "%s addr 0x%" PRIx64 " devfn %02x.%x",
                   write ? "write" : "read", addr, devfn >> 3, devfn & 7);
        /* precedence: dma_error, then drop/allones, then corrupt/flip */
        switch (r->action) {
        case GPA_DMA_ERROR:
            route = GPR_FAIL;
            break;
        case GPA_DROP:
        case GPA_ALLONES:
            if (route != GPR_FAIL) {
                route = write ? GPR_TRASH : GPR_ONES;
            }
            break;
        case GPA_CORRUPT:
        case GPA_FLIP:
            if (route == GPR_UPSTREAM || route == GPR_DATA) {
                gpi_data_arm(a, r, addr, write);
                route = GPR_DATA;
            }
            break;
        default:
            break;
        }
    }
    if (route == GPR_FAIL || route == GPR_TRASH || route == GPR_ONES) {
        if (route == GPR_FAIL) {
            pi->refused++;
        }
        if (a->pend && a->pend_lo == addr) {
            /* a corrupt() that landed here waits for the next access */
            a->pend_tries = MAX(a->pend_tries, 1);
        }
    }
    if (route == GPR_FAIL || route == GPR_DATA) {
        a->cont = true;
        a->cont_write = write;
        a->cont_start = a->cont_next = addr;
        a->cont_end = (addr | (GPORT_PAGE - 1)) + 1;
        a->cont_route = route;
    }
    return route;
}

/* ---- messages ------------------------------------------------------- */

static bool gpi_queue(GPortInterpose *pi, uint64_t now, uint8_t devfn,
                      uint16_t rid, uint64_t addr, uint32_t data,
                      uint64_t delay_ns, uint32_t left, uint64_t interval_ns)
{
    unsigned i;

    for (i = 0; i < GPORT_MAX_MSGS; i++) {
        GPortMsg *m = &pi->msgs[i];

        if (!m->used) {
            *m = (GPortMsg) {
                .used = 1, .devfn = devfn, .requester_id = rid,
                .data = data, .addr = addr,
                .due_ns = (int64_t)(now + delay_ns),
                .left = left, .interval_ns = interval_ns,
            };
            return true;
        }
    }
    pi->msg_overflow++;
    return false;
}

unsigned gpi_msi(GPortInterpose *pi, uint64_t now, uint8_t devfn,
                 uint16_t requester_id, uint64_t addr, uint32_t data,
                 int vector, uint32_t *fired)
{
    GFaultEngine *e = pi->engine;
    GFaultEvent ev = { 0 };
    bool drop = false;
    uint64_t delay = 0;
    unsigned copies = 1, sent = 0, i;
    uint32_t mask;

    *fired = 0;
    pi->msis++;
    if (gpi_link_event(pi, now, "msi", addr)) {
        return 0;
    }
    if (!gfault_watches(e, GPF_MSI)) {
        pi->msis_sent++;
        return 1;
    }
    ev.known = 1u << GPK_ADDR;
    ev.key[GPK_ADDR] = addr;
    if (vector >= 0) {
        ev.known |= 1u << GPK_VECTOR;
        ev.key[GPK_VECTOR] = (uint64_t)vector;
    }
    mask = gfault_eval(e, GPF_MSI, &ev);
    *fired = mask;
    for (i = 0; mask; i++, mask >>= 1) {
        GFaultRule *r = &e->rules[i];

        if (!(mask & 1)) {
            continue;
        }
        gfault_log(e, now, i, "vector %d addr 0x%" PRIx64 " data 0x%" PRIx32
                   " devfn %02x.%x", vector, addr, data, devfn >> 3,
                   devfn & 7);
        switch (r->action) {
        case GPA_DROP:
            drop = true;
            break;
        case GPA_DELAY:
            delay += r->delay_ns;
            break;
        case GPA_DUPLICATE:
            copies++;
            break;
        case GPA_STORM:
            if (r->storm_count > 1) {
                uint64_t gap = MAX(r->storm_interval_ns, GPORT_STORM_MIN_NS);

                gpi_queue(pi, now, devfn, requester_id, addr, data, gap,
                          r->storm_count - 2, gap);
            }
            break;
        default:
            break;
        }
    }
    if (drop) {
        return 0;
    }
    for (i = 0; i < copies; i++) {
        if (delay) {
            gpi_queue(pi, now, devfn, requester_id, addr, data, delay, 0, 0);
        } else {
            sent++;
        }
    }
    pi->msis_sent += sent;
    return sent;
}

int64_t gpi_queue_next(const GPortInterpose *pi)
{
    int64_t next = INT64_MAX;
    unsigned i;

    for (i = 0; i < GPORT_MAX_MSGS; i++) {
        if (pi->msgs[i].used && pi->msgs[i].due_ns < next) {
            next = pi->msgs[i].due_ns;
        }
    }
    return next;
}

unsigned gpi_queue_tick(GPortInterpose *pi, int64_t now, GPortSend *send,
                        void *opaque)
{
    unsigned i, sent = 0;

    for (i = 0; i < GPORT_MAX_MSGS; i++) {
        GPortMsg *m = &pi->msgs[i];

        if (!m->used || m->due_ns > now) {
            continue;
        }
        if (pi->link_down || !send(opaque, m)) {
            m->used = 0;                /* its device or link is gone */
            continue;
        }
        sent++;
        if (m->left) {
            m->left--;
            m->due_ns = now + (int64_t)m->interval_ns;
        } else {
            m->used = 0;
        }
    }
    pi->msis_sent += sent;
    return sent;
}

unsigned gpi_queue_count(const GPortInterpose *pi)
{
    unsigned i, n = 0;

    for (i = 0; i < GPORT_MAX_MSGS; i++) {
        n += pi->msgs[i].used != 0;
    }
    return n;
}

void gpi_queue_drop_dev(GPortInterpose *pi, uint8_t devfn)
{
    unsigned i;

    for (i = 0; i < GPORT_MAX_MSGS; i++) {
        if (pi->msgs[i].used && pi->msgs[i].devfn == devfn) {
            pi->msgs[i].used = 0;
        }
    }
}

void gpi_queue_clear(GPortInterpose *pi)
{
    unsigned i;

    for (i = 0; i < GPORT_MAX_MSGS; i++) {
        pi->msgs[i].used = 0;
    }
}

int gpi_queue_check(const GPortInterpose *pi)
{
    unsigned i;

    for (i = 0; i < GPORT_MAX_MSGS; i++) {
        const GPortMsg *m = &pi->msgs[i];

        if (!m->used) {
            continue;
        }
        if (m->used != 1 ||
            (m->left && m->interval_ns < GPORT_STORM_MIN_NS) ||
            m->interval_ns > GFAULT_MAX_DELAY_NS ||
            m->left > GFAULT_MAX_STORM) {
            return (int)i;
        }
    }
    return -1;
}

/* ---- MMIO and config reads ------------------------------------------- */

uint64_t gpi_read_value(GPortInterpose *pi, unsigned point,
                        const GFaultEvent *ev, uint64_t in, unsigned size,
                        uint64_t now, const char *detail, uint32_t *fired)
{
    GFaultEngine *e = pi->engine;
    unsigned field = point == GPF_CFG_READ ? GPFF_CFG_VALUE : GPFF_MMIO_VALUE;
    uint64_t val = in;
    uint32_t mask;
    unsigned i;

    *fired = 0;
    if (size < 1 || size > 8 || !gfault_watches(e, point)) {
        return in;
    }
    mask = gfault_eval(e, point, ev);
    *fired = mask;
    for (i = 0; mask; i++, mask >>= 1) {
        GFaultRule *r = &e->rules[i];

        if (!(mask & 1)) {
            continue;
        }
        switch (r->action) {
        case GPA_ALLONES:
            val = gpi_ones(size);
            break;
        case GPA_CORRUPT: {
            uint64_t value;
            bool invert;

            /* corrupt(value=V) reads V, corrupt(value) the value inverted */
            if (!gpi_corrupt_arg(r, field, &value, &invert) || invert) {
                val = ~in;
            } else {
                val = value;
            }
            break;
        }
        case GPA_FLIP: {
            uint32_t n = MIN(r->flip_bits ? r->flip_bits : 1, size * 8);

            while (n--) {
                val ^= 1ull << (gfault_rand(r) % (size * 8));
            }
            break;
        }
        default:
            break;
        }
        val &= gpi_ones(size);
        gfault_log(e, now, i, "%s: 0x%" PRIx64 " -> 0x%" PRIx64, detail, in,
                   val);
    }
    return val;
}
