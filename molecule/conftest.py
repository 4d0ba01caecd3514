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
    command = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(playbook)]
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


def claude_as_dev(host, prompt: str = "say hi") -> tuple[object, float]:
    """Run the real Claude Code CLI once as the simulated Spark's login user `dev`.

    Returns the command result and the time just before it, for `journal_since`.
    """
    since = time.time() - 1
    result = host.run(
        "cd /home/dev && timeout 600 runuser -u dev -- env HOME=/home/dev "
        f"claude -p '{prompt}' --max-turns 1"
    )
    return result, since


def journal_since(host, unit: str, since: float) -> str:
    return host.run(f"journalctl -u {unit} --since @{since:.0f} -o cat --no-pager").stdout
