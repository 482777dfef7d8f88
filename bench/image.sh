#!/usr/bin/env bash
# Debian image boot benchmark: one image made by `rackvm image create` (with --ssh-key),
# booted from its disk through the same firmware chain under rackvm and under QEMU 7.2's
# virt board (TCG): Debian's OpenSBI, Debian's U-Boot for that board, the image's
# extlinux.conf, with virtio-mmio disk and NIC in both. Prints, for each, the seconds
# from launch to the serial login prompt and to sshd answering a login, and the peak RSS.
# Each boots a sparse copy of the image and is powered off over ssh. A benchmark: no
# assertions.
#   bench/image.sh IMG KEY        (KEY: the private half of the image's --ssh-key)
#   CPUS=2 MEMORY=1024 bench/image.sh ...
# With no arguments it uses the test image of `make image-test`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rackvm=${RACKVM:-$root/build/rackvm}
cpus=${CPUS:-2}
memory=${MEMORY:-1024}
logs=$root/build/bench
if [ $# -eq 0 ]; then
    image=$("$root/tests/integration/image-test-cache.sh" --path)
    key=$(dirname "$image")/id_ed25519
else
    image=$1 key=$2
fi
[ -f "$image" ] || { echo "bench/image.sh: no image $image (make image-test)" >&2; exit 1; }
for tool in /usr/bin/time qemu-system-riscv64 ssh; do
    command -v $tool >/dev/null || { echo "bench/image.sh: $tool missing; run scripts/deps.sh --all" >&2; exit 1; }
done
# The firmware chain rackvm boots a disk with (src/cli/cmd_run.c), given to QEMU as well.
opensbi=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin
uboot=/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf
mkdir -p "$logs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Boots one VM on a copy of the image with ssh forwarded to $port; sets login, sshd (s
# from launch, or nan) and rss (MiB).
measure() {
    local name=$1
    shift
    local log=$logs/image-$name.log stats=$logs/image-$name.time port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cp --sparse=always "$image" "$work/disk.img"
    echo "booting under $name (console: ${log#"$root"/})"
    local args=("$@")
    args=("${args[@]//@PORT@/$port}")
    local start=$SECONDS
    login=nan sshd=nan
    timeout -k 5 1800 /usr/bin/time -f '%M' -o "$stats" "${args[@]}" </dev/null >"$log" 2>&1 &
    local vm=$!
    local t0 now
    t0=$(date +%s.%N)
    while [ $((SECONDS - start)) -lt 1500 ] && kill -0 $vm 2>/dev/null; do
        now=$(date +%s.%N)
        if [ "$login" = nan ] && grep -q 'login:' "$log"; then
            login=$(printf %.1f "$(echo "$now - $t0" | bc)")
        fi
        if [ "$sshd" = nan ] && ssh -i "$key" -p "$port" -o BatchMode=yes -o ConnectTimeout=5 \
            -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
            root@127.0.0.1 true </dev/null 2>/dev/null; then
            sshd=$(printf %.1f "$(echo "$(date +%s.%N) - $t0" | bc)")
        fi
        [ "$login" != nan ] && [ "$sshd" != nan ] && break
        sleep 1
    done
    ssh -i "$key" -p "$port" -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@127.0.0.1 poweroff </dev/null \
        2>/dev/null || kill $vm 2>/dev/null || true
    wait $vm || true
    rss=$(( $(tail -n1 "$stats" 2>/dev/null || echo 0) / 1024 ))
}

fwd="hostfwd=tcp:127.0.0.1:@PORT@-:22"
measure rackvm "$rackvm" run --disk path="$work/disk.img" --cpus "$cpus" \
    --memory "${memory}M" --net "user,$fwd"
r_login=$login r_sshd=$sshd r_rss=$rss
measure qemu qemu-system-riscv64 -M virt -m "$memory" -smp "$cpus" -nographic \
    -bios "$opensbi" -kernel "$uboot" -no-reboot \
    -drive "file=$work/disk.img,format=raw,if=none,id=d0" -device virtio-blk-device,drive=d0 \
    -netdev "user,id=n0,$fwd" -device virtio-net-device,netdev=n0
q_login=$login q_sshd=$sshd q_rss=$rss

echo
echo "image: $image, $memory MiB, $cpus hart(s), disk boot: OpenSBI + U-Boot + extlinux.conf"
printf '%-8s %16s %16s %16s\n' vm "login prompt (s)" "sshd answers (s)" "peak RSS (MiB)"
printf '%-8s %16s %16s %16s\n' rackvm "$r_login" "$r_sshd" "$r_rss"
printf '%-8s %16s %16s %16s\n' qemu "$q_login" "$q_sshd" "$q_rss"
