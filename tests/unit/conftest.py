# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared helpers: a tiny independent GGUF writer, fixture paths, and a module runner.

The collection must be importable as ``ansible_collections.sparkops.llm`` (PYTHONPATH pointing
at a directory that contains ``ansible_collections/sparkops/llm``).
"""

from __future__ import annotations

import json
import os
import struct
import types
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

# GGUF value types (ggml docs/gguf.md)
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL = range(8)
T_STRING, T_ARRAY, T_UINT64, T_INT64, T_FLOAT64 = 8, 9, 10, 11, 12
_FMT = {
    T_UINT8: "B",
    T_INT8: "b",
    T_UINT16: "H",
    T_INT16: "h",
    T_UINT32: "I",
    T_INT32: "i",
    T_FLOAT32: "f",
    T_BOOL: "?",
    T_UINT64: "Q",
    T_INT64: "q",
    T_FLOAT64: "d",
}
# ggml type -> (block elements, block bytes), written out independently of the code under test
BLOCKS = {0: (1, 4), 1: (1, 2), 8: (32, 34), 12: (256, 144), 30: (1, 2), 39: (32, 17)}


class Typed:
    """Explicitly typed metadata value: Typed(T_UINT16, 3) or Typed(T_ARRAY, [...], T_INT32)."""

    def __init__(self, vtype, value, item_type=None):
        self.vtype, self.value, self.item_type = vtype, value, item_type


def _infer(value):
    if isinstance(value, Typed):
        return value.vtype
    if isinstance(value, bool):
        return T_BOOL
    if isinstance(value, int):
        return T_UINT32
    if isinstance(value, float):
        return T_FLOAT32
    if isinstance(value, str):
        return T_STRING
    if isinstance(value, (list, tuple)):
        return T_ARRAY
    raise TypeError(value)


def _pack_string(s, e):
    raw = s.encode()
    return struct.pack(e + "Q", len(raw)) + raw


def _pack_value(value, vtype, e, item_type=None):
    if isinstance(value, Typed):
        return _pack_value(value.value, value.vtype, e, value.item_type)
    if vtype == T_STRING:
        return _pack_string(value, e)
    if vtype == T_ARRAY:
        items = list(value)
        it = item_type if item_type is not None else (_infer(items[0]) if items else T_UINT32)
        out = struct.pack(e + "IQ", it, len(items))
        for item in items:
            out += _pack_value(item, it, e)
        return out
    return struct.pack(e + _FMT[vtype], value)


def tensor_bytes(type_id, dims):
    block, size = BLOCKS[type_id]
    n = 1
    for d in dims:
        n *= d
    return n // block * size


def write_gguf(path, metadata, tensors=(), alignment=32, version=3, endian="<", truncate_by=0):
    """Write a GGUF file. ``metadata`` is a dict (values: python or Typed), ``tensors`` a list
    of (name, dims, ggml_type). Tensor data is a sparse hole (zeros), so files are cheap even
    when they describe tens of GiB. Returns the tensor data size in bytes."""
    e = endian
    out = b"GGUF" + struct.pack(e + "I", version)
    out += struct.pack(e + "QQ", len(tensors), len(metadata))
    for key, value in metadata.items():
        vtype = _infer(value)
        out += _pack_string(key, e) + struct.pack(e + "I", vtype)
        out += _pack_value(value, vtype, e)
    offset = 0
    for name, dims, type_id in tensors:
        out += _pack_string(name, e) + struct.pack(e + "I", len(dims))
        out += struct.pack(e + f"{len(dims)}Q", *dims)
        out += struct.pack(e + "IQ", type_id, offset)
        nbytes = tensor_bytes(type_id, dims)
        offset += (nbytes + alignment - 1) // alignment * alignment
    data_start = (len(out) + alignment - 1) // alignment * alignment
    with open(path, "wb") as fh:
        fh.write(out)
        fh.write(b"\0" * (data_start - len(out)))
        fh.truncate(data_start + offset - truncate_by)
    return sum(tensor_bytes(t, d) for _n, d, t in tensors)


def gpt_oss_tensors(n_layer=36, n_embd=2880, n_ff=2880, n_expert=128, n_vocab=201088):
    """Tensor list of ggml-org's gpt-oss-120b-mxfp4 GGUF (433 f32, 146 q8_0, 108 mxfp4 for the
    default sizes, as its llama.cpp load log reports); smaller sizes give a toy of the same shape.
    """
    n_head, n_head_kv, head_dim = 64, 8, 64
    q, kv = n_head * head_dim, n_head_kv * head_dim
    t = [("token_embd.weight", (n_embd, n_vocab), 8)]
    for i in range(n_layer):
        b = f"blk.{i}."
        t += [
            (b + "attn_norm.weight", (n_embd,), 0),
            (b + "post_attention_norm.weight", (n_embd,), 0),
            (b + "attn_q.weight", (n_embd, q), 8),
            (b + "attn_q.bias", (q,), 0),
            (b + "attn_k.weight", (n_embd, kv), 8),
            (b + "attn_k.bias", (kv,), 0),
            (b + "attn_v.weight", (n_embd, kv), 8),
            (b + "attn_v.bias", (kv,), 0),
            (b + "attn_output.weight", (q, n_embd), 8),
            (b + "attn_output.bias", (n_embd,), 0),
            (b + "attn_sinks.weight", (n_head,), 0),
            (b + "ffn_gate_inp.weight", (n_embd, n_expert), 0),
            (b + "ffn_gate_inp.bias", (n_expert,), 0),
            (b + "ffn_gate_exps.weight", (n_embd, n_ff, n_expert), 39),
            (b + "ffn_gate_exps.bias", (n_ff, n_expert), 0),
            (b + "ffn_up_exps.weight", (n_embd, n_ff, n_expert), 39),
            (b + "ffn_up_exps.bias", (n_ff, n_expert), 0),
            (b + "ffn_down_exps.weight", (n_ff, n_embd, n_expert), 39),
            (b + "ffn_down_exps.bias", (n_embd, n_expert), 0),
        ]
    t += [("output_norm.weight", (n_embd,), 0), ("output.weight", (n_embd, n_vocab), 8)]
    return t


def gpt_oss_metadata(n_layer=36, n_embd=2880, n_ff=2880, n_expert=128, n_vocab=201088):
    return {
        "general.architecture": "gpt-oss",
        "general.name": "Gpt Oss 120b",
        "gpt-oss.block_count": n_layer,
        "gpt-oss.context_length": 131072,
        "gpt-oss.embedding_length": n_embd,
        "gpt-oss.feed_forward_length": n_ff,
        "gpt-oss.attention.head_count": 64,
        "gpt-oss.attention.head_count_kv": 8,
        "gpt-oss.rope.freq_base": 150000.0,
        "gpt-oss.attention.layer_norm_rms_epsilon": 1e-5,
        "gpt-oss.expert_count": n_expert,
        "gpt-oss.expert_used_count": 4,
        "gpt-oss.attention.key_length": 64,
        "gpt-oss.attention.value_length": 64,
        "gpt-oss.attention.sliding_window": 128,
        "gpt-oss.expert_feed_forward_length": n_ff,
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.tokens": [f"t{i}" for i in range(min(n_vocab, 5000))],
        "general.file_type": 38,
    }


def write_split(directory, prefix, metadata, tensors, n_split, **kw):
    """Spread tensors over NAME-0000i-of-0000N.gguf like llama-gguf-split; returns paths."""
    per = (len(tensors) + n_split - 1) // n_split
    paths = []
    for i in range(n_split):
        meta = dict(metadata) if i == 0 else {}
        meta["split.no"] = Typed(T_UINT16, i)
        meta["split.count"] = Typed(T_UINT16, n_split)
        meta["split.tensors.count"] = Typed(T_INT32, len(tensors))
        path = Path(directory) / f"{prefix}-{i + 1:05d}-of-{n_split:05d}.gguf"
        write_gguf(path, meta, tensors[i * per : (i + 1) * per], **kw)
        paths.append(path)
    return paths


def run_module(main, args, capsys):
    """Run an Ansible module's main() with args; return (failed, result dict)."""
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            main()
    out = capsys.readouterr().out
    result = json.loads(out)
    return bool(result.get("failed")) or exc.value.code != 0, result


