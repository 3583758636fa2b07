// SPDX-License-Identifier: GPL-2.0
/*
 * kestrelctl fuzz-ioctl: seeded, structured ioctl storms on /dev/kestrelN,
 * checked against the contract of include/uapi/kestrel.h and datasheet 14.
 *
 *   kestrelctl [-d DEV] fuzz-ioctl [--seed S] [--threads N] [--duration SEC]
 *                                  [--ops N] [--lba L --blocks N] [--faults]
 *
 * Each of N threads opens the device and issues random ioctls: every
 * KESTREL_IOC_* command and arbitrary command numbers (random, 'K' with a
 * random number, direction or size, the known ones with a bit flipped),
 * argument structs with random sizes, flags, reserved and other field
 * values, and bad pointers (NULL, page 0, a PROT_NONE page, kernel
 * addresses, non-canonical ones, a struct straddling into a PROT_NONE
 * page, a read-only page the driver must write, misaligned structs);
 * SUBMIT batches of 1..64 READ, WRITE and FLUSH requests with random
 * LBAs, counts and buffers, a few of them broken in one field or with an
 * unpinnable buffer; concurrent RESETs and SET_TIMEOUTs.  Thread t draws
 * everything from its own splitmix64 stream seeded with (seed, t): the
 * sequence of operations of each thread is a function of the seed alone
 * (never of the results), so `--seed S --ops N` replays a run, up to the
 * interleaving of the threads.
 *
 * For every call, the outcome the contract allows is computed from what
 * was sent, in the driver's documented order (bad struct pointer -EFAULT,
 * bad value -EINVAL, then per request of a batch: unreadable request
 * -EFAULT, bad request -EINVAL, then unpinnable buffer -EFAULT), and the
 * return value must be in that set, plus -ENODEV (device gone), -EIO
 * (device dead) and -ENOMEM where the driver allocates.  An unknown command
 * must give exactly -ENOTTY.  What the driver writes back is checked too:
 * size, zero flags and reserved fields, a geometry that never changes,
 * counters that never go down, a timeout within 10..600000 ms, request
 * results of 0, -EIO or -ENODEV (a request the driver validated is never
 * rejected by a healthy device) and `completed` = the number of results
 * that are 0.  After the storm the original timeout is restored, a dead
 * device is reset, and the device must be LIVE with the same geometry;
 * then a WRITE of a known pattern and a READ of it (inside the range) and
 * a READ of block 0 must succeed and the data must match.
 *
 * WRITEs stay inside [--lba, --lba + --blocks): a WRITE the driver should
 * accept always lies inside the range (checked before it is sent); the
 * only other WRITEs name blocks at or past the device's capacity, which
 * the driver must refuse.  Without --lba/--blocks no WRITE is sent at all.
 * So the rest of the disk (e.g. a harness's data-integrity region) is
 * never written, and READs go anywhere.
 *
 * Commands from other code paths of the VFS (FIONBIO, FIFREEZE, FIGETBSZ...,
 * types 0x00, 'X', 'f', 0x94 and the FIO* numbers) are never sent: the
 * kernel answers them before the driver, some with side effects.
 *
 * --faults: the device has fault rules active (completions dropped,
 * delayed, duplicated or with a bogus status, interrupts lost, fatal
 * errors...).  A request the driver validated may then fail in the ways a
 * misbehaving device explains and the driver documents (kestrel_io.c):
 * -EIO (transfer or media error, retries used up, dead controller),
 * -EINVAL, -ERANGE or -EOPNOTSUPP (the device rejected it:
 * kestrel_status_to_errno()), -ENODEV.  Everything else is checked as
 * without faults: the ioctl return codes (a SUBMIT that validation accepts
 * still returns 0 unless the device is dead or gone), what is written
 * back, `completed`, the counters.  Valid timeouts set are at most
 * FAULT_TIMEOUT_MS, so a dropped completion costs seconds, not minutes.
 * After the storm the timeout is restored and the device is left to
 * settle, but its state and data are not judged: the faults are still
 * active.  That is the caller's next step, once the rules are cleared (a
 * run without --faults, or `kestrelctl read --verify`).
 *
 * Exit status: 0 when no contract violation was seen, 1 otherwise, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "uapi/kestrel.h"
#include "kestrel_fuzz_ioctl.h"
#include "kestrelctl_util.h"

#define PAGE		4096u
#define MAX_SHOWN	20	/* violations printed in full */
#define MAX_THREADS	64
#define FAULT_TIMEOUT_MS 2000	/* --faults: longest valid timeout set */

enum op_kind {
	OP_INFO, OP_STATS, OP_GET_TIMEOUT, OP_SET_TIMEOUT, OP_SUBMIT,
	OP_RESET, OP_UNKNOWN, OP__MAX
};

static const char *const op_names[OP__MAX] = {
	"GET_INFO", "GET_STATS", "GET_TIMEOUT", "SET_TIMEOUT", "SUBMIT",
	"RESET", "unknown-cmd",
};

/* The errno histogram's slots; the last one is "anything else". */
static const int err_slots[] = {
	0, EINVAL, EFAULT, ENOTTY, EIO, ENODEV, ENOMEM, EBUSY, EINTR,
	ERANGE, EOPNOTSUPP,
};
static const char *const err_slot_names[] = {
	"0", "EINVAL", "EFAULT", "ENOTTY", "EIO", "ENODEV", "ENOMEM", "EBUSY",
	"EINTR", "ERANGE", "EOPNOTSUPP", "other",
};
#define NSLOTS	(sizeof(err_slots) / sizeof(err_slots[0]))
#define SLOT(e)	(1u << slot_of(e))

/* Where an argument was put. */
enum place { P_OK, P_RO, P_BAD };

struct geom {
	uint64_t capacity;
	uint32_t bs, max_xfer, max_segs, instance;
	uint32_t timeout0;
};

struct cfg {
	const char *dev;
	uint64_t seed;
	uint32_t threads;
	double duration;
	uint64_t ops;		/* per thread; 0: until the duration is over */
	uint64_t lba, blocks;	/* the only blocks a WRITE may name */
	bool have_range;
	bool faults;		/* device faults active: see the top */
};

struct fz {
	uint32_t id;
	uint64_t rng;
	int fd;
	uint64_t nops;
	bool clean;		/* this SUBMIT: nothing broken on purpose */
	/* one mapping, see fz_map() */
	uint8_t *args, *args_guard, *ro, *ios, *ios_guard, *ro_ios;
	uint8_t *data, *data_guard, *rodata;
	size_t data_len;
	struct kestrel_stats last;
	bool have_last;
	char desc[256];
	uint64_t count[OP__MAX];
	uint64_t hist[OP__MAX][NSLOTS + 1];
	uint64_t results[NSLOTS + 1];
	uint64_t ios_sent, batches_run;
	uint64_t violations;
};

static struct cfg cfg;
static struct geom g;
static atomic_bool stop_all;
static atomic_uint shown;
static double deadline;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- helpers ------------------------------------------------------------ */

/* splitmix64: state += golden ratio, output = finaliser(state) */
static uint64_t rnd(struct fz *t)
{
	t->rng += 0x9e3779b97f4a7c15ull;
	return gd_mix64(t->rng - 0x9e3779b97f4a7c15ull);
}

