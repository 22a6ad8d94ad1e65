#!/usr/bin/env bash
# suanli against llama.cpp on the same machine, in the same run: synthetic models with real
# shapes, each test run by both engines alternately (A B A B ...), medians and their ratio.
#
#   bash bench/compare.sh                       # TinyLlama shape; F16, Q8_0, Q4_0, Q4_K_M; pp512, tg128
#   THREADS=1 ROUNDS=3 TYPES="f16 q4_0" bash bench/compare.sh
#   bash bench/compare.sh --layers 2 -p 64 -n 16 --rounds 1      # a quick smoke test
#
# Settings (flag, or environment variable):
#   --threads N   THREADS  threads for both engines (default 2: this machine's physical cores)
#   --rounds R    ROUNDS   alternating rounds; each round runs each engine once per test (default 5)
#   --types "..." TYPES    weight types: f16 f32 bf16 q8_0 q4_0 q4_k_m q4_k_s q5_k_m q6_k ... (default "f16 q8_0 q4_0 q4_k_m")
#   --shapes "..." SHAPES  suanli synth shapes: tinyllama llama3.2-1b qwen2.5-0.5b (default tinyllama)
#   --layers N    LAYERS   override the layer count (smaller, faster models; default: the shape's)
#   -p N          P        prompt tokens in one batch (pp test; 0 skips; default 512)
#   -n N          N        tokens generated one at a time (tg test; 0 skips; default 128)
#   -d N          DEPTH    tokens already in the context when each test starts (untimed; default 0)
#   --backend B   BACKEND  suanli backend (default: cpu if `suanli backends` lists it, else reference)
#   --build DIR   BUILD    suanli build folder (default build-bench); SKIP_BUILD=1 uses it as is
#   --flash-attn  FLASH_ATTN=1  let llama.cpp use flash attention (default off, like llama-bench's -fa 0)
#
# Outputs: models in bench/models/ (kept and reused), the table on stdout, every sample with the
# settings and load average in bench/results/<UTC date-time>.json. Needs node >= 20 and npm (the
# first run installs node-llama-cpp into bench/node_modules from the npm registry).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"

THREADS="${THREADS:-2}"
ROUNDS="${ROUNDS:-5}"
TYPES="${TYPES:-f16 q8_0 q4_0 q4_k_m}"
SHAPES="${SHAPES:-tinyllama}"
LAYERS="${LAYERS:-}"
P="${P:-512}"
N="${N:-128}"
DEPTH="${DEPTH:-0}"
BACKEND="${BACKEND:-}"
BUILD="${BUILD:-$ROOT/build-bench}"
SKIP_BUILD="${SKIP_BUILD:-0}"
FLASH_ATTN="${FLASH_ATTN:-0}"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --threads) THREADS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --types) TYPES="$2"; shift 2 ;;
        --shapes) SHAPES="$2"; shift 2 ;;
        --layers) LAYERS="$2"; shift 2 ;;
        -p) P="$2"; shift 2 ;;
        -n) N="$2"; shift 2 ;;
        -d) DEPTH="$2"; shift 2 ;;
        --backend) BACKEND="$2"; shift 2 ;;
        --build) BUILD="$2"; shift 2 ;;
        --flash-attn) FLASH_ATTN=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
for v in THREADS ROUNDS P N DEPTH; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "compare.sh: $v must be a non-negative integer, got '${!v}'" >&2; exit 2; }
done
[[ "$THREADS" -ge 1 && "$ROUNDS" -ge 1 ]] || { echo "compare.sh: THREADS and ROUNDS must be at least 1" >&2; exit 2; }
[[ -z "$LAYERS" || "$LAYERS" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: LAYERS must be a positive integer" >&2; exit 2; }

log() { echo "[compare] $*" >&2; }

# (a) suanli, built if needed (ninja does nothing when it is up to date).
SUANLI="$BUILD/suanli"
if [[ "$SKIP_BUILD" != 1 ]]; then
    if [[ ! -f "$BUILD/build.ninja" && ! -f "$BUILD/Makefile" ]]; then
        log "configuring $BUILD"
        cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
    fi
    log "building suanli in $BUILD"
    cmake --build "$BUILD" --target suanli -j"$(nproc)" >&2
fi
[[ -x "$SUANLI" ]] || { echo "compare.sh: no $SUANLI" >&2; exit 1; }
"$SUANLI" synth --help >/dev/null 2>&1 || { echo "compare.sh: $SUANLI has no 'synth' command; rebuild it" >&2; exit 1; }

if [[ -z "$BACKEND" ]]; then
    if "$SUANLI" backends 2>/dev/null | grep -q '^cpu\b'; then BACKEND=cpu; else BACKEND=reference; fi
fi
log "suanli backend: $BACKEND"

# (c) llama.cpp through node-llama-cpp's prebuilt CPU binaries.
if [[ ! -d "$BENCH_DIR/node_modules/node-llama-cpp" ]]; then
    command -v npm >/dev/null || { echo "compare.sh: npm is needed for the llama.cpp side" >&2; exit 1; }
    log "installing node-llama-cpp into bench/node_modules"
    # The versions in bench/package-lock.json; only the Linux x64 CPU binaries (package.json names
    # them; the GPU and other platforms' builds are optional dependencies, left out). `npm ci` would
    # refuse: the lock file lacks the optional packages of other platforms. The postinstall script
    # is not needed with build: "never".
    (cd "$BENCH_DIR" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true \
        npm install --omit=optional --ignore-scripts --no-audit --no-fund >&2)
fi

# (b) the models: F16 from `suanli synth`, the other types from `suanli quantize`.
MODELS_DIR="$BENCH_DIR/models"
mkdir -p "$MODELS_DIR"
have_quantize=1
"$SUANLI" quantize --help >/dev/null 2>&1 || have_quantize=0
declare -a RUNS=()  # "shape type path"
for shape in $SHAPES; do
    base="$shape${LAYERS:+-L$LAYERS}"
    f16="$MODELS_DIR/$base-f16.gguf"
    for type in $TYPES; do
        type="${type,,}"
        path="$MODELS_DIR/$base-$type.gguf"
        if [[ ! -f "$path" ]]; then
            case "$type" in
                f16|f32|bf16)
                    log "writing $path"
                    "$SUANLI" synth --shape "$shape" ${LAYERS:+--layers "$LAYERS"} --type "$type" -o "$path" >&2 ;;
                *)
                    if [[ "$have_quantize" != 1 ]]; then
                        log "skipping $type: this suanli has no 'quantize' command yet"
                        continue
                    fi
                    if [[ ! -f "$f16" ]]; then
                        log "writing $f16 (to quantize from)"
                        "$SUANLI" synth --shape "$shape" ${LAYERS:+--layers "$LAYERS"} --type f16 -o "$f16" >&2
                    fi
                    log "quantizing $path"
                    if ! "$SUANLI" quantize -t "$THREADS" "$f16" "$path" "${type^^}" >&2; then
                        log "skipping $type: suanli quantize failed"
                        rm -f "$path"
                        continue
                    fi ;;
            esac
        fi
        RUNS+=("$shape $type $path")
    done
