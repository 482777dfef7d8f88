"""Host signals: SIGTERM presses the guest's power button and a listening guest (the
project's init, scripts/guest/init) powers off cleanly with status 0; a guest that does
not listen is stopped when --shutdown-timeout runs out (status 128 + signal); a second
SIGINT stops at once; SIGHUP is ignored when the console is a pipe; the terminal mode
is restored after a SIGTERM on a pty; a console reader that goes away (stdout
closed) leaves the VM running, and one that stops reading does not keep two SIGTERMs
from ending rackvm; nor does a hart thread that never comes back from the host.

The guest's initramfs gets a small newc archive appended that replaces /init (Linux
unpacks concatenated archives in order), so any guest's kernel and busybox serve."""

import ctypes
import gzip
import os
import pty
import select
import signal
import subprocess
import tempfile
import termios
import time

from lib import BOOT_TIMEOUT, RACKVM, ROOT, Guest, GuestTestCase, read_until, reap

PROJECT_INIT = os.path.join(ROOT, "scripts", "guest", "init")
PTRACE_SEIZE, PTRACE_INTERRUPT = 0x4206, 0x4207
WALL = 0x40000000
# A guest that never looks at its input devices, though its kernel drives them: like the
# project's init it makes busybox's links and loads the modules of /etc/modules (Debian's
# kernel and busybox-static need both; a kernel with the drivers built in has no list).
DEAF_INIT = b"""#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox --install -s 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
if [ -f /etc/modules ]; then
    while read -r module; do modprobe "$module"; done </etc/modules
fi
echo GUEST-READY
exec sh
"""


def read(path):
    with open(path) as f:
        return f.read().strip()


def newc_archive(files):
    """A newc cpio archive of (name, data, mode) regular files."""
    out = bytearray()
    for ino, (name, data, mode) in enumerate(files + [("TRAILER!!!", b"", 0)], 1):
        name_b = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0)
        out += b"070701" + "".join("%08x" % f for f in fields).encode() + name_b
        out += b"\0" * (-len(out) % 4)
        out += data + b"\0" * (-len(data) % 4)
    return bytes(out + b"\0" * (-len(out) % 512))


def initrd_with_init(base, init, path):
    """Writes to path the initramfs `base` with /init replaced by `init` (bytes)."""
    with open(base, "rb") as f, open(path, "wb") as out:
        out.write(f.read())
        out.write(gzip.compress(newc_archive([("init", init, 0o100755)])))


