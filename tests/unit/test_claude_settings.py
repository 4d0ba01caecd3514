"""Merging into ~/.claude/settings.json: ours win in env, everything else is kept exactly."""

from __future__ import annotations

import json

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils.claude_settings import (
    SettingsError,
    merge_settings,
    parse_settings,
    render_settings,
)

OURS = {
    "ANTHROPIC_BASE_URL": "http://spark01:8005",
    "ANTHROPIC_AUTH_TOKEN": "sk-local",
    "CLAUDE_CODE_ATTRIBUTION_HEADER": "0",
}


def test_foreign_keys_are_kept_exactly_and_in_order():
    current = {
        "permissions": {"allow": ["Bash(git status)"], "deny": ["Read(./.env)"]},
        "hooks": {
            "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "x"}]}]
        },
        "mcpServers": {"files": {"command": "npx", "args": ["-y", "server"]}},
        "somethingNew": [1, {"deep": True}],
    }
    merged, warnings = merge_settings(current, OURS)
    for key in ("permissions", "hooks", "mcpServers", "somethingNew"):
        assert merged[key] == current[key]
    assert list(merged)[:4] == ["permissions", "hooks", "mcpServers", "somethingNew"]
    assert warnings == []


def test_env_is_merged_key_by_key_and_ours_win():
    current = {"env": {"ANTHROPIC_BASE_URL": "https://old", "MY_VAR": "mine"}}
    merged, _ = merge_settings(current, OURS)
    assert merged["env"]["MY_VAR"] == "mine"
    assert merged["env"]["ANTHROPIC_BASE_URL"] == "http://spark01:8005"
    assert current["env"]["ANTHROPIC_BASE_URL"] == "https://old"  # input untouched


def test_a_stale_api_key_warns_unless_removal_is_asked():
    current = {"env": {"ANTHROPIC_API_KEY": "sk-ant-old"}}
    kept, warnings = merge_settings(current, OURS)
    assert kept["env"]["ANTHROPIC_API_KEY"] == "sk-ant-old"
    assert any("ANTHROPIC_API_KEY" in warning for warning in warnings)
    removed, warnings = merge_settings(current, OURS, remove_stale_api_key=True)
    assert "ANTHROPIC_API_KEY" not in removed["env"] and warnings == []


def test_merging_twice_changes_nothing():
    once, _ = merge_settings(
        {"env": {"A": "1"}},
        OURS,
        {"$schema": "https://json.schemastore.org/claude-code-settings.json"},
    )
    twice, _ = merge_settings(
        once, OURS, {"$schema": "https://json.schemastore.org/claude-code-settings.json"}
    )
    assert render_settings(once) == render_settings(twice)


def test_values_are_strings_as_claude_code_reads_them():
    merged, _ = merge_settings({}, {"API_TIMEOUT_MS": 3000000})
    assert merged["env"]["API_TIMEOUT_MS"] == "3000000"


@pytest.mark.parametrize("text", [None, "", "  \n"])
def test_no_file_or_an_empty_one_is_an_empty_document(text):
    assert parse_settings(text, "settings.json") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"env": {"A": "1",}}', "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"env": "x"}', "'env' must be an object"),
    ],
)
def test_malformed_files_are_refused_with_the_path_and_the_error(text, message):
    with pytest.raises(SettingsError, match=message) as error:
        parse_settings(text, "/home/dev/.claude/settings.json")
    assert "/home/dev/.claude/settings.json" in str(error.value)


def test_rendering_is_json_that_parses_back():
    merged, _ = merge_settings({"permissions": {"allow": ["Bash(ls)"]}}, OURS)
    assert json.loads(render_settings(merged)) == merged
