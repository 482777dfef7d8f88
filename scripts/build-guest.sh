#!/usr/bin/env bash
# Builds the project's RISC-V guest from Debian packages into guest/:
#   guest/Image              Linux from linux-source-6.1: defconfig + scripts/guest/kernel.config
#   guest/initramfs.cpio.gz  static busybox (Debian source package) + scripts/guest/init
# Work trees and logs stay in guest/work (git-ignored, survives `make clean`).
# Each output is rebuilt only when its inputs (fragments, init, package versions,
# cross compiler, this recipe for the initramfs) change; otherwise the run does nothing.
# Installs missing packages through scripts/deps.sh, so the first run needs root.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/guest
work=$out/work
cross=riscv64-linux-gnu-
jobs=$(nproc)
kmake=(make ARCH=riscv CROSS_COMPILE=$cross)

stage() { echo "== $*"; }
die() { echo "build-guest: $*" >&2; exit 1; }
pkg_version() { dpkg-query -W -f='${Version}' "$1"; }
key_of() { sha256sum | cut -d' ' -f1; }

# Runs "$@" with its output in the log file $2, printing how far it got every 30 s;
# on failure shows the log's tail.
logged() {
    local what=$1 log=$2
    shift 2
    echo "   $what (log: ${log#"$root"/})"
    "$@" >"$log" 2>&1 </dev/null &
    local pid=$! start=$SECONDS next=$((SECONDS + 30))
    trap "kill $pid 2>/dev/null" EXIT
    while kill -0 $pid 2>/dev/null; do
        if [ $SECONDS -ge $next ]; then
            echo "   ... $((SECONDS - start))s, $(grep -cE '^ +(CC|AS|LD)' "$log" || true) files compiled"
            next=$((SECONDS + 30))
        fi
        sleep 1
    done
    trap - EXIT
    if ! wait $pid; then
        tail -n 40 "$log" >&2
        die "$what failed; full log: $log"
    fi
    echo "   done in $((SECONDS - start))s"
}

# The first run installs what is missing; later runs only check.
if ! "$root/scripts/deps.sh" --check >/dev/null; then
    "$root/scripts/deps.sh"
fi
mkdir -p "$work"
gcc_version=$(pkg_version gcc-riscv64-linux-gnu)

build_kernel() {
    local version src
    version=$(pkg_version linux-source-6.1)
    src=$work/linux-source-6.1
    if [ "$(cat "$src/.rackvm-version" 2>/dev/null)" != "$version" ]; then
        stage "kernel: unpacking /usr/src/linux-source-6.1.tar.xz ($version)"
        rm -rf "$src"
        tar -C "$work" -xf /usr/src/linux-source-6.1.tar.xz
        echo "$version" >"$src/.rackvm-version"
    fi
    stage "kernel: configuring (defconfig + scripts/guest/kernel.config)"
    logged "defconfig" "$work/kernel-config.log" "${kmake[@]}" -C "$src" defconfig
    (cd "$src" && ARCH=riscv scripts/kconfig/merge_config.sh -m .config \
        "$root/scripts/guest/kernel.config") >>"$work/kernel-config.log" 2>&1 \
        || die "merge_config failed; log: $work/kernel-config.log"
    logged "olddefconfig" "$work/kernel-olddefconfig.log" "${kmake[@]}" -C "$src" olddefconfig
    local line missing=0
    while read -r line; do
        case "$line" in CONFIG_*=*) ;; *) continue ;; esac
        if ! grep -qxF "$line" "$src/.config"; then
            echo "   kernel config lost $line (a dependency is missing)" >&2
            missing=1
        fi
    done <"$root/scripts/guest/kernel.config"
    [ $missing -eq 0 ] || die "kernel configuration does not hold scripts/guest/kernel.config"
    stage "kernel: make Image -j$jobs (about 6 minutes on 2 cores)"
    logged "make Image" "$work/kernel-build.log" "${kmake[@]}" -C "$src" Image -j"$jobs"
    cp "$src/arch/riscv/boot/Image" "$out/Image.tmp"
    mv "$out/Image.tmp" "$out/Image"
    cp "$src/.config" "$out/kernel.config"
}

ensure_deb_src() {
    if grep -rqsE '^(deb-src |Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        return
    fi
    [ "$(id -u)" -eq 0 ] || die "apt has no deb-src source for bookworm; run as root to add one"
    stage "busybox: adding bookworm deb-src to /etc/apt/sources.list.d/rackvm-deb-src.sources"
    cat >/etc/apt/sources.list.d/rackvm-deb-src.sources <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    logged "apt-get update" "$work/apt-update.log" apt-get update
}

