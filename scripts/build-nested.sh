#!/usr/bin/env bash
# Builds guest/nested.cpio.gz: an initramfs to append to guest/initramfs.cpio.gz so that
# the outer guest (on --cpu h=on) can run a nested Linux guest under its own KVM:
#   /nested/kvm.ko, /nested/irqbypass.ko  Debian's KVM modules (with the guest's kernel)
#   /usr/bin/qemu-system-riscv64          Debian trixie's qemu-system-riscv, the VMM, with
#   /lib/...                              its shared-library closure (DT_NEEDED) and ld.so
#   /nested/Image                         the inner kernel: the same guest/Image
#   /nested/inner.cpio.gz                 the inner initramfs: busybox-static + an init
#                                         that prints "NESTED-GUEST-UP" and powers off
#   /nested/run.sh                        loads KVM and boots the inner guest (autorun=)
# The packages come from the private apt setup and cache of scripts/build-guest.sh (run
# first); nothing riscv64 runs on the host. The library closure is read from the ELF
# files' DT_NEEDED entries with readelf, so only what the VMM loads goes in (about a
# third of the packages' size). Rebuilt only when its inputs change.
# Exit status 75 (EX_TEMPFAIL) when the packages cannot be had (no network and no cache),
# which tests/integration/test_kvm.py takes as a reason to skip; 1 for any other failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/guest
work=$out/work/nested
cache=${RACKVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rackvm}
debs=$cache/nested-debs
vmm=qemu-system-riscv

stage() { echo "== [${SECONDS}s] $*"; }
die() { echo "build-nested: $*" >&2; exit 1; }
unavailable() { echo "build-nested: $*" >&2; exit 75; }

"$root/scripts/build-guest.sh" 2>&1 | sed 's/^/   /' \
    || unavailable "scripts/build-guest.sh failed: the guest's packages are unavailable"
export APT_CONFIG=$cache/apt-trixie-riscv64/apt.conf
[ -f "$APT_CONFIG" ] || die "$APT_CONFIG is missing (scripts/build-guest.sh makes it)"
command -v readelf >/dev/null || die "readelf is missing (package binutils)"

# build-guest.sh keeps only the packages of the guest it built: those of guest/Image.
kdeb=$(find "$cache/debs" -maxdepth 1 -name 'linux-image-*riscv64*.deb' | head -n1)
bbdeb=$(find "$cache/debs" -maxdepth 1 -name 'busybox-static_*.deb' | head -n1)
if [ -z "$kdeb" ] || [ -z "$bbdeb" ]; then die "no kernel or busybox package in $cache/debs"; fi

# The VMM and everything it depends on, recommended packages left out.
packages=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances "$vmm" | grep -v '^[ <]' | sort -u)
[ -n "$packages" ] || unavailable "$vmm is not in the cached trixie riscv64 index"
versions=$(for p in $packages; do echo "$p=$(apt-cache policy "$p" | sed -n 's/^ *Candidate: //p')"; done)

inputs_key=$({
    echo "$versions"
    basename "$kdeb" "$bbdeb"
    cat "$root/scripts/build-nested.sh"
} | sha256sum | cut -d' ' -f1)
if [ -f "$out/nested.cpio.gz" ] && [ "$(cat "$work/nested.key" 2>/dev/null)" = "$inputs_key" ]; then
    echo "nested: up to date, nothing to do"
    exit 0
fi
rm -f "$work/nested.key"

stage "download: $vmm and $(echo "$packages" | wc -l) packages it depends on (cached in $debs)"
mkdir -p "$debs" "$(dirname "$work")"
# shellcheck disable=SC2086 # one word a package=version
(cd "$debs" && apt-get -q download $versions) >"$work.download.log" 2>&1 \
    || { sed 's/^/   /' "$work.download.log"; unavailable "downloading the packages failed"; }
rm -f "$work.download.log"

