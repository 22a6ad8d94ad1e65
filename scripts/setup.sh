#!/usr/bin/env bash
# Installs the Debian 12 packages suanli needs to build and test, and the npm packages of the
# server's end-to-end tests (tests/server/js). Does nothing when they are all present; otherwise
# runs apt-get (as root, or through sudo) and `npm ci`.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libpcre2-dev            # tokenizer pre-tokenizer regexes (Unicode classes)
  libgtest-dev libgmock-dev nlohmann-json3-dev   # tests
  clang libclang-rt-14-dev                       # fuzzers (libFuzzer) and sanitizers
  libvulkan-dev glslc mesa-vulkan-drivers        # Vulkan backend (lavapipe runs it without a GPU)
  nodejs chromium         # server tests: the openai npm client, the web page in headless Chromium
)
# npm only where the command is missing: nodesource's nodejs ships npm, and Debian's npm
# package conflicts with it.
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The server tests' npm packages, exactly as package-lock.json pins them; again when the lock
# file is newer than the installed tree (npm ci writes node_modules/.package-lock.json).
js="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/server/js"
if [ ! -f "$js/node_modules/.package-lock.json" ] || [ "$js/package-lock.json" -nt "$js/node_modules/.package-lock.json" ]; then
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "$node_major" -ge 20 ] || echo "setup: the server tests need Node.js 20 or newer (found ${node_major}); Debian 12's is 18" >&2
  echo "setup: npm ci in tests/server/js" >&2
  (cd "$js" && npm ci --no-audit --no-fund --loglevel=error)
fi
