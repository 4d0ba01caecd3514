#!/usr/bin/env python3
# Copyright: sparkops.llm maintainers
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write a random-weight llama or gpt-oss GGUF model around a real tokenizer.

The test bed and the GPU proofs cannot download real weights, so they serve a model of the
wanted shape and size whose weights are random: the output is gibberish, but the engine loads
it, sizes its KV cache, and decodes at the speed the shape dictates. The tokenizer is copied
from one of llama.cpp's own `models/ggml-vocab-*.gguf` files; `--vocab-size` pads it with
plain tokens to a model's real vocabulary size, which is what CPU sampling work scales with.

    python3 bench/make_proxy_model.py --vocab-gguf models/ggml-vocab-llama-spm.gguf \
        --layers 4 --embd 256 --ff 688 --heads 4 --kv-heads 2 --out tiny.gguf
    # about 3.6B parameters, 6.7 GiB in F16 (the bench proxy):
    python3 bench/make_proxy_model.py --vocab-gguf ... --layers 26 --embd 3072 --ff 8192 \
        --heads 24 --kv-heads 8 --out proxy-3.6b-f16.gguf
    # gpt-oss-20b's shape (a MoE: 32 experts, 4 per token, MXFP4 experts, 201,088 tokens):
    python3 bench/make_proxy_model.py --vocab-gguf models/ggml-vocab-qwen2.gguf --arch gpt-oss \
        --layers 24 --embd 2880 --heads 64 --kv-heads 8 --head-dim 64 --experts 32 \
        --experts-used 4 --ff 2880 --vocab-size 201088 --out proxy-gpt-oss-20b.gguf
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter

# MXFP4 block (ggml's block_mxfp4): one E8M0 scale byte, then 32 4-bit E2M1 values in 16 bytes.
MXFP4_BLOCK_VALUES = 32
MXFP4_BLOCK_BYTES = 17
# Scale 2^(119-127) = 1/256: the largest E2M1 value (6) becomes 0.023, like the F16 tensors.
MXFP4_SCALE_BYTE = 119
PAD_TOKEN_TYPE = 1  # NORMAL: a padded token decodes to visible text like most real tokens


def copy_tokenizer(reader: GGUFReader, writer: GGUFWriter, vocab_size: int) -> int:
    """Copy every tokenizer.* key, padding the vocabulary to vocab_size; return its size."""
    tokens = list(reader.fields["tokenizer.ggml.tokens"].contents())
    if not tokens:
        raise SystemExit("the vocabulary file has no tokenizer.ggml.tokens")
    padding = max(0, vocab_size - len(tokens))
    for name, field in reader.fields.items():
        if not name.startswith("tokenizer."):
            continue
        value_type = field.types[0]
        value = field.contents()
        if name == "tokenizer.ggml.tokens":
            value = tokens + [f"[sparkops-pad-{index}]" for index in range(padding)]
        elif name == "tokenizer.ggml.token_type":
            value = list(value) + [PAD_TOKEN_TYPE] * padding
        elif name == "tokenizer.ggml.scores" and padding:
            value = list(value) + [-1e9] * padding
        if value_type == GGUFValueType.ARRAY:
            writer.add_key_value(name, value, value_type, sub_type=field.types[-1])
        else:
            writer.add_key_value(name, value, value_type)
    return len(tokens) + padding


