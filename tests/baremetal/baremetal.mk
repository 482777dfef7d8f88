# Bare-metal RISC-V test programs and the CPU benchmark images, bench/cpu/*.c (included from the top Makefile).
# `make baremetal-elfs` builds them; `make baremetal` runs them under $(BUILD)/rackvm.
BM_CC ?= riscv64-unknown-elf-gcc
BM_ARCH ?= rv64gc_zicboz_zfh_zawrs_zba_zbb_zbc_zbkb_zbkx_zbs_zknd_zkne_zknh_zksed_zksh
BM_CFLAGS := -march=$(BM_ARCH) -mabi=lp64d -mcmodel=medany -nostdlib -static -ffreestanding \
	-g -Wall -Wextra -Werror -Itests/baremetal -T tests/baremetal/link.ld -Wl,--no-warn-rwx-segments
BM_DIR := $(BUILD)/baremetal
BM_CRT := tests/baremetal/crt.S
BM_HDRS := tests/baremetal/test.h tests/baremetal/link.ld
BM_TESTS := $(sort $(basename $(notdir $(filter-out $(BM_CRT),$(wildcard tests/baremetal/*.S tests/baremetal/*.c)))))
BM_ELFS := $(patsubst %,$(BM_DIR)/%.elf,$(BM_TESTS))
BM_BENCH := $(patsubst bench/cpu/%.c,$(BM_DIR)/%.elf,$(wildcard bench/cpu/*.c))
# Benchmarks also run in U mode under Sv39 (bench/cpu/user/start.c), as NAME-user.elf.
BM_BENCH_USER := $(BM_DIR)/lz77-user.elf
# Hostile guests for tests/integration/test_storm.py: not self-checking, so kept out of BM_DIR.
STORM_ELF := $(BUILD)/storm/storm.elf
# The program tests/integration/test_gdb.py debugs (with its symbols).
GDB_TARGET_ELF := $(BUILD)/gdb/target.elf

.PHONY: baremetal baremetal-elfs
baremetal-elfs: $(BM_ELFS) $(BM_BENCH) $(BM_BENCH_USER) $(STORM_ELF) $(GDB_TARGET_ELF)

baremetal: baremetal-elfs $(BUILD)/rackvm
	BUILD=$(BUILD) tests/baremetal/run.sh $(BUILD)/rackvm

$(BM_DIR)/%.elf: tests/baremetal/%.S $(BM_CRT) $(BM_HDRS)
	@mkdir -p $(dir $@)
	$(BM_CC) $(BM_CFLAGS) -o $@ $(BM_CRT) $<

$(BM_DIR)/%.elf: tests/baremetal/%.c $(BM_CRT) $(BM_HDRS)
	@mkdir -p $(dir $@)
	$(BM_CC) $(BM_CFLAGS) -O2 -o $@ $(BM_CRT) $<

# No fused multiply-add: fp-matmul's checksum must match the same code built for the host.
$(BM_BENCH): $(BM_DIR)/%.elf: bench/cpu/%.c bench/cpu/report.h $(BM_CRT) $(BM_HDRS)
	@mkdir -p $(dir $@)
	$(BM_CC) $(BM_CFLAGS) -O2 -ffp-contract=off -o $@ $(BM_CRT) $<

$(BM_DIR)/%-user.elf: bench/cpu/%.c bench/cpu/user/start.c bench/cpu/report.h $(BM_CRT) $(BM_HDRS)
	@mkdir -p $(dir $@)
	$(BM_CC) $(BM_CFLAGS) -O2 -ffp-contract=off -DBENCH_USER -DBENCH_PROGRAM='"../$*.c"' -o $@ \
		$(BM_CRT) bench/cpu/user/start.c

# lz77 stands for the guest's gzip: Debian's riscv64 baseline, without Zba/Zbb.
$(BM_DIR)/lz77.elf $(BM_DIR)/lz77-user.elf: BM_CFLAGS += -march=rv64gc

$(STORM_ELF): tests/storm/storm.c $(BM_CRT) $(BM_HDRS)
	@mkdir -p $(dir $@)
	$(BM_CC) $(BM_CFLAGS) -O2 -o $@ $(BM_CRT) $<

$(GDB_TARGET_ELF): tests/gdb/target.c $(BM_CRT) $(BM_HDRS)
	@mkdir -p $(dir $@)
	$(BM_CC) $(BM_CFLAGS) -O2 -o $@ $(BM_CRT) $<
