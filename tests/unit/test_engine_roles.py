"""The engines are the engine roles (module_utils/engine_roles.py, behind the filter
engine_roles): sparkops_engine takes the name of each role engine_<name> that describes itself,
and each description carries every field the engine role's shared sequence reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.sparkops.llm.plugins.module_utils.engine_roles import (
    engine_roles,
    plan_value,
)

ROLES = Path(__file__).resolve().parents[2] / "roles"

# What roles/engine reads from a description (roles/engine/README.md "An engine role").
FIELDS = {
    "label", "unit", "unit_files", "secret_files", "key_file", "port", "port_variable",
    "health_path", "health_timeout_s", "served_name", "sets_reasoning_effort", "extra_args",
    "extra_args_variable", "extra_env", "extra_env_variable", "owned_options",
    "abbreviating_options", "owned_environment", "own_account", "folders",
    "timings", "weights_format", "builds_llama_cpp",
}  # fmt: skip


def test_the_collections_engines_are_its_engine_roles():
    assert engine_roles(ROLES / "engine") == ["llamacpp", "ollama", "sglang"]


def test_a_new_engine_role_is_a_new_engine_and_a_half_made_one_is_not(tmp_path):
    for name in ("engine", "engine_llamacpp", "engine_vllm", "engine_draft", "engine_sharedbits"):
        (tmp_path / name / "tasks").mkdir(parents=True)
    for name in ("engine_llamacpp", "engine_vllm"):
        (tmp_path / name / "tasks" / "describe.yml").write_text("---\n[]\n")
    # engine_draft and engine_sharedbits have no describe.yml: not (yet) engines.
    assert engine_roles(tmp_path / "engine") == ["llamacpp", "vllm"]


def test_an_engine_role_whose_name_cannot_be_a_variable_prefix_is_refused(tmp_path):
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine_v-llm" / "tasks").mkdir(parents=True)
    (tmp_path / "engine_v-llm" / "tasks" / "describe.yml").write_text("---\n[]\n")
    with pytest.raises(ValueError, match="engine_v-llm"):
        engine_roles(tmp_path / "engine")


@pytest.mark.parametrize("name", ["llamacpp", "ollama", "sglang"])
def test_each_engine_role_describes_every_field_the_shared_sequence_reads(name):
    role = ROLES / f"engine_{name}"
    tasks = yaml.safe_load((role / "tasks" / "describe.yml").read_text())
    assert len(tasks) == 1
    description = tasks[0]["ansible.builtin.set_fact"][f"__engine_{name}_description"]
    assert FIELDS <= set(description), FIELDS - set(description)
    assert set(description) - FIELDS <= {"removed_settings"}
    # Its unit is one of the files a rollback keeps, and its key (if any) one of its secrets.
    assert description["unit"] in description["unit_files"]
    assert not description["key_file"] or description["key_file"] in description["secret_files"]
    # Files of /etc/sparkops by name: the engine role removes them (a '' or '/' would make the
    # path the folder itself, or one outside it).
    for name in description["secret_files"]:
        assert name and "/" not in name and name not in {".", ".."}, name
    # Its settings are checked by argument_specs at describe, before anything changes.
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    assert specs["describe"]["options"] == specs["main"]["options"]


ENGINE_WORDS = ("'llamacpp'", "'ollama'", "'sglang'", "sparkops-llama-server", "ollama.service")


def test_the_engine_role_names_no_engine():
    """The shared sequence knows engines only by their descriptions: an engine's name or unit
    written in roles/engine's tasks would be a second list to keep in step."""
    named = []
    for path in sorted((ROLES / "engine").glob("**/*.yml")):
        if path.name == "argument_specs.yml":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for word in ENGINE_WORDS:
                if word in code:
                    named.append(f"{path.relative_to(ROLES)}:{number}: {line.strip()}")
    assert named == []


def test_a_plan_value_where_the_first_play_did_not_run_says_so():
    plan = {"name": "llamacpp", "weights_format": "gguf", "builds_llama_cpp": True}
    assert plan_value(plan, "weights_format") == "gguf"
    for missing in (None, {}):
        with pytest.raises(ValueError, match="site.yml's first play.*--start-at-task"):
            plan_value(missing, "builds_llama_cpp")
