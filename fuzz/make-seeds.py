#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the seed corpora fuzz/corpus/<target>/ and dictionaries fuzz/dict/.
Run from anywhere: python3 fuzz/make-seeds.py  (the outputs are committed)."""
import os, struct
D = os.path.dirname(os.path.abspath(__file__))
def put(target, name, data):
    d = os.path.join(D, 'corpus', target); os.makedirs(d, exist_ok=True)
    open(os.path.join(d, name), 'wb').write(data)
rules = ["", "cq.post:drop:once", "cq.post:corrupt(tag=0xffff):every=2,max=2",
         "sq.fetch:delay(10us):once;sq.fetch:drop:once", "irq:storm(count=5,interval=1us)",
         "reg.read[reg=status]:corrupt(value=0xffffffff):nth=2", "sgl.fetch:corrupt(index=1,addr=0x80000000)",
         "dma.read:corrupt(offset=700,value=0x5)", "cq.post:drop:prob=0.5,seed=1", "power:stall:once",
         "cq.post:drop:once\0irq:delay(1ms)", "sq.fetch[op=read]:flip(bits=8):after=3,max=1"]
for i, r in enumerate(rules):
    put('fuzz_fault_rules', 'seed-%02d' % i, r.encode())
# the fault port's vocabulary: first byte 0x01 (fuzz_fault_rules.c)
port_rules = ["link:allones", "dma.write[addr=0x1000-0x1fff]:corrupt(offset=8,value=0x5a):nth=2",
              "msi[vector=3]:drop:after=2,max=1;msi:storm(count=5,interval=1us)",
              "mmio.read[bar=2,off=0x10-0x1f]:corrupt(value):prob=0.5,seed=9",
              "cfg.read[off=0x4]:flip(bits=3)\0dma.read:dma_error:once", "msi:delay(1ms);msi:duplicate:every=2"]
for i, r in enumerate(port_rules):
    put('fuzz_fault_rules', 'port-%02d' % i, b'\x01' + r.encode())
# fuzz_device: config, then ops (see OP_* in fuzz_device.c)
ENABLE, SUBMIT, ADV, REAP, FAULTS, RESET, POWER, SGL = 12, 17, 6, 13, 10, 8, 9, 5
def sqe_shaped(op, nsegs=1, lba=0, nblocks=1, sgl=0x4000, sgl_len=16):
    return bytes([(op - 1) << 1]) + struct.pack('<H', 7) + bytes([nsegs, lba, nblocks, 0]) + struct.pack('<H', sgl) + bytes([sgl_len // 16])
sgl = bytes([SGL, 0]) + struct.pack('<H', 0x4000) + bytes([0, 0, 0]) + struct.pack('<H', 0x8000) + struct.pack('<H', 512)
base = bytes([0x20, ENABLE, 6, 6]) + sgl
put('fuzz_device', 'enable', bytes([0x20, ENABLE, 6, 6, ADV, 10, 200]))
put('fuzz_device', 'write-read', base + bytes([SUBMIT]) + sqe_shaped(3) + bytes([SUBMIT]) + sqe_shaped(2) + bytes([REAP]))
for k in (1, 4, 7, 11, 17, 26, 29, 33):
    put('fuzz_device', 'fault-%02d' % k, base + bytes([FAULTS, k, SUBMIT]) + sqe_shaped(3) + bytes([ADV, 10, 255, REAP, RESET, POWER, 3, POWER, 0]))
# write cache (config bit 0x80, 16 blocks): 20 one-block WRITEs fill it
# (write-through, write-back), a FLUSH; lie and powercut rules (41, 42)
wc = bytes([0xa0, ENABLE, 6, 6]) + sgl
for i in range(20):
    wc += bytes([SUBMIT]) + sqe_shaped(3, lba=i) + bytes([REAP])
put('fuzz_device', 'wcache-fill-flush', wc + bytes([SUBMIT]) + sqe_shaped(4) + bytes([ADV, 10, 255, REAP, SUBMIT]) + sqe_shaped(2, lba=3) + bytes([REAP]))
put('fuzz_device', 'wcache-lie-powercut', wc + bytes([FAULTS, 41, SUBMIT]) + sqe_shaped(4) + bytes([REAP, SUBMIT]) + sqe_shaped(4) + bytes([REAP, FAULTS, 42, SUBMIT]) + sqe_shaped(4) + bytes([REAP, SUBMIT]) + sqe_shaped(4) + bytes([REAP, RESET, ENABLE, 6, 6]))
# fuzz_vmload: config, history (n, ops), mutations (n, ...), run ops
# history ops: 0 enable, 1/2 submit, 3 advance, 4 reap, 5 faults, 6 async, 7 reset
hist = bytes([6, 0, 6, 6, 1, 0x12, 1, 0, 0, 2, 0x13, 2, 0, 1, 5, 1, 1, 0x20, 3, 0, 3, 50, 4])
put('fuzz_vmload', 'saved-as-is', bytes([0x02]) + hist + bytes([0]) + bytes([0, 1, 20, 3, 4, 4, 4]))
put('fuzz_vmload', 'pending-wrong', bytes([0x02]) + hist + bytes([2, 0x36, 4, 0x60, 0, 5, 7]) + bytes([0, 1, 20]))
put('fuzz_vmload', 'cmd-in-flight', bytes([0x02]) + hist + bytes([1, 0x80, 1, 0, 4]) + bytes([0, 1, 20]))
# write cache (config bit 0x10): WRITEs cached, a FLUSH, one more WRITE
# left cached; saved as is, with a lying count, with a power cut (rule 12)
wch = bytes([11, 0, 6, 6, 1, 0x02, 1, 0, 0, 1, 0x02, 2, 0, 3, 1, 0x02, 3, 0, 5,
             4, 4, 4, 1, 0x03, 4, 0, 1, 0x02, 5, 0, 7, 4, 4])
put('fuzz_vmload', 'wcache-saved', bytes([0x1a]) + wch + bytes([0]) + bytes([0, 1, 20, 3, 4, 4, 4]))
put('fuzz_vmload', 'wcache-count-lies', bytes([0x1a]) + wch + bytes([1, 0xf8, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]) + bytes([0, 1, 20]))
put('fuzz_vmload', 'wcache-powercut', bytes([0x1a]) + bytes([13]) + wch[1:] + bytes([5, 12, 1, 0x03, 6, 0]) + bytes([0]) + bytes([0, 1, 20, 4]))
put('fuzz_vmload', 'storm', bytes([0x01]) + hist + bytes([2, 0x1f, 3, 0x20, 0]) + bytes([1, 255, 20]))
# fuzz_completion: ntags, qdepth, ops
put('fuzz_completion', 'basic', bytes([8, 8, 0, 1, 5, 0, 2, 1, 0, 4, 5, 1]))
put('fuzz_completion', 'dup', bytes([4, 4, 0, 0, 1, 0, 2, 0, 0x40, 4, 6, 4]))
put('fuzz_completion', 'badtag', bytes([4, 4, 0, 0, 1, 0, 2, 0, 1, 0xff, 0xff, 4]))
# fuzz_ioctl: variant, qdepth, ioctls (0 info, 1 submit, 2 reset, 3 stats, 4/5 timeout)
io_w = bytes([1, 0, 0, 0]) + bytes([0x02 | 0, 3]) + struct.pack('<HIH', 5, 1, 0x100) + bytes([0, 0])
io_r = bytes([1, 0, 0, 0]) + bytes([0x01, 3]) + struct.pack('<HIH', 5, 1, 0x100) + bytes([0, 3])
for v in range(8):
    put('fuzz_ioctl', 'v%d-write-read' % v, bytes([v | 0x80, 2 + v]) + io_w + io_r + bytes([0, 0, 3, 0, 4, 1, 0, 0, 5, 100, 0, 0, 2]))
put('fuzz_ioctl', 'flush', bytes([0, 1, 0, 0, 0, 3, 0]))
put('fuzz_ioctl', 'bad-info', bytes([0, 0, 1, 4, 0, 1, 7, 0xfe, 0x12, 0x34, 0x56, 0x78]))
put('fuzz_ioctl', 'default-q-write-read', bytes([3]) + io_w + io_r)
# a large WRITE and READ (kind 0xfc..0xff: nblocks from a u16), 41 blocks
# of 4 KiB on variant 3, one segment per page: just past the 128 KiB where
# ASan mmaps, no larger (a seed the size of a full transfer, 1 MiB, costs
# more per input than the rest of the corpus together: bench/fuzz-speed.sh)
io_bw = bytes([1, 0, 0, 0, 0xfe]) + struct.pack('<HHIH', 40, 5, 1, 0x100) + bytes([0, 0])
io_br = bytes([1, 0, 0, 0, 0xfd]) + struct.pack('<HHIH', 40, 5, 1, 0x100) + bytes([0, 0])
put('fuzz_ioctl', 'large-write-read', bytes([3]) + io_bw + io_br)
# fuzz_port: engine seed, then ops (see OP_* in fuzz_port.c):
# 0 set, 1 add, 2 clear, 3 dma write, 4 dma read, 5 message, 6 mmio,
# 7 cfg, 8 time, 9 unplug, 10 plug, 11 reset, 12 migrate, 13 vector
def prule(kind, act, trig=0, where=0, lo=0, shift=0, length=0, n1=0, n2=0, filt=False):
    return bytes([kind, act | (0x80 if filt else 0), trig, where]) + struct.pack('<H', lo) + bytes([shift]) + struct.pack('<H', length) + bytes([n1, n2])
def pdma(op, where, addr, length):
    return bytes([op, where]) + (struct.pack('<H', addr) if where < 230 or where >= 250 else bytes([addr])) + struct.pack('<H', length)
corrupt_w = prule(1, 3, 0, 0, 0x1000, 0, 0xfff, 100, 0x5a, True)   # dma.write[addr=0x1000-0x1fff]:corrupt
flip_r = prule(0, 4, 0, 0, 0, 0, 0xffff, 2)                          # dma.read:flip(bits=3)
msi_delay = prule(2, 1, 0, 0, 0, 0, 0, 10)                           # msi:delay(11us)
msi_storm = prule(2, 3, 1, 0, 0, 0, 0, 5, 2)                         # msi:storm(count=6,...):once
link = prule(5, 0, 2)                                                # link:allones:nth=2
put('fuzz_port', 'dma-corrupt', bytes([1, 0, 1]) + corrupt_w + pdma(3, 0, 0x1000, 512) + pdma(3, 0, 0x1000, 4096) + pdma(4, 0, 0x1000, 64))
put('fuzz_port', 'flip-read', bytes([2, 0, 2]) + flip_r + corrupt_w + pdma(4, 0, 0x100, 300) + pdma(3, 0, 0x1ff0, 0x40))
put('fuzz_port', 'window', bytes([3, 0, 2]) + msi_delay + corrupt_w + pdma(3, 210, 0x0, 512) + bytes([8, 100, 0]))
put('fuzz_port', 'messages', bytes([4, 0, 2]) + msi_delay + msi_storm + bytes([5, 0, 5, 1, 5, 2, 12, 8, 10, 0, 5, 3, 9, 8, 255, 0, 10, 5, 0]))
put('fuzz_port', 'link-reset', bytes([5, 0, 2]) + link + msi_delay + bytes([5, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0]) + pdma(4, 0, 0x2000, 16) + bytes([11, 2, 5, 0]))
put('fuzz_port', 'top-and-edge', bytes([6, 0, 1]) + corrupt_w + pdma(3, 250, 0x10, 0x30) + pdma(3, 240, 0x20, 0x100) + pdma(4, 251, 0x800, 0x1000))
put('fuzz_port', 'churn', bytes([7, 0, 1]) + corrupt_w + pdma(3, 0, 0x1000, 16) + bytes([2, 0, 1]) + msi_delay + pdma(3, 0, 0x1000, 4096) + bytes([13, 0, 0, 0x10, 0x80, 5, 0, 7, 2, 0, 0, 0, 0, 0, 0, 0, 0, 5]))
# dictionaries
os.makedirs(os.path.join(D, 'dict'), exist_ok=True)
def le(v, n): return ''.join('\\x%02x' % b for b in v.to_bytes(n, 'little'))
regs = [0x0, 0x8, 0xc, 0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, 0x40, 0x44, 0x48, 0x4c, 0x50, 0x80, 0x84, 0x88, 0x90, 0x94, 0x98, 0xa0, 0xa4, 0xa8, 0xac, 0xc0, 0x100]
dev = ['reg_%x="%s"' % (r, le(r, 2)) for r in regs] + ['reset_magic="%s"' % le(0x4b525354, 4), 'sq_base="%s"' % le(0x1000, 4), 'cq_base="%s"' % le(0x2000, 4)]
open(os.path.join(D, 'dict', 'fuzz_device.dict'), 'w').write('\n'.join(dev) + '\n')
# fuzz_vmload: values a stream may lie with (little-endian field writes)
vml = ['u32_max="\\xff\\xff\\xff\\xff"', 'qd_256="%s"' % le(256, 2), 'qd_1024="%s"' % le(1024, 2), 'storm_max="%s"' % le(100000, 4), 'deadline_none="%s"' % le(0x7fffffffffffffff, 8), 'base_top="%s"' % le(0xfffffffffffff000, 8)]
open(os.path.join(D, 'dict', 'fuzz_vmload.dict'), 'w').write('\n'.join(vml) + '\n')
words = "cq.post sq.fetch sgl.fetch dma.read dma.write irq reset power ctrl.enable reg.read drop delay stall corrupt flip duplicate spurious storm fatal allones dma_error tag phase status sqhead result opcode flags nsegs lba nblocks sgl_addr sgl_len addr len index value offset always once nth every prob after max seed count interval bits reg op ns us ms s read write identify flush ( ) [ ] : ; , = 0x msi mmio.read cfg.read link bar off vector -".split()
open(os.path.join(D, 'dict', 'fuzz_fault_rules.dict'), 'w').write('\n'.join('"%s"' % w for w in words) + '\nport="\\x01"\n')
cmp = ['tag_gen1="%s"' % le(0x400, 2), 'tag_max="%s"' % le(0xffff, 2), 'phase1="\\x01\\x00"', 'st_max="\\x0d\\x00"']
prt = ['win="\\x00\\x00\\xe0\\xfe"', 'page="\\x00\\x10"', 'offset_4095="\\xff\\x0f"', 'page_minus_8="\\xf8\\x0f"']
open(os.path.join(D, 'dict', 'fuzz_port.dict'), 'w').write('\n'.join(prt) + '\n')
open(os.path.join(D, 'dict', 'fuzz_completion.dict'), 'w').write('\n'.join(cmp) + '\n')
ioc = ['info_size="%s"' % le(152, 4), 'submit_size="%s"' % le(48, 4), 'io_size="%s"' % le(56, 4), 'timeout_size="%s"' % le(16, 4), 'stats_size="%s"' % le(168, 4), 'ioc_submit="%s"' % le(0xc0304b01, 4), 'raw="\\xff"']
open(os.path.join(D, 'dict', 'fuzz_ioctl.dict'), 'w').write('\n'.join(ioc) + '\n')
# fuzz_vfio_completion: cfg (qdepth = cfg % 15 + 2; 0x80 a bad capability:
# index, value; 0x40 ignore the device request), timeout - 10, retries,
# queue entries; a batch (count - 1, then per request op % 3: 0 READ
# 1 WRITE 2 FLUSH, blocks - 1, lba u16); a second batch; then the device's
# moves, one byte per wait of the driver (op % 13, fuzz_vfio_completion.c:
# 0/1 post correctly, 2 post mutated (field = op >> 4 & 7), 3 raw entry,
# 4 drop, 5 duplicate, 6 fatal, 7 link all-ones, 8 spurious, 9 request,
# 10 removal (with 0x80), 11 time, 12 a timeout's worth of time).
def vfio_seed(moves, cfg=0x0e, batch=b'\x02\x01\x07\x08\x00\x00\x03\x10\x00\x02\x00\x00\x00'):
    return bytes([cfg, 20, 2, 8]) + batch + b'\x00\x00\x02\x00\x00' + bytes(moves)
put('fuzz_vfio_completion', 'clean', vfio_seed([]))
put('fuzz_vfio_completion', 'drop-timeout', vfio_seed([4, 12, 12, 0, 0, 0]))
put('fuzz_vfio_completion', 'bad-tag', vfio_seed([0x02, 0xff, 0x03, 0, 0]))
put('fuzz_vfio_completion', 'bad-sqhead', vfio_seed([0x12, 0x40, 0x00, 0, 0]))
put('fuzz_vfio_completion', 'bad-status', vfio_seed([0x22, 0x33, 0x00]))
put('fuzz_vfio_completion', 'bad-result', vfio_seed([0x32, 0x01, 0x02, 0x03, 0x04]))
put('fuzz_vfio_completion', 'duplicate', vfio_seed([0, 5, 0, 0]))
put('fuzz_vfio_completion', 'raw-entry', vfio_seed([0x83, 1, 0, 1, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0]))
put('fuzz_vfio_completion', 'fatal', vfio_seed([6, 0, 0]))
put('fuzz_vfio_completion', 'allones-link', vfio_seed([7, 12, 12, 12, 7, 0]))
put('fuzz_vfio_completion', 'removal', vfio_seed([0x8a, 12]))
put('fuzz_vfio_completion', 'request', vfio_seed([9]))
put('fuzz_vfio_completion', 'request-ignored', vfio_seed([9, 4, 12, 12, 12, 12], cfg=0x4e))
put('fuzz_vfio_completion', 'spurious-missed', vfio_seed([8, 11, 50, 12]))
put('fuzz_vfio_completion', 'bad-capability', bytes([0x8e, 1, 0x00, 0x00, 0x00, 0x00]) + bytes([20, 2, 8]))
