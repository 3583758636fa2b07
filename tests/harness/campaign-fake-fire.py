#!/usr/bin/env python3
"""The stand-in runner's model of when a campaign's rules fire (for
campaign-fake-runner.sh with GAUNTLET_FAKE_RATE; no VM).

    campaign-fake-fire.py SCENARIO.yaml > faults.json

The model is the one a vocabulary states (docs/campaigns.md, "Every drawn
rule must fire"): while the workload runs, point P brings its `events`
every `fire_within` seconds, evenly; time passes only in `wait` steps (and
GAUNTLET_FAKE_SUSPEND seconds in each suspend, with no event); the
workload ends at its --duration (a workload that ends by itself) or its
stop, or at an unplug, which also takes the device's rules away; a faults
set or clear disarms the armed rules, a power cut ends everything; a rule
whose action is among the starving ones stops every point's events from
its firing on (no recovery is counted).  A rule fires when the events at
its point while it is armed reach its trigger: once and always 1, nth=K
and every=K K, prob=P% 100/P rounded up, plus after=M's M.

GAUNTLET_FAKE_RATE: 'POINT=N|POINT=N' events per fire_within at each point
(0 for a point not listed), GAUNTLET_FAKE_WITHIN: fire_within in seconds,
GAUNTLET_FAKE_STARVES: a regular expression over actions that starve
(none when empty).

The output is the runner's faults.json: every rule of the faults steps in
order, {index, rule, fired, hits, allow_unfired}.
"""
import json
import math
import os
import re
import sys


def reach(trigger):
    """The event at which a trigger with its suffixes first fires."""
    n = 0
    if trigger.startswith(("once", "always")):
        n = 1
    elif trigger.startswith(("nth=", "every=")):
        n = int(re.match(r"\w+=(\d+)", trigger).group(1))
    elif trigger.startswith("prob="):
        p = float(re.match(r"prob=([\d.]+)", trigger).group(1))
        n = math.ceil(100.0 / p) if p > 0 else 0
    m = re.search(r"after=(\d+)", trigger)
    return n + (int(m.group(1)) if m else 0)


def main():
    path = sys.argv[1]
    rates = {}
    for h in filter(None, os.environ.get("GAUNTLET_FAKE_RATE", "").split("|")):
        k, v = h.split("=")
        rates[k] = float(v)
    within = float(os.environ.get("GAUNTLET_FAKE_WITHIN", "1"))
    suspend_s = float(os.environ.get("GAUNTLET_FAKE_SUSPEND", "0"))
    starves = os.environ.get("GAUNTLET_FAKE_STARVES", "")
    text = open(path).read()
    m = re.search(r"^allow_unfired: \[(.*)\]$", text, re.M)
    allowed = {int(x) for x in m.group(1).split(",")} if m else set()

    t = 0.0
    end = math.inf         # the workload's end, set by --duration or its stop
    pauses = []            # (from, to): no event (suspends)
    rules = []             # {rule, point, action, reach, armed, disarmed}
    armed = []

    def disarm(at):
        for r in armed:
            r["disarmed"] = at
        armed.clear()

    for line in text.split("\n"):
        st = re.match(r"^- (\w+): \{(.*)\}$", line)
        if not st:
            continue
        kind, body = st.groups()
        if kind == "workload":
            d = re.search(r"--duration (\d+)", body)
            end = t + int(d.group(1)) if d else math.inf
        elif kind == "wait":
            t += float(re.search(r"seconds: ([\d.]+)", body).group(1))
        elif kind == "suspend":
            pauses.append((t, t + suspend_s))
            t += suspend_s
        elif kind == "faults":
            f = re.match(r'(set|add|clear): "?([^"]*)"?', body)
            if f.group(1) in ("set", "clear"):
                disarm(t)
            if f.group(1) == "clear":
                continue
            for rule in f.group(2).split(";"):
                point = re.match(r"[^\[:]+", rule).group(0)
                _, action, trig = re.match(r"([^:]+):(.+):([^:]+)$", rule).groups()
                r = {"rule": rule, "point": point, "action": action,
                     "reach": reach(trig), "armed": t, "disarmed": math.inf}
                rules.append(r)
                armed.append(r)
        elif kind == "hotplug" and "action: add" not in body:
            disarm(t)
            end = min(end, t)
        elif kind == "power_cut":
            disarm(t)
            end = min(end, t)
        elif kind == "workload_stop" and "wait: false" in body:
            end = min(end, t)

    def events(r, until):
        """Events at r's point from its arming to `until`, pauses left out."""
        a, b = r["armed"], min(until, r["disarmed"], end)
        if b <= a:
            return 0.0
        span = b - a - sum(max(0.0, min(b, q) - max(a, p)) for p, q in pauses)
        return rates.get(r["point"], 0.0) / within * span

    def fire_time(r):
        """When r fires (no starving), or None."""
        rate = rates.get(r["point"], 0.0) / within
        if not rate or not r["reach"]:
            return None
        x = r["armed"] + r["reach"] / rate
        for p, q in sorted(pauses):
            if p < x and q > r["armed"]:
                x += q - max(p, r["armed"])
        return x if x <= min(r["disarmed"], end) + 1e-9 else None

    # the first starving rule to fire stops every event from then on
    stop = math.inf
    for r in rules:
        x = fire_time(r)
        if x is not None and starves and re.search(starves, r["action"]):
            stop = min(stop, x)
    out = []
    for i, r in enumerate(rules):
        x = fire_time(r)
        fired = x is not None and x <= stop + 1e-9
        out.append({"index": i, "rule": r["rule"], "fired": 1 if fired else 0,
                    "hits": int(events(r, stop)), "allow_unfired": i in allowed})
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
