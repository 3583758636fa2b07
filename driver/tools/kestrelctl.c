// SPDX-License-Identifier: GPL-2.0
/*
 * kestrelctl: user-space tool for the Kestrel driver (/dev/kestrelN).
 *
 *   kestrelctl [-d /dev/kestrelN | -d vfio:BDF] COMMAND [OPTIONS]
 *
 * vfio:BDF drives a Kestrel bound to vfio-pci through the user-space
 * driver libkvfio (driver/vfio, docs/vfio.md) in this very process;
 * every command goes through kdev_ioctl() (kestrelctl_dev.c), so read,
 * write, flush, stress and the ledger behave the same on both.
 *
 * Commands: info, stats, reset, timeout, flush, read, write, stress,
 * counters and hold (vfio), selftest-ioctl, fuzz-ioctl
 * (kestrel_fuzz_ioctl.c), uffd-stall.
 * `kestrelctl help` prints the options of each.
 *
 * Data patterns (seq, random, zero, 0xNN) and stress blocks come from the
 * shared pattern library, harness/data/pattern.h, which defines them: a
 * later `read --verify`, or `gauntlet-data verify` on the host's backing
 * file, checks what an earlier `write` wrote without any saved state.
 *
 * `stress` writes self-describing stress blocks (pattern.h: header with
 * lba, generation, seed, thread and checksum, then a keyed payload).  Each
 * thread owns a disjoint LBA range and remembers the generation it last
 * wrote to every block, so every read is checked exactly: a stale,
 * misdirected or corrupted block is a mismatch.  With --ledger PATH (or
 * $GAUNTLET_LEDGER) it records every write the driver completed, and every
 * FLUSH, in the write ledger (harness/data/ledger.h, docs/ledger.md): a
 * batch's W and X records once KESTREL_IOC_SUBMIT returned and before the
 * next batch, the B record of each FLUSH before its batch is submitted.
 * `write` records every request of a batch as WP (or XP when it failed)
 * once KESTREL_IOC_SUBMIT returned, before the next batch, and `flush` its
 * FLUSH as B before and F or FX after, each in a session of its own
 * (tool=kestrelctl-write, kestrelctl-flush), so that `write ... && flush`
 * leaves the pattern writes flushed in the ledger.
 *
 * Exit status: 0 success, 1 failure (I/O error, data mismatch, contract
 * violation), 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "uapi/kestrel.h"
#include "kestrel_fuzz_ioctl.h"
#include "kestrelctl_dev.h"
#include "kestrelctl_util.h"
#include "kvfio.h"
#include "ledger.h"
#include "pattern.h"

#define DEFAULT_DEV		"/dev/kestrel0"
#define PAGE			4096u
#define MAX_REPORTS		10	/* mismatching blocks printed in full */

static const char *prog = "kestrelctl";
static const char *dev_path = DEFAULT_DEV;

/* ---- small helpers ------------------------------------------------------ */

static void __attribute__((format(printf, 1, 2), noreturn)) die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void __attribute__((format(printf, 1, 2), noreturn)) usage_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(try '%s help')\n", prog);
	exit(2);
}

static void *xalloc(size_t len)
{
	void *p;

	if (len == 0)
		len = 1;
	if (posix_memalign(&p, PAGE, len))
		die("out of memory (%zu bytes)", len);
	memset(p, 0, len);
	return p;
}

static uint64_t parse_u64(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!s || !*s || *s == '-')
		usage_die("%s: bad number '%s'", opt, s ? s : "");
	v = strtoull(s, &end, 0);
	if (errno)
		usage_die("%s: bad number '%s'", opt, s);
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end)
		usage_die("%s: bad number '%s'", opt, s);
	return v;
}

static const char *err_name(int err)
{
	switch (err) {
	case EIO: return "EIO";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case ENOTTY: return "ENOTTY";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EINTR: return "EINTR";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EBUSY: return "EBUSY";
	case ENXIO: return "ENXIO";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOSPC: return "ENOSPC";
	case 0: return "0";
	default: return "?";
	}
}

/* The errno err_name() names @name, 0 when it names none. */
static int err_code(const char *name)
{
	for (int e = 1; e < 256; e++)
		if (!strcmp(err_name(e), name))
			return e;
	return 0;
}

/* ---- option parsing ----------------------------------------------------- */

/*
 * Each command's argv is scanned by opt_next(): "--name value", "--name=value"
 * and flags "--name".  Positional arguments come back with name NULL.
 */
struct optstate {
	int argc, i;
	char **argv;
	const char *name;	/* option without leading dashes, or NULL */
	const char *val;	/* inline value (--x=v) or positional arg */
};

static bool opt_next(struct optstate *o)
{
	static char buf[64];
	const char *a, *eq;

	if (o->i >= o->argc)
		return false;
	a = o->argv[o->i++];
	o->val = NULL;
	if (a[0] != '-' || a[1] != '-' || !a[2]) {
		o->name = NULL;
		o->val = a;
		return true;
	}
	a += 2;
	eq = strchr(a, '=');
	if (eq) {
		size_t n = (size_t)(eq - a);

		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		memcpy(buf, a, n);
		buf[n] = 0;
		o->name = buf;
		o->val = eq + 1;
	} else {
		o->name = a;
	}
	return true;
}

static const char *opt_val(struct optstate *o)
{
	if (o->val)
		return o->val;
	if (o->i >= o->argc)
		usage_die("--%s needs a value", o->name);
	return o->argv[o->i++];
}

static bool opt_is(struct optstate *o, const char *name)
{
	return o->name && !strcmp(o->name, name);
}

static void __attribute__((noreturn)) opt_bad(struct optstate *o, const char *cmd)
{
	if (o->name)
		usage_die("%s: unknown option --%s", cmd, o->name);
	usage_die("%s: unexpected argument '%s'", cmd, o->val);
}

/* ---- patterns (harness/data/pattern.h) --------------------------------- */

static struct gd_pattern parse_pattern(const char *s, uint64_t seed)
{
	struct gd_pattern p = { .kind = GD_PAT_SEQ, .seed = seed };
	char err[128];

	if (gd_pattern_parse(s, &p, err, sizeof(err)))
		usage_die("%s", err);
	return p;
}

static const char *pattern_name(const struct gd_pattern *p)
{
	static char buf[GD_PATTERN_NAME_LEN];

	return gd_pattern_name(p, buf);
}

/*
 * Compare nblocks blocks at buf (starting at lba) with the pattern.
 * Returns the number of mismatching blocks; prints the first few.
 */
static uint64_t pattern_verify(const char *what, const struct gd_pattern *p,
			       uint64_t lba, uint32_t nblocks, uint32_t bs,
			       const uint8_t *buf, uint64_t *reported)
{
	uint8_t *exp = xalloc(bs);
	uint64_t bad;

	bad = gd_pattern_verify(stderr, prog, what, p, lba, nblocks, bs, buf, exp,
				reported, MAX_REPORTS);
	free(exp);
	return bad;
}

/* ---- device access ------------------------------------------------------ */

/* /dev/kestrelN or vfio:BDF (kestrelctl_dev.c). */
static int dev_open(void)
{
	char err[512] = "";
	int fd = kdev_open(dev_path, err, sizeof(err));

	if (fd < 0)
		die("cannot open %s: %s", dev_path, err);
	return fd;
}

/* Commands that test the kernel's ioctl contract itself. */
static void kernel_only(const char *cmd)
{
	if (kdev_is_vfio(dev_path))
		usage_die("%s tests the kernel driver's ioctls; not for %s",
			  cmd, dev_path);
}

static int get_info(int fd, struct kestrel_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return kdev_ioctl(fd, KESTREL_IOC_GET_INFO, info) ? -errno : 0;
}

static void must_get_info(int fd, struct kestrel_info *info)
{
	int r = get_info(fd, info);

	if (r)
		die("%s: KESTREL_IOC_GET_INFO failed: %s (%s)", dev_path,
		    strerror(-r), err_name(-r));
	if (info->block_size < 64 || info->block_size % 8)
		die("%s: unusable block size %u", dev_path, info->block_size);
}

/* Largest request the device takes, for page-aligned buffers. */
static uint32_t max_req_blocks(const struct kestrel_info *info)
{
	uint64_t m = info->max_xfer_blocks ? info->max_xfer_blocks : 1;
	uint64_t by_segs = (uint64_t)(info->max_segs ? info->max_segs : 1) *
			   PAGE / info->block_size;

	if (by_segs && by_segs < m)
		m = by_segs;
	if (m > 1024)
		m = 1024;
	return m ? (uint32_t)m : 1;
}

/* Returns 0 or -errno of the ioctl itself; per-request results in ios. */
static int submit(int fd, struct kestrel_io *ios, uint32_t n, uint32_t *completed)
{
	struct kestrel_submit s;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.count = n;
	s.io_size = sizeof(struct kestrel_io);
	s.ios = (uintptr_t)ios;
	if (kdev_ioctl(fd, KESTREL_IOC_SUBMIT, &s))
		return -errno;
	if (completed)
		*completed = s.completed;
	return 0;
}

static void io_init(struct kestrel_io *io, uint8_t op, uint64_t lba,
		    uint32_t nblocks, void *buf, uint32_t bs)
{
	memset(io, 0, sizeof(*io));
	io->opcode = op;
	io->lba = lba;
	io->nblocks = nblocks;
	io->buf = (uintptr_t)buf;
	io->buf_len = (uint64_t)nblocks * bs;
}

static const char *op_name(uint8_t op)
{
	switch (op) {
	case KESTREL_IO_READ: return "read";
	case KESTREL_IO_WRITE: return "write";
	case KESTREL_IO_FLUSH: return "flush";
	}
	return "op?";
}

/* ---- info / stats / reset / timeout / flush ----------------------------- */

static const char *state_name(uint32_t s)
{
	switch (s) {
	case KESTREL_STATE_LIVE: return "live";
	case KESTREL_STATE_RESETTING: return "resetting";
	case KESTREL_STATE_SUSPENDED: return "suspended";
	case KESTREL_STATE_DEAD: return "dead";
	case KESTREL_STATE_REMOVED: return "removed";
	}
	return "unknown";
}

static const char *irq_name(uint32_t m)
{
	switch (m) {
	case KESTREL_IRQ_MSIX: return "msix";
	case KESTREL_IRQ_MSI: return "msi";
	case KESTREL_IRQ_INTX: return "intx";
	}
	return "unknown";
}

