/*
 * qtest_client.h - a small, self-contained client that drives a real QEMU
 * process over QEMU's qtest protocol and over QMP, to test emulated PCI
 * devices (our "Kestrel") from the outside.
 *
 * Copyright (c) Gauntlet project.  GPL-2.0-or-later (talks to QEMU; no QEMU
 * code is included).
 *
 * Overview
 * --------
 *  - qt_start() creates two listening AF_UNIX sockets in a private temp dir,
 *    spawns QEMU (fork/exec, no shell) with
 *        -machine q35 -nodefaults -display none -accel qtest (see .accel)
 *        -qtest unix:SOCK -qtest-log none -qmp unix:QMPSOCK
 *        -L <fw dirs> -m 256M  <caller's extra args>
 *    QEMU connects to both sockets (it is the client side); we accept with a
 *    deadline, read the QMP greeting and send qmp_capabilities.
 *    QEMU's stdout+stderr go to a log file (caller-named or a temp file).
 *  - Every wait is bounded by a deadline (QtOptions.timeout_ms, default 10 s).
 *    A timed-out qtest command leaves the qtest stream out of sync, so the
 *    channel is then marked broken and later qtest calls fail with
 *    QT_ERR_BROKEN (QMP stays usable: its replies are matched by "id").
 *  - When QEMU dies, calls fail with QT_ERR_DIED and qt_error() contains the
 *    exit status / signal and the tail of QEMU's log.
 *
 * Error convention
 * ----------------
 *  Functions returning int return QT_OK (0) on success and a negative QtErr
 *  on failure; the detailed, human-readable message (command sent, reply
 *  received, QEMU status, log tail...) is in qt_error(c) until the next
 *  failure.  Functions documented as "1/0/<0" return 1 for yes, 0 for no and
 *  a negative QtErr on failure.
 *
 * Interrupt observation (no guest CPU runs under -accel qtest)
 * -------------------------------------------------------------
 *  - MSI-X / MSI: the message address is pointed at a guest-RAM word; the
 *    device's MSI write then lands in RAM (the host bridge has no IOMMU), and
 *    "fired" means that word holds the programmed data.  *_fired() reads and
 *    clears it, so it counts "at least one message since last check", not
 *    how many.  Bus mastering must be enabled (qt_pci_enable() does it), or
 *    QEMU silently drops the message write.
 *  - INTx: qt_intx_setup() does "irq_intercept_in ioapic" and computes the
 *    IOAPIC input (GSI) that the device's INTx pin reaches on q35/ICH9:
 *      bus 0, slot s in 0..24, pin p (1=INTA..4=INTD):
 *          PIRQ[E+((s+p-1)%4)] -> GSI 20+((s+p-1)%4)
 *      bus 0, slots 25..29 and 31 (ICH9 DxxIR registers, default 0x3210):
 *          PIRQ[A+(p-1)] -> GSI 16+(p-1)
 *      bus 0, slot 30: PIRQ[E+(p-1)] -> GSI 20+(p-1)
 *    ICH9 always drives the IOAPIC input (PIRQ routing registers only affect
 *    the 8259 path), so no firmware setup is needed.  QEMU reports level
 *    changes as async "IRQ raise N"/"IRQ lower N" lines on the qtest stream;
 *    the client records them per line and exposes level + raise counter.
 *    Only bus-0 devices (no bridges) are supported by the GSI computation.
 *    QEMU allows irq interception of ONE device per QEMU lifetime.
 *
 * Limitations
 * -----------
 *  - PCI: devices on bus 0 only; config space through 0xcf8/0xcfc, offsets
 *    0..255 only (no extended config space: under qtest no firmware runs,
 *    so MMCONFIG is not enabled, and nothing assigns BARs either).
 *  - BARs get addresses from MMIO window [0xe0000000, 0xfe000000) and I/O
 *    window [0xc000, 0x10000) (as QEMU's libqos does for pc/q35); 64-bit
 *    BARs go there too (upper half 0) unless >= 256 MiB, which go to
 *    [2^39, 2^40).  Expansion ROMs are not mapped.
 *  - Guest RAM allocator: simple bump allocator, default [16 MiB, RAM end).
 *
 * qtest gotchas
 * -------------
 *  - The virtual clock moves only by clock_step/clock_set: QEMU timers fire
 *    only then; bottom halves and block I/O complete in real time.
 *  - QEMU g_assert()s on malformed arguments of known qtest commands (QEMU
 *    aborts); the typed calls always send well-formed lines.
 *  - "IRQ raise/lower" lines are sent only on level changes, before the OK
 *    of the command that caused them, or at any time if a bottom half or
 *    I/O completion raised the line (qt_irq_poll() collects those).
 *  - Debian's qemu-system-x86 package has no qtest accelerator (see
 *    QtOptions.accel); "-accel help" never lists qtest, so it cannot be
 *    probed that way: qt_start() fails with a hint instead.
 */
