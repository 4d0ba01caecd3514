#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: disk_space
short_description: Fail before a download when its file system has too little free space
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - Measures the free space (statvfs C(f_bavail), what an unprivileged writer may use) of the
    file system that holds O(path), or of its nearest existing ancestor when O(path) does not
    exist yet, and fails when it is less than O(needed_bytes) plus O(margin_bytes). The message
    names both numbers, the path and the variable that moves it.
  - Reads only; runs the same in check mode.
options:
  path:
    description: Where the download will be written.
    type: path
    required: true
  needed_bytes:
    description: The bytes the download will write there.
    type: int
    required: true
  present_path:
    description:
      - A folder that holds what the download already wrote (an interrupted download, or a
        complete one); the bytes of its files are not needed again. Absent counts as empty.
    type: path
  margin_bytes:
    description: Free space to keep beyond the download.
    type: int
    default: 0
  what:
    description: What is downloaded, for the message.
    type: str
    required: true
  variable:
    description: The variable that sets O(path), for the message.
    type: str
    required: true
attributes:
  check_mode:
    support: full
"""

EXAMPLES = r"""
- name: Refuse an Ollama pull that does not fit
  sparkops.llm.disk_space:
    path: /var/lib/ollama
    needed_bytes: 63374323968
    what: ollama pull gpt-oss:120b
    variable: engine_ollama_home
"""

RETURN = r"""
free_bytes:
  description: Free bytes on the measured file system.
  returned: always
  type: int
measured_path:
  description: The path that was measured (O(path) or its nearest existing ancestor).
  returned: always
  type: str
present_bytes:
  description: The bytes found under O(present_path).
  returned: always
  type: int
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.disk_space import (
    bytes_under,
    nearest_existing,
    shortfall_message,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "needed_bytes": {"type": "int", "required": True},
            "margin_bytes": {"type": "int", "default": 0},
            "present_path": {"type": "path"},
            "what": {"type": "str", "required": True},
            "variable": {"type": "str", "required": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["needed_bytes"] < 0 or params["margin_bytes"] < 0:
        module.fail_json(msg="needed_bytes and margin_bytes must be 0 or more")
    measured = nearest_existing(params["path"])
    vfs = os.statvfs(measured)
    free = vfs.f_bavail * vfs.f_frsize
    present = bytes_under(params["present_path"]) if params["present_path"] else 0
    result = {
        "changed": False,
        "free_bytes": free,
        "measured_path": measured,
        "present_bytes": present,
    }
    problem = shortfall_message(
        params["what"],
        params["needed_bytes"],
        params["margin_bytes"],
        free,
        params["path"],
        measured,
        params["variable"],
        present,
    )
    if problem:
        module.fail_json(msg=problem, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
