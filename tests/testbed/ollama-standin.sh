#!/usr/bin/env bash
# A release-shaped Ollama tarball for the test bed (bin/ollama + lib/ollama/), built locally
# because GitHub's release assets cannot be fetched here. bin/ollama is tests/testbed/
# ollama_standin.py. Reproducible, so its sha256 only changes with the stand-in.
# Produces:
#   .cache/testbed/ollama-linux-amd64.tar.zst
#   inventories/simulation/group_vars/spark/testbed_ollama.yml  (its sha256; ignored by git)
set -euo pipefail
cd "$(dirname "$0")/../.."

version=${1:-0.40.2}
stage=.cache/testbed/ollama-stage
archive=.cache/testbed/ollama-linux-amd64.tar.zst
vars=inventories/simulation/group_vars/spark/testbed_ollama.yml

rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/lib/ollama"
sed "s/@VERSION@/$version/" tests/testbed/ollama_standin.py >"$stage/bin/ollama"
chmod 0755 "$stage/bin/ollama"
echo "test-bed stand-in: no GPU libraries" >"$stage/lib/ollama/README"
tar -C "$stage" --sort=name --mtime='2026-01-01 00:00Z' --owner=0 --group=0 --numeric-owner \
  -cf - bin lib | zstd -q -19 -f -o "$archive.partial"
mv "$archive.partial" "$archive"
rm -rf "$stage"

sha=$(sha256sum "$archive" | cut -d' ' -f1)
cat >"$vars.partial" <<VARS
---
# Written by tests/testbed/ollama-standin.sh: the test bed's Ollama stand-in release.
testbed_ollama_version: "$version"
testbed_ollama_sha256: $sha
VARS
mv "$vars.partial" "$vars"
