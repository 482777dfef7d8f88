#!/usr/bin/env bash
# Fork/exec benchmark: a shell loop in the reference guest that runs ITER times
# `/bin/true` and `echo $i | cat >/dev/null` (three fork+execs of static busybox a
# turn), under rackvm and under QEMU's virt board (TCG), in one run. The loop is a
# script in a second cpio archive appended to the guest's initramfs (the kernel unpacks
# both) and run with autorun=; it prints its own time from /proc/uptime, so boot does
# not count. Runs both VMs RUNS times in turn (bench/runs.sh; about a minute for 3) and
# prints the median and range of their loop and whole-run wall times and the ratio of
# the loop medians. No assertions.
#   RUNS=3 ITER=100 MEMORY=256 bench/shell.sh
# The guest is $RACKVM_GUEST_DIR, else guest/ (scripts/build-guest.sh), else ../shared/guest.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
iter=${ITER:-100}
memory=${MEMORY:-256}

. "$root/bench/guest-setup.sh"
bench_setup bench/shell.sh cpio gzip qemu-system-riscv64
. "$root/bench/runs.sh"

# The guest's initramfs plus an archive holding /forkloop.sh.
initrd=$logs/shell-initramfs.cpio.gz
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
cat >"$staging/forkloop.sh" <<SCRIPT
#!/bin/sh
start=\$(cut -d' ' -f1 /proc/uptime)
i=0
while [ \$i -lt $iter ]; do
    /bin/true
    echo \$i | cat >/dev/null
    i=\$((i + 1))
done
end=\$(cut -d' ' -f1 /proc/uptime)
echo "LOOP-SECONDS \$(awk "BEGIN { print \$end - \$start }")"
SCRIPT
chmod +x "$staging/forkloop.sh"
cp "$guest/initramfs.cpio.gz" "$initrd"
(cd "$staging" && echo forkloop.sh | cpio --quiet -o -H newc -R 0:0 | gzip -9) >>"$initrd"
cmdline="console=ttyS0 autorun=/forkloop.sh"

# Runs one VM; appends to the globals name_wall (s) and name_loop (the guest's own
# figure, s, or nan when the guest did not reach GUEST-EXIT 0).
measure() {
    local name=$1 run=$2
    shift 2
    local log=$logs/shell-$name-$run.log
    echo "run $run: $name (console: ${log#"$root"/})"
    local start end wall loop
    start=$(date +%s.%N)
    timeout -k 5 1200 "$@" </dev/null >"$log" 2>&1 || true
    end=$(date +%s.%N)
    wall=$(awk "BEGIN { printf \"%.2f\", $end - $start }")
    loop=$(sed -n 's/^LOOP-SECONDS \([0-9.]*\).*/\1/p' "$log" | head -n 1)
    grep -q 'GUEST-EXIT 0' "$log" || loop=""
    local walls=${name}_wall loops=${name}_loop
    printf -v "$walls" '%s' "${!walls:-} $wall"
    printf -v "$loops" '%s' "${!loops:-} ${loop:-nan}"
}

for run in $(seq "$runs"); do
    measure rackvm "$run" "$rackvm" run --kernel "$guest/Image" --initrd "$initrd" \
        --cmdline "$cmdline" --memory "${memory}M"
    measure qemu "$run" qemu-system-riscv64 -M virt -m "$memory" -nographic -bios default \
        -kernel "$guest/Image" -initrd "$initrd" -append "$cmdline" -no-reboot
done

echo
host_line
echo "guest: $guest, ${memory} MiB, 1 hart; $iter turns of /bin/true + echo | cat"
format='%-8s %24s %24s\n'
printf "$format" vm "loop (s)" "whole run (s)"
printf "$format" rackvm "$(spread_of $rackvm_loop)" "$(spread_of $rackvm_wall)"
printf "$format" qemu "$(spread_of $qemu_loop)" "$(spread_of $qemu_wall)"
echo "loop time ratio rackvm/qemu: $(ratio_of "$(median_of $rackvm_loop)" "$(median_of $qemu_loop)") (medians)"
