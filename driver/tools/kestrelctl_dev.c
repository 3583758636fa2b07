// SPDX-License-Identifier: GPL-2.0
/*
 * kestrelctl's device seam (kestrelctl_dev.h).
 *
 * vfio:BDF opens libkvfio once per process, whichever thread asks first
 * (stress opens the device in every thread); the file descriptors handed
 * out are /dev/null's, so close() stays harmless, and kdev_ioctl() sends
 * every request to the one driver.  It is closed at exit: the controller
 * is left reset, bus mastering off, and the counters directory
 * (${KVFIO_STATE_DIR:-/run/kvfio}/BDF, and the symlink last -> BDF of
 * the device opened last) up to date.
 *
 * The driver's settings come from the environment, as module parameters
 * come from the load line for kestrel.ko:
 *   KVFIO_TIMEOUT_MS               command timeout (default 5000)
 *   KVFIO_MAX_RETRIES              resubmissions after resets (default 2)
 *   KVFIO_QDEPTH                   queue entries (default 64)
 *   KVFIO_IGNORE_UNPLUG_REQUEST=1  as --ignore-unplug-request
 *
 * The test build kestrelctl-double (KESTRELCTL_DOUBLE; never the guest's)
 * also takes the device "double:": the same libkvfio on Kestrel's device
 * core in-process (kvfio_double.c), so the commands are tested end to end
 * without VFIO or a VM (driver/vfio/tests/kestrelctl-double.sh):
 *   KVFIO_DOUBLE_DISK=FILE       raw image loaded at open, saved at exit
 *   KVFIO_DOUBLE_BLOCKS=N        capacity in 512-byte blocks (16384)
 *   KVFIO_DOUBLE_FAULTS=RULES    Kestrel fault rules, set after open
 *   KVFIO_DOUBLE_REQUEST_MS=N    device request N virtual ms after open
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kestrelctl_dev.h"
#include "kvfio.h"
#ifdef KESTRELCTL_DOUBLE
#include "kvfio_double.h"
#define KDEV_DOUBLE_PREFIX	"double:"
static struct kvfio_double *kdev_double;
static const char *kdev_double_disk;
#endif

static pthread_mutex_t kdev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kvfio_dev *kdev_vfio;
static bool kdev_ignore_unplug;
static char kdev_counters[256];

bool kdev_is_vfio(const char *path)
{
#ifdef KESTRELCTL_DOUBLE
	if (!strncmp(path, KDEV_DOUBLE_PREFIX, strlen(KDEV_DOUBLE_PREFIX)))
		return true;
#endif
	return !strncmp(path, KDEV_VFIO_PREFIX, strlen(KDEV_VFIO_PREFIX)) ||
	       !strncmp(path, KDEV_SYSFS_PREFIX, strlen(KDEV_SYSFS_PREFIX));
}

/*
 * "vfio:BDF" or "/sys/bus/pci/devices/BDF" -> BDF; "double:" -> "double".
 * The sysfs form names a path that exists only while the function does,
 * so a script can wait for it to go after an unplug.
 */
static const char *kdev_name(const char *path)
{
	const char *c;

	if (!strncmp(path, KDEV_SYSFS_PREFIX, strlen(KDEV_SYSFS_PREFIX)))
		return path + strlen(KDEV_SYSFS_PREFIX);
	c = strchr(path, ':');
	return c && c[1] ? c + 1 : "double";
}

void kdev_set_ignore_unplug_request(bool on)
{
	kdev_ignore_unplug = on;
}

const char *kdev_counters_dir(const char *path, char *buf, size_t len)
{
	if (!kdev_is_vfio(path))
		return NULL;
	kvfio_counters_path(kdev_name(path), buf, len);
	return buf;
}

static void kdev_atexit(void)
{
	struct kvfio_dev *d;

	pthread_mutex_lock(&kdev_lock);
	d = kdev_vfio;
	kdev_vfio = NULL;
	pthread_mutex_unlock(&kdev_lock);
	kvfio_close(d);
#ifdef KESTRELCTL_DOUBLE
	if (kdev_double && kdev_double_disk) {
		size_t len;
		uint8_t *disk = kvfio_double_disk(kdev_double, &len);
		FILE *f = fopen(kdev_double_disk, "we");

		if (!f || fwrite(disk, 1, len, f) != len || fclose(f))
			fprintf(stderr, "kestrelctl: cannot save %s\n",
				kdev_double_disk);
	}
	kvfio_double_free(kdev_double);
	kdev_double = NULL;
#endif
}

