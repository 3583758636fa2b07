#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# gauntlet-data virtio-queue without a VM (CTest data.virtio_queue): the
# capability walk and every refusal, on config-space images (--config).
# The PCI_CFG window itself needs a device behind it: it is exercised in a
# VM by scenarios/port/virtio-blk-port-used-ring.yaml.
#   virtio.sh GAUNTLET_DATA WORKDIR
set -e
tool="$1" dir="$2"
[ -x "$tool" ] || { echo "no gauntlet-data at '$tool'"; exit 1; }
mkdir -p "$dir"

# image NAME SPEC: a 256-byte config space.  SPEC: vendor device status
# capptr, then caps as id:pos:next[:cfg_type:bar:offset:length:caplen]
image() {
    python3 - "$dir/$1.cfg" "$2" <<'PY'
import struct, sys
path, spec = sys.argv[1], sys.argv[2].split()
b = bytearray(256)
vendor, device, status, capptr = (int(x, 0) for x in spec[:4])
struct.pack_into("<HHxxH", b, 0, vendor, device, status)
b[0x34] = capptr
for cap in spec[4:]:
    f = [int(x, 0) for x in cap.split(":")]
    cid, pos, nxt = f[:3]
    b[pos], b[pos + 1] = cid, nxt
    if len(f) > 3:
        ctype, bar, off, length, caplen = f[3:]
        b[pos + 2], b[pos + 3], b[pos + 4] = caplen, ctype, bar
        struct.pack_into("<II", b, pos + 8, off, length)
open(path, "wb").write(b)
PY
}

# expect STATUS TEXT ARGS...: exit status and a line of output
expect() {
    want_rc="$1" want="$2"; shift 2
    set +e; "$tool" virtio-queue "$@" >"$dir/out" 2>&1; rc=$?; set -e
    if [ "$rc" != "$want_rc" ] || ! grep -q -- "$want" "$dir/out"; then
        echo "virtio-queue $*: status $rc, output:"; cat "$dir/out"
        echo "(wanted status $want_rc and '$want')"; exit 1
    fi
}

# QEMU's virtio-blk-pci (modern): common cfg in BAR 4, the PCI_CFG window,
# an MSI-X capability after them
good="0x1af4 0x1042 0x10 0x40 9:0x40:0x54:1:4:0x0:0x38:16 9:0x54:0x68:5:0:0:0:20 0x11:0x68:0"
image good "$good"
expect 0 "^vendor=0x1af4 device=0x1042 common_cap=0x40 common_bar=4 common_offset=0x0 common_length=56 pci_cfg_cap=0x54\$" \
    00:00.0 --config "$dir/good.cfg" --caps
# the window of a plain file reads back zeros: num_queues 0
cp "$dir/good.cfg" "$dir/window.cfg"
expect 1 "no queue 0: the device has 0" 00:00.0 --config "$dir/window.cfg" --used-range
# the window was pointed at the common cfg's num_queues (offset 0x12, 2 bytes)
python3 - "$dir/window.cfg" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
bar, off, length = b[0x54 + 4], *struct.unpack_from("<II", b, 0x54 + 8)
assert (bar, off, length) == (4, 0x12, 2), (bar, off, length)
PY

image intel "0x8086 0x100e 0x10 0x40 9:0x40:0:1:4:0:0x38:16"
expect 1 "not a virtio device (vendor 0x8086, expected 0x1af4)" 00:00.0 --config "$dir/intel.cfg"
image nocaps "0x1af4 0x1001 0x00 0x00"
expect 1 "has no capability list: not a modern (virtio 1.x) device" 00:00.0 --config "$dir/nocaps.cfg"
image legacy "0x1af4 0x1001 0x10 0x40 0x11:0x40:0"
expect 1 "has no common configuration capability" 00:00.0 --config "$dir/legacy.cfg"
image short "0x1af4 0x1042 0x10 0x40 9:0x40:0:1:4:0:0x20:16 9:0x54:0:5:0:0:0:20"
expect 1 "the common configuration is 32 bytes, expected at least 56" 00:00.0 --config "$dir/short.cfg"
image nowin "0x1af4 0x1042 0x10 0x40 9:0x40:0x68:1:4:0:0x38:16 0x11:0x68:0"
expect 1 "has no VIRTIO_PCI_CAP_PCI_CFG window" 00:00.0 --config "$dir/nowin.cfg"
# a capability list that loops ends (bounded walk)
image loop "0x1af4 0x1042 0x10 0x40 9:0x40:0x54:1:4:0:0x38:16 0x11:0x54:0x40"
expect 1 "has no VIRTIO_PCI_CAP_PCI_CFG window" 00:00.0 --config "$dir/loop.cfg"
head -c 32 "$dir/good.cfg" > "$dir/tiny.cfg"
expect 1 "config space is 32 bytes, expected at least 64" 00:00.0 --config "$dir/tiny.cfg"
expect 1 "no such PCI device" 0000:ff:1f.7
expect 1 "No such file or directory" 00:00.0 --config "$dir/missing.cfg"

# bad usage: status 2
expect 2 "exactly one BDF" --config "$dir/good.cfg"
expect 2 "not a PCI address" ../../etc
expect 2 "expected 0..65535" 00:00.0 --queue 65536
echo "virtio-queue: cap walk and refusals ok"
