"""The control socket (`rackvm run --api-socket PATH`) against the reference guest:
pause stops the guest (a counter it prints stands still) and freezes its time (a 3 s
pause is far less than 3 s of guest uptime across it), resume continues, and a stop
while paused presses the power button and powers the guest off cleanly (exit 0, socket
file removed); disk and NIC counters move with traffic; bad requests each get an
error while the VM runs on; a second rackvm on the same live socket is refused;
reset reboots the guest; a forced stop ends it at once; a guest that ignores its
power button is stopped once --shutdown-timeout has run out; console keys typed while
paused reach the guest on resume, and Ctrl-A x stops a paused VM.

The guest's initramfs gets the project's init (scripts/guest/init, which powers off
when its power button is pressed), as in test_signals."""

import json
import os
import re
import socket
import subprocess
import tempfile
import time

from lib import RACKVM, GuestTestCase, Guest
from test_signals import DEAF_INIT, PROJECT_INIT, initrd_with_init


class Client:
    """One connection to the control socket: request() sends a line, returns the answer."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(path)
        self.file = self.sock.makefile("rwb")

    def raw(self, line):
        self.file.write(line.encode() + b"\n")
        self.file.flush()
        answer = self.file.readline()
        if not answer:
            raise AssertionError("the control socket closed after %r" % line)
        return json.loads(answer)

    def request(self, command, **args):
        return self.raw(json.dumps(dict(command=command, **args)))

    def close(self):
        self.file.close()
        self.sock.close()


class ApiTest(GuestTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.sock = os.path.join(self.tmp.name, "vm.sock")
        self.initrd = os.path.join(self.tmp.name, "initrd.gz")
        with open(PROJECT_INIT, "rb") as f:
            initrd_with_init(self.guest.initrd, f.read(), self.initrd)

    def start(self, *flags, init=None, tty=False):
        initrd = self.initrd
        if init:
            initrd = os.path.join(self.tmp.name, "initrd-custom.gz")
            initrd_with_init(self.guest.initrd, init, initrd)
        g = Guest([RACKVM, "run", "--kernel", self.guest.kernel, "--initrd", initrd,
                   "--cmdline", "console=ttyS0", "--api-socket", self.sock, *flags], tty=tty)
        self.addCleanup(g.kill)
        g.wait_for(r"GUEST-READY")
        client = Client(self.sock)
        self.addCleanup(client.close)
        return g, client

    def shell(self, g, command, done):
        """Runs command in the guest's shell until it prints `done` (quoted in the
        command, so that the terminal's echo of the line does not match)."""
        g.send(command + "; echo '" + done[0] + "'" + done[1:] + "\n")
        g.wait_for(r"^" + done + r"\r?\n", timeout=60)

    def test_pause_freezes_the_guest_and_stop_powers_it_off(self):
        g, c = self.start()
        self.assertEqual(c.request("status")["state"], "running")
        g.send("while :; do read -r up _ </proc/uptime; echo TICK $up; sleep 0.2; done &\n")
        g.wait_for(r"TICK [0-9.]+\r?\n", timeout=60)
        g.wait_for(r"TICK [0-9.]+\r?\n", timeout=60)

        self.assertEqual(c.request("pause"), {"ok": True, "state": "paused"})
        paused_at = time.monotonic()
        status = c.request("status")
        self.assertEqual(status["state"], "paused")
        self.assertEqual(c.request("pause")["state"], "paused")  # harmless twice
        time.sleep(0.5)  # console output queued before the pause reaches us
        ticks = g.output.count("TICK")
        time.sleep(2.5)
        self.assertEqual(g.output.count("TICK"), ticks, "the guest printed while paused")
        self.assertEqual(c.request("status")["guest_time"], status["guest_time"])
        before = float(re.findall(r"TICK ([0-9.]+)", g.output)[-1])

        self.assertEqual(c.request("resume"), {"ok": True, "state": "running"})
        self.assertGreaterEqual(time.monotonic() - paused_at, 3)
        after = float(g.wait_for(r"TICK ([0-9.]+)\r?\n", timeout=60).group(1))
        self.assertLess(after - before, 2.0, "the guest's uptime jumped across a 3 s pause")
        self.assertGreater(c.request("status")["guest_time"], status["guest_time"])

        # A stop while paused resumes the guest so that it can power off.
        self.assertEqual(c.request("pause")["state"], "paused")
        self.assertEqual(c.request("stop"), {"ok": True, "stop": "power-button", "timeout": 30})
        g.wait_for(r"GUEST-POWER-BUTTON", timeout=60)
        self.assertEqual(g.wait_exit(60), 0)
        if os.path.exists(self.sock):
            # Started as root, the sandboxed rackvm is `nobody` at exit and may not unlink a
            # file in root's directory: what is left must be a stale socket (README, Security).
            self.assertEqual(os.getuid(), 0, "the socket file outlived rackvm")
            with socket.socket(socket.AF_UNIX) as s:
                self.assertRaises(ConnectionRefusedError, s.connect, self.sock)

    def test_stats_and_bad_requests(self):
        disk = os.path.join(self.tmp.name, "disk.img")
        with open(disk, "wb") as f:
            f.truncate(4 << 20)
        g, c = self.start("--disk", "path=" + disk, "--net", "user")

        # A second rackvm on the same live socket is refused before it boots anything.
        second = subprocess.run([RACKVM, "run", "--kernel", self.guest.kernel,
                                 "--api-socket", self.sock], capture_output=True, timeout=30)
        self.assertNotEqual(second.returncode, 0)
        self.assertIn(b"another process is listening", second.stderr)

        bad = {
            "not json": "not JSON",
            "[1, 2]": "must be a JSON object",
            '{"id": 4}': 'no \\"command\\" string',
            '{"command": "launch"}': "unknown command 'launch'",
            '{"command": "pause", "now": true}': "unknown argument 'now'",
            '{"command": "stop", "force": "yes"}': 'must be true or false',
            "\u00e9\u00e9": "not JSON",
        }
        for line, error in bad.items():
            answer = c.raw(line)
            self.assertFalse(answer["ok"], line)
            self.assertIn(error, json.dumps(answer["error"]), line)
        second_client = Client(self.sock)
        self.addCleanup(second_client.close)
        self.assertEqual(second_client.request("status", id="x")["id"], "x")

        first = c.request("stats")
        self.assertEqual(len(first["disks"]), 1)
        self.assertEqual(first["disks"][0]["path"], disk)
        self.assertEqual(len(first["nics"]), 1)
        # Dropping the page cache first: the boot read the disk's start already.
        self.shell(g, "echo 3 >/proc/sys/vm/drop_caches; "
                      "dd if=/dev/vda of=/dev/null bs=64k count=16; "
                      "dd if=/dev/urandom of=/dev/vda bs=4k count=8 conv=fsync",
                   "DISK-DONE")
        self.shell(g, "ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && "
                      "ping -c 2 -W 2 10.0.2.2 >/dev/null 2>&1", "NET-DONE")
        after = c.request("stats")
        d0, d1 = first["disks"][0], after["disks"][0]
        self.assertGreaterEqual(d1["read_bytes"] - d0["read_bytes"], 1 << 20)
        self.assertGreater(d1["read_requests"], d0["read_requests"])
        self.assertGreaterEqual(d1["written_bytes"] - d0["written_bytes"], 32 << 10)
        self.assertGreater(d1["write_requests"], d0["write_requests"])
        self.assertGreater(d1["flush_requests"], d0["flush_requests"])
        n0, n1 = first["nics"][0], after["nics"][0]
        for key in ("tx_packets", "tx_bytes", "rx_packets", "rx_bytes"):
            self.assertGreater(n1[key], n0[key], key)
        self.assertGreater(after["host_cpu_time"], 0)
        self.assertGreater(after["rss_bytes"], 1 << 20)
        self.assertGreater(after["guest_time"], first["guest_time"])

        # The VM ran on through all of it.
        self.assertEqual(c.request("status")["state"], "running")
        self.shell(g, "echo $((6*7))", "STILL-HERE")
        self.assertEqual(c.request("stop", force=True), {"ok": True, "stop": "forced"})
        self.assertEqual(g.wait_exit(60), 0)

    def test_reset_reboots_the_guest(self):
        g, c = self.start()
        self.assertEqual(c.request("reset"), {"ok": True, "restarts": True})
        g.wait_for(r"GUEST-READY")
        # The same connection serves the new boot.
        for _ in range(100):
            if c.request("status")["state"] == "running":
                break
            time.sleep(0.1)
        self.assertEqual(c.request("status")["state"], "running")
        self.assertEqual(c.request("stop", force=True)["stop"], "forced")
        self.assertEqual(g.wait_exit(60), 0)

    def test_stop_forces_a_deaf_guest_after_the_timeout(self):
        g, c = self.start("--shutdown-timeout", "2", init=DEAF_INIT)
        self.assertEqual(c.request("stop"), {"ok": True, "stop": "power-button", "timeout": 2})
        asked = time.monotonic()
        self.assertEqual(g.wait_exit(60), 0)
        self.assertGreaterEqual(time.monotonic() - asked, 1.5)
        self.assertIn("did not power off within 2 s of the control socket's stop", g.errors)

    def test_console_while_paused(self):
        """Keys typed while paused wait in rackvm and reach the guest on resume; Ctrl-A x
        still stops a paused VM."""
        g, c = self.start(tty=True)
        self.assertEqual(c.request("pause")["state"], "paused")
        g.send("echo $((6*7))X\r")
        time.sleep(1)
        self.assertNotIn("42X", g.output)
        c.request("resume")
        g.wait_for(r"42X", timeout=60)
        self.assertEqual(c.request("pause")["state"], "paused")
        g.send(b"\x01x")
        self.assertEqual(g.wait_exit(60), 0)
