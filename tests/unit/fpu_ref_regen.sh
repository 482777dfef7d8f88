#!/bin/sh
# Regenerates tests/unit/fpu_ref_hashes.h by running fpu_refgen_qemu.c on QEMU's RISC-V
# model (needs gcc-riscv64-unknown-elf and qemu-system-riscv64). Pass --dump to print
# every vector's results instead, for comparing against test_fpu --dump.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dump=
[ "${1:-}" = --dump ] && dump=-DREFGEN_DUMP
cat >"$work/link.ld" <<'LD'
ENTRY(_start)
SECTIONS {
    . = 0x80000000;
    .text : { *(.text.start) *(.text .text.*) }
    .rodata : { *(.rodata .rodata.* .srodata .srodata.*) }
    .data : { *(.data .data.* .sdata .sdata.*) }
    .bss : { *(.bss .bss.* .sbss .sbss.* COMMON) }
}
LD
riscv64-unknown-elf-gcc -march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -ffreestanding \
    -nostdlib -static -Wl,--no-warn-rwx-segments -T "$work/link.ld" $dump -o "$work/refgen.elf" \
    "$here/fpu_refgen_qemu.c" -lgcc
if [ -n "$dump" ]; then
    timeout 600 qemu-system-riscv64 -M virt -bios none -nographic -kernel "$work/refgen.elf"
else
    timeout 600 qemu-system-riscv64 -M virt -bios none -nographic -kernel "$work/refgen.elf" \
        | tr -d '\r' >"$work/out.h"
    mv "$work/out.h" "$here/fpu_ref_hashes.h"
fi
