"""Boots like real hardware: OpenSBI's fw_jump.bin hands S-mode to Debian's U-Boot, whose
distro boot finds a partitioned virtio disk, reads extlinux/extlinux.conf, loads the
guest's Image and initramfs from the partition and starts Linux; rackvm is given no
Linux kernel at all. The disk images are built as a normal user could: sfdisk on a
plain file, then an ext4 (mkfs.ext4 -E offset=) or FAT (mtools at IMG@@OFFSET)
filesystem written straight into the partition."""

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import unittest

from lib import RACKVM, Guest, require_guest, require_rackvm

FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
UBOOT = "/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf"
DISK_MB = 64
# The EFI system partition, what a real board's boot partition usually is (U-Boot's
# distro boot scans partitions of any type).
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"


def tool(name):
    """`name` on $PATH or in /sbin, /usr/sbin (not on a normal user's PATH), or None."""
    found = shutil.which(name)
    if found:
        return found
    for d in ("/usr/sbin", "/sbin"):
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    return None


def partitioned_image(path, label, part_type):
    """A blank DISK_MB image with one partition from 1 MiB to the end; returns the
    partition's (byte offset, byte size) as sfdisk laid it out."""
    with open(path, "wb") as f:
        f.truncate(DISK_MB << 20)
    layout = "label: %s\nstart=2048, type=%s, bootable\n" % (label, part_type)
    if label == "gpt":
        # "bootable" is MBR-only; GPT's equivalent is the legacy-BIOS-bootable attribute.
        layout = layout.replace("bootable", "attrs=LegacyBIOSBootable")
    subprocess.run([tool("sfdisk"), "-q", path], input=layout.encode(), check=True,
                   capture_output=True)
    table = json.loads(subprocess.run([tool("sfdisk"), "-J", path], check=True,
                                      capture_output=True).stdout)["partitiontable"]
    part, = table["partitions"]
    sector = table.get("sectorsize", 512)
    return part["start"] * sector, part["size"] * sector


