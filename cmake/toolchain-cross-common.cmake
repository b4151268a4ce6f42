# Shared part of the cross toolchain files (toolchain-arm64.cmake,
# toolchain-armhf.cmake): Debian's cross gcc, and a sysroot holding the
# target architecture's -dev packages extracted from their .debs by
# scripts/cross.sh.
#
# Why a sysroot and not multiarch -dev packages installed on the host:
# installing libfoo-dev:armhf beside libfoo-dev:amd64 needs both at the very
# same version (Multi-Arch: same), and a mirror that lags for one
# architecture (seen here: bookworm-security armhf) makes apt refuse, or
# offer to remove the host's own -dev packages.  Extracting the .debs into a
# folder under build-cross/ touches nothing on the host.
#
# Input: LB_CROSS_TRIPLET, LB_CROSS_PROCESSOR and LB_CROSS_QEMU, set by the
# including file; LB_SYSROOT (cache or environment variable) to use another
# sysroot than build-cross/sysroot-<arch>.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${LB_CROSS_PROCESSOR})
set(CMAKE_C_COMPILER ${LB_CROSS_TRIPLET}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${LB_CROSS_TRIPLET})

if(NOT LB_SYSROOT)
    if(DEFINED ENV{LB_SYSROOT})
        set(LB_SYSROOT "$ENV{LB_SYSROOT}")
    else()
        get_filename_component(LB_SYSROOT
            "${CMAKE_CURRENT_LIST_DIR}/../build-cross/sysroot-${LB_CROSS_ARCH}" ABSOLUTE)
    endif()
endif()
if(NOT EXISTS "${LB_SYSROOT}/usr/include")
    message(FATAL_ERROR "no sysroot in ${LB_SYSROOT}: run scripts/cross.sh ${LB_CROSS_ARCH}")
endif()
# try_compile() projects read this file again: hand them the same sysroot.
set(CMAKE_TRY_COMPILE_PLATFORM_VARIABLES LB_SYSROOT)

set(CMAKE_SYSROOT "${LB_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${LB_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER) # python3, mosquitto: the host's
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY) # eclipse-paho-mqtt-c's CMake files

# pkg-config sees only the target's .pc files and prefixes their paths with
# the sysroot.
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_LIBDIR}
    "${LB_SYSROOT}/usr/lib/${LB_CROSS_TRIPLET}/pkgconfig:${LB_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${LB_SYSROOT}")

# ctest runs the test executables under qemu user-mode emulation: -L makes
# the program's /lib and /usr/lib (and its dynamic loader) the sysroot's;
# paths absent from the sysroot fall through to the host's.
find_program(LB_QEMU ${LB_CROSS_QEMU})
if(LB_QEMU)
    set(CMAKE_CROSSCOMPILING_EMULATOR "${LB_QEMU};-L;${LB_SYSROOT}")
endif()