static uint64_t below(struct fz *t, uint64_t n)
{
	return n ? rnd(t) % n : 0;
}

static bool one_in(struct fz *t, uint64_t n)
{
	return below(t, n) == 0;
}

static unsigned int slot_of(int e)
{
	unsigned int i;

	for (i = 0; i < NSLOTS; i++)
		if (err_slots[i] == e)
			return i;
	return NSLOTS;
}

/*
 * The results allowed for an ioctl on a struct placed at @pl whose fields
 * are valid (@ok), in the driver's order: a removed device first, then
 * copy-in (EFAULT), validation (EINVAL), then copy-out (EFAULT on a
 * read-only placement) when the ioctl @writes_back.
 */
static unsigned int struct_errs(enum place pl, bool ok, bool writes_back)
{
	return SLOT(ENODEV) |
	       (pl == P_BAD ? SLOT(EFAULT) : !ok ? SLOT(EINVAL) :
		pl == P_RO && writes_back ? SLOT(EFAULT) : SLOT(0));
}

static const char *fz_err_name(int e)
{
	return err_slot_names[slot_of(e)];
}

static void mask_names(unsigned int mask, char *buf, size_t len)
{
	size_t n = 0;
	unsigned int i;

	buf[0] = 0;
	for (i = 0; i <= NSLOTS && n < len; i++)
		if (mask & (1u << i))
			n += snprintf(buf + n, len - n, "%s%s", n ? "|" : "",
				      err_slot_names[i]);
}

static void __attribute__((format(printf, 2, 3)))
violation(struct fz *t, const char *fmt, ...)
{
	va_list ap;

	t->violations++;
	if (atomic_fetch_add(&shown, 1) >= MAX_SHOWN)
		return;
	pthread_mutex_lock(&out_lock);
	fprintf(stderr, "fuzz-ioctl: VIOLATION thread %u op %" PRIu64 ": %s: ",
		t->id, t->nops, t->desc);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&out_lock);
}

/* Record the outcome of one ioctl; @allowed is a mask of SLOT(errno). */
static void judge(struct fz *t, enum op_kind k, int err, unsigned int allowed)
{
	char want[128];

	t->count[k]++;
	t->hist[k][slot_of(err)]++;
	if (allowed & (1u << slot_of(err)) && slot_of(err) < NSLOTS)
		return;
	mask_names(allowed, want, sizeof(want));
	violation(t, "returned %s (%d), the contract allows %s",
		  fz_err_name(err), err, want);
}

static int do_ioctl(struct fz *t, unsigned long cmd, uint64_t arg)
{
	return ioctl(t->fd, cmd, (unsigned long)arg) ? errno : 0;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return false;
	return true;
}

/* ---- memory ---------------------------------------------------------------- */

/*
 * One mapping per thread, every region followed by a PROT_NONE guard page:
 *   args (1 page RW) | guard | ro (1 page RO) | guard | ios (2 pages RW) |
 *   guard | ro_ios (2 pages RO) | guard | data (data_len RW) | guard |
 *   rodata (data_len RO) | guard
 */
static void fz_map(struct fz *t)
{
	size_t dl = t->data_len, total = 11 * PAGE + 2 * dl + PAGE;
	uint8_t *m = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	if (m == MAP_FAILED) {
		perror("fuzz-ioctl: mmap");
		exit(1);
	}
	t->args = m;
	t->args_guard = m + PAGE;
	t->ro = m + 2 * PAGE;
	t->ios = m + 4 * PAGE;
	t->ios_guard = m + 6 * PAGE;
	t->ro_ios = m + 7 * PAGE;
	t->data = m + 10 * PAGE;
	t->data_guard = t->data + dl;
	t->rodata = t->data_guard + PAGE;
	if (mprotect(t->args, PAGE, PROT_READ | PROT_WRITE) ||
	    mprotect(t->ro, PAGE, PROT_READ) ||
	    mprotect(t->ios, 2 * PAGE, PROT_READ | PROT_WRITE) ||
	    mprotect(t->ro_ios, 2 * PAGE, PROT_READ) ||
	    mprotect(t->data, dl, PROT_READ | PROT_WRITE) ||
	    mprotect(t->rodata, dl, PROT_READ | PROT_WRITE)) {
		perror("fuzz-ioctl: mprotect");
		exit(1);
	}
	memset(t->data, 0xa5, dl);
	memset(t->rodata, 0x3c, dl);	/* real pages, not the zero page */
	if (mprotect(t->rodata, dl, PROT_READ)) {
		perror("fuzz-ioctl: mprotect");
		exit(1);
	}
}

/* Copy into a read-only region (made writable for the copy only). */
static void ro_write(uint8_t *dst, const void *src, size_t len, uint8_t *region,
		     size_t rlen)
{
	if (mprotect(region, rlen, PROT_READ | PROT_WRITE))
		abort();
	memcpy(dst, src, len);
	if (mprotect(region, rlen, PROT_READ))
		abort();
}

/* An address no struct of @len bytes can be read from. */
static uint64_t bad_addr(struct fz *t, uint8_t *guard, const void *obj,
			 size_t len, const char **what)
{
	uint64_t k;

	switch (below(t, 8)) {
	case 0:
		*what = "NULL";
		return 0;
	case 1:
		*what = "page 0";
		return 1 + below(t, PAGE - 1);
	case 2:
		*what = "PROT_NONE page";
		return (uintptr_t)guard + below(t, PAGE / 2);
	case 3:
		*what = "kernel direct map";
		return 0xffff888000000000ull + (below(t, 1u << 20) << 12) +
		       below(t, 64) * 8;
	case 4:
		*what = "kernel text";
		return 0xffffffff81000000ull + below(t, 1u << 24);
	case 5:
		*what = "non-canonical";
		return one_in(t, 2) ? 0x0000800000000000ull + below(t, PAGE) * 8 :
				      0x8000000000000000ull;
	case 6:
		*what = "top of the address space";
		return UINT64_MAX - below(t, len);
	default:
		/* the struct's first k bytes, then the guard page */
		*what = "straddling a PROT_NONE page";
		k = 1 + below(t, len - 1);
		memcpy(guard - k, obj, k);
		return (uintptr_t)(guard - k);
	}
}

/*
 * Put @obj somewhere: in the RW args page (aligned or not), in the
 * read-only page, or at a bad address.  Returns the address; *pl says
 * which, *at the RW copy (P_OK) to read the driver's answer from.
 */
static uint64_t place(struct fz *t, const void *obj, size_t len,
		      enum place *pl, uint8_t **at)
{
	uint64_t r = below(t, 16), off;
	const char *what = "";
	size_t n;

