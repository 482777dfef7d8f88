"""Boot tests: Linux + busybox initramfs under build/rackvm, driven through the console,
and the command line's answers to bad input. The guest follows the init protocol of
scripts/guest/init (GUEST-READY, autorun=PATH, GUEST-EXIT <status>)."""

import os
import re
import tempfile
import unittest

from lib import RACKVM, GuestTestCase, find_guest, require_rackvm, run_quick

OPENSBI_DIR = "/usr/lib/riscv64-linux-gnu/opensbi/generic"


class BootTest(GuestTestCase):

    def autorun(self, program, *flags):
        """Boots with autorun=program; returns (console output, rackvm's exit status)."""
        with self.boot("console=ttyS0 autorun=" + program, *flags) as g:
            g.wait_for(r"GUEST-READY uptime=[0-9.]+")
            m = g.wait_for(r"GUEST-EXIT (\d+)")
            status = g.wait_exit()
            return g.output, int(m.group(1)), status

    def test_builtin_sbi_shell_runs_typed_commands_and_powers_off(self):
        with self.boot("console=ttyS0", "--firmware", "builtin") as g:
            g.wait_for(r"GUEST-READY uptime=[0-9.]+")
            g.wait_for(r"# ")
            g.send("echo $((6*7))\n")
            g.wait_for(r"^42\r?$")
            g.send("poweroff -f\n")
            self.assertEqual(g.wait_exit(), 0, g.tail())

    def opensbi(self, name):
        path = os.path.join(OPENSBI_DIR, name)
        if not os.path.isfile(path):
            self.skipTest("%s missing: install the opensbi package (scripts/deps.sh --all)" % path)
        out, guest_status, status = self.autorun("/bin/true", "--firmware", path)
        self.assertIn("OpenSBI", out)
        self.assertEqual(guest_status, 0)
        self.assertEqual(status, 0, out[-2000:])

    def test_opensbi_fw_dynamic(self):
        self.opensbi("fw_dynamic.bin")

    def test_opensbi_fw_jump(self):
        self.opensbi("fw_jump.bin")

    def test_cpuinfo_reports_the_isa_extensions(self):
        # Linux 6.1 shows the multi-letter extensions it knows from riscv,isa
        # (rv64imafdc_sstc_svinval_svpbmt_zicbom); later kernels know more of them.
        with self.boot("console=ttyS0") as g:
            g.wait_for(r"GUEST-READY")
            g.wait_for(r"# ")
            g.send("grep -m1 '^isa' /proc/cpuinfo; poweroff -f\n")
            m = g.wait_for(r"(?m)^isa\s*:\s*(rv64\S+)\r?\n")  # the whole line
            self.assertEqual(g.wait_exit(), 0, g.tail())
        isa = m.group(1).decode().split("_")
        self.assertTrue(isa[0].startswith("rv64imafdc"), isa)
        # 6.12 also lists what C and D imply (zca, zcd).
        known = {"zca", "zcd", "zicbom", "zicboz", "zihintpause", "sstc", "svinval", "svnapot", "svpbmt",
                 "zicntr", "zicsr", "zifencei", "zihpm", "zicond", "zawrs", "zfa", "zcb", "zba",
                 "zbb", "zbc", "zbkb", "zbkc", "zbkx", "zbs", "zknd", "zkne", "zknh", "zkr",
                 "zksed", "zksh", "zfh", "zfhmin"}
        self.assertLessEqual(set(isa[1:]), known, isa)
        for ext in ("zicbom", "sstc", "svinval", "svpbmt"):
            self.assertIn(ext, isa)

    def test_cpuinfo_reports_h_with_cpu_h_on(self):
        # --cpu h=on puts "h" in the device tree's ISA, which Linux reports.
        with self.boot("console=ttyS0", "--cpu", "h=on") as g:
            g.wait_for(r"GUEST-READY")
            g.wait_for(r"# ")
            g.send("grep -m1 '^isa' /proc/cpuinfo; poweroff -f\n")
            m = g.wait_for(r"(?m)^isa\s*:\s*(rv64\S+)\r?\n")
            self.assertEqual(g.wait_exit(), 0, g.tail())
        self.assertTrue(m.group(1).decode().startswith("rv64imafdch_"), m.group(1))

    def test_four_harts_are_online(self):
        out, guest_status, status = self.autorun("/usr/bin/nproc", "--cpus", "4")
        self.assertTrue(re.search(r"(?m)^4\r?$", out), out[-2000:])
        self.assertEqual(guest_status, 0)
        self.assertEqual(status, 0)

    def test_autorun_failure_is_reported_and_machine_still_powers_off(self):
        out, guest_status, status = self.autorun("/bin/false")
        self.assertEqual(guest_status, 1)
        self.assertEqual(status, 0, out[-2000:])

    def test_reboot_restarts_the_guest_when_asked(self):
        with self.boot("console=ttyS0", "--on-reboot", "restart") as g:
            g.wait_for(r"GUEST-READY")
            g.wait_for(r"# ")
            g.send("reboot -f\n")
            g.wait_for(r"GUEST-READY")
            g.wait_for(r"# ")
            g.send("poweroff -f\n")
            self.assertEqual(g.wait_exit(), 0, g.tail())


