#!/usr/bin/env bash
# Soak benchmark: one VM serves, all at once and as fast as the host allows, forwarded
# downloads (busybox httpd in the guest, fetched by the host through hostfwd), uploads
# (host -> guest through a second hostfwd into `nc -lk -e sha256sum`) and disk I/O
# (dd with fsync to a virtio-blk disk, read back with O_DIRECT) for DURATION seconds.
# Every INTERVAL seconds it prints MB/s down, up and to/from disk, errors so far and
# rackvm's RSS; at the end RSS at start and end, the bound held and the total errors.
# Every transfer is checked by SHA-256, so an error is a lost or corrupted transfer.
#   DURATION=600 INTERVAL=30 bench/soak.sh
# RSS is split into the guest's RAM (bounded by --memory; it grows as the guest touches
# pages) and the rest, the monitor's own memory: that part must not grow by more than
# HOST_RSS_BOUND_MB. Exit status 1 when there were errors or the bound was exceeded.
# The guest is $RACKVM_GUEST_DIR, else guest/ (scripts/build-guest.sh), else ../shared/guest.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rackvm=${RACKVM:-$root/build/rackvm}
[ -x "$rackvm" ] || { echo "bench/soak.sh: $rackvm missing; run make" >&2; exit 1; }
mkdir -p "$root/build/bench"

RACKVM=$rackvm DURATION=${DURATION:-600} INTERVAL=${INTERVAL:-30} MEMORY_MB=${MEMORY_MB:-256} \
    HOST_RSS_BOUND_MB=${HOST_RSS_BOUND_MB:-16} LOGS=$root/build/bench \
    exec python3 - "$root" <<'EOF'
import hashlib, http.client, os, re, socket, sys, tempfile, threading, time, urllib.request
sys.path.insert(0, os.path.join(sys.argv[1], "tests", "integration"))
from lib import RACKVM, Guest, find_guest, rackvm_argv, rss_mib

duration, interval = float(os.environ["DURATION"]), float(os.environ["INTERVAL"])
memory_mb, bound_mb = int(os.environ["MEMORY_MB"]), float(os.environ["HOST_RSS_BOUND_MB"])
logs = os.environ["LOGS"]
BLOB_MB, UP_MB, DISK_CHUNK_MB, DISK_MB = 8, 4, 4, 64
guest = find_guest()
if guest is None:
    sys.exit("bench/soak.sh: no guest; run scripts/build-guest.sh")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.bytes = self.errors = 0

    def add(self, n=0, error=False):
        with self.lock:
            self.bytes += n
            self.errors += error


stop = threading.Event()
down, up, disk = Counter(), Counter(), Counter()
error_notes = []


def note(what):
    if len(error_notes) < 20:
        error_notes.append("%.0fs %s" % (time.monotonic() - t0, what))


def downloader(port, want):
    while not stop.is_set():
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/blob" % port, timeout=120) as r:
                data = r.read()
            ok = hashlib.sha256(data).hexdigest() == want
            down.add(len(data) if ok else 0, not ok)
            if not ok:
                note("download: %d bytes, checksum mismatch" % len(data))
        except (OSError, http.client.HTTPException) as e:
            if not stop.is_set():
                down.add(error=True)
                note("download: %s" % e)


def uploader(port):
    payload = os.urandom(UP_MB << 20)
    want = hashlib.sha256(payload).hexdigest()
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
                reply = b""
                while chunk := s.recv(4096):
                    reply += chunk
            ok = reply.split()[:1] == [want.encode()]
            up.add(len(payload) if ok else 0, not ok)
            if not ok:
                note("upload: guest replied %r" % reply[:80])
        except OSError as e:
            if not stop.is_set():
                up.add(error=True)
                note("upload: %s" % e)


disk_line = re.compile(r"^DISK (\d+) (\S+)\r?$", re.M)


def scan_disk(g, pos, want):
    """Counts the guest's disk-loop reports after `pos`; returns the new position."""
    text = g.output
    for m in disk_line.finditer(text, pos):
        ok = m.group(2) == want
        disk.add(2 * (DISK_CHUNK_MB << 20) if ok else 0, not ok)
        if not ok:
            note("disk: pass %s read back %s" % (m.group(1), m.group(2)))
        pos = m.end()
    return pos


