#!/usr/bin/env python3
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A local stand-in for the Hugging Face Hub (and a plain file mirror), over real HTTP.

The test bed cannot reach huggingface.co, so the weights role's scenario points the real
``hf download`` CLI (huggingface_hub 1.17.0, the version the role pins) at this server through
``HF_ENDPOINT``. It answers exactly the requests that version makes, read from its source:

* ``GET /api/models/{repo}/revision/{revision}`` (``HfApi.model_info`` / ``repo_info``, called
  by ``_snapshot_download.snapshot_download`` when ``hf download`` gets several files): JSON with
  ``id``, ``sha`` (the commit) and ``siblings`` [{``rfilename``}]; with ``?blobs=true``
  (``files_metadata=True``) each sibling also has ``size``, ``blobId`` and
  ``lfs: {sha256, size, pointerSize}``, as the real Hub answers.
* ``GET /api/models/{repo}/tree/{revision}?recursive=true`` (``HfApi.list_repo_tree``):
  a JSON list of ``{type, oid, size, path, lfs: {oid, size, pointerSize}}`` where ``lfs.oid`` is
  the file's sha256, paginated with an RFC 8288 ``Link: <...>; rel="next"`` header like the Hub
  (``utils/_pagination.py`` follows it; ``--page-size`` makes pages small to exercise it).
