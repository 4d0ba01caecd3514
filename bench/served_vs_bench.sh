#!/usr/bin/env bash
# Served decode ÷ llama-bench decode on a GPU machine with no network, from the repository root.
#
#   bench/served_vs_bench.sh build                # CUDA build + proxy models, skipped if present
#   bench/served_vs_bench.sh measure LABEL MODEL RESULTS_DIR [served_vs_bench.py args...]
#   bench/served_vs_bench.sh instrument | plain   # rebuild llama-server with(out) its DEBUG_TIMINGS
#   bench/served_vs_bench.sh patch-yield          # diagnostic: SPARKOPS_NO_YIELD=1 skips a hand-off
#   bench/served_vs_bench.sh patch-sampler        # the role's sampler patch (SPARKOPS_FAST_TOPK=0: off)
#
# build needs .gpu/llama.cpp-src.tar.gz (the role's default commit) and .gpu/ggml-vocab-*.gguf
# or bench/results/inputs/ggml-vocab-*.gguf; the models are written with that source's own
# gguf-py (it knows MXFP4). Everything it makes goes under $WORK (ignored by git) so that a
# second call on the same machine finds it. MODELS picks the proxies (default: all three).
#
# `instrument` turns on the per-phase timers llama-server carries in its source (DEBUG_TIMINGS
# in tools/server/server-context.cpp: average ms per loop iteration before decode, in decode
# with a synchronize, after decode, and in sampling) and rebuilds llama-server in place: run
# every plain measurement before it.
# On a Spark, skip `build` and call served_vs_bench.py with the installed binaries instead.
set -euo pipefail
WORK=${WORK:-bench/results/device}
ARCHS=${ARCHS:-90-real}
JOBS=${JOBS:-$(nproc)}
SRC_TAR=${SRC_TAR:-.gpu/llama.cpp-src.tar.gz}
MODELS=${MODELS:-spm32k qwen152k oss20b}
BIN=$WORK/build/bin
# The sources the diagnostics below edit (in the unpacked copy under $WORK only).
SERVER_CONTEXT=$WORK/src/tools/server/server-context.cpp
SERVER_QUEUE=$WORK/src/tools/server/server-queue.cpp
COMMON_SAMPLING=$WORK/src/common/sampling.cpp
EDITED_SOURCES=(tools/server/server-context.cpp tools/server/server-queue.cpp common/sampling.cpp)

vocab_file() {
  local source=.gpu/$1
  [ -s "$source" ] || source=bench/results/inputs/$1
  echo "$source"
}

unpack_source() {
  [ -f "$WORK/src/CMakeLists.txt" ] && return
  mkdir -p "$WORK/src"
  tar -xzf "$SRC_TAR" -C "$WORK/src" --strip-components=1
}

make_models() {
  mkdir -p "$WORK/models"
  local make=(env "PYTHONPATH=$WORK/src/gguf-py" python3 bench/make_proxy_model.py)
  # The 3.6B F16 llama of the earlier measurements, and the same shape around a 151,936-token
  # vocabulary: gpt-oss has 201,088 tokens, and CPU sampling work grows with the vocabulary.
  local dense=(--layers 26 --embd 3072 --ff 8192 --heads 24 --kv-heads 8)
  # gpt-oss-20b's shape (24 layers, 32 experts of which 4 per token, MXFP4 experts, sinks,
  # sliding window) with gpt-oss's vocabulary size: the MoE the issue asks for, 12 GB.
  local moe=(--arch gpt-oss --layers 24 --embd 2880 --ff 2880 --heads 64 --kv-heads 8
    --head-dim 64 --experts 32 --experts-used 4 --vocab-size 201088 --context 131072)
  local name
  for name in $MODELS; do
    [ -s "$WORK/models/$name.gguf" ] && continue
    case $name in
    spm32k) args=(--vocab-gguf "$(vocab_file ggml-vocab-llama-spm.gguf)" "${dense[@]}") ;;
    qwen152k) args=(--vocab-gguf "$(vocab_file ggml-vocab-qwen2.gguf)" "${dense[@]}") ;;
    oss20b) args=(--vocab-gguf "$(vocab_file ggml-vocab-qwen2.gguf)" "${moe[@]}") ;;
    *) echo "unknown model $name" >&2 && return 1 ;;
    esac
    "${make[@]}" "${args[@]}" --out "$WORK/models/$name.gguf.part" || return 1
    mv "$WORK/models/$name.gguf.part" "$WORK/models/$name.gguf"
  done
}

build() {
  if [ -x "$BIN/llama-server" ] && [ -x "$BIN/llama-bench" ]; then
    echo "build present"
  else
    local generator=()
    command -v ninja >/dev/null && generator=(-G Ninja)
    cmake "${generator[@]}" -S "$WORK/src" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release \
      -DGGML_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=$ARCHS" -DLLAMA_CURL=OFF \
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_USE_PREBUILT_UI=OFF >"$WORK/cmake.log" 2>&1
    cmake --build "$WORK/build" --target llama-server llama-bench -j "$JOBS" >"$WORK/build.log" 2>&1 ||
      { tail -40 "$WORK/build.log"; exit 1; }
  fi
}

