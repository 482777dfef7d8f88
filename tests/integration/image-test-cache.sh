#!/usr/bin/env bash
# `make image-test`'s first step: builds, once per recipe, the Debian image that
# tests/integration/test_image.py boots, with `rackvm image create`. A first build takes
# far longer than the suite may (the packages' scripts run on the soft CPU: see the
# README), so it is built here, apart from `make test`, and cached under $RACKVM_CACHE/image-test, keyed
# by everything that goes into it: the recipe (image-create.sh, stage.sh, trixie-apt.sh),
# the options and the test's ssh key. Prints the image's path; with --path only prints it,
# building nothing (the test skips, saying to run this, when no image matches its key).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${RACKVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rackvm}
dir=$cache/image-test
mkdir -p "$dir"
[ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -C rackvm-image-test -f "$dir/id_ed25519"
args=(--size 2G --hostname rackvm-test --ssh-key "$dir/id_ed25519.pub" --packages less)
key=$(cat "$root/scripts/image-create.sh" "$root/scripts/image/stage.sh" \
    "$root/scripts/trixie-apt.sh" "$dir/id_ed25519.pub" <(echo "${args[@]}") | sha256sum | cut -c1-16)
image=$dir/debian-$key.img
if [ "${1:-}" != --path ] && [ ! -f "$image" ]; then
    rm -f "$dir"/debian-*.img
    "$root/build/rackvm" image create "$image" "${args[@]}" >&2
fi
echo "$image"
