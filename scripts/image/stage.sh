#!/bin/sh
# Runs inside a build VM that scripts/image-create.sh boots (the guest's busybox
# initramfs, as its autorun= program), /dev/vda being this stage disk (mounted on /mnt).
# /mnt/job says which half of the build this VM does:
#   base    /dev/vdb is a bare ext4 file system that `debootstrap --foreign` filled on the
#           host: debootstrap's second stage, apt-get install of /mnt/packages from the
#           .debs and index the host put there (no network needed), one initramfs at the
#           end; then nothing specific to one image is left (ssh host keys, machine-id),
#           so the result is cached and copied for every image of the same package set.
#   finish  /dev/vdb1 is the new image's root, a copy of a base: the files under
#           /mnt/config (host name, fstab, ssh key), root's password, a machine-id and
#           ssh host keys of its own, the boot menu, and the build-only settings removed.
# Lines starting "IMAGE:" are the progress the host shows.
set -e
set -o pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive \
    UCF_FORCE_CONFFOLD=1
# Nobody is at the console to answer: a prompt must fail (end of input), never wait.
exec </dev/null
say() { echo "IMAGE: $*"; }
t=/target

mount_target() {
    mkdir -p $t
    # No write barriers: dpkg's and apt's fsyncs then cost no host fdatasync each; the
    # host checks the whole file system with e2fsck once the VM has unmounted it cleanly.
    mount -o barrier=0 "$1" $t
}

# What maintainer scripts expect in the chroot.
mount_kernel_fs() {
    mount -t proc proc $t/proc
    mount -t sysfs sysfs $t/sys
    mount -o bind /dev $t/dev
    mount -t devpts devpts $t/dev/pts
}

# Everything mounted under the root (debootstrap mounts some itself), deepest first: a
# clean unmount leaves nothing for a journal replay, so the host's e2fsck sees it clean.
unmount_target() {
    awk -v t="$t/" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
        umount "$m"
    done
    umount $t
}

base() {
    mount_target /dev/vdb
    # debootstrap prints "I: Unpacking X..." then "I: Configuring X..." for each package.
    total=$(wc -l <$t/debootstrap/debpaths)
    say "stage 2/4: debootstrap second stage ($total packages)"
    chroot $t /debootstrap/debootstrap --second-stage 2>&1 | awk -v total="$total" '
        /^I: (Unpacking|Configuring) (required packages|the base system)/ { print; fflush(); next }
        /^I: Unpacking / { u++; printf "IMAGE:   unpacked %d/%d %s\n", u, total, $3; fflush(); next }
        /^I: Configuring / { if (c < total) c++; printf "IMAGE:   configured %d/%d %s\n", c, total, $3; fflush(); next }
        { print; fflush() }'
    mount_kernel_fs

    packages=$(cat /mnt/packages)
    total=$(cat /mnt/total)
    say "stage 3/4: apt-get install $packages ($total packages)"
    # Every kernel and hook package would rebuild the initramfs (minutes each on the soft
    # CPU): update-initramfs is diverted to a no-op while they install, then runs once.
    chroot $t dpkg-divert --local --rename --divert /usr/sbin/update-initramfs.rackvm-build \
        --add /usr/sbin/update-initramfs >/dev/null
    printf '#!/bin/sh\nexit 0\n' >$t/usr/sbin/update-initramfs
    chmod 0755 $t/usr/sbin/update-initramfs
    # Nobody answers a prompt: where a conffile was written before its package, ours stays.
    chroot $t apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $packages 2>&1 |
        awk -v total="$total" '
        /^Unpacking / { u++; printf "IMAGE:   unpacked %d/%d %s\n", u, total, $2; fflush(); next }
        /^Setting up / { c++; printf "IMAGE:   set up %d/%d %s\n", c, total, $3; fflush(); next }
        { print; fflush() }'
    rm $t/usr/sbin/update-initramfs
    chroot $t dpkg-divert --local --rename --remove /usr/sbin/update-initramfs >/dev/null
    say "stage 3/4: update-initramfs -c -k all (once, for the modules the board needs)"
    chroot $t update-initramfs -c -k all 2>&1 | sed 's/^/IMAGE:   /'
    ls $t/boot/initrd.img-* >/dev/null 2>&1 || { echo "E: the image has no /boot/initrd.img-*"; exit 1; }

    chroot $t systemctl enable systemd-networkd.service systemd-resolved.service \
        serial-getty@ttyS0.service
    chroot $t apt-get clean
    # What must differ between images made from this base: `finish` makes it again.
    rm -f $t/etc/ssh/ssh_host_* $t/var/lib/systemd/random-seed
    : >$t/etc/machine-id
    unmount_target
    say "base built"
}

finish() {
    mount_target /dev/vdb1
    mount_kernel_fs
    say "stage 4/4: host name, keys, boot menu"
    cp -a /mnt/config/. $t/
    if [ -f /mnt/root-password ]; then
        # chpasswd reads "user:password" from stdin: the password never shows in a process list.
        { printf 'root:'; cat /mnt/root-password; } | chroot $t chpasswd
    fi
    # A machine-id of its own (left empty, the first boot would run systemd-firstboot,
    # which asks for a locale, time zone and password on the console).
    chroot $t systemd-machine-id-setup
    [ ! -x $t/usr/sbin/sshd ] || chroot $t ssh-keygen -A
    chroot $t u-boot-update
    rm -f $t/etc/dpkg/dpkg.cfg.d/rackvm-image-build $t/usr/sbin/policy-rc.d
    [ -f $t/boot/extlinux/extlinux.conf ] || { echo "E: the image has no /boot/extlinux/extlinux.conf"; exit 1; }
    grep -E '^[[:space:]]*(kernel|initrd|append) ' $t/boot/extlinux/extlinux.conf | head -n 3 |
        sed 's/^[[:space:]]*/IMAGE:   extlinux.conf: /'
    unmount_target
    say "built"
}

case $(cat /mnt/job) in
    base) base ;;
    finish) finish ;;
    *) echo "E: /mnt/job says neither base nor finish"; exit 1 ;;
esac