#ifndef GAUNTLET_QTEST_CLIENT_H
#define GAUNTLET_QTEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "qmp.h"     /* gauntlet_qmp (harness/) */

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

typedef enum QtErr {
    QT_OK = 0,
    QT_ERR_INVAL = -1,    /* bad argument from the caller                 */
    QT_ERR_SYS = -2,      /* a system call failed (errno text in message) */
    QT_ERR_TIMEOUT = -3,  /* deadline expired                             */
    QT_ERR_DIED = -4,     /* QEMU exited / closed its connection          */
    QT_ERR_PROTO = -5,    /* unexpected or unparsable reply               */
    QT_ERR_FAIL = -6,     /* qtest replied "FAIL ..." or "ERR ..."        */
    QT_ERR_QMP = -7,      /* QMP replied {"error": ...}                   */
    QT_ERR_NOTFOUND = -8, /* PCI device / capability not found            */
    QT_ERR_NOSPACE = -9,  /* allocator or BAR window exhausted            */
    QT_ERR_BROKEN = -10,  /* qtest stream out of sync after a timeout     */
} QtErr;

/* Static name of an error code, e.g. "timeout". */
const char *qt_strerr(int code);

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

typedef struct QtClient QtClient;

typedef struct QtOptions {
    const char *qemu_binary;        /* required: path of qemu-system-x86_64  */
    const char *machine;            /* default "q35"                         */
    unsigned mem_mb;                /* default 256                           */
    /* NULL-terminated list of -L firmware dirs.  NULL = those of
     * /usr/share/seabios and /usr/share/qemu that exist. */
    const char *const *fw_dirs;
    /* Extra QEMU args, split on whitespace (no quoting), e.g.
     * "-drive if=none,id=d0,file=/tmp/x.img,format=raw -device kestrel,drive=d0" */
    const char *extra_args;
    const char *const *extra_argv;  /* NULL-terminated, appended verbatim    */
    /* File receiving QEMU's stdout+stderr.  NULL = temp file, removed by
     * qt_stop() (its tail is still put into error messages). */
    const char *log_path;
    /* Accelerator; NULL = "qtest" (virtual clock under client control, no
     * guest CPU).  Debian's own QEMU package deletes the qtest accelerator
     * ("invalid accelerator qtest"); with any other value (e.g. "tcg") the
     * client also passes -S so no guest code ever runs, but the virtual
     * clock then stands still: qt_clock_step/qt_clock_set fail with
     * QT_ERR_INVAL and QEMU timers never fire (bottom halves and I/O still
     * complete).  Meant only for developing against such a binary. */
    const char *accel;
    int timeout_ms;                 /* every wait's deadline; default 10000  */
    /* Virtual-clock step between polls of qt_msix_wait/qt_msi_wait/
     * qt_intx_wait; default 100000 (100 us). */
    int64_t wait_step_ns;
    bool qtest_trace;               /* log every qtest command in the log   */
} QtOptions;

/* Launch QEMU and connect.  Returns NULL on failure with a message in err
 * (exec error, QEMU exit status + log tail, or timeout). */
QtClient *qt_start(const QtOptions *opt, char *err, size_t errlen);

/* "quit" over QMP, wait (bounded) for exit, SIGKILL if needed; removes the
 * sockets and the temp log.  Returns 0 if QEMU exited with status 0 after
 * quit, QT_ERR_DIED if it had died before or exited abnormally, or
 * QT_ERR_TIMEOUT if it had to be killed.  NULL is accepted. */
int qt_stop(QtClient *c);

