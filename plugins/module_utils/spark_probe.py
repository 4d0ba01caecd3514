# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure parsers for what a DGX Spark (or any NVIDIA Linux host) reports about itself.

No I/O here: modules read files / run commands and hand the text to these functions.
"""

from __future__ import annotations

import json
import re

NVIDIA_SMI_QUERY = "name,compute_cap,driver_version,memory.total"
NVIDIA_SMI_ARGS = ["--query-gpu=" + NVIDIA_SMI_QUERY, "--format=csv,noheader,nounits"]

# Values nvidia-smi prints when a field is unsupported (GB10 unified memory: "[N/A]").
_NA_VALUES = {"", "[n/a]", "n/a", "[not supported]", "not supported", "[unknown error]"}

_CUDA_VERSION_RE = re.compile(r"CUDA Version\s*:\s*([0-9]+(?:\.[0-9]+)*)")
_MEMINFO_RE = re.compile(r"^(\w+):\s+(\d+)(?:\s+(kB))?\s*$")


class ProbeParseError(ValueError):
    """Output that does not have the expected shape."""


def _na(value):
    return value.strip().lower() in _NA_VALUES


def _int_or_none(value):
    value = value.strip()
    if _na(value):
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def parse_nvidia_smi_gpus(text):
    """Parse ``nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total
    --format=csv,noheader,nounits``: one dict per GPU line.

    memory_total_mib is None where nvidia-smi prints ``[N/A]`` (GB10 unified memory).
    Raises ProbeParseError when no line has the four expected fields.
    """
    gpus = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 4:
            continue
        name, cap, driver, mem = fields
        cap_ok = _na(cap) or re.match(r"^\d+\.\d+$", cap)
        if _na(name) or not cap_ok:
            continue
        gpus.append(
            {
                "name": name,
                "compute_capability": None if _na(cap) else cap,
                "driver_version": None if _na(driver) else driver,
                "memory_total_mib": _int_or_none(mem),
            }
        )
    if not gpus:
        raise ProbeParseError(
            f"no GPU lines in nvidia-smi output (expected '{NVIDIA_SMI_QUERY}' CSV): "
            f"{text.strip()[:200]!r}"
        )
    return gpus


def parse_nvidia_smi_cuda_version(text):
    """The ``CUDA Version: 13.0`` of plain ``nvidia-smi`` output (driver's CUDA), or None."""
    match = _CUDA_VERSION_RE.search(text or "")
    return match.group(1) if match else None


def parse_meminfo(text):
    """/proc/meminfo -> bytes for MemTotal, MemAvailable, SwapTotal, SwapFree (None if absent).

    All fields are also returned under ``fields`` (bytes where the unit is kB).
    """
    fields = {}
    for line in text.splitlines():
        match = _MEMINFO_RE.match(line.strip())
        if not match:
            continue
        key, value, unit = match.groups()
        fields[key] = int(value) * (1024 if unit == "kB" else 1)
    if "MemTotal" not in fields:
        raise ProbeParseError("no MemTotal line in /proc/meminfo text")
    return {
        "memory_total_bytes": fields.get("MemTotal"),
        "memory_available_bytes": fields.get("MemAvailable"),
        "swap_total_bytes": fields.get("SwapTotal"),
        "swap_free_bytes": fields.get("SwapFree"),
        "fields": fields,
    }


def parse_cuda_version_json(text):
    """/usr/local/cuda/version.json -> toolkit version string (``13.0.2``) or None."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    cuda = data.get("cuda")
    if isinstance(cuda, dict) and cuda.get("version"):
        return str(cuda["version"])
    return None


def parse_os_release_style(text):
    """KEY=VALUE lines (/etc/dgx-release, /etc/os-release); values may be quoted."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _sep, value = line.partition("=")
        key = key.strip()
        if key.startswith("export "):
            key = key[len("export ") :].strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[key] = value
    return out


def dgx_os_version(release):
    """Version from parsed /etc/dgx-release (DGX_SWBUILD_VERSION, else DGX_OTA_VERSION)."""
    for key in ("DGX_SWBUILD_VERSION", "DGX_OTA_VERSION", "DGX_VERSION"):
        if release.get(key):
            return release[key]
    return None


def parse_device_tree_model(data):
    """/proc/device-tree/model (bytes or str, NUL-terminated) -> str or None."""
    if data is None:
        return None
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    data = data.split("\x00", 1)[0].strip()
    return data or None


def parse_fwupd_devices(text, internal_only=False):
    """``fwupdmgr get-devices --json`` -> {device name: version}.

    Devices without a Name are keyed by DeviceId; those without a Version map to None.
    Duplicate names get the DeviceId appended so no entry is lost. ``internal_only`` keeps the
    devices fwupd flags ``internal`` ("internal to the platform and cannot be removed easily",
    FwupdDeviceFlags): a USB device that is plugged in is not part of the platform.
    """
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ProbeParseError(f"fwupdmgr output is not JSON: {exc}") from exc
    devices = data.get("Devices", []) if isinstance(data, dict) else []
    out = {}
    for dev in devices if isinstance(devices, list) else []:
        if not isinstance(dev, dict):
            continue
        if internal_only and "internal" not in (dev.get("Flags") or []):
            continue
        name = dev.get("Name") or dev.get("DeviceId")
        if not name:
            continue
        if name in out and dev.get("DeviceId"):
            name = f"{name} ({dev['DeviceId'][:8]})"
        version = dev.get("Version")
        out[name] = None if version is None else str(version)
    return out


def is_gb10(gpu_name=None, compute_capability=None):
    """GB10: the driver names it ``NVIDIA GB10``; compute capability 12.1 (sm_121)."""
    if gpu_name and re.search(r"\bGB10\b", gpu_name, re.IGNORECASE):
        return True
    return (compute_capability or "").strip() == "12.1"


def is_dgx_spark(device_model=None, dgx_release=None):
    """DGX Spark: device-tree model says ``DGX Spark``, or /etc/dgx-release does."""
    if device_model and "dgx spark" in device_model.lower():
        return True
    for value in (dgx_release or {}).values():
        if "spark" in str(value).lower():
            return True
    return False
