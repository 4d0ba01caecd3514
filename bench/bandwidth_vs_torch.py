#!/usr/bin/env python3
# Copyright: sparkops.llm maintainers
# SPDX-License-Identifier: GPL-3.0-or-later
"""GPU bandwidth: memory_bandwidth's libcudart probe against a PyTorch device-to-device copy.

Both copy the same number of bytes and count bytes read plus written; both run in this one
process, alternating, so clocks and load are the same. Prints one JSON line with the ratio
probe / torch (the goal is at least 0.95). Needs PyTorch with CUDA, so it runs on a GPU machine.
"""

from __future__ import annotations

import json
import sys
import time

from _collection import import_collection


def torch_copy_gbps(buffer_mib: int, iterations: int) -> float:
    import torch

    size = buffer_mib * 1024 * 1024
    src = torch.ones(size, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    dst.copy_(src)
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iterations):
        dst.copy_(src)
    stop.record()
    stop.synchronize()
    seconds = start.elapsed_time(stop) / 1000.0
    del src, dst
    torch.cuda.empty_cache()
    return 2 * size * iterations / seconds / 1e9


def main() -> int:
    import_collection()
    from ansible_collections.sparkops.llm.plugins.module_utils.bandwidth import measure_gpu

    buffer_mib, iterations, rounds = 1024, 100, 3
    probe, torch_runs = [], []
    started = time.monotonic()
    for _ in range(rounds):
        probe.append(measure_gpu(buffer_mib=buffer_mib, iterations=iterations)["gbps"])
        torch_runs.append(torch_copy_gbps(buffer_mib, iterations))
    default_run = measure_gpu()  # what the module does with its defaults
    best_probe, best_torch = max(probe), max(torch_runs)
    print(
        json.dumps(
            {
                "buffer_mib": buffer_mib,
                "iterations": iterations,
                "probe_gbps": probe,
                "torch_gbps": [round(v, 1) for v in torch_runs],
                "probe_over_torch": round(best_probe / best_torch, 4),
                "module_default_gbps": default_run["gbps"],
                "module_default_method": default_run["method"],
                "module_default_over_torch": round(default_run["gbps"] / best_torch, 4),
                "seconds": round(time.monotonic() - started, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
