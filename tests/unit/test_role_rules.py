"""Rules across every role that a reviewer would otherwise have to check by reading all tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"
TASK_FILES = sorted(
    path for folder in ("tasks", "handlers") for path in ROLES.glob(f"*/{folder}/*.yml")
)


def tasks_in(items):
    for task in items or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from tasks_in(task.get(key))


def all_tasks():
    for path in TASK_FILES:
        for task in tasks_in(yaml.safe_load(path.read_text())):
            yield path.relative_to(ROLES), task


def test_the_rules_see_every_role():
    roles = {path.parts[0] for path, _ in all_tasks()}
    assert {"engine", "weights", "swap", "anthropic_bridge", "common"} <= roles


def test_only_the_common_role_sets_the_shared_config_folder():
    """/etc/sparkops has one owner and mode: no role sets them but the common role."""
    offenders = []
    for path, task in all_tasks():
        spec = task.get("ansible.builtin.file") or {}
        target = str(spec.get("path", ""))
        shared = "config_dir" in target or "/etc/sparkops" in target or "token_file" in target
        if spec.get("state") == "directory" and shared and path.parts[0] != "common":
            offenders.append(f"{path}: {task.get('name')}")
    assert offenders == []


@pytest.mark.parametrize("path", TASK_FILES, ids=str)
def test_no_task_ignores_errors_in_check_mode(path):
    """A dry run must fail where a real run would: guard the step, do not hide its error."""
    hiding = [
        task.get("name")
        for task in tasks_in(yaml.safe_load(path.read_text()))
        if "ignore_errors" in task
    ]
    assert hiding == []