	off = below(t, PAGE - len + 1);
	if (!one_in(t, 4))
		off &= ~7ull;
	*at = NULL;
	if (r < 11 || t->clean) {
		*pl = P_OK;
		*at = t->args + off;
		memcpy(*at, obj, len);
		return (uintptr_t)*at;
	}
	if (r < 13) {
		*pl = P_RO;
		ro_write(t->ro + off, obj, len, t->ro, PAGE);
		n = strlen(t->desc);
		snprintf(t->desc + n, sizeof(t->desc) - n, " [read-only arg]");
		return (uintptr_t)(t->ro + off);
	}
	*pl = P_BAD;
	off = bad_addr(t, t->args_guard, obj, len, &what);
	n = strlen(t->desc);
	snprintf(t->desc + n, sizeof(t->desc) - n, " [arg %s %#" PRIx64 "]",
		 what, off);
	return off;
}

/* A wrong size field: near misses, zero, huge. */
static uint32_t bad_size(struct fz *t, uint32_t size)
{
	static const int32_t d[] = { -4, 4, -1, 1, -8, 8 };
	uint64_t r = below(t, 9);

	if (r < 6)
		return size + d[r];
	if (r == 6)
		return 0;
	if (r == 7)
		return size * 2;
	do {
		size = (uint32_t)rnd(t);
	} while (size == sizeof(struct kestrel_info) ||
		 size == sizeof(struct kestrel_stats) ||
		 size == sizeof(struct kestrel_timeout) ||
		 size == sizeof(struct kestrel_submit));
	return size;
}

/* ---- GET_INFO, GET_STATS, GET/SET_TIMEOUT ---------------------------------- */

static void op_info(struct fz *t)
{
	struct kestrel_info in, out;
	enum place pl;
	uint8_t *at;
	uint64_t arg;
	bool ok;
	int err;

	memset(&in, 0, sizeof(in));
	in.size = sizeof(in);
	if (one_in(t, 4))		/* output fields: ignored on input */
		in.capacity = rnd(t), in.state = (uint32_t)rnd(t),
		in.features = (uint32_t)rnd(t);
	if (one_in(t, 6)) {
		switch (below(t, 4)) {
		case 0: in.size = bad_size(t, in.size); break;
		case 1: in.flags = 1u << below(t, 32); break;
		case 2: in.reserved0[0] = 1 + below(t, 255); break;
		default: in.reserved[below(t, sizeof(in.reserved) / sizeof(in.reserved[0]))] =
			1 + (uint32_t)below(t, 0xffff); break;
		}
	}
	ok = in.size == sizeof(in) && !in.flags &&
	     all_zero(in.reserved0, sizeof(in.reserved0)) &&
	     all_zero(in.reserved, sizeof(in.reserved));
	snprintf(t->desc, sizeof(t->desc), "GET_INFO size %u flags %#x%s",
		 in.size, in.flags, ok ? "" : " (invalid)");
	arg = place(t, &in, sizeof(in), &pl, &at);
	err = do_ioctl(t, KESTREL_IOC_GET_INFO, arg);
	judge(t, OP_INFO, err, struct_errs(pl, ok, true));
	if (err || pl != P_OK)
		return;
	memcpy(&out, at, sizeof(out));
	if (out.size != sizeof(out) || out.flags ||
	    !all_zero(out.reserved0, sizeof(out.reserved0)) ||
	    !all_zero(out.reserved, sizeof(out.reserved)))
		violation(t, "answer has size %u flags %#x or nonzero reserved "
			  "fields", out.size, out.flags);
	if (out.capacity != g.capacity || out.block_size != g.bs ||
	    out.max_xfer_blocks != g.max_xfer || out.max_segs != g.max_segs ||
	    out.instance != g.instance)
		violation(t, "geometry changed: capacity %" PRIu64 " bs %u "
			  "max_xfer %u max_segs %u instance %u", (uint64_t)out.capacity,
			  out.block_size, out.max_xfer_blocks, out.max_segs,
			  out.instance);
	if (out.state < KESTREL_STATE_LIVE || out.state > KESTREL_STATE_REMOVED ||
	    out.timeout_ms < KESTREL_TIMEOUT_MIN_MS ||
	    out.timeout_ms > KESTREL_TIMEOUT_MAX_MS ||
	    !memchr(out.serial, 0, sizeof(out.serial)) ||
	    !memchr(out.model, 0, sizeof(out.model)) ||
	    !memchr(out.firmware, 0, sizeof(out.firmware)))
		violation(t, "answer out of range: state %u timeout %u ms or "
			  "an unterminated string", out.state, out.timeout_ms);
}

static void op_stats(struct fz *t)
{
	struct kestrel_stats in, out;
	const __u64 *a, *b;
	enum place pl;
	uint8_t *at;
	uint64_t arg;
	unsigned int i;
	bool ok;
	int err;

	memset(&in, 0, sizeof(in));
	in.size = sizeof(in);
	if (one_in(t, 4))
		in.submitted = rnd(t), in.resets = rnd(t);
	if (one_in(t, 6)) {
		switch (below(t, 3)) {
		case 0: in.size = bad_size(t, in.size); break;
		case 1: in.flags = 1u << below(t, 32); break;
		default: in.reserved[below(t, sizeof(in.reserved) / sizeof(in.reserved[0]))] =
			1 + below(t, UINT32_MAX); break;
		}
	}
	ok = in.size == sizeof(in) && !in.flags &&
	     all_zero(in.reserved, sizeof(in.reserved));
	snprintf(t->desc, sizeof(t->desc), "GET_STATS size %u flags %#x%s",
		 in.size, in.flags, ok ? "" : " (invalid)");
	arg = place(t, &in, sizeof(in), &pl, &at);
	err = do_ioctl(t, KESTREL_IOC_GET_STATS, arg);
	judge(t, OP_STATS, err, struct_errs(pl, ok, true));
	if (err || pl != P_OK)
		return;
	memcpy(&out, at, sizeof(out));
	if (out.size != sizeof(out) || out.flags ||
	    !all_zero(out.reserved, sizeof(out.reserved)))
		violation(t, "answer has size %u flags %#x or nonzero reserved "
			  "fields", out.size, out.flags);
	/* every counter, submitted .. fatal_errors, only ever grows */
	a = &t->last.submitted;
	b = &out.submitted;
	for (i = 0; t->have_last && &a[i] <= &t->last.fatal_errors; i++)
		if (b[i] < a[i])
			violation(t, "counter %u went down: %" PRIu64 " -> %"
				  PRIu64, i, (uint64_t)a[i], (uint64_t)b[i]);
	t->last = out;
	t->have_last = true;
}

