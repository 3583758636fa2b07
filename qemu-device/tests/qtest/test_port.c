/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Gauntlet fault port (gauntlet-port) through the real QEMU binary:
 * Kestrel behind the port, programmed as a driver would, and every action
 * of the port at each of its points checked where it lands -- the backing
 * file, guest memory, the MSI-X word, the registers, config space -- plus
 * the port's properties, its fault log, migration and unplug.
 * docs/fault-port.md is the specification.
 */
#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kdev.h"

#define MS (1000 * 1000ll)
#define BLOCKS 2048
#define LEN (4 * 512)

static Kdev *k;

static void setup(void)
{
    KdevOpts o = { .blocks = BLOCKS, .msix = true,
                   .port_type = "gauntlet-port" };
    char err[2048];

    k = kdev_start_opts(&o, err, sizeof(err));
    ck_assert_msg(k, "QEMU did not start: %s", err);
    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
}

static void teardown(void)
{
    KDEV_QUIT_CHECKED(&k);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    size_t i;

    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 9));
    }
}

static void read_backing(uint64_t off, void *buf, size_t len)
{
    int fd = open(k->img, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
    close(fd);
}

static void port_faults(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void port_faults(const char *fmt, ...)
{
    char rules[512], err[512] = "";
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rules, sizeof(rules), fmt, ap);
    va_end(ap);
    ck_assert_msg(kdev_set_faults_at(k, KDEV_PORT_QOM, rules, err,
                                     sizeof(err)) == 0,
                  "rules '%s' refused: %s", rules, err);
}

static int64_t port_stat(const char *name)
{
    json_object *o = NULL, *v;
    int64_t n = -1;

    ck_assert_int_eq(qt_qom_get(k->qt, KDEV_PORT_QOM, "port-stats", &o), 0);
    if (json_object_object_get_ex(o, name, &v)) {
        n = json_object_get_int64(v);
    }
    json_object_put(o);
    return n;
}

/* The port's fault log, as the JSON array QMP returns (caller puts it). */
static json_object *port_log(void)
{
    json_object *o = NULL;

    ck_assert_int_eq(qt_qom_get(k->qt, KDEV_PORT_QOM, "fault-log", &o), 0);
    ck_assert(json_object_is_type(o, json_type_array));
    return o;
}

static const char *log_field(json_object *log, size_t i, const char *name)
{
    json_object *v;

    ck_assert_uint_lt(i, json_object_array_length(log));
    ck_assert(json_object_object_get_ex(json_object_array_get_idx(log, i),
                                        name, &v));
    return json_object_get_string(v);
}

/* ---- no rule: the port is a plain root port --------------------------- */

START_TEST(no_rule_is_transparent)
{
    uint64_t buf = qt_galloc(k->qt, LEN, 4096);
    uint8_t out[LEN], in[LEN], disk[LEN];
    struct kestrel_identify id;
    json_object *log;

    ck_assert_int_eq(kdev_identify(k, &id), 0);
    fill(out, LEN, 1);
    qt_memwrite(k->qt, buf, out, LEN);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_WRITE, 10, 4, buf, 2), 0);
    read_backing(10 * 512, disk, LEN);
    ck_assert_int_eq(memcmp(disk, out, LEN), 0);
    qt_memset(k->qt, buf, 0, LEN);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_READ, 10, 4, buf, 2), 0);
    qt_memread(k->qt, buf, in, LEN);
    ck_assert_int_eq(memcmp(in, out, LEN), 0);
    ck_assert_int_eq(qt_msix_fired(k->pci, KESTREL_VEC_CQ), 1);
    /* with no rule, not one access was looked at */
    ck_assert_int_eq(port_stat("translations"), 0);
    ck_assert_int_eq(port_stat("mmio-reads"), 0);
    log = port_log();
    ck_assert_uint_eq(json_object_array_length(log), 0);
    json_object_put(log);
}
END_TEST

START_TEST(bad_rule_changes_nothing)
{
    char err[512] = "", text[512];

    port_faults("msi:drop:nth=3");
    ck_assert_int_ne(kdev_set_faults_at(k, KDEV_PORT_QOM,
                                        "msi:drop; dma.read:explode", err,
                                        sizeof(err)), 0);
    ck_assert_msg(strstr(err, "column"), "no position: %s", err);
    /* an action the point does not take */
    ck_assert_int_ne(kdev_set_faults_at(k, KDEV_PORT_QOM, "cfg.read:drop",
                                        err, sizeof(err)), 0);
    ck_assert_int_eq(qt_qom_get_str(k->qt, KDEV_PORT_QOM, "faults", text,
                                    sizeof(text)), 0);
    ck_assert_str_eq(text, "msi:drop:nth=3");
}
END_TEST

/* ---- DMA ------------------------------------------------------------- */

START_TEST(dma_read_error_fails_the_write)
{
    uint64_t buf = qt_galloc(k->qt, LEN, 4096);
    uint8_t out[LEN], disk[LEN], zero[LEN] = { 0 };
    char addr[32];
    json_object *log;

    fill(out, LEN, 2);
    qt_memwrite(k->qt, buf, out, LEN);
    port_faults("dma.read[addr=0x%" PRIx64 "-0x%" PRIx64 "]:dma_error:once",
                buf, buf + LEN - 1);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_WRITE, 30, 4, buf, 2),
                     KESTREL_SC_DATA_XFER_ERROR);
    read_backing(30 * 512, disk, LEN);
    ck_assert_int_eq(memcmp(disk, zero, LEN), 0);     /* nothing written */
    ck_assert_int_eq(kdev_fault_fired_at(k, KDEV_PORT_QOM, 0), 1);
    ck_assert_int_ge(port_stat("refused"), 1);
    /* the log says what was injected, where */
    log = port_log();
    ck_assert_uint_eq(json_object_array_length(log), 1);
    ck_assert_str_eq(log_field(log, 0, "point"), "dma.read");
    ck_assert_str_eq(log_field(log, 0, "action"), "dma_error");
    snprintf(addr, sizeof(addr), "addr 0x%" PRIx64, buf);
    ck_assert_msg(strstr(log_field(log, 0, "detail"), addr), "detail '%s'",
                  log_field(log, 0, "detail"));
    json_object_put(log);
    /* once: the same write goes through now */
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_WRITE, 30, 4, buf, 2), 0);
    read_backing(30 * 512, disk, LEN);
    ck_assert_int_eq(memcmp(disk, out, LEN), 0);
}
END_TEST

