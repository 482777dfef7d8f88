#!/usr/bin/env bash
# Installs the Debian packages rackvm needs. Idempotent: when every package is already
# installed it only says so. Run as root (apt-get).
#   scripts/deps.sh           what building rackvm and its guest needs (the README's first
#                             command: a newcomer gets to the guest's shell sooner)
#   scripts/deps.sh --all     that, and what the tests and benchmarks need (`make test`)
#   --check                   only report what is missing (exit 1 if anything is)
set -euo pipefail

all=0
check=0
for arg in "$@"; do
    case "$arg" in
        --all) all=1 ;;
        --check) check=1 ;;
        *) echo "deps: unknown option $arg (use --all, --check)" >&2; exit 2 ;;
    esac
done

packages=(
    # build
    gcc make libfdt-dev zlib1g-dev libslirp-dev libjansson-dev libseccomp-dev libyaml-dev pkg-config
    # disk boot (`rackvm run --disk path=IMG`): libblkid/libext2fs read the partition table
    # and file system to check there is something to boot; OpenSBI and U-Boot boot it
    libblkid-dev libext2fs-dev opensbi u-boot-qemu
    # rackvm image create: debootstrap, sfdisk (fdisk), mkfs.ext4 -d and e2fsck (e2fsprogs)
    debootstrap fdisk e2fsprogs
    # guest recipe (scripts/build-guest.sh: trixie riscv64 packages through a private apt
    # configuration; kmod for depmod/modprobe, xz-utils for the modules, cpio + gzip)
    debian-archive-keyring kmod xz-utils cpio gzip
)
if [ $all -eq 1 ]; then
    packages+=(
        # tests (e2fsprogs, fdisk, mtools: disk images built as a normal user; iproute2: the tap test)
        gcc-riscv64-unknown-elf device-tree-compiler opensbi u-boot-qemu clang python3
        # the GDB stub's tests (tests/integration/test_gdb.py)
        gdb-multiarch
        # libFuzzer and clang's sanitizer runtimes (`make fuzz`): only a recommendation of clang
        libclang-rt-14-dev
        mtools iproute2
        # `make image-test`: the test's key (ssh-keygen) and its login into the image (ssh)
        openssh-client
        # benchmarks
        qemu-system-misc time bc
    )
fi

missing=()
for p in "${packages[@]}"; do
    # dpkg -s succeeds for removed-but-configured packages too, so read the status word.
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#packages[@]} packages installed"
    exit 0
fi
echo "deps: missing: ${missing[*]}"
if [ $check -eq 1 ]; then
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: run as root to install them: sudo $0" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
echo "deps: installed ${missing[*]}"
