#!/usr/bin/env python3
# Copyright: sparkops.llm maintainers
# SPDX-License-Identifier: GPL-3.0-or-later
"""Served decode speed of one client divided by llama-bench's decode speed, per server setting.

Runs `llama-bench -p 0 -n N` once before and once after the sweep (their mean is the
reference), then, for each server setting, starts llama-server on the same model, sends one
client's requests one after another (every request decodes exactly N tokens: `ignore_eos`),
and reads the server's own `timings.predicted_per_second`. Streaming requests also give a
client-side rate (token events as they arrive). Each row of the JSON-lines output holds the
setting, the request kind, the rates, the ratio served/bench and the overhead in ms per token
(1000/served - 1000/bench). A `grammar` request checks that constrained decoding (what tool
calls rely on) still yields valid JSON under the setting.

    python3 bench/served_vs_bench.py --server build/bin/llama-server \
        --bench build/bin/llama-bench --model proxy.gguf --out results/sweep.jsonl \
        --config 'role=-c 131072 -np 1 --jinja --no-webui --metrics' \
        --config 'role-bs=-c 131072 -np 1 --jinja --no-webui --metrics -bs'

Without --config the built-in plan below runs. Every flag of every setting is looked up in
this build's `llama-server --help` first; a setting with an unknown flag is reported and
skipped rather than failing the whole run. Words of the form NAME=VALUE before a setting's
flags go into that server's environment (the patches' switches:
`--config 'upstream=SPARKOPS_FAST_TOPK=0 -c 131072 -np 1'`).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import shlex
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Flags for both tools, matching what the engine role renders (-ub 2048, -fa on, all layers on
# the GPU, no mmap: SPARK_FACTS.md). The load mode matters only for start-up time, but keeping
# it equal keeps the two runs the same process shape.
SERVER_COMMON = ["-ngl", "99", "-fa", "on", "-ub", "2048", "-lm", "none"]
BENCH_COMMON = ["-ngl", "99", "-fa", "1", "-ub", "2048", "-lm", "none"]

# What the engine role renders for one slot, minus host/port/alias/key (engine defaults).
ROLE = "-c 131072 -np 1 --jinja --no-webui --metrics"

# name -> (extra llama-server flags, request kinds). Ordered by value: if the time budget runs
# out, the rows that answer the question come first.
DEFAULT_PLAN: list[tuple[str, str, list[str]]] = [
    ("role", ROLE, ["default", "topk1", "oss", "stream", "chat_stream_tools", "grammar"]),
    ("role-bs", ROLE + " -bs", ["default", "topk1", "oss", "stream", "grammar"]),
    ("np4-default-ctx", "--jinja", ["default", "topk1"]),
    ("role-nometrics", "-c 131072 -np 1 --jinja --no-webui", ["default"]),
    ("role-t1", ROLE + " -t 1", ["default"]),
    ("role-poll0", ROLE + " --poll 0", ["default"]),
    ("role-prio2", ROLE + " --prio 2", ["default"]),
    ("role-nocb", ROLE + " -nocb", ["default"]),
    ("role-samplers-short", ROLE + " --samplers top_k;top_p;min_p;temperature", ["default"]),
    ("role-topk1-server", ROLE + " --top-k 1", ["default"]),
]

PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."
CHAT_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
# A schema whose every valid answer is a few tokens long, so that even random weights finish
# it: the grammar, not the model, decides what may come out.
GRAMMAR_SCHEMA = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}

# Request bodies per kind, on top of the fixed prompt and token count.
SAMPLING = {
    "default": {},  # the server's default chain (top_k 40, top_p 0.95, min_p 0.05, temp 0.8)
    "topk1": {"top_k": 1},  # greedy: the chain still runs, but on one candidate after top-k
    "oss": {"temperature": 1.0, "top_p": 1.0, "top_k": 0},  # gpt-oss's recommended sampling
    # The default chain with a fixed seed: equal text across settings = the same tokens drawn.
    "seeded": {"seed": 1234},
}


@dataclass
class Setting:
    name: str
    flags: list[str]
    kinds: list[str]
    env: dict[str, str] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_bench(bench: str, model: str, tokens: int, repeats: int) -> dict[str, Any]:
    """One llama-bench decode test; returns its mean and spread in tokens per second."""
    command = [bench, "-m", model, "-p", "0", "-n", str(tokens), "-r", str(repeats)]
    command += [*BENCH_COMMON, "-o", "json"]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise SystemExit(f"llama-bench failed ({done.returncode}):\n{done.stderr[-3000:]}")
    results = json.loads(done.stdout)
    decode = next(r for r in results if r.get("n_gen") == tokens)
    return {
        "command": shlex.join(command),
        "avg_ts": decode["avg_ts"],
        "stddev_ts": decode["stddev_ts"],
        "samples_ts": decode.get("samples_ts"),
        "build_commit": decode.get("build_commit"),
        "gpu_info": decode.get("gpu_info"),
        "seconds": round(time.monotonic() - started, 1),
    }


def server_flags_known(server: str) -> str:
    """The help text of this build: flags differ between llama.cpp versions."""
    done = subprocess.run([server, "--help"], capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
ENV_WORD = re.compile(r"[A-Z][A-Z0-9_]*=.*")


def unknown_flags(flags: list[str], help_text: str) -> list[str]:
    known = set(FLAG.findall(help_text))
    # Values such as "-1" are no flags; only words shaped like a flag are looked up.
    return [flag for flag in flags if FLAG.fullmatch(flag) and flag not in known]


class Server:
    """llama-server in the background, its log in a file, stopped on exit."""

    def __init__(
        self, binary: str, model: str, flags: list[str], log_path: Path, env: dict[str, str]
    ) -> None:
        self.port = free_port()
        self.command = [binary, "-m", model, "--host", "127.0.0.1", "--port", str(self.port)]
        self.command += [*SERVER_COMMON, *flags]
        self.log_path = log_path
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            self.command,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"llama-server exited ({self.process.returncode}):\n{tail}")
            try:
                status, _ = self.request("GET", "/health", None, timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError("llama-server did not become healthy in time")

    def request(
        self, method: str, path: str, body: dict | None, timeout: float = 300
    ) -> tuple[int, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            payload = json.dumps(body) if body is not None else None
            headers = {"Content-Type": "application/json"}
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
            try:
                return response.status, json.loads(text) if text else {}
            except json.JSONDecodeError:
                return response.status, {"raw": text[:500]}
        finally:
            connection.close()

    def stream(self, path: str, body: dict) -> dict[str, Any]:
        """POST a streaming request; time each server-sent event as the client sees it."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        event_times: list[float] = []
        timings: dict = {}
        text_parts: list[str] = []
        errors: list[str] = []
        try:
            connection.request("POST", path, body=json.dumps(body), headers={})
            response = connection.getresponse()
            if response.status != 200:
                return {"status": response.status, "error": response.read()[:500].decode()}
            for raw in response:
                line = raw.decode(errors="replace").strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                if "error" in chunk:
                    errors.append(str(chunk["error"])[:300])
                if "timings" in chunk:
                    timings = chunk["timings"]
                piece = chunk.get("content")
                if piece is None:  # OpenAI-style chunk
                    choices = chunk.get("choices") or [{}]
                    delta = choices[0].get("delta", {})
                    piece = (delta.get("content") or "") + (delta.get("reasoning_content") or "")
                    if delta.get("tool_calls"):
                        piece += json.dumps(delta["tool_calls"])
                if piece:
                    event_times.append(time.monotonic())
                    text_parts.append(piece)
        finally:
            connection.close()
        result: dict[str, Any] = {"status": 200, "timings": timings, "events": len(event_times)}
        if errors:
            result["stream_errors"] = errors
        generated = timings.get("predicted_n", len(event_times))
        if len(event_times) >= 2:
            # The first event comes after prompt processing; from then on every event is
            # decode plus everything the server does per token, as the client sees it.
            span = event_times[-1] - event_times[0]
            # Token count, not event count: a partial UTF-8 piece is held back and merged.
            result["client_tps"] = (generated - 1) / span if span > 0 else None
        result["text_sha"] = hashlib.sha256("".join(text_parts).encode()).hexdigest()[:12]
        return result