START_TEST(dma_write_corrupt_and_drop)
{
    uint64_t buf = qt_galloc(k->qt, LEN, 4096);
    uint8_t out[LEN], in[LEN], cc[LEN];

    fill(out, LEN, 3);
    qt_memwrite(k->qt, buf, out, LEN);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_WRITE, 40, 4, buf, 2), 0);

    /* a READ's data: byte 5 of the first page written as 0xa5 */
    qt_memset(k->qt, buf, 0, LEN);
    port_faults("dma.write[addr=0x%" PRIx64 "-0x%" PRIx64 "]:"
                "corrupt(offset=5,value=0xa5):once", buf, buf + LEN - 1);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_READ, 40, 4, buf, 2), 0);
    qt_memread(k->qt, buf, in, LEN);
    ck_assert_uint_eq(in[5], 0xa5);
    ck_assert_uint_ne(out[5], 0xa5);
    in[5] = out[5];
    ck_assert_int_eq(memcmp(in, out, LEN), 0);
    ck_assert_int_eq(port_stat("data-faults-applied"), 1);

    /* dropped: the buffer keeps what it had, the command succeeds */
    memset(cc, 0xcc, LEN);
    qt_memwrite(k->qt, buf, cc, LEN);
    port_faults("dma.write[addr=0x%" PRIx64 "-0x%" PRIx64 "]:drop",
                buf, buf + LEN - 1);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_READ, 40, 4, buf, 2), 0);
    qt_memread(k->qt, buf, in, LEN);
    ck_assert_int_eq(memcmp(in, cc, LEN), 0);
    ck_assert_int_ge(kdev_fault_fired_at(k, KDEV_PORT_QOM, 0), 1);
}
END_TEST

START_TEST(dma_read_allones_and_flip)
{
    uint64_t buf = qt_galloc(k->qt, LEN, 4096);
    uint8_t out[LEN], disk[LEN], ff[512];
    int diff = 0, i, bits = 0;

    fill(out, LEN, 4);
    qt_memwrite(k->qt, buf, out, LEN);
    port_faults("dma.read[addr=0x%" PRIx64 "]:allones:once", buf);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_WRITE, 50, 4, buf, 2), 0);
    read_backing(50 * 512, disk, LEN);
    memset(ff, 0xff, sizeof(ff));
    ck_assert_int_eq(memcmp(disk, ff, 512), 0);

    port_faults("dma.read[addr=0x%" PRIx64 "]:flip(bits=3):once", buf);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_WRITE, 60, 4, buf, 2), 0);
    read_backing(60 * 512, disk, LEN);
    for (i = 0; i < LEN; i++) {
        if (disk[i] != out[i]) {
            diff = i;
            bits += __builtin_popcount(disk[i] ^ out[i]);
        }
    }
    ck_assert_int_eq(bits, 3);
    ck_assert_int_lt(diff, 8);
}
END_TEST

/* ---- MSI-X messages -------------------------------------------------- */

static void submit_read(uint16_t tag, uint64_t buf)
{
    struct kestrel_sqe sqe = { 0 };

    sqe.opcode = KESTREL_OP_READ;
    sqe.tag = tag;
    sqe.lba = 0;
    sqe.nblocks = 1;
    kdev_sgl(k, &sqe, buf, 512, 1);
    kdev_submit(k, &sqe);
}

START_TEST(msi_drop_duplicate_delay_storm)
{
    uint64_t buf = qt_galloc(k->qt, 512, 4096);
    struct kestrel_cqe cqe;
    int64_t sent;
    int storms = 0, i;

    port_faults("msi[vector=0]:drop:once");
    submit_read(1, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    ck_assert_int_eq(qt_msix_fired(k->pci, KESTREL_VEC_CQ), 0);
    submit_read(2, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    ck_assert_int_eq(qt_msix_fired(k->pci, KESTREL_VEC_CQ), 1);
    ck_assert_int_eq(kdev_fault_fired_at(k, KDEV_PORT_QOM, 0), 1);

    port_faults("msi:duplicate:once");
    sent = port_stat("msis-sent");
    submit_read(3, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    ck_assert_int_eq(port_stat("msis-sent"), sent + 2);

    port_faults("msi:delay(2ms):once");
    qt_msix_fired(k->pci, KESTREL_VEC_CQ);
    submit_read(4, buf);
    ck_assert(kdev_reap(k, &cqe, 1 * MS / 2));
    ck_assert_int_eq(qt_msix_fired(k->pci, KESTREL_VEC_CQ), 0);
    qt_clock_step(k->qt, 3 * MS, NULL);
    ck_assert_int_eq(qt_msix_fired(k->pci, KESTREL_VEC_CQ), 1);

    port_faults("msi:storm(count=10,interval=1ms):once");
    sent = port_stat("msis-sent");
    submit_read(5, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    qt_msix_fired(k->pci, KESTREL_VEC_CQ);
    for (i = 0; i < 20; i++) {
        qt_clock_step(k->qt, 1 * MS, NULL);
        storms += qt_msix_fired(k->pci, KESTREL_VEC_CQ) == 1;
    }
    ck_assert_int_eq(port_stat("msis-sent"), sent + 10);
    ck_assert_int_ge(storms, 8);
}
END_TEST

/* ---- MMIO, config space, the link ------------------------------------ */

START_TEST(mmio_and_config_reads)
{
    uint32_t v;

    port_faults("mmio.read[bar=0,off=0x0]:corrupt(value=0x1234):once");
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), 0x1234);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    ck_assert_int_eq(kdev_fault_fired_at(k, KDEV_PORT_QOM, 0), 1);

    /* another register is not touched by a filtered rule */
    port_faults("mmio.read[bar=0,off=0x4]:allones");
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);

    port_faults("cfg.read[off=0x0]:allones:once");
    ck_assert_int_eq(qt_pci_cfg_read(k->pci, 0, 2, &v), 0);
    ck_assert_uint_eq(v, 0xffff);
    ck_assert_int_eq(qt_pci_cfg_read(k->pci, 0, 2, &v), 0);
    ck_assert_uint_eq(v, KESTREL_PCI_VENDOR_ID);
}
END_TEST

START_TEST(link_down_until_replaced)
{
    uint64_t buf = qt_galloc(k->qt, 512, 4096);
    struct kestrel_cqe cqe;
    uint32_t v;
    json_object *log;

    port_faults("link:allones:once");
    /* the first transaction to cross takes the link down */
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), 0xffffffff);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_STATUS), 0xffffffff);
    ck_assert_int_eq(qt_pci_cfg_read(k->pci, 0, 4, &v), 0);
    ck_assert_uint_eq(v, 0xffffffff);
    submit_read(1, buf);                /* the doorbell is lost too */
    ck_assert(!kdev_reap(k, &cqe, 5 * MS));
    ck_assert_int_eq(port_stat("link-down"), 1);
    log = port_log();
    ck_assert_uint_eq(json_object_array_length(log), 1);
    ck_assert_str_eq(log_field(log, 0, "point"), "link");
    json_object_put(log);

    /* a new rule set brings it back */
    port_faults("%s", "");
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    ck_assert_int_eq(port_stat("link-down"), 0);
}
END_TEST

