#!/usr/bin/env python3
"""Random RV64GC(+Zba/Zbb/Zbs/Zbc/Zbkb/Zbkx/Zkn/Zks/Zfh) program generator for differential testing against QEMU.

A program is: register initialisation, a body of random "items" (one instruction, or a
small self-contained group such as a forward branch with the instructions it skips, or
an LR/SC pair), then a dump of every x/f register, fcsr and the scratch area over the
UART. Items are self-contained so the runner can shrink a failing program by dropping
items without breaking labels. Everything derives from the seed: same seed, same file.

Usage: gen.py --seed N [--length L] [-o out.S]
"""

import argparse
import random
import re
import struct
import sys

SCRATCH_SIZE = 1024
# Base registers point into the scratch area and are never written by the body; the
# offsets let c.ldsp/c.sdsp (sp, 0..504) and c.ld/c.sd (s0/s1, 0..248) stay inside.
BASES = {2: 256, 8: 512, 9: 768}
# After every item the registers it wrote (and fflags, after FP work) are appended to a
# log through LOG_PTR, using LOG_TMP, so the first differing log line names the item.
LOG_PTR, LOG_TMP = 3, 4
WRITABLE = [1, 5, 6, 7] + list(range(10, 32))
COMPRESSIBLE_WRITABLE = list(range(10, 16))  # x8..x15 minus the bases s0/s1
ROUNDING = ["rne", "rtz", "rdn", "rup", "rmm"]
ABI = ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1"] + \
      ["a%d" % i for i in range(8)] + ["s%d" % i for i in range(2, 12)] + \
      ["t%d" % i for i in range(3, 7)]

# Known-open rackvm divergences the runner can opt out of with --avoid NAME; each is a
# predicate over an item's text. Empty by default: everything is tested.
KNOWN_OPEN = {}

M64 = (1 << 64) - 1


def sext(v, bits):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def f64_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


INT_EDGES = [0, 1, 2, 3, 7, M64, M64 - 1, 1 << 63, (1 << 63) - 1, (1 << 63) + 1,
             0x80000000, 0x7fffffff, 0xffffffff, 0xffffffff80000000, 0x100000000,
             0xff, 0x80, 0xffff, 0x8000, 0xffffffffffff8000, 0xffffffffffffff80,
             0x5555555555555555, 0xaaaaaaaaaaaaaaaa, 0x0101010101010101, 0x8080808080808080]

F64_EDGES = [0, 1 << 63, f64_bits(1.0), f64_bits(-1.0), 0x7ff0000000000000,
             0xfff0000000000000, 0x7ff8000000000000, 0xfff8000000000000,
             0x7ff0000000000001, 0x7ff4000000000000, 0xfff0000000000abc,
             0x7ff8000000001234, 1, 0x000fffffffffffff, 0x800fffffffffffff,
             0x0010000000000000, 0x7fefffffffffffff, 0xffefffffffffffff,
             f64_bits(0.5), f64_bits(1.5), f64_bits(2.5), f64_bits(-2.5), f64_bits(-0.5),
             f64_bits(2.0 ** 63), f64_bits(-(2.0 ** 63)), f64_bits(2.0 ** 64),
             f64_bits(2.0 ** 31), f64_bits(-(2.0 ** 31)), f64_bits(4294967295.5),
             f64_bits(4294967296.0), f64_bits(-4294967296.0), f64_bits(1e300),
             f64_bits(1e-300), f64_bits(3.0), f64_bits(1.0 / 3.0), f64_bits(-7.75),
             f64_bits(9007199254740993.0), f64_bits(2.0 ** 63 - 1024),
             f64_bits(-(2.0 ** 63) - 2048)]

F32_EDGES = [0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000,
             0xffc00000, 0x7f800001, 0x7fa00000, 0xff812345, 1, 0x007fffff, 0x807fffff,
             0x00800000, 0x7f7fffff, 0xff7fffff, 0x3f000000, 0x3fc00000, 0x40200000,
             0xc0200000, 0xbf000000, 0x4f000000, 0xcf000000, 0x5f000000, 0xdf000000,
             0x5f800000, 0x4f800000, f32_bits(1.0 / 3.0), f32_bits(3.0), 0x4b000001,
             f32_bits(2147483520.0), f32_bits(-2147483904.0), 0x33800000, 0x0c000000]


# Half precision (Zfh): zeros, ones, infinities, NaNs (quiet, signalling), subnormals,
# the extreme normals, halves for rounding ties, and values near the int conversions' ends.
F16_EDGES = [0, 0x8000, 0x3c00, 0xbc00, 0x7c00, 0xfc00, 0x7e00, 0xfe00, 0x7c01, 0x7d00, 1,
             0x03ff, 0x8001, 0x0400, 0x7bff, 0xfbff, 0x3800, 0x3e00, 0x4100, 0xc100, 0x3555,
             0x5bff, 0x7800, 0x1400, 0x0200]