# Rebuild llama-server alone after a source edit; prints NAME_s, the seconds it took.
rebuild_server() {
  local start
  start=$(date +%s)
  cmake --build "$WORK/build" --target llama-server -j "$JOBS" >"$WORK/$1.log" 2>&1 ||
    { tail -40 "$WORK/$1.log"; exit 1; }
  echo "$1_s $(($(date +%s) - start))"
}

case "${1:-}" in
build)
  mkdir -p "$WORK"
  start=$(date +%s)
  unpack_source
  # The models need no GPU and little CPU: write them while the compiler runs.
  make_models >"$WORK.models.log" 2>&1 &
  models_pid=$!
  build
  echo "build_s $(($(date +%s) - start))"
  wait "$models_pid" || { cat "$WORK.models.log"; exit 1; }
  echo "build_and_models_s $(($(date +%s) - start))"
  ls -la "$WORK/models"
  ;;
instrument | plain)
  # instrument: the timers on; plain: back to the unmodified source, timers and patch-yield off.
  if [ "$1" = instrument ]; then
    sed -i 's|^// #define DEBUG_TIMINGS$|#define DEBUG_TIMINGS|' "$SERVER_CONTEXT"
    grep -q '^#define DEBUG_TIMINGS$' "$SERVER_CONTEXT" ||
      { echo "no DEBUG_TIMINGS switch in $SERVER_CONTEXT" >&2; exit 1; }
  else
    # Every edited source back as the tarball has it: no timers, no diagnostic patch.
    tar -xzmf "$SRC_TAR" -C "$WORK/src" --strip-components=1 --wildcards \
      "${EDITED_SOURCES[@]/#/*/}"
    rm -f "$WORK/src/common/sparkops_fast_top_k.inc"
  fi
  rebuild_server "$1"
  ;;
patch-yield)
  # Diagnostic, never shipped: llama-server hands the wait of every decode to a worker thread
  # (server_queue::yield_to_queue, so that other tasks are served meanwhile). With this patch,
  # SPARKOPS_NO_YIELD=1 in the server's environment runs the decode without that hand-off;
  # without the variable the binary behaves as upstream's.
  if ! grep -q SPARKOPS_NO_YIELD "$SERVER_QUEUE"; then
    sed -i 's|^void server_queue::yield_to_queue(std::function<void()> && work) {$|&\n    static const bool sparkops_no_yield = std::getenv("SPARKOPS_NO_YIELD") != nullptr;\n    if (sparkops_no_yield) { work(); return; }|' "$SERVER_QUEUE"
    sed -i '0,/^#include <algorithm>$/s||#include <algorithm>\n#include <cstdlib> // sparkops_no_yield|' "$SERVER_QUEUE"
  fi
  grep -q 'if (sparkops_no_yield)' "$SERVER_QUEUE" ||
    { echo "yield_to_queue not found in $SERVER_QUEUE" >&2; exit 1; }
  rebuild_server patch
  ;;
patch-sampler)
  # The llama_cpp role's patch sampling-fast-top-k (roles/llama_cpp/files/patches/, read its
  # header): the sampler's candidates come from the top-k logits plus the biased tokens instead
  # of the whole vocabulary. On by default in the patched binary; SPARKOPS_FAST_TOPK=0 in the
  # server's environment runs upstream's path, so one binary measures both.
  if ! grep -q 'sparkops_fast_top_k.inc' "$WORK/src/common/sampling.cpp"; then
    git -C "$WORK/src" apply --check "$PWD/roles/llama_cpp/files/patches/sampling-fast-top-k.diff"
    git -C "$WORK/src" apply "$PWD/roles/llama_cpp/files/patches/sampling-fast-top-k.diff"
  fi
  rebuild_server patch-sampler
  ;;
measure)
  label=$2 model=$3 results=$4
  shift 4
  mkdir -p "$results"
  "$BIN/llama-server" --help >"$results/llama-server-help.txt" 2>&1 || true
  "$BIN/llama-bench" --help >"$results/llama-bench-help.txt" 2>&1 || true
  PYTHONUNBUFFERED=1 python3 bench/served_vs_bench.py --server "$BIN/llama-server" \
    --bench "$BIN/llama-bench" --model "$model" --label "$label" \
    --out "$results/served_vs_bench.jsonl" --log-dir "$results/logs" "$@"
  ;;
*)
  echo "usage: $0 build | instrument | plain | patch-yield | patch-sampler | measure LABEL MODEL RESULTS_DIR [args...]" >&2
  exit 2
  ;;
esac
