#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The docs point at nothing outside the repository.

    doc-links.py TOP

Checks README.md, docs/*.md and every other tracked *.md under TOP:
  - a Markdown link [text](target) that is not a URL or an anchor must
    resolve inside TOP, to a file or folder that exists;
  - a path written in the text that climbs out with ../ (`../shared/X`)
    must stay inside TOP.
Before checking the repository it checks itself on small made-up files:
one that must pass, and ones that must each be refused.
"""
import os
import re
import subprocess
import sys
import tempfile

LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CLIMB = re.compile(r"(?<![\w./-])((?:\.\./)+[\w.-][\w./-]*|\.\.(?=[`'\"\s]|$))")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def inside(top, path):
    top = os.path.realpath(top)
    p = os.path.realpath(path)
    return p == top or p.startswith(top + os.sep)


def check_file(top, md):
    problems = []
    here = os.path.dirname(md)
    rel = os.path.relpath(md, top)
    with open(md, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            for m in LINK.finditer(line):
                t = m.group(1)
                if SCHEME.match(t) or t.startswith("#"):
                    continue
                target = t.split("#", 1)[0]
                if not target:
                    continue
                p = os.path.join(top, target.lstrip("/")) if target.startswith("/") \
                    else os.path.join(here, target)
                if not inside(top, p):
                    problems.append(f"{rel}:{n}: link '{t}' leads outside the repository")
                elif not os.path.exists(p):
                    problems.append(f"{rel}:{n}: link '{t}' names nothing that exists")
            for m in CLIMB.finditer(line):
                t = m.group(1)
                if not inside(top, os.path.join(here, t)):
                    problems.append(f"{rel}:{n}: path '{t}' leads outside the repository")
    return problems


def markdown_files(top):
    try:
        out = subprocess.run(["git", "-C", top, "ls-files", "--cached", "--others",
                              "--exclude-standard", "*.md"], check=True,
                             capture_output=True, text=True).stdout.split()
        files = [os.path.join(top, f) for f in out]
    except (OSError, subprocess.CalledProcessError):
        files = []
    if not files:       # not a git checkout: README.md and docs/*.md
        files = [os.path.join(top, "README.md")] + [
            os.path.join(top, "docs", f) for f in sorted(os.listdir(os.path.join(top, "docs")))
            if f.endswith(".md")]
    return sorted(set(f for f in files if os.path.exists(f)))


def check_tree(top):
    problems = []
    for md in markdown_files(top):
        problems += check_file(top, md)
    return problems


def self_test():
    good = ("See [the style](docs/style.md), [a part](docs/style.md#tests), "
            "[the web](https://example.org/../x), [mail](mailto:a@b), "
            "`docs/../README.md`, and the tarball foo..bar or a range 1..5.\n")
    bad = {
        "the style is in `../shared/STYLE.md`.\n": "leads outside",
        "[style](../shared/STYLE.md)\n": "leads outside",
        "[deep](docs/../../x.md)\n": "leads outside",
        "[gone](docs/missing.md)\n": "names nothing",
        "run `cd .. && make` first\n": "leads outside",
    }
    with tempfile.TemporaryDirectory() as d:
        top = os.path.join(d, "repo")
        os.makedirs(os.path.join(top, "docs"))
        open(os.path.join(top, "docs", "style.md"), "w").close()
        with open(os.path.join(top, "README.md"), "w") as f:
            f.write(good)
        got = check_tree(top)
        if got:
            return [f"self-test: a good file was refused: {got}"]
        fails = []
        for text, why in bad.items():
            with open(os.path.join(top, "README.md"), "w") as f:
                f.write(text)
            got = check_tree(top)
            if not any(why in p for p in got):
                fails.append(f"self-test: not refused ({why} expected): {text.strip()!r}"
                             f" -> {got}")
        return fails


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    fails = self_test()
    if fails:
        print("\n".join(fails), file=sys.stderr)
        return 1
    top = os.path.abspath(argv[1])
    files = markdown_files(top)
    problems = check_tree(top)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print(f"doc-links.py: {len(files)} Markdown files, no link or path outside "
          f"{top}; self-test ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
