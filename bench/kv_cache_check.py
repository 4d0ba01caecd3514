#!/usr/bin/env python3
# Copyright: sparkops.llm maintainers
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compare serving_plan's KV-cache prediction with the KV buffers llama-server allocates.

Starts llama-server on a model, reads the "KV buffer size = N MiB" lines it logs while loading,
stops it, and prints one JSON line: predicted bytes (from the GGUF header, pure Python),
reported bytes, and their ratio.

    python3 bench/kv_cache_check.py --server .../llama-server --model m.gguf --context 16384 \
        --slots 1 -- -ngl 99 -fa on
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
import time

from _collection import import_collection

KV_LINE = re.compile(r"KV buffer size\s*=\s*([\d.]+)\s*MiB")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reported_kv_bytes(server: str, model: str, context: int, slots: int, extra: list[str]):
    command = [
        server,
        "-m",
        model,
        "-c",
        str(context),
        "-np",
        str(slots),
        "--host",
        "127.0.0.1",
        "--port",
        str(free_port()),
        *extra,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sizes, log = [], []
    deadline = time.monotonic() + 600
    try:
        for line in process.stdout:
            log.append(line)
            match = KV_LINE.search(line)
            if match:
                sizes.append(float(match.group(1)))
            if "server is listening" in line or "model loaded" in line:
                break
            if time.monotonic() > deadline:
                break
    finally:
        process.terminate()
        process.wait(timeout=30)
    if not sizes:
        raise SystemExit("llama-server logged no KV buffer size:\n" + "".join(log[-30:]))
    return int(sum(sizes) * 1024 * 1024), [line.strip() for line in log if "KV" in line]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--context", type=int, required=True, help="llama-server -c (total)")
    parser.add_argument("--slots", type=int, default=1)
    parser.add_argument("--ubatch", type=int, default=512)
    parser.add_argument("--cache-type", default="f16", help="-ctk and -ctv for both sides")
    parser.add_argument("extra", nargs="*", help="more llama-server arguments, after --")
    args = parser.parse_args()

    import_collection()
    from ansible_collections.sparkops.llm.plugins.module_utils.gguf import read_gguf
    from ansible_collections.sparkops.llm.plugins.module_utils.serving_plan import (
        architecture_from_gguf,
        plan,
    )

    arch = architecture_from_gguf(read_gguf(args.model))
    predicted = plan(
        arch,
        args.context,
        slots=args.slots,
        ubatch=args.ubatch,
        cache_type_k=args.cache_type,
        cache_type_v=args.cache_type,
    )["kv_bytes"]
    # The KV buffer lines are llama.cpp library INFO messages, shown from verbosity 4 (trace).
    extra = [*args.extra, "-ub", str(args.ubatch), "-lv", "4"]
    extra += ["-ctk", args.cache_type, "-ctv", args.cache_type]
    reported, lines = reported_kv_bytes(args.server, args.model, args.context, args.slots, extra)
    print(
        json.dumps(
            {
                "model": args.model,
                "context": args.context,
                "slots": args.slots,
                "predicted_kv_bytes": predicted,
                "reported_kv_bytes": reported,
                "predicted_over_reported": round(predicted / reported, 4),
                "log": lines,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
