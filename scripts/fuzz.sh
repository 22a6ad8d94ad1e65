#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz and runs each for a while.
#
#   scripts/fuzz.sh [SECONDS]       default: $FUZZ_SECONDS, else 60
#   FUZZERS="gguf_fuzz" scripts/fuzz.sh
#
# Seeds: gguf_fuzz starts from the .gguf files in ../shared/vocab, ../shared/models
# and models/ (each cut to its first 64 KiB: enough for the header, metadata and
# tensor infos of the small ones); other fuzzers from fuzz/corpus/<name>/ if it
# exists. New corpus entries go to a temporary directory; crashes are kept in
# build-fuzz/findings/<name>/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-${FUZZ_SECONDS:-60}}
read -ra fuzzers <<<"${FUZZERS:-gguf_fuzz chat_template_fuzz safetensors_fuzz http_request_fuzzer completion_request_fuzzer}"
build="$root/build-fuzz"
shared="$root/../shared"

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSUANLI_FUZZ=ON -DSUANLI_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target "${fuzzers[@]}" -j "$(nproc)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Little-endian integers and GGUF strings, for the hand-made seed below.
le() { local v=$1 n=$2 i; for ((i = 0; i < n; i++)); do printf '%b' "\\x$(printf %02x $(((v >> (8 * i)) & 255)))"; done; }
gstr() { le ${#1} 8; printf '%s' "$1"; }

# A complete tiny file that parses, so the fuzzer starts with the paths past
# validation: two kvs (one an array), an F32 tensor and a Q8_0 tensor.
tiny_gguf() {
  local out=$1
  {
    printf GGUF; le 3 4; le 2 8; le 2 8
    gstr general.architecture; le 8 4; gstr llama
    gstr a.ids; le 9 4; le 5 4; le 3 8; le 1 4; le 2 4; le 3 4
    gstr t; le 1 4; le 8 8; le 0 4; le 0 8
    gstr q; le 2 4; le 32 8; le 1 8; le 8 4; le 32 8
  } >"$out"
  local size
  size=$(wc -c <"$out")
  { head -c $(((32 - size % 32) % 32)) /dev/zero; head -c 66 /dev/urandom; } >>"$out"
}

status=0
for name in "${fuzzers[@]}"; do
  corpus="$work/$name"
  mkdir -p "$corpus" "$build/findings/$name"
  if [[ $name == gguf_fuzz ]]; then
    for f in "$shared"/vocab/*.gguf "$shared"/models/*.gguf "$root"/models/*.gguf; do
      [[ -f $f ]] || continue
      head -c 65536 "$f" >"$corpus/$(basename "$f")"
      # The same with no tensors: a complete file when the metadata fits in 64 KiB
      # (stories260K), which reaches the code past validation.
      { head -c 8 "$f"; le 0 8; head -c 65536 "$f" | tail -c +17; } >"$corpus/notensors-$(basename "$f")"
    done
    tiny_gguf "$corpus/tiny.gguf"
  fi
  # chat_template_fuzz starts from the real chat templates in tests/chat/templates.
  if [[ $name == chat_template_fuzz ]]; then cp "$root"/tests/chat/templates/*.jinja "$corpus"/; fi
  if [[ -d "$root/fuzz/corpus/$name" ]]; then cp "$root/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null || true; fi

  echo "== $name: ${seconds}s from $(find "$corpus" -type f | wc -l) seeds"
  log="$build/findings/$name/last-run.log"
  if "$build/fuzz/$name" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/findings/$name/" >"$log" 2>&1; then
    echo "== $name: $(grep -o 'Done [0-9]* runs' "$log" || echo done), no finding"
  else
    tail -n 60 "$log" >&2
    echo "== $name: FINDING, see $build/findings/$name/" >&2
    status=1
  fi
done
exit $status
