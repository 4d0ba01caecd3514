#!/usr/bin/env python3
# Copyright: sparkops.llm maintainers
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write a random-weight llama GGUF model around a real tokenizer.

The test bed and the GPU proofs cannot download real weights, so they serve a model of the
wanted shape and size whose weights are random: the output is gibberish, but the engine loads
it, sizes its KV cache, and decodes at the speed the shape dictates. The tokenizer is copied
from one of llama.cpp's own `models/ggml-vocab-*.gguf` files.

    python3 bench/make_proxy_model.py --vocab-gguf models/ggml-vocab-llama-spm.gguf \
        --layers 4 --embd 256 --ff 688 --heads 4 --kv-heads 2 --out tiny.gguf
    # about 3.6B parameters, 6.7 GiB in F16 (the bench proxy):
    python3 bench/make_proxy_model.py --vocab-gguf ... --layers 26 --embd 3072 --ff 8192 \
        --heads 24 --kv-heads 8 --out proxy-3.6b-f16.gguf
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter


def copy_tokenizer(reader: GGUFReader, writer: GGUFWriter) -> int:
    """Copy every tokenizer.* key; return the vocabulary size."""
    vocab_size = 0
    for name, field in reader.fields.items():
        if not name.startswith("tokenizer."):
            continue
        value_type = field.types[0]
        value = field.contents()
        if value_type == GGUFValueType.ARRAY:
            writer.add_key_value(name, value, value_type, sub_type=field.types[-1])
            if name == "tokenizer.ggml.tokens":
                vocab_size = len(value)
        else:
            writer.add_key_value(name, value, value_type)
    if not vocab_size:
        raise SystemExit("the vocabulary file has no tokenizer.ggml.tokens")
    return vocab_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab-gguf", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--embd", type=int, default=256)
    parser.add_argument("--ff", type=int, default=688)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--context", type=int, default=8192)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    head_dim = args.embd // args.heads
    kv_dim = head_dim * args.kv_heads
    reader = GGUFReader(args.vocab_gguf)
    writer = GGUFWriter(args.out, "llama")
    vocab = copy_tokenizer(reader, writer)
    writer.add_name("sparkops proxy (random weights)")
    writer.add_block_count(args.layers)
    writer.add_context_length(args.context)
    writer.add_embedding_length(args.embd)
    writer.add_feed_forward_length(args.ff)
    writer.add_head_count(args.heads)
    writer.add_head_count_kv(args.kv_heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(1)  # mostly F16

    rng = np.random.default_rng(args.seed)
    # One random pool reused by every matrix: the values only need to be finite and small.
    pool = (rng.standard_normal(1 << 22) * 0.02).astype(np.float16)

    def matrix(rows: int, cols: int) -> np.ndarray:
        count = rows * cols
        return np.resize(pool, count).reshape(rows, cols)

    def norm(size: int) -> np.ndarray:
        return np.ones(size, dtype=np.float32)

    writer.add_tensor("token_embd.weight", matrix(vocab, args.embd))
    for layer in range(args.layers):
        prefix = f"blk.{layer}"
        writer.add_tensor(f"{prefix}.attn_norm.weight", norm(args.embd))
        writer.add_tensor(f"{prefix}.attn_q.weight", matrix(args.embd, args.embd))
        writer.add_tensor(f"{prefix}.attn_k.weight", matrix(kv_dim, args.embd))
        writer.add_tensor(f"{prefix}.attn_v.weight", matrix(kv_dim, args.embd))
        writer.add_tensor(f"{prefix}.attn_output.weight", matrix(args.embd, args.embd))
        writer.add_tensor(f"{prefix}.ffn_norm.weight", norm(args.embd))
        writer.add_tensor(f"{prefix}.ffn_gate.weight", matrix(args.ff, args.embd))
        writer.add_tensor(f"{prefix}.ffn_up.weight", matrix(args.ff, args.embd))
        writer.add_tensor(f"{prefix}.ffn_down.weight", matrix(args.embd, args.ff))
    writer.add_tensor("output_norm.weight", norm(args.embd))
    writer.add_tensor("output.weight", matrix(vocab, args.embd))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    eos = reader.fields.get("tokenizer.ggml.eos_token_id")
    print(
        json.dumps(
            {
                "path": args.out,
                "vocab_size": vocab,
                "eos_token_id": int(eos.contents()) if eos else None,
                "layers": args.layers,
                "embd": args.embd,
                "kv_heads": args.kv_heads,
                "head_dim": head_dim,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