def completion_body(kind: str, tokens: int) -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": PROMPT, "n_predict": tokens, "ignore_eos": True}
    body.update(SAMPLING.get(kind, {}))
    return body


def chat_body(tokens: int, stream: bool) -> dict[str, Any]:
    # What Claude Code sends, roughly: tools present, streaming, default sampling.
    return {
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": tokens,
        "ignore_eos": True,
        "tools": CHAT_TOOLS,
        "stream": stream,
    }


def measure_kind(server: Server, kind: str, tokens: int, repeats: int) -> dict[str, Any]:
    """Repeat one request kind; the median of the server's rates is the row's figure."""
    if kind == "grammar":
        # Constrained decoding must give schema-valid JSON; no timing, no ignore_eos (the
        # grammar ends the answer).
        body = {"prompt": "Answer in JSON: ", "n_predict": 64, "json_schema": GRAMMAR_SCHEMA}
        status, answer = server.request("POST", "/completion", body)
        content = answer.get("content", "")
        try:
            valid = isinstance(json.loads(content).get("ok"), bool)
        except (json.JSONDecodeError, AttributeError):
            valid = False
        return {"status": status, "content": content[:80], "grammar_valid_json": valid}

    server_rates: list[float] = []
    client_rates: list[float] = []
    shas: set[str] = set()
    errors: list[str] = []
    for _ in range(repeats):
        if kind in ("stream", "chat_stream_tools", "chat_tools_seeded"):
            if kind == "stream":
                result = server.stream(
                    "/completion", {**completion_body("default", tokens), "stream": True}
                )
            else:
                body = chat_body(tokens, stream=True)
                if kind == "chat_tools_seeded":
                    body["seed"] = SAMPLING["seeded"]["seed"]
                result = server.stream("/v1/chat/completions", body)
                shas.add(result.get("text_sha", ""))
            if result.get("status") != 200:
                errors.append(str(result)[:300])
                continue
            errors.extend(result.get("stream_errors", []))
            if result["timings"].get("predicted_per_second"):
                server_rates.append(result["timings"]["predicted_per_second"])
            if result.get("client_tps"):
                client_rates.append(result["client_tps"])
            continue
        status, answer = server.request("POST", "/completion", completion_body(kind, tokens))
        if status != 200:
            errors.append(f"{status}: {str(answer)[:300]}")
            continue
        timings = answer.get("timings", {})
        if timings.get("predicted_n") != tokens:
            errors.append(f"decoded {timings.get('predicted_n')} tokens, not {tokens}")
        server_rates.append(timings["predicted_per_second"])
        shas.add(hashlib.sha256(answer.get("content", "").encode()).hexdigest()[:12])
    row: dict[str, Any] = {
        "repeats": repeats,
        "served_tps_all": [round(r, 2) for r in server_rates],
    }
    if server_rates:
        row["served_tps"] = statistics.median(server_rates)
    if client_rates:
        row["client_tps"] = statistics.median(client_rates)
        row["client_tps_all"] = [round(r, 2) for r in client_rates]
    if kind in ("topk1", "seeded", "chat_tools_seeded"):
        row["text_sha"] = sorted(shas)  # equal across settings = same tokens chosen
    if errors:
        row["errors"] = errors
    return row


