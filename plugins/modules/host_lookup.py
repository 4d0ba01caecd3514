#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_lookup
short_description: Read accounts, groups, units and paths on the host in one call
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - What a role's checks read before it takes over an account or a folder, in one round trip
    instead of one task per look-up. It reads passwd and group entries (as C(getent) answers),
    the properties of systemd units (as C(systemctl show) prints them), and what is at each
    path, without following a link there.
  - Each answer has the shape the single-purpose module gave it (M(ansible.builtin.getent)'s
    fact, M(ansible.builtin.command)'s output, M(ansible.builtin.stat)'s fields), so that the
    checks read them as before.
  - Read-only; never reports a change.
options:
  passwd:
    description: Names to look up in the passwd database.
    type: list
    elements: str
    default: []
  group:
    description: Names to look up in the group database.
    type: list
    elements: str
    default: []
  units:
    description: Units whose I(properties) C(systemctl show) prints; none, no call.
    type: list
    elements: str
    default: []
  properties:
    description: The unit properties to show (C(--property=) each).
    type: list
    elements: str
    default: []
  value:
    description: Print the values only (C(systemctl show --value)).
    type: bool
    default: false
  paths:
    description:
      - Paths to look at, without following a link at the path (C(stat) with C(follow=false)).
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
"""

EXAMPLES = r"""
- name: Look up the service account, its group, the units' accounts and the folders
  sparkops.llm.host_lookup:
    passwd: [sparkops]
    group: [sparkops]
    units: [sparkops-llama-server.service]
    properties: [User]
    value: true
    paths: [/etc/sparkops]
  register: host

- name: Show the account's home
  ansible.builtin.debug:
    msg: "{{ host.passwd.sparkops[4] if host.passwd.sparkops else 'no such account' }}"
"""

RETURN = r"""
passwd:
  description: Each name found mapped to its passwd fields after the name (password, uid, gid,
    comment, home, shell), a name not found to null (M(ansible.builtin.getent)'s C(getent_passwd)).
  returned: always
  type: dict
  sample:
    sparkops: ["x", "998", "998", "sparkops.llm service account", "/nonexistent", "/sbin/nologin"]
group:
  description: The same for the group database (C(getent_group)).
  returned: always
  type: dict
units:
  description: Each of I(units) mapped to its I(properties) and their values (without
    I(value); empty with it).
  returned: always
  type: dict
  sample:
    sparkops-llama-server.service: {"Id": "sparkops-llama-server.service", "User": "sparkops"}
show:
  description: The output of C(systemctl show), as M(ansible.builtin.command) returns it (empty
    without I(units)).
  returned: always
  type: dict
  contains:
    stdout:
      description: What systemctl printed.
      type: str
    stdout_lines:
      description: The same, line by line.
      type: list
      elements: str
stats:
  description: For each of I(paths), in order, C(path) and C(stat) (C(exists), and for what
    exists C(isdir), C(isreg), C(islnk), C(mode), C(uid), C(gid), C(pw_name), C(gr_name)).
  returned: always
  type: list
  elements: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.host_lookup import (
    getent_entries,
    stat_fields,
    unit_properties,
)


def look_up(module: AnsibleModule, database: str, keys: list[str]) -> dict:
    entries = {}
    if not keys:
        return entries
    getent = module.get_bin_path("getent", True)
    for key in keys:
        rc, out, _err = module.run_command([getent, database, key])
        try:
            entries.update(getent_entries(key, rc, out))
        except ValueError as error:
            module.fail_json(msg=f"getent {database} {key}: {error}", rc=rc)
    return entries


def show(module: AnsibleModule) -> dict:
    p = module.params
    if not p["units"]:
        return {"stdout": "", "stdout_lines": []}
    argv = (
        [module.get_bin_path("systemctl", True), "show"]
        + [f"--property={name}" for name in p["properties"]]
        + (["--value"] if p["value"] else [])
        + p["units"]
    )
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg=f"systemctl show failed (rc={rc}): {err.strip()}", rc=rc, stderr=err)
    out = out.rstrip("\r\n")
    return {"stdout": out, "stdout_lines": out.splitlines()}


def lstat_or_none(path: str):
    try:
        return os.lstat(path)
    # A path under a file is not there either: the folder's own answer (a file) is what the
    # checks refuse, naming the variable.
    except (FileNotFoundError, NotADirectoryError):
        return None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "passwd": {"type": "list", "elements": "str", "default": []},
            "group": {"type": "list", "elements": "str", "default": []},
            "units": {"type": "list", "elements": "str", "default": []},
            "properties": {"type": "list", "elements": "str", "default": []},
            "value": {"type": "bool", "default": False},
            "paths": {"type": "list", "elements": "path", "default": []},
        },
        supports_check_mode=True,
    )
    p = module.params
    shown = show(module)
    units = {}
    if not p["value"]:
        try:
            units = unit_properties(p["units"], shown["stdout"])
        except ValueError as error:
            module.fail_json(msg=str(error), stdout=shown["stdout"])
    module.exit_json(
        changed=False,
        passwd=look_up(module, "passwd", p["passwd"]),
        group=look_up(module, "group", p["group"]),
        units=units,
        show=shown,
        stats=[{"path": path, "stat": stat_fields(lstat_or_none(path))} for path in p["paths"]],
    )


if __name__ == "__main__":
    main()
