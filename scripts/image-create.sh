#!/usr/bin/env bash
# The work behind `rackvm image create` (src/cli/cmd_image.c checks the options, then runs
# this script, found next to the binary as ../scripts/image-create.sh):
#   image-create.sh RACKVM IMG SIZE_BYTES HOSTNAME PACKAGES SSH_KEY PASSWORD_FILE
# (PACKAGES comma-separated, SSH_KEY and PASSWORD_FILE empty when not given).
# On the host, apt resolves and downloads every package (an unknown one stops here, with
# apt's message). Then a base file system, cached by package set (and by this recipe) in
# $cache/image-base, unless one is there already:
#   1. on the host: `debootstrap --foreign` unpacks a minbase trixie riscv64 root, the
#      image-independent settings are written and `mkfs.ext4 -d` makes a file system of it
#      (no loop mount);
#   2-3. in a rackvm VM (the guest kernel and initramfs of scripts/build-guest.sh, running
#      scripts/image/stage.sh from a second disk): debootstrap's second stage, apt-get
#      install from the .debs already in the image, one update-initramfs.
# Then the image itself: sfdisk partitions IMG.partial, the base is copied into its
# partition and grown to fill it, a new file system UUID;
#   4. in a rackvm VM: host name, ssh key and host keys, root's password, the boot menu.
# e2fsck checks the partition and IMG.partial becomes IMG. On any failure nothing is left
# at IMG.partial and an existing IMG is untouched. Downloads are cached in $RACKVM_CACHE
# (default ~/.cache/rackvm).
set -euo pipefail

