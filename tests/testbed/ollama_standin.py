#!/usr/bin/python3
"""Stand-in for the `ollama` binary, packed into a release-shaped tarball by ollama-standin.sh.

The real release cannot be fetched here (no GitHub), and it could not run a model without a GPU
anyway. This stand-in keeps the parts the engine role relies on, in the shapes Ollama 0.40 uses:
`ollama --version` ("ollama version is X"), `ollama serve` listening on OLLAMA_HOST with
GET / ("Ollama is running"), GET /api/version, GET /api/tags, POST /api/show (404
{"error": "model 'x' not found"} when absent) and POST /api/pull (JSON status lines ending in
{"status": "success"}), and the `show` / `pull` / `list` commands as clients of that server.
A pull records a manifest under OLLAMA_MODELS/manifests so that it survives restarts.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VERSION = "@VERSION@"


def host_port() -> tuple[str, int]:
    value = os.environ.get("OLLAMA_HOST", "127.0.0.1:11434").removeprefix("http://")
    host, _, port = value.rpartition(":")
    return (host or "127.0.0.1"), int(port or 11434)


def manifests() -> Path:
    base = os.environ.get("OLLAMA_MODELS") or str(Path.home() / ".ollama" / "models")
    return Path(base) / "manifests"


def manifest_path(name: str) -> Path:
    model, _, tag = name.partition(":")
    return manifests() / model / (tag or "latest")


class Handler(BaseHTTPRequestHandler):
    def reply(self, status: int, body, content_type="application/json") -> None:
        data = body.encode() if isinstance(body, str) else (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path == "/":
            self.reply(200, "Ollama is running", "text/plain; charset=utf-8")
        elif self.path == "/api/version":
            self.reply(200, {"version": VERSION})
        elif self.path == "/api/tags":
            found = sorted(manifests().glob("*/*")) if manifests().is_dir() else []
            self.reply(200, {"models": [{"name": f"{p.parent.name}:{p.name}"} for p in found]})
        else:
            self.reply(404, "404 page not found", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        name = request.get("model") or request.get("name") or ""
        if self.path == "/api/show":
            if manifest_path(name).is_file():
                self.reply(200, json.loads(manifest_path(name).read_text()))
            else:
                self.reply(404, {"error": f"model '{name}' not found"})
        elif self.path == "/api/pull":
            path = manifest_path(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            manifest = {"details": {"format": "gguf"}, "model_info": {"name": name}}
            path.write_text(json.dumps(manifest))
            statuses = [{"status": "pulling manifest"}, {"status": "success"}]
            if request.get("stream", True):
                lines = "".join(json.dumps(status) + "\n" for status in statuses)
                self.reply(200, lines, "application/x-ndjson")
            else:
                self.reply(200, statuses[-1])
        else:
            self.reply(404, "404 page not found", "text/plain")

    def log_message(self, fmt: str, *args) -> None:
        sys.stderr.write("[GIN] " + (fmt % args) + "\n")


def call(path: str, body: dict) -> tuple[int, dict]:
    host, port = host_port()
    request = urllib.request.Request(
        f"http://{host}:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
            return response.status, json.loads(text.strip().splitlines()[-1])
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read().decode() or "{}")
    except OSError:
        print("Error: could not connect to ollama app, is it running?", file=sys.stderr)
        sys.exit(1)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "help"
    if command in ("-v", "--version"):
        print(f"ollama version is {VERSION}")
    elif command == "serve":
        host, port = host_port()
        print(f"Listening on {host}:{port} (version {VERSION})", file=sys.stderr, flush=True)
        ThreadingHTTPServer((host, port), Handler).serve_forever()
    elif command == "show" and len(argv) > 2:
        status, body = call("/api/show", {"model": argv[2]})
        if status != 200:
            print(f"Error: {body.get('error')}", file=sys.stderr)
            return 1
        print(json.dumps(body, indent=2))
    elif command == "pull" and len(argv) > 2:
        print("pulling manifest")
        status, body = call("/api/pull", {"model": argv[2], "stream": False})
        print(body.get("status", body.get("error")))
        return 0 if status == 200 else 1
    elif command == "list":
        host, port = host_port()
        with urllib.request.urlopen(f"http://{host}:{port}/api/tags", timeout=30) as response:
            print("NAME")
            for model in json.load(response)["models"]:
                print(model["name"])
    else:
        print("Usage: ollama [serve|show|pull|list|--version]", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
