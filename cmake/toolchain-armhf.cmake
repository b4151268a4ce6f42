# Cross build for 32-bit ARM with hardware floating point (ARMv7: Raspberry
# Pi 2 and later with a 32-bit OS) with Debian's gcc-arm-linux-gnueabihf.
# Debian 12's armhf has a 32-bit time_t and off_t by default; the project's
# CMakeLists.txt asks for the 64-bit ones on every 32-bit target.  Used by
# scripts/cross.sh armhf; by hand:
#   cmake -S . -B build-cross/armhf -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-armhf.cmake
set(LB_CROSS_ARCH armhf)
set(LB_CROSS_TRIPLET arm-linux-gnueabihf)
set(LB_CROSS_PROCESSOR armv7l)
set(LB_CROSS_QEMU qemu-arm-static)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-cross-common.cmake)
