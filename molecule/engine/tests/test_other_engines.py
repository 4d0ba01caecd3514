"""Switching the simulated Spark from llama-server to Ollama and to SGLang, and back.

Runs after test_engine.py (file order), on the same instance. No GPU and no internet here:
- Ollama is a release-shaped tarball built by tests/testbed/ollama-standin.sh (bin/ollama is a
  stand-in that answers Ollama 0.40's CLI and HTTP shapes), served over real HTTP on the
  container's loopback; the role downloads it, checks its sha256, unpacks it and runs it as a
  real systemd service.
- SGLang cannot start without a GPU: its unit is written and verified, and its exact container
  command is given to the real Docker CLI (installed by the role from Debian), talking to the
  test machine's dockerd, with the test-bed image as a local stand-in for the pinned one.
"""

from __future__ import annotations

import json
import shlex

import pytest
from conftest import run_playbook

LLAMA = "sparkops-llama-server.service"
OLLAMA = "ollama.service"
SGLANG = "sparkops-sglang.service"
DOWNLOADS = "http://127.0.0.1:8792"
OLLAMA_VARS = {
    "sparkops_engine": "ollama",
    "engine_ollama_version": "{{ testbed_ollama_version }}",
    "engine_ollama_url": f"{DOWNLOADS}/ollama-linux-amd64.tar.zst",
    "engine_ollama_sha256": {
        "amd64": "{{ testbed_ollama_sha256 }}",
        "arm64": "{{ testbed_ollama_sha256 }}",
    },
    # The stand-in cannot generate text: health and the pull are exercised, not the smoke requests.
    "engine_smoke_test": False,
}
STANDIN_IMAGE = "sparkops-testbed:bookworm"


def flat(text: str) -> str:
    return " ".join(text.split())


def tiktoken_vars(host) -> list[dict]:
    files = []
    for name in ("o200k_base.tiktoken", "cl100k_base.tiktoken"):
        sha = host.file(f"/srv/sparkops-testbed-downloads/{name}").sha256sum
        files.append({"name": name, "url": f"{DOWNLOADS}/{name}", "sha256": sha})
    return files


def test_switching_to_ollama_stops_llama_server_and_serves_ollama(host, scenario_dir):
    run = run_playbook(scenario_dir / "converge.yml", OLLAMA_VARS)
    assert run.returncode == 0, run.describe()
    llama = host.service(LLAMA)
    assert not llama.is_running and not llama.is_enabled
    ollama = host.service(OLLAMA)
    assert ollama.is_running and ollama.is_enabled
    pid = host.run(f"systemctl show -p MainPID --value {OLLAMA}").stdout.strip()
    assert host.run(f"ps -o user= -p {pid}").stdout.strip() == "ollama"
    version = host.run("/usr/local/bin/ollama --version").stdout
    assert version.strip() == "ollama version is 0.40.2"
    assert host.file("/opt/sparkops/ollama/0.40.2-amd64/bin/ollama").is_file
    assert not host.file("/opt/sparkops/ollama/0.40.2-amd64.partial").exists
    # Ollama has no key file: the removal of llama-server's key must not reach the folder.
    config = host.file("/etc/sparkops")
    assert config.is_directory and (config.user, config.group, config.mode) == (
        "root",
        "sparkops",
        0o750,
    )
    assert not host.file("/etc/sparkops/llama-server.key").exists


def test_ollama_drop_in_sets_host_context_and_keep_alive(host):
    environment = host.run(f"systemctl show -p Environment --value {OLLAMA}").stdout
    assert "OLLAMA_HOST=127.0.0.1:11434" in environment
    assert "OLLAMA_CONTEXT_LENGTH=8192" in environment
    assert "OLLAMA_KEEP_ALIVE=-1" in environment
    drop_ins = host.run(f"systemctl show -p DropInPaths --value {OLLAMA}").stdout
    assert "/etc/systemd/system/ollama.service.d/sparkops.conf" in drop_ins
    # verify loads the unit with its drop-ins, as systemd does.
    verify = host.run("systemd-analyze verify /etc/systemd/system/ollama.service")
    assert verify.rc == 0 and "sparkops.conf" not in verify.stderr, verify.stderr


