"""The sandbox of a VM process (--sandbox, on by default): once the guest runs, every
thread of rackvm has a seccomp filter (Seccomp 2) and no_new_privs, and a rackvm started
as root runs as nobody (here in --sandbox jail: its own mount namespace and an empty root
but for resolv.conf, the host's network for user networking, whose DNS still works);
--sandbox off says so loudly and installs nothing. A call outside the allowlist is
tested in tests/unit/test_sandbox.c (a forked child)."""

import glob
import os
import pwd
import re
import unittest

from lib import RACKVM, GuestTestCase, jail_possible, run_quick

OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"


def proc_status(path):
    """The fields of a /proc/.../status file as a dict of strings."""
    with open(path) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


class SandboxTest(GuestTestCase):

    def test_running_vm_is_sandboxed_on_every_thread_as_nobody(self):
        # User networking and an rng: the features whose calls the filter must allow.
        # OpenSBI: busybox's nslookup reads the time CSR (see test_net.py). As root, in
        # the jail: user networking keeps the host's network namespace and resolv.conf.
        if not os.path.isfile(OPENSBI):
            self.skipTest("%s missing: install the opensbi package" % OPENSBI)
        jail = ["--sandbox", "jail"] if jail_possible() else []
        with self.boot("console=ttyS0", "--firmware", OPENSBI, "--net", "user", "--rng",
                       "--cpus", "2", *jail) as g:
            g.wait_for(r"GUEST-READY")
            g.wait_for(r"# ")
            tasks = glob.glob("/proc/%d/task/*/status" % g.pid)
            self.assertGreaterEqual(len(tasks), 4, "harts, console and device threads")
            for path in ["/proc/%d/status" % g.pid] + tasks:
                st = proc_status(path)
                self.assertEqual(st["Seccomp"], "2", path)
                self.assertEqual(st["NoNewPrivs"], "1", path)
                if jail:
                    task = os.path.dirname(path)
                    self.assertNotEqual(os.readlink(task + "/ns/mnt"), os.readlink("/proc/self/ns/mnt"))
                    self.assertEqual(os.readlink(task + "/ns/net"), os.readlink("/proc/self/ns/net"))
                    self.assertFalse(os.path.exists(task + "/root/etc/passwd"))
                    self.assertTrue(os.path.exists(task + "/root/etc/resolv.conf"))
                if os.geteuid() == 0:
                    nobody = pwd.getpwnam("nobody")
                    self.assertEqual(st["Uid"].split(), [str(nobody.pw_uid)] * 4, path)
                    self.assertEqual(st["Gid"].split(), [str(nobody.pw_gid)] * 4, path)
                    self.assertEqual(st["Groups"].split(), [str(nobody.pw_gid)], path)
            # The rng's getrandom() still works under the filter, and so does libslirp's
            # DNS forwarder, which opens /etc/resolv.conf at the first query and stats it
            # by path at a later one (more than a second on). Whether the host's resolver
            # answers does not matter; test_net downloads through the sandboxed slirp.
            g.send("head -c 64 /dev/hwrng | wc -c\n")
            g.wait_for(r"^64\r?$")
            g.send("ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && "
                   "nslookup -timeout=2 debian.org 10.0.2.3; sleep 2; "
                   "nslookup -timeout=2 debian.org 10.0.2.3; echo DNS-DONE; poweroff -f\n")
            g.wait_for(r"DNS-DONE")
            self.assertEqual(g.wait_exit(), 0, g.tail())
            self.assertNotIn("sandbox", g.errors)

    def test_sandbox_off_warns_and_installs_nothing(self):
        with self.boot("console=ttyS0", "--sandbox", "off") as g:
            g.wait_for(r"GUEST-READY")
            g.wait_for(r"# ")
            st = proc_status("/proc/%d/status" % g.pid)
            self.assertEqual(st["Seccomp"], "0")
            self.assertEqual(st["Uid"].split()[0], str(os.geteuid()))
            g.send("poweroff -f\n")
            self.assertEqual(g.wait_exit(), 0, g.tail())
            self.assertRegex(g.errors, r"rackvm: WARNING: --sandbox off")

    def test_bad_sandbox_options_are_refused(self):
        base = [RACKVM, "run", "--kernel", self.guest.kernel, "--initrd", self.guest.initrd]
        for flags, expect in ((["--sandbox", "maybe"], r"--sandbox: 'maybe' is not on, jail or off"),
                              (["--sandbox", "off", "--sandbox-user", "nobody"],
                               r"--sandbox-user needs --sandbox on"),
                              (["--sandbox-user", "rackvm-no-such-user"],
                               r"rackvm-no-such-user")):
            status, out, err = run_quick(base + flags)
            self.assertGreater(status, 0, err)
            self.assertLess(status, 126, err)
            self.assertRegex(err, re.compile(r"^rackvm: .*" + expect, re.M))
            self.assertNotIn("GUEST-READY", out)


if __name__ == "__main__":
    unittest.main()
