#!/bin/sh
# CPU benchmark: builds bench/cpu/coremark-like.c as a bare-metal ELF and runs it under
# build/rackvm and under QEMU, printing wall time, retired instructions, guest MIPS and
# the rackvm/QEMU time ratio. A measurement, not a test: no timing assertion.
# QEMU's minstret counts host ticks unless -icount is on, so the exact instruction
# count comes from one extra QEMU run with -icount shift=0 (not timed).
# Env: BUILD (default build), RACKVM (default $BUILD/rackvm).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RACKVM=${RACKVM:-$BUILD/rackvm}
ELF=$BUILD/baremetal/coremark-like.elf
QEMU="qemu-system-riscv64 -M virt -bios none -nographic"

make -s -f tests/baremetal/baremetal.mk BUILD="$BUILD" "$ELF"

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
field() { sed -n "s/^$1 //p" "$2" | tr -d '\r' | head -n 1; }

# run NAME CMD...: times one run, leaves its output in $out
run() {
    name=$1
    shift
    out=$(mktemp)
    start=$(now)
    if ! "$@" </dev/null >"$out" 2>&1; then
        echo "$name: run failed:"
        sed 's/^/    /' "$out"
        return 1
    fi
    end=$(now)
    secs=$(calc "$end - $start")
}

run "qemu -icount" $QEMU -icount shift=0 -kernel "$ELF"
instret=$(field instret "$out")
checksum=$(field checksum "$out")
rm -f "$out"
echo "coremark-like: $instret instructions retired (QEMU -icount), checksum $checksum"

report() {
    mips=$(calc "$instret / $secs / 1000000")
    printf '%-13s wall %7.3f s  retired %s  guest MIPS %8.1f  checksum %s\n' \
        "$1" "$secs" "$2" "$mips" "$(field checksum "$out")"
}

run qemu $QEMU -smp 2 -kernel "$ELF"
qemu_secs=$secs
report qemu "$instret"
rm -f "$out"

if [ ! -x "$RACKVM" ]; then
    echo "rackvm: $RACKVM not built; skipped"
    exit 0
fi
# The translator (the default) and the interpreter alone (--jit off).
for jit in on off; do
    name=rackvm-jit
    [ "$jit" = off ] && name=rackvm-interp
    if run "$name" timeout 600 "$RACKVM" run --jit "$jit" --firmware none --kernel "$ELF"; then
        report "$name" "$(field instret "$out") (minstret)"
        [ "$(field checksum "$out")" = "$checksum" ] || echo "$name: checksum differs from QEMU's"
        printf 'time ratio %s/qemu: %.2f\n' "$name" "$(calc "$secs / $qemu_secs")"
    fi
    rm -f "$out"
done