static void op_timeout(struct fz *t, bool set)
{
	static const uint32_t good[] = {
		KESTREL_TIMEOUT_MIN_MS, 50, 200, 1000, 2000, 5000, 30000,
		KESTREL_TIMEOUT_MAX_MS,
	};
	static const uint32_t bad[] = {
		0, KESTREL_TIMEOUT_MIN_MS - 1, KESTREL_TIMEOUT_MAX_MS + 1,
		UINT32_MAX, 0x80000000u,
	};
	struct kestrel_timeout in, out;
	enum op_kind k = set ? OP_SET_TIMEOUT : OP_GET_TIMEOUT;
	enum place pl;
	uint8_t *at;
	uint64_t arg, r;
	bool ok;
	int err;

	memset(&in, 0, sizeof(in));
	in.size = sizeof(in);
	r = below(t, 16);
	/* 10 ms commands time out in a slow guest: rare, like any extreme */
	if (r < 10)
		in.timeout_ms = good[2 + below(t, 5)];
	else if (r < 12)
		in.timeout_ms = good[below(t, 8)];
	else if (r < 14)
		in.timeout_ms = 100 + (uint32_t)below(t, 10000);
	else
		in.timeout_ms = bad[below(t, 5)];
	if (cfg.faults && in.timeout_ms > FAULT_TIMEOUT_MS &&
	    in.timeout_ms <= KESTREL_TIMEOUT_MAX_MS)
		in.timeout_ms = FAULT_TIMEOUT_MS;
	if (one_in(t, 6)) {
		if (one_in(t, 2))
			in.size = bad_size(t, in.size);
		else
			in.reserved[below(t, 2)] = 1 + (uint32_t)below(t, 1000);
	}
	ok = in.size == sizeof(in) && all_zero(in.reserved, sizeof(in.reserved)) &&
	     (!set || (in.timeout_ms >= KESTREL_TIMEOUT_MIN_MS &&
		       in.timeout_ms <= KESTREL_TIMEOUT_MAX_MS));
	snprintf(t->desc, sizeof(t->desc), "%s size %u timeout_ms %u%s",
		 op_names[k], in.size, in.timeout_ms, ok ? "" : " (invalid)");
	arg = place(t, &in, sizeof(in), &pl, &at);
	err = do_ioctl(t, set ? KESTREL_IOC_SET_TIMEOUT : KESTREL_IOC_GET_TIMEOUT,
		       arg);
	/* SET only reads its argument: a read-only one is fine */
	judge(t, k, err, struct_errs(pl, ok, !set));
	if (err || pl != P_OK || set)
		return;
	memcpy(&out, at, sizeof(out));
	if (out.size != sizeof(out) || !all_zero(out.reserved, sizeof(out.reserved)) ||
	    out.timeout_ms < KESTREL_TIMEOUT_MIN_MS ||
	    out.timeout_ms > KESTREL_TIMEOUT_MAX_MS)
		violation(t, "answer: size %u timeout %u ms or nonzero reserved",
			  out.size, out.timeout_ms);
}

static void op_reset(struct fz *t)
{
	snprintf(t->desc, sizeof(t->desc), "RESET");
	/* the argument is ignored: any value */
	judge(t, OP_RESET, do_ioctl(t, KESTREL_IOC_RESET, rnd(t)),
	      SLOT(0) | SLOT(EIO) | SLOT(EBUSY) | SLOT(ENODEV));
}

/* ---- unknown commands ------------------------------------------------------ */

static const unsigned int known_cmds[] = {
	KESTREL_IOC_GET_INFO, KESTREL_IOC_SUBMIT, KESTREL_IOC_RESET,
	KESTREL_IOC_GET_STATS, KESTREL_IOC_GET_TIMEOUT, KESTREL_IOC_SET_TIMEOUT,
};

/* Answered by fs/ioctl.c before the driver (or reserved for it). */
static bool vfs_cmd(unsigned int cmd)
{
	unsigned int type = _IOC_TYPE(cmd);

	return type == 0x00 || type == 'X' || type == 'f' || type == 0x94 ||
	       cmd == FIOCLEX || cmd == FIONCLEX || cmd == FIONBIO ||
	       cmd == FIOASYNC || cmd == FIOQSIZE || cmd == FIONREAD;
}

static bool known_cmd(unsigned int cmd)
{
	unsigned int i;

	for (i = 0; i < sizeof(known_cmds) / sizeof(known_cmds[0]); i++)
		if (cmd == known_cmds[i])
			return true;
	return false;
}

static void op_unknown(struct fz *t)
{
	unsigned int cmd;
	uint64_t arg;
	const char *what = "";

	do {
		switch (below(t, 4)) {
		case 0:
			cmd = (uint32_t)rnd(t);
			break;
		case 1:
			cmd = _IOC(below(t, 4), KESTREL_IOC_MAGIC, below(t, 256),
				   below(t, 1u << _IOC_SIZEBITS));
			break;
		case 2:
			cmd = _IOC(below(t, 4), KESTREL_IOC_MAGIC, below(t, 8),
				   below(t, 1024));
			break;
		default:
			cmd = known_cmds[below(t, 6)] ^
			      (1u << (_IOC_SIZESHIFT + below(t, 16)));
			break;
		}
	} while (known_cmd(cmd) || vfs_cmd(cmd));
	switch (below(t, 3)) {
	case 0:
		arg = (uintptr_t)t->args;
		break;
	case 1:
		arg = bad_addr(t, t->args_guard, t->args, 64, &what);
		break;
	default:
		arg = rnd(t);
		break;
	}
	snprintf(t->desc, sizeof(t->desc), "ioctl %#x (type %#x nr %#x size %u "
		 "dir %u) arg %#" PRIx64, cmd, _IOC_TYPE(cmd), _IOC_NR(cmd),
		 _IOC_SIZE(cmd), _IOC_DIR(cmd), arg);
	judge(t, OP_UNKNOWN, do_ioctl(t, cmd, arg), SLOT(ENOTTY));
}

/* ---- SUBMIT ------------------------------------------------------------------ */

/* Mapping outcome of one request's buffer, as the driver must see it. */
enum buf_class { BUF_OK, BUF_BAD, BUF_SEGS };

/* The UAPI rules for one request, read independently of kestrel_lib.c. */
static bool io_ok(const struct kestrel_io *io)
{
	if (io->flags || io->reserved0 || io->reserved1 ||
	    io->reserved2[0] || io->reserved2[1])
		return false;
	if (io->opcode == KESTREL_IO_FLUSH)
		return !io->lba && !io->nblocks && !io->buf && !io->buf_len;
	if (io->opcode != KESTREL_IO_READ && io->opcode != KESTREL_IO_WRITE)
		return false;
	return io->nblocks >= 1 && io->nblocks <= g.max_xfer &&
	       io->lba < g.capacity && io->nblocks <= g.capacity - io->lba &&
	       io->buf_len == (uint64_t)io->nblocks * g.bs &&
	       io->buf % 4 == 0 && io->buf + io->buf_len >= io->buf;
}

static bool in_range(uint64_t lba, uint64_t nb)
{
	return cfg.have_range && lba >= cfg.lba && nb <= cfg.blocks &&
	       lba - cfg.lba <= cfg.blocks - nb;
}

static uint32_t pick_nblocks(struct fz *t, uint64_t limit)
{
	uint64_t m = g.max_xfer < limit ? g.max_xfer : limit;

	if (one_in(t, 16))
		return 1 + (uint32_t)below(t, m);
	return 1 + (uint32_t)below(t, m < 8 ? m : 8);
}

/* A buffer for @len bytes in the data region, 4-byte aligned. */
static uint64_t pick_buf(struct fz *t, uint8_t *base, uint64_t len)
{
	uint64_t off = below(t, t->data_len - len + 1);

	off &= one_in(t, 2) ? ~(uint64_t)(PAGE - 1) : ~3ull;
	return (uintptr_t)(base + off);
}

