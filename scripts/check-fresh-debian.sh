#!/usr/bin/env bash
# Proves the README's quick start on a fresh Debian 12: makes a minbase bookworm chroot,
# clones a branch of this repository in it and runs the README's two commands there, timing
# each. The first one boots the guest to its shell, where this script types `poweroff -f`.
#
#   scripts/check-fresh-debian.sh [--first-only | --second CMD] [--dir DIR] [--tarball FILE]
#                                 [REPO [BRANCH]]
#
#   REPO, BRANCH   what to clone (default: this repository, its current branch)
#   --first-only   stop after the first command (set up, build, boot to a shell)
#   --second CMD   run CMD in the clone instead of the README's second command (`make test`),
#                  e.g. "python3 tests/integration/run.py" for the boot tests alone
#   --dir DIR      where the chroot goes (default: ../chroot-guest beside this clone);
#                  it is unmounted and deleted on every exit path
#   --tarball FILE a cached tar of the bare minbase chroot, made on the first run and
#                  unpacked instead of running debootstrap again (default:
#                  ../cache/bookworm-minbase.tar beside this clone)
# A newcomer has git (they cloned); minbase does not, so git is installed before the clock
# starts. Needs root (debootstrap, chroot, mounts) and the network.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mirror=http://deb.debian.org/debian
first_only=0
second="make test"
dir=$(dirname "$root")/chroot-guest
tarball=$(dirname "$root")/cache/bookworm-minbase.tar
repo=
branch=
while [ $# -gt 0 ]; do
    case "$1" in
        --first-only) first_only=1 ;;
        --second) second=${2:?--second needs a command}; shift ;;
        --dir) dir=${2:?--dir needs a directory}; shift ;;
        --tarball) tarball=${2:?--tarball needs a file}; shift ;;
        -h | --help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
        -*) echo "check-fresh-debian: unknown option $1" >&2; exit 2 ;;
        *) if [ -z "$repo" ]; then repo=$1; elif [ -z "$branch" ]; then branch=$1; else
               echo "check-fresh-debian: unexpected argument $1" >&2; exit 2; fi ;;
    esac
    shift
done
repo=${repo:-$root}
branch=${branch:-$(git -C "$repo" rev-parse --abbrev-ref HEAD)}

stage() { echo "== $*"; }
die() { echo "check-fresh-debian: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, chroot and mounts need it)"
git -C "$repo" rev-parse --verify -q "refs/heads/$branch^{commit}" >/dev/null \
    || die "$repo has no branch $branch"
[ ! -e "$dir" ] || die "$dir already exists; remove it or pass --dir"

cleanup() {
    local m
    # Processes still running in the chroot (a VM left by an interrupted run) go first.
    for m in /proc/[0-9]*/root; do
        if [ "$(readlink "$m" 2>/dev/null)" = "$dir" ]; then
            m=${m%/root}
            kill -9 "${m#/proc/}" 2>/dev/null || true
        fi
    done
    for m in dev/pts dev sys proc; do
        if mountpoint -q "$dir/$m"; then umount -l "$dir/$m"; fi
    done
    if ! grep -qF " $dir/" /proc/mounts; then
        rm -rf "$dir"
    else
        echo "check-fresh-debian: $dir still has mounts; not deleting it" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! command -v debootstrap >/dev/null; then
    stage "host: installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap
fi

mkdir -p "$dir"
if [ -f "$tarball" ]; then
    stage "chroot: unpacking $tarball"
    tar -C "$dir" -xf "$tarball"
else
    stage "chroot: debootstrap --variant=minbase bookworm $dir"
    debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$dir.debootstrap.log" 2>&1 \
        || { tail -n 20 "$dir.debootstrap.log" >&2; die "debootstrap failed"; }
    rm -f "$dir.debootstrap.log"
    mkdir -p "$(dirname "$tarball")"
    tar -C "$dir" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    echo "   cached as $tarball"
fi
for m in proc sys dev dev/pts; do
    mount --bind "/$m" "$dir/$m"
done
cp /etc/resolv.conf "$dir/etc/resolv.conf"
in_chroot() { chroot "$dir" /usr/bin/env -i HOME=/root TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

stage "chroot: apt-get install git (a newcomer has it)"
in_chroot sh -c 'apt-get -q update && DEBIAN_FRONTEND=noninteractive \
    apt-get -q install -y --no-install-recommends git ca-certificates' >/dev/null
git -C "$repo" bundle create -q "$dir/root/rackvm.bundle" "refs/heads/$branch" \
    || die "cannot bundle branch $branch of $repo"

# The README's first command: the first indented line of README.md.
first=$(sed -n 's/^    \(scripts\/deps\.sh .*\)$/\1/p' "$repo/README.md" | head -n1)
[ -n "$first" ] || die "$repo/README.md has no 'scripts/deps.sh ...' command line"

stage "fresh clone -> guest shell: git clone + $first"
fifo=$dir/root/console.in
log=$dir/root/first.log
mkfifo "$fifo"
start=$SECONDS
in_chroot sh -c "cd /root && git clone -q -b '$branch' rackvm.bundle rackvm && cd rackvm &&
    timeout -k 5 1800 sh -c '$first' <'/root/console.in'" >"$log" 2>&1 &
pid=$!
# The stages as they come, from the command's log.
tail -n +1 -f --pid=$pid "$log" | grep --line-buffered -E '^== |^deps:|^guest:|GUEST-READY' |
    sed -u 's/^/   | /' &
progress=$!
# Opened read-write so this never blocks, even if the clone fails before the reader opens.
exec 3<>"$fifo"
shell_at=
while kill -0 $pid 2>/dev/null; do
    if [ -z "$shell_at" ] && grep -q '~ # ' "$log"; then
        shell_at=$((SECONDS - start))
        echo "   guest shell after ${shell_at}s; typing poweroff -f"
        echo "poweroff -f" >&3
    fi
    sleep 1
done
exec 3>&-
status=0
wait $pid || status=$?
wait $progress || true
if [ -z "$shell_at" ] || [ $status -ne 0 ]; then
    tail -n 30 "$log" >&2
    die "the README's first command did not reach the guest shell (exit $status)"
fi
echo "   first command: shell after ${shell_at}s, done (powered off) after $((SECONDS - start))s"

if [ $first_only -eq 0 ]; then
    stage "$second"
    start=$SECONDS
    status=0
    in_chroot sh -c "cd /root/rackvm && timeout -k 5 3600 $second" 2>&1 | sed -u 's/^/   | /' \
        || status=$?
    echo "   $second: exit $status after $((SECONDS - start))s"
    [ "$status" -eq 0 ] || die "$second failed in the chroot"
fi
echo "check-fresh-debian: OK"
