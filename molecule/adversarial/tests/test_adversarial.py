"""Mistaken and hostile input against the simulated Spark that site.yml has just provisioned.

Every refused case runs the real entry point (`ansible-playbook site.yml`) with one bad setting,
as a user would, and checks three things: the run failed, its output names the setting (or the
path) and what to do, and a snapshot of what a user cares about on the host is the same after the
run as before it. The snapshot covers the unit files, Claude Code's settings.json, fstab, the
local facts, every file under /etc/sparkops and /opt/sparkops (owner, group, mode, size), the
accounts the cases name, the engine's PID and a sentinel folder of the user's.
Then the routes that must work: an IPv6 loopback bind end to end, an engine that fails its checks
rolled back to the one that served, and the bridge's removal obeying only its own record.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_playbook

REPO = Path(__file__).resolve().parents[3]
SITE = REPO / "site.yml"
LLAMA = "sparkops-llama-server.service"
# The simulation's own extra argument (inventories/simulation/group_vars/spark/main.yml), kept
# in every case that sets engine_llamacpp_extra_args so that only the bad part differs.
BIAS = ["--logit-bias", "2+1000"]
SENTINEL = "/srv/sentinel"

SNAPSHOT = r"""
for f in /etc/systemd/system/sparkops-*.service /etc/systemd/system/ollama.service \
         /etc/systemd/system/ollama.service.d/* /etc/fstab /home/dev/.claude/settings.json \
         /etc/ansible/facts.d/sparkops.fact /swapfile; do
  [ -e "$f" ] && echo "$(sha256sum "$f")"
done
find /etc/sparkops /opt/sparkops /srv -maxdepth 3 -printf '%p %u %g %m %y %s\n' | sort
getent passwd dev sparkops www-data sparkops-bridge
systemctl show -p MainPID -p ActiveState sparkops-llama-server.service
"""


def flat(text: str) -> str:
    return " ".join(text.split())


def snapshot(host) -> str:
    result = host.run(SNAPSHOT)
    assert result.stdout.strip(), result.stderr
    return result.stdout


@pytest.fixture(scope="module", autouse=True)
def sentinel(host):
    """A folder of the user's, with a file in it, that no case may touch."""
    host.run(f"mkdir -p {SENTINEL}/keep && echo 'my work' > {SENTINEL}/keep/notes.txt")
    yield
    assert host.file(f"{SENTINEL}/keep/notes.txt").content_string == "my work\n"


REFUSED = [
    pytest.param(
        {"sparkops_engine": "llama.cpp"},
        "sparkops_engine is 'llama.cpp', which is not an engine this collection installs: "
        "set it to one of llamacpp, ollama, sglang",
        id="engine-name-typo",
    ),
    pytest.param(
        {"sparkops_bind": "0.0.0.0"},
        "sparkops_bind is 0.0.0.0, which exposes the service beyond this host, but no API key",
        id="wide-bind-without-key",
    ),
    pytest.param(
        {"sparkops_bind": "spark01"},
        "sparkops_bind: 'spark01' is not an IP address",
        id="bind-host-name",
    ),
    pytest.param(
        {"engine_llamacpp_extra_args": [*BIAS, "--host", "0.0.0.0"]},
        "engine_llamacpp_extra_args sets --host, which the role decides itself: remove it and "
        "set sparkops_bind instead",
        id="extra-args-host",
    ),
    pytest.param(
        {"engine_llamacpp_extra_args": [*BIAS, "--api-key", "sk-on-the-command-line"]},
        "engine_llamacpp_extra_args sets --api-key",
        id="extra-args-key-on-argv",
    ),
    pytest.param(
        {"engine_llamacpp_extra_args": [*BIAS, "--tools", "all"]},
        "engine_llamacpp_extra_args sets --tools",
        id="extra-args-agent-tools",
    ),
    pytest.param(
        {"sparkops_engine": "ollama", "engine_ollama_extra_env": {"OLLAMA_HOST": "0.0.0.0:11434"}},
        "engine_ollama_extra_env sets OLLAMA_HOST",
        id="ollama-env-host",
    ),
    pytest.param(
        {"sparkops_engine": "ollama", "sparkops_bind": "0.0.0.0", "sparkops_api_key": "k" * 32},
        "sparkops_bind is 0.0.0.0, which exposes Ollama beyond this host, and Ollama cannot "
        "require an API key",
        id="ollama-wide-bind-with-key",
    ),
    pytest.param(
        {"engine_user": "dev"},
        "engine_user names dev, an existing login account (uid 1000",
        id="engine-user-login-account",
    ),
    pytest.param(
        {"engine_user": "root"},
        "engine_user names root, an existing login account (uid 0",
        id="engine-user-root",
    ),
    pytest.param(
        {"engine_user": "www-data"},
        "engine_user names www-data, an existing system account that another program made",
        id="engine-user-other-program",
    ),
    pytest.param(
        {"engine_llamacpp_port": 11434},
        "must be distinct numbers from 1 to 65535",
        id="port-of-another-engine",
    ),
    pytest.param(
        {"sparkops_context": 65536},
        "at most the 8192 tokens testbed-tiny was trained for",
        id="context-beyond-training",
    ),
    pytest.param(
        {"sparkops_engine": "ollama", "engine_ollama_home": "/home/dev"},
        "engine_ollama_home is /home/dev, which exists and belongs to dev",
        id="ollama-home-in-a-users-home",
    ),
    pytest.param(
        {"engine_config_dir": "/etc"},
        "engine_config_dir is /etc, which is a system folder: the role sets its owner and mode",
        id="config-dir-system-folder",
    ),
    pytest.param(
        {"sparkops_bridge": True, "anthropic_bridge_config_dir": "/etc/sparkops"},
        "anthropic_bridge_config_dir is /etc/sparkops, which is a folder the collection's roles "
        "share",
        id="bridge-config-in-shared-folder",
    ),
    pytest.param(
        {"sparkops_bridge": True, "anthropic_bridge_install_dir": SENTINEL},
        f"{SENTINEL} already exists and is not the bridge's",
        id="bridge-install-in-a-users-folder",
    ),
    pytest.param(
        {"sparkops_bridge": True, "anthropic_bridge_port": 8005},
        "anthropic_bridge_port 8005 is also an engine port",
        id="bridge-port-clash",
    ),
    pytest.param(
        {"sparkops_bridge": True, "anthropic_bridge_user": "dev"},
        "anthropic_bridge_user names dev, an existing login account",
        id="bridge-user-login-account",
    ),
    pytest.param(
        {"sparkops_bind": "0.0.0.0", "sparkops_api_key": " " * 24},
        "sparkops_api_key (engine_api_key) holds spaces or control characters",
        id="key-of-spaces-on-a-wide-bind",
    ),
    pytest.param(
        {"sparkops_engine": "sglang", "engine_sglang_hf_cache": "/var/lib/sparkops/models/cache"},
        "engine_sglang_hf_cache is /var/lib/sparkops/models/cache, inside "
        "/var/lib/sparkops/models, another of the collection's own folders",
        id="sglang-cache-inside-the-weights-folder",
    ),
    pytest.param(
        {"sparkops_bridge": True, "anthropic_bridge_pip_cache_dir": "/tmp"},
        "anthropic_bridge_pip_cache_dir is /tmp, which is a system folder",
        id="bridge-pip-cache-in-tmp",
    ),
]
# Folders of roles that check them when they start (a later play: the earlier plays change
# nothing on this converged host). Only those roles run, by their tags.
LATER = [
    pytest.param(
        {"update_os_packages": True, "update_log_dir": "/tmp"},
        "update",
        "update_log_dir is /tmp, which is a system folder",
        id="update-log-in-tmp",
    ),
    pytest.param(
        {"claude_code_install_cli": True, "claude_code_cli_dir": SENTINEL},
        "claude_code",
        f"claude_code_cli_dir is {SENTINEL}, which already holds files this collection did not "
        "put there",
        id="claude-cli-in-a-users-project",
    ),
]


# Three classes again under --check: a dry run must refuse what a real run refuses (the bind
# forms, extra arguments and folder rules are unit-tested in tests/unit).
CHECK_MODE = {
    "wide-bind-without-key",
    "engine-user-login-account",
    "bridge-config-in-shared-folder",
}
REFUSED += [
    pytest.param(*case.values, id=f"{case.id}-check", marks=case.marks)
    for case in list(REFUSED)
    if case.id in CHECK_MODE
]


@pytest.mark.parametrize(("extra_vars", "expected"), REFUSED)
def test_bad_input_is_refused_by_the_first_play_and_changes_nothing(
    host, request, extra_vars, expected
):
    before = snapshot(host)
    check = ["--check"] if request.node.callspec.id.endswith("-check") else []
    run = run_playbook(SITE, extra_vars, *check)
    assert run.returncode != 0, run.describe()
    assert expected in flat(run.output), run.describe()
    # The first play stops the host: no later play (swap, build, engine) ran on it.
    assert "Ensure swap for serving" not in run.output, run.describe()
    assert snapshot(host) == before


@pytest.mark.parametrize(("extra_vars", "tag", "expected"), LATER)
def test_bad_folders_are_refused_before_their_role_changes_anything(
    host, extra_vars, tag, expected
):
    before = snapshot(host)
    run = run_playbook(SITE, extra_vars, "--tags", tag)
    assert run.returncode != 0, run.describe()
    assert expected in flat(run.output), run.describe()
    assert snapshot(host) == before


def test_bridge_off_removes_only_what_its_record_names(host):
    """Bridge variables pointed at shared folders and a login account, with the bridge off."""
    before = snapshot(host)
    run = run_playbook(
        SITE,
        {
            "sparkops_bridge": False,
            "anthropic_bridge_config_dir": "/etc/sparkops",
            "anthropic_bridge_install_dir": "/opt/sparkops",
            "anthropic_bridge_user": "dev",
        },
        "--tags",
        "bridge",
    )
    assert run.returncode == 0, run.describe()
    assert run.changed == 0, run.describe()
    assert snapshot(host) == before
    assert host.user("dev").exists and host.file("/etc/sparkops").is_directory


def test_the_shared_config_folder_has_one_owner_and_mode(host):
    folder = host.file("/etc/sparkops")
    assert (folder.user, folder.group, folder.mode) == ("root", "sparkops", 0o750)
    # The service user can still enter it (it holds the engine's key when one is set).
    assert host.run("runuser -u sparkops -- ls /etc/sparkops").rc == 0


def test_an_engine_that_fails_its_checks_is_rolled_back(host):
    unit = host.file(f"/etc/systemd/system/{LLAMA}")
    unit_before = unit.sha256sum
    run = run_playbook(
        SITE,
        {
            "engine_llamacpp_extra_args": [*BIAS, "--no-such-flag"],
            "engine_health_timeout_s": 120,
        },
        "--tags",
        "engine",
    )
    text = flat(run.output)
    assert run.returncode != 0, run.describe()
    assert "llamacpp did not pass its checks" in text, run.describe()
    assert "Rolled back: llamacpp serves again with its previous unit" in text, run.describe()
    assert host.file(f"/etc/systemd/system/{LLAMA}").sha256sum == unit_before
    assert host.service(LLAMA).is_running
    health = host.run("curl -fsS -o /dev/null -w '%{http_code}' http://127.0.0.1:8005/health")
    assert health.stdout == "200", health.stderr
    assert "--no-such-flag" not in host.run(f"systemctl cat {LLAMA}").stdout


def test_an_ipv6_loopback_bind_works_end_to_end(host):
    run = run_playbook(SITE, {"sparkops_bind": "::1"})
    assert run.returncode == 0, run.describe()
    listening = host.run("ss -Hltn 'sport = :8005'").stdout
    assert "[::1]:8005" in listening, listening
    assert "127.0.0.1:8005" not in listening, listening
    health = host.run("curl -fsS -g -o /dev/null -w '%{http_code}' 'http://[::1]:8005/health'")
    assert health.stdout == "200", health.stderr
    facts = json.loads(host.file("/etc/ansible/facts.d/sparkops.fact").content_string)
    assert facts["engine"]["url"] == "http://[::1]:8005"
    settings = json.loads(host.file("/home/dev/.claude/settings.json").content_string)
    assert settings["env"]["ANTHROPIC_BASE_URL"] == "http://[::1]:8005"
    again = run_playbook(SITE, {"sparkops_bind": "::1"})
    assert again.returncode == 0 and again.changed == 0, again.describe()


def test_going_back_to_the_ipv4_loopback_restores_the_default(host):
    run = run_playbook(SITE)
    assert run.returncode == 0, run.describe()
    assert "127.0.0.1:8005" in host.run("ss -Hltn 'sport = :8005'").stdout
    settings = json.loads(host.file("/home/dev/.claude/settings.json").content_string)
    assert settings["env"]["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8005"
