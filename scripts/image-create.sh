#!/usr/bin/env bash
# The work behind `rackvm image create` (src/cli/cmd_image.c checks the options, then runs
# this script, found next to the binary as ../scripts/image-create.sh):
#   image-create.sh RACKVM IMG SIZE_BYTES HOSTNAME PACKAGES SSH_KEY PASSWORD_FILE
# (PACKAGES comma-separated, SSH_KEY and PASSWORD_FILE empty when not given).
# 1. on the host: apt resolves and downloads every package (an unknown one stops here,
#    with apt's message); `debootstrap --foreign` unpacks a minbase trixie riscv64 root;
#    the configuration files are written; sfdisk partitions IMG.partial and
#    `mkfs.ext4 -d` fills its partition from the root tree (no loop mount);
# 2-4. in a rackvm VM (the guest kernel and initramfs of scripts/build-guest.sh, running
#    scripts/image/stage.sh from a second disk): debootstrap's second stage, apt-get
#    install from the .debs already in the image, the boot menu;
# then e2fsck checks the partition and IMG.partial becomes IMG. On any failure nothing is
# left at IMG.partial and an existing IMG is untouched. Downloads are cached in
# $RACKVM_CACHE (default ~/.cache/rackvm).
set -euo pipefail

[ $# -eq 7 ] || { echo "usage: rackvm image create IMG [options] (this script is its back end)" >&2; exit 2; }
rackvm=$1 out=$2 size=$3 hostname=$4 packages=$5 ssh_key=$6 password_file=$7
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${RACKVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rackvm}
imgdebs=$cache/image-debs
partial=$out.partial
log=$cache/image-create.log
# Disk layout: one bootable MBR partition from 1 MiB to the end.
part_start=2048

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
# (about 1.5 GB) beside the unpacked root tree and the stage disk.
need_free() {  # DIR MIB
    local avail
    avail=$(df -Pm "$1" | awk 'NR == 2 { print $4 }')
    [ "$avail" -ge "$2" ] || die "only $avail MiB free in $1: building an image needs about $2 MiB there (host disk full?)"
}
mkdir -p "$cache" "$imgdebs"
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
base="systemd systemd-sysv udev dbus systemd-resolved linux-image-riscv64 initramfs-tools
      u-boot-menu e2fsprogs iproute2"
extra=${packages//,/ }
[ -z "$ssh_key" ] || extra="$extra openssh-server"
all=$(echo $base $extra)
stage "download: $all and what they depend on (cached in $imgdebs)"
# apt resolves from an empty system (its private status), so it fetches the whole closure:
# the VM then installs without network. An unknown package fails here with apt's message.
if ! apt-get -q install --download-only -y --no-install-recommends \
        -o Dir::Cache::Archives="$imgdebs" $all 2>&1 | sed 's/^/   /'; then
    die "apt could not get the packages (its message is above)"
fi
ndebs=$(ls "$imgdebs"/*.deb | wc -l)

stage "stage 1/4: debootstrap --foreign --variant=minbase --arch=riscv64 trixie (on the host)"
rootfs=$work/root
mkdir -p "$cache/debootstrap-trixie-riscv64"
debootstrap --foreign --variant=minbase --arch=riscv64 \
    --cache-dir="$cache/debootstrap-trixie-riscv64" --keyring="$keyring" \
    trixie "$rootfs" "$mirror" 2>&1 | sed 's/^/   /' || die "debootstrap failed (above)"

stage "configure: hostname $hostname, DHCP on en*/eth*${ssh_key:+, the ssh key}, $ndebs .debs in /var/cache/apt/archives"
uuid=$(cat /proc/sys/kernel/random/uuid)
cp "$imgdebs"/*.deb "$rootfs/var/cache/apt/archives/"
# apt's index as the host verified it; the VM installs from it without the network.
cp "$aptdir"/lists/*_InRelease "$aptdir"/lists/*_Packages "$rootfs/var/lib/apt/lists/"
# dpkg fsyncs every file it unpacks; the image is checked whole at the end instead. No
# service starts while packages install (policy-rc.d; both removed by stage.sh).
echo force-unsafe-io >"$rootfs/etc/dpkg/dpkg.cfg.d/rackvm-image-build"
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
echo "$hostname" >"$rootfs/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
    "$hostname" >"$rootfs/etc/hosts"
echo "UUID=$uuid / ext4 errors=remount-ro 0 1" >"$rootfs/etc/fstab"
mkdir -p "$rootfs/etc/systemd/network"
cat >"$rootfs/etc/systemd/network/20-wired.network" <<NET
[Match]
Name=en* eth*

[Network]
DHCP=yes
NET
# u-boot-update's settings: root by UUID, the console on the board's UART, boot the first
# entry at once, and no fdtdir: the board's own device tree (rackvm's, handed on by OpenSBI
# and U-Boot) describes it, not one of the kernel package's .dtb files.
cat >"$rootfs/etc/default/u-boot" <<UBOOT
U_BOOT_ROOT="root=UUID=$uuid"
U_BOOT_PARAMETERS="ro console=ttyS0"
U_BOOT_PROMPT="0"
U_BOOT_TIMEOUT="1"
U_BOOT_FDT_DIR="/no-dtbs-"
UBOOT
if [ -n "$ssh_key" ]; then
    install -d -m 0700 "$rootfs/root/.ssh"
    install -m 0600 "$ssh_key" "$rootfs/root/.ssh/authorized_keys"
fi

stage "disk: $partial ($((size >> 20)) MiB, MBR, ext4 root UUID $uuid, mkfs.ext4 -d)"
rm -f "$partial"
truncate -s "$size" "$partial"
echo "label: dos
start=$part_start, type=83, bootable" | sfdisk -q "$partial" || die "sfdisk failed on $partial"
part_sectors=$(sfdisk -J "$partial" | sed -n 's/.*"size": *\([0-9]*\).*/\1/p' | head -n1)
[ -n "$part_sectors" ] || die "cannot read the partition size sfdisk wrote"
mkfs.ext4 -q -F -U "$uuid" -L root -E offset=$((part_start * 512)) -d "$rootfs" \
    "$partial" "$((part_sectors / 2))k" || die "mkfs.ext4 failed on $partial"
rm -rf "$rootfs"

stagedir=$work/stage
mkdir -p "$stagedir"
install -m 0755 "$root/scripts/image/stage.sh" "$stagedir/stage.sh"
echo $all >"$stagedir/packages"
[ -z "$password_file" ] || install -m 0600 "$password_file" "$stagedir/root-password"
mkfs.ext4 -q -F -d "$stagedir" "$work/stage.img" 8M >/dev/null

stage "stages 2-4 in a rackvm VM (2 harts, 1 GiB; full console log: $log)"
set +e
timeout -k 10 "${RACKVM_IMAGE_TIMEOUT:-14400}" "$rackvm" run --kernel "$guest/Image" \
    --initrd "$guest/initramfs.cpio.gz" --cmdline "console=ttyS0 quiet autorun=/mnt/stage.sh" \
    --memory 1G --cpus 2 --disk path="$work/stage.img" --disk path="$partial" </dev/null 2>&1 |
    tee "$log" | while IFS= read -r line; do
        line=${line%$'\r'}
        case $line in
            IMAGE:*) echo "== [${SECONDS}s]${line#IMAGE:}" ;;
            E:* | W:*) echo "   $line" ;;
        esac
    done
status=("${PIPESTATUS[@]}")
set -e
if ! grep -qE $'^GUEST-EXIT 0\r?$' "$log" || [ "${status[0]}" -ne 0 ]; then
    tail -n 30 "$log" | sed 's/^/   /' >&2
    need_free "$(dirname "$out")" 64
    die "building in the VM failed (rackvm exit ${status[0]}; the console's last lines are above, all of it in $log)"
fi

stage "check: e2fsck -fn on the root partition"
e2fsck -fn "$partial?offset=$((part_start * 512))" 2>&1 | sed 's/^/   /' ||
    die "the new file system does not check clean"
mv -f "$partial" "$out"
echo "image: $out built in ${SECONDS}s ($(du -h "$out" | cut -f1) used of $((size >> 30)) GiB)."
echo "Boot it: rackvm run --disk path=$out --net user,hostfwd=tcp:127.0.0.1:2222-:22"
