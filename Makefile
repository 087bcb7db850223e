# Thin wrapper around Meson so that a fresh Debian 12 machine needs only `make run` / `make test`.
# Every target first installs missing Debian packages (scripts/install-deps.sh: silent when all
# are present), then configures its build directory once, then builds with ninja.
#   build/          the default build (debugoptimized): make, make run, make test, make check-config
#   build-san/      ASan + UBSan: make test-sanitize
#   build-release/  -O3 release: make bench
#   build-fuzz/     clang + libFuzzer + ASan/UBSan: make fuzz (FUZZ_SECONDS per target, default 30)
SHELL := /bin/bash

BUILD_DIR   ?= build
SAN_DIR     ?= build-san
RELEASE_DIR ?= build-release
FUZZ_DIR    ?= build-fuzz
FUZZ_SECONDS ?= 30
# where Meson puts the binary inside a build directory (proxy/meson.build declares it)
SKJOLD_BIN  := proxy/skjold
NINJAFLAGS  ?=
MESON_TEST  := meson test --print-errorlogs --num-processes 2
# Sanitizer findings are fatal and come with a stack; tests get more time under ASan.
SAN_ENV     := ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:detect_leaks=1 \
               UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
SAN_TIMEOUT ?= 3
# CI time on 2 cores is mostly compiling: the libraries are built as unity files (tests are not:
# their helpers share names), and the sanitizer build uses -O1 (ASan's recommended level).
UNITY       := -Dunity=on -Dunity_size=8
SAN_OPTIONS := -Db_sanitize=address,undefined -Db_lundef=false -Dbench=disabled -Doptimization=1 $(UNITY)
RELEASE_OPTIONS := -Dbuildtype=release
FUZZ_OPTIONS := -Dfuzz=enabled -Db_sanitize=address,undefined -Db_lundef=false -Dbench=disabled \
                -Dcpp_args=-fsanitize=fuzzer-no-link -Dc_args=-fsanitize=fuzzer-no-link

.PHONY: all build deps run test test-sanitize bench fuzz check-config clean

all: build

deps:
	@scripts/install-deps.sh

# setup DIR [OPTIONS]: configure DIR once (ninja re-runs meson itself when a meson.build changes).
# A directory whose configuration was interrupted after meson saved its state is wiped and redone.
define setup
	@if [ ! -f $(1)/build.ninja ]; then \
	    if [ -f $(1)/meson-private/coredata.dat ]; then meson setup --wipe $(1) $(2); \
	    else meson setup $(1) $(2); fi; \
	fi
endef

# The default build leaves out the Google Benchmark executables (make bench builds them in
# build-release/), which keeps `make test` and CI shorter.
build: deps
	$(call setup,$(BUILD_DIR),-Dbench=disabled $(UNITY))
	ninja $(NINJAFLAGS) -C $(BUILD_DIR)

run: build
	@scripts/run-demo.sh $(BUILD_DIR)/$(SKJOLD_BIN) examples/demo.cfg

test: build
	$(MESON_TEST) -C $(BUILD_DIR)

test-sanitize: deps
	$(call setup,$(SAN_DIR),$(SAN_OPTIONS))
	ninja $(NINJAFLAGS) -C $(SAN_DIR)
	$(SAN_ENV) $(MESON_TEST) -C $(SAN_DIR) --timeout-multiplier $(SAN_TIMEOUT)

bench: deps
	$(call setup,$(RELEASE_DIR),$(RELEASE_OPTIONS))
	ninja $(NINJAFLAGS) -C $(RELEASE_DIR)
	@set -e; found=0; \
	for b in $$(find $(RELEASE_DIR)/bench -maxdepth 1 -type f -perm -u+x ! -name '*.*' 2>/dev/null | sort); do \
	    found=1; echo "== $$b"; "$$b"; \
	done; \
	[ $$found = 1 ] || echo "== no Google Benchmark executable in $(RELEASE_DIR)/bench yet"
	bench/tcp.sh $(RELEASE_DIR)/$(SKJOLD_BIN)

# Only the fuzzers are built here (the rest of the tree is compiled into them as needed).
fuzz: deps
	@if [ ! -f $(FUZZ_DIR)/build.ninja ]; then CC=clang CXX=clang++ meson setup $(FUZZ_DIR) $(FUZZ_OPTIONS); fi
	ninja $(NINJAFLAGS) -C $(FUZZ_DIR) $$(cd $(FUZZ_DIR) && meson introspect --targets | \
	    python3 -c 'import json,sys; print(" ".join(t["filename"][0].split("$(FUZZ_DIR)/",1)[-1] for t in json.load(sys.stdin) if t["name"].startswith("fuzz_")))')
	$(SAN_ENV) FUZZ_SECONDS=$(FUZZ_SECONDS) $(MESON_TEST) -C $(FUZZ_DIR) --suite fuzz --no-rebuild

check-config: build
	@set -e; for f in examples/*.cfg; do printf '%s: ' "$$f"; $(BUILD_DIR)/$(SKJOLD_BIN) -c -f "$$f"; done

clean:
	rm -rf $(BUILD_DIR) $(SAN_DIR) $(RELEASE_DIR) $(FUZZ_DIR) build-ci
