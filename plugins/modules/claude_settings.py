#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: claude_settings
short_description: Merge settings into a Claude Code settings.json without clobbering it
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - Merges I(env) key by key into the C(env) block of a Claude Code C(settings.json) (the given
    keys win) and sets the I(top_level) keys; every other key (permissions, hooks, mcpServers,
    unknown ones) is kept exactly, in its order.
  - A malformed existing file is left untouched and the module fails naming the file and the
    parse error.
  - Writes atomically (a temporary file in the same folder, then rename), keeps a backup of the
    file it replaces, mode 0600, owned by I(owner); creates the folder 0700 when missing.
  - Diff mode shows the change with token and key values masked; check mode changes nothing.
options:
  path:
    description: The settings file, usually C(~user/.claude/settings.json).
    type: path
    required: true
  env:
    description: Keys for the C(env) block; values are written as strings.
    type: dict
    default: {}
  auth_token:
    description:
      - Written as C(env.ANTHROPIC_AUTH_TOKEN) (wins over I(env)); a secret, so it is kept out of
        the task's output without hiding the masked diff.
    type: str
  top_level:
    description: Top-level keys the caller owns, such as C($schema).
    type: dict
    default: {}
  remove_stale_api_key:
    description: Remove C(env.ANTHROPIC_API_KEY) when I(env) does not set it; otherwise warn.
    type: bool
    default: false
  owner:
    description: Owner of the file and of a folder this module creates.
    type: str
  group:
    description: Group of the file and of a folder this module creates.
    type: str
  backup:
    description: Keep a timestamped copy of the file being replaced.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Point Claude Code at the Spark
  sparkops.llm.claude_settings:
    path: /home/dev/.claude/settings.json
    owner: dev
    group: dev
    top_level:
      $schema: https://json.schemastore.org/claude-code-settings.json
    env:
      ANTHROPIC_BASE_URL: http://spark01:8005
      CLAUDE_CODE_ATTRIBUTION_HEADER: "0"
    auth_token: "{{ token }}"
"""

RETURN = r"""
backup_file:
  description: The copy of the previous file, when one was made.
  returned: changed and a file was replaced
  type: str
env_keys:
  description: The keys of the resulting env block.
  returned: always
  type: list
  elements: str
"""

import json
import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.claude_settings import (
    SettingsError,
    merge_settings,
    parse_settings,
    render_settings,
)

SECRET = re.compile(r"(TOKEN|KEY|SECRET|PASSWORD)", re.IGNORECASE)


def masked(text: str) -> str:
    """The settings text with secret-looking env values replaced, for diff output."""
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return text
    env = data.get("env")
    if isinstance(env, dict):
        data["env"] = {k: ("********" if SECRET.search(k) else v) for k, v in env.items()}
    return render_settings(data) if data else ""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "env": {"type": "dict", "default": {}, "no_log": False},
            "auth_token": {"type": "str", "no_log": True},
            "top_level": {"type": "dict", "default": {}},
            "remove_stale_api_key": {"type": "bool", "default": False},
            "owner": {"type": "str"},
            "group": {"type": "str"},
            "backup": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    path = module.params["path"]
    before = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            before = handle.read()
    try:
        current = parse_settings(before, path)
    except SettingsError as exc:
        module.fail_json(msg=str(exc))
    env = dict(module.params["env"])
    if module.params["auth_token"]:
        env["ANTHROPIC_AUTH_TOKEN"] = module.params["auth_token"]
    merged, warnings = merge_settings(
        current,
        env,
        module.params["top_level"],
        module.params["remove_stale_api_key"],
    )
    after = render_settings(merged)
    for warning in warnings:
        module.warn(f"{path}: {warning}")
    changed = after != (before or "")
    result = {"changed": changed, "env_keys": sorted(merged.get("env", {}))}
    if module._diff:
        result["diff"] = {
            "before": masked(before or ""),
            "after": masked(after),
            "before_header": path,
            "after_header": path,
        }
    directory = os.path.dirname(path)
    if changed and not module.check_mode:
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o700)
            module.set_owner_if_different(directory, module.params["owner"], False)
            module.set_group_if_different(directory, module.params["group"], False)
        if before is not None and module.params["backup"]:
            result["backup_file"] = module.backup_local(path)
            # The old file may hold a token too.
            os.chmod(result["backup_file"], 0o600)
        handle, tmp_path = tempfile.mkstemp(prefix=".settings.", suffix=".tmp", dir=directory)
        with os.fdopen(handle, "w", encoding="utf-8") as tmp:
            tmp.write(after)
        os.chmod(tmp_path, 0o600)
        module.atomic_move(tmp_path, path)
    if os.path.exists(path):
        # Also when the content is already right: the file holds a token, 0600 and its owner.
        changed = result["changed"]
        changed = module.set_mode_if_different(path, "0600", changed)
        changed = module.set_owner_if_different(path, module.params["owner"], changed)
        changed = module.set_group_if_different(path, module.params["group"], changed)
        result["changed"] = changed
    module.exit_json(**result)


if __name__ == "__main__":
    main()