/* 1 if QEMU runs and answers both a qtest "clock_step 0" (unless the qtest
 * channel is broken) and QMP query-status; 0 otherwise. */
int qt_alive(QtClient *c);

const char *qt_error(const QtClient *c);   /* last failure's details        */
const char *qt_log_path(const QtClient *c);
/* Copy the last (at most) n-1 bytes of QEMU's log into buf (NUL-terminated).*/
void qt_log_tail(const QtClient *c, char *buf, size_t n);
pid_t qt_pid(const QtClient *c);
/* true when running with -accel qtest (virtual clock available). */
bool qt_has_clock(const QtClient *c);
void qt_set_timeout(QtClient *c, int timeout_ms);
int qt_get_timeout(const QtClient *c);

/* ------------------------------------------------------------------ */
/* qtest primitives                                                    */
/* ------------------------------------------------------------------ */

int qt_readb(QtClient *c, uint64_t addr, uint8_t *v);
int qt_readw(QtClient *c, uint64_t addr, uint16_t *v);
int qt_readl(QtClient *c, uint64_t addr, uint32_t *v);
int qt_readq(QtClient *c, uint64_t addr, uint64_t *v);
int qt_writeb(QtClient *c, uint64_t addr, uint8_t v);
int qt_writew(QtClient *c, uint64_t addr, uint16_t v);
int qt_writel(QtClient *c, uint64_t addr, uint32_t v);
int qt_writeq(QtClient *c, uint64_t addr, uint64_t v);

int qt_inb(QtClient *c, uint16_t port, uint8_t *v);
int qt_inw(QtClient *c, uint16_t port, uint16_t *v);
int qt_inl(QtClient *c, uint16_t port, uint32_t *v);
int qt_outb(QtClient *c, uint16_t port, uint8_t v);
int qt_outw(QtClient *c, uint16_t port, uint16_t v);
int qt_outl(QtClient *c, uint16_t port, uint32_t v);

/* Bulk guest-physical memory access (base64 transfer, chunked). */
int qt_memread(QtClient *c, uint64_t addr, void *buf, size_t len);
int qt_memwrite(QtClient *c, uint64_t addr, const void *buf, size_t len);
int qt_memset(QtClient *c, uint64_t addr, uint8_t val, size_t len);

/* Advance the virtual clock by ns (ns < 0: to the next timer deadline);
 * *now (may be NULL) receives the new clock in ns. */
int qt_clock_step(QtClient *c, int64_t ns, int64_t *now);
/* Advance the virtual clock to ns (no-op if already past). */
int qt_clock_set(QtClient *c, int64_t ns, int64_t *now);

/* Send one raw qtest command line (no '\n'); reply text after "OK" (may be
 * empty) is copied to reply if non-NULL.  Escape hatch, e.g. set_irq_in.
 * Beware: QEMU asserts (aborts!) on malformed arguments of known commands. */
