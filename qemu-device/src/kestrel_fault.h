/*
 * Kestrel's fault vocabulary on the shared engine (gfault.h).
 *
 * A rule is point x action x trigger, written as
 *
 *     point[filter]:action(args):trigger,trigger...
 *
 * for example "cq.post:corrupt(tag=0xffff):nth=3".  The grammar is
 * documented in docs/kestrel-datasheet.md ("Fault injection").  The
 * grammar, triggers, counters and log are gfault's; this file declares
 * Kestrel's points, actions, corrupt() fields and filter keys
 * (kestrel_fault_vocab) and keeps the kestrel_fault_* names as thin
 * wrappers.  What an action does to the device lives in kestrel_core.c.
 */
#ifndef KESTREL_FAULT_H
#define KESTREL_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gfault.h"

#define KESTREL_FAULT_MAX_RULES         GFAULT_MAX_RULES
#define KESTREL_FAULT_MAX_CORRUPT       GFAULT_MAX_CORRUPT
#define KESTREL_FAULT_TEXT_MAX          GFAULT_TEXT_MAX
#define KESTREL_FAULT_RULE_TEXT_MAX     GFAULT_RULE_TEXT_MAX
#define KESTREL_FAULT_ERR_MAX           GFAULT_ERR_MAX
#define KESTREL_FAULT_MAX_DELAY_NS      GFAULT_MAX_DELAY_NS
#define KESTREL_FAULT_MAX_STORM         GFAULT_MAX_STORM

typedef enum KestrelFaultPoint {
        KFP_CTRL_ENABLE,        /* "ctrl.enable": EN 0->1, ready handshake */
        KFP_REG_READ,           /* "reg.read": any BAR0 register read */
        KFP_SQ_FETCH,           /* "sq.fetch": submission entry fetch */
        KFP_SGL_FETCH,          /* "sgl.fetch": one segment list fetched */
        KFP_DMA_READ,           /* "dma.read": device reads guest data */
        KFP_DMA_WRITE,          /* "dma.write": device writes guest data */
        KFP_CQ_POST,            /* "cq.post": completion entry written */
        KFP_IRQ,                /* "irq": interrupt delivery */
        KFP_RESET,              /* "reset": controller reset */
        KFP_POWER,              /* "power": PCI power-state change */
        KFP__MAX
} KestrelFaultPoint;

typedef enum KestrelFaultAction {
        KFA_DROP,               /* "drop" */
        KFA_DELAY,              /* "delay(T)": T with unit ns, us, ms or s */
        KFA_STALL,              /* "stall": stop at this point until reset */
        KFA_CORRUPT,            /* "corrupt(field[=value],...)" */
        KFA_FLIP,               /* "flip" / "flip(bits=N)" random bit flips */
        KFA_DUPLICATE,          /* "duplicate" (cq.post only) */
        KFA_SPURIOUS,           /* "spurious": extra interrupt, no work */
        KFA_STORM,              /* "storm(count=N,interval=T)" */
        KFA_FATAL,              /* "fatal": raise STATUS.FATAL */
        KFA_ALLONES,            /* "allones": link down, MMIO reads ~0 */
        KFA_DMA_ERROR,          /* "dma_error": this DMA fails */
        KFA_LIE,                /* "lie": sq.fetch[op=flush] succeeds */
        KFA_POWERCUT,           /* "powercut": power lost, VM stops */
        KFA__MAX
} KestrelFaultAction;

/* Fields that corrupt() names; which are valid depends on the point. */
typedef enum KestrelFaultField {
        KFF_NONE,
        /* cq.post */
        KFF_CQ_TAG, KFF_CQ_PHASE, KFF_CQ_STATUS, KFF_CQ_SQHEAD, KFF_CQ_RESULT,
        KFF_CQ_ADDR,
        /* sq.fetch */
        KFF_SQ_OPCODE, KFF_SQ_FLAGS, KFF_SQ_TAG, KFF_SQ_NSEGS, KFF_SQ_LBA,
        KFF_SQ_NBLOCKS, KFF_SQ_SGL_ADDR, KFF_SQ_SGL_LEN,
        /* sgl.fetch: fields of descriptor "index" (default 0) */
        KFF_SG_ADDR, KFF_SG_LEN, KFF_SG_FLAGS, KFF_SG_INDEX,
        /* reg.read */
        KFF_REG_VALUE,
        /* dma.read, dma.write: byte "offset" gets "value" */
        KFF_DMA_OFFSET, KFF_DMA_VALUE,
        KFF__MAX
} KestrelFaultField;

