#!/usr/bin/env bash
# Boot benchmark: the same kernel + initramfs booted to poweroff (autorun=/bin/true) under
# rackvm and under QEMU's virt board (TCG), RUNS times in turn (bench/runs.sh; about a
# minute for 3). Prints the median and range of each one's wall time, the ratio of the
# medians and each one's largest peak RSS beside the guest memory size. A benchmark:
# no assertions.
#   RUNS=3 MEMORY=256 CPUS=1 bench/boot.sh      (MiB of guest memory, harts)
# The guest is $RACKVM_GUEST_DIR, else guest/ (scripts/build-guest.sh), else ../shared/guest.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
memory=${MEMORY:-256}
cpus=${CPUS:-1}
cmdline="console=ttyS0 autorun=/bin/true"

. "$root/bench/guest-setup.sh"
bench_setup bench/boot.sh /usr/bin/time qemu-system-riscv64
. "$root/bench/runs.sh"

# Runs one VM; appends its wall time (s, nan when the guest did not reach GUEST-EXIT 0)
# to the global name_wall and keeps the largest peak RSS (KiB) in name_rss.
measure() {
    local name=$1 run=$2
    shift 2
    local log=$logs/boot-$name-$run.log stats=$logs/boot-$name-$run.time wall rss
    echo "run $run: booting under $name (console: ${log#"$root"/})"
    rm -f "$stats"
    timeout 1200 /usr/bin/time -f '%e %M' -o "$stats" "$@" </dev/null >"$log" 2>&1 || true
    # time writes "Command exited with non-zero status N" first when the VM fails.
    read -r wall rss < <(tail -n1 "$stats" 2>/dev/null) || wall=nan rss=0
    grep -q 'GUEST-EXIT 0' "$log" || wall=nan
    local walls=${name}_wall peak=${name}_rss
    printf -v "$walls" '%s' "${!walls:-} $wall"
    [ "$rss" -le "${!peak:-0}" ] || printf -v "$peak" '%s' "$rss"
}

for run in $(seq "$runs"); do
    measure rackvm "$run" "$rackvm" run --kernel "$guest/Image" --initrd "$guest/initramfs.cpio.gz" \
        --cmdline "$cmdline" --memory "${memory}M" --cpus "$cpus"
    measure qemu "$run" qemu-system-riscv64 -M virt -m "$memory" -smp "$cpus" -nographic -bios default \
        -kernel "$guest/Image" -initrd "$guest/initramfs.cpio.gz" -append "$cmdline" -no-reboot
done

echo
host_line
echo "guest: $guest, ${memory} MiB, $cpus hart(s), to poweroff (a failed boot counts as nan)"
format='%-8s %24s %16s %12s\n'
printf "$format" vm "wall (s)" "peak RSS (MiB)" "guest (MiB)"
for vm in rackvm qemu; do
    walls=${vm}_wall peak=${vm}_rss
    printf "$format" $vm "$(spread_of ${!walls})" "$(awk "BEGIN { printf \"%.1f\", ${!peak:-0} / 1024 }")" "$memory"
done
echo "wall time ratio rackvm/qemu: $(ratio_of "$(median_of $rackvm_wall)" "$(median_of $qemu_wall)") (medians)"