static void json_str(const char *s, size_t max)
{
	putchar('"');
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static int cmd_info(int argc, char **argv)
{
	struct optstate o = { argc, 0, argv, NULL, NULL };
	struct kestrel_info info;
	bool json = false;
	int fd;

	while (opt_next(&o)) {
		if (opt_is(&o, "json"))
			json = true;
		else
			opt_bad(&o, "info");
	}
	fd = dev_open();
	must_get_info(fd, &info);
	close(fd);
	info.serial[sizeof(info.serial) - 1] = 0;
	info.model[sizeof(info.model) - 1] = 0;
	info.firmware[sizeof(info.firmware) - 1] = 0;
	if (json) {
		printf("{\"device\": ");
		json_str(dev_path, SIZE_MAX);
		printf(", \"instance\": %u, \"capacity\": %llu, \"block_size\": %u, "
		       "\"queue_depth\": %u, \"max_segs\": %u, \"max_xfer_blocks\": %u, "
		       "\"irq_mode\": \"%s\", \"state\": \"%s\", \"timeout_ms\": %u, "
		       "\"serial\": ",
		       info.instance, (unsigned long long)info.capacity,
		       info.block_size, info.queue_depth, info.max_segs,
		       info.max_xfer_blocks, irq_name(info.irq_mode),
		       state_name(info.state), info.timeout_ms);
		json_str(info.serial, sizeof(info.serial));
		printf(", \"model\": ");
		json_str(info.model, sizeof(info.model));
		printf(", \"firmware\": ");
		json_str(info.firmware, sizeof(info.firmware));
		printf(", \"write_cache\": \"%s\"}\n",
		       info.features & KESTREL_INFO_WRITE_CACHE ? "write back" :
		       "write through");
		return 0;
	}
	printf("device:          %s (instance %u)\n", dev_path, info.instance);
	printf("model:           %s\n", info.model);
	printf("serial:          %s\n", info.serial);
	printf("firmware:        %s\n", info.firmware);
	printf("capacity:        %llu blocks x %u bytes (%.1f MiB)\n",
	       (unsigned long long)info.capacity, info.block_size,
	       (double)info.capacity * info.block_size / (1 << 20));
	printf("queue depth:     %u\n", info.queue_depth);
	printf("max segments:    %u\n", info.max_segs);
	printf("max transfer:    %u blocks\n", info.max_xfer_blocks);
	printf("interrupts:      %s\n", irq_name(info.irq_mode));
	printf("state:           %s\n", state_name(info.state));
	printf("timeout:         %u ms\n", info.timeout_ms);
	printf("write cache:     %s\n",
	       info.features & KESTREL_INFO_WRITE_CACHE ? "write back" :
	       "write through");
	return 0;
}

static int cmd_stats(int argc, char **argv)
{
	struct optstate o = { argc, 0, argv, NULL, NULL };
	struct kestrel_stats st;
	bool json = false;
	int fd;

	while (opt_next(&o)) {
		if (opt_is(&o, "json"))
			json = true;
		else
			opt_bad(&o, "stats");
	}
	fd = dev_open();
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	if (kdev_ioctl(fd, KESTREL_IOC_GET_STATS, &st))
		die("%s: KESTREL_IOC_GET_STATS failed: %s", dev_path, strerror(errno));
	close(fd);

	const struct { const char *name; uint64_t v; } f[] = {
		{ "submitted", st.submitted },
		{ "completed", st.completed },
		{ "failed", st.failed },
		{ "bytes_read", st.bytes_read },
		{ "bytes_written", st.bytes_written },
		{ "timeouts", st.timeouts },
		{ "missed_irqs", st.missed_irqs },
		{ "resets", st.resets },
		{ "bad_completions", st.bad_completions },
		{ "spurious_irqs", st.spurious_irqs },
		{ "retries", st.retries },
		{ "fatal_errors", st.fatal_errors },
		{ "cache_flushes", st.cache_flushes },
		{ "flush_errors", st.flush_errors },
	};
	size_t n = sizeof(f) / sizeof(f[0]);

	if (json) {
		printf("{\"device\": ");
		json_str(dev_path, SIZE_MAX);
		for (size_t i = 0; i < n; i++)
			printf(", \"%s\": %llu", f[i].name, (unsigned long long)f[i].v);
		printf("}\n");
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%-16s %llu\n", f[i].name, (unsigned long long)f[i].v);
	}
	return 0;
}

static int cmd_reset(int argc, char **argv)
{
	struct optstate o = { argc, 0, argv, NULL, NULL };
	int fd;

	while (opt_next(&o))
		opt_bad(&o, "reset");
	fd = dev_open();
	if (kdev_ioctl(fd, KESTREL_IOC_RESET, NULL))
		die("%s: KESTREL_IOC_RESET failed: %s (%s)", dev_path,
		    strerror(errno), err_name(errno));
	close(fd);
	printf("%s: reset done\n", dev_path);
	return 0;
}

static int cmd_timeout(int argc, char **argv)
{
	struct kestrel_timeout t;
	int fd;

	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	if (argc == 0 || (argc == 1 && !strcmp(argv[0], "get"))) {
		fd = dev_open();
		if (kdev_ioctl(fd, KESTREL_IOC_GET_TIMEOUT, &t))
			die("%s: KESTREL_IOC_GET_TIMEOUT failed: %s", dev_path,
			    strerror(errno));
		close(fd);
		printf("%u\n", t.timeout_ms);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[0], "set")) {
		uint64_t ms = parse_u64("timeout set", argv[1]);

		if (ms > UINT32_MAX)
			usage_die("timeout set: %s is too large", argv[1]);
		t.timeout_ms = (uint32_t)ms;
		fd = dev_open();
		if (kdev_ioctl(fd, KESTREL_IOC_SET_TIMEOUT, &t))
			die("%s: KESTREL_IOC_SET_TIMEOUT %u failed: %s (valid: %u..%u ms)",
			    dev_path, t.timeout_ms, strerror(errno),
			    KESTREL_TIMEOUT_MIN_MS, KESTREL_TIMEOUT_MAX_MS);
		close(fd);
		printf("%s: timeout %u ms\n", dev_path, t.timeout_ms);
		return 0;
	}
	usage_die("usage: timeout [get | set MS]");
}

/*
 * A write/flush ledger session (tool, pattern: NULL for flush), or NULL
 * when there is no ledger; a ledger that cannot be opened ends the run.
 */
static struct gl_ledger *ledger_open(const char *cmd, const char *path, bool no_ledger,
				     const char *tool, uint64_t seed, uint32_t bs,
				     uint64_t lba, uint64_t blocks, const char *pattern)
{
	struct gl_session_info li = {
		.tool = tool, .dev = dev_path, .seed = seed, .bs = bs,
		.lba = lba, .blocks = blocks, .threads = 1, .pattern = pattern,
	};
	struct gl_ledger *l;
	char err[400];

	path = gl_path_choose(path, no_ledger);
	if (!path)
		return NULL;
	l = gl_open(path, &li, err, sizeof(err));
	if (!l)
		die("%s: %s", cmd, err);
	return l;
}

/* A ledger record could not be written: the run cannot be judged. */
static void ledger_ret(const char *cmd, struct gl_ledger *l, int ret)
{
	if (ret)
		die("%s: %s", cmd, gl_error(l));
}

static int cmd_flush(int argc, char **argv)
{
	struct optstate o = { argc, 0, argv, NULL, NULL };
	const char *ledger_path = NULL;
	bool no_ledger = false;
	struct gl_ledger *l;
	struct kestrel_io io;
	uint64_t n = 0;
	int fd, r;

	while (opt_next(&o)) {
		if (opt_is(&o, "ledger"))
			ledger_path = opt_val(&o);
		else if (opt_is(&o, "no-ledger"))
			no_ledger = true;
		else
			opt_bad(&o, "flush");
	}
	fd = dev_open();
	/* no blocks of its own: bs is any valid one, nothing is read at it */
	l = ledger_open("flush", ledger_path, no_ledger, "kestrelctl-flush", 0, 512, 0, 0,
			NULL);
	if (l)
		ledger_ret("flush", l, gl_flush_begin(l, &n));
	io_init(&io, KESTREL_IO_FLUSH, 0, 0, NULL, 0);
	r = submit(fd, &io, 1, NULL);
	if (l) {
		ledger_ret("flush", l, gl_flush_end(l, n, !r && !io.result));
		ledger_ret("flush", l, gl_end(l));
		gl_close(l);
	}
	if (r)
		die("%s: flush: ioctl failed: %s (%s)", dev_path, strerror(-r), err_name(-r));
	if (io.result)
		die("%s: flush failed: %s (%s)", dev_path, strerror(-io.result),
		    err_name(-io.result));
	close(fd);
	printf("%s: flushed\n", dev_path);
	return 0;
}

/* ---- read / write -------------------------------------------------------- */

struct rw_opts {
	uint64_t lba, blocks;
	struct gd_pattern pat;
	bool have_pattern, verify, dump, no_ledger;
	uint32_t qd, xfer;
	const char *ledger_path;
};

static void parse_rw(const char *cmd, int argc, char **argv, struct rw_opts *r,
		     bool is_read)
{
	struct optstate o = { argc, 0, argv, NULL, NULL };
	bool have_blocks = false;

	memset(r, 0, sizeof(*r));
	r->pat.kind = GD_PAT_SEQ;
	r->blocks = 1;
	r->qd = 16;
	while (opt_next(&o)) {
		if (opt_is(&o, "lba")) {
			r->lba = parse_u64("--lba", opt_val(&o));
		} else if (opt_is(&o, "blocks")) {
			r->blocks = parse_u64("--blocks", opt_val(&o));
			have_blocks = true;
		} else if (opt_is(&o, "pattern")) {
			r->pat = parse_pattern(opt_val(&o), r->pat.seed);
			r->have_pattern = true;
		} else if (opt_is(&o, "seed")) {
			r->pat.seed = parse_u64("--seed", opt_val(&o));
		} else if (opt_is(&o, "qd")) {
			r->qd = (uint32_t)parse_u64("--qd", opt_val(&o));
		} else if (opt_is(&o, "xfer")) {
			r->xfer = (uint32_t)parse_u64("--xfer", opt_val(&o));
		} else if (is_read && opt_is(&o, "verify")) {
			r->verify = true;
		} else if (is_read && opt_is(&o, "dump")) {
			r->dump = true;
		} else if (!is_read && opt_is(&o, "ledger")) {
			r->ledger_path = opt_val(&o);
		} else if (!is_read && opt_is(&o, "no-ledger")) {
			r->no_ledger = true;
		} else {
			opt_bad(&o, cmd);
		}
	}
	if (!have_blocks && !is_read)
		usage_die("%s: --blocks is required", cmd);
	if (r->blocks == 0)
		usage_die("%s: --blocks must be > 0", cmd);
	if (r->qd == 0 || r->qd > KESTREL_MAX_BATCH)
		usage_die("%s: --qd must be 1..%d", cmd, KESTREL_MAX_BATCH);
	if (r->verify && !r->have_pattern)
		usage_die("%s: --verify needs --pattern", cmd);
}

