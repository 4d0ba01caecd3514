#!/usr/bin/env python3
"""How much of Claude Code's second turn the engine serves from its prefix cache.

Runs two consecutive `claude -p` turns in one conversation (the second with --continue) as a
given user, then reads from llama-server's journal how many prompt tokens it evaluated for the
second turn ("prompt eval time = ... / N tokens", one line per request) and, from the usage the
engine returned (claude --output-format json: input_tokens + cache_read_input_tokens), how long
that turn's prompts were. reused = 1 - evaluated / prompt.

--attribution-header on|off overrides CLAUDE_CODE_ATTRIBUTION_HEADER with a --settings file
(which outranks ~/.claude/settings.json); "settings" leaves the user's settings alone.

    python3 bench/claude_cache_reuse.py --user dev --unit sparkops-llama-server.service \
        --attribution-header settings --attribution-header on
Prints one JSON object per mode. Run as root on the host where both the CLI and engine run.
"""

from __future__ import annotations

import argparse
import json
import pwd
import re
import subprocess
import tempfile
import time
from pathlib import Path

PROMPT_EVAL = re.compile(r"prompt eval time =\s*[\d.]+ ms /\s*(\d+) tokens")


def run_claude(args: argparse.Namespace, workdir: Path, prompt: str, extra: list[str]) -> dict:
    # Room for a tool call first: -p denies a tool nobody allowed, and the model then answers.
    command = [args.claude, "-p", prompt, "--max-turns", "3", "--output-format", "json", *extra]
    completed = subprocess.run(
        [
            "runuser",
            "-u",
            args.user,
            "--",
            "env",
            f"HOME={pwd.getpwnam(args.user).pw_dir}",
            *command,
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=args.timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"claude failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return json.loads(completed.stdout)


def evaluated_since(unit: str, since: float) -> list[int]:
    journal = subprocess.run(
        ["journalctl", "-u", unit, "--since", f"@{since:.3f}", "-o", "cat", "--no-pager"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [int(match) for match in PROMPT_EVAL.findall(journal)]


def measure(args: argparse.Namespace, mode: str) -> dict:
    user = pwd.getpwnam(args.user)
    extra: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cache-reuse-", dir=user.pw_dir) as scratch:
        workdir = Path(scratch)
        subprocess.run(["chown", f"{user.pw_uid}:{user.pw_gid}", scratch], check=True)
        if mode != "settings":
            override = workdir / "attribution.json"
            value = "1" if mode == "on" else "0"
            override.write_text(json.dumps({"env": {"CLAUDE_CODE_ATTRIBUTION_HEADER": value}}))
            extra = ["--settings", str(override)]
        run_claude(args, workdir, args.turn1, extra)
        time.sleep(1)  # journal timestamps: keep turn 1's lines out of turn 2's window
        since = time.time()
        turn2 = run_claude(args, workdir, args.turn2, [*extra, "--continue"])
        time.sleep(1)
        evaluated = evaluated_since(args.unit, since)
    usage = turn2.get("usage", {})
    prompt = int(usage.get("input_tokens", 0)) + int(usage.get("cache_read_input_tokens", 0))
    return {
        "attribution_header": mode,
        "turn2_requests": len(evaluated),
        "turn2_prompt_tokens": prompt,
        "turn2_evaluated_tokens": sum(evaluated),
        "turn2_reused_fraction": round(1 - sum(evaluated) / prompt, 4) if prompt else None,
        "turn2_cache_read_reported": int(usage.get("cache_read_input_tokens", 0)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", required=True)
    parser.add_argument("--claude", default="/usr/local/bin/claude")
    parser.add_argument("--unit", default="sparkops-llama-server.service")
    parser.add_argument("--turn1", default="Say hello in five words.")
    parser.add_argument("--turn2", default="Now say goodbye in five words.")
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument(
        "--attribution-header",
        action="append",
        choices=["settings", "on", "off"],
        help="repeatable; default: settings and on",
    )
    args = parser.parse_args()
    for mode in args.attribution_header or ["settings", "on"]:
        print(json.dumps(measure(args, mode)), flush=True)


if __name__ == "__main__":
    main()
