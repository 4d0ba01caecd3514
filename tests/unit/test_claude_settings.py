"""Merging into ~/.claude/settings.json: ours win in env, everything else is kept exactly."""

from __future__ import annotations

import json
import os
import pwd
import stat
from pathlib import Path

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils import user_files
from ansible_collections.sparkops.llm.plugins.module_utils.claude_settings import (
    SettingsError,
    decode_settings,
    masked,
    merge_settings,
    parse_settings,
    render_settings,
)
from ansible_collections.sparkops.llm.plugins.module_utils.user_files import temp_name
from ansible_collections.sparkops.llm.plugins.modules import claude_settings as settings_module

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


# masking for diff output


def test_diff_masks_secret_values_at_any_depth_and_hides_text_that_does_not_parse():
    text = json.dumps(
        {
            "env": {"ANTHROPIC_AUTH_TOKEN": "sk-local", "ANTHROPIC_BASE_URL": "http://x"},
            "mcpServers": {"gh": {"env": {"GITHUB_TOKEN": "ghp_secret"}, "args": ["a"]}},
            "keybindings": {"ctrl": "x"},
        }
    )
    shown = masked(text)
    assert "sk-local" not in shown and "ghp_secret" not in shown
    assert "http://x" in shown and '"ctrl": "x"' in shown
    assert "sk-local" not in masked('{"env": {"ANTHROPIC_AUTH_TOKEN": "sk-local",}')


def test_bytes_that_are_not_utf8_are_refused_without_their_content():
    with pytest.raises(SettingsError) as error:
        decode_settings(b'{"env": {"A": "caf\xe9 sk-secret"}}', "/home/dev/.claude/settings.json")
    message = str(error.value)
    assert message.startswith("/home/dev/.claude/settings.json is not UTF-8 text (byte 18 ")
    assert "sk-secret" not in message and "left untouched" in message


# The module itself, run on a temporary home as the current user (the files it makes are that
# user's; "another user" is an existing account, nobody, that owns none of them).

ME = pwd.getpwuid(os.getuid()).pw_name
TOKEN = "sk-the-engines-key"


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


def run_settings(module_runner, home, check=False, diff=False, **args):
    params = {
        "path": str(home / ".claude" / "settings.json"),
        "owner": ME,
        "env": {"ANTHROPIC_BASE_URL": "http://spark01:8005"},
        "auth_token": TOKEN,
        "_ansible_check_mode": check,
        "_ansible_diff": diff,
        **args,
    }
    failed, result = module_runner(settings_module.main, params)
    assert TOKEN not in json.dumps(result)
    return failed, result


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def temp_files(folder):
    return [name for name in listing(folder) if name.startswith(".settings.")]


def test_a_missing_folder_and_file_are_made_and_a_second_run_changes_nothing(module_runner, home):
    failed, result = run_settings(module_runner, home)
    assert not failed and result["changed"], result
    folder, written = (home / ".claude").stat(), (home / ".claude" / "settings.json").stat()
    assert stat.S_IMODE(folder.st_mode) == 0o700 and folder.st_uid == os.getuid()
    assert stat.S_IMODE(written.st_mode) == 0o600 and written.st_uid == os.getuid()
    data = json.loads((home / ".claude" / "settings.json").read_text())
    assert data["env"]["ANTHROPIC_AUTH_TOKEN"] == TOKEN
    failed, again = run_settings(module_runner, home)
    assert not failed and not again["changed"], again


def test_a_home_reached_through_a_link_works(module_runner, tmp_path, home):
    (tmp_path / "linked-home").symlink_to(home)
    failed, result = run_settings(module_runner, tmp_path / "linked-home")
    assert not failed and result["changed"], result
    assert (home / ".claude" / "settings.json").is_file()
    assert (tmp_path / "linked-home").is_symlink()


def test_a_home_below_a_linked_folder_works(module_runner, tmp_path):
    # /home -> /data/home
    (tmp_path / "data" / "home" / "dev").mkdir(parents=True)
    (tmp_path / "home").symlink_to(tmp_path / "data" / "home")
    failed, result = run_settings(module_runner, tmp_path / "home" / "dev")
    assert not failed and result["changed"], result
    assert (tmp_path / "data" / "home" / "dev" / ".claude" / "settings.json").is_file()


@pytest.fixture
def claude(home):
    path = home / ".claude"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.json"
    path.write_text('{"rootOnly": "the-secret-value"}')
    path.chmod(0o600)
    return path


def refused_everywhere(module_runner, home, words, **args):
    """The module fails naming the path, in check mode too, and changes nothing."""
    before = sorted(str(p) for p in home.rglob("*"))
    for check in (True, False):
        failed, result = run_settings(module_runner, home, check=check, diff=True, **args)
        assert failed, result
        assert words in result["msg"], result["msg"]
        assert "the-secret-value" not in json.dumps(result)
        assert sorted(str(p) for p in home.rglob("*")) == before
    return result["msg"]


def test_a_settings_link_to_a_root_only_file_is_refused(module_runner, home, claude, secret):
    (claude / "settings.json").symlink_to(secret)
    message = refused_everywhere(module_runner, home, "is a symbolic link")
    assert message.startswith(str(claude / "settings.json"))
    assert os.readlink(claude / "settings.json") == str(secret)
    assert secret.read_text() == '{"rootOnly": "the-secret-value"}'


