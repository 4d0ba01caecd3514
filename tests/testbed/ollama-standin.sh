#!/usr/bin/env bash
# Release-shaped Ollama tarballs for the test bed (bin/ollama + lib/ollama/), one per
# architecture, built locally because GitHub's release assets cannot be fetched here.
# bin/ollama is tests/testbed/ollama_standin.py (Python runs on either architecture); each
# archive names its architecture in lib/ollama/README, so the two differ as the real ones do and
# a test can tell which one a host installed. Reproducible: the sha256s change only with the
# stand-in.
# Produces:
#   .cache/testbed/ollama/v<version>/ollama-linux-{amd64,arm64}.tar.zst  (GitHub's layout)
#   inventories/simulation/group_vars/spark/testbed_ollama.yml  (their sha256s; ignored by git)
set -euo pipefail
cd "$(dirname "$0")/../.."

version=${1:-0.40.2}
stage=.cache/testbed/ollama-stage
releases=.cache/testbed/ollama
vars=inventories/simulation/group_vars/spark/testbed_ollama.yml

mkdir -p "$releases/v$version"
declare -A sha
for arch in amd64 arm64; do
  archive=$releases/v$version/ollama-linux-$arch.tar.zst
  rm -rf "$stage"
  mkdir -p "$stage/bin" "$stage/lib/ollama"
  sed "s/@VERSION@/$version/" tests/testbed/ollama_standin.py >"$stage/bin/ollama"
  chmod 0755 "$stage/bin/ollama"
  echo "test-bed stand-in for linux-$arch: no GPU libraries" >"$stage/lib/ollama/README"
  tar -C "$stage" --sort=name --mtime='2026-01-01 00:00Z' --owner=0 --group=0 --numeric-owner \
    -cf - bin lib | zstd -q -19 -f -o "$archive.partial"
  mv "$archive.partial" "$archive"
  sha[$arch]=$(sha256sum "$archive" | cut -d' ' -f1)
done
rm -rf "$stage"

cat >"$vars.partial" <<VARS
---
# Written by tests/testbed/ollama-standin.sh: the test bed's Ollama stand-in releases.
testbed_ollama_version: "$version"
testbed_ollama_sha256: ${sha[amd64]}
testbed_ollama_sha256_arm64: ${sha[arm64]}
VARS
mv "$vars.partial" "$vars"