/* ---- lifecycle ------------------------------------------------------- */

START_TEST(migrate_keeps_rules_and_counters)
{
    uint64_t buf = qt_galloc(k->qt, 512, 4096);
    struct kestrel_cqe cqe;
    char err[2048], text[512];
    json_object *stats = NULL, *hits;

    port_faults("msi:drop:nth=3; mmio.read[bar=0,off=0x0]:allones:nth=5");
    submit_read(1, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    ck_assert_int_eq(kdev_migrate(k, err, sizeof(err)), 0);
    ck_assert_int_eq(qt_qom_get_str(k->qt, KDEV_PORT_QOM, "faults", text,
                                    sizeof(text)), 0);
    ck_assert_str_eq(text, "msi:drop:nth=3;"
                     "mmio.read[bar=0,off=0x0]:allones:nth=5");
    ck_assert_int_eq(qt_qom_get(k->qt, KDEV_PORT_QOM, "fault-stats", &stats),
                     0);
    ck_assert(json_object_object_get_ex(json_object_array_get_idx(stats, 0),
                                        "hits", &hits));
    ck_assert_int_eq(json_object_get_int64(hits), 1);
    json_object_put(stats);
    /* the counters go on from there: messages 2 and 3, the third dropped */
    submit_read(2, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    ck_assert_int_eq(kdev_fault_fired_at(k, KDEV_PORT_QOM, 0), 0);
    qt_msix_fired(k->pci, KESTREL_VEC_CQ);
    submit_read(3, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    ck_assert_int_eq(kdev_fault_fired_at(k, KDEV_PORT_QOM, 0), 1);
    ck_assert_int_eq(qt_msix_fired(k->pci, KESTREL_VEC_CQ), 0);
}
END_TEST

START_TEST(unplug_through_the_port)
{
    uint32_t v;

    port_faults("msi:delay(1s); mmio.read:flip:prob=0.5");
    ck_assert_int_eq(kdev_slot_power_off(k), 0);
    ck_assert_int_eq(qt_pci_cfg_read(k->pci, 0, 2, &v), 0);
    ck_assert_uint_eq(v, 0xffff);       /* gone */
    qt_clock_step(k->qt, 2000 * MS, NULL);
    ck_assert_int_eq(qt_alive(k->qt), 1);
}
END_TEST

/* ---- a hostile guest behind the port (issue 15 item 5) --------------- */

/* One command of nblocks at lba whose one data segment is at addr, any
 * address: its status, or -1 when no completion came. */
static int rw_at(uint8_t opcode, uint64_t lba, uint64_t addr, uint32_t len)
{
    struct kestrel_sqe sqe = { 0 };
    struct kestrel_cqe cqe;
    struct kestrel_sg_desc d = { addr, len, KESTREL_SG_DATA, 0 };
    uint64_t list = qt_galloc(k->qt, 16, 16);

    qt_memwrite(k->qt, list, &d, 16);
    sqe.opcode = opcode;
    sqe.tag = ++k->next_tag;
    sqe.lba = lba;
    sqe.nblocks = len / 512;
    sqe.nsegs = 1;
    sqe.sgl_addr = list;
    sqe.sgl_len = 16;
    kdev_submit(k, &sqe);
    if (!kdev_reap(k, &cqe, 20 * MS)) {
        return -1;
    }
    return KESTREL_CQE_STATUS(cqe.status);
}

static int64_t rule_stat(unsigned idx, const char *name)
{
    json_object *list = NULL, *v;
    int64_t n = -1;

    ck_assert_int_eq(qt_qom_get(k->qt, KDEV_PORT_QOM, "fault-stats", &list),
                     0);
    if (idx < json_object_array_length(list) &&
        json_object_object_get_ex(json_object_array_get_idx(list, idx), name,
                                  &v)) {
        n = json_object_get_int64(v);
    }
    json_object_put(list);
    return n;
}

static size_t port_log_len(void)
{
    json_object *log = port_log();
    size_t n = json_object_array_length(log);

    json_object_put(log);
    return n;
}

/* The device works: data written reads back through the port, and the
 * completion interrupt arrives. */
static void still_works(unsigned seed)
{
    uint64_t buf = qt_galloc(k->qt, LEN, 4096);
    uint8_t out[LEN], in[LEN];
    struct kestrel_identify id;

    ck_assert_int_eq(qt_alive(k->qt), 1);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    ck_assert_int_eq(kdev_identify(k, &id), KESTREL_SC_SUCCESS);
    ck_assert_uint_eq(id.magic, KESTREL_IDENTIFY_MAGIC);
    fill(out, LEN, seed);
    qt_memwrite(k->qt, buf, out, LEN);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_WRITE, 100 + seed, 4, buf, 2), 0);
    qt_memset(k->qt, buf, 0, LEN);
    qt_msix_fired(k->pci, KESTREL_VEC_CQ);
    ck_assert_int_eq(kdev_rw(k, KESTREL_OP_READ, 100 + seed, 4, buf, 2), 0);
    qt_memread(k->qt, buf, in, LEN);
    ck_assert_int_eq(memcmp(in, out, LEN), 0);
    qt_clock_step(k->qt, 1 * MS, NULL);
    ck_assert_int_eq(qt_msix_fired(k->pci, KESTREL_VEC_CQ), 1);
}

/*
 * Kestrel told to DMA to and from addresses no driver would use, with
 * rules armed at every DMA and message point and messages queued: QEMU
 * lives, each command completes with the status its address earns, and a
 * write into the interrupt window is messages, never a dma.write event.
 */
START_TEST(hostile_dma_addresses)
{
    uint64_t ram_end = 256ull << 20;    /* qtest_client's -m 256M */
    uint64_t port_bar, bar0 = k->pci->bar[KESTREL_BAR_REGS].addr;
    uint64_t msix_bar = k->pci->bar[KESTREL_BAR_MSIX].addr;
    int64_t msis, dropped;
    int st;

    ck_assert_int_eq(qt_pci_map_bars(k->port), 0);
    port_bar = k->port->bar[0].addr;
    ck_assert_uint_ne(port_bar, 0);
    /*
     * Rule 0 would drop a DMA write into the interrupt window, were it
     * one; rules 1 and 2 change the data at page 0 (filtered: a flip of
     * the rings or the segment list would make the statuses random); rule
     * 3 keeps a corrupt() waiting (its byte is past every write below),
     * under which messages must still be messages.
     */
    port_faults("dma.write[addr=0xfee00000-0xfeefffff]:drop;"
                "dma.write[addr=0x0-0xfff]:corrupt(offset=7,value=0x5a);"
                "dma.read[addr=0x0-0xfff]:flip(bits=2);"
                "dma.write:corrupt(offset=4000,value=0x5a):every=2;"
                "msi:delay(1ms):every=2;"
                "msi:storm(count=3,interval=100us):every=5");

    /* page 0 of RAM: plain memory, both ways */
    ck_assert_int_eq(rw_at(KESTREL_OP_READ, 0, 0, 512), KESTREL_SC_SUCCESS);
    ck_assert_int_eq(rw_at(KESTREL_OP_WRITE, 1, 0, 512), KESTREL_SC_SUCCESS);
    /* straddling the end of RAM: half of it goes nowhere */
    ck_assert_int_eq(rw_at(KESTREL_OP_READ, 0, ram_end - 256, 512),
                     KESTREL_SC_DATA_XFER_ERROR);
    ck_assert_int_eq(rw_at(KESTREL_OP_WRITE, 2, ram_end - 256, 512),
                     KESTREL_SC_DATA_XFER_ERROR);
    /* the top of the 64-bit space: its last page, and across into it */
    ck_assert_int_eq(rw_at(KESTREL_OP_READ, 0, 0xfffffffffffff000ull, 512),
                     KESTREL_SC_DATA_XFER_ERROR);
    ck_assert_int_eq(rw_at(KESTREL_OP_READ, 0, 0xffffffffffffef00ull, 512),
                     KESTREL_SC_DATA_XFER_ERROR);
    ck_assert_int_eq(rw_at(KESTREL_OP_WRITE, 3, 0xfffffffffffff000ull, 512),
                     KESTREL_SC_DATA_XFER_ERROR);

    /* into the interrupt window: 128 words, each one a message */
    msis = port_stat("msis");
    dropped = port_stat("messages-dropped");
    st = rw_at(KESTREL_OP_READ, 0, 0xfee00000ull, 512);
    ck_assert_msg(st == KESTREL_SC_SUCCESS ||
                  st == KESTREL_SC_DATA_XFER_ERROR, "status %d", st);
    ck_assert_int_eq(rule_stat(0, "hits"), 0);  /* never a dma.write */
    ck_assert_int_ge(port_stat("msis"), msis + 128);
    /* delay every second one: more than the queue holds */
    ck_assert_int_le(port_stat("messages-queued"), 64);
    ck_assert_int_gt(port_stat("messages-dropped"), dropped);
    ck_assert_int_eq(rw_at(KESTREL_OP_WRITE, 4, 0xfee00000ull, 512),
                     KESTREL_SC_SUCCESS);
    ck_assert_int_eq(rule_stat(0, "hits"), 0);

    /* into the port's own MSI-X BAR, and into Kestrel's two BARs (the
     * MSI-X table and a read-only register page) */
    ck_assert_int_ge(rw_at(KESTREL_OP_READ, 0, port_bar, 512), 0);
    ck_assert_int_ge(rw_at(KESTREL_OP_WRITE, 5, port_bar, 512), 0);
    ck_assert_int_ge(rw_at(KESTREL_OP_WRITE, 6, msix_bar, 512), 0);
    ck_assert_int_ge(rw_at(KESTREL_OP_READ, 0, msix_bar + 2048, 512), 0);
    ck_assert_int_ge(rw_at(KESTREL_OP_WRITE, 7, bar0, 512), 0);
    ck_assert_int_ge(rw_at(KESTREL_OP_READ, 0, bar0 + 0x200, 512), 0);
    ck_assert_int_eq(rule_stat(0, "hits"), 0);
    ck_assert_int_ge(rule_stat(1, "fired"), 1);
    ck_assert_int_ge(rule_stat(2, "fired"), 1);

    /* the queue drains in its time; then, with no rule, all is well */
    qt_clock_step(k->qt, 5 * MS, NULL);
    ck_assert_int_eq(port_stat("messages-queued"), 0);
    port_faults("%s", "");
    qt_msix_vector_setup(k->pci, KESTREL_VEC_CQ, 0);
    kdev_wr(k, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
    qt_clock_step(k->qt, 1 * MS, NULL);
    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    still_works(1);
}
END_TEST

/*
 * The guest rewrites the port's bridge windows, bus numbers and command
 * register, and Kestrel's MSI-X table, with a command in flight and rules
 * armed: each has its effect while it lasts, and the device works again
 * once the guest puts things back.
 */
START_TEST(hostile_config_rewrites)
{
    uint64_t buf = qt_galloc(k->qt, 512, 4096);
    uint64_t port_bar, bar0 = k->pci->bar[KESTREL_BAR_REGS].addr;
    struct kestrel_cqe cqe;
    uint32_t v, mem_window, qdepth;
    int64_t sent;

    ck_assert_int_eq(qt_pci_map_bars(k->port), 0);
    qt_pci_cfg_write(k->port, 0x04, 2, 0x0006);
    port_bar = k->port->bar[0].addr;
    qdepth = kdev_rd(k, KESTREL_REG_CAP_QDEPTH);
    port_faults("mmio.read[bar=0,off=0x4]:corrupt(value=0x77):every=2;"
                "dma.write:corrupt(offset=3,value=0x11):every=4;"
                "msi:duplicate:every=3");

    /* the memory window closed (base above limit) mid-command */
    ck_assert_int_eq(qt_pci_cfg_read(k->port, 0x20, 4, &mem_window), 0);
    submit_read(1, buf);
    qt_pci_cfg_write(k->port, 0x20, 4, 0x0000fff0);
    ck_assert_uint_ne(kdev_rd(k, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));  /* DMA does not need it */
    qt_pci_cfg_write(k->port, 0x20, 4, mem_window);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    /* a door bell lost while the window was closed is not replayed */
    submit_read(2, buf);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    ck_assert_uint_eq(cqe.tag, 2);

    /* bus numbers: secondary bus 5, Kestrel is not on bus 1 any more */
    submit_read(3, buf);
    qt_pci_cfg_write(k->port, 0x19, 1, 5);
    qt_pci_cfg_write(k->port, 0x1a, 1, 5);
    ck_assert_int_eq(qt_pci_cfg_read(k->pci, 0, 2, &v), 0);
    ck_assert_uint_eq(v, 0xffff);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    qt_pci_cfg_write(k->port, 0x19, 1, 1);
    qt_pci_cfg_write(k->port, 0x1a, 1, 1);
    ck_assert_int_eq(qt_pci_cfg_read(k->pci, 0, 2, &v), 0);
    ck_assert_uint_eq(v, KESTREL_PCI_VENDOR_ID);

    /* the port's command register: memory off, bus master off */
    submit_read(4, buf);
    qt_pci_cfg_write(k->port, 0x04, 2, 0x0000);
    ck_assert_uint_ne(kdev_rd(k, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    ck_assert_int_eq(qt_pci_cfg_read(k->pci, 0, 2, &v), 0);
    ck_assert_uint_eq(v, KESTREL_PCI_VENDOR_ID);  /* config still reaches */
    qt_clock_step(k->qt, 5 * MS, NULL);
    qt_pci_cfg_write(k->port, 0x04, 2, 0x0006);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), KESTREL_VERSION_1_0);
    ck_assert(kdev_reap(k, &cqe, 5 * MS));
    ck_assert_uint_eq(cqe.tag, 4);

    /* MSI-X vector 0 aimed at the interrupt window, at the port's BAR and
     * at Kestrel's own read-only registers, one command each */
    {
        const uint64_t targets[] = { 0xfee00000ull, port_bar,
                                     bar0 + KESTREL_REG_CAP_QDEPTH };
        uint64_t e = k->pci->msix_table_off;
        unsigned i;

        for (i = 0; i < 3; i++) {
            sent = port_stat("msis-sent");
            qt_bar_write(k->pci, k->pci->msix_table_bar, e, 4,
                         (uint32_t)targets[i]);
            qt_bar_write(k->pci, k->pci->msix_table_bar, e + 4, 4,
                         (uint32_t)(targets[i] >> 32));
            submit_read((uint16_t)(10 + i), buf);
            ck_assert(kdev_reap(k, &cqe, 5 * MS));
            ck_assert_uint_eq(cqe.tag, 10 + i);
            ck_assert_int_ge(port_stat("msis-sent"), sent + 1);
        }
        ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_CAP_QDEPTH), qdepth);
    }
    ck_assert_int_eq(qt_msix_vector_setup(k->pci, KESTREL_VEC_CQ, 0), 0);
    port_faults("%s", "");
    still_works(2);
}
END_TEST

