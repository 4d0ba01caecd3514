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
import re

from ansible_collections.sparkops.llm.plugins.module_utils.json_document import (
    JsonDocumentError,
    load_object,
)

STALE_KEY = "ANTHROPIC_API_KEY"
# Keys whose values are masked in diff output, wherever they are (env, mcpServers.*.env, ...).
SECRET_KEY = re.compile(r"(TOKEN|KEY|SECRET|PASSWORD)", re.IGNORECASE)
MASK = "********"


class SettingsError(JsonDocumentError):
    """The existing file cannot be merged into (it is left untouched)."""


def decode_settings(data: bytes | None, path: str) -> str | None:
    """The file's bytes as text; the error names the offset only, never the content."""
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{path} is not UTF-8 text (byte {exc.start} cannot be decoded); it was left "
            "untouched: save it as UTF-8 JSON (or move it away) and run again"
        ) from None


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


def mask_secrets(value):
    """A copy of ``value`` with the scalar values of secret-looking keys replaced, at any depth."""
    if isinstance(value, dict):
        return {
            key: (
                MASK
                if SECRET_KEY.search(str(key)) and not isinstance(item, (dict, list))
                else mask_secrets(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def masked(text: str) -> str:
    """The settings text for diff output: secrets masked; text that does not parse is hidden."""
    if not text.strip():
        return ""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return "(not valid JSON: content not shown)\n"
    return render_settings(mask_secrets(data))