static enum buf_class gen_io(struct fz *t, struct kestrel_io *io,
			     const char **what)
{
	enum buf_class bc = BUF_OK;
	uint64_t r = below(t, 16), pages;
	bool write = r >= 6 && r < 11 && cfg.have_range;

	memset(io, 0, sizeof(*io));
	io->result = (int32_t)0x5a5a5a5a;
	if (r == 11) {
		io->opcode = KESTREL_IO_FLUSH;
	} else if (write) {
		io->opcode = KESTREL_IO_WRITE;
		io->nblocks = pick_nblocks(t, cfg.blocks);
		io->lba = cfg.lba + below(t, cfg.blocks - io->nblocks + 1);
	} else {
		io->opcode = KESTREL_IO_READ;
		io->nblocks = pick_nblocks(t, g.capacity);
		io->lba = below(t, g.capacity - io->nblocks + 1);
	}
	if (io->opcode != KESTREL_IO_FLUSH) {
		io->buf_len = (uint64_t)io->nblocks * g.bs;
		io->buf = pick_buf(t, t->data, io->buf_len);
		switch (t->clean ? 24 : below(t, 24)) {
		case 0:		/* unpinnable: the ioctl fails with -EFAULT */
			io->buf = 0;
			bc = BUF_BAD;
			break;
		case 1:
			io->buf = 0xffff888000000000ull + (below(t, 1u << 20) << 12);
			bc = BUF_BAD;
			break;
		case 2:
			io->buf = 0x0000800000000000ull + below(t, 1u << 20) * 4;
			bc = BUF_BAD;
			break;
		case 3:		/* runs into the guard page */
			if (io->buf_len > 4) {
				io->buf = (uintptr_t)t->data_guard - io->buf_len +
					  4 * (1 + below(t, io->buf_len / 4 - 1));
				bc = BUF_BAD;
			}
			break;
		case 4:		/* read-only: fine to write from, not to read into */
		case 5:
			io->buf = pick_buf(t, t->rodata, io->buf_len);
			if (io->opcode == KESTREL_IO_READ)
				bc = BUF_BAD;
			break;
		case 6:
			io->buf = (uintptr_t)t->args_guard;
			bc = BUF_BAD;
			break;
		}
		pages = ((io->buf & (PAGE - 1)) + io->buf_len + PAGE - 1) / PAGE;
		if (bc == BUF_OK && pages > g.max_segs)
			bc = BUF_SEGS;
	}
	*what = bc == BUF_BAD ? "unpinnable buffer" : "";
	if (r >= 12 && !t->clean) {	/* one field broken */
		switch (below(t, 12)) {
		case 0:
			io->opcode = one_in(t, 4) ? 0 : 4 + below(t, 252);
			*what = "opcode";
			break;
		case 1:
			io->flags = 1 + below(t, 255);
			*what = "flags";
			break;
		case 2:
			io->reserved0 = 1 + below(t, 0xffff);
			*what = "reserved0";
			break;
		case 3:
			io->reserved1 = 1 + (uint32_t)below(t, UINT32_MAX);
			*what = "reserved1";
			break;
		case 4:
			io->reserved2[below(t, 2)] = 1 + below(t, UINT32_MAX);
			*what = "reserved2";
			break;
		case 5:
			/* a WRITE never names blocks past the range */
			io->nblocks = one_in(t, 2) || io->opcode == KESTREL_IO_WRITE ?
				      0 : g.max_xfer + 1 + (uint32_t)below(t, 1000);
			io->buf_len = (uint64_t)io->nblocks * g.bs;
			*what = "nblocks";
			break;
		case 6:
			io->buf_len += one_in(t, 2) ? 1 : g.bs;
			*what = "buf_len";
			break;
		case 7:
			io->buf |= 1 + below(t, 3);
			*what = "misaligned buf";
			break;
		case 8:		/* never a block of the device: safe for WRITEs */
			io->lba = g.capacity + below(t, 1000);
			*what = "lba past the end";
			break;
		case 9:		/* READs only: a WRITE would touch the last blocks */
			if (io->opcode == KESTREL_IO_READ) {
				io->lba = one_in(t, 2) ? UINT64_MAX - below(t, 4) :
					  g.capacity - below(t, io->nblocks);
				*what = io->lba > g.capacity ? "lba overflow" :
							       "lba+nblocks past the end";
			}
			break;
		case 10:
			if (io->opcode == KESTREL_IO_FLUSH) {
				io->lba = 1 + below(t, 100);
				io->nblocks = (uint32_t)below(t, 2);
				*what = "FLUSH with a range";
			} else {
				io->buf = UINT64_MAX & ~3ull;
				*what = "buf wraps";
			}
			break;
		default:
			if (io->opcode == KESTREL_IO_FLUSH) {
				io->buf = (uintptr_t)t->data;
				io->buf_len = g.bs;
				*what = "FLUSH with a buffer";
			} else {
				io->buf_len = 0;
				*what = "buf_len 0";
			}
			break;
		}
	}
	/* The promise of the range, checked before anything is sent. */
	if (io->opcode == KESTREL_IO_WRITE && io_ok(io) &&
	    !in_range(io->lba, io->nblocks)) {
		fprintf(stderr, "fuzz-ioctl: internal error: a valid WRITE of lba "
			"%" PRIu64 "+%u outside the range\n", (uint64_t)io->lba,
			io->nblocks);
		abort();
	}
	if (io->opcode == KESTREL_IO_WRITE && io->lba < g.capacity &&
	    !in_range(io->lba, io->nblocks > 0 ? io->nblocks : 1)) {
		fprintf(stderr, "fuzz-ioctl: internal error: a WRITE names lba "
			"%" PRIu64 " outside the range\n", (uint64_t)io->lba);
		abort();
	}
	return bc;
}

