# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading the facts the roles pass on (logic and tests in module_utils/fact_contract.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display
from ansible_collections.sparkops.llm.plugins.module_utils import fact_contract as _contract


def sparkops_fact(facts, section, required=True):
    """``ansible_facts | sparkops_fact('model')``: this run's section, else the recorded one."""
    warnings = []
    try:
        data = _contract.read_section(facts, section, required, warnings)
    except _contract.FactContractError as exc:
        raise AnsibleFilterError(str(exc)) from exc
    for warning in warnings:
        Display().warning(warning)
    return data


def platform_fingerprint(host):
    """``gb10_info_result | platform_fingerprint``: the platform section."""
    return _contract.platform_fingerprint(host)


def platform_changes(previous, now):
    """``previous | platform_changes(now)``: one ``key: old -> new`` line per difference."""
    return _contract.platform_changes(previous, now)


class FilterModule:
    def filters(self):
        return {
            "sparkops_fact": sparkops_fact,
            "platform_fingerprint": platform_fingerprint,
            "platform_changes": platform_changes,
        }
