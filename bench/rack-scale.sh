#!/usr/bin/env bash
# Many idle VMs: for each N, a rack of N VMs (the package guest, its shell idle on the
# console) is brought up at once with `rackvm rack up -d`, and this prints
#   - the time from `rack up` until every VM printed GUEST-READY on its console;
#   - host CPU while all idle, over IDLE_SECONDS after SETTLE_SECONDS: the utime+stime
#     (/proc/PID/stat) of every VM process and of the supervisor, in % of one core;
#   - wakeups: voluntary + involuntary context switches of every VM thread per second;
#   - memory: each VM's RSS (/proc/PID/smaps) split into the guest RAM mapping's resident
#     pages (what the guest touched) and the rest (the monitor's overhead: code, heap,
#     thread stacks, the block cache and translated code per hart), and the supervisor's;
#     the overhead also as PSS (shared library pages divided among the processes).
# The rack rather than N `rackvm run`s: it is how many VMs are meant to run, it keeps each
# console's stdin open (a busybox shell reading EOF exits, and the guest panics), and its
# own idle cost counts. The peer, side by side: N qemu-system-riscv64 processes (virt, TCG)
# booting the same guest. A benchmark: no assertions.
#   NS="10 25 50" MEMORY=128 IDLE_SECONDS=20 QEMU=1 bench/rack-scale.sh
# MEMORY: MiB per VM; 128 is the smallest that boots the package guest cleanly (Debian's
# kernel keeps about 72 MiB: at 96 MiB init's modprobe is OOM-killed, at 88 MiB the
# initramfs no longer unpacks).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
ns=${NS:-10 25 50}
memory=${MEMORY:-128}
idle_s=${IDLE_SECONDS:-20}
settle_s=${SETTLE_SECONDS:-10}
boot_limit=${BOOT_LIMIT:-1200}
tick=$(getconf CLK_TCK)

. "$root/bench/guest-setup.sh"
bench_setup bench/rack-scale.sh
# QEMU=0 leaves out the peer; without qemu-system-riscv64 it is left out with a line.
qemu=
if [ "${QEMU:-1}" != 0 ]; then
    qemu=$(command -v qemu-system-riscv64 || true)
    [ -n "$qemu" ] || echo "bench/rack-scale.sh: no qemu-system-riscv64: rackvm only" >&2
fi

