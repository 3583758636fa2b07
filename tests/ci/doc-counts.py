#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The counts the README states are the real ones.

    doc-counts.py TOP

Checks every "(`scenarios/suites/NAME.txt`: N scenarios" in README.md and
docs/*.md against the number of scenario lines in that suite file (blank
lines and # comments do not count), "N default scenarios" against
default.txt, and "N libFuzzer targets" against GAUNTLET_FUZZ_TARGETS in
fuzz/CMakeLists.txt.  Before checking the repository it checks itself on made-up
files: one that must pass and one that must be refused.
"""
import glob
import os
import re
import sys
import tempfile

SUITE = re.compile(r"`scenarios/suites/([\w.-]+)\.txt`:\s*(\d+) scenarios")
DEFAULT = re.compile(r"\b(\d+) default scenarios\b")
FUZZ = re.compile(r"\b(\d+) libFuzzer targets\b")
FUZZ_SET = re.compile(r"set\(GAUNTLET_FUZZ_TARGETS([^)]*)\)")


def fuzz_targets(top):
    with open(os.path.join(top, "fuzz", "CMakeLists.txt"),
              encoding="utf-8") as f:
        m = FUZZ_SET.search(f.read())
    return len(m.group(1).split()) if m else 0


def suite_size(top, name):
    path = os.path.join(top, "scenarios", "suites", name + ".txt")
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f
                   if line.strip() and not line.lstrip().startswith("#"))


def check(top):
    problems = []
    docs = [os.path.join(top, "README.md")]
    docs += sorted(glob.glob(os.path.join(top, "docs", "*.md")))
    for md in docs:
        rel = os.path.relpath(md, top)
        with open(md, encoding="utf-8") as f:
            text = f.read()
        claims = [(m.group(1), int(m.group(2)), m.start())
                  for m in SUITE.finditer(text)]
        claims += [("default", int(m.group(1)), m.start())
                   for m in DEFAULT.finditer(text)]
        for m in FUZZ.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            try:
                real = fuzz_targets(top)
            except OSError as e:
                problems.append(f"{rel}:{line}: fuzz targets: {e.strerror}")
                continue
            if real != int(m.group(1)):
                problems.append(f"{rel}:{line}: says {m.group(1)} libFuzzer "
                                f"targets, fuzz/CMakeLists.txt's "
                                f"GAUNTLET_FUZZ_TARGETS has {real}")
        for name, n, pos in claims:
            line = text.count("\n", 0, pos) + 1
            try:
                real = suite_size(top, name)
            except OSError as e:
                problems.append(f"{rel}:{line}: suite {name}: {e.strerror}")
                continue
            if real != n:
                problems.append(f"{rel}:{line}: says {name} has {n} "
                                f"scenarios, scenarios/suites/{name}.txt "
                                f"has {real}")
    return problems


def selftest():
    with tempfile.TemporaryDirectory() as top:
        os.makedirs(os.path.join(top, "scenarios", "suites"))
        os.makedirs(os.path.join(top, "docs"))
        with open(os.path.join(top, "scenarios", "suites", "default.txt"),
                  "w") as f:
            f.write("# a comment\nscenarios/a.yaml\n\nscenarios/b.yaml\n")
        os.makedirs(os.path.join(top, "fuzz"))
        with open(os.path.join(top, "fuzz", "CMakeLists.txt"), "w") as f:
            f.write("set(GAUNTLET_FUZZ_TARGETS fuzz_a\n    fuzz_b)\n")
        readme = os.path.join(top, "README.md")
        with open(readme, "w") as f:
            f.write("runs (`scenarios/suites/default.txt`: 2 scenarios)\n"
                    "and 2 default scenarios, 2 libFuzzer targets\n")
        if check(top):
            sys.exit("doc-counts: self-test: a true count was refused")
        with open(os.path.join(top, "docs", "x.md"), "w") as f:
            f.write("the 3 default scenarios\n")
        if len(check(top)) != 1:
            sys.exit("doc-counts: self-test: a wrong count was accepted")
        with open(os.path.join(top, "docs", "x.md"), "w") as f:
            f.write("the 3 libFuzzer targets\n")
        if len(check(top)) != 1:
            sys.exit("doc-counts: self-test: a wrong fuzz target count "
                     "was accepted")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: doc-counts.py TOP")
    selftest()
    problems = check(sys.argv[1])
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("doc-counts: the README's suite sizes and fuzz target count "
          "are the real ones")


if __name__ == "__main__":
    main()
