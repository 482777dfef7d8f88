#!/usr/bin/env python3
"""Writes starting inputs for one fuzz target into a directory:
    make_seeds.py TARGET DIR
so each fuzzer mutates from inputs that reach deep into the code instead of searching
for one. virtqueue: well-formed virtio-blk requests (direct and indirect chains) in the
harness's memory layout. loader: a RISC-V Image, its gzip, an ELF with tohost/fromhost
symbols, as kernel, firmware and initrd. run_options: typical argv lists. parsers:
--net, --memory and --disk values. switch: framed Ethernet frames from three ports."""

import gzip
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
virtqueue_seeds = seeds

RAM_BASE = 0x80000000
KERNEL, FIRMWARE, INITRD = 0, 1, 2
AT_BASE, AT_2M = 0 << 2, 1 << 2


def riscv_image(code_len=0x200, bss=0x1000):
    """Linux RISC-V Image header (Documentation/riscv/boot-image-header.rst), version 0.2."""
    hdr = struct.pack("<IIQQQIIQQII", 0x0000006f, 0, 0x200000, code_len + bss, 0,
                      0x2, 0, 0, 0x5643534952, 0x05435352, 0)
    return hdr + bytes(code_len - len(hdr))


def elf(segments, entry, symbols=True):
    """ELF64 RISC-V executable: segments are (paddr, data, memsz); optional .symtab."""
    ehsize, phentsize, shentsize = 64, 56, 64
    phoff = ehsize
    data_off = phoff + phentsize * len(segments)
    body, phdrs = b"", b""
    for paddr, data, memsz in segments:
        off = data_off + len(body)
        phdrs += struct.pack("<IIQQQQQQ", 1, 7, off, paddr, paddr, len(data), memsz, 8)
        body += data
    shdrs, shnum, shoff, extra = b"", 0, 0, b""
    if symbols:
        strtab = b"\0tohost\0fromhost\0"
        syms = bytes(24)
        syms += struct.pack("<IBBHQQ", 1, 0x11, 0, 1, segments[0][0] + 0x100, 8)
        syms += struct.pack("<IBBHQQ", 8, 0x11, 0, 1, segments[0][0] + 0x140, 8)
        sym_off = data_off + len(body)
        str_off = sym_off + len(syms)
        extra = syms + strtab
        shoff = str_off + len(strtab)
        shdrs = bytes(shentsize)
        shdrs += struct.pack("<IIQQQQIIQQ", 0, 2, 0, 0, sym_off, len(syms), 2, 1, 8, 24)
        shdrs += struct.pack("<IIQQQQIIQQ", 0, 3, 0, 0, str_off, len(strtab), 0, 0, 1, 0)
        shnum = 3
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 243, 1, entry, phoff, shoff, 0, ehsize,
                               phentsize, len(segments), shentsize, shnum, 0)
    return ehdr + phdrs + body + extra + shdrs


image = riscv_image()
prog = elf([(RAM_BASE, bytes(range(256)) * 2, 0x1000),
            (RAM_BASE + 0x2000, b"\x13\x00\x00\x00" * 16, 0x100)], RAM_BASE)
loader_seeds = {
    "image": bytes([KERNEL | AT_2M]) + image,
    "image-gzip": bytes([KERNEL | AT_2M]) + gzip.compress(image, mtime=0),
    "image-gzip-2members": bytes([KERNEL | AT_BASE]) + gzip.compress(image[:0x80], mtime=0)
                           + gzip.compress(image[0x80:], mtime=0),
    "elf-kernel": bytes([KERNEL]) + prog,
    "elf-firmware": bytes([FIRMWARE]) + prog,
    "raw-firmware": bytes([FIRMWARE]) + b"\x73\x00\x50\x10" * 64,
    "initrd": bytes([INITRD | 3 << 2]) + b"070701" + bytes(200),
}

run_options_seeds = {
    "kernel-only": ["--kernel", "Image"],
    "full": ["--kernel=Image", "--initrd", "initrd.cpio.gz", "--cmdline", "console=ttyS0",
             "--memory", "512M", "--cpus", "2", "--jit", "eager", "--on-reboot", "exit"],
    "devices": ["--kernel", "k", "--disk", "path=a.img,readonly=on,serial=S1",
                "--net", "user,hostfwd=tcp::2222-:22", "--rng", "--console", "virtio"],
    "firmware": ["--firmware", "fw_dynamic.bin", "--dump-dtb", "out.dtb", "--trace"],
    "help": ["--help"],
    "gdb": ["--kernel", "k", "--gdb", "tcp::1234", "--gdb-wait"],
}

parsers_seeds = {
    "net-user": b"\x00user,mac=52:54:00:12:34:56,hostfwd=udp:127.0.0.1:5555-10.0.2.15:53",
    "net-tap": b"\x00tap=tap0,mac=52:54:00:aa:bb:cc",
    "size": b"\x012G",
    "size-bytes": b"\x0118446744073709551615B",
    "disk": b"\x02path=disk.img,readonly=off,serial=ABC",
    "gdb": b"\x03tcp:127.0.0.1:1234",
    "gdb-any-host": b"\x03tcp::1",
}

def chunk(port, step, stream):
    """Chunks of at most 255 stream bytes for one switch port."""
    out = b""
    for i in range(0, len(stream), 255):
        out += bytes([port, step, len(stream[i:i + 255])]) + stream[i:i + 255]
    return out


def framed(dst, src, size=60):
    body = (dst + src + b"\x08\x00").ljust(size, b"\0")
    return struct.pack(">I", len(body)) + body


BCAST, MAC_A, MAC_B = b"\xff" * 6, b"RT\0\0\0\x0a", b"RT\0\0\0\x0b"
switch_seeds = {
    "learn": chunk(0, 1, framed(BCAST, MAC_A)) + chunk(1, 1, framed(MAC_A, MAC_B))
    + chunk(0, 1, framed(MAC_B, MAC_A, 1514)),
    "hostile": chunk(2, 0, struct.pack(">I", 0) + framed(MAC_A, MAC_B, 13))
    + chunk(2, 0, b"\xff\xff\xff\xff"),
}

targets = {
    "virtqueue": virtqueue_seeds,
    "loader": loader_seeds,
    "run_options": {k: b"\0".join(a.encode() for a in v) for k, v in run_options_seeds.items()},
    "parsers": parsers_seeds,
    "switch": switch_seeds,
}
if len(sys.argv) != 3 or sys.argv[1] not in targets:
    sys.exit("usage: make_seeds.py {%s} DIR" % "|".join(targets))
os.makedirs(sys.argv[2], exist_ok=True)
for name, data in targets[sys.argv[1]].items():
    with open(os.path.join(sys.argv[2], name), "wb") as f:
        f.write(data)
