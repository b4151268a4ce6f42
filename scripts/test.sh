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
passed=0
failed=0
# suite NAME CMD...: runs one suite and tallies it for the closing line.
suite() {
    local name=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        status=1
        echo "suite $name FAILED"
    fi
}

echo "== build (warnings are errors)"
build build -DLB_WERROR=ON
echo "== tests"
suite tests ctest --test-dir build --output-on-failure -j "$jobs"

echo "== build with AddressSanitizer + UndefinedBehaviorSanitizer"
build build-asan -DLB_WERROR=ON -DLB_ASAN=ON -DLB_UBSAN=ON
echo "== tests under ASan + UBSan (the slow outage tests ran above)"
suite sanitizers env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE slow

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
        if "$f" -max_total_time="${LB_FUZZ_SECONDS:-20}" -timeout=10 -print_final_stats=1 "${args[@]}" \
            >"build-fuzz/$name.log" 2>&1; then
            echo "$name: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' \
                "build-fuzz/$name.log" | grep -o '[0-9]*$' || echo '?') runs)"
            passed=$((passed + 1))
        else
            echo "$name: FAILED"; tail -30 "build-fuzz/$name.log"
            failed=$((failed + 1))
            status=1
        fi
    done
fi

echo "suites: $passed passed, $failed failed"
exit "$status"
