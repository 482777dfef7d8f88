"""Crash consistency of virtio-blk under a host process kill, shared by the boot test
(test_disk_failures.py, a few runs) and bench/crash.sh (many runs).

One run: an ext4 image (with its journal) built on the host with mkfs.ext4 -d, and a
raw second disk; boot 1 appends numbered, checksummed records to /mnt/log with fsync
after each (busybox dd conv=fsync), writes the same record to 4 KiB block n of the raw
/dev/vdb and fsyncs the device (a flush request), and prints "ACK n" once both
returned; the host SIGKILLs rackvm at a random moment. Boot 2 mounts the file system, which replays the journal the way any
crashed Linux system is recovered, and remounts it read-only, which writes back the
replayed state and clears the needs_recovery flag. Only then does the host check:
`e2fsck -fn` must find a clean file system, and every acknowledged record must be in
/mnt/log (read with `debugfs -R "cat /log"`), in order and intact, and in its block
of the raw image.

Why not e2fsck right after the kill: with -n it prints "skipping journal recovery" and
checks the on-disk metadata without the committed transactions in the journal, which
hold the acknowledged records' blocks and sizes: a verdict on a state no mount will
ever see (it may well say clean). Run this file directly for the benchmark: --runs N.
"""

import argparse
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Guest, find_guest, rackvm_argv  # noqa: E402

BLOCK = 4096
RAW_MB = 8
# Record i: "i" then the md5 of "rackvm record i\n" 1 + i % 97 times (33 B to 3.2 KiB),
# so records straddle 4 KiB blocks and some fsyncs write more than one block.
WRITER = """#!/bin/sh
i=1
while :; do
  set -- $(echo "rackvm record $i" | md5sum)
  rec="$i $1"; j=$((i % 97))
  while [ $j -gt 0 ]; do rec="$rec $1"; j=$((j-1)); done
  echo "$rec" | dd of=/mnt/log oflag=append conv=notrunc,fsync 2>/dev/null &&
  echo "$rec" | dd of=/dev/vdb bs=@BLOCK@ seek=$i conv=sync,notrunc,fsync 2>/dev/null ||
  { echo "WRITE-FAILED $i"; exit 1; }
  echo "ACK $i"
  i=$((i+1))
done
""".replace("@BLOCK@", str(BLOCK))

CHECKER = """#!/bin/sh
mount -o remount,ro /mnt && echo REMOUNTED-RO
"""


def record(n):
    """Record n as the writer makes it, newline included."""
    s = hashlib.md5(b"rackvm record %d\n" % n).hexdigest().encode()
    return b" ".join([str(n).encode()] + [s] * (1 + n % 97)) + b"\n"


def check_records(data, acked):
    """(ok, description): every record 1..acked present in order and intact; records
    past `acked` were never acknowledged and may be there or not."""
    lines = data.split(b"\n")
    tail = lines.pop()   # what follows the last newline: an unacknowledged partial line
    good = 0
    for line in lines:
        if line + b"\n" != record(good + 1):
            break
        good += 1
    if good < acked:
        return False, "only records 1..%d intact of %d acknowledged (first bad line %r)" % (
            good, acked, lines[good][:80] if good < len(lines) else tail[:80])
    extra = "" if good == len(lines) and not tail else \
        ", then %d unacknowledged bytes that are not whole records" % (
            sum(len(x) + 1 for x in lines[good:]) + len(tail))
    return True, "%d records intact (%d acknowledged)%s" % (good, acked, extra)


def check_blocks(raw, acked):
    """(ok, description): block n of the raw disk holds record n, zero-padded, for
    every n in 1..acked."""
    for n in range(1, acked + 1):
        want = record(n).ljust(BLOCK, b"\0")
        if raw[n * BLOCK:(n + 1) * BLOCK] != want:
            return False, "raw block %d does not hold acknowledged record %d (%r...)" % (
                n, n, raw[n * BLOCK:n * BLOCK + 40])
    return True, "raw blocks 1..%d intact" % acked


def tool(name):
    found = shutil.which(name) or (os.path.exists("/sbin/" + name) and "/sbin/" + name)
    return found or None


def missing_tools():
    return [t for t in ("mkfs.ext4", "debugfs", "e2fsck") if tool(t) is None]