/*
 * The rule set replaced and cleared while delayed and stormed messages
 * wait and while a corrupt() waits for the byte it changes: the messages
 * are still delivered (only a reset, an unplug or the link discard them),
 * the counters restart, the log stays, and a corrupt() whose rule is gone
 * changes nothing any more.
 */
START_TEST(hostile_rules_churn)
{
    uint64_t buf = qt_galloc(k->qt, 4096, 4096);
    uint64_t buf2 = qt_galloc(k->qt, 4096, 4096);
    uint8_t disk[4096], in[4096];
    struct kestrel_cqe cqe;
    int64_t sent, applied;
    size_t logged;
    int i;

    /* a delayed message outlives the rule that delayed it */
    port_faults("msi:delay(5ms)");
    qt_msix_fired(k->pci, KESTREL_VEC_CQ);
    submit_read(1, buf);
    ck_assert(kdev_reap(k, &cqe, 1 * MS));
    ck_assert_int_eq(port_stat("messages-queued"), 1);
    logged = port_log_len();
    ck_assert_uint_eq(logged, 1);
    port_faults("%s", "");
    ck_assert_int_eq(port_stat("faults-fired"), 0);
    ck_assert_int_eq(rule_stat(0, "fired"), -1);     /* no rule left */
    ck_assert_uint_eq(port_log_len(), logged);       /* the log stays */
    ck_assert_int_eq(port_stat("messages-queued"), 1);
    ck_assert_int_eq(qt_msix_fired(k->pci, KESTREL_VEC_CQ), 0);
    qt_clock_step(k->qt, 6 * MS, NULL);
    ck_assert_int_eq(qt_msix_fired(k->pci, KESTREL_VEC_CQ), 1);
    ck_assert_int_eq(port_stat("messages-queued"), 0);

    /* a storm goes on through a replacement of the rules */
    port_faults("msi:storm(count=20,interval=1ms):once");
    sent = port_stat("msis-sent");
    submit_read(2, buf);
    ck_assert(kdev_reap(k, &cqe, 1 * MS / 2));
    ck_assert_int_eq(port_stat("messages-queued"), 1);
    port_faults("mmio.read[bar=0,off=0x3000]:allones:nth=1000");
    ck_assert_int_eq(rule_stat(0, "hits"), 0);
    for (i = 0; i < 25; i++) {
        qt_clock_step(k->qt, 1 * MS, NULL);
    }
    ck_assert_int_eq(port_stat("msis-sent"), sent + 20);
    ck_assert_int_eq(port_stat("messages-queued"), 0);

    /* a corrupt() past the end of the access waits for the next one; the
     * rule set is cleared meanwhile: the wait ends with it */
    read_backing(0, disk, sizeof(disk));
    applied = port_stat("data-faults-applied");
    port_faults("dma.write[addr=0x%" PRIx64 "]:corrupt(offset=3000,"
                "value=0x5a):once", buf);
    ck_assert_int_eq(rw_at(KESTREL_OP_READ, 0, buf, 512), 0);
    ck_assert_int_eq(kdev_fault_fired_at(k, KDEV_PORT_QOM, 0), 1);
    ck_assert_int_eq(port_stat("data-faults-applied"), applied);
    port_faults("%s", "");
    port_faults("msi[vector=5]:drop");  /* DMA is watched again */
    qt_memset(k->qt, buf2, 0, sizeof(in));
    ck_assert_int_eq(rw_at(KESTREL_OP_READ, 0, buf2, 4096), 0);
    qt_memread(k->qt, buf2, in, sizeof(in));
    ck_assert_msg(in[3000] == disk[3000], "byte 3000 is 0x%02x, not 0x%02x: "
                  "a corrupt() of a rule set that is gone", in[3000],
                  disk[3000]);
    ck_assert_int_eq(memcmp(in, disk, sizeof(in)), 0);
    ck_assert_int_eq(port_stat("data-faults-applied"), applied);
    still_works(3);
}
END_TEST

