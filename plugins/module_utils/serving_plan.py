# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Memory and speed arithmetic for serving a GGUF model with llama-server.

KV-cache sizing follows llama.cpp (the vendored tree this collection was written against):

* ``src/llama-context.cpp`` (constructor, ``cparams.n_ctx = GGML_PAD(cparams.n_ctx, 256)``):
  ``-c`` is padded up to a multiple of 256. With a unified cache (``-kvu``) there is one stream
  of ``n_ctx`` cells shared by all slots (``n_ctx_seq = n_ctx``). Without it,
  ``n_ctx_seq = GGML_PAD(n_ctx / n_seq_max, 256)`` and ``n_ctx = n_ctx_seq * n_seq_max``: each
  of the ``-np`` streams gets ``n_ctx_seq`` cells. Either way ``-c`` is the TOTAL over slots.
* ``src/llama-model.cpp`` ``create_memory``: the cache is built with ``kv_size = n_ctx_seq``;
  ``src/llama-kv-cache.cpp`` allocates, per layer, K as ``[n_embd_k_gqa(il), kv_size,
  n_stream]`` and V likewise, ``n_stream = unified ? 1 : n_seq_max``.
  ``n_embd_k_gqa(il) = n_embd_head_k(il) * n_head_kv(il)`` (``src/llama-hparams.cpp``), the head
  size being ``key_length_swa`` on SWA layers.
* ``src/llama-kv-cache-iswa.cpp``: models with sliding-window layers get two caches. Full layers
  use ``n_ctx_seq`` cells per stream; SWA layers use
  ``GGML_PAD(min(n_ctx_seq, n_swa * (unified ? n_seq_max : 1) + n_ubatch), 256)`` cells per
  stream, or ``n_ctx_seq`` with ``--swa-full``.
* ``tools/server/server.cpp``: ``-np`` defaults to -1 (auto), which becomes 4 slots with
  ``kv_unified = true``; an explicit ``-np N`` keeps ``kv_unified = false`` unless ``-kvu``.
* ``src/models/openai-moe.cpp``: gpt-oss uses ``load_swa_pattern(ml, 2)`` with
  ``dense_first = false``; ``llama_hparams::set_swa_pattern`` marks layer ``il`` as SWA when
  ``il % n < n - 1``, so even layers (0, 2, ...) are 128-token sliding-window, odd layers full.

