#!/usr/bin/env bash
# The llama.cpp source for the test bed, without the internet: PyPI's llama-cpp-python sdist
# carries llama.cpp's full tree under vendor/llama.cpp (commit 0c1e570..., the role's default).
# Produces:
#   .cache/src/llama.cpp/                the tree (its models/ggml-vocab-*.gguf feed the tiny model)
#   .cache/testbed/llama.cpp-src.tar.gz  the archive the role builds from (no models/ or docs/)
#   inventories/simulation/group_vars/spark/testbed_artifacts.yml   its path and sha256 (ignored by git)
set -euo pipefail
cd "$(dirname "$0")/../.."

sdist=$1
commit=0c1e57098bba43ac29e6e3b677cdceebdd22334f
tree=.cache/src/llama.cpp
archive=.cache/testbed/llama.cpp-src.tar.gz
vars=inventories/simulation/group_vars/spark/testbed_artifacts.yml

if [ ! -f "$tree/CMakeLists.txt" ]; then
  rm -rf .cache/src/unpack "$tree"
  mkdir -p .cache/src/unpack
  tar -xzf "$sdist" -C .cache/src/unpack
  mv .cache/src/unpack/*/vendor/llama.cpp "$tree"
  rm -rf .cache/src/unpack
fi

if [ ! -f "$archive" ]; then
  mkdir -p "$(dirname "$archive")"
  # Reproducible: fixed order, owner and time, no gzip timestamp.
  tar -C .cache/src --sort=name --mtime='2026-01-01 00:00Z' --owner=0 --group=0 --numeric-owner \
    --exclude='llama.cpp/models' --exclude='llama.cpp/docs' --exclude='llama.cpp/benches' \
    -cf - llama.cpp | gzip -n -6 >"$archive.partial"
  mv "$archive.partial" "$archive"
fi

sha=$(sha256sum "$archive" | cut -d' ' -f1)
cat >"$vars.partial" <<VARS
---
# Written by tests/testbed/llama-cpp-archive.sh: the offline llama.cpp source of the test bed.
llama_cpp_source: archive
llama_cpp_archive: $PWD/$archive
llama_cpp_archive_sha256: $sha
llama_cpp_archive_commit: $commit
VARS
mv "$vars.partial" "$vars"
echo "testbed: llama.cpp source $archive ($(du -h "$archive" | cut -f1), sha256 $sha)"
