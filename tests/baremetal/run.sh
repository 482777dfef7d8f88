#!/bin/sh
# Runs every bare-metal test ELF under an emulator and prints PASS/FAIL per program. The
# benchmarks of bench/cpu/ run too, to their end, but count apart: they do not check their
# own result (bench/cpu.sh compares their checksums with QEMU's); NAME-user is NAME in U
# mode (bench/cpu/user/start.c). coremark-like is skipped.
# Usage: tests/baremetal/run.sh [qemu | path/to/rackvm | "emulator command"]
#   default: build/rackvm.  A custom command gets the ELF path appended.
# Env: BUILD (default build) locates $BUILD/baremetal/*.elf; TIMEOUT seconds (default 20).
# A test's source may name rackvm options it needs in a line " * rackvm-options: ...".
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
TIMEOUT=${TIMEOUT:-20}
EMU=${1:-$BUILD/rackvm}
DIR=$BUILD/baremetal

case "$EMU" in
qemu)     CMD="qemu-system-riscv64 -M virt -bios none -nographic -smp 2 -kernel" ;;
*rackvm)  CMD="$EMU run --cpus 2 --firmware none --kernel" ;;
*)        CMD="$EMU" ;;
esac

passed=0
failed=0
benchmarks=0
for elf in "$DIR"/*.elf; do
    [ -e "$elf" ] || { echo "no ELFs in $DIR (make baremetal-elfs)"; exit 2; }
    name=$(basename "$elf" .elf)
    case "$name" in coremark-like) continue ;; esac
    log=$(mktemp)
    options=
    case "$EMU" in *rackvm) options=$(sed -n 's/^ \* rackvm-options: //p' tests/baremetal/"$name".[Sc] 2>/dev/null) ;; esac
    # shellcheck disable=SC2086 # CMD and options are command lines
    timeout -k 2 "$TIMEOUT" $CMD "$elf" $options </dev/null >"$log" 2>&1
    status=$?
    if [ "$status" -eq 0 ] && grep -q '^PASS' "$log" && [ -e bench/cpu/"${name%-user}".c ]; then
        echo "RAN  $name (benchmark, $(grep -a '^checksum' "$log"))"
        benchmarks=$((benchmarks + 1))
    elif [ "$status" -eq 0 ] && grep -q '^PASS' "$log"; then
        echo "PASS $name"
        passed=$((passed + 1))
    else
        if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then why="timeout ${TIMEOUT}s"; else why="exit $status"; fi
        echo "FAIL $name ($why)"
        grep -a -v '^PASS' "$log" | tail -n 5 | sed 's/^/    /'
        failed=$((failed + 1))
    fi
    rm -f "$log"
done
echo "$passed passed, $failed failed; $benchmarks benchmarks ran to their end"
[ "$failed" -eq 0 ]