done
[[ ${#RUNS[@]} -gt 0 ]] || { echo "compare.sh: no models to run" >&2; exit 1; }

# (d) alternate the engines, round by round, and collect every sample.
mkdir -p "$BENCH_DIR/results"
STAMP="$(date -u +%Y-%m-%dT%H-%M-%SZ)"
SAMPLES="$(mktemp "${TMPDIR:-/tmp}/suanli-compare.XXXXXX")"
trap 'rm -f "$SAMPLES" "$SAMPLES.out" "$SAMPLES.err"' EXIT
LLAMA_FLAGS=()
[[ "$FLASH_ATTN" == 1 ]] && LLAMA_FLAGS+=(--flash-attn)

# Runs one engine once (the command after the tags) and appends each element of the JSON array
# it prints, tagged, to $SAMPLES; a failure is logged and recorded, and the comparison goes on
# (a backend may not support every weight type yet).
run_engine() {  # engine round shape type command...
    local engine="$1" round="$2" shape="$3" type="$4"
    shift 4
    log "$shape $type round $round/$ROUNDS: $engine"
    local error=""
    if ! "$@" > "$SAMPLES.out" 2> "$SAMPLES.err"; then
        error="$(grep -v '^\s*$' "$SAMPLES.err" | tail -n 1)"
        log "$engine failed on $shape $type: $error"
        : > "$SAMPLES.out"
    fi
    node -e '
        const [engine, round, shape, type, file, error] = process.argv.slice(1);
        const fs = require("fs");
        const text = fs.readFileSync(file, "utf8");
        if (error || !text.trim()) {
            console.log(JSON.stringify({engine, round: Number(round), shape, type, error: error || "no output"}));
        } else {
            for (const result of JSON.parse(text))
                console.log(JSON.stringify({engine, round: Number(round), shape, type, result}));
        }
    ' "$engine" "$round" "$shape" "$type" "$SAMPLES.out" "$error" >> "$SAMPLES"
}

log "threads $THREADS, rounds $ROUNDS, pp$P tg$N at depth $DEPTH, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in "${RUNS[@]}"; do
    read -r shape type path <<< "$run"
    for ((round = 1; round <= ROUNDS; ++round)); do
        run_engine suanli "$round" "$shape" "$type" \
            "$SUANLI" bench -m "$path" -p "$P" -n "$N" -d "$DEPTH" -t "$THREADS" -r 1 --backend "$BACKEND" --json
        run_engine llama.cpp "$round" "$shape" "$type" \
            node "$BENCH_DIR/llama_cpp_bench.mjs" -m "$path" -p "$P" -n "$N" -d "$DEPTH" -t "$THREADS" -r 1 "${LLAMA_FLAGS[@]}"
    done
done

META="{\"threads\": $THREADS, \"rounds\": $ROUNDS, \"n_prompt\": $P, \"n_gen\": $N, \"n_depth\": $DEPTH, \"backend\": \"$BACKEND\", \"layers\": \"${LAYERS}\", \"flash_attn\": $FLASH_ATTN, \"suanli\": \"$SUANLI\", \"load_average_end\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
echo
echo "suanli ($BACKEND) vs llama.cpp (node-llama-cpp 3.22.1, CPU), $THREADS threads, medians of $ROUNDS alternating rounds"
echo
node "$BENCH_DIR/summarize.mjs" "$SAMPLES" "$BENCH_DIR/results/$STAMP.json" "$META"