busybox_dir() {
    find "$work/busybox-src" -mindepth 1 -maxdepth 1 -type d -name 'busybox-*' 2>/dev/null | head -n1
}

# Fetches and unpacks Debian's busybox source with `apt-get source` unless already there.
fetch_busybox() {
    if [ -z "$(busybox_dir)" ]; then
        ensure_deb_src
        stage "busybox: apt-get source busybox"
        rm -rf "$work/busybox-src"
        mkdir -p "$work/busybox-src"
        (cd "$work/busybox-src" && apt-get source busybox) >"$work/busybox-source.log" 2>&1 \
            || { tail -n 20 "$work/busybox-source.log" >&2; die "apt-get source busybox failed"; }
        [ -n "$(busybox_dir)" ] || die "apt-get source busybox left no busybox-* directory"
    fi
}

build_initramfs() {
    local src rootfs=$work/rootfs line name
    src=$(busybox_dir)
    stage "busybox: configuring (defconfig + scripts/guest/busybox.config)"
    logged "defconfig" "$work/busybox-config.log" make -C "$src" defconfig
    while read -r line; do
        case "$line" in
            CONFIG_*=*) name=${line%%=*} ;;
            "# CONFIG_"*" is not set") name=${line#\# }; name=${name%% *} ;;
            *) continue ;;
        esac
        sed -i -e "/^$name=/d" -e "/^# $name is not set/d" "$src/.config"
        echo "$line" >>"$src/.config"
    done <"$root/scripts/guest/busybox.config"
    logged "oldconfig" "$work/busybox-oldconfig.log" make -C "$src" oldconfig
    stage "busybox: make -j$jobs (static, ${cross}gcc)"
    logged "make busybox" "$work/busybox-build.log" make -C "$src" -j"$jobs" busybox busybox.links
    if "${cross}readelf" -l "$src/busybox" | grep -q INTERP; then
        die "busybox is not statically linked; see $work/busybox-build.log"
    fi

    stage "initramfs: busybox applet links + scripts/guest/init"
    rm -rf "$rootfs"
    mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,dev,etc,proc,sys,tmp,mnt,root}
    install -m 0755 "$src/busybox" "$rootfs/bin/busybox"
    while read -r line; do
        [ "$line" = /bin/busybox ] || ln -sf /bin/busybox "$rootfs$line"
    done <"$src/busybox.links"
    install -m 0755 "$root/scripts/guest/init" "$rootfs/init"
    echo 'root::0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
    (cd "$rootfs" && find . -print0 | LC_ALL=C sort -z |
        cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
        gzip -9n >"$out/initramfs.cpio.gz.tmp"
    mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
    echo "   $(grep -c . "$src/busybox.links") applets, $(du -h "$out/initramfs.cpio.gz" | cut -f1) compressed"
}

kernel_key=$({ cat "$root/scripts/guest/kernel.config"; pkg_version linux-source-6.1; echo "$gcc_version"; } | key_of)
if [ -f "$out/Image" ] && [ "$(cat "$work/Image.key" 2>/dev/null)" = "$kernel_key" ]; then
    kernel_fresh=1
else
    kernel_fresh=0
    rm -f "$work/Image.key"
    build_kernel
    echo "$kernel_key" >"$work/Image.key"
fi

# The busybox tree is fetched lazily so an up-to-date guest needs no network.
bb_inputs() {
    cat "$root/scripts/guest/busybox.config" "$root/scripts/guest/init" "$root/scripts/build-guest.sh"
    echo "$gcc_version"
    if [ -d "$work/busybox-src" ]; then
        find "$work/busybox-src" -maxdepth 1 -name '*.dsc' -printf '%f\n'
    fi
}
initramfs_key=$(bb_inputs | key_of)
if [ -f "$out/initramfs.cpio.gz" ] && [ "$(cat "$work/initramfs.key" 2>/dev/null)" = "$initramfs_key" ]; then
    initramfs_fresh=1
else
    initramfs_fresh=0
    rm -f "$work/initramfs.key"
    fetch_busybox
    build_initramfs
    bb_inputs | key_of >"$work/initramfs.key"
fi

if [ $kernel_fresh -eq 1 ] && [ $initramfs_fresh -eq 1 ]; then
    echo "guest: up to date, nothing to do (guest/Image, guest/initramfs.cpio.gz)"
else
    echo "guest: built guest/Image and guest/initramfs.cpio.gz"
fi
