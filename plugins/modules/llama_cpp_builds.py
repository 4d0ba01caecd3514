#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: llama_cpp_builds
short_description: List the llama.cpp builds under the prefix, read the toolchain, remove old builds
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - Lists the folders under I(prefix) without following a link. A build is a real folder
    C(<stamp>) whose C(build-info.json) names that stamp; a stage is a C(<stamp>.partial) that a
    killed build left (marked C(.sparkops-stage), empty, or laid out as the build script lays it
    out). Everything else, links included, is not the role's and is never removed.
  - With I(prune), removes every stage and the builds beyond I(keep), oldest first, never one in
    I(protect).
  - With I(folders), first refuses them as M(sparkops.llm.own_folders) does (the same message),
    before anything else is read or removed.
  - With I(cuda_home), I(compiler) and I(packages), also reads what the build stamp names and
    the build needs, in the same call (the CUDA toolkit, the compiler, the missing build
    dependencies). Read-only.
options:
  prefix:
    description: The folder of the builds (C(llama_cpp_prefix)).
    type: path
    required: true
  keep:
    description: Builds kept, the protected ones included.
    type: int
    default: 3
  protect:
    description: Builds never removed (the one in use, the one C(current) leads to).
    type: list
    elements: str
    default: []
  prune:
    description: Remove the stages and the builds beyond I(keep).
    type: bool
    default: false
  folders:
    description:
      - Folders to refuse first, as the option of the same name of M(sparkops.llm.own_folders).
    type: list
    elements: dict
    default: []
  unmarked_ok:
    description:
      - Folders of I(folders) accepted without the marker (see M(sparkops.llm.own_folders)).
    type: list
    elements: path
    default: []
  cuda_home:
    description:
      - A CUDA toolkit's folder to read (whether C(bin/nvcc) exists, and its version, from its
        C(version.json), else from C(nvcc --version)).
    type: path
  compiler:
    description: Read the first line of C(c++ --version).
    type: bool
    default: false
  packages:
    description: Packages to ask dpkg about; those not installed are returned.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
"""

EXAMPLES = r"""
- name: Refuse the role's folders, list the builds and read the toolchain
  sparkops.llm.llama_cpp_builds:
    prefix: /opt/sparkops/llama.cpp
    folders:
      - variable: llama_cpp_prefix
        path: /opt/sparkops/llama.cpp
        default: /opt/sparkops/llama.cpp
    cuda_home: /usr/local/cuda
    compiler: true
    packages: [cmake, ninja-build]
  register: llama_cpp_host

- name: Remove builds beyond three and leftovers of killed builds
  sparkops.llm.llama_cpp_builds:
    prefix: /opt/sparkops/llama.cpp
    keep: 3
    protect: [0c1e570-cuda-3fa9c2d1e0ab]
    prune: true
"""

RETURN = r"""
builds:
  description: The builds found, newest first.
  returned: always
  type: list
  elements: str
records:
  description: Each build's C(build-info.json), by build.
  returned: always
  type: dict
stages:
  description: The stages killed builds left (before any removal).
  returned: always
  type: list
  elements: str
current:
  description: Where the link C(current) under the prefix leads, or null when it is not a link.
  returned: always
  type: str
removed:
  description: The builds and stages removed (or, in check mode, to be removed).
  returned: always
  type: list
  elements: str
not_ours:
  description: Entries under the prefix that are not the role's and were left alone.
  returned: always
  type: list
  elements: str
cuda:
  description: The toolkit under I(cuda_home) (C(nvcc) whether C(bin/nvcc) exists, C(version) its
    version or C(none)).
  returned: when I(cuda_home) is set
  type: dict
  sample: {"nvcc": true, "version": "13.0.88"}
compiler:
  description: The first line of C(c++ --version), or C(unknown) when there is no compiler.
  returned: when I(compiler) is true
  type: str
missing_packages:
  description: The I(packages) that dpkg does not list as installed (all of them without dpkg).
  returned: always
  type: list
  elements: str