def test_a_linked_claude_folder_is_refused(module_runner, tmp_path, home):
    elsewhere = tmp_path / "root-somewhere"
    elsewhere.mkdir()
    (home / ".claude").symlink_to(elsewhere)
    message = refused_everywhere(module_runner, home, "is a symbolic link")
    assert message.startswith(str(home / ".claude") + " ")
    assert list(elsewhere.iterdir()) == []


def test_a_hard_link_to_a_root_only_file_is_refused(module_runner, home, claude, secret):
    os.link(secret, claude / "settings.json")
    refused_everywhere(module_runner, home, "has 2 hard links")
    assert secret.read_text() == '{"rootOnly": "the-secret-value"}'


def test_files_of_another_user_are_refused(module_runner, home, claude):
    (claude / "settings.json").write_text("{}")
    # As root the home (root's) is accepted and .claude is refused; as another user, the home.
    message = refused_everywhere(module_runner, home, "is owned by", owner="nobody")
    assert "nobody" in message


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda path: path.write_bytes(b'{"env": {"X": "\xff the-secret-value"}}'), "not UTF-8"),
        (lambda path: path.write_text('{"x": "the-secret-value",'), "is not valid JSON"),
        (lambda path: path.write_text('["the-secret-value"]'), "must hold a JSON object"),
        (lambda path: os.mkfifo(path), "is a named pipe (FIFO)"),
        (lambda path: path.mkdir(), "is a folder, not a regular file"),
    ],
)
def test_unreadable_files_are_left_untouched_with_a_clear_error(
    module_runner, home, claude, make, words
):
    make(claude / "settings.json")
    content = (
        None
        if not (claude / "settings.json").is_file()
        else ((claude / "settings.json").read_bytes())
    )
    refused_everywhere(module_runner, home, words)
    if content is not None:
        assert (claude / "settings.json").read_bytes() == content
    assert temp_files(claude) == [] and listing(claude) == ["settings.json"]


def test_the_backup_is_the_users_0600_copy_of_the_old_bytes(module_runner, home, claude):
    (claude / "settings.json").write_text('{"model": "opus"}')
    (claude / "settings.json").chmod(0o644)
    failed, result = run_settings(module_runner, home)
    assert not failed, result
    backup = Path(result["backup_file"])
    assert backup.parent == claude and backup.read_text() == '{"model": "opus"}'
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600 and backup.stat().st_uid == os.getuid()
    assert stat.S_IMODE((claude / "settings.json").stat().st_mode) == 0o600


def test_a_right_file_with_a_wrong_mode_is_fixed_without_a_backup(module_runner, home, claude):
    run_settings(module_runner, home)
    (claude / "settings.json").chmod(0o644)
    failed, result = run_settings(module_runner, home)
    assert not failed and result["changed"] and "backup_file" not in result, result
    assert stat.S_IMODE((claude / "settings.json").stat().st_mode) == 0o600
    assert listing(claude) == ["settings.json"]


def test_temporary_files_of_a_killed_run_are_removed_by_the_next(
    module_runner, tmp_path, home, claude
):
    run_settings(module_runner, home)
    stray = temp_name("settings.json")
    (claude / stray).write_text('{"half": ')
    (tmp_path / "target").write_text("keep")
    not_ours = temp_name("settings.json")
    (claude / not_ours).symlink_to(tmp_path / "target")
    failed, checked = run_settings(module_runner, home, check=True)
    assert not failed and checked["changed"], checked
    assert (claude / stray).exists()
    failed, result = run_settings(module_runner, home)
    assert not failed and result["changed"], result
    assert result["removed_temp_files"] == [str(claude / stray)]
    assert listing(claude) == sorted(["settings.json", not_ours])
    assert (tmp_path / "target").read_text() == "keep"


def test_a_run_killed_at_the_rename_leaves_the_old_file_and_no_temporary_one(
    module_runner, home, claude, monkeypatch
):
    (claude / "settings.json").write_text('{"model": "opus"}')

    def killed(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(user_files.os, "rename", killed)
    failed, result = run_settings(module_runner, home, backup=False)
    monkeypatch.undo()
    assert failed and "Input/output error" in result["msg"], result
    assert "Traceback" not in result["msg"]
    assert (claude / "settings.json").read_text() == '{"model": "opus"}'
    assert temp_files(claude) == []


def test_check_mode_changes_nothing_and_the_diff_masks_the_tokens(module_runner, home, claude):
    old = {"env": {"ANTHROPIC_AUTH_TOKEN": "previous-token"}, "mcpServers": {"m": {"env": {}}}}
    old["mcpServers"]["m"]["env"]["API_KEY"] = "mcp-secret"
    (claude / "settings.json").write_text(json.dumps(old))
    (claude / "settings.json").chmod(0o644)
    failed, result = run_settings(module_runner, home, check=True, diff=True)
    assert not failed and result["changed"], result
    shown = json.dumps(result["diff"])
    assert "previous-token" not in shown and "mcp-secret" not in shown
    assert "http://spark01:8005" in shown
    assert json.loads((claude / "settings.json").read_text()) == old
    assert stat.S_IMODE((claude / "settings.json").stat().st_mode) == 0o644
    assert listing(claude) == ["settings.json"]
    failed, missing = run_settings(module_runner, home / "nowhere", check=True)
    assert failed and "does not exist" in missing["msg"], missing
