/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_port: the Gauntlet fault port's interposition logic
 * (qemu-device/src/gport_interpose.c, the code gauntlet_port.c runs in
 * QEMU) under rule sets and a stream of DMA, message, MMIO and config
 * accesses, unplugs, resets, migrations and time, as QEMU's memory core
 * would deliver them: one translation per piece, pieces of at most 8 bytes
 * through the interposer.
 *
 * The device behind the port has 64 KiB of guest RAM at 0 (an exactly
 * sized buffer: ASan sees any byte past it), four MSI-X vectors (some in
 * the interrupt window, some in RAM) and a queue of messages.
 *
 * Input: ops, one byte each, then their arguments (fuzz_input.h: an
 * exhausted input reads zeros).  Checked after every op:
 *   - a DMA write changes no byte of RAM outside the access, and inside it
 *     at most 8 bytes per translation whose data a rule changed; a DMA
 *     read fills exactly its buffer (ASan), and with no rule armed both
 *     move the data unchanged;
 *   - a write into the interrupt window is never a dma.write event;
 *   - the continuation state stays in its page, a corrupt() waits at most
 *     GPORT_PEND_TRIES accesses, and every data fault armed is applied,
 *     missed or still waiting (armed == applied + missed + pend);
 *   - the message queue never holds more than GPORT_MAX_MSGS, and what it
 *     holds passes the migration check (gpi_queue_check);
 *   - messages delivered (now or from the queue) == msis-sent, none while
 *     the link is down or the device unplugged;
 *   - every rule firing wrote one fault-log entry (sum of fired over all
 *     rule sets == entries logged);
 *   - an MMIO or config read's value fits its size, and is the value read
 *     when no rule fired.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel_env.h"
#include "gport_interpose.h"
#include "fuzz_input.h"

#define RAM_SIZE        0x10000ull
#define NVEC            4
#define DEVFN           0x08

enum {
    OP_RULES_SET, OP_RULES_ADD, OP_RULES_CLEAR, OP_DMA_WRITE, OP_DMA_READ,
    OP_MSG, OP_MMIO, OP_CFG, OP_TIME, OP_UNPLUG, OP_PLUG, OP_RESET,
    OP_MIGRATE, OP_VECTOR, OP__MAX
};

static const char *const triggers[] = {
    "", ":once", ":nth=2", ":every=2", ":every=3,max=4", ":prob=0.5,seed=3",
    ":after=2", ":after=1,once",
};

static const char *const actions_dma[] = {
    "dma_error", "allones", "drop", "corrupt(offset=%u,value=0x%x)",
    "flip(bits=%u)",
};

static const char *const actions_msi[] = {
    "drop", "delay(%uus)", "duplicate", "storm(count=%u,interval=%uus)",
};

static const char *const actions_read[] = {
    "allones", "corrupt(value=0x%x)", "flip(bits=%u)", "corrupt(value)",
};

static GFaultEngine eng;
static GPortInterpose pi;
static GPortAccess acc;
static uint8_t *ram;
static uint64_t vec_addr[NVEC];
static uint32_t vec_data[NVEC];
static bool plugged;
static int64_t now;
static uint64_t delivered, fired_before;

static uint64_t fired_now(void)
{
    uint64_t n = fired_before;
    unsigned i;

    for (i = 0; i < eng.nrules; i++) {
        n += eng.rules[i].fired;
    }
    return n;
}

