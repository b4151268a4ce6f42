#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite through ctest:
# unit tests (cmocka) and integration tests (each starts its own Mosquitto,
# simulators, agent and server on loopback ports chosen at run time), first
# in a normal build, then under AddressSanitizer + UndefinedBehaviorSanitizer,
# then a short run of every fuzz target, then cross builds for arm64 and
# armhf tested under qemu (scripts/cross.sh), and the Debian packages of the
# three architectures installed, run and purged in Debian 12 chroots (and
# booted with systemd for amd64; scripts/package.sh --chroot-test); ctest's
# package_install already installed, upgraded and purged the amd64 ones on
# this machine.  Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

scripts/deps.sh --browser
# The browser tests' one npm package (playwright-core, pinned exactly in
# tests/browser/package-lock.json) goes into tests/browser/node_modules;
# without Node.js, Chromium or that package the browser tests skip (77).
if command -v npm >/dev/null; then
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
        echo "npm ci in tests/browser failed: the browser tests will be skipped"
fi
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
echo "== tests under ASan + UBSan (the slow outage and the browser tests ran above)"
suite sanitizers env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE "slow|browser"

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

# The boards' architectures: cross builds with Debian's cross compilers, the
# unit tests and the end-to-end test (cross-built agent, host simulators,
# server and Mosquitto) under qemu user-mode emulation, so that a bug that
# shows only on 32-bit ARM (time_t, 64-bit counters) fails here.
# LB_CROSS=0 skips the stage; scripts/cross.sh exits 3 when it cannot
# install its tools (not root).
if [ "${LB_CROSS:-1}" != 0 ]; then
    for arch in arm64 armhf; do
        echo "== cross build for $arch; unit and end-to-end tests under qemu"
        rc=0
        scripts/cross.sh "$arch" --test --e2e || rc=$?
        case $rc in
        0) passed=$((passed + 1)) ;;
        3) echo "cross-$arch: stage skipped (cross tools missing, and not root to install them)" ;;
        *) failed=$((failed + 1)); status=1; echo "suite cross-$arch FAILED" ;;
        esac
    done
else
    echo "== cross builds skipped (LB_CROSS=0)"
fi

# The packages of the three architectures in a fresh Debian 12 chroot made
# with debootstrap: apt resolves their dependencies from the mirror, the
# programs run (under qemu for arm64 and armhf) as their service users, the
# amd64 chroot boots with systemd to see both units start, and a purge must
# leave the chroot exactly as before.  Root only; LB_PACKAGE_CHROOT=0 skips.
if [ "${LB_PACKAGE_CHROOT:-1}" != 0 ] && [ "$(id -u)" -eq 0 ]; then
    for arch in amd64 arm64 armhf; do
        echo "== Debian packages for $arch in a chroot"
        args=("$arch" --chroot-test)
        [ "$arch" = "$(dpkg --print-architecture)" ] && args+=(--build-dir build)
        if [ "$arch" != "$(dpkg --print-architecture)" ] && [ "${LB_CROSS:-1}" = 0 ]; then
            echo "packages-$arch: skipped with the cross builds"
            continue
        fi
        suite "packages-$arch" scripts/package.sh "${args[@]}"
    done
else
    echo "== package chroot tests skipped (not root, or LB_PACKAGE_CHROOT=0)"
fi

echo "suites: $passed passed, $failed failed"
exit "$status"
