"""Guest-driven storms cost the host bounded CPU and memory, and the VM stays stoppable.

A hostile bare-metal guest (tests/storm/storm.c, one hart, all eight virtio slots taken:
five disks, rng, console, NIC on slirp) keeps one storm up: every device register
hammered, virtqueues notified with and without buffers, interrupts never acknowledged,
the NIC flooded; the Linux guest floods NIC and disk too. Over a window the test reads
the monitor's CPU time per thread (named hart0, blk-io, net-slirp, rtc, console-in, ...)
and its RSS without guest RAM and translated code from /proc, and holds these bounds (on
resources, not speed: the host is shared):
  CPU  storms that give the devices no work: < harts + 0.5 cores, and no device
       thread above 0.25 core (a thread woken per register access would show);
       storms with valid buffers (disk reads, NIC frames) make the device's threads do
       the guest's I/O, as QEMU's iothreads and main loop do, at about the cost of
       asking for it (a 4 KiB read costs blk-io what it costs hart0 to post): the
       device threads < harts + 0.5 cores between them, all < 2 * harts + 0.5 (on a
       2-core host only the RSS bound can bite there);
  RSS  grows by < 16 MiB from just before the storm to the end of the window. Guest RAM
       and the hart's buffer of translated code are left out: the guest decides how much
       of them it fills, up to --memory and --jit-cache-mib (a Linux guest's flood
       translates 5-10 MiB of new kernel and busybox code within the window).
Then Ctrl-A x must end the VM within a few seconds (else the harness kills it and the
test fails). Each storm takes a few seconds.
"""

import os
import signal
import subprocess
import tempfile
import time
import unittest

from lib import (RACKVM, ROOT, Guest, GuestTimeout, rackvm_argv, read_until, reap,
                 require_guest, require_rackvm, rss_mib)

# Built by `make baremetal-elfs` next to rackvm; the guest is the same for every build.
STORM_ELF = next((p for p in (os.path.join(os.path.dirname(RACKVM), "storm", "storm.elf"),
                              os.path.join(ROOT, "build", "storm", "storm.elf"))
                  if os.path.isfile(p)), None)
HARTS = 1
MEMORY_MIB = 64
# Debian's 6.12 kernel (the package guest) cannot boot in 64 MiB: its memmap alone wants 32.
LINUX_MEMORY_MIB = 256
# rackvm's default, given so that its mapping is known: no other mapping has its size.
JIT_CACHE_MIB = 128
WARMUP = 1.0
WINDOW = float(os.environ.get("RACKVM_STORM_WINDOW", "4"))
IDLE_DEVICE_BOUND = 0.25   # cores, per device thread, when the guest asks for no I/O
IO_DEVICE_BOUND = HARTS + 0.5   # cores, all device threads, when it does
RSS_BOUND_MIB = 16
STOP_WITHIN = 5.0
TICK = os.sysconf("SC_CLK_TCK")
# Under an ASan build (RACKVM=build-address-undefined/rackvm) freed memory stays resident
# in a 256 MiB quarantine by design; capped, RSS shows what rackvm itself holds.
ENV = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "quarantine_size_mb=4"))


def thread_cpu(pid):
    """CPU seconds (user + system) of each thread of `pid`, by (thread id, name)."""
    times = {}
    task = "/proc/%d/task" % pid
    for tid in os.listdir(task):
        try:
            with open(os.path.join(task, tid, "stat")) as f:
                name, fields = f.read().split("(", 1)[1].rsplit(")", 1)
        except FileNotFoundError:
            continue
        fields = fields.split()
        times[(int(tid), name)] = (int(fields[11]) + int(fields[12])) / TICK
    return times


def host_rss_mib(pid, memory_mib=MEMORY_MIB):
    """What the monitor holds resident beside guest RAM and translated code (which the
    guest may fill)."""
    total, ram, code = rss_mib(pid, memory_mib, JIT_CACHE_MIB)
    return total - ram - code


