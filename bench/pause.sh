#!/usr/bin/env bash
# Pause benchmark: boots the guest with --api-socket and times N pause and N resume
# requests over the control socket (round trip: request written to answer read), once
# with the guest idle at its shell and once with every hart busy in a shell loop.
# Prints min / median / 90th percentile / max per case. A benchmark: no assertions.
#   N=50 MEMORY=256 CPUS=2 bench/pause.sh
# The guest is $RACKVM_GUEST_DIR, else guest/ (scripts/build-guest.sh), else ../shared/guest.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
export N=${N:-50} MEMORY=${MEMORY:-256} CPUS=${CPUS:-2}
export RACKVM=${RACKVM:-$root/build/rackvm}
[ -x "$RACKVM" ] || { echo "bench/pause.sh: $RACKVM missing; run make" >&2; exit 1; }

exec timeout -k 5 900 python3 - "$root/tests/integration" <<'PY'
import json, os, socket, statistics, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
from lib import Guest, find_guest, rackvm_argv

guest = find_guest()
if guest is None:
    sys.exit("bench/pause.sh: no guest; run scripts/build-guest.sh")
n, memory, cpus = int(os.environ["N"]), os.environ["MEMORY"], os.environ["CPUS"]

def timed(f, command):
    start = time.perf_counter()
    f.write(json.dumps({"command": command}).encode() + b"\n")
    f.flush()
    answer = json.loads(f.readline())
    elapsed = (time.perf_counter() - start) * 1000
    if not answer.get("ok"):
        sys.exit("bench/pause.sh: %s failed: %s" % (command, answer))
    return elapsed

def row(name, ms):
    ms = sorted(ms)
    print("%-16s %8.2f %8.2f %8.2f %8.2f" % (name, ms[0], statistics.median(ms),
                                            ms[int(len(ms) * 0.9) - 1], ms[-1]))

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "vm.sock")
    with Guest(rackvm_argv(guest, "console=ttyS0", "--memory", memory + "M", "--cpus", cpus,
                           "--api-socket", path)) as g:
        g.wait_for(r"GUEST-READY")
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        f = s.makefile("rwb")
        results = []
        for case in ("idle", "busy"):
            if case == "busy":
                g.send("for i in $(seq %s); do (while :; do :; done) & done\n" % cpus)
                time.sleep(2)
            pauses, resumes = [], []
            for _ in range(n):
                pauses.append(timed(f, "pause"))
                resumes.append(timed(f, "resume"))
                time.sleep(0.02)
            results.append((case, pauses, resumes))
        f.write(b'{"command": "stop", "force": true}\n')
        f.flush()
        g.wait_exit(60)

print()
print("guest: %s, %s MiB, %s hart(s), %d pauses per case (ms, round trip)" %
      (guest.directory, memory, cpus, n))
print("%-16s %8s %8s %8s %8s" % ("case", "min", "median", "p90", "max"))
for case, pauses, resumes in results:
    row("pause " + case, pauses)
    row("resume " + case, resumes)
PY
