"""`rackvm switch` driven by raw stream-framing peers (no VM, so these run in seconds):
learning and flooding over real sockets, a hostile frame length, a port that stops
reading, a flooding port, two switches kept apart, and bad command lines."""

import os
import re
import select
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from lib import RACKVM, require_rackvm, run_quick

BCAST = b"\xff" * 6


def mac(n):
    return bytes([0x52, 0x54, 0, 0, 0, n])


def frame(dst, src, payload=b"", size=60):
    body = dst + src + b"\x88\xb5" + payload
    return body + b"\0" * max(0, size - len(body))


def port_line(err, n):
    """The counters the switch printed as port n left."""
    lines = [l for l in err.splitlines()
             if l.startswith("rackvm switch: port %d " % n) and "(output full)" in l]
    assert lines, err
    return lines[0]


class Port:
    """One peer of the switch, speaking QEMU's stream framing."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""

    def send(self, f):
        self.sock.sendall(struct.pack(">I", len(f)) + f)

    def recv(self, timeout=5):
        """The next frame, or None when none comes within `timeout` (b"" at EOF)."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    f, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return f
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return None
            chunk = self.sock.recv(65536)
            if not chunk:
                return b""
            self.buf += chunk

    def recv_payload(self, payload, timeout=10):
        """Reads until a frame carrying `payload` comes; the frame, or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            f = self.recv(deadline - time.monotonic())
            if not f:
                return None
            if payload in f:
                return f
        return None

    def close(self):
        self.sock.close()


class Switch:
    def __init__(self, path, *flags):
        self.path = path
        self.proc = subprocess.Popen([RACKVM, "switch", "--listen", path, *flags],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self.err = ""
        self.cond = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()
        self.wait_err(r"listening on")

    def _pump(self):
        for line in self.proc.stderr:
            with self.cond:
                self.err += line.decode("utf-8", "replace")
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_err(self, pattern, timeout=10):
        """Waits for `pattern` on the switch's stderr (what it reports as ports come and go)."""
        with self.cond:
            if not self.cond.wait_for(lambda: re.search(pattern, self.err) or
                                      self.proc.poll() is not None, timeout) or \
                    not re.search(pattern, self.err):
                raise AssertionError("no %r from the switch:\n%s" % (pattern, self.err))

    def port(self):
        return Port(self.path)

    def stop(self):
        """Stops it with SIGTERM; returns (status, stderr)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with self.cond:
            self.cond.wait_for(lambda: self.proc.stderr.closed or "the switch stops" in self.err
                               or False, 2)
            return self.proc.returncode, self.err


class SwitchTest(unittest.TestCase):

    def setUp(self):
        require_rackvm(self)
        self.dir = tempfile.TemporaryDirectory(prefix="rackvm-switch-")
        self.addCleanup(self.dir.cleanup)
        self.sw = Switch(os.path.join(self.dir.name, "sw.sock"))
        self.addCleanup(self.sw.stop)

    def test_learns_floods_and_forwards(self):
        a, b, c = self.sw.port(), self.sw.port(), self.sw.port()
        a.send(frame(BCAST, mac(1), b"hello-all"))
        self.assertIsNotNone(b.recv_payload(b"hello-all"))
        self.assertIsNotNone(c.recv_payload(b"hello-all"))
        b.send(frame(mac(1), mac(2), b"to-a"))
        self.assertIsNotNone(a.recv_payload(b"to-a"))
        # mac(2) is learned on b now: a's reply goes to b alone, and c sees a later broadcast
        # first, proving it got nothing in between.
        a.send(frame(mac(2), mac(1), b"to-b"))
        self.assertIsNotNone(b.recv_payload(b"to-b"))
        a.send(frame(BCAST, mac(1), b"marker"))
        self.assertIn(b"marker", c.recv())
        # A frame of the largest size crosses whole.
        big = frame(mac(2), mac(1), b"big" + os.urandom(65000))
        a.send(big)
        self.assertEqual(b.recv_payload(b"big"), big)
        for p in (a, b, c):
            p.close()
        self.sw.wait_err(r"port 0 left: rx 4 frames")
        status, err = self.sw.stop()
        self.assertEqual(status, 0, err)

    def test_hostile_lengths_cost_only_that_port(self):
        a, b = self.sw.port(), self.sw.port()
        bad = self.sw.port()
        bad.sock.sendall(struct.pack(">I", 0) + struct.pack(">I", 0xffffffff))
        self.assertEqual(bad.recv(), b"")   # disconnected
        cut = self.sw.port()
        cut.sock.sendall(struct.pack(">I", 1000) + b"x" * 10)
        cut.close()
        self.sw.wait_err(r"port 2 left \(a truncated frame dropped\)")
        a.send(frame(BCAST, mac(1), b"still-up"))
        self.assertIsNotNone(b.recv_payload(b"still-up"))
        status, err = self.sw.stop()
        self.assertIn("over the framing's limit of 69632 bytes", err)
        self.assertRegex(err, r"port 2 disconnected.*dropped rx 0 \(rate\) 2 \(malformed\)")

    def test_a_peer_that_stops_reading_loses_frames_not_the_switch(self):
        a, b, stuck = self.sw.port(), self.sw.port(), self.sw.port()
        stuck.send(frame(BCAST, mac(9), b"learn-me"))
        a.send(frame(BCAST, mac(1)))
        b.send(frame(BCAST, mac(2)))
        chunk = frame(mac(9), mac(1), size=1500)
        for _ in range(20):           # 30 MB at the stuck port, far over its buffers
            a.sock.sendall((struct.pack(">I", len(chunk)) + chunk) * 1000)
        # a spent its byte budget on the jam: it may take the switch a moment to refill.
        for attempt in range(100):
            a.send(frame(mac(2), mac(1), b"after-the-jam"))
            if b.recv_payload(b"after-the-jam", timeout=0.2):
                break
        else:
            self.fail("b never heard from a after the jam")
        stuck.close()
        self.sw.wait_err(r"port 2 left")
        status, err = self.sw.stop()
        dropped = int(port_line(err, 2).split("tx ")[-1].split()[0])
        self.assertGreater(dropped, 0, err)

    def test_a_flooding_port_is_policed_and_others_still_talk(self):
        a, b, flood = self.sw.port(), self.sw.port(), self.sw.port()
        a.send(frame(BCAST, mac(1)))
        b.send(frame(BCAST, mac(2)))
        storm = struct.pack(">I", 60) + frame(BCAST, mac(7), size=60)
        for i in range(10):
            flood.sock.sendall(storm * 2000)
            a.send(frame(mac(2), mac(1), b"ping-%d" % i))
            self.assertIsNotNone(b.recv_payload(b"ping-%d" % i))
            b.send(frame(mac(1), mac(2), b"pong-%d" % i))
            self.assertIsNotNone(a.recv_payload(b"pong-%d" % i))
        flood.close()
        self.sw.wait_err(r"port 2 left")
        status, err = self.sw.stop()
        line = port_line(err, 2)
        rate_drops = int(line.split("dropped rx ")[1].split()[0])
        self.assertGreater(rate_drops, 0, line)

    def test_two_switches_are_two_networks(self):
        other = Switch(os.path.join(self.dir.name, "other.sock"))
        self.addCleanup(other.stop)
        a, b = self.sw.port(), self.sw.port()
        x = other.port()
        a.send(frame(BCAST, mac(1), b"only-here"))
        self.assertIsNotNone(b.recv_payload(b"only-here"))
        x.send(frame(BCAST, mac(3), b"over-there"))
        self.assertIsNone(b.recv_payload(b"over-there", timeout=1))


def ipv4_fragment(src_mac, payload, offset, more, ident):
    """An IPv4 fragment of a UDP datagram from 10.0.2.22 to the gateway 10.0.2.2."""
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident,
                      (0x2000 if more else 0) | offset // 8, 64, 17, 0,
                      bytes([10, 0, 2, 22]), bytes([10, 0, 2, 2]))
    total = sum(struct.unpack("!10H", hdr))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    hdr = hdr[:10] + struct.pack("!H", ~total & 0xffff) + hdr[12:]   # slirp checks it
    return BCAST + src_mac + b"\x08\x00" + hdr + payload


def arp_request_for_gateway(src_mac):
    return (BCAST + src_mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
            + src_mac + bytes([10, 0, 2, 22]) + b"\0" * 6 + bytes([10, 0, 2, 2])).ljust(60, b"\0")


class SwitchUplinkTest(unittest.TestCase):
    """The uplink's far end is libslirp: it answers for the gateway, and a flood of IPv4
    fragments, which crashes libslirp 4.7.0 after about a thousand datagrams, never
    reaches it."""

    def setUp(self):
        require_rackvm(self)
        self.dir = tempfile.TemporaryDirectory(prefix="rackvm-switch-")
        self.addCleanup(self.dir.cleanup)
        self.sw = Switch(os.path.join(self.dir.name, "sw.sock"), "--uplink", "user")
        self.addCleanup(self.sw.stop)

    def gateway_mac(self, p):
        """Asks for 10.0.2.2 until slirp answers (broadcasts are policed); its MAC."""
        for _ in range(40):
            p.send(arp_request_for_gateway(mac(0x16)))
            reply = p.recv_payload(bytes([10, 0, 2, 2]) + mac(0x16), timeout=0.5)
            if reply and reply[12:14] == b"\x08\x06":
                return reply[6:12]
        self.fail("no ARP reply from the uplink:\n" + self.sw.err)

    def test_fragment_flood_leaves_the_uplink_working(self):
        # Before slirp knows the sender's MAC, as from a guest that never used the gateway.
        p = self.sw.port()
        udp = struct.pack("!HHHH", 1234, 9, 8 + 2000, 0) + b"\0" * 2000
        for i in range(3000):
            p.send(ipv4_fragment(mac(0x16), udp[:1480], 0, True, i))
            p.send(ipv4_fragment(mac(0x16), udp[1480:], 1480, False, i))
        self.gateway_mac(p)
        self.assertIsNone(self.sw.proc.poll(), self.sw.err)


class SwitchCommandLineTest(unittest.TestCase):

    def setUp(self):
        require_rackvm(self)

    def test_bad_command_lines(self):
        with tempfile.TemporaryDirectory() as d:
            status, _, err = run_quick([RACKVM, "switch"])
            self.assertEqual(status, 2)
            self.assertIn("--listen SOCKET is required", err)
            status, _, err = run_quick([RACKVM, "switch", "--listen", os.path.join(d, "s"),
                                        "--uplink", "tap=tap0"])
            self.assertEqual(status, 2)
            self.assertIn("only user", err)
            regular = os.path.join(d, "file")
            open(regular, "w").close()
            status, _, err = run_quick([RACKVM, "switch", "--listen", regular])
            self.assertEqual(status, 1)
            self.assertIn("not a socket", err)
            self.assertTrue(os.path.isfile(regular))
            live = os.path.join(d, "live.sock")
            sw = Switch(live)
            try:
                status, _, err = run_quick([RACKVM, "switch", "--listen", live])
                self.assertEqual(status, 1)
                self.assertIn("another switch is listening", err)
                self.assertIsNotNone(Port(live))   # the first still serves
            finally:
                sw.stop()
            self.assertFalse(os.path.exists(live))
