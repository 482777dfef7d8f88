#!/usr/bin/env bash
# Fork/exec benchmark: a shell loop in the reference guest that runs ITER times
# `/bin/true` and `echo $i | cat >/dev/null` (three fork+execs of static busybox a
# turn), under rackvm and under QEMU's virt board (TCG), in one run. The loop is a
# script in a second cpio archive appended to the guest's initramfs (the kernel unpacks
# both) and run with autorun=; it prints its own time from /proc/uptime, so boot does
# not count. Prints both VMs' loop and whole-run wall times and the ratio. No assertions.
#   ITER=100 MEMORY=256 bench/shell.sh
# The guest is $RACKVM_GUEST_DIR, else guest/ (scripts/build-guest.sh), else ../shared/guest.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
iter=${ITER:-100}
memory=${MEMORY:-256}

. "$root/bench/guest-setup.sh"
bench_setup bench/shell.sh cpio gzip qemu-system-riscv64

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

# Runs one VM; sets wall (s) and loop (the guest's own figure, s).
measure() {
    local name=$1
    shift
    local log=$logs/shell-$name.log
    echo "running under $name (console: ${log#"$root"/})"
    local start end
    start=$(date +%s.%N)
    timeout -k 5 1200 "$@" </dev/null >"$log" 2>&1 || true
    end=$(date +%s.%N)
    wall=$(awk "BEGIN { printf \"%.2f\", $end - $start }")
    loop=$(sed -n 's/^LOOP-SECONDS \([0-9.]*\).*/\1/p' "$log" | head -n 1)
    grep -q 'GUEST-EXIT 0' "$log" || loop=""
    loop=${loop:-nan}
}

measure rackvm "$rackvm" run --kernel "$guest/Image" --initrd "$initrd" \
    --cmdline "$cmdline" --memory "${memory}M"
r_wall=$wall r_loop=$loop
measure qemu qemu-system-riscv64 -M virt -m "$memory" -nographic -bios default \
    -kernel "$guest/Image" -initrd "$initrd" -append "$cmdline" -no-reboot
q_wall=$wall q_loop=$loop

echo
echo "host: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) CPUs"
echo "guest: $guest, ${memory} MiB, 1 hart; $iter turns of /bin/true + echo | cat"
printf '%-8s %14s %14s\n' vm "loop (s)" "whole run (s)"
printf '%-8s %14s %14s\n' rackvm "$r_loop" "$r_wall"
printf '%-8s %14s %14s\n' qemu "$q_loop" "$q_wall"
if [ "$q_loop" != nan ] && [ "$r_loop" != nan ]; then
    printf 'loop time ratio rackvm/qemu: %.2f\n' "$(awk "BEGIN { print $r_loop / $q_loop }")"
fi