class UBootDistroBootTest(unittest.TestCase):

    def setUp(self):
        require_rackvm(self)
        for path in (FW_JUMP, UBOOT):
            if not os.path.isfile(path):
                self.skipTest("%s missing: install opensbi and u-boot-qemu "
                              "(scripts/deps.sh --all)" % path)
        if tool("sfdisk") is None:
            self.skipTest("sfdisk missing: install fdisk (scripts/deps.sh --all)")
        self.guest = require_guest(self)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.image = os.path.join(self.tmp.name, "disk.img")
        # A token only the disk's extlinux.conf carries: seeing it on the kernel's
        # command line proves Linux was started by U-Boot from that file.
        self.token = "rackvm.bootsrc=" + secrets.token_hex(6)
        self.append = "console=ttyS0 %s autorun=/bin/true" % self.token

    def extlinux_conf(self):
        return ("default rackvm\n"
                "timeout 0\n"
                "label rackvm\n"
                "    kernel /Image\n"
                "    initrd /initramfs.cpio.gz\n"
                "    append %s\n" % self.append)

    def boot_tree(self):
        """A directory laid out as the boot partition's contents."""
        tree = os.path.join(self.tmp.name, "tree")
        os.makedirs(os.path.join(tree, "extlinux"))
        shutil.copyfile(self.guest.kernel, os.path.join(tree, "Image"))
        shutil.copyfile(self.guest.initrd, os.path.join(tree, "initramfs.cpio.gz"))
        with open(os.path.join(tree, "extlinux", "extlinux.conf"), "w") as f:
            f.write(self.extlinux_conf())
        return tree

    def boot_from_disk(self, *disk_flags, chain_given=True):
        """Boots OpenSBI + U-Boot with the disk and checks the whole chain; returns the
        console output. chain_given=False leaves the firmware chain to rackvm's disk
        boot (no --kernel)."""
        chain = ["--firmware", FW_JUMP, "--kernel", UBOOT] if chain_given else []
        argv = [RACKVM, "run", *chain, "--memory", "512M",
                "--disk", ",".join(("path=" + self.image,) + disk_flags)]
        with Guest(argv) as g:
            g.wait_for(r"U-Boot 20\d\d")
            g.wait_for(r"VirtIO Block Device")
            g.wait_for(r"Scanning virtio 0:1")
            g.wait_for(r"Found /extlinux/extlinux\.conf")
            g.wait_for(r"Retrieving file: /initramfs\.cpio\.gz")
            g.wait_for(r"Retrieving file: /Image")
            g.wait_for(r"Starting kernel")
            g.wait_for(r"Kernel command line: .*" + self.token)
            g.wait_for(r"vda: vda1")
            g.wait_for(r"GUEST-READY")
            m = g.wait_for(r"GUEST-EXIT (\d+)")
            self.assertEqual(m.group(1), b"0", g.tail())
            self.assertEqual(g.wait_exit(), 0, g.tail())
            return g.output

    def ext4_image(self, tree):
        mkfs = tool("mkfs.ext4")
        if mkfs is None:
            self.skipTest("mkfs.ext4 missing: install e2fsprogs (scripts/deps.sh --all)")
        offset, size = partitioned_image(self.image, "dos", "83")
        # No journal: U-Boot only reads it, and a smaller filesystem builds faster.
        subprocess.run([mkfs, "-q", "-F", "-O", "^has_journal", "-E", "offset=%d" % offset,
                        "-d", tree, self.image, "%dk" % (size >> 10)],
                       check=True, capture_output=True)
        self.assertEqual(os.path.getsize(self.image), DISK_MB << 20)

    def test_mbr_ext4_partition(self):
        self.ext4_image(self.boot_tree())
        self.boot_from_disk()

    def test_disk_boot_without_kernel(self):
        """`rackvm run --disk path=IMG` alone: rackvm supplies OpenSBI and U-Boot."""
        self.ext4_image(self.boot_tree())
        self.boot_from_disk(chain_given=False)

    def test_disk_with_nothing_to_boot(self):
        """A disk without extlinux.conf, or without a partition table, is refused before
        the VM starts, naming the disk."""
        tree = self.boot_tree()
        os.remove(os.path.join(tree, "extlinux", "extlinux.conf"))
        self.ext4_image(tree)
        blank = os.path.join(self.tmp.name, "blank.img")
        with open(blank, "wb") as f:
            f.truncate(DISK_MB << 20)
        for image, why in ((self.image, "no bootable-flagged partition holds an ext2/3/4 file system "
                            "with /extlinux/extlinux.conf"),
                           (blank, "has no partition table")):
            run = subprocess.run([RACKVM, "run", "--disk", "path=" + image],
                                 capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
            self.assertEqual(run.returncode, 2, run.stderr)
            self.assertIn(("rackvm: --disk " + image).encode(), run.stderr)
            self.assertIn(why.encode(), run.stderr)

    def test_gpt_fat_partition_read_only(self):
        for name in ("mformat", "mmd", "mcopy"):
            if tool(name) is None:
                self.skipTest("%s missing: install mtools (scripts/deps.sh --all)" % name)
        tree = self.boot_tree()
        offset, size = partitioned_image(self.image, "gpt", ESP_TYPE)
        fs = "%s@@%d" % (self.image, offset)
        # -H: the sectors before the partition, as a partitioned disk's FAT records them.
        for cmd in (["mformat", "-i", fs, "-T", str(size // 512), "-H", str(offset // 512),
                     "-v", "RACKVM", "::"],
                    ["mmd", "-i", fs, "::/extlinux"],
                    ["mcopy", "-i", fs, os.path.join(tree, "Image"),
                     os.path.join(tree, "initramfs.cpio.gz"), "::/"],
                    ["mcopy", "-i", fs, os.path.join(tree, "extlinux", "extlinux.conf"),
                     "::/extlinux/"]):
            subprocess.run(cmd, check=True, capture_output=True)
        # GPT's backup header sits in the disk's last sectors: U-Boot reads it there.
        self.assertEqual(os.path.getsize(self.image), DISK_MB << 20)
        self.boot_from_disk("readonly=on")


if __name__ == "__main__":
    unittest.main()
