"""virtio devices under Linux: data through an ext4 virtio disk in both directions, a
read-only disk, /dev/hwrng from --rng, hvc0 as the console with --console virtio, and
the command line's answers to bad --disk input. Disk images are built on the host with
mkfs.ext4 -d (no journal, so the host sees the guest's writes in place after sync)."""

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from lib import RACKVM, GuestTestCase, require_rackvm, run_quick


def make_ext4(image, tree, size_mb=32):
    """An ext4 image holding the files of directory `tree`."""
    with open(image, "wb") as f:
        f.truncate(size_mb << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-d", tree, image],
                   check=True, capture_output=True)


def read_from_image(image, path):
    """Bytes of `path` inside an ext4 image, read on the host with debugfs."""
    p = subprocess.run(["debugfs", "-R", "cat " + path, image], check=True,
                       capture_output=True)
    return p.stdout


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class VirtioDiskTest(GuestTestCase):

    def setUp(self):
        super().setUp()
        for tool in ("mkfs.ext4", "debugfs"):
            if shutil.which(tool) is None and not os.path.exists("/sbin/" + tool):
                self.skipTest("%s missing: install e2fsprogs" % tool)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.tree = os.path.join(self.tmp.name, "tree")
        os.mkdir(self.tree)
        self.image = os.path.join(self.tmp.name, "disk.img")

    def script(self, name, text):
        path = os.path.join(self.tree, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + text)
        os.chmod(path, 0o755)

    def run_guest(self, script, *flags):
        """Boots with autorun=/mnt/<script>; returns (console output, guest status)."""
        with self.boot("console=ttyS0 autorun=/mnt/" + script, *flags) as g:
            g.wait_for(r"GUEST-READY")
            m = g.wait_for(r"GUEST-EXIT (\d+)")
            self.assertEqual(g.wait_exit(), 0, g.tail())
            return g.output, int(m.group(1))

    def test_guest_writes_what_the_host_reads(self):
        self.script("w.sh", "head -c 262144 /dev/urandom > /mnt/out.bin\n"
                            "sync\n"
                            "echo SUM=$(sha256sum /mnt/out.bin | cut -d' ' -f1)\n")
        make_ext4(self.image, self.tree)
        out, status = self.run_guest("w.sh", "--disk", "path=" + self.image)
        self.assertEqual(status, 0, out[-2000:])
        guest_sum = re.search(r"SUM=([0-9a-f]{64})", out).group(1)
        data = read_from_image(self.image, "/out.bin")
        self.assertEqual(len(data), 64 * 4096)
        self.assertEqual(sha256(data), guest_sum)

    def test_guest_reads_host_data_intact(self):
        payload = os.urandom(3 * 1024 * 1024 + 123)
        with open(os.path.join(self.tree, "in.bin"), "wb") as f:
            f.write(payload)
        self.script("r.sh", "echo SUM=$(sha256sum /mnt/in.bin | cut -d' ' -f1)\n"
                            "cat /sys/block/vda/serial; echo\n")
        make_ext4(self.image, self.tree)
        out, status = self.run_guest("r.sh", "--disk", "path=%s,serial=RKV-0042" % self.image)
        self.assertEqual(status, 0, out[-2000:])
        self.assertIn("SUM=" + sha256(payload), out)
        self.assertIn("RKV-0042", out)

    def test_read_only_disk_refuses_writes(self):
        self.script("ro.sh", "if touch /mnt/new 2>/dev/null; then echo FS-WROTE; else echo FS-REFUSED; fi\n"
                             "cat /sys/block/vda/ro\n"
                             "if printf xxxx > /dev/vda 2>/dev/null;"
                             " then echo DEV-WROTE; else echo DEV-REFUSED; fi\n")
        make_ext4(self.image, self.tree)
        with open(self.image, "rb") as f:
            before = sha256(f.read())
        out, status = self.run_guest("ro.sh", "--disk", "path=%s,readonly=on" % self.image)
        self.assertIn("FS-REFUSED", out)
        self.assertIn("DEV-REFUSED", out)
        self.assertTrue(re.search(r"(?m)^1\r?$", out), out[-2000:])
        with open(self.image, "rb") as f:
            self.assertEqual(sha256(f.read()), before)

    def test_hwrng_yields_bytes(self):
        self.script("rng.sh", "cat /sys/class/misc/hw_random/rng_current\n"
                              "head -c 256 /dev/hwrng > /tmp/r\n"
                              "echo RNG-BYTES=$(wc -c < /tmp/r)\n"
                              "echo RNG-DISTINCT=$(od -An -v -tx1 /tmp/r | tr ' ' '\\n' | sort -u | wc -l)\n")
        make_ext4(self.image, self.tree)
        out, status = self.run_guest("rng.sh", "--disk", "path=" + self.image, "--rng")
        self.assertEqual(status, 0, out[-2000:])
        self.assertIn("virtio_rng", out)
        self.assertIn("RNG-BYTES=256", out)
        distinct = int(re.search(r"RNG-DISTINCT=(\d+)", out).group(1))
        self.assertGreater(distinct, 100)   # 256 random bytes hit far more than 100 values


class VirtioConsoleTest(GuestTestCase):

    def test_hvc0_is_the_console(self):
        with self.boot("console=hvc0", "--console", "virtio") as g:
            g.wait_for(r"GUEST-READY")
            g.wait_for(r"# ")
            g.send("echo $((6*7)) $(cat /sys/class/tty/console/active)\n")
            g.wait_for(r"^42 hvc0\r?$")
            g.send("poweroff -f\n")
            self.assertEqual(g.wait_exit(), 0, g.tail())


class VirtioCommandLineTest(unittest.TestCase):
    """Bad --disk input ends with one `rackvm: ...` line and exit status 2."""

    def setUp(self):
        require_rackvm(self)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.image = os.path.join(self.tmp.name, "disk.img")
        with open(self.image, "wb") as f:
            f.truncate(1 << 20)

    def rejected(self, *flags, expect):
        status, out, err = run_quick([RACKVM, "run", "--kernel", "/nonexistent", *flags])
        self.assertEqual(status, 2, err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertTrue(err.startswith("rackvm: "), err)
        self.assertIn(expect, err)

    def test_missing_image(self):
        missing = os.path.join(self.tmp.name, "nope.img")
        self.rejected("--disk", "path=" + missing, expect=missing)

    def test_unknown_sub_option(self):
        self.rejected("--disk", "path=%s,cache=none" % self.image, expect="cache=none")

    def test_path_is_required(self):
        self.rejected("--disk", "readonly=on", expect="path=FILE")

    def test_too_many_devices(self):
        flags = []
        for _ in range(8):
            flags += ["--disk", "path=" + self.image]
        self.rejected(*flags, "--rng", expect="too many virtio devices")

    def test_read_only_file_opened_for_writing(self):
        os.chmod(self.image, 0o444)
        if os.access(self.image, os.W_OK):
            self.skipTest("running as root: a mode 0444 file is still writable")
        self.rejected("--disk", "path=" + self.image, expect="readonly=on")

    def test_unknown_console(self):
        self.rejected("--console", "vga", expect="vga")


if __name__ == "__main__":
    unittest.main()
