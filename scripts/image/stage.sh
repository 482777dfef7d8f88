#!/bin/sh
# Runs inside the build VM that scripts/image-create.sh boots (the guest's busybox
# initramfs, as its autorun= program): /dev/vda is this stage disk (mounted on /mnt), and
# /dev/vdb1 the new image's root, unpacked by `debootstrap --foreign` on the host. Here
# the riscv64 code runs: debootstrap's second stage, then apt-get install of the packages
# in /mnt/packages from the .debs and index the host already put in the image (no network
# needed), then the boot menu. Lines starting "IMAGE:" are the progress the host shows.
set -e
set -o pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive \
    UCF_FORCE_CONFFOLD=1
# Nobody is at the console to answer: a prompt must fail (end of input), never wait.
exec </dev/null
say() { echo "IMAGE: $*"; }
t=/target
mkdir -p $t
mount /dev/vdb1 $t

# debootstrap prints "I: Unpacking X..." then "I: Configuring X..." for each package.
total=$(wc -l <$t/debootstrap/debpaths)
say "stage 2/4: debootstrap second stage ($total packages)"
chroot $t /debootstrap/debootstrap --second-stage 2>&1 | awk -v total="$total" '
    /^I: (Unpacking|Configuring) required packages/ { print; fflush(); next }
    /^I: Unpacking / { u++; printf "IMAGE:   unpacked %d/%d %s\n", u, total, $3; fflush(); next }
    /^I: Configuring / { c++; printf "IMAGE:   configured %d/%d %s\n", c, total, $3; fflush(); next }
    { print; fflush() }'

mount -t proc proc $t/proc
mount -t sysfs sysfs $t/sys
mount -o bind /dev $t/dev
mount -t devpts devpts $t/dev/pts
packages=$(cat /mnt/packages)
total=$(chroot $t apt-get -s install --no-install-recommends $packages | grep -c '^Inst ')
say "stage 3/4: apt-get install $packages ($total packages)"
# Nobody answers a prompt: where the host wrote a conffile a package also ships
# (/etc/default/u-boot), ours stays.
chroot $t apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $packages 2>&1 |
    awk -v total="$total" '
    /^Unpacking / { u++; printf "IMAGE:   unpacked %d/%d %s\n", u, total, $2; fflush(); next }
    /^Setting up / { c++; printf "IMAGE:   set up %d/%d %s\n", c, total, $3; fflush(); next }
    { print; fflush() }'

say "stage 4/4: services, accounts, boot menu"
chroot $t systemctl enable systemd-networkd.service systemd-resolved.service \
    serial-getty@ttyS0.service
if [ -f /mnt/root-password ]; then
    # chpasswd reads "user:password" from stdin: the password never shows in a process list.
    { printf 'root:'; cat /mnt/root-password; } | chroot $t chpasswd
fi
chroot $t u-boot-update
chroot $t apt-get clean
rm -f $t/etc/dpkg/dpkg.cfg.d/rackvm-image-build $t/usr/sbin/policy-rc.d
[ -f $t/boot/extlinux/extlinux.conf ] || { echo "E: the image has no /boot/extlinux/extlinux.conf"; exit 1; }
ls $t/boot/initrd.img-* >/dev/null 2>&1 || { echo "E: the image has no /boot/initrd.img-*"; exit 1; }
grep -E '^[[:space:]]*(kernel|initrd|append) ' $t/boot/extlinux/extlinux.conf | head -n 3 |
    sed 's/^[[:space:]]*/IMAGE:   extlinux.conf: /'
# Everything mounted under the root (debootstrap mounts some itself), deepest first: a
# clean unmount leaves nothing for a journal replay, so the host's e2fsck sees it clean.
awk -v t="$t/" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount "$m"
done
umount $t
say "built"
