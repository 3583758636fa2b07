// SPDX-License-Identifier: GPL-2.0
/*
 * libkvfio's real backend: a Kestrel function bound to vfio-pci, through
 * the VFIO container/group API (linux/vfio.h):
 *   /sys/bus/pci/devices/BDF/iommu_group -> /dev/vfio/GROUP, a container
 *   (/dev/vfio/vfio) with the type1 IOMMU, the device fd
 *   (VFIO_GROUP_GET_DEVICE_FD), BAR0 mmap'd (pread/pwrite when the region
 *   cannot be mapped), PCI_COMMAND through the config region, MSI-X
 *   vectors 0 and 1 and the device request (VFIO_PCI_REQ_IRQ_INDEX) on
 *   eventfds, and one timerfd: every wait is an epoll_wait on those
 *   eventfds and the timerfd armed for the wait's bound.
 * See docs/vfio.md for binding the device.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "kestrel_hw.h"
#include "kvfio.h"

struct kvfio_vfio {
	char bdf[32];
	int container, group, device;
	int irq_fd[KESTREL_NVEC];
	int req_fd;
	int timer_fd;
	int epoll_fd;
	volatile uint8_t *bar;		/* mmap of BAR0, or NULL */
	uint64_t bar_off, bar_size;	/* region offset in the device fd */
	uint64_t cfg_off;
	bool released;
};

static void vf_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int vf_map_bar(void *be, char *err, size_t errlen)
{
	struct kvfio_vfio *v = be;
	struct vfio_region_info ri = { .argsz = sizeof(ri),
				       .index = VFIO_PCI_BAR0_REGION_INDEX };
	void *p;

	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri)) {
		snprintf(err, errlen, "%s: VFIO_DEVICE_GET_REGION_INFO BAR0: %s",
			 v->bdf, strerror(errno));
		return -errno;
	}
	if (ri.size < KESTREL_BAR_REGS_SIZE) {
		snprintf(err, errlen, "%s: BAR0 is %llu bytes, Kestrel's is %u",
			 v->bdf, (unsigned long long)ri.size,
			 KESTREL_BAR_REGS_SIZE);
		return -ENODEV;
	}
	v->bar_off = ri.offset;
	v->bar_size = ri.size;
	if (ri.flags & VFIO_REGION_INFO_FLAG_MMAP) {
		p = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 v->device, (off_t)ri.offset);
		if (p != MAP_FAILED)
			v->bar = p;
	}
	return 0;
}

static uint32_t vf_read32(void *be, uint32_t off)
{
	struct kvfio_vfio *v = be;
	uint32_t val;

	if (v->released)
		return 0xffffffffu;
	if (v->bar)
		return *(volatile uint32_t *)(v->bar + off);
	if (pread(v->device, &val, 4, (off_t)(v->bar_off + off)) != 4)
		return 0xffffffffu;
	return val;
}

static void vf_write32(void *be, uint32_t off, uint32_t val)
{
	struct kvfio_vfio *v = be;

	if (v->released)
		return;
	if (v->bar) {
		*(volatile uint32_t *)(v->bar + off) = val;
		return;
	}
	if (pwrite(v->device, &val, 4, (off_t)(v->bar_off + off)) != 4)
		return;	/* a failed posted write is what a gone device does */
}

static int vf_dma_map(void *be, void *vaddr, uint64_t iova, size_t len)
{
	struct kvfio_vfio *v = be;
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = len,
	};

	if (v->released)
		return -ENODEV;
	return ioctl(v->container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
}

static int vf_dma_unmap(void *be, uint64_t iova, size_t len)
{
	struct kvfio_vfio *v = be;
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = iova, .size = len,
	};

	if (v->released)
		return -ENODEV;
	return ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &u) ? -errno : 0;
}

