# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils import bandwidth
from ansible_collections.sparkops.llm.plugins.module_utils.bandwidth import (
    CudaUnavailable,
    copy_gbps,
    iterations_for_budget,
    measure_gpu,
    measure_host,
    threshold_failure,
)
from ansible_collections.sparkops.llm.plugins.modules import memory_bandwidth as mb_module


def test_copy_gbps_counts_read_and_write():
    # 1 GB copied 10 times in 1 s = 10 GB read + 10 GB written
    assert copy_gbps(1_000_000_000, 10, 1.0) == pytest.approx(20.0)
    assert copy_gbps(256 * 1024 * 1024, 4, 0.5) == pytest.approx(
        2 * 256 * 1024 * 1024 * 4 / 0.5 / 1e9
    )
    with pytest.raises(ValueError):
        copy_gbps(1, 1, 0)


def test_threshold_message_names_measured_and_required():
    msg = threshold_failure("gpu", 150.04, 200)
    assert "150.0 GB/s" in msg and "200.0 GB/s" in msg and "min_gpu_gbps" in msg
    assert threshold_failure("gpu", 250, 200) is None
    assert threshold_failure("host", 1, 0) is None
    assert threshold_failure("gpu", None, 200) is None


def test_iterations_for_budget_bounds():
    # 1 GiB at 200 GB/s takes ~10.7 ms per copy -> 2 s budget is ~186, capped at 50
    assert iterations_for_budget(1 << 30, 200, 2.0) == 50
    assert iterations_for_budget(1 << 30, 200, 0.05) == 4
    assert iterations_for_budget(1 << 30, 1, 0.001) == 1


def test_small_real_host_run():
    result = measure_host(buffer_mib=4, threads=2, iterations=3)
    assert result["gbps"] > 0
    assert result["threads"] == 2
    assert result["iterations"] == 3
    assert result["bytes"] == 4 * 1024 * 1024
    assert result["method"].startswith("host: 2 threads x ctypes.memmove")


def test_host_rejects_zero_buffer():
    with pytest.raises(ValueError):
        measure_host(buffer_mib=0)


def test_gpu_unavailable_without_cudart(monkeypatch):
    monkeypatch.setattr(bandwidth, "find_cudart", lambda explicit=None: None)
    with pytest.raises(CudaUnavailable, match="no CUDA runtime"):
        measure_gpu()


def test_gpu_unloadable_library(tmp_path):
    fake = tmp_path / "libcudart.so.13"
    fake.write_bytes(b"not an ELF")
    with pytest.raises(CudaUnavailable, match="cannot load"):
        measure_gpu(cudart_path=str(fake))


def test_find_cudart_explicit_missing(tmp_path):
    assert bandwidth.find_cudart(str(tmp_path / "missing.so")) is None


def test_module_auto_without_cuda(module_runner, monkeypatch):
    monkeypatch.setattr(bandwidth, "find_cudart", lambda explicit=None: None)
    failed, result = module_runner(
        mb_module.main, {"host_buffer_mib": 4, "threads": 1, "iterations": 2}
    )
    assert not failed, result.get("msg")
    assert result["changed"] is False
    assert result["host_gbps"] > 0
    assert result["gpu_gbps"] is None
    assert result["gpu_present"] is False
    assert "no CUDA runtime" in result["gpu_method"]


def test_module_always_fails_without_cuda(module_runner, monkeypatch):
    monkeypatch.setattr(bandwidth, "find_cudart", lambda explicit=None: None)
    failed, result = module_runner(mb_module.main, {"host": False, "gpu": "always"})
    assert failed
    assert "gpu=always" in result["msg"] and "no CUDA runtime" in result["msg"]


def test_module_host_threshold(module_runner):
    failed, result = module_runner(
        mb_module.main,
        {"host_buffer_mib": 4, "threads": 1, "iterations": 2, "gpu": "never", "min_host_gbps": 1e9},
    )
    assert failed
    assert "below the required 1000000000.0 GB/s" in result["msg"]
    assert result["gpu_method"] == "gpu: not measured (gpu=never)"
