"""Linux's KVM on rackvm's H extension (--cpu h=on): Debian's kernel, from the package
scripts/build-guest.sh keeps in its cache, boots with the guest's initramfs plus its own
kvm and irqbypass modules, loads them, and KVM takes the hart as a host: it reports the
hypervisor extension and its G-stage format, and /dev/kvm appears. Then a nested guest:
with guest/nested.cpio.gz (scripts/build-nested.sh: Debian's qemu-system-riscv64 and
the same kernel) appended, QEMU boots a Linux guest under KVM inside the rackvm guest."""

import glob
import gzip
import lzma
import os
import shutil
import subprocess
import tempfile
import unittest

from lib import GuestTestCase, Guest, RACKVM, ROOT, require_rackvm

CACHE = os.environ.get("RACKVM_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rackvm")

RUN_SH = b"""#!/bin/sh
insmod /kvmtest/irqbypass.ko
insmod /kvmtest/kvm.ko
dmesg | grep 'kvm \\['
[ -c /dev/kvm ] && echo KVM-DEVICE-OK
"""


def newc(entries):
    """A newc cpio archive of (name, mode, data) entries, data None for a directory."""
    out = bytearray()

    def put(ino, name, mode, data):
        name_bytes = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_bytes), 0]
        out.extend(b"070701" + b"".join(b"%08x" % f for f in fields) + name_bytes)
        out.extend(b"\0" * (-len(out) % 4))
        out.extend(data)
        out.extend(b"\0" * (-len(out) % 4))

    for ino, (name, mode, data) in enumerate(entries, 1):
        put(ino, name, mode, data if data is not None else b"")
    put(0, "TRAILER!!!", 0, b"")
    return bytes(out)


class KvmTest(GuestTestCase):

    def setUp(self):
        super().setUp()
        debs = sorted(glob.glob(os.path.join(CACHE, "debs", "linux-image-*riscv64*.deb")))
        if not debs:
            self.skipTest("no Debian riscv64 kernel package in %s/debs (scripts/build-guest.sh "
                          "puts it there)" % CACHE)
        if not shutil.which("dpkg-deb"):
            self.skipTest("dpkg-deb is missing")
        self.deb = debs[-1]
        self.tmp = tempfile.mkdtemp(prefix="rackvm-kvm-")
        self.addCleanup(shutil.rmtree, self.tmp)

    def extract(self):
        """The package's kernel, and an initramfs: the guest's with the KVM modules added."""
        subprocess.run(["dpkg-deb", "-x", self.deb, self.tmp], check=True)
        kernel = glob.glob(os.path.join(self.tmp, "boot", "vmlinux-*"))
        kvm = glob.glob(os.path.join(self.tmp, "usr/lib/modules/*/kernel/arch/riscv/kvm/kvm.ko.xz"))
        bypass = glob.glob(os.path.join(self.tmp, "usr/lib/modules/*/kernel/virt/lib/irqbypass.ko.xz"))
        if not (kernel and kvm and bypass):
            self.skipTest("%s has no vmlinux, kvm.ko.xz or irqbypass.ko.xz" % self.deb)
        modules = newc([
            ("kvmtest", 0o40755, None),
            ("kvmtest/run.sh", 0o100755, RUN_SH),
            ("kvmtest/kvm.ko", 0o100644, lzma.open(kvm[0]).read()),
            ("kvmtest/irqbypass.ko", 0o100644, lzma.open(bypass[0]).read()),
        ])
        initrd = os.path.join(self.tmp, "initrd.gz")
        with open(initrd, "wb") as out:
            with open(self.guest.initrd, "rb") as base:
                out.write(base.read())
            out.write(gzip.compress(modules))  # the kernel unpacks concatenated archives
        return kernel[0], initrd

    def test_kvm_initializes_on_the_h_extension(self):
        kernel, initrd = self.extract()
        argv = [RACKVM, "run", "--cpu", "h=on", "--memory", "512M", "--kernel", kernel,
                "--initrd", initrd, "--cmdline", "console=ttyS0 autorun=/kvmtest/run.sh"]
        with Guest(argv) as g:
            g.wait_for(r"hypervisor extension available")
            g.wait_for(r"using Sv\d+x4 G-stage page table format")
            g.wait_for(r"KVM-DEVICE-OK")
            g.wait_for(r"GUEST-EXIT 0")
            self.assertEqual(g.wait_exit(), 0, g.tail())


class NestedKvmTest(unittest.TestCase):
    """A Linux guest under KVM under rackvm: the outer guest (2 harts, 1 GiB) loads KVM and
    runs qemu-system-riscv64 -enable-kvm, whose guest prints its marker and powers off."""

    BUILD_TIMEOUT = 600

    def setUp(self):
        require_rackvm(self)
        try:
            build = subprocess.run([os.path.join(ROOT, "scripts", "build-nested.sh")],
                                   stdin=subprocess.DEVNULL, capture_output=True,
                                   timeout=self.BUILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail("scripts/build-nested.sh took over %ds" % self.BUILD_TIMEOUT)
        log = (build.stdout + build.stderr).decode("utf-8", "replace")
        if build.returncode == 75:  # the script's "packages unavailable" status
            self.skipTest("scripts/build-nested.sh: the downloads are unavailable:\n" + log[-2000:])
        self.assertEqual(build.returncode, 0, "scripts/build-nested.sh failed:\n" + log[-4000:])
        guest = os.path.join(ROOT, "guest")
        self.kernel = os.path.join(guest, "Image")
        self.tmp = tempfile.mkdtemp(prefix="rackvm-nested-")
        self.addCleanup(shutil.rmtree, self.tmp)
        self.initrd = os.path.join(self.tmp, "initrd.gz")
        with open(self.initrd, "wb") as out:
            for part in ("initramfs.cpio.gz", "nested.cpio.gz"):
                with open(os.path.join(guest, part), "rb") as f:
                    shutil.copyfileobj(f, out)

    def test_nested_guest_boots_under_kvm(self):
        argv = [RACKVM, "run", "--cpu", "h=on", "--cpus", "2", "--memory", "1G",
                "--kernel", self.kernel, "--initrd", self.initrd,
                "--cmdline", "console=ttyS0 autorun=/nested/run.sh"]
        with Guest(argv) as g:
            g.wait_for(r"using Sv\d+x4 G-stage page table format")
            start = g.wait_for(r"NESTED-START uptime=([\d.]+)")
            # The inner kernel's banner names QEMU's board: it is the nested guest talking.
            g.wait_for(r"Machine model: riscv-virtio,qemu")
            g.wait_for(r"NESTED-GUEST-UP")
            end = g.wait_for(r"NESTED-EXIT status=0 uptime=([\d.]+)")
            g.wait_for(r"GUEST-EXIT 0")
            self.assertEqual(g.wait_exit(), 0, g.tail())
        print("\n    nested boot (QEMU start to inner poweroff, outer guest's clock): %.1f s"
              % (float(end.group(1)) - float(start.group(1))), end=" ")


if __name__ == "__main__":
    unittest.main()
