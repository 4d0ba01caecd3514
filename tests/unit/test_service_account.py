"""Service accounts: never an existing login account or another program's account."""

from __future__ import annotations

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils.service_account import (
    OWN_COMMENT,
    account_problem,
)


def entry(uid, shell="/usr/sbin/nologin", comment=""):
    # getent passwd's fields after the name: password, uid, gid, comment, home, shell
    return ["x", str(uid), str(uid), comment, "/var/lib/x", shell]


def test_an_account_that_does_not_exist_may_be_created():
    assert account_problem("engine_user", "sparkops", None, "sparkops") == ""


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("dev", entry(1000, "/bin/bash")),
        ("root", entry(0, "/bin/bash")),
        ("root", entry(0, "/usr/sbin/nologin")),
        ("backup", entry(34, "/bin/sh")),
        ("nvidia", entry(1001, "/usr/sbin/nologin")),
    ],
)
def test_a_login_account_is_refused_naming_the_variable_and_the_account(name, fields):
    message = account_problem("engine_user", name, fields, "sparkops")
    assert message.startswith(f"engine_user names {name}, an existing login account")
    assert "such as sparkops" in message


def test_another_programs_system_account_is_refused():
    message = account_problem("engine_user", "www-data", entry(33, comment="www-data"), "sparkops")
    assert "another program made" in message


def test_the_collections_own_accounts_and_the_adoptable_ones_are_accepted():
    own = entry(998, comment=f"{OWN_COMMENT} (engine)")
    assert account_problem("engine_user", "llm", own, "sparkops", purpose="engine") == ""
    # Made by today's main without a comment, or by Ollama's install.sh (shell /bin/false).
    assert account_problem("engine_user", "sparkops", entry(997), "sparkops", ["sparkops"]) == ""
    ollama = entry(996, "/bin/false", "")
    assert account_problem("Ollama's account", "ollama", ollama, "ollama", ["ollama"]) == ""


@pytest.mark.parametrize("name", ["", " ", "a:b", "../x"])
def test_a_name_that_cannot_be_an_account_is_refused(name):
    assert "must be an account name" in account_problem("engine_user", name, None, "sparkops")


def test_an_account_the_collection_made_for_another_service_is_refused():
    bridge = entry(995, comment=f"{OWN_COMMENT} (bridge)")
    message = account_problem(
        "engine_user", "sparkops-bridge", bridge, "sparkops", ["sparkops"], purpose="engine"
    )
    assert "another of the collection's services made" in message
    engine = entry(997, comment=f"{OWN_COMMENT} (engine)")
    message = account_problem(
        "anthropic_bridge_user",
        "sparkops",
        engine,
        "sparkops-bridge",
        ["sparkops-bridge"],
        "bridge",
    )
    assert message.startswith("anthropic_bridge_user names sparkops, an existing system account")


def test_a_new_account_may_not_take_an_existing_groups_name():
    message = account_problem("engine_user", "docker", None, "sparkops", group_exists=True)
    assert "an existing group that is not the collection's" in message
    assert (
        account_problem("engine_user", "sparkops", None, "sparkops", ["sparkops"], "engine", True)
        == ""
    )
