/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel primitives the shared Kestrel code (kestrel_lib.c) uses,
 * so that the same source compiles into the module and into user-space
 * unit tests and fuzzers.  In the kernel this header only includes the
 * real <linux/...> headers; in user space it maps each primitive onto the
 * C library or a compiler builtin with the same meaning.
 */
#ifndef KESTREL_COMPAT_H
#define KESTREL_COMPAT_H

#ifdef __KERNEL__

#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/overflow.h>
#include <linux/string.h>
#include <linux/types.h>
#include <asm/byteorder.h>

#else /* !__KERNEL__ */

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/types.h>	/* __u8..__u64, __le16..__le64 */

/* Macros rather than typedefs: these names are the kernel's own types. */
#define u8	__u8
#define u16	__u16
#define u32	__u32
#define u64	__u64
#define s32	__s32

/* sparse's annotations mean nothing to a user-space compiler. */
#define __force

#define le16_to_cpu(x)	((u16)le16toh((u16)(x)))
#define le32_to_cpu(x)	((u32)le32toh((u32)(x)))
#define le64_to_cpu(x)	((u64)le64toh((u64)(x)))
#define cpu_to_le16(x)	((__le16)htole16((u16)(x)))
#define cpu_to_le32(x)	((__le32)htole32((u32)(x)))
#define cpu_to_le64(x)	((__le64)htole64((u64)(x)))

#define BIT(n)			(1UL << (n))
#define BIT_ULL(n)		(1ULL << (n))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define IS_ALIGNED(x, a)	\
	({ __typeof__(x) x_ = (x); (x_ & ((__typeof__(x))(a) - 1)) == 0; })
#define DIV_ROUND_UP(n, d)	\
	({ __typeof__(d) d_ = (d); ((n) + d_ - 1) / d_; })
#define min_t(t, a, b)		({ t a_ = (a), b_ = (b); a_ < b_ ? a_ : b_; })
#define max_t(t, a, b)		({ t a_ = (a), b_ = (b); a_ > b_ ? a_ : b_; })
#define clamp_t(t, v, lo, hi)	\
	({ t v_ = (v), lo_ = (lo), hi_ = (hi); \
	   v_ < lo_ ? lo_ : v_ > hi_ ? hi_ : v_; })

#define check_add_overflow(a, b, d)	__builtin_add_overflow(a, b, d)
#define check_mul_overflow(a, b, d)	__builtin_mul_overflow(a, b, d)

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

#endif /* __KERNEL__ */

/*
 * The hardware header declares its little-endian fields with plain
 * fixed-width types (it is shared with the device model).  These accessors
 * convert on every access and tell sparse that the cast is deliberate.
 */
#define KESTREL_LE16(v)		((__force u16)cpu_to_le16(v))
#define KESTREL_LE32(v)		((__force u32)cpu_to_le32(v))
#define KESTREL_LE64(v)		((__force u64)cpu_to_le64(v))
#define KESTREL_CPU16(f)	le16_to_cpu((__force __le16)(f))
#define KESTREL_CPU32(f)	le32_to_cpu((__force __le32)(f))
#define KESTREL_CPU64(f)	le64_to_cpu((__force __le64)(f))

#endif /* KESTREL_COMPAT_H */
