"""Harness for booting a guest under a VM monitor (build/rackvm, or any command line
such as qemu-system-riscv64) and talking to its console, python3 stdlib only.

    with Guest(rackvm_argv(guest, cmdline="console=ttyS0")) as g:
        g.wait_for(r"GUEST-READY")
        g.send("echo $((6*7))\n")
        g.wait_for(r"\n42\r?\n")
        g.send("poweroff -f\n")
        status = g.wait_exit()

Every wait has a deadline; on expiry the VM is killed and GuestTimeout carries the tail
of the console so a failing test shows what the guest printed.
"""

import os
import pty
import re
import select
import signal
import subprocess
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# $RACKVM points the tests at another build (a sanitizer build, say).
RACKVM = os.environ.get("RACKVM", os.path.join(ROOT, "build", "rackvm"))

# An interpreter boots Linux far slower than QEMU's JIT; RACKVM_TEST_TIMEOUT scales it.
BOOT_TIMEOUT = float(os.environ.get("RACKVM_TEST_TIMEOUT", "240"))
# All waits together stop at this many seconds after import, so a hanging VM cannot
# push `make test` past its time limit one test at a time.
SUITE_BUDGET = float(os.environ.get("RACKVM_TEST_BUDGET", "720"))
_suite_deadline = time.monotonic() + SUITE_BUDGET


def _bounded(timeout):
    """`timeout` cut to what is left of the suite's budget."""
    left = _suite_deadline - time.monotonic()
    if left <= 0:
        raise GuestTimeout("the integration suite's time budget (%gs, $RACKVM_TEST_BUDGET) "
                           "is used up" % SUITE_BUDGET)
    return min(timeout, left)


class GuestTimeout(AssertionError):
    """A pattern or the exit did not come in time."""


class GuestFiles:
    """Paths of a bootable guest: a kernel Image and its initramfs."""

    def __init__(self, directory):
        self.directory = directory
        self.kernel = os.path.join(directory, "Image")
        self.initrd = os.path.join(directory, "initramfs.cpio.gz")

    def present(self):
        return os.path.isfile(self.kernel) and os.path.isfile(self.initrd)


def user_namespaces_allowed():
    """Whether an ordinary user may create a user namespace here (Debian 12: yes)."""
    for path, off in (("/proc/sys/user/max_user_namespaces", "0"),
                      ("/proc/sys/kernel/unprivileged_userns_clone", "0")):
        try:
            with open(path) as f:
                if f.read().strip() == off:
                    return False
        except FileNotFoundError:
            pass
    return True


def jail_possible(ordinary_user=False):
    """Whether rackvm can jail a VM here, as its jail_possible() decides: run as root (or,
    with ordinary_user, where an ordinary user may have a user namespace), and / a mount
    point (in a chroot it is not, and --sandbox jail is refused)."""
    if not (user_namespaces_allowed() if ordinary_user else os.geteuid() == 0):
        return False
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == "/" for line in f)


def guest_candidates():
    """Where a guest may be, best first: $RACKVM_GUEST_DIR, guest/ built by
    scripts/build-guest.sh, then the reference guest in ../shared/guest."""
    dirs = []
    if os.environ.get("RACKVM_GUEST_DIR"):
        dirs.append(os.environ["RACKVM_GUEST_DIR"])
    dirs.append(os.path.join(ROOT, "guest"))
    dirs.append(os.path.join(os.path.dirname(ROOT), "shared", "guest"))
    return [GuestFiles(d) for d in dirs]


def find_guest():
    """The first guest present, or None."""
    for g in guest_candidates():
        if g.present():
            return g
    return None


def require_guest(test):
    """The guest to boot; skips `test` with the places looked at when there is none."""
    g = find_guest()
    if g is None:
        where = ", ".join(c.directory for c in guest_candidates())
        test.skipTest("no guest Image + initramfs.cpio.gz in %s; "
                      "build one with scripts/build-guest.sh" % where)
    return g


def require_rackvm(test):
    """Fails `test` (not skips: `make test` builds it) when rackvm is missing."""
    if not os.access(RACKVM, os.X_OK):
        test.fail("%s is missing: run `make` first" % RACKVM)


def rackvm_argv(guest, cmdline="console=ttyS0", *flags):
    """A `rackvm run` command line booting `guest` with extra `flags`."""
    return [RACKVM, "run", "--kernel", guest.kernel, "--initrd", guest.initrd,
            "--cmdline", cmdline, *flags]


def qemu_argv(guest, cmdline="console=ttyS0", memory="256", cpus=1):
    """QEMU's virt board booting the same guest: the peer for comparisons and for
    checking this harness itself."""
    return ["qemu-system-riscv64", "-M", "virt", "-m", str(memory), "-smp", str(cpus),
            "-nographic", "-bios", "default", "-kernel", guest.kernel,
            "-initrd", guest.initrd, "-append", cmdline, "-no-reboot"]