class CommandLineTest(unittest.TestCase):
    """Bad input must end with a one-line `rackvm: ...` message naming the problem and a
    non-zero status, quickly and without a crash."""

    def setUp(self):
        require_rackvm(self)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.text_file = os.path.join(self.tmp.name, "notes.txt")
        with open(self.text_file, "w") as f:
            f.write("this is not a kernel\n" * 100)
        guest = find_guest()
        # Option errors must be found before any file is read, so any kernel will do.
        self.kernel = guest.kernel if guest else self.text_file

    def rejects(self, args, expect):
        status, out, err = run_quick([RACKVM, "run", *args])
        self.assertGreater(status, 0, "expected a failure status, got %d\n%s" % (status, err))
        self.assertLess(status, 126, "looks like a crash: status %d\n%s" % (status, err))
        self.assertIn("rackvm:", err)
        self.assertRegex(err, expect)
        self.assertNotIn("GUEST-READY", out)

    def test_missing_kernel_file(self):
        missing = os.path.join(self.tmp.name, "no-such-Image")
        self.rejects(["--kernel", missing], r"no-such-Image")

    def test_text_file_as_kernel(self):
        self.rejects(["--kernel", self.text_file], r"notes\.txt")

    def test_memory_size_with_unknown_suffix(self):
        self.rejects(["--kernel", self.kernel, "--memory", "12Q"], r"12Q")

    def test_zero_cpus(self):
        self.rejects(["--kernel", self.kernel, "--cpus", "0"], r"cpus")

    def test_unknown_flag(self):
        self.rejects(["--kernel", self.kernel, "--frobnicate"], r"--frobnicate")

    def test_kernel_larger_than_memory(self):
        guest = find_guest()
        if guest is None:
            self.skipTest("needs a guest Image (scripts/build-guest.sh)")
        self.assertGreater(os.path.getsize(guest.kernel), 16 << 20)
        self.rejects(["--kernel", guest.kernel, "--initrd", guest.initrd, "--memory", "16M"],
                     r"(?i)memory|fit|large|big|small")

    def test_firmware_reaching_the_boot_area(self):
        # The DTB goes in the top 2 MiB of RAM: a 15 MiB firmware in 16 MiB would be
        # overwritten by it and run as garbage.
        firmware = os.path.join(self.tmp.name, "big-fw.bin")
        with open(firmware, "wb") as f:
            f.truncate(15 << 20)
        self.rejects(["--firmware", firmware, "--memory", "16M"],
                     r"big-fw\.bin: does not fit in 16 MiB")

    def test_help_and_version(self):
        status, out, err = run_quick([RACKVM, "--help"])
        self.assertEqual(status, 0, err)
        for option in ("--kernel", "--initrd", "--cmdline", "--cpus", "--memory",
                       "--firmware", "--on-reboot"):
            self.assertIn(option, out)
        status, out, err = run_quick([RACKVM, "--version"])
        self.assertEqual(status, 0, err)
        self.assertIn("rackvm", out)


if __name__ == "__main__":
    unittest.main()
