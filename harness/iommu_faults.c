/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Counting the DMA faults an IOMMU caught in QEMU's log and the guest's
 * kernel log (iommu_faults.h says which lines and why).
 */
#define _GNU_SOURCE
#include "iommu_faults.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void keep_line(GioCounts *c, const char *s, size_t n)
{
    if (c->nlines >= GIO_MAX_LINES) {
        return;
    }
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' ')) {
        n--;
    }
    if (n > 300) {
        n = 300;
    }
    c->lines[c->nlines] = strndup(s, n);
    if (!c->lines[c->nlines]) {
        abort();
    }
    c->nlines++;
}

/* needle occurs in the line [s, s + n) */
static bool line_has(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);

    for (size_t i = 0; i + k <= n; i++) {
        if (!memcmp(s + i, needle, k)) {
            return true;
        }
    }
    return false;
}

/* A trace event's line: "[PID@SEC.USEC:]NAME args", NAME followed by a
 * blank or the end of the line. */
static bool is_event(const char *s, size_t n, const char *name)
{
    size_t k = strlen(name);
    const char *colon = memchr(s, ':', n);

    if (colon && memchr(s, '@', (size_t)(colon - s))) {
        n -= (size_t)(colon + 1 - s);
        s = colon + 1;
    }
    return n >= k && !memcmp(s, name, k) && (n == k || s[k] == ' ');
}

typedef void (*LineFn)(GioCounts *c, const char *s, size_t n);

static void each_line(GioCounts *c, const char *log, size_t len, LineFn fn)
{
    const char *p = log, *end = log + len;

    while (log && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);

        fn(c, p, n);
        p += n + 1;
    }
}

/* A vtd_dmar_fault continues the run of the one before it: the same
 * requester and direction, a little further on. */
static bool joins_run(GioCounts *c, const char *s, size_t n)
{
    char buf[160];
    unsigned sid, fault, write;
    unsigned long long addr;
    const char *p;
    bool joins;

    snprintf(buf, sizeof(buf), "%.*s", (int)(n < sizeof(buf) ? n : sizeof(buf) - 1), s);
    p = strstr(buf, "vtd_dmar_fault ");
    if (!p || sscanf(p, "vtd_dmar_fault sid %x fault %u addr %llx write %u",
                     &sid, &fault, &addr, &write) != 4) {
        c->last.valid = 0;
        return false;
    }
    joins = c->last.valid && c->last.sid == sid && c->last.write == write &&
            addr > c->last.addr && addr - c->last.addr <= GIO_RUN_STEP;
    c->last.valid = 1;
    c->last.sid = sid;
    c->last.write = write;
    c->last.addr = addr;
    return joins;
}

static void host_line(GioCounts *c, const char *s, size_t n)
{
    if (is_event(s, n, "vtd_dmar_fault") || is_event(s, n, "vtd_fault_disabled")) {
        c->host_events++;
        if (!joins_run(c, s, n)) {
            c->host_dmar++;
            keep_line(c, s, n);
        }
    } else if (line_has(s, n, "vtd_irte_get: ") ||
               line_has(s, n, "vtd_interrupt_remap_msi: ")) {
        c->host_ir++;
        keep_line(c, s, n);
    }
}

static void guest_line(GioCounts *c, const char *s, size_t n)
{
    if (line_has(s, n, "DMAR: [DMA Read") || line_has(s, n, "DMAR: [DMA Write")) {
        c->guest_dmar++;
        keep_line(c, s, n);
    } else if (line_has(s, n, "DMAR: [INTR-REMAP]")) {
        c->guest_ir++;
        keep_line(c, s, n);
    }
}

void gio_count_host(GioCounts *c, const char *log, size_t len)
{
    c->last.valid = 0;          /* a run never spans two QEMUs */
    each_line(c, log, len, host_line);
}

void gio_count_guest(GioCounts *c, const char *log, size_t len)
{
    each_line(c, log, len, guest_line);
}

int64_t gio_total(const GioCounts *c)
{
    return (c->host_dmar > c->guest_dmar ? c->host_dmar : c->guest_dmar) +
           (c->host_ir > c->guest_ir ? c->host_ir : c->guest_ir);
}

void gio_free(GioCounts *c)
{
    for (size_t i = 0; i < c->nlines; i++) {
        free(c->lines[i]);
    }
    c->nlines = 0;
}