class Guest:
    """A running VM: its console output is collected by a reader thread, so waits
    never block on a full pipe. Use it as a context manager so it is always reaped.
    With tty=True its stdin is a terminal (a pty), so the console's Ctrl-A keys work."""

    def __init__(self, argv, env=None, tty=False):
        self.argv = list(argv)
        self._tty = None
        stdin = subprocess.PIPE
        if tty:
            self._tty, stdin = pty.openpty()
        try:
            self._proc = subprocess.Popen(self.argv, stdin=stdin,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          env=env, start_new_session=True)
        finally:
            if tty:
                os.close(stdin)
        self._out = bytearray()
        self._err = bytearray()
        self._cond = threading.Condition()
        self._readers = [
            threading.Thread(target=self._pump, args=(self._proc.stdout, self._out), daemon=True),
            threading.Thread(target=self._pump, args=(self._proc.stderr, self._err), daemon=True),
        ]
        for r in self._readers:
            r.start()
        self._search_from = 0

    def _pump(self, stream, buf):
        while True:
            chunk = stream.read1(65536)
            with self._cond:
                if not chunk:
                    self._cond.notify_all()
                    return
                buf += chunk
                self._cond.notify_all()

    @property
    def pid(self):
        """The monitor's process id (for /proc figures)."""
        return self._proc.pid

    def poll(self):
        """The exit status if the VM has exited, else None."""
        return self._proc.poll()

    @property
    def output(self):
        """All console output so far, as text."""
        with self._cond:
            return self._out.decode("utf-8", "replace")

    @property
    def errors(self):
        """All the monitor's stderr so far, as text."""
        with self._cond:
            return self._err.decode("utf-8", "replace")

    def tail(self, n=40):
        lines = self.output.splitlines()[-n:]
        err = self.errors.strip()
        text = "\n".join(lines)
        if err:
            text += "\n--- stderr ---\n" + err[-4000:]
        return text

    def wait_for(self, pattern, timeout=BOOT_TIMEOUT):
        """Waits until `pattern` (a regex, searched past the previous match) appears on
        the console; returns the match. Raises GuestTimeout, or AssertionError if the
        VM exits first."""
        regex = re.compile(pattern.encode() if isinstance(pattern, str) else pattern,
                           re.MULTILINE)
        timeout = _bounded(timeout)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = regex.search(self._out, self._search_from)
                if m:
                    self._search_from = m.end()
                    return m
                if self._proc.poll() is not None and not any(r.is_alive() for r in self._readers):
                    raise AssertionError("VM exited with %s before %r appeared:\n%s" % (
                        self._proc.returncode, pattern, self._tail_locked()))
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.5))
        self.kill()
        raise GuestTimeout("no %r within %gs:\n%s" % (pattern, timeout, self.tail()))

    def _tail_locked(self):
        text = self._out.decode("utf-8", "replace").splitlines()[-40:]
        err = self._err.decode("utf-8", "replace").strip()
        return "\n".join(text) + ("\n--- stderr ---\n" + err[-4000:] if err else "")

    def send(self, text):
        """Types `text` on the console (the VM's stdin)."""
        data = text.encode() if isinstance(text, str) else text
        if self._tty is not None:
            while data:
                data = data[os.write(self._tty, data):]
            return
        self._proc.stdin.write(data)
        self._proc.stdin.flush()

    def wait_exit(self, timeout=BOOT_TIMEOUT):
        """Waits for the VM to exit and returns its exit status (negative: killed by
        that signal). Raises GuestTimeout after killing it when it does not exit."""
        try:
            timeout = _bounded(timeout)
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise GuestTimeout("VM still running after %gs:\n%s" % (timeout, self.tail()))
        for r in self._readers:
            r.join(5)
        return self._proc.returncode

    def signal(self, sig):
        """Sends `sig` to the VM process alone, e.g. SIGKILL for a crash test."""
        self._proc.send_signal(sig)

    def kill(self):
        """Ends the VM and anything it started (it runs in its own process group)."""
        if self._proc.poll() is None:
            # rackvm takes a first SIGTERM as "power off, please" and a second as "now".
            self._signal_group(signal.SIGTERM)
            try:
                self._proc.wait(0.2)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGTERM)
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self._proc.wait()
        self._signal_group(signal.SIGKILL)
        for r in self._readers:
            r.join(5)

    def _signal_group(self, sig):
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        for f in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            try:
                if f:
                    f.close()
            except OSError:
                pass
        if self._tty is not None:
            os.close(self._tty)
            self._tty = None
        return False


def read_until(fd, marker, timeout):
    """Reads raw file descriptor `fd` (a pipe, a pty master) until `marker` (bytes) has
    come or `timeout` seconds have passed; returns everything read."""
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        if select.select([fd], [], [], 1)[0]:
            seen += os.read(fd, 65536)
    return seen


def reap(proc, *fds):
    """Ends `proc` (a Popen started with start_new_session) and its group if it still
    runs, waits for it, and closes the raw file descriptors `fds`."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    for fd in fds:
        os.close(fd)


def rss_mib(pid, *sizes_mib):
    """Resident memory of process `pid` in MiB, from /proc/PID/smaps: the total, then for
    each size in `sizes_mib` the resident part of the mappings of exactly that many MiB
    (rackvm's guest RAM for --memory, its translated code for --jit-cache-mib), so that
    the total less those is what the monitor itself holds."""
    total = 0
    parts = dict.fromkeys(sizes_mib, 0)
    size = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            if line.startswith("Size:"):
                size = int(line.split()[1])
            elif line.startswith("Rss:"):
                kib = int(line.split()[1])
                total += kib
                if size % 1024 == 0 and size // 1024 in parts:
                    parts[size // 1024] += kib
    return (total / 1024, *(parts[s] / 1024 for s in sizes_mib))


def run_quick(argv, timeout=30):
    """Runs a command that must finish on its own (bad-input checks); returns
    (status, stdout, stderr) as text."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


class GuestTestCase(unittest.TestCase):
    """Base for boot tests: a guest to boot (or a skip) and a rackvm to boot it with."""

    def setUp(self):
        require_rackvm(self)
        self.guest = require_guest(self)

    def boot(self, cmdline="console=ttyS0", *flags):
        return Guest(rackvm_argv(self.guest, cmdline, *flags))
