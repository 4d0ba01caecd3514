#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: llama_cpp_builds
short_description: List the llama.cpp builds under the prefix and remove old ones
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - Lists the folders under I(prefix) without following a link. A build is a real folder
    C(<stamp>) whose C(build-info.json) names that stamp; a stage is a C(<stamp>.partial) that a
    killed build left (marked C(.sparkops-stage), empty, or laid out as the build script lays it
    out). Everything else, links included, is not the role's and is never removed.
  - With I(prune), removes every stage and the builds beyond I(keep), oldest first, never one in
    I(protect).
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
attributes:
  check_mode:
    support: full
"""

EXAMPLES = r"""
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
"""

import json
import os
import shutil
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.llama_cpp_builds import (
    CURRENT,
    classify,
    prune_plan,
)


def read_record(path: str):
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def survey(prefix: str) -> tuple[dict, list, list]:
    builds, stages, others = {}, [], []
    with os.scandir(prefix) as entries:
        for entry in entries:
            real_dir = entry.is_dir(follow_symlinks=False)
            path = os.path.join(prefix, entry.name)
            names = os.listdir(path) if real_dir else []
            record = read_record(os.path.join(path, "build-info.json")) if real_dir else None
            kind = classify(entry.name, real_dir, names, record)
            if kind == "build":
                builds[entry.name] = entry.stat(follow_symlinks=False).st_mtime_ns
            elif kind == "partial":
                stages.append(entry.name)
            elif entry.name != CURRENT:
                others.append(entry.name)
    return builds, sorted(stages), sorted(others)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "prefix": {"type": "path", "required": True},
            "keep": {"type": "int", "default": 3},
            "protect": {"type": "list", "elements": "str", "default": []},
            "prune": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    p = module.params
    if p["keep"] < 1:
        module.fail_json(msg=f"keep must be 1 or more (got {p['keep']}).")
    if not os.path.isdir(p["prefix"]):
        module.exit_json(changed=False, builds=[], removed=[], not_ours=[])
    builds, stages, others = survey(p["prefix"])
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
        removed=removed,
        not_ours=others,
    )


if __name__ == "__main__":
    main()
