/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A minimal Kestrel "driver" for device tests and the demo: it drives the
 * real QEMU binary over qtest, exactly as a guest would, with the register
 * and ring layout from kestrel_hw.h.
 */
#ifndef GAUNTLET_KDEV_H
#define GAUNTLET_KDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "kestrel_hw.h"
#include "qtest_client.h"

#define KDEV_QOM "/machine/peripheral/k0"

typedef struct Kdev {
    QtClient *qt;
    QtPciDev *pci;
    QtPciDev *port;             /* its pcie-root-port, when behind one */
    char img[256];              /* host backing file */
    char log[300];              /* QEMU's log */
    char args[1024];            /* QEMU arguments, for kdev_migrate */
    uint64_t blocks;
    bool msix;
    /* driver-side ring state */
    uint64_t sq, cq;
    uint32_t sq_size, cq_size, sq_tail, cq_head, phase;
    uint16_t next_tag;
} Kdev;

/*
 * Start QEMU with one Kestrel (id k0) on a fresh backing file of `blocks`
 * 512-byte blocks; dev_opts is appended to -device kestrel,... (may be
 * NULL).  Maps BAR0 and, when msix, sets up both MSI-X vectors.
 */
Kdev *kdev_start(const char *dev_opts, uint64_t blocks, bool msix,
                 char *err, size_t errlen);

typedef struct KdevOpts {
    const char *dev_opts;       /* appended to -device kestrel,... */
    const char *drive_opts;     /* appended to -drive ..., e.g. throttling */
    /* An existing image (removed by kdev_stop) and its format, instead of
     * a fresh raw file of `blocks` blocks. */
    const char *image;
    const char *format;
    uint64_t blocks;
    bool msix;
    /*
     * Behind a hot-pluggable pcie-root-port (id rp0) instead of on bus 0:
     * the port is given bus 1, a memory window over the BAR area and bus
     * mastering, as firmware would; see kdev_slot_power_off().
     */
    bool root_port;
    /* The root port's QEMU type (NULL: pcie-root-port), e.g. the fault
     * port "gauntlet-port"; implies root_port. */
    const char *port_type;
} KdevOpts;
Kdev *kdev_start_opts(const KdevOpts *o, char *err, size_t errlen);

/*
 * Native PCIe hot-unplug as a guest does it: Slot Control of the root
 * port, power controller and power indicator off.  QEMU unplugs the
 * device within the config write.  0, or a QtErr.
 */
int kdev_slot_power_off(Kdev *k);
/* Set the root port up again as firmware does (after a system reset). */
int kdev_port_setup(Kdev *k, char *err, size_t errlen);
void kdev_stop(Kdev *k);

/*
 * Quit QEMU, keep the last len-1 bytes of its log in tail, and free k.
 * Returns qt_stop()'s result: 0 when QEMU exited cleanly.
 */
int kdev_quit(Kdev *k, char *tail, size_t len);

/*
 * Start a QEMU with a kestrel (disk of disk_blocks, more -device options
 * dev_opts, may be NULL) that loads the migration stream p[0..len).
 * Returns 1 when it loaded and the VM runs (and QEMU then quit cleanly),
 * 0 when it refused the stream (QEMU 7.2's destination exits), -1 when
 * neither (or the test's own files failed).  log gets QEMU's log tail.
 */
int kdev_load_stream(const uint8_t *p, size_t len, uint64_t disk_blocks,
                     const char *dev_opts, char *log, size_t loglen);

/*
 * Stop k's guest and save its whole migration stream into memory: *out
 * (malloc'd) and *len.  0, or -1 with the reason in err.  The machine
 * stays stopped.
 */
int kdev_save_stream(Kdev *k, uint8_t **out, size_t *len, char *err,
                     size_t errlen);

/* The same for the machine o describes (its image: a fresh one);
 * loaded_cb (may be NULL) looks at the destination once it loaded. */
