"""The sandbox of a VM process (--sandbox, on by default): once the guest runs, every
thread of rackvm has a seccomp filter (Seccomp 2) and no_new_privs, and a rackvm started
as root runs as nobody (here in --sandbox jail: its own mount and PID namespaces and an
empty root but for resolv.conf, the host's network for user networking, whose DNS still
works); an ordinary user's --sandbox jail has a user namespace of its own and the same
jail; --sandbox off says so loudly and installs nothing. A call outside the allowlist is
tested in tests/unit/test_sandbox.c (a forked child)."""

import glob
import os
import pwd
import re
import shutil
import struct
import unittest

from lib import RACKVM, Guest, GuestTestCase, jail_possible, rackvm_argv, run_quick

OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"


def proc_status(path):
    """The fields of a /proc/.../status file as a dict of strings."""
    with open(path) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def jailed_vm(pid):
    """The VM process of a jailed run started as pid: its child, the init of its PID
    namespace."""
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return int(f.read().split()[0])


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
            vm = jailed_vm(g.pid) if jail else g.pid
            tasks = glob.glob("/proc/%d/task/*/status" % vm)
            self.assertGreaterEqual(len(tasks), 4, "harts, console and device threads")
            for path in ["/proc/%d/status" % vm] + tasks:
                st = proc_status(path)
                self.assertEqual(st["Seccomp"], "2", path)
                self.assertEqual(st["NoNewPrivs"], "1", path)
                if jail:
                    task = os.path.dirname(path)
                    for ns in ("mnt", "pid"):
                        self.assertNotEqual(os.readlink(task + "/ns/" + ns),
                                            os.readlink("/proc/self/ns/" + ns), ns)
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

    def test_an_ordinary_user_s_jail(self):
        """`run --sandbox jail` started by an ordinary user (as root, the test becomes
        nobody through setpriv): a user namespace mapping only that user, then the jail's
        mount, IPC, UTS, network and PID namespaces and its empty root; the guest boots
        to its shell and powers off (exit 0, passed on by the starter)."""
        if not jail_possible(ordinary_user=True):
            self.skipTest("no user namespaces for an ordinary user here, or / is not a mount point")
        uid = 65534 if os.geteuid() == 0 else os.geteuid()
        become = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"]
        if os.geteuid() == 0 and not shutil.which("setpriv"):
            self.skipTest("setpriv missing: install util-linux")
        with Guest((become if os.geteuid() == 0 else []) +
                   rackvm_argv(self.guest, "console=ttyS0", "--sandbox", "jail")) as g:
            g.wait_for(r"GUEST-READY")
            g.wait_for(r"# ")
            vm = jailed_vm(g.pid)
            st = proc_status("/proc/%d/status" % vm)
            self.assertEqual(st["Uid"].split(), [str(uid)] * 4)
            self.assertEqual((st["Seccomp"], st["NoNewPrivs"]), ("2", "1"))
            for ns in ("user", "mnt", "pid", "net", "ipc", "uts"):
                self.assertNotEqual(os.readlink("/proc/%d/ns/%s" % (vm, ns)),
                                    os.readlink("/proc/self/ns/" + ns), ns)
            with open("/proc/%d/uid_map" % vm) as f:
                self.assertEqual(f.read().split(), [str(uid), str(uid), "1"])
            self.assertFalse(os.path.exists("/proc/%d/root/etc/passwd" % vm))
            g.send("echo $((6*7))JAILED; poweroff -f\n")
            g.wait_for(r"42JAILED")
            self.assertEqual(g.wait_exit(), 0, g.tail())
            self.assertNotIn("sandbox", g.errors)

    def test_harts_append_perf_files_under_the_filter(self):
        """--perf-map's files, opened before the sandbox, take every hart's appends
        after it: the jitdump's records tile the file and come from both harts."""
        with self.boot("console=ttyS0", "--perf-map", "--cpus", "2") as g:
            g.wait_for(r"GUEST-READY")
            g.wait_for(r"# ")
            g.send("poweroff -f\n")
            self.assertEqual(g.wait_exit(), 0, g.tail())
        paths = ["/tmp/perf-%d.map" % g.pid, "/tmp/jit-%d.dump" % g.pid]
        try:
            with open(paths[0]) as f:
                self.assertRegex(f.readline(), r"^[0-9a-f]+ [0-9a-f]+ (rv:[0-9a-f]+|jit:lookup|jit:slow-path)$")
            with open(paths[1], "rb") as f:
                dump = f.read()
        finally:
            for path in paths:
                if os.path.exists(path):
                    os.unlink(path)
        self.assertEqual(struct.unpack_from("<II", dump, 0), (0x4A695444, 1))
        off, tids = 40, set()
        while off < len(dump):
            kind, size, _, pid, tid = struct.unpack_from("<IIQII", dump, off)
            self.assertEqual((kind, pid), (0, g.pid), off)
            tids.add(tid)
            off += size
        self.assertEqual(off, len(dump))
        self.assertEqual(len(tids), 2)

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
