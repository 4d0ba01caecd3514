#!/usr/bin/env python3
"""Latency the anthropic_bridge adds per request: the median of N small /v1/messages requests
sent straight to the engine and through the bridge, alternating, in one run.

    python3 bench/bridge_latency.py --engine http://127.0.0.1:8005 --engine-key-file '' \
        --bridge http://127.0.0.1:4000 --bridge-key-file /etc/sparkops-bridge/master.key \
        --model gpt-oss-120b --requests 20
Prints one JSON object: both medians, the added milliseconds and the ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.request
from pathlib import Path


def read_key(path: str) -> str:
    return Path(path).read_text().strip() if path else "sparkops-local"


def one_request(url: str, key: str, model: str, max_tokens: int) -> float:
    body = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": "Say hi."}],
    }
    request = urllib.request.Request(
        f"{url}/v1/messages",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "anthropic-version": "2023-06-01",
            "Authorization": f"Bearer {key}",
        },
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        reply = json.load(response)
    elapsed = time.perf_counter() - start
    if reply.get("type") != "message":
        raise SystemExit(f"{url}: not an Anthropic message: {reply}")
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", required=True)
    parser.add_argument("--engine-key-file", default="")
    parser.add_argument("--bridge", required=True)
    parser.add_argument("--bridge-key-file", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=8)
    args = parser.parse_args()
    engine_key, bridge_key = read_key(args.engine_key_file), read_key(args.bridge_key_file)
    # One warm-up each: the first request through the bridge builds its client connection.
    one_request(args.engine, engine_key, args.model, args.max_tokens)
    one_request(args.bridge, bridge_key, args.model, args.max_tokens)
    direct, bridged = [], []
    for _ in range(args.requests):
        direct.append(one_request(args.engine, engine_key, args.model, args.max_tokens))
        bridged.append(one_request(args.bridge, bridge_key, args.model, args.max_tokens))
    direct_ms, bridged_ms = statistics.median(direct), statistics.median(bridged)
    print(
        json.dumps(
            {
                "requests": args.requests,
                "direct_median_ms": round(direct_ms, 2),
                "bridge_median_ms": round(bridged_ms, 2),
                "added_ms": round(bridged_ms - direct_ms, 2),
                "bridge_over_direct": round(bridged_ms / direct_ms, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
