# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Forget this run's sections on the controller (sparkops.llm.sparkops_facts, state=forget).

Forgetting touches no file: it sets every section's host fact to None, which needs nothing from
any host, so this plugin answers it without running the module (a round trip that every module
run costs). Writing and removing a section reads and writes the host's facts file: the module
runs there as usual.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible_collections.sparkops.llm.plugins.module_utils.fact_contract import (
    IN_RUN_PREFIX,
    SECTIONS,
)


def forgotten() -> dict:
    """The module's result for state=forget. None, not {}: {} means "removed in this run",
    None "not written in this run"."""
    return {"changed": False, "ansible_facts": {IN_RUN_PREFIX + name: None for name in SECTIONS}}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if self._task.args.get("state") == "forget":
            result.update(forgotten())
        else:
            result.update(self._execute_module(task_vars=task_vars))
        return result
