"""VMs on one `rackvm switch`: two rackvm VMs (reference guest) and a stock
qemu-system-riscv64 VM joining through `-netdev stream` reach each other by IP, with
checksummed transfers; the switch's NAT uplink forwards a host port to one of them; a VM
flooding broadcasts does not keep the other two from talking (one topology for all of
that, since every boot costs suite time); a switch that goes away costs the VMs their
link (the guest sees carrier 0), not their lives, and rackvm reconnects (carrier 1) when
it is back.

Addresses are static in the uplink's 10.0.2.0/24 (slirp answers 10.0.2.2)."""

import hashlib
import os
import shutil
import tempfile
import time
import unittest
import urllib.request

from lib import Guest, GuestTestCase, jail_possible, qemu_argv, rackvm_argv
from test_net import OPENSBI, free_port
from test_switch import Switch

PROMPT = r"# "
WEB_PORT = 8080


class SwitchedVMs(GuestTestCase):

    def setUp(self):
        super().setUp()
        if not os.path.isfile(OPENSBI):
            self.skipTest("%s missing: install the opensbi package" % OPENSBI)
        self.dir = tempfile.mkdtemp(prefix="rackvm-netsw-")
        os.chmod(self.dir, 0o755)  # the sandboxed VMs (nobody) reconnect to the switch here
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.sock = os.path.join(self.dir, "sw.sock")

    def switch(self, *flags):
        sw = Switch(self.sock, *flags)
        self.addCleanup(sw.stop)
        return sw

    def start(self, guest):
        self.addCleanup(guest.kill)
        return guest

    def rackvm(self, n, *extra):
        """A rackvm VM on the switch with MAC ...:n; its address is 10.0.2.n."""
        return self.start(Guest(rackvm_argv(self.guest, "console=ttyS0", "--firmware", OPENSBI,
                                            "--net", "switch=%s,mac=52:54:00:00:00:%02x"
                                            % (self.sock, n), *extra)))

    def qemu(self, n):
        argv = qemu_argv(self.guest) + [
            "-netdev", "stream,id=n0,server=off,addr.type=unix,addr.path=%s" % self.sock,
            "-device", "virtio-net-device,netdev=n0,mac=52:54:00:00:00:%02x" % n]
        return self.start(Guest(argv))

    def wait_stderr(self, g, text, timeout=30):
        """Waits until rackvm `g` has said `text` on stderr."""
        deadline = time.monotonic() + timeout
        while text not in g.errors:
            if time.monotonic() > deadline:
                self.fail("no %r from rackvm:\n%s" % (text, g.tail()))
            time.sleep(0.2)

    def shell(self, g, command, pattern, timeout=120):
        g.send(command + "\n")
        return g.wait_for(pattern, timeout)

    def up(self, g, n):
        g.wait_for(r"GUEST-READY")
        self.shell(g, "ip addr add 10.0.2.%d/24 dev eth0 && ip link set eth0 up && "
                      "ip route add default via 10.0.2.2 && echo UP-$((%d+1))" % (n, n),
                   r"UP-%d" % (n + 1))

    def new_blob(self, g):
        """Puts 1 MiB of fresh random bytes in /tmp/www/blob; returns their sha256."""
        m = self.shell(g, "mkdir -p /tmp/www && head -c 1048576 /dev/urandom > /tmp/www/blob "
                          "&& echo BLOB=$(sha256sum /tmp/www/blob)", r"BLOB=([0-9a-f]{64})")
        return m.group(1).decode()

    def serve(self, g):
        """A web server on port 8080 serving /tmp/www; returns the sha256 of its blob."""
        digest = self.new_blob(g)
        self.shell(g, "httpd -p %d -h /tmp/www && echo HTTPD-$((5+5))" % WEB_PORT, r"HTTPD-10")
        return digest

    def fetch(self, g, n, timeout=180):
        """The sha256 of the blob fetched from 10.0.2.n's web server."""
        m = self.shell(g, "wget -q -O /tmp/got http://10.0.2.%d:%d/blob && "
                          "echo GOT=$(sha256sum /tmp/got)" % (n, WEB_PORT),
                       r"GOT=([0-9a-f]{64})", timeout)
        return m.group(1).decode()


class NetSwitchTest(SwitchedVMs):

    def test_vms_and_the_host_reach_each_other_even_with_a_flooder(self):
        # One topology for both checks: each VM boot costs seconds of the suite's budget.
        port = free_port()
        sw = self.switch("--uplink", "user,hostfwd=tcp:127.0.0.1:%d-10.0.2.21:%d" % (port, WEB_PORT))
        a, b, q = self.rackvm(21), self.rackvm(22), self.qemu(23)
        for g, n in ((a, 21), (b, 22), (q, 23)):
            self.up(g, n)
        digest = self.serve(a)
        self.assertEqual(self.fetch(b, 21), digest)     # rackvm to rackvm
        self.assertEqual(self.fetch(q, 21), digest)     # QEMU to rackvm
        self.shell(a, "ping -c 2 10.0.2.23", r"2 packets received")   # rackvm to QEMU
        with urllib.request.urlopen("http://127.0.0.1:%d/blob" % port, timeout=60) as r:
            self.assertEqual(hashlib.sha256(r.read()).hexdigest(), digest)   # host, via uplink

        # b floods: broadcast UDP as fast as the guest can write it, 64 KiB datagrams in
        # fragments. The other two still talk, and so does the host.
        self.shell(b, "nc -u -b 10.0.2.255 9 </dev/zero & echo FLOOD-$((2+2))", r"FLOOD-4")
        digest = self.new_blob(a)
        self.assertEqual(self.fetch(q, 21), digest)
        self.shell(q, "ping -c 2 10.0.2.21", r"2 packets received")
        b.kill()
        # Ports are numbered in the order the VMs connected; the flooder is the one leaving.
        sw.wait_err(r"port \d+ left")
        print("\n    flooding port: " + [l for l in sw.err.splitlines() if " left: " in l][0])
        a.send("poweroff -f\n")
        self.assertEqual(a.wait_exit(), 0, a.tail())

    def test_rackvm_outlives_its_switch_and_reconnects(self):
        sw = self.switch()
        # As root, a is jailed: it reconnects through the socket's directory, kept in its
        # empty root, from a network namespace of its own.
        a = self.rackvm(21, *(["--sandbox", "jail"] if jail_possible() else []))
        b = self.rackvm(22)
        self.up(a, 21)
        self.up(b, 22)
        self.shell(a, "ping -c 1 10.0.2.22", r"1 packets received")
        self.shell(a, "echo CARRIER-$(cat /sys/class/net/eth0/carrier)", r"CARRIER-1")
        sw.stop()
        for g in (a, b):
            self.wait_stderr(g, "the switch went away; the NIC's link is down until the switch is back")
            self.shell(g, "echo CARRIER-$(cat /sys/class/net/eth0/carrier)", r"CARRIER-0")
        self.switch()
        for g in (a, b):
            self.wait_stderr(g, "connected to the switch again")
            self.shell(g, "echo CARRIER-$(cat /sys/class/net/eth0/carrier)", r"CARRIER-1")
        self.shell(a, "ping -c 1 -W 5 10.0.2.22", r"1 packets received")
        for g in (a, b):
            g.send("poweroff -f\n")
            self.assertEqual(g.wait_exit(), 0, g.tail())


if __name__ == "__main__":
    unittest.main()
