# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils.gguf import read_gguf
from ansible_collections.sparkops.llm.plugins.module_utils.serving_plan import (
    GIB,
    PlanError,
    active_weight_bytes,
    architecture_from_gguf,
    kv_cache_bytes,
    kv_layout,
    normalise_architecture,
    plan,
    swa_layers,
)
from ansible_collections.sparkops.llm.plugins.modules import serving_plan as serving_plan_module

# gpt-oss-120b as llama.cpp loads it (GGUF keys of ggml-org/gpt-oss-120b-GGUF), byte counts of
# the ggml-org MXFP4 file: 108 MXFP4 expert tensors, 146 Q8_0, 433 F32 (see conftest).
GPT_OSS_120B = {
    "architecture": "gpt-oss",
    "block_count": 36,
    "head_count": 64,
    "head_count_kv": 8,
    "key_length": 64,
    "value_length": 64,
    "embedding_length": 2880,
    "sliding_window": 128,
    "sliding_window_pattern": 2,
    "expert_count": 128,
    "expert_used_count": 4,
    "expert_feed_forward_length": 2880,
    "vocab_size": 201088,
    "context_length": 131072,
    "weight_bytes": 63374323968,
    "expert_weight_bytes": 61073326080,
    "token_embd_bytes": 615329280,
}

CELL = 2 * 8 * 64 * 2  # K + V, 8 KV heads x 64, f16: bytes per layer per cached token


def test_gpt_oss_swa_pattern_even_layers():
    arch = normalise_architecture(GPT_OSS_120B)
    pattern = swa_layers(arch)
    assert pattern[:4] == [True, False, True, False]
    assert sum(pattern) == 18


def test_swa_pattern_default_from_architecture_name():
    arch = dict(GPT_OSS_120B)
    del arch["sliding_window_pattern"]
    assert sum(swa_layers(normalise_architecture(arch))) == 18
    arch["architecture"] = "unknown-arch"
    assert sum(swa_layers(normalise_architecture(arch))) == 0  # conservative: all full


def test_swa_pattern_list_and_period_semantics():
    arch = normalise_architecture(
        {
            "block_count": 6,
            "head_count_kv": 1,
            "key_length": 32,
            "value_length": 32,
            "weight_bytes": 1,
            "sliding_window": 16,
            "sliding_window_pattern": 3,
        }
    )
    assert swa_layers(arch) == [True, True, False, True, True, False]
    arch["sliding_window_pattern"] = [False, True, False, True, False, True]
    assert swa_layers(arch) == [False, True, False, True, False, True]


def test_kv_one_slot_16k_f16():
    arch = normalise_architecture(GPT_OSS_120B)
    kv = kv_cache_bytes(arch, 16384, 1, "f16", "f16", 2048)
    swa_cells = 2304  # pad256(min(16384, 128 + 2048)) = pad256(2176)
    assert kv["kv_full_bytes"] == 18 * CELL * 16384
    assert kv["kv_swa_bytes"] == 18 * CELL * swa_cells
    assert kv["kv_bytes"] == 18 * CELL * (16384 + swa_cells)


def test_kv_c_is_total_over_slots_non_unified():
    arch = normalise_architecture(GPT_OSS_120B)
    kv = kv_cache_bytes(arch, 65536, 4, "f16", "f16", 2048)
    assert kv["n_ctx_seq"] == 16384
    assert kv["n_stream"] == 4
    assert kv["kv_full_bytes"] == 18 * CELL * 65536  # same as one slot of 64K
    assert kv["kv_swa_bytes"] == 18 * CELL * 2304 * 4  # one SWA window per stream


def test_kv_unified_shares_one_stream():
    arch = normalise_architecture(GPT_OSS_120B)
    kv = kv_cache_bytes(arch, 65536, 4, "f16", "f16", 2048, unified=True)
    assert kv["n_stream"] == 1
    assert kv["kv_full_bytes"] == 18 * CELL * 65536
    assert kv["kv_swa_bytes"] == 18 * CELL * 2560  # pad256(128 * 4 + 2048)


def test_kv_swa_full_and_small_context_caps():
    arch = normalise_architecture(GPT_OSS_120B)
    full = kv_cache_bytes(arch, 16384, 1, swa_full=True)
    assert full["kv_swa_bytes"] == full["kv_full_bytes"]
    small = kv_cache_bytes(arch, 1000, 1)  # padded to 1024; SWA capped at the slot context
    assert small["n_ctx"] == 1024
    assert small["swa_cells_per_stream"] == 1024


def test_kv_layout_padding_rounds_per_slot():
    lay = kv_layout(1000, 3, 512, 0)
    # n_ctx = pad(1000) = 1024; 1024 // 3 = 341 -> pad 512; n_ctx = 512 * 3
    assert (lay["n_ctx_seq"], lay["n_ctx"]) == (512, 1536)


