"""Network tests: a virtio-net guest on user networking (libslirp) gets its address by
DHCP, downloads a file from a web server on the host through the gateway 10.0.2.2,
serves a page to the host through a hostfwd port forward; and the command line refuses
a forwarded port that is in use, or a malformed --net, with a clear message."""

import functools
import hashlib
import http.server
import os
import socket
import tempfile
import threading
import time
import unittest
import urllib.request

from lib import RACKVM, GuestTestCase, find_guest, require_rackvm, run_quick

PROMPT = r"# "
# udhcpc reads the time CSR from user mode, which Linux 6.1 only opens (scounteren) in
# its SBI PMU driver, so the network guests boot on OpenSBI rather than the built-in SBI.
OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"


def free_port():
    """A TCP port nobody listens on right now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HostWebServer:
    """python3's http.server on 127.0.0.1 serving `directory`, on a thread."""

    def __init__(self, directory):
        handler = functools.partial(QuietHandler, directory=directory)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class NetGuestCase(GuestTestCase):
    """Base for tests with a networked guest: boots it and brings its NIC up."""

    def vm(self, netspec):
        """A VM with one virtio-net NIC on `netspec` (the --net value)."""
        if not os.path.isfile(OPENSBI):
            self.skipTest("%s missing: install the opensbi package (scripts/deps.sh --all)" % OPENSBI)
        return self.boot("console=ttyS0", "--firmware", OPENSBI, "--net", netspec)

    def shell(self, g, command, pattern, timeout=120):
        """Types `command` at the prompt and waits for `pattern` in its output."""
        g.send(command + "\n")
        return g.wait_for(pattern, timeout)

    def bring_up_by_dhcp(self, g):
        """DHCP on eth0: slirp hands out 10.0.2.15 with the gateway 10.0.2.2. The initramfs
        has no udhcpc script, so the lease is applied by hand from what udhcpc printed."""
        g.wait_for(r"GUEST-READY")
        g.wait_for(PROMPT)
        m = self.shell(g, "ip link set eth0 up && udhcpc -i eth0 -n -q -t 10 -s /bin/true",
                       r"lease of (\d+\.\d+\.\d+\.\d+) obtained")
        self.assertEqual(m.group(1), b"10.0.2.15")
        self.shell(g, "ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2 "
                      "&& echo NET-UP-$((1+1))", r"NET-UP-2")


class NetTest(NetGuestCase):

    def test_dhcp_then_download_from_host_through_the_gateway(self):
        with tempfile.TemporaryDirectory() as d:
            blob = os.urandom(1 << 20)
            with open(os.path.join(d, "blob.bin"), "wb") as f:
                f.write(blob)
            with HostWebServer(d) as web, self.vm("user") as g:
                self.bring_up_by_dhcp(g)
                m = self.shell(g, "wget -q -O /tmp/blob http://10.0.2.2:%d/blob.bin && "
                                  "echo SUM=$(sha256sum /tmp/blob)" % web.port,
                               r"SUM=([0-9a-f]{64})", timeout=240)
                self.assertEqual(m.group(1).decode(), hashlib.sha256(blob).hexdigest())
                g.send("poweroff -f\n")
                self.assertEqual(g.wait_exit(), 0, g.tail())

    def test_host_reaches_guest_web_server_through_hostfwd(self):
        port = free_port()
        with self.vm("user,hostfwd=tcp:127.0.0.1:%d-:8080" % port) as g:
            self.bring_up_by_dhcp(g)
            self.shell(g, "mkdir -p /tmp/www && echo hello-from-guest-$((6*7)) > /tmp/www/index.html "
                          "&& httpd -p 8080 -h /tmp/www && echo HTTPD-$((2+2))", r"HTTPD-4")
            body, deadline = None, time.monotonic() + 60
            while body is None:
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%d/index.html" % port,
                                                timeout=30) as r:
                        body = r.read().decode()
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(1)
            self.assertEqual(body.strip(), "hello-from-guest-42")
            g.send("poweroff -f\n")
            self.assertEqual(g.wait_exit(), 0, g.tail())


class NetCommandLineTest(unittest.TestCase):
    """Network configuration errors end rackvm at start with a message naming them."""

    def setUp(self):
        require_rackvm(self)
        self.guest = find_guest()
        if self.guest is None:
            self.skipTest("no guest to name on the command line")

    def run_with(self, netspec):
        return run_quick([RACKVM, "run", "--kernel", self.guest.kernel, "--initrd",
                          self.guest.initrd, "--net", netspec])

    def test_forwarded_port_in_use_is_refused(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            status, out, err = self.run_with("user,hostfwd=tcp:127.0.0.1:%d-:80" % port)
        self.assertNotEqual(status, 0)
        self.assertIn("rackvm: --net user: cannot forward host tcp port 127.0.0.1:%d" % port, err)
        self.assertIn("Address already in use", err)
        self.assertNotIn("GUEST-READY", out)

    def test_malformed_net_option_is_refused(self):
        status, out, err = self.run_with("user,hostfwd=tcp::80")
        self.assertNotEqual(status, 0)
        self.assertIn("--net", err)
        self.assertIn("hostfwd=tcp::80", err)

    def test_missing_tap_is_refused(self):
        status, out, err = self.run_with("tap=lo")
        self.assertNotEqual(status, 0)
        self.assertIn("--net tap=lo: cannot", err)


if __name__ == "__main__":
    unittest.main()
