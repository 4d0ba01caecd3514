#!/usr/bin/env bash
# The llama_cpp role's CUDA build on a GPU machine, against a plain cmake build of the same
# targets and architectures. Run from the repository root on a machine with nvcc and no
# network; the source archive comes from tests/testbed/llama-cpp-archive.sh.
#
#   bench/gpu_build_proof.sh role  ARCHIVE SHA256 RESULTS_DIR   # role build, then a re-run
#   bench/gpu_build_proof.sh plain ARCHIVE RESULTS_DIR          # plain cmake --build
# Each phase appends "name seconds" lines to RESULTS_DIR/times.txt.
set -euo pipefail
phase=$1
archs=${ARCHS:-90-real;121a-real}
jobs=${JOBS:-$(nproc)}

case "$phase" in
role)
  archive=$2 sha=$3 results=$4
  mkdir -p "$results"
  cat >"$results/vars.json" <<VARS
{"llama_cpp_source": "archive", "llama_cpp_archive": "$archive",
 "llama_cpp_archive_sha256": "$sha",
 "llama_cpp_archive_commit": "0c1e57098bba43ac29e6e3b677cdceebdd22334f",
 "llama_cpp_cuda_architectures": "$archs", "llama_cpp_install_build_deps": false,
 "llama_cpp_build_jobs": $jobs, "llama_cpp_backend": "cuda",
 "ansible_python_interpreter": "$(command -v python3)"}
VARS
  for run in 1 2; do
    start=$(date +%s%N)
    python3 -m ansible.cli.playbook -i localhost, bench/llama_cpp_local.yml \
      -e "@$results/vars.json" >"$results/role-run$run.log" 2>&1
    end=$(date +%s%N)
    echo "role_run$run $(( (end - start) / 1000000 )) ms" >>"$results/times.txt"
    grep -E 'PLAY RECAP|changed=' "$results/role-run$run.log" | tail -1
  done
  ;;
plain)
  archive=$2 results=$3
  mkdir -p "$results" /tmp/plain-src
  tar -xzf "$archive" -C /tmp/plain-src --strip-components=1
  start=$(date +%s%N)
  # The minimal build NVIDIA's guide gives, offline (no web UI download), same targets.
  cmake -S /tmp/plain-src -B /tmp/plain-build -DGGML_CUDA=ON \
    "-DCMAKE_CUDA_ARCHITECTURES=$archs" -DLLAMA_USE_PREBUILT_UI=OFF >"$results/plain.log" 2>&1
  cmake --build /tmp/plain-build --config Release --target llama-server llama-bench \
    -j "$jobs" >>"$results/plain.log" 2>&1
  end=$(date +%s%N)
  echo "plain_build $(( (end - start) / 1000000 )) ms" >>"$results/times.txt"
  ;;
*)
  echo "usage: $0 role|plain ..." >&2
  exit 2
  ;;
esac