def test_quantised_cache_sizes():
    arch = normalise_architecture(GPT_OSS_120B)
    f16 = kv_cache_bytes(arch, 16384, 1, "f16", "f16")["kv_bytes"]
    q8 = kv_cache_bytes(arch, 16384, 1, "q8_0", "q8_0")["kv_bytes"]
    q4 = kv_cache_bytes(arch, 16384, 1, "q4_0", "q4_0")["kv_bytes"]
    assert q8 * 64 == f16 * 34  # 34 bytes per 32 values vs 2 bytes per value
    assert q4 * 64 == f16 * 18
    with pytest.raises(PlanError, match="unknown KV cache type"):
        kv_cache_bytes(arch, 16384, 1, "q3_k", "f16")


def test_per_layer_head_count_kv_and_swa_head_size():
    arch = normalise_architecture(
        {
            "block_count": 4,
            "head_count_kv": [8, 8, 8, 2],
            "key_length": 512,
            "value_length": 512,
            "key_length_swa": 256,
            "value_length_swa": 256,
            "sliding_window": 1024,
            "sliding_window_pattern": [True, True, True, False],
            "weight_bytes": 1,
        }
    )
    kv = kv_cache_bytes(arch, 8192, 1, "f16", "f16", 512)
    assert kv["kv_bytes_per_token_full_layers"] == 2 * 2 * 512 * 2
    assert kv["kv_bytes_per_token_swa_layers"] == 3 * 2 * 256 * 8 * 2
    with pytest.raises(PlanError, match="head_count_kv has 3 entries"):
        normalise_architecture(
            {
                "block_count": 4,
                "head_count_kv": [1, 1, 1],
                "key_length": 8,
                "value_length": 8,
                "weight_bytes": 1,
            }
        )


def test_key_length_defaults_to_embedding_over_heads():
    arch = normalise_architecture(
        {"block_count": 2, "head_count": 32, "embedding_length": 4096, "weight_bytes": 1}
    )
    assert arch["key_length"] == arch["value_length"] == 128
    assert arch["head_count_kv"] == 32


def test_missing_required_keys():
    with pytest.raises(PlanError, match="weight_bytes"):
        normalise_architecture({"block_count": 2, "head_count_kv": 1, "key_length": 8})


def test_active_bytes_moe_counts_only_used_experts():
    arch = normalise_architecture(GPT_OSS_120B)
    dense = 63374323968 - 61073326080 - 615329280
    assert active_weight_bytes(arch) == dense + 61073326080 * 4 // 128
    arch["active_weight_bytes_per_token"] = 123
    assert active_weight_bytes(arch) == 123


def test_plan_fits_and_predicts_decode():
    result = plan(GPT_OSS_120B, 16384, 1, memory_available_bytes=120 * GIB, headroom_bytes=8 * GIB)
    assert result["fits"] is True
    assert result["total_bytes"] == (
        result["weight_bytes"] + result["kv_bytes"] + result["compute_bytes"]
    )
    assert result["spare_bytes"] == 112 * GIB - result["total_bytes"]
    assert result["predicted_decode_tps"] == pytest.approx(273e9 / result["bytes_per_token"], 0.01)
    # measured on Spark: 59 tok/s at depth 0 -- the bandwidth bound must be above it, not wildly
    assert 59 < result["predicted_decode_tps"] < 90
    assert result["predicted_decode_tps_full_context"] < result["predicted_decode_tps"]
    assert result["message"].startswith("fits:")


def test_plan_per_slot_context_multiplies_c():
    result = plan(GPT_OSS_120B, 16384, 4, per_slot_context=True, memory_available_bytes=120 * GIB)
    assert result["ctx_size"] == 65536
    assert result["context_per_slot"] == 16384


def test_plan_no_fit_names_knobs_with_numbers():
    result = plan(
        GPT_OSS_120B,
        131072,
        4,
        per_slot_context=True,
        memory_available_bytes=80 * GIB,
        headroom_bytes=8 * GIB,
    )
    assert result["fits"] is False
    msg = result["message"]
    assert msg.startswith("does not fit, short by")
    assert "lower the context: -c " in msg
    assert "use fewer slots: -np " in msg
    assert "-ctk q8_0 -ctv q8_0" in msg
    assert "headroom_gib (now 8.0)" in msg
    # the suggested context really fits
    suggested = int(msg.split("lower the context: -c ")[1].split()[0])
    again = plan(GPT_OSS_120B, suggested, 4, memory_available_bytes=80 * GIB)
    assert again["fits"]
    bigger = plan(GPT_OSS_120B, suggested + 4 * 256, 4, memory_available_bytes=80 * GIB)
    assert not bigger["fits"]


def test_plan_weights_alone_too_big():
    result = plan(GPT_OSS_120B, 4096, 1, memory_available_bytes=40 * GIB)
    assert not result["fits"]
    assert "weights and compute buffers alone need" in result["message"]