"""

import json
import os
import shutil
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.llama_cpp_builds import (
    CURRENT,
    classify,
    compiler_line,
    cuda_version,
    missing_packages,
    prune_plan,
)
from ansible_collections.sparkops.llm.plugins.module_utils.own_folders import folder_refusals


def read_record(path: str):
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def survey(prefix: str) -> tuple[dict, dict, list, list]:
    builds, records, stages, others = {}, {}, [], []
    with os.scandir(prefix) as entries:
        for entry in entries:
            real_dir = entry.is_dir(follow_symlinks=False)
            path = os.path.join(prefix, entry.name)
            names = os.listdir(path) if real_dir else []
            record = read_record(os.path.join(path, "build-info.json")) if real_dir else None
            kind = classify(entry.name, real_dir, names, record)
            if kind == "build":
                builds[entry.name] = entry.stat(follow_symlinks=False).st_mtime_ns
                records[entry.name] = record
            elif kind == "partial":
                stages.append(entry.name)
            elif entry.name != CURRENT:
                others.append(entry.name)
    return builds, records, sorted(stages), sorted(others)


def current_target(prefix: str):
    try:
        return os.readlink(os.path.join(prefix, CURRENT))
    except OSError:
        return None


def output_of(module: AnsibleModule, argv: list[str]) -> tuple[int, str]:
    """``argv``'s exit status and output, or 127 and '' when the program is not installed."""
    program = module.get_bin_path(argv[0]) if "/" not in argv[0] else argv[0]
    if not program or not os.access(program, os.X_OK):
        return 127, ""
    rc, out, _err = module.run_command([program] + argv[1:])
    return rc, out


def read_cuda(module: AnsibleModule, cuda_home: str) -> dict:
    nvcc = os.path.join(cuda_home, "bin", "nvcc")
    # As ansible.builtin.stat says it exists: a link there counts, wherever it leads.
    has_nvcc = os.path.lexists(nvcc)
    try:
        with open(os.path.join(cuda_home, "version.json"), encoding="utf-8") as handle:
            version_json = json.load(handle)
    except (OSError, ValueError):
        version_json = None
    nvcc_output = ""
    if cuda_version(version_json, "") == "none" and has_nvcc:
        nvcc_output = output_of(module, [nvcc, "--version"])[1]
    return {"nvcc": has_nvcc, "version": cuda_version(version_json, nvcc_output)}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "prefix": {"type": "path", "required": True},
            "keep": {"type": "int", "default": 3},
            "protect": {"type": "list", "elements": "str", "default": []},
            "prune": {"type": "bool", "default": False},
            "folders": {"type": "list", "elements": "dict", "default": []},
            "unmarked_ok": {"type": "list", "elements": "path", "default": []},
            "cuda_home": {"type": "path"},
            "compiler": {"type": "bool", "default": False},
            "packages": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    p = module.params
    if p["keep"] < 1:
        module.fail_json(msg=f"keep must be 1 or more (got {p['keep']}).")
    problems = folder_refusals(p["folders"], p["unmarked_ok"])[0]
    if problems:
        module.fail_json(msg="; ".join(problems) + ". Nothing was changed.", problems=problems)

    toolchain = {}
    if p["cuda_home"]:
        toolchain["cuda"] = read_cuda(module, p["cuda_home"])
    if p["compiler"]:
        toolchain["compiler"] = compiler_line(output_of(module, ["c++", "--version"])[1])
    toolchain["missing_packages"] = (
        missing_packages(
            p["packages"],
            output_of(
                module,
                ["dpkg-query", "--show", "--showformat=${Package} ${db:Status-Status}\n"]
                + p["packages"],
            )[1],
        )
        if p["packages"]
        else []
    )

    if not os.path.isdir(p["prefix"]):
        module.exit_json(
            changed=False,
            builds=[],
            records={},
            stages=[],
            current=None,
            removed=[],
            not_ours=[],
            **toolchain,
        )
    builds, records, stages, others = survey(p["prefix"])
    removed = (stages + prune_plan(builds, p["keep"], p["protect"])) if p["prune"] else []
    if not module.check_mode:
        for name in removed:
            path = os.path.join(p["prefix"], name)
            # Checked again just before: rmtree never follows a link, and refuses one at the top.
            if stat.S_ISDIR(os.lstat(path).st_mode):
                shutil.rmtree(path)
    module.exit_json(
        changed=bool(removed),
        builds=sorted(builds, key=lambda name: builds[name], reverse=True),
        records=records,
        stages=stages,
        current=current_target(p["prefix"]),
        removed=removed,
        not_ours=others,
        **toolchain,
    )


if __name__ == "__main__":
    main()