def one_run(guest, workdir, kill_after, timeout):
    """One write-kill-recover-check cycle. kill_after: seconds after the first ACK.
    Returns a dict: acked (None when the run failed before the kill), ok, why."""
    tree = os.path.join(workdir, "tree")
    os.makedirs(tree, exist_ok=True)
    for name, text in (("w.sh", WRITER), ("c.sh", CHECKER)):
        with open(os.path.join(tree, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(tree, name), 0o755)
    image, raw = os.path.join(workdir, "disk.img"), os.path.join(workdir, "raw.img")
    with open(image, "wb") as f:
        f.truncate(32 << 20)
    with open(raw, "wb") as f:
        f.truncate(RAW_MB << 20)
    subprocess.run([tool("mkfs.ext4"), "-q", "-F", "-d", tree, image], check=True,
                   capture_output=True)
    disk = ("--disk", "path=" + image, "--disk", "path=" + raw)

    with Guest(rackvm_argv(guest, "console=ttyS0 autorun=/mnt/w.sh", *disk)) as g:
        g.wait_for(r"ACK 1\r?\n", timeout)
        time.sleep(kill_after)
        g.signal(signal.SIGKILL)
        status = g.wait_exit(timeout)
        out = g.output
    if status != -signal.SIGKILL:
        return dict(acked=None, ok=False, why="rackvm ended with %s before the kill:\n%s" % (
            status, out[-1500:]))
    if "WRITE-FAILED" in out:
        return dict(acked=None, ok=False, why="a guest write failed:\n" + out[-1500:])
    acks = [int(n) for n in re.findall(r"ACK (\d+)\r?\n", out)]
    acked = max(acks) if acks else 0

    with Guest(rackvm_argv(guest, "console=ttyS0 autorun=/mnt/c.sh", *disk)) as g:
        g.wait_for(r"GUEST-EXIT", timeout)
        remounted = "REMOUNTED-RO" in g.output
        g.wait_exit(timeout)
        recovery = g.output
    if not remounted:
        return dict(acked=acked, ok=False, why="boot 2 could not mount and remount the "
                    "file system read-only:\n" + recovery[-1500:])
    fsck = subprocess.run([tool("e2fsck"), "-fn", image], capture_output=True, text=True)
    if fsck.returncode != 0:
        return dict(acked=acked, ok=False, why="e2fsck -fn exit %d:\n%s" % (
            fsck.returncode, (fsck.stdout + fsck.stderr)[-1500:]))
    cat = subprocess.run([tool("debugfs"), "-R", "cat /log", image], capture_output=True)
    ok, why = check_records(cat.stdout, acked)
    with open(raw, "rb") as f:
        raw_ok, raw_why = check_blocks(f.read(), acked)
    return dict(acked=acked, ok=ok and raw_ok, why="%s; %s; e2fsck -fn clean" % (why, raw_why))


def run_many(runs, max_delay, timeout, seed, report=print):
    """runs cycles with kill delays uniform in [0, max_delay); returns the failures."""
    guest = find_guest()
    if guest is None:
        raise SystemExit("no guest: run scripts/build-guest.sh")
    rng = random.Random(seed)
    failures = []
    with tempfile.TemporaryDirectory(prefix="rackvm-crash-") as tmp:
        for i in range(runs):
            delay = rng.uniform(0, max_delay)
            workdir = os.path.join(tmp, "run%d" % i)
            os.mkdir(workdir)
            r = one_run(guest, workdir, delay, timeout)
            report("run %2d: kill %.2fs after ACK 1, acknowledged %s: %s: %s" % (
                i + 1, delay, r["acked"], "OK" if r["ok"] else "FAIL", r["why"]))
            if not r["ok"]:
                failures.append(r)
            shutil.rmtree(workdir)
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--max-delay", type=float, default=4.0,
                    help="kill at a random time up to this many seconds after ACK 1")
    ap.add_argument("--timeout", type=float, default=120.0, help="per boot, seconds")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    missing = missing_tools()
    if missing:
        raise SystemExit("missing %s: install e2fsprogs" % ", ".join(missing))
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print("crash consistency: N=%d runs, kill up to %.1fs after the first ACK, seed %d" % (
        args.runs, args.max_delay, seed), flush=True)
    failures = run_many(args.runs, args.max_delay, args.timeout, seed,
                        report=lambda line: print(line, flush=True))
    print("crash consistency: %d of %d runs OK" % (args.runs - len(failures), args.runs))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
