#!/usr/bin/env bash
# Served decode ÷ llama-bench decode on a GPU machine with no network, from the repository root.
#
#   bench/served_vs_bench.sh build                # CUDA build + proxy models, skipped if present
#   bench/served_vs_bench.sh measure LABEL MODEL RESULTS_DIR [served_vs_bench.py args...]
#
# build needs .gpu/llama.cpp-src.tar.gz (the role's default commit), .gpu/ggml-vocab-*.gguf or
# bench/results/inputs/ggml-vocab-*.gguf, and the gguf wheel in .whl/. Everything it makes
# goes under $WORK (ignored by git) so that a second call on the same machine finds it.
# On a Spark, skip `build` and call served_vs_bench.py with the installed binaries instead.
set -euo pipefail
WORK=${WORK:-bench/results/device}
ARCHS=${ARCHS:-90-real}
JOBS=${JOBS:-$(nproc)}
SRC_TAR=${SRC_TAR:-.gpu/llama.cpp-src.tar.gz}
BIN=$WORK/build/bin

make_models() {
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/gguf-*.whl
  mkdir -p "$WORK/models"
  # The 3.6B F16 llama of the earlier measurements, and the same shape around a 151,936-token
  # vocabulary: gpt-oss has 201,088 tokens, and CPU sampling work grows with the vocabulary.
  local shape=(--layers 26 --embd 3072 --ff 8192 --heads 24 --kv-heads 8)
  local name vocab
  for pair in "spm32k:ggml-vocab-llama-spm.gguf" "qwen152k:ggml-vocab-qwen2.gguf"; do
    name=${pair%%:*} vocab=${pair#*:}
    [ -s "$WORK/models/$name.gguf" ] && continue
    local source=.gpu/$vocab
    [ -s "$source" ] || source=bench/results/inputs/$vocab
    PYTHONPATH=/tmp/site python3 bench/make_proxy_model.py --vocab-gguf "$source" "${shape[@]}" \
      --out "$WORK/models/$name.gguf.part" && mv "$WORK/models/$name.gguf.part" "$WORK/models/$name.gguf"
  done
}

build() {
  if [ -x "$BIN/llama-server" ] && [ -x "$BIN/llama-bench" ]; then
    echo "build present"
  else
    mkdir -p "$WORK/src"
    tar -xzf "$SRC_TAR" -C "$WORK/src" --strip-components=1
    local generator=()
    command -v ninja >/dev/null && generator=(-G Ninja)
    cmake "${generator[@]}" -S "$WORK/src" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release \
      -DGGML_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=$ARCHS" -DLLAMA_CURL=OFF \
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_USE_PREBUILT_UI=OFF >"$WORK/cmake.log" 2>&1
    cmake --build "$WORK/build" --target llama-server llama-bench -j "$JOBS" >"$WORK/build.log" 2>&1 ||
      { tail -40 "$WORK/build.log"; exit 1; }
  fi
}

case "${1:-}" in
build)
  mkdir -p "$WORK"
  start=$(date +%s)
  # The models need no GPU and little CPU: write them while the compiler runs.
  make_models >"$WORK.models.log" 2>&1 &
  models_pid=$!
  build
  echo "build_s $(($(date +%s) - start))"
  wait "$models_pid" || { cat "$WORK.models.log"; exit 1; }
  echo "build_and_models_s $(($(date +%s) - start))"
  ls -la "$WORK/models"
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
  echo "usage: $0 build | measure LABEL MODEL RESULTS_DIR [args...]" >&2
  exit 2
  ;;
esac
