// SPDX-License-Identifier: GPL-2.0
/* The IOVA allocator (kvfio_iova.c). */
#include <errno.h>

#include "kvfio_iova.h"
#include "tests.h"

static struct kvfio_iova a;

START_TEST(iova_alloc_free_merge)
{
	uint64_t x, y, z, w;

	kvfio_iova_init(&a, 0x100000, 0x10000, 0x1000);
	ck_assert_int_eq(kvfio_iova_alloc(&a, 1, &x), 0);
	ck_assert_uint_eq(x, 0x100000);
	ck_assert_int_eq(kvfio_iova_alloc(&a, 0x1001, &y), 0);
	ck_assert_uint_eq(y, 0x101000);	/* one page rounded up to two */
	ck_assert_int_eq(kvfio_iova_alloc(&a, 0x1000, &z), 0);
	ck_assert_uint_eq(z, 0x103000);
	ck_assert_uint_eq(kvfio_iova_free_bytes(&a), 0xc000);
	/* Free the middle: a hole two pages long, reused first fit. */
	ck_assert_int_eq(kvfio_iova_free(&a, y, 0x2000), 0);
	ck_assert_int_eq(kvfio_iova_alloc(&a, 0x2000, &w), 0);
	ck_assert_uint_eq(w, y);
	ck_assert_int_eq(kvfio_iova_free(&a, w, 0x2000), 0);
	ck_assert_int_eq(kvfio_iova_free(&a, x, 0x1000), 0);
	ck_assert_int_eq(kvfio_iova_free(&a, z, 0x1000), 0);
	/* Everything merged back into one range. */
	ck_assert_uint_eq(a.nfree, 1);
	ck_assert_uint_eq(kvfio_iova_free_bytes(&a), 0x10000);
}
END_TEST

START_TEST(iova_double_free_and_exhaustion)
{
	uint64_t x, y;

	kvfio_iova_init(&a, 0x100000, 0x4000, 0x1000);
	ck_assert_int_eq(kvfio_iova_alloc(&a, 0x3000, &x), 0);
	ck_assert_int_eq(kvfio_iova_alloc(&a, 0x2000, &y), -ENOMEM);
	ck_assert_int_eq(kvfio_iova_alloc(&a, 0x1000, &y), 0);
	ck_assert_int_eq(kvfio_iova_free(&a, x, 0x3000), 0);
	ck_assert_int_eq(kvfio_iova_free(&a, x, 0x3000), -EINVAL);
	ck_assert_int_eq(kvfio_iova_free(&a, x + 0x1000, 0x1000), -EINVAL);
	ck_assert_int_eq(kvfio_iova_free(&a, 0x200000, 0x1000), -EINVAL);
	ck_assert_int_eq(kvfio_iova_free(&a, x + 1, 0x1000), -EINVAL);
	ck_assert_int_eq(kvfio_iova_alloc(&a, 0, &y), -EINVAL);
}
END_TEST

Suite *iova_suite(void)
{
	Suite *s = suite_create("iova");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, iova_alloc_free_merge);
	tcase_add_test(tc, iova_double_free_and_exhaustion);
	suite_add_tcase(s, tc);
	return s;
}
