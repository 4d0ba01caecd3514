"""Units on the simulated Spark: every argument reaches the process byte for byte, a unit that
systemd refuses never replaces the installed one, and SGLang's key is on no command line.

Runs after test_other_engines.py (file order), which leaves llama-server serving. Real parts:
systemd (PID 1 of the container), its systemd-analyze, the llama.cpp CPU build and /proc.
"""

from __future__ import annotations

import base64
import json
import shlex

import yaml
from conftest import run_playbook
from test_engine import wait_healthy
from test_other_engines import fetch_checkpoint, record_gguf, tiktoken_vars

UNIT = "sparkops-llama-server.service"
UNIT_PATH = f"/etc/systemd/system/{UNIT}"
SGLANG = "sparkops-sglang.service"
# A real llama-server option whose value is JSON (parsed at start: a mangled value stops it),
# carrying what systemd would otherwise read as quoting, specifiers or variables.
KWARGS = json.dumps(
    {
        "reasoning_effort": "high",
        "note": "100% %n of $HOME and ${X}; 'single' \"double\" back\\slash\ttab ü😀",
    },
    ensure_ascii=False,
)
MODEL = "/var/lib/sparkops/models/testbed-tiny/testbed-tiny.gguf"
SPACED_DIR = "/var/lib/sparkops/models/test bed 100%"
SPACED_MODEL = f"{SPACED_DIR}/tiny model.gguf"


def flat(text: str) -> str:
    return " ".join(text.split())


def main_pid(host, unit: str = UNIT) -> str:
    return host.run(f"systemctl show -p MainPID --value {unit}").stdout.strip()


def process_argv(host, pid: str) -> list[bytes]:
    """The process's own argv, as the kernel holds it (NUL-separated)."""
    raw = base64.b64decode(host.check_output(f"base64 -w0 /proc/{pid}/cmdline"))
    return raw.rstrip(b"\0").split(b"\0")


def test_a_json_argument_with_percent_dollar_and_quotes_reaches_llama_server_unchanged(
    host, scenario_dir
):
    run = run_playbook(
        scenario_dir / "converge.yml",
        {"engine_llamacpp_extra_args": ["--chat-template-kwargs", KWARGS]},
    )
    assert run.returncode == 0, run.describe()
    assert wait_healthy(host)
    argv = process_argv(host, main_pid(host))
    # The user's extra arguments come after the role's own --chat-template-kwargs (the effort).
    last = len(argv) - 1 - argv[::-1].index(b"--chat-template-kwargs")
    assert argv[last + 1] == KWARGS.encode()
    assert host.run(f"systemd-analyze verify {UNIT_PATH}").rc == 0


def test_a_model_path_with_spaces_and_percent_is_served(host, scenario_dir):
    assert host.run(f"mkdir -p '{SPACED_DIR}' && cp {MODEL} '{SPACED_MODEL}'").rc == 0
    run = run_playbook(scenario_dir / "converge.yml", {"engine_llamacpp_model_path": SPACED_MODEL})
    assert run.returncode == 0, run.describe()
    assert wait_healthy(host)
    argv = process_argv(host, main_pid(host))
    assert argv[argv.index(b"-m") + 1] == SPACED_MODEL.encode()
    # ReadOnlyPaths= is quoted by its own rule: systemd reads the folder back whole (and shows
    # it in double quotes, as it has a space).
    paths = host.run(f"systemctl show -p ReadOnlyPaths --value {UNIT}").stdout.strip()
    assert shlex.split(paths) == [SPACED_DIR], paths


def test_a_unit_systemd_refuses_is_not_installed_and_the_service_keeps_running(host, scenario_dir):
    """A model path with a '..' passes every check before the unit, but systemd would ignore
    ReadOnlyPaths= for it ("not normalized"): the new unit is refused, the old one stays."""
    before_sha = host.file(UNIT_PATH).sha256sum
    before_pid = main_pid(host)
    bad = f"{SPACED_DIR}/../test bed 100%/tiny model.gguf"
    run = run_playbook(scenario_dir / "converge.yml", {"engine_llamacpp_model_path": bad})
    assert run.returncode != 0
    output = flat(run.output)
    assert f"{UNIT} was not installed: systemd-analyze verify refused the new content" in output, (
        run.describe()
    )
    assert "ReadOnlyPaths= path is not normalized" in output
    assert host.file(UNIT_PATH).sha256sum == before_sha
    assert main_pid(host) == before_pid and host.service(UNIT).is_running


