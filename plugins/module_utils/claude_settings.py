# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Merge the collection's settings into a user's ~/.claude/settings.json without clobbering.

Users keep permissions, hooks, MCP servers and their own env in that file. The collection owns
only the keys it sets: everything else is kept exactly, in its order; the ``env`` block is
merged key by key and the collection's keys win.
"""

from __future__ import annotations

import json

from ansible_collections.sparkops.llm.plugins.module_utils.json_document import (
    JsonDocumentError,
    load_object,
)

STALE_KEY = "ANTHROPIC_API_KEY"


class SettingsError(JsonDocumentError):
    """The existing file cannot be merged into (it is left untouched)."""


def parse_settings(text: str | None, path: str) -> dict:
    """The existing settings; no file or an empty file is an empty document."""
    data = load_object(
        text, path, "it was left untouched: fix it (or move it away) and run again", SettingsError
    )
    if not isinstance(data.get("env", {}), dict):
        raise SettingsError(f"{path}: 'env' must be an object, found {type(data['env']).__name__}")
    return data


def merge_settings(
    current: dict, env: dict, top_level: dict | None = None, remove_stale_api_key: bool = False
) -> tuple[dict, list[str]]:
    """Return (merged settings, warnings). ``current`` is not modified."""
    merged = json.loads(json.dumps(current))  # deep copy that keeps key order
    warnings: list[str] = []
    for key, value in (top_level or {}).items():
        merged[key] = value
    merged_env = dict(merged.get("env", {}))
    for key, value in env.items():
        merged_env[key] = str(value)
    if STALE_KEY in merged_env and STALE_KEY not in env:
        if remove_stale_api_key:
            del merged_env[STALE_KEY]
        else:
            warnings.append(
                f"env.{STALE_KEY} is set: it overrides ANTHROPIC_AUTH_TOKEN and makes Claude Code "
                "ask for approval; remove it, or ask for its removal (remove_stale_api_key)"
            )
    merged["env"] = merged_env
    return merged, warnings


def render_settings(settings: dict) -> str:
    return json.dumps(settings, indent=2, ensure_ascii=False) + "\n"
