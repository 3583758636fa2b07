#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""report-html-check.py DOM DIR: does the page Chromium rendered (DOM, from
chromium --dump-dom of DIR/report.html) show what DIR's report.json and
fault logs hold?

  - every scenario's row in the results table with its name and status;
  - every scenario that did not pass: its reason, in its section;
  - every fault-log entry (rule and detail) of every scenario, in a fault
    row of its section's event table (report_html.h: at most 400 a
    scenario).

Exit 0 when all are there, 1 with each missing thing on stderr."""
import html.parser
import json
import os
import sys

MAX_EVENTS = 400


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows = []          # results table rows: list of cell texts
        self.sections = []      # (summary name, whole text) of each <details>
        self.stack = []
        self.in_results = False
        self.row = None
        self.cell = None
        self.details = None
        self.summary_b = None
        self.fault_row = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id") == "results":
            self.in_results = True
        elif tag == "tr" and self.in_results:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""
        elif tag == "details":
            self.details = {"name": None, "text": "", "faults": []}
        elif tag == "tr" and self.details is not None and a.get("class") == "fault":
            self.fault_row = ""
        elif tag == "b" and self.details is not None and self.details["name"] is None:
            self.summary_b = ""

    def handle_endtag(self, tag):
        if tag == "table" and self.in_results:
            self.in_results = False
        elif tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr" and self.fault_row is not None:
            self.details["faults"].append(self.fault_row)
            self.fault_row = None
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        elif tag == "b" and self.summary_b is not None:
            self.details["name"] = self.summary_b
            self.summary_b = None
        elif tag == "details" and self.details is not None:
            self.sections.append(self.details)
            self.details = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        if self.summary_b is not None:
            self.summary_b += data
        if self.details is not None:
            self.details["text"] += data
        if self.fault_row is not None:
            self.fault_row += data


def main():
    dom, outdir = sys.argv[1], sys.argv[2]
    page = Page()
    page.feed(open(dom, encoding="utf-8", errors="replace").read())
    report = json.load(open(os.path.join(outdir, "report.json")))
    missing = []
    rows = {r[0]: r for r in page.rows[1:] if r}
    sections = {s["name"]: s["text"] for s in page.sections}
    fault_rows = {s["name"]: s["faults"] for s in page.sections}
    nfault = 0
    for sc in report["scenarios"]:
        name, status = sc["name"], sc["status"]
        row = rows.get(name)
        if not row:
            missing.append(f"{name}: no row in the results table")
        elif len(row) < 2 or row[1] != status:
            missing.append(f"{name}: status {row[1:2]} in the table, {status} in report.json")
        text = sections.get(name)
        if text is None:
            missing.append(f"{name}: no section")
            continue
        if status != "pass" and sc.get("reason") and sc["reason"].strip() not in text:
            missing.append(f"{name}: its reason is not shown: {sc['reason'][:80]!r}")
        log = os.path.join(sc.get("artifacts", ""), "fault-log.json")
        if os.path.exists(log):
            for e in json.load(open(log))[:MAX_EVENTS]:
                want = f"{e['rule']} {e['detail']}"
                nfault += 1
                # in a row of the section's event table, not just anywhere
                # (the step log's last line and the SVG's tooltips hold it too)
                if not any(want in r for r in fault_rows[name]):
                    missing.append(f"{name}: fault-log entry not shown: {want!r}")
    for m in missing:
        print("report-html-check: " + m, file=sys.stderr)
    print(f"report-html-check: {dom}: {len(report['scenarios'])} scenarios, "
          f"{nfault} fault-log entries checked, {len(missing)} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
