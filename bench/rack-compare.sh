#!/usr/bin/env bash
# shellcheck disable=SC2086 # ${vms[i]} and ${per_wake[i]} are lists, split on purpose
# Idle VMs of two or more builds side by side: a rack of N VMs per build (the package
# guest, its shell idle on the console), all brought up at once, so that every build is
# measured under the same host load (a single bench/rack-scale.sh run moves with the
# load of whatever else shares the host). After all booted and SETTLE_SECONDS, for
# WINDOWS windows of WINDOW_SECONDS it prints per build:
#   - ms/s: host CPU per VM, in ms of run time per second (every thread of each VM
#     process, /proc/PID/task/*/schedstat: user and system time as the scheduler counts);
#   - wake/s: times each VM was scheduled in per second (an idle VM: its guest's timer
#     wake-ups, about 5.5);
#   - us/wake: run time per wake-up, the figure to compare (it does not depend on how
#     often each guest happened to wake in the window);
#   - ovh MiB: RSS outside the guest RAM mapping per VM (monitor overhead: block cache,
#     translations, stacks, code);
# then per build the median of us/wake over the windows and its ratio to the first
# build's. Two racks of one binary differ by 3-5 % here (4-10 VMs each): noise.
#   N=10 bench/rack-compare.sh /tmp/base/build/rackvm build/rackvm
# A benchmark: no assertions.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
n=${N:-10}
memory=${MEMORY:-128}
settle_s=${SETTLE_SECONDS:-20}
window_s=${WINDOW_SECONDS:-20}
windows=${WINDOWS:-5}
boot_limit=${BOOT_LIMIT:-1200}

. "$root/bench/guest-setup.sh"
. "$root/bench/runs.sh"
bench_setup bench/rack-compare.sh
[ "$#" -ge 1 ] || { echo "usage: bench/rack-compare.sh RACKVM..." >&2; exit 2; }
builds=("$@")
for b in "${builds[@]}"; do
    [ -x "$b" ] || { echo "bench/rack-compare.sh: $b is not an executable" >&2; exit 2; }
done

work=$(mktemp -d /tmp/rackvm-compare.XXXXXX)
chmod 755 "$work"
supervisors=()
cleanup() {
    local i
    for i in "${!supervisors[@]}"; do
        timeout -k 5 120 "${builds[$i]}" rack down --state-dir "$work/state$i" >/dev/null 2>&1 || true
        kill -KILL "${supervisors[$i]}" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# "run_ns times_scheduled" summed over every thread of the given processes.
schedstat() {
    local pid
    for pid in "$@"; do cat "/proc/$pid/task/"*/schedstat; done 2>/dev/null |
        awk '{ run += $1; scheduled += $3 } END { printf "%.0f %.0f\n", run, scheduled }'
}

# RSS outside the guest RAM mapping, in MiB per process, of the given processes.
overhead_mib() {
    local pid
    for pid in "$@"; do rss_split "$pid"; done | awk '{ sum += $1 - $2 } END { printf "%.2f", sum / 1024 / NR }'
}

for i in "${!builds[@]}"; do
    {
        echo "vms:"
        for k in $(seq "$n"); do
            printf '  vm%d:\n    kernel: %s\n    initrd: %s\n    cmdline: console=ttyS0\n' \
                "$k" "$guest/Image" "$guest/initramfs.cpio.gz"
            printf '    memory: %d\n    shutdown_timeout: 5\n' "$memory"
        done
    } >"$work/rack$i.yaml"
done
echo "${#builds[@]} racks of $n VMs (${memory} MiB each), brought up at once:"
start=$(date +%s.%N)
for i in "${!builds[@]}"; do
    out=$("${builds[$i]}" rack up -d "$work/rack$i.yaml" --state-dir "$work/state$i")
    supervisors[i]=$(sed -n 's/.*running in the background (pid \([0-9]*\)).*/\1/p' <<<"$out")
    [ -n "${supervisors[$i]}" ] || { echo "bench/rack-compare.sh: rack up said: $out" >&2; exit 1; }
    echo "  [$i] ${builds[$i]}"
done
total=$((n * ${#builds[@]}))
while :; do
    booted=$(cat "$work"/state*/vm*.log 2>/dev/null | grep -c GUEST-READY || true)
    [ "$booted" -lt "$total" ] || break
    if (($(echo "$(date +%s.%N) - $start > $boot_limit" | bc))); then
        echo "bench/rack-compare.sh: only $booted of $total VMs booted within $boot_limit s" >&2
        exit 1
    fi
    sleep 1
done
printf 'all booted in %.0f s (load %s); idle for %d s, then %d windows of %d s\n' \
    "$(echo "$(date +%s.%N) - $start" | bc)" "$(cut -d' ' -f1 /proc/loadavg)" "$settle_s" "$windows" "$window_s"
# The VM processes of build i, one string each (split where used).
declare -A vms
for i in "${!builds[@]}"; do
    vms[$i]=$(pgrep -P "${supervisors[$i]}" -f ' run ' | tr '\n' ' ')
    count=$(wc -w <<<"${vms[$i]}")
    [ "$count" -eq "$n" ] || { echo "bench/rack-compare.sh: [$i] has $count VM processes, not $n" >&2; exit 1; }
done
sleep "$settle_s"

declare -A per_wake
for w in $(seq "$windows"); do
    declare -A run0 sched0
    for i in "${!builds[@]}"; do read -r "run0[$i]" "sched0[$i]" < <(schedstat ${vms[$i]}); done
    sleep "$window_s"
    line=$(printf 'window %d (load %s):' "$w" "$(cut -d' ' -f1 /proc/loadavg)")
    for i in "${!builds[@]}"; do
        read -r run1 sched1 < <(schedstat ${vms[$i]})
        read -r ms wakes us < <(awk -v r="$((run1 - run0[$i]))" -v s="$((sched1 - sched0[$i]))" -v n="$n" -v t="$window_s" \
            'BEGIN { printf "%.3f %.2f %.1f\n", r / 1e6 / n / t, s / n / t, s ? r / 1e3 / s : 0 }')
        per_wake[$i]+="$us "
        line+=$(printf '  [%d] %s ms/s %s wake/s %s us/wake %s ovh MiB' "$i" "$ms" "$wakes" "$us" \
            "$(overhead_mib ${vms[$i]})")
    done
    echo "$line"
done

first=$(median_of ${per_wake[0]})
echo "median us/wake (ratio to [0]):"
for i in "${!builds[@]}"; do
    m=$(median_of ${per_wake[$i]})
    printf '  [%d] %8.1f  %.3f  %s\n' "$i" "$m" "$(echo "$m / $first" | bc -l)" "${builds[$i]}"
done
