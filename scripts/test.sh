#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite through ctest:
# unit tests (cmocka) and integration tests (each starts its own Mosquitto,
# simulators, agent and server on loopback ports chosen at run time), first
# in a normal build, then under AddressSanitizer + UndefinedBehaviorSanitizer,
# then a short run of every fuzz target.  Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

scripts/deps.sh
jobs=$(nproc)
status=0

echo "== build (warnings are errors)"
build build -DLB_WERROR=ON
echo "== tests"
ctest --test-dir build --output-on-failure -j "$jobs" || status=1

echo "== build with AddressSanitizer + UndefinedBehaviorSanitizer"
build build-asan -DLB_WERROR=ON -DLB_ASAN=ON -DLB_UBSAN=ON
echo "== tests under ASan + UBSan (the slow outage tests ran above)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE slow || status=1

if [ -d tests/fuzz ] && [ -f tests/fuzz/CMakeLists.txt ]; then
    echo "== fuzz targets (short smoke run each)"
    CC=clang build build-fuzz -DLB_WERROR=ON -DLB_FUZZ=ON -DLB_TESTS=OFF
    for f in build-fuzz/tests/fuzz/fuzz_*; do
        [ -x "$f" ] || continue
        name=$(basename "$f")
        corpus=tests/fuzz/corpus/${name#fuzz_}
        mkdir -p "build-fuzz/corpus-$name"
        args=("build-fuzz/corpus-$name")
        [ -d "$corpus" ] && args+=("$corpus")
        if "$f" -max_total_time="${LB_FUZZ_SECONDS:-20}" -timeout=10 "${args[@]}" \
            >"build-fuzz/$name.log" 2>&1; then
            echo "$name: ok ($(grep -c . "build-fuzz/$name.log") log lines)"
        else
            echo "$name: FAILED"; tail -30 "build-fuzz/$name.log"; status=1
        fi
    done
fi

[ "$status" -eq 0 ] && echo "all suites passed" || echo "SOME SUITES FAILED"
exit "$status"