def test_the_unit_it_replaced_is_kept_as_a_backup(host):
    """The previous runs replaced the unit twice; the backup is the one before the last."""
    backup = host.file(f"{UNIT_PATH}.sparkops-backup")
    assert backup.is_file and backup.mode == 0o644 and backup.user == "root"
    # KWARGS's "100% %n of $HOME", as systemd's quoting writes it (% and $ doubled).
    assert "%%n of $$HOME" in backup.content_string
    assert "%%n of $$HOME" not in host.file(UNIT_PATH).content_string


GPT_OSS_TEMPLATE = "/var/lib/sparkops/models/testbed-tiny/openai-gpt-oss-120b.jinja"


def apply_template(host, body: dict) -> str:
    """The prompt llama-server renders for a chat request (its /apply-template endpoint)."""
    answer = host.check_output(
        f"curl -sf -H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))} "
        "http://127.0.0.1:8005/apply-template"
    )
    return json.loads(answer)["prompt"]


def test_the_reasoning_effort_reaches_gpt_osss_template_as_json(host, scenario_dir):
    # gpt-oss's own template from the pinned llama.cpp tree (prepare.yml placed it).
    assert "reasoning_effort" in host.file(GPT_OSS_TEMPLATE).content_string
    run = run_playbook(
        scenario_dir / "converge.yml",
        {
            "sparkops_reasoning_effort": "high",
            "engine_llamacpp_extra_args": ["--chat-template-file", GPT_OSS_TEMPLATE],
            # The random-weight model's text is not harmony: the smoke test's checks of the
            # answer's blocks are for a real gpt-oss. What the template renders is checked here.
            "engine_smoke_test": False,
        },
    )
    assert run.returncode == 0, run.describe()
    assert wait_healthy(host)
    argv = process_argv(host, main_pid(host))
    assert argv[argv.index(b"--chat-template-kwargs") + 1] == b'{"reasoning_effort":"high"}'
    messages = [{"role": "user", "content": "List the files."}]
    prompt = apply_template(host, {"messages": messages})
    assert "<|start|>system<|message|>" in prompt  # gpt-oss's harmony format
    assert "Reasoning: high" in prompt
    # A request's own effort overrides the setting.
    assert "Reasoning: low" in apply_template(
        host, {"messages": messages, "reasoning_effort": "low"}
    )


def test_a_reasoning_effort_the_model_does_not_take_is_refused_before_anything_changes(
    host, scenario_dir
):
    before = host.file(UNIT_PATH).content_string
    run = run_playbook(scenario_dir / "converge.yml", {"sparkops_reasoning_effort": "extreme"})
    assert run.returncode != 0
    assert "sparkops_reasoning_effort is 'extreme'; this model takes one of low, medium, high" in (
        flat(run.output)
    ), run.describe()
    assert host.file(UNIT_PATH).content_string == before


def test_sglang_takes_its_api_key_from_a_file_not_a_command_line(host, scenario_dir):
    fetch_checkpoint(host, scenario_dir)
    run = run_playbook(
        scenario_dir / "converge.yml",
        {
            "sparkops_engine": "sglang",
            "sparkops_bind": "0.0.0.0",
            "engine_generate_api_key": True,
            "engine_sglang_tiktoken_files": tiktoken_vars(host),
            # Folders of its own, so that this test is about the key alone (test_other_engines
            # covers the default folders).
            "engine_sglang_hf_cache": "/var/lib/sparkops-units-test/huggingface",
            "engine_sglang_tiktoken_dir": "/var/lib/sparkops-units-test/tiktoken",
            "engine_start": False,
        },
    )
    assert run.returncode == 0, run.describe()
    key = host.file("/etc/sparkops/sglang.key").content_string.strip()
    assert len(key) == 48
    config = host.file("/etc/sparkops/sglang.yaml")
    assert config.mode == 0o600 and config.user == "root" and config.group == "root"
    assert yaml.safe_load(config.content_string) == {"api-key": key}
    exec_start = host.run(f"systemctl show -p ExecStart --value {SGLANG}").stdout
    assert "--config /etc/sparkops/sglang.yaml" in exec_start
    assert "/etc/sparkops/sglang.yaml:/etc/sparkops/sglang.yaml:ro" in exec_start
    for text in (
        exec_start,
        host.file(f"/etc/systemd/system/{SGLANG}").content_string,
        host.file("/etc/sparkops/sglang.env").content_string,
        run.output,
    ):
        assert key not in text
    assert "sh -c" not in exec_start


def test_switching_back_removes_sglangs_key_file_and_config(host, scenario_dir):
    record_gguf(scenario_dir)
    run = run_playbook(scenario_dir / "converge.yml")
    assert run.returncode == 0, run.describe()
    assert host.service(UNIT).is_running
    assert not host.file("/etc/sparkops/sglang.yaml").exists
    assert not host.file("/etc/sparkops/sglang.key").exists