def test_ollama_answers_and_has_pulled_the_model(host):
    tags = json.loads(host.check_output("curl -sS http://127.0.0.1:11434/api/tags"))
    assert [model["name"] for model in tags["models"]] == ["testbed-tiny:latest"]
    facts = json.loads(host.file("/etc/ansible/facts.d/sparkops.fact").content_string)
    assert facts["engine"]["name"] == "ollama" and facts["engine"]["port"] == 11434


def test_ollama_rerun_changes_nothing_and_does_not_pull_again(host, scenario_dir):
    log = "/var/log/sparkops-ollama-pull.log"
    before = host.file(log).mtime
    run = run_playbook(scenario_dir / "converge.yml", OLLAMA_VARS)
    assert run.returncode == 0 and run.changed == 0, run.describe()
    assert host.file(log).mtime == before


def test_a_tarball_with_another_checksum_is_refused_and_nothing_changes(host, scenario_dir):
    wrong = {**OLLAMA_VARS, "engine_ollama_version": "0.40.3"}
    wrong["engine_ollama_sha256"] = {"amd64": "0" * 64, "arm64": "0" * 64}
    run = run_playbook(scenario_dir / "converge.yml", wrong)
    assert run.returncode != 0
    assert "does not match engine_ollama_sha256.amd64" in flat(run.output), run.describe()
    assert not host.file("/opt/sparkops/ollama/0.40.3-amd64").exists
    assert not host.file("/var/cache/sparkops/downloads/ollama-0.40.3-linux-amd64.tar.zst").exists
    assert host.service(OLLAMA).is_running  # the serving engine was left alone


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"engine_ollama_version": "0.30.6"}, "not 0.30.x"),
        (
            {"sparkops_bind": "0.0.0.0", "engine_generate_api_key": True},
            "Ollama cannot require an API key",
        ),
        ({"engine_ollama_sha256": {"amd64": "abc"}}, "must be the asset's sha256"),
    ],
)
def test_bad_ollama_settings_are_refused_before_anything_changes(
    host, scenario_dir, extra, message
):
    run = run_playbook(scenario_dir / "converge.yml", {**OLLAMA_VARS, **extra})
    assert run.returncode != 0
    assert message in flat(run.output), run.describe()
    assert host.service(OLLAMA).is_running


# No disk here is a million GiB: the margin makes any download too big for the real free space.
HUGE_MARGIN = {"engine_min_free_margin_gib": 1_000_000}


def test_an_ollama_pull_that_does_not_fit_is_refused_while_ollama_serves(host, scenario_dir):
    log = "/var/log/sparkops-ollama-pull.log"
    before = host.file(log).mtime
    missing = {**OLLAMA_VARS, **HUGE_MARGIN, "engine_ollama_model": "testbed-other:latest"}
    run = run_playbook(scenario_dir / "converge.yml", missing)
    assert run.returncode != 0
    output = flat(run.output)
    assert "Not enough free disk for ollama pull testbed-other:latest" in output, run.describe()
    assert "set engine_ollama_home" in output and "bytes) free" in output
    assert host.file(log).mtime == before  # no pull started
    assert host.service(OLLAMA).is_running
    # --check refuses it too, asking the running Ollama whether it has the model.
    checked = run_playbook(scenario_dir / "converge.yml", missing, "--check")
    assert checked.returncode != 0
    assert "Not enough free disk for ollama pull testbed-other:latest" in flat(checked.output), (
        checked.describe()
    )
    # The model Ollama has is not pulled again, so nothing is refused for it under --check.
    present = run_playbook(scenario_dir / "converge.yml", {**OLLAMA_VARS, **HUGE_MARGIN}, "--check")
    assert present.returncode == 0, present.describe()


