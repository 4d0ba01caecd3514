"""The anthropic_bridge on the simulated Spark: the real LiteLLM proxy (installed from PyPI with
every dependency pinned by hash) in front of the real llama-server, the real Claude Code CLI
through it, a wrong key, a refused version, the latency it adds, and turning it off.

Tests run in file order; the last one removes the bridge.
"""

from __future__ import annotations

import json
import os
import shlex

import yaml
from conftest import (
    assert_agent_loop_ran,
    claude_agent_loop,
    journal_since,
    run_playbook,
)

BRIDGE = "sparkops-bridge.service"
ENGINE = "sparkops-llama-server.service"
KEY_FILE = "/etc/sparkops-bridge/master.key"
SETTINGS = "/home/dev/.claude/settings.json"


def flat(text: str) -> str:
    return " ".join(text.split())


def test_bridge_runs_as_its_user_on_loopback(host):
    service = host.service(BRIDGE)
    assert service.is_enabled and service.is_running
    pid = host.run(f"systemctl show -p MainPID --value {BRIDGE}").stdout.strip()
    assert host.run(f"ps -o user= -p {pid}").stdout.strip() == "sparkops-bridge"
    listening = host.run("ss -ltnH 'sport = :4000'").stdout
    assert "127.0.0.1:4000" in listening and "0.0.0.0:4000" not in listening
    verify = host.run(f"systemd-analyze verify /etc/systemd/system/{BRIDGE}")
    assert verify.rc == 0, verify.stderr


def test_the_venv_holds_the_pinned_litellm_and_no_init_pth(host):
    version = host.check_output(
        "/opt/sparkops/litellm/1.106.12/bin/python -c "
        "'import importlib.metadata as m; print(m.version(\"litellm\"))'"
    )
    assert version.strip() == "1.106.12"
    assert host.run("find /opt/sparkops/litellm -name litellm_init.pth").stdout == ""


def test_config_maps_the_model_onto_the_engine_and_secrets_are_0600(host):
    config = yaml.safe_load(host.file("/etc/sparkops-bridge/config.yaml").content_string)
    (entry,) = config["model_list"]
    assert entry["model_name"] == "testbed-harmony"
    assert entry["litellm_params"]["model"] == "openai/testbed-harmony"
    assert entry["litellm_params"]["api_base"] == "http://127.0.0.1:8005/v1"
    assert config["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    assert config["general_settings"]["custom_auth"] == "sparkops_auth.master_key_only"
    for path in (KEY_FILE, "/etc/sparkops-bridge/bridge.env"):
        secret = host.file(path)
        assert secret.mode == 0o600 and secret.user == "sparkops-bridge"
    assert host.file(KEY_FILE).content_string.startswith("sk-")


def test_claude_code_points_at_the_bridge(host):
    env = json.loads(host.file(SETTINGS).content_string)["env"]
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:4000"
    assert env["ANTHROPIC_AUTH_TOKEN"] == host.file(KEY_FILE).content_string.strip()


def test_claude_codes_agent_loop_runs_through_the_bridge(host):
    """The same loop as molecule/claude_code, through LiteLLM's streaming translation: the
    tool_use input must survive it (litellm#25321 dropped it once)."""
    loop = claude_agent_loop(host)
    assert_agent_loop_ran(host, loop)
    bridge_log = journal_since(host, BRIDGE, loop.since)
    assert "POST /v1/messages" in bridge_log and "200" in bridge_log
    assert "prompt eval time" in journal_since(host, ENGINE, loop.since)
    # llama-server chose its gpt-oss handling (common/chat.cpp, logged at the debug level).
    whole = host.run(f"journalctl -u {ENGINE} -o cat --no-pager").stdout
    assert "Using specialized template: GPT-OSS" in whole


def test_a_wrong_key_is_rejected(host):
    body = json.dumps(
        {
            "model": "testbed-harmony",
            "max_tokens": 4,
            "messages": [{"role": "user", "content": "hi"}],
        }
    )
    status = host.run(
        "curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer sk-wrong' "
        f"-H 'Content-Type: application/json' -d '{body}' http://127.0.0.1:4000/v1/messages"
    ).stdout
    assert status == "401"


def test_a_malicious_release_is_refused_before_anything_changes(host, scenario_dir):
    run = run_playbook(
        scenario_dir / "converge.yml", {"anthropic_bridge_litellm_version": "1.82.8"}
    )
    assert run.returncode != 0
    assert "malicious PyPI releases" in flat(run.output), run.describe()
    assert not host.file("/opt/sparkops/litellm/1.82.8").exists
    assert host.service(BRIDGE).is_running


def test_latency_the_bridge_adds(host):
    source = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "bench/bridge_latency.py")
    with open(source, encoding="utf-8") as handle:
        content = handle.read()
    script = "/usr/local/lib/sparkops-test/bridge_latency.py"
    host.run("mkdir -p /usr/local/lib/sparkops-test")
    assert host.run(f"cat > {script} <<'PYEOF'\n{content}\nPYEOF").rc == 0
    result = host.run(
        f"python3 {script} --engine http://127.0.0.1:8005 --bridge http://127.0.0.1:4000 "
        f"--bridge-key-file {KEY_FILE} --model testbed-harmony --requests 20"
    )
    assert result.rc == 0, result.stderr
    figures = json.loads(result.stdout)
    print("bridge latency:", json.dumps(figures))
    results = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "bench/results")
    os.makedirs(results, exist_ok=True)
    with open(os.path.join(results, "bridge_latency.json"), "w", encoding="utf-8") as out:
        json.dump(figures, out, indent=2)
    assert figures["requests"] == 20 and figures["direct_median_ms"] > 0


