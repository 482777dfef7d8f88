"""`rackvm image create` and disk boot of what it makes.

The boot test uses the image `make image-test` built (tests/integration/
image-test-cache.sh: a first build runs Debian's package scripts on the soft CPU for far
longer than the suite may take, so it is cached, keyed by the recipe): a copy boots with
`rackvm run --disk path=IMG` alone (OpenSBI, U-Boot, the image's extlinux.conf), reaches
multi-user with no failed unit, takes an ssh login with the test's key through a port
forward, installs a package with apt over user networking, powers off with exit status
0 and leaves a file system e2fsck finds clean. The bad-input tests need no image."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

from lib import RACKVM, ROOT, Guest, require_rackvm, run_quick
from test_net import free_port

CACHE_SCRIPT = os.path.join(ROOT, "tests", "integration", "image-test-cache.sh")
# The root partition's offset in an image rackvm image create made (sector 2048).
ROOT_OFFSET = 2048 * 512


class ImageCreateInputTest(unittest.TestCase):
    """Refusals that leave nothing behind."""

    def setUp(self):
        require_rackvm(self)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.image = os.path.join(self.tmp.name, "d.img")

    def create(self, *args, timeout=30):
        return run_quick([RACKVM, "image", "create", self.image, *args], timeout=timeout)

    def test_existing_output_refused_without_force(self):
        with open(self.image, "w") as f:
            f.write("keep me")
        status, _, err = self.create()
        self.assertEqual(status, 2)
        self.assertIn("d.img exists (use --force to replace it)", err)
        with open(self.image) as f:
            self.assertEqual(f.read(), "keep me")

    def test_bad_values_refused(self):
        key = os.path.join(self.tmp.name, "id")
        with open(key, "w") as f:
            f.write("-----BEGIN OPENSSH PRIVATE KEY-----\n")
        for args, why in ((["--size", "1G"], "--size: 1G is too small"),
                          (["--ssh-key", key], "not an OpenSSH public key"),
                          (["--ssh-key", key + ".missing"], "No such file or directory"),
                          (["--hostname", "a.b"], "is not a host name")):
            status, _, err = self.create(*args)
            self.assertEqual(status, 2, err)
            self.assertIn(why, err)
        self.assertEqual(os.listdir(self.tmp.name), ["id"])

    def test_unknown_package_shows_apts_error(self):
        if os.geteuid() != 0:
            self.skipTest("rackvm image create runs as root")
        status, out, err = self.create("--packages", "rackvm-no-such-package", timeout=300)
        self.assertNotEqual(status, 0)
        self.assertIn("Unable to locate package rackvm-no-such-package", out + err)
        self.assertIn("apt could not get the packages", err)
        self.assertEqual(os.listdir(self.tmp.name), [])

    def test_full_disk_refused_before_building(self):
        if os.geteuid() != 0:
            self.skipTest("rackvm image create runs as root")
        full = os.path.join(self.tmp.name, "full")
        os.mkdir(full)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "rackvm-test", full],
                       check=True)
        self.addCleanup(subprocess.run, ["umount", full], check=True)
        status, _, err = run_quick([RACKVM, "image", "create", os.path.join(full, "d.img")],
                                   timeout=30)
        self.assertEqual(status, 1, err)
        self.assertRegex(err, r"only \d+ MiB free in %s: building an image needs about "
                         r"\d+ MiB there \(host disk full\?\)" % full)
        self.assertEqual(os.listdir(full), [])


class DebianImageBootTest(unittest.TestCase):

    def setUp(self):
        require_rackvm(self)
        # Three minutes of boot and apt: only where asked for, so that `make test`'s
        # length does not hang on whether this machine happens to hold a cached image.
        if os.environ.get("RACKVM_IMAGE_TEST") != "1":
            self.skipTest("the Debian image's boot is `make image-test`'s")
        status, path, err = run_quick([CACHE_SCRIPT, "--path"])
        self.assertEqual(status, 0, err)
        self.cached = path.strip()
        if not os.path.isfile(self.cached):
            self.skipTest("no cached test image %s: `make image-test` builds it"
                          % self.cached)
        self.key = os.path.join(os.path.dirname(self.cached), "id_ed25519")
        self.tmp = tempfile.TemporaryDirectory(dir=os.path.dirname(self.cached))
        self.addCleanup(self.tmp.cleanup)
        # Booting writes to the disk: the cached image stays as built.
        self.image = os.path.join(self.tmp.name, "boot.img")
        subprocess.run(["cp", "--sparse=always", "--reflink=auto", self.cached, self.image],
                       check=True)

    def ssh(self, port, command, timeout=120):
        return subprocess.run(
            ["ssh", "-i", self.key, "-p", str(port), "-o", "BatchMode=yes",
             "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR", "root@127.0.0.1", command],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)

    def test_boots_to_multi_user_with_ssh(self):
        port = free_port()
        argv = [RACKVM, "run", "--disk", "path=" + self.image, "--cpus", "2",
                "--net", "user,hostfwd=tcp:127.0.0.1:%d-:22" % port]
        with Guest(argv) as g:
            g.wait_for(r"Retrieving file: /boot/initrd\.img-")
            g.wait_for(r"Debian GNU/Linux 13 .*rackvm-test ttyS0", timeout=900)
            g.wait_for(r"rackvm-test login:")
            deadline = time.monotonic() + 300
            while True:  # sshd may still be starting when the getty is up
                r = self.ssh(port, "systemctl is-system-running --wait; hostname")
                if r.returncode == 0 or time.monotonic() > deadline:
                    break
                time.sleep(5)
            self.assertEqual(r.stdout.decode().split(), ["running", "rackvm-test"],
                             r.stderr.decode() + self.failed_units(port))
            r = self.ssh(port, "apt-get -q update && apt-get install -y -q hello && hello",
                         timeout=900)
            self.assertEqual(r.returncode, 0, r.stdout.decode()[-2000:] + r.stderr.decode())
            self.assertIn(b"Hello, world!", r.stdout)
            self.ssh(port, "poweroff")
            self.assertEqual(g.wait_exit(timeout=300), 0, g.tail())
        fsck = subprocess.run(["e2fsck", "-fn", "%s?offset=%d" % (self.image, ROOT_OFFSET)],
                              capture_output=True)
        self.assertEqual(fsck.returncode, 0, fsck.stdout.decode() + fsck.stderr.decode())

    def failed_units(self, port):
        r = self.ssh(port, "systemctl --failed --no-legend")
        return "\nfailed units: " + r.stdout.decode()


if __name__ == "__main__":
    unittest.main()