* ``HEAD /{repo}/resolve/{revision}/{filename}`` (``file_download.get_hf_file_metadata``): for an
  LFS file a ``302`` to a CDN host with ``X-Repo-Commit``, ``X-Linked-Etag`` (the quoted sha256),
  ``X-Linked-Size`` and ``ETag``; ``_httpx_follow_relative_redirects`` does not follow it and the
  client downloads from ``Location``. The CDN listens on another port, so, as with the real
  ``cdn-lfs``/``cas-bridge`` hosts, the netloc differs and huggingface_hub drops the
  ``Authorization`` header for it (``_get_metadata_or_catch_error``); the CDN URL is signed
  (HMAC in ``X-Amz-Signature``) instead. Small non-LFS files answer ``200`` with their git blob
  id as ``ETag``. Unknown revisions/files answer ``404`` with ``X-Error-Code: RevisionNotFound`` /
  ``EntryNotFound``, a missing or wrong token ``401`` (``{"error": "Invalid credentials in
  Authorization header"}``), as the real Hub does for a private or gated repository.
* ``GET`` on the CDN URL with ``Range: bytes=N-`` (``file_download.http_get`` resuming from a
  ``.incomplete`` file): ``206`` with ``Content-Range``; ``416`` past the end.
* ``GET``/``HEAD /mirror/{name}`` on the CDN port: a plain HTTP mirror for the role's URL mode
  (curl ``--continue-at -``), with the same Range support.

Not reproduced: the Xet protocol (``X-Xet-Hash`` headers, CAS); the role turns Xet off by default
(``HF_HUB_DISABLE_XET=1``) and the Hub still serves every file over plain HTTP.

Faults for the tests, read from ``<root>/faults.json`` at every request:
``{"drop_after": {"<name>": N}}`` sends N bytes of the body, then closes the connection (once:
the entry is removed when it fires); ``{"corrupt": ["<name>"]}`` serves the file with one byte
changed (same size, wrong sha256) until removed; ``{"rate": {"<name>": B}}`` serves that file at
B bytes per second (a download slow enough to be stopped part-way). Every request is appended to
``<root>/requests.log`` (JSON lines: method, path, range, status, bytes sent, whether a valid
token came); the token itself is never written anywhere by this server.

Usage::

    fake_hub.py make --root DIR --repo ORG/NAME --commit SHA40 --file NAME:BYTES ...
    fake_hub.py serve --root DIR [--port 8788] [--cdn-port 8789] [--token-file F]
                      [--rate BYTES_PER_S] [--page-size N]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlparse

CHUNK = 64 * 1024
LOCK = threading.Lock()


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Repo:
    """The repository served: repo.json plus the files under files/."""

    def __init__(self, root: Path):
        self.root = root
        meta = json.loads((root / "repo.json").read_text())
        self.repo_id, self.commit = meta["repo"], meta["commit"]
        self.branches = meta.get("branches", ["main"])
        self.files = {}
        for path in sorted((root / "files").iterdir()):
            data = path.read_bytes()
            lfs = not path.name.endswith((".md", ".gitattributes", ".json"))
            sha256 = hashlib.sha256(data).hexdigest()
            pointer = (
                f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\n"
                f"size {len(data)}\n"
            ).encode()
            self.files[path.name] = {
                "path": path,
                "size": len(data),
                "sha256": sha256,
                "lfs": lfs,
                # The git blob of an LFS file is its pointer; of a plain file, its content.
                "oid": git_blob_id(pointer if lfs else data),
                "pointer_size": len(pointer),
            }
        self.by_sha = {f["sha256"]: name for name, f in self.files.items() if f["lfs"]}

    def knows(self, revision: str) -> bool:
        return revision == self.commit or revision in self.branches


class State:
    def __init__(self, root: Path, token: str, rate: int, page_size: int, cdn: str, key: bytes):
        self.root, self.token, self.rate, self.page_size = root, token, rate, page_size
        self.cdn, self.key = cdn, key
        self.repo = Repo(root)

    def faults(self) -> dict:
        path = self.root / "faults.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    def take_drop(self, name: str) -> int | None:
        """The one-shot drop point for this file, removed as it is taken."""
        with LOCK:
            faults = self.faults()
            drops = faults.get("drop_after", {})
            if name not in drops:
                return None
            point = int(drops.pop(name))
            (self.root / "faults.json").write_text(json.dumps(faults))
            return point

    def log(self, entry: dict) -> None:
        with LOCK, open(self.root / "requests.log", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")

    def sign(self, sha256: str) -> str:
        return hmac.new(self.key, sha256.encode(), hashlib.sha256).hexdigest()


def make_handler(state: State, role: str):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fake-hub"

        def log_message(self, fmt, *args):  # keep stderr quiet: requests.log has it all
            pass

        # ---- helpers -------------------------------------------------------------------
        def _auth(self) -> str:
            header = self.headers.get("Authorization", "")
            if not header:
                return "none"
            return "valid" if state.token and header == f"Bearer {state.token}" else "invalid"

        def _record(self, status: int, sent: int = 0, **extra) -> None:
            state.log(
                {
                    "server": role,
                    "method": self.command,
                    "path": self.path,
                    "range": self.headers.get("Range"),
                    "status": status,
                    "sent": sent,
                    "auth": self._auth(),
                    **extra,
                }
            )

        def _json(self, status: int, body, headers: dict | None = None) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(raw)
            self._record(status, len(raw))

        def _error(self, status: int, code: str, message: str) -> None:
            headers = {"X-Error-Code": code, "X-Error-Message": message}
            self._json(status, {"error": message}, headers)

        def _need_token(self) -> bool:
            if state.token and self._auth() != "valid":
                self._json(
                    401,
                    {"error": "Invalid credentials in Authorization header"},
                    {"X-Error-Message": "Invalid credentials in Authorization header"},
                )
                return False
            return True

        def _send_file(self, name: str, extra_headers: dict | None = None) -> None:
            info = state.repo.files[name]
            size = info["size"]
            start, end = 0, size - 1
            status = 200
            header = self.headers.get("Range")
            if header and header.startswith("bytes="):
                first, _, last = header[6:].partition("-")
                start = int(first) if first else 0
                end = min(int(last), size - 1) if last else size - 1
                if start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self._record(416)
                    return
                status = 206
            length = end - start + 1
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(length))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", f'"{info["sha256"]}"')
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            for key, value in (extra_headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command == "HEAD":
                self._record(status)
                return
            faults = state.faults()
            corrupt = name in faults.get("corrupt", [])
            rate = int(faults.get("rate", {}).get(name, state.rate))
            drop = state.take_drop(name)
            sent = 0
            began = time.monotonic()
            with open(info["path"], "rb") as handle:
                handle.seek(start)
                position = start
                while sent < length:
                    block = bytearray(handle.read(min(CHUNK, length - sent)))
                    if corrupt and position <= size // 2 < position + len(block):
                        block[size // 2 - position] ^= 0xFF
                    if drop is not None and sent + len(block) > drop:
                        block = block[: max(drop - sent, 0)]
                        self.wfile.write(block)
                        sent += len(block)
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        self._record(status, sent, dropped=True, file=name)
                        return
                    self.wfile.write(block)
                    sent += len(block)
                    position += len(block)
                    if rate:
                        ahead = sent / rate - (time.monotonic() - began)
                        if ahead > 0:
                            time.sleep(ahead)
            self._record(status, sent, file=name, corrupt=corrupt)

        # ---- Hub routes ------------------------------------------------------------------
        def _hub(self) -> None:
            url = urlparse(self.path)
            parts = [unquote(p) for p in url.path.strip("/").split("/")]
            query = parse_qs(url.query)
            repo = state.repo
            if parts[:2] == ["api", "models"] and len(parts) >= 6:
                if not self._need_token():
                    return
                repo_id, kind, revision = "/".join(parts[2:4]), parts[4], parts[5]
                if repo_id != repo.repo_id:
                    return self._error(401, "RepoNotFound", "Repository not found")
                if not repo.knows(revision):
                    return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
                if kind == "revision":
                    return self._model_info(query.get("blobs", ["false"])[0].lower() == "true")
                if kind == "tree":
                    return self._tree(url.path, query)
            if len(parts) >= 5 and parts[2] == "resolve":
                if not self._need_token():
                    return
                repo_id, revision, name = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
                if repo_id != repo.repo_id:
                    return self._error(401, "RepoNotFound", "Repository not found")
                if not repo.knows(revision):
                    return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
                if name not in repo.files:
                    return self._error(404, "EntryNotFound", f"{name} does not exist")
                return self._resolve(name)
            self._error(404, "NotFound", "Not found")

        def _model_info(self, blobs: bool) -> None:
            repo = state.repo
            siblings = []
            for name, info in repo.files.items():
                sibling = {"rfilename": name}
                if blobs:
                    sibling.update(size=info["size"], blobId=info["oid"])
                    if info["lfs"]:
                        sibling["lfs"] = {
                            "sha256": info["sha256"],
                            "size": info["size"],
                            "pointerSize": info["pointer_size"],
                        }
                siblings.append(sibling)
            self._json(
                200,
                {
                    "_id": "0" * 24,
                    "id": repo.repo_id,
                    "modelId": repo.repo_id,
                    "author": repo.repo_id.split("/")[0],
                    "sha": repo.commit,
                    "lastModified": "2026-01-01T00:00:00.000Z",
                    "private": False,
                    "disabled": False,
                    "gated": False,
                    "tags": ["gguf"],
                    "library_name": "gguf",
                    "siblings": siblings,
                    "createdAt": "2025-08-05T00:00:00.000Z",
                },
            )

        def _tree(self, path: str, query: dict) -> None:
            entries = []
            for name, info in state.repo.files.items():
                entry = {"type": "file", "oid": info["oid"], "size": info["size"], "path": name}
                if info["lfs"]:
                    entry["lfs"] = {
                        "oid": info["sha256"],
                        "size": info["size"],
                        "pointerSize": info["pointer_size"],
                    }
                entries.append(entry)
            cursor = int(query.get("cursor", ["0"])[0])
            page = entries[cursor : cursor + state.page_size]
            headers = {}
            if cursor + state.page_size < len(entries):
                params = "&".join(f"{k}={quote(v[0])}" for k, v in query.items() if k != "cursor")
                host = self.headers.get("Host")
                headers["Link"] = (
                    f'<http://{host}{path}?{params}&cursor={cursor + state.page_size}>; rel="next"'
                )
            self._json(200, page, headers)

        def _resolve(self, name: str) -> None:
            info = state.repo.files[name]
            common = {"X-Repo-Commit": state.repo.commit}
            if not info["lfs"]:
                common["ETag"] = f'"{info["oid"]}"'
                if self.command == "HEAD":
                    self.send_response(200)
                    self.send_header("Content-Length", str(info["size"]))
                    for key, value in common.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self._record(200)
                    return
                return self._send_file(name, {"X-Repo-Commit": state.repo.commit})
            location = (
                f"{state.cdn}/lfs/{info['sha256']}?X-Amz-Signature={state.sign(info['sha256'])}"
                f"&response-content-disposition=attachment%3B%20filename%3D%22{quote(name)}%22"
            )
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.send_header("ETag", f'"{info["oid"]}"')
            self.send_header("X-Linked-Etag", f'"{info["sha256"]}"')
            self.send_header("X-Linked-Size", str(info["size"]))
            for key, value in common.items():
                self.send_header(key, value)
            self.end_headers()
            self._record(302)

        # ---- CDN / mirror routes ---------------------------------------------------------
        def _cdn(self) -> None:
            url = urlparse(self.path)
            parts = [unquote(p) for p in url.path.strip("/").split("/")]
            if len(parts) == 2 and parts[0] == "lfs":
                sha256 = parts[1]
                signature = parse_qs(url.query).get("X-Amz-Signature", [""])[0]
                name = state.repo.by_sha.get(sha256)
                if name is None or not hmac.compare_digest(signature, state.sign(sha256)):
                    return self._error(403, "AccessDenied", "Request has expired or is not signed")
                return self._send_file(name)
            if len(parts) == 2 and parts[0] == "mirror" and parts[1] in state.repo.files:
                return self._send_file(parts[1])
            self._error(404, "NotFound", "Not found")

        def do_GET(self):  # noqa: N802 (http.server's naming)
            (self._hub if role == "hub" else self._cdn)()

        do_HEAD = do_GET  # noqa: N815

    return Handler


def make(args) -> None:
    root = Path(args.root)
    (root / "files").mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    for spec in args.file:
        name, _, size = spec.rpartition(":")
        body = b"GGUF" + rng.randbytes(int(size) - 4) if name.endswith(".gguf") else b""
        if not name.endswith(".gguf"):
            body = (f"# {name} of the fake repository\n" * 4).encode()[: int(size)]
        (root / "files" / name).write_bytes(body)
    (root / "repo.json").write_text(
        json.dumps({"repo": args.repo, "commit": args.commit, "branches": ["main"]}, indent=2)
    )


def serve(args) -> None:
    root = Path(args.root)
    token = Path(args.token_file).read_text().strip() if args.token_file else ""
    cdn = f"http://127.0.0.1:{args.cdn_port}"
    state = State(root, token, args.rate, args.page_size, cdn, os.urandom(16))
    servers = [
        ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state, "hub")),
        ThreadingHTTPServer(("127.0.0.1", args.cdn_port), make_handler(state, "cdn")),
    ]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_make = sub.add_parser("make", help="write a repository of random files")
    p_make.add_argument("--root", required=True)
    p_make.add_argument("--repo", required=True)
    p_make.add_argument("--commit", required=True)
    p_make.add_argument("--file", action="append", required=True, help="NAME:BYTES")
    p_make.add_argument("--seed", type=int, default=120)
    p_serve = sub.add_parser("serve", help="serve the Hub API, the CDN and the mirror")
    p_serve.add_argument("--root", required=True)
    p_serve.add_argument("--port", type=int, default=8788)
    p_serve.add_argument("--cdn-port", type=int, default=8789)
    p_serve.add_argument("--token-file", default="")
    p_serve.add_argument("--rate", type=int, default=0, help="bytes per second per response")
    p_serve.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    (make if args.command == "make" else serve)(args)


if __name__ == "__main__":
    main()
