#!/usr/bin/env bash
# Nested boot benchmark: the outer guest (guest/ with guest/nested.cpio.gz appended, from
# scripts/build-nested.sh) loads KVM and boots a Linux guest with qemu-system-riscv64
# -enable-kvm, under rackvm (--cpu h=on) and under QEMU's TCG (-cpu rv64,h=true) as the
# outer hypervisor, in one run. Prints, for each, the nested boot (QEMU started to the
# inner guest powered off, on the outer guest's clock), the inner kernel's uptime at its
# init, and the whole run's wall time. A benchmark: no assertions.
#   MEMORY=1024 CPUS=2 bench/nested.sh      (MiB of outer guest memory, harts)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
memory=${MEMORY:-1024}
cpus=${CPUS:-2}
rackvm=${RACKVM:-$root/build/rackvm}
guest=$root/guest
logs=$root/build/bench
cmdline="console=ttyS0 autorun=/nested/run.sh"

[ -x "$rackvm" ] || { echo "bench/nested.sh: $rackvm missing; run make" >&2; exit 1; }
for tool in /usr/bin/time qemu-system-riscv64; do
    command -v $tool >/dev/null || { echo "bench/nested.sh: $tool missing; run scripts/deps.sh --all" >&2; exit 1; }
done
"$root/scripts/build-nested.sh" >/dev/null || { echo "bench/nested.sh: scripts/build-nested.sh failed" >&2; exit 1; }
mkdir -p "$logs"
initrd=$logs/nested-initrd.gz
cat "$guest/initramfs.cpio.gz" "$guest/nested.cpio.gz" >"$initrd"
trap 'rm -f "$initrd"' EXIT

# Runs one outer VM; sets wall (s), nested (s: QEMU start to exit on the outer guest's
# clock), inner (the inner kernel's uptime at its init) and ok.
measure() {
    local name=$1
    shift
    local log=$logs/nested-$name.log stats=$logs/nested-$name.time
    echo "booting the nested guest under $name (console: ${log#"$root"/})"
    rm -f "$stats"
    timeout -k 5 1200 /usr/bin/time -f '%e' -o "$stats" "$@" </dev/null >"$log" 2>&1 || true
    wall=$(tail -n1 "$stats" 2>/dev/null) || wall=nan
    inner=$(sed -n 's/.*NESTED-GUEST-UP uptime=\([0-9.]*\).*/\1/p' "$log")
    nested=$(sed -n 's/.*NESTED-EXIT status=0 uptime=\([0-9.]*\) start=\([0-9.]*\).*/\1 - \2/p' "$log")
    if [ -n "$nested" ] && [ -n "$inner" ]; then
        nested=$(echo "$nested" | bc -l) ok=yes
    else
        nested=nan inner=nan ok="NO (see log)"
    fi
}

measure rackvm "$rackvm" run --cpu h=on --cpus "$cpus" --memory "${memory}M" \
    --kernel "$guest/Image" --initrd "$initrd" --cmdline "$cmdline"
r=("$nested" "$inner" "$wall" "$ok")
measure qemu qemu-system-riscv64 -M virt -cpu rv64,h=true -smp "$cpus" -m "$memory" \
    -nographic -no-reboot -kernel "$guest/Image" -initrd "$initrd" -append "$cmdline"
q=("$nested" "$inner" "$wall" "$ok")

echo
echo "outer guest: ${memory} MiB, $cpus harts; inner guest: 1 hart, 128 MiB under KVM"
printf '%-8s %12s %18s %10s  %s\n' outer "nested (s)" "inner uptime (s)" "wall (s)" "nested guest booted"
printf '%-8s %12.1f %18s %10s  %s\n' rackvm "${r[0]}" "${r[1]}" "${r[2]}" "${r[3]}"
printf '%-8s %12.1f %18s %10s  %s\n' qemu "${q[0]}" "${q[1]}" "${q[2]}" "${q[3]}"
