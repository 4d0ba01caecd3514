#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gb10_info
short_description: Report GPU, CUDA, memory, disk and firmware facts of a GB10 / DGX Spark host
version_added: 0.1.0
description:
  - Reads C(nvidia-smi), C(/proc/meminfo), C(<cuda_home>/version.json), C(/etc/dgx-release),
    C(/proc/device-tree/model) and C(fwupdmgr get-devices --json) and returns what they say.
  - GB10 has unified memory, so C(nvidia-smi) prints C([N/A]) for GPU memory; memory figures come
    from C(/proc/meminfo) instead.
  - Optional thresholds fail the task with a message naming the measured and the required value.
  - Never changes anything on the host.
author:
  - sparkops.llm maintainers
options:
  disk_path:
    description: Path whose file system free space is reported (where models are stored).
    type: path
    default: /
  require_gpu:
    description: Fail when no NVIDIA GPU is found (no C(nvidia-smi) or no GPU listed).
    type: bool
    default: false
  allow_non_gb10:
    description:
      - When a GPU is present and it is not a GB10, fail unless this is true.
      - Set it to run the collection on other NVIDIA GPUs (for example in CI on an H100).
    type: bool
    default: false
  min_memory_gib:
    description: Fail when MemTotal is below this many GiB. C(0) disables the check.
    type: float
    default: 0
  min_disk_free_gib:
    description: Fail when I(disk_path) has less free space than this many GiB. C(0) disables it.
    type: float
    default: 0
  nvidia_smi_path:
    description:
      Path of C(nvidia-smi). Looked up on C(PATH) (and the sbin directories) when unset.
    type: path
  cuda_home:
    description: CUDA toolkit root; C(version.json) there gives I(cuda_toolkit_version).
    type: path
    default: /usr/local/cuda
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Identify a DGX Spark by I(is_dgx_spark), not by the GPU name alone; OEM GB10 machines exist.
"""

EXAMPLES = r"""
- name: Gather GB10 facts
  sparkops.llm.gb10_info:
  register: gb10

- name: Require a GB10 with enough memory and disk for gpt-oss-120b
  sparkops.llm.gb10_info:
    require_gpu: true
    min_memory_gib: 100
    disk_path: /srv/models
    min_disk_free_gib: 80
  register: gb10

- name: Allow running on another NVIDIA GPU (CI)
  sparkops.llm.gb10_info:
    require_gpu: true
    allow_non_gb10: true
"""

RETURN = r"""
gpu_present:
  description: Whether C(nvidia-smi) listed at least one GPU.
  returned: always
  type: bool
  sample: true
gpu_name:
  description: Name of the first GPU as the driver reports it.
  returned: always
  type: str
  sample: NVIDIA GB10
gpus:
  description:
    Every GPU line of C(nvidia-smi); C(memory_total_mib) is null where the driver prints
    C([N/A]).
  returned: always
  type: list
  elements: dict
  sample:
    - name: NVIDIA GB10
      compute_capability: "12.1"
      driver_version: 580.95.05
      memory_total_mib: null
compute_capability:
  description: Compute capability of the first GPU.
  returned: always
  type: str
  sample: "12.1"
driver_version:
  description: NVIDIA driver version.
  returned: always
  type: str
  sample: 580.95.05
cuda_driver_version:
  description:
    Highest CUDA version the driver supports (C(CUDA Version) in the C(nvidia-smi) header).
  returned: always
  type: str
  sample: "13.0"
cuda_toolkit_version:
  description: Toolkit version from C(<cuda_home>/version.json); null when absent.
  returned: always
  type: str
  sample: 13.0.2
is_gb10:
  description: GPU name contains GB10 or compute capability is 12.1.
  returned: always
  type: bool
  sample: true
is_dgx_spark:
  description: C(/proc/device-tree/model) or C(/etc/dgx-release) names a DGX Spark.
  returned: always
  type: bool
  sample: true