def test_sglang_without_a_verified_checkpoint_is_refused_before_docker_is_installed(
    host, scenario_dir
):
    # The record is the GGUF of prepare.yml: SGLang cannot load it, and would have nothing to load.
    run = run_playbook(scenario_dir / "converge.yml", {"sparkops_engine": "sglang"})
    assert run.returncode != 0
    output = flat(run.output)
    assert "SGLang loads the Hugging Face checkpoint that the weights role verified" in output
    assert "none is recorded" in output and "weights_format=safetensors" in output, run.describe()
    assert not host.file("/usr/bin/docker").exists
    assert not host.file(f"/etc/systemd/system/{SGLANG}").exists
    assert host.service(OLLAMA).is_running


CHECKPOINT = "/var/lib/sparkops/models/testbed-tiny-safetensors"


def fetch_checkpoint(host, scenario_dir):
    """site.yml's weights play for SGLang: the real weights role, into the model store."""
    config = host.file("/srv/sparkops-testbed-downloads/config.json")
    run = run_playbook(
        scenario_dir / "weights-checkpoint.yml",
        {"weights_urls": [{"url": f"{DOWNLOADS}/config.json", "sha256": config.sha256sum}]},
    )
    assert run.returncode == 0, run.describe()
    record = json.loads(host.file("/etc/ansible/facts.d/sparkops.fact").content_string)["model"]
    assert record["format"] == "safetensors" and record["dir"] == CHECKPOINT
    assert host.file(f"{CHECKPOINT}/config.json").sha256sum == config.sha256sum


def test_switching_to_sglang_installs_docker_and_a_verified_unit(host, scenario_dir):
    assert not host.file("/usr/bin/docker").exists
    fetch_checkpoint(host, scenario_dir)
    # The weights are in the store while Ollama still serves: nothing was stopped for them.
    assert host.service(OLLAMA).is_running
    run = run_playbook(
        scenario_dir / "converge.yml",
        {
            "sparkops_engine": "sglang",
            "engine_sglang_tiktoken_files": tiktoken_vars(host),
            # No GPU here: install and enable, do not start.
            "engine_start": False,
        },
    )
    assert run.returncode == 0, run.describe()
    assert host.package("docker.io").is_installed
    ollama = host.service(OLLAMA)
    assert not ollama.is_running and not ollama.is_enabled
    assert host.service(SGLANG).is_enabled
    verify = host.run(f"systemd-analyze verify /etc/systemd/system/{SGLANG}")
    assert verify.rc == 0, verify.stderr
    staged = host.file("/var/lib/sparkops/tiktoken/o200k_base.tiktoken")
    assert staged.is_file and staged.sha256sum == tiktoken_vars(host)[0]["sha256"]
    env_file = host.file("/etc/sparkops/sglang.env")
    assert env_file.mode == 0o600 and env_file.user == "sparkops"
    # SGLang runs offline: it has the checkpoint, and no Hub token.
    assert "HF_HUB_OFFLINE=1" in env_file.content_string.splitlines()
    assert "HF_TOKEN" not in env_file.content_string


def docker_run_argv(host) -> list[str]:
    exec_start = host.run(f"systemctl show -p ExecStart --value {SGLANG}").stdout
    # "{ path=/usr/bin/docker ; argv[]=/usr/bin/docker run ... ; ignore_errors=no ; ... }"
    argv = exec_start.split("argv[]=", 1)[1].split(" ; ignore_errors=", 1)[0]
    return shlex.split(argv)


