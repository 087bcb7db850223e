#!/bin/sh
# Runs one libFuzzer target for FUZZ_SECONDS (default 30) over a scratch copy of its corpus, so the
# committed seeds stay as they are. A crash leaves its input in the build dir and fails the test;
# copy it into tests/fuzz/corpus/<target>/ once fixed, and it becomes a regression test (replay_*).
# Usage: run_fuzz.sh FUZZER TARGET_NAME CORPUS_DIR
set -eu
fuzzer=$1 name=$2 corpus=$3
seconds=${FUZZ_SECONDS:-30}
work=$(mktemp -d "${TMPDIR:-/tmp}/skjold-fuzz-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
artifacts="$(pwd)/fuzz-artifacts/$name/"
mkdir -p "$artifacts"
echo "fuzzing $name for ${seconds}s (seeds: $(ls "$corpus" | wc -l))"
# -rss_limit_mb: a config that asks for huge tables must not pass for a leak.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$artifacts" "$work" "$corpus" </dev/null 2>&1 | tail -n 40
status=$?
# `set -e` does not see the fuzzer's status through the pipe; the file list does.
if ls "$artifacts" | grep -q .; then
    echo "fuzz $name: crash inputs in $artifacts:"; ls -l "$artifacts"
    exit 1
fi
exit $status
