#!/usr/bin/env python3
"""harness.names_no_target: nothing in harness/ names a target.

docs/targets.md says so: the harness knows a device and its driver only
through a target folder (targets/NAME/target.yaml).  This test reads every
file under harness/ (sources, headers, scripts, CMake, guest files) with its
comments removed and fails on any mention of a shipped target: its name and
its driver module (`name:` and `module:` of every targets/*/target.yaml),
case-insensitive, with '-' and '_' alike.

    names-no-target.py TOP              check TOP/harness against TOP/targets
    names-no-target.py --self-test TOP  the negative control: a copy of
                                        harness/ with a target's name added in
                                        code must fail, one with it added in a
                                        comment must pass
"""
import os
import re
import shutil
import sys
import tempfile

C_LIKE = ('.c', '.h')
HASH_LIKE = ('.sh', '.txt', '.cmake', '.yaml', '.py', '')


def strip_c(text):
    """Remove /* */ and // comments, keeping strings (and line numbers)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append('\n' * text.count('\n', i, j))
            i = j
        elif text.startswith('//', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def strip_hash(text):
    """Remove '#' comments (outside quotes) of shell, CMake and YAML."""
    lines = []
    for line in text.split('\n'):
        q, keep = None, []
        for k, c in enumerate(line):
            if q:
                if c == q:
                    q = None
            elif c in '"\'':
                q = c
            elif c == '#' and (k == 0 or line[k - 1] in ' \t'):
                break
            keep.append(c)
        lines.append(''.join(keep))
    return '\n'.join(lines)


def target_words(top):
    words = set()
    tdir = os.path.join(top, 'targets')
    for name in sorted(os.listdir(tdir)):
        path = os.path.join(tdir, name, 'target.yaml')
        if not os.path.isfile(path):
            continue
        words.add(name)
        with open(path, encoding='utf-8') as f:
            for line in f:
                m = re.match(r'^(name|module):\s*"?([A-Za-z0-9_.-]+)"?\s*$', line)
                if m:
                    words.add(m.group(2))
    return sorted(words)


def check(harness, words):
    pat = re.compile('|'.join(re.escape(w).replace(r'\-', '[-_]').replace('_', '[-_]')
                              for w in words), re.IGNORECASE)
    found = []
    for root, dirs, files in os.walk(harness):
        dirs.sort()
        for fn in sorted(files):
            path = os.path.join(root, fn)
            ext = os.path.splitext(fn)[1]
            try:
                with open(path, encoding='utf-8') as f:
                    text = f.read()
            except (UnicodeDecodeError, OSError):
                continue
            if ext in C_LIKE:
                text = strip_c(text)
            elif ext in HASH_LIKE or fn == 'CMakeLists.txt':
                text = strip_hash(text)
            for no, line in enumerate(text.split('\n'), 1):
                m = pat.search(line)
                if m:
                    found.append('%s:%d: names target %r: %s' % (
                        os.path.relpath(path, os.path.dirname(harness)), no,
                        m.group(0), line.strip()))
    return found


def main():
    args = sys.argv[1:]
    self_test = args[:1] == ['--self-test']
    if self_test:
        args = args[1:]
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    top = os.path.abspath(args[0])
    words = target_words(top)
    if len(words) < 3:
        print('FAIL: found only %r in %s/targets' % (words, top))
        return 1
    print('target names: %s' % ', '.join(words))
    if not self_test:
        found = check(os.path.join(top, 'harness'), words)
        for f in found:
            print(f)
        print('%d mention(s) of a target in harness/' % len(found))
        return 1 if found else 0
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, 'harness')
        os.makedirs(os.path.join(copy, 'guest'))
        with open(os.path.join(copy, 'neutral.c'), 'w') as f:
            f.write('/* a harness file */\nint main(void) { return puts("#"); }\n')
        with open(os.path.join(copy, 'CMakeLists.txt'), 'w') as f:
            f.write('add_executable(x neutral.c)  # the harness\n')
        with open(os.path.join(copy, 'guest', 'init'), 'w') as f:
            f.write('#!/bin/sh\necho "a # in a string"  # comment\n')
        if check(copy, words):
            print('FAIL: a neutral tree was reported')
            return 1
        probe = os.path.join(copy, 'probe.c')
        for w in words:
            with open(probe, 'w') as f:
                f.write('/* %s in a comment is fine */\nint x; // %s\n' % (w, w))
            if check(copy, words):
                print('FAIL: %r in a comment was reported' % w)
                return 1
            with open(probe, 'w') as f:
                f.write('static const char *t = "%s";\n' % w.upper())
            if not check(copy, words):
                print('FAIL: %r in code was not reported' % w)
                return 1
        os.remove(probe)
        with open(os.path.join(copy, 'guest', 'init'), 'a') as f:
            f.write('insmod /lib/%s.ko\n' % words[-1])
        if not check(copy, words):
            print('FAIL: %r in a shell script was not reported' % words[-1])
            return 1
        os.remove(os.path.join(copy, 'guest', 'init'))
        with open(os.path.join(copy, 'CMakeLists.txt'), 'a') as f:
            f.write('add_test(NAME x COMMAND run --target %s) # ok\n' % words[0])
        if not check(copy, words):
            print('FAIL: %r in CMake code was not reported' % words[0])
            return 1
    print('self-test ok: names in code are found, names in comments are not')
    return 0


if __name__ == '__main__':
    sys.exit(main())
