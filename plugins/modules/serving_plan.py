#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: serving_plan
short_description: Check that a GGUF model, its KV cache and llama-server buffers fit in memory
version_added: 0.1.0
description:
  - Computes weight bytes, KV-cache bytes and a compute-buffer estimate for a llama-server
    configuration, compares them plus a headroom with the memory available on the target, and
    predicts an upper bound for decode speed (memory bandwidth / bytes read per token).
  - The architecture comes from the header of a GGUF file (I(model_path), split models
    included, tensor data is not read) or from I(model_params) before the weights are downloaded.
  - KV-cache sizing follows llama.cpp - C(-c) is the total context shared by the C(-np) slots,
    padded to 256; sliding-window layers keep only C(n_swa + ubatch) cells per stream
    (C(n_swa * slots + ubatch) with I(kv_unified)), padded to 256 and capped at the slot context.
  - For MoE models only I(expert_used_count)/I(expert_count) of the C(ffn_*_exps) tensors are read
    per token.
  - Only reads; check mode runs the full plan.
author:
  - sparkops.llm maintainers
options:
  model_path:
    description:
      - GGUF file on the target; for a split model the first shard (C(NAME-00001-of-0000N.gguf)),
        the other shards must sit next to it.
      - Exactly one of I(model_path) and I(model_params) is required.
    type: path
  model_params:
    description:
      - Architecture for planning without the file. Keys - C(block_count), C(head_count),
        C(head_count_kv) (int or per-layer list), C(key_length), C(value_length),
        C(key_length_swa), C(value_length_swa), C(embedding_length), C(sliding_window),
        C(sliding_window_pattern) (per-layer list of bools, or a period as in llama.cpp
        where layer C(il) is SWA when C(il % n < n - 1)), C(expert_count), C(expert_used_count),
        C(expert_feed_forward_length), C(vocab_size), C(weight_bytes) (required),
        C(expert_weight_bytes), C(token_embd_bytes), C(active_weight_bytes_per_token),
        C(compute_bytes), C(architecture), C(context_length).
    type: dict
  context:
    description:
      - The C(-c) value for llama-server, that is the TOTAL context over all slots, unless
        I(per_slot_context) is true.
    type: int
    required: true
  per_slot_context:
    description:
      Treat I(context) as the context of each slot; the plan then uses C(-c = context * slots).
    type: bool
    default: false
  slots:
    description: Number of server slots (C(-np)).
    type: int
    default: 1
  kv_unified:
    description:
      Whether llama-server runs with C(-kvu) (one KV stream shared by all slots; the default when
      C(-np) is left on auto).
    type: bool
    default: false
  swa_full:
    description: Whether llama-server runs with C(--swa-full) (SWA layers keep the full context).
    type: bool
    default: false
  cache_type_k:
    description: KV cache type for K (C(-ctk)).
    type: str
    choices: [f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl]
    default: f16
  cache_type_v:
    description: KV cache type for V (C(-ctv)); quantised V needs flash attention.
    type: str
    choices: [f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl]
    default: f16
  ubatch:
    description: Physical batch size (C(-ub)).
    type: int
    default: 2048
  memory_available_bytes:
    description:
      Memory to plan against. Default - C(MemAvailable) of C(/proc/meminfo) on the target (run it
      with no model server loaded).
    type: int
  headroom_gib:
    description: Memory to leave free for the OS, page cache and other processes.
    type: float
    default: 8
  bandwidth_gbps:
    description:
      Memory bandwidth for the decode prediction (DGX Spark about 273 GB/s; use a measured figure
      from M(sparkops.llm.memory_bandwidth)).
    type: float
    default: 273
  fail_when_no_fit:
    description: Fail the task when the plan does not fit; the message says which knob to turn.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Plan gpt-oss-120b from the downloaded shards
  sparkops.llm.serving_plan:
    model_path: /srv/models/gpt-oss-120b-mxfp4-00001-of-00003.gguf
    context: 131072
    slots: 4
    per_slot_context: false
  register: plan

