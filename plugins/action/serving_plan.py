# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Plan on the controller what needs nothing from the host (sparkops.llm.serving_plan).

With ``model_params`` and ``memory_available_bytes`` the plan is arithmetic on the task's own
options: this plugin computes it with the module's functions, saving the round trip to the host
that each module run costs. A GGUF file (``model_path``) or the host's MemAvailable can only be
read there, so then the module runs on the host as usual. Either way the result is the same.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.sparkops.llm.plugins.module_utils.serving_plan import (
    ARGUMENT_RULES,
    ARGUMENT_SPEC,
    PlanError,
    normalise_architecture,
    options_problem,
    plan_outcome,
)


def needs_the_host(args: dict) -> bool:
    """Whether the options ask for what only the host can read."""
    return bool(args.get("model_path")) or args.get("memory_available_bytes") in (None, "")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if needs_the_host(self._task.args):
            result.update(self._execute_module(task_vars=task_vars))
            return result
        try:
            _, p = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC, **ARGUMENT_RULES)
        except AnsibleActionFail as exc:
            return {**result, "failed": True, "msg": str(exc)}
        problem = options_problem(p)
        if problem:
            return {**result, "failed": True, "msg": problem}
        try:
            arch = normalise_architecture(p["model_params"])
        except PlanError as exc:
            return {**result, "failed": True, "msg": str(exc), "model_files": []}
        problem, out = plan_outcome(p, arch, [], p["memory_available_bytes"])
        result.update(out)
        if problem:
            result.update(failed=True, msg=problem)
        return result