def test_architecture_from_generated_gguf(tmp_path, gguf_writer):
    w = gguf_writer
    kw = dict(n_layer=4, n_embd=64, n_ff=64, n_expert=8, n_vocab=512)
    tensors = w.gpt_oss_tensors(**kw)
    paths = w.write_split(tmp_path, "toy", w.gpt_oss_metadata(**kw), tensors, 2)
    arch = architecture_from_gguf(read_gguf(paths[0]))
    experts = sum(w.tensor_bytes(t, d) for n, d, t in tensors if "_exps." in n)
    embd = [w.tensor_bytes(t, d) for n, d, t in tensors if n == "token_embd.weight"][0]
    assert arch["architecture"] == "gpt-oss"
    assert arch["block_count"] == 4
    assert arch["head_count_kv"] == 8
    assert arch["key_length"] == 64
    assert arch["sliding_window"] == 128
    assert arch["sliding_window_pattern"] == 2  # llama.cpp default for gpt-oss
    assert arch["expert_count"] == 8 and arch["expert_used_count"] == 4
    assert arch["weight_bytes"] == sum(w.tensor_bytes(t, d) for _n, d, t in tensors)
    assert arch["expert_weight_bytes"] == experts
    assert arch["token_embd_bytes"] == embd
    assert arch["vocab_size"] == 512  # from token_embd dims (tokens array was shortened)


def test_architecture_per_layer_arrays_and_tied_embeddings(tmp_path, gguf_writer):
    w = gguf_writer
    meta = {
        "general.architecture": "gemma4",
        "gemma4.block_count": 3,
        "gemma4.embedding_length": 64,
        "gemma4.attention.head_count": 4,
        "gemma4.attention.head_count_kv": w.Typed(w.T_ARRAY, [4, 4, 1], w.T_INT32),
        "gemma4.attention.sliding_window": 512,
        "gemma4.attention.sliding_window_pattern": [True, True, False],
    }
    tensors = [("token_embd.weight", (64, 100), 0)]  # no output.weight: tied
    w.write_gguf(tmp_path / "g.gguf", meta, tensors)
    arch = architecture_from_gguf(read_gguf(tmp_path / "g.gguf"))
    assert arch["head_count_kv"] == [4, 4, 1]
    assert arch["key_length"] == 16
    assert arch["sliding_window_pattern"] == [True, True, False]
    assert arch["token_embd_bytes"] == 0
    assert arch["vocab_size"] == 100


def test_module_with_model_params(module_runner):
    failed, result = module_runner(
        serving_plan_module.main,
        {
            "model_params": GPT_OSS_120B,
            "context": 131072,
            "slots": 1,
            "memory_available_bytes": 120 * GIB,
        },
    )
    assert not failed, result.get("msg")
    assert result["changed"] is False
    assert result["fits"] is True
    assert result["plan"]["kv_bytes"] == 18 * CELL * (131072 + 2304)
    assert result["architecture"]["block_count"] == 36


def test_module_fails_when_no_fit(module_runner):
    failed, result = module_runner(
        serving_plan_module.main,
        {
            "model_params": GPT_OSS_120B,
            "context": 131072,
            "slots": 4,
            "per_slot_context": True,
            "memory_available_bytes": 75 * GIB,
        },
    )
    assert failed
    assert "lower the context" in result["msg"]
    failed, result = module_runner(
        serving_plan_module.main,
        {
            "model_params": GPT_OSS_120B,
            "context": 131072,
            "slots": 4,
            "per_slot_context": True,
            "memory_available_bytes": 75 * GIB,
            "fail_when_no_fit": False,
        },
    )
    assert not failed and result["fits"] is False


def test_module_reads_meminfo_and_gguf(
    module_runner, tmp_path, gguf_writer, monkeypatch, fixture_text
):
    w = gguf_writer
    kw = dict(n_layer=4, n_embd=64, n_ff=64, n_expert=8, n_vocab=512)
    paths = w.write_split(tmp_path, "toy", w.gpt_oss_metadata(**kw), w.gpt_oss_tensors(**kw), 3)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(fixture_text("meminfo_gb10.txt"))
    monkeypatch.setattr(serving_plan_module, "MEMINFO_PATH", str(meminfo))
    failed, result = module_runner(
        serving_plan_module.main, {"model_path": str(paths[0]), "context": 8192}
    )
    assert not failed, result.get("msg")
    assert result["plan"]["available_bytes"] == 121544128 * 1024
    assert result["model_files"] == [str(p) for p in paths]


def test_module_bad_gguf_fails_cleanly(module_runner, tmp_path):
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"nope")
    failed, result = module_runner(
        serving_plan_module.main,
        {"model_path": str(bad), "context": 8192, "memory_available_bytes": 1},
    )
    assert failed and "not a GGUF file" in result["msg"]


def test_module_requires_exactly_one_source(module_runner):
    failed, result = module_runner(serving_plan_module.main, {"context": 8192})
    assert failed and "model_path" in result["msg"]