/*
 * Unplug with delayed messages queued and a corrupt() waiting: they die
 * with the device, nothing is sent for it afterwards, and the port goes on.
 */
START_TEST(hostile_unplug_with_messages_queued)
{
    uint64_t buf = qt_galloc(k->qt, 512, 4096);
    struct kestrel_cqe cqe;
    int64_t sent;
    uint32_t v;

    port_faults("msi:delay(1s);"
                "dma.write:corrupt(offset=4000,value=0x1):once");
    submit_read(1, buf);
    ck_assert(kdev_reap(k, &cqe, 1 * MS));
    submit_read(2, buf);
    ck_assert(kdev_reap(k, &cqe, 1 * MS));
    ck_assert_int_eq(port_stat("messages-queued"), 2);
    sent = port_stat("msis-sent");
    ck_assert_int_eq(kdev_slot_power_off(k), 0);
    ck_assert_int_eq(qt_pci_cfg_read(k->pci, 0, 2, &v), 0);
    ck_assert_uint_eq(v, 0xffff);       /* gone */
    ck_assert_int_eq(port_stat("messages-queued"), 0);
    qt_clock_step(k->qt, 2000 * MS, NULL);
    ck_assert_int_eq(port_stat("msis-sent"), sent);
    port_faults("link:allones; mmio.read:flip");
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), 0xffffffff);
    port_faults("%s", "");
    ck_assert_int_eq(qt_alive(k->qt), 1);
}
END_TEST

