"""site.yml on an arm64 simulated Spark (a DGX Spark is arm64), run through qemu-user.

Each architecture-specific piece must be the arm64 one: the Claude Code CLI's platform package
from the lockfile, the LiteLLM wheels (and so their aarch64 hashes), Ollama's release asset, and
llama.cpp's CPU configuration (and, on the full path, its build). `file` reads the binaries.

Which llama.cpp path ran is chosen by make (SPARKOPS_ARM64_LLAMA_BUILD; molecule.yml says why)
and printed first; the tests of the other path are reported as skipped, with the path as reason.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import pytest
from conftest import (
    ask_messages,
    assert_agent_loop_ran,
    claude_agent_loop,
    harmony_script,
    run_playbook,
    text_blocks,
)

PATH = "full" if os.environ.get("SPARKOPS_ARM64_LLAMA_BUILD") == "full" else "configure"
FULL_ONLY = pytest.mark.skipif(PATH != "full", reason="full path only (the compile was not run)")
CONFIGURE_ONLY = pytest.mark.skipif(PATH != "configure", reason="configure path only")
print(
    f"\narm64 lane: llama.cpp {PATH} path"
    + (
        ": compiled under emulation, llama-server serves"
        if PATH == "full"
        else ": configured, NOT compiled (cold arm64 ccache; make test-arm64-full compiles);"
        " Ollama serves"
    )
)

CLI_DIR = "/opt/sparkops/claude-code/node_modules/@anthropic-ai"
BRIDGE_VENV = "/opt/sparkops/litellm/1.106.12"
FACTS = "/etc/ansible/facts.d/sparkops.fact"
# Packages of the bridge with compiled code: each must come as an aarch64 wheel.
COMPILED = ("pydantic_core", "tiktoken", "tokenizers", "orjson", "aiohttp")


def file_type(host, path: str) -> str:
    result = host.run(f"file -bL {path}")
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


def facts(host) -> dict:
    return json.loads(host.file(FACTS).content_string)


def test_the_host_is_arm64_under_qemu(host):
    assert host.check_output("uname -m") == "aarch64"
    # This machine runs it through qemu (tests/testbed/register-qemu.sh), unless it is arm64.
    if platform.machine() not in ("aarch64", "arm64"):
        registration = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").read_text()
        flags = next(line for line in registration.splitlines() if line.startswith("flags:"))
        assert registration.startswith("enabled") and "F" in flags, registration
    # The fact the roles choose their downloads by.
    seen = host.ansible("ansible.builtin.setup", "filter=ansible_architecture")
    assert seen["ansible_facts"]["ansible_architecture"] == "aarch64", seen


def test_the_cli_is_the_lockfiles_arm64_package_and_runs(host):
    arm64 = host.file(f"{CLI_DIR}/claude-code-linux-arm64/package.json")
    assert arm64.exists, "npm ci did not install the linux-arm64 package"
    assert json.loads(arm64.content_string)["version"] == "2.1.332"
    for other in ("linux-x64", "linux-x64-musl"):
        assert not host.file(f"{CLI_DIR}/claude-code-{other}").exists, other
    # Debian 12's npm 9 ignores the lockfile's "libc" field and also unpacks the musl package;
    # the command must be the glibc build (its interpreter is glibc's loader).
    described = file_type(host, "/usr/local/bin/claude")
    assert "ARM aarch64" in described and "ld-linux-aarch64" in described, described
    version = host.run("/usr/local/bin/claude --version")
    assert version.rc == 0 and "2.1.332" in version.stdout, version.stdout + version.stderr


def test_the_bridge_runs_from_aarch64_wheels(host):
    site = host.check_output(
        f"{BRIDGE_VENV}/bin/python -c 'import sysconfig; print(sysconfig.get_path(\"purelib\"))'"
    )
    # pip writes each installed wheel's tags into its .dist-info/WHEEL.
    wheels = host.check_output(f"grep -H '^Tag:' {site}/*.dist-info/WHEEL").splitlines()
    platform_tags = {
        line.split("/")[-2]: line.split("Tag:")[1].strip() for line in wheels if "-any" not in line
    }
    assert platform_tags, wheels
    wrong = {dist: tag for dist, tag in platform_tags.items() if "aarch64" not in tag}
    assert not wrong, f"wheels for another architecture: {wrong}"
    names = " ".join(platform_tags).lower()
    for package in COMPILED:
        assert package in names, f"{package} is no platform wheel here: {sorted(platform_tags)}"
    extension = host.check_output(f"ls {site}/pydantic_core/_pydantic_core*.so")
    assert "ARM aarch64" in file_type(host, extension)
    # The bridge, run from those wheels, answers (its health route needs no key).
    health = host.run(
        "curl -sS --max-time 60 -o /dev/null -w '%{http_code}' http://127.0.0.1:4000/health/liveliness"
    )
    assert health.stdout == "200", health.stdout + health.stderr


@CONFIGURE_ONLY
def test_the_llama_cpp_tree_is_configured_for_arm64_and_not_compiled(host):
    logs = host.check_output("ls /var/log/sparkops/llama-cpp-build-*.log").split()
    assert len(logs) == 1, logs
    log = host.file(logs[0]).content_string
    stamp = logs[0].removeprefix("/var/log/sparkops/llama-cpp-build-").removesuffix(".log")
    assert "CMAKE_SYSTEM_PROCESSOR: aarch64" in log and "GGML_SYSTEM_ARCH: ARM" in log, log[-3000:]
    assert "ARM detected" in log, log[-3000:]
    for patch in copied_patches(host):
        assert f"patch {patch}: applied" in log, log[-3000:]
    assert "the compile was not run (llama_cpp_compile: false)" in log
    tree = f"/var/cache/sparkops/llama.cpp/build/{stamp}"
    assert host.file(f"{tree}/CMakeCache.txt").contains("CMAKE_BUILD_TYPE:STRING=Release")
    assert host.file(f"{tree}.configured").exists
    assert not host.file(f"/opt/sparkops/llama.cpp/{stamp}").exists
    assert host.run("ls /opt/sparkops/llama.cpp/*/bin/llama-server").rc != 0


def copied_patches(host) -> list[str]:
    """The patches the llama_cpp role copied to the host to apply (llama_cpp_patches)."""
    listing = host.run("ls /var/cache/sparkops/llama.cpp/patches")
    assert listing.rc == 0, listing.stderr
    return [name.removesuffix(".diff") for name in listing.stdout.split()]


def ollama_asset_is_arm64(host) -> None:
    """The role chose the asset from the host's architecture: the arm64 archive, checked against
    its own sha256 (engine_ollama_sha256.arm64), unpacked into the arm64 folder the unit runs."""
    readme = host.file("/opt/sparkops/ollama/0.40.2-arm64/lib/ollama/README")
    assert readme.exists and "linux-arm64" in readme.content_string
    assert host.file("/var/cache/sparkops/downloads/ollama-0.40.2-linux-arm64.tar.zst").exists
    assert not host.file("/var/cache/sparkops/downloads/ollama-0.40.2-linux-amd64.tar.zst").exists
    assert not host.file("/opt/sparkops/ollama/0.40.2-amd64").exists
    unit = host.check_output("systemctl show --property=ExecStart --value ollama.service")
    assert "/opt/sparkops/ollama/0.40.2-arm64/bin/ollama" in unit, unit


@CONFIGURE_ONLY
def test_ollama_serves_from_its_arm64_release(host):
    ollama_asset_is_arm64(host)
    version = host.run("curl -sS --max-time 60 http://127.0.0.1:11434/api/version")
    assert version.rc == 0 and json.loads(version.stdout)["version"] == "0.40.2", version.stdout
    assert facts(host)["engine"]["name"] == "ollama"


@FULL_ONLY
def test_llama_server_is_an_arm64_build_with_the_patches(host):
    record = facts(host)["llama_cpp"]
    prefix = record["prefix"]
    for binary in ("bin/llama-server", "lib/libggml-cpu.so", "lib/libllama.so"):
        binary = f"{prefix}/{binary}"
        assert "ARM aarch64" in file_type(host, binary), binary
    info = json.loads(host.file(f"{prefix}/build-info.json").content_string)
    assert info["backend"] == "cpu" and info["patches"] == copied_patches(host)
    assert host.run(f"{prefix}/bin/llama-server --version").rc == 0


@FULL_ONLY
def test_the_engine_answers_the_messages_api(host):
    answer = ask_messages(host, "http://127.0.0.1:8005", timeout=300)
    assert text_blocks(answer) == [harmony_script()["final"]], answer


@FULL_ONLY
def test_the_arm64_clis_agent_loop_runs_through_the_bridge(host):
    assert_agent_loop_ran(host, claude_agent_loop(host))


@FULL_ONLY
def test_switching_to_ollama_installs_its_arm64_release(host, scenario_dir):
    run = run_playbook(scenario_dir / "ollama.yml")
    assert run.returncode == 0, run.describe()
    ollama_asset_is_arm64(host)
