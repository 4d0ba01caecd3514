# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read a JSON file that must hold one object, with an error that names the file and the fix."""

from __future__ import annotations

import json


class JsonDocumentError(ValueError):
    """The file cannot be used as it is."""


def load_object(
    text: str | None, path: str, advice: str, error: type[JsonDocumentError] = JsonDocumentError
) -> dict:
    """Parse ``text`` (the content of ``path``); no text or blank text is an empty object.

    ``advice`` tells the user what to do about invalid JSON; ``error`` is the class raised.
    """
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            f"{advice}"
        ) from exc
    if not isinstance(data, dict):
        raise error(f"{path} must hold a JSON object, found {type(data).__name__}")
    return data
