#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Part of check-consts.sh: every struct of kestrel.txt that describes a UAPI
struct has the header's fields, by name and in order, and array lengths
equal to the header's.  kestrel_X and kestrel_X_<variant> describe
struct kestrel_X (kestrel_io_rw512 -> struct kestrel_io)."""
import re
import sys

hdr, txt = (open(p).read() for p in sys.argv[1:3])
hdr = re.sub(r'/\*.*?\*/', '', hdr, flags=re.S)
uapi = {}
for name, body in re.findall(r'struct (kestrel_\w+) \{(.*?)\};', hdr, re.S):
    fields = []
    for decl in body.split(';'):
        m = re.match(r'\s*(?:__[us]\d+|char)\s+(\w+)(?:\[(\w+)\])?\s*$', decl)
        if m:
            fields.append((m.group(1), m.group(2)))
    uapi[name] = fields

bad = 0
for name, body in re.findall(r'^(kestrel_\w+) \{\n(.*?)^\}', txt, re.S | re.M):
    base = name
    while base not in uapi and '_' in base:
        base = base.rsplit('_', 1)[0]
    if base not in uapi:
        continue            # a helper struct (kestrel_block512...)
    got = []
    for line in body.splitlines():
        parts = line.split()
        if not parts or parts[0].startswith('#'):
            continue
        m = re.search(r'array\[.*,\s*(\w+)\]\s*(\(|$)', line)
        got.append((parts[0], m.group(1) if m else None))
    want = uapi[base]
    if [f for f, _ in got] != [f for f, _ in want]:
        print(f'{name}: fields {[f for f, _ in got]}\n  struct {base}: {[f for f, _ in want]}')
        bad += 1
        continue
    for (f, n), (_, wn) in zip(got, want):
        if wn is not None and n != wn:
            print(f'{name}.{f}: array length {n}, struct {base} has [{wn}]')
            bad += 1
    print(f'{name}: the {len(want)} fields of struct {base}')
sys.exit(1 if bad else 0)
