"""Forgetting this run's sections needs no host: the controller answers it, with the module's
own result; writing a section still runs the module on the host."""

from __future__ import annotations

import importlib
from unittest.mock import MagicMock

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils.fact_contract import SECTIONS
from ansible_collections.sparkops.llm.plugins.modules import sparkops_facts


@pytest.fixture
def plugin_module():
    """The action plugin's module, imported when a test asks for it and not at collection:
    importing controller code marks the whole process as the controller, and modules run by the
    other tests would then send their warnings to the display instead of returning them."""
    from ansible.module_utils import _internal

    was_controller = _internal.is_controller
    module = importlib.import_module(
        "ansible_collections.sparkops.llm.plugins.action.sparkops_facts"
    )
    yield module
    _internal.is_controller = was_controller


def action(plugin_module, args):
    task = MagicMock()
    task.args = args
    task.async_val = 0
    play_context = MagicMock()
    play_context.check_mode = False
    plugin = plugin_module.ActionModule(
        task, MagicMock(), play_context, MagicMock(), MagicMock(), MagicMock()
    )
    plugin._execute_module = MagicMock(return_value={"changed": True, "from": "host"})
    return plugin


def test_forgetting_is_the_modules_result_without_the_host(plugin_module, module_runner):
    plugin = action(plugin_module, {"state": "forget"})
    result = plugin.run(task_vars={})
    plugin._execute_module.assert_not_called()
    failed, expected = module_runner(sparkops_facts.main, {"state": "forget"})
    assert not failed and not result.get("failed")
    assert result["changed"] is False and result["ansible_facts"] == expected["ansible_facts"]
    assert set(result["ansible_facts"]) == {f"sparkops_fact_{name}" for name in SECTIONS}
    assert all(value is None for value in result["ansible_facts"].values())


def test_writing_a_section_runs_the_module_on_the_host(plugin_module):
    plugin = action(plugin_module, {"section": "engine", "data": {"name": "llamacpp"}})
    assert plugin.run(task_vars={})["from"] == "host"
    plugin._execute_module.assert_called_once()