class Item:
    """One unit of the body: assembly lines; kept or dropped as a whole when shrinking."""

    def __init__(self, lines, template=None):
        self.lines = lines if isinstance(lines, list) else [lines]
        # An instruction assembled into .rodata that the item copies into patch_fn
        self.template = template

    def text(self):
        t = "; ".join(line.strip() for line in self.lines)
        return t + ("  [patch_fn now holds: %s]" % self.template[1] if self.template else "")


def xname(r):
    return "x%d" % r


class Generator:
    def __init__(self, seed, length):
        self.rng = random.Random(seed)
        self.seed = seed
        self.length = length
        self.labels = 0
        self.frm = self.rng.randrange(5)
        self.avoid = []

    # ---- value pickers -------------------------------------------------------------
    def int_value(self):
        r = self.rng
        k = r.random()
        if k < 0.35:
            return r.choice(INT_EDGES)
        if k < 0.5:
            return r.randint(-16, 16) & M64
        if k < 0.6:
            b = r.randrange(64)
            return ((1 << b) + r.choice([-1, 0, 1])) & M64
        if k < 0.75:
            return sext(r.getrandbits(32), 32) & M64
        if k < 0.8:
            return r.getrandbits(32)
        return r.getrandbits(64)

    def f32_value(self):
        r = self.rng
        k = r.random()
        if k < 0.5:
            return r.choice(F32_EDGES)
        if k < 0.7:
            return f32_bits(r.choice([-1, 1]) * r.randint(0, 1 << 26) / (1 << r.randrange(30)))
        return r.getrandbits(32)

    def fp_value(self):
        """A 64-bit pattern: a double, a NaN-boxed single, or an improperly boxed single."""
        r = self.rng
        k = r.random()
        if k < 0.3:
            return r.choice(F64_EDGES)
        if k < 0.4:
            return f64_bits(r.choice([-1, 1]) * r.randint(0, 1 << 55) / (1 << r.randrange(60)))
        if k < 0.5:
            return r.getrandbits(64)
        if k < 0.95:
            return 0xffffffff00000000 | self.f32_value()
        return (r.getrandbits(32) << 32) | self.f32_value()

    def imm12(self):
        r = self.rng
        k = r.random()
        if k < 0.5:
            return r.randint(-32, 31)
        if k < 0.65:
            return r.choice([-2048, 2047, -1, 0, 1, 0x7ff, -0x800, 0x400, -0x400])
        return r.randint(-2048, 2047)

    # ---- register pickers ----------------------------------------------------------
    def rd(self):
        if self.rng.random() < 0.03:
            return 0
        return self.rng.choice(WRITABLE)

    def rs(self):
        if self.rng.random() < 0.05:
            return self.rng.choice([0, 2, 8, 9])
        return self.rng.choice(WRITABLE)

    def fr(self):
        return self.rng.randrange(32)

    def rm_suffix(self):
        """A static rounding mode, or dyn (frm is always kept valid)."""
        if self.rng.random() < 0.25:
            return ", dyn"
        return ", " + self.rng.choice(ROUNDING)

    def label(self):
        self.labels += 1
        return ".Lt%d" % self.labels

    # ---- instruction classes -------------------------------------------------------
    def alu_r(self):
        r = self.rng
        op = r.choice(["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and",
                       "addw", "subw", "sllw", "srlw", "sraw"])
        if op in ("add", "sub", "xor", "or", "and", "addw", "subw") and r.random() < 0.4:
            d = r.choice(COMPRESSIBLE_WRITABLE)  # rd == rs1 in x8..x15: c.sub/c.and/...
            return "%s x%d, x%d, x%d" % (op, d, d, r.choice(range(8, 16)))
        if op == "add" and r.random() < 0.2:
            return "mv x%d, x%d" % (self.rd(), self.rs())  # c.mv
        return "%s x%d, x%d, x%d" % (op, self.rd(), self.rs(), self.rs())

    def alu_i(self):
        r = self.rng
        op = r.choice(["addi", "slti", "sltiu", "xori", "ori", "andi", "addiw",
                       "slli", "srli", "srai", "slliw", "srliw", "sraiw", "li", "li", "lui",
                       "auipc"])
        d = self.rd()
        s = self.rs()
        if op in ("addi", "andi", "addiw", "slli", "srli", "srai") and r.random() < 0.4:
            s = d = r.choice(COMPRESSIBLE_WRITABLE)
        if op in ("slli", "srli", "srai"):
            return "%s x%d, x%d, %d" % (op, d, s, r.randrange(64))
        if op.endswith("iw") and op != "addiw":
            return "%s x%d, x%d, %d" % (op, d, s, r.randrange(32))
        if op == "li":
            return "li x%d, %d" % (d, sext(self.int_value(), 64))
        if op in ("lui", "auipc"):
            imm = r.choice([r.getrandbits(20), r.randint(1, 31), 0xfffff, 0x80000, 0x7ffff])
            return "%s x%d, 0x%x" % (op, d, imm)
        imm = self.imm12()
        if op == "addi" and imm == 0 and r.random() < 0.5:
            return "mv x%d, x%d" % (d, s)
        return "%s x%d, x%d, %d" % (op, d, s, imm)

    def muldiv(self):
        op = self.rng.choice(["mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu",
                              "mulw", "divw", "divuw", "remw", "remuw"])
        return "%s x%d, x%d, x%d" % (op, self.rd(), self.rs(), self.rs())

    def bitmanip(self):
        r = self.rng
        k = r.random()
        if k < 0.45:
            op = r.choice(["andn", "orn", "xnor", "max", "maxu", "min", "minu", "rol", "ror",
                           "rolw", "rorw", "sh1add", "sh2add", "sh3add", "add.uw",
                           "sh1add.uw", "sh2add.uw", "sh3add.uw", "bclr", "bext", "binv",
                           "bset", "clmul", "clmulh", "clmulr", "pack", "packh", "packw",
                           "xperm4", "xperm8"])
            return "%s x%d, x%d, x%d" % (op, self.rd(), self.rs(), self.rs())
        if k < 0.75:
            op = r.choice(["clz", "clzw", "ctz", "ctzw", "cpop", "cpopw", "sext.b", "sext.h",
                           "zext.h", "orc.b", "rev8", "zext.w", "brev8"])
            if op == "ctzw":
                return self.ctzw()
            return "%s x%d, x%d" % (op, self.rd(), self.rs())
        op = r.choice(["rori", "roriw", "slli.uw", "bclri", "bexti", "binvi", "bseti"])
        sh = r.randrange(32 if op == "roriw" else 64)
        return "%s x%d, x%d, %d" % (op, self.rd(), self.rs(), sh)

    def crypto(self):
        """Scalar cryptography: SHA-2/SM3 sigmas, AES and SM4 rounds and key schedule."""
        r = self.rng
        k = r.random()
        if k < 0.35:
            op = r.choice(["sha256sig0", "sha256sig1", "sha256sum0", "sha256sum1", "sha512sig0",
                           "sha512sig1", "sha512sum0", "sha512sum1", "sm3p0", "sm3p1", "aes64im"])
            return "%s x%d, x%d" % (op, self.rd(), self.rs())
        if k < 0.75:
            op = r.choice(["aes64es", "aes64esm", "aes64ds", "aes64dsm", "aes64ks2"])
            return "%s x%d, x%d, x%d" % (op, self.rd(), self.rs(), self.rs())
        if k < 0.85:
            return "aes64ks1i x%d, x%d, %d" % (self.rd(), self.rs(), r.randrange(11))
        op = r.choice(["sm4ed", "sm4ks"])
        return "%s x%d, x%d, x%d, %d" % (op, self.rd(), self.rs(), self.rs(), r.randrange(4))

    def compressed(self):
        """An explicit RVC instruction, so every compressed form is decoded, not just the
        ones the assembler happens to pick."""
        r = self.rng
        c = r.choice(COMPRESSIBLE_WRITABLE)
        d = r.choice(WRITABLE)
        small = r.choice([v for v in range(-32, 32) if v != 0])
        k = r.randrange(19)
        if k == 0:
            return "c.addi x%d, %d" % (d, small)
        if k == 1:
            return "c.addiw x%d, %d" % (d, r.randint(-32, 31))
        if k == 2:
            return "c.li x%d, %d" % (d, r.randint(-32, 31))
        if k == 3:
            return "c.lui x%d, 0x%x" % (d, small & 0xfffff)
        if k == 4:
            return "c.slli x%d, %d" % (d, r.randint(1, 63))
        if k == 5:
            return "%s x%d, %d" % (r.choice(["c.srli", "c.srai"]), c, r.randint(1, 63))
        if k == 6:
            return "c.andi x%d, %d" % (c, r.randint(-32, 31))
        if k == 7:
            return "c.mv x%d, x%d" % (d, r.choice(WRITABLE + [2, 8, 9]))
        if k == 8:
            return "c.add x%d, x%d" % (d, r.choice(WRITABLE + [2, 8, 9]))
        if k == 9:
            op = r.choice(["c.sub", "c.xor", "c.or", "c.and", "c.subw", "c.addw"])
            return "%s x%d, x%d" % (op, c, r.randrange(8, 16))
        if k == 10:
            return "c.addi4spn x%d, sp, %d" % (c, 4 * r.randint(1, 255))
        if k == 11:
            return "c.nop"
        # loads and stores: s0/s1 with 5-bit scaled offsets, sp with 6-bit scaled offsets
        size = r.choice([4, 8])
        w = "w" if size == 4 else "d"
        base = r.choice([8, 9])
        off = size * r.randrange(32)
        spoff = size * r.randrange(64)
        if k == 12:
            return "c.l%s x%d, %d(x%d)" % (w, c, off, base)
        if k == 13:
            return "c.s%s x%d, %d(x%d)" % (w, r.randrange(8, 16), off, base)
        if k == 14:
            return "c.l%ssp x%d, %d(sp)" % (w, d, spoff)
        if k == 15:
            return "c.s%ssp x%d, %d(sp)" % (w, r.choice(WRITABLE + [0, 2, 8, 9]), spoff)
        off, spoff = 8 * r.randrange(32), 8 * r.randrange(64)
        if k == 16:
            return "%s f%d, %d(x%d)" % (r.choice(["c.fld", "c.fsd"]), r.randrange(8, 16),
                                        off, base)
        return "%s f%d, %d(sp)" % (r.choice(["c.fldsp", "c.fsdsp"]), self.fr(), spoff)

    def ctzw(self):
        """QEMU 7.2 bug: ctzw of a value whose low word is 0 but upper word is not returns
        the 64-bit count (ctzw 0xc000000000000000 gives 62, not 32). The operand is first
        made either zero-extended (covers the all-zero word, result 32) or given a set bit
        in the low word (covers ignoring the upper word), which avoids only that case."""
        r = self.rng
        t = r.choice(WRITABLE)
        fix = "zext.w x%d, x%d" % (t, self.rs()) if r.random() < 0.3 else \
            "bseti x%d, x%d, %d" % (t, self.rs(), r.randrange(32))
        return [fix, "ctzw x%d, x%d" % (self.rd(), t)]

    def address(self, size, aligned):
        """(base register, offset) with base+offset..+size inside the scratch area."""
        r = self.rng
        base = r.choice(list(BASES))
        if aligned and r.random() < 0.5:
            # Small non-negative offsets from the base: the compressible forms.
            limit = (504 if base == 2 else 248) if size == 8 else (252 if base == 2 else 124)
            if size in (4, 8):
                return base, r.randrange(0, limit + 1, size)
        addr = r.randrange(0, SCRATCH_SIZE - size + 1)
        if aligned:
            addr -= addr % size
        return base, addr - BASES[base]

    def load_store(self):
        r = self.rng
        size, op = r.choice([(1, "lb"), (1, "lbu"), (2, "lh"), (2, "lhu"), (4, "lw"),
                             (4, "lwu"), (8, "ld"), (1, "sb"), (2, "sh"), (4, "sw"),
                             (8, "sd"), (4, "flw"), (8, "fld"), (4, "fsw"), (8, "fsd")])
        base, off = self.address(size, aligned=r.random() < 0.8)
        if op.startswith("f"):
            reg = "f%d" % self.fr()
        elif op.startswith("s"):
            reg = xname(self.rs())
        elif base != 2 and r.random() < 0.5:
            reg = xname(r.choice(COMPRESSIBLE_WRITABLE))
        else:
            reg = xname(self.rd())
        return "%s %s, %d(x%d)" % (op, reg, off, base)

    def amo(self):
        r = self.rng
        width = r.choice(["w", "d"])
        size = 4 if width == "w" else 8
        op = r.choice(["amoswap", "amoadd", "amoxor", "amoand", "amoor", "amomin", "amomax",
                       "amominu", "amomaxu"])
        order = r.choice(["", ".aq", ".rl", ".aqrl"])
        base, off = self.address(size, aligned=True)
        addr = r.choice(WRITABLE)
        return Item(["addi x%d, x%d, %d" % (addr, base, off),
                     "%s.%s%s x%d, x%d, (x%d)" % (op, width, order, self.rd(), self.rs(), addr)])

    def lrsc(self):
        """LR then SC, optionally with ALU work between, to another address, or twice."""
        r = self.rng
        width = r.choice(["w", "d"])
        size = 4 if width == "w" else 8
        base, off = self.address(size, aligned=True)
        addr = r.choice(WRITABLE)
        others = [x for x in WRITABLE if x != addr]
        lines = ["addi x%d, x%d, %d" % (addr, base, off),
                 "lr.%s%s x%d, (x%d)" % (width, r.choice(["", ".aq", ".aqrl"]),
                                         r.choice(others), addr)]
        for _ in range(r.randrange(3)):
            lines.append("add x%d, x%d, x%d" % (r.choice(others), self.rs(), self.rs()))
        kind = r.random()
        sc_addr = addr
        if kind < 0.15:
            # Outside the LR's reservation set: the SC must fail and must not store. The
            # ISA leaves the set's size to the hart: rackvm's is the LR's aligned 8 bytes,
            # QEMU's the LR's address alone, so an SC.W to the other word of those 8 bytes
            # may succeed on one and fail on the other (scratch is 8-byte aligned).
            here = BASES[base] + off
            there = r.choice([a for a in range(0, SCRATCH_SIZE, size) if a // 8 != here // 8])
            sc_addr = r.choice(others)
            lines.append("addi x%d, x%d, %d" % (sc_addr, base, there - BASES[base]))
        sc = "sc.%s%s x%d, x%d, (x%d)" % (width, r.choice(["", ".rl", ".aqrl"]),
                                          r.choice(others) if sc_addr == addr else self.rd(),
                                          self.rs(), sc_addr)
        lines.append(sc)
        if kind > 0.85:
            # A second SC has no reservation left and must fail.
            lines.append("sc.%s x%d, x%d, (x%d)" % (width, r.choice(others), self.rs(), addr))
        return Item(lines)

    def simple(self):
        """One instruction that neither branches nor needs a group."""
        r = self.rng
        k = r.random()
        if k < 0.25:
            return self.alu_r()
        if k < 0.45:
            return self.alu_i()
        if k < 0.55:
            return self.muldiv()
        if k < 0.61:
            return self.bitmanip()
        if k < 0.65:
            return self.crypto()
        if k < 0.75:
            return self.load_store()
        if k < 0.85:
            return self.compressed()
        return self.fp_simple()

    def simples(self, n):
        lines = []
        for _ in range(n):
            s = self.simple()
            lines += s if isinstance(s, list) else [s]
        return lines

    def branch(self):
        r = self.rng
        lab = self.label()
        k = r.random()
        if k < 0.7:
            op = r.choice(["beq", "bne", "blt", "bge", "bltu", "bgeu"])
            a = self.rs()
            b = a if r.random() < 0.1 else self.rs()
            head = "%s x%d, x%d, %s" % (op, a, b, lab)
            if r.random() < 0.25:  # c.beqz / c.bnez
                head = "%s x%d, %s" % (r.choice(["beqz", "bnez"]), r.randrange(8, 16), lab)
        elif k < 0.85:
            head = "jal x%d, %s" % (r.choice([0, 1] + WRITABLE), lab)
        else:
            # jalr clears bit 0 of base + offset, so an odd sum must still land on lab.
            target = r.choice(WRITABLE)
            link = r.choice([0, 1] + WRITABLE)
            bias = r.choice([0, 0, 1, 3, -5, 2046])
            skipped = self.simples(r.randint(1, 3))
            return Item(["la x%d, %s" % (target, lab), "addi x%d, x%d, %d" % (target, target, -bias),
                         "jalr x%d, %d(x%d)" % (link, bias + r.choice([0, 1]), target)] +
                        skipped + ["%s:" % lab])
        skipped = self.simples(r.randint(1, 4))
        return Item([head] + skipped + ["%s:" % lab])

    def loop(self):
        """A counted loop that runs its body 1 to 4 times: the translator keeps W ops'
        results (and sext.w's) unextended across its head while the readers allow."""
        r = self.rng
        lab = self.label()
        counter = r.choice(WRITABLE)
        n = r.randint(1, 5)
        body = []
        while len(body) < n:
            insn = r.choice([self.simple, self.simple, self.sext_w])()
            lines = insn if isinstance(insn, list) else [insn]
            if "x%d" % counter not in item_outputs(Item(lines))[0]:
                body += lines
        return Item(["li x%d, %d" % (counter, r.randint(1, 4)), "%s:" % lab] + body +
                    ["addiw x%d, x%d, -1" % (counter, counter), "bnez x%d, %s" % (counter, lab)])

    def sext_w(self):
        return "sext.w x%d, x%d" % (self.rd(), self.rs())

    # ---- floating point ------------------------------------------------------------
    def fp_simple(self):
        r = self.rng
        k = r.random()
        p = r.choice(["s", "d", "h"])
        fd, fa, fb, fc = self.fr(), self.fr(), self.fr(), self.fr()
        if k < 0.3:
            op = r.choice(["fadd", "fsub", "fmul", "fdiv"])
            return "%s.%s f%d, f%d, f%d%s" % (op, p, fd, fa, fb, self.rm_suffix())
        if k < 0.35:
            return "fsqrt.%s f%d, f%d%s" % (p, fd, fa, self.rm_suffix())
        if k < 0.45:
            op = r.choice(["fmadd", "fmsub", "fnmsub", "fnmadd"])
            return "%s.%s f%d, f%d, f%d, f%d%s" % (op, p, fd, fa, fb, fc, self.rm_suffix())
        if k < 0.55:
            op = r.choice(["fmin", "fmax", "fsgnj", "fsgnjn", "fsgnjx"])
            return "%s.%s f%d, f%d, f%d" % (op, p, fd, fa, fb)
        if k < 0.62:
            op = r.choice(["feq", "flt", "fle"])
            return "%s.%s x%d, f%d, f%d" % (op, p, self.rd(), fa, fb)
        if k < 0.66:
            return "fclass.%s x%d, f%d" % (p, self.rd(), fa)
        if k < 0.76:
            it = r.choice(["w", "wu", "l", "lu"])
            return "fcvt.%s.%s x%d, f%d%s" % (it, p, self.rd(), fa, self.rm_suffix())
        if k < 0.86:
            it = r.choice(["w", "wu", "l", "lu"])
            rm = "" if (p == "d" and it in ("w", "wu")) else self.rm_suffix()
            return "fcvt.%s.%s f%d, x%d%s" % (p, it, fd, self.rs(), rm)
        if k < 0.9:
            # narrowing conversions round; widening ones are exact and take no rm
            to, frm = r.choice([("s", "d"), ("d", "s"), ("h", "s"), ("s", "h"), ("h", "d"),
                                ("d", "h")])
            widening = "hsd".index(to) > "hsd".index(frm)
            return "fcvt.%s.%s f%d, f%d%s" % (to, frm, fd, fa,
                                              "" if widening else self.rm_suffix())
        op = r.choice(["fmv.x.w", "fmv.x.d", "fmv.w.x", "fmv.d.x", "fmv.x.h", "fmv.h.x"])
        if op.startswith("fmv.x"):
            return "%s x%d, f%d" % (op, self.rd(), fa)
        return "%s f%d, x%d" % (op, fd, self.rs())

    def fp_value_load(self):
        t = self.rng.choice(WRITABLE)
        if self.rng.random() < 0.3:  # a NaN-boxed half
            h = self.rng.choice(F16_EDGES) if self.rng.random() < 0.6 else self.rng.getrandbits(16)
            value = 0xffffffffffff0000 | h
        else:
            value = self.fp_value()
        return Item(["li x%d, %d" % (t, sext(value, 64)),
                     "fmv.d.x f%d, x%d" % (self.fr(), t)])

    def fp_csr(self):
        r = self.rng
        k = r.random()
        if k < 0.3:
            return "%s x%d" % (r.choice(["frflags", "frcsr", "frrm"]), self.rd())
        if k < 0.45:
            return "fsflags x%d, x%d" % (self.rd(), self.rs())
        if k < 0.55:
            op = r.choice(["csrrs", "csrrc"])
            return "%s x%d, fflags, x%d" % (op, self.rd(), self.rs())
        if k < 0.65:
            return "csrrwi x%d, fflags, %d" % (self.rd(), r.randrange(32))
        if k < 0.8:
            self.frm = r.randrange(5)
            return "fsrmi x%d, %d" % (self.rd(), self.frm)
        # Whole fcsr with junk in the reserved bits 31:8 (ignored on write, read as 0).
        self.frm = r.randrange(5)
        t = r.choice(WRITABLE)
        value = (r.getrandbits(56) << 8) | (self.frm << 5) | r.randrange(32)
        return Item(["li x%d, %d" % (t, sext(value, 64)), "fscsr x%d, x%d" % (self.rd(), t)])

    # ---- program -------------------------------------------------------------------
    def focused(self):
        """One ALU, M, bitmanip, crypto or FP instruction whose source registers are loaded with
        edge values just before it, so rare pairs (0 * inf + NaN, INT64_MIN / -1) occur."""
        r = self.rng
        insn = r.choice([self.alu_r, self.muldiv, self.bitmanip, self.crypto, self.fp_simple,
                         self.fp_simple, self.fp_simple])()
        if isinstance(insn, list):
            return Item(insn)
        mnemonic, _, operands = insn.partition(" ")
        lines = []
        for op in [o.strip() for o in operands.split(",")][1:]:
            if re.fullmatch(r"x\d+", op) and int(op[1:]) in WRITABLE:
                lines.append("li %s, %d" % (op, sext(self.int_value(), 64)))
            elif re.fullmatch(r"f\d+", op):
                lines.append("li x%d, %d" % (LOG_TMP, sext(self.fp_value(), 64)))
                lines.append("fmv.d.x %s, x%d" % (op, LOG_TMP))
        return Item(lines + [insn])

    def plain32(self):
        """A single 32-bit instruction that does not write ra (for patch_fn's ret)."""
        while True:
            insn = self.rng.choice([self.alu_r, self.alu_i, self.muldiv, self.bitmanip,
                                    self.fp_simple])()
            if isinstance(insn, str) and not insn.startswith("li ") and \
                    not re.match(r"\S+ x1,", insn):
                return insn

    def self_modify(self):
        """Copy an instruction into patch_fn, fence.i, call it: a stale decoded block for
        patch_fn (it is called again with other contents) would run the old one."""
        lab = self.label()
        t = self.rng.choice([x for x in WRITABLE if x != 1])
        lines = ["la x%d, %s" % (t, lab), "lw x%d, 0(x%d)" % (LOG_TMP, t),
                 "la x%d, patch_fn" % t, "sw x%d, 0(x%d)" % (LOG_TMP, t), "fence.i",
                 "jal x1, patch_fn"]
        return Item(lines, template=(lab, self.plain32()))

    def straddle(self):
        """A 32-bit instruction whose two halves lie on different pages."""
        lab = self.label()
        return Item(["j %s" % lab, ".balign 4096, 0", ".skip 4090, 0", "%s:" % lab,
                     "c.nop", "c.nop", ".option norvc", self.plain32(), ".option rvc"])

    def item(self):
        r = self.rng
        k = r.random()
        if k < 0.005:
            return self.straddle()
        if k < 0.03:
            return self.self_modify()
        if k < 0.15:
            return self.focused()
        if k < 0.58:
            return Item(self.simple())
        if k < 0.63:
            return self.branch()
        if k < 0.66:
            return self.loop()
        if k < 0.72:
            return self.amo()
        if k < 0.75:
            return self.lrsc()
        if k < 0.83:
            return Item(self.load_store())
        if k < 0.88:
            return self.fp_value_load()
        if k < 0.92:
            c = self.fp_csr()
            return c if isinstance(c, Item) else Item(c)
        return Item(self.fp_simple())

    def generate(self):
        r = self.rng
        init = {"x": {reg: self.int_value() for reg in WRITABLE},
                "f": [self.fp_value() for _ in range(32)],
                "frm": self.frm,
                "scratch": [r.getrandbits(64) for _ in range(SCRATCH_SIZE // 8)]}
        body = []
        while len(body) < self.length:
            it = self.item()
            if not any(pred(it.text()) for pred in self.avoid):
                body.append(it)
        return init, body


# ---- assembly output ---------------------------------------------------------------
NO_RESULT = re.compile(r"^(c\.)?(f?s[bhwd](sp)?|b(eq|ne|lt|ge|ltu|geu|eqz|nez)|j|nop)$")


def item_outputs(item):
    """Registers an item writes (in order, without repeats), and whether it touches FP."""
    outs = []
    fp = False
    for line in item.lines:
        if line.endswith(":"):
            continue
        mnemonic, _, operands = line.partition(" ")
        fp = fp or (mnemonic.startswith(("f", "c.f")) and not mnemonic.startswith("fence"))
        if NO_RESULT.match(mnemonic) or not operands:
            continue
        first = operands.split(",")[0].strip()
        if re.fullmatch(r"[xf]\d+", first) and first not in ("x0", "x%d" % LOG_TMP) \
                and first not in outs:
            outs.append(first)
    if item.template:
        t_outs, t_fp = item_outputs(Item(item.template[1]))
        outs += [o for o in t_outs if o not in outs]
        fp = fp or t_fp
    return outs, fp


def log_entries(body):
    """[(item index, what)] in log order: register names, or 'fflags'."""
    entries = []
    for n, it in enumerate(body):
        outs, fp = item_outputs(it)
        entries += [(n, r) for r in outs] + ([(n, "fflags")] if fp else [])
    return entries


def save_regs(lines, area):
    """Store x1..x31 and f0..f31 to `area`; x31 goes through mscratch."""
    lines.append("csrw mscratch, x31")
    lines.append("la x31, %s" % area)
    for i in range(1, 31):
        lines.append("sd x%d, %d(x31)" % (i, 8 * i))
    lines.append("csrr x30, mscratch")
    lines.append("sd x30, %d(x31)" % (8 * 31))
    for i in range(32):
        lines.append("fsd f%d, %d(x31)" % (i, 256 + 8 * i))
    lines.append("frcsr x30")
    lines.append("sd x30, %d(x31)" % (512))


def render(init, body, seed=None):
    out = []
    emit = out.append
    emit("# difftest program%s; generated by tests/difftest/gen.py" %
         ("" if seed is None else " seed %d" % seed))
    emit("    .option rvc")
    emit("    .section .text.entry, \"ax\"")
    emit("    .globl _start")
    emit("_start:")
    emit("    bnez a0, park")
    emit("    la t0, trap_entry")
    emit("    csrw mtvec, t0")
    emit("    li t0, 0x2000          # mstatus.FS = Initial")
    emit("    csrs mstatus, t0")
    for i, v in enumerate(init["f"]):
        emit("    li t0, 0x%016x" % v)
        emit("    fmv.d.x f%d, t0" % i)
    for reg in WRITABLE:
        emit("    li x%d, 0x%016x" % (reg, init["x"][reg]))
    for reg, off in BASES.items():
        emit("    la x%d, scratch + %d" % (reg, off))
    emit("    la x%d, log_area" % LOG_PTR)
    emit("    fsrmi %d" % init["frm"])
    emit("    fsflags zero")
    emit("# ---- body ----")
    for n, it in enumerate(body):
        emit("# item %d" % n)
        for line in it.lines:
            emit(line if line.endswith(":") else "    " + line)
        outs, fp = item_outputs(it)
        for reg in outs:
            emit("    %s %s, 0(x%d)" % ("sd" if reg[0] == "x" else "fsd", reg, LOG_PTR))
            emit("    addi x%d, x%d, 8" % (LOG_PTR, LOG_PTR))
        if fp and n % 4:
            # Read and clear, so the line shows this item's flags alone; every fourth
            # FP item leaves them to accumulate instead.
            emit("    fsflags x%d, x0" % LOG_TMP)
            emit("    sd x%d, 0(x%d)" % (LOG_TMP, LOG_PTR))
            emit("    addi x%d, x%d, 8" % (LOG_PTR, LOG_PTR))
        elif fp:
            emit("    frflags x%d" % LOG_TMP)
            emit("    sd x%d, 0(x%d)" % (LOG_TMP, LOG_PTR))
            emit("    addi x%d, x%d, 8" % (LOG_PTR, LOG_PTR))
    emit("# ---- end ----")
    emit("    j finish")
    emit("    .align 2")
    emit("trap_entry:")
    trap = []
    save_regs(trap, "save_area")
    trap += ["csrr t0, mcause", "sd t0, 520(x31)", "csrr t0, mepc", "sd t0, 528(x31)",
             "csrr t0, mtval", "sd t0, 536(x31)", "li t0, 1", "sd t0, 544(x31)", "j report"]
    out += ["    " + line for line in trap]
    emit("finish:")
    fin = []
    save_regs(fin, "save_area")
    out += ["    " + line for line in fin]
    emit("report:")
    rep = ["la s2, save_area"]

    def show(name, load):
        rep.extend(["la a0, name_%s" % name, "call puts", load, "call puthex"])

    rep += ["ld t0, 544(s2)", "beqz t0, 1f"]
    for name, off in (("mcause", 520), ("mepc", 528), ("mtval", 536)):
        show(name, "ld a0, %d(s2)" % off)
    rep.append("1:")
    for i in range(1, 32):
        show("x%d" % i, "ld a0, %d(s2)" % (8 * i))
    for i in range(32):
        show("f%d" % i, "ld a0, %d(s2)" % (256 + 8 * i))
    show("fcsr", "ld a0, 512(s2)")
    rep += ["la s3, scratch", "li s4, 0", "li s5, 0"]
    rep += ["2:", "la a0, name_mem", "call puts", "mv a0, s4", "call puthex_short",
            "add t0, s3, s4", "ld a0, 0(t0)",
            # checksum: s5 = rotl(s5, 7) ^ word, in RV64I only so the harness cannot
            # hide a bug in the extensions under test
            "slli t1, s5, 7", "srli s5, s5, 57", "or s5, s5, t1", "xor s5, s5, a0",
            "call puthex", "addi s4, s4, 8", "li t0, %d" % SCRATCH_SIZE, "bltu s4, t0, 2b"]
    show("checksum", "mv a0, s5")
    entries = log_entries(body)
    rep.append("la s6, log_area")
    for e in range(len(entries)):
        show("log%d" % e, "ld a0, 0(s6)")
        rep.append("addi s6, s6, 8")
    rep += ["li t0, 0x100000", "li t1, 0x5555", "sw t1, 0(t0)", "3: j 3b"]
    out += [("    " + line) if not line.endswith(":") else line for line in rep]
    out += """
park:
    wfi
    j park

# patch_fn: its first instruction is rewritten by self-modifying items
    .balign 4
patch_fn:
    .option norvc
    nop
    ret
    .option rvc

# puts(a0 = NUL-terminated string) on the ns16550 at 0x10000000
puts:
    li t0, 0x10000000
1:  lbu t1, 0(a0)
    beqz t1, 3f
2:  lbu t2, 5(t0)
    andi t2, t2, 0x20
    beqz t2, 2b
    sb t1, 0(t0)
    addi a0, a0, 1
    j 1b
3:  ret

# puthex(a0): 16 hex digits and a newline; puthex_short: 3 digits and '='
puthex:
    li t3, 60
    li t4, 10
    j puthex_digits
puthex_short:
    li t3, 8
    li t4, '='
puthex_digits:
    li t0, 0x10000000
1:  srl t1, a0, t3
    andi t1, t1, 15
    addi t1, t1, '0'
    li t2, '9'
    ble t1, t2, 2f
    addi t1, t1, 'a' - '9' - 1
2:  lbu t2, 5(t0)
    andi t2, t2, 0x20
    beqz t2, 2b
    sb t1, 0(t0)
    addi t3, t3, -4
    bgez t3, 1b
3:  lbu t2, 5(t0)
    andi t2, t2, 0x20
    beqz t2, 3b
    sb t4, 0(t0)
    ret
""".splitlines()
    emit("    .section .rodata")
    names = [("mcause", "trap mcause"), ("mepc", "trap mepc"), ("mtval", "trap mtval")]
    names += [("x%d" % i, "x%d(%s)" % (i, ABI[i])) for i in range(1, 32)]
    names += [("f%d" % i, "f%d" % i) for i in range(32)]
    names += [("fcsr", "fcsr"), ("mem", "mem+0x"), ("checksum", "scratch checksum")]
    names += [("log%d" % e, "log item %d %s" % entry) for e, entry in enumerate(entries)]
    for key, text in names:
        emit('name_%s: .asciz "%s%s"' % (key, text, "" if key == "mem" else "="))
    emit("    .option norvc")
    for it in body:
        if it.template:
            emit("    .balign 4")
            emit("%s: %s" % it.template)
    emit("    .option rvc")
    emit("    .data")
    # The scratch area straddles a page boundary at s0, for page-crossing misaligned access.
    emit("    .balign 4096")
    emit("    .skip %d" % (4096 - BASES[8]))
    emit("scratch:")
    for v in init["scratch"]:
        emit("    .quad 0x%016x" % v)
    emit("    .align 3")
    emit("save_area: .zero 560")
    emit("log_area: .zero %d" % (8 * len(entries) + 8))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--length", type=int, default=300, help="body items (default 300)")
    ap.add_argument("-o", "--output", help="assembly file (default stdout)")
    ap.add_argument("--avoid", action="append", default=[], choices=sorted(KNOWN_OPEN),
                    help="skip items matching a known-open divergence")
    args = ap.parse_args()
    g = Generator(args.seed, args.length)
    g.avoid = [KNOWN_OPEN[a] for a in args.avoid]
    init, body = g.generate()
    text = render(init, body, args.seed)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
