"""Tap networking end to end: the test creates a host tap interface (192.168.77.1/24),
boots a guest with `--net tap=IFNAME,mac=...` whose eth0 is 192.168.77.2/24, and moves
real traffic both ways: the guest pings the host and downloads a file from a web server
bound to the host's tap address, the host fetches a page and a 1 MiB file from busybox
httpd in the guest (both files checked by sha256), and the host's neighbour table shows
the MAC given on the command line.

Needs root (to create the tap), /dev/net/tun and iproute2's `ip`; skips otherwise. One
boot serves every test in the class, so the whole file stays within a boot's time."""

import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from lib import Guest, RACKVM, find_guest, rackvm_argv

SUBNET = "192.168.77.0/24"
HOST_IP = "192.168.77.1"
GUEST_IP = "192.168.77.2"
GUEST_MAC = "52:54:00:77:00:02"
GUEST_HTTP_PORT = 8080
PROMPT = r"# "
# As in test_net.py: busybox's ping and wget read the time CSR from user mode, which
# Linux 6.1 only opens through OpenSBI's PMU support.
OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
# Per process, so two test runs on one host do not fight over an interface name.
TAP = "rvmtap%d" % (os.getpid() % 100000)


def missing_prerequisite():
    """Why this host cannot run the tap tests, or None when it can."""
    if os.geteuid() != 0:
        return "creating a tap interface needs root"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing (modprobe tun)"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is missing (scripts/deps.sh --all installs it)"
    if ip("-4", "route", "show", SUBNET).strip() or ip("-4", "addr", "show", "to", SUBNET).strip():
        return "192.168.77.0/24 is already in use on this host (another run, or a real network)"
    if not os.path.isfile(OPENSBI):
        return "%s missing: install the opensbi package (scripts/deps.sh --all)" % OPENSBI
    if not os.access(RACKVM, os.X_OK):
        return None  # setUpClass fails on this one rather than skipping
    if find_guest() is None:
        return "no guest Image + initramfs.cpio.gz; build one with scripts/build-guest.sh"
    return None


def ip(*args):
    """Runs `ip args...`; raises with its stderr when it fails."""
    p = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if p.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), p.stderr.strip()))
    return p.stdout


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class TapNetTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        reason = missing_prerequisite()
        if reason:
            raise unittest.SkipTest(reason)
        if not os.access(RACKVM, os.X_OK):
            raise AssertionError("%s is missing: run `make` first" % RACKVM)
        # A tap left by a killed earlier run with this pid would make `tuntap add` fail.
        subprocess.run(["ip", "link", "del", TAP], capture_output=True, timeout=10)
        ip("tuntap", "add", "dev", TAP, "mode", "tap")
        cls.addClassCleanup(ip, "link", "del", TAP)
        ip("addr", "add", HOST_IP + "/24", "dev", TAP)
        ip("link", "set", TAP, "up")

        cls.webroot = tempfile.TemporaryDirectory()
        cls.addClassCleanup(cls.webroot.cleanup)
        # Many times the guest's rx ring (256 buffers of one frame each), so the transfer
        # runs with the ring full and the back end holding frames back.
        cls.blob = os.urandom(3 << 19)
        with open(os.path.join(cls.webroot.name, "blob.bin"), "wb") as f:
            f.write(cls.blob)
        handler = functools.partial(QuietHandler, directory=cls.webroot.name)
        cls.web = http.server.ThreadingHTTPServer((HOST_IP, 0), handler)
        cls.addClassCleanup(cls.web.server_close)
        threading.Thread(target=cls.web.serve_forever, daemon=True).start()
        cls.addClassCleanup(cls.web.shutdown)

        cls.g = Guest(rackvm_argv(find_guest(), "console=ttyS0", "--firmware", OPENSBI,
                                  "--net", "tap=%s,mac=%s" % (TAP, GUEST_MAC)))
        cls.addClassCleanup(cls.g.__exit__, None, None, None)
        cls.g.wait_for(r"GUEST-READY")
        cls.g.wait_for(PROMPT)
        cls.shell("ip addr add %s/24 dev eth0 && ip link set eth0 up && echo UP-$((1+1))"
                  % GUEST_IP, r"UP-2")
        cls.shell("mkdir -p /tmp/www && echo hello-over-tap-$((6*7)) > /tmp/www/index.html "
                  "&& dd if=/dev/urandom of=/tmp/www/big.bin bs=64k count=16 2>/dev/null "
                  "&& httpd -p %d -h /tmp/www && echo HTTPD-$((2+2))" % GUEST_HTTP_PORT,
                  r"HTTPD-4")

    @classmethod
    def tearDownClass(cls):
        # A clean poweroff: rackvm exits 0 and tears the tap back end down without a
        # complaint (a sanitizer build reports on stderr here).
        cls.g.send("poweroff -f\n")
        status = cls.g.wait_exit(60)
        if status != 0 or "Sanitizer" in cls.g.errors:
            raise AssertionError("rackvm exited with %s after poweroff:\n%s" % (status, cls.g.tail()))

    @classmethod
    def shell(cls, command, pattern, timeout=60):
        """Types `command` at the guest's prompt and waits for `pattern` in its output."""
        cls.g.send(command + "\n")
        return cls.g.wait_for(pattern, timeout)

    def test_guest_pings_host(self):
        m = self.shell("ping -c 3 -W 5 %s; echo PING-DONE" % HOST_IP,
                       r"(\d+) packets transmitted, (\d+) packets received.*\n(?s:.*?)PING-DONE")
        self.assertEqual(m.group(1), b"3", self.g.tail())
        self.assertEqual(m.group(2), b"3", self.g.tail())

    def test_guest_downloads_file_from_host(self):
        m = self.shell("wget -q -O /tmp/blob http://%s:%d/blob.bin && echo SUM=$(sha256sum /tmp/blob)"
                       " || echo WGET-FAILED-$((3*3))" % (HOST_IP, self.web.server_address[1]),
                       r"SUM=([0-9a-f]{64})|WGET-FAILED-9")
        self.assertIsNotNone(m.group(1), "wget failed:\n" + self.g.tail())
        self.assertEqual(m.group(1).decode(), hashlib.sha256(self.blob).hexdigest())

    def fetch_from_guest(self, name):
        """The body of http://GUEST_IP/name from the guest's httpd; retried while httpd
        starts listening."""
        url = "http://%s:%d/%s" % (GUEST_IP, GUEST_HTTP_PORT, name)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=20) as r:
                    return r.read()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def test_host_fetches_page_from_guest_httpd(self):
        self.assertEqual(self.fetch_from_guest("index.html").decode().strip(), "hello-over-tap-42")
        # The host learnt the guest's address by ARP, from the MAC given with mac=.
        self.assertIn("lladdr " + GUEST_MAC, ip("neigh", "show", GUEST_IP, "dev", TAP))

    def test_host_downloads_file_from_guest(self):
        m = self.shell("echo BIG=$(sha256sum /tmp/www/big.bin)", r"BIG=([0-9a-f]{64})")
        body = self.fetch_from_guest("big.bin")
        self.assertEqual(len(body), 1 << 20)
        self.assertEqual(hashlib.sha256(body).hexdigest(), m.group(1).decode())


if __name__ == "__main__":
    unittest.main()