static int vf_wait(void *be, uint32_t timeout_ms, uint32_t *events)
{
	struct kvfio_vfio *v = be;
	struct itimerspec its = {
		.it_value.tv_sec = timeout_ms / 1000,
		.it_value.tv_nsec = (long)(timeout_ms % 1000) * 1000000,
	};
	struct epoll_event ev[4];
	uint64_t cnt;
	int n, i;

	*events = 0;
	if (v->released)
		return -ENODEV;
	if (!timeout_ms)
		its.it_value.tv_nsec = 1;	/* 0 would disarm it */
	if (timerfd_settime(v->timer_fd, 0, &its, NULL))
		return -errno;
	for (;;) {
		n = epoll_wait(v->epoll_fd, ev, 4, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		break;
	}
	for (i = 0; i < n; i++) {
		uint32_t what = ev[i].data.u32;

		switch (what) {
		case 0:
		case 1:
			if (read(v->irq_fd[what], &cnt, 8) == 8)
				*events |= what ? KVFIO_EV_ERROR : KVFIO_EV_CQ;
			break;
		case 2:
			if (read(v->req_fd, &cnt, 8) == 8)
				*events |= KVFIO_EV_REQUEST;
			break;
		default:
			if (read(v->timer_fd, &cnt, 8) != 8)
				cnt = 0;
			break;
		}
	}
	return 0;
}

static uint64_t vf_now(void *be)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int vf_reset(void *be)
{
	struct kvfio_vfio *v = be;
	struct vfio_device_info di = { .argsz = sizeof(di) };

	if (v->released)
		return -ENODEV;
	if (ioctl(v->device, VFIO_DEVICE_GET_INFO, &di))
		return -errno;
	if (!(di.flags & VFIO_DEVICE_FLAGS_RESET))
		return -ENOTTY;
	return ioctl(v->device, VFIO_DEVICE_RESET) ? -errno : 0;
}

static int vf_cfg_rw(struct kvfio_vfio *v, bool write, uint32_t off,
		     void *buf, size_t len)
{
	ssize_t r = write ? pwrite(v->device, buf, len, (off_t)(v->cfg_off + off))
			  : pread(v->device, buf, len, (off_t)(v->cfg_off + off));

	return r == (ssize_t)len ? 0 : -EIO;
}

static bool vf_present(void *be)
{
	struct kvfio_vfio *v = be;
	uint16_t vendor = 0xffff;

	if (v->released)
		return false;
	if (vf_cfg_rw(v, false, PCI_VENDOR_ID, &vendor, 2))
		return false;
	return vendor != 0xffff;
}

static void vf_bus_master(void *be, bool on)
{
	struct kvfio_vfio *v = be;
	uint16_t cmd;

	if (v->released || vf_cfg_rw(v, false, PCI_COMMAND, &cmd, 2))
		return;
	cmd |= PCI_COMMAND_MEMORY;
	if (on)
		cmd |= PCI_COMMAND_MASTER;
	else
		cmd &= ~PCI_COMMAND_MASTER;
	vf_cfg_rw(v, true, PCI_COMMAND, &cmd, 2);
}

static void vf_teardown(struct kvfio_vfio *v)
{
	int i;

	if (v->bar)
		munmap((void *)v->bar, v->bar_size);
	v->bar = NULL;
	vf_close_fd(&v->epoll_fd);
	vf_close_fd(&v->timer_fd);
	for (i = 0; i < KESTREL_NVEC; i++)
		vf_close_fd(&v->irq_fd[i]);
	vf_close_fd(&v->req_fd);
	/* Closing the device, group and container unmaps all our DMA. */
	vf_close_fd(&v->device);
	vf_close_fd(&v->group);
	vf_close_fd(&v->container);
}

static void vf_release(void *be)
{
	struct kvfio_vfio *v = be;

	vf_teardown(v);
	v->released = true;
}

static void vf_destroy(void *be)
{
	struct kvfio_vfio *v = be;

	vf_teardown(v);
	free(v);
}

static const struct kvfio_backend_ops kvfio_vfio_ops = {
	.name = "vfio",
	.map_bar = vf_map_bar,
	.read32 = vf_read32,
	.write32 = vf_write32,
	.dma_map = vf_dma_map,
	.dma_unmap = vf_dma_unmap,
	.wait = vf_wait,
	.now_ms = vf_now,
	.reset = vf_reset,
	.present = vf_present,
	.bus_master = vf_bus_master,
	.release = vf_release,
	.destroy = vf_destroy,
};

/* An eventfd on one interrupt index (start..start+count). */
static int vf_set_irqs(struct kvfio_vfio *v, uint32_t index, const int *fds,
		       uint32_t count)
{
	char buf[sizeof(struct vfio_irq_set) + 8 * sizeof(int)];
	struct vfio_irq_set *set = (void *)buf;

	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(*set) + count * sizeof(int);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = index;
	set->start = 0;
	set->count = count;
	memcpy(set->data, fds, count * sizeof(int));
	return ioctl(v->device, VFIO_DEVICE_SET_IRQS, set) ? -errno : 0;
}

static int vf_epoll_add(struct kvfio_vfio *v, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(v->epoll_fd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

#define FAIL(code, ...) do {					\
		ret = (code);					\
		snprintf(err, errlen, __VA_ARGS__);		\
		goto fail;					\
	} while (0)

static int vf_open(struct kvfio_vfio *v, const char *bdf, char *err,
		   size_t errlen)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg),
					.index = VFIO_PCI_CONFIG_REGION_INDEX };
	struct vfio_irq_info ii = { .argsz = sizeof(ii) };
	char path[PATH_MAX], link[PATH_MAX], *grp;
	ssize_t n;
	uint16_t ids[2];
	int ret, i, type;

	snprintf(v->bdf, sizeof(v->bdf), "%s", bdf);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		FAIL(-errno, "%s: no IOMMU group (%s: %s): is the device there "
		     "and the IOMMU on (intel_iommu=on)?", bdf, path,
		     strerror(errno));
	link[n] = 0;
	grp = basename(link);
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		FAIL(-errno, "/dev/vfio/vfio: %s (modprobe vfio-pci?)",
		     strerror(errno));
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		FAIL(-EINVAL, "/dev/vfio/vfio: unknown VFIO API version");
	type = ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0 ?
	       VFIO_TYPE1v2_IOMMU : VFIO_TYPE1_IOMMU;
	if (type == VFIO_TYPE1_IOMMU &&
	    ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) <= 0)
		FAIL(-ENODEV, "/dev/vfio/vfio: no type1 IOMMU support");
	snprintf(path, sizeof(path), "/dev/vfio/%s", grp);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0)
		FAIL(-errno, "%s: %s (is %s bound to vfio-pci? %s)", path,
		     strerror(errno), bdf,
		     errno == EBUSY ? "another process holds the group" :
		     "see docs/vfio.md");
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &gs))
		FAIL(-errno, "%s: VFIO_GROUP_GET_STATUS: %s", path,
		     strerror(errno));
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		FAIL(-EBUSY, "%s: group not viable: bind every device of "
		     "group %s to vfio-pci", path, grp);
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container))
		FAIL(-errno, "%s: VFIO_GROUP_SET_CONTAINER: %s", path,
		     strerror(errno));
	if (ioctl(v->container, VFIO_SET_IOMMU, type))
		FAIL(-errno, "VFIO_SET_IOMMU type1: %s", strerror(errno));
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (v->device < 0)
		FAIL(-errno, "%s: VFIO_GROUP_GET_DEVICE_FD: %s", bdf,
		     strerror(errno));
	if (ioctl(v->device, VFIO_DEVICE_GET_INFO, &di) ||
	    !(di.flags & VFIO_DEVICE_FLAGS_PCI))
		FAIL(-ENODEV, "%s: not a vfio-pci device", bdf);
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &cfg))
		FAIL(-errno, "%s: config region: %s", bdf, strerror(errno));
	v->cfg_off = cfg.offset;
	if (vf_cfg_rw(v, false, PCI_VENDOR_ID, ids, 4) ||
	    ids[0] != KESTREL_PCI_VENDOR_ID || ids[1] != KESTREL_PCI_DEVICE_ID)
		FAIL(-ENODEV, "%s: %04x:%04x is not a Kestrel (%04x:%04x)", bdf,
		     ids[0], ids[1], KESTREL_PCI_VENDOR_ID,
		     KESTREL_PCI_DEVICE_ID);

	v->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (v->epoll_fd < 0 || v->timer_fd < 0)
		FAIL(-errno, "epoll/timerfd: %s", strerror(errno));
	ii.index = VFIO_PCI_MSIX_IRQ_INDEX;
	if (ioctl(v->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) ||
	    ii.count < KESTREL_NVEC)
		FAIL(-ENODEV, "%s: MSI-X with %d vectors needed (msix=on)",
		     bdf, KESTREL_NVEC);
	for (i = 0; i < KESTREL_NVEC; i++) {
		v->irq_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->irq_fd[i] < 0)
			FAIL(-errno, "eventfd: %s", strerror(errno));
		ret = vf_epoll_add(v, v->irq_fd[i], (uint32_t)i);
		if (ret)
			FAIL(ret, "epoll_ctl: %s", strerror(-ret));
	}
	ret = vf_set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, v->irq_fd, KESTREL_NVEC);
	if (ret)
		FAIL(ret, "%s: VFIO_DEVICE_SET_IRQS MSI-X: %s", bdf,
		     strerror(-ret));
	ii.index = VFIO_PCI_REQ_IRQ_INDEX;
	ii.argsz = sizeof(ii);
	if (ioctl(v->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) || ii.count < 1)
		FAIL(-ENODEV, "%s: no device-request interrupt "
		     "(VFIO_PCI_REQ_IRQ_INDEX)", bdf);
	v->req_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->req_fd < 0)
		FAIL(-errno, "eventfd: %s", strerror(errno));
	ret = vf_set_irqs(v, VFIO_PCI_REQ_IRQ_INDEX, &v->req_fd, 1);
	if (ret)
		FAIL(ret, "%s: VFIO_DEVICE_SET_IRQS request: %s", bdf,
		     strerror(-ret));
	ret = vf_epoll_add(v, v->req_fd, 2);
	if (!ret)
		ret = vf_epoll_add(v, v->timer_fd, 3);
	if (ret)
		FAIL(ret, "epoll_ctl: %s", strerror(-ret));
	/* Memory space on, bus mastering only once a reset was seen done. */
	vf_bus_master(v, false);
	return 0;
fail:
	return ret;
}

int kvfio_open_vfio(struct kvfio_dev **out, const char *bdf,
		    const struct kvfio_opts *opts, char *err, size_t errlen)
{
	struct kvfio_vfio *v = calloc(1, sizeof(*v));
	int ret, i;

	*out = NULL;
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	v->container = v->group = v->device = -1;
	v->req_fd = v->timer_fd = v->epoll_fd = -1;
	for (i = 0; i < KESTREL_NVEC; i++)
		v->irq_fd[i] = -1;
	ret = vf_open(v, bdf, err, errlen);
	if (ret) {
		vf_destroy(v);
		return ret;
	}
	return kvfio_open(out, &kvfio_vfio_ops, v, opts, err, errlen);
}
