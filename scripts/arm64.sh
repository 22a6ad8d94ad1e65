#!/usr/bin/env bash
# The AArch64 (64-bit Arm) build, checked under qemu-user: installs the cross
# compiler, qemu and the arm64 libraries when missing, cross-builds `suanli` and
# the cpu backend tests into build-arm64 (Release), then, for both NEON kernel
# tables (baseline NEON on a Cortex-A53, which has no dot product instructions,
# and dotprod on qemu's "max" CPU):
#   - `suanli backends` reports that table,
#   - `suanli conformance --backend cpu` passes (every op and the models),
#   - cpu_backend_test passes (every weight type against the reference and the
#     scalar path, quantized weights bit for bit), and cpu_golden_test (llama.cpp's
#     greedy tokens on the shared models),
#   - `suanli run --temp 0` prints the x86 build's text (F32, Q8_0, Q4_0 weights).
# Ends with one line "arm64: N passed, M failed"; exit code 1 if anything failed.
#   ARM64_BUILD=dir    the cross build folder (default build-arm64)
#   HOST_SUANLI=path   the x86 binary to compare with (default build/suanli, built if missing)
#   ARM64_QUICK=1      skip the two test binaries (the slowest checks under emulation)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${ARM64_BUILD:-build-arm64}
host=${HOST_SUANLI:-build/suanli}
jobs=$(nproc)
passed=0
failed=0

# ---- what is missing: the cross compiler, qemu, the arm64 libraries the build links
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
pkgs=()
command -v aarch64-linux-gnu-g++ >/dev/null || pkgs+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || pkgs+=(qemu-user)
# PCRE2 (the tokenizer's regex) is the one library suanli links; GoogleTest for the tests.
# nlohmann-json and the rest are header-only or part of the tree.
arm_libs=(libpcre2-dev:arm64)
targets=(suanli)
if [ "${ARM64_QUICK:-0}" != 1 ]; then
  arm_libs+=(libgtest-dev:arm64)
  targets+=(cpu_backend_test cpu_golden_test)
fi
for p in "${arm_libs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || pkgs+=("$p")
done
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "== installing ${pkgs[*]}"
  dpkg --print-foreign-architectures | grep -qx arm64 || $sudo dpkg --add-architecture arm64
  $sudo apt-get update -q >/dev/null &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null ||
    { echo "arm64: could not install ${pkgs[*]}"; exit 1; }
fi

# ---- the cross build (and the x86 binary to compare with)
echo "== cross build into $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_DISABLE_FIND_PACKAGE_Vulkan=ON >/dev/null &&
  cmake --build "$build" -j"$jobs" --target "${targets[@]}" ||
  { echo "arm64: 0 passed, 1 failed (build)"; exit 1; }
if [ ! -x "$host" ]; then
  echo "== x86 build of suanli into build (to compare with)"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null &&
    cmake --build build -j"$jobs" --target suanli || { echo "arm64: 0 passed, 1 failed (x86 build)"; exit 1; }
fi

# As CMAKE_CROSSCOMPILING_EMULATOR in the toolchain file: the cross sysroot's
# loader with its own libc (the multiarch libc6:arm64 may be another revision).
qemu=(qemu-aarch64 -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib)
arm=("${qemu[@]}" "$build/suanli")

# check NAME COMMAND...: runs it quietly, counts the result; the output's end on failure.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    echo "ok    $name"
    passed=$((passed + 1))
  else
    printf '%s\n' "$out" | tail -n 40
    echo "FAIL  $name"
    failed=$((failed + 1))
  fi
}

# Quantized copies of the bundled model, so that `run` covers the integer kernels too.
models=$(mktemp -d)
trap 'rm -rf "$models"' EXIT
cp models/stories260K.gguf "$models/F32.gguf"
for t in Q8_0 Q4_0; do "$host" quantize models/stories260K.gguf "$models/$t.gguf" "$t" >/dev/null 2>&1; done

same_text() {  # same_text MODEL: greedy text of the arm build (QEMU_CPU set) = x86's
  local want got
  want=$("$host" run -m "$1" --temp 0 -n 32 --no-echo 2>/dev/null) || return 1
  got=$("${arm[@]}" run -m "$1" --temp 0 -n 32 --no-echo 2>/dev/null) || return 1
  [ -n "$want" ] && [ "$got" = "$want" ] || { printf 'x86: %s\narm: %s\n' "$want" "$got"; return 1; }
}

# cortex-a53: ARMv8.0-A, NEON without dot product; max: every feature qemu has.
for pair in cortex-a53:neon max:dotprod; do
  export QEMU_CPU=${pair%%:*}
  isa=${pair#*:}
  echo "== QEMU_CPU=$QEMU_CPU: the $isa kernels"
  check "backends reports $isa" bash -c '"$@" backends | grep -q "host CPU, '"$isa"' kernels"' _ "${arm[@]}"
  check "conformance --backend cpu ($isa)" "${arm[@]}" conformance --backend cpu
  for m in F32 Q8_0 Q4_0; do check "run --temp 0, $m: same text as x86 ($isa)" same_text "$models/$m.gguf"; done
  if [ "${ARM64_QUICK:-0}" != 1 ]; then
    # Scalar and the table(s) this CPU has; the x86 paths skip themselves.
    for t in cpu_backend_test cpu_golden_test; do
      check "$t ($isa)" "${qemu[@]}" "$build/tests/backends/$t" --gtest_brief=1
    done
  fi
done
unset QEMU_CPU

echo "arm64: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
