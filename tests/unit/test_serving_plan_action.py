"""The serving plan of a profile's architecture is computed on the controller, without a round
trip to the host, and is the module's own result; what only the host can read still goes there."""

from __future__ import annotations

import importlib
from unittest.mock import MagicMock

import pytest
from ansible_collections.sparkops.llm.plugins.modules import serving_plan as serving_plan_module

GIB = 1024**3
ARCH = {
    "architecture": "llama",
    "block_count": 4,
    "head_count": 4,
    "head_count_kv": 2,
    "key_length": 64,
    "value_length": 64,
    "embedding_length": 256,
    "vocab_size": 32000,
    "context_length": 8192,
    "weight_bytes": 39303296,
}


@pytest.fixture
def plugin_module():
    """The action plugin's module, imported when a test asks for it and not at collection:
    importing controller code marks the whole process as the controller, and modules run by the
    other tests would then send their warnings to the display instead of returning them."""
    from ansible.module_utils import _internal

    was_controller = _internal.is_controller
    module = importlib.import_module("ansible_collections.sparkops.llm.plugins.action.serving_plan")
    yield module
    _internal.is_controller = was_controller


def action(plugin_module, args, remote_result=None):
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = False
    play_context = MagicMock()
    play_context.check_mode = False
    plugin = plugin_module.ActionModule(
        task, MagicMock(), play_context, MagicMock(), MagicMock(), MagicMock()
    )
    plugin._execute_module = MagicMock(return_value=remote_result or {"from": "host"})
    return plugin


def test_the_plan_of_given_numbers_is_the_modules_result_without_the_host(
    plugin_module, module_runner
):
    args = {
        "model_params": ARCH,
        "context": 8192,
        "slots": 2,
        "per_slot_context": True,
        "memory_available_bytes": 100 * GIB,
        "headroom_gib": 8.0,
    }
    plugin = action(plugin_module, args)
    result = plugin.run(task_vars={})
    plugin._execute_module.assert_not_called()
    failed, expected = module_runner(serving_plan_module.main, dict(args))
    assert not failed and not result.get("failed")
    for key in ("plan", "architecture", "model_files", "fits", "message", "changed"):
        assert result[key] == expected[key]


def test_a_plan_that_does_not_fit_fails_with_the_modules_message(plugin_module, module_runner):
    args = {"model_params": ARCH, "context": 8192, "memory_available_bytes": 1 * GIB}
    result = action(plugin_module, args).run(task_vars={})
    failed, expected = module_runner(serving_plan_module.main, dict(args))
    assert failed and result["failed"] and result["msg"] == expected["msg"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"model_params": ARCH, "context": 0, "memory_available_bytes": GIB},
            "context must be positive",
        ),
        ({"model_params": {}, "context": 8192, "memory_available_bytes": GIB}, "weight_bytes"),
    ],
)
def test_bad_options_fail_as_the_module_fails(args, message, plugin_module, module_runner):
    result = action(plugin_module, args).run(task_vars={})
    failed, expected = module_runner(serving_plan_module.main, dict(args))
    assert (
        failed
        and result["failed"]
        and message in result["msg"]
        and result["msg"] == expected["msg"]
    )


def test_a_model_file_or_the_hosts_memory_is_read_on_the_host(plugin_module):
    assert plugin_module.needs_the_host({"model_path": "/srv/m.gguf", "context": 8192})
    assert plugin_module.needs_the_host({"model_params": ARCH, "context": 8192})
    assert not plugin_module.needs_the_host(
        {"model_params": ARCH, "context": 8192, "memory_available_bytes": GIB}
    )
    plugin = action(plugin_module, {"model_path": "/srv/m.gguf", "context": 8192})
    assert plugin.run(task_vars={})["from"] == "host"
    plugin._execute_module.assert_called_once()
