"""What a user checks after the engine role started llama-server on the simulated Spark.

Real parts: the llama.cpp CPU build, systemd, HTTP on the container's loopback, the tiny
random-weight model (its answers are gibberish; the test bed favours its end-of-stream token so
that answers end). Tests run in file order: state, APIs, restart after kill -9, exposure rules.
"""

from __future__ import annotations

import json
import time

from conftest import journal_since, run_playbook

UNIT = "sparkops-llama-server.service"
URL = "http://127.0.0.1:8005"
# A schema whose every valid answer is a few tokens long, so even the random-weight model
# finishes it: the grammar, not the model, decides what comes out.
ONE_BOOLEAN = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}


def curl_json(host, path, body=None, headers=(), url=URL):
    command = ["curl -sS --max-time 60"]
    command += [f"-H '{header}'" for header in headers]
    if body is not None:
        command += ["-H 'Content-Type: application/json'", f"-d '{json.dumps(body)}'"]
    result = host.run(" ".join([*command, f"{url}{path}"]))
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def wait_healthy(host, seconds=90, url=URL):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if host.run(f"curl -sf {url}/health").rc == 0:
            return True
        time.sleep(2)
    return False


def test_service_is_enabled_active_and_runs_as_the_service_user(host):
    service = host.service(UNIT)
    assert service.is_enabled and service.is_running
    pid = host.run(f"systemctl show -p MainPID --value {UNIT}").stdout.strip()
    assert host.run(f"ps -o user= -p {pid}").stdout.strip() == "sparkops"


def test_unit_renders_the_flags_this_build_accepts(host):
    exec_start = host.run(f"systemctl show -p ExecStart --value {UNIT}").stdout
    assert "-lm none" in exec_start and "--no-mmap" not in exec_start
    assert "-fa on" in exec_start and "--jinja" in exec_start
    assert "-a testbed-tiny" in exec_start and "--port 8005" in exec_start
    assert "--host 127.0.0.1" in exec_start
    assert "-c 8192 -np 1" in exec_start


def test_unit_is_hardened(host):
    show = host.run(
        f"systemctl show -p NoNewPrivileges -p ProtectSystem -p ProtectHome -p PrivateTmp "
        f"-p DevicePolicy -p User -p Restart {UNIT}"
    ).stdout
    for expected in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "DevicePolicy=closed",
        "User=sparkops",
        "Restart=on-failure",
    ):
        assert expected in show, show
    assert host.run(f"systemd-analyze verify /etc/systemd/system/{UNIT}").rc == 0


