# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which folders under the llama.cpp prefix are the role's builds, and which of them to remove.

The role removes only what it recorded: a folder ``<stamp>`` whose ``build-info.json`` names that
stamp (the build script writes it last, then renames the whole folder into place), and a
``<stamp>.partial`` a killed build left (marked by the script from its first moment, or empty, or
laid out exactly as the script lays it out). Anything else under the prefix, a link included, is
someone else's and is left alone.

Also how the module's readings of the host's toolchain (the CUDA toolkit, the compiler, the
build dependencies dpkg lists) become the values the build stamp names. Pure functions; the
module does the I/O.
"""

from __future__ import annotations

import re

STAMP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
STAGE_SUFFIX = ".partial"
STAGE_MARKER = ".sparkops-stage"
# What the build script puts in a stage (releases before the marker wrote no marker).
STAGE_LAYOUT = {"bin", "lib", "build-info.json", STAGE_MARKER}
CURRENT = "current"


def classify(name: str, real_dir: bool, entries: list[str], record) -> str:
    """``build``, ``partial`` (a killed build's stage) or ``other`` (not the role's)."""
    if not real_dir or not STAMP_RE.match(name):
        return "other"
    if name.endswith(STAGE_SUFFIX):
        if not entries or STAGE_MARKER in entries or set(entries) <= STAGE_LAYOUT:
            return "partial"
        return "other"
    if isinstance(record, dict) and record.get("stamp") == name:
        return "build"
    return "other"


def prune_plan(builds: dict[str, int], keep: int, protect: list[str]) -> list[str]:
    """Builds to remove: all but the protected ones (the build in use and the one ``current``
    leads to) and the newest others, so that ``keep`` remain. ``builds`` maps name to mtime."""
    kept = [name for name in builds if name in protect]
    others = sorted(
        (name for name in builds if name not in protect),
        key=lambda name: (builds[name], name),
        reverse=True,
    )
    return sorted(others[max(keep - len(kept), 0) :])


NVCC_RELEASE_RE = re.compile(r"release [0-9.]+, V([0-9.]+)")


def cuda_version(version_json, nvcc_output: str) -> str:
    """The toolkit's version as the build stamp names it: its version.json's ``cuda.version``,
    else the release ``nvcc --version`` prints, else ``none`` (no toolkit)."""
    cuda = version_json.get("cuda") if isinstance(version_json, dict) else None
    if isinstance(cuda, dict) and isinstance(cuda.get("version"), str):
        return cuda["version"]
    found = NVCC_RELEASE_RE.findall(nvcc_output or "")
    return found[0] if found else "none"


def compiler_line(output: str) -> str:
    """The first line ``c++ --version`` prints (the compiler and its release), or ``unknown``."""
    lines = (output or "").splitlines()
    return lines[0] if lines else "unknown"


def missing_packages(wanted: list[str], dpkg_output: str) -> list[str]:
    """The packages of ``wanted`` that ``dpkg-query --show --showformat='${Package}
    ${db:Status-Status}\\n'`` does not list as installed, in their order."""
    installed = {
        line.split(" ")[0]
        for line in (dpkg_output or "").splitlines()
        if line.endswith(" installed")
    }
    return [name for name in wanted if name not in installed]
