/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The iommu verdict's counting (harness/iommu_faults.c) on logs from real
 * runs (tests/harness/iommu-logs/: QEMU's log and the guest console of
 * kestrel-iommu scenarios), and on lines that only look like faults.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommu_faults.h"

#ifndef GIO_LOG_DIR
#error "GIO_LOG_DIR must name tests/harness/iommu-logs"
#endif

static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s", GIO_LOG_DIR, name);
    f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* A READ whose first segment was redirected to 0x1000 (the first 200
 * lines of the real qemu.log: QEMU reported the 32 KiB write in 4-byte
 * pieces, 8192 events in all): one faulting DMA on both sides. */
START_TEST(test_real_read_fault)
{
    GioCounts c = { 0 };
    size_t len;
    char *q = slurp("read-segment-qemu.log", &len);
    char *g;

    gio_count_host(&c, q, len);
    g = slurp("read-segment-console.log", &len);
    gio_count_guest(&c, g, len);
    ck_assert_int_eq(c.host_events, 197);
    ck_assert_int_eq(c.host_dmar, 1);
    ck_assert_int_eq(c.host_ir, 0);
    ck_assert_int_eq(c.guest_dmar, 1);
    ck_assert_int_eq(c.guest_ir, 0);
    ck_assert_int_eq(gio_total(&c), 1);
    ck_assert_uint_eq(c.nlines, 2);
    ck_assert_str_eq(c.lines[0], "vtd_dmar_fault sid 0x100 fault 5 addr 0x1000 write 1");
    ck_assert_ptr_nonnull(strstr(c.lines[1], "DMAR: [DMA Write NO_PASID] Request "
                                 "device [01:00.0] fault addr 0x1000"));
    gio_free(&c);
    free(q);
    free(g);
}
END_TEST

/* A segment list's address redirected: the 16-byte read in 4 pieces. */
START_TEST(test_real_list_fault)
{
    GioCounts c = { 0 };
    size_t len;
    char *q = slurp("segment-list-qemu.log", &len);
    char *g;

    gio_count_host(&c, q, len);
    g = slurp("segment-list-console.log", &len);
    gio_count_guest(&c, g, len);
    ck_assert_int_eq(c.host_events, 4);
    ck_assert_int_eq(c.host_dmar, 1);
    ck_assert_int_eq(c.guest_dmar, 1);
    ck_assert_int_eq(gio_total(&c), 1);
    ck_assert_ptr_nonnull(strstr(c.lines[1], "DMAR: [DMA Read NO_PASID]"));
    gio_free(&c);
    free(q);
    free(g);
}
END_TEST

/* A run under the IOMMU with a timeout and a controller reset, and no
 * fault: the DMAR and interrupt-remapping set-up lines are no faults, and
 * QEMU's log is empty. */
START_TEST(test_real_clean)
{
    GioCounts c = { 0 };
    size_t len;
    char *g = slurp("clean-console.log", &len);
    char *q;

    ck_assert_ptr_nonnull(strstr(g, "DMAR-IR: Enabled IRQ remapping"));
    gio_count_guest(&c, g, len);
    q = slurp("clean-qemu.log", &len);
    gio_count_host(&c, q, len);
    ck_assert_int_eq(gio_total(&c), 0);
    ck_assert_uint_eq(c.nlines, 0);
    gio_free(&c);
    free(g);
    free(q);
}
END_TEST

/* The host's forms: a timestamped trace line, a fault its context entry
 * hid, interrupt-remapping errors, runs (the same DMA in pieces) and what
 * breaks them (another address, direction or requester, a step back); and
 * lines that are not faults. */
START_TEST(test_host_forms)
{
    static const char log[] =
        "1234@1700000000.000001:vtd_dmar_fault sid 0x100 fault 6 addr 0x2000 write 0\n"
        "qemu-system-x86_64: vtd_iommu_translate: detected translation failure (dev=01:00:00, iova=0x2000)\n"
        "1234@1700000000.000002:vtd_dmar_fault sid 0x100 fault 6 addr 0x2004 write 0\n"
        "vtd_dmar_fault sid 0x100 fault 6 addr 0x2008 write 0\n"
        "vtd_dmar_fault sid 0x100 fault 5 addr 0x200c write 1\n"     /* direction */
        "vtd_dmar_fault sid 0x108 fault 5 addr 0x2010 write 1\n"     /* requester */
        "vtd_dmar_fault sid 0x108 fault 5 addr 0x2010 write 1\n"     /* same again */
        "vtd_dmar_fault sid 0x108 fault 5 addr 0x9000 write 1\n"     /* far */
        "vtd_fault_disabled \n"
        "qemu-system-x86_64: vtd_irte_get: detected non-present IRTE (index=3, high=0x0, low=0x0)\n"
        "qemu-system-x86_64: vtd_interrupt_remap_msi: invalid IR MSI (sid=256, address=0xfee00000, data=0x0)\n"
        "vtd_dmar_fault_x sid 0x100\n"
        "kestrel_err_dma tag 3\n"
        "qemu-system-x86_64: New fault is not recorded due to Primary Fault Overflow\n";
    GioCounts c = { 0 };

    gio_count_host(&c, log, sizeof(log) - 1);
    ck_assert_int_eq(c.host_events, 8);
    ck_assert_int_eq(c.host_dmar, 6);
    ck_assert_int_eq(c.host_ir, 2);
    ck_assert_int_eq(gio_total(&c), 8);
    ck_assert_uint_eq(c.nlines, 8);
    /* a second QEMU (after a power cut) starts its own runs */
    gio_count_host(&c, "vtd_dmar_fault sid 0x100 fault 6 addr 0x2004 write 0\n", 53);
    ck_assert_int_eq(c.host_dmar, 7);
    gio_free(&c);
}
END_TEST

/* Each kind by the side that saw more: the guest's lines are rate-limited,
 * a lost QEMU log leaves the guest's. */
START_TEST(test_total)
{
    GioCounts c = { .host_dmar = 5, .guest_dmar = 2, .host_ir = 0, .guest_ir = 1 };

    ck_assert_int_eq(gio_total(&c), 6);
    c.host_dmar = 0;
    ck_assert_int_eq(gio_total(&c), 3);
}
END_TEST

/* More fault lines than are kept: counted, GIO_MAX_LINES kept. */
START_TEST(test_many)
{
    GioCounts c = { 0 };
    char *log = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&log, &len);

    for (int i = 0; i < 40; i++) {
        fprintf(f, "[   12.%06d] DMAR: [DMA Read NO_PASID] Request device "
                "[01:00.0] fault addr 0x%x [fault reason 0x06] PTE Read "
                "access is not set\n", i, 0x1000 * i);
    }
    fclose(f);
    gio_count_guest(&c, log, len);
    ck_assert_int_eq(c.guest_dmar, 40);
    ck_assert_uint_eq(c.nlines, GIO_MAX_LINES);
    gio_free(&c);
    free(log);
}
END_TEST

Suite *iommu_faults_suite(void)
{
    Suite *s = suite_create("iommu_faults");
    TCase *tc = tcase_create("count");

    tcase_add_test(tc, test_real_read_fault);
    tcase_add_test(tc, test_real_list_fault);
    tcase_add_test(tc, test_real_clean);
    tcase_add_test(tc, test_host_forms);
    tcase_add_test(tc, test_total);
    tcase_add_test(tc, test_many);
    suite_add_tcase(s, tc);
    return s;
}