Everything here is plain arithmetic on dicts so it is unit-tested without a host.
"""

from __future__ import annotations

import re

GIB = 1024**3
MIB = 1024**2

# KV cache types accepted by -ctk/-ctv: name -> (elements per block, bytes per block)
CACHE_TYPES = {
    "f32": (1, 4),
    "f16": (1, 2),
    "bf16": (1, 2),
    "q8_0": (32, 34),
    "q4_0": (32, 18),
    "q4_1": (32, 20),
    "q5_0": (32, 22),
    "q5_1": (32, 24),
    "iq4_nl": (32, 18),
}

# Default SWA period per architecture where the GGUF has no sliding_window_pattern key
# (second argument of load_swa_pattern() in src/models/<arch>.cpp, dense_first = false).
SWA_PERIOD_DEFAULTS = {
    "gpt-oss": 2,
    "gemma2": 2,
    "gemma3": 6,
    "gemma3n": 5,
    "cohere2": 4,
    "llama4": 4,
    "exaone4": 4,
    "olmo2": 4,
    "afmoe": 4,
}

# Tensors that hold routed experts: only expert_used_count / expert_count of them are read
# per token (blk.N.ffn_gate_exps.weight, ffn_up_exps, ffn_down_exps, ffn_gate_up_exps, biases).
EXPERT_TENSOR_RE = re.compile(r"(^|\.)ffn_[a-z_]*_exps(\.|$)")

# Fixed part of the compute-buffer estimate (CUDA context, cuBLAS workspace, graph metadata).
COMPUTE_FIXED_BYTES = 512 * MIB

KV_PAD = 256  # GGML_PAD(..., 256) in llama-context.cpp and llama-kv-cache-iswa.cpp


class PlanError(ValueError):
    """Invalid or incomplete architecture / serving parameters."""


def pad(value, multiple):
    return (value + multiple - 1) // multiple * multiple


def row_bytes(cache_type, n_elements):
    """ggml_row_size(): bytes for ``n_elements`` values of a KV cache type."""
    try:
        block, size = CACHE_TYPES[cache_type]
    except KeyError:
        raise PlanError(
            "unknown KV cache type {!r} (choose from {})".format(cache_type, ", ".join(CACHE_TYPES))
        ) from None
    if n_elements % block:
        raise PlanError(
            f"KV row of {n_elements} values is not a multiple of the {cache_type} "
            f"block size {block}"
        )
    return n_elements // block * size


def _per_layer(value, n_layer, name):
    if isinstance(value, (list, tuple)):
        if len(value) != n_layer:
            raise PlanError(f"{name} has {len(value)} entries, block_count is {n_layer}")
        return [int(v) for v in value]
    return [int(value)] * n_layer


def swa_layers(arch):
    """List of booleans, True where layer il uses the sliding-window cache."""
    n_layer = int(arch["block_count"])
    if not int(arch.get("sliding_window") or 0):
        return [False] * n_layer
    pattern = arch.get("sliding_window_pattern")
    if pattern is None:
        pattern = SWA_PERIOD_DEFAULTS.get(arch.get("architecture") or "")
        if pattern is None:
            # Unknown layout: assume every layer keeps the full context (over-estimates).
            return [False] * n_layer
    if isinstance(pattern, (list, tuple)):
        if len(pattern) != n_layer:
            raise PlanError(
                f"sliding_window_pattern has {len(pattern)} entries, block_count is {n_layer}"
            )
        return [bool(v) for v in pattern]
    period = int(pattern)
    # llama_hparams::set_swa_pattern(n_pattern, dense_first=false)
    return [period == 0 or (il % period < period - 1) for il in range(n_layer)]


def normalise_architecture(params):
    """Validate a user/profile architecture dict and fill llama.cpp's defaults."""
    arch = dict(params)
    missing = [k for k in ("block_count", "weight_bytes") if arch.get(k) in (None, "")]
    if missing:
        raise PlanError("model_params lacks required key(s): {}".format(", ".join(missing)))
    n_layer = int(arch["block_count"])
    if n_layer <= 0:
        raise PlanError(f"block_count must be positive, got {n_layer}")
    arch["block_count"] = n_layer
    head_count = arch.get("head_count")
    head0 = None
    if head_count is not None:
        head0 = int(head_count[0] if isinstance(head_count, (list, tuple)) else head_count)
    if arch.get("head_count_kv") is None:
        if head_count is None:
            raise PlanError("model_params needs head_count_kv (or head_count)")
        arch["head_count_kv"] = head_count
    for key in ("key_length", "value_length"):
        if arch.get(key) is None:
            if not (arch.get("embedding_length") and head0):
                raise PlanError(f"model_params needs {key} (or embedding_length and head_count)")
            arch[key] = int(arch["embedding_length"]) // head0
        arch[key] = int(arch[key])
    arch.setdefault("key_length_swa", None)
    arch.setdefault("value_length_swa", None)
    if arch["key_length_swa"] is None:
        arch["key_length_swa"] = arch["key_length"]
    if arch["value_length_swa"] is None:
        arch["value_length_swa"] = arch["value_length"]
    arch["sliding_window"] = int(arch.get("sliding_window") or 0)
    arch["expert_count"] = int(arch.get("expert_count") or 0)
    arch["expert_used_count"] = int(arch.get("expert_used_count") or 0)
    arch["weight_bytes"] = int(arch["weight_bytes"])
    arch["expert_weight_bytes"] = int(arch.get("expert_weight_bytes") or 0)
    arch["token_embd_bytes"] = int(arch.get("token_embd_bytes") or 0)
    if arch["expert_weight_bytes"] > arch["weight_bytes"]:
        raise PlanError("expert_weight_bytes exceeds weight_bytes")
    _per_layer(arch["head_count_kv"], n_layer, "head_count_kv")
    return arch