stage "unpack: $(echo "$packages" | wc -l) packages and $(basename "$kdeb")"
rm -rf "$work"
mkdir -p "$work/pkgs" "$work/kernel"
for pv in $versions; do
    # apt names the files name_version_arch.deb, ':' written as %3a, arch riscv64 or all.
    name=${pv%%=*} version=${pv#*=}
    deb=$(find "$debs" -maxdepth 1 -name "${name}_${version//:/%3a}_*.deb" | head -n1)
    [ -n "$deb" ] || die "apt-get download left no $debs/${name}_${version}_*.deb"
    dpkg-deb -x "$deb" "$work/pkgs"
done
dpkg-deb -x "$kdeb" "$work/kernel"
modules=$(echo "$work"/kernel/usr/lib/modules/*)
kvm=$modules/kernel/arch/riscv/kvm/kvm.ko.xz
irqbypass=$modules/kernel/virt/lib/irqbypass.ko.xz
[ -f "$kvm" ] && [ -f "$irqbypass" ] || die "$kdeb has no kvm.ko.xz or irqbypass.ko.xz"

stage "closure: the shared libraries $vmm loads (DT_NEEDED)"
rootfs=$work/rootfs
libdir=$rootfs/lib/riscv64-linux-gnu
mkdir -p "$rootfs/usr/bin" "$rootfs/nested" "$libdir"
binary=$work/pkgs/usr/bin/qemu-system-riscv64
cp "$binary" "$rootfs/usr/bin/"
interp=$(readelf -l "$binary" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
[ -n "$interp" ] || die "$binary names no program interpreter"
install -D "$work/pkgs/usr/lib/riscv64-linux-gnu/${interp##*/}" "$rootfs$interp"
pending=("$binary")
while [ ${#pending[@]} -gt 0 ]; do
    file=${pending[0]}
    pending=("${pending[@]:1}")
    for soname in $(readelf -d "$file" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
        [ -e "$libdir/$soname" ] && continue
        lib=$work/pkgs/usr/lib/riscv64-linux-gnu/$soname
        [ -e "$lib" ] || die "$soname (needed by ${file##*/}) is in none of the packages"
        cp -L "$lib" "$libdir/$soname"
        pending+=("$lib")
    done
done
echo "   $(ls "$libdir" | wc -l) libraries, $(du -sh "$rootfs" | cut -f1) with the VMM"

stage "inner guest: guest/Image + busybox-static initramfs"
inner=$work/inner
mkdir -p "$inner/bin" "$inner/proc"
dpkg-deb -x "$bbdeb" "$work/busybox"
install -m 0755 "$work/busybox/usr/bin/busybox" "$inner/bin/busybox"
ln -s busybox "$inner/bin/sh"
cat >"$inner/init" <<'INIT'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
read -r uptime _ </proc/uptime
echo "NESTED-GUEST-UP uptime=$uptime"
/bin/busybox poweroff -f
INIT
chmod 0755 "$inner/init"
(cd "$inner" && find . | LC_ALL=C sort | cpio --create --format=newc --owner=0:0 --quiet) |
    gzip -n >"$rootfs/nested/inner.cpio.gz"
cp "$out/Image" "$rootfs/nested/Image"
xz -dc "$kvm" >"$rootfs/nested/kvm.ko"
xz -dc "$irqbypass" >"$rootfs/nested/irqbypass.ko"

# The inner guest gets one hart and 128 MiB; under KVM QEMU loads no firmware (KVM itself
# answers the guest's SBI calls) and the kernel's console is the board's 16550.
cat >"$rootfs/nested/run.sh" <<'RUN'
#!/bin/sh
insmod /nested/irqbypass.ko && insmod /nested/kvm.ko || exit 1
[ -c /dev/kvm ] || { echo "nested: no /dev/kvm"; exit 1; }
start=$(cut -d' ' -f1 /proc/uptime)
echo "NESTED-START uptime=$start"
qemu-system-riscv64 -M virt -enable-kvm -cpu host -smp 1 -m 128 -nodefaults \
    -display none -serial stdio -monitor none -no-reboot \
    -kernel /nested/Image -initrd /nested/inner.cpio.gz \
    -append "console=ttyS0 earlycon=sbi panic=-1 ${NESTED_APPEND:-}" </dev/null
status=$?
echo "NESTED-EXIT status=$status uptime=$(cut -d' ' -f1 /proc/uptime) start=$start"
exit $status
RUN
chmod 0755 "$rootfs/nested/run.sh"

stage "initramfs: guest/nested.cpio.gz"
(cd "$rootfs" && find . | LC_ALL=C sort | cpio --create --format=newc --owner=0:0 --quiet) |
    gzip -n >"$out/nested.cpio.gz.tmp"
mv "$out/nested.cpio.gz.tmp" "$out/nested.cpio.gz"
rm -rf "$work/pkgs" "$work/kernel" "$work/busybox" "$inner"
echo "$inputs_key" >"$work/nested.key"
echo "nested: built in ${SECONDS}s: guest/nested.cpio.gz ($(du -h "$out/nested.cpio.gz" | cut -f1))"