static void op_submit(struct fz *t)
{
	struct kestrel_io loc[KESTREL_MAX_BATCH], *out;
	enum buf_class bc[KESTREL_MAX_BATCH];
	const char *what[KESTREL_MAX_BATCH];
	struct kestrel_submit s;
	enum place hpl, ipl = P_OK;
	unsigned int allowed, i, n, readable, completed, note = UINT32_MAX;
	uint8_t *hat, *iat = NULL;
	const char *ios_what = "";
	char iosw[64];
	bool hdr_ok, any_bad = false, any_segs = false;
	uint64_t arg, r;
	size_t len;
	int err;

	/* half the batches are valid: the rest break one thing or more */
	t->clean = one_in(t, 2);
	n = 1 + (uint32_t)(one_in(t, 8) ? below(t, KESTREL_MAX_BATCH) : below(t, 4));
	for (i = 0; i < n; i++)
		bc[i] = gen_io(t, &loc[i], &what[i]);
	len = n * sizeof(loc[0]);

	/* where the requests are: RW, read-only, partly or wholly unreadable */
	readable = n;
	r = t->clean ? 0 : below(t, 16);
	if (r < 12) {
		iat = t->ios + (one_in(t, 4) ? below(t, 2 * PAGE - len + 1) & ~7ull : 0);
		memcpy(iat, loc, len);
	} else if (r < 14) {
		ipl = P_RO;
		ios_what = " [read-only requests]";
		ro_write(t->ro_ios, loc, len, t->ro_ios, 2 * PAGE);
		iat = t->ro_ios;
	} else if (r == 14) {
		readable = (uint32_t)below(t, n);
		iat = t->ios_guard - (size_t)readable * sizeof(loc[0]);
		memcpy(iat, loc, (size_t)readable * sizeof(loc[0]));
		ios_what = " [requests run into a PROT_NONE page]";
	} else {
		readable = 0;
		iat = (uint8_t *)(uintptr_t)bad_addr(t, t->ios_guard, loc,
						     sizeof(loc[0]), &ios_what);
		snprintf(iosw, sizeof(iosw), " [requests at: %s]", ios_what);
		ios_what = iosw;
	}

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.count = n;
	s.io_size = sizeof(struct kestrel_io);
	s.ios = (uintptr_t)iat;
	if (one_in(t, 4))
		s.completed = (uint32_t)rnd(t);	/* output: ignored */
	if (!t->clean && one_in(t, 8)) {
		switch (below(t, 6)) {
		case 0: s.size = bad_size(t, s.size); break;
		case 1: s.flags = 1u << below(t, 32); break;
		case 2:
			s.count = one_in(t, 2) ? 0 : KESTREL_MAX_BATCH + 1 +
				  (uint32_t)below(t, UINT32_MAX - KESTREL_MAX_BATCH);
			break;
		case 3: s.io_size = sizeof(struct kestrel_io) + (one_in(t, 2) ? 8 : -8); break;
		case 4: s.reserved[below(t, 5)] = 1 + (uint32_t)below(t, 1000); break;
		default: s.ios = UINT64_MAX - below(t, 64 * sizeof(loc[0])); break;
		}
	}
	if (s.ios != (uintptr_t)iat) {
		readable = 0;
		ios_what = " [requests at the top of the address space]";
	}
	hdr_ok = s.size == sizeof(s) && !s.flags && all_zero(s.reserved, sizeof(s.reserved)) &&
		 s.count >= 1 && s.count <= KESTREL_MAX_BATCH &&
		 s.io_size == sizeof(struct kestrel_io) &&
		 s.ios + (uint64_t)s.count * s.io_size >= s.ios;
	snprintf(t->desc, sizeof(t->desc), "SUBMIT count %u size %u io_size %u "
		 "flags %#x ios %#" PRIx64 "%s%s", s.count, s.size, s.io_size,
		 s.flags, (uint64_t)s.ios, ios_what, hdr_ok ? "" : " (invalid header)");
	arg = place(t, &s, sizeof(s), &hpl, &hat);
	t->clean = false;

	/* The driver's order: header, then request by request, then buffers. */
	if (hpl == P_BAD) {
		allowed = SLOT(EFAULT);
	} else if (!hdr_ok) {
		allowed = SLOT(EINVAL);
	} else {
		allowed = 0;
		for (i = 0; i < n && !allowed; i++) {
			if (i >= readable)
				allowed = SLOT(EFAULT);
			else if (!io_ok(&loc[i]))
				allowed = SLOT(EINVAL), note = i;
		}
		if (!allowed) {
			for (i = 0; i < n; i++) {
				if (bc[i] == BUF_BAD && !any_bad)
					note = i;
				any_bad |= bc[i] == BUF_BAD;
				any_segs |= bc[i] == BUF_SEGS;
			}
			/* a dead device refuses before mapping; ENOMEM */
			allowed = SLOT(EIO) | SLOT(ENOMEM);
			if (any_segs)
				allowed |= SLOT(EINVAL);
			if (any_bad)
				allowed |= SLOT(EFAULT);
			else if (hpl == P_RO || ipl == P_RO)
				allowed |= SLOT(EFAULT);	/* results not written */
			else
				allowed |= SLOT(0);
		}
	}
	if (note < n)
		snprintf(t->desc + strlen(t->desc), sizeof(t->desc) - strlen(t->desc),
			 " (request %u: %s %s lba %" PRIu64 " nblocks %u buf %#"
			 PRIx64 ")", note, what[note],
			 loc[note].opcode == KESTREL_IO_WRITE ? "WRITE" : "READ",
			 (uint64_t)loc[note].lba, loc[note].nblocks,
			 (uint64_t)loc[note].buf);
	err = do_ioctl(t, KESTREL_IOC_SUBMIT, arg);
	judge(t, OP_SUBMIT, err, allowed | SLOT(ENODEV));
	t->ios_sent += n;
	if (err || hpl != P_OK || ipl != P_OK)
		return;

	t->batches_run++;
	out = (struct kestrel_io *)iat;
	completed = 0;
	for (i = 0; i < n; i++) {
		int res = out[i].result;

		t->results[slot_of(-res)]++;
		if (res == 0)
			completed++;
		else if (res != -EIO && res != -ENODEV &&
			 !(cfg.faults && (res == -EINVAL || res == -ERANGE ||
					  res == -EOPNOTSUPP)))
			violation(t, "request %u (%s lba %" PRIu64 " nblocks %u) "
				  "of a valid batch has result %d (%s)", i,
				  loc[i].opcode == KESTREL_IO_READ ? "READ" :
				  loc[i].opcode == KESTREL_IO_WRITE ? "WRITE" :
				  "FLUSH", (uint64_t)loc[i].lba, loc[i].nblocks, res,
				  fz_err_name(-res));
	}
	memcpy(&s, hat, sizeof(s));
	if (s.completed != completed)
		violation(t, "completed = %u but %u results are 0", s.completed,
			  completed);
}

/* ---- threads ------------------------------------------------------------------ */

static void *fz_thread(void *arg)
{
	struct fz *t = arg;

	t->fd = open(cfg.dev, O_RDWR | O_CLOEXEC);
	if (t->fd < 0) {
		fprintf(stderr, "fuzz-ioctl: thread %u: cannot open %s: %s\n",
			t->id, cfg.dev, strerror(errno));
		t->violations++;
		return NULL;
	}
	while (!atomic_load(&stop_all) && (!cfg.ops || t->nops < cfg.ops)) {
		uint64_t r = below(t, 256);

		if (r < 28)
			op_info(t);
		else if (r < 52)
			op_stats(t);
		else if (r < 66)
			op_timeout(t, false);
		else if (r < 78)
			op_timeout(t, true);
		else if (r < 224)
			op_submit(t);
		else if (r < 255)
			op_unknown(t);
		else
			op_reset(t);
		t->nops++;
		if (cfg.duration > 0 && !(t->nops & 15) && now_s() > deadline)
			break;
	}
	close(t->fd);
	return NULL;
}

/* ---- after the storm ---------------------------------------------------------- */

static int get_info(int fd, struct kestrel_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, KESTREL_IOC_GET_INFO, info) ? errno : 0;
}

static int rw(int fd, uint8_t op, uint64_t lba, uint32_t nb, void *buf,
	      int *result)
{
	struct kestrel_io io;
	struct kestrel_submit s;

	memset(&io, 0, sizeof(io));
	io.opcode = op;
	io.lba = lba;
	io.nblocks = nb;
	io.buf = (uintptr_t)buf;
	io.buf_len = (uint64_t)nb * g.bs;
	io.result = -1;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.count = 1;
	s.io_size = sizeof(io);
	s.ios = (uintptr_t)&io;
	*result = io.result;
	if (ioctl(fd, KESTREL_IOC_SUBMIT, &s))
		return errno;
	*result = io.result;
	return s.completed == (io.result == 0) ? 0 : EPROTO;
}

