#!/usr/bin/env bash
# Crash consistency under a host process kill, many times: boot 1 appends numbered,
# checksummed records with fsync after each and prints "ACK n"; rackvm is SIGKILLed at a
# random moment; boot 2 replays the ext4 journal and remounts read-only; then
# `e2fsck -fn` must be clean and every acknowledged record intact (debugfs). Prints N,
# each run's kill time, acknowledged count and result. The boot test runs 3 of these.
#   RUNS=20 MAX_DELAY=4 bench/crash.sh [--seed S]
# The guest is $RACKVM_GUEST_DIR, else guest/ (scripts/build-guest.sh), else ../shared/guest.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rackvm=${RACKVM:-$root/build/rackvm}
[ -x "$rackvm" ] || { echo "bench/crash.sh: $rackvm missing; run make" >&2; exit 1; }
RACKVM=$rackvm exec python3 "$root/tests/integration/crashcheck.py" \
    --runs "${RUNS:-20}" --max-delay "${MAX_DELAY:-4}" "$@"
