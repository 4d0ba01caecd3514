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
  - A malformed existing file (invalid JSON, not UTF-8, not an object) is left untouched and the
    module fails naming the file and the parse error, never its content.
  - Runs as root in another user's folder, so it never follows a link there. It refuses, naming
    the path and what to do, when the folder (C(~/.claude)) or the file is a symbolic link, is
    not a folder / regular file, or is owned by another user than I(owner); and when the file
    has more than one hard link. The home above the folder may be reached through links (its
    path is the passwd entry's) and must be owned by I(owner) or root. Every check also runs in
    check mode.
  - Writes atomically (a temporary file in the same folder, fsynced, then renamed), keeps a
    backup of the file it replaces (0600, owned by I(owner), next to it), the result is 0600 and
    owned by I(owner); creates the folder 0700 when missing. Temporary files a killed earlier
    run left (C(.settings.*.tmp), regular, owned by I(owner)) are removed.
  - Diff mode shows the change with the values of token, key, secret and password keys masked at
    any depth; check mode changes nothing.
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
    description:
      - The user (name or uid) whose file this is; the folder and the file must be theirs, and
        the file and a folder this module creates are given to them.
    type: str
    required: true
  group:
    description: Group of the file and of a folder this module creates; default the primary
      group of I(owner).
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
removed_temp_files:
  description: Temporary files of an earlier, interrupted run that were (or, in check mode,
    would be) removed.
  returned: always
  type: list
  elements: str
env_keys:
  description: The keys of the resulting env block.
  returned: always
  type: list
  elements: str
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.claude_settings import (
    SettingsError,
    decode_settings,
    masked,
    merge_settings,
    parse_settings,
    render_settings,
)
from ansible_collections.sparkops.llm.plugins.module_utils.user_files import (
    UserFileError,
    account,
    attributes_differ,
    backup_name,
    fix_attributes,
    make_folder,
    open_file,
    open_folder,
    open_home,
    own_temp_files,
    read_all,
    remove_temp_files,
    replace_file,
    write_new,
)

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def split_path(path: str) -> tuple[str, str, str]:
    """(home, user's folder, file name) of an absolute path such as ~dev/.claude/settings.json."""
    path = os.path.normpath(path)
    folder, name = os.path.split(path)
    home = os.path.dirname(folder)
    if not os.path.isabs(path) or not name or folder == home:
        raise UserFileError(
            f"path {path!r} must be an absolute path of a file in a user's folder, such as "
            "/home/dev/.claude/settings.json"
        )
    return home, folder, name


def apply(module: AnsibleModule) -> dict:
    """Check, merge and (unless in check mode) write; every check also runs in check mode."""
    params = module.params
    path = os.path.normpath(params["path"])
    home, folder, name = split_path(path)
    user = account(params["owner"], params["group"])
    fds = []
    try:
        home_fd = open_home(home, user)
        fds.append(home_fd)
        folder_fd = open_folder(home_fd, folder, user)
        existing, data, stray = None, None, []
        if folder_fd is not None:
            fds.append(folder_fd)
            existing = open_file(folder_fd, path, user)
            if existing is not None:
                fds.append(existing.fd)
                data = read_all(existing.fd, path)
            stray = own_temp_files(folder_fd, name, user)
        before = decode_settings(data, path)
        current = parse_settings(before, path)
        env = dict(params["env"])
        if params["auth_token"]:
            env["ANTHROPIC_AUTH_TOKEN"] = params["auth_token"]
        merged, warnings = merge_settings(
            current, env, params["top_level"], params["remove_stale_api_key"]
        )
        after = render_settings(merged)
        for warning in warnings:
            module.warn(f"{path}: {warning}")
        rewrite = after != (before or "")
        # Also when the content is already right: the file holds a token, 0600 and its owner.
        fix = existing is not None and not rewrite and attributes_differ(existing, user, FILE_MODE)
        result = {
            "changed": rewrite or fix or folder_fd is None or bool(stray),
            "env_keys": sorted(merged.get("env", {})),
            "removed_temp_files": [os.path.join(folder, entry) for entry in stray],
        }
        if module._diff:
            result["diff"] = {
                "before": masked(before or ""),
                "after": masked(after),
                "before_header": path,
                "after_header": path,
            }
        if module.check_mode:
            return result
        if folder_fd is None:
            folder_fd = make_folder(home_fd, folder, user, FOLDER_MODE)
            fds.append(folder_fd)
        remove_temp_files(folder_fd, name, stray, user)
        if rewrite:
            if data is not None and params["backup"]:
                # The old file may hold a token too: the backup is the user's, 0600, and is
                # written from the bytes read above, never by following the path again.
                backup = backup_name(name, os.getpid(), time.time())
                write_new(folder_fd, backup, data, user, FILE_MODE)
                result["backup_file"] = os.path.join(folder, backup)
            replace_file(folder_fd, name, after.encode("utf-8"), user, FILE_MODE)
        elif fix:
            fix_attributes(existing, user, FILE_MODE)
        return result
    finally:
        for fd in reversed(fds):
            os.close(fd)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "env": {"type": "dict", "default": {}, "no_log": False},
            "auth_token": {"type": "str", "no_log": True},
            "top_level": {"type": "dict", "default": {}},
            "remove_stale_api_key": {"type": "bool", "default": False},
            "owner": {"type": "str", "required": True},
            "group": {"type": "str"},
            "backup": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    try:
        result = apply(module)
    except (UserFileError, SettingsError) as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        # strerror and the path only: a message never carries the file's content.
        where = f" (on {exc.filename})" if exc.filename else ""
        module.fail_json(
            msg=f"{module.params['path']}: {exc.strerror}{where}; the file there is the old one "
            "or the complete new one: fix the cause and run again"
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
