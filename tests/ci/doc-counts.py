#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The scenario counts the README states are the suites' real sizes.

    doc-counts.py TOP

Checks every "(`scenarios/suites/NAME.txt`: N scenarios" in README.md and
docs/*.md against the number of scenario lines in that suite file (blank
lines and # comments do not count), and "N default scenarios" against
default.txt; and that the README's table of fuzz targets (the rows
"| `fuzz_NAME` |" under "## Fuzzing") lists exactly the targets
fuzz/CMakeLists.txt builds (GAUNTLET_FUZZ_TARGETS), each once.  Before
checking the repository it checks itself on made-up files: one that must
pass and one that must be refused.
"""
import glob
import os
import re
import sys
import tempfile

SUITE = re.compile(r"`scenarios/suites/([\w.-]+)\.txt`:\s*(\d+) scenarios")
DEFAULT = re.compile(r"\b(\d+) default scenarios\b")
FUZZ_SET = re.compile(r"set\(GAUNTLET_FUZZ_TARGETS([^)]*)\)")
FUZZ_ROW = re.compile(r"^\| `(fuzz_\w+)` \|", re.M)


def fuzz_problems(top):
    """The README's fuzz table against the targets CMake builds."""
    try:
        with open(os.path.join(top, "fuzz", "CMakeLists.txt"),
                  encoding="utf-8") as f:
            m = FUZZ_SET.search(f.read())
    except OSError:
        return []                       # no fuzz/ (the self-test's tree)
    if not m:
        return ["fuzz/CMakeLists.txt: no set(GAUNTLET_FUZZ_TARGETS ...)"]
    built = m.group(1).split()
    with open(os.path.join(top, "README.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.find("\n## Fuzzing")
    if start < 0:
        return ["README.md: no '## Fuzzing' section"]
    end = text.find("\n## ", start + 1)
    section = text[start:end if end > 0 else len(text)]
    rows = FUZZ_ROW.findall(section)
    problems = []
    line = text.count("\n", 0, start) + 2
    for t in built:
        if rows.count(t) != 1:
            problems.append(f"README.md:{line}: the fuzz table lists "
                            f"{t} {rows.count(t)} times (fuzz/CMakeLists.txt "
                            f"builds it)")
    for t in sorted(set(rows) - set(built)):
        problems.append(f"README.md:{line}: the fuzz table lists {t}, which "
                        f"fuzz/CMakeLists.txt does not build")
    if len(rows) != len(built) and not problems:
        problems.append(f"README.md:{line}: {len(rows)} fuzz targets in the "
                        f"table, {len(built)} built")
    return problems


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
    return problems + fuzz_problems(top)


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
        os.remove(os.path.join(top, "docs", "x.md"))
        os.makedirs(os.path.join(top, "fuzz"))
        with open(os.path.join(top, "fuzz", "CMakeLists.txt"), "w") as f:
            f.write("set(GAUNTLET_FUZZ_TARGETS fuzz_a\n    fuzz_b)\n")
        with open(readme, "a") as f:
            f.write("\n## Fuzzing\n\n| Target | Attacks |\n|---|---|\n"
                    "| `fuzz_a` | a |\n| `fuzz_b` | b |\n\n## Next\n")
        if check(top):
            sys.exit("doc-counts: self-test: a true fuzz table was refused")
        with open(os.path.join(top, "fuzz", "CMakeLists.txt"), "w") as f:
            f.write("set(GAUNTLET_FUZZ_TARGETS fuzz_a fuzz_b fuzz_c)\n")
        if len(check(top)) != 1:
            sys.exit("doc-counts: self-test: a fuzz target missing from the "
                     "table was accepted")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: doc-counts.py TOP")
    selftest()
    problems = check(sys.argv[1])
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("doc-counts: the README's suite sizes are the suites' own, and "
          "its fuzz table lists the targets built")


if __name__ == "__main__":
    main()
