#!/usr/bin/env bash
# Installs the Debian 12 packages suanli needs to build and test. Does nothing
# when they are all present; otherwise runs apt-get (as root, or through sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libpcre2-dev            # tokenizer pre-tokenizer regexes (Unicode classes)
  libgtest-dev libgmock-dev nlohmann-json3-dev   # tests
  clang libclang-rt-14-dev                       # fuzzers (libFuzzer) and sanitizers
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