def test_turning_the_bridge_off_removes_it_and_points_claude_code_back(host, scenario_dir):
    run = run_playbook(scenario_dir / "converge.yml", {"sparkops_bridge": False})
    assert run.returncode == 0, run.describe()
    for path in (
        f"/etc/systemd/system/{BRIDGE}",
        "/opt/sparkops/litellm",
        "/etc/sparkops-bridge",
        "/var/lib/sparkops-bridge",
    ):
        assert not host.file(path).exists, path
    assert not host.user("sparkops-bridge").exists
    assert host.run(f"systemctl is-active {BRIDGE}").stdout.strip() != "active"
    facts = json.loads(host.file("/etc/ansible/facts.d/sparkops.fact").content_string)
    assert "bridge" not in facts
    env = json.loads(host.file(SETTINGS).content_string)["env"]
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8005"
    again = run_playbook(scenario_dir / "converge.yml", {"sparkops_bridge": False})
    assert again.returncode == 0 and again.changed == 0, again.describe()


def test_a_tampered_record_cannot_make_the_removal_delete_a_system_folder(host, scenario_dir):
    """The removal obeys the record, so the record itself is checked: a local facts file edited
    to name /etc and /srv as the bridge's folders stops the run and removes nothing."""
    facts_path = "/etc/ansible/facts.d/sparkops.fact"
    original = host.file(facts_path).content_string
    facts = json.loads(original)
    facts["bridge"] = {"folders": ["/etc", "/srv"], "user": "sparkops-bridge"}
    host.check_output(f"printf %s {shlex.quote(json.dumps(facts))} > {facts_path}")
    host.check_output("mkdir -p /srv/keep && echo mine > /srv/keep/notes.txt")
    try:
        run = run_playbook(scenario_dir / "converge.yml", {"sparkops_bridge": False})
        assert run.returncode != 0, run.describe()
        output = " ".join(run.output.split())
        assert "names folders it must not remove" in output, run.describe()
        assert "the recorded folder is /etc, which is a system folder" in output
        assert "nothing was removed" in output
        assert host.file("/etc/hostname").exists
        assert host.file("/srv/keep/notes.txt").content_string == "mine\n"
    finally:
        host.check_output(f"printf %s {shlex.quote(original)} > {facts_path}")