device_model:
  description: Contents of C(/proc/device-tree/model) without the trailing NUL; null when absent.
  returned: always
  type: str
  sample: NVIDIA DGX Spark
dgx_os_version:
  description: C(DGX_SWBUILD_VERSION) from C(/etc/dgx-release); null when absent.
  returned: always
  type: str
  sample: 7.5.0
dgx_release:
  description: All KEY=VALUE pairs of C(/etc/dgx-release).
  returned: always
  type: dict
kernel:
  description: Running kernel release.
  returned: always
  type: str
  sample: 6.17.0-1014-nvidia
architecture:
  description: Machine architecture.
  returned: always
  type: str
  sample: aarch64
memory_total_bytes:
  description: MemTotal from C(/proc/meminfo).
  returned: always
  type: int
  sample: 130663165952
memory_available_bytes:
  description: MemAvailable from C(/proc/meminfo).
  returned: always
  type: int
swap_total_bytes:
  description: SwapTotal from C(/proc/meminfo).
  returned: always
  type: int
swap_free_bytes:
  description: SwapFree from C(/proc/meminfo).
  returned: always
  type: int
disk_path:
  description: The path whose free space was measured.
  returned: always
  type: str
  sample: /
disk_free_bytes:
  description: Bytes available to unprivileged users on I(disk_path)'s file system.
  returned: always
  type: int
firmware:
  description:
    Device name to firmware version from C(fwupdmgr get-devices --json); empty when fwupdmgr is
    absent.
  returned: always
  type: dict
  sample: {"UEFI Device Firmware": "0x00010014"}
platform_firmware:
  description:
    - The part of I(firmware) that belongs to the platform, the devices fwupd flags C(internal).
    - A removable device, such as a USB device that is plugged in, is left out, so that it
      is no platform change.
  returned: always
  type: dict
  sample: {"System Firmware": "0.0.1.18"}
fwupd_present:
  description: Whether C(fwupdmgr) was found.
  returned: always
  type: bool
