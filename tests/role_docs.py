#!/usr/bin/env python3
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Each role README's "Variables" section, generated from the role's meta/argument_specs.yml.

`python3 tests/role_docs.py` rewrites the section between the markers in every role README;
`tests/unit/test_role_docs.py` fails when a README's section is not what this generates, so a
variable's documentation cannot drift from the spec that checks it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROLES = Path(__file__).resolve().parents[1] / "roles"
BEGIN = "<!-- BEGIN VARIABLES: generated from meta/argument_specs.yml by tests/role_docs.py -->"
END = "<!-- END VARIABLES -->"


def _markup(text: str) -> str:
    """Ansible doc markup (C(), I(), B()) as Markdown, on one line, safe in a table cell."""
    text = re.sub(r"C\(([^)]*)\)", r"`\1`", text)
    text = re.sub(r"[IB]\(([^)]*)\)", r"*\1*", text)
    return " ".join(text.split()).replace("|", "\\|")


def _default(option: dict) -> str:
    if "default" not in option:
        return "computed (see description)"
    value = option["default"]
    if value in ("", [], {}):
        return f"`{yaml.safe_dump(value, default_flow_style=True).strip()}`"
    if isinstance(value, (list, dict)) and len(yaml.safe_dump(value)) > 60:
        return "see `defaults/main.yml`"
    dumped = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    return f"`{dumped.removesuffix(chr(10) + '...').strip()}`".replace("|", "\\|")


def variables_section(role: Path) -> str:
    """The Markdown table of the role's options, one row each, sorted by name."""
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    options: dict = {}
    for entry_point in specs.values():
        options.update(entry_point.get("options") or {})
    rows = ["| variable | type | default | description |", "|---|---|---|---|"]
    for name in sorted(options):
        option = options[name]
        kind = option.get("type", "str")
        if kind == "list" and "elements" in option:
            kind = f"list of {option['elements']}"
        description = option.get("description", "")
        if isinstance(description, list):
            description = " ".join(description)
        secret = " (secret: never logged)" if option.get("no_log") else ""
        row = f"| `{name}` | {kind} | {_default(option)} | {_markup(description)}{secret} |"
        rows.append(row)
    return "\n".join([BEGIN, *rows, END])


def rendered(readme_text: str, section: str) -> str:
    """The README with its generated section replaced (or appended under "## Variables")."""
    if BEGIN in readme_text and END in readme_text:
        head, rest = readme_text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        return head + section + tail
    return readme_text.rstrip("\n") + "\n\n## Variables\n" + section + "\n"


def main() -> int:
    for role in sorted(p for p in ROLES.iterdir() if (p / "meta" / "argument_specs.yml").exists()):
        readme = role / "README.md"
        text = readme.read_text()
        new = rendered(text, variables_section(role))
        if new != text:
            readme.write_text(new)
            print(f"updated {readme.relative_to(ROLES.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