def active_weight_bytes(arch):
    """Weight bytes read from memory to decode one token.

    Dense tensors are read whole; routed expert tensors only for expert_used_count of
    expert_count experts; token_embd is a row lookup (unless it doubles as the output matrix,
    in which case token_embd_bytes is 0).
    """
    if arch.get("active_weight_bytes_per_token"):
        return int(arch["active_weight_bytes_per_token"])
    experts = arch["expert_weight_bytes"]
    dense = arch["weight_bytes"] - experts - arch["token_embd_bytes"]
    if experts and arch["expert_count"]:
        used = min(arch["expert_used_count"] or arch["expert_count"], arch["expert_count"])
        experts = experts * used // arch["expert_count"]
    return dense + experts


def kv_layout(context, slots, ubatch, n_swa, unified=False, swa_full=False):
    """Cells per stream for full and SWA layers, and the stream count (see module docstring)."""
    if context <= 0:
        raise PlanError(f"context must be positive, got {context}")
    if slots <= 0:
        raise PlanError(f"slots must be positive, got {slots}")
    n_ctx = pad(context, KV_PAD)
    if unified:
        n_ctx_seq = n_ctx
        n_stream = 1
    else:
        n_ctx_seq = pad(n_ctx // slots, KV_PAD)
        n_ctx = n_ctx_seq * slots
        n_stream = slots
    if swa_full or not n_swa:
        swa_cells = n_ctx_seq
    else:
        swa_cells = pad(min(n_ctx_seq, n_swa * (slots if unified else 1) + ubatch), KV_PAD)
    return {
        "n_ctx": n_ctx,
        "n_ctx_seq": n_ctx_seq,
        "n_stream": n_stream,
        "full_cells_per_stream": n_ctx_seq,
        "swa_cells_per_stream": swa_cells,
        # unified: one pool that any slot may fill; report the fair share per slot
        "context_per_slot": n_ctx // slots if unified else n_ctx_seq,
    }


def kv_bytes_per_cell(arch, cache_type_k, cache_type_v):
    """(bytes per cell summed over full layers, bytes per cell summed over SWA layers)."""
    n_layer = arch["block_count"]
    kv_heads = _per_layer(arch["head_count_kv"], n_layer, "head_count_kv")
    is_swa = swa_layers(arch)
    full = swa = 0
    for il in range(n_layer):
        if is_swa[il]:
            k_len, v_len = arch["key_length_swa"], arch["value_length_swa"]
        else:
            k_len, v_len = arch["key_length"], arch["value_length"]
        cell = row_bytes(cache_type_k, k_len * kv_heads[il]) + row_bytes(
            cache_type_v, v_len * kv_heads[il]
        )
        if is_swa[il]:
            swa += cell
        else:
            full += cell
    return full, swa


def kv_cache_bytes(
    arch,
    context,
    slots,
    cache_type_k="f16",
    cache_type_v="f16",
    ubatch=2048,
    unified=False,
    swa_full=False,
):
    layout = kv_layout(context, slots, ubatch, arch["sliding_window"], unified, swa_full)
    full_cell, swa_cell = kv_bytes_per_cell(arch, cache_type_k, cache_type_v)
    full_bytes = full_cell * layout["full_cells_per_stream"] * layout["n_stream"]
    swa_bytes = swa_cell * layout["swa_cells_per_stream"] * layout["n_stream"]
    out = dict(layout)
    out.update(
        {
            "kv_bytes": full_bytes + swa_bytes,
            "kv_full_bytes": full_bytes,
            "kv_swa_bytes": swa_bytes,
            "kv_bytes_per_token_full_layers": full_cell,
            "kv_bytes_per_token_swa_layers": swa_cell,
        }
    )
    return out


def compute_buffer_bytes(arch, ubatch):
    """Rough estimate of llama.cpp's compute buffers for one ubatch (flash attention on).

    Worst-case reservation keeps logits for every token of the ubatch (vocab x 4 bytes) plus a
    handful of float activations per token (hidden state, attention, FFN/expert intermediates).
    Override with model_params.compute_bytes when a real ``compute buffer size`` log line is known.
    """
    if arch.get("compute_bytes"):
        return int(arch["compute_bytes"])
    vocab = int(arch.get("vocab_size") or 0)
    n_embd = int(arch.get("embedding_length") or 0)
    ff = arch.get("expert_feed_forward_length") or arch.get("feed_forward_length") or 0
    ff = max(int(v) for v in ff) if isinstance(ff, (list, tuple)) else int(ff)
    used = arch["expert_used_count"] or 1
    if not (vocab or n_embd):
        return COMPUTE_FIXED_BYTES + 1 * GIB
    per_token = vocab * 4 + n_embd * 4 * 8 + ff * used * 4 * 3
    return COMPUTE_FIXED_BYTES + ubatch * per_token


def decode_bytes_per_token(arch, kv, depth):
    """Bytes read to decode one token at ``depth`` tokens of context (single stream)."""
    full_cells = min(depth, kv["full_cells_per_stream"])
    swa_cells = min(depth, kv["swa_cells_per_stream"])
    return (
        active_weight_bytes(arch)
        + kv["kv_bytes_per_token_full_layers"] * full_cells
        + kv["kv_bytes_per_token_swa_layers"] * swa_cells
    )


def _gib(n):
    return f"{n / GIB:.2f} GiB"


def plan(
    arch,
    context,
    slots=1,
    cache_type_k="f16",
    cache_type_v="f16",
    ubatch=2048,
    memory_available_bytes=0,
    headroom_bytes=8 * GIB,
    bandwidth_gbps=273.0,
    unified=False,
    swa_full=False,
    per_slot_context=False,
):
    """Full serving plan. ``context`` is llama-server's ``-c`` (total over slots) unless
    ``per_slot_context`` is true, in which case ``-c`` becomes ``context * slots``."""
    arch = normalise_architecture(arch)
    ctx_size = context * slots if per_slot_context else context
    kv = kv_cache_bytes(
        arch, ctx_size, slots, cache_type_k, cache_type_v, ubatch, unified, swa_full
    )
    weights = arch["weight_bytes"]
    compute = compute_buffer_bytes(arch, ubatch)
    total = weights + kv["kv_bytes"] + compute
    budget = memory_available_bytes - headroom_bytes
    fits = total <= budget
    bytes_empty = decode_bytes_per_token(arch, kv, 0)
    bytes_full = decode_bytes_per_token(arch, kv, kv["context_per_slot"])
    bw = bandwidth_gbps * 1e9
    result = {
        "ctx_size": kv["n_ctx"],
        "requested_context": context,
        "per_slot_context": per_slot_context,
        "slots": slots,
        "kv_unified": unified,
        "swa_full": swa_full,
        "cache_type_k": cache_type_k,
        "cache_type_v": cache_type_v,
        "ubatch": ubatch,
        "context_per_slot": kv["context_per_slot"],
        "kv_streams": kv["n_stream"],
        "kv_cells_full_layers": kv["full_cells_per_stream"] * kv["n_stream"],
        "kv_cells_swa_layers": kv["swa_cells_per_stream"] * kv["n_stream"],
        "weight_bytes": weights,
        "kv_bytes": kv["kv_bytes"],
        "kv_full_bytes": kv["kv_full_bytes"],
        "kv_swa_bytes": kv["kv_swa_bytes"],
        "kv_bytes_per_slot": kv["kv_bytes"] // slots,
        "kv_bytes_per_token": kv["kv_bytes_per_token_full_layers"]
        + kv["kv_bytes_per_token_swa_layers"],
        "compute_bytes": compute,
        "total_bytes": total,
        "available_bytes": memory_available_bytes,
        "headroom_bytes": headroom_bytes,
        "spare_bytes": budget - total,
        "fits": fits,
        "bandwidth_gbps": bandwidth_gbps,
        "active_weight_bytes": active_weight_bytes(arch),
        "bytes_per_token": bytes_empty,
        "bytes_per_token_full_context": bytes_full,
        "predicted_decode_tps": round(bw / bytes_empty, 1) if bytes_empty else None,
        "predicted_decode_tps_full_context": round(bw / bytes_full, 1) if bytes_full else None,
    }
    result["message"] = plan_message(arch, result)
    return result


def _max_ctx_size(
    arch, slots, cache_type_k, cache_type_v, ubatch, unified, swa_full, budget, fixed
):
    """Largest -c (multiple of 256 * slots) whose KV fits in budget - fixed; 0 if none."""
    step = KV_PAD * (1 if unified else slots)
    lo, hi = 0, 1
    while True:
        kv = kv_cache_bytes(
            arch, hi * step, slots, cache_type_k, cache_type_v, ubatch, unified, swa_full
        )["kv_bytes"]
        if fixed + kv > budget or hi > 1 << 24:
            break
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        kv = kv_cache_bytes(
            arch, mid * step, slots, cache_type_k, cache_type_v, ubatch, unified, swa_full
        )["kv_bytes"]
        if fixed + kv <= budget:
            lo = mid
        else:
            hi = mid
    return lo * step


def _kv_for(arch, r, ctx_size, slots, cache_type_k=None, cache_type_v=None):
    return kv_cache_bytes(
        arch,
        ctx_size,
        slots,
        cache_type_k or r["cache_type_k"],
        cache_type_v or r["cache_type_v"],
        r["ubatch"],
        r["kv_unified"],
        r["swa_full"],
    )["kv_bytes"]


def _bytes_per_value(cache_type):
    block, size = CACHE_TYPES[cache_type]
    return size / block


def plan_message(arch, r):
    """One line for humans; when the plan does not fit, name each knob with numbers."""
    budget = r["available_bytes"] - r["headroom_bytes"]
    head = (
        f"weights {_gib(r['weight_bytes'])} + KV cache {_gib(r['kv_bytes'])} "
        f"(-c {r['ctx_size']}, {r['slots']} slot(s) of {r['context_per_slot']} tokens, "
        f"K {r['cache_type_k']} / V {r['cache_type_v']}) + compute ~{_gib(r['compute_bytes'])} "
        f"= {_gib(r['total_bytes'])}; available {_gib(r['available_bytes'])} minus headroom "
        f"{_gib(r['headroom_bytes'])} leaves {_gib(budget)}"
    )
    speed = (
        f"; decode upper bound {r['predicted_decode_tps'] or 0:.1f} tok/s at "
        f"{r['bandwidth_gbps']:g} GB/s ({r['predicted_decode_tps_full_context'] or 0:.1f} tok/s "
        "with a full slot)"
    )
    if r["fits"]:
        return f"fits: {head} ({_gib(r['spare_bytes'])} spare){speed}"
    short = -r["spare_bytes"]
    fixed = r["weight_bytes"] + r["compute_bytes"]
    knobs = []
    if fixed > budget:
        knobs.append(
            f"weights and compute buffers alone need {_gib(fixed)}: free memory (stop other "
            "model servers, sync; echo 3 > /proc/sys/vm/drop_caches) or use a smaller model"
        )
    else:
        max_ctx = _max_ctx_size(
            arch,
            r["slots"],
            r["cache_type_k"],
            r["cache_type_v"],
            r["ubatch"],
            r["kv_unified"],
            r["swa_full"],
            budget,
            fixed,
        )
        if max_ctx:
            knobs.append(
                f"lower the context: -c {max_ctx} ({max_ctx // r['slots']} tokens per slot) is "
                f"the largest that fits with {r['slots']} slot(s) and this cache type"
            )
        if r["slots"] > 1:
            for n in range(r["slots"] - 1, 0, -1):
                if fixed + _kv_for(arch, r, r["context_per_slot"] * n, n) <= budget:
                    one = _kv_for(arch, r, r["context_per_slot"], 1)
                    knobs.append(
                        f"use fewer slots: -np {n} -c {r['context_per_slot'] * n} keeps "
                        f"{r['context_per_slot']} tokens per slot (each slot's KV is {_gib(one)})"
                    )
                    break
        current = min(_bytes_per_value(r["cache_type_k"]), _bytes_per_value(r["cache_type_v"]))
        for qt in ("q8_0", "q4_0"):
            if _bytes_per_value(qt) >= current:
                continue
            kv_q = _kv_for(arch, r, r["ctx_size"], r["slots"], qt, qt)
            if fixed + kv_q <= budget:
                verdict = "fits"
            else:
                verdict = f"still short by {_gib(fixed + kv_q - budget)}"
            knobs.append(
                f"quantise the KV cache: -ctk {qt} -ctv {qt} (needs -fa on) makes it "
                f"{_gib(kv_q)}, {verdict}"
            )
            break
    knobs.append(
        f"make {_gib(short)} more memory available (stop other processes, drop the page cache) "
        f"or lower headroom_gib (now {r['headroom_bytes'] / GIB:.1f})"
    )
    return f"does not fit, short by {_gib(short)}: {head}{speed}. Options: " + "; ".join(knobs)


# ----------------------------------------------------------------------------------------------
# Architecture from a parsed GGUF (plugins/module_utils/gguf.py)


def _meta(metadata, arch_name, key, default=None):
    value = metadata.get(f"{arch_name}.{key}", default)
    return value


def _scalar_or_list(value):
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value]
    return None if value is None else int(value)