class RandomTensors:
    """Finite, small random tensors; one array per shape, shared by every layer (the values
    only need to be plausible, and sharing keeps a 12 GB model within a few GB of memory)."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.pool = (rng.standard_normal(1 << 22) * 0.02).astype(np.float16)
        self.bytes = rng.integers(0, 256, size=1 << 22, dtype=np.uint8)
        self.cache: dict[tuple, np.ndarray] = {}

    def matrix(self, *shape: int) -> np.ndarray:
        """F16, numpy shape order (the reverse of ggml's ne)."""
        key = ("f16", *shape)
        if key not in self.cache:
            self.cache[key] = np.resize(self.pool, int(np.prod(shape))).reshape(shape)
        return self.cache[key]

    def vector(self, size: int, value: float | None = None) -> np.ndarray:
        """F32: norms are ones, biases and sinks small random values."""
        key = ("f32", size, value)
        if key not in self.cache:
            if value is None:
                self.cache[key] = np.resize(self.pool, size).astype(np.float32)
            else:
                self.cache[key] = np.full(size, value, dtype=np.float32)
        return self.cache[key]

    def mxfp4(self, *shape: int) -> np.ndarray:
        """MXFP4 bytes for a tensor of numpy shape `shape` (last axis in values)."""
        *outer, values = shape
        if values % MXFP4_BLOCK_VALUES:
            raise SystemExit(f"MXFP4 rows need a multiple of 32 values, not {values}")
        key = ("mxfp4", *shape)
        if key not in self.cache:
            blocks = int(np.prod(outer)) * (values // MXFP4_BLOCK_VALUES)
            data = np.resize(self.bytes, blocks * MXFP4_BLOCK_BYTES).reshape(blocks, -1)
            data[:, 0] = MXFP4_SCALE_BYTE
            row_bytes = values // MXFP4_BLOCK_VALUES * MXFP4_BLOCK_BYTES
            self.cache[key] = data.reshape(*outer, row_bytes)
        return self.cache[key]


def write_llama(writer: GGUFWriter, args: argparse.Namespace, rand: RandomTensors) -> None:
    head_dim = args.head_dim or args.embd // args.heads
    kv_dim = head_dim * args.kv_heads
    writer.add_rope_dimension_count(head_dim)
    writer.add_file_type(1)  # mostly F16
    for layer in range(args.layers):
        prefix = f"blk.{layer}"
        writer.add_tensor(f"{prefix}.attn_norm.weight", rand.vector(args.embd, 1.0))
        writer.add_tensor(f"{prefix}.attn_q.weight", rand.matrix(args.embd, args.embd))
        writer.add_tensor(f"{prefix}.attn_k.weight", rand.matrix(kv_dim, args.embd))
        writer.add_tensor(f"{prefix}.attn_v.weight", rand.matrix(kv_dim, args.embd))
        writer.add_tensor(f"{prefix}.attn_output.weight", rand.matrix(args.embd, args.embd))
        writer.add_tensor(f"{prefix}.ffn_norm.weight", rand.vector(args.embd, 1.0))
        writer.add_tensor(f"{prefix}.ffn_gate.weight", rand.matrix(args.ff, args.embd))
        writer.add_tensor(f"{prefix}.ffn_up.weight", rand.matrix(args.ff, args.embd))
        writer.add_tensor(f"{prefix}.ffn_down.weight", rand.matrix(args.embd, args.ff))


def write_gpt_oss(writer: GGUFWriter, args: argparse.Namespace, rand: RandomTensors) -> None:
    """The tensors and keys llama.cpp's gpt-oss loader asks for: attention with biases and
    sinks, every other layer sliding-window, and MXFP4 experts with F32 biases (as the
    converter writes gpt-oss's own MXFP4 weights)."""
    if not (args.experts and args.experts_used and args.head_dim):
        raise SystemExit("--arch gpt-oss needs --experts, --experts-used and --head-dim")
    q_dim = args.heads * args.head_dim
    kv_dim = args.kv_heads * args.head_dim
    writer.add_key_length(args.head_dim)
    writer.add_value_length(args.head_dim)
    writer.add_expert_count(args.experts)
    writer.add_expert_used_count(args.experts_used)
    writer.add_expert_feed_forward_length(args.ff)
    writer.add_sliding_window(args.sliding_window)
    writer.add_rope_freq_base(150000.0)
    writer.add_file_type(38)  # MOSTLY_MXFP4_MOE
    for layer in range(args.layers):
        prefix = f"blk.{layer}"
        writer.add_tensor(f"{prefix}.attn_norm.weight", rand.vector(args.embd, 1.0))
        writer.add_tensor(f"{prefix}.post_attention_norm.weight", rand.vector(args.embd, 1.0))
        for name, rows in (("attn_q", q_dim), ("attn_k", kv_dim), ("attn_v", kv_dim)):
            writer.add_tensor(f"{prefix}.{name}.weight", rand.matrix(rows, args.embd))
            writer.add_tensor(f"{prefix}.{name}.bias", rand.vector(rows))
        writer.add_tensor(f"{prefix}.attn_output.weight", rand.matrix(args.embd, q_dim))
        writer.add_tensor(f"{prefix}.attn_output.bias", rand.vector(args.embd))
        writer.add_tensor(f"{prefix}.attn_sinks.weight", rand.vector(args.heads))
        writer.add_tensor(f"{prefix}.ffn_gate_inp.weight", rand.matrix(args.experts, args.embd))
        writer.add_tensor(f"{prefix}.ffn_gate_inp.bias", rand.vector(args.experts))
        for name, rows, cols in (
            ("ffn_gate_exps", args.ff, args.embd),
            ("ffn_up_exps", args.ff, args.embd),
            ("ffn_down_exps", args.embd, args.ff),
        ):
            writer.add_tensor(
                f"{prefix}.{name}.weight",
                rand.mxfp4(args.experts, rows, cols),
                raw_dtype=GGMLQuantizationType.MXFP4,
            )
            bias = rand.vector(args.experts * rows).reshape(args.experts, rows)
            writer.add_tensor(f"{prefix}.{name}.bias", bias)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab-gguf", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--arch", choices=("llama", "gpt-oss"), default="llama")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--embd", type=int, default=256)
    parser.add_argument("--ff", type=int, default=688, help="FFN width (per expert for MoE)")
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--head-dim", type=int, default=0, help="default: embd / heads")
    parser.add_argument("--experts", type=int, default=0)
    parser.add_argument("--experts-used", type=int, default=0)
    parser.add_argument("--sliding-window", type=int, default=128)
    parser.add_argument("--vocab-size", type=int, default=0, help="pad the vocabulary to this")
    parser.add_argument("--context", type=int, default=8192)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--distinct-output",
        action="store_true",
        help="draw every output row afresh (default: rows repeat the shared pool, so many "
        "tokens share a logit, and the order of those ties is up to the sampler's sort)",
    )
    args = parser.parse_args()

    reader = GGUFReader(args.vocab_gguf)
    writer = GGUFWriter(args.out, args.arch)
    vocab = copy_tokenizer(reader, writer, args.vocab_size)
    writer.add_name(f"sparkops {args.arch} proxy (random weights)")
    writer.add_block_count(args.layers)
    writer.add_context_length(args.context)
    writer.add_embedding_length(args.embd)
    writer.add_feed_forward_length(args.ff)
    writer.add_head_count(args.heads)
    writer.add_head_count_kv(args.kv_heads)
    writer.add_layer_norm_rms_eps(1e-5)

    rand = RandomTensors(args.seed)
    # Both architectures: the embedding first, the blocks (per architecture), the output last.
    writer.add_tensor("token_embd.weight", rand.matrix(vocab, args.embd))
    write_blocks = write_gpt_oss if args.arch == "gpt-oss" else write_llama
    write_blocks(writer, args, rand)
    writer.add_tensor("output_norm.weight", rand.vector(args.embd, 1.0))
    if args.distinct_output:
        fresh = np.random.default_rng(args.seed + 1).standard_normal((vocab, args.embd))
        writer.add_tensor("output.weight", (fresh * 0.02).astype(np.float16))
    else:
        writer.add_tensor("output.weight", rand.matrix(vocab, args.embd))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    eos = reader.fields.get("tokenizer.ggml.eos_token_id")
    print(
        json.dumps(
            {
                "path": args.out,
                "arch": args.arch,
                "vocab_size": vocab,
                "eos_token_id": int(eos.contents()) if eos else None,
                "layers": args.layers,
                "embd": args.embd,
                "kv_heads": args.kv_heads,
                "experts": args.experts,
                "experts_used": args.experts_used,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
