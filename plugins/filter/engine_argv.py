# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for the engines' command lines (logic and tests in module_utils/engine_argv.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.sparkops.llm.plugins.module_utils import engine_argv


def llama_server_argv(build, settings):
    """``build | llama_server_argv(settings)``: llama-server's arguments as a list (``build`` is
    the llama_cpp section of the facts)."""
    try:
        return engine_argv.llama_server_argv(
            dict(settings), dict(build.get("flags") or {}), dict(build.get("flag_arguments") or {})
        )
    except engine_argv.ArgvError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def sglang_server_argv(settings):
    """``settings | sglang_server_argv``: sglang.launch_server's arguments as a list."""
    return engine_argv.sglang_server_argv(dict(settings))


def reasoning_effort_problem(effort, efforts, engine, has_knob):
    """'' when the effort can be applied by this engine (its label), else why not."""
    return engine_argv.reasoning_effort_problem(effort, efforts, str(engine), bool(has_knob))


class FilterModule:
    def filters(self):
        return {
            "llama_server_argv": llama_server_argv,
            "sglang_server_argv": sglang_server_argv,
            "reasoning_effort_problem": reasoning_effort_problem,
        }
