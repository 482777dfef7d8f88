#!/bin/sh
# CPU benchmarks: builds each bench/cpu/NAME.c as a bare-metal ELF and runs it under
# build/rackvm and under QEMU, printing wall time, retired instructions, guest MIPS and
# the rackvm/QEMU time ratio, plus any "phase" lines the program prints (in-guest mtime
# ticks of its parts). A measurement, not a test: no timing assertion.
#   coremark-like  integer mix (CRC, sort, matrix, list walk, state machine)
#   fp-matmul      double-precision matrix multiply; its checksum is also computed by
#                  the same file built for the host (-DHOST_CHECK) and compared
#   code-data      a store loop with its data on its code's page, and apart
# QEMU's minstret counts host ticks unless -icount is on, so the exact instruction
# count comes from one extra QEMU run with -icount shift=0 (not timed).
#   bench/cpu.sh [NAME...]      (default: all of bench/cpu/*.c)
# Env: BUILD (default build), RACKVM (default $BUILD/rackvm), HOST_CC (default cc).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RACKVM=${RACKVM:-$BUILD/rackvm}
HOST_CC=${HOST_CC:-cc}
QEMU="qemu-system-riscv64 -M virt -bios none -nographic"

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

report() {
    mips=$(calc "$instret / $secs / 1000000")
    printf '  %-13s wall %7.3f s  retired %s  guest MIPS %8.1f  checksum %s\n' \
        "$1" "$secs" "$2" "$mips" "$(field checksum "$out")"
    sed -n 's/^phase /                phase /p' "$out" | tr -d '\r'
}

# bench NAME: one program under QEMU, rackvm's translator and its interpreter.
bench() {
    elf=$BUILD/baremetal/$1.elf
    make -s -f tests/baremetal/baremetal.mk BUILD="$BUILD" "$elf"
    run "qemu -icount" $QEMU -icount shift=0 -kernel "$elf"
    instret=$(field instret "$out")
    checksum=$(field checksum "$out")
    rm -f "$out"
    echo "$1: $instret instructions retired (QEMU -icount), checksum $checksum"
    if grep -q HOST_CHECK "bench/cpu/$1.c"; then
        host=$(mktemp)
        "$HOST_CC" -O2 -ffp-contract=off -DHOST_CHECK -o "$host" "bench/cpu/$1.c"
        host_checksum=$("$host" | sed -n 's/^checksum //p')
        rm -f "$host"
        [ "$host_checksum" = "$checksum" ] && echo "  host-computed checksum agrees" ||
            echo "  host-computed checksum $host_checksum differs from QEMU's"
    fi

    run qemu $QEMU -kernel "$elf"
    qemu_secs=$secs
    report qemu "$instret"
    rm -f "$out"

    if [ ! -x "$RACKVM" ]; then
        echo "  rackvm: $RACKVM not built; skipped"
        return 0
    fi
    # The translator (the default) and the interpreter alone (--jit off).
    for jit in on off; do
        name=rackvm-jit
        [ "$jit" = off ] && name=rackvm-interp
        if run "$name" timeout 600 "$RACKVM" run --jit "$jit" --firmware none --kernel "$elf"; then
            report "$name" "$(field instret "$out") (minstret)"
            [ "$(field checksum "$out")" = "$checksum" ] || echo "  $name: checksum differs from QEMU's"
            printf '  time ratio %s/qemu: %.2f\n' "$name" "$(calc "$secs / $qemu_secs")"
        fi
        rm -f "$out"
    done
}

echo "host: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) CPUs"
if [ $# -eq 0 ]; then
    set -- $(for f in bench/cpu/*.c; do basename "$f" .c; done)
fi
for name in "$@"; do
    [ -f "bench/cpu/$name.c" ] || { echo "bench/cpu.sh: no bench/cpu/$name.c" >&2; exit 1; }
    bench "$name"
done
