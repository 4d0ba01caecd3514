# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which command-line flags a llama-server build accepts, read from its ``--help``.

llama.cpp renames and removes flags between builds (``--no-mmap`` gave way to
``-lm/--load-mode``; ``-fa`` went from a switch to ``-fa on|off|auto``). The engine role renders
only flags this parse says the installed binary knows.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"(?:^|[\s,])(--?[A-Za-z][A-Za-z0-9_.-]*)")

# Flags the engine role asks about: reported as False when a build lacks them, so a missing
# key never has to be guessed.
KNOWN_FLAGS = (
    "--alias",
    "--api-key",
    "--api-key-file",
    "--batch-size",
    "--ctx-size",
    "--flash-attn",
    "--fit",
    "--host",
    "--jinja",
    "--load-mode",
    "--metrics",
    "--mlock",
    "--n-gpu-layers",
    "--no-mmap",
    "--no-webui",
    "--parallel",
    "--port",
    "--reasoning-format",
    "--ubatch-size",
    "--backend-sampling",
    "--kv-unified",
    "--swa-full",
    "--cache-type-k",
    "--cache-type-v",
    "--logit-bias",
)


def option_column(line: str) -> str | None:
    """The names-and-argument part of one help line, or None for description lines.

    Help lines look like ``-fa,   --flash-attn [on|off|auto]      set Flash Attention use``:
    names separated by commas (padded with spaces), an optional argument, then at least two
    spaces and the description. Option lines start in the first column; continuation lines of
    a description are indented (and may start with "- " bullets), so they are skipped.
    """
    if not line.startswith("-"):
        return None
    chunks = re.split(r"\s{2,}", line.strip())
    column = chunks[0]
    for chunk in chunks[1:]:
        if not column.endswith(","):
            break
        column = f"{column} {chunk}"
    return column


def parse_help(text: str) -> dict[str, str]:
    """Map every flag name in ``--help`` output to its argument spec ('' for a switch)."""
    flags: dict[str, str] = {}
    for line in text.splitlines():
        column = option_column(line)
        if column is None:
            continue
        names = _NAME.findall(column)
        if not names:
            continue
        last = names[-1]
        argument = column[column.rindex(last) + len(last) :].strip()
        for name in names:
            flags.setdefault(name, argument)
    return flags


def accepted_flags(parsed: dict[str, str]) -> dict[str, bool]:
    """Every parsed name as accepted, plus the known flags this build lacks as False."""
    accepted = {name: True for name in parsed}
    for name in KNOWN_FLAGS:
        accepted.setdefault(name, False)
    return accepted
