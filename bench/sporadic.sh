#!/usr/bin/env bash
# A lightly loaded server: one web VM per build given (the package guest, 1 hart, 128 MiB,
# busybox httpd on a --net user port forward), all up at once; the host fetches each VM's
# page, one connection per request, the VMs taking turns so that every build sees the
# same host load, in phases:
#   warm   back to back
#   1s 3s  one request every 1 s, every 3 s (per VM)
#   20s    one request after 20 s of silence
# (N requests each: WARM=100 N1=40 N3=20 N20=6, 0 leaves a phase out)
# and prints per phase and build the latency p50 and p90 (ms, client side) and the host
# CPU per request (ms, p50: every thread of the VM process, /proc/PID/task/*/schedstat),
# then per build the host CPU per second of the idle VM over 30 s without requests and
# its RSS. Made to judge the idle release (src/cpu/hart.c) on what a server sees.
#   bench/sporadic.sh /tmp/base/build/rackvm build/rackvm
# A benchmark: no assertions.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/guest-setup.sh"
bench_setup bench/sporadic.sh
[ "$#" -ge 1 ] || set -- "$rackvm"
for b in "$@"; do
    [ -x "$b" ] || { echo "bench/sporadic.sh: $b is not an executable" >&2; exit 2; }
done

exec python3 - "$root/tests/integration" "$@" <<'EOF'
import contextlib, math, os, re, statistics, sys, time, urllib.request

sys.path.insert(0, sys.argv[1])
from lib import Guest, find_guest, rackvm_argv
from test_net import free_port

builds = sys.argv[2:]
counts = {"warm": int(os.environ.get("WARM", 100)), "1s": int(os.environ.get("N1", 40)),
          "3s": int(os.environ.get("N3", 20)), "20s": int(os.environ.get("N20", 6))}
gaps = {"warm": 0, "1s": 1.0, "3s": 3.0, "20s": 20.0}


def cpu_ns(pid):
    run = 0
    for task in os.listdir("/proc/%d/task" % pid):
        with contextlib.suppress(OSError), open("/proc/%d/task/%s/schedstat" % (pid, task)) as f:
            run += int(f.read().split()[0])
    return run


with contextlib.ExitStack() as stack:
    vms, ports = [], []
    for b in builds:
        port = free_port()
        argv = rackvm_argv(find_guest(), "console=ttyS0", "--cpus", "1", "--memory", "128",
                           "--net", "user,hostfwd=tcp:127.0.0.1:%d-:80" % port)
        argv[0] = b
        vms.append(stack.enter_context(Guest(argv)))
        ports.append(port)

    def fetch(i):
        t = time.monotonic()
        with urllib.request.urlopen("http://127.0.0.1:%d/" % ports[i], timeout=10) as r:
            if b"hello from web" not in r.read():
                sys.exit("bench/sporadic.sh: %s: not its page" % builds[i])
        return (time.monotonic() - t) * 1000

    for i, g in enumerate(vms):
        g.wait_for(r"GUEST-READY", 600)
        g.send("ip addr add 10.0.2.15/24 dev eth0; ip link set eth0 up; mkdir -p /tmp/www; "
               "echo hello from web > /tmp/www/index.html; httpd -p 80 -h /tmp/www; echo WEB-$((2+3))\n")
        g.wait_for(r"WEB-5", 60)
        deadline = time.monotonic() + 60
        while True:
            try:
                fetch(i)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
    time.sleep(12)  # past two idle windows
    print("%d VMs (1 hart, 128 MiB); host: %d cores, load %s"
          % (len(vms), os.cpu_count(), open("/proc/loadavg").read().split()[0]))
    print("%-6s %-40s %5s %8s %8s %8s" % ("phase", "build", "reqs", "p50 ms", "p90 ms", "cpu ms"))
    for phase, n in counts.items():
        if not n:
            continue
        times = [[] for _ in vms]
        cpu = [[] for _ in vms]
        for _ in range(n):
            for i, g in enumerate(vms):
                time.sleep(gaps[phase] / len(vms))
                before = cpu_ns(g.pid)
                times[i].append(fetch(i))
                if gaps[phase]:
                    time.sleep(0.05)  # the request's last packets and the guest's wfi
                cpu[i].append((cpu_ns(g.pid) - before) / 1e6)
        for i in range(len(vms)):
            t = sorted(times[i])
            print("%-6s %-40s %5d %8.2f %8.2f %8.2f" % (phase, builds[i][-40:], n, statistics.median(t),
                                                     t[math.ceil(0.9 * len(t)) - 1], statistics.median(cpu[i])))
    time.sleep(2)
    start = [cpu_ns(g.pid) for g in vms]
    t0 = time.monotonic()
    time.sleep(30)
    seconds = time.monotonic() - t0
    for i, g in enumerate(vms):
        with open("/proc/%d/status" % g.pid) as f:
            rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        print("idle   %-40s host CPU %.2f ms/s, RSS %.1f MiB"
              % (builds[i][-40:], (cpu_ns(g.pid) - start[i]) / 1e6 / seconds, rss / 1024))
    for g in vms:
        g.send("poweroff -f\n")
    for g in vms:
        with contextlib.suppress(Exception):
            g.wait_exit(30)
EOF