/*
 * system_reset with the link down and messages queued: the messages die
 * with the reset, the link stays down (the rules are not the guest's to
 * reset) until the rule set is replaced, and then the device works.
 */
START_TEST(hostile_reset_link_down_messages_queued)
{
    uint64_t buf = qt_galloc(k->qt, 512, 4096);
    struct kestrel_cqe cqe;
    char err[512];
    int64_t sent;
    uint32_t v;
    int i;

    port_faults("msi:delay(1s)");
    submit_read(1, buf);
    ck_assert(kdev_reap(k, &cqe, 1 * MS));
    submit_read(2, buf);
    ck_assert(kdev_reap(k, &cqe, 1 * MS));
    ck_assert_int_eq(port_stat("messages-queued"), 2);
    /* fault-add keeps the queue; the next transaction takes the link down */
    ck_assert_int_eq(qt_qmp_ok(k->qt, "{'execute':'qom-set','arguments':"
                               "{'path':'%s','property':'fault-add',"
                               "'value':'link:allones'}}", KDEV_PORT_QOM), 0);
    ck_assert_int_eq(port_stat("link-down"), 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), 0xffffffff);
    ck_assert_int_eq(port_stat("link-down"), 1);
    ck_assert_int_eq(port_stat("messages-queued"), 2);
    sent = port_stat("msis-sent");

    qt_qmp_drop_events(k->qt);
    ck_assert_int_eq(qt_qmp_ok(k->qt, "{'execute':'system_reset'}"), 0);
    ck_assert_int_eq(qt_qmp_wait_event(k->qt, "RESET", 5000, NULL), 0);
    ck_assert_int_eq(port_stat("messages-queued"), 0);
    ck_assert_int_eq(port_stat("link-down"), 1);
    for (i = 0; i < 3; i++) {
        qt_clock_step(k->qt, 1000 * MS, NULL);
    }
    ck_assert_int_eq(port_stat("msis-sent"), sent);

    ck_assert_int_eq(kdev_port_setup(k, err, sizeof(err)), 0);
    ck_assert_int_eq(qt_pci_cfg_read(k->pci, 0, 2, &v), 0);
    ck_assert_uint_eq(v, 0xffff);       /* the link is still down */
    port_faults("%s", "");
    ck_assert_int_eq(port_stat("link-down"), 0);
    ck_assert_int_eq(qt_pci_cfg_read(k->pci, 0, 2, &v), 0);
    ck_assert_uint_eq(v, KESTREL_PCI_VENDOR_ID);
    ck_assert_int_eq(qt_pci_map_bars(k->pci), 0);
    ck_assert_int_eq(qt_pci_enable(k->pci), 0);
    ck_assert_int_eq(qt_msix_enable(k->pci), 0);
    for (i = 0; i < KESTREL_NVEC; i++) {
        ck_assert_int_eq(qt_msix_vector_setup(k->pci, i, 0), 0);
    }
    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    still_works(4);
}
END_TEST

/* ---- hostile migration streams for the port (issue 15 item 5) -------- */

#define STREAM_RULES "msi:delay(10s);mmio.read[bar=0,off=0x10]:allones:nth=1000"
#define STREAM_TEXT STREAM_RULES ";link:allones"

/*
 * Where the port's state is in a stream: gauntlet-port's fields in
 * vmstate_gport's order, found from the rule text (vm_text, 4096 bytes),
 * which follows link_down (1 byte).
 */
enum {
    S_TEXT_MAX = 4096,
    S_NRULES = S_TEXT_MAX,                      /* u32 */
    S_RULES = S_NRULES + 4 + 4 + 8 + 8,         /* per-rule arrays */
    S_MSGS = S_RULES + 32 * (4 + 8 + 8 + 8 + 8 + 8 + 4),
    S_MSG_SIZE = 1 + 1 + 2 + 4 + 8 + 8 + 4 + 8,
    S_MSG_LEFT = 24,
    S_MSG_INTERVAL = 28,
};

typedef struct PortStream {
    uint8_t *p;
    size_t len;
    size_t text;        /* offset of vm_text */
} PortStream;

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/*
 * A source with rules armed, a delayed message queued and the link down,
 * saved to a file: the stream, and where the port's state is in it.
 */
