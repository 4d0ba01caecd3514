#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: memory_bandwidth
short_description: Measure host and GPU memory copy bandwidth with the standard library and ctypes
version_added: 0.1.0
description:
  - Host bandwidth - one thread per core copies between its own buffers with C(ctypes.memmove)
    (the call releases the GIL, so all cores copy at once).
  - GPU bandwidth - device-to-device C(cudaMemcpy) through C(libcudart), timed with CUDA events.
  - Both count bytes read plus bytes written (2 x size per copy). A DGX Spark's LPDDR5x is
    specified at about 273 GB/s; decode speed of a memory-bound model follows this figure.
  - A default run takes a few seconds. It only measures, so check mode runs it too.
author:
  - sparkops.llm maintainers
options:
  host:
    description: Measure host (CPU) copy bandwidth.
    type: bool
    default: true
  gpu:
    description:
      - C(auto) measures when a CUDA runtime and device are usable, C(always) fails when they
        are not, C(never) skips the GPU.
    type: str
    choices: [auto, always, never]
    default: auto
  host_buffer_mib:
    description:
      Total host source buffer in MiB, split over the threads (each thread also gets a
      destination of the same size).
    type: int
    default: 512
  gpu_buffer_mib:
    description: Size of each of the two device buffers in MiB.
    type: int
    default: 1024
  threads:
    description: Host copy threads; C(0) uses one per CPU (C(os.cpu_count())).
    type: int
    default: 0
  iterations:
    description:
      Timed copies per measurement; C(0) picks as many as fit I(time_budget_s) after a warm-up
      copy.
    type: int
    default: 0
  time_budget_s:
    description:
      Seconds each measurement (host, GPU) aims to take when I(iterations) is C(0). Many
      copies of a large buffer fit in one second, enough for a floor check.
    type: float
    default: 3.0
  min_host_gbps:
    description: Fail when host bandwidth is below this; C(0) disables the check.
    type: float
    default: 0
  min_gpu_gbps:
    description:
      Fail when GPU bandwidth is below this (only when it was measured); C(0) disables the check.
    type: float
    default: 0
  cudart_path:
    description:
      Path of C(libcudart.so*) to load instead of searching the loader path and
      C(/usr/local/cuda).
    type: path
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Measure memory bandwidth
  sparkops.llm.memory_bandwidth:
  register: bw

- name: Require the bandwidth a Spark should deliver
  sparkops.llm.memory_bandwidth:
    gpu: always
    min_gpu_gbps: 180
"""

RETURN = r"""
host_gbps:
  description: Host copy bandwidth in GB/s (10^9 bytes, read + write); null when I(host=false).
  returned: always
  type: float
  sample: 110.4
host_method:
  description: How the host figure was measured.
  returned: always
  type: str
  sample: "host: 20 threads x ctypes.memmove, 512 MiB total (25.6 MiB per thread) x 40, ..."
gpu_gbps:
  description: Device-to-device copy bandwidth in GB/s; null when not measured.
  returned: always
  type: float
  sample: 230.5
gpu_method:
  description: How the GPU figure was measured, or why it was not.
  returned: always
  type: str
  sample: "gpu: libcudart cudaMemcpy D2D, events, 1024 MiB x 100, read+write counted"
gpu_present:
  description: Whether a CUDA runtime found at least one device.
  returned: always
  type: bool
cudart:
  description: The libcudart that was loaded; null when none.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.bandwidth import (
    CudaUnavailable,
    measure_gpu,
    measure_host,
    threshold_failure,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type="bool", default=True),
            gpu=dict(type="str", choices=["auto", "always", "never"], default="auto"),
            host_buffer_mib=dict(type="int", default=512),
            gpu_buffer_mib=dict(type="int", default=1024),
            threads=dict(type="int", default=0),
            iterations=dict(type="int", default=0),
            time_budget_s=dict(type="float", default=3.0),
            min_host_gbps=dict(type="float", default=0),
            min_gpu_gbps=dict(type="float", default=0),
            cudart_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for key in ("host_buffer_mib", "gpu_buffer_mib"):
        if p[key] <= 0:
            module.fail_json(msg=f"{key} must be positive, got {p[key]}")
    if p["threads"] < 0 or p["iterations"] < 0:
        module.fail_json(msg="threads and iterations must be 0 (automatic) or positive")

    result = dict(
        changed=False,
        host_gbps=None,
        host_method=None,
        gpu_gbps=None,
        gpu_method=None,
        gpu_present=False,
        cudart=None,
    )
    if p["host"]:
        host = measure_host(p["host_buffer_mib"], p["threads"], p["iterations"], p["time_budget_s"])
        result.update(host_gbps=host["gbps"], host_method=host["method"])

    if p["gpu"] == "never":
        result["gpu_method"] = "gpu: not measured (gpu=never)"
    else:
        try:
            gpu = measure_gpu(
                p["gpu_buffer_mib"], p["iterations"], p["cudart_path"], p["time_budget_s"]
            )
        except CudaUnavailable as exc:
            result["gpu_method"] = f"gpu: not measured: {exc}"
            if p["gpu"] == "always":
                module.fail_json(
                    msg=f"gpu=always but GPU bandwidth cannot be measured: {exc}", **result
                )
        else:
            result.update(
                gpu_gbps=gpu["gbps"],
                gpu_method=gpu["method"],
                gpu_present=True,
                cudart=gpu["cudart"],
            )

    failures = [
        msg
        for msg in (
            threshold_failure("host", result["host_gbps"], p["min_host_gbps"]),
            threshold_failure("gpu", result["gpu_gbps"], p["min_gpu_gbps"]),
        )
        if msg
    ]
    if failures:
        module.fail_json(msg="; ".join(failures), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