/*
 * --faults: restore the timeout, let a reset or recovery settle, report
 * the state.  Not judged beyond the timeout: the faults are still active.
 */
/* Put back the command timeout the storm started with; 1 on failure. */
static int restore_timeout(int fd)
{
	struct kestrel_timeout to;

	memset(&to, 0, sizeof(to));
	to.size = sizeof(to);
	to.timeout_ms = g.timeout0;
	if (ioctl(fd, KESTREL_IOC_SET_TIMEOUT, &to)) {
		fprintf(stderr, "fuzz-ioctl: FAIL: restoring the timeout: %s\n",
			strerror(errno));
		return 1;
	}
	return 0;
}

static int after_faulty_storm(int fd)
{
	struct kestrel_info info;
	double until = now_s() + 30;
	int err;

	if (restore_timeout(fd))
		return 1;
	do {
		err = get_info(fd, &info);
		if (err || info.state != KESTREL_STATE_RESETTING)
			break;
		usleep(50000);
	} while (now_s() < until);
	printf("fuzz-ioctl: after the storm (faults active, not judged): %s%s\n",
	       err ? "GET_INFO: " : "state ",
	       err ? strerror(err) : info.state == KESTREL_STATE_LIVE ? "LIVE" :
	       info.state == KESTREL_STATE_DEAD ? "DEAD" :
	       info.state == KESTREL_STATE_REMOVED ? "REMOVED" : "other");
	return 0;
}

/* Returns the number of problems found. */
static int after_storm(int fd)
{
	struct kestrel_info info;
	uint32_t nb, i;
	uint8_t *buf, *back;
	int bad = 0, err, res;
	double until;

	if (restore_timeout(fd))
		bad++;
	/* a reset or a recovery still running settles; a dead device gets a RESET */
	until = now_s() + 30;
	for (;;) {
		err = get_info(fd, &info);
		if (err || info.state == KESTREL_STATE_LIVE ||
		    info.state == KESTREL_STATE_REMOVED || now_s() > until)
			break;
		if (info.state == KESTREL_STATE_DEAD) {
			printf("fuzz-ioctl: device dead after the storm; "
			       "KESTREL_IOC_RESET\n");
			err = ioctl(fd, KESTREL_IOC_RESET, 0) ? errno : 0;
			if (err) {
				fprintf(stderr, "fuzz-ioctl: FAIL: RESET of the "
					"dead device: %s\n", strerror(err));
				return bad + 1;
			}
			continue;
		}
		usleep(50000);
	}
	if (err || info.state != KESTREL_STATE_LIVE) {
		fprintf(stderr, "fuzz-ioctl: FAIL: after the storm GET_INFO "
			"gives %s, state %u (want LIVE)\n", strerror(err),
			err ? 0 : info.state);
		return bad + 1;
	}
	if (info.capacity != g.capacity || info.block_size != g.bs ||
	    info.timeout_ms != g.timeout0) {
		fprintf(stderr, "fuzz-ioctl: FAIL: after the storm capacity %"
			PRIu64 " bs %u timeout %u ms\n", (uint64_t)info.capacity,
			info.block_size, info.timeout_ms);
		bad++;
	}
	nb = g.max_xfer < 16 ? g.max_xfer : 16;
	if (cfg.have_range && cfg.blocks < nb)
		nb = (uint32_t)cfg.blocks;
	buf = aligned_alloc(PAGE, (size_t)nb * g.bs + PAGE);
	back = aligned_alloc(PAGE, (size_t)nb * g.bs + PAGE);
	if (!buf || !back)
		abort();
	err = rw(fd, KESTREL_IO_READ, 0, 1, back, &res);
	if (err || res) {
		fprintf(stderr, "fuzz-ioctl: FAIL: READ of block 0 on a live "
			"device: ioctl %s, result %d\n", strerror(err), res);
		bad++;
	}
	if (cfg.have_range) {
		for (i = 0; i < nb * g.bs / 8; i++) {
			uint64_t w = gd_mix64(cfg.seed ^ gd_mix64(cfg.lba * g.bs + i * 8));

			memcpy(buf + i * 8, &w, 8);
		}
		err = rw(fd, KESTREL_IO_WRITE, cfg.lba, nb, buf, &res);
		if (err || res) {
			fprintf(stderr, "fuzz-ioctl: FAIL: WRITE of lba %" PRIu64
				"+%u on a live device: ioctl %s, result %d\n",
				cfg.lba, nb, strerror(err), res);
			bad++;
		}
		memset(back, 0xee, (size_t)nb * g.bs);
		err = rw(fd, KESTREL_IO_READ, cfg.lba, nb, back, &res);
		if (err || res) {
			fprintf(stderr, "fuzz-ioctl: FAIL: READ of lba %" PRIu64
				"+%u on a live device: ioctl %s, result %d\n",
				cfg.lba, nb, strerror(err), res);
			bad++;
		} else if (memcmp(buf, back, (size_t)nb * g.bs)) {
			fprintf(stderr, "fuzz-ioctl: FAIL: lba %" PRIu64 "+%u reads "
				"back different data than was written\n", cfg.lba,
				nb);
			bad++;
		} else {
			printf("fuzz-ioctl: after the storm: LIVE, lba %" PRIu64
			       "+%u written and read back intact\n", cfg.lba, nb);
		}
	}
	free(buf);
	free(back);
	return bad;
}

/* ---- command ------------------------------------------------------------------- */

void kestrel_fuzz_ioctl_usage(FILE *f)
{
	fprintf(f,
"  fuzz-ioctl [--seed S] [--threads N] [--duration SEC] [--ops N]\n"
"             [--lba L --blocks N] [--faults]\n"
"        N threads (default 4) of seeded random ioctls for SEC seconds\n"
"        (default 30) or N ops per thread: every KESTREL_IOC_*, unknown\n"
"        commands, bad sizes, fields and pointers, SUBMIT batches, RESETs\n"
"        and timeout changes; every result is checked against the UAPI\n"
"        contract, then the device must be LIVE and read/write correctly.\n"
"        WRITEs stay inside [L, L+N) (none without --lba/--blocks).\n"
"        --faults: device faults are active; requests may fail as they\n"
"        explain, and the device is not judged after the storm.\n");
}

static uint64_t fz_num(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!s || !*s || *s == '-')
		goto bad;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		goto bad;
	return v;
bad:
	fprintf(stderr, "kestrelctl: fuzz-ioctl: %s: bad number '%s'\n", opt,
		s ? s : "");
	exit(2);
}

