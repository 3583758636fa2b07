/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * S3 on q35, driven through the ACPI PM registers the way an OS does it
 * (qemu/patches/0005-ich9-lpc-keep-acpi-decode-across-s3.patch).
 *
 * The test plays firmware and OS: it programs the ICH9 LPC bridge's ACPI
 * base (PMBASE, ACPI_CNTL), writes SLP_TYP=S3|SLP_EN to PM1a_CNT, waits
 * for QMP's SUSPEND, wakes the machine with system_wakeup and, as Linux's
 * resume does, goes to sleep again without touching the LPC bridge.  On an
 * unpatched QEMU 7.2 the wakeup's reset clears PMBASE: the second write of
 * SLP_EN goes nowhere and no SUSPEND ever comes.
 *
 * A cold reset (system_reset) must still clear the decode: the patch keeps
 * it only across the wakeup.  No guest CPU runs (-accel qtest).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtest_client.h"

/* ICH9 LPC bridge, D31:F0 */
#define LPC_VENDOR          0x8086
#define LPC_DEVICE          0x2918
#define LPC_PMBASE          0x40
#define LPC_ACPI_CNTL       0x44
#define LPC_ACPI_EN         0x80
#define LPC_PMBASE_DEFAULT  0x00000001u

/* the PM block, where SeaBIOS puts it */
#define PM_BASE             0x600
#define PM1_STS             (PM_BASE + 0x00)
#define PM1_CNT             (PM_BASE + 0x04)
#define PM1_STS_WAK         0x8000
#define PM1_CNT_SLP_TYP(t)  ((t) << 10)
#define PM1_CNT_SLP_EN      0x2000
#define SLP_TYP_S3          1           /* QEMU's \_S3 package: { 1, ... } */

#define CYCLES 3

static QtClient *c;
static QtPciDev *lpc;

static void setup(void)
{
    QtOptions o = { 0 };
    char err[2048];

    o.qemu_binary = getenv("GAUNTLET_QEMU");
    ck_assert_msg(o.qemu_binary && *o.qemu_binary, "GAUNTLET_QEMU is not set");
    o.extra_args = "-global ICH9-LPC.disable_s3=0";
    o.timeout_ms = 10000;
    c = qt_start(&o, err, sizeof(err));
    ck_assert_msg(c, "QEMU did not start: %s", err);
    ck_assert_msg(qt_pci_find(c, LPC_VENDOR, LPC_DEVICE, 0, &lpc) == QT_OK,
                  "no ICH9 LPC bridge: %s", qt_error(c));
}

static void teardown(void)
{
    ck_assert_int_eq(qt_stop(c), QT_OK);
    c = NULL;
}

/* What firmware does at boot: the PM block at PM_BASE, ACPI decode on. */
static void firmware_enable_acpi(void)
{
    ck_assert(qt_pci_cfg_write(lpc, LPC_PMBASE, 4, PM_BASE) == QT_OK);
    ck_assert(qt_pci_cfg_write(lpc, LPC_ACPI_CNTL, 1, LPC_ACPI_EN) == QT_OK);
}

/* PM1a_CNT as the OS reads it; 0xffff when nothing decodes the port. */
static uint16_t pm1_cnt(void)
{
    uint16_t v = 0;

    ck_assert_msg(qt_inw(c, PM1_CNT, &v) == QT_OK, "%s", qt_error(c));
    return v;
}

static void check_status(const char *want)
{
    QtQmpReply *r = qt_qmp(c, "{'execute':'query-status'}");
    json_object *st = NULL;

    ck_assert_msg(r->rc == QT_OK, "query-status: %s", qt_error(c));
    ck_assert(json_object_object_get_ex(r->ret, "status", &st));
    ck_assert_msg(!strcmp(json_object_get_string(st), want),
                  "run state %s, expected %s", json_object_get_string(st), want);
    qt_qmp_free(r);
}

/* One S3 cycle as Linux does it (acpi_hw_legacy_sleep): clear WAK_STS,
 * write SLP_TYP|SLP_EN; then the host wakes the machine. */