static void hexdump(uint64_t addr, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i += 16) {
		printf("%08llx ", (unsigned long long)(addr + i));
		for (size_t j = i; j < i + 16 && j < len; j++)
			printf(" %02x", b[j]);
		printf("  |");
		for (size_t j = i; j < i + 16 && j < len; j++)
			putchar(b[j] >= 0x20 && b[j] < 0x7f ? b[j] : '.');
		printf("|\n");
	}
}

static int do_rw(const char *cmd, int argc, char **argv, bool is_read)
{
	struct rw_opts r;
	struct kestrel_info info;
	struct kestrel_io ios[KESTREL_MAX_BATCH];
	uint64_t done = 0, bad = 0, reported = 0, ioerr = 0;
	uint32_t bs, per, completed;
	struct gl_ledger *l = NULL;
	uint8_t *buf;
	double t0;
	int fd;

	parse_rw(cmd, argc, argv, &r, is_read);
	fd = dev_open();
	must_get_info(fd, &info);
	bs = info.block_size;
	if (r.lba >= info.capacity || r.blocks > info.capacity - r.lba)
		die("%s: lba %" PRIu64 " + %" PRIu64 " blocks is beyond the capacity "
		    "(%llu blocks)", dev_path, r.lba, r.blocks,
		    (unsigned long long)info.capacity);
	per = max_req_blocks(&info);
	if (r.xfer && r.xfer < per)
		per = r.xfer;
	buf = xalloc((size_t)per * bs * r.qd);
	if (!is_read)
		l = ledger_open(cmd, r.ledger_path, r.no_ledger, "kestrelctl-write",
				r.pat.seed, bs, r.lba, r.blocks, pattern_name(&r.pat));
	t0 = now_s();

	while (done < r.blocks) {
		uint32_t n = 0;
		uint64_t lba = r.lba + done;
		int ret;

		while (n < r.qd && done < r.blocks) {
			uint32_t nb = r.blocks - done > per ? per : (uint32_t)(r.blocks - done);
			uint8_t *b = buf + (size_t)n * per * bs;

			if (!is_read)
				for (uint32_t i = 0; i < nb; i++)
					gd_pattern_fill(&r.pat, r.lba + done + i, bs, b + (size_t)i * bs);
			else
				memset(b, 0xa5, (size_t)nb * bs);	/* never the answer by chance */
			io_init(&ios[n], is_read ? KESTREL_IO_READ : KESTREL_IO_WRITE,
				r.lba + done, nb, b, bs);
			done += nb;
			n++;
		}
		ret = submit(fd, ios, n, &completed);
		/* the batch's records, before the next batch: WP, or XP when failed */
		for (uint32_t i = 0; l && i < n; i++) {
			struct kestrel_io *io = &ios[i];

			if (ret || io->result)
				ledger_ret(cmd, l, gl_pattern_failed(l, io->lba, io->nblocks,
								     pattern_name(&r.pat),
								     r.pat.seed));
			else
				ledger_ret(cmd, l, gl_pattern_acked(l, io->lba, io->nblocks,
								    pattern_name(&r.pat),
								    r.pat.seed,
								    (uint8_t *)(uintptr_t)io->buf));
		}
		if (ret)
			die("%s: %s lba %" PRIu64 ": KESTREL_IOC_SUBMIT failed: %s (%s)",
			    dev_path, cmd, lba, strerror(-ret), err_name(-ret));
		for (uint32_t i = 0; i < n; i++) {
			struct kestrel_io *io = &ios[i];
			uint8_t *b = (uint8_t *)(uintptr_t)io->buf;

			if (io->result) {
				fprintf(stderr, "%s: I/O ERROR %s %s lba %llu blocks %u: %s (%s)\n",
					prog, dev_path, op_name(io->opcode),
					(unsigned long long)io->lba, io->nblocks,
					strerror(-io->result), err_name(-io->result));
				ioerr++;
				continue;
			}
			if (r.verify)
				bad += pattern_verify(dev_path, &r.pat, io->lba, io->nblocks,
						      bs, b, &reported);
			if (r.dump)
				hexdump(io->lba * bs, b, (size_t)io->nblocks * bs);
		}
	}
	if (l) {
		ledger_ret(cmd, l, gl_end(l));
		gl_close(l);
	}
	close(fd);
	free(buf);

	double dt = now_s() - t0;

	if (reported > MAX_REPORTS)
		fprintf(stderr, "%s: ... %" PRIu64 " more mismatching blocks not shown\n",
			prog, reported - MAX_REPORTS);
	printf("%s: %s lba %" PRIu64 " blocks %" PRIu64 "%s%s%s: %.3f s, %.2f MB/s",
	       dev_path, cmd, r.lba, r.blocks,
	       r.have_pattern || !is_read ? " pattern " : "",
	       r.have_pattern || !is_read ? pattern_name(&r.pat) : "",
	       r.verify ? " verified" : "", dt,
	       dt > 0 ? r.blocks * bs / dt / 1e6 : 0.0);
	if (r.have_pattern || !is_read)
		printf(" seed %" PRIu64, r.pat.seed);
	printf("\n");
	if (ioerr)
		fprintf(stderr, "%s: %s: %" PRIu64 " request(s) failed\n", prog, cmd, ioerr);
	if (bad)
		fprintf(stderr, "%s: %s: %" PRIu64 " of %" PRIu64 " blocks MISMATCH\n",
			prog, cmd, bad, r.blocks);
	return ioerr || bad ? 1 : 0;
}

static int cmd_read(int argc, char **argv) { return do_rw("read", argc, argv, true); }
static int cmd_write(int argc, char **argv) { return do_rw("write", argc, argv, false); }

/* ---- stress ------------------------------------------------------------- */

#define GEN_UNKNOWN		0u		/* not written by this run */
#define GEN_INDET		0x80000000u	/* last write failed: either */

/* Blocks are stress blocks (harness/data/pattern.h: gd_block_fill). */
static void stress_fill(uint8_t *b, uint32_t bs, uint64_t lba, uint32_t gen,
			uint64_t seed, uint32_t thread)
{
	gd_block_fill(b, bs, lba, gen, seed, thread);
}

struct stress_cfg {
	uint32_t threads, qd, blocks_max, read_pct, flush_pct, bs;
	double duration;
	uint64_t seed, lba, blocks, batches;
	uint32_t misalign;		/* READ buffers this many bytes off a page */
	bool verify, allow_errors, keep_going, prefill;
	struct gl_ledger *ledger;	/* NULL: no ledger */
};

struct stress_thread {
	pthread_t tid;
	uint32_t id;
	const struct stress_cfg *cfg;
	uint64_t lba0, nblk;		/* owned range */
	uint32_t *gen;			/* per block: GEN_* or generation */
	uint32_t next_gen;
	uint64_t rng;
	/* results */
	uint64_t reads, writes, flushes, batches;
	uint64_t bytes_read, bytes_written;
	uint64_t verified, unverified, indet_ok, indet_bad;
	uint64_t mismatches, io_errors, ioctl_errors, contract;
	int fatal;			/* stopped on an error */
	int fnth;			/* GAUNTLET_FAIL_NTH armed it */
	uint64_t fnth_calls;		/* fail-nth sites its ioctls reached */
	bool fnth_injected;
	uint64_t flush_n[KESTREL_MAX_BATCH];	/* the batch's FLUSHes' ledger numbers */
};

static atomic_int stress_stop;
/* SIGTERM/SIGINT: finish the current batch, then the final read-back. */
static volatile sig_atomic_t stress_term;

static void stress_on_term(int sig)
{
	(void)sig;
	stress_term = 1;
}
static atomic_ulong stress_reported;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t rnd(struct stress_thread *t)
{
	t->rng += 0x9e3779b97f4a7c15ull;
	return gd_mix64(t->rng);
}

/* Errors a request may legitimately end with while the device or the
 * kernel misbehaves on purpose (ENOMEM: an allocation failed under the
 * kernel's fault injection). */
static bool is_soft_error(int err)
{
	return err == EIO || err == ENODEV || err == ETIMEDOUT || err == EINTR ||
	       err == EAGAIN || err == ECANCELED || err == ENXIO || err == ENOMEM;
}

/*
 * Verify one block read back at lba (index idx of the thread's range).
 * Returns true when it is fine (or cannot be checked).
 */
static bool stress_check(struct stress_thread *t, uint64_t idx, const uint8_t *got,
			 uint8_t *exp)
{
	const struct stress_cfg *c = t->cfg;
	uint64_t lba = t->lba0 + idx;
	uint32_t g = t->gen[idx];
	char desc[320], claims[160];

	if (g == GEN_UNKNOWN) {
		t->unverified++;
		return true;
	}
	if (g & GEN_INDET) {
		/* Last write failed: accept any intact block of ours at least as
		 * new as the last successful write. */
		uint32_t lo = g & ~GEN_INDET;
		struct gd_block_hdr h;
		uint64_t gg;

		if (gd_block_parse(got, c->bs, &h) && h.lba == lba &&
		    h.seed == c->seed && h.thread == t->id && h.csum_ok &&
		    h.gen >= lo && h.gen < t->next_gen) {
			gg = h.gen;
			t->indet_ok++;
			/* the block is now known */
			stress_fill(exp, c->bs, lba, (uint32_t)gg, c->seed, t->id);
			if (!memcmp(exp, got, c->bs))
				t->gen[idx] = (uint32_t)gg;
		} else {
			t->indet_bad++;
		}
		return true;
	}
	t->verified++;
	stress_fill(exp, c->bs, lba, g, c->seed, t->id);
	if (!memcmp(exp, got, c->bs))
		return true;
	t->mismatches++;
	if (atomic_fetch_add(&stress_reported, 1) < MAX_REPORTS) {
		gd_block_describe(got, c->bs, claims, sizeof(claims));
		snprintf(desc, sizeof(desc), "thread %u gen %u seed %" PRIu64 "; %s",
			 t->id, g, c->seed, claims);
		gd_report_mismatch(stderr, prog, dev_path, lba, c->bs, exp, got, desc);
	}
	return false;
}

