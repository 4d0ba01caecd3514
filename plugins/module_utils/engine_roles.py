# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine roles of the collection, found on the controller beside the engine role."""

from __future__ import annotations

import re
from pathlib import Path

_ROLE = re.compile(r"^engine_([a-z0-9]+)$")


def engine_roles(role_path) -> list[str]:
    """The names of the roles ``engine_<name>`` beside the engine role (``role_path``) that
    describe themselves (``tasks/describe.yml``), sorted.

    They are the values ``sparkops_engine`` takes, so adding an engine is adding its role.
    Raises ValueError for a role folder whose name cannot be a variable prefix.
    """
    roles = Path(str(role_path)).resolve().parent
    names = []
    for describe in roles.glob("engine_*/tasks/describe.yml"):
        folder = describe.parent.parent.name
        match = _ROLE.match(folder)
        if not match:
            raise ValueError(
                f"{roles / folder}: an engine role's name is engine_ and lowercase letters or "
                "digits (it becomes a sparkops_engine value and a variable prefix)"
            )
        names.append(match.group(1))
    return sorted(names)


def plan_value(plan, key: str):
    """``engine_plan[key]``, or ValueError saying why there is no plan.

    The engine role's checks publish ``engine_plan`` in site.yml's first play; a run that skips
    that play (``--start-at-task`` past it, ``--skip-tags always``) has none, and the plays that
    follow cannot tell what the selected engine needs.
    """
    if not isinstance(plan, dict) or key not in plan:
        raise ValueError(
            "engine_plan is not set: it comes from the checks in site.yml's first play, which "
            "this run skipped. Run site.yml without --start-at-task past that play and without "
            "--skip-tags always (select roles with --tags instead)"
        )
    return plan[key]
