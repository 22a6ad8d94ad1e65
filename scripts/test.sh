#!/usr/bin/env bash
# The whole test suite: a Release build with every CTest test, then the parsers'
# tests under AddressSanitizer + UBSan, then a short libFuzzer run per parser.
#   SUANLI_TEST_QUICK=1  only the Release tests
#   FUZZ_SECONDS=N       seconds per fuzzer (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)

echo "== Release build and tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

[ "${SUANLI_TEST_QUICK:-0}" = 1 ] && exit 0

echo "== AddressSanitizer + UBSan: parser and unit tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSUANLI_SANITIZE=address,undefined \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null
cmake --build build-asan -j"$jobs"
ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit

echo "== Fuzzing the parsers (${FUZZ_SECONDS:-20} s each)"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}" bash scripts/fuzz.sh
