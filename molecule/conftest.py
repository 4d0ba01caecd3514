"""Helpers shared by the molecule scenarios' testinfra tests.

Some behaviours can only be proven by running the role again with other variables (resize,
removal, bad input). These helpers run the real ansible-playbook against the scenario's own
inventory and report the recap, as a user would read it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)")


@dataclass
class PlaybookRun:
    returncode: int
    output: str
    changed: int | None

    def describe(self) -> str:
        return f"rc={self.returncode} changed={self.changed}\n{self.output[-4000:]}"


def run_playbook(playbook: Path, extra_vars: dict | None = None, *args: str) -> PlaybookRun:
    """Run ansible-playbook on the scenario's instance and read the PLAY RECAP."""
    # The folder, as molecule passes it: it also holds the extra hosts file some scenarios link.
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    command = ["ansible-playbook", "-i", inventory, str(playbook)]
    if extra_vars:
        command += ["--extra-vars", json.dumps(extra_vars)]
    command += list(args)
    completed = subprocess.run(
        command, capture_output=True, text=True, check=False, env={**os.environ, "NO_COLOR": "1"}
    )
    output = completed.stdout + completed.stderr
    changed = None
    for line in output.splitlines():
        match = RECAP_LINE.match(line.strip())
        if match:
            changed = int(match["changed"])
    return PlaybookRun(completed.returncode, output, changed)


@pytest.fixture(scope="session")
def scenario_dir() -> Path:
    return Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])


def journal_since(host, unit: str, since: float) -> str:
    return host.run(f"journalctl -u {unit} --since @{since:.0f} -o cat --no-pager").stdout


REPO = Path(__file__).resolve().parents[1]
# The file the harmony model's scripted Bash call makes, in the folder the CLI runs in.
AGENT_LOOP_PROOF = "sparkops-agent-loop.txt"
AGENT_LOOP_TASK = "Prove that your Bash tool works on this machine."


def ask_messages(host, url: str, max_tokens: int = 64, timeout: int = 60) -> dict:
    """POST a one-line user message to an Anthropic Messages endpoint, as a user would with
    curl on the host, and return the parsed answer (a message, or the test fails)."""
    body = json.dumps(
        {
            "model": "testbed-harmony",
            "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": "hi"}],
        }
    )
    result = host.run(
        f"curl -sS --max-time {timeout} {url}/v1/messages "
        "-H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' "
        f"-d '{body}'"
    )
    assert result.rc == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["type"] == "message" and answer["model"], answer
    return answer


def text_blocks(answer: dict) -> list[str]:
    return [block["text"] for block in answer["content"] if block["type"] == "text"]


def harmony_script() -> dict:
    """What the test-bed harmony model says, as tests/testbed/make_harmony_model.py prints it."""
    printed = subprocess.run(
        [sys.executable, str(REPO / "tests/testbed/make_harmony_model.py"), "--print-script"],
        capture_output=True,
        text=True,
        check=True,
    )
    script = json.loads(printed.stdout)
    assert script["command"] == f"touch {AGENT_LOOP_PROOF}", script
    return script


@dataclass
class AgentLoop:
    result: object
    events: list
    since: float

    def blocks(self, role: str, kind: str) -> list:
        return [
            block
            for event in self.events
            if event.get("type") == role
            for block in event["message"]["content"]
            if isinstance(block, dict) and block.get("type") == kind
        ]

    def final(self) -> dict:
        results = [event for event in self.events if event.get("type") == "result"]
        assert results, self.result.stdout[-3000:] + self.result.stderr[-3000:]
        return results[-1]


def claude_agent_loop(host, home: str = "/home/dev") -> AgentLoop:
    """Run the real CLI's agent loop as `dev` in `home`: up to 3 turns, the scripted command
    allowed (and nothing else), every message printed as stream-json."""
    command = harmony_script()["command"]
    host.run(f"rm -f {home}/{AGENT_LOOP_PROOF}")
    since = time.time() - 1
    result = host.run(
        f"cd {home} && timeout 900 runuser -u dev -- env HOME={home} claude -p "
        f"'{AGENT_LOOP_TASK}' --max-turns 3 --allowedTools 'Bash({command})' "
        "--output-format stream-json --verbose"
    )
    events = []
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return AgentLoop(result, events, since)


def assert_agent_loop_ran(host, loop: AgentLoop, home: str = "/home/dev") -> None:
    """What a user would check: the CLI got a tool call, the command ran on the host, its
    result went back, and the scripted final sentence ended the run."""
    script = harmony_script()
    output = loop.result.stdout[-4000:] + loop.result.stderr[-2000:]
    assert loop.result.rc == 0, output
    calls = [
        block
        for block in loop.blocks("assistant", "tool_use")
        if block["name"] == script["tool"] and block["input"].get("command") == script["command"]
    ]
    assert calls, f"no {script['tool']} tool_use reached the CLI: {output}"
    proof = host.file(f"{home}/{AGENT_LOOP_PROOF}")
    assert proof.is_file and proof.user == "dev", "the command did not run on the host"
    returned = [
        block
        for block in loop.blocks("user", "tool_result")
        if block["tool_use_id"] == calls[0]["id"] and not block.get("is_error")
    ]
    assert returned, f"the tool's result did not go back: {output}"
    final = loop.final()
    assert final["subtype"] == "success" and final["result"].strip() == script["final"], final
    print("agent loop: ran", json.dumps(calls[0]["input"]), "answered", json.dumps(final["result"]))
