"""The GDB stub (--gdb, --gdb-wait): Debian's gdb-multiarch in batch mode against a
bare-metal program with symbols (tests/gdb/target.c) and against the running Linux
guest, and the remote protocol spoken directly for what batch gdb cannot script
(Ctrl-C while the guest runs). The guest's Image has no symbols and there is no
System.map: the Linux test takes linux_banner's and init_task's addresses from the
guest's /proc/kallsyms, then reads them through the stub by kernel virtual address."""

import os
import re
import shutil
import socket
import subprocess
import time
import unittest

from lib import RACKVM, ROOT, Guest, GuestTestCase, require_rackvm, run_quick

GDB = shutil.which("gdb-multiarch")
TARGET_ELF = next((p for p in (os.path.join(os.path.dirname(RACKVM), "gdb", "target.elf"),
                               os.path.join(ROOT, "build", "gdb", "target.elf"))
                   if os.path.isfile(p)), None)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(test, g, timeout=30):
    deadline = time.monotonic() + timeout
    while "gdb stub listening" not in g.errors:
        if g.poll() is not None or time.monotonic() > deadline:
            test.fail("the gdb stub did not start:\n" + g.tail())
        time.sleep(0.05)


def run_gdb(test, port, commands, elf=None, timeout=90):
    """gdb-multiarch -batch connected to the stub, running `commands` (each its own -ex,
    so one that fails does not end the rest); its output."""
    argv = [GDB, "-nx", "-batch", "-ex", "set pagination off", "-ex", "set confirm off",
            "-ex", "set architecture riscv:rv64", "-ex", "target remote 127.0.0.1:%d" % port]
    for c in commands:
        argv += ["-ex", c]
    p = subprocess.run(argv + ([elf] if elf else []), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout)
    return p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


def value(out, name):
    """The value printed by `echo NAME=` followed by a `p`/`output` of it."""
    m = re.search(r"^%s=(\S+)" % re.escape(name), out, re.M)
    if not m:
        raise AssertionError("no %s in gdb's output:\n%s" % (name, out))
    return m.group(1)


def show(name, expr, fmt="/x"):
    """gdb commands printing `NAME=<value of expr>` on a line of its own."""
    return ['echo %s=' % name, 'output%s %s' % (fmt, expr), 'echo \\n']


class Remote:
    """The remote serial protocol over a socket, as gdb speaks it (with acks)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, payload):
        data = payload.encode()
        self.sock.sendall(b"$%s#%02x" % (data, sum(data) & 0xff))

    def reply(self):
        """The next packet's payload (acks skipped, ours sent)."""
        while True:
            m = re.search(rb"\$([^#]*)#[0-9a-f]{2}", self.buf)
            if m:
                self.buf = self.buf[m.end():]
                self.sock.sendall(b"+")
                return m.group(1).decode()
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("the stub closed the connection")
            self.buf += chunk

    def ask(self, payload):
        self.send(payload)
        return self.reply()


@unittest.skipUnless(GDB, "gdb-multiarch missing: scripts/deps.sh --all")
class GdbBareMetalTest(unittest.TestCase):

    def setUp(self):
        require_rackvm(self)
        if not TARGET_ELF:
            self.fail("build/gdb/target.elf is missing: run `make baremetal-elfs`")

    def test_break_step_registers_memory_and_exit(self):
        port = free_port()
        # Every block translated at its first run: breakpoints and steps must stop
        # exactly where asked in translated code too.
        argv = [RACKVM, "run", "--firmware", "none", "--kernel", TARGET_ELF, "--jit", "eager",
                "--gdb", "tcp::%d" % port, "--gdb-wait"]
        with Guest(argv) as g:
            wait_listening(self, g)
            out = run_gdb(self, port, [
                *show("start", "$pc"),
                "break bump",
                "continue",
                *show("bp_pc", "$pc"), *show("bump", "&bump"), *show("first_a0", "$a0", ""),
                "stepi",
                *show("step_pc", "$pc"),
                "set $t3 = 0x1234abcd",
                *show("t3", "$t3"),
                *show("priv", "$priv", ""), *show("mhartid", "$mhartid", ""),
                *show("magic", "magic"),
                "set var magic = 0xdeadbeef",
                *show("magic2", "magic"),
                "x/gx 0x10",
                "delete",
                "hbreak bump",
                "continue",
                *show("second_a0", "$a0", ""),
                "delete",
                "continue",
            ], elf=TARGET_ELF)
            status = g.wait_exit(timeout=30)
            self.assertEqual(status, 0, g.tail() + "\n--- gdb ---\n" + out)
            console = g.output
        # Stopped before the first instruction of the reset vector.
        self.assertEqual(int(value(out, "start"), 16), 0x80000000, out)
        bp = int(value(out, "bp_pc"), 16)
        self.assertGreaterEqual(bp, int(value(out, "bump"), 16), out)
        self.assertLess(bp, int(value(out, "bump"), 16) + 32, out)
        self.assertEqual(value(out, "first_a0"), "1", out)
        self.assertIn(int(value(out, "step_pc"), 16) - bp, (2, 4), out)
        self.assertEqual(value(out, "t3"), "0x1234abcd", out)
        self.assertEqual(value(out, "priv"), "3", out)
        self.assertEqual(value(out, "mhartid"), "0", out)
        self.assertEqual(value(out, "magic"), "0x1122334455667788", out)
        self.assertEqual(value(out, "magic2"), "0xdeadbeef", out)
        self.assertIn("Cannot access memory at address 0x10", out)
        self.assertEqual(value(out, "second_a0"), "2", out)
        self.assertIn("exited normally", out)
        self.assertIn("MAGIC-CHANGED", console)
        self.assertIn("GDB-TARGET-DONE", console)


