#!/usr/bin/env bash
# Snapshot benchmark: for a 256 MiB and a 1 GiB guest idle at its shell, prints the pause
# latency (a `pause` request answered, median of 5), the snapshot's time (pause to files
# written) and size (bytes of RAM pages written, and disk used by the directory), the
# restore-to-running time (`rackvm run --restore` started to its control socket answering
# `status` with "running") and the first-request latency after it (a shell command
# echoed back by the restored guest). A benchmark: no assertions.
#   SIZES="256 1024" bench/snapshot.sh      (MiB of guest memory)
# The guest is found as by the integration tests (tests/integration/lib.py).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
[ -x "${RACKVM:-$root/build/rackvm}" ] || { echo "bench/snapshot.sh: build/rackvm missing; run make" >&2; exit 1; }
exec python3 - "$root" ${SIZES:-256 1024} <<'PY'
import os, statistics, subprocess, sys, tempfile, time
root = sys.argv[1]
sys.path.insert(0, os.path.join(root, "tests/integration"))
from lib import RACKVM, Guest, find_guest
from test_api import Client

guest = find_guest()
if not guest:
    sys.exit("bench/snapshot.sh: no guest; run scripts/build-guest.sh")

def wait_socket(path, timeout=30):
    end = time.monotonic() + timeout
    while True:
        try:
            return Client(path)
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.0005)

rows = []
for mib in (int(s) for s in sys.argv[2:]):
    with tempfile.TemporaryDirectory() as tmp:
        sock, snap = os.path.join(tmp, "vm.sock"), os.path.join(tmp, "snap")
        with Guest([RACKVM, "run", "--kernel", guest.kernel, "--initrd", guest.initrd,
                    "--cmdline", "console=ttyS0", "--memory", "%dM" % mib,
                    "--api-socket", sock]) as g:
            g.wait_for(r"GUEST-READY", timeout=300)
            time.sleep(1)
            c = Client(sock)
            pauses = []
            for _ in range(5):
                t = time.monotonic()
                c.request("pause")
                pauses.append(time.monotonic() - t)
                c.request("resume")
            t = time.monotonic()
            answer = c.request("snapshot", dir=snap, resume=False)
            snapshot_s = time.monotonic() - t
            c.close()
            g.kill()
        if not answer.get("ok"):
            sys.exit("snapshot failed: %r" % answer)
        du = subprocess.run(["du", "-sk", snap], capture_output=True, text=True).stdout.split()[0]
        sock2 = os.path.join(tmp, "vm2.sock")
        t = time.monotonic()
        with Guest([RACKVM, "run", "--restore", snap, "--api-socket", sock2]) as r:
            c = wait_socket(sock2)
            # Before the machine is attached the socket answers "stopping".
            while c.request("status")["state"] != "running" and time.monotonic() - t < 30:
                time.sleep(0.0005)
            running_s = time.monotonic() - t
            t = time.monotonic()
            r.send("echo 'PO'NG\n")
            r.wait_for(r"PONG", timeout=60)
            first_s = time.monotonic() - t
            c.close()
            r.kill()
        rows.append((mib, statistics.median(pauses) * 1e3, snapshot_s * 1e3,
                     answer["memory_bytes"] / 2**20, int(du) / 1024, running_s * 1e3,
                     first_s * 1e3))

print("guest idle at its shell; times in ms, sizes in MiB")
print("%8s %10s %12s %14s %10s %18s %16s" % ("memory", "pause", "snapshot", "RAM written",
      "on disk", "restore->running", "first request"))
for mib, pause, snap_ms, written, disk, running, first in rows:
    print("%8d %10.2f %12.1f %14.1f %10.1f %18.1f %16.1f" % (
        mib, pause, snap_ms, written, disk, running, first))
PY
