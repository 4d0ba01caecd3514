#!/usr/bin/env python3
# Copyright: sparkops.llm maintainers
# SPDX-License-Identifier: GPL-3.0-or-later
"""A scripted Anthropic Messages backend that records what the Claude Code CLI sends.

The test bed points the pinned CLI at this server (ANTHROPIC_BASE_URL) to capture the requests
of its real agent loop, which molecule/claude_code then replays into the deployed llama-server:
so a CLI bump that starts sending something llama-server refuses (a `system` message in the
middle of `messages`, a schema keyword its grammar builder cannot take) fails the test bed
before it fails a user. The captures are written at test time, in the instance, and never
committed.

The answers follow the documented Messages API (https://docs.anthropic.com/en/api/messages and
its streaming event sequence: message_start, content_block_start/delta/stop, message_delta,
message_stop), in the shape Claude's own answers take in an agent loop:
  - a request whose last user turn holds no tool_result gets a thinking block, a text block and
    a tool_use of the first tool whose schema has a `command` property, running --command;
  - the request after the tool ran gets one text block, --final.
POST /v1/messages/count_tokens answers a rough count; every other path is a 404.

    python3 anthropic_capture.py --port 8799 --captures /tmp/captures \
        --command 'touch proof.txt' --final 'Done.'
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SIGNATURE = "c2NyaXB0ZWQ="  # any base64 string: the CLI sends it back, nothing checks it


def after_tool_result(request: dict) -> bool:
    messages = request.get("messages") or []
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        return isinstance(content, list) and any(
            isinstance(block, dict) and block.get("type") == "tool_result" for block in content
        )
    return False


def command_tool(request: dict) -> str | None:
    for tool in request.get("tools") or []:
        properties = (tool.get("input_schema") or {}).get("properties") or {}
        if "command" in properties:
            return tool.get("name")
    return None


def scripted_blocks(request: dict, command: str, final: str, ids: itertools.count) -> list:
    tool = command_tool(request)
    if after_tool_result(request) or tool is None:
        return [{"type": "text", "text": final}]
    return [
        {
            "type": "thinking",
            "thinking": "The user wants proof that tools run.",
            "signature": SIGNATURE,
        },
        {"type": "text", "text": "I will run the command."},
        {
            "type": "tool_use",
            "id": f"toolu_scripted_{next(ids):04d}",
            "name": tool,
            "input": {"command": command},
        },
    ]


def stream_events(message: dict) -> list[tuple[str, dict]]:
    """The event sequence the Messages API streams for a finished message."""
    head = {**message, "content": [], "stop_reason": None}
    events = [("message_start", {"type": "message_start", "message": head})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": block["thinking"]},
                {"type": "signature_delta", "signature": block["signature"]},
            ]
        elif block["type"] == "text":
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": block["text"]}]
        else:
            start = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}]
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": start},
            )
        )
        for delta in deltas:
            events.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": message["usage"]["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def make_handler(captures: Path, command: str, final: str):
    sequence = itertools.count(1)
    tool_ids = itertools.count(1)

    class Handler(BaseHTTPRequestHandler):
        def _json(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            path = self.path.split("?", 1)[0]
            if path == "/v1/messages/count_tokens":
                self._json(200, {"input_tokens": max(1, len(raw) // 4)})
                return
            if path != "/v1/messages":
                self._json(404, {"type": "error", "error": {"type": "not_found_error"}})
                return
            request = json.loads(raw)
            number = next(sequence)
            (captures / f"{number:03d}.json").write_bytes(raw)
            blocks = scripted_blocks(request, command, final, tool_ids)
            message = {
                "id": f"msg_scripted_{number:04d}",
                "type": "message",
                "role": "assistant",
                "model": request.get("model", ""),
                "content": blocks,
                "stop_reason": "tool_use" if blocks[-1]["type"] == "tool_use" else "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": max(1, length // 4), "output_tokens": 16},
            }
            if not request.get("stream"):
                self._json(200, message)
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.end_headers()
            for event, data in stream_events(message):
                self.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base's signature)
            sys.stderr.write("anthropic_capture: " + format % args + "\n")

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--captures", type=Path, required=True, help="folder for the requests")
    parser.add_argument("--command", required=True, help="what the scripted tool_use runs")
    parser.add_argument("--final", required=True, help="the answer after the tool ran")
    args = parser.parse_args()
    args.captures.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer(
        (args.host, args.port), make_handler(args.captures, args.command, args.final)
    )
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