@pytest.fixture
def fixtures_dir():
    return FIXTURES


@pytest.fixture
def fixture_text():
    def read(name, binary=False):
        return (FIXTURES / name).read_bytes() if binary else (FIXTURES / name).read_text()

    return read


@pytest.fixture
def fake_bin(tmp_path, monkeypatch):
    """Create executables in tmp_path/bin and make that directory the whole PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir()

    def make(name, script):
        path = bindir / name
        path.write_text("#!/bin/sh\n" + script)
        path.chmod(0o755)
        return path

    # only the fake directory: a real nvidia-smi in /usr/bin (or /bin on merged-/usr systems)
    # must not leak into the test; scripts call /bin/cat by absolute path
    monkeypatch.setenv("PATH", str(bindir))
    return make


@pytest.fixture
def gguf_writer():
    """The writer helpers above, as a fixture (works whatever the test package layout)."""
    return types.SimpleNamespace(
        write_gguf=write_gguf,
        write_split=write_split,
        tensor_bytes=tensor_bytes,
        gpt_oss_tensors=gpt_oss_tensors,
        gpt_oss_metadata=gpt_oss_metadata,
        Typed=Typed,
        T_UINT16=T_UINT16,
        T_INT32=T_INT32,
        T_UINT64=T_UINT64,
        T_ARRAY=T_ARRAY,
        T_BOOL=T_BOOL,
    )


@pytest.fixture
def module_runner(capsys):
    def run(main, args):
        return run_module(main, args, capsys=capsys)

    return run


@pytest.fixture
def llama_cpp_src():
    src = os.environ.get("SPARKOPS_LLAMA_CPP_SRC")
    if not src or not (Path(src) / "models").is_dir():
        pytest.skip("SPARKOPS_LLAMA_CPP_SRC not set to a llama.cpp source tree")
    return Path(src)