static void stress_ioerr(struct stress_thread *t, const struct kestrel_io *io, int err,
			 bool whole_ioctl)
{
	pthread_mutex_lock(&report_lock);
	fprintf(stderr, "%s: I/O ERROR %s thread %u %s lba %llu blocks %u: %s (%s)%s\n",
		prog, dev_path, t->id, op_name(io->opcode),
		(unsigned long long)io->lba, io->nblocks, strerror(err), err_name(err),
		whole_ioctl ? " [KESTREL_IOC_SUBMIT failed]" : "");
	pthread_mutex_unlock(&report_lock);
}

/* Mark the blocks of a failed write as indeterminate. */
static void stress_write_failed(struct stress_thread *t, const struct kestrel_io *io)
{
	for (uint32_t i = 0; i < io->nblocks; i++) {
		uint32_t *g = &t->gen[io->lba - t->lba0 + i];

		if (*g != GEN_UNKNOWN && !(*g & GEN_INDET))
			*g |= GEN_INDET;
		/* GEN_UNKNOWN stays unknown; GEN_INDET keeps its lower bound */
	}
}

/* A stress ledger record could not be written: the run cannot be judged. */
static void stress_ledger_ret(const struct stress_cfg *c, int ret)
{
	if (ret)
		die("stress: %s", gl_error(c->ledger));
}

/*
 * Before a batch is submitted: the B record of each of its FLUSHes, so that
 * a FLUSH covers the writes of earlier batches only.
 */
static void stress_ledger_begin(struct stress_thread *t, const struct kestrel_io *ios,
				uint32_t n)
{
	const struct stress_cfg *c = t->cfg;

	for (uint32_t i = 0; c->ledger && i < n; i++)
		if (ios[i].opcode == KESTREL_IO_FLUSH)
			stress_ledger_ret(c, gl_flush_begin(c->ledger, &t->flush_n[i]));
}

/* After the batch returned: one record for each WRITE and FLUSH in it. */
static void stress_ledger_end(struct stress_thread *t, const struct kestrel_io *ios,
			      const uint32_t *wgen, uint32_t n, int ret)
{
	const struct stress_cfg *c = t->cfg;

	for (uint32_t i = 0; c->ledger && i < n; i++) {
		const struct kestrel_io *io = &ios[i];
		bool ok = !ret && io->result == 0;

		if (io->opcode == KESTREL_IO_FLUSH)
			stress_ledger_ret(c, gl_flush_end(c->ledger, t->flush_n[i], ok));
		else if (io->opcode == KESTREL_IO_WRITE && ok)
			stress_ledger_ret(c, gl_write_acked(c->ledger, t->id, io->lba,
							    io->nblocks, wgen[i],
							    (const uint8_t *)(uintptr_t)io->buf));
		else if (io->opcode == KESTREL_IO_WRITE)
			stress_ledger_ret(c, gl_write_failed(c->ledger, t->id, io->lba,
							     io->nblocks, wgen[i]));
	}
}

static bool overlaps(const struct kestrel_io *ios, uint32_t n, uint64_t lba, uint32_t nb)
{
	for (uint32_t i = 0; i < n; i++) {
		if (ios[i].opcode == KESTREL_IO_FLUSH)
			continue;
		if (lba < ios[i].lba + ios[i].nblocks && ios[i].lba < lba + nb)
			return true;
	}
	return false;
}

/* Handle a batch's results.  Returns false when the thread must stop. */
static bool stress_complete(struct stress_thread *t, struct kestrel_io *ios,
			    const uint32_t *wgen, uint32_t n, uint32_t completed, int ret,
			    uint8_t *exp)
{
	const struct stress_cfg *c = t->cfg;
	uint32_t ok = 0;
	bool good = true;

	stress_ledger_end(t, ios, wgen, n, ret);
	if (ret) {
		t->ioctl_errors++;
		stress_ioerr(t, &ios[0], -ret, true);
		if (!c->allow_errors || !is_soft_error(-ret))
			return false;
		for (uint32_t i = 0; i < n; i++)
			if (ios[i].opcode == KESTREL_IO_WRITE)
				stress_write_failed(t, &ios[i]);
		return true;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct kestrel_io *io = &ios[i];
		const uint8_t *b = (const uint8_t *)(uintptr_t)io->buf;

		if (io->result > 0 || (io->result < 0 && io->result < -4095)) {
			t->contract++;
			pthread_mutex_lock(&report_lock);
			fprintf(stderr, "%s: CONTRACT %s: %s lba %llu: result %d is not 0 or -errno\n",
				prog, dev_path, op_name(io->opcode),
				(unsigned long long)io->lba, io->result);
			pthread_mutex_unlock(&report_lock);
			good = false;
			if (io->opcode == KESTREL_IO_WRITE)
				stress_write_failed(t, io);
			continue;
		}
		if (io->result < 0) {
			t->io_errors++;
			stress_ioerr(t, io, -io->result, false);
			if (io->opcode == KESTREL_IO_WRITE)
				stress_write_failed(t, io);
			if (!c->allow_errors || !is_soft_error(-io->result))
				good = false;
			continue;
		}
		ok++;
		switch (io->opcode) {
		case KESTREL_IO_WRITE:
			t->bytes_written += io->buf_len;
			for (uint32_t j = 0; j < io->nblocks; j++)
				t->gen[io->lba - t->lba0 + j] = wgen[i];
			break;
		case KESTREL_IO_READ:
			t->bytes_read += io->buf_len;
			if (!c->verify)
				break;
			for (uint32_t j = 0; j < io->nblocks; j++)
				if (!stress_check(t, io->lba - t->lba0 + j,
						  b + (size_t)j * c->bs, exp))
					good = c->keep_going ? good : false;
			break;
		}
	}
	if (ok != completed) {
		t->contract++;
		pthread_mutex_lock(&report_lock);
		fprintf(stderr, "%s: CONTRACT %s: KESTREL_IOC_SUBMIT completed=%u but %u of %u "
			"requests have result 0\n", prog, dev_path, completed, ok, n);
		pthread_mutex_unlock(&report_lock);
		good = false;
	}
	return good || c->keep_going;
}

/*
 * Kernel fault injection (the harness's kfault step with failslab or
 * fail_page_alloc, task-filter=Y) fails only tasks that set make-it-fail.
 * The harness cannot set it on the shell: exec and thread creation would
 * fail first.  With GAUNTLET_MAKE_IT_FAIL=1 each worker sets it on itself
 * once its buffers and file are ready, so the failures land in its I/O.
 * With GAUNTLET_FAIL_NTH=N (gauntlet enumerate --kfault) the worker arms
 * fail-nth over its ioctls instead (kdev_fail_nth_begin) and does not set
 * make-it-fail: the N-th site fails, and nothing else.  0, or -1 when
 * GAUNTLET_FAIL_NTH cannot be armed.
 */
static int fail_self(struct stress_thread *t)
{
	const char *e = getenv("GAUNTLET_MAKE_IT_FAIL");
	int fd;

	t->fnth = kdev_fail_nth_begin();
	if (t->fnth)
		return t->fnth < 0 ? -1 : 0;
	if (!e || strcmp(e, "1"))
		return 0;
	fd = open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1", 1) != 1)
		fprintf(stderr, "kestrelctl: cannot set make-it-fail: %s\n",
			strerror(errno));
	if (fd >= 0)
		close(fd);
	return 0;
}

static void *stress_main(void *arg)
{
	struct stress_thread *t = arg;
	const struct stress_cfg *c = t->cfg;
	struct kestrel_io ios[KESTREL_MAX_BATCH];
	uint32_t wgen[KESTREL_MAX_BATCH];
	size_t slot = (size_t)c->blocks_max * c->bs + PAGE;
	uint8_t *bufs = xalloc(slot * c->qd);
	uint8_t *exp = xalloc(c->bs);
	double end = now_s() + c->duration;
	int fd = dev_open();

	if (fail_self(t) < 0) {
		t->fatal = 1;
		atomic_store(&stress_stop, 1);
	}

	/* --prefill: write the whole range once so that every read is checked */
	for (uint64_t idx = 0; c->prefill && idx < t->nblk && !atomic_load(&stress_stop);) {
		uint32_t n = 0, completed = 0;
		int ret;

		while (n < c->qd && idx < t->nblk) {
			uint32_t nb = t->nblk - idx > c->blocks_max ? c->blocks_max
								     : (uint32_t)(t->nblk - idx);
			uint8_t *b = bufs + n * slot;

			wgen[n] = t->next_gen++;
			for (uint32_t j = 0; j < nb; j++)
				stress_fill(b + (size_t)j * c->bs, c->bs, t->lba0 + idx + j,
					    wgen[n], c->seed, t->id);
			io_init(&ios[n], KESTREL_IO_WRITE, t->lba0 + idx, nb, b, c->bs);
			t->writes++;
			idx += nb;
			n++;
		}
		stress_ledger_begin(t, ios, n);
		ret = submit(fd, ios, n, &completed);
		t->batches++;
		if (!stress_complete(t, ios, wgen, n, completed, ret, exp)) {
			t->fatal = 1;
			atomic_store(&stress_stop, 1);
		}
	}
	end = now_s() + c->duration;

	while (!atomic_load(&stress_stop)) {
		uint32_t n, completed = 0;
		int ret;

		if (stress_term ||
		    (c->batches ? t->batches >= c->batches : now_s() >= end))
			break;
		n = (rnd(t) & 1) ? c->qd : 1 + (uint32_t)(rnd(t) % c->qd);
		uint32_t built = 0;

		for (uint32_t k = 0; k < n; k++) {
			uint8_t *b = bufs + k * slot;
			uint64_t r = rnd(t);
			uint32_t nb, tries = 0;
			uint64_t lba;

			if (c->flush_pct && r % 100 < c->flush_pct) {
				io_init(&ios[built], KESTREL_IO_FLUSH, 0, 0, NULL, 0);
				t->flushes++;
				built++;
				continue;
			}
			do {
				uint32_t maxnb = c->blocks_max < t->nblk ? c->blocks_max
									 : (uint32_t)t->nblk;
				/* mostly small requests, sometimes big ones */
				nb = 1 + (uint32_t)(rnd(t) % ((rnd(t) & 3) ? (maxnb + 3) / 4 : maxnb));
				if (nb > maxnb)
					nb = maxnb;
				lba = t->lba0 + rnd(t) % (t->nblk - nb + 1);
			} while (overlaps(ios, built, lba, nb) && ++tries < 8);
			if (tries >= 8)
				continue;
			if ((rnd(t) % 100) < c->read_pct) {
				b += c->misalign;	/* the driver bounces such a READ */
				memset(b, 0x5a, (size_t)nb * c->bs);
				io_init(&ios[built], KESTREL_IO_READ, lba, nb, b, c->bs);
				t->reads++;
			} else {
				uint32_t g = t->next_gen++;

				if (t->next_gen >= GEN_INDET)
					t->next_gen = 1;	/* 2^31 writes: never in practice */
				for (uint32_t j = 0; j < nb; j++)
					stress_fill(b + (size_t)j * c->bs, c->bs, lba + j, g,
						    c->seed, t->id);
				io_init(&ios[built], KESTREL_IO_WRITE, lba, nb, b, c->bs);
				t->writes++;
			}
			wgen[built] = ios[built].opcode == KESTREL_IO_WRITE ? t->next_gen - 1 : 0;
			built++;
		}
		if (!built)
			continue;
		stress_ledger_begin(t, ios, built);
		ret = submit(fd, ios, built, &completed);
		t->batches++;
		if (!stress_complete(t, ios, wgen, built, completed, ret, exp)) {
			t->fatal = 1;
			atomic_store(&stress_stop, 1);
			break;
		}
	}

	/* Final pass: read back the whole range and check every known block. */
	if (c->verify && !t->fatal && !atomic_load(&stress_stop)) {
		for (uint64_t idx = 0; idx < t->nblk && !atomic_load(&stress_stop);) {
			uint32_t n = 0, completed = 0;
			int ret;

			while (n < c->qd && idx < t->nblk) {
				uint32_t nb = t->nblk - idx > c->blocks_max ? c->blocks_max
									     : (uint32_t)(t->nblk - idx);

				memset(bufs + n * slot + c->misalign, 0x5a, (size_t)nb * c->bs);
				io_init(&ios[n], KESTREL_IO_READ, t->lba0 + idx, nb,
					bufs + n * slot + c->misalign, c->bs);
				t->reads++;
				idx += nb;
				n++;
			}
			stress_ledger_begin(t, ios, n);
			ret = submit(fd, ios, n, &completed);
			t->batches++;
			if (!stress_complete(t, ios, NULL, n, completed, ret, exp)) {
				t->fatal = 1;
				atomic_store(&stress_stop, 1);
				break;
			}
		}
	}
	if (t->fnth > 0 && kdev_fail_nth_end(&t->fnth_calls, &t->fnth_injected))
		t->fatal = 1;
	close(fd);
	free(bufs);
	free(exp);
	return NULL;
}

