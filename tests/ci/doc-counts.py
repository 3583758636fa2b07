#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The scenario counts the README states are the suites' real sizes.

    doc-counts.py TOP

Checks every "(`scenarios/suites/NAME.txt`: N scenarios" in README.md and
docs/*.md against the number of scenario lines in that suite file (blank
lines and # comments do not count), and "N default scenarios" against
default.txt.  Before checking the repository it checks itself on made-up
files: one that must pass and one that must be refused.
"""
import glob
import os
import re
import sys
import tempfile

SUITE = re.compile(r"`scenarios/suites/([\w.-]+)\.txt`:\s*(\d+) scenarios")
DEFAULT = re.compile(r"\b(\d+) default scenarios\b")


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
        readme = os.path.join(top, "README.md")
        with open(readme, "w") as f:
            f.write("runs (`scenarios/suites/default.txt`: 2 scenarios)\n"
                    "and 2 default scenarios\n")
        if check(top):
            sys.exit("doc-counts: self-test: a true count was refused")
        with open(os.path.join(top, "docs", "x.md"), "w") as f:
            f.write("the 3 default scenarios\n")
        if len(check(top)) != 1:
            sys.exit("doc-counts: self-test: a wrong count was accepted")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: doc-counts.py TOP")
    selftest()
    problems = check(sys.argv[1])
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("doc-counts: the README's suite sizes are the suites' own")


if __name__ == "__main__":
    main()
