# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import json

import pytest
from ansible_collections.sparkops.llm.plugins.modules import gb10_info


@pytest.fixture
def spark_files(tmp_path, monkeypatch, fixture_text):
    """Point the module's /proc and /etc reads at Spark-shaped fixtures."""
    for name, attr in (
        ("meminfo_gb10.txt", "MEMINFO_PATH"),
        ("dgx-release", "DGX_RELEASE_PATH"),
        ("device-tree-model", "DEVICE_TREE_MODEL_PATH"),
    ):
        path = tmp_path / name
        path.write_bytes(fixture_text(name, binary=True))
        monkeypatch.setattr(gb10_info, attr, str(path))
    cuda = tmp_path / "cuda"
    cuda.mkdir()
    (cuda / "version.json").write_text(fixture_text("cuda_version.json"))
    return {"cuda_home": str(cuda)}


@pytest.fixture
def fake_smi(fake_bin, fixtures_dir):
    def make(query_fixture, header_fixture="nvidia_smi_header_gb10.txt", rc=0):
        fx = fixtures_dir
        script = (
            'case "$1" in\n'
            f"  --query-gpu=*) /bin/cat '{fx / query_fixture}'; exit {rc} ;;\n"
            f"  *) /bin/cat '{fx / header_fixture}' ;;\n"
            "esac\n"
        )
        return fake_bin("nvidia-smi", script)

    return make


def test_gb10_spark(module_runner, fake_bin, fake_smi, spark_files, fixtures_dir):
    fake_smi("nvidia_smi_query_gb10.csv")
    fake_bin("fwupdmgr", f"/bin/cat '{fixtures_dir / 'fwupdmgr_get_devices.json'}'\n")
    failed, r = module_runner(
        gb10_info.main, {**spark_files, "require_gpu": True, "min_memory_gib": 100}
    )
    assert not failed, r.get("msg")
    assert r["changed"] is False
    assert r["gpu_present"] is True
    assert r["gpu_name"] == "NVIDIA GB10"
    assert r["compute_capability"] == "12.1"
    assert r["driver_version"] == "580.95.05"
    assert r["gpus"][0]["memory_total_mib"] is None
    assert r["cuda_driver_version"] == "13.0"
    assert r["cuda_toolkit_version"] == "13.0.2"
    assert r["is_gb10"] is True
    assert r["is_dgx_spark"] is True
    assert r["device_model"] == "NVIDIA DGX Spark"
    assert r["dgx_os_version"] == "7.5.0"
    assert r["memory_total_bytes"] == 127600748 * 1024
    assert r["swap_total_bytes"] == 16777212 * 1024
    assert r["fwupd_present"] is True
    assert r["firmware"]["System Firmware"] == "0.0.1.18"
    assert isinstance(r["disk_free_bytes"], int)


def test_h100_refused_unless_allowed(module_runner, fake_smi, spark_files):
    fake_smi("nvidia_smi_query_h100.csv")
    failed, r = module_runner(gb10_info.main, dict(spark_files))
    assert failed
    assert "NVIDIA H100 80GB HBM3" in r["msg"] and "allow_non_gb10" in r["msg"]
    assert r["is_gb10"] is False  # facts still returned with the failure
    failed, r = module_runner(gb10_info.main, {**spark_files, "allow_non_gb10": True})
    assert not failed, r.get("msg")
    assert r["gpus"][0]["memory_total_mib"] == 81559
    assert r["fwupd_present"] is False and r["firmware"] == {}


def test_no_nvidia_smi(module_runner, fake_bin, spark_files, tmp_path):
    failed, r = module_runner(gb10_info.main, dict(spark_files))
    assert not failed, r.get("msg")
    assert r["gpu_present"] is False
    assert r["gpu_name"] is None and r["is_gb10"] is False
    failed, r = module_runner(gb10_info.main, {**spark_files, "require_gpu": True})
    assert failed and "require_gpu" in r["msg"]


def test_nvidia_smi_path_not_executable(module_runner, spark_files, tmp_path):
    failed, r = module_runner(
        gb10_info.main, {**spark_files, "nvidia_smi_path": str(tmp_path / "missing-smi")}
    )
    assert failed and "not an executable" in r["msg"]


def test_driver_not_loaded_is_a_warning(module_runner, fake_smi, spark_files):
    fake_smi("nvidia_smi_no_driver.txt", rc=9)
    failed, r = module_runner(gb10_info.main, dict(spark_files))
    assert not failed
    assert r["gpu_present"] is False
    # ansible-core 2.19 returns warnings as structured summaries: search their text
    assert "nvidia-smi failed (rc=9)" in json.dumps(r.get("warnings", []))


def test_thresholds_name_measured_and_required(module_runner, fake_smi, spark_files):
    fake_smi("nvidia_smi_query_gb10.csv")
    failed, r = module_runner(
        gb10_info.main,
        {**spark_files, "min_memory_gib": 200, "min_disk_free_gib": 1e9},
    )
    assert failed
    assert "memory total 121.7 GiB is below the required 200.0 GiB" in r["msg"]
    assert "below the required 1000000000.0 GiB (min_disk_free_gib)" in r["msg"]
