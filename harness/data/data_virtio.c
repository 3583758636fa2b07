// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * gauntlet-data virtio-queue BDF [--queue N] [--used-range] [--caps]
 *                            [--config FILE]
 *
 * The ring addresses of one virtqueue of a modern virtio-pci device, as the
 * device knows them, read from the guest through the device's
 * VIRTIO_PCI_CAP_PCI_CFG window in config space (virtio 1.x, 4.1.4.9):
 * the window's bar/offset/length select a field of the common
 * configuration, and its pci_cfg_data reads or writes it.  The common
 * configuration's queue_select is written to pick the queue, and put back
 * as it was afterwards.
 *
 * Output: "queue=N size=S desc=0x... driver=0x... device=0x... enabled=E";
 * with --used-range only the address range of the used ring's entries,
 * "0xLO-0xHI" (device + 4 .. device + 4 + 8 * size - 1: the ring after its
 * flags and idx; struct virtq_used_elem is { le32 id; le32 len; }), the
 * form a fault rule's addr= filter takes (docs/fault-port.md).
 * --caps prints where the capabilities are (the cap walk) and touches
 * nothing.  --config FILE reads FILE instead of
 * /sys/bus/pci/devices/BDF/config (tests: a config-space image).
 *
 * Errors (status 1): no such device, not a virtio device, no modern
 * common configuration, no PCI_CFG window, no such queue.  Bad usage: 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data_tool.h"

#define PCI_VENDOR_ID           0x00
#define PCI_DEVICE_ID           0x02
#define PCI_STATUS              0x06
#define  PCI_STATUS_CAP_LIST    0x10
#define PCI_CAPABILITY_LIST     0x34
#define PCI_CAP_ID_VNDR         0x09
#define PCI_CFG_SPACE_SIZE      256     /* standard capabilities live here */

#define VIRTIO_PCI_VENDOR       0x1af4

/* struct virtio_pci_cap (virtio 1.x, 4.1.4) */
#define VCAP_CFG_TYPE           3
#define VCAP_BAR                4
#define VCAP_OFFSET             8
#define VCAP_LENGTH             12
#define VCAP_LEN_MIN            16
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_PCI_CFG  5
/* struct virtio_pci_cfg_cap: the cap, then pci_cfg_data[4] */
#define VCFG_DATA               16
#define VCFG_LEN_MIN            20

/* struct virtio_pci_common_cfg */
#define CC_NUM_QUEUES           0x12
#define CC_QUEUE_SELECT         0x16
#define CC_QUEUE_SIZE           0x18
#define CC_QUEUE_ENABLE         0x1c
#define CC_QUEUE_DESC           0x20
#define CC_QUEUE_DRIVER         0x28
#define CC_QUEUE_DEVICE         0x30
#define CC_SIZE                 0x38

#define USED_RING_HDR           4       /* le16 flags, le16 idx */
#define USED_ELEM_SIZE          8

struct vq_caps {
    uint16_t vendor, device;
    unsigned common_cap;        /* config offset of the common cfg cap */
    uint8_t common_bar;
    uint32_t common_off, common_len;
    unsigned pcicfg_cap;        /* config offset of the PCI_CFG window */
};

static uint16_t le16_at(const uint8_t *b, unsigned off)
{
    return (uint16_t)(b[off] | b[off + 1] << 8);
}

static uint32_t le32_at(const uint8_t *b, unsigned off)
{
    return (uint32_t)b[off] | (uint32_t)b[off + 1] << 8 |
           (uint32_t)b[off + 2] << 16 | (uint32_t)b[off + 3] << 24;
}

/*
 * Walk the standard capability list of cfg (len bytes of config space) for
 * virtio's vendor capabilities.  0, or -1 with what is wrong in err.
 */
