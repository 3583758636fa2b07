/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A minimal Kestrel "driver" over qtest (see kdev.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kdev.h"

static const char *qemu_binary(void)
{
    const char *q = getenv("GAUNTLET_QEMU");

    return q && *q ? q : "qemu-system-x86_64";
}

/* A pcie-root-port as firmware leaves it: bus 1 behind it, windows, BME. */
static int kdev_setup_port(Kdev *k, char *err, size_t errlen)
{
    QtPciDev *p;

    if (qt_pci_find(k->qt, 0x1b36, 0x000c, 0, &p) ||
        qt_pci_cfg_write(p, 0x18, 1, 0) ||          /* primary bus */
        qt_pci_cfg_write(p, 0x19, 1, 1) ||          /* secondary bus */
        qt_pci_cfg_write(p, 0x1a, 1, 1) ||          /* subordinate bus */
        qt_pci_cfg_write(p, 0x1c, 1, 0xf0) ||       /* no I/O window */
        qt_pci_cfg_write(p, 0x1d, 1, 0x00) ||
        qt_pci_cfg_write(p, 0x20, 2, 0xe000) ||     /* memory window: */
        qt_pci_cfg_write(p, 0x22, 2, 0xfdf0) ||     /* qt's BAR area */
        qt_pci_cfg_write(p, 0x24, 2, 0xfff0) ||     /* no prefetchable */
        qt_pci_cfg_write(p, 0x26, 2, 0x0000) ||
        qt_pci_cfg_write(p, 0x04, 2, 0x0006)) {      /* MEM, MASTER */
        snprintf(err, errlen, "root port: %s", qt_error(k->qt));
        return -1;
    }
    k->port = p;
    return 0;
}

int kdev_port_setup(Kdev *k, char *err, size_t errlen)
{
    return kdev_setup_port(k, err, errlen);
}

Kdev *kdev_start(const char *dev_opts, uint64_t blocks, bool msix,
                 char *err, size_t errlen)
{
    KdevOpts o = { .dev_opts = dev_opts, .blocks = blocks, .msix = msix };

    return kdev_start_opts(&o, err, errlen);
}

/* QEMU's arguments for the machine o describes, on the image img. */
static void kdev_args(char *buf, size_t len, const KdevOpts *ko,
                      const char *img)
{
    bool root_port = ko->root_port || ko->port_type;

    /* native hotplug on the port: ACPI PCI hotplug off (q35 default on) */
    snprintf(buf, len,
             "%s%s%s-drive if=none,id=d0,file=%s,format=%s%s%s "
             "-device kestrel,id=k0,drive=d0,serial=QT-SERIAL%s%s%s%s",
             root_port ? "-global ICH9-LPC.acpi-pci-hotplug-with-"
                         "bridge-support=off -device " : "",
             root_port ? (ko->port_type ? ko->port_type : "pcie-root-port")
                       : "",
             root_port ? ",id=rp0,chassis=1,slot=1 " : "",
             img, ko->format ? ko->format : "raw",
             ko->drive_opts ? "," : "",
             ko->drive_opts ? ko->drive_opts : "",
             ko->dev_opts ? "," : "", ko->dev_opts ? ko->dev_opts : "",
             ko->msix ? "" : ",msix=off", root_port ? ",bus=rp0" : "");
}

Kdev *kdev_start_opts(const KdevOpts *ko, char *err, size_t errlen)
{
    Kdev *k = calloc(1, sizeof(*k));
    uint64_t blocks = ko->blocks;
    bool msix = ko->msix;
    bool root_port = ko->root_port || ko->port_type;
    QtOptions o = { 0 };
    int fd, i;

    if (!k) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (ko->image) {
        snprintf(k->img, sizeof(k->img), "%s", ko->image);
    } else {
        snprintf(k->img, sizeof(k->img), "/tmp/kestrel-img-XXXXXX");
        fd = mkstemp(k->img);
        if (fd < 0 || ftruncate(fd, (off_t)blocks * 512) < 0) {
            snprintf(err, errlen, "backing file: %s", strerror(errno));
            free(k);
            return NULL;
        }
        close(fd);
    }
    snprintf(k->log, sizeof(k->log), "%s.log", k->img);
    kdev_args(k->args, sizeof(k->args), ko, k->img);
    o.qemu_binary = qemu_binary();
    o.extra_args = k->args;
    o.log_path = k->log;
    o.timeout_ms = 20000;
    k->qt = qt_start(&o, err, errlen);
    if (!k->qt) {
        unlink(k->img);
        free(k);
        return NULL;
    }
    k->blocks = blocks;
    k->msix = msix;
    if (root_port && kdev_setup_port(k, err, errlen)) {
        kdev_stop(k);
        return NULL;
    }
    if (qt_pci_find_bus(k->qt, root_port ? 1 : 0, KESTREL_PCI_VENDOR_ID,
                        KESTREL_PCI_DEVICE_ID, 0, &k->pci) ||
        qt_pci_map_bars(k->pci) || qt_pci_enable(k->pci)) {
        snprintf(err, errlen, "PCI setup: %s", qt_error(k->qt));
        kdev_stop(k);
        return NULL;
    }
    if (msix) {
        if (qt_msix_enable(k->pci)) {
            snprintf(err, errlen, "MSI-X: %s", qt_error(k->qt));
            kdev_stop(k);
            return NULL;
        }
        for (i = 0; i < KESTREL_NVEC; i++) {
            if (qt_msix_vector_setup(k->pci, i, 0)) {
                snprintf(err, errlen, "MSI-X vector: %s", qt_error(k->qt));
                kdev_stop(k);
                return NULL;
            }
        }
    }
    return k;
}

int kdev_slot_power_off(Kdev *k)
{
    uint8_t cap;
    uint32_t ctl;
    int rc;

    if (!k->port) {
        return QT_ERR_INVAL;
    }
    rc = qt_pci_find_cap(k->port, 0x10, 0, &cap);   /* PCI Express */
    if (!rc) {
        rc = qt_pci_cfg_read(k->port, (uint8_t)(cap + 0x18), 2, &ctl);
    }
    if (!rc) {
        /* Slot Control: Power Indicator Off (9:8 = 11b), Power Off (10) */
        rc = qt_pci_cfg_write(k->port, (uint8_t)(cap + 0x18), 2,
                              ctl | 0x0300 | 0x0400);
    }
    return rc;
}

void kdev_stop(Kdev *k)
{
    if (!k) {
        return;
    }
    qt_stop(k->qt);
    unlink(k->img);
    unlink(k->log);
    free(k);
}

/* The last len-1 bytes of a file. */
static void file_tail(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    long size;
    size_t n = 0;

    buf[0] = '\0';
    if (!f) {
        return;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, size > (long)len - 1 ? size - (long)len + 1 : 0, SEEK_SET);
    n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

int kdev_quit(Kdev *k, char *tail, size_t len)
{
    int rc = qt_stop(k->qt);

    k->qt = NULL;
    file_tail(k->log, tail, len);
    kdev_stop(k);
    return rc;
}

int kdev_load_stream(const uint8_t *p, size_t len, uint64_t disk_blocks,
                     const char *dev_opts, char *log, size_t loglen)
{
    KdevOpts o = { .dev_opts = dev_opts, .msix = true };

    return kdev_load_stream_opts(p, len, disk_blocks, &o, NULL, NULL, log,
                                 loglen);
}

int kdev_load_stream_opts(const uint8_t *p, size_t len, uint64_t disk_blocks,
                          const KdevOpts *ko,
                          void (*loaded_cb)(QtClient *qt, void *ctx),
                          void *ctx, char *log, size_t loglen)
{
    char path[300], img[64], inc[320], args[1024], err[2048];
    const char *argv[] = { "-incoming", inc, NULL };
    QtOptions o = { 0 };
    QtClient *qt;
    FILE *f;
    int i, fd, loaded = -1;

    snprintf(img, sizeof(img), "/tmp/kestrel-img-XXXXXX");
    fd = mkstemp(img);
    if (fd < 0 || ftruncate(fd, (off_t)disk_blocks * 512)) {
        snprintf(log, loglen, "disk image %s: %s", img, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(img);
        }
        return -1;
    }
    close(fd);
    snprintf(path, sizeof(path), "%s.mig", img);
    f = fopen(path, "wb");
    if (!f || fwrite(p, 1, len, f) != len) {
        snprintf(log, loglen, "stream file %s: %s", path, strerror(errno));
        if (f) {
            fclose(f);
        }
        unlink(path);
        unlink(img);
        return -1;
    }
    fclose(f);
    snprintf(inc, sizeof(inc), "exec:cat %s", path);
    kdev_args(args, sizeof(args), ko, img);
    o.qemu_binary = getenv("GAUNTLET_QEMU");
    o.extra_args = args;
    o.extra_argv = argv;
    o.timeout_ms = 20000;
    qt = qt_start(&o, err, sizeof(err));
    if (!qt) {
        /* it may refuse before the client finished its handshake */
        snprintf(log, loglen, "%s", err);
        loaded = 0;
    }
    for (i = 0; qt && i < 400 && loaded < 0; i++) {
        QtQmpReply *r = qt_qmp(qt, "{'execute':'query-status'}");

        if (r->rc != QT_OK && r->rc != QT_ERR_QMP) {
            loaded = 0;
        } else if (r->received && !strstr(r->received, "inmigrate")) {
            loaded = 1;
        }
        qt_qmp_free(r);
        if (loaded < 0) {
            usleep(25 * 1000);
        }
    }
    if (qt && loaded == 1 && loaded_cb) {
        loaded_cb(qt, ctx);
    }
    if (qt) {
        qt_log_tail(qt, log, loglen);
        if (qt_stop(qt) != 0 && loaded == 1) {
            loaded = -1;        /* loaded, but QEMU did not quit cleanly */
        }
    }
    unlink(path);
    unlink(img);
    return loaded;
}

uint32_t kdev_rd(Kdev *k, uint32_t reg)
{
    uint64_t v = 0;

    if (qt_bar_read(k->pci, KESTREL_BAR_REGS, reg, 4, &v)) {
        return 0xdeadbeef;      /* a transport failure; tests see it */
    }
    return (uint32_t)v;
}

void kdev_wr(Kdev *k, uint32_t reg, uint32_t val)
{
    qt_bar_write(k->pci, KESTREL_BAR_REGS, reg, 4, val);
}

int kdev_enable(Kdev *k, uint32_t sq_size, uint32_t cq_size)
{
    int i;

    k->sq = qt_galloc(k->qt, (size_t)sq_size * 64, KESTREL_QUEUE_ALIGN);
    k->cq = qt_galloc(k->qt, (size_t)cq_size * 16, KESTREL_QUEUE_ALIGN);
    k->sq_size = sq_size;
    k->cq_size = cq_size;
    k->sq_tail = k->cq_head = 0;
    k->phase = 1;
    kdev_wr(k, KESTREL_REG_SQ_BASE_LO, (uint32_t)k->sq);
    kdev_wr(k, KESTREL_REG_SQ_BASE_HI, (uint32_t)(k->sq >> 32));
    kdev_wr(k, KESTREL_REG_SQ_SIZE, sq_size);
    kdev_wr(k, KESTREL_REG_CQ_BASE_LO, (uint32_t)k->cq);
    kdev_wr(k, KESTREL_REG_CQ_BASE_HI, (uint32_t)(k->cq >> 32));
    kdev_wr(k, KESTREL_REG_CQ_SIZE, cq_size);
    kdev_wr(k, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
    for (i = 0; i < 40; i++) {
        if (kdev_rd(k, KESTREL_REG_STATUS) & KESTREL_STATUS_RDY) {
            return 0;
        }
        qt_clock_step(k->qt, 100 * 1000, NULL);
    }
    return -1;
}

void kdev_submit(Kdev *k, const struct kestrel_sqe *sqe)
{
    qt_memwrite(k->qt, k->sq + (uint64_t)k->sq_tail * 64, sqe, 64);
    k->sq_tail = (k->sq_tail + 1) % k->sq_size;
    kdev_wr(k, KESTREL_REG_SQ_TAIL_DB, k->sq_tail);
}

static double kdev_wall_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool kdev_reap(Kdev *k, struct kestrel_cqe *cqe, int64_t budget_ns)
{
    int64_t spent = 0;
    double grace_end = 0;

    for (;;) {
        qt_memread(k->qt, k->cq + (uint64_t)k->cq_head * 16, cqe, 16);
        if ((cqe->status & KESTREL_CQE_PHASE) == k->phase) {
            break;
        }
        if (spent < budget_ns) {
            qt_clock_step(k->qt, 10 * 1000, NULL);
            spent += 10 * 1000;
            continue;
        }
        /*
         * The virtual budget is spent.  Backing-file I/O completes in host
         * time, which a loaded host can stretch past any number of clock
         * steps: keep polling (each command lets QEMU's main loop run its
         * completions) for up to 2 s of wall time, without granting the
         * device any more virtual time.
         */
        if (!grace_end) {
            grace_end = kdev_wall_s() + 2.0;
        } else if (kdev_wall_s() > grace_end) {
            return false;
        }
        usleep(1000);
    }
    k->cq_head++;
    if (k->cq_head == k->cq_size) {
        k->cq_head = 0;
        k->phase ^= 1;
    }
    kdev_wr(k, KESTREL_REG_CQ_HEAD_DB, k->cq_head);
    return true;
}

void kdev_sgl(Kdev *k, struct kestrel_sqe *sqe, uint64_t buf, uint32_t len,
              uint32_t nsegs)
{
    uint64_t list = qt_galloc(k->qt, nsegs * 16, 16);
    uint32_t seg = len / nsegs, i;

    for (i = 0; i < nsegs; i++) {
        struct kestrel_sg_desc d = {
            .addr = buf + (uint64_t)i * seg,
            .len = i == nsegs - 1 ? len - seg * (nsegs - 1) : seg,
            .flags = KESTREL_SG_DATA,
        };

        qt_memwrite(k->qt, list + i * 16, &d, 16);
    }
    sqe->nsegs = nsegs;
    sqe->sgl_addr = list;
    sqe->sgl_len = nsegs * 16;
}

int kdev_rw(Kdev *k, uint8_t opcode, uint64_t lba, uint32_t nblocks,
            uint64_t buf, uint32_t nsegs)
{
    struct kestrel_sqe sqe = { 0 };
    struct kestrel_cqe cqe;

    sqe.opcode = opcode;
    sqe.tag = ++k->next_tag;
    sqe.lba = lba;
    sqe.nblocks = nblocks;
    kdev_sgl(k, &sqe, buf, nblocks * 512, nsegs);
    kdev_submit(k, &sqe);
    if (!kdev_reap(k, &cqe, 50 * 1000 * 1000)) {
        return -1;
    }
    return KESTREL_CQE_STATUS(cqe.status);
}

int kdev_identify(Kdev *k, struct kestrel_identify *id)
{
    struct kestrel_sqe sqe = { 0 };
    struct kestrel_cqe cqe;
    uint64_t buf = qt_galloc(k->qt, KESTREL_IDENTIFY_SIZE, 4096);

    sqe.opcode = KESTREL_OP_IDENTIFY;
    sqe.tag = ++k->next_tag;
    kdev_sgl(k, &sqe, buf, KESTREL_IDENTIFY_SIZE, 1);
    kdev_submit(k, &sqe);
    if (!kdev_reap(k, &cqe, 50 * 1000 * 1000)) {
        return -1;
    }
    qt_memread(k->qt, buf, id, sizeof(*id));
    return KESTREL_CQE_STATUS(cqe.status);
}

static int migration_status(QtClient *qt, char *st, size_t len)
{
    QtQmpReply *r = qt_qmp(qt, "{'execute':'query-migrate'}");
    json_object *s;
    int rc = r->rc;

    st[0] = '\0';
    if (r->ret && json_object_object_get_ex(r->ret, "status", &s)) {
        snprintf(st, len, "%s", json_object_get_string(s));
    }
    qt_qmp_free(r);
    return rc;
}

static int wait_migration(QtClient *qt, char *err, size_t errlen)
{
    char st[64];
    int i;

    for (i = 0; i < 200; i++) {
        if (migration_status(qt, st, sizeof(st))) {
            snprintf(err, errlen, "query-migrate: %s", qt_error(qt));
            return -1;
        }
        if (!strcmp(st, "completed")) {
            return 0;
        }
        if (!strcmp(st, "failed")) {
            snprintf(err, errlen, "migration failed");
            return -1;
        }
        usleep(50 * 1000);
    }
    snprintf(err, errlen, "migration did not complete in 10 s (%s)", st);
    return -1;
}

int kdev_save_stream(Kdev *k, uint8_t **out, size_t *len, char *err,
                     size_t errlen)
{
    char path[300];
    FILE *f;
    long n;

    *out = NULL;
    *len = 0;
    err[0] = '\0';
    snprintf(path, sizeof(path), "%s.mig", k->img);
    if (qt_qmp_ok(k->qt, "{'execute':'stop'}") ||
        qt_qmp_ok(k->qt, "{'execute':'migrate','arguments':"
                  "{'uri':'exec:cat > %s'}}", path) ||
        wait_migration(k->qt, err, errlen)) {
        if (!err[0]) {
            snprintf(err, errlen, "save: %s", qt_error(k->qt));
        }
        unlink(path);
        return -1;
    }
    f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 ||
        fseek(f, 0, SEEK_SET) || !(*out = malloc((size_t)n)) ||
        fread(*out, 1, (size_t)n, f) != (size_t)n) {
        snprintf(err, errlen, "reading the stream %s: %s", path,
                 f ? strerror(errno ? errno : EIO) : strerror(errno));
        free(*out);
        *out = NULL;
        if (f) {
            fclose(f);
        }
        unlink(path);
        return -1;
    }
    fclose(f);
    unlink(path);
    *len = (size_t)n;
    return 0;
}

/* The destination leaves "inmigrate" once the state is loaded. */
static int wait_incoming(QtClient *qt, char *err, size_t errlen)
{
    char st[64] = "";
    int i;

    for (i = 0; i < 200; i++) {
        QtQmpReply *r = qt_qmp(qt, "{'execute':'query-status'}");
        json_object *s;

        if (r->ret && json_object_object_get_ex(r->ret, "status", &s)) {
            snprintf(st, sizeof(st), "%s", json_object_get_string(s));
        }
        qt_qmp_free(r);
        if (strcmp(st, "inmigrate") && st[0]) {
            return strcmp(st, "paused") && strcmp(st, "running") ? -1 : 0;
        }
        usleep(50 * 1000);
    }
    snprintf(err, errlen, "incoming migration did not finish in 10 s (%s)",
             st);
    return -1;
}

static int kdev_migrate_common(Kdev *k, bool stop, const char *dest_args,
                               char *err, size_t errlen)
{
    char path[300], inc[320];
    const char *argv[] = { "-incoming", inc, NULL };
    uint64_t mark = qt_galloc(k->qt, 4096, 4096);
    QtPciDev old = *k->pci;
    uint64_t msix_ram[KESTREL_NVEC] = { 0 };
    QtOptions o = { 0 };
    int rc;

    snprintf(path, sizeof(path), "%s.mig", k->img);
    snprintf(inc, sizeof(inc), "exec:cat %s", path);
    err[0] = '\0';
    if ((stop && qt_qmp_ok(k->qt, "{'execute':'stop'}")) ||
        qt_qmp_ok(k->qt, "{'execute':'migrate','arguments':"
                  "{'uri':'exec:cat > %s'}}", path) ||
        wait_migration(k->qt, err, errlen)) {
        if (!err[0]) {
            snprintf(err, errlen, "outgoing: %s", qt_error(k->qt));
        }
        return -1;
    }
    if (old.msix_ram) {
        memcpy(msix_ram, old.msix_ram, sizeof(msix_ram));
    }
    qt_stop(k->qt);
    if (dest_args) {
        snprintf(k->args, sizeof(k->args), "%s", dest_args);
    }
    o.qemu_binary = qemu_binary();
    o.extra_args = k->args;
    o.extra_argv = argv;
    o.log_path = k->log;
    o.timeout_ms = 20000;
    k->qt = qt_start(&o, err, errlen);
    if (!k->qt) {
        unlink(path);
        return -1;
    }
    rc = wait_incoming(k->qt, err, errlen);
    unlink(path);
    if (rc ||
        qt_qmp_ok(k->qt, "{'execute':'cont'}") ||
        (k->port && kdev_setup_port(k, err, errlen)) ||
        qt_pci_find_bus(k->qt, k->port ? 1 : 0, KESTREL_PCI_VENDOR_ID,
                        KESTREL_PCI_DEVICE_ID, 0, &k->pci)) {
        if (!err[0]) {
            snprintf(err, errlen, "incoming: %s", qt_error(k->qt));
        }
        return -1;
    }
    /* Config space and RAM came along; so do our records of them. */
    old.c = k->qt;
    old.msix_ram = NULL;
    if (k->pci->msix_ram) {
        old.msix_ram = k->pci->msix_ram;
    } else if (k->msix) {
        old.msix_ram = calloc(KESTREL_NVEC, sizeof(uint64_t));
    }
    if (old.msix_ram) {
        memcpy(old.msix_ram, msix_ram, sizeof(msix_ram));
    }
    *k->pci = old;
    qt_galloc_reset(k->qt, mark + 4096, 256ull << 20);
    return 0;
}

int kdev_migrate(Kdev *k, char *err, size_t errlen)
{
    return kdev_migrate_common(k, true, NULL, err, errlen);
}

int kdev_migrate_ex(Kdev *k, bool stop, const char *dest_args, char *err,
                    size_t errlen)
{
    return kdev_migrate_common(k, stop, dest_args, err, errlen);
}

/* A QMP job command (blockdev-create, job id "c") run to its end. */
static int qmp_job(QtClient *qt, const char *cmd)
{
    char st[64] = "";
    int i;

    if (qt_qmp_ok(qt, "%s", cmd)) {
        return -1;
    }
    for (i = 0; i < 250; i++) {
        QtQmpReply *r = qt_qmp(qt, "{'execute':'query-jobs'}");
        json_object *status;

        st[0] = '\0';
        if (r->ret && json_object_array_length(r->ret) > 0 &&
            json_object_object_get_ex(json_object_array_get_idx(r->ret, 0),
                                      "status", &status)) {
            snprintf(st, sizeof(st), "%s", json_object_get_string(status));
        }
        qt_qmp_free(r);
        if (!strcmp(st, "concluded")) {
            return qt_qmp_ok(qt, "{'execute':'job-dismiss','arguments':"
                             "{'id':'c'}}") ? -1 : 0;
        }
        usleep(20 * 1000);
    }
    return -1;
}

int kdev_make_qcow2(const char *path, uint64_t size, char *err,
                    size_t errlen)
{
    QtOptions o = { 0 };
    QtClient *qt;
    char cmd[512];
    int rc = -1;

    o.qemu_binary = qemu_binary();
    o.timeout_ms = 20000;
    qt = qt_start(&o, err, errlen);
    if (!qt) {
        return -1;
    }
    snprintf(cmd, sizeof(cmd), "{'execute':'blockdev-create','arguments':"
             "{'job-id':'c','options':{'driver':'file','filename':'%s',"
             "'size':0}}}", path);
    if (qmp_job(qt, cmd)) {
        snprintf(err, errlen, "create %s: %s", path, qt_error(qt));
        goto out;
    }
    snprintf(cmd, sizeof(cmd), "{'execute':'blockdev-add','arguments':"
             "{'driver':'file','filename':'%s','node-name':'proto'}}", path);
    if (qt_qmp_ok(qt, "%s", cmd)) {
        snprintf(err, errlen, "blockdev-add %s: %s", path, qt_error(qt));
        goto out;
    }
    snprintf(cmd, sizeof(cmd), "{'execute':'blockdev-create','arguments':"
             "{'job-id':'c','options':{'driver':'qcow2','file':'proto',"
             "'size':%" PRIu64 "}}}", size);
    if (qmp_job(qt, cmd)) {
        snprintf(err, errlen, "qcow2 %s: %s", path, qt_error(qt));
        goto out;
    }
    rc = 0;
out:
    if (qt_stop(qt) != 0 && !rc) {
        snprintf(err, errlen, "QEMU did not quit cleanly");
        rc = -1;
    }
    return rc;
}

int kdev_hmp(QtClient *qt, const char *line, char **out)
{
    json_object *v = json_object_new_string(line);
    QtQmpReply *r = qt_qmp(qt, "{'execute':'human-monitor-command',"
                           "'arguments':{'command-line':%s}}",
                           json_object_to_json_string(v));
    int rc = r->rc;

    json_object_put(v);
    *out = strdup(r->ret ? json_object_get_string(r->ret) : "");
    qt_qmp_free(r);
    return rc;
}

int kdev_set_faults_at(Kdev *k, const char *path, const char *rules,
                       char *err, size_t errlen)
{
    json_object *v = json_object_new_string(rules);
    QtQmpReply *r;
    int rc;

    r = qt_qmp(k->qt, "{'execute':'qom-set','arguments':{'path':'%s',"
               "'property':'faults','value':%s}}", path,
               json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    json_object_put(v);
    rc = r->rc;
    if (rc && err) {
        snprintf(err, errlen, "%s", r->err_desc ? r->err_desc
                                                : qt_error(k->qt));
    }
    qt_qmp_free(r);
    return rc;
}

int kdev_set_faults(Kdev *k, const char *rules, char *err, size_t errlen)
{
    return kdev_set_faults_at(k, KDEV_QOM, rules, err, errlen);
}

int64_t kdev_fault_fired_at(Kdev *k, const char *path, unsigned idx)
{
    json_object *list = NULL, *rule, *fired;
    int64_t v = -1;

    if (qt_qom_get(k->qt, path, "fault-stats", &list)) {
        return -1;
    }
    if (json_object_is_type(list, json_type_array) &&
        idx < json_object_array_length(list)) {
        rule = json_object_array_get_idx(list, idx);
        if (json_object_object_get_ex(rule, "fired", &fired)) {
            v = json_object_get_int64(fired);
        }
    }
    json_object_put(list);
    return v;
}

int64_t kdev_fault_fired(Kdev *k, unsigned idx)
{
    return kdev_fault_fired_at(k, KDEV_QOM, idx);
}