static int cmd_stress(int argc, char **argv)
{
	struct optstate o = { argc, 0, argv, NULL, NULL };
	struct stress_cfg c = {
		.threads = 2, .qd = 16, .blocks_max = 32, .read_pct = 50,
		.flush_pct = 2, .duration = 10, .seed = 1,
	};
	struct kestrel_info info;
	struct stress_thread *th;
	bool have_blocks = false, no_ledger = false;
	const char *ledger_path = NULL;
	int fd;

	while (opt_next(&o)) {
		if (opt_is(&o, "threads"))
			c.threads = (uint32_t)parse_u64("--threads", opt_val(&o));
		else if (opt_is(&o, "qd"))
			c.qd = (uint32_t)parse_u64("--qd", opt_val(&o));
		else if (opt_is(&o, "duration"))
			c.duration = strtod(opt_val(&o), NULL);
		else if (opt_is(&o, "batches"))
			c.batches = parse_u64("--batches", opt_val(&o));
		else if (opt_is(&o, "verify"))
			c.verify = true;
		else if (opt_is(&o, "seed"))
			c.seed = parse_u64("--seed", opt_val(&o));
		else if (opt_is(&o, "read-pct"))
			c.read_pct = (uint32_t)parse_u64("--read-pct", opt_val(&o));
		else if (opt_is(&o, "flush-pct"))
			c.flush_pct = (uint32_t)parse_u64("--flush-pct", opt_val(&o));
		else if (opt_is(&o, "blocks-max"))
			c.blocks_max = (uint32_t)parse_u64("--blocks-max", opt_val(&o));
		else if (opt_is(&o, "lba"))
			c.lba = parse_u64("--lba", opt_val(&o));
		else if (opt_is(&o, "blocks")) {
			c.blocks = parse_u64("--blocks", opt_val(&o));
			have_blocks = true;
		} else if (opt_is(&o, "allow-errors"))
			c.allow_errors = true;
		else if (opt_is(&o, "keep-going"))
			c.keep_going = true;
		else if (opt_is(&o, "misalign")) {
			c.misalign = (uint32_t)parse_u64("--misalign", opt_val(&o));
			if (c.misalign >= PAGE)
				usage_die("stress: --misalign must be below %d", PAGE);
		} else if (opt_is(&o, "prefill"))
			c.prefill = true;
		else if (opt_is(&o, "ledger"))
			ledger_path = opt_val(&o);
		else if (opt_is(&o, "no-ledger"))
			no_ledger = true;
		else
			opt_bad(&o, "stress");
	}
	if (c.threads == 0 || c.threads > 256)
		usage_die("stress: --threads must be 1..256");
	if (c.qd == 0 || c.qd > KESTREL_MAX_BATCH)
		usage_die("stress: --qd must be 1..%d", KESTREL_MAX_BATCH);
	if (c.read_pct > 100 || c.flush_pct > 100)
		usage_die("stress: percentages must be 0..100");
	if (c.blocks_max == 0)
		usage_die("stress: --blocks-max must be > 0");
	if (!(c.duration > 0) && !c.batches)
		usage_die("stress: --duration must be > 0 (or give --batches)");

	fd = dev_open();
	must_get_info(fd, &info);
	close(fd);
	c.bs = info.block_size;
	if (c.lba >= info.capacity)
		die("stress: --lba %" PRIu64 " is beyond the capacity (%llu blocks)",
		    c.lba, (unsigned long long)info.capacity);
	if (!have_blocks)
		c.blocks = info.capacity - c.lba;
	if (c.blocks > info.capacity - c.lba)
		die("stress: lba %" PRIu64 " + %" PRIu64 " blocks is beyond the capacity "
		    "(%llu blocks)", c.lba, c.blocks, (unsigned long long)info.capacity);
	if (c.blocks < c.threads)
		die("stress: %" PRIu64 " blocks cannot be split among %u threads",
		    c.blocks, c.threads);
	if (c.blocks_max > max_req_blocks(&info)) {
		fprintf(stderr, "%s: stress: --blocks-max %u is more than the device takes; "
			"using %u\n", prog, c.blocks_max, max_req_blocks(&info));
		c.blocks_max = max_req_blocks(&info);
	}

	printf("stress: %s %u threads qd %u blocks-max %u read %u%% flush %u%% "
	       "lba %" PRIu64 "+%" PRIu64 " (bs %u) seed %" PRIu64 " %s%s%s%s\n",
	       dev_path, c.threads, c.qd, c.blocks_max, c.read_pct, c.flush_pct,
	       c.lba, c.blocks, c.bs, c.seed, c.verify ? "verify" : "no-verify",
	       c.prefill ? " prefill" : "", c.allow_errors ? " allow-errors" : "",
	       c.keep_going ? " keep-going" : "");
	ledger_path = gl_path_choose(ledger_path, no_ledger);
	if (ledger_path) {
		struct gl_session_info li = {
			.tool = "kestrelctl", .dev = dev_path, .seed = c.seed, .bs = c.bs,
			.lba = c.lba, .blocks = c.blocks, .threads = c.threads,
		};
		char err[400];

		c.ledger = gl_open(ledger_path, &li, err, sizeof(err));
		if (!c.ledger)
			die("stress: %s", err);
		printf("stress: ledger %s session %s\n", ledger_path, gl_sid(c.ledger));
	}
	fflush(stdout);

	th = calloc(c.threads, sizeof(*th));
	if (!th)
		die("out of memory");
	uint64_t per = c.blocks / c.threads;
	double t0 = now_s();
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stress_on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	for (uint32_t i = 0; i < c.threads; i++) {
		struct stress_thread *t = &th[i];

		t->id = i;
		t->cfg = &c;
		t->lba0 = c.lba + i * per;
		t->nblk = i == c.threads - 1 ? c.blocks - i * per : per;
		t->gen = calloc(t->nblk, sizeof(uint32_t));
		if (!t->gen)
			die("out of memory for %" PRIu64 " blocks", t->nblk);
		t->next_gen = 1;
		t->rng = gd_mix64(c.seed ^ (0x1000193ull * (i + 1)));
		if (pthread_create(&t->tid, NULL, stress_main, t))
			die("pthread_create failed");
	}

	struct stress_thread sum;
	uint64_t fnth_calls = 0, fnth_armed = 0, fnth_injected = 0;

	memset(&sum, 0, sizeof(sum));
	for (uint32_t i = 0; i < c.threads; i++) {
		struct stress_thread *t = &th[i];

		pthread_join(t->tid, NULL);
		if (t->fnth > 0) {
			fnth_armed++;
			fnth_injected += t->fnth_injected;
			if (t->fnth_calls > fnth_calls)
				fnth_calls = t->fnth_calls;
		}
		sum.reads += t->reads;
		sum.writes += t->writes;
		sum.flushes += t->flushes;
		sum.batches += t->batches;
		sum.bytes_read += t->bytes_read;
		sum.bytes_written += t->bytes_written;
		sum.verified += t->verified;
		sum.unverified += t->unverified;
		sum.indet_ok += t->indet_ok;
		sum.indet_bad += t->indet_bad;
		sum.mismatches += t->mismatches;
		sum.io_errors += t->io_errors;
		sum.ioctl_errors += t->ioctl_errors;
		sum.contract += t->contract;
		sum.fatal |= t->fatal;
		free(t->gen);
	}
	free(th);
	if (c.ledger) {
		/* every thread is done: nothing of this session is in flight */
		stress_ledger_ret(&c, gl_end(c.ledger));
		gl_close(c.ledger);
	}

	double dt = now_s() - t0;
	uint64_t ops = sum.reads + sum.writes + sum.flushes;
	uint64_t rep = atomic_load(&stress_reported);

	if (rep > MAX_REPORTS)
		fprintf(stderr, "%s: ... %" PRIu64 " more mismatching blocks not shown\n",
			prog, rep - MAX_REPORTS);
	printf("stress: %.1f s, %" PRIu64 " ops (%" PRIu64 " reads, %" PRIu64 " writes, %"
	       PRIu64 " flushes) in %" PRIu64 " batches: %.0f ops/s, %.2f MB/s "
	       "(read %.2f, write %.2f)\n",
	       dt, ops, sum.reads, sum.writes, sum.flushes, sum.batches,
	       dt > 0 ? ops / dt : 0.0,
	       dt > 0 ? (sum.bytes_read + sum.bytes_written) / dt / 1e6 : 0.0,
	       dt > 0 ? sum.bytes_read / dt / 1e6 : 0.0,
	       dt > 0 ? sum.bytes_written / dt / 1e6 : 0.0);
	printf("stress: verified %" PRIu64 " blocks, %" PRIu64 " not yet written, "
	       "%" PRIu64 " after failed writes (%" PRIu64 " intact, %" PRIu64 " torn); "
	       "%" PRIu64 " mismatches, %" PRIu64 " I/O errors, %" PRIu64
	       " ioctl errors, %" PRIu64 " contract violations\n",
	       sum.verified, sum.unverified, sum.indet_ok + sum.indet_bad, sum.indet_ok,
	       sum.indet_bad, sum.mismatches, sum.io_errors, sum.ioctl_errors, sum.contract);

	/* gauntlet enumerate reads this line (docs/enumerate.md) */
	if (fnth_armed)
		printf("stress: fail-nth %s: %" PRIu64 " thread(s) armed, %" PRIu64
		       " injected; %" PRIu64 " fault-injection sites counted in the "
		       "ioctls of the busiest\n", getenv("GAUNTLET_FAIL_NTH"), fnth_armed,
		       fnth_injected, fnth_calls);

	bool fail = sum.mismatches || sum.contract || sum.fatal ||
		    (!c.allow_errors && (sum.io_errors || sum.ioctl_errors));

	printf("stress: %s\n", fail ? "FAIL" : "PASS");
	return fail ? 1 : 0;
}