int qt_qtest_cmd(QtClient *c, char *reply, size_t replylen,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* IRQ interception: "irq_intercept_in PATH" (e.g. "ioapic"). */
int qt_irq_intercept_in(QtClient *c, const char *qom_path);
/* Read any async "IRQ ..." lines already sent (non-blocking). */
int qt_irq_poll(QtClient *c);
/* Recorded state of intercepted line n (0..255) as of the last reply seen
 * (call qt_irq_poll() first to catch async changes). */
bool qt_irq_level(const QtClient *c, int n);
unsigned qt_irq_raise_count(const QtClient *c, int n);

/* Generic bounded wait: repeatedly evaluate cond(ctx) (>0 done, 0 not yet,
 * <0 error, returned as is), stepping the virtual clock by step_ns (<0: to
 * next deadline; 0: not at all) between tries, for at most timeout_ms real
 * time (<= 0: the client's timeout).  Returns QT_OK or QT_ERR_TIMEOUT. */
int qt_wait_cond(QtClient *c, int (*cond)(void *ctx), void *ctx,
                 int64_t step_ns, int timeout_ms);

/* ------------------------------------------------------------------ */
/* QMP                                                                 */
/* ------------------------------------------------------------------ */

/* The QMP half is gauntlet_qmp (harness/qmp.h); these are thin wrappers
 * that add QEMU's status / log tail to errors (via its diag hook) and mark
 * QEMU dead when the QMP connection closes.  Reply fields:
 *   rc        QT_OK, QT_ERR_QMP, or a transport error (GQ_* = QT_* codes)
 *   reply     whole reply object (owned) or NULL
 *   ret       borrowed: reply["return"] or NULL
 *   err_class borrowed: reply["error"]["class"] or NULL
 *   err_desc  borrowed: reply["error"]["desc"] or NULL
 *   sent      exact text sent (NULL if nothing was sent)
 *   received  exact reply line, or NULL */
typedef GqReply QtQmpReply;

/* Send a command.  fmt is printf-style and must yield one JSON object
 * (single-quoted strings are accepted, e.g. "{'execute':'query-status'}");
 * an "id" is added.  Asynchronous events read meanwhile are queued.
 * Never returns NULL (except out of memory); free with qt_qmp_free().  On
 * failure qt_error(c) also describes the command and reply. */
QtQmpReply *qt_qmp(QtClient *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same, with a command object built by the caller (not consumed). */
QtQmpReply *qt_qmp_obj(QtClient *c, json_object *cmd);
void qt_qmp_free(QtQmpReply *r);
/* Convenience: send, discard the reply, return its rc. */
int qt_qmp_ok(QtClient *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Wait for (and dequeue) the first event named `name` (NULL = any), from
 * the queue or the socket, for at most timeout_ms (<= 0: client timeout).
 * *ev (may be NULL) receives the event object; json_object_put() it. */
int qt_qmp_wait_event(QtClient *c, const char *name, int timeout_ms,
                      json_object **ev);
void qt_qmp_drop_events(QtClient *c);

/* qom-get / qom-set of a property.  *out of qt_qom_get must be
 * json_object_put() by the caller; qt_qom_set does not consume val. */
int qt_qom_get(QtClient *c, const char *path, const char *prop,
               json_object **out);
int qt_qom_get_str(QtClient *c, const char *path, const char *prop,
                   char *buf, size_t buflen);
int qt_qom_get_int(QtClient *c, const char *path, const char *prop,
                   int64_t *out);
int qt_qom_set(QtClient *c, const char *path, const char *prop,
               json_object *val);
int qt_qom_set_str(QtClient *c, const char *path, const char *prop,
                   const char *val);
int qt_qom_set_int(QtClient *c, const char *path, const char *prop,
                   int64_t val);
int qt_qom_set_bool(QtClient *c, const char *path, const char *prop, bool val);

/* ------------------------------------------------------------------ */
/* Guest RAM allocator                                                 */
/* ------------------------------------------------------------------ */

/* Bump-allocate size bytes aligned to align (0 = 4096; power of two).  The
 * memory is zeroed.  Returns the guest-physical address, or 0 when
 * exhausted (qt_error() says so). */
uint64_t qt_galloc(QtClient *c, size_t size, size_t align);
/* Reset the allocator to [start, end) (both 0 = [16 MiB, RAM end)). */
void qt_galloc_reset(QtClient *c, uint64_t start, uint64_t end);

/* ------------------------------------------------------------------ */
/* PCI                                                                 */
/* ------------------------------------------------------------------ */

#define QT_PCI_MAX_BARS 6

typedef struct QtPciBar {
    uint64_t addr;      /* assigned address (0 = not assigned/absent)     */
    uint64_t size;      /* 0 = BAR not implemented                         */
    bool is_io;
    bool is_64;         /* occupies this and the next BAR register         */
    bool prefetch;
} QtPciBar;

typedef struct QtPciDev {
    QtClient *c;
    uint8_t bus, devfn;            /* devfn = slot << 3 | function          */
    uint16_t vendor, device;
    QtPciBar bar[QT_PCI_MAX_BARS];
    /* MSI-X state (valid after qt_msix_enable) */
    uint8_t msix_cap;              /* 0 = none                              */
    uint16_t msix_nvec;
    int msix_table_bar, msix_pba_bar;
    uint32_t msix_table_off, msix_pba_off;
    uint64_t *msix_ram;            /* per vector RAM word (0 = not set up)  */
    /* MSI state (valid after qt_msi_setup) */
    uint8_t msi_cap;
    uint64_t msi_ram;
    uint16_t msi_data;
    /* INTx (valid after qt_intx_setup) */
    int intx_gsi;                  /* -1 = not set up                       */
} QtPciDev;

/* MSI-X data value programmed for vector v / MSI data value. */
#define QT_MSIX_DATA(v) (0x4b500000u | (uint32_t)(v))
#define QT_MSI_DATA 0x4b4du

/* Scan bus 0 (all slots/functions) for the index-th (0-based) device with
 * vendor:device; *out is owned by the client (freed by qt_stop). */
int qt_pci_find(QtClient *c, uint16_t vendor, uint16_t device, unsigned index,
                QtPciDev **out);
/* The same on another bus, reached through a bridge the caller set up
 * (secondary bus number, windows, bus mastering). */
int qt_pci_find_bus(QtClient *c, uint8_t bus, uint16_t vendor,
                    uint16_t device, unsigned index, QtPciDev **out);

/* Config space access via 0xcf8/0xcfc; size 1, 2 or 4, off < 256,
 * naturally aligned. */
int qt_pci_cfg_read(QtPciDev *d, uint8_t off, int size, uint32_t *v);
int qt_pci_cfg_write(QtPciDev *d, uint8_t off, int size, uint32_t v);

/* Size every BAR (all-ones probing, decoding off meanwhile) and assign it
 * from the client's MMIO / I/O windows (aligned to its size). */
int qt_pci_map_bars(QtPciDev *d);
/* Set I/O space + memory space + bus master in the command register. */
int qt_pci_enable(QtPciDev *d);

/* Find capability id, starting after the capability at `after` (0 = from
 * the start of the list).  *off receives its offset; QT_ERR_NOTFOUND if
 * absent. */
int qt_pci_find_cap(QtPciDev *d, uint8_t cap_id, uint8_t after, uint8_t *off);

/* Access a mapped BAR (memory or I/O) at offset off; size 1, 2, 4 or 8
 * (8 on I/O BARs = two 32-bit accesses, low first). */
int qt_bar_read(QtPciDev *d, int bar, uint64_t off, int size, uint64_t *v);
int qt_bar_write(QtPciDev *d, int bar, uint64_t off, int size, uint64_t v);

/* MSI-X: locate the capability and table/PBA (BARs must be mapped), set
 * bus master, set Enable and clear Function Mask.  All vectors keep the mask
 * state the device has (masked after reset) until set up. */
int qt_msix_enable(QtPciDev *d);
int qt_msix_disable(QtPciDev *d);
/* Program vector vec: address = ram_addr (0 = allocate a word), data =
 * QT_MSIX_DATA(vec), clear the RAM word, unmask the vector. */
int qt_msix_vector_setup(QtPciDev *d, unsigned vec, uint64_t ram_addr);
int qt_msix_mask(QtPciDev *d, unsigned vec, bool masked);
/* 1/0/<0: read-and-clear the vector's RAM word. */
int qt_msix_fired(QtPciDev *d, unsigned vec);
/* 1/0/<0: the vector's Pending Bit Array bit. */
int qt_msix_pending(QtPciDev *d, unsigned vec);
/* Wait (stepping the virtual clock) until vector vec fires; the RAM word
 * is cleared.  QT_OK or QT_ERR_TIMEOUT. */
int qt_msix_wait(QtPciDev *d, unsigned vec, int timeout_ms);

/* Plain MSI, single vector (Multiple Message Enable = 0): address =
 * ram_addr (0 = allocate), data = QT_MSI_DATA, enable, bus master. */
int qt_msi_setup(QtPciDev *d, uint64_t ram_addr);
int qt_msi_fired(QtPciDev *d);                  /* 1/0/<0, read-and-clear */
int qt_msi_wait(QtPciDev *d, int timeout_ms);

/* INTx: intercept the IOAPIC inputs, compute the device's GSI (see top of
 * file), clear Interrupt Disable.  *gsi may be NULL. */
int qt_intx_setup(QtPciDev *d, int *gsi);
int qt_intx_level(QtPciDev *d);                 /* 1/0/<0, current level  */
int qt_intx_wait(QtPciDev *d, bool level, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* GAUNTLET_QTEST_CLIENT_H */