def architecture_from_gguf(model):
    """Architecture dict (the model_params shape) from a GgufModel or GgufFile."""
    metadata = model.metadata
    name = metadata.get("general.architecture")
    if not name:
        raise PlanError("GGUF has no general.architecture key")
    block_count = _meta(metadata, name, "block_count")
    if block_count is None:
        raise PlanError(f"GGUF lacks {name}.block_count")
    head_count = _scalar_or_list(_meta(metadata, name, "attention.head_count"))
    head_count_kv = _scalar_or_list(_meta(metadata, name, "attention.head_count_kv"))
    if head_count_kv is None:
        head_count_kv = head_count
    embedding_length = _meta(metadata, name, "embedding_length")
    head0 = head_count[0] if isinstance(head_count, list) else head_count
    key_length = _meta(metadata, name, "attention.key_length")
    value_length = _meta(metadata, name, "attention.value_length")
    if key_length is None and embedding_length and head0:
        key_length = int(embedding_length) // int(head0)
    if value_length is None and embedding_length and head0:
        value_length = int(embedding_length) // int(head0)
    pattern = _meta(metadata, name, "attention.sliding_window_pattern")
    if isinstance(pattern, (list, tuple)):
        pattern = [bool(v) for v in pattern]
    elif pattern is not None:
        pattern = int(pattern)

    vocab = _meta(metadata, name, "vocab_size")

    tensors = model.tensors
    names = {t.name for t in tensors}
    expert_bytes = sum(t.nbytes for t in tensors if EXPERT_TENSOR_RE.search(t.name))
    token_embd = sum(t.nbytes for t in tensors if t.name == "token_embd.weight")
    if "output.weight" not in names:
        token_embd = 0  # tied embeddings: the matrix is read whole as the output projection
    if vocab is None:
        for t in tensors:
            if t.name in ("output.weight", "token_embd.weight") and len(t.dims) == 2:
                vocab = int(t.dims[1])
                break
    if vocab is None and metadata.get("tokenizer.ggml.tokens") is not None:
        vocab = len(metadata["tokenizer.ggml.tokens"])

    ff_exp = _meta(metadata, name, "expert_feed_forward_length")
    ff = _meta(metadata, name, "feed_forward_length")
    arch = {
        "architecture": name,
        "block_count": int(block_count),
        "head_count": head_count,
        "head_count_kv": head_count_kv,
        "embedding_length": None if embedding_length is None else int(embedding_length),
        "key_length": None if key_length is None else int(key_length),
        "value_length": None if value_length is None else int(value_length),
        "key_length_swa": _scalar_or_list(_meta(metadata, name, "attention.key_length_swa")),
        "value_length_swa": _scalar_or_list(_meta(metadata, name, "attention.value_length_swa")),
        "sliding_window": int(_meta(metadata, name, "attention.sliding_window", 0) or 0),
        "sliding_window_pattern": pattern,
        "expert_count": int(_meta(metadata, name, "expert_count", 0) or 0),
        "expert_used_count": int(_meta(metadata, name, "expert_used_count", 0) or 0),
        "expert_feed_forward_length": _scalar_or_list(ff_exp),
        "feed_forward_length": _scalar_or_list(ff),
        "context_length": _scalar_or_list(_meta(metadata, name, "context_length")),
        "vocab_size": None if vocab is None else int(vocab),
        "weight_bytes": model.tensor_bytes,
        "expert_weight_bytes": expert_bytes,
        "token_embd_bytes": token_embd,
    }
    if arch["sliding_window"] and pattern is None and name in SWA_PERIOD_DEFAULTS:
        arch["sliding_window_pattern"] = SWA_PERIOD_DEFAULTS[name]
    return arch


