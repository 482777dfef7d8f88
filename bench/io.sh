#!/usr/bin/env bash
# I/O benchmark: in-guest TCP download throughput from a web server on the host (user
# networking, through the gateway 10.0.2.2) and, when rackvm has --disk, sequential
# virtio-blk read throughput, under rackvm and under QEMU's virt board (TCG), in one run.
# Prints MB/s side by side. A benchmark: no assertions.
#   NET_MB=32 DISK_MB=64 bench/io.sh
# The guest is $RACKVM_GUEST_DIR, else guest/ (scripts/build-guest.sh), else ../shared/guest.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rackvm=${RACKVM:-$root/build/rackvm}
[ -x "$rackvm" ] || { echo "bench/io.sh: $rackvm missing; run make" >&2; exit 1; }
command -v qemu-system-riscv64 >/dev/null ||
    { echo "bench/io.sh: qemu-system-riscv64 missing; run scripts/deps.sh --all" >&2; exit 1; }
mkdir -p "$root/build/bench"

RACKVM=$rackvm NET_MB=${NET_MB:-32} DISK_MB=${DISK_MB:-64} LOGS=$root/build/bench \
    exec python3 - "$root" <<'EOF'
import functools, http.server, os, re, subprocess, sys, tempfile, threading
sys.path.insert(0, os.path.join(sys.argv[1], "tests", "integration"))
from lib import RACKVM, Guest, find_guest, qemu_argv, rackvm_argv

net_mb, disk_mb, logs = int(os.environ["NET_MB"]), int(os.environ["DISK_MB"]), os.environ["LOGS"]
guest = find_guest()
if guest is None:
    sys.exit("bench/io.sh: no guest; run scripts/build-guest.sh")
help_text = subprocess.run([RACKVM, "run", "--help"], capture_output=True, text=True).stdout
with_disk = "--disk" in help_text


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def uptime_between(g, command, timeout):
    """Runs command in the guest shell; seconds it took by the guest's clock, or None."""
    g.send("a=$(cut -d' ' -f1 /proc/uptime); %s >/dev/null 2>&1 && "
           "echo IO-DONE $a $(cut -d' ' -f1 /proc/uptime) IO-END || echo IO-FAIL$((1))\n" % command)
    # IO-END: the second number may still be arriving when the first part is matched.
    m = g.wait_for(r"IO-(DONE ([0-9.]+) ([0-9.]+) IO-END|FAIL1)", timeout)
    if m.group(1) == b"FAIL1":
        return None
    return float(m.group(3)) - float(m.group(2))


def run(name, argv, web_port):
    results = {}
    with open(os.path.join(logs, "io-%s.log" % name), "wb") as log, Guest(argv) as g:
        try:
            g.wait_for(r"GUEST-READY", 600)
            g.wait_for(r"# ", 60)
            g.send("ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; "
                   "ip route add default via 10.0.2.2; echo NET-$((1+1))\n")
            g.wait_for(r"NET-2", 60)
            t = uptime_between(g, "wget -q -O /dev/null http://10.0.2.2:%d/blob" % web_port, 1200)
            results["net"] = net_mb / t if t else None
            if with_disk:
                # O_DIRECT on the raw device: the guest's page cache stays out of it. The
                # write goes first so that the read meets written blocks, not a sparse hole.
                t = uptime_between(g, "dd if=/dev/zero of=/dev/vda bs=1M count=%d oflag=direct" % disk_mb, 1200)
                results["write"] = disk_mb / t if t else None
                t = uptime_between(g, "dd if=/dev/vda of=/dev/null bs=1M count=%d iflag=direct" % disk_mb, 1200)
                results["read"] = disk_mb / t if t else None
            g.send("poweroff -f\n")
            g.wait_exit(60)
        finally:
            log.write(g.output.encode())
    return results


with tempfile.TemporaryDirectory() as d:
    with open(os.path.join(d, "blob"), "wb") as f:
        f.write(os.urandom(net_mb << 20))
    disk = os.path.join(d, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(disk_mb << 20)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=d))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    r_argv = rackvm_argv(guest, "console=ttyS0", "--net", "user") + (["--disk", "path=" + disk] if with_disk else [])
    q_argv = qemu_argv(guest) + ["-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0"]
    if with_disk:
        q_argv += ["-drive", "file=%s,format=raw,if=none,id=d0" % disk,
                   "-device", "virtio-blk-device,drive=d0"]
    rows = []
    for name, argv in (("rackvm", r_argv), ("qemu", q_argv)):
        print("running under %s (console: build/bench/io-%s.log)" % (name, name), flush=True)
        try:
            rows.append((name, run(name, argv, port)))
        except AssertionError as e:
            print("  %s failed: %s" % (name, str(e).splitlines()[0]))
            rows.append((name, {}))
    server.shutdown()


def fmt(v):
    return "%.2f" % v if v else "n/a"


print()
print("guest: %s; download %d MiB over TCP from the host%s" % (
    guest.directory, net_mb, "; write then read %d MiB of virtio-blk with O_DIRECT dd" % disk_mb if with_disk else
    " (rackvm has no --disk yet: no disk figures)"))
print("%-8s %16s %16s %16s" % ("vm", "net MB/s", "disk write MB/s", "disk read MB/s"))
for name, res in rows:
    print("%-8s %16s %16s %16s" % (name, fmt(res.get("net")), fmt(res.get("write")), fmt(res.get("read"))))
EOF
