# libFuzzer target over split virtqueues and virtio-blk request execution; included by
# the top Makefile after LIB_SRCS is set. `make fuzz FUZZ_SECONDS=N` builds
# build-fuzz/fuzz_virtqueue with clang (ASan + UBSan) and fuzzes for N seconds, keeping
# the corpus in build-fuzz/corpus (seeded with well-formed requests by make_seeds.py).
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build-fuzz
FUZZ_CFLAGS := -O1 -g -std=gnu11 -Wall -Wextra -Werror -Isrc -pthread -D_GNU_SOURCE \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SRCS := tests/fuzz/fuzz_virtqueue.c $(LIB_SRCS)

.PHONY: fuzz

$(FUZZ_BUILD)/fuzz_virtqueue: $(FUZZ_SRCS) $(wildcard src/*.h src/*/*.h src/*/*/*.h)
	@mkdir -p $(FUZZ_BUILD)
	clang $(FUZZ_CFLAGS) -o $@ $(FUZZ_SRCS) $(LDLIBS)

fuzz: $(FUZZ_BUILD)/fuzz_virtqueue
	python3 tests/fuzz/make_seeds.py $(FUZZ_BUILD)/corpus
	$< -max_total_time=$(FUZZ_SECONDS) -timeout=10 -max_len=8192 -rss_limit_mb=2048 $(FUZZ_BUILD)/corpus
