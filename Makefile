# Thin wrapper around Meson so that a fresh Debian 12 machine needs only `make run` / `make test`.
# Every target first installs missing Debian packages (scripts/install-deps.sh: silent when all
# are present), then configures its build directory once, then builds with ninja.
#   build/          the default build (debugoptimized): make, make run, make test, make check-config
#   build-san/      clang, ASan + UBSan (+ LeakSanitizer) and the libFuzzer targets:
#                   make test-sanitize (the whole suite), make fuzz (FUZZ_SECONDS per target, default 30)
#   build-release/  -O3 release: make bench
SHELL := /bin/bash

BUILD_DIR   ?= build
SAN_DIR     ?= build-san
RELEASE_DIR ?= build-release
FUZZ_SECONDS ?= 30
# where Meson puts the binary inside a build directory (proxy/meson.build declares it)
SKJOLD_BIN  := proxy/skjold
NINJAFLAGS  ?=
MESON_TEST  := meson test --print-errorlogs --num-processes 2
# Sanitizer findings are fatal and come with a stack; tests get more time under ASan.
SAN_ENV     := ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:detect_leaks=1 \
               UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
SAN_TIMEOUT ?= 3
# CI time on 2 cores is mostly compiling. Measured on the largest unity file: full debug info (-g)
# costs 75 % more than line tables (-g1, which is all a stack trace or a sanitizer report needs),
# and gcc with ASan+UBSan takes 1.6x as long as clang. So: the libraries are built as unity files
# (tests are not: their helpers share names), both builds carry -g1, and the sanitizer build is
# clang at -O1 (ASan's recommended level) with the libFuzzer instrumentation (fuzzer-no-link), so
# the same objects serve the test suite and the fuzz targets.
UNITY       := -Dunity=on -Dunity_size=8
G1          := -Ddebug=false -Dcpp_args=-g1 -Dc_args=-g1
BUILD_OPTIONS := -Dbench=disabled -Doptimization=2 $(G1) $(UNITY)
SAN_CC      := CC=clang CXX=clang++
SAN_OPTIONS := -Db_sanitize=address,undefined -Db_lundef=false -Dbench=disabled -Dfuzz=enabled \
               -Doptimization=1 -Ddebug=false $(UNITY) \
               "-Dcpp_args=-g1 -fsanitize=fuzzer-no-link" "-Dc_args=-g1 -fsanitize=fuzzer-no-link"
RELEASE_OPTIONS := -Dbuildtype=release

.PHONY: all build deps run test san-build test-sanitize bench fuzz check-config clean

all: build

deps:
	@scripts/install-deps.sh

# setup DIR [OPTIONS] [ENV]: configure DIR once (ninja re-runs meson itself when a meson.build changes).
# A directory whose configuration was interrupted after meson saved its state is wiped and redone.
define setup
	@if [ ! -f $(1)/build.ninja ]; then \
	    if [ -f $(1)/meson-private/coredata.dat ]; then $(3) meson setup --wipe $(1) $(2); \
	    else $(3) meson setup $(1) $(2); fi; \
	fi
endef

# The default build leaves out the Google Benchmark executables (make bench builds them in
# build-release/), which keeps `make test` and CI shorter.
build: deps
	$(call setup,$(BUILD_DIR),$(BUILD_OPTIONS))
	ninja $(NINJAFLAGS) -C $(BUILD_DIR)

run: build
	@scripts/run-demo.sh $(BUILD_DIR)/$(SKJOLD_BIN) examples/demo.cfg

test: build
	$(MESON_TEST) -C $(BUILD_DIR)

san-build: deps
	$(call setup,$(SAN_DIR),$(SAN_OPTIONS),$(SAN_CC))
	ninja $(NINJAFLAGS) -C $(SAN_DIR)

# Every test but the fuzzers (they run apart, so that the timing-sensitive integration tests never
# share the two cores with them).
test-sanitize: san-build
	$(SAN_ENV) $(MESON_TEST) -C $(SAN_DIR) --timeout-multiplier $(SAN_TIMEOUT) --no-suite fuzz

bench: deps
	$(call setup,$(RELEASE_DIR),$(RELEASE_OPTIONS))
	ninja $(NINJAFLAGS) -C $(RELEASE_DIR)
	@set -e; found=0; \
	for b in $$(find $(RELEASE_DIR)/bench -maxdepth 1 -type f -perm -u+x ! -name '*.*' 2>/dev/null | sort); do \
	    found=1; echo "== $$b"; "$$b"; \
	done; \
	[ $$found = 1 ] || echo "== no Google Benchmark executable in $(RELEASE_DIR)/bench yet"
	bench/tcp.sh $(RELEASE_DIR)/$(SKJOLD_BIN)

# Each libFuzzer target for FUZZ_SECONDS, two at a time; results in $(SAN_DIR)/meson-logs/fuzzlog.*
# (apart from test-sanitize's testlog.*, so .ci/run counts both).
fuzz: san-build
	$(SAN_ENV) FUZZ_SECONDS=$(FUZZ_SECONDS) $(MESON_TEST) -C $(SAN_DIR) --suite fuzz --no-rebuild \
	    --logbase fuzzlog

check-config: build
	@set -e; for f in examples/*.cfg; do printf '%s: ' "$$f"; $(BUILD_DIR)/$(SKJOLD_BIN) -c -f "$$f"; done

clean:
	rm -rf $(BUILD_DIR) $(SAN_DIR) $(RELEASE_DIR) build-ci
