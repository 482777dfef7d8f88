"""The board as bare-metal programs and tools see it: HTIF tohost exits, test-finisher
exit codes, and the device tree that --dump-dtb writes."""
import os
import shutil
import subprocess
import tempfile
import unittest

from lib import RACKVM, require_rackvm, run_quick

LINK = """
ENTRY(_start)
SECTIONS {
  . = 0x80000000;
  .text : { *(.text*) }
  .tohost : { *(.tohost) }
}
"""


def build_elf(directory, name, body, with_tohost=False):
    """Assembles a bare-metal program at 0x80000000 with riscv64-unknown-elf-gcc."""
    src = os.path.join(directory, name + ".S")
    tohost = (".section .tohost, \"aw\"\n.align 6\n.globl tohost\ntohost: .dword 0\n"
              ".globl fromhost\nfromhost: .dword 0\n") if with_tohost else ""
    with open(src, "w") as f:
        f.write(".section .text\n.globl _start\n_start:\n" + body + "\n1: j 1b\n" + tohost)
    ld = os.path.join(directory, "link.ld")
    with open(ld, "w") as f:
        f.write(LINK)
    elf = os.path.join(directory, name + ".elf")
    subprocess.run(["riscv64-unknown-elf-gcc", "-march=rv64gc", "-mabi=lp64d", "-nostdlib",
                    "-static", "-Wl,--no-warn-rwx-segments", "-T", ld, "-o", elf, src], check=True)
    return elf


@unittest.skipUnless(shutil.which("riscv64-unknown-elf-gcc"), "needs riscv64-unknown-elf-gcc")
class BareMetalExitTest(unittest.TestCase):
    def setUp(self):
        require_rackvm(self)
        self.dir = tempfile.mkdtemp(prefix="rackvm-board-")
        self.addCleanup(shutil.rmtree, self.dir)

    def run_elf(self, elf):
        return run_quick([RACKVM, "run", "--firmware", "none", "--kernel", elf], timeout=30)

    def test_tohost_pass(self):
        elf = build_elf(self.dir, "pass", "la t0, tohost\nli t1, 1\nsd t1, 0(t0)", with_tohost=True)
        status, out, err = self.run_elf(elf)
        self.assertEqual(status, 0, err)

    def test_tohost_failure_code(self):
        elf = build_elf(self.dir, "fail", "la t0, tohost\nli t1, (5 << 1) | 1\nsd t1, 0(t0)", with_tohost=True)
        status, out, err = self.run_elf(elf)
        self.assertEqual(status, 5, err)
        self.assertIn("code 5", err)

    def test_tohost_written_by_an_amo_or_sc(self):
        # An AMO or SC that stores to tohost acts as sd does, interpreted or translated.
        bodies = {
            "amoswap": "la t0, tohost\nli t1, (3 << 1) | 1\namoswap.d zero, t1, (t0)",
            "amoor": "la t0, tohost\nli t1, (3 << 1) | 1\namoor.d zero, t1, (t0)",
            "sc": "la t0, tohost\nli t1, (3 << 1) | 1\n2: lr.d t2, (t0)\nsc.d t3, t1, (t0)\nbnez t3, 2b",
        }
        for name, body in bodies.items():
            elf = build_elf(self.dir, name, body, with_tohost=True)
            for jit in ("off", "eager"):
                with self.subTest(name=name, jit=jit):
                    status, out, err = run_quick([RACKVM, "run", "--firmware", "none", "--jit", jit,
                                                  "--kernel", elf], timeout=30)
                    self.assertEqual(status, 3, err)
                    self.assertIn("code 3", err)

    def test_finisher_failure_code(self):
        elf = build_elf(self.dir, "finisher", "li t0, 0x100000\nli t1, (7 << 16) | 0x3333\nsw t1, 0(t0)")
        status, out, err = self.run_elf(elf)
        self.assertEqual(status, 7, err)

    def test_finisher_pass_with_a_halfword(self):
        elf = build_elf(self.dir, "half", "li t0, 0x100000\nli t1, 0x5555\nsh t1, 0(t0)")
        status, out, err = self.run_elf(elf)
        self.assertEqual(status, 0, err)


@unittest.skipUnless(shutil.which("dtc"), "needs dtc (device-tree-compiler)")
class DeviceTreeTest(unittest.TestCase):
    def setUp(self):
        require_rackvm(self)
        self.dir = tempfile.mkdtemp(prefix="rackvm-dtb-")
        self.addCleanup(shutil.rmtree, self.dir)

    def test_dump_dtb_is_accepted_by_dtc_and_describes_the_board(self):
        kernel = build_elf(self.dir, "k", "nop") if shutil.which("riscv64-unknown-elf-gcc") else None
        if kernel is None:
            self.skipTest("needs riscv64-unknown-elf-gcc for a kernel file")
        dtb = os.path.join(self.dir, "board.dtb")
        status, out, err = run_quick([RACKVM, "run", "--kernel", kernel, "--cpus", "3", "--memory", "1G",
                                      "--cmdline", "console=ttyS0 quiet", "--rng",
                                      "--dump-dtb", dtb])
        self.assertEqual(status, 0, err)
        dts = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", dtb], capture_output=True, text=True)
        self.assertEqual(dts.returncode, 0, dts.stderr)
        self.assertNotIn("Warning", dts.stderr)
        text = dts.stdout
        for node in ("cpu@0", "cpu@1", "cpu@2", "memory@80000000", "serial@10000000", "plic@c000000",
                     "clint@2000000", "test@100000", "rtc@101000", "virtio_mmio@10001000"):
            self.assertIn(node, text)
        self.assertNotIn("cpu@3", text)
        self.assertIn('bootargs = "console=ttyS0 quiet"', text)
        self.assertIn("reg = <0x00 0x80000000 0x00 0x40000000>", text)
        self.assertIn("timebase-frequency = <0x989680>", text)


if __name__ == "__main__":
    unittest.main()
