#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A scenario's fault log holds what its fire counters count.

    fault-log-check.py ARTIFACT_DIR [--extra RULE]...
    fault-log-check.py --selftest

ARTIFACT_DIR is one scenario's artifact folder (docs/scenarios.md). Checks:
  - fault-log.json is a non-empty list, and result.json's fault_log says
    as much (entries, path, lost 0, the last 10 entries);
  - every entry names its device, object, qemu and plug, and no (qemu,
    plug, object, seq) appears twice; each engine's entries are in seq order, and the
    list in (qemu, time-ns, seq) order;
  - for every rule of faults.json, the entries with its text (the
    engine's canonical text must be the scenario's) are exactly its fire
    count, and no entry belongs to no rule (--extra RULE allows entries of
    a rule the harness adds itself, such as a surprise removal's).
Only meaningful while the engines' rings did not overflow (fewer than 256
firings between two readings): lost must be 0.

--selftest runs the checks on made-up folders: a consistent one must pass,
and each broken one (an entry missing, one twice, one of an unknown rule,
an empty log, result.json disagreeing, entries out of order) must fail.
"""
import json
import os
import shutil
import sys
import tempfile


def check(d, extra=()):
    """Problems found in artifact folder d (an empty list: none)."""
    p = []
    try:
        log = json.load(open(os.path.join(d, "fault-log.json")))
        res = json.load(open(os.path.join(d, "result.json")))
        rules = json.load(open(os.path.join(d, "faults.json")))
    except (OSError, ValueError) as e:
        return [str(e)]
    if not isinstance(log, list) or not log:
        return ["fault-log.json is empty or not a list"]
    fl = res.get("fault_log")
    if not isinstance(fl, dict):
        return ["result.json has no fault_log object: %r" % (fl,)]
    if fl.get("entries") != len(log) or fl.get("path") != "fault-log.json":
        p.append("result.json's fault_log says %r entries in %r, the file "
                 "holds %d" % (fl.get("entries"), fl.get("path"), len(log)))
    if fl.get("lost") != 0:
        p.append("the rings dropped %r firings: counts cannot be compared"
                 % fl.get("lost"))
    if fl.get("last") != log[-10:]:
        p.append("result.json's fault_log.last is not the log's last 10")
    seen, last_seq, prev = set(), {}, None
    for i, e in enumerate(log):
        for k in ("seq", "time-ns", "rule", "point", "action", "detail",
                  "device", "object", "qemu", "plug"):
            if k not in e:
                p.append("entry %d has no %s: %r" % (i, k, e))
        key = (e.get("qemu"), e.get("plug"), e.get("object"), e.get("seq"))
        if key in seen:
            p.append("entry %d repeats %r" % (i, key))
        seen.add(key)
        eng = key[:3]
        if eng in last_seq and e.get("seq", -1) <= last_seq[eng]:
            p.append("entry %d: seq %r after %r of the same engine"
                     % (i, e.get("seq"), last_seq[eng]))
        last_seq[eng] = e.get("seq", -1)
        order = (e.get("qemu", 0), e.get("time-ns", 0), e.get("seq", 0))
        if prev is not None and order < prev:
            p.append("entry %d out of (qemu, time-ns, seq) order" % i)
        prev = order
    counted = {}
    for e in log:
        counted[e.get("rule")] = counted.get(e.get("rule"), 0) + 1
    fired = {}
    for r in rules:
        fired[r["rule"]] = fired.get(r["rule"], 0) + r["fired"]
    for rule, n in fired.items():
        if counted.get(rule, 0) != n:
            p.append("rule %r fired %d times (faults.json), the log holds %d"
                     % (rule, n, counted.get(rule, 0)))
    for rule, n in counted.items():
        if rule not in fired and rule not in extra:
            p.append("%d entries of rule %r, which no faults step set" % (n, rule))
    return p


def selftest():
    def entry(seq, t, rule, obj="/machine/peripheral/k1", qemu=0):
        return {"seq": seq, "time-ns": t, "id": 1, "rule": rule, "point": "p",
                "action": "a", "detail": "d", "device": "k1", "object": obj,
                "qemu": qemu, "plug": 0}

    good = [entry(0, 10, "a:drop:nth=3"), entry(0, 20, "b:x:every=2",
            "/machine/peripheral/k1b"), entry(1, 30, "b:x:every=2",
            "/machine/peripheral/k1b"), entry(0, 5, "b:x:every=2", qemu=1)]
    rules = [{"index": 0, "rule": "a:drop:nth=3", "fired": 1},
             {"index": 1, "rule": "b:x:every=2", "fired": 3}]

    def folder(log, res_log=None, faults=rules):
        d = tempfile.mkdtemp(prefix="flc-")
        json.dump(log, open(os.path.join(d, "fault-log.json"), "w"))
        json.dump(faults, open(os.path.join(d, "faults.json"), "w"))
        summary = {"entries": len(log), "path": "fault-log.json", "lost": 0,
                   "last": log[-10:]}
        json.dump({"fault_log": summary if res_log is None else res_log},
                  open(os.path.join(d, "result.json"), "w"))
        return d

    bad = {
        "an entry missing": folder(good[1:]),
        "an entry twice": folder(good + [good[3]]),
        "an entry of no rule": folder(good[:3] + [entry(2, 40, "c:y:once",
                                      "/machine/peripheral/k1b")] + good[3:]),
        "an empty log": folder([]),
        "result.json's count": folder(good, {"entries": 3,
                                             "path": "fault-log.json",
                                             "lost": 0, "last": good}),
        "a lost firing": folder(good, {"entries": 4, "path": "fault-log.json",
                                       "lost": 1, "last": good}),
        "out of order": folder([good[1], good[0]] + good[2:]),
        "seq backwards": folder([entry(1, 10, "a:drop:nth=3"),
                                 entry(0, 10, "a:drop:nth=3")],
                                faults=[{"rule": "a:drop:nth=3", "fired": 2}]),
    }
    ok = folder(good)
    with_extra = folder(good[:3] + [entry(2, 40, "s:allones:once",
                                          "/machine/peripheral/k1b")] + good[3:])
    rc = 0
    try:
        if check(ok):
            print("selftest: a consistent folder was refused:", check(ok))
            rc = 1
        if check(with_extra, extra=["s:allones:once"]):
            print("selftest: --extra did not allow its rule")
            rc = 1
        for what, d in bad.items():
            found = check(d)
            if not found:
                print("selftest: %s was not caught" % what)
                rc = 1
            else:
                print("selftest: %s caught: %s" % (what, found[0]))
    finally:
        for d in list(bad.values()) + [ok, with_extra]:
            shutil.rmtree(d, ignore_errors=True)
    return rc


def main():
    if sys.argv[1:] == ["--selftest"]:
        return selftest()
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    extra = [sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == "--extra"]
    problems = check(sys.argv[1], extra)
    for x in problems:
        print("fault-log-check: %s: %s" % (sys.argv[1], x))
    if not problems:
        n = len(json.load(open(os.path.join(sys.argv[1], "fault-log.json"))))
        print("fault-log-check: %s: %d entries, every rule's fire count "
              "matched" % (sys.argv[1], n))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
