#!/usr/bin/env python3
"""Writes starting inputs for fuzz_virtqueue into the directory given: well-formed
virtio-blk requests (direct and indirect chains) in the harness's memory layout, so the
fuzzer mutates from requests that reach the device instead of searching for one."""

import os
import struct
import sys

AVAIL, DESC, USED = 0x0, 0x30, 0x200


def image(size_sel, flags, descs, heads, extra):
    ram = bytearray(0x1000)
    struct.pack_into("<HH", ram, AVAIL, 0, len(heads))
    for i, h in enumerate(heads):
        struct.pack_into("<H", ram, AVAIL + 4 + 2 * i, h)
    for i, (addr, length, fl, nxt) in enumerate(descs):
        struct.pack_into("<QIHH", ram, DESC + 16 * i, addr, length, fl, nxt)
    for addr, data in extra:
        ram[addr:addr + len(data)] = data
    return bytes([size_sel, flags]) + bytes(ram)


def header(kind, sector):
    return struct.pack("<IIQ", kind, 0, sector)


NEXT, WRITE, INDIRECT = 1, 2, 4
seeds = {
    "read": image(3, 0, [(0x400, 16, NEXT, 1), (0x600, 512, NEXT | WRITE, 2), (0x900, 1, WRITE, 0)],
                  [0], [(0x400, header(0, 3))]),
    "write-indirect": image(3, 3, [(0x300, 48, INDIRECT, 0)], [0],
                            [(0x300, struct.pack("<QIHHQIHHQIHH", 0x400, 16, NEXT, 1,
                                                 0x600, 1024, NEXT, 2, 0x900, 1, WRITE, 0)),
                             (0x400, header(1, 7))]),
    "discard-getid": image(3, 2, [(0x400, 16, NEXT, 1), (0x500, 16, NEXT, 2), (0x900, 1, WRITE, 0),
                                  (0x410, 16, NEXT, 4), (0x600, 21, WRITE, 0)],
                           [0, 3], [(0x400, header(11, 0) + header(8, 0)),
                                    (0x500, struct.pack("<QII", 2, 4, 0))]),
}
os.makedirs(sys.argv[1], exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(data)