/* One rule from the input, as text (the parser may refuse it). */
static void rule_text(FuzzIn *in, char *buf, size_t len)
{
    /* bytes: kind, action, trigger, where, lo, shift, length, n1, n2 */
    unsigned kind = fin_u8(in) % 6, a = fin_u8(in);
    const char *trig = triggers[fin_u8(in) % 8];
    unsigned where = fin_u8(in), lo16 = fin_u16(in), shift = fin_u8(in) % 24;
    uint64_t lo = where & 1 ? 0xfee00000ull + lo16 : (uint64_t)lo16 << shift;
    uint64_t hi = lo + fin_u16(in);
    unsigned n1 = fin_u8(in), n2 = fin_u8(in);
    char act[64], filt[80] = "";

    if (a & 0x80) {
        snprintf(filt, sizeof(filt), "[addr=0x%llx-0x%llx]",
                 (unsigned long long)lo, (unsigned long long)hi);
    }
    switch (kind) {
    case 0:
    case 1:
        snprintf(act, sizeof(act), actions_dma[a % 5],
                 a % 5 == 3 ? n1 * 17 % 4096 : n1 % 64 + 1, n2);
        snprintf(buf, len, "%s%s:%s%s", kind ? "dma.write" : "dma.read",
                 filt, act, trig);
        break;
    case 2:
        snprintf(act, sizeof(act), actions_msi[a % 4],
                 a % 4 == 3 ? n1 % 80 + 1 : n1 + 1, n2 % 20 + 1);
        if (a & 0x40) {
            snprintf(filt, sizeof(filt), "[vector=%u]", n2 % NVEC);
        }
        snprintf(buf, len, "msi%s:%s%s", filt, act, trig);
        break;
    case 3:
    case 4:
        snprintf(act, sizeof(act), actions_read[a % 4],
                 a % 4 == 2 ? n1 % 64 + 1 : n1);
        snprintf(buf, len, "%s%s:%s%s", kind == 3 ? "mmio.read" : "cfg.read",
                 a & 0x80 ? "[off=0x4-0x7]" : "", act, trig);
        break;
    default:
        snprintf(buf, len, "link:allones%s", trig);
        break;
    }
}

static void rules(FuzzIn *in, bool add)
{
    char text[GFAULT_TEXT_MAX], err[GFAULT_ERR_MAX];
    unsigned n = fin_u8(in) % 5, i;
    size_t used = 0;
    uint64_t before = fired_now();

    text[0] = '\0';
    for (i = 0; i < n; i++) {
        char one[256];

        rule_text(in, one, sizeof(one));
        used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s",
                                 i ? ";" : "", one);
        if (used >= sizeof(text)) {
            return;
        }
    }
    if ((add ? gfault_add(&eng, text, err, sizeof(err))
             : gfault_set(&eng, text, err, sizeof(err))) < 0) {
        return;
    }
    if (!add) {
        fired_before = before;  /* the old rules' firings stay logged */
    }
    gpi_access_rules_changed(&acc, !add);
    gpi_rules_changed(&pi, !add);
    /* a new set: no data fault of the old one waits, the link is up */
    FUZZ_ASSERT(add || (!acc.pend && !acc.cont && !pi.link_down));
}

static bool vector_addr(void *opaque, uint64_t addr)
{
    unsigned v;

    for (v = 0; v < NVEC; v++) {
        if (plugged && vec_addr[v] == addr) {
            return true;
        }
    }
    return false;
}

static int vector_of(uint64_t addr, uint32_t data)
{
    unsigned v;

    for (v = 0; v < NVEC; v++) {
        if (plugged && vec_addr[v] == addr && vec_data[v] == data) {
            return (int)v;
        }
    }
    return -1;
}

static bool in_ram(uint64_t addr, uint64_t len)
{
    return addr < RAM_SIZE && len <= RAM_SIZE - addr;
}

/* A message delivered to addr (the port's upstream). */
static void deliver(uint64_t addr, uint32_t data)
{
    FUZZ_ASSERT(!pi.link_down);
    delivered++;
    if (in_ram(addr, 4)) {
        memcpy(ram + addr, &data, 4);
    }
}

static bool send_queued(void *opaque, const GPortMsg *m)
{
    if (!plugged || m->devfn != DEVFN) {
        return false;
    }
    deliver(m->addr, m->data);
    return true;
}