http_port, up_port = free_port(), free_port()
with tempfile.TemporaryDirectory() as d:
    image = os.path.join(d, "disk.img")
    with open(image, "wb") as f:
        f.truncate(DISK_MB << 20)
    argv = rackvm_argv(guest, "console=ttyS0", "--memory", "%dM" % memory_mb,
                       "--disk", "path=" + image,
                       "--net", "user,hostfwd=tcp:127.0.0.1:%d-:80,hostfwd=tcp:127.0.0.1:%d-:5000"
                       % (http_port, up_port))
    with Guest(argv) as g:
        try:
            g.wait_for(r"GUEST-READY", 600)
            g.wait_for(r"# ", 60)
            g.send("ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; "
                   "ip route add default via 10.0.2.2; mkdir -p /tmp/www; "
                   "dd if=/dev/urandom of=/tmp/www/blob bs=1M count=%d 2>/dev/null; "
                   "dd if=/dev/urandom of=/tmp/d.bin bs=1M count=%d 2>/dev/null; "
                   "printf '#!/bin/sh\\nexec sha256sum\\n' >/tmp/up.sh; chmod +x /tmp/up.sh; "
                   "httpd -p 80 -h /tmp/www; (nc -lk -p 5000 -e /tmp/up.sh &); "
                   "echo SUMS $(sha256sum </tmp/www/blob) $(sha256sum </tmp/d.bin) END\n"
                   % (BLOB_MB, DISK_CHUNK_MB))
            m = g.wait_for(r"SUMS ([0-9a-f]{64}) - ([0-9a-f]{64}) - END", 300)
            blob_sum, disk_sum = m.group(1).decode(), m.group(2).decode()
            # Chunks go round the disk; each is written with fsync, then read back past
            # the page cache and checksummed in the guest.
            g.send("(i=0; while :; do s=$(( i %% %d * %d )); "
                   "if dd if=/tmp/d.bin of=/dev/vda bs=1M seek=$s conv=fsync 2>/dev/null; then "
                   "echo DISK $i $(dd if=/dev/vda bs=1M skip=$s count=%d iflag=direct 2>/dev/null "
                   "| sha256sum | cut -d' ' -f1); else echo DISK $i write-failed; fi; "
                   "i=$((i+1)); done &)\n" % (DISK_MB // DISK_CHUNK_MB, DISK_CHUNK_MB, DISK_CHUNK_MB))
            time.sleep(2)
            pid = g.pid
            t0 = time.monotonic()
            rss0 = rss_mib(pid, memory_mb)
            workers = [threading.Thread(target=downloader, args=(http_port, blob_sum), daemon=True),
                       threading.Thread(target=uploader, args=(up_port,), daemon=True)]
            for w in workers:
                w.start()
            print("soak: %s, guest RAM %d MiB, %gs, a line every %gs (host: %d cores, load %s)"
                  % (RACKVM, memory_mb, duration, interval, os.cpu_count(),
                     " ".join(open("/proc/loadavg").read().split()[:3])))
            print("%6s %9s %9s %9s %6s %9s %9s" % ("time", "down MB/s", "up MB/s", "disk MB/s",
                                                  "errors", "RSS MiB", "host MiB"))
            pos, last = scan_disk(g, 0, disk_sum), (t0, 0, 0, 0)
            disk.bytes = 0   # passes before t0 count for errors, not throughput
            while True:
                now = time.monotonic()
                end = min(last[0] + interval, t0 + duration)
                if now < end:
                    time.sleep(min(end - now, 1))
                    if g.poll() is not None:
                        raise AssertionError("rackvm exited with %s" % g.poll())
                    continue
                pos = scan_disk(g, pos, disk_sum)
                total, ram = rss_mib(pid, memory_mb)
                span = now - last[0]
                errors = down.errors + up.errors + disk.errors
                print("%6.0f %9.2f %9.2f %9.2f %6d %9.1f %9.1f" % (
                    now - t0, (down.bytes - last[1]) / span / 1e6, (up.bytes - last[2]) / span / 1e6,
                    (disk.bytes - last[3]) / span / 1e6, errors, total, total - ram),
                    flush=True)
                last = (now, down.bytes, up.bytes, disk.bytes)
                if now >= t0 + duration:
                    break
            stop.set()
            rss1 = rss_mib(pid, memory_mb)
            g.send("poweroff -f\n")
            g.wait_exit(60)
        finally:
            with open(os.path.join(logs, "soak-console.log"), "w") as log:
                log.write(g.output)
    for w in workers:
        w.join(180)

span = time.monotonic() - t0
growth = (rss1[0] - rss1[1]) - (rss0[0] - rss0[1])
errors = down.errors + up.errors + disk.errors
print("totals: down %.1f MB (%.2f MB/s), up %.1f MB (%.2f MB/s), disk %.1f MB (%.2f MB/s)" % (
    down.bytes / 1e6, down.bytes / span / 1e6, up.bytes / 1e6, up.bytes / span / 1e6,
    disk.bytes / 1e6, disk.bytes / span / 1e6))
print("RSS start %.1f MiB (guest RAM %.1f, host %.1f), end %.1f MiB (guest RAM %.1f, host %.1f)" % (
    rss0[0], rss0[1], rss0[0] - rss0[1], rss1[0], rss1[1], rss1[0] - rss1[1]))
print("host RSS growth %.1f MiB, bound %g MiB: %s" % (growth, bound_mb,
                                                     "held" if growth <= bound_mb else "EXCEEDED"))
print("errors: %d (down %d, up %d, disk %d)" % (errors, down.errors, up.errors, disk.errors))
for n in error_notes:
    print("  " + n)
sys.exit(1 if errors or growth > bound_mb else 0)
EOF