static int env_u32(const char *name, uint32_t def, uint32_t *out,
		   char *err, size_t errlen)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	*out = def;
	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v > UINT32_MAX) {
		snprintf(err, errlen, "%s=%s: not a number", name, s);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

/*
 * ${KVFIO_STATE_DIR:-/run/kvfio}/last -> the BDF opened last: a fixed
 * path for a target's stats key, whatever slot the device sits in.
 */
static void kdev_link_last(const char *bdf)
{
	char link[300], tmp[320];
	char *slash;

	snprintf(link, sizeof(link), "%s", kdev_counters);
	slash = strrchr(link, '/');
	if (!slash)
		return;
	snprintf(slash + 1, sizeof(link) - (size_t)(slash + 1 - link), "last");
	snprintf(tmp, sizeof(tmp), "%s.%d", link, (int)getpid());
	if (symlink(bdf, tmp) == 0 && rename(tmp, link) != 0)
		unlink(tmp);
}

#ifdef KESTRELCTL_DOUBLE
static int kdev_open_double(const struct kvfio_opts *o, char *err,
			    size_t errlen)
{
	struct kvfio_double_config cfg = { .max_segments = 256 };
	const char *rules = getenv("KVFIO_DOUBLE_FAULTS");
	uint32_t blocks, req;
	size_t len;
	uint8_t *disk;
	FILE *f;
	int ret;

	if (env_u32("KVFIO_DOUBLE_BLOCKS", 16384, &blocks, err, errlen) ||
	    env_u32("KVFIO_DOUBLE_REQUEST_MS", 0, &req, err, errlen))
		return -EINVAL;
	cfg.capacity_blocks = blocks;
	kdev_double = kvfio_double_new(&cfg, err, errlen);
	if (!kdev_double)
		return -EINVAL;
	kdev_double_disk = getenv("KVFIO_DOUBLE_DISK");
	disk = kvfio_double_disk(kdev_double, &len);
	if (kdev_double_disk) {
		f = fopen(kdev_double_disk, "re");
		if (f) {
			if (fread(disk, 1, len, f) == 0 && ferror(f)) {
				snprintf(err, errlen, "%s: read error",
					 kdev_double_disk);
				fclose(f);
				return -EIO;
			}
			fclose(f);
		}
	}
	ret = kvfio_open(&kdev_vfio, &kvfio_double_ops, kdev_double, o, err,
			 errlen);
	if (ret)
		return ret;
	if (rules && kvfio_double_faults(kdev_double, rules, err, errlen) < 0)
		return -EINVAL;
	if (req)
		kvfio_double_request(kdev_double, req);
	return 0;
}
#endif

static int kdev_open_vfio(const char *bdf, char *err, size_t errlen)
{
	struct kvfio_opts o;
	const char *ign = getenv("KVFIO_IGNORE_UNPLUG_REQUEST");
	int ret = 0;

	pthread_mutex_lock(&kdev_lock);
	if (kdev_vfio)
		goto out;
	kvfio_default_opts(&o);
	if (env_u32("KVFIO_TIMEOUT_MS", o.timeout_ms, &o.timeout_ms, err, errlen) ||
	    env_u32("KVFIO_MAX_RETRIES", o.max_retries, &o.max_retries, err, errlen) ||
	    env_u32("KVFIO_QDEPTH", o.qdepth, &o.qdepth, err, errlen)) {
		ret = -EINVAL;
		goto out;
	}
	o.ignore_unplug_request = kdev_ignore_unplug ||
				  (ign && !strcmp(ign, "1"));
	kvfio_counters_path(bdf, kdev_counters, sizeof(kdev_counters));
	o.counters_path = kdev_counters;
#ifdef KESTRELCTL_DOUBLE
	if (!strcmp(bdf, "double")) {
		ret = kdev_open_double(&o, err, errlen);
		if (!ret)
			atexit(kdev_atexit);
		goto out;
	}
#endif
	ret = kvfio_open_vfio(&kdev_vfio, bdf, &o, err, errlen);
	if (!ret)
		atexit(kdev_atexit);
out:
	if (!ret)
		kdev_link_last(bdf);
	pthread_mutex_unlock(&kdev_lock);
	return ret;
}

int kdev_open(const char *path, char *err, size_t errlen)
{
	int fd, ret;

	if (kdev_is_vfio(path)) {
		ret = kdev_open_vfio(kdev_name(path), err, errlen);
		if (ret)
			return ret;
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	} else {
		fd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -errno;
	}
	return fd;
}

/* fail-nth of this thread: armed, the sites left before the injection */
static __thread int fnth_fd = -1;
static __thread uint64_t fnth_left, fnth_calls;
static __thread bool fnth_injected, fnth_broken;

int kdev_fail_nth_begin(void)
{
	const char *e = getenv("GAUNTLET_FAIL_NTH");
	char *end;
	unsigned long long n;

	if (!e)
		return 0;
	errno = 0;
	n = strtoull(e, &end, 10);
	if (errno || end == e || *end || *e == '-' || n < 1 || n > 1000000000ULL) {
		fprintf(stderr, "kestrelctl: GAUNTLET_FAIL_NTH wants 1..1000000000, got '%s'\n",
			e);
		return -1;
	}
	fnth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (fnth_fd < 0) {
		/* a kernel without CONFIG_FAULT_INJECTION has no fail-nth */
		fprintf(stderr, "kestrelctl: GAUNTLET_FAIL_NTH: /proc/thread-self/fail-nth: %s\n",
			strerror(errno));
		return -1;
	}
	fnth_left = n;
	fnth_calls = 0;
	fnth_injected = false;
	fnth_broken = false;
	return 1;
}

int kdev_fail_nth_end(uint64_t *calls, bool *injected)
{
	*calls = fnth_calls;
	*injected = fnth_injected;
	if (fnth_fd >= 0)
		close(fnth_fd);
	fnth_fd = -1;
	return fnth_broken ? -1 : 0;
}

/* fail-nth could not be written or read: disarmed, the count is void */
static void fnth_break(const char *what)
{
	fprintf(stderr, "kestrelctl: %s fail-nth: %s\n", what, strerror(errno));
	fnth_broken = true;
	close(fnth_fd);
	fnth_fd = -1;
}

/*
 * One ioctl with fail-nth armed: what is left is written before it and
 * read back after it (0: injected here; the count goes down by one per
 * fault-injection site the thread reached), then 0 disarms the thread.
 */
static int fnth_ioctl(int fd, unsigned long req, void *arg)
{
	char buf[32];
	int ret, err, len;
	ssize_t got;
	unsigned long long left;

	len = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)fnth_left);
	if (pwrite(fnth_fd, buf, (size_t)len, 0) != len) {
		fnth_break("writing");
		return ioctl(fd, req, arg);
	}
	ret = ioctl(fd, req, arg);
	err = errno;
	got = pread(fnth_fd, buf, sizeof(buf) - 1, 0);
	if (got > 0) {
		buf[got] = 0;
		left = strtoull(buf, NULL, 10);
		if (left > fnth_left)
			left = fnth_left;
		fnth_calls += fnth_left - left;
		fnth_left = left;
		if (!left) {
			fnth_injected = true;
			close(fnth_fd);
			fnth_fd = -1;
		} else if (pwrite(fnth_fd, "0", 1, 0) != 1) {
			fnth_break("disarming");
		}
	} else {
		fnth_break("reading");
	}
	errno = err;
	return ret;
}

int kdev_ioctl(int fd, unsigned long req, void *arg)
{
	struct kvfio_dev *d = kdev_vfio;
	int ret;

	if (!d)
		return fnth_fd >= 0 ? fnth_ioctl(fd, req, arg) : ioctl(fd, req, arg);
	switch (req) {
	case KESTREL_IOC_GET_INFO:
		ret = kvfio_get_info(d, arg);
		break;
	case KESTREL_IOC_SUBMIT:
		ret = kvfio_submit(d, arg);
		break;
	case KESTREL_IOC_RESET:
		ret = kvfio_reset(d);
		break;
	case KESTREL_IOC_GET_STATS:
		ret = kvfio_get_stats(d, arg);
		break;
	case KESTREL_IOC_GET_TIMEOUT:
		ret = kvfio_get_timeout(d, arg);
		break;
	case KESTREL_IOC_SET_TIMEOUT:
		ret = kvfio_set_timeout(d, arg);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	if (ret) {
		errno = -ret;
		return -1;
	}
	return 0;
}

int kdev_idle(uint32_t ms)
{
	return kdev_vfio ? kvfio_idle(kdev_vfio, ms) : -ENOTTY;
}
