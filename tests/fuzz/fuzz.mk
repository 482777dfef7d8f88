# libFuzzer targets, one per tests/fuzz/fuzz_<name>.c; included by the top Makefile after
# LIB_SRCS is set. `make fuzz FUZZ_SECONDS=N` builds each target with clang (ASan +
# UBSan; the library's objects once, shared by every target), replays every input kept
# in tests/fuzz/regressions/<name>/ (inputs that once crashed, run once each), then
# fuzzes each target for N seconds, one after another, keeping its corpus in
# build-fuzz/corpus-<name> (seeded with well-formed inputs by make_seeds.py).
# `make fuzz-<name>` does that for one target.
FUZZ_SECONDS ?= 30
FUZZ_BUILD := build-fuzz
FUZZ_CFLAGS := -O1 -g -std=gnu11 -Wall -Wextra -Werror -Isrc -pthread -D_GNU_SOURCE \
               -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LIB_OBJS := $(patsubst src/%.c,$(FUZZ_BUILD)/obj/%.o,$(LIB_SRCS))
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
# Longest input each target reads; the loader's files are the largest.
FUZZ_MAX_LEN_virtqueue := 8192
FUZZ_MAX_LEN_loader := 16384
FUZZ_MAX_LEN_run_options := 4096
FUZZ_MAX_LEN_parsers := 1025
FUZZ_MAX_LEN_switch := 16384

.PHONY: fuzz $(addprefix fuzz-,$(FUZZ_TARGETS))

# The library is compiled once, with libFuzzer's coverage instrumentation but not its
# main, and linked into each target: compiling it again for every target took over
# half of `make test`'s fuzzing minutes.
$(FUZZ_BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJS) $(wildcard src/*.h src/*/*.h src/*/*/*.h)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJS) $(LDLIBS)

-include $(FUZZ_LIB_OBJS:.o=.d)

fuzz: $(addprefix fuzz-,$(FUZZ_TARGETS))

$(addprefix fuzz-,$(FUZZ_TARGETS)): fuzz-%: $(FUZZ_BUILD)/fuzz_%
	python3 tests/fuzz/make_seeds.py $* $(FUZZ_BUILD)/corpus-$*
	$(if $(wildcard tests/fuzz/regressions/$*/*),$< -timeout=10 -rss_limit_mb=2048 \
		$(wildcard tests/fuzz/regressions/$*/*))
	$< -max_total_time=$(FUZZ_SECONDS) -timeout=10 -max_len=$(FUZZ_MAX_LEN_$*) \
		-rss_limit_mb=2048 -artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_BUILD)/corpus-$*
