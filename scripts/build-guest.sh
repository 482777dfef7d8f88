#!/usr/bin/env bash
# Builds the project's RISC-V guest into guest/ from Debian 13 (trixie) riscv64 packages:
#   guest/Image              the kernel of linux-image-riscv64, as Debian ships it
#   guest/initramfs.cpio.gz  busybox-static + the modules in scripts/guest/modules (with
#                            what they depend on) + scripts/guest/init
# Nothing is compiled and no riscv64 code runs on the host: the packages are fetched with a
# private apt configuration (scripts/trixie-apt.sh; the host's apt setup is never
# touched), verified by apt against Debian's archive keyring, and unpacked with dpkg-deb -x.
# Downloads and apt's index are cached in $RACKVM_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/rackvm), shared by every clone; work trees stay in
# guest/work. The guest is rebuilt only when its inputs (package versions, init, module
# list, this recipe) change. Installs missing host packages through scripts/deps.sh.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/guest
work=$out/work
cache=${RACKVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rackvm}
debs=$cache/debs

stage() { echo "== [${SECONDS}s] $*"; }
die() { echo "build-guest: $*" >&2; exit 1; }
key_of() { sha256sum | cut -d' ' -f1; }

# The first run installs what is missing; later runs only check.
if ! "$root/scripts/deps.sh" --check >/dev/null; then
    "$root/scripts/deps.sh"
fi
mkdir -p "$work" "$debs"
. "$root/scripts/trixie-apt.sh"

stage "apt: trixie riscv64 index from $mirror (private apt state in $aptdir)"
trixie_apt_update

# The newest version of package $1 in the index.
candidate() {
    apt-cache policy "$1" | sed -n 's/^ *Candidate: //p' | grep -vx '(none)' \
        || die "package $1 is not in trixie's riscv64 index"
}
# linux-image-riscv64 is a metapackage; the kernel is its versioned dependency.
kpkg=$(apt-cache show "linux-image-riscv64=$(candidate linux-image-riscv64)" |
    sed -n 's/^Depends: \(linux-image-[^ ,]*-riscv64\).*/\1/p' | head -n1)
[ -n "$kpkg" ] || die "cannot tell which kernel package linux-image-riscv64 depends on"
kver=$(candidate "$kpkg")
bbver=$(candidate busybox-static)

inputs_key=$({
    echo "$kpkg=$kver busybox-static=$bbver"
    cat "$root/scripts/guest/init" "$root/scripts/guest/modules" "$root/scripts/build-guest.sh" \
        "$root/scripts/trixie-apt.sh"
} | key_of)
if [ -f "$out/Image" ] && [ -f "$out/initramfs.cpio.gz" ] &&
    [ "$(cat "$work/guest.key" 2>/dev/null)" = "$inputs_key" ]; then
    echo "guest: up to date ($kpkg $kver, busybox-static $bbver), nothing to do"
    exit 0
fi
rm -f "$work/guest.key"

stage "download: $kpkg $kver, busybox-static $bbver (cached in $debs)"
# apt-get download checks each .deb against the signed index; one already cached is kept.
(cd "$debs" && apt-get -q download "$kpkg=$kver" "busybox-static=$bbver") 2>&1 | sed 's/^/   /' \
    || die "downloading the packages failed"
# The file names apt gives them: name_version_arch.deb, ':' written as %3a.
deb_of() { echo "$debs/${1}_${2//:/%3a}_riscv64.deb"; }
kdeb=$(deb_of "$kpkg" "$kver")
bbdeb=$(deb_of busybox-static "$bbver")
{ [ -f "$kdeb" ] && [ -f "$bbdeb" ]; } || die "apt-get download left no $kdeb or $bbdeb"
# Older versions of the same packages are not needed any more.
find "$debs" -maxdepth 1 -name '*.deb' ! -path "$kdeb" ! -path "$bbdeb" \
    \( -name 'linux-image-*' -o -name 'busybox-static_*' \) -delete

