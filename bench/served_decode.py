#!/usr/bin/env python3
"""Decode speed a client gets from the installed llama-server, at several context depths.

For each depth, sends a prompt of exactly that many tokens (token ids, so the depth does not
depend on the tokenizer) and asks for --tokens more with ignore_eos, streamed. Records both the
server's own timings (predicted_per_second) and the client's view (tokens after the first ÷ the
time between the first and the last streamed token). Standard library only: it runs on the
serving host (playbooks/bench.yml copies it there).

    python3 served_decode.py --url http://127.0.0.1:8005 --depths 0,4096 --tokens 128
Prints one JSON list, one object per depth.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.request
from pathlib import Path

# A token id every vocabulary has (ids below 256 are byte or control tokens in BPE and SPM
# vocabularies alike); its meaning does not matter, only the count.
FILLER_TOKEN = 200


def stream_completion(url: str, key: str, depth: int, tokens: int) -> dict:
    body = {
        "prompt": [FILLER_TOKEN] * max(depth, 1),
        "n_predict": tokens,
        "ignore_eos": True,
        "cache_prompt": False,
        "stream": True,
        "temperature": 0.8,
    }
    request = urllib.request.Request(
        f"{url}/completion",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    token_times: list[float] = []
    timings: dict = {}
    with urllib.request.urlopen(request, timeout=3600) as response:
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data: "):
                continue
            event = json.loads(line[len("data: ") :])
            if event.get("content") or event.get("tokens"):
                token_times.append(time.perf_counter())
            if event.get("stop"):
                timings = event.get("timings", {})
    client = None
    if len(token_times) > 2:
        client = (len(token_times) - 1) / (token_times[-1] - token_times[0])
    return {
        "server_tps": timings.get("predicted_per_second"),
        "server_tokens": timings.get("predicted_n"),
        "prompt_tokens": timings.get("prompt_n"),
        "prompt_tps": timings.get("prompt_per_second"),
        "client_tps": client,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key-file", default="")
    parser.add_argument("--depths", default="0")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    key = Path(args.key_file).read_text().strip() if args.key_file else "none"
    rows = []
    for depth in (int(d) for d in args.depths.split(",")):
        stream_completion(args.url, key, depth, 8)  # warm-up: first request pays allocations
        runs = [stream_completion(args.url, key, depth, args.tokens) for _ in range(args.repeats)]
        server = [r["server_tps"] for r in runs if r["server_tps"]]
        client = [r["client_tps"] for r in runs if r["client_tps"]]
        rows.append(
            {
                "depth": depth,
                "tokens": args.tokens,
                "served_tps": round(statistics.median(server), 2) if server else None,
                "client_tps": round(statistics.median(client), 2) if client else None,
                "prompt_tokens": runs[-1]["prompt_tokens"],
            }
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