def test_the_docker_cli_accepts_the_exact_container_command(host):
    argv = docker_run_argv(host)
    assert argv[:2] == ["/usr/bin/docker", "run"]
    image = next(arg for arg in argv if "@sha256:" in arg)
    assert image.startswith("lmsysorg/sglang@sha256:")
    server = argv[argv.index(image) + 1 :]
    assert server[:3] == ["python3", "-m", "sglang.launch_server"]
    for flag, value in (
        ("--reasoning-parser", "gpt-oss"),
        ("--tool-call-parser", "gpt-oss"),
        ("--served-model-name", "testbed-tiny"),
        ("--host", "127.0.0.1"),
        ("--port", "30000"),
        ("--model-path", "/model"),
    ):
        assert server[server.index(flag) + 1] == value
    # The same command, with `create` instead of `run` and the local stand-in image: the Docker
    # CLI and daemon parse and accept every option (start would need the GPU).
    create = ["docker", "create", *argv[2:]]
    create[create.index(image)] = STANDIN_IMAGE
    environment = "DOCKER_HOST=unix:///srv/host-docker.sock"
    created = host.run(f"{environment} {shlex.join(create)}")
    assert created.rc == 0, created.stderr
    try:
        inspect = json.loads(host.check_output(f"{environment} docker inspect sparkops-sglang"))[0]
        host_config = inspect["HostConfig"]
        assert host_config["IpcMode"] == "host" and host_config["NetworkMode"] == "host"
        assert host_config["ShmSize"] == 32 * 1024**3
        assert host_config["DeviceRequests"][0]["Count"] == -1  # --gpus all
        assert host_config["CapDrop"] == ["ALL"]
        assert "/var/lib/sparkops/tiktoken:/tiktoken:ro" in host_config["Binds"]
        assert f"{CHECKPOINT}:/model:ro" in host_config["Binds"]
        assert "TIKTOKEN_ENCODINGS_BASE=/tiktoken" in inspect["Config"]["Env"]
        # SGLang's startup line with every argument, the key included, is kept out of the log.
        logging_config = "/etc/sparkops/sglang-logging.json"
        assert f"SGLANG_LOGGING_CONFIG_PATH={logging_config}" in inspect["Config"]["Env"]
        assert f"{logging_config}:{logging_config}:ro" in host_config["Binds"]
        assert json.loads(host.file(logging_config).content_string)["loggers"]
    finally:
        host.run(f"{environment} docker rm --force sparkops-sglang")


def test_an_sglang_image_without_a_digest_is_refused(host, scenario_dir):
    run = run_playbook(
        scenario_dir / "converge.yml",
        {
            "sparkops_engine": "sglang",
            "engine_sglang_image": "lmsysorg/sglang:latest",
            "engine_start": False,
        },
    )
    assert run.returncode != 0
    assert "pinned by digest" in flat(run.output), run.describe()


def test_an_sglang_folder_docker_would_split_is_refused(host, scenario_dir):
    run = run_playbook(
        scenario_dir / "converge.yml",
        {
            "sparkops_engine": "sglang",
            "engine_start": False,
            "engine_sglang_hf_cache": "/srv/hf:/root",
        },
    )
    assert run.returncode != 0
    assert "engine_sglang_hf_cache must not contain ':' or ','" in flat(run.output), run.describe()
    assert not host.file("/srv/hf:/root").exists


def record_gguf(scenario_dir):
    """site.yml's weights play for llama-server: the GGUF's record replaces the checkpoint's."""
    run = run_playbook(scenario_dir / "record-gguf.yml")
    assert run.returncode == 0, run.describe()


def test_llama_server_does_not_take_the_checkpoint_for_a_gguf(host, scenario_dir):
    run = run_playbook(scenario_dir / "converge.yml")
    assert run.returncode != 0
    assert "needs a GGUF model, and none is recorded" in flat(run.output), run.describe()
    assert host.service(SGLANG).is_enabled  # refused before the switch


def test_switching_back_to_llama_server_stops_sglang(host, scenario_dir):
    record_gguf(scenario_dir)
    run = run_playbook(scenario_dir / "converge.yml")
    assert run.returncode == 0, run.describe()
    assert not host.service(SGLANG).is_enabled
    assert host.service(LLAMA).is_running and host.service(LLAMA).is_enabled
    assert not host.service(OLLAMA).is_enabled