class GdbOptionsTest(unittest.TestCase):

    def test_bad_gdb_addresses_are_refused(self):
        require_rackvm(self)
        for args, why in ((["--gdb", "udp::1234"], "not a TCP address"),
                          (["--gdb", "tcp:1234"], "has no port"),
                          (["--gdb", "tcp::0"], "not a port"),
                          (["--gdb", "tcp:10.0.0:1234"], "not an IPv4 address"),
                          (["--gdb-wait"], "--gdb-wait needs --gdb")):
            status, _, err = run_quick([RACKVM, "run", "--kernel", "/dev/null", *args])
            self.assertEqual(status, 2, (args, err))
            self.assertIn(why, err, args)


@unittest.skipUnless(GDB, "gdb-multiarch missing: scripts/deps.sh --all")
class GdbLinuxTest(GuestTestCase):

    def test_attach_to_running_linux_read_pc_memory_and_break(self):
        port = free_port()
        with self.boot("console=ttyS0", "--cpus", "2", "--gdb", "tcp:127.0.0.1:%d" % port) as g:
            g.wait_for(r"GUEST-READY")
            g.wait_for(r"# ")
            g.send("grep -E ' (_stext|_etext|default_idle_call)$' /proc/kallsyms\n")
            syms = {}
            for name in ("_stext", "default_idle_call", "_etext"):
                syms[name] = int(g.wait_for(r"([0-9a-f]{16}) \w %s" % name).group(1), 16)
            g.wait_for(r"# ")
            # A kernel built with KALLSYMS_ALL (Debian's) lists its data too: linux_banner
            # is /proc/version's text, which no boot-time code patching touches.
            g.send("echo BANNER-$(grep ' linux_banner$' /proc/kallsyms | cut -c1-16)-END; "
                   "cat /proc/version\n")
            found = g.wait_for(r"BANNER-([0-9a-f]*)-END").group(1)
            banner = int(found, 16) if found else None
            version = g.wait_for(r"(Linux version [^\r\n]*)").group(1)
            g.wait_for(r"# ")

            stext = syms["_stext"]
            out = run_gdb(self, port, [
                "info threads",
                *show("pc", "$pc"), *show("priv", "$priv", ""), *show("satp", "$satp"),
                *show("time1", "$time", ""),
                "shell sleep 0.3",
                "maintenance flush register-cache",
                *show("time2", "$time", ""),
                "x/8xw 0x%x" % stext,
                *(["x/s 0x%x" % banner] if banner else []),
                "x/2i $pc",
                "thread 2",
                *show("pc2", "$pc"),
                "break *0x%x" % syms["default_idle_call"],
                "continue",
                *show("bp_pc", "$pc"),
                "delete",
                "detach",
            ])
            self.assertIn("Thread 2", out)
            self.assertNotEqual(int(value(out, "satp"), 16) >> 60, 0, out)  # paging is on
            # Every hart of an idle guest waits in the kernel.
            for pc in ("pc", "pc2"):
                self.assertTrue(syms["_stext"] <= int(value(out, pc), 16) < syms["_etext"], out)
            self.assertEqual(value(out, "priv"), "1", out)
            # The stopped VM is paused: guest time stands still.
            self.assertEqual(value(out, "time1"), value(out, "time2"), out)
            self.assertEqual(int(value(out, "bp_pc"), 16), syms["default_idle_call"], out)
            self.assertNotIn("Cannot access memory", out)
            if banner:
                # Kernel data read by virtual address is what the kernel itself prints.
                self.assertIn(version.decode().strip()[:60], out, out)  # gdb cuts long strings
            # Without data symbols: kernel text read by virtual address is the Image's (the
            # kernel's link address 0xffffffff80000000 is the Image's first byte); Debian's
            # kernel rewrites its text at boot (ftrace, alternatives), so this is for kernels
            # without KALLSYMS_ALL only.
            with open(self.guest.kernel, "rb") as f:
                f.seek(stext - 0xffffffff80000000)
                words = [int.from_bytes(f.read(4), "little") for _ in range(8)]
            m = re.search(r"0x%x[^:]*:((?:\s+0x[0-9a-f]{8}){4})\s*\n[^:]*:((?:\s+0x[0-9a-f]{8}){4})" % stext, out)
            self.assertTrue(m, out)
            if not banner:
                self.assertEqual([int(w, 16) for w in (m.group(1) + m.group(2)).split()], words, out)

            # Ctrl-C while the guest runs stops it with SIGINT; after a detach it runs on.
            r = Remote(port)
            try:
                self.assertTrue(r.ask("qSupported:multiprocess+").startswith("PacketSize="))
                self.assertRegex(r.ask("?"), r"^T05thread:[12];$")
                r.send("vCont;c")
                time.sleep(0.5)
                r.sock.sendall(b"\x03")
                self.assertRegex(r.reply(), r"^T02thread:[12];$")
                self.assertRegex(r.ask("g"), r"^[0-9a-f]{%d}$" % (33 * 16))
                self.assertEqual(r.ask("D"), "OK")
            finally:
                r.close()
            g.send("echo $((6*7))\n")
            g.wait_for(r"^42\r?$")
            g.send("poweroff -f\n")
            self.assertEqual(g.wait_exit(), 0, g.tail())
