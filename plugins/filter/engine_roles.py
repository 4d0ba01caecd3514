# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engines of the collection (logic and tests in module_utils/engine_roles.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.sparkops.llm.plugins.module_utils import engine_roles as _roles


def engine_roles(role_path):
    """``role_path | engine_roles``: the engine names, one per role ``engine_<name>``."""
    try:
        return _roles.engine_roles(role_path)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def engine_plan_value(plan, key):
    """``engine_plan | default(none) | engine_plan_value('weights_format')``: a clear error
    where the first play did not run."""
    try:
        return _roles.plan_value(plan, key)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {"engine_roles": engine_roles, "engine_plan_value": engine_plan_value}
