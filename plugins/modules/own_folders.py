#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: own_folders
short_description: Refuse folders a role must not own, and mark the ones it made
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - For each folder a role is configured to use, refuses a system folder, a folder the
    collection's roles share, a parent of either, a link to one of those, a file, and a folder
    that already holds files but not the collection's marker (C(.sparkops-owned)), which is someone
    else's folder, whose files the role would mix with its own and whose owner it would change.
  - Fails naming every refused variable and what to set instead. Changes nothing then.
  - With I(mark), writes the marker into each folder that exists and lacks it, so that the
    folder is known as the collection's on later runs.
options:
  folders:
    description:
      - The folders, each C(variable) (its name, for messages), C(path), C(default) (suggested
        instead), C(shared) (a shared folder such as a log folder, where only system folders are
        refused) and C(others) (folders the path must not hold).
    type: list
    elements: dict
    required: true
  unmarked_ok:
    description: Folders accepted without the marker (made by releases before it existed).
    type: list
    elements: path
    default: []
  mark:
    description: Write the marker into the folders that exist and lack it.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
"""

EXAMPLES = r"""
- name: Refuse folders the role must not own
  sparkops.llm.own_folders:
    folders:
      - variable: llama_cpp_prefix
        path: "{{ llama_cpp_prefix }}"
        default: /opt/sparkops/llama.cpp
    unmarked_ok: [/opt/sparkops/llama.cpp]
"""

RETURN = r"""
marked:
  description: Folders the marker was written to.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.own_folders import (
    MARKER,
    MARKER_TEXT,
    folder_refusals,
)


def write_marker(path: str) -> None:
    target = os.path.join(path, MARKER)
    temporary = target + ".tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(temporary, flags, 0o644)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(MARKER_TEXT)
    os.replace(temporary, target)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "folders": {"type": "list", "elements": "dict", "required": True},
            "unmarked_ok": {"type": "list", "elements": "path", "default": []},
            "mark": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    problems, states = folder_refusals(module.params["folders"], module.params["unmarked_ok"])
    if problems:
        module.fail_json(msg="; ".join(problems) + ". Nothing was changed.", problems=problems)

    marked = []
    if module.params["mark"]:
        for path, state in states:
            if state.get("kind") == "dir" and not state.get("marked") and path not in marked:
                marked.append(path)
                if not module.check_mode:
                    write_marker(path)
    module.exit_json(changed=bool(marked), marked=marked)


if __name__ == "__main__":
    main()
