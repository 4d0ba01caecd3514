# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import os

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils import gguf
from ansible_collections.sparkops.llm.plugins.module_utils.gguf import (
    ArraySummary,
    GgufError,
    read_gguf,
    read_gguf_file,
    split_shard_paths,
    tensor_nbytes,
)


def test_block_sizes_match_ggml_layouts():
    # bytes per block derived from the ggml block structs (ggml-common.h), QK_K = 256
    expected = {
        "F32": (1, 4),
        "F16": (1, 2),
        "BF16": (1, 2),
        "Q4_0": (32, 2 + 16),
        "Q4_1": (32, 2 + 2 + 16),
        "Q5_0": (32, 2 + 4 + 16),
        "Q5_1": (32, 2 + 2 + 4 + 16),
        "Q8_0": (32, 2 + 32),
        "Q2_K": (256, 2 + 2 + 256 // 16 + 256 // 4),
        "Q3_K": (256, 2 + 256 // 4 + 256 // 8 + 12),
        "Q4_K": (256, 2 + 2 + 256 // 2 + 12),
        "Q5_K": (256, 2 + 2 + 256 // 2 + 256 // 8 + 12),
        "Q6_K": (256, 2 + 256 // 2 + 256 // 4 + 256 // 16),
        "Q8_K": (256, 4 + 256 + 256 // 8),
        "IQ4_XS": (256, 2 + 2 + 256 // 2 + 256 // 64),
        "MXFP4": (32, 1 + 16),
    }
    by_name = {name: (block, size) for name, block, size in gguf.GGML_TYPES.values()}
    for name, value in expected.items():
        assert by_name[name] == value, name
    assert gguf.GGML_TYPES[39][0] == "MXFP4"


def test_tensor_nbytes_mxfp4_expert_tensor():
    # one gpt-oss-120b expert tensor: 2880 x 2880 x 128 values, 17 bytes per 32
    assert tensor_nbytes(39, (2880, 2880, 128)) == 2880 * 2880 * 128 // 32 * 17


def test_tensor_nbytes_rejects_partial_block():
    with pytest.raises(GgufError, match="block size"):
        tensor_nbytes(8, (33, 2))


def test_reads_metadata_types_and_tensors(tmp_path, gguf_writer):
    w = gguf_writer
    path = tmp_path / "m.gguf"
    meta = {
        "general.architecture": "llama",
        "llama.block_count": 2,
        "llama.rope.freq_base": 10000.0,
        "llama.attention.causal": True,
        "general.big": w.Typed(w.T_UINT64, 1 << 40),
        "general.neg": w.Typed(w.T_INT32, -5),
        "llama.list": [1, 2, 3],
        "llama.nested": w.Typed(w.T_ARRAY, [[1, 2], [3]], w.T_ARRAY),
        "general.name": "tiny ünïcode",
    }
    tensors = [("a.weight", (64, 4), 8), ("b.weight", (256, 2), 12), ("c", (7,), 0)]
    size = w.write_gguf(path, meta, tensors)
    f = read_gguf_file(path)
    assert f.version == 3
    assert f.metadata["llama.block_count"] == 2
    assert f.metadata["llama.rope.freq_base"] == pytest.approx(10000.0)
    assert f.metadata["llama.attention.causal"] is True
    assert f.metadata["general.big"] == 1 << 40
    assert f.metadata["general.neg"] == -5
    assert f.metadata["llama.list"] == [1, 2, 3]
    assert f.metadata["llama.nested"] == [[1, 2], [3]]
    assert f.metadata["general.name"] == "tiny ünïcode"
    assert f.metadata_types["general.big"] == "uint64"
    assert [t.name for t in f.tensors] == ["a.weight", "b.weight", "c"]
    assert f.tensors[1].type_name == "Q4_K"
    assert f.tensors[1].nbytes == 2 * 144
    assert f.tensor_bytes == size == 64 * 4 // 32 * 34 + 2 * 144 + 7 * 4
    assert f.data_offset % 32 == 0


def test_custom_alignment_and_v2(tmp_path, gguf_writer):
    path = tmp_path / "m.gguf"
    meta = {"general.architecture": "x", "general.alignment": 64}
    gguf_writer.write_gguf(path, meta, [("t", (32,), 0)], alignment=64, version=2)
    f = read_gguf_file(path)
    assert f.version == 2
    assert f.alignment == 64
    assert f.data_offset % 64 == 0


def test_big_endian_file(tmp_path, gguf_writer):
    path = tmp_path / "be.gguf"
    gguf_writer.write_gguf(
        path, {"general.architecture": "x", "x.n": 7}, [("t", (8,), 0)], endian=">"
    )
    f = read_gguf_file(path)
    assert f.endian == ">"
    assert f.metadata["x.n"] == 7
    assert f.tensors[0].dims == (8,)


def test_long_arrays_are_summarised_not_kept(tmp_path, gguf_writer):
    path = tmp_path / "v.gguf"
    tokens = [f"tok{i}" for i in range(5000)]
    gguf_writer.write_gguf(path, {"tokenizer.ggml.tokens": tokens, "after": 42})
    f = read_gguf_file(path, max_array_len=100)
    assert isinstance(f.metadata["tokenizer.ggml.tokens"], ArraySummary)
    assert len(f.metadata["tokenizer.ggml.tokens"]) == 5000
    assert f.metadata["after"] == 42  # parsing continued correctly past the skipped strings
    full = read_gguf_file(path, max_array_len=10000)
    assert full.metadata["tokenizer.ggml.tokens"][4999] == "tok4999"


def test_not_gguf(tmp_path):
    path = tmp_path / "x.gguf"
    path.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(GgufError, match="not a GGUF file"):
        read_gguf(path)


def test_empty_file(tmp_path):
    path = tmp_path / "x.gguf"
    path.write_bytes(b"")
    with pytest.raises(GgufError, match="not a GGUF file"):
        read_gguf(path)


def test_missing_file(tmp_path):
    with pytest.raises(GgufError, match="cannot open"):
        read_gguf(tmp_path / "nope.gguf")


def test_truncated_header(tmp_path, gguf_writer):
    path = tmp_path / "m.gguf"
    gguf_writer.write_gguf(path, {"general.architecture": "llama", "k": "v" * 100})
    data = path.read_bytes()
    path.write_bytes(data[:60])
    with pytest.raises(GgufError, match="truncated"):
        read_gguf(path)


def test_truncated_tensor_data(tmp_path, gguf_writer):
    path = tmp_path / "m.gguf"
    gguf_writer.write_gguf(path, {"general.architecture": "x"}, [("t", (1024,), 0)], truncate_by=10)
    with pytest.raises(GgufError, match="truncated GGUF file: tensor data needs"):
        read_gguf(path)


def test_unsupported_version(tmp_path, gguf_writer):
    path = tmp_path / "m.gguf"
    gguf_writer.write_gguf(path, {}, version=7)
    with pytest.raises(GgufError, match="unsupported GGUF version 7"):
        read_gguf(path)


def test_split_paths_from_name():
    assert split_shard_paths("/m/a-b-00001-of-00003.gguf") == [
        "/m/a-b-00001-of-00003.gguf",
        "/m/a-b-00002-of-00003.gguf",
        "/m/a-b-00003-of-00003.gguf",
    ]
    assert split_shard_paths("/m/plain.gguf") == ["/m/plain.gguf"]
    with pytest.raises(GgufError, match="cannot be found"):
        split_shard_paths("/m/plain.gguf", count=2)


def test_split_model_sums_tensors_over_shards(tmp_path, gguf_writer):
    w = gguf_writer
    tensors = w.gpt_oss_tensors(n_layer=4, n_embd=64, n_ff=64, n_expert=8, n_vocab=512)
    meta = w.gpt_oss_metadata(n_layer=4, n_embd=64, n_ff=64, n_expert=8, n_vocab=512)
    paths = w.write_split(tmp_path, "gpt-oss-toy-mxfp4", meta, tensors, 3)
    model = read_gguf(paths[0])
    assert model.paths == [str(p) for p in paths]
    assert len(model.tensors) == len(tensors)
    assert model.tensor_bytes == sum(w.tensor_bytes(t, d) for _n, d, t in tensors)
    assert [t.shard for t in model.tensors][-1] == 2
    assert model.metadata["gpt-oss.block_count"] == 4
    assert model.architecture == "gpt-oss"


def test_split_model_missing_shard(tmp_path, gguf_writer):
    w = gguf_writer
    tensors = [("a", (32,), 0), ("b", (32,), 0), ("c", (32,), 0)]
    paths = w.write_split(tmp_path, "m", {"general.architecture": "x"}, tensors, 3)
    os.unlink(paths[2])
    with pytest.raises(GgufError, match=r"needs 3 shards; missing: .*m-00003-of-00003.gguf"):
        read_gguf(paths[0])


def test_split_model_given_later_shard(tmp_path, gguf_writer):
    w = gguf_writer
    paths = w.write_split(tmp_path, "m", {"general.architecture": "x"}, [("a", (32,), 0)] * 2, 2)
    with pytest.raises(GgufError, match="pass the first shard"):
        read_gguf(paths[1])


def test_split_tensor_count_mismatch(tmp_path, gguf_writer):
    w = gguf_writer
    tensors = [("a", (32,), 0), ("b", (32,), 0)]
    paths = w.write_split(tmp_path, "m", {"general.architecture": "x"}, tensors, 2)
    w.write_gguf(
        paths[1], {"split.no": w.Typed(w.T_UINT16, 1), "split.count": w.Typed(w.T_UINT16, 2)}
    )
    with pytest.raises(GgufError, match="declares 2 tensors but its shards hold 1"):
        read_gguf(paths[0])


def test_real_llama_cpp_vocab_files(llama_cpp_src):
    """Optional: parse llama.cpp's own vocab-only GGUF files (set SPARKOPS_LLAMA_CPP_SRC)."""
    spm = read_gguf(llama_cpp_src / "models" / "ggml-vocab-llama-spm.gguf")
    assert spm.architecture == "llama"
    assert spm.metadata["llama.block_count"] == 32
    assert len(spm.metadata["tokenizer.ggml.tokens"]) == 32000
    gemma = read_gguf(llama_cpp_src / "models" / "ggml-vocab-gemma-4.gguf")
    assert isinstance(gemma.metadata["gemma4.attention.head_count_kv"], list)
    assert len(gemma.metadata["gemma4.attention.sliding_window_pattern"]) == 30
