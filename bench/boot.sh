#!/usr/bin/env bash
# Boot benchmark: the same kernel + initramfs booted to poweroff (autorun=/bin/true) under
# rackvm and under QEMU's virt board (TCG), in one run. Prints each one's wall time, the
# ratio and each one's peak RSS beside the guest memory size. A benchmark: no assertions.
#   MEMORY=256 CPUS=1 bench/boot.sh      (MiB of guest memory, harts)
# The guest is $RACKVM_GUEST_DIR, else guest/ (scripts/build-guest.sh), else ../shared/guest.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
memory=${MEMORY:-256}
cpus=${CPUS:-1}
cmdline="console=ttyS0 autorun=/bin/true"

. "$root/bench/guest-setup.sh"
bench_setup bench/boot.sh /usr/bin/time qemu-system-riscv64

# Runs one VM; sets wall (s), rss (KiB) and ok (whether the guest reached GUEST-EXIT 0).
measure() {
    local name=$1
    shift
    local log=$logs/boot-$name.log stats=$logs/boot-$name.time
    echo "booting under $name (console: ${log#"$root"/})"
    rm -f "$stats"
    timeout 1200 /usr/bin/time -f '%e %M' -o "$stats" "$@" </dev/null >"$log" 2>&1 || true
    # time writes "Command exited with non-zero status N" first when the VM fails.
    if ! read -r wall rss < <(tail -n1 "$stats" 2>/dev/null); then
        wall=nan rss=0
    fi
    if grep -q 'GUEST-EXIT 0' "$log"; then ok=yes; else ok="NO (see log)"; fi
}

measure rackvm "$rackvm" run --kernel "$guest/Image" --initrd "$guest/initramfs.cpio.gz" \
    --cmdline "$cmdline" --memory "${memory}M" --cpus "$cpus"
r_wall=$wall r_rss=$rss r_ok=$ok
measure qemu qemu-system-riscv64 -M virt -m "$memory" -smp "$cpus" -nographic -bios default \
    -kernel "$guest/Image" -initrd "$guest/initramfs.cpio.gz" -append "$cmdline" -no-reboot
q_wall=$wall q_rss=$rss q_ok=$ok

echo
echo "guest: $guest, ${memory} MiB, $cpus hart(s), to poweroff"
printf '%-8s %10s %16s %12s  %s\n' vm "wall (s)" "peak RSS (MiB)" "guest (MiB)" "reached GUEST-EXIT 0"
printf '%-8s %10s %16.1f %12s  %s\n' rackvm "$r_wall" "$(echo "$r_rss / 1024" | bc -l)" "$memory" "$r_ok"
printf '%-8s %10s %16.1f %12s  %s\n' qemu "$q_wall" "$(echo "$q_rss / 1024" | bc -l)" "$memory" "$q_ok"
if [ "$q_wall" != nan ] && [ "$r_wall" != nan ]; then
    printf 'wall time ratio rackvm/qemu: %.2f\n' "$(echo "$r_wall / $q_wall" | bc -l)"
fi