"""

import os
import platform

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.spark_probe import (
    NVIDIA_SMI_ARGS,
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

GIB = 1024**3

# Module-level so unit tests can point them at fixtures.
MEMINFO_PATH = "/proc/meminfo"
DGX_RELEASE_PATH = "/etc/dgx-release"
DEVICE_TREE_MODEL_PATH = "/proc/device-tree/model"


def _read(path, binary=False):
    try:
        with open(path, "rb" if binary else "r") as fh:
            return fh.read()
    except OSError:
        return None


def probe_gpu(module):
    """Return (gpus, cuda_driver_version, warnings)."""
    warnings = []
    path = module.params["nvidia_smi_path"]
    if path:
        if not os.access(path, os.X_OK):
            module.fail_json(msg=f"nvidia_smi_path {path} is not an executable file")
    else:
        path = module.get_bin_path("nvidia-smi", required=False)
    if not path:
        return [], None, warnings
    rc, out, err = module.run_command([path] + NVIDIA_SMI_ARGS)
    if rc != 0:
        warnings.append(f"nvidia-smi failed (rc={rc}): {(err or out).strip()[:300]}")
        return [], None, warnings
    try:
        gpus = parse_nvidia_smi_gpus(out)
    except ProbeParseError as exc:
        warnings.append(str(exc))
        return [], None, warnings
    rc, out, _err = module.run_command([path])
    cuda = parse_nvidia_smi_cuda_version(out) if rc == 0 else None
    return gpus, cuda, warnings


def probe_firmware(module):
    """(all devices, the platform's devices, fwupdmgr found, warnings)."""
    path = module.get_bin_path("fwupdmgr", required=False)
    if not path:
        return {}, {}, False, []
    rc, out, err = module.run_command([path, "get-devices", "--json"])
    if rc != 0:
        failure = f"fwupdmgr get-devices failed (rc={rc}): {(err or out).strip()[:300]}"
        return {}, {}, True, [failure]
    try:
        return parse_fwupd_devices(out), parse_fwupd_devices(out, internal_only=True), True, []
    except ProbeParseError as exc:
        return {}, {}, True, [str(exc)]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            disk_path=dict(type="path", default="/"),
            require_gpu=dict(type="bool", default=False),
            allow_non_gb10=dict(type="bool", default=False),
            min_memory_gib=dict(type="float", default=0),
            min_disk_free_gib=dict(type="float", default=0),
            nvidia_smi_path=dict(type="path"),
            cuda_home=dict(type="path", default="/usr/local/cuda"),
        ),
        supports_check_mode=True,
    )
    p = module.params

    gpus, cuda_driver, warnings = probe_gpu(module)
    first = gpus[0] if gpus else {}

    meminfo_text = _read(MEMINFO_PATH)
    try:
        mem = parse_meminfo(meminfo_text or "")
    except ProbeParseError as exc:
        module.fail_json(msg=f"cannot read {MEMINFO_PATH}: {exc}")

    version_json = _read(os.path.join(p["cuda_home"], "version.json"))
    dgx_release = parse_os_release_style(_read(DGX_RELEASE_PATH) or "")
    device_model = parse_device_tree_model(_read(DEVICE_TREE_MODEL_PATH, binary=True))

    disk_free = None
    try:
        st = os.statvfs(p["disk_path"])
        disk_free = st.f_bavail * st.f_frsize
    except OSError as exc:
        module.fail_json(msg=f"cannot stat disk_path {p['disk_path']}: {exc}")

    firmware, platform_firmware, fwupd_present, fw_warnings = probe_firmware(module)
    warnings.extend(fw_warnings)
    uname = platform.uname()

    result = dict(
        changed=False,
        gpu_present=bool(gpus),
        gpus=gpus,
        gpu_name=first.get("name"),
        compute_capability=first.get("compute_capability"),
        driver_version=first.get("driver_version"),
        cuda_driver_version=cuda_driver,
        cuda_toolkit_version=parse_cuda_version_json(version_json) if version_json else None,
        is_gb10=bool(gpus) and is_gb10(first.get("name"), first.get("compute_capability")),
        is_dgx_spark=is_dgx_spark(device_model, dgx_release),
        device_model=device_model,
        dgx_os_version=dgx_os_version(dgx_release),
        dgx_release=dgx_release,
        kernel=uname.release,
        architecture=uname.machine,
        memory_total_bytes=mem["memory_total_bytes"],
        memory_available_bytes=mem["memory_available_bytes"],
        swap_total_bytes=mem["swap_total_bytes"],
        swap_free_bytes=mem["swap_free_bytes"],
        disk_path=p["disk_path"],
        disk_free_bytes=disk_free,
        firmware=firmware,
        platform_firmware=platform_firmware,
        fwupd_present=fwupd_present,
    )
    for w in warnings:
        module.warn(w)

    failures = []
    if p["require_gpu"] and not gpus:
        failures.append(
            "no NVIDIA GPU found (nvidia-smi missing or listed no GPU) and require_gpu is true; "
            "install the NVIDIA driver or set nvidia_smi_path"
        )
    if gpus and not result["is_gb10"] and not p["allow_non_gb10"]:
        failures.append(
            f"GPU is {first.get('name')} (compute capability {first.get('compute_capability')}), "
            "not a GB10; set allow_non_gb10: true to use this collection on it"
        )
    total = mem["memory_total_bytes"] or 0
    if p["min_memory_gib"] and total < p["min_memory_gib"] * GIB:
        failures.append(
            f"memory total {total / GIB:.1f} GiB is below the required "
            f"{p['min_memory_gib']:.1f} GiB (min_memory_gib)"
        )
    if p["min_disk_free_gib"] and (disk_free or 0) < p["min_disk_free_gib"] * GIB:
        failures.append(
            f"free disk on {p['disk_path']} is {(disk_free or 0) / GIB:.1f} GiB, below the "
            f"required {p['min_disk_free_gib']:.1f} GiB (min_disk_free_gib)"
        )
    if failures:
        module.fail_json(msg="; ".join(failures), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
