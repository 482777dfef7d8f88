# rackvm build. `make` builds build/rackvm; `make test` runs the whole suite.
CC ?= gcc
SANITIZE ?=
OPT ?= -O2
CFLAGS ?= $(OPT) -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Isrc -pthread -D_GNU_SOURCE
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
BUILD ?= build-$(subst $(comma),-,$(SANITIZE))
endif
comma := ,
space := $(subst ,, )
BUILD ?= build
LDLIBS += -lfdt -lz -lslirp -ljansson -lseccomp -lyaml -lext2fs -lblkid -pthread -lm
# libgcc_s loaded at start: pthread_cancel (the console's stalled writer) would otherwise
# dlopen it at exit, an open the sandbox forbids.
LDLIBS += -Wl,--push-state,--no-as-needed -lgcc_s -Wl,--pop-state

SRCS := $(sort $(wildcard src/*/*.c src/*/*/*.c src/*.c))
MAIN := src/cli/main.c
LIB_SRCS := $(filter-out $(MAIN),$(SRCS))
OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIB_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

# Layers call downward only (cli -> rack (the supervisor: it runs VMs as processes) -> api;
# cli -> api, debug (the gdb stub) -> machine -> devices, cpu ->
# memory; host/ back ends are leaves; the switch (cli -> switch -> host) knows nothing of a
# VM): $(call no_includes,DIRS,LAYERS) fails when a file in src/DIRS includes a header
# of one of LAYERS.
no_includes = ! grep -nE '^\s*\#\s*include\s*"($(subst $(space),|,$(strip $(2))))/' \
	$(wildcard $(patsubst %,src/%/*.[ch],$(1))) \
	|| { echo "error: a file in $(1) includes a header of $(2) (layers call downward only)" >&2; exit 1; }

.PHONY: all unit clean layers
all: layers $(BUILD)/rackvm

layers:
	@$(call no_includes,cpu memory,cli machine devices host debug switch)
	@$(call no_includes,switch,cli machine devices cpu memory api debug)
	@$(call no_includes,memory,cpu)
	@$(call no_includes,machine,api cli debug)
	@$(call no_includes,devices devices/virtio,api cli debug machine)
	@$(call no_includes,rack,cli machine devices cpu memory debug switch)
	@$(call no_includes,host,api cli debug machine devices cpu memory switch)

$(BUILD)/rackvm: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Every block of interp.c that is only jumped to (interp_run's handlers) starts on a 64-byte
# line, so a handler's dispatch jump keeps its place in its line whatever is added before
# it (interp.c, above interp_run). gcc aligns only blocks it guesses hot without the param
# (4 of 184 labels; with it 170); clang's option reaches about a quarter of the handlers.
ifneq ($(findstring clang,$(shell $(CC) --version 2>/dev/null)),)
INTERP_ALIGN := -mllvm -align-all-nofallthru-blocks=6
else
INTERP_ALIGN := -falign-jumps=64 --param=align-threshold=65536
endif
$(BUILD)/obj/cpu/interp.o: CFLAGS += $(INTERP_ALIGN)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do echo "== $$t"; $$t || exit 1; done

clean:
	rm -rf build build-*

-include $(OBJS:.o=.d)

include tests/baremetal/baremetal.mk
include tests/test.mk
include tests/fuzz/fuzz.mk
