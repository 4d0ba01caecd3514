"""What a user checks on the simulated Spark after `ansible-playbook site.yml -l spark01`.

Grows with the roles: each role that joins site.yml adds the checks a user would make.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from conftest import ask_messages, harmony_script, run_playbook, text_blocks

REPO = Path(__file__).resolve().parents[3]
PREFLIGHT = REPO / "playbooks" / "preflight.yml"
FAKE_NVIDIA_SMI = Path(__file__).resolve().parents[1] / "files" / "nvidia-smi-gb10"


def flat(text: str) -> str:
    return " ".join(text.split())


def test_swap_file_is_ready_and_listed_once_in_fstab(host):
    swap = host.file("/swapfile")
    assert swap.is_file and swap.mode == 0o600
    probe = host.run("blkid --probe --match-tag TYPE --output value /swapfile")
    assert probe.stdout.strip() == "swap"
    entries = [
        line
        for line in host.file("/etc/fstab").content_string.splitlines()
        if line.split()[:1] == ["/swapfile"]
    ]
    assert len(entries) == 1


def test_llama_server_is_built_and_recorded(host):
    result = host.run("/opt/sparkops/llama.cpp/current/bin/llama-server --version")
    assert result.rc == 0, result.stderr
    facts = json.loads(host.file("/etc/ansible/facts.d/sparkops.fact").content_string)
    assert facts["llama_cpp"]["backend"] == "cpu"
    assert facts["llama_cpp"]["flags"]["--load-mode"] is True


def test_preflight_summarises_the_box_without_a_gpu():
    run = run_playbook(PREFLIGHT)
    assert run.returncode == 0, run.describe()
    text = flat(run.output)
    assert "GPU: none found" in text
    assert "Plan: testbed-harmony, 1 slot(s) x 32768 tokens" in text
    assert "fits with" in text
    assert run.changed == 0


def test_preflight_stops_without_a_gpu_when_one_is_required():
    run = run_playbook(PREFLIGHT, {"preflight_require_gpu": True})
    assert run.returncode != 0
    assert "no NVIDIA GPU found" in flat(run.output), run.describe()


def test_preflight_refuses_a_plan_that_does_not_fit_and_names_the_knob():
    run = run_playbook(PREFLIGHT, {"sparkops_context": 4_000_000, "sparkops_slots": 16})
    assert run.returncode != 0
    text = flat(run.output)
    assert "does not fit" in text.lower(), run.describe()
    assert "lower the context" in text, run.describe()


@pytest.fixture
def fake_gb10(host):
    """Install the GB10 nvidia-smi stand-in for one test, then remove it."""
    payload = base64.b64encode(FAKE_NVIDIA_SMI.read_bytes()).decode()
    host.run(f"echo {payload} | base64 -d > /usr/local/bin/nvidia-smi")
    host.run("chmod 0755 /usr/local/bin/nvidia-smi")
    yield
    host.run("rm -f /usr/local/bin/nvidia-smi")


def test_preflight_recognises_a_gb10_and_reads_memory_from_meminfo(host, fake_gb10):
    run = run_playbook(PREFLIGHT, {"preflight_require_gpu": True})
    assert run.returncode == 0, run.describe()
    text = flat(run.output)
    assert "GPU: NVIDIA GB10 (compute 12.1, driver 580.95.05" in text, run.describe()
    assert "a GB10" in text
    # nvidia-smi says [N/A] for memory: the total must come from /proc/meminfo instead.
    mem_kib = int(host.file("/proc/meminfo").content_string.split()[1])
    assert f"Unified memory: {round(mem_kib / 1048576, 1)} GiB total" in text, run.describe()


def test_the_model_was_downloaded_verified_and_recorded(host):
    model = json.loads(host.file("/etc/ansible/facts.d/sparkops.fact").content_string)["model"]
    assert model["name"] == "testbed-harmony"
    shard = host.file(model["path"])
    assert shard.is_file and shard.size == model["bytes"]
    digest = host.run(f"sha256sum {model['path']}").stdout.split()[0]
    assert digest == model["sha256"][model["path"].rsplit("/", 1)[-1]]


def test_spark01_answers_the_messages_api_on_its_engine_port(host):
    answer = ask_messages(host, "http://127.0.0.1:8005")
    # The harmony model's final channel, parsed by llama-server's gpt-oss handling into text.
    assert text_blocks(answer) == [harmony_script()["final"]], answer
    engine = json.loads(host.file("/etc/ansible/facts.d/sparkops.fact").content_string)["engine"]
    assert engine["port"] == 8005 and engine["bind"] == "127.0.0.1"


def test_claude_code_settings_of_the_login_user_point_at_the_engine(host):
    settings = json.loads(host.file("/home/dev/.claude/settings.json").content_string)
    assert settings["env"]["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8005"
    assert settings["env"]["ANTHROPIC_DEFAULT_SONNET_MODEL"] == "testbed-harmony"
    assert host.file("/home/dev/.claude/settings.json").user == "dev"


def test_bench_playbook_measures_served_against_llama_bench(host):
    """playbooks/bench.yml on the simulated Spark (CPU, tiny model): the mechanics, not speed."""
    run = run_playbook(
        REPO / "playbooks" / "bench.yml",
        {"bench_depths": [0, 512], "bench_repetitions": 2, "bench_gen_tokens": 32},
    )
    assert run.returncode == 0, run.describe()
    assert "served / bench" in run.output
    newest = host.run("ls -t /var/lib/sparkops/bench/bench-*.json | head -n 1").stdout.strip()
    report = json.loads(host.file(newest).content_string)
    assert [row["depth"] for row in report["rows"]] == [0, 512]
    for row in report["rows"]:
        assert row["llama_bench_tps"] > 0 and row["served_tps"] > 0
        assert abs(row["served_over_bench"] - row["served_tps"] / row["llama_bench_tps"]) < 0.01
    assert host.service("sparkops-llama-server.service").is_running
