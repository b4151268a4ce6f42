# Cross build for 64-bit ARM (aarch64: Raspberry Pi 3, 4, 5 with a 64-bit
# OS) with Debian's gcc-aarch64-linux-gnu.  Used by scripts/cross.sh arm64;
# by hand:
#   cmake -S . -B build-cross/arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm64.cmake
set(LB_CROSS_ARCH arm64)
set(LB_CROSS_TRIPLET aarch64-linux-gnu)
set(LB_CROSS_PROCESSOR aarch64)
set(LB_CROSS_QEMU qemu-aarch64-static)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-cross-common.cmake)