static void s3_cycle(int n)
{
    uint16_t sts = 0;
    int rc;

    qt_qmp_drop_events(c);
    ck_assert(qt_outw(c, PM1_STS, PM1_STS_WAK) == QT_OK);
    ck_assert(qt_outw(c, PM1_CNT, PM1_CNT_SLP_TYP(SLP_TYP_S3) |
                      PM1_CNT_SLP_EN) == QT_OK);
    rc = qt_qmp_wait_event(c, "SUSPEND", 3000, NULL);
    ck_assert_msg(rc == QT_OK, "S3 cycle %d/%d: no SUSPEND after SLP_EN "
                  "(PM1a_CNT reads 0x%04x: %s)", n, CYCLES, pm1_cnt(),
                  qt_strerr(rc));
    check_status("suspended");
    ck_assert_int_eq(qt_qmp_ok(c, "{'execute':'system_wakeup'}"), QT_OK);
    ck_assert_msg(qt_qmp_wait_event(c, "WAKEUP", 3000, NULL) == QT_OK,
                  "S3 cycle %d: no WAKEUP", n);
    check_status("running");
    /* what the OS finds on resume: the PM block decoded, WAK_STS set */
    ck_assert_msg(pm1_cnt() != 0xffff, "S3 cycle %d: after the wakeup the PM1 "
                  "registers are not decoded (PM1a_CNT reads 0xffff)", n);
    ck_assert(qt_inw(c, PM1_STS, &sts) == QT_OK);
    ck_assert_msg(sts & PM1_STS_WAK, "S3 cycle %d: WAK_STS clear after the "
                  "wakeup (PM1a_STS 0x%04x)", n, sts);
}

START_TEST(test_s3_cycles)
{
    firmware_enable_acpi();
    ck_assert_msg(pm1_cnt() != 0xffff, "PM1a_CNT not decoded after enabling");
    for (int i = 1; i <= CYCLES; i++) {
        s3_cycle(i);
    }
}
END_TEST

/* The decode survives only the wakeup: a cold reset, also one asked while
 * the machine sleeps, puts PMBASE back to its default. */
START_TEST(test_s3_cold_reset)
{
    uint32_t v = 0;

    firmware_enable_acpi();
    s3_cycle(1);
    ck_assert_int_eq(qt_qmp_ok(c, "{'execute':'system_reset'}"), QT_OK);
    ck_assert(qt_qmp_wait_event(c, "RESET", 3000, NULL) == QT_OK);
    ck_assert(qt_pci_cfg_read(lpc, LPC_PMBASE, 4, &v) == QT_OK);
    ck_assert_msg(v == LPC_PMBASE_DEFAULT, "PMBASE 0x%08x after system_reset", v);
    ck_assert_msg(pm1_cnt() == 0xffff, "PM1a_CNT still decoded after a cold reset");

    /* asleep, then reset: the wakeup that follows finds a cold machine */
    firmware_enable_acpi();
    qt_qmp_drop_events(c);
    ck_assert(qt_outw(c, PM1_CNT, PM1_CNT_SLP_TYP(SLP_TYP_S3) |
                      PM1_CNT_SLP_EN) == QT_OK);
    ck_assert(qt_qmp_wait_event(c, "SUSPEND", 3000, NULL) == QT_OK);
    ck_assert_int_eq(qt_qmp_ok(c, "{'execute':'system_reset'}"), QT_OK);
    ck_assert(qt_qmp_wait_event(c, "RESET", 3000, NULL) == QT_OK);
    ck_assert(qt_pci_cfg_read(lpc, LPC_PMBASE, 4, &v) == QT_OK);
    ck_assert_msg(v == LPC_PMBASE_DEFAULT, "PMBASE 0x%08x after a reset while "
                  "suspended", v);
}
END_TEST

static Suite *s3_suite(void)
{
    Suite *s = suite_create("s3");
    TCase *t = tcase_create("s3");

    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_s3_cycles);
    tcase_add_test(t, test_s3_cold_reset);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(s3_suite());
    int failed;

    srunner_run_all(sr, CK_VERBOSE);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