def log_findings(log_path: Path) -> list[str]:
    """Lines of the server log that say a setting was refused or silently turned off."""
    wanted = re.compile(r"backend sampling|cannot be offloaded|not compatible|warn|error", re.I)
    lines = log_path.read_text(errors="replace").splitlines()
    return sorted({line.strip()[:200] for line in lines if wanted.search(line)})[:12]


TIMER = re.compile(r"(n_pre_decode|avg t_\w+)\s*=\s*(-?nan|[0-9.]+)")


def loop_timings(log_path: Path) -> dict[str, Any]:
    """Per-token phases of an instrumented llama-server (`served_vs_bench.sh instrument`).

    Every 5 s it prints its iteration count and the running mean, in ms, of the time spent
    before decode, in decode (followed by a synchronize, so the GPU's work is inside), after
    decode (sampling, detokenising, sending) and in sampling alone. The first means include
    the warm-up request and model start, so the steady state is taken from the difference
    between the first and the last print that counted any iterations. Only the count of
    iterations is printed, so it stands for the decode and sampling counts too: in steady
    decoding every iteration decodes and samples once, but each request's prompt decode is in
    the mean (about 0.05 ms per token for 256-token requests), and so is anything a setting does
    once per request inside decode (backend sampling re-reserves the scheduler there)."""
    prints: list[dict[str, float]] = []
    for line in log_path.read_text(errors="replace").splitlines():
        for name, value in TIMER.findall(line):
            if name == "n_pre_decode":
                prints.append({"n": float(value)})
            elif prints and "nan" not in value:
                prints[-1][name.removeprefix("avg t_")] = float(value)
    counted = [p for p in prints if p["n"] > 0 and len(p) == 5]
    if not counted:
        return {}
    phases = ("pre_decode", "decode", "post_decode", "sampl")
    first, last = counted[0], counted[-1]
    if len(counted) == 1 or last["n"] == first["n"]:
        result: dict[str, Any] = {f"{k}_ms": round(last[k], 4) for k in phases}
        result.update(iterations=int(last["n"]), includes_warm_up=True)
        return result
    span = last["n"] - first["n"]
    result = {
        f"{k}_ms": round((last[k] * last["n"] - first[k] * first["n"]) / span, 4) for k in phases
    }
    result.update(iterations=int(span), includes_warm_up=False)
    return result