# The module's options, shared with its action plugin (which plans on the controller when the
# architecture and the memory are given, without a round trip to the host).
ARGUMENT_SPEC = {
    "model_path": {"type": "path"},
    "model_params": {"type": "dict"},
    "context": {"type": "int", "required": True},
    "per_slot_context": {"type": "bool", "default": False},
    "slots": {"type": "int", "default": 1},
    "kv_unified": {"type": "bool", "default": False},
    "swa_full": {"type": "bool", "default": False},
    "cache_type_k": {"type": "str", "choices": list(CACHE_TYPES), "default": "f16"},
    "cache_type_v": {"type": "str", "choices": list(CACHE_TYPES), "default": "f16"},
    "ubatch": {"type": "int", "default": 2048},
    "memory_available_bytes": {"type": "int"},
    "headroom_gib": {"type": "float", "default": 8},
    "bandwidth_gbps": {"type": "float", "default": 273},
    "fail_when_no_fit": {"type": "bool", "default": True},
}
ARGUMENT_RULES = {
    "required_one_of": [("model_path", "model_params")],
    "mutually_exclusive": [("model_path", "model_params")],
}


def options_problem(p: dict) -> str:
    """Why the validated options ``p`` cannot be planned, or ''."""
    for key in ("context", "slots", "ubatch"):
        if p[key] <= 0:
            return f"{key} must be positive, got {p[key]}"
    if p["headroom_gib"] < 0 or p["bandwidth_gbps"] <= 0:
        return "headroom_gib must be >= 0 and bandwidth_gbps > 0"
    return ""


def plan_outcome(p: dict, arch: dict, files: list, available: int) -> tuple[str, dict]:
    """The module's result for the options ``p``, an architecture already read (from the GGUF
    ``files`` or ``model_params``) and normalised, and the memory available: ('', result) or
    (why it fails, what to return with the failure)."""
    try:
        result = plan(
            arch,
            p["context"],
            slots=p["slots"],
            cache_type_k=p["cache_type_k"],
            cache_type_v=p["cache_type_v"],
            ubatch=p["ubatch"],
            memory_available_bytes=available,
            headroom_bytes=int(p["headroom_gib"] * GIB),
            bandwidth_gbps=p["bandwidth_gbps"],
            unified=p["kv_unified"],
            swa_full=p["swa_full"],
            per_slot_context=p["per_slot_context"],
        )
    except PlanError as exc:
        return str(exc), {"architecture": arch, "model_files": files}
    out = {
        "changed": False,
        "plan": result,
        "architecture": arch,
        "model_files": files,
        "fits": result["fits"],
        "message": result["message"],
    }
    if not result["fits"] and p["fail_when_no_fit"]:
        return result["message"], out
    return "", out
