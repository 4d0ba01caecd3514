"""Folders a role may remove whole: never a system folder, a shared one, or a parent of one."""

from __future__ import annotations

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils.owned_paths import (
    own_folder_problem,
    takeover_problem,
)

VARIABLE = "anthropic_bridge_config_dir"
DEFAULT = "/etc/sparkops-bridge"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/etc/sparkops", "is a folder the collection's roles share"),
        ("/opt/sparkops", "is a folder the collection's roles share"),
        ("/var/lib/sparkops", "is a folder the collection's roles share"),
        ("/etc/sparkops/", "without a trailing or doubled '/'"),
        ("/etc/sparkops/bridge", "inside /etc/sparkops"),
        ("/opt/sparkops/ollama", "is a folder the collection's roles share"),
        ("/opt", "is a system folder"),
        ("/", "is a system folder"),
        ("/home", "is a system folder"),
        ("/usr/local", "is a system folder"),
        ("//etc", "without a trailing or doubled '/'"),
        ("/var/lib/sparkops/..", "must not contain"),
        ("/opt/../etc", "must not contain"),
        ("etc/sparkops-bridge", "must be an absolute path"),
        ("", "must be an absolute path"),
    ],
)
def test_shared_and_system_folders_are_refused_naming_the_variable(path, expected):
    message = own_folder_problem(VARIABLE, path, DEFAULT)
    assert expected in message
    assert message.startswith(VARIABLE)


def test_a_parent_of_another_roles_folder_is_refused():
    message = own_folder_problem(VARIABLE, "/srv/data", DEFAULT, others=["/srv/data/models"])
    assert "holds /srv/data/models" in message
    assert f"the default is {DEFAULT}" in message


@pytest.mark.parametrize(
    "path", ["/etc/sparkops-bridge", "/opt/sparkops/bridge-conf", "/srv/bridge"]
)
def test_a_folder_of_its_own_is_accepted(path):
    assert own_folder_problem(VARIABLE, path, DEFAULT) == ""


@pytest.mark.parametrize(
    ("variable", "default"),
    [
        ("engine_sglang_hf_cache", "/var/lib/sparkops/huggingface"),
        ("engine_sglang_tiktoken_dir", "/var/lib/sparkops/tiktoken"),
        ("weights_models_dir", "/var/lib/sparkops/models"),
    ],
)
def test_a_roles_own_default_is_its_own_though_others_may_not_take_it(variable, default):
    # SHARED lists these for the other roles (the regression: SGLang refused its own defaults).
    assert own_folder_problem(variable, default, default) == ""
    message = own_folder_problem(VARIABLE, default, DEFAULT)
    assert "is a folder the collection's roles share" in message


@pytest.mark.parametrize(
    ("variable", "path", "default", "inside"),
    [
        (
            "engine_sglang_hf_cache",
            "/var/lib/sparkops/models/gpt-oss-120b",
            "/var/lib/sparkops/huggingface",
            "/var/lib/sparkops/models",
        ),
        (
            "anthropic_bridge_install_dir",
            "/var/lib/ollama/venv",
            "/opt/sparkops/litellm",
            "/var/lib/ollama",
        ),
        (
            "claude_code_cli_dir",
            "/opt/sparkops/llama.cpp/cli",
            "/opt/sparkops/claude-code",
            "/opt/sparkops/llama.cpp",
        ),
    ],
)
def test_a_folder_inside_another_roles_folder_is_refused(variable, path, default, inside):
    message = own_folder_problem(variable, path, default)
    assert message.startswith(f"{variable} is {path}, inside {inside}, another of the collection")


@pytest.mark.parametrize(
    ("variable", "path", "default"),
    [
        ("anthropic_bridge_install_dir", "/var/lib/ollama", "/opt/sparkops/litellm"),
        (
            "anthropic_bridge_pip_cache_dir",
            "/var/cache/sparkops/llama.cpp",
            "/var/cache/sparkops/pip",
        ),
        ("claude_code_npm_cache_dir", "/opt/sparkops/weights", "/var/cache/sparkops/npm"),
    ],
)
def test_another_roles_default_folder_is_refused(variable, path, default):
    assert "is a folder the collection's roles share" in own_folder_problem(variable, path, default)


def test_the_own_default_exemption_does_not_reach_the_other_folders():
    # The bridge's install folder may be its default, but not its own config folder as well.
    litellm = "/opt/sparkops/litellm"
    message = own_folder_problem("anthropic_bridge_install_dir", litellm, litellm, others=[litellm])
    assert message.startswith("anthropic_bridge_install_dir is /opt/sparkops/litellm, which is")


def test_a_shared_folder_may_be_configured_but_not_a_system_one():
    assert (
        own_folder_problem("engine_config_dir", "/etc/sparkops", "/etc/sparkops", shared=True) == ""
    )
    message = own_folder_problem("engine_config_dir", "/etc", "/etc/sparkops", shared=True)
    assert "sets its owner and mode" in message


def stat(**fields):
    return {"exists": True, "isdir": True, "islnk": False, "pw_name": "root", **fields}


def test_a_missing_folder_or_one_already_owned_may_be_made_the_roles():
    assert (
        takeover_problem("engine_ollama_home", "/var/lib/ollama", "/var/lib/ollama", {}, "ollama")
        == ""
    )
    existing = stat(pw_name="ollama")
    assert (
        takeover_problem(
            "engine_ollama_home", "/var/lib/ollama", "/var/lib/ollama", existing, "ollama"
        )
        == ""
    )


def test_a_users_folder_is_never_handed_to_a_service_account():
    message = takeover_problem(
        "engine_ollama_home", "/home/dev", "/var/lib/ollama", stat(pw_name="dev"), "ollama"
    )
    assert message.startswith("engine_ollama_home is /home/dev, which exists and belongs to dev")


def test_a_link_or_a_file_is_refused():
    link = takeover_problem("x", "/srv/cache", "-", stat(islnk=True, isdir=False), "root")
    assert "symbolic link" in link
    plain = takeover_problem("x", "/srv/cache", "-", stat(isdir=False), "root")
    assert "is not a folder" in plain


def test_an_existing_root_folder_is_not_taken_as_the_shared_config_folder():
    message = takeover_problem(
        "engine_config_dir",
        "/usr/bin",
        "/etc/sparkops",
        stat(gr_name="root"),
        "root",
        True,
        "sparkops",
    )
    assert "exists and is not the collection's (group root, not sparkops)" in message
    ours = stat(gr_name="sparkops")
    assert (
        takeover_problem(
            "engine_config_dir", "/srv/conf", "/etc/sparkops", ours, "root", True, "sparkops"
        )
        == ""
    )
    # The default is the collection's even where an older release left it root:root.
    old = stat(gr_name="root")
    assert (
        takeover_problem(
            "engine_config_dir", "/etc/sparkops", "/etc/sparkops", old, "root", True, "sparkops"
        )
        == ""
    )
