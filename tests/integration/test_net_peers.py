"""Host peers of a forwarded port cannot hurt the VM: a guest web server published with
hostfwd serves a 20 MB file while host clients hang up after the first kilobyte (the
issue's `curl ... | head -c 1000`), reset mid-transfer (SO_LINGER 0), or connect and
never send, hundreds at a time; afterwards rackvm still runs, its RSS has not run away,
and a full download matches the guest's own sha256."""

import concurrent.futures
import hashlib
import socket
import struct
import time

from test_net import NetGuestCase, free_port

FILE_MB = 20
REQUEST = b"GET /big HTTP/1.0\r\nHost: guest\r\n\r\n"


def connect(port, timeout=60):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def hang_up_early(port, how):
    """Asks for the file, reads about a kilobyte, then goes away: "close" (with unread
    data: the kernel sends RST), "reset" (SO_LINGER 0), or "half-close" (FIN first, so
    the forwarder sees a clean end of stream and writes on, into a reset socket)."""
    got = b""
    try:
        with connect(port, timeout=30) as s:
            s.sendall(REQUEST)
            while len(got) < 1000:
                chunk = s.recv(1000 - len(got))
                if not chunk:
                    break
                got += chunk
            if how == "reset":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif how == "half-close":
                s.shutdown(socket.SHUT_WR)
                time.sleep(0.2)
    except OSError:   # refused, reset or slow: whether rackvm is still there is checked next
        pass
    return len(got)


HOW = ("close", "reset", "half-close")


def download(port):
    """The whole file: (body length, sha256 hex of the body)."""
    with connect(port, timeout=120) as s:
        s.sendall(REQUEST)
        data = bytearray()
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0]:
        raise AssertionError("bad response: %r" % head[:200])
    return len(body), hashlib.sha256(body).hexdigest()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


class HostPeerTest(NetGuestCase):

    def serving_vm(self):
        """A VM whose httpd serves /big (FILE_MB of random bytes) on a forwarded port;
        returns (guest, port, sha256 of /big as the guest computes it)."""
        port = free_port()
        g = self.vm("user,hostfwd=tcp:127.0.0.1:%d-:80" % port)
        try:
            self.bring_up_by_dhcp(g)
            m = self.shell(g, "mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/big bs=1M "
                              "count=%d 2>/dev/null && httpd -p 80 -h /tmp/www && "
                              "echo SUM=$(sha256sum /tmp/www/big)" % FILE_MB,
                           r"SUM=([0-9a-f]{64})", timeout=240)
        except BaseException:
            g.kill()
            raise
        return g, port, m.group(1).decode()

    def assert_running(self, g):
        self.assertIsNone(g._proc.poll(), "rackvm exited (status %s):\n%s" % (
            g._proc.returncode, g.tail()))

    def assert_alive_and_serving(self, g, port, digest):
        self.assert_running(g)
        self.assertEqual(download(port), (FILE_MB << 20, digest))
        self.shell(g, "echo alive-$((6*7))", r"alive-42")

    def test_early_hang_ups_then_hundreds_of_hostile_clients(self):
        g, port, digest = self.serving_vm()
        with g:
            # The issue: `curl ... | head -c 1000` killed the VM with SIGPIPE.
            for i in range(6):
                got = hang_up_early(port, HOW[i % 3])
                time.sleep(0.5)   # a SIGPIPE'd rackvm is surely gone by now
                self.assert_running(g)
                self.assertGreater(got, 0, "no data for client %d" % i)
            self.assert_alive_and_serving(g, port, digest)

            rss_before = rss_kib(g._proc.pid)
            idle = []
            try:
                # libslirp listens with a backlog of 1, so connects beyond what it has
                # accepted wait for SYN retries: many at once overlap those waits.
                with concurrent.futures.ThreadPoolExecutor(64) as pool:
                    idle += pool.map(lambda _: connect(port), range(200))   # never send
                    served = sum(n > 0 for n in pool.map(lambda i: hang_up_early(port, HOW[i % 3]),
                                                         range(99)))
                self.assert_alive_and_serving(g, port, digest)
            finally:
                for s in idle:
                    s.close()
            rss_after = rss_kib(g._proc.pid)
            print("\nrackvm RSS: %d MiB after a download, %d MiB after 200 idle and 99 "
                  "hanging-up clients (%d got data) and another download" % (
                      rss_before >> 10, rss_after >> 10, served))
            # Guest RAM the guest touches counts too; 64 MiB is far above that and far below
            # what per-connection buffering without bounds would take.
            self.assertLess(rss_after - rss_before, 64 << 10)
            g.send("poweroff -f\n")
            self.assertEqual(g.wait_exit(), 0, g.tail())