/* Kestrel's filter keys: [reg=X] on reg.read, [op=X] on command points. */
typedef enum KestrelFaultKey {
        KFK_REG,                /* register offset (names: STATUS...) */
        KFK_OP,                 /* command opcode (names: read...) */
        KFK__MAX
} KestrelFaultKey;

typedef GFaultCorrupt KestrelFaultCorrupt;
typedef GFaultTriggerKind KestrelFaultTriggerKind;
#define KFT_ALWAYS      GFAULT_TRIG_ALWAYS
#define KFT_NTH         GFAULT_TRIG_NTH
#define KFT_EVERY       GFAULT_TRIG_EVERY
#define KFT_PROB        GFAULT_TRIG_PROB
typedef GFaultRule KestrelFaultRule;
/* e->units counts commands fetched (after=N counts commands). */
typedef GFaultEngine KestrelFaultEngine;

extern const GFaultVocab kestrel_fault_vocab;

/* The rule's [reg=X] / [op=X] filter, or -1 when it has none. */
int32_t kestrel_fault_rule_reg(const KestrelFaultRule *r);
int32_t kestrel_fault_rule_op(const KestrelFaultRule *r);

const char *kestrel_fault_point_name(KestrelFaultPoint p);
const char *kestrel_fault_action_name(KestrelFaultAction a);

/* gfault_init with Kestrel's vocabulary. */
void kestrel_fault_init(KestrelFaultEngine *e, uint64_t seed);

/*
 * Parse a rule set ("rule;rule;...", blanks allowed around tokens, an empty
 * string is an empty set).  On error return -1 and write to err a message
 * of the form "column C: found 'X', expected Y" where C is the 1-based
 * byte column in text; the engine is left untouched.  On success replace
 * (set) or extend (add) the rule set and return the number of rules parsed.
 */
int kestrel_fault_set(KestrelFaultEngine *e, const char *text,
                      char *err, size_t errlen);
int kestrel_fault_add(KestrelFaultEngine *e, const char *text,
                      char *err, size_t errlen);
void kestrel_fault_clear(KestrelFaultEngine *e);

/* Canonical text of the whole rule set, rules joined by ";". */
size_t kestrel_fault_format(const KestrelFaultEngine *e, char *buf,
                            size_t len);

/*
 * An event happened at point p.  reg is the register offset for
 * KFP_REG_READ, op the command opcode for command points (-1 when not
 * known).  Every matching, armed rule counts a hit and its trigger
 * decides whether it fires.  Returns a bitmask of the indices (into
 * e->rules) of the rules that fired, lowest index first in rule order.
 */
uint32_t kestrel_fault_eval(KestrelFaultEngine *e, KestrelFaultPoint p,
                            int reg, int op);

/* Quick test so hot paths skip eval when no rule watches a point. */
bool kestrel_fault_watches(const KestrelFaultEngine *e, KestrelFaultPoint p);

/* Count one fetched command (for "after=N"). */
void kestrel_fault_count_command(KestrelFaultEngine *e);

/* Deterministic per-rule random numbers (for flip bit positions). */
uint64_t kestrel_fault_rand(KestrelFaultRule *r);

/*
 * After loading an engine from an untrusted source (migration stream):
 * check that every rule is one the parser could have produced (its
 * canonical text parses back to the same configuration), rewrite the
 * texts, and rebuild derived state (watch_mask, a zero rng).  Returns 0,
 * or -1 if the state is invalid (then the caller should reject it).
 */
int kestrel_fault_post_load(KestrelFaultEngine *e);

#endif /* KESTREL_FAULT_H */
