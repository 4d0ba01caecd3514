#!/usr/bin/env python3
# Copyright: sparkops.llm maintainers
# SPDX-License-Identifier: GPL-3.0-or-later
"""Print the three pins that Claude Code's agent loop gates, as the roles' defaults set them.

`make test` ends with this line, so a run's log says which llama.cpp, Claude Code CLI and
LiteLLM the loop in molecule/claude_code and molecule/bridge passed on. Moving one of them is
the procedure in README.md ("Moving a pin").
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PINS = (
    ("llama.cpp", "llama_cpp", "llama_cpp_git_commit"),
    ("Claude Code CLI", "claude_code", "claude_code_cli_version"),
    ("LiteLLM", "anthropic_bridge", "anthropic_bridge_litellm_version"),
)


def pins() -> list[tuple[str, str]]:
    found = []
    for label, role, variable in PINS:
        defaults = yaml.safe_load((ROOT / "roles" / role / "defaults/main.yml").read_text())
        value = defaults.get(variable)
        if not value:
            raise SystemExit(f"roles/{role}/defaults/main.yml sets no {variable}")
        found.append((label, str(value)))
    return found


def main() -> int:
    listed = ", ".join(f"{label} {value}" for label, value in pins())
    print(
        f"pins gated by Claude Code's agent loop (molecule/claude_code, molecule/bridge): {listed}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