int kestrel_fuzz_ioctl_main(const char *dev, int argc, char **argv)
{
	static struct fz th[MAX_THREADS];
	struct kestrel_timeout to;
	struct kestrel_info info;
	pthread_t tid[MAX_THREADS];
	uint64_t total[OP__MAX] = { 0 }, hist[NSLOTS + 1] = { 0 };
	uint64_t results[NSLOTS + 1] = { 0 }, violations = 0, ops = 0;
	uint64_t ios = 0, batches = 0;
	bool have_lba = false, have_blocks = false, have_seed = false;
	unsigned int i, k;
	double t0;
	int fd, err, bad;

	cfg.dev = dev;
	cfg.threads = 4;
	cfg.duration = 30;
	for (i = 0; i < (unsigned int)argc; i++) {
		const char *a = argv[i], *v = i + 1 < (unsigned int)argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--seed"))
			cfg.seed = fz_num(a, v), have_seed = true, i++;
		else if (!strcmp(a, "--threads"))
			cfg.threads = (uint32_t)fz_num(a, v), i++;
		else if (!strcmp(a, "--duration"))
			cfg.duration = (double)fz_num(a, v), i++;
		else if (!strcmp(a, "--ops"))
			cfg.ops = fz_num(a, v), i++;
		else if (!strcmp(a, "--lba"))
			cfg.lba = fz_num(a, v), have_lba = true, i++;
		else if (!strcmp(a, "--blocks"))
			cfg.blocks = fz_num(a, v), have_blocks = true, i++;
		else if (!strcmp(a, "--faults"))
			cfg.faults = true;
		else {
			fprintf(stderr, "kestrelctl: fuzz-ioctl: unknown argument "
				"'%s'\n", a);
			kestrel_fuzz_ioctl_usage(stderr);
			return 2;
		}
	}
	if (!cfg.threads || cfg.threads > MAX_THREADS) {
		fprintf(stderr, "kestrelctl: fuzz-ioctl: --threads 1..%d\n",
			MAX_THREADS);
		return 2;
	}
	if (have_lba != have_blocks || (have_blocks && !cfg.blocks)) {
		fprintf(stderr, "kestrelctl: fuzz-ioctl: --lba and --blocks go "
			"together (N >= 1)\n");
		return 2;
	}
	if (!cfg.duration && !cfg.ops) {
		fprintf(stderr, "kestrelctl: fuzz-ioctl: --duration 0 needs --ops\n");
		return 2;
	}
	cfg.have_range = have_blocks;
	if (!have_seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		cfg.seed = gd_mix64(((uint64_t)ts.tv_sec * 1000000000ull +
				     (uint64_t)ts.tv_nsec) ^ (uint64_t)getpid()) &
			   0xffffffffull;
	}

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "kestrelctl: cannot open %s: %s\n", dev,
			strerror(errno));
		return 1;
	}
	err = get_info(fd, &info);
	memset(&to, 0, sizeof(to));
	to.size = sizeof(to);
	if (err || info.state != KESTREL_STATE_LIVE ||
	    ioctl(fd, KESTREL_IOC_GET_TIMEOUT, &to)) {
		fprintf(stderr, "kestrelctl: fuzz-ioctl: %s is not live before "
			"the storm (GET_INFO: %s, state %u)\n", dev,
			strerror(err), err ? 0 : info.state);
		return 1;
	}
	g.capacity = info.capacity;
	g.bs = info.block_size;
	g.max_xfer = info.max_xfer_blocks;
	g.max_segs = info.max_segs;
	g.instance = info.instance;
	g.timeout0 = to.timeout_ms;
	if (!g.capacity || !g.bs || !g.max_xfer || !g.max_segs) {
		fprintf(stderr, "kestrelctl: fuzz-ioctl: unusable geometry\n");
		return 1;
	}
	if (cfg.have_range && (cfg.lba >= g.capacity ||
			       cfg.blocks > g.capacity - cfg.lba)) {
		fprintf(stderr, "kestrelctl: fuzz-ioctl: lba %" PRIu64 "+%" PRIu64
			" is not inside the device (%" PRIu64 " blocks)\n",
			cfg.lba, cfg.blocks, g.capacity);
		return 2;
	}
	printf("fuzz-ioctl: seed %" PRIu64 " threads %u duration %gs ops/thread "
	       "%" PRIu64 "%s write range %s%" PRIu64 "+%" PRIu64 " (device: %"
	       PRIu64 " blocks of %u, max_xfer %u, max_segs %u, timeout %u ms)\n",
	       cfg.seed, cfg.threads, cfg.duration, cfg.ops,
	       cfg.faults ? " faults active" : "",
	       cfg.have_range ? "lba " : "none ", cfg.lba, cfg.blocks,
	       g.capacity, g.bs, g.max_xfer, g.max_segs, g.timeout0);
	fflush(stdout);

	t0 = now_s();
	deadline = t0 + cfg.duration;
	for (i = 0; i < cfg.threads; i++) {
		th[i].id = i;
		th[i].rng = gd_mix64(cfg.seed ^ gd_mix64(0x6b65737472656cull + i));
		th[i].data_len = ((size_t)g.max_xfer * g.bs + 2 * PAGE + PAGE - 1) &
				 ~(size_t)(PAGE - 1);
		fz_map(&th[i]);
		if (pthread_create(&tid[i], NULL, fz_thread, &th[i])) {
			fprintf(stderr, "fuzz-ioctl: pthread_create failed\n");
			return 1;
		}
	}
	for (i = 0; i < cfg.threads; i++)
		pthread_join(tid[i], NULL);

	for (i = 0; i < cfg.threads; i++) {
		for (k = 0; k < OP__MAX; k++) {
			unsigned int e;

			total[k] += th[i].count[k];
			for (e = 0; e <= NSLOTS; e++)
				hist[e] += th[i].hist[k][e];
		}
		for (k = 0; k <= NSLOTS; k++)
			results[k] += th[i].results[k];
		violations += th[i].violations;
		ops += th[i].nops;
		ios += th[i].ios_sent;
		batches += th[i].batches_run;
	}
	printf("fuzz-ioctl: %" PRIu64 " ops in %.1fs (per thread:", ops,
	       now_s() - t0);
	for (i = 0; i < cfg.threads; i++)
		printf(" %" PRIu64, th[i].nops);
	printf(")\nfuzz-ioctl: ops:");
	for (k = 0; k < OP__MAX; k++)
		printf(" %s %" PRIu64, op_names[k], total[k]);
	printf("\nfuzz-ioctl: returns:");
	for (k = 0; k <= NSLOTS; k++)
		if (hist[k])
			printf(" %s %" PRIu64, err_slot_names[k], hist[k]);
	printf("\nfuzz-ioctl: requests %" PRIu64 " in SUBMITs, %" PRIu64
	       " batches ran; request results:", ios, batches);
	for (k = 0; k <= NSLOTS; k++)
		if (results[k])
			printf(" %s %" PRIu64, err_slot_names[k], results[k]);
	printf("\n");

	bad = cfg.faults ? after_faulty_storm(fd) : after_storm(fd);
	close(fd);
	printf("fuzz-ioctl: seed %" PRIu64 ": %" PRIu64 " contract violations, "
	       "%d failures after the storm: %s\n", cfg.seed, violations, bad,
	       violations || bad ? "FAIL" : "PASS");
	return violations || bad ? 1 : 0;
}