work=$(mktemp -d /tmp/rackvm-scale.XXXXXX)
chmod 755 "$work"
supervisor=
vms=()
cleanup() {
    [ "${#vms[@]}" -eq 0 ] || kill "${vms[@]}" 2>/dev/null || true
    if [ -n "$supervisor" ] && kill -0 "$supervisor" 2>/dev/null; then
        timeout -k 5 120 "$rackvm" rack down --state-dir "$work/state" >/dev/null 2>&1 || true
        kill -KILL "$supervisor" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Sum of utime+stime (ticks) of the given processes.
cpu_ticks() {
    local sum=0 pid
    for pid in "$@"; do
        # Fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
        sum=$((sum + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
    done
    echo $sum
}

# Context switches of every thread of the given processes.
switches() {
    cat $(printf '/proc/%s/task/*/status ' "$@") 2>/dev/null |
        awk '/^(voluntary|nonvoluntary)_ctxt_switches/ {s += $2} END {print s + 0}'
}

# The VMs that died, one line each ("name: why"): those the rack lists as failed or
# stopped (a monitor that crashed, a guest that panicked), or the QEMU processes gone.
dead_vms() {
    if [ -n "$supervisor" ]; then
        timeout -k 5 30 "$rackvm" rack ps --state-dir "$work/state" |
            awk '$2 == "failed" || $2 == "stopped" { name = $1; for (i = 1; i <= 9; i++) $i = ""
                                                     sub(/^ +/, ""); print name ": " $0 }'
    else
        local pid
        for pid in "${vms[@]}"; do kill -0 "$pid" 2>/dev/null || echo "qemu (pid $pid): exited"; done
    fi
}

# Waits until each of the n VMs printed GUEST-READY on its console log (glob $2) or died,
# sets boot (s since $1) and dead (how many died), and names those that died.
wait_booted() {
    local since=$1 logs=$2 booted=0 died=() polled=0
    while [ $((booted + ${#died[@]})) -lt "$n" ]; do
        booted=$(cat $logs 2>/dev/null | grep -c GUEST-READY || true)
        # rack ps every 2 s: a died VM never prints GUEST-READY, and would be waited for.
        if [ $((polled++ % 10)) -eq 0 ]; then mapfile -t died < <(dead_vms); fi
        if (($(echo "$(date +%s.%N) - $since > $boot_limit" | bc))); then
            echo "bench/rack-scale.sh: only $booted of $n VMs booted within $boot_limit s" >&2
            exit 1
        fi
        sleep 0.2
    done
    boot=$(echo "$(date +%s.%N) - $since" | bc)
    dead=${#died[@]}
    [ "$dead" -eq 0 ] || printf 'bench/rack-scale.sh: %d of %d VMs died while booting:\n%s\n' "$dead" "$n" \
        "$(printf '  %s\n' "${died[@]}")" >&2
}

# Measures the idle VMs ${vms[@]} (and the supervisor $1, if any) and adds a row for $2.
# A VM that dies while measured is named and left out of the figures, as are those that
# died while booting (the died column counts both); per-VM figures are per VM measured.
measure() {
    local sup=$1 vm=$2
    [ "${#vms[@]}" -eq $((n - dead)) ] ||
        { echo "bench/rack-scale.sh: ${#vms[@]} $vm processes, not $((n - dead))" >&2; exit 1; }
    printf '  %s: %d of %d booted in %.1f s; idle for %d s, then measured over %d s\n' "$vm" \
        $((n - dead)) "$n" "$boot" "$settle_s" "$idle_s"
    sleep "$settle_s"
    local -A c0 w0
    local s0=0 s1=0 t0 t1 pid
    for pid in "${vms[@]}"; do c0[$pid]=$(cpu_ticks "$pid") w0[$pid]=$(switches "$pid"); done
    t0=$(date +%s.%N)
    [ -z "$sup" ] || s0=$(cpu_ticks "$sup")
    sleep "$idle_s"
    local cpu=0 wakes=0 measured=() c w
    for pid in "${vms[@]}"; do
        # Both reads fail once the process is gone (and exits are not waited for here).
        c=$(cpu_ticks "$pid" 2>/dev/null) && w=$(switches "$pid") || continue
        cpu=$((cpu + c - c0[$pid])) wakes=$((wakes + w - w0[$pid])) measured+=("$pid")
    done
    t1=$(date +%s.%N)
    [ -z "$sup" ] || s1=$(cpu_ticks "$sup")
    local live=${#measured[@]} died=()
    if [ "$live" -lt "${#vms[@]}" ]; then
        mapfile -t died < <(dead_vms)
        printf 'bench/rack-scale.sh: %d %s VMs died while measured; all that died:\n%s\n' \
            $((${#vms[@]} - live)) "$vm" "$(printf '  %s\n' "${died[@]}")" >&2
    fi
    [ "$live" -gt 0 ] || { echo "bench/rack-scale.sh: no $vm VM left to measure" >&2; exit 1; }
    local elapsed total_kib=0 ram_kib=0 pss_kib=0 sup_kib=0 t r p
    elapsed=$(echo "$t1 - $t0" | bc -l)
    for pid in "${measured[@]}"; do
        read -r t r p < <(rss_split "$pid")
        total_kib=$((total_kib + t)) ram_kib=$((ram_kib + r)) pss_kib=$((pss_kib + p))
    done
    [ -z "$sup" ] || sup_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$sup/status")
    local vm_cpu sup_cpu
    vm_cpu=$(echo "100 * $cpu / $tick / $elapsed" | bc -l)
    sup_cpu=$(echo "100 * ($s1 - $s0) / $tick / $elapsed" | bc -l)
    results+=("$(printf '%-6s %4d %5d %9.1f %9.2f %9.3f %8.2f %8.1f %11.1f %11.1f %10.1f %10.1f %9.1f' "$vm" "$n" \
        $((n - live)) "$boot" "$(echo "$vm_cpu + $sup_cpu" | bc -l)" "$(echo "$vm_cpu / $live" | bc -l)" "$sup_cpu" \
        "$(echo "$wakes / $elapsed / $live" | bc -l)" "$(echo "$total_kib / 1024" | bc -l)" \
        "$(echo "$ram_kib / 1024 / $live" | bc -l)" "$(echo "($total_kib - $ram_kib) / 1024 / $live" | bc -l)" \
        "$(echo "$pss_kib / 1024 / $live" | bc -l)" "$(echo "$sup_kib / 1024" | bc -l)")")
    echo "  ${results[-1]}"
}

results=()
for n in $ns; do
    rm -rf "$work/state"
    {
        echo "vms:"
        for i in $(seq "$n"); do
            printf '  vm%d:\n    kernel: %s\n    initrd: %s\n    cmdline: console=ttyS0\n' \
                "$i" "$guest/Image" "$guest/initramfs.cpio.gz"
            printf '    memory: %d\n    shutdown_timeout: 5\n' "$memory"
        done
    } >"$work/rack.yaml"
    echo "N=$n: rack up (${memory} MiB each; state in $work/state)"
    start=$(date +%s.%N)
    out=$("$rackvm" rack up -d "$work/rack.yaml" --state-dir "$work/state")
    supervisor=$(sed -n 's/.*running in the background (pid \([0-9]*\)).*/\1/p' <<<"$out")
    [ -n "$supervisor" ] || { echo "bench/rack-scale.sh: rack up said: $out" >&2; exit 1; }
    wait_booted "$start" "$work/state/vm*.log"
    mapfile -t vms < <(pgrep -P "$supervisor" -f ' run ')
    measure "$supervisor" rackvm
    timeout -k 5 300 "$rackvm" rack down --state-dir "$work/state" >/dev/null
    while kill -0 "$supervisor" 2>/dev/null; do sleep 0.2; done
    supervisor= vms=()

    # The peer: N QEMU processes (virt board, TCG, OpenSBI), console to a file; no
    # supervisor. Its guest has no power button, so it never polled for one.
    [ -n "$qemu" ] || continue
    echo "N=$n: $n QEMU processes"
    rm -f "$work"/qemu*.log
    start=$(date +%s.%N)
    vms=()
    for i in $(seq "$n"); do
        "$qemu" -M virt -m "$memory" -smp 1 -display none -monitor none -serial "file:$work/qemu$i.log" \
            -bios default -kernel "$guest/Image" -initrd "$guest/initramfs.cpio.gz" -append console=ttyS0 \
            </dev/null >/dev/null 2>&1 &
        vms+=($!)
    done
    wait_booted "$start" "$work/qemu*.log"
    measure "" qemu
    kill "${vms[@]}"
    wait "${vms[@]}" 2>/dev/null || true
    vms=()
done

echo
echo "guest: $guest, $memory MiB and 1 hart per VM, host: $(nproc) cores, load now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "died: VMs that died (left out of the rest); idle CPU in % of one core over ${idle_s} s;"
echo "wake/s: context switches per VM; MiB: RSS of"
echo "all VMs, guest RAM touched per VM, RSS and PSS outside the guest RAM per VM, supervisor RSS"
printf '%-6s %4s %5s %9s %9s %9s %8s %8s %11s %11s %10s %10s %9s\n' vm N died "boot(s)" "idle CPU%" "per VM" "superv." \
    "wake/s" "RSS total" "RAM per VM" "ovh RSS" "ovh PSS" "superv."
printf '%s\n' "${results[@]}"
