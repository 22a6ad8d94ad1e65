#!/usr/bin/env bash
# Serving benchmark: starts `suanli serve` on a free loopback port, runs bench/serve/load.mjs
# against it (1, 4, 16 and 64 concurrent streaming clients, 64 tokens per request, a fresh
# connection per request), stops the server.
#
#   bench/serve/run.sh                         # the bundled stories260K
#   bench/serve/run.sh -m tinyllama            # TinyLlama-1.1B-shaped Q4_0 synthetic model
#   bench/serve/run.sh -m path/to/model.gguf -t 2 -- --concurrency 16 --json
#
# Options (before --):
#   -m MODEL        a GGUF file, or `tinyllama`: bench/models/tinyllama-q4_0.gguf, written with
#                   `suanli synth --shape tinyllama --type f16` and `suanli quantize ... Q4_0` when missing
#   -t N            server threads (default 2)
#   -p N            --parallel of the server (default 64: every client of the largest level in the batch)
#   -s "ARGS"       more `suanli serve` arguments, e.g. -s "--ctx-size 512 --batch 256"
# After --: load.mjs options (node bench/serve/load.mjs --help).
# Environment: SUANLI (the binary, default build/suanli).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SUANLI="${SUANLI:-$root/build/suanli}"
model="$root/models/stories260K.gguf"
threads=2
parallel=64
serve_args=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -m) model="$2"; shift 2 ;;
    -t) threads="$2"; shift 2 ;;
    -p) parallel="$2"; shift 2 ;;
    -s) serve_args="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
log() { echo "run.sh: $*" >&2; }

[[ -x "$SUANLI" ]] || { log "$SUANLI is missing: build it (cmake --build build) or set SUANLI"; exit 1; }
"$SUANLI" serve --help >/dev/null 2>&1 || { log "$SUANLI has no 'serve' command; rebuild it"; exit 1; }

if [[ "$model" == tinyllama ]]; then
  model="$root/bench/models/tinyllama-q4_0.gguf"
  if [[ ! -f "$model" ]]; then
    mkdir -p "$root/bench/models"
    f16="$root/bench/models/tinyllama-f16.gguf"
    [[ -f "$f16" ]] || { log "writing $f16 (2.2 GB, random weights)"; "$SUANLI" synth --shape tinyllama --type f16 -o "$f16" >&2; }
    log "quantizing to $model"
    "$SUANLI" quantize -t "$threads" "$f16" "$model" Q4_0 >&2
  fi
fi
[[ -f "$model" || -d "$model" ]] || { log "no model at $model"; exit 1; }

work="$(mktemp -d)"
server_pid=""
stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" || log "the server exited with status $? (see $work/serve.log)"
  fi
}
trap 'stop_server; rm -rf "$work"' EXIT

# shellcheck disable=SC2086  # serve_args is a list of words
"$SUANLI" serve -m "$model" --host 127.0.0.1 --port 0 -t "$threads" --parallel "$parallel" $serve_args \
  >"$work/serve.out" 2>"$work/serve.log" &
server_pid=$!

url=""
for _ in $(seq 600); do   # up to 60 s to load the model
  url="$(sed -n 's/^suanli serve: listening on \(http:[^ ]*\)$/\1/p' "$work/serve.out")"
  [[ -n "$url" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { log "the server exited:"; cat "$work/serve.log" >&2; server_pid=""; exit 1; }
  sleep 0.1
done
[[ -n "$url" ]] || { log "the server did not start listening within 60 s:"; tail -20 "$work/serve.log" >&2; exit 1; }
log "$(grep -m1 '^serve: .*requests at once' "$work/serve.log" || true)"
log "serving $(basename "$model") at $url, $threads threads, --parallel $parallel $serve_args"

node "$root/bench/serve/load.mjs" --url "$url" "$@"
