"""Linux's KVM on rackvm's H extension (--cpu h=on): Debian's kernel, from the package
scripts/build-guest.sh keeps in its cache, boots with the guest's initramfs plus its own
kvm and irqbypass modules, loads them, and KVM takes the hart as a host: it reports the
hypervisor extension and its G-stage format, and /dev/kvm appears. No nested guest runs
yet (the initramfs has no VMM)."""

import glob
import gzip
import lzma
import os
import shutil
import subprocess
import tempfile
import unittest

from lib import GuestTestCase, Guest, RACKVM

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


if __name__ == "__main__":
    unittest.main()