[ $# -eq 7 ] || { echo "usage: rackvm image create IMG [options] (this script is its back end)" >&2; exit 2; }
rackvm=$1 out=$2 size=$3 hostname=$4 packages=$5 ssh_key=$6 password_file=$7
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${RACKVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rackvm}
imgdebs=$cache/image-debs
bases=$cache/image-base
partial=$out.partial
log=$cache/image-create.log
# Disk layout: one bootable MBR partition from 1 MiB to the end.
part_start=2048
# The base file system is made as large as the smallest image's partition (cmd_image.c's
# MIN_SIZE, 2 GiB, less the 1 MiB before the partition); each image grows it to its own.
base_size_kib=$(((2048 - 1) * 1024))

stage() { echo "== [${SECONDS}s] $*"; }
die() { echo "rackvm: image create: $*" >&2; exit 1; }

work=
cleanup() {
    local rc=$?
    [ -z "$work" ] || rm -rf "$work"
    [ $rc -eq 0 ] || rm -f "$partial"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# What a build holds at its peak, with room to spare: the image's written blocks
# (about 1.2 GB) beside the base in the cache, the unpacked root tree and the stage disk.
need_free() {  # DIR MIB
    local avail
    avail=$(df -Pm "$1" | awk 'NR == 2 { print $4 }')
    [ "$avail" -ge "$2" ] || die "only $avail MiB free in $1: building an image needs about $2 MiB there (host disk full?)"
}
mkdir -p "$cache" "$imgdebs" "$bases"
need_free "$(dirname "$out")" 2048
need_free "$cache" 1024
work=$(mktemp -d "${TMPDIR:-/var/tmp}/rackvm-image.XXXXXX")
need_free "$work" 1024

if ! "$root/scripts/deps.sh" --check >/dev/null; then
    "$root/scripts/deps.sh"
fi

stage "guest: the build VM's kernel and initramfs (scripts/build-guest.sh)"
"$root/scripts/build-guest.sh" 2>&1 | sed 's/^/   /'
guest=$root/guest

. "$root/scripts/trixie-apt.sh"
stage "apt: trixie riscv64 index"
trixie_apt_update

# systemd as init with udev and networkd/resolved (DHCP and DNS on the NIC); Debian's
# kernel, its initramfs by initramfs-tools, and u-boot-menu, which writes the
# /boot/extlinux/extlinux.conf that U-Boot's distro boot reads (and rewrites it at every
# kernel upgrade).
base_packages="systemd systemd-sysv udev dbus systemd-resolved linux-image-riscv64
      initramfs-tools u-boot-menu e2fsprogs iproute2"
extra=${packages//,/ }
[ -z "$ssh_key" ] || extra="$extra openssh-server"
all=$(echo $base_packages $extra)
stage "download: $all and what they depend on (cached in $imgdebs)"
# apt resolves from an empty system (its private status), so it fetches the whole closure:
# the VM then installs without network. An unknown package fails here with apt's message.
if ! apt-get -q install --download-only -y --no-install-recommends \
        -o Dir::Cache::Archives="$imgdebs" $all 2>&1 | sed 's/^/   /'; then
    die "apt could not get the packages (its message is above)"
fi

# Boots the build VM on the stage directory $work/stage (its /mnt) with $1 as the second
# disk, showing its IMAGE: progress lines; the whole console goes to $log.
run_build_vm() {
    mkfs.ext4 -q -F -d "$work/stage" "$work/stage.img" 8M >/dev/null
    set +e
    timeout -k 10 "${RACKVM_IMAGE_TIMEOUT:-14400}" "$rackvm" run --kernel "$guest/Image" \
        --initrd "$guest/initramfs.cpio.gz" --cmdline "console=ttyS0 quiet autorun=/mnt/stage.sh" \
        --memory 1G --cpus 2 --disk path="$work/stage.img" --disk path="$1" </dev/null 2>&1 |
        tee "$log" | while IFS= read -r line; do
            line=${line%$'\r'}
            case $line in
                IMAGE:*) echo "== [${SECONDS}s]${line#IMAGE:}" ;;
                E:* | W:*) echo "   $line" ;;
            esac
        done
    local status=("${PIPESTATUS[@]}")
    set -e
    if ! grep -qE $'^GUEST-EXIT 0\r?$' "$log" || [ "${status[0]}" -ne 0 ]; then
        tail -n 30 "$log" | sed 's/^/   /' >&2
        need_free "$(dirname "$out")" 64
        die "building in the VM failed (rackvm exit ${status[0]}; the console's last lines are above, all of it in $log)"
    fi
}

# Writes the stage disk's files: stage.sh, the job, and what else that job reads.
new_stage() {  # JOB
    rm -rf "$work/stage"
    mkdir -p "$work/stage"
    install -m 0755 "$root/scripts/image/stage.sh" "$work/stage/stage.sh"
    echo "$1" >"$work/stage/job"
}

build_base() {
    local ndebs rootfs=$work/root
    ndebs=$(ls "$imgdebs"/*.deb | wc -l)
    need_free "$bases" 2048
    stage "stage 1/4: debootstrap --foreign --variant=minbase --arch=riscv64 trixie (on the host)"
    mkdir -p "$cache/debootstrap-trixie-riscv64"
    debootstrap --foreign --variant=minbase --arch=riscv64 \
        --cache-dir="$cache/debootstrap-trixie-riscv64" --keyring="$keyring" \
        trixie "$rootfs" "$mirror" 2>&1 | sed 's/^/   /' || die "debootstrap failed (above)"

    stage "stage 1/4: settings for every image; $ndebs .debs in /var/cache/apt/archives"
    cp "$imgdebs"/*.deb "$rootfs/var/cache/apt/archives/"
    # apt's index as the host verified it; the VM installs from it without the network.
    cp "$aptdir"/lists/*_InRelease "$aptdir"/lists/*_Packages "$rootfs/var/lib/apt/lists/"
    # While building (stage.sh removes this file and policy-rc.d at the end): dpkg fsyncs
    # no file it unpacks (the image is checked whole at the end instead) and writes no
    # documentation, manual pages or translations; no service starts while packages install.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/rackvm-image-build" <<DPKG
force-unsafe-io
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
DPKG
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
    chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
    mkdir -p "$rootfs/etc/systemd/network"
    cat >"$rootfs/etc/systemd/network/20-wired.network" <<NET
[Match]
Name=en* eth*

[Network]
DHCP=yes
NET
    # The initramfs holds the drivers to reach the root on this board (virtio-mmio) and on
    # QEMU's virt with PCI, not the whole kernel's "most" set: minutes less of build on
    # the soft CPU, a smaller initrd for U-Boot to load. The rest comes from the root by udev.
    mkdir -p "$rootfs/etc/initramfs-tools/conf.d" "$rootfs/etc/initramfs-tools/hooks"
    echo MODULES=list >"$rootfs/etc/initramfs-tools/conf.d/rackvm-board"
    cat >"$rootfs/etc/initramfs-tools/hooks/rackvm-board" <<'HOOK'
#!/bin/sh
# rackvm image: the virtio drivers and file system the root needs (MODULES=list).
[ "$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
force_load virtio_mmio
force_load virtio_pci
force_load virtio_blk
force_load ext4
HOOK
    chmod 0755 "$rootfs/etc/initramfs-tools/hooks/rackvm-board"
    # u-boot-update's settings (the root comes from /etc/fstab): the console on the
    # board's UART, boot the first entry at once, and no fdtdir: the board's own device
    # tree (rackvm's, handed on by OpenSBI and U-Boot) describes it, not one of the kernel
    # package's .dtb files.
    cat >"$rootfs/etc/default/u-boot" <<UBOOT
U_BOOT_PARAMETERS="ro console=ttyS0"
U_BOOT_PROMPT="0"
U_BOOT_TIMEOUT="1"
U_BOOT_FDT_DIR="/no-dtbs-"
UBOOT

    stage "stage 1/4: the base file system ($((base_size_kib >> 10)) MiB, mkfs.ext4 -d)"
    rm -f "$work/base.ext4"
    mkfs.ext4 -q -F -L root -d "$rootfs" "$work/base.ext4" "${base_size_kib}k" ||
        die "mkfs.ext4 failed on $work/base.ext4"

    new_stage base
    echo $all >"$work/stage/packages"
    # How many packages stage 3 installs, for its progress: apt's own count in the VM
    # would cost minutes of loading the index on the soft CPU.
    echo "$closure" | awk 'NR == FNR { base[$1] = 1; next } !($2 in base) { n++ } END { print n }' \
        "$rootfs/debootstrap/debpaths" - >"$work/stage/total"
    rm -rf "$rootfs"
    stage "stages 2-3 in a rackvm VM (2 harts, 1 GiB; full console log: $log)"
    run_build_vm "$work/base.ext4"
    # A check that also records itself (preen: any repair fails), so that tune2fs may
    # give each copy its own UUID.
    e2fsck -fp "$work/base.ext4" 2>&1 | sed 's/^/   /' || die "the base file system does not check clean"
    # Only the newest bases are kept: each holds about 1.2 GB.
    find "$bases" -maxdepth 1 -name 'base-*.ext4' -printf '%T@ %p\n' | sort -rn |
        tail -n +2 | cut -d' ' -f2- | xargs -r rm -f
    mv "$work/base.ext4" "$base"
}

# The base is known by what goes into it: every package and version apt chose (which
# follow the index debootstrap reads too) and its recipe (build_base and stage.sh).
closure=$(apt-get -s install --no-install-recommends $all | grep '^Inst ' | sort)
key=$({ echo "$closure"; declare -f build_base; cat "$root/scripts/image/stage.sh" \
    "$root/scripts/trixie-apt.sh"; } | sha256sum | cut -c1-16)
base=$bases/base-$key.ext4
if [ -f "$base" ]; then
    stage "stages 1-3: the cached base $base"
else
    build_base
fi

uuid=$(cat /proc/sys/kernel/random/uuid)
stage "disk: $partial ($((size >> 20)) MiB, MBR, ext4 root UUID $uuid, the base copied in)"
rm -f "$partial"
truncate -s "$size" "$partial"
echo "label: dos
start=$part_start, type=83, bootable" | sfdisk -q "$partial" || die "sfdisk failed on $partial"
part_sectors=$(sfdisk -J "$partial" | sed -n 's/.*"size": *\([0-9]*\).*/\1/p' | head -n1)
[ -n "$part_sectors" ] || die "cannot read the partition size sfdisk wrote"
# The copy is grown on its own: resize2fs sets a regular file's size to the file
# system's, which inside IMG (behind the partition's offset) would cut off its end.
cp --sparse=always "$base" "$work/root.ext4"
tune2fs -U "$uuid" "$work/root.ext4" >/dev/null || die "tune2fs -U failed on $work/root.ext4"
resize2fs "$work/root.ext4" "$((part_sectors / 2))k" 2>&1 | sed 's/^/   /' ||
    die "resize2fs failed on $work/root.ext4"
dd if="$work/root.ext4" of="$partial" bs=4M seek=$((part_start * 512)) oflag=seek_bytes \
    conv=sparse,notrunc status=none || die "copying the file system into $partial failed"
rm "$work/root.ext4"
fs="$partial?offset=$((part_start * 512))"

new_stage finish
config=$work/stage/config
mkdir -p "$config/etc"
echo "$hostname" >"$config/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
    "$hostname" >"$config/etc/hosts"
echo "UUID=$uuid / ext4 errors=remount-ro 0 1" >"$config/etc/fstab"
# On the soft CPU under host load, udev's coldplug can take longer than systemd's 90 s
# wait for a device: the serial getty then gave up on /dev/ttyS0 before it appeared.
mkdir -p "$config/etc/systemd/system.conf.d"
printf '[Manager]\nDefaultDeviceTimeoutSec=5min\n' >"$config/etc/systemd/system.conf.d/rackvm-image.conf"
if [ -n "$ssh_key" ]; then
    install -d -m 0700 "$config/root" "$config/root/.ssh"
    install -m 0600 "$ssh_key" "$config/root/.ssh/authorized_keys"
fi
[ -z "$password_file" ] || install -m 0600 "$password_file" "$work/stage/root-password"
stage "stage 4/4 in a rackvm VM: hostname $hostname${ssh_key:+, the ssh key}"
run_build_vm "$partial"

stage "check: e2fsck -fn on the root partition"
e2fsck -fn "$fs" 2>&1 | sed 's/^/   /' || die "the new file system does not check clean"
mv -f "$partial" "$out"
echo "image: $out built in ${SECONDS}s ($(du -h "$out" | cut -f1) used of $((size >> 30)) GiB)."
echo "Boot it: rackvm run --disk path=$out --net user,hostfwd=tcp:127.0.0.1:2222-:22"