static int vq_walk_caps(const uint8_t *cfg, size_t len, struct vq_caps *c,
                        char *err, size_t errlen)
{
    unsigned pos, seen = 0;

    memset(c, 0, sizeof(*c));
    if (len < 0x40) {
        snprintf(err, errlen, "config space is %zu bytes, expected at least 64",
                 len);
        return -1;
    }
    c->vendor = le16_at(cfg, PCI_VENDOR_ID);
    c->device = le16_at(cfg, PCI_DEVICE_ID);
    if (c->vendor != VIRTIO_PCI_VENDOR) {
        snprintf(err, errlen, "not a virtio device (vendor 0x%04x, expected "
                 "0x%04x)", c->vendor, VIRTIO_PCI_VENDOR);
        return -1;
    }
    if (!(le16_at(cfg, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
        snprintf(err, errlen, "virtio device 0x%04x has no capability list: "
                 "not a modern (virtio 1.x) device", c->device);
        return -1;
    }
    pos = cfg[PCI_CAPABILITY_LIST] & ~3u;
    /* at most 48 capabilities fit in 192 bytes: a longer list loops */
    while (pos >= 0x40 && seen++ < 48) {
        if (pos + 2 > len || pos + 2 > PCI_CFG_SPACE_SIZE) {
            break;
        }
        if (cfg[pos] == PCI_CAP_ID_VNDR && pos + VCAP_LEN_MIN <= len &&
            cfg[pos + 2] >= VCAP_LEN_MIN) {
            uint8_t type = cfg[pos + VCAP_CFG_TYPE];

            if (type == VIRTIO_PCI_CAP_COMMON_CFG && !c->common_cap) {
                c->common_cap = pos;
                c->common_bar = cfg[pos + VCAP_BAR];
                c->common_off = le32_at(cfg, pos + VCAP_OFFSET);
                c->common_len = le32_at(cfg, pos + VCAP_LENGTH);
            } else if (type == VIRTIO_PCI_CAP_PCI_CFG && !c->pcicfg_cap &&
                       cfg[pos + 2] >= VCFG_LEN_MIN &&
                       pos + VCFG_LEN_MIN <= len) {
                c->pcicfg_cap = pos;
            }
        }
        pos = cfg[pos + 1] & ~3u;
    }
    if (!c->common_cap) {
        snprintf(err, errlen, "virtio device 0x%04x has no common configuration "
                 "capability: not a modern (virtio 1.x) device", c->device);
        return -1;
    }
    if (c->common_len < CC_SIZE) {
        snprintf(err, errlen, "the common configuration is %" PRIu32 " bytes, "
                 "expected at least %u", c->common_len, CC_SIZE);
        return -1;
    }
    if (!c->pcicfg_cap) {
        snprintf(err, errlen, "virtio device 0x%04x has no VIRTIO_PCI_CAP_PCI_CFG "
                 "window in its config space", c->device);
        return -1;
    }
    return 0;
}

/* One field of the common configuration through the PCI_CFG window. */
struct vq_window {
    int fd;
    const char *path;
    const struct vq_caps *c;
};

static void put_le32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

static void cfg_pwrite(const struct vq_window *w, const void *b, size_t n,
                       unsigned off)
{
    if (pwrite(w->fd, b, n, off) != (ssize_t)n) {
        gd_die("virtio-queue: %s: write of %zu byte(s) at config offset 0x%x: "
               "%s", w->path, n, off, errno ? strerror(errno) : "short write");
    }
}

/* Point the window at common-cfg field off, n bytes (1, 2 or 4). */
static void window_select(const struct vq_window *w, unsigned off, unsigned n)
{
    uint8_t b[4];

    b[0] = w->c->common_bar;
    cfg_pwrite(w, b, 1, w->c->pcicfg_cap + VCAP_BAR);
    put_le32(b, w->c->common_off + off);
    cfg_pwrite(w, b, 4, w->c->pcicfg_cap + VCAP_OFFSET);
    put_le32(b, n);
    cfg_pwrite(w, b, 4, w->c->pcicfg_cap + VCAP_LENGTH);
}

static uint32_t window_read(const struct vq_window *w, unsigned off, unsigned n)
{
    uint8_t b[4] = { 0 };

    window_select(w, off, n);
    errno = 0;
    if (pread(w->fd, b, n, w->c->pcicfg_cap + VCFG_DATA) != (ssize_t)n) {
        gd_die("virtio-queue: %s: read of the PCI_CFG window's data: %s",
               w->path, errno ? strerror(errno) : "short read");
    }
    return n == 1 ? b[0] : n == 2 ? le16_at(b, 0) : le32_at(b, 0);
}

static void window_write16(const struct vq_window *w, unsigned off, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

    window_select(w, off, 2);
    errno = 0;
    cfg_pwrite(w, b, 2, w->c->pcicfg_cap + VCFG_DATA);
}

static uint64_t window_read64(const struct vq_window *w, unsigned off)
{
    return window_read(w, off, 4) | (uint64_t)window_read(w, off + 4, 4) << 32;
}

static const struct option vq_options[] = {
    { "queue", required_argument, NULL, 'q' },
    { "used-range", no_argument, NULL, 'u' },
    { "caps", no_argument, NULL, 'c' },
    { "config", required_argument, NULL, 'f' },
    { NULL, 0, NULL, 0 },
};

int gd_cmd_virtio_queue(int argc, char **argv)
{
    uint64_t queue = 0, desc, driver, device;
    bool used_range = false, caps_only = false;
    const char *config = NULL, *bdf;
    char path[512], err[256];
    uint8_t cfg[PCI_CFG_SPACE_SIZE];
    uint16_t old_sel, nq, size, enabled;
    struct vq_window w;
    struct vq_caps c;
    ssize_t n;
    int o;

    while ((o = getopt_long(argc, argv, "", vq_options, NULL)) != -1) {
        switch (o) {
        case 'q':
            queue = gd_parse_u64("--queue", optarg);
            if (queue > 0xffff) {
                gd_usage_die("virtio-queue: --queue %s: expected 0..65535",
                             optarg);
            }
            break;
        case 'u':
            used_range = true;
            break;
        case 'c':
            caps_only = true;
            break;
        case 'f':
            config = optarg;
            break;
        default:
            gd_usage_die("virtio-queue: usage: virtio-queue BDF [--queue N] "
                         "[--used-range] [--caps] [--config FILE]");
        }
    }
    if (optind != argc - 1) {
        gd_usage_die("virtio-queue: exactly one BDF (e.g. 0000:01:00.0) is "
                     "needed");
    }
    bdf = argv[optind];
    if (!config) {
        if (!*bdf || strchr(bdf, '/') || strlen(bdf) > 64) {
            gd_usage_die("virtio-queue: '%s' is not a PCI address (e.g. "
                         "0000:01:00.0)", bdf);
        }
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
        config = path;
    }
    w.fd = open(config, (caps_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (w.fd < 0) {
        gd_die("virtio-queue: %s: %s%s", config, strerror(errno),
               errno == ENOENT ? " (no such PCI device)" : "");
    }
    w.path = config;
    w.c = &c;
    n = pread(w.fd, cfg, sizeof(cfg), 0);
    if (n < 0) {
        gd_die("virtio-queue: %s: %s", config, strerror(errno));
    }
    if (vq_walk_caps(cfg, (size_t)n, &c, err, sizeof(err)) < 0) {
        gd_die("virtio-queue: %s: %s", bdf, err);
    }
    if (caps_only) {
        printf("vendor=0x%04x device=0x%04x common_cap=0x%02x common_bar=%u "
               "common_offset=0x%" PRIx32 " common_length=%" PRIu32
               " pci_cfg_cap=0x%02x\n", c.vendor, c.device, c.common_cap,
               c.common_bar, c.common_off, c.common_len, c.pcicfg_cap);
        close(w.fd);
        return 0;
    }
    nq = (uint16_t)window_read(&w, CC_NUM_QUEUES, 2);
    if (queue >= nq) {
        gd_die("virtio-queue: %s: no queue %" PRIu64 ": the device has %u",
               bdf, queue, nq);
    }
    old_sel = (uint16_t)window_read(&w, CC_QUEUE_SELECT, 2);
    window_write16(&w, CC_QUEUE_SELECT, (uint16_t)queue);
    size = (uint16_t)window_read(&w, CC_QUEUE_SIZE, 2);
    enabled = (uint16_t)window_read(&w, CC_QUEUE_ENABLE, 2);
    desc = window_read64(&w, CC_QUEUE_DESC);
    driver = window_read64(&w, CC_QUEUE_DRIVER);
    device = window_read64(&w, CC_QUEUE_DEVICE);
    window_write16(&w, CC_QUEUE_SELECT, old_sel);
    close(w.fd);
    if (!size) {
        gd_die("virtio-queue: %s: queue %" PRIu64 " does not exist (size 0)",
               bdf, queue);
    }
    if (used_range) {
        if (!enabled || !device) {
            gd_die("virtio-queue: %s: queue %" PRIu64 " is not enabled (no "
                   "used ring yet: is the driver bound?)", bdf, queue);
        }
        printf("0x%" PRIx64 "-0x%" PRIx64 "\n", device + USED_RING_HDR,
               device + USED_RING_HDR + (uint64_t)USED_ELEM_SIZE * size - 1);
        return 0;
    }
    printf("queue=%" PRIu64 " size=%u desc=0x%" PRIx64 " driver=0x%" PRIx64
           " device=0x%" PRIx64 " enabled=%u\n", queue, size, desc, driver,
           device, enabled);
    return 0;
}
