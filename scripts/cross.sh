#!/usr/bin/env bash
# Cross builds of linebeat for the boards it runs on, with Debian's cross
# compilers, and its tests under qemu user-mode emulation.
#
# Usage: scripts/cross.sh ARCH [--test] [--e2e] [--deps-only]
#   ARCH         arm64 (64-bit ARM, aarch64) or armhf (32-bit ARMv7, hard float)
#   --test       run the unit tests (ctest -L unit) under qemu-<arch>-static
#   --e2e        run tests/integration/test_e2e_basic.py with the cross-built
#                agent under qemu, against the host build's simulator, server
#                and a real Mosquitto (needs the host build in build/, or
#                LB_HOST_BUILD)
#   --deps-only  install the cross tools and make the sysroot, build nothing
#
# What it makes, all under build-cross/ (ignored by git):
#   sysroot-ARCH/  the target's -dev packages and their libraries, extracted
#                  from Debian's .debs with dpkg-deb -x (see
#                  cmake/toolchain-cross-common.cmake for why not multiarch)
#   apt-ARCH/      a private apt state for that architecture: package lists
#                  and downloaded .debs; the host's dpkg is never told about
#                  a foreign architecture
#   ARCH/          the CMake build (cmake/toolchain-ARCH.cmake)
#
# The host tools (gcc-<triplet>, qemu-user-static) are installed with apt-get
# when run as root; otherwise the script prints the command and exits 3, which
# scripts/test.sh reports as a skipped stage.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

arch=${1:-}
shift || true
run_tests=0 run_e2e=0 deps_only=0
for opt in "$@"; do
    case $opt in
    --test) run_tests=1 ;;
    --e2e) run_e2e=1 ;;
    --deps-only) deps_only=1 ;;
    *) echo "cross.sh: unknown option $opt" >&2; exit 2 ;;
    esac
done
case $arch in
arm64) triplet=aarch64-linux-gnu qemu=qemu-aarch64-static ;;
armhf) triplet=arm-linux-gnueabihf qemu=qemu-arm-static ;;
*)
    sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac

jobs=${LB_JOBS:-2}
top=$src/build-cross
sysroot=$top/sysroot-$arch
aptdir=$top/apt-$arch
bdir=$top/$arch
host_build=${LB_HOST_BUILD:-$src/build}

# The target's packages: what CMakeLists.txt finds, plus libc6-dev.  apt
# resolves their dependencies (libssl3, libgnutls30 for libmicrohttpd, ...).
target_pkgs=(libc6-dev libmodbus-dev libpaho-mqtt-dev libssl-dev libsqlite3-dev
             libmicrohttpd-dev libjansson-dev libinih-dev libsodium-dev libevdev-dev
             libcmocka-dev)

say() { echo "cross.sh[$arch]: $*"; }

