# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one local facts file every role shares (/etc/ansible/facts.d/sparkops.fact).

Each role owns one top-level section. Merging is pure: the caller reads the file, merges a
section, and writes the result only when it differs, so re-runs report no change.
"""

from __future__ import annotations

import json

from ansible_collections.sparkops.llm.plugins.module_utils.json_document import (
    JsonDocumentError,
    load_object,
)


class LocalFactsError(JsonDocumentError):
    """The existing facts file cannot be used as it is."""


def parse_facts(text: str, path: str = "sparkops.fact") -> dict:
    """Parse the facts file; an empty file is an empty document."""
    return load_object(
        text,
        path,
        "fix or remove it, the roles rewrite their sections on the next run",
        LocalFactsError,
    )


def merge_section(document: dict, section: str, data: dict | None, state: str) -> dict:
    """Return a new document with ``section`` replaced by ``data`` (present) or dropped."""
    merged = dict(document)
    if state == "absent":
        merged.pop(section, None)
    else:
        merged[section] = data if data is not None else {}
    return merged


def render_facts(document: dict) -> str:
    """Stable text: sorted keys, so equal facts give byte-equal files."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
