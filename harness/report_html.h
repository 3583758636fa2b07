/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report.html (prefix ghr_): one self-contained page beside junit.xml for a
 * person to look at, written by gauntlet-report DIR, at the end of a run
 * (gauntlet-runner) and of a campaign.  docs/scenarios.md, "report.html".
 *
 * What it reads from DIR (json-c), whichever are there:
 *   report.json     a run: every scenario's status, reason, artifacts;
 *   campaign.json   a campaign: its runs and its signature table with the
 *                   shrunk files;
 *   enumerate.json  an enumeration: every array of objects in it becomes a
 *                   table (ghr_add_json_tables(), any JSON file).
 * and, per scenario, from its artifact folder: fault-log.json, console.log
 * (the driver's kernel lines), steps.log (the anchor that aligns the two
 * clocks) and the list of its files (links, relative to DIR).
 *
 * The page is built with libxml2's tree API and written by its HTML
 * serializer: every string from a file (scenario names, reasons, guest
 * log lines) is a text node or an attribute value, so libxml2 escapes it;
 * nothing read can become markup.  Bytes XML cannot carry become '?'.
 * No script, no external resource: inline CSS and inline SVG.
 */
#ifndef GAUNTLET_REPORT_HTML_H
#define GAUNTLET_REPORT_HTML_H

#include <stddef.h>

#include <json-c/json.h>
#include <libxml/tree.h>

/* At most this many driver kernel lines and fault-log entries a scenario. */
#define GHR_MAX_EVENTS 400

/*
 * Write DIR/report.html from what DIR holds (above).  0, or -1 with err
 * filled in (nothing to report: no report.json, campaign.json or
 * enumerate.json; or a file that does not parse; or the write failed).
 */
int ghr_write(const char *dir, char *err, size_t errlen);

/*
 * The generic table: under parent, one <h3>title</h3> and a <table> for
 * every member of obj (a JSON object) that is an array of objects, and for
 * obj itself when it is such an array; columns are the members' keys in
 * order of first appearance.  Returns the number of tables added.
 */
int ghr_add_json_tables(xmlNodePtr parent, json_object *obj, const char *title);

/*
 * Aligning the clocks.  The fault log's "time-ns" is QEMU's virtual clock
 * (from QEMU's start; it runs with the host clock while the guest runs,
 * under TCG and KVM); steps.log's times are the host's from the
 * scenario's start, a few milliseconds before QEMU's; the kernel log's are
 * the guest kernel's clock, which starts when the kernel does (after the
 * firmware).  The anchor is the driver's load: the first kernel line that
 * names the driver (the module of the `load` step's insmod or modprobe) is
 * printed during that command, which steps.log timed.  So
 *   offset = (host time the load command started) - (that line's kernel time)
 * and a kernel line at k s is drawn at k + offset on the fault log's clock,
 * good to the load command's duration plus QEMU's start (tens of ms).
 * ghr_anchor() finds it: 0 with *offset_s, *slack_s and driver (the module
 * name), or -1 when steps.log or console.log has no anchor.
 */
int ghr_anchor(const char *steps_log, const char *console_log, double *offset_s,
              double *slack_s, char *driver, size_t driverlen);

#endif /* GAUNTLET_REPORT_HTML_H */