static void port_stream_save(PortStream *b)
{
    uint64_t buf = qt_galloc(k->qt, 512, 4096);
    struct kestrel_cqe cqe;
    size_t i, tl = strlen(STREAM_TEXT);

    port_faults("%s", STREAM_RULES);
    submit_read(1, buf);
    ck_assert(kdev_reap(k, &cqe, 1 * MS));
    ck_assert_int_eq(qt_qmp_ok(k->qt, "{'execute':'qom-set','arguments':"
                               "{'path':'%s','property':'fault-add',"
                               "'value':'link:allones'}}", KDEV_PORT_QOM), 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), 0xffffffff);
    ck_assert_int_eq(port_stat("link-down"), 1);
    ck_assert_int_eq(port_stat("messages-queued"), 1);
    {
        char err[256];

        ck_assert_msg(kdev_save_stream(k, &b->p, &b->len, err, sizeof(err)) == 0,
                      "%s", err);
    }
    b->text = 0;
    for (i = 0; i + tl + 1 <= b->len; i++) {
        if (!memcmp(b->p + i, STREAM_TEXT, tl + 1)) {
            ck_assert_msg(!b->text, "the rule text is in the stream twice");
            b->text = i;
        }
    }
    ck_assert_msg(b->text, "the rule text is not in the stream");
    ck_assert(b->text + S_MSGS + S_MSG_SIZE <= b->len);
    /* the fields are where this test thinks they are */
    ck_assert_uint_eq(b->p[b->text - 1], 1);                    /* link */
    ck_assert_uint_eq(get_be(b->p + b->text + S_NRULES, 4), 3);
    ck_assert_uint_eq(b->p[b->text + S_MSGS], 1);               /* used */
    ck_assert_uint_eq(get_be(b->p + b->text + S_MSGS + 8, 8),
                      k->pci->msix_ram[KESTREL_VEC_CQ]);        /* addr */
}

typedef struct Loaded {
    char faults[512];
    int64_t hits, fired, link_down, queued;
} Loaded;

static void loaded_state(QtClient *qt, void *ctx)
{
    Loaded *l = ctx;
    json_object *o = NULL, *v;

    qt_qom_get_str(qt, KDEV_PORT_QOM, "faults", l->faults,
                   sizeof(l->faults));
    if (!qt_qom_get(qt, KDEV_PORT_QOM, "fault-stats", &o)) {
        json_object *r0 = json_object_array_get_idx(o, 0);

        if (r0 && json_object_object_get_ex(r0, "hits", &v)) {
            l->hits = json_object_get_int64(v);
        }
        if (r0 && json_object_object_get_ex(r0, "fired", &v)) {
            l->fired = json_object_get_int64(v);
        }
        json_object_put(o);
    }
    if (!qt_qom_get(qt, KDEV_PORT_QOM, "port-stats", &o)) {
        if (json_object_object_get_ex(o, "link-down", &v)) {
            l->link_down = json_object_get_boolean(v);
        }
        if (json_object_object_get_ex(o, "messages-queued", &v)) {
            l->queued = json_object_get_int64(v);
        }
        json_object_put(o);
    }
}

static int port_stream_load(const PortStream *b, size_t len, Loaded *l,
                            char *log, size_t loglen)
{
    KdevOpts o = { .blocks = BLOCKS, .msix = true,
                   .port_type = "gauntlet-port" };
    int loaded;

    loaded = kdev_load_stream_opts(b->p, len, BLOCKS, &o,
                                   l ? loaded_state : NULL, l, log, loglen);
    ck_assert_msg(loaded >= 0, "QEMU neither loaded nor refused the stream, "
                  "or did not quit cleanly: %s", log);
    ck_assert_msg(!strstr(log, "AddressSanitizer") &&
                  !strstr(log, "runtime error:"),
                  "sanitizer report:\n%s", log);
    return loaded;
}

typedef struct PortMutation {
    const char *what;
    long off;                   /* from vm_text */
    uint64_t val;
    unsigned size;              /* a big-endian value of 1..8 bytes, */
    unsigned fill;              /* or fill bytes of val */
    const char *expect;         /* in QEMU's error */
} PortMutation;

/*
 * The port's state in a stream, changed: each change is refused with its
 * reason and QEMU 7.2's destination ends cleanly (it exits when a load
 * fails; the source goes on); the unchanged stream loads with the rules,
 * their counters, the link and the queue as they were.
 */
START_TEST(hostile_port_streams_refused)
{
    static const PortMutation m[] = {
        { "link_down 7", -1, 7, 1, 0, "link_down 7" },
        { "link_down 0xff", -1, 0xff, 1, 0, "link_down 255" },
        { "33 rules (more than an engine holds)", S_NRULES, 33, 4, 0,
          "migrated fault rules refused" },
        { "state for 5 rules, text for 3", S_NRULES, 5, 4, 0,
          "migrated fault rules refused" },
        { "state for 2 rules, text for 3", S_NRULES, 2, 4, 0,
          "migrated fault rules refused" },
        { "rule text that does not parse", 0, 0x6d73693a78787878ull, 8, 0,
          "migrated fault rules refused" },
        { "rule text with no NUL", 0, 'A', 0, S_TEXT_MAX,
          "migrated fault rules refused" },
        { "an endless storm", S_MSGS + S_MSG_LEFT, 0xffffffff, 4, 0,
          "migrated message 0 refused" },
        { "a storm with no interval (5 more to send, 0 ns apart)",
          S_MSGS + S_MSG_LEFT, 5, 4, 0, "migrated message 0 refused" },
        { "messages 61 s apart", S_MSGS + S_MSG_INTERVAL, 61000000000ull, 8,
          0, "migrated message 0 refused" },
        { "a message slot in use 2", S_MSGS, 2, 1, 0,
          "migrated message 0 refused" },
        { "a message slot in use 0xff", S_MSGS + 5 * S_MSG_SIZE, 0xff, 1, 0,
          "migrated message 5 refused" },
    };
    PortStream b;
    Loaded l = { .hits = -1 };
    char log[4096], report[8192] = "";
    size_t used = 0;
    unsigned i, bad = 0;

    port_stream_save(&b);
    KDEV_QUIT_CHECKED(&k);
    /* negative control: the unchanged stream loads, state and all */
    ck_assert_msg(port_stream_load(&b, b.len, &l, log, sizeof(log)) == 1,
                  "the unchanged stream was refused:\n%s", log);
    ck_assert_str_eq(l.faults, STREAM_TEXT);
    ck_assert_int_eq(l.hits, 1);
    ck_assert_int_eq(l.fired, 1);
    ck_assert_int_eq(l.link_down, 1);
    ck_assert_int_eq(l.queued, 1);
    /* truncated inside the port's state, and just after its rule text */
    ck_assert_int_eq(port_stream_load(&b, b.text + 100, NULL, log,
                                      sizeof(log)), 0);
    ck_assert_int_eq(port_stream_load(&b, b.text + S_MSGS + 10, NULL, log,
                                      sizeof(log)), 0);
    for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        uint8_t *p = b.p + (long)b.text + m[i].off;
        unsigned n = m[i].fill ? m[i].fill : m[i].size;
        static uint8_t saved[S_TEXT_MAX];
        int loaded;

        ck_assert((long)b.text + m[i].off + (long)n <= (long)b.len);
        memcpy(saved, p, n);
        if (m[i].fill) {
            memset(p, (int)m[i].val, n);
        } else {
            put_be(p, m[i].val, n);
        }
        loaded = port_stream_load(&b, b.len, NULL, log, sizeof(log));
        if (loaded || !strstr(log, m[i].expect)) {
            bad++;
            used += (size_t)snprintf(report + used, sizeof(report) - used,
                                     "  %s: %s\n", m[i].what,
                                     loaded ? "accepted"
                                            : "refused without the reason");
            used = used < sizeof(report) ? used : sizeof(report) - 1;
        }
        memcpy(p, saved, n);
    }
    free(b.p);
    ck_assert_msg(!bad, "%u of %zu hostile streams not refused:\n%s", bad,
                  sizeof(m) / sizeof(m[0]), report);
}
END_TEST

