# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils.spark_probe import (
    ProbeParseError,
    dgx_os_version,
    is_dgx_spark,
    is_gb10,
    parse_cuda_version_json,
    parse_device_tree_model,
    parse_fwupd_devices,
    parse_meminfo,
    parse_nvidia_smi_cuda_version,
    parse_nvidia_smi_gpus,
    parse_os_release_style,
)


def test_gb10_memory_na_is_none_not_int(fixture_text):
    (gpu,) = parse_nvidia_smi_gpus(fixture_text("nvidia_smi_query_gb10.csv"))
    assert gpu == {
        "name": "NVIDIA GB10",
        "compute_capability": "12.1",
        "driver_version": "580.95.05",
        "memory_total_mib": None,
    }
    assert is_gb10(gpu["name"], gpu["compute_capability"])


def test_h100_memory_is_int_and_not_gb10(fixture_text):
    (gpu,) = parse_nvidia_smi_gpus(fixture_text("nvidia_smi_query_h100.csv"))
    assert gpu["memory_total_mib"] == 81559
    assert gpu["compute_capability"] == "9.0"
    assert not is_gb10(gpu["name"], gpu["compute_capability"])


def test_two_gpus(fixture_text):
    gpus = parse_nvidia_smi_gpus(fixture_text("nvidia_smi_query_h100x2.csv"))
    assert len(gpus) == 2


@pytest.mark.parametrize(
    "text",
    ["", "garbage\n", "NVIDIA GB10, 12.1\n", "a, b, c, d\n"],
)
def test_malformed_query_output(text):
    with pytest.raises(ProbeParseError):
        parse_nvidia_smi_gpus(text)


def test_driver_failure_text_is_not_parsed_as_gpu(fixture_text):
    with pytest.raises(ProbeParseError, match="no GPU lines"):
        parse_nvidia_smi_gpus(fixture_text("nvidia_smi_no_driver.txt"))


def test_cuda_version_from_header(fixture_text):
    assert parse_nvidia_smi_cuda_version(fixture_text("nvidia_smi_header_gb10.txt")) == "13.0"
    assert parse_nvidia_smi_cuda_version("no header") is None


def test_is_gb10_by_compute_capability_only():
    assert is_gb10("Some Future Name", "12.1")
    assert not is_gb10("NVIDIA GB100", "10.0")
    assert not is_gb10(None, None)


def test_meminfo_gb10(fixture_text):
    mem = parse_meminfo(fixture_text("meminfo_gb10.txt"))
    assert mem["memory_total_bytes"] == 127600748 * 1024
    assert mem["memory_available_bytes"] == 121544128 * 1024
    assert mem["swap_total_bytes"] == 16777212 * 1024
    assert mem["swap_free_bytes"] == 16777212 * 1024
    assert mem["fields"]["HugePages_Total"] == 0  # unit-less line kept as a count


def test_meminfo_x86_capture(fixture_text):
    text = fixture_text("meminfo_x86_ci.txt")
    mem = parse_meminfo(text)
    first = text.splitlines()[0].split()
    assert mem["memory_total_bytes"] == int(first[1]) * 1024
    assert 0 < mem["memory_available_bytes"] <= mem["memory_total_bytes"]


def test_meminfo_without_memtotal():
    with pytest.raises(ProbeParseError):
        parse_meminfo("MemFree: 1 kB\n")


def test_cuda_version_json(fixture_text):
    assert parse_cuda_version_json(fixture_text("cuda_version.json")) == "13.0.2"
    assert parse_cuda_version_json("{not json") is None
    assert parse_cuda_version_json('{"cuda_cudart": {"version": "1"}}') is None
    assert parse_cuda_version_json("[]") is None


def test_dgx_release(fixture_text):
    rel = parse_os_release_style(fixture_text("dgx-release"))
    assert rel["DGX_PRETTY_NAME"] == "NVIDIA DGX Spark"
    assert rel["DGX_COMMIT_ID"] == "5e0a2bd"
    assert rel["DGX_PLATFORM"] == "DGX Server for KVM"
    assert dgx_os_version(rel) == "7.5.0"
    assert is_dgx_spark(None, rel)
    assert dgx_os_version({}) is None


def test_device_tree_model(fixture_text):
    model = parse_device_tree_model(fixture_text("device-tree-model", binary=True))
    assert model == "NVIDIA DGX Spark"
    assert is_dgx_spark(model, {})
    assert parse_device_tree_model(None) is None
    assert parse_device_tree_model(b"\x00") is None


def test_not_spark():
    assert not is_dgx_spark("ASUS Ascent GX10", {"DGX_PRETTY_NAME": "DGX Station"})
    assert not is_dgx_spark(None, None)


def test_fwupd_devices(fixture_text):
    fw = parse_fwupd_devices(fixture_text("fwupdmgr_get_devices.json"))
    assert fw["System Firmware"] == "0.0.1.18"
    assert fw["Samsung SSD 990 PRO 4TB"] == "4B2QJXD7"
    assert fw["USB Receiver"] is None  # no Version key
    assert fw["0000000000000000000000000000000000000001"] is None  # no Name: keyed by DeviceId
    assert len(fw) == 5


def test_fwupd_platform_devices_leave_out_removable_ones(fixture_text):
    # "internal": internal to the platform and cannot be removed easily (FwupdDeviceFlags).
    fw = parse_fwupd_devices(fixture_text("fwupdmgr_get_devices.json"), internal_only=True)
    assert sorted(fw) == ["Samsung SSD 990 PRO 4TB", "System Firmware", "TPM"]


def test_fwupd_tolerates_odd_shapes():
    assert parse_fwupd_devices('{"Devices": "x"}') == {}
    assert parse_fwupd_devices("[]") == {}
    dup = '{"Devices": [{"Name": "A", "Version": "1", "DeviceId": "aaaaaaaaaa"},'
    dup += ' {"Name": "A", "Version": "2", "DeviceId": "bbbbbbbbbb"}]}'
    assert parse_fwupd_devices(dup) == {"A": "1", "A (bbbbbbbb)": "2"}
    with pytest.raises(ProbeParseError):
        parse_fwupd_devices("WARNING: not json")
