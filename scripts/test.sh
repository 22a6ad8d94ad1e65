#!/usr/bin/env bash
# The whole test suite: a Release build with every CTest test, then the parser and
# unit tests under AddressSanitizer + UBSan, then a short libFuzzer run per parser.
# Ends with one line: "tests: N passed, M failed".
#   SUANLI_TEST_QUICK=1  only the Release tests
#   FUZZ_SECONDS=N       seconds per fuzzer (default 20)
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
jobs=$(nproc)
passed=0
failed=0

# Runs ctest in build dir $1 with extra arguments; adds its counts to the totals.
run_ctest() {
  local dir=$1 log
  shift
  log=$(mktemp)
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" "$@" | tee "$log"
  local total fails
  total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -n1)
  fails=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -n1)
  rm -f "$log"
  if [ -z "$total" ]; then failed=$((failed + 1)); return; fi
  passed=$((passed + total - fails))
  failed=$((failed + fails))
}

finish() {
  echo "tests: $passed passed, $failed failed"
  [ "$failed" -eq 0 ] && exit 0 || exit 1
}

echo "== Release build and tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null &&
  cmake --build build -j"$jobs" || { failed=$((failed + 1)); finish; }
run_ctest build

echo "== Conformance of every built-in backend"
for backend in $(build/suanli backends --format json | grep -v '"devices": \[\]' | sed -n 's/.*"name": *"\([a-z0-9_-]*\)".*"abi_version".*/\1/p'); do
  if build/suanli conformance --backend "$backend"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done

[ "${SUANLI_TEST_QUICK:-0}" = 1 ] && finish

echo "== AArch64: cross build, NEON kernels under qemu (both tables)"
if bash scripts/arm64.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo "== AddressSanitizer + UBSan: parser and unit tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSUANLI_SANITIZE=address,undefined \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null &&
  cmake --build build-asan -j"$jobs" || { failed=$((failed + 1)); finish; }
run_ctest build-asan -L unit

echo "== Fuzzing the parsers (${FUZZ_SECONDS:-20} s each)"
if FUZZ_SECONDS="${FUZZ_SECONDS:-20}" bash scripts/fuzz.sh; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi
finish
