#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: secret_file
short_description: Store a given secret, or generate one once, in a file of its own
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - With I(value), the file holds exactly that value. Without it, a file that already holds a
    secret keeps it, and a missing or empty one gets a new secret of I(length) letters and
    digits after I(prefix).
  - Written to a temporary file beside the path (mode and owner set before the value is
    written) and renamed over it, so a run killed midway leaves the old secret or the new one.
  - A link, a folder or a device at the path is refused and never followed.
  - The value is never returned, logged or shown in a diff.
options:
  path:
    description: The file. Its folder must exist.
    type: path
    required: true
  value:
    description: The secret to store; empty to keep the one there or generate one.
    type: str
    default: ""
  length:
    description: Letters and digits in a generated secret.
    type: int
    default: 48
  prefix:
    description: Text a generated secret starts with (for example C(sk-)).
    type: str
    default: ""
  owner:
    description: The file's owner (a user name).
    type: str
    required: true
  group:
    description: The file's group.
    type: str
    required: true
  mode:
    description: The file's mode, as an octal string.
    type: str
    default: "0600"
attributes:
  check_mode:
    support: full
"""

EXAMPLES = r"""
- name: Store the given API key, or generate one once (0600)
  sparkops.llm.secret_file:
    path: /etc/sparkops/llama-server.key
    value: "{{ engine_api_key }}"
    owner: sparkops
    group: sparkops
  no_log: true
"""

RETURN = r"""
generated:
  description: Whether a new secret was generated in this run.
  returned: always
  type: bool
"""

import grp
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.secret_file import (
    SecretFileError,
    metadata_differs,
    read_current,
    wanted_value,
    write_atomically,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "value": {"type": "str", "default": "", "no_log": True},
            "length": {"type": "int", "default": 48},
            "prefix": {"type": "str", "default": ""},
            "owner": {"type": "str", "required": True},
            "group": {"type": "str", "required": True},
            "mode": {"type": "str", "default": "0600"},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        uid = pwd.getpwnam(p["owner"]).pw_uid
        gid = grp.getgrnam(p["group"]).gr_gid
    except KeyError as exc:
        if module.check_mode:
            # --check on a host where the service account is not made yet: it would be written.
            module.exit_json(changed=True, generated=not p["value"])
        module.fail_json(msg=f"No such user or group for {p['path']}: {exc}.")
    try:
        mode = int(p["mode"], 8)
    except ValueError:
        module.fail_json(msg=f"mode {p['mode']!r} for {p['path']} is not an octal mode like 0600.")
    try:
        current = read_current(p["path"])
    except (SecretFileError, UnicodeDecodeError, OSError) as exc:
        module.fail_json(msg=f"Cannot use {p['path']} for a secret: {exc}")
    value, new = wanted_value(current, p["value"], p["length"], p["prefix"])
    changed = new or metadata_differs(p["path"], uid, gid, mode) if current is not None else True
    generated = new and not p["value"]
    if changed and not module.check_mode:
        try:
            write_atomically(p["path"], value, uid, gid, mode)
        except OSError as exc:
            module.fail_json(msg=f"Cannot write the secret to {p['path']}: {exc}")
    module.exit_json(changed=changed, generated=generated)


if __name__ == "__main__":
    main()
