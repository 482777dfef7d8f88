#!/usr/bin/env bash
# Noisy neighbour: a rack of two VMs (the package guest), "web" (1 hart, busybox httpd,
# published on a host port by its network's uplink) and "noisy" (2 harts, no network).
# The host fetches web's page REQUESTS times, one connection each, in three phases:
#   alone   noisy boots and sits idle at its shell prompt
#   busy    noisy busy-loops on both of its harts
#   thrash  noisy rewrites 2 x 48 MiB of tmpfs in a loop (memory and page allocator churn)
# and prints per phase the latency p50, p99, max (ms) and the failed requests.
# The VMs are driven through their consoles (STATE/NAME.console). A benchmark: no
# assertions; test_rack asserts a generous bound derived from these figures.
#   REQUESTS=300 bench/noisy-neighbour.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
export RACKVM=${RACKVM:-$root/build/rackvm}
export REQUESTS=${REQUESTS:-300}
[ -x "$RACKVM" ] || { echo "bench/noisy-neighbour.sh: $RACKVM missing; run make" >&2; exit 1; }

exec python3 - "$root/tests/integration" <<'EOF'
import os, re, shutil, socket, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, sys.argv[1])
from lib import find_guest
from test_net import free_port

rackvm, requests = os.environ["RACKVM"], int(os.environ["REQUESTS"])
guest = find_guest()
if not guest:
    sys.exit("bench/noisy-neighbour.sh: no guest; run scripts/build-guest.sh")
work = tempfile.mkdtemp(prefix="rackvm-noisy-")
os.chmod(work, 0o755)
state = os.path.join(work, "state")
port = free_port()
with open(os.path.join(work, "rack.yaml"), "w") as f:
    f.write("networks:\n  lan:\n    uplink: {type: user, hostfwd: [\"tcp:127.0.0.1:%d-10.0.2.11:80\"]}\n"
            "vms:\n"
            "  web:\n    kernel: %s\n    initrd: %s\n    cmdline: console=ttyS0\n    memory: 128\n"
            "    nics: [{network: lan, mac: \"52:54:00:00:00:11\"}]\n    shutdown_timeout: 3\n"
            "  noisy:\n    kernel: %s\n    initrd: %s\n    cmdline: console=ttyS0\n    memory: 256\n"
            "    cpus: 2\n    shutdown_timeout: 3\n"
            % (port, guest.kernel, guest.initrd, guest.kernel, guest.initrd))


def log(name):
    try:
        with open(os.path.join(state, name + ".log"), errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait(what, check, timeout=600):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            sys.exit("bench/noisy-neighbour.sh: %s: not within %d s" % (what, timeout))
        time.sleep(0.3)


def type_on(name, text):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(os.path.join(state, name + ".console"))
        s.sendall(text.encode())
        time.sleep(0.5)


def phase(label):
    times, failed = [], 0
    for _ in range(requests):
        t = time.monotonic()
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=10) as r:
                ok = b"hello from web" in r.read()
        except OSError:
            ok = False
        if ok:
            times.append((time.monotonic() - t) * 1000)
        else:
            failed += 1
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))] if times else float("nan")
    row = "%-7s %8d %8.1f %8.1f %8.1f %7d" % (label, requests, pick(0.5), pick(0.99),
                                             times[-1] if times else float("nan"), failed)
    print(row, flush=True)
    return row


try:
    p = subprocess.run([rackvm, "rack", "up", "-d", os.path.join(work, "rack.yaml"),
                        "--state-dir", state], capture_output=True, text=True, timeout=60)
    if p.returncode:
        sys.exit("bench/noisy-neighbour.sh: rack up: " + p.stderr)
    for name in ("web", "noisy"):
        wait(name + " booted", lambda: "GUEST-READY" in log(name))
    time.sleep(3)
    type_on("web", "ip addr add 10.0.2.11/24 dev eth0; ip link set eth0 up; mkdir -p /tmp/www; "
                   "echo hello from web > /tmp/www/index.html; httpd -p 80 -h /tmp/www; echo WEB-UP\n")
    wait("web's httpd", lambda: "\nWEB-UP" in log("web").replace("\r", ""), 60)

    def fetchable():
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=5) as r:
                return b"hello from web" in r.read()
        except OSError:
            return False
    wait("web's page from the host", fetchable, 60)
    print("web: 1 hart, 128 MiB; noisy: 2 harts, 256 MiB; host: %d cores, load %s"
          % (os.cpu_count(), open("/proc/loadavg").read().split()[0]))
    print("%-7s %8s %8s %8s %8s %7s" % ("phase", "requests", "p50 ms", "p99 ms", "max ms", "failed"))
    phase("alone")
    type_on("noisy", "for i in 1 2; do (while :; do :; done) & echo $! >>/tmp/pids; done\n")
    time.sleep(2)
    phase("busy")
    type_on("noisy", "kill $(cat /tmp/pids); rm /tmp/pids; for i in 1 2; do (while :; do "
                     "dd if=/dev/zero of=/tmp/t$i bs=1M count=48 2>/dev/null; done) & "
                     "echo $! >>/tmp/pids; done\n")
    time.sleep(2)
    phase("thrash")
finally:
    subprocess.run([rackvm, "rack", "down", "--state-dir", state], capture_output=True, timeout=120)
    shutil.rmtree(work, True)
EOF
