# The whole suite and the guest; included at the end of the top Makefile (it uses $(BUILD)).
# `make test`: installs missing Debian packages, builds, then runs the unit tests, the
# bare-metal suite, the CPU's differential test against QEMU (interpreted and translated,
# 45 s each; the reference executor 25 s), the unit tests again under ASan+UBSan, 20 s of
# libFuzzer on each fuzz target (virtqueues, loaders, run's options, value parsers, switch
# peers) after replaying their regression inputs, a clang build (-Werror) and its unit
# tests, the guest (built or refreshed from its cache, so no boot test skips for want of one), and
# the Linux boot tests last, so their "N passed, N failed" line closes the output.
TEST_SANITIZE := address,undefined

.PHONY: deps test integration guest image-test

deps:
	scripts/deps.sh --all

test: deps
	$(MAKE) all
	$(MAKE) unit
	if [ -x tests/baremetal/run.sh ]; then $(MAKE) baremetal; fi
	python3 tests/difftest/run.py --seconds 45 --jit off
	python3 tests/difftest/run.py --seconds 45 --jit eager
	python3 tests/difftest/run.py --seconds 25 --jit reference
	$(MAKE) SANITIZE=$(TEST_SANITIZE) unit
	$(MAKE) fuzz FUZZ_SECONDS=20
	$(MAKE) CC=clang BUILD=build-clang all unit
	scripts/build-guest.sh
	python3 tests/integration/run.py

integration: $(BUILD)/rackvm $(STORM_ELF) $(GDB_TARGET_ELF)
	python3 tests/integration/run.py

guest:
	scripts/build-guest.sh

# Apart from `make test`: builds the Debian image test_image.py boots with `rackvm image
# create` (cached by recipe; a first build takes far longer than the whole suite may, see
# the README's Debian section), then runs test_image.py on it.
image-test: deps
	$(MAKE) all
	tests/integration/image-test-cache.sh >/dev/null
	RACKVM_IMAGE_TEST=1 python3 tests/integration/run.py test_image.py
