#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Generate trace.h for Kestrel builds outside QEMU.

Inside QEMU, tracetool turns qemu-device/qemu/trace-events into trace_*()
functions.  Unit tests and fuzzers compile the same core sources, so they
need the same functions: this emits one empty static inline per event,
from the same trace-events file, so the two can never drift apart.
"""
import re
import sys

EVENT = re.compile(r'^([a-z_][a-z0-9_]*)\((.*?)\)\s+"')


def main(src, dst):
    out = ["/* Generated from %s by gen-trace-stubs.py; do not edit. */"
           % src.split("/")[-1],
           "#ifndef KESTREL_TRACE_STUBS_H", "#define KESTREL_TRACE_STUBS_H"]
    with open(src, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = EVENT.match(line)
            if not m:
                sys.exit("%s:%d: cannot parse trace event" % (src, lineno))
            name, args = m.group(1), m.group(2).strip()
            out.append("static inline void trace_%s(%s)\n{\n}" % (name, args))
    out.append("#endif")
    with open(dst, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: gen-trace-stubs.py TRACE_EVENTS OUTPUT_H")
    main(sys.argv[1], sys.argv[2])