/* ---- selftest-ioctl ------------------------------------------------------ */

static int st_fail, st_pass;

static void __attribute__((format(printf, 3, 4)))
st_check(bool ok, const char *detail, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok && detail)
		printf(": %s", detail);
	printf("\n");
	if (ok)
		st_pass++;
	else
		st_fail++;
}

/* ioctl expecting failure with errno want. */
static void st_expect(int fd, unsigned long cmd, void *arg, int want, const char *what)
{
	char detail[96];
	int r, err;

	errno = 0;
	r = ioctl(fd, cmd, arg);
	err = errno;
	if (r == 0)
		snprintf(detail, sizeof(detail), "succeeded, want %s", err_name(want));
	else
		snprintf(detail, sizeof(detail), "got %s (%d), want %s", err_name(err), err,
			 err_name(want));
	st_check(r == -1 && err == want, detail, "%s -> %s", what, err_name(want));
}

/*
 * One-request SUBMIT expected to fail with want: either the ioctl fails
 * with errno want, or it succeeds with the request's result -want and
 * completed 0.  Both are allowed by the UAPI.
 */
static void st_expect_io(int fd, struct kestrel_io *io, int want, const char *what)
{
	struct kestrel_submit s;
	char detail[128];
	int r, err;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.count = 1;
	s.io_size = sizeof(*io);
	s.ios = (uintptr_t)io;
	io->result = 0;
	errno = 0;
	r = kdev_ioctl(fd, KESTREL_IOC_SUBMIT, &s);
	err = errno;
	if (r == -1)
		snprintf(detail, sizeof(detail), "ioctl failed with %s (%d), want %s",
			 err_name(err), err, err_name(want));
	else
		snprintf(detail, sizeof(detail),
			 "ioctl ok, result %d (%s) completed %u, want %s",
			 io->result, err_name(-io->result), s.completed, err_name(want));
	st_check((r == -1 && err == want) ||
		 (r == 0 && io->result == -want && s.completed == 0),
		 detail, "SUBMIT %s -> %s", what, err_name(want));
}

static void st_expect_submit(int fd, struct kestrel_submit *s, int want, const char *what)
{
	st_expect(fd, KESTREL_IOC_SUBMIT, s, want, what);
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static int cmd_selftest_ioctl(int argc, char **argv)
{
	struct optstate o = { argc, 0, argv, NULL, NULL };
	struct kestrel_info info;
	struct kestrel_stats st;
	struct kestrel_timeout to, saved;
	struct kestrel_submit s;
	struct kestrel_io io;
	uint8_t *buf, *ro;
	char detail[96];
	uint64_t cap;
	uint32_t bs;
	int fd, r;

	while (opt_next(&o))
		opt_bad(&o, "selftest-ioctl");
	kernel_only("selftest-ioctl");
	fd = dev_open();
	printf("selftest-ioctl: %s\n", dev_path);

	/* --- the good paths first ---------------------------------------- */
	r = get_info(fd, &info);
	snprintf(detail, sizeof(detail), "%s", strerror(-r));
	st_check(r == 0, detail, "GET_INFO succeeds");
	if (r)
		die("cannot continue without GET_INFO");
	bs = info.block_size;
	cap = info.capacity;
	st_check(info.capacity > 0 && (bs == 512 || bs == 4096), NULL,
		 "GET_INFO capacity %llu, block_size %u", (unsigned long long)info.capacity, bs);
	st_check(info.size == sizeof(info) && info.flags == 0 &&
		 all_zero(info.reserved, sizeof(info.reserved)) && info.reserved0[0] == 0,
		 NULL, "GET_INFO size kept, flags and reserved zero on output");
	st_check(memchr(info.serial, 0, sizeof(info.serial)) &&
		 memchr(info.model, 0, sizeof(info.model)) &&
		 memchr(info.firmware, 0, sizeof(info.firmware)), NULL,
		 "GET_INFO strings are NUL-terminated");
	st_check(info.state == KESTREL_STATE_LIVE, NULL, "state is live (%s)",
		 state_name(info.state));
	st_check(info.timeout_ms >= KESTREL_TIMEOUT_MIN_MS &&
		 info.timeout_ms <= KESTREL_TIMEOUT_MAX_MS, NULL, "timeout_ms %u in range",
		 info.timeout_ms);

	memset(&st, 0xff, sizeof(st));
	st.size = sizeof(st);
	st.flags = 0;
	memset(st.reserved, 0, sizeof(st.reserved));
	r = ioctl(fd, KESTREL_IOC_GET_STATS, &st);
	st_check(r == 0 && all_zero(st.reserved, sizeof(st.reserved)), strerror(errno),
		 "GET_STATS succeeds, reserved zero");

	memset(&saved, 0, sizeof(saved));
	saved.size = sizeof(saved);
	r = ioctl(fd, KESTREL_IOC_GET_TIMEOUT, &saved);
	st_check(r == 0 && saved.timeout_ms == info.timeout_ms &&
		 all_zero(saved.reserved, sizeof(saved.reserved)), strerror(errno),
		 "GET_TIMEOUT succeeds (%u ms), matches GET_INFO", saved.timeout_ms);

	buf = xalloc((size_t)bs * 2);
	io_init(&io, KESTREL_IO_READ, 0, 1, buf, bs);
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.count = 1;
	s.io_size = sizeof(io);
	s.ios = (uintptr_t)&io;
	r = ioctl(fd, KESTREL_IOC_SUBMIT, &s);
	snprintf(detail, sizeof(detail), "ioctl %d errno %s, result %d, completed %u", r,
		 r ? err_name(errno) : "-", io.result, s.completed);
	st_check(r == 0 && io.result == 0 && s.completed == 1 &&
		 all_zero(s.reserved, sizeof(s.reserved)), detail,
		 "SUBMIT one READ of lba 0 succeeds, completed 1");
	io_init(&io, KESTREL_IO_FLUSH, 0, 0, NULL, 0);
	s.completed = 0;
	r = ioctl(fd, KESTREL_IOC_SUBMIT, &s);
	snprintf(detail, sizeof(detail), "ioctl %d errno %s, result %d", r,
		 r ? err_name(errno) : "-", io.result);
	st_check(r == 0 && io.result == 0 && s.completed == 1, detail,
		 "SUBMIT one FLUSH succeeds");

	/* --- unknown commands ---------------------------------------------- */
	st_expect(fd, _IO(KESTREL_IOC_MAGIC, 0x7f), NULL, ENOTTY, "unknown nr 'K' 0x7f");
	st_expect(fd, _IOWR(KESTREL_IOC_MAGIC, 0x06, struct kestrel_info), &info, ENOTTY,
		  "unknown nr 'K' 0x06");
	st_expect(fd, _IO('Z', 0x00), NULL, ENOTTY, "foreign magic 'Z'");
	st_expect(fd, _IOWR(KESTREL_IOC_MAGIC, 0x00, struct kestrel_stats), &st, ENOTTY,
		  "GET_INFO number with a wrong encoded size");

	/* --- bad pointers ---------------------------------------------------- */
	st_expect(fd, KESTREL_IOC_GET_INFO, NULL, EFAULT, "GET_INFO NULL");
	st_expect(fd, KESTREL_IOC_GET_INFO, (void *)16, EFAULT, "GET_INFO (void *)16");
	st_expect(fd, KESTREL_IOC_GET_STATS, NULL, EFAULT, "GET_STATS NULL");
	st_expect(fd, KESTREL_IOC_GET_TIMEOUT, NULL, EFAULT, "GET_TIMEOUT NULL");
	st_expect(fd, KESTREL_IOC_SET_TIMEOUT, NULL, EFAULT, "SET_TIMEOUT NULL");
	st_expect(fd, KESTREL_IOC_SUBMIT, NULL, EFAULT, "SUBMIT NULL");
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.count = 1;
	s.io_size = sizeof(io);
	s.ios = 16;
	st_expect_submit(fd, &s, EFAULT, "SUBMIT ios=16");
	io_init(&io, KESTREL_IO_READ, 0, 1, (void *)(uintptr_t)4096, bs);
	st_expect_io(fd, &io, EFAULT, "READ into buf=0x1000");
	io_init(&io, KESTREL_IO_WRITE, 0, 1, (void *)(uintptr_t)4096, bs);
	st_expect_io(fd, &io, EFAULT, "WRITE from buf=0x1000");
	ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro != MAP_FAILED && bs <= PAGE) {
		io_init(&io, KESTREL_IO_READ, 0, 1, ro, bs);
		st_expect_io(fd, &io, EFAULT, "READ into a read-only mapping");
		munmap(ro, PAGE);
	}

	/* --- bad sizes, flags, reserved fields ------------------------------ */
	memset(&info, 0, sizeof(info));
	info.size = 0;
	st_expect(fd, KESTREL_IOC_GET_INFO, &info, EINVAL, "GET_INFO size 0");
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info) - 4;
	st_expect(fd, KESTREL_IOC_GET_INFO, &info, EINVAL, "GET_INFO size-4");
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info) + 8;
	st_expect(fd, KESTREL_IOC_GET_INFO, &info, EINVAL, "GET_INFO size+8");
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.flags = 1;
	st_expect(fd, KESTREL_IOC_GET_INFO, &info, EINVAL, "GET_INFO flags=1");
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.reserved[6] = 1;
	st_expect(fd, KESTREL_IOC_GET_INFO, &info, EINVAL, "GET_INFO reserved[6]=1");

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st) - 8;
	st_expect(fd, KESTREL_IOC_GET_STATS, &st, EINVAL, "GET_STATS size-8");
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.flags = 0x80000000u;
	st_expect(fd, KESTREL_IOC_GET_STATS, &st, EINVAL, "GET_STATS flags");
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.reserved[0] = 1;
	st_expect(fd, KESTREL_IOC_GET_STATS, &st, EINVAL, "GET_STATS reserved[0]=1");

	memset(&to, 0, sizeof(to));
	to.size = 4;
	st_expect(fd, KESTREL_IOC_GET_TIMEOUT, &to, EINVAL, "GET_TIMEOUT size 4");
	memset(&to, 0, sizeof(to));
	to.size = sizeof(to);
	to.reserved[1] = 1;
	st_expect(fd, KESTREL_IOC_GET_TIMEOUT, &to, EINVAL, "GET_TIMEOUT reserved[1]=1");
	memset(&to, 0, sizeof(to));
	to.size = sizeof(to);
	to.timeout_ms = KESTREL_TIMEOUT_MIN_MS - 1;
	st_expect(fd, KESTREL_IOC_SET_TIMEOUT, &to, EINVAL, "SET_TIMEOUT 9 ms");
	to.timeout_ms = KESTREL_TIMEOUT_MAX_MS + 1;
	st_expect(fd, KESTREL_IOC_SET_TIMEOUT, &to, EINVAL, "SET_TIMEOUT 600001 ms");
	to.timeout_ms = saved.timeout_ms;
	to.size = sizeof(to) + 4;
	st_expect(fd, KESTREL_IOC_SET_TIMEOUT, &to, EINVAL, "SET_TIMEOUT size+4");
	to.size = sizeof(to);
	to.reserved[0] = 1;
	st_expect(fd, KESTREL_IOC_SET_TIMEOUT, &to, EINVAL, "SET_TIMEOUT reserved[0]=1");
	/* a valid set, read back, then restore */
	memset(&to, 0, sizeof(to));
	to.size = sizeof(to);
	to.timeout_ms = saved.timeout_ms == 12345 ? 12346 : 12345;
	r = ioctl(fd, KESTREL_IOC_SET_TIMEOUT, &to);
	{
		struct kestrel_timeout chk = { .size = sizeof(chk) };
		int r2 = ioctl(fd, KESTREL_IOC_GET_TIMEOUT, &chk);

		snprintf(detail, sizeof(detail), "set %s, read back %u", r ? err_name(errno) : "ok",
			 chk.timeout_ms);
		st_check(r == 0 && r2 == 0 && chk.timeout_ms == to.timeout_ms, detail,
			 "SET_TIMEOUT %u ms then GET_TIMEOUT", to.timeout_ms);
	}
	to.timeout_ms = saved.timeout_ms;
	r = ioctl(fd, KESTREL_IOC_SET_TIMEOUT, &to);
	st_check(r == 0, strerror(errno), "SET_TIMEOUT restores %u ms", saved.timeout_ms);

	/* SUBMIT header */
	io_init(&io, KESTREL_IO_READ, 0, 1, buf, bs);
	struct { const char *what; uint32_t size, flags, count, io_size, rsvd; } sb[] = {
		{ "size 0", 0, 0, 1, sizeof(io), 0 },
		{ "size+4", sizeof(s) + 4, 0, 1, sizeof(io), 0 },
		{ "flags=1", sizeof(s), 1, 1, sizeof(io), 0 },
		{ "count 0", sizeof(s), 0, 0, sizeof(io), 0 },
		{ "count MAX_BATCH+1", sizeof(s), 0, KESTREL_MAX_BATCH + 1, sizeof(io), 0 },
		{ "count 0xffffffff", sizeof(s), 0, 0xffffffffu, sizeof(io), 0 },
		{ "io_size-8", sizeof(s), 0, 1, sizeof(io) - 8, 0 },
		{ "io_size+8", sizeof(s), 0, 1, sizeof(io) + 8, 0 },
		{ "reserved[4]=1", sizeof(s), 0, 1, sizeof(io), 1 },
	};
	for (size_t i = 0; i < sizeof(sb) / sizeof(sb[0]); i++) {
		char what[64];

		memset(&s, 0, sizeof(s));
		s.size = sb[i].size;
		s.flags = sb[i].flags;
		s.count = sb[i].count;
		s.io_size = sb[i].io_size;
		s.reserved[4] = sb[i].rsvd;
		s.ios = (uintptr_t)&io;
		snprintf(what, sizeof(what), "SUBMIT %s", sb[i].what);
		st_expect_submit(fd, &s, EINVAL, what);
	}

	/* Requests */
