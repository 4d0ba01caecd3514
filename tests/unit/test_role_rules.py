"""Rules across every role that a reviewer would otherwise have to check by reading all tasks."""

from __future__ import annotations

import re
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


def role_defaults():
    for path in sorted(ROLES.glob("*/defaults/main.yml")):
        yield path.parts[-3], yaml.safe_load(path.read_text()) or {}


def spec_options(role: str) -> dict:
    path = ROLES / role / "meta" / "argument_specs.yml"
    options = {}
    for entry_point in yaml.safe_load(path.read_text())["argument_specs"].values():
        options.update(entry_point.get("options") or {})
    return options


@pytest.mark.parametrize(("role", "defaults"), list(role_defaults()), ids=lambda v: str(v)[:20])
def test_a_roles_defaults_and_its_argument_specs_agree(role, defaults):
    """One value per setting: a literal default is written the same in argument_specs; a
    default computed from another setting has no `default` there (its description says what it
    follows), so the documentation cannot name a value that the role does not use."""
    options = spec_options(role)
    problems = []
    for name, value in defaults.items():
        option = options.get(name)
        if option is None:
            problems.append(f"{name}: not in argument_specs")
        elif "{{" in str(value):
            if "default" in option:
                problems.append(f"{name}: computed ({value}), but argument_specs gives a default")
        elif option.get("default") != value:
            problems.append(f"{name}: {value!r} here, {option.get('default')!r} in argument_specs")
    for name, option in options.items():
        if "default" in option and name not in defaults:
            problems.append(f"{name}: a default in argument_specs only")
    assert problems == []


def test_every_role_variable_is_read_somewhere():
    """A variable defined in defaults/ or vars/ and read nowhere is dead (or misspelt where it
    is read)."""
    repo = ROLES.parent
    sources = [
        path
        for pattern in ("roles/**/*", "playbooks/**/*", "site.yml", "plugins/**/*.py")
        for path in repo.glob(pattern)
        if path.is_file()
        and path.suffix in {".yml", ".j2", ".py", ".sh"}
        and path.name != "argument_specs.yml"
    ]
    texts = {path: path.read_text(errors="replace") for path in sources}
    unused = []
    for path in sorted(ROLES.glob("*/defaults/main.yml")) + sorted(ROLES.glob("*/vars/main.yml")):
        for name in yaml.safe_load(path.read_text()) or {}:
            word = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
            if len(word.findall(texts[path])) > 1:
                continue  # read by another variable of the same file
            if not any(word.search(text) for other, text in texts.items() if other != path):
                unused.append(f"{path.relative_to(repo)}: {name}")
    assert unused == []


SHARED = re.compile(r"(?<!\w)(sparkops_[a-z_]+)(?!\w)")


def test_each_shared_setting_has_its_default_in_the_sparkops_role_only():
    """A shared setting (sparkops_*) is defaulted once, in roles/sparkops, and every role that
    reads one depends on that role, so a role run alone gets the same value as site.yml."""
    shared = set(yaml.safe_load((ROLES / "sparkops" / "defaults" / "main.yml").read_text()))
    problems = []
    for role in sorted(path for path in ROLES.iterdir() if path.is_dir()):
        if role.name == "sparkops":
            continue
        files = [p for p in role.rglob("*.yml") if p.name != "argument_specs.yml"]
        files += list(role.rglob("*.j2"))
        # What the role's YAML and templates read, comments aside.
        texts = [re.sub(r"(?m)^\s*#.*$", "", p.read_text()) for p in files]
        read = {name for text in texts for name in SHARED.findall(text)} & shared
        for text in texts:
            for name in re.findall(r"(sparkops_[a-z_]+) \| default\(", text):
                problems.append(f"{role.name}: {name} | default(...)")
        meta = yaml.safe_load((role / "meta" / "main.yml").read_text())
        deps = [d["role"] if isinstance(d, dict) else d for d in meta.get("dependencies") or []]
        if read and "sparkops.llm.sparkops" not in deps:
            problems.append(
                f"{role.name} reads {sorted(read)} without depending on sparkops.llm.sparkops"
            )
    assert problems == []