class StormTest(unittest.TestCase):

    def setUp(self):
        require_rackvm(self)
        if STORM_ELF is None:
            self.fail("build/storm/storm.elf is missing: run `make baremetal-elfs`")
        self.dir = tempfile.TemporaryDirectory(prefix="rackvm-storm-")
        self.disks = [os.path.join(self.dir.name, "disk%d.img" % i) for i in range(5)]
        for disk in self.disks:
            with open(disk, "wb") as f:
                f.truncate(2 << 20)

    def tearDown(self):
        self.dir.cleanup()

    def argv(self, storm):
        """The board storm.c expects: virtio slots 0-4 disks, 5 rng, 6 console, 7 NIC."""
        disks = [arg for d in self.disks for arg in ("--disk", "path=" + d)]
        return [RACKVM, "run", "--firmware", "none", "--cpus", str(HARTS),
                "--memory", "%dM" % MEMORY_MIB, "--jit-cache-mib", str(JIT_CACHE_MIB),
                "--kernel", STORM_ELF, "--cmdline", "storm=" + storm, *disks, "--rng",
                "--console", "virtio", "--net", "user"]

    def start(self, storm):
        """A VM running `storm`, and its RSS (MiB) as the storm begins."""
        g = Guest(self.argv(storm), env=ENV, tty=True)
        try:
            g.wait_for(r"STORM-RUNNING " + storm, 30)
            return g, host_rss_mib(g.pid)
        except BaseException:
            g.__exit__(None, None, None)
            raise

    def stop(self, g):
        """Ctrl-A x; returns the seconds it took the VM to exit."""
        t = time.monotonic()
        g.send(b"\x01x")
        try:
            status = g.wait_exit(STOP_WITHIN)   # on expiry it kills the VM
        except GuestTimeout:
            self.fail("Ctrl-A x did not stop the VM within %gs" % STOP_WITHIN)
        self.assertEqual(status, 0, g.tail())
        return time.monotonic() - t

    def storm(self, storm, what, io=False):
        g, rss0 = self.start(storm)
        with g:
            self.hold_bounds(g, rss0, "storm %s (%s)" % (storm, what), io)

    def hold_bounds(self, g, rss0, what, io, memory_mib=MEMORY_MIB):
        """Measures the running VM `g` over the window, stops it with Ctrl-A x, and
        checks the bounds in the module's docstring."""
        time.sleep(WARMUP)
        cpu0, t0 = thread_cpu(g.pid), time.monotonic()
        ticks0 = g.output.count("STORM-TICK")
        time.sleep(WINDOW)
        cpu1, rss1, t1 = thread_cpu(g.pid), host_rss_mib(g.pid, memory_mib), time.monotonic()
        ticks = g.output.count("STORM-TICK") - ticks0
        per_thread = sorted((((cpu1[t] - cpu0.get(t, 0)) / (t1 - t0), t[1]) for t in cpu1),
                            reverse=True)
        total = sum(c for c, _ in per_thread)
        busiest = " ".join("%s %.2f" % (name, c) for c, name in per_thread[:4])
        took = self.stop(g)
        print("\n  %s: %d ticks, %.2f cores (%s), host RSS %.1f -> %.1f MiB, stopped in %.2fs"
              % (what, ticks, total, busiest, rss0, rss1, took), end=" ")
        devices = [c for c, name in per_thread if not name.startswith("hart")]
        if io:
            self.assertLess(total, HARTS + IO_DEVICE_BOUND,
                            "%s: %.2f cores (%s)" % (what, total, busiest))
            self.assertLess(sum(devices), IO_DEVICE_BOUND, "%s: device threads too busy: %s"
                            % (what, busiest))
        else:
            self.assertLess(total, HARTS + 0.5, "%s: %.2f cores (%s)" % (what, total, busiest))
            self.assertLess(max(devices), IDLE_DEVICE_BOUND,
                            "%s: a device thread is busy: %s" % (what, busiest))
        self.assertLess(rss1 - rss0, RSS_BOUND_MIB, "%s: RSS grew %.1f -> %.1f MiB"
                        % (what, rss0, rss1))
        self.assertEqual(g.errors, "", "%s: the monitor wrote to stderr" % what)

    def test_linux_guest_floods(self):
        """The reference Linux guest floods the NIC with UDP (to 10.0.2.2 and broadcast)
        and writes the disk with fsync in loops, through its real drivers."""
        guest = require_guest(self)
        argv = rackvm_argv(guest, "console=ttyS0", "--cpus", str(HARTS), "--memory",
                           "%dM" % LINUX_MEMORY_MIB, "--jit-cache-mib", str(JIT_CACHE_MIB),
                           "--disk", "path=" + self.disks[0], "--net", "user")
        with Guest(argv, env=ENV, tty=True) as g:
            g.wait_for(r"GUEST-READY")
            g.wait_for(r"# ", 60)
            g.send("ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; "
                   "ip route add default via 10.0.2.2; "
                   "for to in 10.0.2.2 10.0.2.255; do "
                   "(while :; do nc -u -b $to 9 </dev/zero; done >/dev/null 2>&1 &); done; "
                   "(while :; do dd if=/dev/zero of=/dev/vda bs=64k count=16 conv=fsync; "
                   "done >/dev/null 2>&1 &); echo FLOOD-$((1+1))\n")
            g.wait_for(r"FLOOD-2", 60)
            self.hold_bounds(g, host_rss_mib(g.pid, LINUX_MEMORY_MIB),
                             "Linux guest flooding NIC and disk", True, LINUX_MEMORY_MIB)

    def test_mmio_every_device(self):
        self.storm("m", "every device's registers hammered")

    def test_notify_without_buffers(self):
        self.storm("n", "QueueNotify on every queue, nothing posted")

    def test_notify_with_buffers(self):
        self.storm("b", "virtio-blk reads kept in flight", io=True)

    def test_chain_made_available_again(self):
        self.storm("r", "one blk chain posted again and again, never waited for", io=True)

    def test_claim_without_complete(self):
        self.storm("c", "PLIC claim never completed, wfi")

    def test_pending_interrupt_wfi(self):
        self.storm("p", "level interrupt pending, MIE off, wfi loop")

    def test_interrupt_never_acknowledged(self):
        self.storm("t", "interrupt taken, never acknowledged")

    def test_nic_flood(self):
        self.storm("f", "NIC flooded via slirp", io=True)

    def test_sigterm_and_sigkill_during_storm(self):
        """The host's signals end a stormy VM too: SIGTERM (a second one if the first
        only asks the guest to power off) and SIGKILL, each within a few seconds."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            g, _ = self.start("m")
            with g:
                t = time.monotonic()
                g.signal(sig)
                try:
                    g.wait_exit(STOP_WITHIN / 2)
                except GuestTimeout:
                    self.assertEqual(sig, signal.SIGTERM, "SIGKILL did not end the VM")
                    g.signal(sig)
                    g.wait_exit(STOP_WITHIN / 2)
                self.assertLess(time.monotonic() - t, STOP_WITHIN)

    def test_stop_while_output_is_stuck(self):
        """A guest printing while nobody reads the monitor's stdout: the console buffer
        fills and the hart waits for room, yet Ctrl-A x still ends the VM."""
        master, slave = os.openpty()
        r, w = os.pipe()
        try:
            p = subprocess.Popen(self.argv("o"), stdin=slave, stdout=w,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
        finally:
            os.close(slave)
            os.close(w)
        try:
            self.assertIn(b"STORM-RUNNING o", read_until(r, b"STORM-RUNNING o", 30))
            time.sleep(2)   # a 64 KiB console buffer and the pipe fill long before this
            t = time.monotonic()
            os.write(master, b"\x01x")
            try:
                p.wait(STOP_WITHIN)
            except subprocess.TimeoutExpired:
                self.fail("Ctrl-A x did not stop a VM whose output is stuck")
            self.assertLess(time.monotonic() - t, STOP_WITHIN)
        finally:
            reap(p, master, r)


if __name__ == "__main__":
    unittest.main()