int kdev_load_stream_opts(const uint8_t *p, size_t len, uint64_t disk_blocks,
                          const KdevOpts *o,
                          void (*loaded_cb)(QtClient *qt, void *ctx),
                          void *ctx, char *log, size_t loglen);

/* In a Check test: quit *kp's QEMU (if any) and fail unless it exited
 * cleanly with no sanitizer report in its log. */
#define KDEV_QUIT_CHECKED(kp) do { \
        static char kq_tail_[16384]; \
        int kq_rc_; \
        if (!*(kp)) { \
            break; \
        } \
        kq_rc_ = kdev_quit(*(kp), kq_tail_, sizeof(kq_tail_)); \
        *(kp) = NULL; \
        ck_assert_msg(kq_rc_ == 0, "QEMU did not exit cleanly (%s); its " \
                      "log ends:\n%s", qt_strerr(kq_rc_), kq_tail_); \
        ck_assert_msg(!strstr(kq_tail_, "runtime error:") && \
                      !strstr(kq_tail_, "AddressSanitizer"), \
                      "sanitizer report:\n%s", kq_tail_); \
    } while (0)

uint32_t kdev_rd(Kdev *k, uint32_t reg);
void kdev_wr(Kdev *k, uint32_t reg, uint32_t val);

/* Program the rings, set EN and wait (virtual time) for RDY; 0 or -1. */
int kdev_enable(Kdev *k, uint32_t sq_size, uint32_t cq_size);
/* Submit one SQE (the tag field is used as given) and ring the doorbell. */
void kdev_submit(Kdev *k, const struct kestrel_sqe *sqe);
/* Poll the CQ for one entry, stepping virtual time up to budget_ns. */
bool kdev_reap(Kdev *k, struct kestrel_cqe *cqe, int64_t budget_ns);
/* Write a one-list SGL for a contiguous guest buffer split in nsegs. */
void kdev_sgl(Kdev *k, struct kestrel_sqe *sqe, uint64_t buf, uint32_t len,
              uint32_t nsegs);
/* READ or WRITE nblocks at lba from/to guest buffer buf; returns status
 * code, or -1 when no completion arrived. */
int kdev_rw(Kdev *k, uint8_t opcode, uint64_t lba, uint32_t nblocks,
            uint64_t buf, uint32_t nsegs);
/* Returns -1 when no completion came within the budget. */
int kdev_identify(Kdev *k, struct kestrel_identify *id);

/*
 * Save the running VM to a file, stop QEMU, start a new QEMU that loads
 * it with -incoming, and continue: the device must carry on where it was.
 */
int kdev_migrate(Kdev *k, char *err, size_t errlen);
/*
 * The same, live (stop = false: no "stop" first; `migrate` stops the VM
 * itself at the end) or not, into a destination started with dest_args
 * instead of the source's arguments (NULL: the same).
 */
int kdev_migrate_ex(Kdev *k, bool stop, const char *dest_args, char *err,
                    size_t errlen);

/* A qcow2 image of size bytes at path (internal snapshots: savevm and
 * loadvm), made by a QEMU of its own; 0, or -1 with err set. */
int kdev_make_qcow2(const char *path, uint64_t size, char *err,
                    size_t errlen);
/* An HMP command over QMP: its QtErr; *out gets the output (free it). */
int kdev_hmp(QtClient *qt, const char *line, char **out);

/* Fault rules over QMP: 0, or the QMP error description in err. */
int kdev_set_faults(Kdev *k, const char *rules, char *err, size_t errlen);
/* fired counter of rule number idx (0-based) from fault-stats, or -1. */
int64_t kdev_fault_fired(Kdev *k, unsigned idx);

/* The same for the fault engine of the QOM object at path (the port). */
#define KDEV_PORT_QOM "/machine/peripheral/rp0"
int kdev_set_faults_at(Kdev *k, const char *path, const char *rules,
                       char *err, size_t errlen);
int64_t kdev_fault_fired_at(Kdev *k, const char *path, unsigned idx);

#endif /* GAUNTLET_KDEV_H */