def run_setting(args: argparse.Namespace, setting: Setting, bench_tps: float, out) -> None:
    log_path = Path(args.log_dir) / f"server-{args.label}-{setting.name}.log"
    server = Server(args.server, args.model, setting.flags, log_path, setting.env)
    try:
        server.wait_ready(args.load_timeout)
        # One unmeasured request: first-use allocations and CUDA graph capture happen here.
        server.request("POST", "/completion", completion_body("default", 32))
        for kind in setting.kinds:
            row = {"label": args.label, "setting": setting.name, "kind": kind}
            row["server_command"] = shlex.join(server.command)
            # The diagnostic patches' switches, read by the server from its environment.
            server_env = {k: v for k, v in os.environ.items() if k.startswith("SPARKOPS_")}
            server_env.update(setting.env)
            if server_env:
                row["server_env"] = server_env
            row.update(measure_kind(server, kind, args.tokens, args.repeats))
            for key in ("served_tps", "client_tps"):
                if row.get(key):
                    prefix = key.split("_")[0]
                    row[f"{prefix}_over_bench"] = round(row[key] / bench_tps, 4)
                    row[f"{prefix}_overhead_ms"] = round(1000 / row[key] - 1000 / bench_tps, 4)
            row["bench_tps"] = round(bench_tps, 2)
            print(json.dumps(row), file=out, flush=True)
            setting.rows.append(row)
            summary = {
                k: row.get(k) for k in ("setting", "kind", "served_tps", "served_over_bench")
            }
            print(json.dumps(summary), flush=True)
    except (RuntimeError, OSError) as error:
        row = {"label": args.label, "setting": setting.name, "error": str(error)[-1500:]}
        print(json.dumps(row), file=out, flush=True)
        print(json.dumps(row)[:400], flush=True)
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
        server.log.close()
    findings = {"label": args.label, "setting": setting.name, "log": log_findings(log_path)}
    timings = loop_timings(log_path)
    if timings:
        findings["loop_timings"] = timings
        print(json.dumps({"setting": setting.name, "loop_timings": timings}), flush=True)
    print(json.dumps(findings), file=out, flush=True)


def parse_settings(args: argparse.Namespace) -> list[Setting]:
    if not args.config:
        return [Setting(name, shlex.split(flags), kinds) for name, flags, kinds in DEFAULT_PLAN]
    settings = []
    for spec in args.config:
        name, _, flags = spec.partition("=")
        words = shlex.split(flags)
        env: dict[str, str] = {}
        while words and ENV_WORD.fullmatch(words[0]):
            key, _, value = words.pop(0).partition("=")
            env[key] = value
        settings.append(Setting(name, words, args.kinds.split(","), env))
    return settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="llama-server binary")
    parser.add_argument("--bench", required=True, help="llama-bench binary of the same build")
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True, help="JSON-lines file, appended to")
    parser.add_argument("--label", default="run", help="tag for every row (e.g. the model)")
    parser.add_argument("--log-dir", default=".")
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3, help="requests per kind")
    parser.add_argument("--bench-repeats", type=int, default=5)
    parser.add_argument("--load-timeout", type=float, default=900)
    parser.add_argument("--budget-s", type=float, default=0, help="start no setting after this")
    parser.add_argument("--config", action="append", help="NAME=FLAGS (repeatable)")
    parser.add_argument("--kinds", default="default,topk1,stream", help="kinds for --config")
    parser.add_argument(
        "--extra", default="", help="flags added to every setting (e.g. --chat-template-file F)"
    )
    args = parser.parse_args()

    started = time.monotonic()
    Path(args.log_dir).mkdir(parents=True, exist_ok=True)
    help_text = server_flags_known(args.server)
    settings = parse_settings(args)
    for setting in settings:
        setting.flags += shlex.split(args.extra)
    with open(args.out, "a") as out:
        before = run_bench(args.bench, args.model, args.tokens, args.bench_repeats)
        print(json.dumps({"label": args.label, "bench": "before", **before}), file=out, flush=True)
        print(f"llama-bench before: {before['avg_ts']:.2f} t/s", flush=True)
        for setting in settings:
            if args.budget_s and time.monotonic() - started > args.budget_s:
                print(
                    json.dumps({"label": args.label, "setting": setting.name, "skipped": "budget"}),
                    file=out,
                )
                continue
            missing = unknown_flags(setting.flags, help_text)
            if missing:
                row = {
                    "label": args.label,
                    "setting": setting.name,
                    "skipped": f"unknown {missing}",
                }
                print(json.dumps(row), file=out, flush=True)
                continue
            # The reference is llama-bench before the sweep; the one after tells the drift.
            run_setting(args, setting, before["avg_ts"], out)
        after = run_bench(args.bench, args.model, args.tokens, args.bench_repeats)
        print(json.dumps({"label": args.label, "bench": "after", **after}), file=out, flush=True)
        print(f"llama-bench after: {after['avg_ts']:.2f} t/s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