/*
 * "Refused, and QEMU runs on", literally: a running QEMU told to load an
 * internal snapshot (HMP loadvm) whose port state has link_down 7.  The
 * load fails with the reason, QEMU keeps running and answers QMP, and
 * the port takes a new rule set.
 */
START_TEST(hostile_port_snapshot_refused_qemu_runs)
{
    KdevOpts o = { .blocks = BLOCKS, .msix = true, .format = "qcow2",
                   .port_type = "gauntlet-port" };
    uint64_t buf;
    struct kestrel_cqe cqe;
    char img[64], err[2048], *out;
    size_t i, tl = strlen(STREAM_TEXT);
    long at = -1, len;
    uint8_t *p, seven = 7;
    FILE *f;

    KDEV_QUIT_CHECKED(&k);
    snprintf(img, sizeof(img), "/tmp/gport-qcow2-%d.img", (int)getpid());
    ck_assert_msg(!kdev_make_qcow2(img, BLOCKS * 512, err, sizeof(err)),
                  "%s", err);
    o.image = img;
    k = kdev_start_opts(&o, err, sizeof(err));
    ck_assert_msg(k, "QEMU did not start: %s", err);
    ck_assert_int_eq(kdev_enable(k, 8, 8), 0);
    buf = qt_galloc(k->qt, 512, 4096);
    port_faults("%s", STREAM_RULES);
    submit_read(1, buf);
    ck_assert(kdev_reap(k, &cqe, 1 * MS));
    ck_assert_int_eq(qt_qmp_ok(k->qt, "{'execute':'qom-set','arguments':"
                               "{'path':'%s','property':'fault-add',"
                               "'value':'link:allones'}}", KDEV_PORT_QOM), 0);
    ck_assert_uint_eq(kdev_rd(k, KESTREL_REG_VERSION), 0xffffffff);
    ck_assert_int_eq(kdev_hmp(k->qt, "savevm s1", &out), 0);
    free(out);
    /* negative control: the snapshot as saved loads, link and queue too */
    ck_assert_int_eq(kdev_hmp(k->qt, "loadvm s1", &out), 0);
    ck_assert_msg(!strstr(out, "rror"), "the saved snapshot: %s", out);
    free(out);
    ck_assert_int_eq(port_stat("link-down"), 1);
    ck_assert_int_eq(port_stat("messages-queued"), 1);
    ck_assert_int_eq(qt_qmp_ok(k->qt, "{'execute':'stop'}"), 0);

    f = fopen(img, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)len);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(fread(p, 1, (size_t)len, f), (size_t)len);
    for (i = 1; i + tl + 1 <= (size_t)len; i++) {
        if (!memcmp(p + i, STREAM_TEXT, tl + 1)) {
            ck_assert_msg(at < 0, "the rule text is in the image twice");
            at = (long)i;
        }
    }
    ck_assert_msg(at > 0, "the rule text is not in the image");
    ck_assert_uint_eq(p[at - 1], 1);                    /* link_down */
    fseek(f, at - 1, SEEK_SET);
    ck_assert_int_eq(fwrite(&seven, 1, 1, f), 1);
    fclose(f);
    free(p);

    ck_assert_int_eq(kdev_hmp(k->qt, "loadvm s1", &out), 0);
    ck_assert_msg(strstr(out, "gauntlet-port: migrated link_down 7 refused"),
                  "loadvm of the hostile snapshot said: %s", out);
    free(out);
    /* QEMU runs on and answers; the port takes a new rule set */
    ck_assert_int_eq(qt_alive(k->qt), 1);
    ck_assert_int_eq(qt_qmp_ok(k->qt, "{'execute':'query-status'}"), 0);
    port_faults("%s", "");
    ck_assert_int_eq(port_stat("link-down"), 0);
    ck_assert_int_eq(qt_qmp_ok(k->qt, "{'execute':'cont'}"), 0);
    ck_assert_int_eq(qt_alive(k->qt), 1);
    KDEV_QUIT_CHECKED(&k);
    unlink(img);
}
END_TEST

static Suite *port_suite(void)
{
    Suite *s = suite_create("port");
    TCase *t = tcase_create("port");

    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, no_rule_is_transparent);
    tcase_add_test(t, bad_rule_changes_nothing);
    tcase_add_test(t, dma_read_error_fails_the_write);
    tcase_add_test(t, dma_write_corrupt_and_drop);
    tcase_add_test(t, dma_read_allones_and_flip);
    tcase_add_test(t, msi_drop_duplicate_delay_storm);
    tcase_add_test(t, mmio_and_config_reads);
    tcase_add_test(t, link_down_until_replaced);
    suite_add_tcase(s, t);

    t = tcase_create("port_lifecycle");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 300);
    tcase_add_test(t, migrate_keeps_rules_and_counters);
    tcase_add_test(t, unplug_through_the_port);
    suite_add_tcase(s, t);

    t = tcase_create("port_hostile");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 300);
    tcase_add_test(t, hostile_dma_addresses);
    tcase_add_test(t, hostile_config_rewrites);
    tcase_add_test(t, hostile_rules_churn);
    tcase_add_test(t, hostile_unplug_with_messages_queued);
    tcase_add_test(t, hostile_reset_link_down_messages_queued);
    suite_add_tcase(s, t);

    t = tcase_create("port_stream");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 300);
    tcase_add_test(t, hostile_port_streams_refused);
    tcase_add_test(t, hostile_port_snapshot_refused_qemu_runs);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(port_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