- name: Plan before downloading, from a profile
  sparkops.llm.serving_plan:
    model_params: "{{ llama_server_profile.model_params }}"
    context: 65536
    per_slot_context: true
    slots: 2
    memory_available_bytes: "{{ gb10.memory_available_bytes }}"
    fail_when_no_fit: false
  register: plan
"""

RETURN = r"""
plan:
  description: The plan. Byte counts are integers; see the individual keys.
  returned: always
  type: dict
  contains:
    fits:
      description: Whether weights + KV + compute fit in available minus headroom.
      type: bool
    message:
      description: Human summary; when it does not fit, the knobs to turn with numbers.
      type: str
    ctx_size:
      description: The C(-c) value the plan is for (after llama.cpp's padding to 256 per slot).
      type: int
    context_per_slot:
      description: Cells each slot can use.
      type: int
    weight_bytes:
      description: Tensor bytes of the model (all shards).
      type: int
    kv_bytes:
      description: KV-cache bytes for all slots.
      type: int
    kv_bytes_per_slot:
      description: I(kv_bytes) / slots.
      type: int
    kv_bytes_per_token:
      description: KV bytes one cached token takes summed over all layers.
      type: int
    compute_bytes:
      description: Estimated compute-buffer bytes.
      type: int
    total_bytes:
      description: weight + KV + compute bytes.
      type: int
    available_bytes:
      description: Memory planned against.
      type: int
    headroom_bytes:
      description: Memory kept free.
      type: int
    spare_bytes:
      description: available - headroom - total (negative when it does not fit).
      type: int
    bytes_per_token:
      description: Bytes read from memory to decode one token at empty context.
      type: int
    predicted_decode_tps:
      description: Upper bound of decode tokens/s at empty context (bandwidth / bytes_per_token).
      type: float
    predicted_decode_tps_full_context:
      description: Same with a full slot of context.
      type: float
  sample: {"fits": true, "ctx_size": 131072, "kv_bytes": 4932501504}
architecture:
  description:
    The architecture dict used (from the GGUF header or I(model_params), defaults filled).
  returned: always
  type: dict
model_files:
  description: GGUF files read (all shards); empty with I(model_params).
  returned: always
  type: list
  elements: str
fits:
  description: Copy of C(plan.fits).
  returned: always
  type: bool
message:
  description: Copy of C(plan.message).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.gguf import (
    GgufError,
    read_gguf,
)
from ansible_collections.sparkops.llm.plugins.module_utils.serving_plan import (
    ARGUMENT_RULES,
    ARGUMENT_SPEC,
    PlanError,
    architecture_from_gguf,
    normalise_architecture,
    options_problem,
    plan_outcome,
)
from ansible_collections.sparkops.llm.plugins.module_utils.spark_probe import (
    ProbeParseError,
    parse_meminfo,
)

MEMINFO_PATH = "/proc/meminfo"


def available_memory(module):
    try:
        with open(MEMINFO_PATH) as fh:
            mem = parse_meminfo(fh.read())
    except (OSError, ProbeParseError) as exc:
        module.fail_json(msg=f"cannot read MemAvailable from /proc/meminfo: {exc}")
    if mem["memory_available_bytes"] is None:
        module.fail_json(msg="/proc/meminfo has no MemAvailable; set memory_available_bytes")
    return mem["memory_available_bytes"]


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, **ARGUMENT_RULES)
    p = module.params
    problem = options_problem(p)
    if problem:
        module.fail_json(msg=problem)

    files = []
    try:
        if p["model_path"]:
            model = read_gguf(p["model_path"])
            files = model.paths
            arch = architecture_from_gguf(model)
        else:
            arch = p["model_params"]
        arch = normalise_architecture(arch)
    except (GgufError, PlanError) as exc:
        module.fail_json(msg=str(exc), model_files=files)

    available = p["memory_available_bytes"]
    if available is None:
        available = available_memory(module)

    problem, out = plan_outcome(p, arch, files, available)
    if problem:
        module.fail_json(msg=problem, **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
