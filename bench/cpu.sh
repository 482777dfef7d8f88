#!/bin/sh
# CPU benchmarks: builds each bench/cpu/NAME.c as a bare-metal ELF and runs it under
# build/rackvm and under QEMU, RUNS times in turn (bench/runs.sh; about 3 minutes for
# the four programs and 3 runs), printing the median and range of the wall times,
# retired instructions, guest MIPS at the median and the ratio of the medians
# rackvm/QEMU, plus the "phase" lines the program prints in its last run (in-guest
# mtime ticks of its parts). A program with no RISC-V assembly is also built for the host
# and timed alongside ("native": its checksum must agree with QEMU's; its time is what a
# perfect translation would approach). A measurement, not a test: no timing assertion.
#   coremark-like  integer mix (CRC, sort, matrix, list walk, state machine)
#   fp-matmul      double-precision matrix multiply
#   code-data      a store loop with its data on its code's page, and apart
#   amo-loop       amoadd, a lock (amoswap/amoand), amomaxu and an lr/sc increment, each
#                  in a loop of its own: the atomics of locks and reference counts
#   lz77           gzip's match finder (hash chains, longest_match) on 3 MiB of
#                  generated words, built for rv64gc as the guest's busybox gzip is
#   lz77-user      the same in U mode under Sv39, its data on 4 KiB pages as Linux maps
#                  a process's (bench/cpu/user/start.c): the translator's load and store
#                  path of the in-guest gzip
#   tlb-alias      loads and stores of two pages 4 MiB apart in turn, which share a
#                  TLB slot: the slow path's victim entries
# QEMU's minstret counts host ticks unless -icount is on, so the exact instruction
# count comes from one extra QEMU run with -icount shift=0 (not timed).
#   RUNS=3 bench/cpu.sh [NAME...]      (default: all of bench/cpu/*.c)
# Env: BUILD (default build), RACKVM (default $BUILD/rackvm), HOST_CC (default cc).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RACKVM=${RACKVM:-$BUILD/rackvm}
HOST_CC=${HOST_CC:-cc}
QEMU="qemu-system-riscv64 -M virt -bios none -nographic"
. bench/runs.sh

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

# report NAME RETIRED SECS...: one engine's line from its runs' wall times (nan: failed),
# then the phase lines of its last run, left in $phases.
report() {
    name=$1 retired=$2
    shift 2
    median=$(median_of "$@")
    mips=nan
    [ "$median" = nan ] || mips=$(awk "BEGIN { printf \"%.1f\", $instret / $median / 1000000 }")
    printf '  %-13s wall %s s  retired %s  guest MIPS %s\n' "$name" "$(spread_of "$@")" "$retired" "$mips"
    printf '%s' "$phases"
}

# engine NAME CMD...: one run of an engine; appends its wall time (or nan) to the list
# named NAME, checks its checksum against QEMU's and keeps its phase lines in phases_NAME.
engine() {
    list=$1
    shift
    if run "$list" "$@"; then
        sum=$(field checksum "$out")
        [ "$sum" = "$checksum" ] || echo "  $list: checksum $sum differs from QEMU's $checksum"
        eval "$list=\"\$$list $secs\""
        retired=$(field instret "$out")
        phases=$(sed -n 's/^phase /                phase /p' "$out" | tr -d '\r')
        [ -z "$phases" ] || phases="$phases
"
        eval "retired_$list=\$retired phases_$list=\$phases"
    else
        eval "$list=\"\$$list nan\""
    fi
    rm -f "$out"
}

# bench NAME: one program under QEMU, rackvm's translator and its interpreter, in turn
# (NAME-user: bench/cpu/NAME.c in U mode).
bench() {
    elf=$BUILD/baremetal/$1.elf
    source=bench/cpu/${1%-user}.c
    make -s -f tests/baremetal/baremetal.mk BUILD="$BUILD" "$elf"
    run "qemu -icount" $QEMU -icount shift=0 -kernel "$elf"
    instret=$(field instret "$out")
    checksum=$(field checksum "$out")
    rm -f "$out"
    echo "$1: $instret instructions retired (QEMU -icount), checksum $checksum"
    # The same C built for the host where it has no RISC-V assembly: its checksum must
    # agree with QEMU's, and its time is what a perfect translation would approach.
    native_bin=
    if ! grep -q __asm__ "$source"; then
        native_bin=$(mktemp)
        "$HOST_CC" -O2 -ffp-contract=off -DBENCH_NATIVE -o "$native_bin" "$source"
    fi

    # The translator (the default) and the interpreter alone (--jit off).
    qemu= jit= interp= native=
    for _ in $(seq "$runs"); do
        [ -z "$native_bin" ] || engine native "$native_bin"
        engine qemu $QEMU -kernel "$elf"
        [ -x "$RACKVM" ] || continue
        engine jit timeout 600 "$RACKVM" run --jit on --firmware none --kernel "$elf"
        engine interp timeout 600 "$RACKVM" run --jit off --firmware none --kernel "$elf"
    done
    rm -f "$native_bin"
    phases=$phases_qemu report qemu "$instret" $qemu
    if [ -n "$native_bin" ]; then
        printf '  %-13s wall %s s  (the same C, %s -O2)\n' native "$(spread_of $native)" "$HOST_CC"
        printf '%s' "$phases_native"
    fi
    if [ ! -x "$RACKVM" ]; then
        echo "  rackvm: $RACKVM not built; skipped"
        return 0
    fi
    phases=$phases_jit report rackvm-jit "$retired_jit (minstret)" $jit
    phases=$phases_interp report rackvm-interp "$retired_interp (minstret)" $interp
    qemu_median=$(median_of $qemu)
    echo "  time ratio rackvm-jit/qemu: $(ratio_of "$(median_of $jit)" "$qemu_median")," \
        "rackvm-interp/qemu: $(ratio_of "$(median_of $interp)" "$qemu_median") (medians)"
    [ -z "$native_bin" ] || echo "  time ratio to native: rackvm-jit $(ratio_of "$(median_of $jit)" "$(median_of $native)")," \
        "qemu $(ratio_of "$qemu_median" "$(median_of $native)")"
}

if [ $# -eq 0 ]; then
    set -- $(for f in bench/cpu/*.c; do basename "$f" .c; done) lz77-user
fi
for name in "$@"; do
    [ -f "bench/cpu/${name%-user}.c" ] || { echo "bench/cpu.sh: no bench/cpu/${name%-user}.c" >&2; exit 1; }
    bench "$name"
done
host_line
