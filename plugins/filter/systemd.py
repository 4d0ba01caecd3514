# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Jinja filters that put values into systemd unit files, quoted by systemd's rules.

The rules, and where systemd documents and implements them, are in
plugins/module_utils/systemd_quote.py; these filters only turn its errors into Ansible's.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.sparkops.llm.plugins.module_utils import systemd_quote, systemd_unit


def _filter(function):
    def run(value, source=None):
        try:
            return function(value, source)
        except systemd_quote.SystemdQuoteError as exc:
            raise AnsibleFilterError(str(exc)) from exc

    run.__name__ = function.__name__
    run.__doc__ = function.__doc__
    return run


class FilterModule:
    """systemd_exec_args, systemd_path_list, systemd_environment, systemd_text, and
    systemd_units (which reads systemctl's output rather than writing a unit)."""

    def filters(self):
        return {
            "systemd_exec_args": _filter(systemd_quote.exec_command_line),
            "systemd_path_list": _filter(systemd_quote.path_list),
            "systemd_environment": _filter(systemd_quote.environment),
            "systemd_text": _filter(systemd_quote.text),
            "systemd_units": systemd_unit.unit_states,
        }