/*
 * One DMA of len bytes at addr, as QEMU's memory core does it through the
 * port's IOMMU: a translation before each piece.  buf: the data to write,
 * or where a read lands (exactly len bytes).
 */
static void dma(bool write, uint64_t addr, uint8_t *buf, uint32_t len)
{
    uint32_t done = 0, fired;

    while (done < len) {
        uint64_t a = addr + done, page_left;
        uint32_t piece;
        GPortRoute r = gpi_dma(&pi, &acc, (uint64_t)now, write, a, DEVFN,
                               vector_addr, NULL, &fired);

        if (gpi_in_window(a) && write) {
            FUZZ_ASSERT(fired == 0);
        }
        page_left = GPORT_PAGE - (a & (GPORT_PAGE - 1));
        piece = (uint32_t)MIN(len - done, page_left);
        switch (r) {
        case GPR_ALL:
            piece = len - done;
            /* fall through */
        case GPR_UPSTREAM:
            if (!in_ram(a, piece)) {
                return;         /* unassigned: the access fails */
            }
            if (write) {
                memcpy(ram + a, buf + done, piece);
            } else {
                memcpy(buf + done, ram + a, piece);
            }
            break;
        case GPR_MSG:
            FUZZ_ASSERT(write && acc.xlat_msg);
            piece = MIN(piece, 4 - (uint32_t)(a & 3));
            if (piece == 4) {
                uint32_t d, n;

                memcpy(&d, buf + done, 4);
                n = gpi_msi(&pi, (uint64_t)now, DEVFN, DEVFN, a, d,
                            vector_of(a, d), &fired);
                FUZZ_ASSERT(n <= GFAULT_MAX_RULES + 1);
                while (n--) {
                    deliver(a, d);
                }
            } else if (in_ram(a, piece)) {
                memcpy(ram + a, buf + done, piece);
            }
            break;
        case GPR_DATA: {
            uint8_t tmp[8];

            piece = MIN(piece, 8);
            if (write) {
                memcpy(tmp, buf + done, piece);
                gpi_data_pass(&acc, a, tmp, piece);
                if (!in_ram(a, piece)) {
                    return;
                }
                memcpy(ram + a, tmp, piece);
            } else {
                if (!in_ram(a, piece)) {
                    return;
                }
                memcpy(tmp, ram + a, piece);
                gpi_data_pass(&acc, a, tmp, piece);
                memcpy(buf + done, tmp, piece);
            }
            break;
        }
        case GPR_FAIL:
            gpi_fail_pass(&acc, a, MIN(piece, 8));
            return;
        case GPR_ONES:
            FUZZ_ASSERT(!write);
            memset(buf + done, 0xff, piece);
            break;
        case GPR_TRASH:
            FUZZ_ASSERT(write);
            break;
        case GPR_REFUSED:
            FUZZ_ASSERT(pi.link_down);
            return;
        }
        done += piece;
    }
}

static uint8_t ram_before[RAM_SIZE];    /* RAM before a DMA write */

/*
 * The bytes of RAM a DMA write of src[0..len) at addr changed to neither
 * their old value nor src's; a byte outside the access that changed is a
 * violation.  A sweep of all RAM on every write: coverage-ignore.txt
 * leaves it untraced (traced, its three comparisons a byte were 80% of
 * this target's time), so it is not inlined.
 */
static __attribute__((noinline)) uint32_t
dma_write_diffs(uint64_t addr, uint32_t len, const uint8_t *src)
{
    uint32_t diffs = 0;
    uint64_t i;

    for (i = 0; i < RAM_SIZE; i++) {
        /* modulo 2^64: an access may wrap past the top into page 0 */
        bool inside = i - addr < len;

        if (!inside) {
            FUZZ_ASSERT(ram[i] == ram_before[i]);
            continue;
        }
        if (ram[i] != ram_before[i] && ram[i] != src[i - addr]) {
            diffs++;
        }
    }
    return diffs;
}