stage "unpack: dpkg-deb -x $(basename "$kdeb")"
kroot=$work/kernel
rm -rf "$kroot"
mkdir -p "$kroot"
dpkg-deb -x "$kdeb" "$kroot"
kimage=$(find "$kroot/boot" -maxdepth 1 -name 'vmlinu[xz]-*' | head -n1)
[ -n "$kimage" ] || die "$kdeb ships no /boot/vmlinu[xz]-*"
release=${kimage##*/vmlinu?-}
# Trixie installs modules under /usr/lib/modules; depmod and modprobe look in <base>/lib.
moddir=$kroot/usr/lib/modules/$release
[ -d "$moddir" ] || die "$kdeb has no $moddir"

# Drops a module's appended signature (module, signature, 12-byte descriptor ending in the
# signature's big-endian length, magic). The kernel does not require one
# (MODULE_SIG_FORCE is off; apt has verified the package), and hashing ext4's 7 MB for it
# took 2.8 of its 3.7 s load on the soft CPU at every boot.
strip_signature() {
    local file=$1 magic='~Module signature appended~' size siglen
    [ "$(tail -c 28 "$file")" = "$magic" ] || return 0
    size=$(stat -c %s "$file")
    siglen=$(od -An -tu4 --endian=big -j $((size - 32)) -N4 "$file")
    truncate -s $((size - 28 - 12 - siglen)) "$file"
}

stage "modules: dependencies of scripts/guest/modules (depmod over $release)"
depmod -b "$kroot/usr" "$release"
rootfs=$work/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,dev,etc,proc,sys,tmp,mnt,root} \
    "$rootfs/lib/modules/$release"
: >"$rootfs/etc/modules"
count=0
while read -r name; do
    case "$name" in '' | '#'*) continue ;; esac
    deps=$(modprobe -d "$kroot/usr" -S "$release" --show-depends "$name") \
        || die "module $name (scripts/guest/modules) is not in $kpkg"
    if [ "$deps" = "builtin $name" ]; then
        echo "   $name: built into the kernel"
        continue
    fi
    echo "$name" >>"$rootfs/etc/modules"
    # Unpacked here: the initramfs is gzipped anyway, and the guest's soft CPU then need
    # not inflate xz at every boot.
    while read -r verb path _; do
        [ "$verb" = insmod ] || continue
        rel=${path#"$moddir"/}
        dst=$rootfs/lib/modules/$release/${rel%.xz}
        [ -f "$dst" ] && continue
        mkdir -p "$(dirname "$dst")"
        case "$path" in
            *.ko.xz) xz -dc "$path" >"$dst" ;;
            *.ko) cp "$path" "$dst" ;;
            *) die "$path: a module compression this recipe does not unpack" ;;
        esac
        strip_signature "$dst"
        count=$((count + 1))
    done <<<"$deps"
done <"$root/scripts/guest/modules"
cp "$moddir"/modules.{order,builtin,builtin.modinfo} "$rootfs/lib/modules/$release/"
depmod -b "$rootfs" "$release"
echo "   $count modules for: $(tr '\n' ' ' <"$rootfs/etc/modules")"

stage "initramfs: busybox-static $bbver + modules + scripts/guest/init"
dpkg-deb -x "$bbdeb" "$work/busybox"
install -m 0755 "$work/busybox/usr/bin/busybox" "$rootfs/bin/busybox"
rm -rf "$work/busybox"
# The applet links are made by the init at boot (busybox --install): listing them here
# would mean running the riscv64 binary.
ln -s busybox "$rootfs/bin/sh"
install -m 0755 "$root/scripts/guest/init" "$rootfs/init"
echo 'root::0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
# gzip -9 took 3 s of CPU for 0.4 % less than the default level.
(cd "$rootfs" && find . -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
    gzip -n >"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
cp "$kimage" "$out/Image.tmp"
mv "$out/Image.tmp" "$out/Image"
cp "$kroot/boot/config-$release" "$out/kernel.config"
rm -rf "$kroot"
echo "$inputs_key" >"$work/guest.key"
echo "guest: built in ${SECONDS}s: guest/Image ($kpkg $kver, $(du -h "$out/Image" | cut -f1))" \
    "and guest/initramfs.cpio.gz ($(du -h "$out/initramfs.cpio.gz" | cut -f1))"