class SignalTest(GuestTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def initrd(self, init):
        path = os.path.join(self.tmp.name, "initrd-%d.gz" % len(os.listdir(self.tmp.name)))
        initrd_with_init(self.guest.initrd, init, path)
        return path

    def argv(self, init, *flags):
        return [RACKVM, "run", "--kernel", self.guest.kernel, "--initrd", self.initrd(init),
                "--cmdline", "console=ttyS0", *flags]

    def listening(self, *flags):
        with open(PROJECT_INIT, "rb") as f:
            return Guest(self.argv(f.read(), *flags))

    def deaf(self, *flags):
        return Guest(self.argv(DEAF_INIT, *flags))

    def test_sigterm_powers_off_a_listening_guest(self):
        with self.listening("--shutdown-timeout", "60") as g:
            g.wait_for(r"GUEST-READY")
            g.wait_for(r"# ")
            start = time.monotonic()
            g.signal(signal.SIGTERM)
            g.wait_for(r"GUEST-POWER-BUTTON", 30)
            self.assertEqual(g.wait_exit(30), 0, g.tail())
            took = time.monotonic() - start
            self.assertLess(took, 30)
            print("\nSIGTERM to a clean guest poweroff took %.1f s" % took)
            self.assertIn("SIGTERM: pressed the guest's power button", g.errors)
            self.assertNotIn("forcing the exit (status", g.errors)

    def test_sigterm_stops_a_deaf_guest_after_the_timeout(self):
        with self.deaf("--shutdown-timeout", "3") as g:
            g.wait_for(r"GUEST-READY")
            start = time.monotonic()
            g.signal(signal.SIGTERM)
            self.assertEqual(g.wait_exit(30), 128 + signal.SIGTERM, g.tail())
            took = time.monotonic() - start
            self.assertGreaterEqual(took, 2.9)
            self.assertIn("SIGTERM: pressed the guest's power button; forcing the exit in 3 s",
                          g.errors)
            self.assertIn("did not power off within 3 s of SIGTERM: forcing the exit "
                          "(status 143)", g.errors)

    def test_second_sigint_stops_at_once(self):
        with self.deaf() as g:   # the default timeout, 30 s, never comes into play
            g.wait_for(r"GUEST-READY")
            g.signal(signal.SIGINT)
            time.sleep(0.5)
            start = time.monotonic()
            g.signal(signal.SIGINT)
            self.assertEqual(g.wait_exit(30), 128 + signal.SIGINT, g.tail())
            self.assertLess(time.monotonic() - start, 10)
            self.assertIn("second signal (SIGINT): forcing the exit now (status 130)", g.errors)

    @staticmethod
    def exit_reaping(g, thread, timeout):
        """The VM's exit status within `timeout` s (else None), reaping the thread this
        process traces: its end is reported here, and until it is reaped the monitor's
        own exit status never reaches its parent."""
        deadline = time.monotonic() + timeout
        while g.poll() is None and time.monotonic() < deadline:
            try:
                os.waitpid(thread, os.WNOHANG | WALL)
            except ChildProcessError:
                pass
            time.sleep(0.1)
        return g.poll()

    def test_forced_stop_ends_rackvm_even_with_a_hart_stuck_in_the_host(self):
        """A hart thread that never returns to its run loop (a translator bug would look
        so; here ptrace holds the thread alone) cannot keep rackvm from ending: it exits
        128 + signal 10 s after the forced stop."""
        libc = ctypes.CDLL(None, use_errno=True)
        libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        with self.deaf("--shutdown-timeout", "0") as g:
            g.wait_for(r"GUEST-READY")
            task = "/proc/%d/task" % g.pid
            hart = next(int(t) for t in os.listdir(task)
                        if read(os.path.join(task, t, "comm")) == "hart0")
            for request in (PTRACE_SEIZE, PTRACE_INTERRUPT):
                if libc.ptrace(request, hart, None, None) != 0:
                    self.skipTest("cannot ptrace the hart thread: %s"
                                  % os.strerror(ctypes.get_errno()))
            start = time.monotonic()
            g.signal(signal.SIGTERM)
            status = self.exit_reaping(g, hart, 30)
            took = time.monotonic() - start
            if status is None:
                g.signal(signal.SIGKILL)
                self.exit_reaping(g, hart, 10)
            self.assertEqual(status, 128 + signal.SIGTERM, g.tail())
            self.assertGreaterEqual(took, 9.5)
            self.assertIn("the VM did not stop within 10 s of the forced stop (a thread stuck "
                          "in the host): exiting now (status 143)", g.errors)

    def test_sighup_with_a_piped_console_is_ignored(self):
        with self.deaf() as g:
            g.wait_for(r"GUEST-READY")
            g.signal(signal.SIGHUP)
            time.sleep(1)
            g.send("echo alive-$((6*7))\n")
            g.wait_for(r"alive-42", 60)
            g.send("poweroff -f\n")
            self.assertEqual(g.wait_exit(60), 0, g.tail())
            self.assertNotIn("SIGHUP", g.errors)

    def test_closed_stdout_leaves_the_vm_running(self):
        argv = self.argv(DEAF_INIT)
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        try:
            seen = b""
            deadline = time.monotonic() + BOOT_TIMEOUT
            while b"GUEST-READY" not in seen and time.monotonic() < deadline:
                chunk = p.stdout.read1(65536)
                if not chunk:
                    break
                seen += chunk
            self.assertIn(b"GUEST-READY", seen)
            p.stdout.close()   # the reader of the console goes away
            # Output the console can no longer write; the guest goes on regardless.
            p.stdin.write(b"i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done\n")
            p.stdin.flush()
            time.sleep(3)
            self.assertIsNone(p.poll(), "rackvm died when its stdout closed")
            p.stdin.write(b"poweroff -f\n")
            p.stdin.flush()
            self.assertEqual(p.wait(60), 0)   # the guest still read and ran that
            err = p.stderr.read().decode()
            self.assertIn("console: cannot write guest output (Broken pipe)", err)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            for f in (p.stdin, p.stderr):
                f.close()

    def test_stalled_stdout_reader_does_not_block_a_forced_exit(self):
        # Nobody reads rackvm's stdout: the pipe and the console queue fill up and the
        # guest's console writes wait. Two SIGTERMs must still end rackvm.
        p = subprocess.Popen(self.argv(DEAF_INIT), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        try:
            # Read the console until the guest's shell runs (how long that takes depends on
            # the guest), then never again.
            seen = b""
            deadline = time.monotonic() + BOOT_TIMEOUT
            while b"GUEST-READY" not in seen:
                left = deadline - time.monotonic()
                self.assertGreater(left, 0, "no GUEST-READY: %r" % seen[-2000:])
                if select.select([p.stdout], [], [], left)[0]:
                    chunk = os.read(p.stdout.fileno(), 65536)
                    self.assertTrue(chunk, "rackvm closed its stdout: %r" % seen[-2000:])
                    seen += chunk
            p.stdin.write(b"while true; do echo flooding-the-console-flooding-the-console; done\n")
            p.stdin.flush()
            time.sleep(5)
            self.assertIsNone(p.poll())
            start = time.monotonic()
            p.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(30), 128 + signal.SIGTERM)
            took = time.monotonic() - start
            self.assertLess(took, 10)
            err = p.stderr.read().decode()
            self.assertIn("(status 143)", err)
            self.assertIn("console: the output reader stalled", err)
            print("\nforced exit with a stalled stdout reader took %.1f s" % took)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            for f in (p.stdin, p.stdout, p.stderr):
                f.close()

    def signal_on_a_pty(self, sig):
        """Boots a deaf guest with a pty for its console, sends `sig` once it runs, and
        returns (exit status, everything the pty showed, termios before, termios after)."""
        master, slave = pty.openpty()
        before = termios.tcgetattr(slave)
        p = subprocess.Popen(self.argv(DEAF_INIT, "--shutdown-timeout", "0"), stdin=slave,
                             stdout=slave, stderr=slave, start_new_session=True)
        try:
            seen = read_until(master, b"GUEST-READY", BOOT_TIMEOUT)
            self.assertIn(b"GUEST-READY", seen)
            during = termios.tcgetattr(slave)
            self.assertFalse(during[3] & termios.ICANON, "the console is not in raw mode")
            p.send_signal(sig)
            status = p.wait(30)
            while select.select([master], [], [], 0.2)[0]:
                seen += os.read(master, 65536)
            return status, seen, before, termios.tcgetattr(slave)
        finally:
            reap(p, master, slave)

    def test_terminal_mode_restored_after_sigterm_on_a_pty(self):
        status, seen, before, after = self.signal_on_a_pty(signal.SIGTERM)
        self.assertEqual(status, 128 + signal.SIGTERM, seen[-2000:])
        self.assertIn(b"SIGTERM: the guest cannot be asked to power off (--shutdown-timeout 0)",
                      seen)
        self.assertEqual(after, before)

    def test_sighup_with_a_terminal_console_acts_as_sigterm(self):
        status, seen, before, after = self.signal_on_a_pty(signal.SIGHUP)
        self.assertEqual(status, 128 + signal.SIGHUP, seen[-2000:])
        self.assertIn(b"SIGHUP: the guest cannot be asked to power off", seen)
        self.assertEqual(after, before)
