# Cross build for 64-bit Arm Linux with Debian's cross compiler (g++-aarch64-linux-gnu)
# and arm64 multiarch packages (libpcre2-dev:arm64); binaries run under qemu-user.
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
# scripts/arm64.sh installs all of it, builds, and checks both NEON kernel tables.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Multiarch: arm64 libraries live in /usr/lib/aarch64-linux-gnu next to the
# host's, headers in /usr/include are shared; CMake searches the arch's folder.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# pkg-config (PCRE2) reads the arm64 .pc files only.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)

# CTest, gtest_discover_tests and custom commands run target binaries through qemu.
# The loader (-L) and libc/libstdc++ must come from one glibc build: the cross
# sysroot's. Without LD_LIBRARY_PATH the host's ld.so.cache sends that loader to
# the multiarch libc6:arm64 (another Debian revision), and pthread_create hangs.
set(CMAKE_CROSSCOMPILING_EMULATOR
    "qemu-aarch64;-L;/usr/aarch64-linux-gnu;-E;LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib")