static void check_dma_write(uint64_t addr, uint32_t len, const uint8_t *src)
{
    uint64_t armed = acc.armed, pend_before = acc.pend;
    uint32_t diffs;
    uint8_t *buf = malloc(len ? len : 1);
    bool watched = pi.dma_watch || pi.link_down;

    memcpy(ram_before, ram, RAM_SIZE);
    memcpy(buf, src, len);
    dma(true, addr, buf, len);
    diffs = dma_write_diffs(addr, len, src);
    if (!watched) {
        FUZZ_ASSERT(diffs == 0);
    }
    /* at most 8 bytes for each data fault armed during it or waiting */
    FUZZ_ASSERT(diffs <= 8 * (acc.armed - armed + pend_before));
    free(buf);
}

static void check_state(void)
{
    int64_t next = gpi_queue_next(&pi);

    FUZZ_ASSERT(gpi_queue_count(&pi) <= GPORT_MAX_MSGS);
    FUZZ_ASSERT(gpi_queue_check(&pi) == -1);
    FUZZ_ASSERT(next == INT64_MAX || gpi_queue_count(&pi) > 0);
    FUZZ_ASSERT(acc.armed == acc.applied + acc.missed + (acc.pend ? 1 : 0));
    if (acc.cont) {
        FUZZ_ASSERT(acc.cont_route == GPR_DATA || acc.cont_route == GPR_FAIL);
        FUZZ_ASSERT(acc.cont_end - acc.cont_start >= 1 &&
                    acc.cont_end - acc.cont_start <= GPORT_PAGE);
        FUZZ_ASSERT(acc.cont_next - acc.cont_start <=
                    acc.cont_end - acc.cont_start);
    }
    if (acc.pend) {
        FUZZ_ASSERT(acc.pend_tries <= GPORT_PEND_TRIES);
        FUZZ_ASSERT(acc.pend_hi - acc.pend_lo >= 1 &&
                    acc.pend_hi - acc.pend_lo <= GPORT_PAGE);
        if (!acc.pend_is_flip) {
            FUZZ_ASSERT(acc.pend_addr - acc.pend_lo <
                        acc.pend_hi - acc.pend_lo);
        } else {
            FUZZ_ASSERT(acc.pend_addr == acc.pend_lo);
        }
    }
    FUZZ_ASSERT(delivered == pi.msis_sent);
    FUZZ_ASSERT(fired_now() == eng.log_seq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t src[3 * GPORT_PAGE];
    FuzzIn in;
    unsigned ops = 0, v;

    fin_init(&in, data, size);
    gfault_init(&eng, &gport_fault_vocab, fin_u8(&in));
    gpi_init(&pi, &eng);
    memset(&acc, 0, sizeof(acc));
    ram = malloc(RAM_SIZE);
    memset(ram, 0x5a, RAM_SIZE);
    for (v = 0; v < NVEC; v++) {
        vec_addr[v] = v & 1 ? 0xfee00000ull + 0x1000 * v : 0x8000 + 16 * v;
        vec_data[v] = 0x4b500000u | v;
    }
    plugged = true;
    now = 0;
    delivered = 0;
    fired_before = 0;

    while (!fin_empty(&in) && ops++ < 512) {
        unsigned op = fin_u8(&in) % OP__MAX;

        switch (op) {
        case OP_RULES_SET:
            rules(&in, false);
            break;
        case OP_RULES_ADD:
            rules(&in, true);
            break;
        case OP_RULES_CLEAR: {
            char err[GFAULT_ERR_MAX];
            uint64_t before = fired_now();

            FUZZ_ASSERT(gfault_set(&eng, "", err, sizeof(err)) == 0);
            fired_before = before;
            gpi_access_rules_changed(&acc, true);
            gpi_rules_changed(&pi, true);
            FUZZ_ASSERT(!pi.link_down && !acc.pend && !pi.dma_watch);
            break;
        }
        case OP_DMA_WRITE:
        case OP_DMA_READ: {
            uint8_t where = fin_u8(&in);
            uint64_t addr = where < 200 ? fin_u16(&in) :
                            where < 230 ? 0xfee00000ull + fin_u16(&in) :
                            where < 250 ? RAM_SIZE - fin_u8(&in) :
                            UINT64_MAX - fin_u16(&in);
            uint32_t len = fin_u16(&in) % (3 * GPORT_PAGE) + 1;

            if (!plugged) {
                break;
            }
            if (op == OP_DMA_WRITE) {
                for (v = 0; v < len; v++) {
                    src[v] = (uint8_t)(v * 7 + where);
                }
                check_dma_write(addr, len, src);
            } else {
                uint8_t *buf = malloc(len);
                bool watched = pi.dma_watch || pi.link_down;

                memset(buf, 0, len);
                dma(false, addr, buf, len);
                if (!watched && in_ram(addr, len)) {
                    FUZZ_ASSERT(memcmp(buf, ram + addr, len) == 0);
                }
                free(buf);
            }
            break;
        }
        case OP_MSG: {
            /* the device signals vector v: a 4-byte write to its address */
            uint8_t b[4];

            v = fin_u8(&in) % NVEC;
            memcpy(b, &vec_data[v], 4);
            if (plugged) {
                dma(true, vec_addr[v], b, 4);
            }
            break;
        }
        case OP_MMIO:
        case OP_CFG: {
            unsigned sz = 1u << (fin_u8(&in) % 4);
            uint64_t val = fin_u64(&in) & gpi_ones(sz), out;
            GFaultEvent ev = { .known = 0 };
            uint32_t fired;
            unsigned point = op == OP_MMIO ? GPF_MMIO_READ : GPF_CFG_READ;

            if (op == OP_CFG && sz == 8) {
                sz = 4;
                val &= 0xffffffffu;
            }
            ev.known = (1u << GPK_OFF) | (op == OP_MMIO ? 1u << GPK_BAR : 0);
            ev.key[GPK_OFF] = fin_u8(&in);
            ev.len[GPK_OFF] = sz;
            if (gpi_link_event(&pi, (uint64_t)now, "mmio.read", 0)) {
                break;
            }
            out = gpi_read_value(&pi, point, &ev, val, sz, (uint64_t)now,
                                 "test", &fired);
            FUZZ_ASSERT((out & ~gpi_ones(sz)) == 0);
            FUZZ_ASSERT(fired || out == val);
            break;
        }
        case OP_TIME:
            now += (int64_t)fin_u16(&in) * 1000;
            if (gpi_queue_next(&pi) <= now) {
                gpi_queue_tick(&pi, now, send_queued, NULL);
                /* what is due again (a storm) is due later than now */
                FUZZ_ASSERT(gpi_queue_next(&pi) > now);
            }
            break;
        case OP_UNPLUG:
            plugged = false;
            gpi_access_drop(&acc);
            gpi_queue_drop_dev(&pi, DEVFN);
            FUZZ_ASSERT(gpi_queue_count(&pi) == 0);
            break;
        case OP_PLUG:
            plugged = true;
            break;
        case OP_RESET:
            gpi_queue_clear(&pi);
            gpi_access_drop(&acc);
            FUZZ_ASSERT(gpi_queue_count(&pi) == 0 && !acc.pend);
            break;
        case OP_MIGRATE: {
            /* what the port saves it must load */
            static GPortInterpose copy;

            memcpy(&copy, &pi, sizeof(copy));
            FUZZ_ASSERT(gpi_queue_check(&copy) == -1);
            break;
        }
        case OP_VECTOR:
            v = fin_u8(&in) % NVEC;
            vec_addr[v] = fin_u8(&in) & 1 ? 0xfee00000ull + fin_u16(&in)
                                          : fin_u16(&in);
            break;
        }
        check_state();
    }
    free(ram);
    return 0;
}