#define IO_CASE(what, ...) do { \
		io_init(&io, KESTREL_IO_READ, 0, 1, buf, bs); \
		__VA_ARGS__; \
		st_expect_io(fd, &io, EINVAL, what); \
	} while (0)
	IO_CASE("opcode 0", io.opcode = 0);
	IO_CASE("opcode 99", io.opcode = 99);
	IO_CASE("io.flags=1", io.flags = 1);
	IO_CASE("io.reserved0=1", io.reserved0 = 1);
	IO_CASE("io.reserved1=1", io.reserved1 = 1);
	IO_CASE("io.reserved2[1]=1", io.reserved2[1] = 1);
	IO_CASE("READ nblocks 0", io.nblocks = 0; io.buf_len = 0);
	IO_CASE("READ buf_len != nblocks*bs", io.buf_len = bs - 8);
	IO_CASE("READ buf_len 2*bs for 1 block", io.buf_len = 2 * bs);
	IO_CASE("READ buf misaligned (+2)", io.buf += 2);
	IO_CASE("READ lba = capacity", io.lba = cap);
	IO_CASE("READ lba+nblocks > capacity", io.lba = cap - 1;
		io.nblocks = 2; io.buf_len = 2 * bs);
	IO_CASE("READ lba 2^64-1 (overflow)", io.lba = UINT64_MAX);
	IO_CASE("READ lba 2^64-1, 2 blocks (wraps to 0)", io.lba = UINT64_MAX;
		io.nblocks = 2; io.buf_len = 2 * bs);
	IO_CASE("WRITE lba = capacity", io.opcode = KESTREL_IO_WRITE; io.lba = cap);
	IO_CASE("FLUSH with a buffer", io.opcode = KESTREL_IO_FLUSH; io.nblocks = 0);
#undef IO_CASE

	/* The device must still work after all that. */
	r = get_info(fd, &info);
	st_check(r == 0 && info.state == KESTREL_STATE_LIVE, NULL,
		 "device still live after the error cases");
	io_init(&io, KESTREL_IO_READ, 0, 1, buf, bs);
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.count = 1;
	s.io_size = sizeof(io);
	s.ios = (uintptr_t)&io;
	r = ioctl(fd, KESTREL_IOC_SUBMIT, &s);
	st_check(r == 0 && io.result == 0 && s.completed == 1, NULL,
		 "SUBMIT one READ still succeeds");
	close(fd);
	free(buf);

	printf("selftest-ioctl: %d passed, %d failed: %s\n", st_pass, st_fail,
	       st_fail ? "FAIL" : "PASS");
	return st_fail ? 1 : 0;
}

static int cmd_fuzz_ioctl(int argc, char **argv)
{
	kernel_only("fuzz-ioctl");
	return kestrel_fuzz_ioctl_main(dev_path, argc, argv);
}

/* ---- uffd-stall ------------------------------------------------------------ */

/*
 * A READ whose buffer lies in a userfaultfd region that nobody resolves:
 * the driver's pinning of the buffer blocks on a page fault only user
 * space can end.  Proves (with a hot-unplug meanwhile) that remove()
 * never waits for user space.  The fault is seen on the userfaultfd
 * before "blocked" is reported; SIGTERM resolves it, the ioctl goes on
 * and its outcome is checked against --expect.
 */
static volatile sig_atomic_t uffd_stop;

static void uffd_on_signal(int sig)
{
	(void)sig;
	uffd_stop = 1;
}

struct uffd_sub {
	int fd;
	struct kestrel_io io;
	int ret;		/* 0 or -errno of the ioctl */
};

static void *uffd_submitter(void *arg)
{
	struct uffd_sub *u = arg;

	u->ret = submit(u->fd, &u->io, 1, NULL);
	return NULL;
}