def test_health_chat_and_messages_answer(host):
    assert curl_json(host, "/health")["status"] == "ok"
    chat = curl_json(
        host,
        "/v1/chat/completions",
        {"model": "testbed-tiny", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert chat["choices"][0]["message"]["role"] == "assistant"
    message = curl_json(
        host,
        "/v1/messages",
        {"model": "testbed-tiny", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
        headers=["anthropic-version: 2023-06-01"],
    )
    assert message["type"] == "message" and message["role"] == "assistant"


def test_kill_9_brings_the_service_back(host):
    old_pid = host.run(f"systemctl show -p MainPID --value {UNIT}").stdout.strip()
    assert host.run(f"kill -9 {old_pid}").rc == 0
    time.sleep(7)  # RestartSec=5
    assert wait_healthy(host)
    new_pid = host.run(f"systemctl show -p MainPID --value {UNIT}").stdout.strip()
    assert new_pid not in ("", "0", old_pid)


def test_a_non_loopback_bind_without_a_key_is_refused(host, scenario_dir):
    run = run_playbook(scenario_dir / "converge.yml", {"sparkops_bind": "0.0.0.0"})
    assert run.returncode != 0
    assert "no API key is set" in " ".join(run.output.split()), run.describe()
    assert "--host 127.0.0.1" in host.run(f"systemctl show -p ExecStart --value {UNIT}").stdout


def test_a_wider_bind_with_a_generated_key_requires_the_key(host, scenario_dir):
    run = run_playbook(
        scenario_dir / "converge.yml", {"sparkops_bind": "0.0.0.0", "engine_generate_api_key": True}
    )
    assert run.returncode == 0, run.describe()
    key_file = host.file("/etc/sparkops/llama-server.key")
    assert key_file.mode == 0o600 and key_file.user == "sparkops"
    key = key_file.content_string.strip()
    assert len(key) == 48 and key not in run.output
    body = {
        "model": "testbed-tiny",
        "max_tokens": 4,
        "messages": [{"role": "user", "content": "hi"}],
    }
    denied = host.run(
        f"curl -s -o /dev/null -w '%{{http_code}}' -H 'Content-Type: application/json' "
        f"-d '{json.dumps(body)}' {URL}/v1/chat/completions"
    )
    assert denied.stdout == "401"
    allowed = curl_json(
        host, "/v1/chat/completions", body, headers=[f"Authorization: Bearer {key}"]
    )
    assert allowed["choices"]

    back = run_playbook(scenario_dir / "converge.yml")
    assert back.returncode == 0, back.describe()
    assert not host.file("/etc/sparkops/llama-server.key").exists


def test_backend_sampling_passes_the_smoke_test_and_grammars_still_hold(host, scenario_dir):
    """The opt-in `engine_llamacpp_backend_sampling` (-bs, experimental upstream) must keep what
    Claude Code relies on: the role's own smoke test (chat, messages, an Anthropic tool-use
    request) passes under it, and a request with a grammar, which gpt-oss's template attaches
    whenever tools are sent, still gives schema-valid JSON because llama-server turns backend
    sampling off for that request and says so."""
    run = run_playbook(scenario_dir / "converge.yml", {"engine_llamacpp_backend_sampling": True})
    assert run.returncode == 0, run.describe()
    assert "/v1/chat/completions and /v1/messages answer" in " ".join(run.output.split())
    exec_start = host.run(f"systemctl show -p ExecStart --value {UNIT}").stdout
    assert "--backend-sampling" in exec_start
    assert wait_healthy(host)

    fallback = "backend sampling is not compatible with grammar"
    before = journal_since(host, UNIT, 0).count(fallback)
    plain = curl_json(host, "/completion", {"prompt": "Hello", "n_predict": 8})
    assert plain["tokens_predicted"] > 0
    # Greedy, so the answer is the same every run; 256 tokens leave room for all the
    # whitespace the JSON grammar allows before the closing brace.
    constrained = curl_json(
        host,
        "/completion",
        {
            "prompt": "Answer in JSON: ",
            "n_predict": 256,
            "temperature": 0,
            "seed": 1,
            "json_schema": ONE_BOOLEAN,
        },
    )
    assert isinstance(json.loads(constrained["content"])["ok"], bool), constrained["content"]
    # llama-server logs from a thread of its own: give the line a moment to reach the journal.
    deadline = time.monotonic() + 10
    while (after := journal_since(host, UNIT, 0).count(fallback)) == before:
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    assert after == before + 1, f"{fallback!r} logged {after - before} times for one request"

    back = run_playbook(scenario_dir / "converge.yml")
    assert back.returncode == 0, back.describe()
    exec_start = host.run(f"systemctl show -p ExecStart --value {UNIT}").stdout
    assert "--backend-sampling" not in exec_start


def test_the_sampler_patch_is_in_use_and_draws_the_same_tokens_as_upstream(host):
    """llama_cpp's default patch sampling-fast-top-k fills the sampler from the top-k logits
    instead of the whole vocabulary; it must draw exactly what upstream's path draws. The same
    binary runs both: SPARKOPS_FAST_TOPK=0 switches the patch off. Two servers on the service's
    model with a logit bias on one token, seeded requests with the default chain (top-k 40,
    top-p, min-p, temperature); ignore_eos biases the end token too and makes every answer 48
    tokens long. The test-bed model's output rows are all distinct (make_proxy_model.py
    --distinct-output), so no two tokens tie and the draws must match token for token. A last
    request biases the end token twice (ignore_eos and +1000), which the patch leaves to
    upstream's path: the end token must stay suppressed."""
    assert "sparkops sampling-fast-top-k patch: in use" in journal_since(host, UNIT, 0)
    facts = json.loads(host.file("/etc/ansible/facts.d/sparkops.fact").content_string)
    assert facts["llama_cpp"]["patches"] == ["sampling-fast-top-k"]
    binary = f"{facts['llama_cpp']['bin_dir']}/llama-server"
    model = facts["model"]["path"]
    requests = [
        {"prompt": "Once upon a time", "n_predict": 48, "seed": seed, "ignore_eos": True}
        for seed in (1, 2, 3)
    ]
    requests.append({**requests[0], "logit_bias": [[2, 1000]]})
    answers = {}
    logs = {}
    for name, port, switch in (("patched", 8091, ""), ("upstream", 8092, "SPARKOPS_FAST_TOPK=0")):
        log = f"/tmp/sampler-{name}.log"
        host.run(
            f"env {switch} nohup {binary} -m {model} --host 127.0.0.1 --port {port} -c 2048 "
            f"-np 1 --logit-bias 100+3 >{log} 2>&1 &"
        )
        url = f"http://127.0.0.1:{port}"
        try:
            assert wait_healthy(host, 60, url), host.file(log).content_string[-2000:]
            answers[name] = []
            for body in requests:
                answer = curl_json(host, "/completion", body, url=url)
                assert answer["tokens_predicted"] == 48, (name, body, answer)
                answers[name].append(answer["content"])
        finally:
            host.run(f"pkill -f -- '--port {port}'")
        logs[name] = host.file(log).content_string
    assert "sparkops sampling-fast-top-k patch: in use" in logs["patched"]
    assert "sparkops sampling-fast-top-k patch: off" in logs["upstream"]
    assert "sparkops sampling-fast-top-k patch: in use" not in logs["upstream"]
    # Different seeds draw different texts (the chain really samples)...
    assert len(set(answers["upstream"][:3])) == 3
    # ...and the patch draws exactly upstream's.
    assert answers["patched"] == answers["upstream"]