# --- host tools -----------------------------------------------------------
host_tools() {
    local need=()
    command -v "$triplet-gcc" >/dev/null || need+=("gcc-$triplet")
    [ -d "/usr/$triplet/include" ] || need+=("libc6-dev-$arch-cross")
    command -v "$qemu" >/dev/null || need+=(qemu-user-static)
    command -v dpkg-deb >/dev/null || need+=(dpkg)
    command -v cmake >/dev/null || need+=(cmake)
    command -v pkg-config >/dev/null || need+=(pkgconf)
    command -v file >/dev/null || need+=(file)
    [ ${#need[@]} -eq 0 ] && return 0
    local cmd="apt-get install -y --no-install-recommends ${need[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        say "needs these packages; run as root: apt-get update && $cmd" >&2
        exit 3
    fi
    say "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${need[@]}" >/dev/null || {
        apt-get update -qq || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${need[@]}" >/dev/null
    }
}

# --- sysroot --------------------------------------------------------------
# apt with its own state: the target architecture only, the host's sources,
# an empty dpkg status (so every dependency is downloaded), and nothing
# written outside $aptdir.
apt_target() {
    apt-get -q -o APT::Architecture="$arch" -o APT::Architectures::="$arch" \
        -o Dir::State="$aptdir/state" -o Dir::State::Lists="$aptdir/lists" \
        -o Dir::State::status="$aptdir/status" -o Dir::Cache="$aptdir/cache" \
        -o Debug::NoLocking=1 -o APT::Sandbox::User=root \
        -o APT::Install-Recommends=false "$@"
}

make_sysroot() {
    local stamp="$sysroot/.linebeat-sysroot" want
    want="$arch ${target_pkgs[*]} v1"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    say "making the sysroot in $sysroot"
    rm -rf "$sysroot" "$aptdir/cache/archives"
    mkdir -p "$aptdir/state" "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
    : >"$aptdir/status"
    # A mirror that is mid-sync for one index makes apt-get update exit 100
    # while the others are fine: go on when the main index arrived.
    if ! apt_target update >"$aptdir/update.log" 2>&1; then
        if ls "$aptdir/lists/"*"_dists_bookworm_main_binary-${arch}_Packages"* >/dev/null 2>&1 ||
            ls "$aptdir/lists/"*"main_binary-${arch}_Packages"* >/dev/null 2>&1; then
            say "warning: some $arch package lists did not download (see $aptdir/update.log);"
            say "         the sysroot uses the versions that did"
        else
            cat "$aptdir/update.log" >&2
            say "cannot read the $arch package lists"
            exit 1
        fi
    fi
    apt_target install -y -d "${target_pkgs[@]}" >"$aptdir/download.log" 2>&1 || {
        tail -20 "$aptdir/download.log" >&2
        say "cannot download the $arch packages"
        exit 1
    }
    mkdir -p "$sysroot"
    local deb n=0
    for deb in "$aptdir/cache/archives/"*.deb; do
        dpkg-deb -x "$deb" "$sysroot"
        n=$((n + 1))
    done
    # Debian links across top-level folders with absolute targets
    # (/usr/lib/<triplet>/libm.so -> /lib/<triplet>/libm.so.6): point them
    # inside the sysroot, for the linker and for qemu's -L.
    local link target
    while IFS= read -r -d '' link; do
        target=$(readlink "$link")
        ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$sysroot$target")" "$link"
    done < <(find "$sysroot" -type l -lname '/*' -print0)
    echo "$want" >"$stamp"
    say "sysroot: $n packages, $(du -sh "$sysroot" | cut -f1)"
}

# --- build ----------------------------------------------------------------
build_cross() {
    local t0=$SECONDS
    cmake -S "$src" -B "$bdir" -DCMAKE_TOOLCHAIN_FILE="$src/cmake/toolchain-$arch.cmake" \
        -DLB_SYSROOT="$sysroot" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLB_WERROR=ON \
        -DLB_TESTS=ON >"$top/configure-$arch.log" 2>&1 || {
        cat "$top/configure-$arch.log" >&2
        exit 1
    }
    cmake --build "$bdir" -j "$jobs" >"$top/build-$arch.log" 2>&1 || {
        grep -E 'error|warning' "$top/build-$arch.log" | head -40 >&2
        tail -20 "$top/build-$arch.log" >&2
        say "build FAILED (full log: $top/build-$arch.log)"
        exit 1
    }
    say "built in $((SECONDS - t0)) s: $(file -b "$bdir/agent/linebeat-agent" | cut -d, -f1-2)"
}

# --- tests under emulation ------------------------------------------------
# Tests that cannot pass under qemu user-mode emulation, whatever the code:
#   test_scanner  qemu does not translate the evdev ioctls (EVIOCG*) and
#                 answers ENOSYS where a kernel answers ENOTTY for a tty.
# LB_CROSS_EXCLUDE replaces the list (a ctest -E regex; empty: none).
emulation_exclude=${LB_CROSS_EXCLUDE-^test_scanner\$}

unit_tests() {
    local t0=$SECONDS rc=0
    say "unit tests under $qemu${emulation_exclude:+ (not: $emulation_exclude)}"
    ctest --test-dir "$bdir" -L unit --output-on-failure -j "$jobs" \
        ${emulation_exclude:+-E "$emulation_exclude"} || rc=1
    say "unit tests took $((SECONDS - t0)) s"
    return "$rc"
}

e2e_test() {
    local t0=$SECONDS rc=0
    [ -x "$host_build/devices/sim/linebeat-sim" ] && [ -x "$host_build/server/linebeat-server" ] || {
        say "the end-to-end test needs the host build in $host_build (scripts/test.sh makes it)"
        exit 1
    }
    say "end-to-end: $arch agent under $qemu, host simulator, server and Mosquitto"
    LB_BUILD_DIR=$host_build LB_AGENT_BUILD_DIR=$bdir \
        LB_AGENT_WRAPPER="$(command -v "$qemu") -L $sysroot" PYTHONDONTWRITEBYTECODE=1 \
        timeout 300 python3 "$src/tests/integration/test_e2e_basic.py" || rc=1
    say "end-to-end took $((SECONDS - t0)) s"
    return "$rc"
}

host_tools
make_sysroot
[ "$deps_only" -eq 1 ] && exit 0
build_cross
status=0
if [ "$run_tests" -eq 1 ]; then unit_tests || status=1; fi
if [ "$run_e2e" -eq 1 ]; then e2e_test || status=1; fi
exit "$status"