static int cmd_uffd_stall(int argc, char **argv)
{
	struct optstate o = { argc, 0, argv, NULL, NULL };
	const char *marker = NULL, *expect = "any";
	uint64_t lba = 0, blocks = 8;
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct uffdio_zeropage zp;
	struct kestrel_info info;
	struct uffd_msg msg;
	struct uffd_sub u;
	struct sigaction sa;
	pthread_t th;
	size_t len;
	void *area;
	int uffd, got, ok;

	while (opt_next(&o)) {
		if (opt_is(&o, "lba"))
			lba = parse_u64("--lba", opt_val(&o));
		else if (opt_is(&o, "blocks"))
			blocks = parse_u64("--blocks", opt_val(&o));
		else if (opt_is(&o, "marker"))
			marker = opt_val(&o);
		else if (opt_is(&o, "expect"))
			expect = opt_val(&o);
		else
			opt_bad(&o, "uffd-stall");
	}
	if (strcmp(expect, "any") && strcmp(expect, "ok") && !err_code(expect))
		usage_die("uffd-stall: --expect ok, any or an errno name (ENODEV, EIO...)");
	memset(&u, 0, sizeof(u));
	kernel_only("uffd-stall");
	u.fd = dev_open();
	must_get_info(u.fd, &info);
	if (!blocks || blocks > info.max_xfer_blocks)
		usage_die("uffd-stall: --blocks 1..%u", info.max_xfer_blocks);
	len = (size_t)blocks * info.block_size;
	len = (len + PAGE - 1) / PAGE * PAGE;

	uffd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		die("uffd-stall: userfaultfd: %s", strerror(errno));
	if (ioctl(uffd, UFFDIO_API, &api))
		die("uffd-stall: UFFDIO_API: %s", strerror(errno));
	area = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		die("uffd-stall: mmap: %s", strerror(errno));
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)area;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		die("uffd-stall: UFFDIO_REGISTER: %s", strerror(errno));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = uffd_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	io_init(&u.io, KESTREL_IO_READ, lba, (uint32_t)blocks, area,
		info.block_size);
	if (pthread_create(&th, NULL, uffd_submitter, &u))
		die("uffd-stall: pthread_create failed");

	/* The driver's page fault on the region arrives as a message. */
	for (got = 0; !got && !uffd_stop;) {
		ssize_t n = read(uffd, &msg, sizeof(msg));

		if (n == (ssize_t)sizeof(msg) && msg.event == UFFD_EVENT_PAGEFAULT)
			got = 1;
		else
			usleep(10000);
	}
	if (got) {
		printf("uffd-stall: READ lba %llu blocks %llu blocked on a page fault at %#llx\n",
		       (unsigned long long)lba, (unsigned long long)blocks,
		       (unsigned long long)msg.arg.pagefault.address);
		if (marker) {
			FILE *f = fopen(marker, "w");

			if (f)
				fclose(f);
		}
	}
	while (!uffd_stop)
		pause();

	/* Resolve the fault: the ioctl goes on. */
	zp.range.start = (uintptr_t)area;
	zp.range.len = len;
	zp.mode = 0;
	if (ioctl(uffd, UFFDIO_ZEROPAGE, &zp) && errno != EEXIST)
		die("uffd-stall: UFFDIO_ZEROPAGE: %s", strerror(errno));
	pthread_join(th, NULL);
	if (u.ret)
		printf("uffd-stall: ioctl failed: %s (%s)\n", strerror(-u.ret),
		       err_name(-u.ret));
	else
		printf("uffd-stall: ioctl returned, request result %d (%s)\n",
		       u.io.result, u.io.result ? err_name(-u.io.result) : "ok");
	if (!strcmp(expect, "any"))
		ok = 1;
	else if (!strcmp(expect, "ok"))
		ok = !u.ret && !u.io.result;
	else
		ok = (u.ret ? -u.ret : -u.io.result) == err_code(expect);
	if (!got)
		fprintf(stderr, "uffd-stall: no page fault seen on the region\n");
	return got && ok ? 0 : 1;
}

/* ---- counters, hold (vfio:BDF) ------------------------------------------- */

/*
 * The user-space driver's counters, from its counters directory: they
 * outlive the process that drove the device, and another process holds
 * the VFIO group while I/O runs, so this never opens the device.
 */
static int cmd_counters(int argc, char **argv)
{
	struct optstate o = { argc, 0, argv, NULL, NULL };
	struct kvfio_counters c, zero;
	bool json = false, reset = false;
	char dir[300];
	int r;

	while (opt_next(&o)) {
		if (opt_is(&o, "json"))
			json = true;
		else if (opt_is(&o, "reset"))
			reset = true;
		else
			opt_bad(&o, "counters");
	}
	if (!kdev_counters_dir(dev_path, dir, sizeof(dir)))
		usage_die("counters: for vfio:BDF devices (use stats for %s)",
			  dev_path);
	if (reset) {
		memset(&zero, 0, sizeof(zero));
		r = kvfio_counters_store(dir, &zero);
		if (r)
			die("%s: cannot reset the counters in %s: %s", dev_path,
			    dir, strerror(-r));
	}
	r = kvfio_counters_load(dir, &c);
	if (r)
		die("%s: cannot read the counters in %s: %s", dev_path, dir,
		    strerror(-r));
	kvfio_counters_print(stdout, &c, json);
	return 0;
}

/*
 * Hold the device idle until it is asked back (the device request) or
 * --seconds pass: the process of the hot-unplug-while-alive scenarios.
 * Exit 0 when the device was given back on request, 1 when the time ran
 * out while holding it.
 */
static int cmd_hold(int argc, char **argv)
{
	struct optstate o = { argc, 0, argv, NULL, NULL };
	uint64_t seconds = 60;
	double end;
	int fd, r;

	while (opt_next(&o)) {
		if (opt_is(&o, "seconds"))
			seconds = parse_u64("--seconds", opt_val(&o));
		else
			opt_bad(&o, "hold");
	}
	if (!kdev_is_vfio(dev_path))
		usage_die("hold: for vfio:BDF devices");
	fd = dev_open();
	printf("%s: holding for up to %" PRIu64 " s\n", dev_path, seconds);
	end = now_s() + (double)seconds;
	while (now_s() < end) {
		r = kdev_idle(100);
		if (r == -ENODEV) {
			printf("%s: released on the device request\n", dev_path);
			close(fd);
			return 0;
		}
	}
	printf("%s: still held after %" PRIu64 " s\n", dev_path, seconds);
	close(fd);
	return 1;
}

/* ---- main ----------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: kestrelctl [-d DEVICE] [--ignore-unplug-request] COMMAND [OPTIONS]\n"
"  DEVICE: /dev/kestrelN (kestrel.ko; default %s) or vfio:BDF, e.g.\n"
"  vfio:0000:01:00.0 (or /sys/bus/pci/devices/0000:01:00.0): the user-space\n"
"  driver libkvfio in this process, on a function bound to vfio-pci\n"
"  (docs/vfio.md; settings from KVFIO_TIMEOUT_MS, KVFIO_MAX_RETRIES,\n"
"  KVFIO_QDEPTH).  --ignore-unplug-request (or\n"
"  KVFIO_IGNORE_UNPLUG_REQUEST=1): vfio test mode that never honours the\n"
"  device request (a negative control)\n"
"\n"
"  info [--json]                 device identity, geometry, state\n"
"  stats [--json]                driver counters\n"
"  reset                         KESTREL_IOC_RESET\n"
"  timeout [get | set MS]        command timeout (%u..%u ms)\n"
"  flush [--ledger PATH | --no-ledger]   one FLUSH request\n"
"  write --lba L --blocks N [--pattern P] [--seed S] [--qd N] [--xfer N]\n"
"        [--ledger PATH | --no-ledger]\n"
"  read  --lba L [--blocks N] [--pattern P --seed S --verify] [--dump]\n"
"                                 [--qd N] [--xfer N]\n"
"        P: seq (default) | random | zero | 0xNN; --qd requests per SUBMIT,\n"
"        --xfer blocks per request (default: the device's maximum);\n"
"        write records every request (WP, or XP if it failed) and flush its\n"
"        FLUSH (B, then F or FX) in the write ledger, as stress does\n"
"  stress [--threads N] [--qd N] [--duration S | --batches N] [--verify]\n"
"         [--seed S] [--read-pct P] [--flush-pct P] [--blocks-max N]\n"
"         [--lba L] [--blocks N] [--prefill] [--allow-errors] [--keep-going]\n"
"         [--misalign B] [--ledger PATH | --no-ledger]\n"
"        N threads on disjoint LBA ranges, batches of up to qd requests;\n"
"        with --verify every read (and a final read-back) is checked;\n"
"        --prefill writes the whole range first (then every read is checked).\n"
"        --misalign B puts READ buffers B bytes off a page (the driver bounces\n"
"        such READs through pages of its own).\n"
"        --allow-errors tolerates I/O errors (EIO, ENODEV, ETIMEDOUT, ENOMEM...),\n"
"        never a mismatch on a read that succeeded.\n"
"        --ledger PATH records every completed WRITE and FLUSH in the write\n"
"        ledger (default: $GAUNTLET_LEDGER if set; docs/ledger.md); a tty is\n"
"        set raw and drained after each record.\n"
"  counters [--json] [--reset]   vfio: the driver's counters (its counters\n"
"                                directory, ${KVFIO_STATE_DIR:-/run/kvfio}/BDF)\n"
"  hold [--seconds N]            vfio: hold the device idle until the device\n"
"                                request (exit 0) or N s (default 60; exit 1)\n"
"  selftest-ioctl                check the ioctl error contract\n"
"  uffd-stall [--lba L] [--blocks N] [--marker FILE] [--expect ok|any|ENODEV...]\n"
"        one READ into a userfaultfd region nobody resolves (the driver\n"
"        blocks pinning it); SIGTERM resolves the fault and the ioctl's\n"
"        outcome must match --expect (default any)\n",
		DEFAULT_DEV, KESTREL_TIMEOUT_MIN_MS, KESTREL_TIMEOUT_MAX_MS);
	kestrel_fuzz_ioctl_usage(f);
	fputs(
"\n"
"Exit status: 0 ok, 1 failure (I/O error, data mismatch, contract), 2 usage.\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "info", cmd_info },
		{ "stats", cmd_stats },
		{ "reset", cmd_reset },
		{ "timeout", cmd_timeout },
		{ "flush", cmd_flush },
		{ "read", cmd_read },
		{ "write", cmd_write },
		{ "stress", cmd_stress },
		{ "selftest-ioctl", cmd_selftest_ioctl },
		{ "fuzz-ioctl", cmd_fuzz_ioctl },
		{ "uffd-stall", cmd_uffd_stall },
		{ "counters", cmd_counters },
		{ "hold", cmd_hold },
	};
	int i = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-d") || !strcmp(argv[i], "--device")) {
			if (i + 1 >= argc)
				usage_die("-d needs a device");
			dev_path = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "--device=", 9)) {
			dev_path = argv[i] + 9;
			i++;
		} else if (!strcmp(argv[i], "--ignore-unplug-request")) {
			kdev_set_ignore_unplug_request(true);
			i++;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage_die("unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[i++];

	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "write-file") || !strcmp(cmd, "verify-file"))
		usage_die("%s is now `gauntlet-data %s` (harness/data)", cmd,
			  cmd[0] == 'w' ? "write" : "verify");
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(cmd, cmds[k].name))
			return cmds[k].fn(argc - i, argv + i);
	usage_die("unknown command '%s'", cmd);
}
